//! Search filters of stac-indexed, as parameterised DuckDB SQL.
//!
//! Everything a client can filter or sort on is a [`Queryable`]: a built-in
//! item field or a field of the index config, with its column and type. A
//! filter (CQL2 text or JSON, the older `query` object, or free text `q`)
//! becomes a [`Sql`] fragment over the index's `items` columns: identifiers
//! only ever come from the queryables, values are always bound parameters.
//! Spatial predicates test geometries exactly with scalar functions written
//! in Rust ([`spatial`]), registered with each DuckDB connection.

mod error;
pub mod queryables;
pub mod spatial;

pub use error::{Error, Result};
pub use queryables::{Kind, Queryable, Queryables, Scope};
