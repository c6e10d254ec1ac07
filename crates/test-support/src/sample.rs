//! The sample catalog, read independently of the code under test: its
//! items with their geometries and times, and the expected answers of
//! searches over them.

use chrono::{DateTime, Utc};
use geo::{
    Coord, Geometry, GeometryCollection, Intersects, LineString, MultiLineString, MultiPoint, MultiPolygon, Point,
    Polygon, Rect,
};
use serde_json::Value;
use stac_indexed_format::IndexConfig;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// The repository's sample catalog (canonical path, no `..`).
pub fn sample_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../sample-data")
        .canonicalize()
        .unwrap()
}

/// One item of the sample catalog, as its JSON file says.
#[derive(Clone, Debug)]
pub struct SampleItem {
    /// Its `id`.
    pub id: String,
    /// Its `collection`.
    pub collection: String,
    /// Its JSON file.
    pub path: PathBuf,
    /// Its JSON, whole.
    pub json: Value,
    /// Its geometry, read by [`to_geo`].
    pub geometry: Geometry<f64>,
    /// Its `datetime`, if not null.
    pub datetime: Option<DateTime<Utc>>,
    /// Its `start_datetime`, if any.
    pub start: Option<DateTime<Utc>>,
    /// Its `end_datetime`, if any.
    pub end: Option<DateTime<Utc>>,
}

/// Every file under `dir`, at any depth, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// A JSON file, parsed.
pub fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Every item JSON under `sample-data/**/items/*.json`.
pub fn sample_items() -> Vec<SampleItem> {
    let time = |properties: &Value, key: &str| {
        properties[key]
            .as_str()
            .map(|t| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc))
    };
    let items: Vec<SampleItem> = files_under(&sample_data())
        .into_iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("items")) && p.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let json = read_json(&path);
            let properties = &json["properties"];
            SampleItem {
                id: json["id"].as_str().unwrap().to_string(),
                collection: json["collection"].as_str().unwrap().to_string(),
                geometry: to_geo(&json["geometry"]),
                datetime: time(properties, "datetime"),
                start: time(properties, "start_datetime"),
                end: time(properties, "end_datetime"),
                path,
                json,
            }
        })
        .collect();
    assert_eq!(items.len(), 50, "the sample catalog has 50 items");
    items
}

/// The sample item with this id.
pub fn sample_item(id: &str) -> SampleItem {
    sample_items().into_iter().find(|i| i.id == id).unwrap()
}

/// A GeoJSON position as a coordinate.
pub fn coord(value: &Value) -> Coord<f64> {
    let xy = value.as_array().unwrap();
    Coord {
        x: xy[0].as_f64().unwrap(),
        y: xy[1].as_f64().unwrap(),
    }
}

/// GeoJSON positions as a line.
pub fn line(value: &Value) -> LineString<f64> {
    LineString::new(value.as_array().unwrap().iter().map(coord).collect())
}

/// GeoJSON rings as a polygon.
pub fn polygon(value: &Value) -> Polygon<f64> {
    let mut rings = value.as_array().unwrap().iter().map(line);
    let exterior = rings.next().unwrap();
    Polygon::new(exterior, rings.collect())
}

/// A GeoJSON geometry as a `geo` geometry (written here, not the server's decoder).
pub fn to_geo(value: &Value) -> Geometry<f64> {
    let coordinates = &value["coordinates"];
    let list = |v: &Value| v.as_array().unwrap().clone();
    match value["type"].as_str().unwrap() {
        "Point" => Geometry::Point(Point(coord(coordinates))),
        "MultiPoint" => Geometry::MultiPoint(MultiPoint(list(coordinates).iter().map(|c| Point(coord(c))).collect())),
        "LineString" => Geometry::LineString(line(coordinates)),
        "MultiLineString" => Geometry::MultiLineString(MultiLineString(list(coordinates).iter().map(line).collect())),
        "Polygon" => Geometry::Polygon(polygon(coordinates)),
        "MultiPolygon" => Geometry::MultiPolygon(MultiPolygon(list(coordinates).iter().map(polygon).collect())),
        "GeometryCollection" => Geometry::GeometryCollection(GeometryCollection(
            list(&value["geometries"]).iter().map(to_geo).collect(),
        )),
        other => panic!("unexpected geometry type {other}"),
    }
}

/// A STAC bbox as rectangles, split at the antimeridian when west > east.
pub fn bbox_rects([west, south, east, north]: [f64; 4]) -> Vec<Rect<f64>> {
    let rect = |w: f64, e: f64| Rect::new(Coord { x: w, y: south }, Coord { x: e, y: north });
    if west <= east {
        vec![rect(west, east)]
    } else {
        vec![rect(west, 180.0), rect(-180.0, east)]
    }
}

/// Whether an item's geometry meets a STAC bbox.
pub fn in_bbox(item: &SampleItem, bbox: [f64; 4]) -> bool {
    bbox_rects(bbox)
        .iter()
        .any(|r| r.to_polygon().intersects(&item.geometry))
}

/// An RFC 3339 time, in UTC.
pub fn parse_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// Whether an item meets the interval by its datetime or its start/end range.
pub fn in_interval(item: &SampleItem, start: Option<&str>, end: Option<&str>) -> bool {
    let (start, end) = (start.map(parse_time), end.map(parse_time));
    let after_start = |t: DateTime<Utc>| start.is_none_or(|s| t >= s);
    let before_end = |t: DateTime<Utc>| end.is_none_or(|e| t <= e);
    let by_datetime = item.datetime.is_some_and(|t| after_start(t) && before_end(t));
    let by_range = match (item.start, item.end) {
        (Some(s), Some(e)) => before_end(s) && after_start(e),
        _ => false,
    };
    by_datetime || by_range
}

/// The ids of the sample items `filter` keeps: what a search should find.
pub fn expected(filter: impl Fn(&SampleItem) -> bool) -> BTreeSet<String> {
    sample_items()
        .iter()
        .filter(|i| filter(i))
        .map(|i| i.id.clone())
        .collect()
}

/// A set of ids.
pub fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// Every item JSON file of the sample catalog: (collection, id), sorted.
pub fn sample_item_ids() -> Vec<(String, String)> {
    let mut ids: Vec<(String, String)> = sample_items()
        .into_iter()
        .map(|item| (item.collection, item.id))
        .collect();
    ids.sort();
    ids
}

/// The sample catalog's index configuration.
pub fn sample_config() -> IndexConfig {
    IndexConfig::from_json(&std::fs::read_to_string(sample_data().join("index-config.json")).unwrap()).unwrap()
}

/// A copy of a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of the sample catalog in a fresh temporary directory.
pub fn sample_copy() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&sample_data(), dir.path());
    dir
}

/// Rewrites a JSON file atomically (a reader never sees a partial file).
pub fn edit_json_atomically(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut value = read_json(path);
    edit(&mut value);
    let partial = path.with_extension("json.partial");
    std::fs::write(&partial, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    std::fs::rename(&partial, path).unwrap();
}

/// The collections of the sample catalog, and one item of it.
pub const S2: &str = "sentinel-2-l2a";
/// Landsat Collection 2 Level-2.
pub const LANDSAT: &str = "landsat-c2-l2";
/// Sentinel-1 GRD.
pub const S1: &str = "sentinel-1-grd";
/// A Landsat scene over Fiji, near the antimeridian.
pub const FIJI: &str = "LC09_L2SP_074072_20240318";
