//! The engine against the reference: a generated catalog of 10k items with
//! NULLs, ties and boxes across the antimeridian, every search shape paged
//! forward and back through both the engine (row directory, typed columns,
//! sort permutations) and DuckDB alone; and many parallel searches with
//! cancellations, after which the pool still answers.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use stac_indexed_api::{ApiConfig, HttpOptions, IndexHandle};
use stac_indexed_format::IndexConfig;
use stac_indexed_io::Uri;
use stac_indexed_test_support::{index_catalog, io};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;
use tempfile::TempDir;
use tower::ServiceExt;

const ITEMS: usize = 10_000;
const PLATFORMS: [&str; 4] = ["p-0", "p-1", "p-2", "q-1"];

/// Writes a catalog of three collections; item `i` has a cloud cover of
/// `i % 23` (NULL every 7th), one of four platforms (NULL every 11th), one
/// of 400 datetimes, and every 50th crosses the antimeridian.
fn write_catalog(dir: &Path) {
    let write = |path: &Path, value: &Value| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, serde_json::to_vec(value).unwrap()).unwrap();
    };
    let collections = ["c0", "c1", "c2"];
    let links: Vec<Value> = collections
        .iter()
        .map(|c| json!({"rel": "child", "href": format!("./{c}/collection.json")}))
        .collect();
    write(
        &dir.join("catalog.json"),
        &json!({"type": "Catalog", "stac_version": "1.0.0", "id": "generated", "description": "test", "links": links}),
    );
    for (number, collection) in collections.iter().enumerate() {
        let ids: Vec<usize> = (0..ITEMS).filter(|i| i % 3 == number).collect();
        let mut links = vec![json!({"rel": "parent", "href": "../catalog.json"})];
        links.extend(
            ids.iter()
                .map(|i| json!({"rel": "item", "href": format!("./items/i{i:05}.json")})),
        );
        write(
            &dir.join(collection).join("collection.json"),
            &json!({"type": "Collection", "stac_version": "1.0.0", "id": collection, "description": "test",
                    "license": "CC0-1.0", "links": links,
                    "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                               "temporal": {"interval": [["2020-01-01T00:00:00Z", null]]}}}),
        );
        for i in ids {
            let x = (i % 340) as f64 - 170.0;
            let y = (i % 160) as f64 - 80.0;
            let (bbox, geometry) = if i % 50 == 0 {
                let ring = |w: f64, e: f64| json!([[[w, y], [e, y], [e, y + 1.0], [w, y + 1.0], [w, y]]]);
                (
                    json!([179.5, y, -179.5, y + 1.0]),
                    json!({"type": "MultiPolygon", "coordinates": [ring(179.5, 180.0), ring(-180.0, -179.5)]}),
                )
            } else {
                let ring = json!([[[x, y], [x + 0.5, y], [x + 0.5, y + 0.5], [x, y + 0.5], [x, y]]]);
                (
                    json!([x, y, x + 0.5, y + 0.5]),
                    json!({"type": "Polygon", "coordinates": ring}),
                )
            };
            let mut properties = json!({
                "datetime": format!("2021-{:02}-{:02}T00:00:00Z", 1 + (i / 28) % 12, 1 + i % 28),
                "gsd": ([10.0, 30.0])[i % 2],
            });
            if i % 7 != 0 {
                properties["eo:cloud_cover"] = json!(i % 23);
            }
            if i % 11 != 0 {
                properties["platform"] = json!(PLATFORMS[i % 4]);
            }
            write(
                &dir.join(collection).join(format!("items/i{i:05}.json")),
                &json!({"type": "Feature", "stac_version": "1.0.0", "id": format!("i{i:05}"),
                        "collection": collection, "bbox": bbox, "geometry": geometry,
                        "properties": properties, "links": [], "assets": {}}),
            );
        }
    }
}

fn config() -> IndexConfig {
    IndexConfig::from_json(
        r#"{"fields": [
            {"name": "eo:cloud_cover", "path": "properties.eo:cloud_cover", "type": "number", "sortable": true},
            {"name": "gsd", "path": "properties.gsd", "type": "number", "sortable": true},
            {"name": "platform", "path": "properties.platform", "type": "string", "sortable": true}
        ]}"#,
    )
    .unwrap()
}

/// Two apps over one index of the generated catalog: the engine's, and DuckDB's alone.
async fn engine_and_duckdb() -> (axum::Router, axum::Router, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    write_catalog(&dir.path().join("catalog"));
    let out = dir.path().join("index");
    index_catalog(&dir.path().join("catalog/catalog.json"), config(), &out).await;
    let manifest = Uri::from_path(&out.join("manifest.json")).unwrap();
    let mut apps = Vec::new();
    for row_directory in [true, false] {
        let config = ApiConfig {
            reload_interval: None,
            cache_dir: dir.path().join(format!("cache-{row_directory}")),
            row_directory,
            connections: 2,
            ..ApiConfig::default()
        };
        let handle = IndexHandle::open(manifest.clone(), io(), config.clone()).await.unwrap();
        if row_directory {
            handle.current().wait_for_directory().await;
        }
        apps.push(stac_indexed_api::app(handle, io(), config, &HttpOptions::default()));
    }
    let duckdb = apps.pop().unwrap();
    (apps.pop().unwrap(), duckdb, dir)
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn link(body: &Value, rel: &str) -> Option<String> {
    body["links"]
        .as_array()?
        .iter()
        .find(|l| l["rel"] == rel)
        .and_then(|l| l["href"].as_str())
        .map(|h| h.trim_start_matches("http://localhost").to_string())
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Every search shape the API accepts, over NULLs, ties and the antimeridian.
fn searches() -> Vec<String> {
    let index_only = "fields=id,collection,properties.eo:cloud_cover,properties.platform";
    let filters = [
        "\"eo:cloud_cover\" < 5",
        "\"eo:cloud_cover\" IS NULL",
        "NOT \"eo:cloud_cover\" < 10",
        "platform IN ('p-1', 'q-1') OR gsd > 20",
        "platform LIKE 'p-_' AND \"eo:cloud_cover\" BETWEEN 3 AND 9",
        "NOT (platform = 'p-2' OR platform IS NULL)",
        "platform >= 'p-2' AND datetime < TIMESTAMP('2021-04-01T00:00:00Z')",
        "datetime BETWEEN TIMESTAMP('2021-02-01T00:00:00Z') AND TIMESTAMP('2021-03-01T00:00:00Z')",
        "id LIKE 'i0%5' AND NOT gsd = 10",
        "\"eo:cloud_cover\" IN (1, 2, NULL)",
        "S_INTERSECTS(geometry, BBOX(-60, -30, 60, 30)) AND \"eo:cloud_cover\" < 12",
        "T_AFTER(datetime, TIMESTAMP('2021-11-15T00:00:00Z'))",
    ];
    let sorts = [
        "",
        "-eo:cloud_cover",
        "platform,-eo:cloud_cover",
        "-datetime,gsd,platform",
    ];
    let mut searches = Vec::new();
    for (i, filter) in filters.iter().enumerate() {
        let sortby = sorts[i % sorts.len()];
        searches.push(format!(
            "/search?limit=300&{index_only}&filter={}&sortby={}",
            encode(filter),
            encode(sortby)
        ));
    }
    for sortby in sorts {
        searches.push(format!("/search?limit=900&{index_only}&sortby={}", encode(sortby)));
        searches.push(format!(
            "/search?limit=40&bbox=170,-60,-170,60&{index_only}&sortby={}&filter={}",
            encode(sortby),
            encode("gsd = 10")
        ));
    }
    searches.extend([
        format!(
            "/search?limit=250&{index_only}&query={}",
            encode(r#"{"eo:cloud_cover":{"gte":20},"platform":{"startsWith":"p"}}"#)
        ),
        format!(
            "/search?limit=7&collections=c1&filter={}&sortby=-platform",
            encode("\"eo:cloud_cover\" > 18")
        ),
        format!(
            "/collections/c2/items?limit=120&{index_only}&filter={}&sortby=gsd,-datetime",
            encode("platform <> 'p-0'")
        ),
        format!(
            "/search?limit=5&ids=i00001,i00050,i00100,i09999,nope&filter={}",
            encode("gsd = 10")
        ),
        format!(
            "/search?limit=60&{index_only}&datetime=2021-03-01T00:00:00Z/2021-05-31T00:00:00Z&filter={}",
            encode("platform = 'q-1'")
        ),
    ]);
    searches
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_pages_every_search_shape_exactly_as_duckdb() {
    let (engine, duckdb, _dir) = engine_and_duckdb().await;
    for start in searches() {
        let mut uri = Some(start.clone());
        let mut seen = BTreeSet::new();
        let mut matched = None;
        while let Some(current) = uri.take() {
            let (status, body) = get(&engine, &current).await;
            assert_eq!(status, StatusCode::OK, "{current}: {body}");
            assert_eq!(
                (status, &body),
                (StatusCode::OK, &get(&duckdb, &current).await.1),
                "{current}"
            );
            if let Some(prev) = link(&body, "prev") {
                assert_eq!(get(&engine, &prev).await, get(&duckdb, &prev).await, "{prev}");
            }
            for feature in body["features"].as_array().unwrap() {
                assert!(
                    seen.insert(feature["id"].as_str().unwrap().to_string()),
                    "{start}: a repeat"
                );
            }
            matched = body["numberMatched"].as_u64();
            uri = link(&body, "next");
        }
        assert_eq!(
            Some(seen.len() as u64),
            matched,
            "{start}: pages hold numberMatched items"
        );
        assert!(!seen.is_empty(), "{start} matched nothing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_searches_with_cancellations_leave_a_working_pool() {
    let (engine, _duckdb, _dir) = engine_and_duckdb().await;
    let searches = searches();
    let mut tasks = Vec::new();
    for round in 0..8 {
        for (i, search) in searches.iter().enumerate() {
            let (app, uri) = (engine.clone(), search.clone());
            // Every other request is dropped almost at once (a client that disconnects).
            let patience = if (round + i) % 2 == 0 {
                Duration::from_micros(200)
            } else {
                Duration::from_secs(60)
            };
            tasks.push(tokio::spawn(async move {
                tokio::time::timeout(patience, get(&app, &uri)).await
            }));
        }
    }
    let mut answered = 0;
    for task in tasks {
        if let Ok((status, body)) = task.await.unwrap() {
            assert_eq!(status, StatusCode::OK, "{body}");
            answered += 1;
        }
    }
    assert!(answered >= searches.len() * 4, "only {answered} answered");
    for search in &searches {
        let (status, body) = get(&engine, search).await;
        assert_eq!(status, StatusCode::OK, "{search} after the cancellations: {body}");
    }
}
