//! What to index, where to publish it, and how.

use stac_indexed_format::IndexConfig;
use stac_indexed_io::Uri;
use std::path::PathBuf;

/// Where the catalog to index comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// A root catalog (or collection) and the config to index it with.
    Root {
        /// The root document.
        uri: Uri,
        /// The index config.
        config: IndexConfig,
    },
    /// Re-index with the root and config stored in a manifest.
    Manifest(Uri),
    /// Re-index with the root and config of the manifest already at the output.
    Output,
}

/// Everything one run needs.
#[derive(Clone, Debug)]
pub struct IndexOptions {
    /// What to crawl.
    pub source: Source,
    /// The directory or s3:// prefix to publish to (the manifest goes at its top).
    pub out: Uri,
    /// How many documents are fetched at once.
    pub concurrency: usize,
    /// Fail the run when any error is recorded.
    pub strict: bool,
    /// Where working files go (a fresh temporary directory when absent).
    pub work_dir: Option<PathBuf>,
}

/// What `merge` needs: where the parts are and the version goes.
#[derive(Clone, Debug)]
pub struct MergeOptions {
    /// The directory or s3:// prefix the parts were written under (and the version goes to).
    pub out: Uri,
    /// Fail the merge when any error is recorded.
    pub strict: bool,
    /// Where working files go (a fresh temporary directory when absent).
    pub work_dir: Option<PathBuf>,
}

/// The default bound on concurrent fetches: enough to keep 4,000-7,000
/// items/s coming from an origin 20 ms away (docs/benchmarks.md).
pub const DEFAULT_CONCURRENCY: usize = 128;
