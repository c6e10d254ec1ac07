//! The STAC API through the real router, in-process.
//!
//! Every test indexes a catalog with the indexer library into a temporary
//! directory, opens it with [`IndexHandle`] and calls the router with
//! `tower::ServiceExt::oneshot`. Expected answers are computed independently,
//! from the sample catalog's JSON files themselves (ids, collections, exact
//! geometries with `geo`, datetimes and start/end ranges with `chrono`).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use geo::Intersects;
use serde_json::{Value, json};
use stac_indexed_api::paging::{Cursor, Direction, TokenCodec};
use stac_indexed_api::{ApiConfig, HttpOptions, IndexHandle};
use stac_indexed_format::IndexConfig;
use stac_indexed_io::Uri;
use stac_indexed_test_support::*;
use std::collections::{BTreeSet, HashSet};
use std::io::Read;
use tempfile::TempDir;
use tower::ServiceExt;

// ---------------------------------------------------------------------------
// Landing page, conformance, collections.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn landing_page_links_to_everything() {
    let api = Api::sample().await;
    let reply = api.get("/").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "application/json");
    let landing = reply.json();
    assert_eq!(landing["type"], "Catalog");
    assert_eq!(landing["id"], "stac-indexed-sample");
    assert_eq!(landing["title"], "stac-indexed sample catalog");
    assert!(landing["stac_version"].is_string());
    assert!(!landing["conformsTo"].as_array().unwrap().is_empty());

    assert_eq!(href(&landing, "self"), "http://localhost/");
    assert_eq!(href(&landing, "root"), "http://localhost/");
    assert_eq!(href(&landing, "conformance"), "http://localhost/conformance");
    let desc = link(&landing, "service-desc").unwrap();
    assert_eq!(desc["href"], "http://localhost/api");
    assert_eq!(desc["type"], "application/vnd.oai.openapi+json;version=3.0");
    let doc = link(&landing, "service-doc").unwrap();
    assert_eq!(doc["href"], "http://localhost/api.html");
    assert_eq!(doc["type"], "text/html");
    assert_eq!(href(&landing, "data"), "http://localhost/collections");
    for (rel, path) in [("queryables", "queryables"), ("sortables", "sortables")] {
        let l = link(&landing, &format!("http://www.opengis.net/def/rel/ogc/1.0/{rel}")).unwrap();
        assert_eq!(l["href"], format!("http://localhost/{path}"));
        assert_eq!(l["type"], "application/schema+json");
    }
    let search: Vec<(&str, &str)> = links(&landing, "search")
        .iter()
        .map(|l| (l["method"].as_str().unwrap(), l["href"].as_str().unwrap()))
        .collect();
    assert_eq!(
        search,
        vec![("GET", "http://localhost/search"), ("POST", "http://localhost/search")]
    );
    for l in links(&landing, "search") {
        assert_eq!(l["type"], "application/geo+json");
    }

    // One child per child of the root catalog, in its order, titled as the
    // documents say.
    let expected_children: Vec<(String, String)> = [
        ("catalogs", "optical/catalog.json"),
        ("collections", "radar/collection.json"),
    ]
    .iter()
    .map(|(kind, p)| {
        let c = read_json(&sample_data().join(p));
        (
            format!("http://localhost/{kind}/{}", c["id"].as_str().unwrap()),
            c["title"].as_str().unwrap().to_string(),
        )
    })
    .collect();
    let children: Vec<(String, String)> = links(&landing, "child")
        .iter()
        .map(|l| {
            (
                l["href"].as_str().unwrap().to_string(),
                l["title"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(children, expected_children);
    // Every link href is absolute.
    for l in landing["links"].as_array().unwrap() {
        assert!(l["href"].as_str().unwrap().starts_with("http://localhost/"), "{l}");
    }
}

#[tokio::test]
async fn conformance_lists_exactly_the_implemented_classes() {
    let api = Api::sample().await;
    let reply = api.get("/conformance").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "application/json");
    let classes: BTreeSet<String> = reply.json()["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        classes,
        set(&[
            "https://api.stacspec.org/v1.0.0/core",
            "https://api.stacspec.org/v1.0.0/collections",
            "https://api.stacspec.org/v1.0.0-rc.1/collection-search",
            "https://api.stacspec.org/v1.0.0-rc.1/collection-search#free-text",
            "https://api.stacspec.org/v1.0.0-rc.1/collection-search#filter",
            "https://api.stacspec.org/v1.0.0-rc.1/collection-search#sort",
            "https://api.stacspec.org/v1.0.0-rc.1/collection-search#fields",
            "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/simple-query",
            "https://api.stacspec.org/v1.0.0/ogcapi-features",
            "https://api.stacspec.org/v1.0.0/item-search",
            "https://api.stacspec.org/v1.0.0/item-search#sort",
            "https://api.stacspec.org/v1.0.0/ogcapi-features#sort",
            "https://api.stacspec.org/v1.0.0/item-search#fields",
            "https://api.stacspec.org/v1.0.0/ogcapi-features#fields",
            "https://api.stacspec.org/v1.0.0/item-search#filter",
            "https://api.stacspec.org/v1.0.0/item-search#query",
            "https://api.stacspec.org/v1.0.0/ogcapi-features#query",
            "https://api.stacspec.org/v1.0.0-rc.1/item-search#advanced-free-text",
            "https://api.stacspec.org/v1.0.0-rc.1/ogcapi-features#advanced-free-text",
            "https://api.stacspec.org/v0.3.0/aggregation",
            "https://api.stacspec.org/v0.3.0/aggregation#filter",
            "https://api.stacspec.org/v0.3.0/aggregation#query",
            "https://api.stacspec.org/v1.0.0/children",
            "https://api.stacspec.org/v1.0.0/browseable",
            "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
            "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
            "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
            "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
            "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
            "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
            "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
            "http://www.opengis.net/spec/cql2/1.0/conf/accent-insensitive-comparison",
            "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
            "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
            "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
            "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
            "http://www.opengis.net/spec/cql2/1.0/conf/array-functions",
            "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
            "http://www.opengis.net/spec/cql2/1.0/conf/arithmetic",
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
        ])
    );
    let landing = api.get("/").await.json();
    let on_landing: BTreeSet<String> = landing["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(on_landing, classes);
}

/// A collection's API links; `item_links`: how many `item` links it has.
fn check_collection_links(collection: &Value, item_links: usize) {
    let id = collection["id"].as_str().unwrap();
    assert_eq!(href(collection, "self"), format!("http://localhost/collections/{id}"));
    assert_eq!(href(collection, "root"), "http://localhost/");
    let parent = if id == S1 {
        "http://localhost/"
    } else {
        "http://localhost/catalogs/optical"
    };
    assert_eq!(href(collection, "parent"), parent, "its parent in the catalog tree");
    let items = link(collection, "items").unwrap();
    assert_eq!(items["href"], format!("http://localhost/collections/{id}/items"));
    assert_eq!(items["type"], "application/geo+json");
    assert_eq!(links(collection, "item").len(), item_links, "{collection}");
    assert!(link(collection, "child").is_none(), "{collection}");
    for rel in ["self", "root", "parent", "items"] {
        assert_eq!(links(collection, rel).len(), 1, "{rel}: {collection}");
    }
}

#[tokio::test]
async fn collections_are_listed_and_linked() {
    let api = Api::sample().await;
    let reply = api.get("/collections").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "application/json");
    let body = reply.json();
    let collections = body["collections"].as_array().unwrap();
    let ids: BTreeSet<String> = collections
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, set(&[S2, LANDSAT, S1]));
    assert_eq!(href(&body, "self"), "http://localhost/collections");
    assert_eq!(href(&body, "root"), "http://localhost/");
    for collection in collections {
        assert_eq!(collection["type"], "Collection");
        check_collection_links(collection, 0);
    }

    // One collection: the same document as the source, with API links.
    let source = read_json(&sample_data().join("radar/collection.json"));
    let reply = api.get(&format!("/collections/{S1}")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "application/json");
    let collection = reply.json();
    check_collection_links(&collection, links(&source, "item").len());
    for key in ["id", "title", "description", "extent", "license", "summaries"] {
        assert_eq!(collection[key], source[key], "{key}");
    }
}

#[tokio::test]
async fn an_unknown_collection_is_a_404() {
    let api = Api::sample().await;
    let description = api
        .get("/collections/no-such-collection")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NotFound");
    assert!(description.contains("no-such-collection"), "{description}");
}

// ---------------------------------------------------------------------------
// /collections/{id}/items and /collections/{id}/items/{itemId}.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn collection_items_hold_only_that_collection() {
    let api = Api::sample().await;
    for collection in [S2, LANDSAT, S1] {
        let reply = api.get(&format!("/collections/{collection}/items?limit=100")).await;
        let page = reply.assert_page();
        assert_matches(&page, &expected(|i| i.collection == collection), collection);
        for feature in page["features"].as_array().unwrap() {
            assert_eq!(feature["collection"], collection);
        }
        assert!(link(&page, "next").is_none());
    }
}

#[tokio::test]
async fn collection_items_take_bbox_and_datetime() {
    let api = Api::sample().await;
    let bbox = [20.0, 20.0, 21.0, 21.0];
    let page = api
        .get(&format!("/collections/{S2}/items?bbox=20,20,21,21&limit=100"))
        .await
        .assert_page();
    let want = expected(|i| i.collection == S2 && in_bbox(i, bbox));
    assert_eq!(want.len(), 4, "the README's four sentinel-2 items");
    assert_matches(&page, &want, "bbox on items");

    // REFERENCE: any datetime on /collections/{id}/items returned 400.
    for (datetime, start, end) in [
        (
            "2024-02-01T00:00:00Z/2024-03-31T23:59:59Z",
            Some("2024-02-01T00:00:00Z"),
            Some("2024-03-31T23:59:59Z"),
        ),
        (
            "2024-02-18T12:00:00Z",
            Some("2024-02-18T12:00:00Z"),
            Some("2024-02-18T12:00:00Z"),
        ),
        ("../2024-02-01T00:00:00Z", None, Some("2024-02-01T00:00:00Z")),
    ] {
        let reply = api
            .get(&with_query(
                &format!("/collections/{S2}/items"),
                &[("datetime", datetime), ("limit", "100")],
            ))
            .await;
        let page = reply.assert_page();
        let want = expected(|i| i.collection == S2 && in_interval(i, start, end));
        assert!(!want.is_empty(), "{datetime}");
        assert_matches(&page, &want, datetime);
    }
    // The instant inside a start/end range finds the range-only item.
    let page = api
        .get(&format!("/collections/{S2}/items?datetime=2024-02-18T12:00:00Z"))
        .await
        .assert_page();
    assert!(id_set(&page).contains("S2B_MSIL2A_20240219T101859_T32TQR"));

    // Invalid parameters are 400s there too.
    api.get(&format!("/collections/{S2}/items?bbox=1,2,3"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    api.get(&format!("/collections/{S2}/items?datetime=yesterday"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
}

#[tokio::test]
async fn items_of_an_unknown_collection_is_a_404_not_an_empty_page() {
    let api = Api::sample().await;
    let description = api
        .get("/collections/nope/items")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NotFound");
    assert!(description.contains("nope"), "{description}");
    api.get("/collections/nope/items/LC08_L2SP_194027_20240120")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NotFound");
}

#[tokio::test]
async fn collection_items_links_point_to_the_items_endpoint() {
    let api = Api::sample().await;
    let page = api
        .get(&format!("/collections/{LANDSAT}/items?limit=5"))
        .await
        .assert_page();
    let self_href = href(&page, "self");
    let url = url::Url::parse(self_href).unwrap();
    assert_eq!(url.path(), format!("/collections/{LANDSAT}/items"));
    assert!(!self_href.contains("/search"));
    assert_eq!(query_of(self_href), vec![("limit".into(), "5".into())]);
    let next = href(&page, "next");
    assert_eq!(
        url::Url::parse(next).unwrap().path(),
        format!("/collections/{LANDSAT}/items")
    );
    assert_eq!(href(&page, "root"), "http://localhost/");
    assert_eq!(page["numberMatched"], 16);
    assert_eq!(page["numberReturned"], 5);
}

/// The ids of pages in order; asserts that no id repeats.
fn all_ids(pages: &[Value]) -> Vec<String> {
    let ids: Vec<String> = pages.iter().flat_map(ids).collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an item is on two pages: {ids:?}");
    ids
}

#[tokio::test]
async fn collection_items_page_through_every_item_once() {
    let api = Api::sample().await;
    for collection in [S2, LANDSAT, S1] {
        let pages = follow_get(&api, &format!("/collections/{collection}/items?limit=5")).await;
        let want = expected(|i| i.collection == collection);
        assert_eq!(pages.len(), want.len().div_ceil(5), "{collection}");
        let ids = all_ids(&pages);
        assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), want);
        for page in &pages[..pages.len() - 1] {
            assert_eq!(page["numberReturned"], 5);
            assert_eq!(page["numberMatched"], want.len());
        }
    }
}

#[tokio::test]
async fn an_item_is_served_with_api_links_and_absolute_asset_hrefs() {
    let api = Api::sample().await;
    let source = sample_item(FIJI);
    let reply = api.get(&format!("/collections/{LANDSAT}/items/{FIJI}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.content_type(), "application/geo+json");
    let item = reply.json();
    assert_eq!(item["type"], "Feature");
    assert_eq!(item["id"], FIJI);
    for key in ["geometry", "bbox", "properties", "collection", "stac_version"] {
        assert_eq!(item[key], source.json[key], "{key}");
    }
    assert_eq!(
        href(&item, "self"),
        format!("http://localhost/collections/{LANDSAT}/items/{FIJI}")
    );
    let collection_url = format!("http://localhost/collections/{LANDSAT}");
    assert_eq!(href(&item, "parent"), collection_url);
    assert_eq!(href(&item, "collection"), collection_url);
    assert_eq!(href(&item, "root"), "http://localhost/");
    for rel in ["self", "parent", "collection", "root"] {
        assert_eq!(links(&item, rel).len(), 1, "{rel}");
    }

    // Relative asset hrefs become absolute, resolved against the item's file.
    let base = url::Url::from_file_path(&source.path).unwrap();
    let thumbnail = source.json["assets"]["thumbnail"]["href"].as_str().unwrap();
    assert!(thumbnail.starts_with("./"), "the sample asset is relative");
    assert_eq!(
        item["assets"]["thumbnail"]["href"],
        base.join(thumbnail).unwrap().as_str()
    );
    assert_eq!(
        item["assets"]["visual"]["href"],
        source.json["assets"]["visual"]["href"]
    );
    for asset in item["assets"].as_object().unwrap().values() {
        let href = asset["href"].as_str().unwrap();
        assert!(url::Url::parse(href).is_ok(), "absolute: {href}");
    }
}

#[tokio::test]
async fn every_sample_item_is_served_by_id() {
    let api = Api::sample().await;
    for source in sample_items() {
        let reply = api
            .get(&format!("/collections/{}/items/{}", source.collection, source.id))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", source.id);
        let item = reply.json();
        assert_eq!(item["id"], source.id.as_str());
        assert_eq!(item["properties"], source.json["properties"]);
        for asset in item["assets"].as_object().unwrap().values() {
            let href = asset["href"].as_str().unwrap();
            assert!(
                !href.starts_with('.') && url::Url::parse(href).is_ok(),
                "{}: {href}",
                source.id
            );
        }
    }
}

#[tokio::test]
async fn an_unknown_item_is_a_404_naming_it() {
    let api = Api::sample().await;
    let description = api
        .get(&format!("/collections/{LANDSAT}/items/NO_SUCH_ITEM"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "NotFound");
    assert!(description.contains("NO_SUCH_ITEM"), "{description}");
    // An item of another collection is not in this one.
    api.get(&format!("/collections/{S1}/items/{FIJI}"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "NotFound");
}

// ---------------------------------------------------------------------------
// Item search.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn search_by_ids_get_and_post() {
    let api = Api::sample().await;
    let want = set(&[FIJI, "S1A_IW_GRDH_20240103T053012", "LC08_L2SP_194027_20240120"]);
    let joined = want.iter().cloned().collect::<Vec<_>>().join(",");
    let page = api.search(&[("ids", &joined)]).await;
    assert_matches(&page, &want, "GET ids");
    let page = api.search_post(json!({"ids": want.iter().collect::<Vec<_>>()})).await;
    assert_matches(&page, &want, "POST ids");
    // Unknown ids match nothing.
    let page = api.search(&[("ids", "nope,nada")]).await;
    assert_matches(&page, &BTreeSet::new(), "unknown ids");
    // ids and collections together.
    let page = api.search(&[("ids", &joined), ("collections", LANDSAT)]).await;
    assert_matches(&page, &set(&[FIJI, "LC08_L2SP_194027_20240120"]), "ids+collections");
}

#[tokio::test]
async fn search_by_collections_get_and_post() {
    let api = Api::sample().await;
    let want = expected(|i| i.collection == S1 || i.collection == LANDSAT);
    let page = api
        .search(&[("collections", &format!("{S1},{LANDSAT}")), ("limit", "100")])
        .await;
    assert_matches(&page, &want, "GET collections");
    let page = api
        .search_post(json!({"collections": [S1, LANDSAT], "limit": 100}))
        .await;
    assert_matches(&page, &want, "POST collections");
    let page = api.search(&[("collections", "nope")]).await;
    assert_matches(&page, &BTreeSet::new(), "unknown collection");
    // Items without a configured property (eo:cloud_cover) are still there.
    let all = api.search(&[("limit", "100")]).await;
    let all = id_set(&all);
    assert_eq!(all, expected(|_| true));
    assert!(all.contains("S2B_MSIL2A_20240328T101609_T32TQS"));
    assert!(all.contains("LC08_L2SP_193028_20240301"));
}

#[tokio::test]
async fn search_by_bbox_with_4_or_6_numbers() {
    let api = Api::sample().await;
    let cases: [[f64; 4]; 5] = [
        [20.0, 20.0, 21.0, 21.0],
        [10.0, 45.0, 11.0, 46.0],
        [8.5, 47.3, 8.6, 47.4],
        [-10.0, -10.0, 10.0, 10.0],
        [-180.0, -90.0, 180.0, 90.0],
    ];
    for bbox in cases {
        let want = expected(|i| in_bbox(i, bbox));
        let text = bbox.map(|v| v.to_string()).join(",");
        let page = api.search(&[("bbox", &text), ("limit", "100")]).await;
        assert_matches(&page, &want, &format!("GET bbox {text}"));
        let page = api.search_post(json!({"bbox": bbox, "limit": 100})).await;
        assert_matches(&page, &want, &format!("POST bbox {text}"));
        // REFERENCE: 6 numbers returned 500.
        let [w, s, e, n] = bbox;
        let six = format!("{w},{s},-100,{e},{n},5000");
        let page = api.search(&[("bbox", &six), ("limit", "100")]).await;
        assert_matches(&page, &want, &format!("GET bbox {six}"));
        let page = api
            .search_post(json!({"bbox": [w, s, -100, e, n, 5000], "limit": 100}))
            .await;
        assert_matches(&page, &want, &format!("POST bbox {six}"));
    }
    // The README's box: five items, one of them a Landsat item.
    let want = expected(|i| in_bbox(i, [20.0, 20.0, 21.0, 21.0]));
    assert_eq!(want.len(), 5);
    assert!(want.contains("LC09_L2SP_181045_20240213"));
    // Zürich's point item is found by a small box around it.
    let page = api.search(&[("bbox", "8.5,47.3,8.6,47.4")]).await;
    assert!(id_set(&page).contains("LC08_L2SP_194027_20240120"));
}

#[tokio::test]
async fn invalid_bboxes_are_400s() {
    let api = Api::sample().await;
    for bad in [
        "1,2,3",
        "1,2,3,4,5",
        "1,2,3,4,5,6,7",
        "a,b,c,d",
        "1,2,x,4",
        "1,50,2,40",
        "",
        "0,0,1,NaN",
        "-200,0,0,1",
    ] {
        api.get(&with_query("/search", &[("bbox", bad)]))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
    for bad in [
        json!([1, 2, 3]),
        json!([1, 2, 3, 4, 5]),
        json!(["a", "b", "c", "d"]),
        json!([1, 50, 2, 40]),
        json!("1,2,3,4"),
    ] {
        api.post("/search", &json!({"bbox": bad}))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
}

/// Query geometries of every GeoJSON type.
fn query_geometries() -> Vec<Value> {
    vec![
        // Zürich's point item, exactly.
        json!({"type": "Point", "coordinates": [8.5417, 47.3769]}),
        json!({"type": "Point", "coordinates": [20.5, 20.5]}),
        json!({"type": "MultiPoint", "coordinates": [[20.5, 20.5], [31.0, -1.0], [0.0, 0.0]]}),
        json!({"type": "LineString", "coordinates": [[10.0, 45.0], [12.0, 47.0]]}),
        json!({"type": "MultiLineString", "coordinates": [
            [[30.0, -2.0], [32.0, 0.0]], [[5.0, 46.0], [7.0, 46.0]]
        ]}),
        json!({"type": "Polygon", "coordinates": [[[20, 20], [21, 20], [21, 21], [20, 21], [20, 20]]]}),
        // A triangle whose bbox covers items its area does not.
        json!({"type": "Polygon", "coordinates": [[[8, 45], [13, 45], [8, 48], [8, 45]]]}),
        json!({"type": "MultiPolygon", "coordinates": [
            [[[10, 45], [11, 45], [11, 46], [10, 46], [10, 45]]],
            [[[179, -18], [180, -18], [180, -16], [179, -16], [179, -18]]]
        ]}),
        json!({"type": "GeometryCollection", "geometries": [
            {"type": "Point", "coordinates": [31.0, -1.0]},
            {"type": "LineString", "coordinates": [[8.0, 47.0], [9.0, 47.5]]},
            {"type": "Polygon", "coordinates": [[[30.5, 30.5], [31.5, 30.5], [31.5, 31.0], [30.5, 30.5]]]}
        ]}),
        // A point between the two parts of the Lake Como MultiPolygon's bbox.
        json!({"type": "Point", "coordinates": [9.9, 46.05]}),
        // Far from everything.
        json!({"type": "Point", "coordinates": [-120.0, 40.0]}),
    ]
}

#[tokio::test]
async fn search_by_intersects_with_every_geometry_type() {
    let api = Api::sample().await;
    let mut types_seen = BTreeSet::new();
    let mut nonempty = 0;
    for geometry in query_geometries() {
        types_seen.insert(geometry["type"].as_str().unwrap().to_string());
        let shape = to_geo(&geometry);
        let want = expected(|i| shape.intersects(&i.geometry));
        if !want.is_empty() {
            nonempty += 1;
        }
        let page = api.search_post(json!({"intersects": geometry, "limit": 100})).await;
        assert_matches(&page, &want, &format!("POST intersects {geometry}"));
        let page = api
            .search(&[("intersects", &geometry.to_string()), ("limit", "100")])
            .await;
        assert_matches(&page, &want, &format!("GET intersects {geometry}"));
    }
    assert_eq!(types_seen.len(), 7);
    assert!(nonempty >= 8, "the cases are meaningful");
    // Exactness: the triangle's bbox holds items that the triangle does not.
    let triangle = &query_geometries()[6];
    let shape = to_geo(triangle);
    let by_bbox = expected(|i| in_bbox(i, [8.0, 45.0, 13.0, 48.0]));
    let exact = expected(|i| shape.intersects(&i.geometry));
    assert!(exact.len() < by_bbox.len(), "{exact:?} vs {by_bbox:?}");
}

#[tokio::test]
async fn invalid_intersects_are_400s() {
    let api = Api::sample().await;
    for bad in [
        "{not json",
        r#"{"type":"Point"}"#,
        r#"{"type":"Point","coordinates":"x"}"#,
        r#"{"type":"Circle","coordinates":[1,2]}"#,
        r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{}}"#,
        "42",
    ] {
        api.get(&with_query("/search", &[("intersects", bad)]))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
    for bad in [
        json!({"type": "Point"}),
        json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}),
        json!("POINT(1 2)"),
    ] {
        api.post("/search", &json!({"intersects": bad}))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
    // An invalid JSON body.
    api.send(
        Request::post("/search")
            .header("content-type", "application/json")
            .body(Body::from("{nope"))
            .unwrap(),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    api.post("/search", &json!([1, 2]))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
}

#[tokio::test]
async fn bbox_and_intersects_together_are_a_400() {
    let api = Api::sample().await;
    let point = r#"{"type":"Point","coordinates":[1,2]}"#;
    api.get(&with_query("/search", &[("bbox", "0,0,3,3"), ("intersects", point)]))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    api.post(
        "/search",
        &json!({"bbox": [0, 0, 3, 3], "intersects": {"type": "Point", "coordinates": [1, 2]}}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
}

#[tokio::test]
async fn search_by_datetime_instants_and_intervals() {
    let api = Api::sample().await;
    // (parameter, start, end) — `None` is an open end.
    let cases: Vec<(&str, Option<&str>, Option<&str>)> = vec![
        (
            "2024-01-20T10:13:18Z",
            Some("2024-01-20T10:13:18Z"),
            Some("2024-01-20T10:13:18Z"),
        ),
        // Inside only start/end ranges.
        (
            "2024-02-18T12:00:00Z",
            Some("2024-02-18T12:00:00Z"),
            Some("2024-02-18T12:00:00Z"),
        ),
        (
            "2024-03-21T00:00:00Z",
            Some("2024-03-21T00:00:00Z"),
            Some("2024-03-21T00:00:00Z"),
        ),
        (
            "2024-02-01T00:00:00Z/2024-02-29T23:59:59Z",
            Some("2024-02-01T00:00:00Z"),
            Some("2024-02-29T23:59:59Z"),
        ),
        // A range-only item overlapping the interval's end.
        (
            "2024-01-01T00:00:00Z/2024-02-04T00:00:00Z",
            Some("2024-01-01T00:00:00Z"),
            Some("2024-02-04T00:00:00Z"),
        ),
        // An offset is honoured.
        (
            "2024-05-05T12:00:00+02:00/2024-05-12T00:00:00+02:00",
            Some("2024-05-05T10:00:00Z"),
            Some("2024-05-11T22:00:00Z"),
        ),
        ("../2024-01-15T00:00:00Z", None, Some("2024-01-15T00:00:00Z")),
        ("2024-06-01T00:00:00Z/..", Some("2024-06-01T00:00:00Z"), None),
        ("2024-06-01T00:00:00Z/", Some("2024-06-01T00:00:00Z"), None),
        ("/2024-01-15T00:00:00Z", None, Some("2024-01-15T00:00:00Z")),
        ("2025-01-01T00:00:00Z/..", Some("2025-01-01T00:00:00Z"), None),
    ];
    for (datetime, start, end) in &cases {
        let want = expected(|i| in_interval(i, *start, *end));
        let page = api.search(&[("datetime", datetime), ("limit", "100")]).await;
        assert_matches(&page, &want, &format!("GET datetime {datetime}"));
        let page = api.search_post(json!({"datetime": datetime, "limit": 100})).await;
        assert_matches(&page, &want, &format!("POST datetime {datetime}"));
    }
    // The cases reach the items that only have a start/end range.
    let range_only = [
        "S2B_MSIL2A_20240219T101859_T32TQR",
        "S2A_MSIL2A_20240322T101549_T32TPR",
        "LC08_L2SP_193029_20240205",
        "LC08_L2SP_193029_20240503",
    ];
    for id in range_only {
        let item = sample_item(id);
        assert!(item.datetime.is_none() && item.start.is_some());
        assert!(
            cases.iter().take(6).any(|(_, s, e)| in_interval(&item, *s, *e)),
            "{id} is reached by a bounded case"
        );
    }
    let page = api.search(&[("datetime", "2024-02-18T12:00:00Z")]).await;
    assert_eq!(
        id_set(&page),
        set(&["S2B_MSIL2A_20240219T101859_T32TQR"]),
        "only the range item covers that instant"
    );
}

#[tokio::test]
async fn invalid_datetimes_are_400s() {
    let api = Api::sample().await;
    for bad in [
        "yesterday",
        "2024-02-01T00:00:00Z/2024-01-01T00:00:00Z",
        "../..",
        "/",
        "",
        "2024-13-01T00:00:00Z",
        "2024-01-01T00:00:00Z/2024-01-02T00:00:00Z/2024-01-03T00:00:00Z",
    ] {
        api.get(&with_query("/search", &[("datetime", bad)]))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
    for bad in [
        json!("nope"),
        json!(42),
        json!("2024-02-01T00:00:00Z/2024-01-01T00:00:00Z"),
    ] {
        api.post("/search", &json!({"datetime": bad}))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
}

#[tokio::test]
async fn limits_default_clamp_and_refuse() {
    let api = Api::sample().await;
    let page = api.search(&[]).await;
    assert_eq!(page["numberReturned"], 10);
    assert_eq!(page["numberMatched"], 50);
    assert_eq!(ids(&page).len(), 10);
    assert!(link(&page, "next").is_some());
    assert!(link(&page, "prev").is_none());

    let page = api.search(&[("limit", "20000")]).await;
    assert_matches(&page, &expected(|_| true), "limit=20000");
    assert!(link(&page, "next").is_none());
    let page = api.search_post(json!({"limit": 20000})).await;
    assert_eq!(page["numberReturned"], 50);
    assert!(link(&page, "next").is_none());

    let page = api.search(&[("limit", "3")]).await;
    assert_eq!(ids(&page).len(), 3);
    assert_eq!(page["numberReturned"], 3);
    assert_eq!(page["numberMatched"], 50);

    for bad in ["0", "-1", "1.5", "abc", ""] {
        api.get(&with_query("/search", &[("limit", bad)]))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
        api.get(&with_query(&format!("/collections/{S2}/items"), &[("limit", bad)]))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
    for bad in [json!(0), json!(-1), json!(1.5), json!("5"), json!("abc")] {
        api.post("/search", &json!({"limit": bad}))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
}

#[tokio::test]
async fn unknown_parameters_are_ignored() {
    let api = Api::sample().await;
    let page = api.search(&[("foo", "bar"), ("limit", "5"), ("x-y", "")]).await;
    assert_eq!(page["numberReturned"], 5);
    assert_eq!(page["numberMatched"], 50);
    let page = api.search_post(json!({"foo": {"bar": 1}, "limit": 5})).await;
    assert_eq!(page["numberReturned"], 5);
    let page = api.get(&format!("/collections/{S1}/items?foo=bar")).await.assert_page();
    assert_eq!(page["numberMatched"], 10);
    // An empty POST body is the empty search.
    let reply = api.send(Request::post("/search").body(Body::empty()).unwrap()).await;
    assert_eq!(reply.assert_page()["numberMatched"], 50);
}

#[tokio::test]
async fn extension_parameters_take_effect_never_ignored() {
    // REFERENCE: fields, query and q were silently ignored (full, unfiltered results).
    let api = Api::sample().await;
    let cloudy = expected(|i| {
        i.json["properties"]["eo:cloud_cover"]
            .as_f64()
            .is_some_and(|c| c < 10.0)
    });
    assert!(!cloudy.is_empty() && cloudy.len() < 50);
    let snowy = expected(|i| {
        let p = &i.json["properties"];
        let text = format!("{} {}", p["title"], p["description"]).to_lowercase();
        text.contains("snow") || p["keywords"].to_string().to_lowercase().contains("snow")
    });
    assert!(!snowy.is_empty() && snowy.len() < 50);
    for (name, value, expected) in [
        ("filter", "\"eo:cloud_cover\" < 10", &cloudy),
        ("query", r#"{"eo:cloud_cover": {"lt": 10}}"#, &cloudy),
        ("q", "snow", &snowy),
    ] {
        let page = api.search(&[(name, value), ("limit", "100")]).await;
        assert_matches(&page, expected, name);
    }
    let page = api.search(&[("fields", "id,-bbox"), ("limit", "100")]).await;
    for feature in page["features"].as_array().unwrap() {
        let keys: BTreeSet<&str> = feature.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["collection", "id", "type"].into_iter().collect(), "{feature}");
    }
}

#[tokio::test]
async fn the_antimeridian_bbox_is_a_thin_band() {
    let api = Api::sample().await;
    let page = api.search(&[("bbox", "179,-17,-179,-16"), ("limit", "100")]).await;
    assert_matches(&page, &set(&[FIJI]), "bbox across the antimeridian");
    assert_eq!(expected(|i| in_bbox(i, [179.0, -17.0, -179.0, -16.0])), set(&[FIJI]));
    let page = api
        .search_post(json!({"bbox": [179, -17, -179, -16], "limit": 100}))
        .await;
    assert_matches(&page, &set(&[FIJI]), "POST bbox across the antimeridian");
    // Either half alone finds it too.
    for half in ["179,-17,180,-16", "-180,-17,-179,-16"] {
        let page = api.search(&[("bbox", half)]).await;
        assert_matches(&page, &set(&[FIJI]), half);
    }
    // A wide antimeridian box matches the Pacific, not Europe or Africa.
    let page = api.search(&[("bbox", "170,-90,-170,90"), ("limit", "100")]).await;
    assert_matches(&page, &set(&[FIJI]), "wide antimeridian box");
    // Boxes away from it do not match it.
    for far in ["0,-17,10,-16", "170,-17,179,-16", "-179,-17,-170,-16", "179,10,-179,20"] {
        let page = api.search(&[("bbox", far), ("limit", "100")]).await;
        let [w, s, e, n]: [f64; 4] = far
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect::<Vec<_>>()
            .try_into()
            .unwrap();
        assert!(!id_set(&page).contains(FIJI), "{far}");
        assert_matches(&page, &expected(|i| in_bbox(i, [w, s, e, n])), far);
    }
}

#[tokio::test]
async fn pages_count_matches_and_returns() {
    let api = Api::sample().await;
    let bbox = [10.0, 45.0, 12.0, 47.0];
    let want = expected(|i| in_bbox(i, bbox));
    assert!(want.len() > 4);
    let page = api.search(&[("bbox", "10,45,12,47"), ("limit", "4")]).await;
    assert_eq!(page["numberMatched"], want.len());
    assert_eq!(page["numberReturned"], 4);
    let page = api
        .search(&[("collections", S1), ("datetime", "2024-03-01T00:00:00Z/..")])
        .await;
    let want = expected(|i| i.collection == S1 && in_interval(i, Some("2024-03-01T00:00:00Z"), None));
    assert_matches(&page, &want, "collections+datetime");
}

// ---------------------------------------------------------------------------
// Paging.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn get_paging_visits_every_item_once_in_a_stable_order() {
    let api = Api::sample().await;
    let pages = follow_get(&api, "/search?limit=7").await;
    assert_eq!(pages.len(), 8);
    let order = all_ids(&pages);
    assert_eq!(order.iter().cloned().collect::<BTreeSet<_>>(), expected(|_| true));
    // Stable: the same walk again, and one page of 50, give the same order.
    assert_eq!(all_ids(&follow_get(&api, "/search?limit=7").await), order);
    assert_eq!(ids(&api.search(&[("limit", "50")]).await), order);

    // next links carry the original query plus the token.
    let next = href(&pages[0], "next");
    let pairs = query_of(next);
    assert!(pairs.contains(&("limit".into(), "7".into())), "{next}");
    assert!(pairs.iter().any(|(k, v)| k == "token" && !v.is_empty()));
    assert_eq!(url::Url::parse(next).unwrap().path(), "/search");
    assert!(link(&pages[0], "prev").is_none());
    assert!(link(pages.last().unwrap(), "next").is_none());
    for page in &pages {
        assert_eq!(page["numberMatched"], 50);
    }

    // prev links go back to the previous page's exact ids.
    for k in 1..pages.len() {
        let prev = local(href(&pages[k], "prev"));
        let back = api.get(&prev).await.assert_page();
        assert_eq!(ids(&back), ids(&pages[k - 1]), "prev of page {k}");
        assert_eq!(link(&back, "prev").is_some(), k > 1, "page {k}");
        // ...and next from there comes forward again.
        let forward = api.get(&local(href(&back, "next"))).await.assert_page();
        assert_eq!(ids(&forward), ids(&pages[k]), "next of prev of page {k}");
    }
}

#[tokio::test]
async fn get_paging_keeps_the_filters() {
    let api = Api::sample().await;
    let first = with_query(
        "/search",
        &[
            ("collections", &format!("{S2},{LANDSAT}")),
            ("bbox", "5,40,15,50"),
            ("datetime", "2024-01-01T00:00:00Z/2024-05-31T23:59:59Z"),
            ("limit", "3"),
        ],
    );
    let pages = follow_get(&api, &first).await;
    let want = expected(|i| {
        (i.collection == S2 || i.collection == LANDSAT)
            && in_bbox(i, [5.0, 40.0, 15.0, 50.0])
            && in_interval(i, Some("2024-01-01T00:00:00Z"), Some("2024-05-31T23:59:59Z"))
    });
    assert!(want.len() > 6, "several pages: {want:?}");
    assert_eq!(pages.len(), want.len().div_ceil(3));
    assert_eq!(all_ids(&pages).into_iter().collect::<BTreeSet<_>>(), want);
    let next = href(&pages[0], "next");
    let pairs = query_of(next);
    for (key, value) in [
        ("collections", format!("{S2},{LANDSAT}")),
        ("bbox", "5,40,15,50".to_string()),
        ("datetime", "2024-01-01T00:00:00Z/2024-05-31T23:59:59Z".to_string()),
        ("limit", "3".to_string()),
    ] {
        assert!(pairs.contains(&(key.to_string(), value)), "{key}: {next}");
    }
    // The token is replaced, not repeated, on later pages.
    let later = href(&pages[1], "next");
    assert_eq!(
        query_of(later).iter().filter(|(k, _)| k == "token").count(),
        1,
        "{later}"
    );
}

#[tokio::test]
async fn post_paging_links_carry_method_and_body() {
    let api = Api::sample().await;
    let search = json!({
        "collections": [S2, S1],
        "datetime": "2024-01-01T00:00:00Z/..",
        "limit": 4,
    });
    let page = api.search_post(search.clone()).await;
    let next = link(&page, "next").unwrap();
    assert_eq!(next["method"], "POST");
    assert_eq!(next["href"], "http://localhost/search");
    assert_eq!(next["type"], "application/geo+json");
    let body = next["body"].as_object().unwrap();
    for (key, value) in search.as_object().unwrap() {
        assert_eq!(&body[key], value, "{key}");
    }
    assert!(body["token"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(body.len(), search.as_object().unwrap().len() + 1);
    if let Some(merge) = next.get("merge") {
        assert_eq!(merge, false, "the body is whole, not to be merged");
    }

    let pages = follow_post(&api, search).await;
    let want = expected(|i| i.collection == S2 || i.collection == S1);
    assert_eq!(pages.len(), want.len().div_ceil(4));
    assert_eq!(all_ids(&pages).into_iter().collect::<BTreeSet<_>>(), want);
    // The prev link of page 2 is a POST too, back to page 1.
    let prev = link(&pages[1], "prev").unwrap();
    assert_eq!(prev["method"], "POST");
    let back = api.post("/search", &prev["body"]).await.assert_page();
    assert_eq!(ids(&back), ids(&pages[0]));
}

#[tokio::test]
async fn post_paging_over_everything_with_intersects() {
    let api = Api::sample().await;
    let geometry = json!({"type": "Polygon", "coordinates": [[[5, 40], [15, 40], [15, 50], [5, 50], [5, 40]]]});
    let shape = to_geo(&geometry);
    let pages = follow_post(&api, json!({"intersects": geometry, "limit": 7})).await;
    let want = expected(|i| shape.intersects(&i.geometry));
    assert_eq!(all_ids(&pages).into_iter().collect::<BTreeSet<_>>(), want);
    let pages = follow_post(&api, json!({"limit": 7})).await;
    assert_eq!(pages.len(), 8);
    assert_eq!(all_ids(&pages).into_iter().collect::<BTreeSet<_>>(), expected(|_| true));
}

// ---------------------------------------------------------------------------
// Tokens.
// ---------------------------------------------------------------------------

fn token_of(href: &str) -> String {
    query_of(href).into_iter().find(|(k, _)| k == "token").unwrap().1
}

#[tokio::test]
async fn bad_tokens_are_400s_and_foreign_versions_409s() {
    let api = Api::sample().await;
    let first = api.search(&[("limit", "5")]).await;
    let next_href = href(&first, "next");
    let token = token_of(next_href);
    let second = api.get(&local(next_href)).await.assert_page();

    let with_token = |t: &str| with_query("/search", &[("limit", "5"), ("token", t)]);
    for garbage in ["garbage", "a.b", "....", "eyJ9.AAAA", "%%%"] {
        api.get(&with_token(garbage))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
        api.post("/search", &json!({"limit": 5, "token": garbage}))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
    api.post("/search", &json!({"token": 5}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "BadRequest");

    // Tampered: one character of the payload part changed.
    let (payload, signature) = token.split_once('.').unwrap();
    for position in [0, payload.len() / 2, payload.len() - 2] {
        let mut chars: Vec<char> = payload.chars().collect();
        chars[position] = if chars[position] == 'A' { 'B' } else { 'A' };
        let tampered = format!("{}.{signature}", chars.iter().collect::<String>());
        assert_ne!(tampered, token);
        api.get(&with_token(&tampered))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
    // Tampered signature.
    let mut chars: Vec<char> = signature.chars().collect();
    chars[0] = if chars[0] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{payload}.{}", chars.iter().collect::<String>());
    api.get(&with_token(&tampered))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "BadRequest");

    // The server's codec (empty secret) made it: re-encoding the same cursor
    // with that secret pages the same; with another secret it is refused.
    let cursor = TokenCodec::new("").decode(&token, &api.index_id).unwrap();
    assert_eq!(cursor.direction, Direction::Next);
    let same = TokenCodec::new("").encode(&cursor);
    let page = api.get(&with_token(&same)).await.assert_page();
    assert_eq!(ids(&page), ids(&second));
    let foreign = TokenCodec::new("another secret").encode(&cursor);
    api.get(&with_token(&foreign))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "BadRequest");

    // A valid token from another index version is a 409, not a 400.
    let other_version = TokenCodec::new("").encode(&Cursor {
        index_id: "another-index-version".into(),
        ..cursor.clone()
    });
    let description = api
        .get(&with_token(&other_version))
        .await
        .assert_error(StatusCode::CONFLICT, "IndexChanged");
    assert!(description.contains("restart"), "{description}");
    api.post("/search", &json!({"limit": 5, "token": other_version}))
        .await
        .assert_error(StatusCode::CONFLICT, "IndexChanged");
}

// ---------------------------------------------------------------------------
// Percent-encoded links.
// ---------------------------------------------------------------------------

const ODD_COLLECTION: &str = "odd coll%ü";
const ODD_ITEM: &str = "an item%é 1";
const SLASH_ITEM: &str = "a/b?c#d";

/// A catalog with one collection and one item whose ids need encoding.
fn odd_catalog() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, value: Value| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    };
    write(
        "catalog.json",
        json!({"type": "Catalog", "stac_version": "1.1.0", "id": "odd", "description": "odd ids",
               "links": [{"rel": "child", "href": "./coll/collection.json", "type": "application/json"}]}),
    );
    write(
        "coll/collection.json",
        json!({"type": "Collection", "stac_version": "1.1.0", "id": ODD_COLLECTION,
               "title": "Odd", "description": "ids that need percent-encoding", "license": "CC0-1.0",
               "extent": {"spatial": {"bbox": [[0, 0, 1, 1]]},
                          "temporal": {"interval": [["2024-01-01T00:00:00Z", null]]}},
               "links": [{"rel": "item", "href": "./items/odd.json", "type": "application/geo+json"},
                         {"rel": "item", "href": "./items/slash.json", "type": "application/geo+json"}]}),
    );
    write(
        "coll/items/odd.json",
        json!({"type": "Feature", "stac_version": "1.1.0", "id": ODD_ITEM, "collection": ODD_COLLECTION,
               "geometry": {"type": "Point", "coordinates": [0.5, 0.5]}, "bbox": [0.5, 0.5, 0.5, 0.5],
               "properties": {"datetime": "2024-01-02T00:00:00Z"},
               "links": [], "assets": {"data": {"href": "./odd data.tif"}}}),
    );
    write(
        "coll/items/slash.json",
        json!({"type": "Feature", "stac_version": "1.1.0", "id": SLASH_ITEM, "collection": ODD_COLLECTION,
               "geometry": {"type": "Point", "coordinates": [5.5, 5.5]}, "bbox": [5.5, 5.5, 5.5, 5.5],
               "properties": {"datetime": "2024-01-03T00:00:00Z"}, "links": [], "assets": {}}),
    );
    dir
}

#[tokio::test]
async fn self_links_are_percent_encoded_and_resolve() {
    let catalog = odd_catalog();
    let api = Api::new(catalog.path(), IndexConfig::default(), ApiConfig::default()).await;
    let collection_path = "/collections/odd%20coll%25%C3%BC";
    let item_path = format!("{collection_path}/items/an%20item%25%C3%A9%201");

    let page = api.search(&[("bbox", "0,0,1,1")]).await;
    assert_eq!(ids(&page), vec![ODD_ITEM.to_string()]);
    let item = &page["features"][0];
    assert_eq!(href(item, "self"), format!("http://localhost{item_path}"));
    assert_eq!(href(item, "collection"), format!("http://localhost{collection_path}"));
    assert_eq!(href(item, "parent"), format!("http://localhost{collection_path}"));

    // GET on the encoded URL returns the item.
    let reply = api.get(&local(href(item, "self"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let fetched = reply.json();
    assert_eq!(fetched["id"], ODD_ITEM);
    assert_eq!(fetched["collection"], ODD_COLLECTION);
    assert_eq!(href(&fetched, "self"), format!("http://localhost{item_path}"));
    // The asset href with a space is absolute and encoded.
    let asset = fetched["assets"]["data"]["href"].as_str().unwrap();
    assert!(
        asset.starts_with("file://") && asset.ends_with("/coll/items/odd%20data.tif"),
        "{asset}"
    );

    // The collection, the landing page and the items endpoint agree.
    let collection = api.get(collection_path).await;
    assert_eq!(collection.status, StatusCode::OK, "{}", collection.text());
    let collection = collection.json();
    assert_eq!(collection["id"], ODD_COLLECTION);
    assert_eq!(href(&collection, "self"), format!("http://localhost{collection_path}"));
    assert_eq!(
        href(&collection, "items"),
        format!("http://localhost{collection_path}/items")
    );
    let landing = api.get("/").await.json();
    assert_eq!(
        links(&landing, "child")[0]["href"],
        format!("http://localhost{collection_path}")
    );
    let items = api.get(&local(href(&collection, "items"))).await.assert_page();
    assert_eq!(id_set(&items), set(&[ODD_ITEM, SLASH_ITEM]));
    let self_href = href(&items, "self");
    assert!(
        self_href.starts_with(&format!("http://localhost{collection_path}/items")),
        "{self_href}"
    );
    // Search by the odd ids.
    let page = api.search(&[("ids", ODD_ITEM), ("collections", ODD_COLLECTION)]).await;
    assert_eq!(ids(&page), vec![ODD_ITEM.to_string()]);

    // Reserved characters in an id: '/', '?' and '#' are encoded too.
    let page = api.search(&[("ids", SLASH_ITEM)]).await;
    assert_eq!(ids(&page), vec![SLASH_ITEM.to_string()]);
    let slash_path = format!("{collection_path}/items/a%2Fb%3Fc%23d");
    let self_href = href(&page["features"][0], "self");
    assert_eq!(self_href, format!("http://localhost{slash_path}"));
    let reply = api.get(&slash_path).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["id"], SLASH_ITEM);
}

// ---------------------------------------------------------------------------
// A source item that has gone.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_missing_source_item_is_named_and_the_rest_of_its_page_served() {
    let catalog = sample_copy();
    let api = Api::new(catalog.path(), sample_config(), ApiConfig::default()).await;
    let gone = "S1A_IW_GRDH_20240314T053011";
    let kept = "S1A_IW_GRDH_20240103T053012";
    std::fs::remove_file(catalog.path().join(format!("radar/items/{gone}.json"))).unwrap();

    // Asked for by its URL: a 404 that says the source is gone.
    let description = api
        .get(&format!("/collections/{S1}/items/{gone}"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "SourceGone");
    assert!(
        description.contains(gone) && description.contains("no longer exists"),
        "{description}"
    );

    // A page holding it is served without it, and names it.
    let whole = api.search(&[("collections", S1), ("limit", "100")]).await;
    let total = whole["numberMatched"].as_u64().unwrap();
    for reply in [
        api.get(&format!("/search?ids={gone},{kept}")).await,
        api.get(&format!("/search?collections={S1}&limit=100")).await,
        api.get(&format!("/collections/{S1}/items?limit=100")).await,
        api.post("/search", &json!({"collections": [S1], "limit": 100})).await,
    ] {
        let page = reply.assert_page();
        assert!(!ids(&page).contains(&gone.to_string()), "{page}");
        assert_eq!(page["numberReturned"].as_u64().unwrap() as usize, ids(&page).len());
        assert_eq!(page["missingItems"].as_array().unwrap().len(), 1, "{page}");
        let missing = &page["missingItems"][0];
        assert_eq!(
            (missing["id"].as_str(), missing["collection"].as_str()),
            (Some(gone), Some(S1))
        );
        assert!(missing["href"].as_str().unwrap().ends_with(&format!("{gone}.json")));
        assert!(
            missing["reason"].as_str().unwrap().contains("no longer exists"),
            "{missing}"
        );
        assert_eq!(
            reply.header("stac-missing-items"),
            Some(format!("{S1}/{gone}").as_str())
        );
        // Not kept by any cache (GET: no-store; POST is not cached anyway):
        // the source may be back for the next request.
        assert!(
            reply.header("cache-control").is_none_or(|c| c == "no-store"),
            "{:?}",
            reply.headers
        );
        assert!(reply.header("etag").is_none());
    }
    let page = api.search(&[("collections", S1), ("limit", "100")]).await;
    assert_eq!(page["numberMatched"].as_u64(), Some(total), "the count is the index's");
    assert_eq!(page["numberReturned"].as_u64(), Some(total - 1));

    // A page none of whose items can be read is a 502.
    let description = api
        .get(&format!("/search?ids={gone}"))
        .await
        .assert_error(StatusCode::BAD_GATEWAY, "SourceUnavailable");
    assert!(description.contains(gone), "{description}");

    // Pages without it carry no such member or header; health counts the failures.
    let reply = api.get(&format!("/search?ids={kept}")).await;
    assert!(reply.assert_page().get("missingItems").is_none());
    assert_eq!(reply.header("stac-missing-items"), None);
    let health = api.get("/_mgmt/health").await.json();
    assert!(health["item_source_failures"].as_u64().unwrap() >= 6, "{health}");
}

#[tokio::test]
async fn collections_and_the_manifest_are_not_read_per_request() {
    let catalog = sample_copy();
    let out = tempfile::tempdir().unwrap();
    index_catalog(&catalog.path().join("catalog.json"), sample_config(), out.path()).await;
    let config = ApiConfig {
        reload_interval: None,
        cache_dir: out.path().join("cache"),
        ..ApiConfig::default()
    };
    let manifest = out.path().join("manifest.json");
    let handle = IndexHandle::open(Uri::from_path(&manifest).unwrap(), io(), config.clone())
        .await
        .unwrap();
    let app = stac_indexed_api::app(handle, io(), config, &HttpOptions::default());
    let api = Api {
        app,
        index_id: String::new(),
        manifest: Value::Null,
        _dirs: Vec::new(),
    };
    // REFERENCE: /collections fetched every collection document on every
    // call, and the manifest was re-read before every query.
    std::fs::remove_file(&manifest).unwrap();
    for path in [
        "radar/collection.json",
        "optical/sentinel-2-l2a/collection.json",
        "optical/landsat-c2-l2/collection.json",
        "optical/catalog.json",
        "catalog.json",
    ] {
        std::fs::remove_file(catalog.path().join(path)).unwrap();
    }
    let reply = api.get("/collections").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["collections"].as_array().unwrap().len(), 3);
    let reply = api.get(&format!("/collections/{S1}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["title"], "Sentinel-1 GRD (sample)");
    let landing = api.get("/").await.json();
    assert_eq!(landing["id"], "stac-indexed-sample");
    let page = api.search(&[("limit", "100")]).await;
    assert_eq!(page["numberReturned"], 50);
    let health = api.get("/_mgmt/health").await;
    assert_eq!(health.status, StatusCode::OK);
}

// ---------------------------------------------------------------------------
// Errors, fallbacks, documentation, management.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn wrong_methods_and_paths_get_stac_errors() {
    let api = Api::sample().await;
    for (method, uri) in [
        (Method::DELETE, "/search"),
        (Method::PUT, "/search"),
        (Method::POST, "/collections"),
        (Method::DELETE, "/collections/sentinel-1-grd"),
        (Method::POST, "/"),
    ] {
        let reply = api
            .send(
                Request::builder()
                    .method(method.clone())
                    .uri(uri)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        reply.assert_error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed");
    }
    for uri in ["/nope", "/collections/sentinel-1-grd/nope", "/search/extra"] {
        let description = api.get(uri).await.assert_error(StatusCode::NOT_FOUND, "NotFound");
        assert!(description.contains(uri), "{description}");
    }
}

#[tokio::test]
async fn forwarded_headers_set_the_link_base() {
    let api = Api::sample().await;
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("host", "api.internal:8080")], "http://api.internal:8080/"),
        (
            &[
                ("host", "internal"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "stac.example.com"),
            ],
            "https://stac.example.com/",
        ),
        (
            &[
                ("host", "internal"),
                ("forwarded", "for=10.0.0.1;proto=https;host=fw.example.org"),
            ],
            "https://fw.example.org/",
        ),
        (
            &[("host", "internal"), ("x-forwarded-proto", "https")],
            "https://internal/",
        ),
        (
            &[
                ("x-forwarded-host", "gw.example.com"),
                ("x-forwarded-prefix", "/stac/v1"),
            ],
            "http://gw.example.com/stac/v1/",
        ),
    ];
    for (headers, base) in cases {
        let landing = api.get_with("/", headers).await.json();
        for l in landing["links"].as_array().unwrap() {
            assert!(l["href"].as_str().unwrap().starts_with(base), "{base}: {l}");
        }
        let page = api.get_with("/search?limit=2", headers).await.json();
        for rel in ["self", "root", "next"] {
            assert!(href(&page, rel).starts_with(base), "{base}: {rel}");
        }
        let item = &page["features"][0];
        for rel in ["self", "parent", "collection", "root"] {
            assert!(href(item, rel).starts_with(base), "{base}: item {rel}");
        }
        let collections = api.get_with("/collections", headers).await.json();
        for collection in collections["collections"].as_array().unwrap() {
            assert!(href(collection, "self").starts_with(base));
        }
        let post = api
            .send({
                let mut request = Request::post("/search").header("content-type", "application/json");
                for (k, v) in headers {
                    request = request.header(*k, *v);
                }
                request.body(Body::from(r#"{"limit": 2}"#)).unwrap()
            })
            .await
            .assert_page();
        assert_eq!(link(&post, "next").unwrap()["href"], format!("{base}search"));
    }
}

#[tokio::test]
async fn the_root_path_prefixes_every_link() {
    let api = Api::new(
        &sample_data(),
        sample_config(),
        ApiConfig {
            root_path: "/prod".into(),
            ..ApiConfig::default()
        },
    )
    .await;
    let base = "http://localhost/prod/";
    let check = |document: &Value, what: &str| {
        for l in document["links"].as_array().unwrap() {
            let rel = l["rel"].as_str().unwrap();
            if ["license", "alternate", "via", "cite-as"].contains(&rel) {
                continue;
            }
            assert!(l["href"].as_str().unwrap().starts_with(base), "{what}: {l}");
        }
    };
    let landing = api.get("/").await.json();
    check(&landing, "landing");
    assert_eq!(href(&landing, "self"), base);
    assert_eq!(href(&landing, "service-desc"), format!("{base}api"));
    let collections = api.get("/collections").await.json();
    check(&collections, "collections");
    for collection in collections["collections"].as_array().unwrap() {
        check(collection, "collection");
    }
    check(&api.get(&format!("/collections/{S1}")).await.json(), "collection");
    let page = api.search(&[("limit", "3")]).await;
    check(&page, "search");
    for item in page["features"].as_array().unwrap() {
        check(item, "item");
    }
    let page = api.get(&format!("/collections/{S1}/items?limit=3")).await.assert_page();
    check(&page, "items");
    assert!(href(&page, "next").starts_with(&format!("{base}collections/{S1}/items?")));
    let item = api.get(&format!("/collections/{LANDSAT}/items/{FIJI}")).await.json();
    check(&item, "item");
    assert_eq!(href(&item, "self"), format!("{base}collections/{LANDSAT}/items/{FIJI}"));
    let errors = api.get("/status/errors").await.json();
    check(&errors, "errors");
    // The OpenAPI document names the prefixed server.
    assert_eq!(api.get("/api").await.json()["servers"][0]["url"], base);
    // The documentation page loads its assets under the prefix.
    assert!(api.get("/api.html").await.text().contains("/prod/api.html/assets/"));
}

#[tokio::test]
async fn the_openapi_document_and_the_docs_page() {
    let api = Api::sample().await;
    let reply = api.get("/api").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "application/vnd.oai.openapi+json;version=3.0");
    let document = reply.json();
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.0."),
        "{}",
        document["openapi"]
    );
    assert!(document["info"]["title"].is_string());
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/",
        "/conformance",
        "/collections",
        "/collections/{collectionId}",
        "/collections/{collectionId}/items",
        "/collections/{collectionId}/items/{itemId}",
        "/search",
    ] {
        assert!(paths.contains_key(path), "{path}");
        assert!(paths[path].get("get").is_some(), "GET {path}");
    }
    assert!(paths["/search"].get("post").is_some());
    // OpenAPI 3.0 has no type arrays.
    assert!(!document.to_string().contains(r#""type":["#));

    let reply = api.get("/api.html").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.content_type().starts_with("text/html"));
    let html = reply.text();
    assert!(html.contains("swagger-ui"));
    assert!(html.contains("\"http://localhost/api\""), "{html}");
    let assets: Vec<String> = html
        .split('"')
        .filter(|part| part.contains("/api.html/assets/"))
        .map(str::to_string)
        .collect();
    assert!(assets.len() >= 2, "{html}");
    let mut scripts = 0;
    for asset in &assets {
        let reply = api.get(&local(asset)).await;
        assert_eq!(reply.status, StatusCode::OK, "{asset}");
        assert!(!reply.body.is_empty());
        if asset.ends_with(".js") {
            assert!(
                reply.content_type().contains("javascript"),
                "{asset}: {}",
                reply.content_type()
            );
            scripts += 1;
        }
    }
    assert!(scripts >= 1);
    api.get("/api.html/assets/no-such-file.js")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NotFound");
}

#[tokio::test]
async fn ping_and_health() {
    let api = Api::sample().await;
    let reply = api.get("/_mgmt/ping").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["message"], "PONG");
    let reply = api.get("/_mgmt/health").await;
    assert_eq!(reply.status, StatusCode::OK);
    let health = reply.json();
    assert_eq!(health["index_id"], api.index_id);
    assert_eq!(health["index_id"], api.manifest["index_id"]);
    assert_eq!(health["items"], 50);
    assert_eq!(health["collections"], 3);
    assert_eq!(health["errors"], 0);
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn indexer_errors_are_paged() {
    let catalog = sample_copy();
    // Two broken items: invalid JSON, and an item without a geometry.
    let broken = catalog.path().join("radar/items/S1A_IW_GRDH_20240103T053012.json");
    std::fs::write(&broken, b"{ not json").unwrap();
    let no_geometry = catalog.path().join("radar/items/S1A_IW_GRDH_20240115T171522.json");
    let mut item = read_json(&no_geometry);
    item["geometry"] = Value::Null;
    std::fs::write(&no_geometry, serde_json::to_vec(&item).unwrap()).unwrap();
    let api = Api::new(catalog.path(), sample_config(), ApiConfig::default()).await;

    let health = api.get("/_mgmt/health").await.json();
    assert_eq!(health["items"], 48);
    assert_eq!(health["errors"], 2);

    let reply = api.get("/status/errors").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "application/json");
    let all = reply.json();
    assert_eq!(all["numberMatched"], 2);
    assert_eq!(all["numberReturned"], 2);
    let uris: BTreeSet<String> = all["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e["kind"].is_string() && e["message"].is_string(), "{e}");
            e["uri"].as_str().unwrap().to_string()
        })
        .collect();
    let expected_uris: BTreeSet<String> = [&broken, &no_geometry]
        .iter()
        .map(|p| url::Url::from_file_path(p).unwrap().to_string())
        .collect();
    assert_eq!(uris, expected_uris);

    let first = api.get("/status/errors?limit=1").await.json();
    assert_eq!(first["numberMatched"], 2);
    assert_eq!(first["numberReturned"], 1);
    assert!(link(&first, "prev").is_none());
    let second = api.get(&local(href(&first, "next"))).await.json();
    assert_eq!(second["numberReturned"], 1);
    assert!(link(&second, "next").is_none());
    assert!(link(&second, "prev").is_some());
    assert_ne!(first["errors"][0], second["errors"][0]);
    let by_offset = api.get("/status/errors?limit=1&offset=1").await.json();
    assert_eq!(by_offset["errors"], second["errors"]);
    let past = api.get("/status/errors?offset=5").await.json();
    assert_eq!(past["numberReturned"], 0);
    assert_eq!(past["numberMatched"], 2);
    for bad in ["limit=-1", "limit=x", "offset=-3", "offset=1.5"] {
        api.get(&format!("/status/errors?{bad}"))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
    // The broken items are not served; the others are.
    let page = api.search(&[("collections", S1)]).await;
    assert_eq!(page["numberMatched"], 8);
}

// ---------------------------------------------------------------------------
// Middleware.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn cors_answers_preflights_and_requests() {
    let api = Api::sample().await;
    let reply = api
        .send(
            Request::builder()
                .method(Method::OPTIONS)
                .uri("/search")
                .header("origin", "https://client.example.org")
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.status);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert!(reply.header("access-control-allow-methods").is_some());
    let reply = api
        .get_with("/collections", &[("origin", "https://client.example.org")])
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    // Errors carry it too.
    let reply = api.get_with("/nope", &[("origin", "https://client.example.org")]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn large_responses_are_gzipped_when_asked() {
    let api = Api::sample().await;
    let plain = api.get("/search?limit=50").await;
    assert_eq!(plain.header("content-encoding"), None);
    let reply = api.get_with("/search?limit=50", &[("accept-encoding", "gzip")]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-encoding"), Some("gzip"));
    assert_eq!(reply.content_type(), "application/geo+json");
    assert!(reply.body.len() < plain.body.len());
    let mut text = String::new();
    flate2::read::GzDecoder::new(&reply.body[..])
        .read_to_string(&mut text)
        .unwrap();
    let page: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(page["numberReturned"], 50);
    assert_eq!(ids(&page), ids(&plain.json()));
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let api = Api::sample().await;
    let a = api.get("/_mgmt/ping").await;
    let b = api.get("/nope").await;
    let (a, b) = (
        a.header("x-request-id").unwrap().to_string(),
        b.header("x-request-id").unwrap().to_string(),
    );
    assert!(!a.is_empty());
    assert_ne!(a, b);
    // A client's id is kept.
    let reply = api.get_with("/_mgmt/ping", &[("x-request-id", "client-id-42")]).await;
    assert_eq!(reply.header("x-request-id"), Some("client-id-42"));
}

#[tokio::test]
async fn a_too_large_body_is_a_stac_error() {
    let api = Api::sample().await;
    let padding = "x".repeat(HttpOptions::default().body_limit + 1);
    let reply = api.post("/search", &json!({"limit": 1, "padding": padding})).await;
    reply.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge");
}

#[tokio::test]
async fn a_changed_source_item_is_served_fresh_after_the_cache_ttl() {
    // A source item changed without a re-index: a server that cached it and
    // one that did not agree again once the cache entry is older than its TTL.
    let catalog = sample_copy();
    let config = ApiConfig {
        item_cache_ttl: std::time::Duration::from_millis(300),
        ..ApiConfig::default()
    };
    let warm = Api::new(catalog.path(), sample_config(), config.clone()).await;
    let cold = Api::new(catalog.path(), sample_config(), config).await;
    let uri = format!("/collections/{LANDSAT}/items/{FIJI}");
    assert_eq!(warm.get(&uri).await.status, StatusCode::OK);
    let path = catalog.path().join(format!("optical/landsat-c2-l2/items/{FIJI}.json"));
    let mut item = read_json(&path);
    item["properties"]["title"] = json!("changed at the source");
    std::fs::write(&path, serde_json::to_vec(&item).unwrap()).unwrap();
    assert_eq!(
        cold.get(&uri).await.json()["properties"]["title"],
        "changed at the source"
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(
        warm.get(&uri).await.json()["properties"]["title"],
        "changed at the source"
    );
}

/// Two apps over one index: one answering from the row directory, one from DuckDB only.
async fn directory_and_duckdb_apps() -> (axum::Router, axum::Router, TempDir) {
    let out = tempfile::tempdir().unwrap();
    index_catalog(&sample_data().join("catalog.json"), sample_config(), out.path()).await;
    let manifest = Uri::from_path(&out.path().join("manifest.json")).unwrap();
    let mut apps = Vec::new();
    for row_directory in [true, false] {
        let config = ApiConfig {
            reload_interval: None,
            cache_dir: out.path().join(format!("cache-{row_directory}")),
            row_directory,
            ..ApiConfig::default()
        };
        let handle = IndexHandle::open(manifest.clone(), io(), config.clone()).await.unwrap();
        if row_directory {
            handle.current().wait_for_directory().await;
        }
        apps.push(stac_indexed_api::app(handle, io(), config, &HttpOptions::default()));
    }
    let duckdb = apps.pop().unwrap();
    (apps.pop().unwrap(), duckdb, out)
}

async fn get_value(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_row_directory_answers_exactly_as_duckdb() {
    let (directory, duckdb, _dir) = directory_and_duckdb_apps().await;
    let starts = [
        "/search?limit=7".to_string(),
        "/search?limit=3&collections=landsat-c2-l2,sentinel-1-grd".to_string(),
        "/search?collections=nope".to_string(),
        format!("/search?ids=S2A_MSIL2A_20240105T101401_T32TPR,{FIJI},missing&limit=1"),
        format!("/search?ids={FIJI}&collections=sentinel-2-l2a"),
        "/collections/sentinel-2-l2a/items?limit=5".to_string(),
        "/collections/radar-nope/items".to_string(),
        format!("/collections/{LANDSAT}/items/{FIJI}"),
        format!("/collections/{LANDSAT}/items/not-there"),
        "/search?bbox=20,20,21,21&limit=2".to_string(),
        "/search?bbox=179,-17,-179,-16".to_string(),
        "/search?bbox=-180,-90,180,90&limit=20".to_string(),
        "/search?bbox=8,45,12,48&datetime=2024-02-01T00:00:00Z/2024-04-30T00:00:00Z&limit=3".to_string(),
        "/search?bbox=10.9,45.2,11.05,45.4&limit=3".to_string(),
        "/search?datetime=2024-02-15T00:00:00Z/..&limit=4".to_string(),
        "/search?datetime=../2024-02-01T00:00:00Z&collections=landsat-c2-l2".to_string(),
        "/search?datetime=2024-02-19T12:00:00Z".to_string(),
        format!("/search?ids=S2A_MSIL2A_20240105T101401_T32TPR,{FIJI}&bbox=170,-20,-170,-10"),
        "/collections/sentinel-2-l2a/items?bbox=10,45,11,46&limit=2".to_string(),
        format!(
            "/search?limit=2&intersects={}",
            url::form_urlencoded::byte_serialize(
                br#"{"type":"Polygon","coordinates":[[[8,45],[12,45],[8,48],[8,45]]]}"#
            )
            .collect::<String>()
        ),
        format!(
            "/search?intersects={}",
            url::form_urlencoded::byte_serialize(br#"{"type":"Point","coordinates":[179.75,-16.75]}"#)
                .collect::<String>()
        ),
        // The extensions: DuckDB finds what the filter matches, the directory the rest.
        "/search?limit=3&filter=%22eo%3Acloud_cover%22%20%3C%2030".to_string(),
        "/search?limit=2&bbox=8,45,12,48&filter=gsd%20%3E%3D%2010&datetime=2024-02-01T00:00:00Z/..".to_string(),
        "/search?collections=sentinel-1-grd&filter=A_CONTAINS(%22sar%3Apolarizations%22%2C%20(%27VH%27))".to_string(),
        format!("/search?ids=S2A_MSIL2A_20240105T101401_T32TPR,{FIJI}&filter=platform%20LIKE%20%27landsat%25%27"),
        "/collections/sentinel-2-l2a/items?limit=4&filter=S_INTERSECTS(geometry%2CBBOX(10%2C45%2C12%2C47))".to_string(),
        "/search?limit=3&q=snow%20OR%20lake".to_string(),
        "/search?limit=2&query=%7B%22eo%3Acloud_cover%22%3A%7B%22lt%22%3A40%7D%7D&collections=landsat-c2-l2"
            .to_string(),
        "/search?limit=4&sortby=-eo%3Acloud_cover,id&filter=gsd%20%3C%2050".to_string(),
        "/search?limit=5&sortby=datetime&bbox=8,45,12,48".to_string(),
        "/search?limit=6&fields=id,geometry,properties.eo%3Acloud_cover".to_string(),
        "/search?limit=6&fields=id,properties.platform&filter=gsd%20%3D%2030&sortby=-id".to_string(),
    ];
    for start in starts {
        // Every page along the next links, and each page's prev page, must match.
        let mut uri = Some(start.clone());
        while let Some(current) = uri.take() {
            let (status, body) = get_value(&directory, &current).await;
            assert_eq!(
                (status, &body),
                (
                    get_value(&duckdb, &current).await.0,
                    &get_value(&duckdb, &current).await.1
                ),
                "{current}"
            );
            let link = |rel: &str| {
                body["links"]
                    .as_array()
                    .and_then(|links| links.iter().find(|l| l["rel"] == rel))
                    .and_then(|l| l["href"].as_str())
                    .map(|h| h.trim_start_matches("http://localhost").to_string())
            };
            if let Some(prev) = link("prev") {
                assert_eq!(
                    get_value(&directory, &prev).await,
                    get_value(&duckdb, &prev).await,
                    "{prev}"
                );
            }
            uri = link("next");
        }
    }
}
