//! The rows an update is about, as the index holds them now: a scan of the
//! narrow columns of the items table and its deltas, keeping only the rows
//! of the keys it names and at the hrefs it names.

use crate::{Error, Result};
use arrow_array::cast::AsArray;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use stac_indexed_format::schema::{COLLECTION, CONTENT_HASH, HREF, ID};
use stac_indexed_table::resolve::LocalDelta;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::Path;

/// An item's `(collection, id)`, joined by a NUL (neither holds one).
pub(crate) type Key = String;

/// The key of `(collection, id)`.
pub(crate) fn key(collection: &str, id: &str) -> Key {
    format!("{collection}\0{id}")
}

/// The collection of a key.
pub(crate) fn collection_of(key: &Key) -> &str {
    key.split_once('\0').map_or(key.as_str(), |(collection, _)| collection)
}

/// Where a row was read from and the hash of what was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Held {
    pub href: String,
    pub hash: String,
}

/// The rows an update names: by key, for the keys in `keys` and those at
/// the hrefs in `hrefs`, as `base` with `deltas` (oldest first) applied.
pub(crate) fn held_rows(
    base: &Path,
    deltas: &[LocalDelta<'_>],
    hrefs: &HashSet<String>,
    keys: &HashSet<Key>,
) -> Result<HashMap<Key, Held>> {
    let mut held = HashMap::new();
    let mut scratch = String::new();
    scan_rows(base, &mut held, &mut scratch, hrefs, keys)?;
    for delta in deltas {
        scan_rows(delta.upserted, &mut held, &mut scratch, hrefs, keys)?;
        scan_removed(delta.removed, &mut held, &mut scratch)?;
    }
    Ok(held)
}

/// Records the rows of `path` (an items table or upserted rows) that are named,
/// or that replace a row already recorded.
fn scan_rows(
    path: &Path,
    held: &mut HashMap<Key, Held>,
    scratch: &mut String,
    hrefs: &HashSet<String>,
    keys: &HashSet<Key>,
) -> Result<()> {
    read_columns(path, &[COLLECTION, ID, HREF, CONTENT_HASH], |columns, row| {
        let [collections, ids, row_hrefs, hashes] = columns else {
            unreachable!("four columns asked for")
        };
        scratch.clear();
        scratch.push_str(collections.value(row));
        scratch.push('\0');
        scratch.push_str(ids.value(row));
        let href = row_hrefs.value(row);
        if hrefs.contains(href) || keys.contains(scratch.as_str()) || held.contains_key(scratch.as_str()) {
            let row = Held {
                href: href.to_string(),
                hash: hashes.value(row).to_string(),
            };
            held.insert(scratch.clone(), row);
        }
    })
}

/// Forgets the recorded rows that `path` (a delta's removed keys) removes.
fn scan_removed(path: &Path, held: &mut HashMap<Key, Held>, scratch: &mut String) -> Result<()> {
    read_columns(path, &[COLLECTION, ID], |columns, row| {
        scratch.clear();
        scratch.push_str(columns[0].value(row));
        scratch.push('\0');
        scratch.push_str(columns[1].value(row));
        held.remove(scratch.as_str());
    })
}

/// Calls `visit` for each row of the string columns `names` of a Parquet file.
fn read_columns(path: &Path, names: &[&str], mut visit: impl FnMut(&[&arrow_array::StringArray], usize)) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::local(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
    let mut indices = Vec::with_capacity(names.len());
    for name in names {
        let index = builder
            .schema()
            .index_of(name)
            .map_err(|_| Error::index_file(path, format!("no {name} column")))?;
        indices.push(index);
    }
    let projection = ProjectionMask::roots(builder.parquet_schema(), indices.iter().copied());
    let reader = builder.with_projection(projection).with_batch_size(8192).build()?;
    for batch in reader {
        let batch = batch?;
        // The projection keeps the file's column order; look each up by name.
        let columns: Vec<&arrow_array::StringArray> = names
            .iter()
            .map(|name| batch.column_by_name(name).and_then(|c| c.as_string_opt::<i32>()))
            .collect::<Option<_>>()
            .ok_or_else(|| Error::index_file(path, "a column is not text"))?;
        for row in 0..batch.num_rows() {
            visit(&columns, row);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use std::sync::Arc;

    fn write(path: &Path, columns: &[(&str, &[&str])]) {
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|(name, _)| Field::new(*name, DataType::Utf8, false))
                .collect::<Vec<_>>(),
        ));
        let arrays: Vec<ArrayRef> = columns
            .iter()
            .map(|(_, values)| Arc::new(StringArray::from(values.to_vec())) as ArrayRef)
            .collect();
        let mut writer = ArrowWriter::try_new(File::create(path).unwrap(), schema.clone(), None).unwrap();
        writer.write(&RecordBatch::try_new(schema, arrays).unwrap()).unwrap();
        writer.close().unwrap();
    }

    fn rows(path: &Path, keys: &[(&str, &str, &str, &str)]) {
        let collections: Vec<&str> = keys.iter().map(|k| k.0).collect();
        let ids: Vec<&str> = keys.iter().map(|k| k.1).collect();
        let hrefs: Vec<&str> = keys.iter().map(|k| k.2).collect();
        let hashes: Vec<&str> = keys.iter().map(|k| k.3).collect();
        write(
            path,
            &[
                (COLLECTION, &collections),
                (ID, &ids),
                (HREF, &hrefs),
                (CONTENT_HASH, &hashes),
            ],
        );
    }

    #[test]
    fn named_rows_are_followed_through_the_deltas() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name);
        rows(
            &path("base.parquet"),
            &[
                ("c", "a", "file:///a.json", "1"),
                ("c", "b", "file:///b.json", "1"),
                ("c", "moved", "file:///m.json", "1"),
                ("c", "gone", "file:///g.json", "1"),
                ("c", "other", "file:///o.json", "1"),
            ],
        );
        // The delta: b changed, moved now comes from another href, gone removed.
        rows(
            &path("u.parquet"),
            &[
                ("c", "b", "file:///b.json", "2"),
                ("c", "moved", "file:///m2.json", "2"),
            ],
        );
        write(&path("r.parquet"), &[(COLLECTION, &["c"]), (ID, &["gone"])]);
        let deltas = [LocalDelta {
            upserted: &path("u.parquet"),
            removed: &path("r.parquet"),
        }];
        let hrefs: HashSet<String> = ["file:///a.json", "file:///m.json", "file:///g.json"]
            .map(String::from)
            .into();
        let keys: HashSet<Key> = [key("c", "b"), key("c", "new")].into();

        let held = held_rows(&path("base.parquet"), &deltas, &hrefs, &keys).unwrap();
        let held_of = |id: &str| held.get(&key("c", id)).map(|h| (h.href.as_str(), h.hash.as_str()));
        assert_eq!(held_of("a"), Some(("file:///a.json", "1")));
        assert_eq!(held_of("b"), Some(("file:///b.json", "2")));
        assert_eq!(
            held_of("moved"),
            Some(("file:///m2.json", "2")),
            "followed to its new href"
        );
        assert_eq!(held_of("gone"), None);
        assert_eq!(held_of("other"), None, "not named");
        assert_eq!(held.len(), 3);
        assert_eq!(collection_of(&key("c", "x/y")), "c");
    }
}
