//! The time interval of every row, in `seq` order, with a summary of each
//! block of rows so that a temporal search skips the blocks it cannot
//! match and takes whole the blocks it matches.
//!
//! The index is sorted newest first within each collection, so the rows of
//! a block lie close in time: a `datetime` search reads the few blocks at
//! the edges of its interval, not a million rows.

use crate::search::Interval;
use std::ops::Range;

/// Rows per summarized block.
const BLOCK: usize = 1024;

/// The least and greatest starts and ends of one block's rows.
#[derive(Clone, Copy, Debug)]
struct Summary {
    least_start: i64,
    greatest_start: i64,
    least_end: i64,
    greatest_end: i64,
}

/// Per row, `coalesce(start_datetime, datetime)` and
/// `coalesce(end_datetime, datetime)` in UTC microseconds (`i64::MIN` and
/// `i64::MAX` when absent).
#[derive(Debug, Default)]
pub(crate) struct Intervals {
    values: Vec<(i64, i64)>,
    blocks: Vec<Summary>,
}

impl Intervals {
    /// Appends the next row's interval.
    pub(crate) fn push(&mut self, (start, end): (i64, i64)) {
        if self.values.len().is_multiple_of(BLOCK) {
            self.blocks.push(Summary {
                least_start: start,
                greatest_start: start,
                least_end: end,
                greatest_end: end,
            });
        } else if let Some(block) = self.blocks.last_mut() {
            block.least_start = block.least_start.min(start);
            block.greatest_start = block.greatest_start.max(start);
            block.least_end = block.least_end.min(end);
            block.greatest_end = block.greatest_end.max(end);
        }
        self.values.push((start, end));
    }

    /// Gives back the room reserved for more rows.
    pub(crate) fn shrink(&mut self) {
        self.values.shrink_to_fit();
        self.blocks.shrink_to_fit();
    }

    /// Row `seq`'s interval.
    pub(crate) fn get(&self, seq: u32) -> (i64, i64) {
        self.values[seq as usize]
    }

    /// All the rows' intervals, by seq.
    pub(crate) fn all(&self) -> &[(i64, i64)] {
        &self.values
    }

    /// About how many bytes they take.
    pub(crate) fn bytes(&self) -> usize {
        self.values.capacity() * 16 + self.blocks.capacity() * std::mem::size_of::<Summary>()
    }

    /// The seqs of `ranges` (sorted, disjoint) whose interval meets
    /// `datetime`, ascending. Blocks are skipped or taken whole by their
    /// summary; the rows of the others are tested 64 at a time, without
    /// branches.
    pub(crate) fn meeting(&self, ranges: &[Range<u32>], datetime: Option<Interval>) -> Vec<u32> {
        let (low, high) = bounds(datetime);
        let mut seqs = Vec::new();
        for range in ranges {
            let (first, last) = (range.start as usize, range.end as usize);
            let mut row = first;
            while row < last {
                let block = &self.blocks[row / BLOCK];
                let end = ((row / BLOCK + 1) * BLOCK).min(last);
                if block.least_start > high || block.greatest_end < low {
                    // No row of the block meets the interval.
                } else if block.greatest_start <= high && block.least_end >= low {
                    seqs.extend(row as u32..end as u32);
                } else {
                    self.test_rows(row..end, (low, high), &mut seqs);
                }
                row = end;
            }
        }
        seqs
    }

    /// Appends the rows of `rows` whose interval meets `low..=high`.
    fn test_rows(&self, rows: Range<usize>, (low, high): (i64, i64), seqs: &mut Vec<u32>) {
        let first = rows.start;
        for (word, chunk) in self.values[rows].chunks(64).enumerate() {
            let mut bits = 0u64;
            for (bit, (start, end)) in chunk.iter().enumerate() {
                bits |= u64::from((*start <= high) & (*end >= low)) << bit;
            }
            let base = (first + word * 64) as u32;
            while bits != 0 {
                seqs.push(base + bits.trailing_zeros());
                bits &= bits - 1;
            }
        }
    }
}

/// The greatest start and least end an interval may have to meet
/// `datetime` (any, when it is absent): it meets when its start is at most
/// the second and its end at least the first.
pub(crate) fn bounds(datetime: Option<Interval>) -> (i64, i64) {
    datetime.map_or((i64::MIN, i64::MAX), |i| {
        (i.start.unwrap_or(i64::MIN), i.end.unwrap_or(i64::MAX))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether an interval meets a query, as the SQL path says it.
    fn meets((start, end): (i64, i64), query: Interval) -> bool {
        query.end.is_none_or(|e| start <= e) && query.start.is_none_or(|s| end >= s)
    }

    #[test]
    fn searches_find_what_a_row_by_row_test_finds() {
        let mut intervals = Intervals::default();
        let rows: Vec<(i64, i64)> = (0..5000i64)
            .map(|i| match i % 97 {
                0 => (i64::MIN, i64::MAX),
                1 => (i * 10, i * 10 + 500),
                _ if i < 3000 => (10_000 - i, 10_000 - i),
                _ => ((i * 7919) % 6000, (i * 7919) % 6000),
            })
            .collect();
        rows.iter().for_each(|r| intervals.push(*r));
        intervals.shrink();
        let queries = [
            None,
            Some(Interval {
                start: Some(8000),
                end: Some(9000),
            }),
            Some(Interval {
                start: None,
                end: Some(7100),
            }),
            Some(Interval {
                start: Some(7100),
                end: None,
            }),
            Some(Interval {
                start: Some(20_000),
                end: Some(30_000),
            }),
            Some(Interval {
                start: Some(5000),
                end: Some(5000),
            }),
        ];
        let range_sets = [
            std::iter::once(0..5000).collect(),
            vec![10..1500, 2047..2049, 3000..4999],
            vec![],
        ];
        for ranges in &range_sets {
            for query in queries {
                let expected: Vec<u32> = ranges
                    .iter()
                    .flat_map(|r| r.clone())
                    .filter(|seq| query.is_none_or(|q| meets(rows[*seq as usize], q)))
                    .collect();
                assert_eq!(intervals.meeting(ranges, query), expected, "{ranges:?} {query:?}");
            }
        }
    }
}
