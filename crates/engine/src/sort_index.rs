//! Sorted orders of the rows, kept beside the row directory.
//!
//! A sort (by one field or several, each either way) is a walk along a
//! precomputed permutation of the rows: by the first key's value, then the
//! next key's, NULLs last in either direction, and equal values by `seq`
//! (the index's own order, the unique tie-breaker). A page is the next
//! `limit` rows of the walk that the search matches, so a sorted page costs
//! about what it returns, at any depth. A permutation (4 bytes a row) is
//! built from the typed columns the first time a search sorts that way;
//! the most recent few are kept ([`SortIndexes`]).

use crate::Result;
use crate::columns::{Column, Probe};
use crate::keyset::{Direction, Keyset, invalid_token};
use serde_json::Value;
use std::cmp::Ordering;
use std::sync::{Arc, Mutex};

/// How many permutations are kept per index version.
const KEPT: usize = 8;

/// One key of a sort.
#[derive(Clone, Debug)]
pub(crate) struct SortKey {
    /// The column.
    pub column: Arc<Column>,
    /// Largest first.
    pub descending: bool,
}

/// The rows in one sort order.
pub(crate) struct SortIndex {
    keys: Vec<SortKey>,
    order: Vec<u32>,
}

impl SortIndex {
    /// Sorts `rows` rows by `keys`, then by seq.
    pub(crate) fn build(keys: Vec<SortKey>, rows: usize) -> SortIndex {
        let mut index = SortIndex {
            keys,
            order: (0..rows as u32).collect(),
        };
        let mut order = std::mem::take(&mut index.order);
        order.sort_unstable_by(|a, b| index.compare(*a, *b));
        index.order = order;
        index
    }

    /// The order of two rows.
    fn compare(&self, a: u32, b: u32) -> Ordering {
        let (a_row, b_row) = (a as usize, b as usize);
        for key in &self.keys {
            let column = &key.column;
            let by_value = match (column.valid.get(a_row), column.valid.get(b_row)) {
                (false, false) => Ordering::Equal,
                (false, true) => Ordering::Greater,
                (true, false) => Ordering::Less,
                (true, true) if key.descending => column.compare_rows(b_row, a_row),
                (true, true) => column.compare_rows(a_row, b_row),
            };
            if by_value != Ordering::Equal {
                return by_value;
            }
        }
        a.cmp(&b)
    }

    /// The order of a boundary (its sort values, then its seq) against a row.
    fn compare_boundary(&self, probes: &[Option<Probe>], seq: u32, row: u32) -> Ordering {
        let index = row as usize;
        for (key, probe) in self.keys.iter().zip(probes) {
            let column = &key.column;
            let by_value = match (probe, column.valid.get(index)) {
                (None, false) => Ordering::Equal,
                (None, true) => Ordering::Greater,
                (Some(_), false) => Ordering::Less,
                (Some(probe), true) if key.descending => column.compare_probe(probe, index).reverse(),
                (Some(probe), true) => column.compare_probe(probe, index),
            };
            if by_value != Ordering::Equal {
                return by_value;
            }
        }
        seq.cmp(&row)
    }

    /// The same page among a few rows (all the rows a search matches, in
    /// any order): those past the keyset, then the first `limit` of them
    /// by selection, without walking the permutation.
    pub(crate) fn page_among(
        &self,
        mut rows: Vec<u32>,
        keyset: Option<&Keyset>,
        limit: usize,
    ) -> Result<(Vec<u32>, bool)> {
        let backwards = keyset.is_some_and(|k| k.direction == Direction::Prev);
        if let Some(keyset) = keyset {
            let (probes, seq) = self.boundary(keyset)?;
            let wanted = if backwards { Ordering::Greater } else { Ordering::Less };
            rows.retain(|row| self.compare_boundary(&probes, seq, *row) == wanted);
        }
        let order = |a: &u32, b: &u32| {
            let ordering = self.compare(*a, *b);
            if backwards { ordering.reverse() } else { ordering }
        };
        if rows.len() > limit + 1 {
            rows.select_nth_unstable_by(limit, order);
            rows.truncate(limit + 1);
        }
        rows.sort_unstable_by(order);
        let more = rows.len() > limit;
        rows.truncate(limit);
        if backwards {
            rows.reverse();
        }
        Ok((rows, more))
    }

    /// A keyset's sort values as probes of the columns, and its seq.
    fn boundary(&self, keyset: &Keyset) -> Result<(Vec<Option<Probe>>, u32)> {
        if keyset.values.len() != self.keys.len() {
            return Err(invalid_token());
        }
        let probes = self
            .keys
            .iter()
            .zip(&keyset.values)
            .map(|(key, value)| key.column.probe(value).transpose().map_err(|_| invalid_token()))
            .collect::<Result<Vec<_>>>()?;
        let seq = u32::try_from(keyset.seq).map_err(|_| invalid_token())?;
        Ok((probes, seq))
    }

    /// A row's sort values as a token holds them.
    pub(crate) fn token_key(&self, seq: u32) -> Vec<Value> {
        self.keys.iter().map(|k| k.column.token_value(seq as usize)).collect()
    }

    /// The rows of one page: up to `limit` rows that `matches` after (or
    /// before) the keyset, in order, and whether there are more beyond.
    pub(crate) fn page(
        &self,
        keyset: Option<&Keyset>,
        limit: usize,
        matches: impl Fn(u32) -> bool,
    ) -> Result<(Vec<u32>, bool)> {
        let (start, backwards) = match keyset {
            None => (0, false),
            Some(keyset) => {
                if keyset.values.len() != self.keys.len() {
                    return Err(invalid_token());
                }
                let probes = self
                    .keys
                    .iter()
                    .zip(&keyset.values)
                    .map(|(key, value)| key.column.probe(value).transpose().map_err(|_| invalid_token()))
                    .collect::<Result<Vec<_>>>()?;
                let seq = u32::try_from(keyset.seq).map_err(|_| invalid_token())?;
                let backwards = keyset.direction == Direction::Prev;
                // The first position after the boundary row, or the boundary's own position.
                let position = self.order.partition_point(|row| {
                    let ordering = self.compare_boundary(&probes, seq, *row);
                    if backwards {
                        ordering == Ordering::Greater
                    } else {
                        ordering != Ordering::Less
                    }
                });
                (position, backwards)
            }
        };
        let mut rows: Vec<u32> = if backwards {
            let before = self.order[..start].iter().rev();
            before.copied().filter(|s| matches(*s)).take(limit + 1).collect()
        } else {
            let after = self.order[start..].iter();
            after.copied().filter(|s| matches(*s)).take(limit + 1).collect()
        };
        let more = rows.len() > limit;
        rows.truncate(limit);
        if backwards {
            rows.reverse();
        }
        Ok((rows, more))
    }
}

/// The permutations built so far, the most recently used last.
#[derive(Default)]
pub(crate) struct SortIndexes {
    kept: Mutex<Vec<(String, Arc<SortIndex>)>>,
}

impl SortIndexes {
    /// The permutation of `keys`, built on first use.
    pub(crate) fn get(&self, keys: Vec<SortKey>, rows: usize) -> Arc<SortIndex> {
        let name: String = keys
            .iter()
            .map(|k| format!("{}{:p};", if k.descending { '-' } else { '+' }, Arc::as_ptr(&k.column)))
            .collect();
        {
            let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(position) = kept.iter().position(|(n, _)| *n == name) {
                let entry = kept.remove(position);
                let index = entry.1.clone();
                kept.push(entry);
                return index;
            }
        }
        // Built outside the lock; two first searches may both build it.
        let index = Arc::new(SortIndex::build(keys, rows));
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.len() >= KEPT {
            kept.remove(0);
        }
        kept.push((name, index.clone()));
        index
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyset::Direction;
    use duckdb::Connection;
    use serde_json::json;
    use stac_indexed_filter::Kind;

    fn columns() -> (Arc<Column>, Arc<Column>) {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch(
                "CREATE TABLE items AS SELECT * FROM (VALUES
                    (0, 3.0, 'b'), (1, NULL, 'a'), (2, 1.0, NULL), (3, 3.0, 'a'), (4, 2.0, 'b'), (5, 3.0, 'b')
                 ) t(seq, v, s)",
            )
            .unwrap();
        (
            Arc::new(Column::load(&connection, "v", Kind::Number).unwrap()),
            Arc::new(Column::load(&connection, "s", Kind::Text).unwrap()),
        )
    }

    fn key(column: &Arc<Column>, descending: bool) -> SortKey {
        SortKey {
            column: column.clone(),
            descending,
        }
    }

    #[test]
    fn one_and_two_keys_either_way_nulls_last_seq_ties() {
        let (v, s) = columns();
        assert_eq!(SortIndex::build(vec![key(&v, false)], 6).order, [2, 4, 0, 3, 5, 1]);
        assert_eq!(SortIndex::build(vec![key(&v, true)], 6).order, [0, 3, 5, 4, 2, 1]);
        let two = SortIndex::build(vec![key(&v, true), key(&s, false)], 6);
        assert_eq!(two.order, [3, 0, 5, 4, 2, 1]);
        assert_eq!(two.token_key(3), vec![json!(3.0), json!("a")]);
        let two = SortIndex::build(vec![key(&s, true), key(&v, false)], 6);
        assert_eq!(two.order, [4, 0, 5, 3, 1, 2]);
    }

    #[test]
    fn pages_walk_from_a_keyset_both_ways() {
        let (v, s) = columns();
        let index = SortIndex::build(vec![key(&v, true), key(&s, false)], 6);
        let all = |_| true;
        assert_eq!(index.page(None, 2, all).unwrap(), (vec![3, 0], true));
        let after = Keyset {
            direction: Direction::Next,
            values: index.token_key(0),
            seq: 0,
        };
        assert_eq!(index.page(Some(&after), 2, all).unwrap(), (vec![5, 4], true));
        let before = Keyset {
            direction: Direction::Prev,
            values: index.token_key(5),
            seq: 5,
        };
        assert_eq!(index.page(Some(&before), 5, all).unwrap(), (vec![3, 0], false));
        let null = Keyset {
            direction: Direction::Prev,
            values: vec![json!(null), json!("a")],
            seq: 1,
        };
        assert_eq!(index.page(Some(&null), 1, |s| s != 2).unwrap(), (vec![4], true));
        let wrong = Keyset {
            values: vec![json!("x"), json!("a")],
            ..after
        };
        assert!(index.page(Some(&wrong), 1, all).is_err());
        assert!(index.page_among(vec![1, 2], Some(&wrong), 1).is_err());
    }

    #[test]
    fn a_page_among_matching_rows_is_the_walks_page() {
        let (v, s) = columns();
        let index = SortIndex::build(vec![key(&v, true), key(&s, false)], 6);
        let matching = |row: u32| row != 4;
        let rows: Vec<u32> = (0..6).rev().filter(|r| matching(*r)).collect();
        for limit in 1..6 {
            assert_eq!(
                index.page_among(rows.clone(), None, limit).unwrap(),
                index.page(None, limit, matching).unwrap()
            );
            for seq in 0..6u32 {
                for direction in [Direction::Next, Direction::Prev] {
                    let keyset = Keyset {
                        direction,
                        values: index.token_key(seq),
                        seq: i64::from(seq),
                    };
                    assert_eq!(
                        index.page_among(rows.clone(), Some(&keyset), limit).unwrap(),
                        index.page(Some(&keyset), limit, matching).unwrap(),
                        "{keyset:?} limit {limit}"
                    );
                }
            }
        }
    }
}
