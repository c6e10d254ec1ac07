//! The fields extension: which members of each item a search returns, and
//! when the answer can be built from the index without fetching the items.
//!
//! Specification: *STAC API - Fields Extension* v1.0.0,
//! <https://github.com/stac-api-extensions/fields> (README: "Overview",
//! "Include/Exclude Semantics" rules 1–7 and the "`null` vs. empty vs.
//! missing" table). Conformance classes:
//! `https://api.stacspec.org/v1.0.0/item-search#fields` and
//! `https://api.stacspec.org/v1.0.0/ogcapi-features#fields`. The spec calls
//! include/exclude "hints", so every rule below is a *should*; this module
//! follows each recommendation exactly unless it says otherwise.
//!
//! # Syntax
//!
//! - GET: `fields=id,-properties.gsd,+properties.eo:cloud_cover`, a
//!   comma-separated list; a leading `-` excludes, a leading `+` or nothing
//!   includes. Entries are trimmed (a `+` that reached us form-decoded as a
//!   space still means include) and empty entries are skipped.
//! - POST: `"fields": {"include": [...], "exclude": [...]}`. Either list may
//!   be missing or `null`; `"fields": {}` is allowed. `"fields": null` is
//!   no `fields` at all (the full item): every null member of a search body
//!   means absent.
//!   Any other member (such as `includes`, an old client spelling) or shape is
//!   a 400 rather than silently ignored.
//! - A field is a dot-separated path of object members:
//!   `properties.eo:cloud_cover`, `assets.B01.href`. The spec lets properties
//!   be named with or without `properties.`; we accept both: a path whose
//!   first segment is not a top-level member of a STAC Item (`type`,
//!   `stac_version`, `stac_extensions`, `id`, `geometry`, `bbox`,
//!   `properties`, `links`, `assets`, `collection`) is a property, so
//!   `eo:cloud_cover` means `properties.eo:cloud_cover`. (Foreign top-level
//!   members can still be excluded, or kept by the full-item bases, but not
//!   included by name.) Paths never index into arrays: a path that runs
//!   through an array or a scalar names nothing. An empty segment is a 400.
//!
//! # Which members are returned
//!
//! - No `fields` parameter (or `"fields": null`): the full item (the caller
//!   does not use this module).
//! - Nothing included and nothing excluded (`fields=`, `{}`, lists null or
//!   empty): the **default set** (rule 1): `type`, `stac_version`,
//!   `id`, `geometry`, `bbox`, `links`, `assets`, `properties.datetime`.
//!   Rule 1 also recommends `properties.start_datetime` and
//!   `properties.end_datetime` when `datetime` is null; we keep them
//!   whenever the item has them (implementations "may choose to include other
//!   properties"), so the rule needs no look at the item.
//! - Only `include`: exactly those fields (rule 2), plus the always-kept ones.
//! - Only `exclude` (`include` missing, null or empty, GET and POST alike):
//!   the full item minus the excluded fields (rule 3): `fields=-geometry`
//!   is the whole item without its geometry. One spec revision subtracts
//!   from the default set instead when `include` is empty, but GET cannot
//!   tell empty from missing, so that reading made `fields=-assets` drop
//!   every property but `datetime`: not what a client excluding one member
//!   asks for, nor what pgstac and stac-fastapi answer.
//! - Nested paths: the most specific path wins, and at the same path include
//!   wins over exclude (rules 5–7). Excluding `properties` and including
//!   `properties.datetime` gives `properties` with only `datetime`; including
//!   `properties` and excluding `properties.datetime` gives every property
//!   but `datetime`; a field in both lists is included. An exclude overrides
//!   the default set at that path and below it (rule 4: "excluded from the
//!   default set").
//! - An object that is not itself included appears only when something
//!   inside it is kept; an included object appears even when everything in
//!   it was excluded (as `{}`).
//! - Always kept: `id`, `type` and `collection`. The spec allows "simple
//!   string fields like `id` and `type`" to be returned regardless; pgstac
//!   always adds `id` and `collection` to an include list. They are implicit
//!   includes, so an explicit exclude of one of them is still honoured.
//! - `links` are returned only when the field set includes them (the
//!   default set, an include of `links`, or the full-item base).
//!   stac-fastapi-pgstac re-adds its API links unless `links` is excluded;
//!   the spec (rule 2: the include list "should be the only fields") does
//!   not ask for that, and a client that wants links includes them.
//! - A field the item does not have is not an error and is not returned.
//!
//! # Index-only answers
//!
//! When the field set is an include list whose every included path can be
//! produced from the index, [`Fields::index_columns`] names the columns to
//! select and [`Fields::index_item`] builds each item from its [`IndexRow`]
//! and projects it with [`Fields::apply`], so both paths follow the same
//! rules. Producible paths (and anything below them): `id`, `collection`,
//! `type` (always `"Feature"`), `bbox`, `geometry`, and the `item_path` of
//! any queryable of the search's [`Scope`] (`properties.datetime`,
//! `properties.start_datetime`, `properties.end_datetime` and the index
//! config's fields that apply to every searched collection).
//!
//! Never index-only: the default set (it holds `assets`, `links` and
//! `stac_version`, which the index does not store), the full-item base, and
//! any include of `links`: the API makes the `self`/`parent`/`collection`/
//! `root` links from the row, but the item's other links (license, via,
//! derived_from, ...) exist only in the document, so answering `links` from
//! the index would silently drop them.
//!
//! An index-only item holds the same members with the same values, but the
//! index keeps some of them in a normalised form:
//!
//! - geometry and bbox are 2D (Z values dropped, a 6-number bbox becomes 4
//!   numbers); an item without `bbox` gets the bounds of its geometry; an
//!   item without `collection` gets the collection that linked it;
//! - timestamps are UTC, written `2024-03-08T10:10:21Z`, with fractional
//!   seconds only when not zero, to the microsecond;
//! - numbers have the same value but may be spelled differently (`10` in
//!   the item, `10.0` from a DOUBLE column); an integer field written
//!   `12.0` comes back as `12`;
//! - a property whose value did not have the configured type was indexed as
//!   NULL, so it is missing from the index-only item (the indexer reported
//!   it); a NULL `properties.datetime` is written `null`, as STAC requires
//!   the member.

use crate::fetch::RawItem;
use crate::{Error, Result};
use chrono::{DateTime, SecondsFormat};
use duckdb::types::Value as SqlValue;
use geo::{Coord, Geometry, LineString, Polygon};
use serde_json::value::{RawValue, to_raw_value};
use serde_json::{Map, Value, json};
use stac_indexed_filter::spatial::decode_wkb;
use stac_indexed_filter::{Kind, Queryable, Scope};
use std::collections::BTreeMap;

/// The top-level members of a STAC Item; any other first segment names a property.
pub(crate) const ITEM_MEMBERS: [&str; 10] = [
    "type",
    "stac_version",
    "stac_extensions",
    "id",
    "geometry",
    "bbox",
    "properties",
    "links",
    "assets",
    "collection",
];

/// The default set (rule 1), with the datetime range members.
const DEFAULT_FIELDS: [&str; 10] = [
    "type",
    "stac_version",
    "id",
    "geometry",
    "bbox",
    "links",
    "assets",
    "properties.datetime",
    "properties.start_datetime",
    "properties.end_datetime",
];

/// Members returned unless explicitly excluded.
const ALWAYS_KEPT: [&str; 3] = ["id", "type", "collection"];

/// A collection's default set: what describes it, without its assets,
/// summaries, providers or extension fields.
const COLLECTION_DEFAULT_FIELDS: [&str; 8] = [
    "type",
    "stac_version",
    "id",
    "title",
    "description",
    "extent",
    "license",
    "links",
];

/// A collection's members returned unless explicitly excluded.
const COLLECTION_ALWAYS_KEPT: [&str; 2] = ["id", "type"];

/// What kind of document a selection applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Document {
    /// A STAC Item: a path whose first segment is not an item member names a property.
    Item,
    /// A STAC Collection (collection search): paths are taken as written.
    Collection,
}

impl Document {
    fn default_fields(self) -> &'static [&'static str] {
        match self {
            Document::Item => &DEFAULT_FIELDS,
            Document::Collection => &COLLECTION_DEFAULT_FIELDS,
        }
    }

    fn always_kept(self) -> &'static [&'static str] {
        match self {
            Document::Item => &ALWAYS_KEPT,
            Document::Collection => &COLLECTION_ALWAYS_KEPT,
        }
    }
}

/// Members an index-only item takes from the row itself rather than from a column.
const ROW_MEMBERS: [&str; 4] = ["id", "collection", "type", "bbox"];

/// The one property an index-only item writes as `null` when its column is NULL.
const DATETIME_PATH: &str = "properties.datetime";

/// A field: the object member names from the item's top level down.
type Path = Vec<String>;

/// Whether the members at a path are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    Include,
    Exclude,
}

/// The rules at one path and below it. A member without a rule of its own
/// follows its parent's decision.
#[derive(Clone, Debug, Default, PartialEq)]
struct Node {
    rule: Option<Rule>,
    children: BTreeMap<String, Node>,
}

/// A request's field selection, compiled to a tree of rules.
#[derive(Clone, Debug, PartialEq)]
pub struct Fields {
    /// The rules; the root always has a rule: the base the item starts from.
    root: Node,
}

/// The values an index-only item is built from: one index row.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexRow {
    /// The `collection` column.
    pub collection: String,
    /// The `id` column.
    pub id: String,
    /// The `bbox_xmin`, `bbox_ymin`, `bbox_xmax`, `bbox_ymax` columns.
    pub bbox: [f64; 4],
    /// One value per column of [`Fields::index_columns`]: the queryable's
    /// `item_path` and the column's value through [`column_json`]
    /// (`Value::Null` for SQL NULL: the member is then absent).
    pub values: Vec<(String, Value)>,
}

impl Fields {
    /// The selection of a GET `fields` parameter.
    pub fn from_query(text: &str) -> Result<Fields> {
        Fields::from_query_for(text, Document::Item)
    }

    /// The selection of a POST body's `fields` member.
    pub fn from_json(value: &Value) -> Result<Fields> {
        Fields::from_json_for(value, Document::Item)
    }

    /// The selection of a GET `fields` parameter, for `document`s.
    pub fn from_query_for(text: &str, document: Document) -> Result<Fields> {
        let mut include = Vec::new();
        let mut exclude = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
            match entry.strip_prefix('-') {
                Some(name) => exclude.push(parse_path(name.trim(), document)?),
                None => include.push(parse_path(entry.strip_prefix('+').unwrap_or(entry).trim(), document)?),
            }
        }
        Ok(Fields::new(Some(include), exclude, document))
    }

    /// The selection of a POST body's `fields` member, for `document`s.
    pub fn from_json_for(value: &Value, document: Document) -> Result<Fields> {
        let object = match value {
            Value::Null => return Ok(Fields::new(None, Vec::new(), document)),
            Value::Object(object) => object,
            other => {
                return Err(Error::bad_request(format!(
                    "\"fields\" must be an object with \"include\" and/or \"exclude\" arrays of field names, found {other}"
                )));
            }
        };
        if let Some(unknown) = object.keys().find(|key| *key != "include" && *key != "exclude") {
            return Err(Error::bad_request(format!(
                "\"fields\" has an unknown member {unknown:?}: it takes \"include\" and \"exclude\", arrays of field names"
            )));
        }
        let include = object
            .get("include")
            .map(|list| path_list("include", list, document))
            .transpose()?;
        let exclude = object
            .get("exclude")
            .map(|list| path_list("exclude", list, document))
            .transpose()?;
        Ok(Fields::new(include, exclude.unwrap_or_default(), document))
    }

    /// Compiles the lists; `include` is `None` when missing (POST only).
    fn new(include: Option<Vec<Path>>, exclude: Vec<Path>, document: Document) -> Fields {
        let include = include.unwrap_or_default();
        let full_item = include.is_empty() && !exclude.is_empty();
        let base = if full_item { Rule::Include } else { Rule::Exclude };
        let mut root = Node {
            rule: Some(base),
            children: BTreeMap::new(),
        };
        for path in &exclude {
            root.set(path, Rule::Exclude);
        }
        // After the excludes: a field in both lists is included (rule 6).
        for path in &include {
            root.set(path, Rule::Include);
        }
        if !full_item {
            let defaults: &[&str] = if include.is_empty() {
                document.default_fields()
            } else {
                &[]
            };
            for name in document.always_kept().iter().chain(defaults) {
                root.set_implicit(&split(name));
            }
        }
        root.prune(base);
        Fields { root }
    }

    /// The item with only the selected members. Members that need no
    /// decision below their top level keep their raw JSON; only the objects
    /// the rules descend into (such as `properties`) are parsed.
    pub fn apply(&self, item: RawItem) -> RawItem {
        project(item, &self.root, Rule::Exclude)
    }

    /// The columns to select when the response can be built from the index
    /// alone (see the module documentation), `None` when the items must be
    /// fetched. `id`, `collection` and the bbox columns are always needed and
    /// are not listed; the `geometry` queryable is listed when the geometry is.
    pub fn index_columns<'a>(&self, scope: &Scope<'a>) -> Option<Vec<&'a Queryable>> {
        if self.root.rule != Some(Rule::Exclude) {
            return None;
        }
        let mut included = Vec::new();
        self.root.included(&mut Vec::new(), &mut included);
        let mut columns: Vec<&'a Queryable> = Vec::new();
        for path in &included {
            if ROW_MEMBERS.contains(&path[0].as_str()) {
                continue;
            }
            let column = column_for(path, scope)?;
            if !columns.iter().any(|known| known.column == column.column) {
                columns.push(column);
            }
        }
        Some(columns)
    }

    /// The item built from an index row, projected with [`Fields::apply`]:
    /// what the search returns for this row when [`Fields::index_columns`]
    /// is `Some`.
    pub fn index_item(&self, row: &IndexRow) -> RawItem {
        let mut item = Map::new();
        item.insert("type".into(), "Feature".into());
        item.insert("id".into(), row.id.clone().into());
        item.insert("collection".into(), row.collection.clone().into());
        item.insert("bbox".into(), json!(row.bbox));
        for (path, value) in &row.values {
            if !value.is_null() || path == DATETIME_PATH {
                insert_at(&mut item, &split(path), value.clone());
            }
        }
        let raw = item
            .into_iter()
            .filter_map(|(key, value)| to_raw_value(&value).ok().map(|raw| (key, raw)))
            .collect();
        self.apply(raw)
    }
}

impl Node {
    /// Sets the rule at `path`, replacing the one there.
    fn set(&mut self, path: &[String], rule: Rule) {
        let node = path
            .iter()
            .fold(self, |node, segment| node.children.entry(segment.clone()).or_default());
        node.rule = Some(rule);
    }

    /// Includes `path` unless a request rule names it or excludes a parent of it.
    fn set_implicit(&mut self, path: &[String]) {
        let mut node = self;
        for segment in path {
            node = node.children.entry(segment.clone()).or_default();
            if node.rule == Some(Rule::Exclude) {
                return;
            }
        }
        node.rule.get_or_insert(Rule::Include);
    }

    /// Removes the rules that repeat the decision they inherit, so that
    /// [`project`] descends only where a decision changes.
    fn prune(&mut self, inherited: Rule) {
        let here = self.rule.unwrap_or(inherited);
        self.children.retain(|_, child| {
            child.prune(here);
            !child.children.is_empty() || child.rule.is_some_and(|rule| rule != here)
        });
    }

    /// The paths below this node that are explicitly included.
    fn included(&self, path: &mut Path, out: &mut Vec<Path>) {
        for (segment, child) in &self.children {
            path.push(segment.clone());
            if child.rule == Some(Rule::Include) {
                out.push(path.clone());
            }
            child.included(path, out);
            path.pop();
        }
    }
}

/// The members of one object that `node` keeps.
fn project(members: RawItem, node: &Node, inherited: Rule) -> RawItem {
    let here = node.rule.unwrap_or(inherited);
    members
        .into_iter()
        .filter_map(|(key, raw)| match node.children.get(&key) {
            None => (here == Rule::Include).then_some((key, raw)),
            Some(child) => project_member(raw, child, here).map(|raw| (key, raw)),
        })
        .collect()
}

/// One member under its own rules: whole, without, or (for an object with
/// rules inside) rebuilt from its kept members.
fn project_member(raw: Box<RawValue>, node: &Node, inherited: Rule) -> Option<Box<RawValue>> {
    let decision = node.rule.unwrap_or(inherited);
    let members = if node.children.is_empty() {
        None
    } else {
        serde_json::from_str::<RawItem>(raw.get()).ok()
    };
    match members {
        None => (decision == Rule::Include).then_some(raw),
        Some(members) => {
            let kept = project(members, node, inherited);
            if decision == Rule::Include || !kept.is_empty() {
                to_raw_value(&kept).ok()
            } else {
                None
            }
        }
    }
}

/// The queryable whose column holds `path` or an object above it, if any.
fn column_for<'a>(path: &[String], scope: &Scope<'a>) -> Option<&'a Queryable> {
    scope.members().find(|queryable| {
        queryable.item_path.as_deref().is_some_and(|item_path| {
            let item_path = split(item_path);
            path.starts_with(&item_path) && !ROW_MEMBERS.contains(&item_path[0].as_str())
        })
    })
}

/// Sets `value` at `path` in `object`, making the objects on the way.
fn insert_at(object: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut object = object;
    for segment in parents {
        let member = object
            .entry(segment.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(inner) = member else {
            return;
        };
        object = inner;
    }
    object.insert(last.clone(), value);
}

/// A field name as a path, with `properties.` added before a property name.
fn parse_path(name: &str, document: Document) -> Result<Path> {
    if name.is_empty() {
        return Err(Error::bad_request("fields: an entry names no field"));
    }
    let mut path = split(name);
    if path.iter().any(String::is_empty) {
        return Err(Error::bad_request(format!(
            "fields: {name:?} has an empty path segment"
        )));
    }
    if document == Document::Item && !ITEM_MEMBERS.contains(&path[0].as_str()) {
        path.insert(0, "properties".to_string());
    }
    Ok(path)
}

/// The paths of a POST `include` or `exclude` list (`null` is empty).
fn path_list(member: &str, list: &Value, document: Document) -> Result<Vec<Path>> {
    let invalid = || Error::bad_request(format!("\"fields.{member}\" must be an array of field names (strings)"));
    match list {
        Value::Null => Ok(Vec::new()),
        Value::Array(names) => names
            .iter()
            .map(|name| {
                name.as_str()
                    .ok_or_else(invalid)
                    .and_then(|name| parse_path(name, document))
            })
            .collect(),
        _ => Err(invalid()),
    }
}

fn split(path: &str) -> Path {
    path.split('.').map(str::to_string).collect()
}

/// The JSON value of one index column as the item holds it: DOUBLE, BIGINT,
/// BOOLEAN and VARCHAR as themselves, TIMESTAMPTZ as RFC 3339 UTC with `Z`,
/// VARCHAR[] as an array of strings, the WKB of a [`Kind::Geometry`] column
/// as a GeoJSON geometry, SQL NULL as `Value::Null`. Any other value, or WKB
/// that does not decode, is a corrupt index (500).
pub fn column_json(kind: Kind, value: SqlValue) -> Result<Value> {
    Ok(match value {
        SqlValue::Null => Value::Null,
        SqlValue::Blob(wkb) | SqlValue::Geometry(wkb) if kind == Kind::Geometry => {
            let geometry =
                decode_wkb(&wkb).ok_or_else(|| Error::Internal("the index holds a geometry that is not WKB".into()))?;
            geometry_json(&geometry)
        }
        SqlValue::Timestamp(unit, value) => timestamp_json(unit.to_micros(value))?,
        SqlValue::Double(value) => json!(value),
        SqlValue::BigInt(value) => value.into(),
        SqlValue::Boolean(value) => value.into(),
        SqlValue::Text(value) => value.into(),
        SqlValue::List(values) => Value::Array(
            values
                .into_iter()
                .map(|value| column_json(kind, value))
                .collect::<Result<_>>()?,
        ),
        other => return Err(Error::Internal(format!("unexpected index value {other:?}"))),
    })
}

/// UTC microseconds as STAC writes them: `2024-03-08T10:10:21Z`, with
/// fractional seconds only when needed.
fn timestamp_json(micros: i64) -> Result<Value> {
    let time = DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| Error::Internal(format!("the index holds a timestamp out of range: {micros}")))?;
    Ok(time.to_rfc3339_opts(SecondsFormat::AutoSi, true).into())
}

/// A `geo` geometry as a GeoJSON geometry object.
pub fn geometry_json(geometry: &Geometry<f64>) -> Value {
    match geometry {
        Geometry::Point(point) => typed("Point", position(point.0)),
        Geometry::Line(line) => typed("LineString", json!([position(line.start), position(line.end)])),
        Geometry::LineString(line) => typed("LineString", positions(line)),
        Geometry::Polygon(polygon) => typed("Polygon", rings(polygon)),
        Geometry::MultiPoint(points) => typed("MultiPoint", points.iter().map(|point| position(point.0)).collect()),
        Geometry::MultiLineString(lines) => typed("MultiLineString", lines.iter().map(positions).collect()),
        Geometry::MultiPolygon(polygons) => typed("MultiPolygon", polygons.iter().map(rings).collect()),
        Geometry::GeometryCollection(collection) => json!({
            "type": "GeometryCollection",
            "geometries": collection.iter().map(geometry_json).collect::<Vec<_>>(),
        }),
        Geometry::Rect(rect) => typed("Polygon", rings(&rect.to_polygon())),
        Geometry::Triangle(triangle) => typed("Polygon", rings(&triangle.to_polygon())),
    }
}

fn typed(kind: &str, coordinates: Value) -> Value {
    json!({"type": kind, "coordinates": coordinates})
}

fn position(coord: Coord<f64>) -> Value {
    json!([coord.x, coord.y])
}

fn positions(line: &LineString<f64>) -> Value {
    line.coords().copied().map(position).collect()
}

/// A polygon's rings, exterior first; an empty polygon has none.
fn rings(polygon: &Polygon<f64>) -> Value {
    if polygon.exterior().0.is_empty() && polygon.interiors().is_empty() {
        return json!([]);
    }
    std::iter::once(polygon.exterior())
        .chain(polygon.interiors())
        .map(positions)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use stac_indexed_filter::Queryables;
    use stac_indexed_format::IndexConfig;
    use stac_indexed_format::geometry::encode_geojson;

    const CONFIG: &str = include_str!("../../../sample-data/index-config.json");
    const SAMPLE_ITEMS: [&str; 6] = [
        include_str!("../../../sample-data/optical/sentinel-2-l2a/items/S2A_MSIL2A_20240308T101021_T32TLT.json"),
        include_str!("../../../sample-data/optical/sentinel-2-l2a/items/S2A_MSIL2A_20240223T102021_T32TNS.json"),
        include_str!("../../../sample-data/optical/landsat-c2-l2/items/LC08_L2SP_193029_20240503.json"),
        include_str!("../../../sample-data/optical/landsat-c2-l2/items/LC08_L2SP_194027_20240120.json"),
        include_str!("../../../sample-data/optical/landsat-c2-l2/items/LC09_L2SP_074072_20240318.json"),
        include_str!("../../../sample-data/radar/items/S1A_IW_GRDH_20240208T053019.json"),
    ];

    fn item() -> Value {
        json!({
            "type": "Feature",
            "stac_version": "1.1.0",
            "stac_extensions": [],
            "id": "a",
            "collection": "c",
            "geometry": {"type": "Point", "coordinates": [1.5, 2.0]},
            "bbox": [1.5, 2.0, 1.5, 2.0],
            "properties": {
                "datetime": "2024-01-01T00:00:00Z",
                "gsd": 10,
                "eo:cloud_cover": 5.5,
                "nested": {"a": 1, "b": 2},
            },
            "links": [{"rel": "license", "href": "https://example.com/license"}],
            "assets": {
                "visual": {"href": "https://example.com/v.tif", "title": "Visual"},
                "thumbnail": {"href": "https://example.com/t.png"},
            },
        })
    }

    fn raw(value: &Value) -> RawItem {
        serde_json::from_str(&value.to_string()).unwrap()
    }

    fn value(item: &RawItem) -> Value {
        serde_json::from_str(&serde_json::to_string(item).unwrap()).unwrap()
    }

    fn get(text: &str) -> Value {
        value(&Fields::from_query(text).unwrap().apply(raw(&item())))
    }

    fn post(fields: Value) -> Value {
        value(&Fields::from_json(&fields).unwrap().apply(raw(&item())))
    }

    fn keys(value: &Value) -> Vec<&str> {
        value.as_object().unwrap().keys().map(String::as_str).collect()
    }

    fn default_set() -> Value {
        let full = item();
        json!({
            "type": "Feature",
            "stac_version": "1.1.0",
            "id": "a",
            "collection": "c",
            "geometry": full["geometry"],
            "bbox": full["bbox"],
            "properties": {"datetime": "2024-01-01T00:00:00Z"},
            "links": full["links"],
            "assets": full["assets"],
        })
    }

    #[test]
    fn get_and_post_syntax_parse_alike() {
        let post = Fields::from_json(&json!({
            "include": ["id", "properties.eo:cloud_cover"],
            "exclude": ["properties.gsd"],
        }))
        .unwrap();
        assert_eq!(
            Fields::from_query("id,-properties.gsd,properties.eo:cloud_cover").unwrap(),
            post
        );
        // `+` prefix, a `+` decoded to a space, empty entries, unprefixed property names.
        assert_eq!(Fields::from_query("+id, -gsd,,eo:cloud_cover,").unwrap(), post);
        assert_eq!(Fields::from_query(" id,-gsd,+properties.eo:cloud_cover").unwrap(), post);
    }

    #[test]
    fn only_include_returns_those_fields_and_the_always_kept() {
        let answer = get("properties.eo:cloud_cover,geometry");
        assert_eq!(
            answer,
            json!({
                "type": "Feature",
                "id": "a",
                "collection": "c",
                "geometry": {"type": "Point", "coordinates": [1.5, 2.0]},
                "properties": {"eo:cloud_cover": 5.5},
            })
        );
        assert_eq!(answer, post(json!({"include": ["eo:cloud_cover", "geometry"]})));
    }

    #[test]
    fn only_exclude_removes_from_the_full_item_in_get_and_post() {
        let mut expected = item();
        expected.as_object_mut().unwrap().remove("geometry");
        expected["properties"].as_object_mut().unwrap().remove("gsd");
        assert_eq!(post(json!({"exclude": ["geometry", "gsd"]})), expected);
        assert_eq!(post(json!({"include": null, "exclude": ["geometry", "gsd"]})), expected);
        assert_eq!(post(json!({"include": [], "exclude": ["geometry", "gsd"]})), expected);
        assert_eq!(get("-geometry,-properties.gsd"), expected);
        // Excluding one property keeps every other.
        let answer = get("-properties.gsd,-assets.thumbnail");
        assert_eq!(answer["properties"], expected["properties"]);
        assert_eq!(keys(&answer["assets"]), ["visual"]);
        assert!(get("-properties").get("properties").is_none());
    }

    #[test]
    fn nothing_selected_is_the_default_set() {
        for answer in [
            get(""),
            get(" , "),
            post(Value::Null),
            post(json!({})),
            post(json!({"include": null, "exclude": null})),
            post(json!({"include": [], "exclude": []})),
            post(json!({"exclude": []})),
        ] {
            assert_eq!(answer, default_set());
        }
    }

    #[test]
    fn the_default_set_keeps_a_datetime_range() {
        let mut range = item();
        range["properties"] = json!({"datetime": null, "start_datetime": "2024-01-01T00:00:00Z",
                                     "end_datetime": "2024-01-02T00:00:00Z", "gsd": 10});
        let answer = value(&Fields::from_query("").unwrap().apply(raw(&range)));
        assert_eq!(
            answer["properties"],
            json!({"datetime": null, "start_datetime": "2024-01-01T00:00:00Z", "end_datetime": "2024-01-02T00:00:00Z"})
        );
    }

    #[test]
    fn include_and_exclude_most_specific_path_wins() {
        // Include an object, exclude a member of it (rule 5.2).
        let answer = get("properties,-properties.gsd,-properties.nested.a");
        assert_eq!(keys(&answer), ["collection", "id", "properties", "type"]);
        assert_eq!(
            answer["properties"],
            json!({"datetime": "2024-01-01T00:00:00Z", "eo:cloud_cover": 5.5, "nested": {"b": 2}})
        );
        // Exclude an object, include a member of it (rule 5.1).
        let answer = post(json!({"include": ["properties.datetime", "assets.visual.href"], "exclude": ["properties"]}));
        assert_eq!(answer["properties"], json!({"datetime": "2024-01-01T00:00:00Z"}));
        assert_eq!(
            answer["assets"],
            json!({"visual": {"href": "https://example.com/v.tif"}})
        );
        // Nested excludes from the full item.
        let answer = post(json!({"exclude": ["assets.thumbnail", "properties.nested.b"]}));
        assert_eq!(keys(&answer["assets"]), ["visual"]);
        assert_eq!(answer["properties"]["nested"], json!({"a": 1}));
    }

    #[test]
    fn a_field_in_both_lists_is_included() {
        assert_eq!(get("gsd,-gsd")["properties"], json!({"gsd": 10}));
        assert_eq!(
            post(json!({"include": ["links"], "exclude": ["links"]}))["links"],
            item()["links"]
        );
    }

    #[test]
    fn always_kept_members_yield_to_an_explicit_exclude() {
        assert_eq!(keys(&get("gsd")), ["collection", "id", "properties", "type"]);
        assert_eq!(keys(&get("gsd,-collection,-type")), ["id", "properties"]);
        let mut expected = item();
        expected.as_object_mut().unwrap().remove("id");
        assert_eq!(get("-id"), expected);
    }

    #[test]
    fn links_are_returned_only_when_selected() {
        assert!(get("id,properties").get("links").is_none());
        assert_eq!(get("links")["links"], item()["links"]);
        assert_eq!(get("")["links"], item()["links"]);
    }

    #[test]
    fn missing_fields_and_paths_through_non_objects_name_nothing() {
        assert_eq!(
            keys(&get("properties.missing,assets.none.href")),
            ["collection", "id", "type"]
        );
        // Into an array (links) or a scalar (id).
        assert!(get("links.href").get("links").is_none());
        assert_eq!(post(json!({"exclude": ["links.rel", "id.x"]})), item());
        // An included object emptied by excludes stays, as `{}`.
        assert_eq!(
            get("properties.nested,-properties.nested.a,-properties.nested.b")["properties"],
            json!({"nested": {}})
        );
    }

    #[test]
    fn untouched_members_keep_their_raw_text() {
        let text = r#"{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[1.50, 2]},
                      "properties":{"gsd":10.0,"x":[1.0, 2]}}"#;
        let item: RawItem = serde_json::from_str(text).unwrap();
        let answer = Fields::from_query("geometry,gsd").unwrap().apply(item);
        assert_eq!(answer["geometry"].get(), r#"{"type":"Point","coordinates":[1.50, 2]}"#);
        assert_eq!(answer["properties"].get(), r#"{"gsd":10.0}"#);
    }

    #[test]
    fn bad_input_is_a_bad_request() {
        for text in ["properties.", ".id", "a..b", "-", "+", "id,-"] {
            let error = Fields::from_query(text).unwrap_err();
            assert!(matches!(error, Error::BadRequest(_)), "{text:?}: {error}");
        }
        for fields in [
            json!("id,geometry"),
            json!(["id"]),
            json!({"includes": ["id"]}),
            json!({"include": "id"}),
            json!({"include": [1]}),
            json!({"exclude": {"id": true}}),
            json!({"exclude": [""]}),
        ] {
            let error = Fields::from_json(&fields).unwrap_err();
            assert!(matches!(error, Error::BadRequest(_)), "{fields}: {error}");
        }
        let error = Fields::from_json(&json!({"includes": ["id"]})).unwrap_err();
        assert!(error.to_string().contains("\"includes\""), "{error}");
    }

    fn queryables() -> Queryables {
        Queryables::new(&IndexConfig::from_json(CONFIG).unwrap())
    }

    fn column_names(fields: &str, scope: &Scope<'_>) -> Option<Vec<String>> {
        Fields::from_query(fields)
            .unwrap()
            .index_columns(scope)
            .map(|columns| columns.iter().map(|q| q.column.clone()).collect())
    }

    #[test]
    fn index_columns_need_an_include_list_of_indexed_paths() {
        let queryables = queryables();
        let all = queryables.scope(None);
        assert_eq!(column_names("id,collection,type,bbox", &all), Some(vec![]));
        assert_eq!(
            column_names("geometry,datetime,properties.start_datetime,eo:cloud_cover,-gsd", &all),
            Some(vec![
                "geometry".into(),
                "datetime".into(),
                "eo:cloud_cover".into(),
                "start_datetime".into()
            ])
        );
        // Below an indexed path is indexed too; the same column once.
        assert_eq!(
            column_names("geometry.type,geometry,platform,properties.platform", &all),
            Some(vec!["geometry".into(), "platform".into()])
        );
        for fields in [
            "",
            "-geometry",
            "links",
            "assets",
            "assets.visual.href",
            "properties",
            "stac_version",
            "id,properties.title",
            // sar:polarizations applies to sentinel-1-grd only.
            "sar:polarizations",
        ] {
            assert_eq!(column_names(fields, &all), None, "{fields:?}");
        }
        let exclude_only = Fields::from_json(&json!({"exclude": ["assets"]})).unwrap();
        assert!(exclude_only.index_columns(&all).is_none());
        let radar = ["sentinel-1-grd".to_string()];
        assert_eq!(
            column_names("sar:polarizations", &queryables.scope(Some(&radar))),
            Some(vec!["sar:polarizations".into()])
        );
    }

    /// The DuckDB value the indexer stores for `value` in a column of `kind`.
    fn stored(kind: Kind, value: Option<&Value>) -> SqlValue {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return SqlValue::Null;
        };
        match kind {
            Kind::Text => SqlValue::Text(value.as_str().unwrap().into()),
            Kind::Number => SqlValue::Double(value.as_f64().unwrap()),
            Kind::Integer => SqlValue::BigInt(value.as_i64().unwrap()),
            Kind::Boolean => SqlValue::Boolean(value.as_bool().unwrap()),
            Kind::Timestamp => {
                let micros = DateTime::parse_from_rfc3339(value.as_str().unwrap())
                    .unwrap()
                    .timestamp_micros();
                SqlValue::Timestamp(duckdb::types::TimeUnit::Microsecond, micros)
            }
            Kind::TextArray => SqlValue::List(
                value
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| SqlValue::Text(v.as_str().unwrap().into()))
                    .collect(),
            ),
            Kind::Geometry => SqlValue::Blob(encode_geojson(value).unwrap().wkb),
        }
    }

    /// The row the index holds for `item`, with the values of `columns`.
    fn index_row(item: &Value, columns: &[&Queryable]) -> IndexRow {
        let bbox: Vec<f64> = item["bbox"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_f64().unwrap())
            .collect();
        let values = columns
            .iter()
            .map(|q| {
                let path = q.item_path.clone().unwrap();
                let at = split(&path).iter().try_fold(item, |value, segment| value.get(segment));
                (path, column_json(q.kind, stored(q.kind, at)).unwrap())
            })
            .collect();
        IndexRow {
            collection: item["collection"].as_str().unwrap().into(),
            id: item["id"].as_str().unwrap().into(),
            bbox: bbox.try_into().unwrap(),
            values,
        }
    }

    /// JSON values with every number as an f64: `10` and `10.0` are the same number.
    fn numbers_as_floats(value: &Value) -> Value {
        match value {
            Value::Number(n) => json!(n.as_f64().unwrap()),
            Value::Array(values) => values.iter().map(numbers_as_floats).collect(),
            Value::Object(members) => members
                .iter()
                .map(|(k, v)| (k.clone(), numbers_as_floats(v)))
                .collect::<Map<_, _>>()
                .into(),
            other => other.clone(),
        }
    }

    #[test]
    fn index_items_equal_projected_fetched_items() {
        let queryables = queryables();
        let field_sets = [
            "id",
            "geometry",
            "bbox,type,collection",
            "datetime,start_datetime,end_datetime",
            "geometry,eo:cloud_cover,gsd,platform,constellation,instruments,proj:code,sar:polarizations,-type",
            "properties.instruments,geometry.coordinates",
            "-properties,datetime,id",
        ];
        let mut compared = 0;
        for text in SAMPLE_ITEMS {
            let item: Value = serde_json::from_str(text).unwrap();
            let collection = [item["collection"].as_str().unwrap().to_string()];
            let scope = queryables.scope(Some(&collection));
            for fields_text in field_sets {
                let fields = Fields::from_query(fields_text).unwrap();
                let Some(columns) = fields.index_columns(&scope) else {
                    assert_eq!(fields_text.contains("sar:"), collection[0] != "sentinel-1-grd");
                    continue;
                };
                let fetched = value(&fields.apply(raw(&item)));
                let indexed = value(&fields.index_item(&index_row(&item, &columns)));
                assert_eq!(
                    numbers_as_floats(&indexed),
                    numbers_as_floats(&fetched),
                    "{} with fields={fields_text}",
                    item["id"]
                );
                compared += 1;
            }
        }
        assert_eq!(compared, SAMPLE_ITEMS.len() * field_sets.len() - 5);
    }

    #[test]
    fn index_item_writes_a_null_datetime_and_omits_other_nulls() {
        let fields = Fields::from_query("datetime,gsd").unwrap();
        let row = IndexRow {
            collection: "c".into(),
            id: "a".into(),
            bbox: [0.0, 0.0, 1.0, 1.0],
            values: vec![
                ("properties.datetime".into(), Value::Null),
                ("properties.gsd".into(), Value::Null),
            ],
        };
        assert_eq!(
            value(&fields.index_item(&row)),
            json!({"type": "Feature", "id": "a", "collection": "c", "properties": {"datetime": null}})
        );
    }

    #[test]
    fn column_values_from_duckdb_become_item_json() {
        let connection = duckdb::Connection::open_in_memory().unwrap();
        let wkb = encode_geojson(&json!({"type": "Point", "coordinates": [1.5, -2.0]}))
            .unwrap()
            .wkb;
        let sql = "SELECT 10::DOUBLE, 3::BIGINT, true, 'x', TIMESTAMPTZ '2024-03-08 10:10:21+00', \
                   TIMESTAMPTZ '2024-03-08 10:10:21.25+00', ['a', 'b']::VARCHAR[], NULL::DOUBLE, ?::BLOB";
        let kinds = [
            Kind::Number,
            Kind::Integer,
            Kind::Boolean,
            Kind::Text,
            Kind::Timestamp,
            Kind::Timestamp,
            Kind::TextArray,
            Kind::Number,
            Kind::Geometry,
        ];
        let values: Vec<Value> = connection
            .query_row(sql, [wkb], |row| {
                Ok(kinds
                    .iter()
                    .enumerate()
                    .map(|(i, kind)| column_json(*kind, row.get::<_, SqlValue>(i).unwrap()).unwrap())
                    .collect())
            })
            .unwrap();
        assert_eq!(
            values,
            vec![
                json!(10.0),
                json!(3),
                json!(true),
                json!("x"),
                json!("2024-03-08T10:10:21Z"),
                json!("2024-03-08T10:10:21.250Z"),
                json!(["a", "b"]),
                Value::Null,
                json!({"type": "Point", "coordinates": [1.5, -2.0]}),
            ]
        );
        let error = column_json(Kind::Geometry, SqlValue::Blob(vec![1, 2])).unwrap_err();
        assert!(matches!(error, Error::Internal(_)));
    }

    #[test]
    fn geometries_round_trip_through_wkb() {
        let geometries = [
            json!({"type": "Point", "coordinates": [1.5, 2.0]}),
            json!({"type": "LineString", "coordinates": [[0.0, 0.0], [1.0, 1.5]]}),
            json!({"type": "Polygon", "coordinates": [
                [[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0], [0.0, 0.0]],
                [[1.0, 1.0], [2.0, 1.0], [2.0, 2.0], [1.0, 1.0]],
            ]}),
            json!({"type": "MultiPoint", "coordinates": [[0.0, 0.0], [-1.25, 3.0]]}),
            json!({"type": "MultiLineString", "coordinates": [[[0.0, 0.0], [1.0, 1.0]], [[2.0, 2.0], [3.0, 3.0]]]}),
            json!({"type": "MultiPolygon", "coordinates": [
                [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]],
                [[[5.0, 5.0], [6.0, 5.0], [6.0, 6.0], [5.0, 5.0]]],
            ]}),
            json!({"type": "GeometryCollection", "geometries": [
                {"type": "Point", "coordinates": [179.5, -89.0]},
                {"type": "GeometryCollection", "geometries": [
                    {"type": "LineString", "coordinates": [[0.0, 0.0], [1.0, 1.0]]},
                ]},
            ]}),
        ];
        for geometry in geometries {
            let wkb = encode_geojson(&geometry).unwrap().wkb;
            assert_eq!(geometry_json(&decode_wkb(&wkb).unwrap()), geometry);
        }
    }
}
