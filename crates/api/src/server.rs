//! The router and its middleware.

use crate::caching::{self, CacheHeaders};
use crate::fetch::ItemFetcher;
use crate::index::IndexHandle;
use crate::paging::TokenCodec;
use crate::routes::search::{MISSING_ITEMS_HEADER, NUMBER_MATCHED_HEADER};
use crate::routes::{self, aggregate, browser, catalogs, collections, docs, items, landing, mgmt, queryables, search};
use crate::{ApiConfig, AppState};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use stac_indexed_io::Io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
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
            body_limit: 8 * 1024 * 1024,
        }
    }
}

/// The routes, without middleware.
pub fn router(state: AppState) -> Router {
    let browser = state.config.browser_dir.clone();
    let routes = Router::new()
        .route("/", get(landing::landing))
        .route("/conformance", get(landing::conformance))
        .route("/collections", get(collections::list))
        .route("/collections-search", axum::routing::post(collections::search_post))
        .route("/collections/queryables", get(queryables::collections_queryables))
        .route("/collections/sortables", get(queryables::collections_sortables))
        .route("/collections/{collection_id}", get(collections::get))
        .route("/collections/{collection_id}/items", get(items::list))
        .route("/collections/{collection_id}/items/{item_id}", get(items::get))
        .route(
            "/collections/{collection_id}/queryables",
            get(queryables::collection_queryables),
        )
        .route(
            "/collections/{collection_id}/sortables",
            get(queryables::collection_sortables),
        )
        .route("/children", get(catalogs::root_children))
        .route("/catalogs/{catalog_key}", get(catalogs::get))
        .route("/catalogs/{catalog_key}/children", get(catalogs::children))
        .route("/queryables", get(queryables::global_queryables))
        .route("/sortables", get(queryables::global_sortables))
        .route("/search", get(search::get).post(search::post))
        .route("/aggregate", get(aggregate::get).post(aggregate::post))
        .route("/aggregations", get(aggregate::list))
        .route(
            "/collections/{collection_id}/aggregate",
            get(aggregate::collection_get).post(aggregate::collection_post),
        )
        .route(
            "/collections/{collection_id}/aggregations",
            get(aggregate::collection_list),
        )
        .route("/api", get(docs::openapi))
        .route("/api.html", get(docs::page))
        .route("/api.html/assets/{*file}", get(docs::asset))
        .route("/_mgmt/ping", get(mgmt::ping))
        .route("/_mgmt/health", get(mgmt::health))
        .route("/status/errors", get(mgmt::errors))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed);
    let routes = match browser {
        Some(dir) => routes
            .route("/browser", get(browser::redirect))
            .route("/browser/config.js", get(browser::config_js))
            .nest_service("/browser/", tower_http::services::ServeDir::new(dir)),
        None => routes,
    };
    routes.with_state(state)
}

/// The whole application: routes, state and middleware.
pub fn app(index: Arc<IndexHandle>, io: Arc<Io>, config: ApiConfig, http: &HttpOptions) -> Router {
    let state = AppState {
        index,
        fetcher: Arc::new(ItemFetcher::new(
            io,
            config.fetch_concurrency,
            config.item_fetch_budget,
            config.item_cache_bytes,
            config.item_cache_ttl,
        )),
        tokens: TokenCodec::new(&config.token_secret),
        config: Arc::new(config),
    };
    let cache = Arc::new(state.config.cache_policy.headers());
    with_middleware(router(state), http, cache)
}

/// Wraps routes in the middleware, inner to outer: limits first, then every
/// error in the STAC shape, then compression, HTTP caching (tags of the
/// bytes as sent), CORS (so browsers can read errors too), tracing, request ids.
fn with_middleware(routes: Router, http: &HttpOptions, cache: Arc<CacheHeaders>) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    routes
        // The configured limit is the only one (not also axum's 2 MB default).
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(http.body_limit))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            http.request_timeout,
        ))
        .layer(axum::middleware::map_response(stac_error_shape))
        .layer(CompressionLayer::new().gzip(true).br(true))
        .layer(axum::middleware::from_fn_with_state(cache, caching::caching))
        .layer(cors(&http.cors_origins))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, RequestIds::default()))
}

/// Gives error responses made by middleware (413, 408, ...) the STAC error
/// shape; the handlers' own errors already have it.
async fn stac_error_shape(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let description = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large".to_string(),
        StatusCode::REQUEST_TIMEOUT => "the request took too long".to_string(),
        other => other.canonical_reason().unwrap_or("error").to_string(),
    };
    let code = status.canonical_reason().unwrap_or("Error").replace(' ', "");
    let mut shaped = (
        status,
        axum::Json(serde_json::json!({"code": code, "description": description})),
    )
        .into_response();
    for (name, value) in response.headers() {
        if name != CONTENT_TYPE && name != CONTENT_LENGTH {
            shaped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    shaped
}

fn cors(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new().allow_methods(Any).allow_headers(Any).expose_headers([
        axum::http::header::ETAG,
        HeaderName::from_static(MISSING_ITEMS_HEADER),
        HeaderName::from_static(NUMBER_MATCHED_HEADER),
    ]);
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    #[tokio::test]
    async fn middleware_errors_have_the_stac_shape_and_cors_headers() {
        let routes = Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
        let http = HttpOptions {
            request_timeout: Duration::from_millis(50),
            ..HttpOptions::default()
        };
        let request = Request::get("/slow")
            .header("origin", "https://x.example")
            .body(Body::empty())
            .unwrap();
        let response = with_middleware(routes, &http, Arc::new(crate::CachePolicy::default().headers()))
            .oneshot(request)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        assert!(response.headers().contains_key("x-request-id"));
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "RequestTimeout");
        assert!(body["description"].as_str().unwrap().contains("too long"));
    }
}
