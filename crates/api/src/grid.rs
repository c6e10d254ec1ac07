//! A grid over item bounding boxes: which rows may meet a query box.
//!
//! The world is cut into 1° cells; each row is listed in every cell its bbox
//! touches (a bbox crossing the antimeridian touches both ends). Rows whose
//! bbox covers more than [`MAX_CELLS`] cells are kept apart and always
//! considered, so a global footprint costs one entry, not 64,800. A query
//! reads only the cells under its box: a search costs what it matches, not
//! what the index holds.

use stac_indexed_format::geometry::Bbox;

/// Cells per degree.
const CELLS_PER_DEGREE: f64 = 1.0;
const COLUMNS: usize = (360.0 * CELLS_PER_DEGREE) as usize;
const ROWS: usize = (180.0 * CELLS_PER_DEGREE) as usize;
/// Rows spanning more cells than this are listed once, apart.
const MAX_CELLS: usize = 64;

/// Row numbers by grid cell.
pub struct Grid {
    cells: Vec<Vec<u32>>,
    large: Vec<u32>,
}

impl Grid {
    /// An empty grid.
    pub fn new() -> Grid {
        Grid {
            cells: vec![Vec::new(); COLUMNS * ROWS],
            large: Vec::new(),
        }
    }

    /// Lists row `seq` under every cell its bbox touches.
    pub fn insert(&mut self, seq: u32, bbox: Bbox) {
        let spans = spans(bbox);
        let count: usize = spans.iter().map(|(c, r)| c.len() * r.len()).sum();
        if count > MAX_CELLS {
            self.large.push(seq);
            return;
        }
        for (columns, rows) in spans {
            for row in rows {
                for column in columns.clone() {
                    self.cells[row * COLUMNS + column].push(seq);
                }
            }
        }
    }

    /// Every row whose bbox may meet `bbox` (possibly more than once, in no order).
    pub fn candidates(&self, bbox: Bbox) -> impl Iterator<Item = u32> + '_ {
        spans(bbox)
            .into_iter()
            .flat_map(move |(columns, rows)| {
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
        grid.candidates(bbox).collect()
    }

    #[test]
    fn candidates_are_the_rows_under_the_query_cells() {
        let mut grid = Grid::new();
        grid.insert(0, [10.2, 45.1, 10.8, 45.9]);
        grid.insert(1, [-20.0, -20.0, -19.5, -19.5]);
        grid.insert(2, [179.5, -17.0, -179.5, -16.5]);
        grid.insert(3, [-180.0, -90.0, 180.0, 90.0]);
        grid.insert(4, [5.0, 5.0, 5.0, 5.0]);
        assert_eq!(found(&grid, [10.0, 45.0, 11.0, 46.0]), BTreeSet::from([0, 3]));
        assert_eq!(found(&grid, [179.0, -17.5, -179.0, -16.0]), BTreeSet::from([2, 3]));
        assert_eq!(found(&grid, [-179.9, -16.9, -179.8, -16.8]), BTreeSet::from([2, 3]));
        assert_eq!(found(&grid, [4.9, 4.9, 5.1, 5.1]), BTreeSet::from([3, 4]));
        assert_eq!(found(&grid, [-180.0, -90.0, 180.0, 90.0]).len(), 5);
        assert_eq!(found(&grid, [100.0, 0.0, 101.0, 1.0]), BTreeSet::from([3]));
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
