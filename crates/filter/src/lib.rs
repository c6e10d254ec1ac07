//! Search filters of stac-indexed, as parameterised DuckDB SQL.
//!
//! Everything a client can filter or sort on is a [`Queryable`]: a built-in
//! item field or a field of the index config, with its column and type. A
//! filter (CQL2 text or JSON, the older `query` object, or free text `q`)
//! becomes a [`Sql`] fragment over the index's `items` columns: identifiers
//! only ever come from the queryables, values are always bound parameters.
//! Spatial predicates test geometries exactly with scalar functions written
//! in Rust ([`spatial`]), registered with each DuckDB connection
//! ([`spatial::register_functions`]).
//!
//! ```text
//! let expr = parse_filter(&filter, lang)?;      // or query_to_expr(&query, &scope)?
//! let sql = to_sql(&expr, &queryables.scope(collections))?;
//! let text = parse_q(&q)?.to_sql();             // free text
//! ```

mod condition;
mod error;
mod expression;
mod like;
#[cfg(test)]
mod oracle;
mod query;
pub mod queryables;
mod region;
pub mod spatial;
mod sql;
mod temporal;
mod text;
mod translate;

pub use condition::{Comparison, Condition, Field, NumberTest, Test, TextTest, text_condition, to_condition};
pub use cql2::Expr;
pub use error::{Error, Result};
pub use expression::{FilterLang, MAX_DEPTH, MAX_PARENTHESES, parse_filter};
pub use like::LikePattern;
pub use query::query_to_expr;
pub use queryables::{Kind, Queryable, Queryables, Scope};
pub use sql::Sql;
pub use text::{TextQuery, parse_q};
pub use translate::to_sql;
