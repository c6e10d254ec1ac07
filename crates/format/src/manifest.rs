//! manifest.json: the switch that names one whole index version.

use crate::{BASE_FORMAT_VERSION, Error, FORMAT_VERSION, IndexConfig, OLDEST_READABLE_VERSION, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stac_indexed_io::{Io, Uri};

/// The file name of the manifest, beside the `versions/` directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The directory, beside the manifest, that holds one sub-directory per version.
pub const VERSIONS_DIR: &str = "versions";

/// Everything a reader needs to open one index version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The index format version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Unique per build: `<UTC time>-<random>`; sorts by creation time.
    pub index_id: String,
    /// The index id this build replaced, if any.
    pub previous_index_id: Option<String>,
    /// When the build finished.
    pub created: DateTime<Utc>,
    /// The version of stac-indexed that wrote it.
    pub indexer_version: String,
    /// The root catalog's URI.
    pub root_uri: String,
    /// The root catalog's id, title and description (for the landing page).
    pub catalog: CatalogInfo,
    /// The index config, in full.
    pub config: IndexConfig,
    /// The data files of this version.
    pub files: Files,
    /// Summary counts.
    pub counts: Counts,
    /// What changed since the previous version (by content hash), if there was one.
    pub changes: Option<Changes>,
}

/// The root catalog's identity.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CatalogInfo {
    /// The root catalog's id.
    pub id: String,
    /// Its title, if any.
    pub title: Option<String>,
    /// Its description.
    pub description: Option<String>,
}

/// The data files of one version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Files {
    /// The items table.
    pub items: FileEntry,
    /// The collections table.
    pub collections: FileEntry,
    /// The errors table.
    pub errors: FileEntry,
    /// The catalog tree: the root, its catalogs and collections (format 2;
    /// `None` in a version 1 index).
    #[serde(default)]
    pub tree: Option<FileEntry>,
    /// The item links of each tree node that links at most
    /// [`crate::MAX_INDEXED_ITEM_LINKS`] items (format 2).
    #[serde(default)]
    pub links: Option<FileEntry>,
    /// Changes published by `update` since `items` was written, oldest
    /// first (format 3): the items table is `items` with each delta applied
    /// in turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deltas: Vec<Delta>,
}

impl Files {
    /// The format version a manifest naming these files is written as.
    pub fn format_version(&self) -> u32 {
        match self.deltas.is_empty() {
            true => BASE_FORMAT_VERSION,
            false => FORMAT_VERSION,
        }
    }
}

/// One update's changes to the items table. A `(collection, id)` in
/// `upserted` replaces (or adds) that item; one in `removed` deletes it;
/// a later delta wins over an earlier one and every delta over the base.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// The index id of the update that wrote it.
    pub index_id: String,
    /// Item rows added or replaced (the items table's columns but `seq`),
    /// in the published order.
    pub upserted: FileEntry,
    /// The `(collection, id)` of the items removed.
    pub removed: FileEntry,
}

/// One data file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// The path relative to the manifest's directory (`versions/<index_id>/items.parquet`).
    pub path: String,
    /// The number of rows.
    pub rows: u64,
    /// The size in bytes.
    pub bytes: u64,
    /// The SHA-256 of the file, hex.
    pub sha256: String,
}

/// Summary counts of one build.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Documents fetched (catalogs, collections, items, item pages).
    pub documents: u64,
    /// Items in the index.
    pub items: u64,
    /// Collections in the index.
    pub collections: u64,
    /// Rows in the errors table.
    pub errors: u64,
}

/// What changed since the previous version, by (collection, id) and content hash.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    /// Items new in this version.
    pub added: u64,
    /// Items gone since the previous version.
    pub removed: u64,
    /// Items whose content changed.
    pub updated: u64,
    /// Items whose content is the same.
    pub unchanged: u64,
}

impl Manifest {
    /// Reads the manifest at `uri` and checks it.
    pub async fn read(io: &Io, uri: &Uri) -> Result<Manifest> {
        Manifest::from_json(&io.get(uri).await?)
    }

    /// Parses a manifest and checks its format version.
    pub fn from_json(bytes: &[u8]) -> Result<Manifest> {
        let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| Error::Manifest(e.to_string()))?;
        if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&manifest.format_version) {
            return Err(Error::UnsupportedVersion {
                found: manifest.format_version,
                oldest: OLDEST_READABLE_VERSION,
                newest: FORMAT_VERSION,
            });
        }
        manifest.config.validate()?;
        Ok(manifest)
    }

    /// The manifest as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a manifest serializes")
    }

    /// The directory of a version's files, relative to the manifest.
    pub fn version_dir(index_id: &str) -> String {
        format!("{VERSIONS_DIR}/{index_id}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> FileEntry {
        FileEntry {
            path: path.into(),
            rows: 1,
            bytes: 2,
            sha256: "ab".into(),
        }
    }

    fn manifest() -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            index_id: "20261121T000000Z-abcd".into(),
            previous_index_id: None,
            created: Utc::now(),
            indexer_version: "0.1.0".into(),
            root_uri: "file:///x/catalog.json".into(),
            catalog: CatalogInfo::default(),
            config: IndexConfig::default(),
            files: Files {
                items: entry("versions/x/items.parquet"),
                collections: entry("versions/x/collections.parquet"),
                errors: entry("versions/x/errors.parquet"),
                tree: Some(entry("versions/x/tree.parquet")),
                links: Some(entry("versions/x/links.parquet")),
                deltas: Vec::new(),
            },
            counts: Counts::default(),
            changes: Some(Changes::default()),
        }
    }

    #[test]
    fn manifest_round_trips() {
        let original = manifest();
        assert_eq!(Manifest::from_json(original.to_json().as_bytes()).unwrap(), original);
    }

    #[test]
    fn only_a_manifest_with_deltas_is_format_3() {
        let mut base = manifest();
        assert_eq!(base.files.format_version(), BASE_FORMAT_VERSION);
        assert!(
            !base.to_json().contains("deltas"),
            "readers of format 2 see nothing new"
        );
        base.files.deltas.push(Delta {
            index_id: "20261207T000000Z-ef".into(),
            upserted: entry("versions/y/upserted.parquet"),
            removed: entry("versions/y/removed.parquet"),
        });
        assert_eq!(base.files.format_version(), FORMAT_VERSION);
        base.format_version = base.files.format_version();
        assert_eq!(Manifest::from_json(base.to_json().as_bytes()).unwrap(), base);
    }

    #[test]
    fn another_format_version_is_refused() {
        let mut other = manifest();
        other.format_version = 99;
        let error = Manifest::from_json(other.to_json().as_bytes()).unwrap_err();
        assert!(matches!(error, Error::UnsupportedVersion { found: 99, .. }));
        assert!(Manifest::from_json(b"{\"format_version\": 1}").is_err());
    }

    #[test]
    fn a_version_1_manifest_reads_without_a_tree() {
        let mut old = serde_json::to_value(manifest()).unwrap();
        old["format_version"] = 1.into();
        let files = old["files"].as_object_mut().unwrap();
        files.remove("tree");
        files.remove("links");
        let read = Manifest::from_json(old.to_string().as_bytes()).unwrap();
        assert_eq!(read.format_version, 1);
        assert_eq!((read.files.tree, read.files.links), (None, None));
    }
}
