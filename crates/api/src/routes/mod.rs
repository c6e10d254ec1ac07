//! The HTTP routes, one module per resource.

pub mod collections;
pub mod docs;
pub mod items;
pub mod landing;
pub mod mgmt;
pub mod queryables;
pub mod search;

use crate::Error;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};

/// A JSON response with an explicit media type.
pub fn json_response(media_type: &'static str, body: &impl serde::Serialize) -> Response {
    let mut response = axum::Json(body).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(media_type));
    response
}

/// The query pairs of a request URI, decoded, in order.
pub fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

/// Fallback for unknown paths.
pub async fn not_found(uri: Uri) -> Error {
    Error::NotFound(format!("no such resource: {}", uri.path()))
}

/// Fallback for known paths with another method.
pub async fn method_not_allowed(method: axum::http::Method, uri: Uri) -> Error {
    Error::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}

/// Base URL of a request.
pub fn base_url(headers: &HeaderMap, state: &crate::AppState) -> crate::urls::BaseUrl {
    crate::urls::BaseUrl::from_headers(headers, &state.config.root_path)
}
