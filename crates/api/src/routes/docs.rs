//! `/api` (the OpenAPI document) and `/api.html` (Swagger UI, served from
//! assets embedded at build time: no CDN, works offline).

use super::landing::OPENAPI;
use super::{base_url, json_response};
use crate::AppState;
use crate::openapi::document;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use std::sync::Arc;

/// The OpenAPI 3.0 document of this API.
pub(crate) async fn openapi(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = base_url(&headers, &state);
    json_response(OPENAPI, &document(&base.root()))
}

/// The interactive API documentation.
pub(crate) async fn page(State(state): State<AppState>, headers: HeaderMap) -> Html<String> {
    let base = base_url(&headers, &state);
    let assets = base.href(&["api.html", "assets"]);
    let spec = base.href(&["api"]);
    Html(format!(
        r##"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>stac-indexed API</title>
  <link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{assets}/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{ url: "{spec}", dom_id: "#swagger-ui", deepLinking: true }});
  </script>
</body>
</html>
"##
    ))
}

/// Swagger UI's own files.
pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    let config = Arc::new(utoipa_swagger_ui::Config::from("/api"));
    match utoipa_swagger_ui::serve(&file, config) {
        Ok(Some(file)) => {
            let mut response = file.bytes.to_vec().into_response();
            if let Ok(value) = HeaderValue::from_str(&file.content_type) {
                response.headers_mut().insert(CONTENT_TYPE, value);
            }
            response
        }
        _ => crate::Error::NotFound(format!("no such documentation asset: {file}")).into_response(),
    }
}
