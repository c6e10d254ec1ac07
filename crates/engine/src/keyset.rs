//! Where a page starts: the last (or first) row of the page before, as
//! keyset paging names it.

use crate::Error;
use serde_json::Value;

/// Which way a page goes from its keyset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The rows after the keyset.
    Next,
    /// The rows before the keyset.
    Prev,
}

/// A position in a search's order: the sort values of a row, then its seq
/// (the unique tie-breaker).
#[derive(Clone, Debug, PartialEq)]
pub struct Keyset {
    /// Which way the page goes.
    pub direction: Direction,
    /// The values of the sort fields (empty in the index's order).
    pub values: Vec<Value>,
    /// The row's seq.
    pub seq: i64,
}

impl Keyset {
    /// The boundary in the index's own order.
    pub fn boundary(&self) -> Boundary {
        match self.direction {
            Direction::Next => Boundary::After(self.seq),
            Direction::Prev => Boundary::Before(self.seq),
        }
    }
}

/// A page boundary in `seq` order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Boundary {
    /// Rows with a greater seq.
    After(i64),
    /// Rows with a smaller seq.
    Before(i64),
}

/// The error of a token whose key does not fit the search.
pub fn invalid_token() -> Error {
    Error::bad_request("invalid paging token: restart the search without it")
}
