//! One way to read, list and write bytes by URI for stac-indexed.
//!
//! A [`Uri`] is an absolute `file://`, `http(s)://` or `s3://` URL; a local
//! path is accepted and turned into a `file://` URL. [`Io`] reads, lists and
//! writes bytes behind any of them, so a catalog may mix schemes freely (a
//! catalog on https whose items sit on s3). Relative hrefs resolve against the
//! document that holds them per RFC 3986 ([`Uri::join`]).
//!
//! Files and S3 go through `object_store`; http(s) through `reqwest`, because
//! STAC items endpoints need query strings kept intact. Transient failures
//! (timeouts, connection errors, 5xx, 429) are retried with exponential
//! backoff; a 404 is not. [`Queue`] receives and deletes the messages of an
//! SQS queue (the notifications that drive index updates).

mod conditional;
mod error;
mod http;
mod local_files;
mod s3;
mod sqs;
mod store;
mod uri;

pub use conditional::ObjectVersion;
pub use error::{Error, Result};
pub use local_files::LocalFiles;
pub use s3::S3Options;
pub use sqs::{Message, Queue};
pub use store::{Io, IoOptions};
pub use uri::{Scheme, Uri};
