//! Crawl a static STAC catalog into a versioned Parquet index.
//!
//! [`index`] crawls from a root catalog (files, http(s), s3, mixed), extracts
//! one row per item, streams rows into a staging Parquet file, then lets
//! DuckDB sort them into the published layout (rows clustered by collection
//! and datetime, a dense `seq` sort key), writes the collections, errors,
//! catalog tree and item links tables and publishes the version: data files first, the manifest last.
//! [`index_part`] crawls one [`Shard`] of the items and writes it as a part;
//! [`merge`] publishes the parts as one version. [`update`] publishes a few
//! named changes as a delta without crawling. [`gc`] removes old versions. docs/index-format.md is the contract.

mod batch;
mod crawl;
mod document;
mod error;
mod finalize;
mod gc;
mod inspect;
mod item;
mod options;
mod progress;
mod publish;
mod report;
mod shard;
mod staging;
mod tree;
mod update;

pub use error::{Error, Result};
pub use gc::{GcReport, gc};
pub use inspect::{CollectionSummary, Inspection, inspect};
pub use options::{DEFAULT_CONCURRENCY, IndexOptions, MergeOptions, Source};
pub use progress::Progress;
pub use publish::{index, index_part, merge};
pub use report::{ErrorKind, ErrorRecord, ErrorRecordRow, IndexReport, PartReport};
pub use shard::Shard;
pub use update::{
    BatchOutcome, Change, EventError, MAX_DELTA_SHARE, MAX_DELTAS, MIN_DELTA_ROWS, QueuedMessage, UpdateOptions,
    UpdateReport, changes_from_json, changes_from_text, update, update_from_messages,
};
