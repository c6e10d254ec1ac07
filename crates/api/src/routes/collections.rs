//! `/collections` and `/collections/{collectionId}`, answered from the index.

use super::{base_url, json_response};
use crate::links::{JSON, link, rewrite_collection};
use crate::{AppState, Error, Result};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;

/// Every collection.
#[utoipa::path(get, path = "/collections", tag = "Collections",
    responses((status = 200, description = "The collections", content_type = "application/json")))]
pub(crate) async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let index = state.index.current();
    let base = base_url(&headers, &state);
    let collections: Vec<_> = index
        .collections
        .iter()
        .map(|c| rewrite_collection(&c.json, &c.href, &base, &c.id))
        .collect();
    let body = json!({
        "collections": collections,
        "links": [link("self", base.href(&["collections"]), JSON), link("root", base.root(), JSON)],
        "numberMatched": collections.len(),
        "numberReturned": collections.len(),
    });
    json_response("application/json", &body)
}

/// One collection.
#[utoipa::path(get, path = "/collections/{collectionId}", tag = "Collections",
    params(("collectionId" = String, Path, description = "The collection id")),
    responses((status = 200, description = "The collection", content_type = "application/json"),
              (status = 404, description = "No such collection")))]
pub(crate) async fn get(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response> {
    let index = state.index.current();
    let collection = index
        .collection(&id)
        .ok_or_else(|| Error::NotFound(format!("collection {id:?} does not exist")))?;
    let base = base_url(&headers, &state);
    Ok(json_response(
        "application/json",
        &rewrite_collection(&collection.json, &collection.href, &base, &collection.id),
    ))
}
