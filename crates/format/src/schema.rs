//! The columns of the index tables and their Arrow types.

use crate::{FieldType, IndexConfig};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use std::sync::Arc;

/// The items table: a unique, dense sort key (0..n in the file's row order).
pub const SEQ: &str = "seq";
/// The item's collection id.
pub const COLLECTION: &str = "collection";
/// The item's id.
pub const ID: &str = "id";
/// `properties.datetime`, UTC.
pub const DATETIME: &str = "datetime";
/// `properties.start_datetime`, UTC.
pub const START_DATETIME: &str = "start_datetime";
/// `properties.end_datetime`, UTC.
pub const END_DATETIME: &str = "end_datetime";
/// Bounding box, west.
pub const BBOX_XMIN: &str = "bbox_xmin";
/// Bounding box, south.
pub const BBOX_YMIN: &str = "bbox_ymin";
/// Bounding box, east (smaller than west when the box crosses the antimeridian).
pub const BBOX_XMAX: &str = "bbox_xmax";
/// Bounding box, north.
pub const BBOX_YMAX: &str = "bbox_ymax";
/// The geometry as 2D ISO WKB, little endian.
pub const GEOMETRY: &str = "geometry";
/// The absolute URI the item was read from.
pub const HREF: &str = "href";
/// A hash of the item document's bytes (hex).
pub const CONTENT_HASH: &str = "content_hash";
/// Lower-cased title, description and keywords, for free-text search.
pub const SEARCH_TEXT: &str = "search_text";

/// The staged items only (not published): a number for the catalog or
/// collection whose links led to the item (numbered by the indexer as it
/// meets them), for the links table.
pub const OWNER: &str = "stac_indexed_owner";

/// The collections table: id, title, whole JSON, URI, item count.
pub const COLLECTION_TITLE: &str = "title";
/// The collection document as JSON text (its `item` and `child` links removed).
pub const COLLECTION_JSON: &str = "json";
/// How many items the index holds for the collection.
pub const ITEM_COUNT: &str = "item_count";

/// The tree and links tables: a node's row number in the tree table (the
/// root is 0).
pub const NODE_ROW: &str = "node";
/// The tree table: the parent node's row number (null for the root).
pub const NODE_PARENT: &str = "parent";
/// The tree table: `catalog` or `collection`.
pub const NODE_KIND: &str = "kind";
/// The tree table: the node's name in API URLs (`/catalogs/{key}`,
/// `/collections/{key}`): a collection's id, a catalog's id made unique.
pub const NODE_KEY: &str = "key";
/// The tree table: the node's description.
pub const NODE_DESCRIPTION: &str = "description";
/// The tree table: whether the links table holds the node's item links
/// (false when it links more than [`crate::MAX_INDEXED_ITEM_LINKS`]).
pub const ITEMS_IN_INDEX: &str = "items_in_index";

/// The errors table: the URI that failed.
pub const ERROR_URI: &str = "uri";
/// The errors table: what kind of failure (`fetch`, `parse`, `invalid_item`, ...).
pub const ERROR_KIND: &str = "kind";
/// The errors table: the message.
pub const ERROR_MESSAGE: &str = "message";
/// The errors table: the document whose link led here, if any.
pub const ERROR_PARENT: &str = "parent";

/// Names a config field may not take: the built-in fields and the fixed columns.
pub const RESERVED_COLUMNS: &[&str] = &[
    SEQ,
    COLLECTION,
    ID,
    DATETIME,
    START_DATETIME,
    END_DATETIME,
    BBOX_XMIN,
    BBOX_YMIN,
    BBOX_XMAX,
    BBOX_YMAX,
    GEOMETRY,
    HREF,
    CONTENT_HASH,
    SEARCH_TEXT,
    "bbox",
    "properties",
    "links",
    "assets",
    "type",
    OWNER,
    // Names DuckDB uses while the indexer sorts rows.
    "file_row_number",
    "dup_rank",
];

/// Whether a name clashes with a reserved one (DuckDB column names ignore case).
pub fn is_reserved(name: &str) -> bool {
    RESERVED_COLUMNS
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(name))
}

/// The Arrow type of a UTC timestamp column.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The Arrow type of a configured field's column.
pub fn field_data_type(field_type: FieldType) -> DataType {
    match field_type {
        FieldType::String => DataType::Utf8,
        FieldType::Number => DataType::Float64,
        FieldType::Integer => DataType::Int64,
        FieldType::Boolean => DataType::Boolean,
        FieldType::Datetime => timestamp_type(),
        FieldType::StringArray => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
    }
}

/// The items table as the indexer writes rows, before sorting: no `seq`
/// yet, and a last column [`OWNER`] that the published table drops.
pub fn staged_items_schema(config: &IndexConfig) -> Schema {
    let mut fields = vec![
        Field::new(COLLECTION, DataType::Utf8, false),
        Field::new(ID, DataType::Utf8, false),
        Field::new(DATETIME, timestamp_type(), true),
        Field::new(START_DATETIME, timestamp_type(), true),
        Field::new(END_DATETIME, timestamp_type(), true),
        Field::new(BBOX_XMIN, DataType::Float64, false),
        Field::new(BBOX_YMIN, DataType::Float64, false),
        Field::new(BBOX_XMAX, DataType::Float64, false),
        Field::new(BBOX_YMAX, DataType::Float64, false),
        Field::new(GEOMETRY, DataType::Binary, false),
        Field::new(HREF, DataType::Utf8, false),
        Field::new(CONTENT_HASH, DataType::Utf8, false),
        Field::new(SEARCH_TEXT, DataType::Utf8, true),
    ];
    fields.extend(
        config
            .fields
            .iter()
            .map(|f| Field::new(&f.name, field_data_type(f.field_type), true)),
    );
    fields.push(Field::new(OWNER, DataType::Int64, false));
    Schema::new(fields)
}

/// The errors table.
pub fn errors_schema() -> Schema {
    Schema::new(vec![
        Field::new(ERROR_URI, DataType::Utf8, false),
        Field::new(ERROR_KIND, DataType::Utf8, false),
        Field::new(ERROR_MESSAGE, DataType::Utf8, false),
        Field::new(ERROR_PARENT, DataType::Utf8, true),
    ])
}

/// The collections table.
pub fn collections_schema() -> Schema {
    Schema::new(vec![
        Field::new(ID, DataType::Utf8, false),
        Field::new(COLLECTION_TITLE, DataType::Utf8, true),
        Field::new(COLLECTION_JSON, DataType::Utf8, false),
        Field::new(HREF, DataType::Utf8, false),
        Field::new(ITEM_COUNT, DataType::Int64, false),
    ])
}

/// The tree table: one row per catalog and collection of the crawled
/// tree, the root first, parents before their children, siblings in the
/// order their parent links them.
pub fn tree_schema() -> Schema {
    Schema::new(vec![
        Field::new(NODE_ROW, DataType::Int64, false),
        Field::new(NODE_PARENT, DataType::Int64, true),
        Field::new(NODE_KIND, DataType::Utf8, false),
        Field::new(NODE_KEY, DataType::Utf8, false),
        Field::new(ID, DataType::Utf8, false),
        Field::new(COLLECTION_TITLE, DataType::Utf8, true),
        Field::new(NODE_DESCRIPTION, DataType::Utf8, true),
        Field::new(HREF, DataType::Utf8, false),
        Field::new(COLLECTION_JSON, DataType::Utf8, true),
        Field::new(ITEM_COUNT, DataType::Int64, false),
        Field::new(ITEMS_IN_INDEX, DataType::Boolean, false),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_fields_become_typed_columns() {
        let config = IndexConfig::from_json(
            r#"{"fields": [
                {"name": "eo:cloud_cover", "path": "properties.eo:cloud_cover", "type": "number"},
                {"name": "n", "path": "properties.n", "type": "integer"},
                {"name": "flag", "path": "properties.flag", "type": "boolean"},
                {"name": "when", "path": "properties.when", "type": "datetime"},
                {"name": "tags", "path": "properties.tags", "type": "string[]"},
                {"name": "platform", "path": "properties.platform", "type": "string"}
            ]}"#,
        )
        .unwrap();
        let schema = staged_items_schema(&config);
        let type_of = |name: &str| schema.field_with_name(name).unwrap().data_type().clone();
        assert_eq!(type_of("eo:cloud_cover"), DataType::Float64);
        assert_eq!(type_of("n"), DataType::Int64);
        assert_eq!(type_of("flag"), DataType::Boolean);
        assert_eq!(type_of("when"), timestamp_type());
        assert!(matches!(type_of("tags"), DataType::List(_)));
        assert_eq!(type_of("platform"), DataType::Utf8);
        assert_eq!(type_of(DATETIME), timestamp_type());
        assert_eq!(type_of(GEOMETRY), DataType::Binary);
        assert!(schema.field_with_name(SEQ).is_err());
        assert!(schema.field_with_name("eo:cloud_cover").unwrap().is_nullable());
    }
}
