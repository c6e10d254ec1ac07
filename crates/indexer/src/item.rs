//! One item document to one index row.

use crate::report::ErrorKind;
use chrono::DateTime;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use stac_indexed_format::geometry::{Bbox, encode_geojson};
use stac_indexed_format::{FieldConfig, FieldType, IndexConfig};
use std::sync::Arc;

/// The indexed form of one item.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ItemRow {
    pub collection: String,
    pub id: String,
    pub datetime: Option<i64>,
    pub start_datetime: Option<i64>,
    pub end_datetime: Option<i64>,
    pub bbox: Bbox,
    pub wkb: Vec<u8>,
    pub href: String,
    pub content_hash: String,
    pub search_text: Option<String>,
    /// One value per configured field, in config order.
    pub fields: Vec<FieldValue>,
    /// The URI of the catalog or collection whose links led to the item
    /// (empty when none did).
    pub owner: Arc<str>,
}

/// The value of a configured field.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum FieldValue {
    Null,
    String(String),
    Number(f64),
    Integer(i64),
    Boolean(bool),
    /// Microseconds since the epoch, UTC.
    Datetime(i64),
    Strings(Vec<String>),
}

/// Why an item cannot be indexed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Rejection {
    pub kind: ErrorKind,
    pub message: String,
}

/// A row, and the problems with configured properties that did not stop it.
#[derive(Debug)]
pub(crate) struct Extracted {
    pub row: ItemRow,
    pub warnings: Vec<String>,
}

fn reject(kind: ErrorKind, message: impl Into<String>) -> Rejection {
    Rejection {
        kind,
        message: message.into(),
    }
}

/// The members of an item that [`extract`] reads with a config: the top
/// level ones, and those of `properties`.
#[derive(Clone, Debug)]
pub(crate) struct NeededMembers {
    top_level: Vec<String>,
    /// `None` when a configured path reads `properties` whole.
    properties: Option<Vec<String>>,
}

/// The properties [`extract`] reads whatever the config.
const BUILT_IN_PROPERTIES: [&str; 6] = [
    "datetime",
    "start_datetime",
    "end_datetime",
    "title",
    "description",
    "keywords",
];

/// The members of an item that [`extract`] reads with `config`.
pub(crate) fn needed_members(config: &IndexConfig) -> NeededMembers {
    let mut top_level: Vec<String> = ["id", "collection", "geometry", "bbox", "properties"]
        .into_iter()
        .map(str::to_string)
        .collect();
    let mut properties = Some(BUILT_IN_PROPERTIES.map(str::to_string).to_vec());
    for segments in config.fields.iter().flat_map(|field| field.path.alternatives()) {
        let Some(first) = segments.first() else { continue };
        if !top_level.contains(first) {
            top_level.push(first.clone());
        }
        if first == "properties" {
            match (segments.get(1), properties.as_mut()) {
                (Some(member), Some(members)) if !members.contains(member) => members.push(member.clone()),
                (Some(_), _) => {}
                (None, _) => properties = None,
            }
        }
    }
    NeededMembers { top_level, properties }
}

/// A document that is an item (`"type": "Feature"`), with only the
/// `needed` members parsed into values: the others (assets, links, most of
/// the properties) are checked for syntax but never built. `None` for
/// anything else (other documents, invalid JSON, escaped member names): the
/// caller parses those whole, as before.
pub(crate) fn parse_needed(bytes: &[u8], needed: &NeededMembers) -> Option<Value> {
    let Members(members) = serde_json::from_slice(bytes).ok()?;
    if member(&members, "type")?.get() != "\"Feature\"" {
        return None;
    }
    let mut item = Map::new();
    for name in &needed.top_level {
        if let Some(raw) = member(&members, name) {
            let value = match (name.as_str(), &needed.properties) {
                ("properties", Some(wanted)) => parse_object_members(raw, wanted)?,
                _ => serde_json::from_str(raw.get()).ok()?,
            };
            item.insert(name.clone(), value);
        }
    }
    Some(Value::Object(item))
}

/// An object with only its `wanted` members built (the rest scanned); any
/// other JSON value whole. `None` when a value cannot be built.
fn parse_object_members(raw: &RawValue, wanted: &[String]) -> Option<Value> {
    let Ok(Members(members)) = serde_json::from_str(raw.get()) else {
        return serde_json::from_str(raw.get()).ok();
    };
    let mut object = Map::new();
    for name in wanted {
        if let Some(raw) = member(&members, name) {
            object.insert(name.clone(), serde_json::from_str(raw.get()).ok()?);
        }
    }
    Some(Value::Object(object))
}

/// The members of a JSON object as written, values unparsed (checked for
/// syntax only). A list, not a map: objects are small, and a few
/// comparisons cost less than hashing every name.
struct Members<'a>(Vec<(&'a str, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(entry) = map.next_entry()? {
                    members.push(entry);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

/// The value of the last member called `name` (as a parser that keeps the
/// last of duplicate names would see it).
fn member<'a>(members: &[(&'a str, &'a RawValue)], name: &str) -> Option<&'a RawValue> {
    members
        .iter()
        .rev()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| *value)
}

/// Checks an item enough to index it and extracts its row.
///
/// `parent_collection` is the id of the collection that linked the item, used
/// when the item has no `collection` field; `owner` the catalog or
/// collection whose links led to it.
pub(crate) fn extract(
    item: &Value,
    hash: String,
    href: String,
    parent_collection: Option<&str>,
    owner: Arc<str>,
    config: &IndexConfig,
) -> Result<Extracted, Rejection> {
    let id = match item.get("id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => {
            return Err(reject(
                ErrorKind::InvalidItem,
                "the item has no id (a non-empty string)",
            ));
        }
    };
    let collection = match (item.get("collection"), parent_collection) {
        (Some(Value::String(c)), _) if !c.is_empty() => c.clone(),
        (None | Some(Value::Null), Some(parent)) => parent.to_string(),
        _ => {
            return Err(reject(
                ErrorKind::InvalidItem,
                format!("item {id:?} has no collection and was not linked from a collection"),
            ));
        }
    };
    let geometry = match item.get("geometry") {
        None | Some(Value::Null) => {
            return Err(reject(
                ErrorKind::InvalidGeometry,
                format!("item {id:?} has no geometry"),
            ));
        }
        Some(geometry) => {
            encode_geojson(geometry).map_err(|e| reject(ErrorKind::InvalidGeometry, format!("item {id:?}: {e}")))?
        }
    };
    let bbox = match item.get("bbox") {
        None | Some(Value::Null) => geometry.bbox,
        Some(bbox) => parse_bbox(bbox).ok_or_else(|| {
            reject(
                ErrorKind::InvalidItem,
                format!("item {id:?} has a bbox that is not 4 or 6 finite numbers"),
            )
        })?,
    };
    let empty = serde_json::Map::new();
    let properties = item.get("properties").and_then(Value::as_object).unwrap_or(&empty);
    let (datetime, start_datetime, end_datetime) = datetimes(properties)
        .map_err(|message| reject(ErrorKind::InvalidDatetime, format!("item {id:?}: {message}")))?;
    let mut warnings = Vec::new();
    let fields = config
        .fields
        .iter()
        .map(|field| field_value(item, field, &collection, &mut warnings))
        .collect();
    Ok(Extracted {
        row: ItemRow {
            collection,
            id,
            datetime,
            start_datetime,
            end_datetime,
            bbox,
            wkb: geometry.wkb,
            href,
            content_hash: hash,
            search_text: search_text(properties),
            fields,
            owner,
        },
        warnings,
    })
}

fn parse_bbox(value: &Value) -> Option<Bbox> {
    let numbers: Vec<f64> = value
        .as_array()?
        .iter()
        .map(|n| n.as_f64().filter(|n| n.is_finite()))
        .collect::<Option<_>>()?;
    match numbers.as_slice() {
        [w, s, e, n] => Some([*w, *s, *e, *n]),
        [w, s, _, e, n, _] => Some([*w, *s, *e, *n]),
        _ => None,
    }
}

type Datetimes = (Option<i64>, Option<i64>, Option<i64>);

/// `datetime`, or a `start_datetime`/`end_datetime` range, as UTC microseconds.
fn datetimes(properties: &serde_json::Map<String, Value>) -> Result<Datetimes, String> {
    let read = |key: &str| -> Result<Option<i64>, String> {
        match properties.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => parse_datetime(text)
                .map(Some)
                .ok_or_else(|| format!("{key} {text:?} is not an RFC 3339 timestamp")),
            Some(other) => Err(format!("{key} must be a string, found {other}")),
        }
    };
    let datetime = read("datetime")?;
    let start = read("start_datetime")?;
    let end = read("end_datetime")?;
    if datetime.is_none() && (start.is_none() || end.is_none()) {
        return Err("needs a datetime, or both start_datetime and end_datetime".into());
    }
    if let (Some(start), Some(end)) = (start, end)
        && start > end
    {
        return Err("start_datetime is after end_datetime".into());
    }
    Ok((datetime, start, end))
}

/// Parses an RFC 3339 timestamp to UTC microseconds.
pub(crate) fn parse_datetime(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp_micros())
}

/// Lower-cased title, description and keywords, one per line.
fn search_text(properties: &serde_json::Map<String, Value>) -> Option<String> {
    let mut parts: Vec<&str> = ["title", "description"]
        .iter()
        .filter_map(|key| properties.get(*key).and_then(Value::as_str))
        .collect();
    if let Some(keywords) = properties.get("keywords").and_then(Value::as_array) {
        parts.extend(keywords.iter().filter_map(Value::as_str));
    }
    (!parts.is_empty()).then(|| parts.join("\n").to_lowercase())
}

/// A configured field's value; NULL (with a warning) when the type is wrong,
/// NULL (silently) when missing or when the field does not apply to the collection.
fn field_value(item: &Value, field: &FieldConfig, collection: &str, warnings: &mut Vec<String>) -> FieldValue {
    if !field.applies_to(collection) {
        return FieldValue::Null;
    }
    let Some(value) = field.path.extract(item) else {
        return FieldValue::Null;
    };
    let converted = match field.field_type {
        FieldType::String => value.as_str().map(|s| FieldValue::String(s.to_string())),
        FieldType::Number => value.as_f64().filter(|n| n.is_finite()).map(FieldValue::Number),
        FieldType::Integer => value
            .as_i64()
            .or_else(|| {
                value
                    .as_f64()
                    .filter(|n| n.fract() == 0.0 && n.abs() < 9e15)
                    .map(|n| n as i64)
            })
            .map(FieldValue::Integer),
        FieldType::Boolean => value.as_bool().map(FieldValue::Boolean),
        FieldType::Datetime => value.as_str().and_then(parse_datetime).map(FieldValue::Datetime),
        FieldType::StringArray => value.as_array().and_then(|values| {
            values
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .map(FieldValue::Strings)
        }),
    };
    converted.unwrap_or_else(|| {
        let shown: String = value.to_string().chars().take(60).collect();
        warnings.push(format!(
            "{} = {shown} is not a {} (indexed as NULL)",
            field.name, field.field_type
        ));
        FieldValue::Null
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> IndexConfig {
        IndexConfig::from_json(
            r#"{"fields": [
                {"name": "eo:cloud_cover", "path": "properties.eo:cloud_cover", "type": "number"},
                {"name": "count", "path": "properties.count", "type": "integer"},
                {"name": "instruments", "path": "properties.instruments", "type": "string[]"},
                {"name": "s1only", "path": "properties.s1only", "type": "boolean", "collections": ["s1"]}
            ]}"#,
        )
        .unwrap()
    }

    fn item() -> Value {
        json!({
            "type": "Feature", "id": "a", "collection": "c",
            "geometry": {"type": "Point", "coordinates": [1.0, 2.0]},
            "properties": {"datetime": "2024-01-02T03:04:05Z", "eo:cloud_cover": 12.5, "count": 3.0,
                           "instruments": ["msi"], "s1only": true, "title": "Lake Garda",
                           "keywords": ["Snow", "Alps"]}
        })
    }

    fn extract_item(item: &Value) -> Result<Extracted, Rejection> {
        extract(
            item,
            "h".into(),
            "file:///x.json".into(),
            Some("parent"),
            "".into(),
            &config(),
        )
    }

    #[test]
    fn items_parsed_for_the_needed_members_extract_as_when_parsed_whole() {
        let config = IndexConfig::from_json(
            r#"{"fields": [
                {"name": "eo:cloud_cover", "path": "properties.eo:cloud_cover", "type": "number"},
                {"name": "visual", "path": "assets.visual.href|links.0.href", "type": "string"}
            ]}"#,
        )
        .unwrap();
        let mut whole = item();
        whole["assets"] = json!({"visual": {"href": "s3://b/visual.tif", "eo:bands": [{"name": "B04"}]}});
        whole["links"] = json!([{"rel": "self", "href": "https://h/a.json"}]);
        whole["stac_extensions"] = json!(["https://stac-extensions.github.io/eo/v1.1.0/schema.json"]);
        let needed = needed_members(&config);
        assert!(needed.top_level.contains(&"assets".to_string()) && needed.top_level.contains(&"links".to_string()));
        let bytes = serde_json::to_vec_pretty(&whole).unwrap();
        let partial = parse_needed(&bytes, &needed).unwrap();
        assert!(
            partial.get("stac_extensions").is_none() && partial["properties"].get("instruments").is_none(),
            "members nobody reads are not built"
        );
        assert_eq!(partial["properties"]["keywords"], whole["properties"]["keywords"]);
        let row = |item: &Value| {
            extract(item, "h".into(), "u".into(), None, "".into(), &config)
                .unwrap()
                .row
        };
        assert_eq!(row(&partial), row(&whole));
        assert_eq!(row(&partial).fields[1], FieldValue::String("s3://b/visual.tif".into()));

        let twice = br#"{"type": "Feature", "id": "a", "id": "b", "properties": {"datetime": null, "datetime": "2024-01-01T00:00:00Z"}}"#;
        let whole: Value = serde_json::from_slice(twice).unwrap();
        let partial = parse_needed(twice, &needed).unwrap();
        assert_eq!(
            (&partial["id"], &partial["properties"]),
            (&whole["id"], &whole["properties"]),
            "the last of duplicate names counts, as in a whole parse"
        );

        let whole_properties =
            IndexConfig::from_json(r#"{"fields": [{"name": "p", "path": "properties", "type": "string"}]}"#).unwrap();
        assert!(needed_members(&whole_properties).properties.is_none());

        let not_items: [&[u8]; 5] = [
            br#"{"type": "Feature", "id": "a", "properties": {"datetime": 1e400}}"#,
            br#"{"type": "Collection", "id": "c"}"#,
            br#"{"id": "no type"}"#,
            br#"{"type": "Feature", "id": "a", "assets": {"x": [1, }}"#,
            b"[1, 2]",
        ];
        for bytes in not_items {
            assert!(
                parse_needed(bytes, &needed).is_none(),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn a_good_item_becomes_a_row() {
        let Extracted { row, warnings } = extract_item(&item()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!((row.collection.as_str(), row.id.as_str()), ("c", "a"));
        assert_eq!(row.datetime, Some(1_704_164_645_000_000));
        assert_eq!(row.bbox, [1.0, 2.0, 1.0, 2.0]);
        assert_eq!(
            row.fields,
            vec![
                FieldValue::Number(12.5),
                FieldValue::Integer(3),
                FieldValue::Strings(vec!["msi".into()]),
                FieldValue::Null
            ]
        );
        assert_eq!(row.search_text.as_deref(), Some("lake garda\nsnow\nalps"));
    }

    #[test]
    fn missing_properties_are_null_and_wrong_types_warn() {
        let mut item = item();
        item["properties"].as_object_mut().unwrap().remove("eo:cloud_cover");
        item["properties"]["count"] = json!("three");
        let Extracted { row, warnings } = extract_item(&item).unwrap();
        assert_eq!(row.fields[0], FieldValue::Null);
        assert_eq!(row.fields[1], FieldValue::Null);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("count = \"three\" is not a integer"),
            "{warnings:?}"
        );
    }

    #[test]
    fn the_parent_collection_fills_in_and_bbox_comes_from_the_item() {
        let mut item = item();
        item.as_object_mut().unwrap().remove("collection");
        item["bbox"] = json!([0, 1, -5, 2, 3, 5]);
        let row = extract_item(&item).unwrap().row;
        assert_eq!(row.collection, "parent");
        assert_eq!(row.bbox, [0.0, 1.0, 2.0, 3.0]);
    }

    #[test]
    fn a_range_without_datetime_is_accepted() {
        let mut item = item();
        item["properties"]["datetime"] = Value::Null;
        item["properties"]["start_datetime"] = json!("2024-01-01T00:00:00Z");
        item["properties"]["end_datetime"] = json!("2024-01-03T00:00:00+01:00");
        let row = extract_item(&item).unwrap().row;
        assert_eq!(row.datetime, None);
        assert_eq!(row.start_datetime, Some(1_704_067_200_000_000));
        assert_eq!(row.end_datetime, Some(1_704_236_400_000_000));
    }

    #[test]
    fn unindexable_items_are_rejected_with_a_kind() {
        type Mutation = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(Mutation, ErrorKind)> = vec![
            (Box::new(|i| i["id"] = json!(3)), ErrorKind::InvalidItem),
            (
                Box::new(|i| {
                    i.as_object_mut().unwrap().remove("geometry");
                }),
                ErrorKind::InvalidGeometry,
            ),
            (
                Box::new(|i| i["geometry"] = json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]})),
                ErrorKind::InvalidGeometry,
            ),
            (
                Box::new(|i| i["properties"]["datetime"] = Value::Null),
                ErrorKind::InvalidDatetime,
            ),
            (
                Box::new(|i| i["properties"]["datetime"] = json!("yesterday")),
                ErrorKind::InvalidDatetime,
            ),
            (Box::new(|i| i["bbox"] = json!([1, 2, 3])), ErrorKind::InvalidItem),
            (
                Box::new(|i| {
                    i["properties"]["datetime"] = Value::Null;
                    i["properties"]["start_datetime"] = json!("2024-02-01T00:00:00Z");
                    i["properties"]["end_datetime"] = json!("2024-01-01T00:00:00Z");
                }),
                ErrorKind::InvalidDatetime,
            ),
        ];
        for (mutate, kind) in cases {
            let mut item = item();
            mutate(&mut item);
            let rejection = extract_item(&item).unwrap_err();
            assert_eq!(rejection.kind, kind, "{item}: {}", rejection.message);
        }
        let mut orphan = item();
        orphan.as_object_mut().unwrap().remove("collection");
        let rejection = extract(&orphan, "h".into(), "u".into(), None, "".into(), &config()).unwrap_err();
        assert_eq!(rejection.kind, ErrorKind::InvalidItem);
    }
}
