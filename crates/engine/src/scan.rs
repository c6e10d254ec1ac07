//! Finding a page, and counting, among the rows a search's core parameters
//! match ([`CoreRows`]) that a [`Predicate`] accepts, in `seq` order.
//!
//! Whole collections are ranges of rows: they are scanned a block of words
//! at a time, the predicate evaluated 64 rows to a word, and a page stops
//! as soon as it is full (from the boundary forwards, or backwards for a
//! previous page). Rows found by a spatial or temporal search, or by id,
//! are tested one by one. The count is one pass over the same words.

use crate::columns::Bitmap;
use crate::keyset::Boundary;
use crate::predicate::{BLOCK, Predicate};
use std::ops::Range;

/// The rows a search's core parameters match.
#[derive(Debug)]
pub enum CoreRows {
    /// These seqs, sorted and distinct.
    Sorted(Vec<u32>),
    /// Every seq in these ranges (sorted, disjoint).
    Ranges(Vec<Range<u32>>),
}

/// A page in seq order: the rows, whether there are more after and before, and the count.
pub(crate) struct SeqPage {
    /// The rows, ascending.
    pub rows: Vec<u32>,
    /// Rows match after the last.
    pub has_next: bool,
    /// Rows match before the first.
    pub has_prev: bool,
    /// How many rows match in all.
    pub matched: u64,
}

/// The page of `limit` rows from `boundary`, and the count unless `known`.
pub(crate) fn page(
    core: &CoreRows,
    predicate: &Predicate,
    boundary: Option<Boundary>,
    limit: usize,
    known: Option<u64>,
) -> SeqPage {
    let clamp = |seq: i64| seq.clamp(-1, i64::from(u32::MAX));
    let (mut rows, has_next, has_prev, more) = match boundary {
        None => {
            let rows = first(core, predicate, 0, limit + 1);
            let more = rows.len() > limit;
            (rows, more, false, more)
        }
        Some(Boundary::After(after)) => {
            let rows = first(core, predicate, (clamp(after) + 1) as u64, limit + 1);
            let more = rows.len() > limit;
            (rows, more, true, more)
        }
        Some(Boundary::Before(before)) => {
            let mut rows = last(core, predicate, clamp(before).max(0) as u64, limit + 1);
            let more = rows.len() > limit;
            if more {
                rows.remove(0);
            }
            (rows, true, more, more)
        }
    };
    rows.truncate(limit);
    let matched = match known {
        Some(count) => count,
        None if boundary.is_none() && !more => rows.len() as u64,
        None => count(core, predicate),
    };
    SeqPage {
        rows,
        has_next,
        has_prev,
        matched,
    }
}

/// How many rows match.
pub(crate) fn count(core: &CoreRows, predicate: &Predicate) -> u64 {
    match core {
        CoreRows::Sorted(seqs) => accepted(seqs, predicate).count() as u64,
        CoreRows::Ranges(ranges) => {
            let mut count = 0;
            for range in ranges {
                forward(predicate, range.start as usize, range.end as usize, |_, bits| {
                    count += u64::from(bits.count_ones());
                    true
                });
            }
            count
        }
    }
}

/// The matching rows, as a bitmap over `rows` rows.
pub(crate) fn bitmap(core: &CoreRows, predicate: &Predicate, rows: usize) -> Bitmap {
    let mut matching = Bitmap::new(rows);
    match core {
        CoreRows::Sorted(seqs) => accepted(seqs, predicate).for_each(|s| matching.set(s as usize)),
        CoreRows::Ranges(ranges) => {
            for range in ranges {
                forward(predicate, range.start as usize, range.end as usize, |word, bits| {
                    matching.set_word(word, bits);
                    true
                });
            }
        }
    }
    matching
}

/// Up to `n` matching rows from `from` on, ascending.
fn first(core: &CoreRows, predicate: &Predicate, from: u64, n: usize) -> Vec<u32> {
    let mut rows = Vec::with_capacity(n.min(1024));
    match core {
        CoreRows::Sorted(seqs) => {
            let start = seqs.partition_point(|s| u64::from(*s) < from);
            rows.extend(accepted(&seqs[start..], predicate).take(n));
        }
        CoreRows::Ranges(ranges) => {
            for range in ranges {
                let low = (range.start as u64).max(from) as usize;
                let full = !forward(predicate, low, range.end as usize, |word, mut bits| {
                    while bits != 0 && rows.len() < n {
                        rows.push((word * 64) as u32 + bits.trailing_zeros());
                        bits &= bits - 1;
                    }
                    rows.len() < n
                });
                if full {
                    break;
                }
            }
        }
    }
    rows
}

/// Up to `n` matching rows before `before`, ascending (the last `n`).
fn last(core: &CoreRows, predicate: &Predicate, before: u64, n: usize) -> Vec<u32> {
    let mut rows = Vec::with_capacity(n.min(1024));
    match core {
        CoreRows::Sorted(seqs) => {
            let end = seqs.partition_point(|s| u64::from(*s) < before);
            rows.extend(
                seqs[..end]
                    .iter()
                    .rev()
                    .filter(|s| predicate.row(**s as usize) == Some(true))
                    .take(n),
            );
        }
        CoreRows::Ranges(ranges) => {
            for range in ranges.iter().rev() {
                let high = (range.end as u64).min(before) as usize;
                let full = !backward(predicate, range.start as usize, high, |word, mut bits| {
                    while bits != 0 && rows.len() < n {
                        let bit = 63 - bits.leading_zeros();
                        rows.push((word * 64) as u32 + bit);
                        bits &= !(1 << bit);
                    }
                    rows.len() < n
                });
                if full {
                    break;
                }
            }
        }
    }
    rows.reverse();
    rows
}

/// How many rows ahead a pass over scattered rows asks for what it will
/// test: enough for the memory latencies of a few rows to overlap.
const PREFETCH_AHEAD: usize = 16;

/// The rows of `seqs`, in their order, that `predicate` accepts. Rows found
/// by a spatial search are scattered over the columns, and testing one
/// waits on memory: each row's values are asked for [`PREFETCH_AHEAD`]
/// rows before it is tested.
fn accepted<'a>(seqs: &'a [u32], predicate: &'a Predicate) -> impl Iterator<Item = u32> + 'a {
    seqs.iter().enumerate().filter_map(move |(i, seq)| {
        if let Some(ahead) = seqs.get(i + PREFETCH_AHEAD) {
            predicate.prefetch(*ahead as usize);
        }
        (predicate.row(*seq as usize) == Some(true)).then_some(*seq)
    })
}

/// The bits of word `word` that are rows in `low..high`.
fn range_mask(word: usize, low: usize, high: usize) -> u64 {
    let start = word * 64;
    let from = low.saturating_sub(start).min(64);
    let to = high.saturating_sub(start).min(64);
    if to <= from {
        return 0;
    }
    (!0u64 >> (64 - (to - from))) << from
}

/// Visits the words of rows `low..high` that hold matches, in order, until
/// `visit` says stop; false when stopped.
fn forward(predicate: &Predicate, low: usize, high: usize, mut visit: impl FnMut(usize, u64) -> bool) -> bool {
    if low >= high {
        return true;
    }
    let (mut word, last_word) = (low / 64, (high - 1) / 64);
    let (mut yes, mut no) = ([0u64; BLOCK], [0u64; BLOCK]);
    while word <= last_word {
        let n = (last_word + 1 - word).min(BLOCK);
        predicate.words(word, &mut yes[..n], &mut no[..n]);
        for (i, bits) in yes[..n].iter().enumerate() {
            let bits = bits & range_mask(word + i, low, high);
            if bits != 0 && !visit(word + i, bits) {
                return false;
            }
        }
        word += n;
    }
    true
}

/// As [`forward`], from the last word back.
fn backward(predicate: &Predicate, low: usize, high: usize, mut visit: impl FnMut(usize, u64) -> bool) -> bool {
    if low >= high {
        return true;
    }
    let (first_word, mut end) = (low / 64, (high - 1) / 64 + 1);
    let (mut yes, mut no) = ([0u64; BLOCK], [0u64; BLOCK]);
    while end > first_word {
        let start = end.saturating_sub(BLOCK).max(first_word);
        let n = end - start;
        predicate.words(start, &mut yes[..n], &mut no[..n]);
        for i in (0..n).rev() {
            let bits = yes[i] & range_mask(start + i, low, high);
            if bits != 0 && !visit(start + i, bits) {
                return false;
            }
        }
        end = start;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Every third row of 5000 matches.
    fn predicate() -> Predicate {
        let mut rows = Bitmap::new(5000);
        (0..5000).step_by(3).for_each(|r| rows.set(r));
        Predicate::Rows(Arc::new(rows))
    }

    fn expected(core: &[Range<u32>]) -> Vec<u32> {
        core.iter().flat_map(|r| r.clone()).filter(|r| r % 3 == 0).collect()
    }

    #[test]
    fn pages_and_counts_agree_with_a_plain_filter() {
        let predicate = predicate();
        let cases = [
            vec![5..70, 130..131, 1000..4500],
            vec![],
            std::iter::once(0..5000).collect(),
            std::iter::once(64..128).collect(),
        ];
        for ranges in cases {
            let all = expected(&ranges);
            let core = CoreRows::Ranges(ranges.clone());
            let sorted = CoreRows::Sorted(ranges.iter().flat_map(|r| r.clone()).collect());
            for core in [&core, &sorted] {
                assert_eq!(count(core, &predicate), all.len() as u64, "{ranges:?}");
                let page_of = |boundary, limit| page(core, &predicate, boundary, limit, None);
                let first_page = page_of(None, 7);
                assert_eq!(first_page.rows, all.iter().copied().take(7).collect::<Vec<_>>());
                assert_eq!(first_page.has_next, all.len() > 7);
                assert_eq!(first_page.matched, all.len() as u64);
                for (i, row) in all.iter().enumerate() {
                    let next = page_of(Some(Boundary::After(i64::from(*row))), 5);
                    assert_eq!(next.rows, all[i + 1..].iter().copied().take(5).collect::<Vec<_>>());
                    assert_eq!(next.has_next, all.len() > i + 6);
                    let prev = page_of(Some(Boundary::Before(i64::from(*row))), 5);
                    assert_eq!(prev.rows, all[i.saturating_sub(5)..i].to_vec());
                    assert_eq!(prev.has_prev, i > 5);
                }
            }
        }
    }

    #[test]
    fn the_bitmap_holds_the_matching_rows() {
        let ranges = vec![0..3000, 4000..4010];
        let core = CoreRows::Ranges(ranges.clone());
        let sorted = CoreRows::Sorted(ranges.iter().flat_map(|r| r.clone()).collect());
        for core in [&core, &sorted] {
            let matching = bitmap(core, &predicate(), 5000);
            assert_eq!(matching.ones(), expected(&ranges));
            assert_eq!(matching.count(), count(core, &predicate()));
        }
    }

    #[test]
    fn masks_cover_exactly_the_range() {
        assert_eq!(range_mask(0, 0, 64), !0);
        assert_eq!(range_mask(1, 0, 64), 0);
        assert_eq!(range_mask(0, 3, 5), 0b11000);
        assert_eq!(range_mask(2, 130, 1000), !0 << 2);
    }
}
