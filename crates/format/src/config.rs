//! The index config: which item properties are indexed, and how.
//!
//! ```json
//! {
//!   "fields": [
//!     {"name": "eo:cloud_cover", "path": "properties.eo:cloud_cover", "type": "number",
//!      "sortable": true, "collections": ["*"],
//!      "schema": {"type": "number", "minimum": 0, "maximum": 100}}
//!   ]
//! }
//! ```
//!
//! Every field becomes one typed column of the items table. The built-in
//! fields (id, collection, datetime, start_datetime, end_datetime, geometry)
//! always exist and need no entry.

use crate::schema::{RESERVED_COLUMNS, is_reserved};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

/// The collections wildcard: the field applies to every collection.
pub const ALL_COLLECTIONS: &str = "*";

/// The whole index config.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexConfig {
    /// The indexed item properties, beyond the built-in ones.
    #[serde(default)]
    pub fields: Vec<FieldConfig>,
}

/// One indexed item property.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldConfig {
    /// The queryable name clients use (`eo:cloud_cover`), and the column name.
    pub name: String,
    /// Where the value sits in the item JSON.
    pub path: JsonPath,
    /// The column type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Whether the field may be used in filters (default true).
    #[serde(default = "yes")]
    pub queryable: bool,
    /// Whether the field may be used in sortby (default false).
    #[serde(default)]
    pub sortable: bool,
    /// The collections the field applies to; `["*"]` (the default) for all.
    #[serde(default = "all_collections")]
    pub collections: Vec<String>,
    /// The JSON Schema served by /queryables (derived from the type when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
}

fn yes() -> bool {
    true
}

fn all_collections() -> Vec<String> {
    vec![ALL_COLLECTIONS.to_string()]
}

/// The type of an indexed property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Text.
    String,
    /// A floating point number.
    Number,
    /// A whole number.
    Integer,
    /// true or false.
    Boolean,
    /// An RFC 3339 timestamp, stored in UTC.
    Datetime,
    /// An array of strings.
    StringArray,
}

impl FieldType {
    /// Every type, in the order the docs list them.
    pub const ALL: [FieldType; 6] = [
        FieldType::String,
        FieldType::Number,
        FieldType::Integer,
        FieldType::Boolean,
        FieldType::Datetime,
        FieldType::StringArray,
    ];

    /// The name used in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Number => "number",
            FieldType::Integer => "integer",
            FieldType::Boolean => "boolean",
            FieldType::Datetime => "datetime",
            FieldType::StringArray => "string[]",
        }
    }

    /// The JSON Schema that describes values of this type.
    pub fn default_schema(self) -> Value {
        match self {
            FieldType::String => json!({"type": "string"}),
            FieldType::Number => json!({"type": "number"}),
            FieldType::Integer => json!({"type": "integer"}),
            FieldType::Boolean => json!({"type": "boolean"}),
            FieldType::Datetime => json!({"type": "string", "format": "date-time"}),
            FieldType::StringArray => json!({"type": "array", "items": {"type": "string"}}),
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FieldType {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        FieldType::ALL.into_iter().find(|t| t.as_str() == text).ok_or_else(|| {
            let names: Vec<_> = FieldType::ALL.iter().map(|t| t.as_str()).collect();
            format!("unknown type {text:?}, expected one of {}", names.join(", "))
        })
    }
}

impl Serialize for FieldType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FieldType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A dotted path into an item's JSON, with `|`-separated alternatives tried in
/// order: `properties.platform|properties.constellation`. A numeric segment
/// indexes into an array (`properties.instruments.0`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonPath {
    alternatives: Vec<Vec<String>>,
}

impl JsonPath {
    /// The first non-null value found along any alternative.
    pub fn extract<'a>(&self, item: &'a Value) -> Option<&'a Value> {
        self.alternatives
            .iter()
            .filter_map(|segments| walk(item, segments))
            .find(|value| !value.is_null())
    }

    /// The member names (or array indexes) along each alternative, from the
    /// item's top level down.
    pub fn alternatives(&self) -> impl Iterator<Item = &[String]> {
        self.alternatives.iter().map(Vec::as_slice)
    }

    /// The dotted path, when it has one alternative and walks only object
    /// members (no array index): the one place in the item the value comes from.
    pub fn single(&self) -> Option<String> {
        match self.alternatives.as_slice() {
            [segments] if !segments.iter().any(|s| s.parse::<usize>().is_ok()) => Some(segments.join(".")),
            _ => None,
        }
    }
}

fn walk<'a>(value: &'a Value, segments: &[String]) -> Option<&'a Value> {
    segments.iter().try_fold(value, |current, segment| match current {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

impl FromStr for JsonPath {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let alternatives = text
            .split('|')
            .map(|alternative| {
                let segments: Vec<String> = alternative.trim().split('.').map(str::to_string).collect();
                if segments.iter().any(|s| s.is_empty()) {
                    Err(format!("{text:?} has an empty path segment"))
                } else {
                    Ok(segments)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(JsonPath { alternatives })
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let texts: Vec<String> = self.alternatives.iter().map(|s| s.join(".")).collect();
        f.write_str(&texts.join("|"))
    }
}

impl Serialize for JsonPath {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for JsonPath {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl IndexConfig {
    /// Parses and validates a config; errors name the offending field.
    pub fn from_json(text: &str) -> Result<IndexConfig> {
        let deserializer = &mut serde_json::Deserializer::from_str(text);
        let config: IndexConfig = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            Error::Config {
                field: if path == "." { "(top level)".into() } else { path },
                message: e.into_inner().to_string(),
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what serde cannot: unique, unreserved names; collections; schemas.
    pub fn validate(&self) -> Result<()> {
        let mut seen = HashSet::new();
        for (i, field) in self.fields.iter().enumerate() {
            let at = |key: &str| format!("fields[{i}].{key}");
            let name = field.name.as_str();
            if name.is_empty() || name.trim() != name || name.chars().any(char::is_control) {
                return Err(config_error(at("name"), format!("{name:?} is not a usable name")));
            }
            if is_reserved(name) || name.starts_with("properties.") {
                return Err(config_error(
                    at("name"),
                    format!(
                        "{name:?} is reserved (built-in fields and index columns: {})",
                        RESERVED_COLUMNS.join(", ")
                    ),
                ));
            }
            if !seen.insert(name.to_ascii_lowercase()) {
                return Err(config_error(
                    at("name"),
                    format!("{name:?} is defined twice (names ignore case)"),
                ));
            }
            if field.collections.is_empty() || field.collections.iter().any(|c| c.is_empty()) {
                return Err(config_error(
                    at("collections"),
                    "must list collection ids, or \"*\" for all".into(),
                ));
            }
            if !field.queryable && !field.sortable {
                return Err(config_error(
                    at("queryable"),
                    "a field must be queryable, sortable or both".into(),
                ));
            }
            if field.sortable && field.field_type == FieldType::StringArray {
                return Err(config_error(
                    at("sortable"),
                    "a string[] field cannot be sortable (arrays have no order to sort items by)".into(),
                ));
            }
            if field.schema.as_ref().is_some_and(|schema| !schema.is_object()) {
                return Err(config_error(at("schema"), "must be a JSON Schema object".into()));
            }
        }
        Ok(())
    }
}

impl FieldConfig {
    /// Whether the field applies to the collection with this id.
    pub fn applies_to(&self, collection: &str) -> bool {
        self.collections.iter().any(|c| c == ALL_COLLECTIONS || c == collection)
    }

    /// Whether the field applies to every collection.
    pub fn applies_to_all(&self) -> bool {
        self.collections.iter().any(|c| c == ALL_COLLECTIONS)
    }

    /// The JSON Schema for /queryables: the configured one, or one derived from the type.
    pub fn json_schema(&self) -> Value {
        self.schema.clone().unwrap_or_else(|| self.field_type.default_schema())
    }
}

fn config_error(field: String, message: String) -> Error {
    Error::Config { field, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_error_of(text: &str) -> (String, String) {
        match IndexConfig::from_json(text).unwrap_err() {
            Error::Config { field, message } => (field, message),
            other => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn a_full_config_parses_with_defaults() {
        let config = IndexConfig::from_json(
            r#"{"fields": [
                {"name": "eo:cloud_cover", "path": "properties.eo:cloud_cover", "type": "number", "sortable": true},
                {"name": "platform", "path": "properties.platform|properties.constellation", "type": "string",
                 "collections": ["sentinel-2"], "schema": {"type": "string", "enum": ["a", "b"]}},
                {"name": "instruments", "path": "properties.instruments", "type": "string[]"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(config.fields.len(), 3);
        let cloud = &config.fields[0];
        assert!(cloud.queryable && cloud.sortable && cloud.applies_to_all());
        assert_eq!(cloud.json_schema(), json!({"type": "number"}));
        let platform = &config.fields[1];
        assert!(platform.applies_to("sentinel-2") && !platform.applies_to("landsat"));
        assert_eq!(platform.json_schema()["enum"], json!(["a", "b"]));
        assert_eq!(config.fields[2].field_type, FieldType::StringArray);
    }

    #[test]
    fn config_round_trips_through_json() {
        let text = r#"{"fields":[{"name":"gsd","path":"properties.gsd","type":"number"}]}"#;
        let config = IndexConfig::from_json(text).unwrap();
        let again = IndexConfig::from_json(&serde_json::to_string(&config).unwrap()).unwrap();
        assert_eq!(config, again);
    }

    #[test]
    fn an_unknown_type_names_the_field() {
        let (field, message) =
            config_error_of(r#"{"fields": [{"name": "x", "path": "properties.x", "type": "float"}]}"#);
        assert_eq!(field, "fields[0].type");
        assert!(message.contains("unknown type \"float\""), "{message}");
    }

    #[test]
    fn missing_and_unknown_keys_name_the_field() {
        let (field, message) = config_error_of(r#"{"fields": [{"name": "x", "type": "number"}]}"#);
        assert_eq!(field, "fields[0]");
        assert!(message.contains("missing field `path`"), "{message}");
        let (field, message) =
            config_error_of(r#"{"fields": [{"name": "x", "path": "p.x", "type": "number", "sortabel": true}]}"#);
        assert_eq!(field, "fields[0].sortabel");
        assert!(message.contains("unknown field `sortabel`"), "{message}");
        let (field, message) = config_error_of(r#"{"queryables": {}}"#);
        assert_eq!(field, "queryables");
        assert!(message.contains("unknown field"), "{message}");
        let (field, _) = config_error_of("true");
        assert_eq!(field, "(top level)");
    }

    #[test]
    fn reserved_duplicate_and_empty_names_are_refused() {
        let (field, message) =
            config_error_of(r#"{"fields": [{"name": "datetime", "path": "properties.datetime", "type": "datetime"}]}"#);
        assert_eq!(field, "fields[0].name");
        assert!(message.contains("reserved"));
        let (field, message) = config_error_of(
            r#"{"fields": [{"name": "a", "path": "p.a", "type": "number"}, {"name": "a", "path": "p.b", "type": "number"}]}"#,
        );
        assert_eq!(field, "fields[1].name");
        assert!(message.contains("twice"));
        let (field, _) = config_error_of(r#"{"fields": [{"name": "", "path": "p.a", "type": "number"}]}"#);
        assert_eq!(field, "fields[0].name");
    }

    #[test]
    fn bad_paths_and_collections_are_refused() {
        let (field, message) =
            config_error_of(r#"{"fields": [{"name": "a", "path": "properties..a", "type": "number"}]}"#);
        assert_eq!(field, "fields[0].path");
        assert!(message.contains("empty path segment"));
        let (field, _) =
            config_error_of(r#"{"fields": [{"name": "a", "path": "p.a", "type": "number", "collections": []}]}"#);
        assert_eq!(field, "fields[0].collections");
        let (field, message) =
            config_error_of(r#"{"fields": [{"name": "a", "path": "p.a", "type": "string[]", "sortable": true}]}"#);
        assert_eq!(field, "fields[0].sortable");
        assert!(message.contains("cannot be sortable"), "{message}");
    }

    #[test]
    fn json_paths_extract_with_alternatives_and_indexes() {
        let item = json!({"properties": {"platform": null, "constellation": "sentinel-2",
                                          "instruments": ["msi", "x"], "eo:cloud_cover": 12.5}});
        let path: JsonPath = "properties.platform|properties.constellation".parse().unwrap();
        assert_eq!(path.extract(&item), Some(&json!("sentinel-2")));
        let path: JsonPath = "properties.instruments.1".parse().unwrap();
        assert_eq!(path.extract(&item), Some(&json!("x")));
        let path: JsonPath = "properties.eo:cloud_cover".parse().unwrap();
        assert_eq!(path.extract(&item), Some(&json!(12.5)));
        let path: JsonPath = "properties.missing|assets.x.href".parse().unwrap();
        assert_eq!(path.extract(&item), None);
        assert_eq!(path.to_string(), "properties.missing|assets.x.href");
    }
}
