//! The indexer's error type: what makes a run fail.

use stac_indexed_io::Uri;

/// A failure that stops an index run (per-document problems are [`ErrorRecord`](crate::ErrorRecord)s instead).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The root catalog could not be read or is not a catalog or collection.
    #[error("cannot read the root catalog {uri}: {message}")]
    Root {
        /// The root URI.
        uri: String,
        /// Why.
        message: String,
    },
    /// Reading or writing by URI failed.
    #[error(transparent)]
    Io(#[from] stac_indexed_io::Error),
    /// The index config or a manifest is invalid.
    #[error(transparent)]
    Format(stac_indexed_format::Error),
    /// DuckDB failed while sorting or summarising the index.
    #[error("DuckDB: {0}")]
    DuckDb(#[from] duckdb::Error),
    /// Ordering or merging the items table failed.
    #[error(transparent)]
    Table(#[from] stac_indexed_table::Error),
    /// Writing Parquet failed.
    #[error("Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Building Arrow arrays failed.
    #[error("Arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A local working file could not be used.
    #[error("{path}: {source}")]
    Local {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `--strict` was given and the crawl recorded errors.
    #[error("{count} error(s) while indexing and --strict is set; first: {first}")]
    Strict {
        /// How many errors were recorded.
        count: usize,
        /// The first of them.
        first: String,
    },
    /// Nothing to index: neither a root nor a previous manifest.
    #[error("no root catalog given and no manifest at {0} to re-index from")]
    NoSource(Uri),
    /// A `--shard` that is not a part of a count.
    #[error("invalid shard: {0}")]
    InvalidShard(String),
    /// The parts of a sharded crawl cannot be merged (missing, duplicated, mismatched).
    #[error("cannot merge: {0}")]
    Merge(String),
    /// Other runs kept replacing the manifest while this one published.
    #[error(
        "{uri} was replaced by other runs {attempts} times while this run published; its version was not published"
    )]
    ManifestContention {
        /// The manifest's URI.
        uri: String,
        /// How many writes were tried.
        attempts: usize,
    },
    /// A file of a published index is not as docs/index-format.md describes it.
    #[error("index file {path}: {message}")]
    IndexFile {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A background task died.
    #[error("internal task failed: {0}")]
    Task(String),
}

impl Error {
    /// An index file that is not as the format describes it.
    pub(crate) fn index_file(path: &std::path::Path, message: impl Into<String>) -> Error {
        Error::IndexFile {
            path: path.display().to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn local(path: &std::path::Path, source: std::io::Error) -> Error {
        Error::Local {
            path: path.display().to_string(),
            source,
        }
    }
}

/// The indexer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A manifest that could not be read is an I/O error; other format errors
/// are the index's.
impl From<stac_indexed_format::Error> for Error {
    fn from(error: stac_indexed_format::Error) -> Error {
        match error {
            stac_indexed_format::Error::Io(error) => Error::Io(error),
            error => Error::Format(error),
        }
    }
}
