//! The io crate's error type.

/// Everything that can go wrong reading or writing by URI.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text is not a URI or path this crate can read.
    #[error("invalid URI {uri:?}: {reason}")]
    InvalidUri {
        /// The text that was given.
        uri: String,
        /// Why it was refused.
        reason: String,
    },
    /// Nothing exists at this URI (404, missing file or key).
    #[error("not found: {uri}")]
    NotFound {
        /// The URI that was read.
        uri: String,
    },
    /// An HTTP server answered with an error status that is not retried.
    #[error("HTTP {status} from {uri}")]
    HttpStatus {
        /// The URI that was read.
        uri: String,
        /// The status the server sent.
        status: u16,
    },
    /// A request failed for a reason other than a status (network, timeout), after retries.
    #[error("request to {uri} failed: {message}")]
    Request {
        /// The URI that was read.
        uri: String,
        /// What the client reported.
        message: String,
    },
    /// The object store (local files or S3) failed.
    #[error("{uri}: {source}")]
    Store {
        /// The URI that was read or written.
        uri: String,
        /// The object store's error.
        #[source]
        source: object_store::Error,
    },
    /// Writing is only supported to local files and S3.
    #[error("cannot write to {uri}: only local paths, file:// and s3:// are writable")]
    NotWritable {
        /// The URI that was to be written.
        uri: String,
    },
    /// The object was read but its content was refused (a checksum that
    /// does not match).
    #[error("{uri}: {reason}")]
    Refused {
        /// The URI that was read.
        uri: String,
        /// Why its content was refused.
        reason: String,
    },
    /// An SQS request failed.
    #[error("SQS queue {queue}: {message}")]
    Queue {
        /// The queue's URL.
        queue: String,
        /// What failed.
        message: String,
    },
    /// A local file operation failed.
    #[error("{path}: {source}")]
    Local {
        /// The local path involved.
        path: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Whether this error means the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }
}

/// The io crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
