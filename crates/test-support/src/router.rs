//! The API's router in-process over an index of a catalog: requests sent
//! without a socket, responses read whole.

use crate::pages::{link, local, with_query};
use crate::sample::{read_json, sample_config, sample_data};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::Value;
use stac_indexed_api::{ApiConfig, HttpOptions, IndexHandle};
use stac_indexed_format::IndexConfig;
use stac_indexed_indexer::{IndexOptions, Progress, Source};
use stac_indexed_io::{Io, IoOptions, Uri};
use std::path::Path;
use std::sync::Arc;
use tempfile::TempDir;
use tower::ServiceExt;

/// The I/O layer with its default options.
pub fn io() -> Arc<Io> {
    Arc::new(Io::new(IoOptions::default()).unwrap())
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

/// The router over one index, and what it needs to stay alive.
pub struct Api {
    /// The router, as the server runs it.
    pub app: Router,
    /// The index version's id.
    pub index_id: String,
    /// The index version's manifest.
    pub manifest: Value,
    /// The index and cache folders, removed on drop.
    pub _dirs: Vec<TempDir>,
}

impl Api {
    /// Indexes `catalog` (its catalog.json) and serves it with `config`.
    pub async fn new(catalog: &Path, index_config: IndexConfig, config: ApiConfig) -> Api {
        let out = tempfile::tempdir().unwrap();
        index_catalog(&catalog.join("catalog.json"), index_config, out.path()).await;
        let mut api = Api::open(out.path(), config).await;
        api._dirs.push(out);
        api
    }

    /// Serves the index published in `out` with `config`.
    pub async fn open(out: &Path, config: ApiConfig) -> Api {
        let cache = tempfile::tempdir().unwrap();
        let manifest = read_json(&out.join("manifest.json"));
        let config = ApiConfig {
            reload_interval: None,
            cache_dir: cache.path().to_path_buf(),
            ..config
        };
        let handle = IndexHandle::open(
            Uri::from_path(&out.join("manifest.json")).unwrap(),
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
            _dirs: vec![cache],
        }
    }

    /// The sample catalog with the default settings.
    pub async fn sample() -> Api {
        Api::new(&sample_data(), sample_config(), ApiConfig::default()).await
    }

    /// Sends a request; the response, read whole.
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

    /// GET a path (and query).
    pub async fn get(&self, uri: &str) -> Reply {
        self.send(Request::get(uri).body(Body::empty()).unwrap()).await
    }

    /// GET a path with request headers.
    pub async fn get_with(&self, uri: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = Request::get(uri);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// POST a JSON body to a path.
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
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON; a body that is not JSON fails.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}), status {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// A header, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `content-type`, or "".
    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or_default()
    }

    /// The body as text (lossy).
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
