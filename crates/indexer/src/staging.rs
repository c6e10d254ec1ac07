//! A background thread that streams record batches into a Parquet file, in
//! sorted runs.
//!
//! Rows are collected into runs of [`RUN_ROWS`]; each run is sorted into
//! the published order ([`stac_indexed_table::order`]) and written as one row group, so
//! that the finalize step merges runs instead of sorting the whole table.
//! The sorting happens here, on the writer's thread, while the crawl goes
//! on.

use crate::{Error, Result};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use stac_indexed_table::order::sort_batch;
use stac_indexed_table::writer_properties;
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

/// How many batches may wait for the writer before the crawl slows down.
const QUEUED_BATCHES: usize = 4;

/// Rows per sorted run (one row group of the staged file). Bigger runs
/// make fewer for the merge to interleave; smaller ones hold less memory
/// here (a run is held twice while sorted, then encoded).
const RUN_ROWS: usize = 32_768;

/// The page size of the staged file.
const STAGED_PAGE_BYTES: usize = 64 * 1024;

/// Writes batches sent to it into one Parquet file, off the async runtime.
pub(crate) struct StagingWriter {
    sender: mpsc::Sender<RecordBatch>,
    thread: std::thread::JoinHandle<Result<u64>>,
}

impl StagingWriter {
    /// Starts the writer thread for a new file at `path`.
    pub(crate) fn start(path: &Path, schema: SchemaRef) -> Result<StagingWriter> {
        let file = std::fs::File::create(path).map_err(|e| Error::local(path, e))?;
        let (sender, mut receiver) = mpsc::channel::<RecordBatch>(QUEUED_BATCHES);
        let staged: PathBuf = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("staging-writer".into())
            .spawn(move || {
                // The merge reads every run at once and holds a page of each
                // column of each: small pages, and no dictionaries (the
                // values are mostly unique anyway).
                let properties = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(None)
                    .set_dictionary_enabled(false)
                    .set_data_page_size_limit(STAGED_PAGE_BYTES)
                    .build();
                let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(properties))?;
                let mut rows = 0u64;
                let mut run = Vec::new();
                let mut run_rows = 0;
                while let Some(batch) = receiver.blocking_recv() {
                    run_rows += batch.num_rows();
                    run.push(batch);
                    if run_rows >= RUN_ROWS {
                        rows += write_run(&mut writer, &schema, std::mem::take(&mut run))?;
                        run_rows = 0;
                    }
                }
                rows += write_run(&mut writer, &schema, run)?;
                writer.close()?;
                tracing::debug!(path = %staged.display(), rows, "staging file written");
                Ok(rows)
            })
            .map_err(|e| Error::local(path, e))?;
        Ok(StagingWriter { sender, thread })
    }

    /// Queues a batch; waits while the writer is behind.
    pub(crate) async fn write(&self, batch: RecordBatch) -> Result<()> {
        self.sender
            .send(batch)
            .await
            .map_err(|_| Error::Task("the staging writer stopped".into()))
    }

    /// Closes the file; returns how many rows it holds.
    pub(crate) async fn finish(self) -> Result<u64> {
        drop(self.sender);
        tokio::task::spawn_blocking(move || self.thread.join())
            .await
            .map_err(|e| Error::Task(e.to_string()))?
            .map_err(|_| Error::Task("the staging writer panicked".into()))?
    }
}

/// Sorts the batches of a run together and writes them as one row group.
fn write_run(writer: &mut ArrowWriter<std::fs::File>, schema: &SchemaRef, run: Vec<RecordBatch>) -> Result<u64> {
    let batch = arrow_select::concat::concat_batches(schema, &run)?;
    drop(run);
    if batch.num_rows() == 0 {
        return Ok(0);
    }
    writer.write(&sort_batch(&batch)?)?;
    writer.flush()?;
    Ok(batch.num_rows() as u64)
}

/// Writes one batch to a new Parquet file (for the small tables).
pub(crate) fn write_file(path: &Path, batch: &RecordBatch) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::local(path, e))?;
    let mut writer = ArrowWriter::try_new(
        file,
        batch.schema(),
        Some(writer_properties(Compression::ZSTD(Default::default()), 65_536)),
    )?;
    writer.write(batch)?;
    writer.close()?;
    Ok(())
}
