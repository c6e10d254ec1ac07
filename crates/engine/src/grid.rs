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

/// Row numbers by grid cell.
pub struct Grid {
    cells: Vec<Vec<u32>>,
    large: Vec<u32>,
    /// The largest extent, in cells beyond the first, of a listed row.
    reach: (usize, usize),
}

impl Grid {
    /// An empty grid.
    pub fn new() -> Grid {
        Grid {
            cells: vec![Vec::new(); COLUMNS * ROWS],
            large: Vec::new(),
            reach: (0, 0),
        }
    }

    /// Lists row `seq` under the cell of its bbox's south-west corner.
    pub fn insert(&mut self, seq: u32, [west, south, east, north]: Bbox) {
        let (first_column, last_column) = (cell(west + 180.0, COLUMNS), cell(east + 180.0, COLUMNS));
        let (first_row, last_row) = (cell(south + 90.0, ROWS), cell(north + 90.0, ROWS));
        let crosses = west > east;
        let reach = (
            last_column.saturating_sub(first_column),
            last_row.saturating_sub(first_row),
        );
        if crosses || reach.0 > MAX_REACH || reach.1 > MAX_REACH {
            self.large.push(seq);
            return;
        }
        self.reach = (self.reach.0.max(reach.0), self.reach.1.max(reach.1));
        self.cells[first_row * COLUMNS + first_column].push(seq);
    }

    /// Every row whose bbox may meet `bbox`, each once, in no order.
    pub fn candidates(&self, bbox: Bbox) -> impl Iterator<Item = u32> + '_ {
        let (reach_columns, reach_rows) = self.reach;
        spans(bbox)
            .into_iter()
            .flat_map(move |(columns, rows)| {
                let columns = columns.start.saturating_sub(reach_columns)..columns.end;
                let rows = rows.start.saturating_sub(reach_rows)..rows.end;
                rows.flat_map(move |row| columns.clone().map(move |column| row * COLUMNS + column))
            })
            .flat_map(move |cell| self.cells[cell].iter().copied())
            .chain(self.large.iter().copied())
    }
}

impl Default for Grid {
    fn default() -> Self {
        Grid::new()
    }
}

type Span = (std::ops::Range<usize>, std::ops::Range<usize>);

/// The column and row ranges a bbox touches (two when it crosses the antimeridian).
fn spans([west, south, east, north]: Bbox) -> Vec<Span> {
    let rows = cell(south + 90.0, ROWS)..cell(north + 90.0, ROWS) + 1;
    let columns = |w: f64, e: f64| cell(w + 180.0, COLUMNS)..cell(e + 180.0, COLUMNS) + 1;
    if west <= east {
        vec![(columns(west, east), rows)]
    } else {
        vec![(columns(west, 180.0), rows.clone()), (columns(-180.0, east), rows)]
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

    fn found(grid: &Grid, bbox: Bbox) -> BTreeSet<u32> {
        let all: Vec<u32> = grid.candidates(bbox).collect();
        let distinct: BTreeSet<u32> = all.iter().copied().collect();
        assert_eq!(all.len(), distinct.len(), "each row is found once");
        distinct
    }

    #[test]
    fn candidates_are_the_rows_under_the_query_cells() {
        let mut grid = Grid::new();
        grid.insert(0, [10.2, 45.1, 10.8, 45.9]);
        grid.insert(1, [-20.0, -20.0, -19.5, -19.5]);
        grid.insert(2, [179.5, -17.0, -179.5, -16.5]);
        grid.insert(3, [-180.0, -90.0, 180.0, 90.0]);
        grid.insert(4, [5.0, 5.0, 5.0, 5.0]);
        // Rows 2 (crossing the antimeridian) and 3 (global) are kept apart: always candidates.
        assert_eq!(found(&grid, [10.0, 45.0, 11.0, 46.0]), BTreeSet::from([0, 2, 3]));
        assert_eq!(found(&grid, [179.0, -17.5, -179.0, -16.0]), BTreeSet::from([2, 3]));
        assert_eq!(found(&grid, [-179.9, -16.9, -179.8, -16.8]), BTreeSet::from([2, 3]));
        assert_eq!(found(&grid, [4.9, 4.9, 5.1, 5.1]), BTreeSet::from([2, 3, 4]));
        // A row reaching east and north of its corner cell is found from there too.
        grid.insert(5, [30.5, 10.5, 33.5, 12.5]);
        assert!(found(&grid, [33.2, 12.2, 33.4, 12.4]).contains(&5));
        assert!(!found(&grid, [35.0, 14.0, 36.0, 15.0]).contains(&5));
        assert_eq!(found(&grid, [-180.0, -90.0, 180.0, 90.0]).len(), 6);
        assert_eq!(found(&grid, [100.0, 0.0, 101.0, 1.0]), BTreeSet::from([2, 3]));
    }

    #[test]
    fn edges_of_the_world_stay_on_the_grid() {
        let mut grid = Grid::new();
        grid.insert(7, [180.0, 90.0, 180.0, 90.0]);
        grid.insert(8, [-180.0, -90.0, -180.0, -90.0]);
        assert!(found(&grid, [179.5, 89.5, 180.0, 90.0]).contains(&7));
        assert!(found(&grid, [-180.0, -90.0, -179.5, -89.5]).contains(&8));
    }
}
