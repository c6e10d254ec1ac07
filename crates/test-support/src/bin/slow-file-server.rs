//! A static file server that answers every request after a fixed delay: a
//! stand-in for a distant HTTP(S) origin in indexing benchmarks
//! (scripts/bench-index-http.sh). Files are read on the async workers
//! (small, and in the page cache): the server must not be what is measured.
//!
//! `slow-file-server <DIR> <PORT> <DELAY_MS>`; prints `ready` once listening.

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, port, delay_ms] = args.as_slice() else {
        eprintln!("usage: slow-file-server <DIR> <PORT> <DELAY_MS>");
        std::process::exit(2);
    };
    let root = Arc::new(PathBuf::from(dir));
    let delay = Duration::from_millis(delay_ms.parse().expect("DELAY_MS is a number"));
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let root = root.clone();
        async move {
            tokio::time::sleep(delay).await;
            serve_file(&root, uri.path())
        }
    });
    let port: u16 = port.parse().expect("PORT is a number");
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the port is free");
    println!("ready");
    axum::serve(listener, app).await.expect("the server runs");
}

fn serve_file(root: &Path, path: &str) -> Response {
    let relative = Path::new(path.trim_start_matches('/'));
    if relative.components().any(|c| !matches!(c, Component::Normal(_))) {
        return StatusCode::BAD_REQUEST.into_response();
    }
    match std::fs::read(root.join(relative)) {
        Ok(bytes) => ([("content-type", "application/json")], bytes).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}
