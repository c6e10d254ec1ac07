//! Sorted orders of the rows by one sortable, kept beside the row directory.
//!
//! A sort by one field is a walk along a precomputed permutation of the
//! rows: ascending or descending by the field's value, NULLs last either
//! way, equal values by `seq` (the index's own order, the unique
//! tie-breaker). A page is the next `limit` rows of the walk that the search
//! matches, so a sorted page costs about what it returns, at any depth. Each
//! permutation is built from one column the first time a search sorts by it.

use crate::Result;
use crate::paging::{Direction, Keyset, invalid_token};
use crate::sort::token_sql_value;
use duckdb::Connection;
use duckdb::types::Value as SqlValue;
use serde_json::Value;
use stac_indexed_filter::Kind;
use std::cmp::Ordering;

/// A sortable value of one row.
#[derive(Clone, Debug, PartialEq)]
enum Key {
    Number(f64),
    Integer(i64),
    /// UTC microseconds.
    Time(i64),
    Text(Box<str>),
    Boolean(bool),
}

impl Key {
    /// A column's value: `None` for NULL, an error for a type no sortable has.
    fn of(value: SqlValue) -> duckdb::Result<Option<Key>> {
        Ok(Some(match value {
            SqlValue::Null => return Ok(None),
            SqlValue::Double(v) => Key::Number(v),
            SqlValue::Float(v) => Key::Number(f64::from(v)),
            SqlValue::BigInt(v) => Key::Integer(v),
            SqlValue::Int(v) => Key::Integer(i64::from(v)),
            SqlValue::Timestamp(unit, v) => Key::Time(unit.to_micros(v)),
            SqlValue::Text(v) => Key::Text(v.into_boxed_str()),
            SqlValue::Boolean(v) => Key::Boolean(v),
            other => {
                let message = format!("cannot sort by a value of type {:?}", other.data_type());
                return Err(duckdb::Error::FromSqlConversionFailure(
                    0,
                    other.data_type(),
                    message.into(),
                ));
            }
        }))
    }

    /// The key a token's JSON value stands for (see [`Key::token_value`]).
    fn of_token(kind: Kind, value: &Value) -> Result<Option<Key>> {
        match token_sql_value(kind, value)? {
            Some(value) => Key::of(value).map_err(|_| invalid_token()),
            None => Ok(None),
        }
    }

    /// The value as a paging token holds it, as the SQL path writes it too.
    fn token_value(&self) -> Value {
        match self {
            Key::Number(v) => serde_json::Number::from_f64(*v).map_or(Value::Null, Value::Number),
            Key::Integer(v) | Key::Time(v) => Value::from(*v),
            Key::Text(v) => Value::String(v.to_string()),
            Key::Boolean(v) => Value::Bool(*v),
        }
    }

    fn cmp(&self, other: &Key) -> Ordering {
        match (self, other) {
            (Key::Number(a), Key::Number(b)) => a.total_cmp(b),
            (Key::Integer(a), Key::Integer(b)) | (Key::Time(a), Key::Time(b)) => a.cmp(b),
            (Key::Text(a), Key::Text(b)) => a.cmp(b),
            (Key::Boolean(a), Key::Boolean(b)) => a.cmp(b),
            // One column has one type.
            _ => Ordering::Equal,
        }
    }
}

/// The rows in both orders of one sortable column.
pub struct SortIndex {
    kind: Kind,
    values: Vec<Option<Key>>,
    ascending: Vec<u32>,
    descending: Vec<u32>,
}

impl SortIndex {
    /// Reads a column (in seq order) and sorts the rows by it.
    pub fn load(connection: &Connection, column: &str, kind: Kind) -> Result<SortIndex> {
        let sql = format!("SELECT CAST({column} AS {}) FROM items ORDER BY seq", kind.sql_type());
        let mut statement = connection.prepare(&sql)?;
        let values = statement
            .query_map([], |row| Key::of(row.get::<_, SqlValue>(0)?))?
            .collect::<duckdb::Result<Vec<_>>>()?;
        let mut index = SortIndex {
            kind,
            values,
            ascending: Vec::new(),
            descending: Vec::new(),
        };
        let mut seqs: Vec<u32> = (0..index.values.len() as u32).collect();
        seqs.sort_by(|a, b| index.compare(*a, *b, false));
        index.ascending = seqs.clone();
        seqs.sort_by(|a, b| index.compare(*a, *b, true));
        index.descending = seqs;
        Ok(index)
    }

    /// The order of two rows: by value (NULLs last), then by seq.
    fn compare(&self, a: u32, b: u32, descending: bool) -> Ordering {
        self.compare_with(self.values[a as usize].as_ref(), a, b, descending)
    }

    /// The order of a row with value `a` and seq `a_seq` against row `b`.
    fn compare_with(&self, a: Option<&Key>, a_seq: u32, b: u32, descending: bool) -> Ordering {
        let by_value = match (a, self.values[b as usize].as_ref()) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) if descending => y.cmp(x),
            (Some(x), Some(y)) => x.cmp(y),
        };
        by_value.then(a_seq.cmp(&b))
    }

    /// A row's sort value as a token holds it.
    pub fn token_key(&self, seq: u32) -> Vec<Value> {
        vec![self.values[seq as usize].as_ref().map_or(Value::Null, Key::token_value)]
    }

    /// The rows of one page: up to `limit` rows that `matches` after (or
    /// before) the keyset, in order, and whether there are more beyond.
    pub fn page(
        &self,
        descending: bool,
        keyset: Option<&Keyset>,
        limit: usize,
        matches: impl Fn(u32) -> bool,
    ) -> Result<(Vec<u32>, bool)> {
        let order = if descending { &self.descending } else { &self.ascending };
        let (start, backwards) = match keyset {
            None => (0, false),
            Some(keyset) => {
                let value = keyset
                    .values
                    .first()
                    .map(|v| Key::of_token(self.kind, v))
                    .transpose()?
                    .flatten();
                let seq = u32::try_from(keyset.seq).map_err(|_| invalid_token())?;
                // The first position after the boundary row.
                let after = order
                    .partition_point(|row| self.compare_with(value.as_ref(), seq, *row, descending) != Ordering::Less);
                let backwards = keyset.direction == Direction::Prev;
                let before = order.partition_point(|row| {
                    self.compare_with(value.as_ref(), seq, *row, descending) == Ordering::Greater
                });
                (if backwards { before } else { after }, backwards)
            }
        };
        let mut rows: Vec<u32> = if backwards {
            order[..start]
                .iter()
                .rev()
                .copied()
                .filter(|s| matches(*s))
                .take(limit + 1)
                .collect()
        } else {
            order[start..]
                .iter()
                .copied()
                .filter(|s| matches(*s))
                .take(limit + 1)
                .collect()
        };
        let more = rows.len() > limit;
        rows.truncate(limit);
        if backwards {
            rows.reverse();
        }
        Ok((rows, more))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn index() -> SortIndex {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch(
                "CREATE TABLE items AS SELECT * FROM (VALUES (0, 3.0), (1, NULL), (2, 1.0), (3, 3.0), (4, 2.0)) t(seq, v)",
            )
            .unwrap();
        SortIndex::load(&connection, "v", Kind::Number).unwrap()
    }

    fn keyset(direction: Direction, value: Value, seq: i64) -> Keyset {
        Keyset {
            direction,
            values: vec![value],
            seq,
        }
    }

    #[test]
    fn orders_put_nulls_last_and_break_ties_by_seq() {
        let index = index();
        assert_eq!(index.ascending, [2, 4, 0, 3, 1]);
        assert_eq!(index.descending, [0, 3, 4, 2, 1]);
        assert_eq!(index.token_key(1), [json!(null)]);
        assert_eq!(index.token_key(4), [json!(2.0)]);
    }

    #[test]
    fn pages_continue_after_and_before_a_keyset() {
        let index = index();
        let all = |_| true;
        assert_eq!(index.page(true, None, 2, all).unwrap(), (vec![0, 3], true));
        let after = keyset(Direction::Next, json!(3.0), 3);
        assert_eq!(index.page(true, Some(&after), 2, all).unwrap(), (vec![4, 2], true));
        let after_last_value = keyset(Direction::Next, json!(1.0), 2);
        assert_eq!(
            index.page(true, Some(&after_last_value), 5, all).unwrap(),
            (vec![1], false)
        );
        let before = keyset(Direction::Prev, json!(2.0), 4);
        assert_eq!(index.page(true, Some(&before), 1, all).unwrap(), (vec![3], true));
        let after_null = keyset(Direction::Next, json!(null), 1);
        assert_eq!(index.page(false, Some(&after_null), 5, all).unwrap(), (vec![], false));
        let odd = |seq: u32| seq % 2 == 1;
        assert_eq!(index.page(false, None, 5, odd).unwrap(), (vec![3, 1], false));
        assert!(
            index
                .page(false, Some(&keyset(Direction::Next, json!("x"), 0)), 1, all)
                .is_err()
        );
    }
}
