//! End to end: indexing a catalog served by a real HTTP server on 127.0.0.1.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use stac_indexed_test_support::*;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Requests seen per path.
type Hits = Arc<Mutex<HashMap<String, u32>>>;

/// Serves `root`, failing the first request for every item with a 503.
async fn serve_flaky(root: PathBuf) -> (SocketAddr, Hits) {
    let hits: Hits = Arc::default();
    async fn flaky(State(hits): State<Hits>, request: Request, next: Next) -> Response {
        let path = request.uri().path().to_string();
        let count = {
            let mut hits = hits.lock().unwrap();
            let count = hits.entry(path.clone()).or_default();
            *count += 1;
            *count
        };
        if path.contains("/items/") && count == 1 {
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        next.run(request).await
    }
    let app = axum::Router::new()
        .fallback_service(tower_http::services::ServeDir::new(root))
        .layer(middleware::from_fn_with_state(hits.clone(), flaky));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_over_http_indexes_with_retries_of_transient_failures() {
    let catalog = sample_copy();
    std::fs::remove_file(catalog.path().join("radar/items/S1A_IW_GRDH_20240103T053012.json")).unwrap();
    let (addr, hits) = serve_flaky(catalog.path().to_path_buf()).await;
    let out = tempfile::tempdir().unwrap();
    let root = format!("http://{addr}/catalog.json");
    let out_path = out.path().to_path_buf();
    let config = sample_data().join("index-config.json");
    let summary = tokio::task::spawn_blocking(move || {
        run_ok(
            &[
                "index",
                &root,
                "--out",
                out_path.to_str().unwrap(),
                "--config",
                config.to_str().unwrap(),
            ],
            &[],
        )
    })
    .await
    .unwrap();
    assert_eq!(summary["report"]["counts"]["items"], 49);

    let mut expected = sample_item_ids();
    expected.retain(|(_, id)| id != "S1A_IW_GRDH_20240103T053012");
    let rows = query(&format!(
        "SELECT collection, id FROM read_parquet('{}') ORDER BY ALL",
        table(out.path(), "items")
    ));
    let got: Vec<(String, String)> = rows.into_iter().map(|r| (r[0].clone(), r[1].clone())).collect();
    assert_eq!(got, expected);
    let hrefs = column(&format!(
        "SELECT href FROM read_parquet('{}')",
        table(out.path(), "items")
    ));
    assert!(hrefs.iter().all(|h| h.starts_with(&format!("http://{addr}/"))));

    // Every item was asked for twice (the 503 was retried); the 404 was not retried.
    let hits = hits.lock().unwrap();
    let item_hits: Vec<u32> = hits
        .iter()
        .filter(|(p, _)| p.contains("/items/"))
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(item_hits.len(), 50);
    let missing = hits["/radar/items/S1A_IW_GRDH_20240103T053012.json"];
    assert_eq!(missing, 2, "the first 503 is retried once, then the 404 is final");
    assert!(item_hits.iter().filter(|n| **n == 2).count() == 50);
    let errors = query(&format!(
        "SELECT uri, kind FROM read_parquet('{}')",
        table(out.path(), "errors")
    ));
    assert_eq!(
        errors,
        vec![vec![
            format!("http://{addr}/radar/items/S1A_IW_GRDH_20240103T053012.json"),
            "fetch".to_string()
        ]]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_root_that_is_down_is_a_fatal_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = tempfile::tempdir().unwrap();
    let out_path = out.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        run(
            &[
                "index",
                &format!("http://127.0.0.1:{port}/catalog.json"),
                "--out",
                out_path.to_str().unwrap(),
                "--http-timeout",
                "2",
            ],
            &[],
        )
    })
    .await
    .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read the root catalog"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(line["status"], "error");
}
