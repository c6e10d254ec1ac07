//! The stac-indexed index contract, shared by the indexer and the API.
//!
//! An index version is a directory of Parquet files (items, collections,
//! errors, the catalog tree and its item links) and a `manifest.json` that
//! names them. This crate defines the
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
pub use manifest::{CatalogInfo, Changes, Counts, Delta, FileEntry, Files, Manifest};

/// The newest version of the index format, which this crate reads and
/// writes: version 3 adds delta tables ([`Delta`]) on top of the items.
pub const FORMAT_VERSION: u32 = 3;

/// The version an index without deltas is written as, so that readers of
/// version 2 still read it; only a manifest with deltas says 3 (and so an
/// older reader refuses it rather than serve the base without them).
pub const BASE_FORMAT_VERSION: u32 = 2;

/// The oldest format version this crate still reads: version 1 has no
/// catalog tree (its readers see the collections as the root's children).
pub const OLDEST_READABLE_VERSION: u32 = 1;

/// The most item links of one catalog or collection that the index keeps
/// (in the links table); a document that links more is served with the
/// item links of its source document.
pub const MAX_INDEXED_ITEM_LINKS: u64 = 1_000;

use sha2::{Digest, Sha256};

/// The `content_hash` of an item document: the first 128 bits of the
/// SHA-256 of its bytes, as lower-case hex.
pub fn content_hash(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes)[..16])
}

/// The SHA-256 of some bytes, as lower-case hex (the digests a manifest
/// keeps of its files).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Bytes as lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// A local path as a single-quoted SQL string literal (for DuckDB's
/// `read_parquet`, `COPY … TO`, which take no bound parameters).
pub fn sql_path(path: &std::path::Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "''"))
}

/// The bytes a feature without a document of its own (one inside an
/// ItemCollection page) is hashed and cached as: compact JSON with object
/// keys in sorted order, whatever order the page wrote them in and whether
/// or not serde_json preserves it in this build.
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let value: serde_json::Value = serde_json::from_str(r#"{"b": [{"z": 1, "a": "\"x"}], "a": null}"#).unwrap();
        assert_eq!(super::canonical_json(&value), r#"{"a":null,"b":[{"a":"\"x","z":1}]}"#);
    }

    #[test]
    fn content_hashes_are_128_bit_hex_and_differ_by_content() {
        assert_eq!(super::content_hash(b"a"), "ca978112ca1bbdcafac231b39a23dc4d");
        assert_ne!(super::content_hash(b"a"), super::content_hash(b"b"));
    }
}
