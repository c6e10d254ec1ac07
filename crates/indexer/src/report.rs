//! Per-document errors and the summary of a run.

use serde::{Deserialize, Serialize};
use stac_indexed_format::{Changes, Counts};
use std::fmt;

/// What went wrong with one document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// It could not be fetched (404, network, permissions).
    Fetch,
    /// It is not valid JSON.
    Parse,
    /// It is JSON but not a STAC catalog, collection, item or item collection.
    NotStac,
    /// An item lacks an id or a collection, or has a malformed bbox.
    InvalidItem,
    /// An item's geometry is missing or not valid GeoJSON.
    InvalidGeometry,
    /// An item has no usable datetime or start/end range.
    InvalidDatetime,
    /// An item names a collection that was not crawled.
    UnknownCollection,
    /// A second item with the same (collection, id); the first by URI is kept.
    DuplicateId,
    /// A second collection with the same id; the first one found is kept.
    DuplicateCollection,
    /// A configured property has the wrong type; the item is indexed with NULL there.
    PropertyType,
    /// A link the crawler cannot follow (e.g. a POST `next` link).
    UnsupportedLink,
}

impl ErrorKind {
    /// The name stored in the errors table.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Fetch => "fetch",
            ErrorKind::Parse => "parse",
            ErrorKind::NotStac => "not_stac",
            ErrorKind::InvalidItem => "invalid_item",
            ErrorKind::InvalidGeometry => "invalid_geometry",
            ErrorKind::InvalidDatetime => "invalid_datetime",
            ErrorKind::UnknownCollection => "unknown_collection",
            ErrorKind::DuplicateId => "duplicate_id",
            ErrorKind::DuplicateCollection => "duplicate_collection",
            ErrorKind::PropertyType => "property_type",
            ErrorKind::UnsupportedLink => "unsupported_link",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the errors table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorRecord {
    /// The URI of the document that failed.
    pub uri: String,
    /// What kind of failure.
    pub kind: ErrorKind,
    /// A human-readable message.
    pub message: String,
    /// The document whose link led to it, if any.
    pub parent: Option<String>,
}

impl fmt::Display for ErrorRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [{}]: {}", self.uri, self.kind, self.message)
    }
}

/// The outcome of a successful run.
#[derive(Clone, Debug, Serialize)]
pub struct IndexReport {
    /// The new index id.
    pub index_id: String,
    /// The manifest's URI.
    pub manifest: String,
    /// Summary counts.
    pub counts: Counts,
    /// What changed since the previous version, if there was one.
    pub changes: Option<Changes>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// The outcome of one part of a sharded run.
#[derive(Clone, Debug, Serialize)]
pub struct PartReport {
    /// Which part, as `K/N`.
    pub shard: String,
    /// The URI of the part's `part.json`.
    pub part: String,
    /// Items staged (before the merge drops duplicates).
    pub items: u64,
    /// Documents read.
    pub documents: u64,
    /// Errors recorded.
    pub errors: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// A row of the errors table as read back (the kind as stored text).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ErrorRecordRow {
    /// The URI of the document that failed.
    pub uri: String,
    /// What kind of failure.
    pub kind: String,
    /// A human-readable message.
    pub message: String,
    /// The document whose link led to it, if any.
    pub parent: Option<String>,
}
