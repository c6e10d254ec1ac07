//! An items table with its deltas applied: the table the readers of an
//! updated index serve, numbered by `seq` again.
//!
//! A key `(collection, id)` is decided by the newest delta that names it
//! (upserted: that delta's row; removed: no row), and a base row is kept
//! only when no delta names its key.

use crate::merge::{Candidate, Input, MergeTarget, RowFilter, Sorted, merge};
use crate::{Error, Result};
use arrow_array::cast::AsArray;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use stac_indexed_format::schema::{COLLECTION, ID};
use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

/// One delta, as local files.
#[derive(Clone, Copy, Debug)]
pub struct LocalDelta<'a> {
    /// Rows added or replaced (the items table's columns but `seq`), in the
    /// published order.
    pub upserted: &'a Path,
    /// The `(collection, id)` of the items removed.
    pub removed: &'a Path,
}

/// Writes `base` with `deltas` (oldest first) applied to `out`, in row
/// groups of `row_group` rows; returns the rows written.
pub fn resolve(base: &Path, deltas: &[LocalDelta<'_>], out: &Path, row_group: usize) -> Result<u64> {
    let mut filter = Decisions::default();
    for (number, delta) in deltas.iter().enumerate().rev() {
        // Input 0 is the base; delta `number` is input `number + 1`.
        filter.decide(delta.upserted, Some(number + 1))?;
        filter.decide(delta.removed, None)?;
    }
    let mut inputs = vec![Input {
        path: base,
        sorted: Sorted::WholeFile,
    }];
    inputs.extend(deltas.iter().map(|delta| Input {
        path: delta.upserted,
        sorted: Sorted::WholeFile,
    }));
    let target = MergeTarget {
        items: out,
        owners: None,
        row_group,
    };
    merge(&inputs, &mut filter, target)
}

/// The input whose row each key named by a delta takes (`None`: removed).
#[derive(Default)]
struct Decisions {
    by_key: HashMap<String, Option<usize>>,
    /// A buffer for the key of the row asked about.
    key: String,
}

impl Decisions {
    /// Decides the keys of the file at `path` that no newer delta decided.
    fn decide(&mut self, path: &Path, input: Option<usize>) -> Result<()> {
        let file = File::open(path).map_err(|e| Error::local(path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
        let columns = [COLLECTION, ID].map(|name| builder.schema().index_of(name));
        let [Ok(collection), Ok(id)] = columns else {
            return Err(Error::Merge(format!(
                "{} has no collection and id columns",
                path.display()
            )));
        };
        let projection = ProjectionMask::roots(builder.parquet_schema(), [collection, id]);
        for batch in builder.with_projection(projection).build()? {
            let batch = batch?;
            let (collections, ids) = (batch.column(0).as_string::<i32>(), batch.column(1).as_string::<i32>());
            for row in 0..batch.num_rows() {
                let key = joined(collections.value(row), ids.value(row));
                self.by_key.entry(key).or_insert(input);
            }
        }
        Ok(())
    }
}

impl RowFilter for Decisions {
    fn keeps(&mut self, row: &Candidate<'_>) -> bool {
        self.key.clear();
        self.key.push_str(row.collection);
        self.key.push('\0');
        self.key.push_str(row.id);
        match self.by_key.get(&self.key) {
            None => row.input == 0,
            Some(decided) => *decided == Some(row.input),
        }
    }
}

/// A key as one string (ids and collection ids hold no NUL).
fn joined(collection: &str, id: &str) -> String {
    format!("{collection}\0{id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{KeyColumns, sort_batch};
    use crate::testing::{Row, batch};
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use stac_indexed_format::IndexConfig;
    use stac_indexed_format::schema::{OWNER, SEQ, staged_items_schema};
    use std::sync::Arc;

    fn row(collection: &str, time: i64, id: &str) -> Row {
        (collection.into(), Some(time), None, id.into(), 0)
    }

    /// Sorted rows without the owner column, to `path`.
    fn write_rows(path: &Path, rows: &[Row]) {
        let schema = Arc::new(staged_items_schema(&IndexConfig::default()));
        let sorted = sort_batch(&batch(&schema, rows)).unwrap();
        let keep: Vec<usize> = (0..schema.fields().len())
            .filter(|&i| schema.field(i).name() != OWNER)
            .collect();
        let rows = sorted.project(&keep).unwrap();
        let mut writer = ArrowWriter::try_new(File::create(path).unwrap(), rows.schema(), None).unwrap();
        writer.write(&rows).unwrap();
        writer.close().unwrap();
    }

    fn write_keys(path: &Path, keys: &[(&str, &str)]) {
        let schema = Arc::new(Schema::new(vec![
            Field::new(COLLECTION, DataType::Utf8, false),
            Field::new(ID, DataType::Utf8, false),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(keys.iter().map(|k| k.0))),
            Arc::new(StringArray::from_iter_values(keys.iter().map(|k| k.1))),
        ];
        let mut writer = ArrowWriter::try_new(File::create(path).unwrap(), schema.clone(), None).unwrap();
        writer.write(&RecordBatch::try_new(schema, columns).unwrap()).unwrap();
        writer.close().unwrap();
    }

    fn read(path: &Path) -> RecordBatch {
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
            .unwrap()
            .build()
            .unwrap();
        let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap()
    }

    #[test]
    fn deltas_replace_add_and_remove_rows_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        // The base: an items table with seq, written by the merge itself.
        write_rows(
            &path("staged.parquet"),
            &[
                row("a", 5, "a1"),
                row("a", 4, "a2"),
                row("a", 3, "a3"),
                row("b", 9, "b1"),
            ],
        );
        let unowned = Input {
            path: &path("staged.parquet"),
            sorted: Sorted::WholeFile,
        };
        struct All;
        impl RowFilter for All {
            fn keeps(&mut self, _: &Candidate<'_>) -> bool {
                true
            }
        }
        let base_target = MergeTarget {
            items: &path("base.parquet"),
            owners: None,
            row_group: 2,
        };
        assert_eq!(merge(&[unowned], &mut All, base_target).unwrap(), 4);

        // Delta 1: a2 moves to the front (newer), x is new, a3 goes.
        write_rows(&path("u1.parquet"), &[row("a", 8, "a2"), row("b", 1, "x")]);
        write_keys(&path("r1.parquet"), &[("a", "a3")]);
        // Delta 2: x goes again, a3 comes back.
        write_rows(&path("u2.parquet"), &[row("a", 3, "a3")]);
        write_keys(&path("r2.parquet"), &[("b", "x")]);
        let deltas = [
            LocalDelta {
                upserted: &path("u1.parquet"),
                removed: &path("r1.parquet"),
            },
            LocalDelta {
                upserted: &path("u2.parquet"),
                removed: &path("r2.parquet"),
            },
        ];
        let written = resolve(&path("base.parquet"), &deltas, &path("resolved.parquet"), 2).unwrap();

        let table = read(&path("resolved.parquet"));
        assert_eq!(written, 4);
        assert_eq!(table.schema().field(0).name(), SEQ);
        let keys = KeyColumns::of(&table).unwrap();
        let rows: Vec<(&str, &str, Option<i64>)> = (0..table.num_rows())
            .map(|i| {
                let key = keys.key(i);
                (key.collection, key.id, key.time)
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("a", "a2", Some(8)),
                ("a", "a1", Some(5)),
                ("a", "a3", Some(3)),
                ("b", "b1", Some(9))
            ]
        );
        let seq = table.column(0).as_primitive::<arrow_array::types::Int64Type>();
        assert_eq!(seq.values().to_vec(), [0, 1, 2, 3]);
    }
}
