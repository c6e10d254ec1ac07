//! What a search can fail with. The API maps each variant to an HTTP status.

/// The engine's errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The search is the client's mistake (a 400).
    #[error("{0}")]
    BadRequest(String),
    /// A filter that cannot be read or applied (a 400).
    #[error(transparent)]
    Filter(#[from] stac_indexed_filter::Error),
    /// DuckDB failed.
    #[error("query failed: {0}")]
    DuckDb(#[from] duckdb::Error),
    /// The index is not as the format promises, or a task failed.
    #[error("{0}")]
    Internal(String),
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn bad_request(message: impl Into<String>) -> Error {
        Error::BadRequest(message.into())
    }
}
