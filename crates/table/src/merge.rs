//! The published items table from sorted runs: a k-way merge.
//!
//! Each row group of a staged file is a run already in the published order
//! (the staging writer sorted it), and so is a whole items table or an
//! update's delta: the items table is one streaming merge of the runs of
//! every input; rows the filter drops are skipped, the rest numbered by
//! `seq` in the order they leave. Memory is a small batch per run and one
//! output row group, whatever the catalog's size. The owner number of each
//! staged row can go to a side file `(seq, owner)` for the links table.

use crate::order::{KeyColumns, OrderKey};
use crate::writer_properties;
use crate::{Error, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use stac_indexed_format::schema::{HREF, OWNER, SEQ};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, SyncSender};
use std::thread::JoinHandle;

/// Rows buffered over all runs while merging (each run gets its share).
const BUFFERED_ROWS: usize = 16_384;

/// A row the merge offers to its filter, in the published order.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    /// Which input it comes from (its position in the list given).
    pub input: usize,
    /// Its collection.
    pub collection: &'a str,
    /// Its id.
    pub id: &'a str,
    /// Where the item was read from.
    pub href: &'a str,
}

/// Which rows the merge keeps.
pub trait RowFilter {
    /// Whether `row` is published (asked once per row, in the published
    /// order).
    fn keeps(&mut self, row: &Candidate<'_>) -> bool;
}

/// How the rows of an input file are sorted (in the published order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sorted {
    /// Each row group on its own (a staged file: one sorted run per group).
    EachRowGroup,
    /// The whole file (an items table, or an update's delta).
    WholeFile,
}

/// One file the merge reads. A `seq` column, if any, is not read; the
/// inputs must otherwise have the same columns.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// The Parquet file.
    pub path: &'a Path,
    /// How its rows are sorted.
    pub sorted: Sorted,
}

/// Where the merge writes, and how.
pub struct MergeTarget<'a> {
    /// The published items table.
    pub items: &'a Path,
    /// The `(seq, owner)` side file, from the inputs' owner column (which
    /// then each of them has).
    pub owners: Option<&'a Path>,
    /// Rows per row group of both.
    pub row_group: usize,
}

/// Merges the sorted runs of `inputs` (at least one) into the target's
/// items table: the rows `filter` keeps, numbered by `seq` (zstd), and
/// their `(seq, owner)` beside it if asked. Returns the rows written.
pub fn merge(inputs: &[Input<'_>], filter: &mut dyn RowFilter, target: MergeTarget<'_>) -> Result<u64> {
    let (schema, mut runs) = open_runs(inputs)?;
    let mut output = Output::create(&target, &schema)?;
    let mut heap = BinaryHeap::new();
    for (index, run) in runs.iter_mut().enumerate() {
        run.slot = output.register(&run.batch);
        heap.push(Reverse((OwnedKey::of(run.key()), index)));
    }
    while let Some(Reverse((_, index))) = heap.pop() {
        let run = &mut runs[index];
        let key = run.key();
        let candidate = Candidate {
            input: run.input,
            collection: key.collection,
            id: key.id,
            href: run.columns.href.value(run.row),
        };
        if filter.keeps(&candidate) {
            let owner = run.columns.owner.as_ref().map(|owner| owner.value(run.row));
            output.select(run.slot, run.row, owner);
        }
        if run.advance()? {
            if run.row == 0 {
                run.slot = output.register(&run.batch);
            }
            heap.push(Reverse((OwnedKey::of(run.key()), index)));
        }
        if output.is_full() {
            output.flush()?;
            for run in runs.iter_mut().filter(|run| !run.done) {
                run.slot = output.register(&run.batch);
            }
        }
    }
    output.finish()
}

/// One run (a row group of a staged file, or a whole sorted file), read a
/// batch at a time.
struct Run {
    /// The input it reads.
    input: usize,
    reader: ParquetRecordBatchReader,
    batch: RecordBatch,
    columns: RunColumns,
    row: usize,
    /// The batch's place in the output's list of source batches.
    slot: usize,
    done: bool,
}

/// The columns of a run's batch the merge reads for every row.
struct RunColumns {
    keys: KeyColumns,
    href: StringArray,
    owner: Option<Int64Array>,
}

impl RunColumns {
    fn of(batch: &RecordBatch) -> Result<RunColumns> {
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| ArrowError::SchemaError(format!("no {name} column")))
        };
        Ok(RunColumns {
            keys: KeyColumns::of(batch)?,
            href: column(HREF)?.as_string::<i32>().clone(),
            owner: batch
                .column_by_name(OWNER)
                .map(|owner| owner.as_primitive::<Int64Type>().clone()),
        })
    }
}

impl Run {
    fn key(&self) -> OrderKey<'_> {
        self.columns.keys.key(self.row)
    }

    /// Moves to the next row (reading the next batch when needed); false
    /// once the run is exhausted.
    fn advance(&mut self) -> Result<bool> {
        self.row += 1;
        if self.row < self.batch.num_rows() {
            return Ok(true);
        }
        match next_batch(&mut self.reader)? {
            Some(batch) => {
                self.columns = RunColumns::of(&batch)?;
                self.batch = batch;
                self.row = 0;
                Ok(true)
            }
            None => {
                self.done = true;
                Ok(false)
            }
        }
    }
}

fn next_batch(reader: &mut ParquetRecordBatchReader) -> Result<Option<RecordBatch>> {
    loop {
        match reader.next().transpose()? {
            Some(batch) if batch.num_rows() == 0 => continue,
            other => return Ok(other),
        }
    }
}

/// The inputs' schema (without `seq`), and every non-empty run of every
/// input, positioned on its first row.
fn open_runs(inputs: &[Input<'_>]) -> Result<(SchemaRef, Vec<Run>)> {
    let mut schema: Option<SchemaRef> = None;
    let mut runs_to_open = Vec::new();
    for (index, input) in inputs.iter().enumerate() {
        let builder = reader_builder(input.path)?;
        let projected = builder.schema().project(&columns_but_seq(builder.schema()))?;
        match &schema {
            None => schema = Some(Arc::new(projected)),
            Some(first) if first.fields() != projected.fields() => {
                return Err(Error::Merge(format!(
                    "{} has other columns than {}",
                    input.path.display(),
                    inputs[0].path.display()
                )));
            }
            Some(_) => {}
        }
        match input.sorted {
            Sorted::EachRowGroup => {
                runs_to_open.extend((0..builder.metadata().num_row_groups()).map(|group| (index, Some(group))))
            }
            Sorted::WholeFile => runs_to_open.push((index, None)),
        }
    }
    let schema = schema.ok_or_else(|| Error::Merge("no input to merge".into()))?;
    let batch_size = (BUFFERED_ROWS / runs_to_open.len().max(1)).clamp(64, 1024);
    let mut runs = Vec::with_capacity(runs_to_open.len());
    for (input, group) in runs_to_open {
        let builder = reader_builder(inputs[input].path)?;
        let projection = ProjectionMask::roots(builder.parquet_schema(), columns_but_seq(builder.schema()));
        let mut builder = builder.with_projection(projection).with_batch_size(batch_size);
        if let Some(group) = group {
            builder = builder.with_row_groups(vec![group]);
        }
        let mut reader = builder.build()?;
        if let Some(batch) = next_batch(&mut reader)? {
            runs.push(Run {
                input,
                columns: RunColumns::of(&batch)?,
                reader,
                batch,
                row: 0,
                slot: 0,
                done: false,
            });
        }
    }
    Ok((schema, runs))
}

fn reader_builder(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let file = File::open(path).map_err(|e| Error::local(path, e))?;
    Ok(ParquetRecordBatchReaderBuilder::try_new(file)?)
}

/// The positions of a file's top-level columns but `seq`.
fn columns_but_seq(schema: &Schema) -> Vec<usize> {
    (0..schema.fields().len())
        .filter(|&i| schema.field(i).name() != SEQ)
        .collect()
}

/// A row's key, owned, for the heap (runs are ordered by their current row).
#[derive(PartialEq, Eq)]
struct OwnedKey {
    collection: String,
    time: Option<i64>,
    id: String,
}

impl OwnedKey {
    fn of(key: OrderKey<'_>) -> OwnedKey {
        OwnedKey {
            collection: key.collection.to_string(),
            time: key.time,
            id: key.id.to_string(),
        }
    }

    fn borrowed(&self) -> OrderKey<'_> {
        OrderKey {
            collection: &self.collection,
            time: self.time,
            id: &self.id,
        }
    }
}

impl Ord for OwnedKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.borrowed().cmp(&other.borrowed())
    }
}

impl PartialOrd for OwnedKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The items file and the owners side file, a row group at a time.
struct Output {
    items: BackgroundWriter,
    owners: Option<ArrowWriter<File>>,
    items_schema: SchemaRef,
    owners_schema: SchemaRef,
    /// The position of the owner column in the inputs (not published).
    owner_column: Option<usize>,
    /// The source batches the selected rows come from.
    sources: Vec<RecordBatch>,
    /// `(source, row)` of each row of the next row group, in order.
    selected: Vec<(usize, usize)>,
    selected_owners: Vec<i64>,
    row_group: usize,
    next_seq: i64,
}

impl Output {
    fn create(target: &MergeTarget<'_>, input: &Schema) -> Result<Output> {
        let row_group = target.row_group;
        let owner_column = input.index_of(OWNER).ok();
        let items_schema = Arc::new(items_schema(input));
        let options = || {
            ArrowWriterOptions::new()
                .with_properties(writer_properties(Compression::ZSTD(Default::default()), row_group))
                .with_skip_arrow_metadata(true)
        };
        let create = |path: &Path| File::create(path).map_err(|e| Error::local(path, e));
        let items = BackgroundWriter::start(ArrowWriter::try_new_with_options(
            create(target.items)?,
            items_schema.clone(),
            options(),
        )?)?;
        let owners_schema = Arc::new(Schema::new(vec![
            Field::new(SEQ, DataType::Int64, false),
            Field::new(OWNER, DataType::Int64, false),
        ]));
        let owners = match (target.owners, owner_column) {
            (None, _) => None,
            (Some(path), Some(_)) => Some(ArrowWriter::try_new_with_options(
                create(path)?,
                owners_schema.clone(),
                options(),
            )?),
            (Some(_), None) => return Err(Error::Merge("owners asked of inputs without an owner column".into())),
        };
        Ok(Output {
            items,
            owners,
            items_schema,
            owners_schema,
            owner_column,
            sources: Vec::new(),
            selected: Vec::with_capacity(row_group),
            selected_owners: Vec::with_capacity(row_group),
            row_group,
            next_seq: 0,
        })
    }

    fn register(&mut self, batch: &RecordBatch) -> usize {
        self.sources.push(batch.clone());
        self.sources.len() - 1
    }

    fn select(&mut self, source: usize, row: usize, owner: Option<i64>) {
        self.selected.push((source, row));
        if let (Some(_), Some(owner)) = (&self.owners, owner) {
            self.selected_owners.push(owner);
        }
    }

    fn is_full(&self) -> bool {
        self.selected.len() >= self.row_group
    }

    /// Writes the selected rows as one row group and forgets the sources.
    fn flush(&mut self) -> Result<()> {
        if !self.selected.is_empty() {
            let sources: Vec<&RecordBatch> = self.sources.iter().collect();
            let rows = arrow_select::interleave::interleave_record_batch(&sources, &self.selected)?;
            let count = rows.num_rows() as i64;
            let seq: ArrayRef = Arc::new(Int64Array::from_iter_values(self.next_seq..self.next_seq + count));
            let mut columns = vec![seq.clone()];
            columns.extend(
                rows.columns()
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| Some(*i) != self.owner_column)
                    .map(|(_, column)| column.clone()),
            );
            self.items
                .write(RecordBatch::try_new(self.items_schema.clone(), columns)?)?;
            if let Some(owners) = &mut self.owners {
                let owner: ArrayRef = Arc::new(Int64Array::from(std::mem::take(&mut self.selected_owners)));
                owners.write(&RecordBatch::try_new(self.owners_schema.clone(), vec![seq, owner])?)?;
            }
            self.next_seq += count;
        }
        self.sources.clear();
        self.selected.clear();
        Ok(())
    }

    fn finish(mut self) -> Result<u64> {
        self.flush()?;
        self.items.finish()?;
        if let Some(owners) = self.owners {
            owners.close()?;
        }
        Ok(self.next_seq as u64)
    }
}

/// An Arrow writer on a thread of its own: a row group is encoded and
/// compressed while the merge selects the next one.
struct BackgroundWriter {
    sender: Option<SyncSender<RecordBatch>>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl BackgroundWriter {
    fn start(mut writer: ArrowWriter<File>) -> Result<BackgroundWriter> {
        // One batch waits while one is written: the merge runs at most a
        // row group ahead.
        let (sender, receiver) = mpsc::sync_channel::<RecordBatch>(1);
        let thread = std::thread::Builder::new()
            .name("items-writer".into())
            .spawn(move || {
                for batch in receiver {
                    writer.write(&batch)?;
                }
                writer.close()?;
                Ok(())
            })
            .map_err(|e| Error::Merge(e.to_string()))?;
        Ok(BackgroundWriter {
            sender: Some(sender),
            thread: Some(thread),
        })
    }

    fn write(&mut self, batch: RecordBatch) -> Result<()> {
        let sent = self.sender.as_ref().is_some_and(|sender| sender.send(batch).is_ok());
        if sent {
            Ok(())
        } else {
            // The thread stopped on an error: that error is the answer.
            self.join().and(Err(Error::Merge("the items writer stopped".into())))
        }
    }

    /// Closes the file once every batch is written.
    fn finish(mut self) -> Result<()> {
        self.join()
    }

    fn join(&mut self) -> Result<()> {
        self.sender = None;
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| Error::Merge("the items writer panicked".into()))?,
            None => Ok(()),
        }
    }
}

/// The published items schema: `seq`, then the inputs' columns but the owner.
fn items_schema(input: &Schema) -> Schema {
    let mut fields = vec![Arc::new(Field::new(SEQ, DataType::Int64, false))];
    fields.extend(input.fields().iter().filter(|field| field.name() != OWNER).cloned());
    Schema::new(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::sort_batch;
    use crate::testing::{Row, batch};
    use stac_indexed_format::IndexConfig;
    use stac_indexed_format::schema::staged_items_schema;
    use std::collections::HashSet;

    struct DropSome;

    impl RowFilter for DropSome {
        fn keeps(&mut self, row: &Candidate<'_>) -> bool {
            row.collection != "gone" && !row.href.ends_with("/b/item-7.json")
        }
    }

    #[test]
    fn runs_of_several_files_merge_into_one_order_with_seq_and_owners() {
        let schema = Arc::new(staged_items_schema(&IndexConfig::default()));
        let dir = tempfile::tempdir().unwrap();
        let mut all = Vec::new();
        let mut staged = Vec::new();
        for file in 0..2 {
            let path = dir.path().join(format!("staged-{file}.parquet"));
            let mut writer = ArrowWriter::try_new(File::create(&path).unwrap(), schema.clone(), None).unwrap();
            for run in 0..3 {
                let rows: Vec<Row> = (0..40)
                    .map(|n| {
                        let k = file * 1000 + run * 100 + n;
                        let collection = ["a", "b", "gone"][k % 3].to_string();
                        let time = (k % 7) as i64 * 1_000_000;
                        let (datetime, start) = match k % 5 {
                            0 => (None, Some(time)),
                            1 => (None, None),
                            _ => (Some(time), None),
                        };
                        (collection, datetime, start, format!("item-{k}"), k as i64 % 4)
                    })
                    .collect();
                all.extend(rows.clone());
                writer.write(&sort_batch(&batch(&schema, &rows)).unwrap()).unwrap();
                writer.flush().unwrap();
            }
            writer.close().unwrap();
            staged.push(path);
        }
        let (items, owners) = (dir.path().join("items.parquet"), dir.path().join("owners.parquet"));
        let target = MergeTarget {
            items: &items,
            owners: Some(&owners),
            row_group: 16,
        };
        let inputs: Vec<Input<'_>> = staged
            .iter()
            .map(|path| Input {
                path,
                sorted: Sorted::EachRowGroup,
            })
            .collect();
        let written = merge(&inputs, &mut DropSome, target).unwrap();

        let read = |path: &Path| -> Vec<RecordBatch> {
            ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
                .unwrap()
                .build()
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        let items = arrow_select::concat::concat_batches(&read(&items)[0].schema(), &read(&items)).unwrap();
        let owners = arrow_select::concat::concat_batches(&read(&owners)[0].schema(), &read(&owners)).unwrap();
        let mut expected: Vec<&Row> = all
            .iter()
            .filter(|(c, _, _, id, _)| c != "gone" && !(c == "b" && id == "item-7"))
            .collect();
        fn key(row: &Row) -> OrderKey<'_> {
            OrderKey {
                collection: row.0.as_str(),
                time: row.1.or(row.2),
                id: row.3.as_str(),
            }
        }
        expected.sort_by(|x, y| key(x).cmp(&key(y)));
        assert_eq!(written as usize, expected.len());
        assert_eq!(items.num_rows(), expected.len());
        assert_eq!(items.schema().field(0).name(), SEQ);
        assert!(items.column_by_name(OWNER).is_none(), "the owner is not published");
        let seq = items.column(0).as_primitive::<Int64Type>();
        assert!(seq.values().iter().enumerate().all(|(i, s)| *s == i as i64));
        let keys = KeyColumns::of(&items).unwrap();
        let owner = owners.column(1).as_primitive::<Int64Type>();
        let mut seen = HashSet::new();
        for (row, want) in expected.iter().enumerate() {
            let key = keys.key(row);
            assert_eq!(
                (key.collection, key.id, key.time),
                (want.0.as_str(), want.3.as_str(), want.1.or(want.2))
            );
            assert_eq!(owner.value(row), want.4, "the owner of {}", want.3);
            assert!(seen.insert(key.id.to_string()));
        }
    }
}
