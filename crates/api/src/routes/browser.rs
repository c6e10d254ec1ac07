//! `/browser/`: STAC Browser (built by `scripts/build-browser.sh`), served
//! from a directory, and the `config.js` it reads at start, written per
//! request so that it browses this API's own landing page, at whatever URL
//! the request reached it.

use super::base_url;
use crate::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

/// STAC Browser's run-time configuration: the catalog is this API.
pub(crate) async fn config_js(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = base_url(&headers, &state);
    let index = state.index.current();
    let title = state
        .config
        .title
        .clone()
        .or_else(|| index.manifest.catalog.title.clone())
        .unwrap_or_else(|| "stac-indexed".into());
    let config = json!({
        "catalogUrl": base.root(),
        "catalogTitle": title,
        "allowExternalAccess": false,
        "historyMode": "hash",
        "pathPrefix": "/browser/",
    });
    (
        [(CONTENT_TYPE, "application/javascript; charset=utf-8")],
        format!("window.STAC_BROWSER_CONFIG = {config};\n"),
    )
        .into_response()
}

/// `/browser` is the directory `/browser/`.
pub(crate) async fn redirect(State(state): State<AppState>, headers: HeaderMap) -> Redirect {
    Redirect::permanent(&base_url(&headers, &state).href(&["browser", ""]))
}
