//! What clients may filter and sort on: the built-in item fields and the
//! fields of the index config, each with its column and its type.
//!
//! A search over some collections may use the properties that apply to
//! every one of them (the global set, for a search over all collections, is
//! what applies to all collections): the same sets `/queryables` and
//! `/collections/{id}/queryables` describe.

use crate::{Error, Result};
use serde_json::{Map, Value, json};
use stac_indexed_format::schema::{COLLECTION, DATETIME, END_DATETIME, GEOMETRY, ID, START_DATETIME};
use stac_indexed_format::{FieldType, IndexConfig};

/// The prefix clients may put before a property name (`properties.eo:cloud_cover`).
pub const PROPERTIES_PREFIX: &str = "properties.";

/// How a queryable's values are stored and compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// VARCHAR.
    Text,
    /// DOUBLE.
    Number,
    /// BIGINT.
    Integer,
    /// BOOLEAN.
    Boolean,
    /// TIMESTAMPTZ.
    Timestamp,
    /// VARCHAR[].
    TextArray,
    /// WKB in a BLOB.
    Geometry,
}

impl Kind {
    fn of(field_type: FieldType) -> Kind {
        match field_type {
            FieldType::String => Kind::Text,
            FieldType::Number => Kind::Number,
            FieldType::Integer => Kind::Integer,
            FieldType::Boolean => Kind::Boolean,
            FieldType::Datetime => Kind::Timestamp,
            FieldType::StringArray => Kind::TextArray,
        }
    }

    /// The DuckDB type of the column.
    pub fn sql_type(self) -> &'static str {
        match self {
            Kind::Text => "VARCHAR",
            Kind::Number => "DOUBLE",
            Kind::Integer => "BIGINT",
            Kind::Boolean => "BOOLEAN",
            Kind::Timestamp => "TIMESTAMPTZ",
            Kind::TextArray => "VARCHAR[]",
            Kind::Geometry => "BLOB",
        }
    }
}

/// One property clients may filter (and perhaps sort) on.
#[derive(Clone, Debug, PartialEq)]
pub struct Queryable {
    /// The name clients use, without the `properties.` prefix.
    pub name: String,
    /// The column of the items table that holds it.
    pub column: String,
    /// How its values are stored.
    pub kind: Kind,
    /// Whether clients may filter on it.
    pub queryable: bool,
    /// Whether clients may sort on it.
    pub sortable: bool,
    /// Where the value sits in the item, when it is exactly one path
    /// (`properties.eo:cloud_cover`, `id`): what the fields extension can
    /// answer from the column.
    pub item_path: Option<String>,
    /// The collections it applies to; `None` for all.
    pub collections: Option<Vec<String>>,
    /// Its JSON Schema, as /queryables serves it.
    pub schema: Value,
}

impl Queryable {
    /// The column as a quoted SQL identifier.
    pub fn sql_column(&self) -> String {
        format!("\"{}\"", self.column.replace('"', "\"\""))
    }

    fn applies_to(&self, collection: &str) -> bool {
        self.collections
            .as_ref()
            .is_none_or(|collections| collections.iter().any(|c| c == collection))
    }

    fn built_in(name: &str, kind: Kind, item_path: &str, schema: Value) -> Queryable {
        Queryable {
            name: name.to_string(),
            column: name.to_string(),
            kind,
            queryable: true,
            sortable: kind != Kind::Geometry,
            item_path: Some(item_path.to_string()),
            collections: None,
            schema,
        }
    }
}

/// Every queryable and sortable of one index.
#[derive(Clone, Debug, Default)]
pub struct Queryables {
    all: Vec<Queryable>,
}

impl Queryables {
    /// The built-in fields plus the fields of an index config.
    pub fn new(config: &IndexConfig) -> Queryables {
        let date_time = |title: &str| json!({"title": title, "type": "string", "format": "date-time"});
        let mut all = vec![
            Queryable::built_in(ID, Kind::Text, ID, json!({"title": "Item id", "type": "string"})),
            Queryable::built_in(
                COLLECTION,
                Kind::Text,
                COLLECTION,
                json!({"title": "Collection id", "type": "string"}),
            ),
            Queryable::built_in(
                GEOMETRY,
                Kind::Geometry,
                GEOMETRY,
                json!({"title": "Geometry", "$ref": "https://geojson.org/schema/Geometry.json"}),
            ),
            Queryable::built_in(
                DATETIME,
                Kind::Timestamp,
                "properties.datetime",
                date_time("Date and time"),
            ),
            Queryable::built_in(
                START_DATETIME,
                Kind::Timestamp,
                "properties.start_datetime",
                date_time("Start date and time"),
            ),
            Queryable::built_in(
                END_DATETIME,
                Kind::Timestamp,
                "properties.end_datetime",
                date_time("End date and time"),
            ),
        ];
        all.extend(config.fields.iter().map(|field| Queryable {
            name: field.name.clone(),
            column: field.name.clone(),
            kind: Kind::of(field.field_type),
            queryable: field.queryable,
            sortable: field.sortable,
            item_path: field.path.single(),
            collections: (!field.applies_to_all()).then(|| field.collections.clone()),
            schema: field.json_schema(),
        }));
        Queryables { all }
    }

    /// Every queryable and sortable, whatever collections it applies to.
    pub fn all(&self) -> impl Iterator<Item = &Queryable> {
        self.all.iter()
    }

    /// What a search over these collections may use (`None`: all collections).
    pub fn scope<'a>(&'a self, collections: Option<&[String]>) -> Scope<'a> {
        let members = self
            .all
            .iter()
            .filter(|q| match collections {
                None => q.collections.is_none(),
                Some(collections) => collections.iter().all(|c| q.applies_to(c)),
            })
            .collect();
        Scope { members }
    }
}

/// The queryables and sortables of one search's collections.
#[derive(Clone, Debug)]
pub struct Scope<'a> {
    members: Vec<&'a Queryable>,
}

impl<'a> Scope<'a> {
    /// The queryable a filter names, with or without the `properties.` prefix.
    pub fn queryable(&self, name: &str) -> Result<&'a Queryable> {
        self.find(name, |q| q.queryable).ok_or_else(|| {
            Error::UnknownProperty(format!(
                "{name:?} is not queryable here; queryable: {}",
                self.names(|q| q.queryable)
            ))
        })
    }

    /// The sortable a sortby names, with or without the `properties.` prefix.
    pub fn sortable(&self, name: &str) -> Result<&'a Queryable> {
        self.find(name, |q| q.sortable).ok_or_else(|| {
            Error::UnknownProperty(format!(
                "{name:?} is not sortable here; sortable: {}",
                self.names(|q| q.sortable)
            ))
        })
    }

    /// Every member, queryable or sortable.
    pub fn members(&self) -> impl Iterator<Item = &'a Queryable> + '_ {
        self.members.iter().copied()
    }

    /// The JSON Schema document of /queryables (`which` = queryable) or
    /// /sortables (`which` = sortable), identified by the request URL.
    pub fn json_schema(&self, id: &str, title: &str, which: fn(&Queryable) -> bool) -> Value {
        let properties: Map<String, Value> = self
            .members
            .iter()
            .filter(|q| which(q))
            .map(|q| (q.name.clone(), q.schema.clone()))
            .collect();
        json!({
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "$id": id,
            "type": "object",
            "title": title,
            "properties": properties,
            "additionalProperties": false,
        })
    }

    fn find(&self, name: &str, which: impl Fn(&Queryable) -> bool) -> Option<&'a Queryable> {
        let bare = name.strip_prefix(PROPERTIES_PREFIX).unwrap_or(name);
        self.members
            .iter()
            .copied()
            .find(|q| which(q) && (q.name == name || q.name == bare))
    }

    fn names(&self, which: impl Fn(&Queryable) -> bool) -> String {
        let names: Vec<&str> = self
            .members
            .iter()
            .filter(|q| which(q))
            .map(|q| q.name.as_str())
            .collect();
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queryables() -> Queryables {
        let config = IndexConfig::from_json(
            r#"{"fields": [
                {"name": "eo:cloud_cover", "path": "properties.eo:cloud_cover", "type": "number", "sortable": true},
                {"name": "sar:polarizations", "path": "properties.sar:polarizations", "type": "string[]",
                 "collections": ["s1"]},
                {"name": "platform", "path": "properties.platform|properties.constellation", "type": "string",
                 "queryable": false, "sortable": true}
            ]}"#,
        )
        .unwrap();
        Queryables::new(&config)
    }

    #[test]
    fn names_resolve_with_or_without_the_properties_prefix() {
        let queryables = queryables();
        let scope = queryables.scope(None);
        assert_eq!(scope.queryable("eo:cloud_cover").unwrap().kind, Kind::Number);
        assert_eq!(
            scope.queryable("properties.eo:cloud_cover").unwrap().column,
            "eo:cloud_cover"
        );
        assert_eq!(scope.queryable("properties.datetime").unwrap().kind, Kind::Timestamp);
        assert_eq!(scope.sortable("datetime").unwrap().name, "datetime");
        assert_eq!(
            scope.queryable("eo:cloud_cover").unwrap().sql_column(),
            "\"eo:cloud_cover\""
        );
    }

    #[test]
    fn unknown_and_unsortable_properties_are_named() {
        let queryables = queryables();
        let scope = queryables.scope(None);
        let error = scope.queryable("nope").unwrap_err().to_string();
        assert!(
            error.contains("\"nope\"") && error.contains("eo:cloud_cover"),
            "{error}"
        );
        assert!(
            scope
                .sortable("geometry")
                .unwrap_err()
                .to_string()
                .contains("\"geometry\"")
        );
        assert!(scope.queryable("platform").is_err(), "not queryable");
        assert!(scope.sortable("platform").is_ok());
        assert!(scope.queryable("properties.id").is_ok());
    }

    #[test]
    fn collection_fields_apply_only_where_every_searched_collection_has_them() {
        let queryables = queryables();
        assert!(queryables.scope(None).queryable("sar:polarizations").is_err());
        let s1 = ["s1".to_string()];
        assert_eq!(
            queryables.scope(Some(&s1)).queryable("sar:polarizations").unwrap().kind,
            Kind::TextArray
        );
        let both = ["s1".to_string(), "s2".to_string()];
        assert!(queryables.scope(Some(&both)).queryable("sar:polarizations").is_err());
    }

    #[test]
    fn json_schema_lists_what_applies() {
        let queryables = queryables();
        let schema = queryables
            .scope(None)
            .json_schema("http://x/queryables", "Queryables", |q| q.queryable);
        assert_eq!(schema["$id"], "http://x/queryables");
        assert_eq!(schema["additionalProperties"], false);
        let properties = schema["properties"].as_object().unwrap();
        assert!(properties.contains_key("eo:cloud_cover") && properties.contains_key("geometry"));
        assert!(!properties.contains_key("sar:polarizations") && !properties.contains_key("platform"));
        assert_eq!(
            queryables.scope(None).queryable("id").unwrap().item_path.as_deref(),
            Some("id")
        );
        assert_eq!(queryables.scope(None).sortable("platform").unwrap().item_path, None);
    }
}
