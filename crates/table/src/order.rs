//! The published row order: by collection, then newest first (`datetime`,
//! else `start_datetime`; rows with neither last), then id.
//!
//! The staging writer sorts each run of rows into this order, and the merge
//! interleaves the runs in it; `seq` numbers the result.

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, RecordBatch, StringArray, TimestampMicrosecondArray, UInt32Array};
use arrow_schema::ArrowError;
use stac_indexed_format::schema::{COLLECTION, DATETIME, ID, START_DATETIME};
use std::cmp::Ordering;

/// The sort key of one row, borrowed from its batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderKey<'a> {
    /// The collection id.
    pub collection: &'a str,
    /// `datetime`, else `start_datetime` (UTC microseconds).
    pub time: Option<i64>,
    /// The item id.
    pub id: &'a str,
}

impl Ord for OrderKey<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.collection
            .cmp(other.collection)
            .then_with(|| newest_first(self.time, other.time))
            .then_with(|| self.id.cmp(other.id))
    }
}

impl PartialOrd for OrderKey<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Descending, with `None` after every time.
fn newest_first(a: Option<i64>, b: Option<i64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => b.cmp(&a),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// The key columns of a batch of staged rows.
#[derive(Clone, Debug)]
pub struct KeyColumns {
    collection: StringArray,
    datetime: TimestampMicrosecondArray,
    start_datetime: TimestampMicrosecondArray,
    id: StringArray,
}

impl KeyColumns {
    /// The key columns of `batch` (an error when one is missing or mistyped).
    pub fn of(batch: &RecordBatch) -> Result<KeyColumns, ArrowError> {
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| ArrowError::SchemaError(format!("no {name} column")))
        };
        let string = |name: &str| -> Result<StringArray, ArrowError> {
            column(name)?
                .as_string_opt::<i32>()
                .cloned()
                .ok_or_else(|| ArrowError::SchemaError(format!("{name} is not a string column")))
        };
        let time = |name: &str| -> Result<TimestampMicrosecondArray, ArrowError> {
            column(name)?
                .as_primitive_opt::<TimestampMicrosecondType>()
                .cloned()
                .ok_or_else(|| ArrowError::SchemaError(format!("{name} is not a timestamp column")))
        };
        Ok(KeyColumns {
            collection: string(COLLECTION)?,
            datetime: time(DATETIME)?,
            start_datetime: time(START_DATETIME)?,
            id: string(ID)?,
        })
    }

    /// The key of row `row`.
    pub fn key(&self, row: usize) -> OrderKey<'_> {
        let time = |array: &TimestampMicrosecondArray| array.is_valid(row).then(|| array.value(row));
        OrderKey {
            collection: self.collection.value(row),
            time: time(&self.datetime).or_else(|| time(&self.start_datetime)),
            id: self.id.value(row),
        }
    }
}

/// The batch's rows in the published order (equal keys keep their order).
pub fn sort_batch(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let keys = KeyColumns::of(batch)?;
    let mut rows: Vec<u32> = (0..batch.num_rows() as u32).collect();
    rows.sort_by(|a, b| keys.key(*a as usize).cmp(&keys.key(*b as usize)));
    arrow_select::take::take_record_batch(batch, &UInt32Array::from(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(collection: &'static str, time: Option<i64>, id: &'static str) -> OrderKey<'static> {
        OrderKey { collection, time, id }
    }

    #[test]
    fn collection_then_newest_first_then_id() {
        let mut keys = vec![
            key("b", Some(5), "x"),
            key("a", None, "a"),
            key("a", Some(1), "b"),
            key("a", Some(9), "z"),
            key("a", Some(9), "c"),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                key("a", Some(9), "c"),
                key("a", Some(9), "z"),
                key("a", Some(1), "b"),
                key("a", None, "a"),
                key("b", Some(5), "x"),
            ]
        );
    }
}
