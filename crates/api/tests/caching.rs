//! HTTP caching through the real router: strong tags, 304s, HEAD,
//! Cache-Control per kind of resource, and tags that change on a re-index
//! exactly where the answers change.

use axum::http::StatusCode;
use stac_indexed_api::{ApiConfig, CachePolicy};
use stac_indexed_test_support::*;

/// Every GET route the API has, with a resource that exists.
const GET_ROUTES: [&str; 17] = [
    "/",
    "/conformance",
    "/collections",
    "/collections/sentinel-2-l2a",
    "/collections/sentinel-2-l2a/items",
    "/collections/sentinel-2-l2a/items/S2A_MSIL2A_20240103_T31UDQ",
    "/collections/sentinel-2-l2a/queryables",
    "/collections/sentinel-2-l2a/sortables",
    "/collections/sentinel-2-l2a/aggregate",
    "/collections/sentinel-2-l2a/aggregations",
    "/queryables",
    "/sortables",
    "/search?limit=3",
    "/aggregate",
    "/aggregations",
    "/api",
    "/api.html",
];

fn item_path(api_items: &[SampleItem]) -> String {
    let item = &api_items[0];
    format!("/collections/{}/items/{}", item.collection, item.id)
}

#[tokio::test]
async fn answers_carry_strong_tags_and_a_current_tag_gets_a_304() {
    let api = Api::sample().await;
    let path = item_path(&sample_items());
    let first = api.get(&path).await;
    assert_eq!(first.status, StatusCode::OK);
    let tag = first.header("etag").unwrap().to_string();
    assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() == 34, "{tag}");
    assert_eq!(first.header("cache-control"), Some("public, max-age=3600"));
    let vary: Vec<&str> = first
        .headers
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let vary = vary.join(", ").to_ascii_lowercase();
    for name in [
        "accept",
        "accept-encoding",
        "x-forwarded-host",
        "x-forwarded-proto",
        "forwarded",
    ] {
        assert!(vary.split(", ").any(|v| v == name), "Vary names {name}: {vary}");
    }

    let again = api.get_with(&path, &[("if-none-match", &tag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(tag.as_str()));
    assert_eq!(again.header("cache-control"), Some("public, max-age=3600"));
    let listed = api
        .get_with(&path, &[("if-none-match", &format!("\"nope\", W/{tag}"))])
        .await;
    assert_eq!(listed.status, StatusCode::NOT_MODIFIED);
    let other = api.get_with(&path, &[("if-none-match", "\"nope\"")]).await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(other.body, first.body);

    // A compressed answer is another representation, with a tag of its own.
    let gzip = api.get_with(&path, &[("accept-encoding", "gzip")]).await;
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    let gzip_tag = gzip.header("etag").unwrap().to_string();
    assert_ne!(gzip_tag, tag);
    let revalidated = api
        .get_with(&path, &[("accept-encoding", "gzip"), ("if-none-match", &gzip_tag)])
        .await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn head_answers_every_get_route_with_the_get_headers() {
    let api = Api::sample().await;
    let mut routes: Vec<String> = GET_ROUTES.iter().map(|r| r.to_string()).collect();
    routes[5] = item_path(&sample_items());
    routes[4] = format!("/collections/{}/items", sample_items()[0].collection);
    for path in routes {
        let get = api.get(&path).await;
        assert_eq!(get.status, StatusCode::OK, "GET {path}");
        let head = api
            .send(
                axum::http::Request::head(path.as_str())
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(head.status, StatusCode::OK, "HEAD {path}");
        assert!(head.body.is_empty(), "HEAD {path} has no body");
        for header in ["etag", "content-type", "cache-control", "content-length"] {
            assert_eq!(head.header(header), get.header(header), "HEAD {path}: {header}");
        }
        assert_eq!(get.header("content-length"), Some(get.body.len().to_string().as_str()));
    }
}

#[tokio::test]
async fn each_kind_of_resource_has_its_cache_control() {
    let policy = CachePolicy {
        items: "public, max-age=11".into(),
        collections: "public, max-age=22".into(),
        searches: "public, max-age=33".into(),
        metadata: "public, max-age=44".into(),
    };
    let config = ApiConfig {
        cache_policy: policy,
        ..ApiConfig::default()
    };
    let api = Api::new(&sample_data(), sample_config(), config).await;
    let item = item_path(&sample_items());
    for (path, expected) in [
        (item.as_str(), "public, max-age=11"),
        ("/collections/sentinel-1-grd", "public, max-age=22"),
        ("/search", "public, max-age=33"),
        ("/collections", "public, max-age=33"),
        ("/collections/sentinel-1-grd/items", "public, max-age=33"),
        ("/aggregate", "public, max-age=33"),
        ("/", "public, max-age=44"),
        ("/queryables", "public, max-age=44"),
        ("/api", "public, max-age=44"),
        ("/_mgmt/ping", "no-store"),
        ("/_mgmt/health", "no-store"),
        ("/status/errors", "no-store"),
        ("/collections/nope", "no-store"),
        ("/search?bbox=1", "no-store"),
    ] {
        let reply = api.get(path).await;
        assert_eq!(reply.header("cache-control"), Some(expected), "{path}");
    }
    assert!(api.get("/_mgmt/health").await.header("etag").is_none());
    assert!(api.get("/search?bbox=1").await.header("etag").is_none());
    let export = api.get("/search?f=ndjson").await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(export.header("etag").is_none(), "an export is streamed, not tagged");
}

#[tokio::test]
async fn a_reindex_changes_the_tags_of_what_changed_and_only_those() {
    let catalog = sample_copy();
    let items = sample_items();
    let (changed, kept) = (&items[0], &items[1]);
    let path = |item: &SampleItem| format!("/collections/{}/items/{}", item.collection, item.id);
    let collection = format!("/collections/{}", kept.collection);
    let paths = [
        path(changed),
        path(kept),
        collection,
        "/".to_string(),
        "/search?limit=3".to_string(),
    ];
    let before = tags(
        &paths,
        Api::new(catalog.path(), sample_config(), ApiConfig::default()).await,
    )
    .await;
    let changed_file = catalog.path().join(changed.path.strip_prefix(sample_data()).unwrap());
    edit_json_atomically(&changed_file, |item| {
        item["properties"]["eo:cloud_cover"] = serde_json::json!(99.5);
    });
    let after = tags(
        &paths,
        Api::new(catalog.path(), sample_config(), ApiConfig::default()).await,
    )
    .await;
    assert_ne!(before[0], after[0], "the changed item");
    assert_eq!(before[1], after[1], "an unchanged item");
    assert_eq!(before[2], after[2], "its collection");
    assert_eq!(before[3], after[3], "the landing page");
    // A search's pages name the index version in their paging tokens.
    assert_ne!(before[4], after[4], "a search");
}

/// The ETag of each path.
async fn tags(paths: &[String], api: Api) -> Vec<String> {
    let mut tags = Vec::new();
    for path in paths {
        tags.push(api.get(path).await.header("etag").unwrap().to_string());
    }
    tags
}
