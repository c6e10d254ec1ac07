//! A background thread that streams record batches into a Parquet file.

use crate::{Error, Result};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

/// How many batches may wait for the writer before the crawl slows down.
const QUEUED_BATCHES: usize = 4;

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
                let mut writer = ArrowWriter::try_new(file, schema, Some(writer_properties(Compression::SNAPPY)))?;
                let mut rows = 0u64;
                while let Some(batch) = receiver.blocking_recv() {
                    rows += batch.num_rows() as u64;
                    writer.write(&batch)?;
                }
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

/// Writer settings for index files written by this crate.
pub(crate) fn writer_properties(compression: Compression) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(compression)
        .set_max_row_group_row_count(Some(65_536))
        .build()
}

/// Writes one batch to a new Parquet file (for the small tables).
pub(crate) fn write_file(path: &Path, batch: &RecordBatch) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::local(path, e))?;
    let mut writer = ArrowWriter::try_new(
        file,
        batch.schema(),
        Some(writer_properties(Compression::ZSTD(Default::default()))),
    )?;
    writer.write(batch)?;
    writer.close()?;
    Ok(())
}
