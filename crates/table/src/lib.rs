//! The items table of a stac-indexed index: the order its rows are
//! published in ([`order`]), and the k-way merge of sorted runs into it
//! ([`merge`]), shared by the indexer (its staged runs, the parts of a
//! sharded crawl) and, with index updates, by the readers that resolve a
//! base table and its deltas.

mod error;
pub mod merge;
pub mod order;
pub mod resolve;
#[cfg(test)]
mod testing;

pub use error::{Error, Result};

use parquet::basic::Compression;

/// Rows per row group of the published items table: small enough that
/// collection and datetime filters skip most groups.
pub const ITEMS_ROW_GROUP: usize = 10_240;
use parquet::file::properties::WriterProperties;

/// Writer settings for the index's Parquet files.
pub fn writer_properties(compression: Compression, row_group_rows: usize) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(compression)
        .set_max_row_group_row_count(Some(row_group_rows))
        .build()
}
