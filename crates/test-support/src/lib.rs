//! What the end-to-end tests of stac-indexed share: the sample catalog read
//! independently of the code under test, the API's router in-process, the
//! binary run as a user runs it, the Lambda Runtime API, local HTTP and S3
//! (moto) servers, and
//! Parquet read back with DuckDB.
//!
//! A dev-dependency only; the tests import everything with
//! `use stac_indexed_test_support::*;`.

pub mod binary;
pub mod lambda;
pub mod moto;
pub mod net;
pub mod pages;
pub mod router;
pub mod rows;
pub mod sample;

pub use binary::*;
pub use lambda::*;
pub use moto::*;
pub use net::*;
pub use pages::*;
pub use router::*;
pub use rows::*;
pub use sample::*;
