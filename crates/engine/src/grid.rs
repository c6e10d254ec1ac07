//! A loose grid over item bounding boxes: which rows may meet a query box.
//!
//! The world is cut into 1° cells and each row is listed once, in the cell
//! of its bbox's south-west corner. A query reads the cells under its box,
//! widened west and south by the largest extent of any listed row, so every
//! row that may meet it is found exactly once. Rows wider or taller than
//! [`MAX_REACH`] cells, and rows crossing the antimeridian, are kept apart
//! and always considered. A search costs what it matches, not what the index
//! holds.

use stac_indexed_format::geometry::Bbox;

/// Cells per degree.
const CELLS_PER_DEGREE: f64 = 1.0;
const COLUMNS: usize = (360.0 * CELLS_PER_DEGREE) as usize;
const ROWS: usize = (180.0 * CELLS_PER_DEGREE) as usize;
/// Rows spanning more cells than this, in either direction, are kept apart.
const MAX_REACH: usize = 4;

/// The rows of each grid cell, with the bbox and time interval of each, so
/// that a search reads its cells' rows from contiguous memory.
pub(crate) struct Grid {
    /// Where each cell's entries start (one more than cells; the last
    /// cell holds the rows kept apart).
    starts: Vec<u32>,
    /// The entries, cell after cell: their seqs, bboxes and intervals.
    seqs: Vec<u32>,
    bboxes: Vec<Bbox>,
    intervals: Vec<(i64, i64)>,
    /// Per seq, the position of its entry.
    positions: Vec<u32>,
    /// The largest extent, in cells beyond the first, of a listed row.
    reach: (usize, usize),
}

/// The cell of the rows kept apart, after the grid's own.
const APART: usize = COLUMNS * ROWS;

impl Grid {
    /// Lists each row (by seq, the index into `bboxes` and `intervals`)
    /// under the cell of its bbox's south-west corner.
    pub(crate) fn new(bboxes: &[Bbox], intervals: &[(i64, i64)]) -> Grid {
        let mut reach = (0, 0);
        let cells: Vec<u32> = bboxes
            .iter()
            .map(|bbox| {
                let (cell, extent) = home(*bbox);
                if cell != APART {
                    reach = (reach.0.max(extent.0), reach.1.max(extent.1));
                }
                cell as u32
            })
            .collect();
        let mut starts = vec![0u32; APART + 2];
        for cell in &cells {
            starts[*cell as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut next = starts.clone();
        let mut positions = vec![0u32; bboxes.len()];
        for (seq, cell) in cells.iter().enumerate() {
            positions[seq] = next[*cell as usize];
            next[*cell as usize] += 1;
        }
        let mut seqs = vec![0u32; bboxes.len()];
        let mut placed_bboxes = vec![[0.0; 4]; bboxes.len()];
        let mut placed_intervals = vec![(0, 0); bboxes.len()];
        for (seq, position) in positions.iter().enumerate() {
            let position = *position as usize;
            seqs[position] = seq as u32;
            placed_bboxes[position] = bboxes[seq];
            placed_intervals[position] = intervals[seq];
        }
        Grid {
            starts,
            seqs,
            bboxes: placed_bboxes,
            intervals: placed_intervals,
            positions,
            reach,
        }
    }

    /// A row's bbox.
    pub(crate) fn bbox(&self, seq: u32) -> Bbox {
        self.bboxes[self.positions[seq as usize] as usize]
    }

    /// About how many bytes the grid takes.
    pub(crate) fn bytes(&self) -> usize {
        (self.starts.capacity() + self.seqs.capacity() + self.positions.capacity()) * 4
            + self.bboxes.capacity() * std::mem::size_of::<Bbox>()
            + self.intervals.capacity() * 16
    }

    /// Visits the entries of every cell whose rows may meet `bbox`, so
    /// that every such row is visited once, in no order. Cells whose rows
    /// all lie inside `bbox` (their extent, widened by the reach, is within
    /// it) say so: their rows need no test against the box.
    pub(crate) fn visit(&self, bbox: Bbox, mut visit: impl FnMut(Entries<'_>)) {
        let mut visit_cell = |cell: usize, inside: bool| {
            let entries = self.starts[cell] as usize..self.starts[cell + 1] as usize;
            if !entries.is_empty() {
                visit(Entries {
                    seqs: &self.seqs[entries.clone()],
                    bboxes: &self.bboxes[entries.clone()],
                    intervals: &self.intervals[entries],
                    inside,
                });
            }
        };
        let (reach_columns, reach_rows) = self.reach;
        for (span, (columns, rows)) in spans(bbox) {
            let columns = columns.start.saturating_sub(reach_columns)..columns.end;
            for row in rows.start.saturating_sub(reach_rows)..rows.end {
                let rows_inside = covers((span[1], span[3]), row, reach_rows, 90.0);
                for column in columns.clone() {
                    let inside = rows_inside && covers((span[0], span[2]), column, reach_columns, 180.0);
                    visit_cell(row * COLUMNS + column, inside);
                }
            }
        }
        visit_cell(APART, false);
    }
}

/// The entries of one grid cell, side by side.
pub(crate) struct Entries<'a> {
    /// Their seqs.
    pub(crate) seqs: &'a [u32],
    /// Their bboxes.
    pub(crate) bboxes: &'a [Bbox],
    /// Their time intervals.
    pub(crate) intervals: &'a [(i64, i64)],
    /// Every entry's bbox lies inside the query box.
    pub(crate) inside: bool,
}

/// Whether the degrees `low..=high` cover every row listed under cell
/// `index` of one axis (whose rows start within it and end at most `reach`
/// cells after it); `offset` is the degrees of the axis's first cell.
fn covers((low, high): (f64, f64), index: usize, reach: usize, offset: f64) -> bool {
    let start = index as f64 / CELLS_PER_DEGREE - offset;
    let end = (index + 1 + reach) as f64 / CELLS_PER_DEGREE - offset;
    low <= start && end <= high
}

/// The cell a bbox is listed under, and its extent in cells beyond the
/// first; [`APART`] for rows wider or taller than [`MAX_REACH`] cells, rows
/// crossing the antimeridian and bboxes that are not numbers.
fn home([west, south, east, north]: Bbox) -> (usize, (usize, usize)) {
    let (first_column, last_column) = (cell(west + 180.0, COLUMNS), cell(east + 180.0, COLUMNS));
    let (first_row, last_row) = (cell(south + 90.0, ROWS), cell(north + 90.0, ROWS));
    let reach = (
        last_column.saturating_sub(first_column),
        last_row.saturating_sub(first_row),
    );
    let finite = [west, south, east, north].iter().all(|d| d.is_finite());
    if !finite || west > east || reach.0 > MAX_REACH || reach.1 > MAX_REACH {
        return (APART, reach);
    }
    (first_row * COLUMNS + first_column, reach)
}

type Span = (Bbox, (std::ops::Range<usize>, std::ops::Range<usize>));

/// The boxes of a bbox (two when it crosses the antimeridian), each with
/// the column and row ranges it touches.
fn spans([west, south, east, north]: Bbox) -> Vec<Span> {
    let rows = cell(south + 90.0, ROWS)..cell(north + 90.0, ROWS) + 1;
    let span = |w: f64, e: f64| {
        let columns = cell(w + 180.0, COLUMNS)..cell(e + 180.0, COLUMNS) + 1;
        ([w, south, e, north], (columns, rows.clone()))
    };
    if west <= east {
        vec![span(west, east)]
    } else {
        vec![span(west, 180.0), span(-180.0, east)]
    }
}

/// The cell of an offset in degrees, clamped to the grid.
fn cell(degrees: f64, cells: usize) -> usize {
    let index = (degrees * CELLS_PER_DEGREE).floor();
    if index.is_nan() || index < 0.0 {
        0
    } else {
        (index as usize).min(cells - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn grid(bboxes: &[Bbox]) -> Grid {
        Grid::new(bboxes, &vec![(0, 0); bboxes.len()])
    }

    /// The rows visited for `bbox`, checking that each comes once with its
    /// own bbox, and that rows of cells said to be inside lie inside.
    fn found(grid: &Grid, bbox: Bbox) -> BTreeSet<u32> {
        found_inside(grid, bbox).0
    }

    /// As [`found`], with how many rows came in cells said to be inside.
    fn found_inside(grid: &Grid, bbox: Bbox) -> (BTreeSet<u32>, usize) {
        let (mut all, mut inside) = (Vec::new(), 0);
        grid.visit(bbox, |entries| {
            assert!(entries.seqs.len() == entries.bboxes.len() && entries.seqs.len() == entries.intervals.len());
            for (seq, found) in entries.seqs.iter().zip(entries.bboxes) {
                let bits = |bbox: Bbox| bbox.map(f64::to_bits);
                assert_eq!(bits(*found), bits(grid.bbox(*seq)), "an entry carries its row's bbox");
                if entries.inside {
                    assert!(within(*found, bbox), "{found:?} is said to lie inside {bbox:?}");
                    inside += 1;
                }
                all.push(*seq);
            }
        });
        let distinct: BTreeSet<u32> = all.iter().copied().collect();
        assert_eq!(all.len(), distinct.len(), "each row is found once");
        (distinct, inside)
    }

    /// Whether `row` lies inside `query` (or one of its halves across the antimeridian).
    fn within(row: Bbox, query: Bbox) -> bool {
        spans(query)
            .iter()
            .any(|(s, _)| s[0] <= row[0] && row[2] <= s[2] && s[1] <= row[1] && row[3] <= s[3])
    }

    /// Whether two bboxes (not crossing the antimeridian) meet.
    fn meet(a: Bbox, b: Bbox) -> bool {
        a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3]
    }

    #[test]
    fn random_rows_are_found_and_said_inside_only_when_inside() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move |scale: f64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64 * scale
        };
        let bboxes: Vec<Bbox> = (0..3000)
            .map(|_| {
                let (west, south) = (next(350.0) - 180.0, next(170.0) - 90.0);
                [west, south, west + next(3.5), south + next(3.5)]
            })
            .collect();
        let grid = grid(&bboxes);
        let mut inside_rows = 0;
        for _ in 0..200 {
            let (west, south) = (next(300.0) - 180.0, next(120.0) - 90.0);
            let query = [west, south, west + next(60.0), south + next(60.0)];
            let (found, inside) = found_inside(&grid, query);
            inside_rows += inside;
            for (seq, bbox) in bboxes.iter().enumerate() {
                if meet(*bbox, query) {
                    assert!(found.contains(&(seq as u32)), "{bbox:?} meets {query:?}");
                }
            }
        }
        assert!(
            inside_rows > 1000,
            "large boxes have cells inside them ({inside_rows} rows)"
        );
        let (everything, inside) = found_inside(&grid, [-180.0, -90.0, 180.0, 90.0]);
        assert_eq!((everything.len(), inside), (3000, 3000));
    }

    #[test]
    fn candidates_are_the_rows_under_the_query_cells() {
        let mut bboxes = vec![
            [10.2, 45.1, 10.8, 45.9],
            [-20.0, -20.0, -19.5, -19.5],
            [179.5, -17.0, -179.5, -16.5],
            [-180.0, -90.0, 180.0, 90.0],
            [5.0, 5.0, 5.0, 5.0],
        ];
        let small = grid(&bboxes);
        // Rows 2 (crossing the antimeridian) and 3 (global) are kept apart: always candidates.
        assert_eq!(found(&small, [10.0, 45.0, 11.0, 46.0]), BTreeSet::from([0, 2, 3]));
        assert_eq!(found(&small, [179.0, -17.5, -179.0, -16.0]), BTreeSet::from([2, 3]));
        assert_eq!(found(&small, [-179.9, -16.9, -179.8, -16.8]), BTreeSet::from([2, 3]));
        assert_eq!(found(&small, [4.9, 4.9, 5.1, 5.1]), BTreeSet::from([2, 3, 4]));
        // A row reaching east and north of its corner cell is found from there too.
        bboxes.push([30.5, 10.5, 33.5, 12.5]);
        let grid = grid(&bboxes);
        assert!(found(&grid, [33.2, 12.2, 33.4, 12.4]).contains(&5));
        assert!(!found(&grid, [35.0, 14.0, 36.0, 15.0]).contains(&5));
        assert_eq!(found(&grid, [-180.0, -90.0, 180.0, 90.0]).len(), 6);
        assert_eq!(found(&grid, [100.0, 0.0, 101.0, 1.0]), BTreeSet::from([2, 3]));
    }

    #[test]
    fn entries_carry_their_rows_interval() {
        let grid = Grid::new(&[[1.0, 1.0, 1.5, 1.5], [1.2, 1.2, 1.3, 1.3]], &[(10, 20), (30, 40)]);
        let mut seen = Vec::new();
        grid.visit([0.0, 0.0, 2.0, 2.0], |entries| {
            seen.extend(entries.seqs.iter().copied().zip(entries.intervals.iter().copied()))
        });
        seen.sort();
        assert_eq!(seen, [(0, (10, 20)), (1, (30, 40))]);
    }

    #[test]
    fn edges_of_the_world_stay_on_the_grid() {
        let grid = grid(&[[180.0, 90.0, 180.0, 90.0], [-180.0, -90.0, -180.0, -90.0]]);
        assert!(found(&grid, [179.5, 89.5, 180.0, 90.0]).contains(&0));
        assert!(found(&grid, [-180.0, -90.0, -179.5, -89.5]).contains(&1));
    }

    #[test]
    fn bboxes_that_are_not_numbers_are_kept_apart() {
        let grid = grid(&[[f64::NAN, 0.0, 1.0, 1.0], [0.5, 0.5, 0.6, 0.6]]);
        let (all, inside) = found_inside(&grid, [-180.0, -90.0, 180.0, 90.0]);
        assert_eq!((all, inside), (BTreeSet::from([0, 1]), 1));
    }
}
