//! What a search finds: rows of the index, a page at a time.

/// One row of a result page: what is needed to fetch and link the item.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// The row's sort key.
    pub seq: i64,
    /// The collection id.
    pub collection: String,
    /// The item id.
    pub id: String,
    /// Where the item is.
    pub href: String,
    /// The hash of the indexed item document.
    pub content_hash: String,
    /// The values of the sort fields (empty in the default order).
    pub sort_key: Vec<serde_json::Value>,
}

/// A page of hits and whether there are more on either side.
#[derive(Debug)]
pub struct Page {
    /// The hits, in order.
    pub hits: Vec<Hit>,
    /// Rows exist after the last hit.
    pub has_next: bool,
    /// Rows exist before the first hit.
    pub has_prev: bool,
    /// How many rows match in all.
    pub matched: u64,
}
