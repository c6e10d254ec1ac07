//! The HTTP routes, one module per resource.

pub(crate) mod aggregate;
pub(crate) mod browser;
pub(crate) mod catalogs;
pub(crate) mod collections;
pub(crate) mod docs;
pub(crate) mod items;
pub(crate) mod landing;
pub(crate) mod mgmt;
pub(crate) mod queryables;
pub(crate) mod search;

use crate::Error;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};

/// A JSON response with an explicit media type.
pub(crate) fn json_response(media_type: &'static str, body: &impl serde::Serialize) -> Response {
    let mut response = axum::Json(body).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(media_type));
    response
}

/// The query pairs of a request URI, decoded, in order. A parameter given
/// more than once is a client's mistake (every parameter of the API takes
/// one value; lists are comma-separated), refused rather than silently
/// resolved to one of its values.
pub(crate) fn query_pairs(uri: &Uri) -> Result<Vec<(String, String)>, Error> {
    let pairs: Vec<(String, String)> = uri
        .query()
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let mut seen = std::collections::HashSet::with_capacity(pairs.len());
    match pairs.iter().find(|(name, _)| !seen.insert(name.as_str())) {
        Some((name, _)) => Err(Error::bad_request(format!(
            "parameter {name:?} is given more than once; give it once (lists are comma-separated)"
        ))),
        None => Ok(pairs),
    }
}

/// Fallback for unknown paths.
pub(crate) async fn not_found(uri: Uri) -> Error {
    Error::NotFound(format!("no such resource: {}", uri.path()))
}

/// Fallback for known paths with another method.
pub(crate) async fn method_not_allowed(method: axum::http::Method, uri: Uri) -> Error {
    Error::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}

/// Base URL of a request.
pub(crate) fn base_url(headers: &HeaderMap, state: &crate::AppState) -> crate::urls::BaseUrl {
    crate::urls::BaseUrl::from_headers(headers, &state.config.root_path)
}
