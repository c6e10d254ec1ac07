//! What a filter can be refused for. Every variant is the client's mistake
//! (a 400 at the HTTP edge).

/// Why a filter, sort or queryable lookup was refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A property that is not queryable (or sortable) where it is used.
    #[error("{0}")]
    UnknownProperty(String),
    /// A filter that does not parse.
    #[error("{0}")]
    Syntax(String),
    /// A filter that parses but cannot be evaluated (wrong types, arity, values).
    #[error("{0}")]
    Invalid(String),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
