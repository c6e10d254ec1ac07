//! A validated item search: what the engine answers. Parsing it from a
//! request is the API's job.

use crate::sort::SortBy;
use serde_json::Value;
use stac_indexed_filter::{Expr, TextQuery};
use stac_indexed_format::geometry::Bbox;

/// A validated search.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Search {
    /// Only these item ids.
    pub ids: Option<Vec<String>>,
    /// Only these collections.
    pub collections: Option<Vec<String>>,
    /// Items whose geometry intersects this box (west may exceed east: antimeridian).
    pub bbox: Option<Bbox>,
    /// Items whose geometry intersects this geometry.
    pub intersects: Option<QueryGeometry>,
    /// Items whose datetime or range meets this interval (UTC microseconds, open ends as None).
    pub datetime: Option<Interval>,
    /// A CQL2 filter (the filter extension).
    pub filter: Option<Expr>,
    /// The `query` object (the query extension); it becomes CQL2 with the
    /// types of the searched collections' queryables.
    pub query: Option<Value>,
    /// Free text (`q`).
    pub q: Option<TextQuery>,
    /// The sort fields, before the unique tie-breaker (empty: the index's order).
    pub sortby: Vec<SortBy>,
    /// Page size.
    pub limit: usize,
}

/// A closed or half-open time interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval {
    /// The start, inclusive.
    pub start: Option<i64>,
    /// The end, inclusive.
    pub end: Option<i64>,
}

/// A query geometry, validated, as WKB with its bounds.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryGeometry {
    /// 2D ISO WKB.
    pub wkb: Vec<u8>,
    /// Its bounds.
    pub bbox: Bbox,
}

impl Search {
    /// Whether the search uses more than the core parameters (ids,
    /// collections, bbox, intersects, datetime in the index's order).
    pub fn has_extensions(&self) -> bool {
        self.filter.is_some() || self.query.is_some() || self.q.is_some()
    }
}
