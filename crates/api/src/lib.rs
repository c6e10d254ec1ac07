//! The STAC API server of stac-indexed.
//!
//! An axum router over one [`IndexHandle`]: requests are parsed into a
//! search ([`search`]) that the engine of the current index version
//! answers (`stac_indexed_engine`: a page of hits and the exact count);
//! whole items are fetched from their URIs ([`fetch`]) and their links
//! rewritten to API URLs ([`links`]), or built from the index alone when
//! the fields asked for are all in it ([`fields`]). A search's whole result
//! set can be exported as NDJSON or stac-geoparquet ([`export`]). The
//! static catalog's own tree of catalogs and collections is served for
//! browsing (`browse`).
//! Paging is keyset-based with tokens that name the index version
//! ([`paging`]); a new index version is loaded in the background and swapped
//! in atomically ([`index`]).

mod browse;
pub mod caching;
mod config;
mod error;
pub mod export;
pub mod fetch;
pub mod fields;
pub mod index;
pub mod links;
mod openapi;
pub mod paging;
mod routes;
pub mod search;
mod server;
mod state;
pub mod urls;

pub use caching::CachePolicy;
pub use config::ApiConfig;
pub use error::{Error, Result};
pub use index::IndexHandle;
pub use server::{HttpOptions, app, router};
pub use state::AppState;
