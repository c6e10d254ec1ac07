//! The search engine of stac-indexed: an index version and a search in, a
//! page of hits and the exact count out. No HTTP here.
//!
//! ```text
//! let engine = Engine::open(&items, &errors, queryables, options)?;   // one index version
//! engine.spawn_background_load(options);                            // directory, columns
//! let page = engine.page(Request { search, collection, keyset, matched }).await?;
//! ```
//!
//! - [`directory`]: every row's collection, id, href, hash, bbox, interval
//!   and geometry in `seq` order, a hash table by (collection, id) and a
//!   grid over the bboxes: the core parameters (ids, collections, bbox,
//!   intersects, datetime) in microseconds; its geometries ([`blobs`])
//!   mapped from a temporary file rather than held in the heap.
//! - [`columns`]: the queryables as typed columns in memory;
//!   [`predicate`]: filter, query and free text evaluated over them 64
//!   rows to a word; [`scan`]: pages and counts in `seq` order.
//! - [`sort_index`]: sort permutations over one or several keys.
//! - [`aggregate`]: the aggregation extension's counts.
//! - [`collections`]: collection search, the same SQL over a table of the collections.
//! - [`tree`]: the catalog tree and the items each of its nodes links (browsing).
//! - [`sql`]: the same searches as DuckDB SQL: the reference translation,
//!   the path before the directory is ready, and the fallback for filters
//!   the columns do not cover. [`pool`]: the DuckDB connections.

pub mod aggregate;
mod blobs;
mod codes;
pub mod collections;
mod columns;
pub mod directory;
mod engine;
mod error;
mod geometries;
mod grid;
mod hit;
mod intervals;
pub mod keyset;
mod packed;
pub mod pool;
mod predicate;
mod scan;
pub mod search;
pub mod sort;
mod sort_index;
pub mod sql;
pub mod tree;

pub use engine::{Engine, Options, Request, RowValues};
pub use error::{Error, Result};
pub use hit::{Hit, Page};
pub use keyset::{Boundary, Direction, Keyset};
pub use search::{Interval, QueryGeometry, Search};
pub use sort::{Order, SortBy};
