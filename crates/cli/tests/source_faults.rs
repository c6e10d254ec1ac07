//! End to end: item sources that fail while the server answers searches.
//! A real HTTP server serves the catalog and, once it is indexed, answers
//! some items with a 404, a 503 (always, or twice then the item), a body
//! that is not JSON, or not before the fetch budget runs out; moto serves a
//! catalog whose items are deleted or overwritten after indexing.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use stac_indexed_test_support::*;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

const S1: &str = "sentinel-1-grd";
const GONE: &str = "S1A_IW_GRDH_20240103T053012";
const FAILING: &str = "S1A_IW_GRDH_20240115T171522";
const SLOW: &str = "S1A_IW_GRDH_20240127T034415";
const BROKEN: &str = "S1A_IW_GRDH_20240208T053019";
const TRANSIENT: &str = "S1A_IW_GRDH_20240220T171530";

/// What the file server does wrong, once `on`.
struct Faults {
    on: AtomicBool,
    /// How many more times the TRANSIENT item answers 503.
    transient_left: AtomicU32,
}

impl Faults {
    async fn answer(&self, request: Request, next: Next) -> Response {
        let path = request.uri().path().to_string();
        let is = |id: &str| path.ends_with(&format!("/{id}.json"));
        if !self.on.load(Ordering::SeqCst) {
            return next.run(request).await;
        }
        if is(GONE) {
            StatusCode::NOT_FOUND.into_response()
        } else if is(FAILING) {
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        } else if is(BROKEN) {
            (StatusCode::OK, "{\"type\": \"Feature\", \"id\": ").into_response()
        } else if is(SLOW) {
            tokio::time::sleep(Duration::from_secs(30)).await;
            next.run(request).await
        } else if is(TRANSIENT)
            && self
                .transient_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        } else {
            next.run(request).await
        }
    }
}

/// A static file server over `root` that misbehaves as `faults` says.
async fn faulty_server(root: PathBuf, faults: Arc<Faults>) -> SocketAddr {
    let app = axum::Router::new()
        .fallback_service(tower_http::services::ServeDir::new(root))
        .layer(axum::middleware::from_fn(move |request: Request, next: Next| {
            let faults = faults.clone();
            async move { faults.answer(request, next).await }
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// The page's `missingItems` ids, sorted.
fn missing_ids(page: &Value) -> Vec<String> {
    let mut ids: Vec<String> = page["missingItems"]
        .as_array()
        .map(|missing| missing.iter().map(|m| m["id"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

async fn error_code(client: &reqwest::Client, url: &str) -> (u16, String) {
    let (status, body) = get_json(client, url).await;
    (status, body["code"].as_str().unwrap_or_default().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_source_that_fails_costs_only_its_items() {
    let faults = Arc::new(Faults {
        on: AtomicBool::new(false),
        transient_left: AtomicU32::new(2),
    });
    let addr = faulty_server(sample_data(), faults.clone()).await;
    let out = tempfile::tempdir().unwrap();
    let root = format!("http://{addr}/catalog.json");
    let config = sample_data().join("index-config.json");
    let out_path = out.path().to_str().unwrap().to_string();
    tokio::task::spawn_blocking(move || {
        run_ok(
            &["index", &root, "--out", &out_path, "--config", config.to_str().unwrap()],
            &[],
        )
    })
    .await
    .unwrap();
    faults.on.store(true, Ordering::SeqCst);
    let server = Server::start(out.path(), &["--item-fetch-budget", "3"]).await;
    let client = reqwest::Client::new();

    // The page holds every item that could be read (the transient one after
    // its retries) and names the others, in the body and a header.
    let started = Instant::now();
    let response = client
        .get(server.url(&format!("/collections/{S1}/items?limit=100")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let header = response.headers()["stac-missing-items"].to_str().unwrap().to_string();
    let page: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(10),
        "the budget bounds the page: {elapsed:?}"
    );
    assert_eq!(page["numberMatched"], 10);
    assert_eq!(page["numberReturned"], 6, "{page}");
    let ids = ids(&page);
    assert!(
        ids.contains(&TRANSIENT.to_string()),
        "a transient failure is retried: {ids:?}"
    );
    let mut expected = vec![BROKEN, FAILING, GONE, SLOW];
    expected.sort();
    assert_eq!(missing_ids(&page), expected);
    let mut named: Vec<&str> = header.split(',').collect();
    named.sort();
    assert_eq!(
        named,
        expected.iter().map(|id| format!("{S1}/{id}")).collect::<Vec<_>>()
    );
    for missing in page["missingItems"].as_array().unwrap() {
        assert!(
            missing["href"]
                .as_str()
                .unwrap()
                .starts_with(&format!("http://{addr}/"))
        );
        assert!(!missing["reason"].as_str().unwrap().is_empty());
    }

    // Asked for by URL: gone is a 404 that says so; the rest are 502s, in time.
    let item = |id: &str| server.url(&format!("/collections/{S1}/items/{id}"));
    assert_eq!(error_code(&client, &item(GONE)).await, (404, "SourceGone".to_string()));
    for id in [FAILING, BROKEN, SLOW] {
        let started = Instant::now();
        assert_eq!(
            error_code(&client, &item(id)).await,
            (502, "SourceUnavailable".to_string()),
            "{id}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{id}: {:?}",
            started.elapsed()
        );
    }
    // Only unreadable items: a 502.
    let url = server.url(&format!("/search?ids={FAILING},{BROKEN}"));
    assert_eq!(error_code(&client, &url).await, (502, "SourceUnavailable".to_string()));

    // Counted and logged, never a panic.
    let (_, health) = get_json(&client, &server.url("/_mgmt/health")).await;
    assert!(health["item_source_failures"].as_u64().unwrap() >= 8, "{health}");
    let log = server.log();
    assert!(log.contains("item source failed"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_items_deleted_or_corrupted_after_indexing_are_named() {
    let Some(moto) = Moto::start() else {
        return;
    };
    moto.create_bucket("catalog").await;
    moto.upload_dir(&sample_data(), "catalog", "sample").await;
    let env = moto.env();
    let out = tempfile::tempdir().unwrap();
    let out_path = out.path().to_str().unwrap().to_string();
    tokio::task::spawn_blocking(move || {
        run_ok(
            &[
                "index",
                "s3://catalog/sample/catalog.json",
                "--out",
                &out_path,
                "--config",
                "s3://catalog/sample/index-config.json",
            ],
            &env_refs(&env),
        )
    })
    .await
    .unwrap();
    moto.delete("catalog", &format!("sample/radar/items/{GONE}.json")).await;
    moto.put("catalog", &format!("sample/radar/items/{BROKEN}.json"), b"not json")
        .await;

    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let env = moto.env();
    let index = out.path().to_str().unwrap();
    let server = Server::spawn(&["serve", "--index", index, "--addr", &addr], &env_refs(&env), port).await;
    let client = reqwest::Client::new();
    let (status, page) = get_json(&client, &server.url(&format!("/collections/{S1}/items?limit=100"))).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["numberReturned"], 8, "{page}");
    let mut expected = vec![BROKEN, GONE];
    expected.sort();
    assert_eq!(missing_ids(&page), expected);
    let item = |id: &str| server.url(&format!("/collections/{S1}/items/{id}"));
    assert_eq!(error_code(&client, &item(GONE)).await, (404, "SourceGone".to_string()));
    assert_eq!(
        error_code(&client, &item(BROKEN)).await,
        (502, "SourceUnavailable".to_string())
    );
    assert!(!server.log().contains("panicked"));
}
