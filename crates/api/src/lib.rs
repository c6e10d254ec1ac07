//! The STAC API server of stac-indexed.
//!
//! An axum router over one [`IndexHandle`]: searches become parameterised
//! DuckDB SQL over the index's `items` table ([`query`]), run on a pool of
//! connections off the async runtime ([`pool`]); whole items are fetched from
//! their URIs ([`fetch`]) and their links rewritten to API URLs ([`links`]).
//! Paging is keyset-based with tokens that name the index version
//! ([`paging`]); a new index version is loaded in the background and swapped
//! in atomically ([`index`]).

mod config;
pub mod directory;
mod error;
pub mod fetch;
pub mod fields;
mod grid;
pub mod index;
pub mod links;
mod openapi;
pub mod paging;
pub mod pool;
pub mod query;
mod routes;
pub mod search;
mod server;
pub mod sort;
mod sort_index;
mod state;
pub mod urls;

pub use config::ApiConfig;
pub use error::{Error, Result};
pub use index::IndexHandle;
pub use server::{HttpOptions, app, router};
pub use state::AppState;
