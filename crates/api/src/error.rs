//! The API's error type and its HTTP form: `{"code": "...", "description": "..."}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Everything a request can fail with; each maps to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The client sent an invalid parameter (400).
    #[error("{0}")]
    BadRequest(String),
    /// The collection or item does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The method is not allowed on this path (405).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// A paging token from another index version (409).
    #[error("{0}")]
    IndexChanged(String),
    /// An item in the index could not be read from its source (502).
    #[error("{0}")]
    SourceUnavailable(String),
    /// An item in the index no longer exists at its source (404): the index
    /// is out of date.
    #[error("{0}")]
    SourceGone(String),
    /// No index is loaded yet (503).
    #[error("{0}")]
    NotReady(String),
    /// A filter, sort or queryable the client got wrong (400).
    #[error(transparent)]
    Filter(#[from] stac_indexed_filter::Error),
    /// DuckDB failed (500).
    #[error("query failed: {0}")]
    DuckDb(#[from] duckdb::Error),
    /// The search engine failed (not the client's mistake).
    #[error(transparent)]
    Engine(stac_indexed_engine::Error),
    /// Reading the index failed (500).
    #[error(transparent)]
    Io(#[from] stac_indexed_io::Error),
    /// The index files are invalid (500).
    #[error(transparent)]
    Format(stac_indexed_format::Error),
    /// Anything else that is the server's fault (500).
    #[error("{0}")]
    Internal(String),
}

/// The API's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) | Error::Filter(_) => StatusCode::BAD_REQUEST,
            Error::NotFound(_) | Error::SourceGone(_) => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::IndexChanged(_) => StatusCode::CONFLICT,
            Error::SourceUnavailable(_) => StatusCode::BAD_GATEWAY,
            Error::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::DuckDb(_) | Error::Engine(_) | Error::Io(_) | Error::Format(_) | Error::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The `code` of the error body.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest(_) | Error::Filter(_) => "BadRequest",
            Error::NotFound(_) => "NotFound",
            Error::MethodNotAllowed(_) => "MethodNotAllowed",
            Error::IndexChanged(_) => "IndexChanged",
            Error::SourceUnavailable(_) => "SourceUnavailable",
            Error::SourceGone(_) => "SourceGone",
            Error::NotReady(_) => "NotReady",
            _ => "InternalServerError",
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Error {
        Error::BadRequest(message.into())
    }
}

/// The engine's refusals are the client's mistakes (400); the rest are ours.
impl From<stac_indexed_engine::Error> for Error {
    fn from(error: stac_indexed_engine::Error) -> Error {
        match error {
            stac_indexed_engine::Error::BadRequest(message) => Error::BadRequest(message),
            stac_indexed_engine::Error::Filter(error) => Error::Filter(error),
            other => Error::Engine(other),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = json!({"code": self.code(), "description": self.to_string()});
        (status, axum::Json(body)).into_response()
    }
}

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
