//! What the end-to-end API tests share: the sample catalog read
//! independently of the code under test, an index of it, and the router.

#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use chrono::{DateTime, Utc};
use geo::{
    Coord, Geometry, GeometryCollection, Intersects, LineString, MultiLineString, MultiPoint, MultiPolygon, Point,
    Polygon, Rect,
};
use serde_json::Value;
use stac_indexed_api::{ApiConfig, HttpOptions, IndexHandle};
use stac_indexed_format::IndexConfig;
use stac_indexed_indexer::{IndexOptions, Progress, Source};
use stac_indexed_io::{Io, IoOptions, Uri};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tempfile::TempDir;
use tower::ServiceExt;

// ---------------------------------------------------------------------------
// The sample catalog, read independently of the code under test.
// ---------------------------------------------------------------------------

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
    pub id: String,
    pub collection: String,
    pub path: PathBuf,
    pub json: Value,
    pub geometry: Geometry<f64>,
    pub datetime: Option<DateTime<Utc>>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

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

pub fn sample_item(id: &str) -> SampleItem {
    sample_items().into_iter().find(|i| i.id == id).unwrap()
}

pub fn coord(value: &Value) -> Coord<f64> {
    let xy = value.as_array().unwrap();
    Coord {
        x: xy[0].as_f64().unwrap(),
        y: xy[1].as_f64().unwrap(),
    }
}

pub fn line(value: &Value) -> LineString<f64> {
    LineString::new(value.as_array().unwrap().iter().map(coord).collect())
}

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

pub fn in_bbox(item: &SampleItem, bbox: [f64; 4]) -> bool {
    bbox_rects(bbox)
        .iter()
        .any(|r| r.to_polygon().intersects(&item.geometry))
}

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

pub fn expected(filter: impl Fn(&SampleItem) -> bool) -> BTreeSet<String> {
    sample_items()
        .iter()
        .filter(|i| filter(i))
        .map(|i| i.id.clone())
        .collect()
}

pub fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------
// Building an index and the app.
// ---------------------------------------------------------------------------

pub fn io() -> Arc<Io> {
    Arc::new(Io::new(IoOptions::default()).unwrap())
}

pub fn sample_config() -> IndexConfig {
    IndexConfig::from_json(&std::fs::read_to_string(sample_data().join("index-config.json")).unwrap()).unwrap()
}

/// Indexes the catalog at `root` (a catalog.json) into `out`.
pub async fn index_catalog(root: &Path, config: IndexConfig, out: &Path) {
    let options = IndexOptions {
        source: Source::Root {
            uri: Uri::from_path(root).unwrap(),
            config,
        },
        out: Uri::from_path(out).unwrap(),
        concurrency: 16,
        strict: false,
        work_dir: None,
    };
    stac_indexed_indexer::index(options, io(), &Progress::default())
        .await
        .unwrap();
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

/// The router over one index, and what it needs to stay alive.
pub struct Api {
    pub app: Router,
    pub index_id: String,
    pub manifest: Value,
    pub _dirs: Vec<TempDir>,
}

impl Api {
    /// Indexes `catalog` (its catalog.json) and serves it with `config`.
    pub async fn new(catalog: &Path, index_config: IndexConfig, config: ApiConfig) -> Api {
        let out = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        index_catalog(&catalog.join("catalog.json"), index_config, out.path()).await;
        let manifest = read_json(&out.path().join("manifest.json"));
        let config = ApiConfig {
            reload_interval: None,
            cache_dir: cache.path().to_path_buf(),
            ..config
        };
        let handle = IndexHandle::open(
            Uri::from_path(&out.path().join("manifest.json")).unwrap(),
            io(),
            config.clone(),
        )
        .await
        .unwrap();
        if config.row_directory {
            handle.current().wait_for_directory().await;
        }
        let app = stac_indexed_api::app(handle, io(), config, &HttpOptions::default());
        Api {
            app,
            index_id: manifest["index_id"].as_str().unwrap().to_string(),
            manifest,
            _dirs: vec![out, cache],
        }
    }

    /// The sample catalog with the default settings.
    pub async fn sample() -> Api {
        Api::new(&sample_data(), sample_config(), ApiConfig::default()).await
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Reply { status, headers, body }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send(Request::get(uri).body(Body::empty()).unwrap()).await
    }

    pub async fn get_with(&self, uri: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = Request::get(uri);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    pub async fn post(&self, uri: &str, body: &Value) -> Reply {
        self.send(
            Request::post(uri)
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    /// GET /search with these parameters; asserts a 200 page.
    pub async fn search(&self, params: &[(&str, &str)]) -> Value {
        let reply = self.get(&with_query("/search", params)).await;
        reply.assert_page()
    }

    /// POST /search with this body; asserts a 200 page.
    pub async fn search_post(&self, body: Value) -> Value {
        self.post("/search", &body).await.assert_page()
    }
}

/// A response, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}), status {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or_default()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A 200 FeatureCollection page.
    pub fn assert_page(&self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text());
        assert_eq!(self.content_type(), "application/geo+json");
        let page = self.json();
        assert_eq!(page["type"], "FeatureCollection");
        page
    }

    /// A STAC error: `{"code", "description"}` with this status.
    pub fn assert_error(&self, status: StatusCode, code: &str) -> String {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(self.content_type(), "application/json");
        let body = self.json();
        let object = body.as_object().unwrap();
        assert_eq!(body["code"], code, "{body}");
        let description = body["description"].as_str().unwrap_or_else(|| {
            panic!("an error has a description: {body}");
        });
        assert!(!description.is_empty());
        assert!(object.keys().all(|k| k == "code" || k == "description"), "{body}");
        description.to_string()
    }
}

/// `path?k=v&…`, form-encoded.
pub fn with_query(path: &str, params: &[(&str, &str)]) -> String {
    if params.is_empty() {
        return path.to_string();
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("{path}?{query}")
}

/// The path and query of an absolute link href (to send it to the router).
pub fn local(href: &str) -> String {
    let url = url::Url::parse(href).unwrap();
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    }
}

pub fn ids(page: &Value) -> Vec<String> {
    page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

pub fn id_set(page: &Value) -> BTreeSet<String> {
    let ids = ids(page);
    let set: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(set.len(), ids.len(), "a page lists an item twice: {ids:?}");
    set
}

/// The page holds exactly `expected` (all on one page) and says so in its counts.
pub fn assert_matches(page: &Value, expected: &BTreeSet<String>, what: &str) {
    assert_eq!(&id_set(page), expected, "{what}");
    assert_eq!(page["numberMatched"], expected.len(), "{what}");
    assert_eq!(page["numberReturned"], expected.len(), "{what}");
}

pub fn link<'a>(document: &'a Value, rel: &str) -> Option<&'a Value> {
    document["links"].as_array().unwrap().iter().find(|l| l["rel"] == rel)
}

pub fn links<'a>(document: &'a Value, rel: &str) -> Vec<&'a Value> {
    document["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["rel"] == rel)
        .collect()
}

pub fn href<'a>(document: &'a Value, rel: &str) -> &'a str {
    link(document, rel).unwrap_or_else(|| panic!("no {rel} link in {}", document["links"]))["href"]
        .as_str()
        .unwrap()
}

pub fn query_of(href: &str) -> Vec<(String, String)> {
    url::Url::parse(href).unwrap().query_pairs().into_owned().collect()
}

pub const S2: &str = "sentinel-2-l2a";
pub const LANDSAT: &str = "landsat-c2-l2";
pub const S1: &str = "sentinel-1-grd";
pub const FIJI: &str = "LC09_L2SP_074072_20240318";

/// Follows `next` links from a GET page; returns every page.
pub async fn follow_get(api: &Api, first: &str) -> Vec<Value> {
    let mut pages = vec![api.get(first).await.assert_page()];
    while let Some(next) = link(pages.last().unwrap(), "next") {
        let next = local(next["href"].as_str().unwrap());
        pages.push(api.get(&next).await.assert_page());
        assert!(pages.len() <= 60, "paging does not end");
    }
    pages
}

/// Follows POST `next` links; returns every page.
pub async fn follow_post(api: &Api, body: Value) -> Vec<Value> {
    let mut pages = vec![api.search_post(body).await];
    while let Some(next) = link(pages.last().unwrap(), "next") {
        assert_eq!(next["method"], "POST", "{next}");
        let target = local(next["href"].as_str().unwrap());
        assert_eq!(target, "/search");
        let reply = api.post(&target, &next["body"]).await;
        pages.push(reply.assert_page());
        assert!(pages.len() <= 60, "paging does not end");
    }
    pages
}
