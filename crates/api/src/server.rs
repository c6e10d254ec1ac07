//! The router and its middleware.

use crate::fetch::ItemFetcher;
use crate::index::IndexHandle;
use crate::paging::TokenCodec;
use crate::routes::{self, collections, docs, items, landing, mgmt, search};
use crate::{ApiConfig, AppState};
use axum::Router;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::routing::get;
use stac_indexed_io::Io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// HTTP-level settings.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Allowed CORS origins; empty means any.
    pub cors_origins: Vec<String>,
    /// How long a request may take.
    pub request_timeout: Duration,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            cors_origins: Vec::new(),
            request_timeout: Duration::from_secs(30),
            body_limit: 1024 * 1024,
        }
    }
}

/// The routes, without middleware.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(landing::landing))
        .route("/conformance", get(landing::conformance))
        .route("/collections", get(collections::list))
        .route("/collections/{collection_id}", get(collections::get))
        .route("/collections/{collection_id}/items", get(items::list))
        .route(
            "/collections/{collection_id}/items/{item_id}",
            get(items::get),
        )
        .route("/search", get(search::get).post(search::post))
        .route("/api", get(docs::openapi))
        .route("/api.html", get(docs::page))
        .route("/api.html/assets/{*file}", get(docs::asset))
        .route("/_mgmt/ping", get(mgmt::ping))
        .route("/_mgmt/health", get(mgmt::health))
        .route("/status/errors", get(mgmt::errors))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .with_state(state)
}

/// The whole application: routes, state and middleware.
pub fn app(index: Arc<IndexHandle>, io: Arc<Io>, config: ApiConfig, http: &HttpOptions) -> Router {
    let state = AppState {
        index,
        fetcher: Arc::new(ItemFetcher::new(
            io,
            config.fetch_concurrency,
            config.item_cache_bytes,
        )),
        tokens: TokenCodec::new(&config.token_secret),
        config: Arc::new(config),
    };
    let request_id = HeaderName::from_static("x-request-id");
    router(state)
        .layer(CompressionLayer::new().gzip(true).br(true))
        .layer(cors(&http.cors_origins))
        .layer(RequestBodyLimitLayer::new(http.body_limit))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            http.request_timeout,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, RequestIds::default()))
}

fn cors(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new().allow_methods(Any).allow_headers(Any);
    if origins.is_empty() || origins.iter().any(|o| o == "*") {
        return layer.allow_origin(Any);
    }
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    layer.allow_origin(AllowOrigin::list(origins))
}

/// Request ids: a per-process random prefix and a counter.
#[derive(Clone)]
struct RequestIds {
    prefix: u32,
    next: Arc<AtomicU64>,
}

impl Default for RequestIds {
    fn default() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        RequestIds {
            prefix: nanos ^ std::process::id(),
            next: Arc::new(AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{:08x}-{n}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}
