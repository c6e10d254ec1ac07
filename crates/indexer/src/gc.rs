//! Removing old index versions.

use crate::Result;
use serde::Serialize;
use stac_indexed_format::Manifest;
use stac_indexed_format::manifest::{MANIFEST_FILE, VERSIONS_DIR};
use stac_indexed_io::{Io, Uri};
use std::collections::BTreeSet;

/// What `gc` kept and removed.
#[derive(Clone, Debug, Serialize)]
pub struct GcReport {
    /// Version ids kept (the current one always among them).
    pub kept: Vec<String>,
    /// Version ids removed.
    pub removed: Vec<String>,
    /// Files deleted.
    pub files_deleted: usize,
}

/// Keeps the newest `keep` versions under `out` (and always the one the
/// manifest names, and those whose files it names: an updated index's
/// items table and deltas); deletes the rest. Index ids sort by creation
/// time.
pub async fn gc(io: &Io, out: &Uri, keep: usize) -> Result<GcReport> {
    let out = out.as_directory();
    let manifest = Manifest::read(io, &out.join(MANIFEST_FILE)?).await?;
    let in_use = versions_named(&manifest);
    let versions_dir = out.join(&format!("{VERSIONS_DIR}/"))?;
    let versions: BTreeSet<String> = io
        .list(&versions_dir)
        .await?
        .iter()
        .filter_map(|uri| {
            let relative = uri.as_str().strip_prefix(versions_dir.as_str())?;
            relative
                .split('/')
                .next()
                .filter(|id| !id.is_empty())
                .map(str::to_string)
        })
        .collect();
    let newest: BTreeSet<&String> = versions.iter().rev().take(keep.max(1)).collect();
    let mut report = GcReport {
        kept: Vec::new(),
        removed: Vec::new(),
        files_deleted: 0,
    };
    for version in &versions {
        if in_use.contains(version) || newest.contains(version) {
            report.kept.push(version.clone());
        } else {
            report.files_deleted += io.delete_prefix(&versions_dir.join(&format!("{version}/"))?).await?;
            report.removed.push(version.clone());
        }
    }
    Ok(report)
}

/// The versions whose directories hold a file the manifest names (its own among them).
fn versions_named(manifest: &Manifest) -> BTreeSet<String> {
    let files = &manifest.files;
    let mut entries = vec![&files.items, &files.collections, &files.errors];
    entries.extend(files.tree.iter().chain(&files.links));
    entries.extend(files.deltas.iter().flat_map(|d| [&d.upserted, &d.removed]));
    let prefix = format!("{VERSIONS_DIR}/");
    let mut named: BTreeSet<String> = entries
        .iter()
        .filter_map(|entry| entry.path.strip_prefix(&prefix)?.split('/').next().map(str::to_string))
        .collect();
    named.insert(manifest.index_id.clone());
    named
}
