//! The format crate's error type.

/// A problem with an index config, a manifest or a geometry.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The index config is invalid; `field` is the path of the offending value.
    #[error("invalid index config at {field}: {message}")]
    Config {
        /// Where in the config, e.g. `fields[2].type`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The manifest cannot be read.
    #[error("invalid manifest: {0}")]
    Manifest(String),
    /// The manifest was written by an incompatible version of the format.
    #[error("unsupported index format version {found} (this build reads versions {oldest} to {newest})")]
    UnsupportedVersion {
        /// The version in the manifest.
        found: u32,
        /// The oldest version this build reads.
        oldest: u32,
        /// The version this build writes (the newest it reads).
        newest: u32,
    },
    /// Reading a manifest by URI failed.
    #[error(transparent)]
    Io(#[from] stac_indexed_io::Error),
    /// A GeoJSON geometry is not valid.
    #[error("invalid geometry: {0}")]
    Geometry(String),
}

/// The format crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
