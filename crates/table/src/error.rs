//! The table crate's error type.

/// What can go wrong ordering or merging rows.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing Parquet failed.
    #[error("Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Building Arrow arrays failed, or a column is missing or mistyped.
    #[error("Arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A local file could not be opened or created.
    #[error("{path}: {source}")]
    Local {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Nothing to merge, or the writer thread stopped.
    #[error("{0}")]
    Merge(String),
}

impl Error {
    pub(crate) fn local(path: &std::path::Path, source: std::io::Error) -> Error {
        Error::Local {
            path: path.display().to_string(),
            source,
        }
    }
}

/// The table crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
