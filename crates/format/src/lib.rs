//! The stac-indexed index contract, shared by the indexer and the API.
//!
//! An index version is a directory of Parquet files (items, collections,
//! errors) and a `manifest.json` that names them. This crate defines the
//! [`Manifest`], the [`IndexConfig`] (which item properties become typed
//! columns, and which are queryable or sortable), the Arrow schema of the
//! items table ([`schema`]) and the GeoJSON to WKB encoding ([`geometry`]).
//! docs/index-format.md describes the same contract in prose.

pub mod config;
mod error;
pub mod geometry;
pub mod manifest;
pub mod schema;

pub use config::{FieldConfig, FieldType, IndexConfig, JsonPath};
pub use error::{Error, Result};
pub use manifest::{CatalogInfo, Changes, Counts, FileEntry, Files, Manifest};

/// The version of the index format this crate reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The `content_hash` of an item document: the first 128 bits of the
/// SHA-256 of its bytes, as lower-case hex.
pub fn content_hash(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn content_hashes_are_128_bit_hex_and_differ_by_content() {
        assert_eq!(super::content_hash(b"a"), "ca978112ca1bbdcafac231b39a23dc4d");
        assert_ne!(super::content_hash(b"a"), super::content_hash(b"b"));
    }
}
