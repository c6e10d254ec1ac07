//! `/catalogs/{key}`, `/catalogs/{key}/children` and `/children`: the
//! catalog tree ([`crate::browse`]).

use super::{base_url, json_response};
use crate::browse::{self, children_document, node_document};
use crate::links::JSON;
use crate::{AppState, Error, Result};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

/// The landing page's children.
#[utoipa::path(get, path = "/children", tag = "Browse",
    responses((status = 200, description = "The catalogs and collections the landing page links as its children", content_type = "application/json")))]
pub(crate) async fn root_children(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let index = state.index.current();
    let base = base_url(&headers, &state);
    let children = browse::landing_children(&index);
    let parent = browse::landing_link("parent", &base);
    let body = children_document(&index, &base, &children, base.href(&["children"]), parent).await?;
    Ok(json_response(JSON, &body))
}

/// One catalog of the tree, with its child and item links.
#[utoipa::path(get, path = "/catalogs/{catalogKey}", tag = "Browse",
    params(("catalogKey" = String, Path, description = "The catalog's key: its id (with -2, -3… when several catalogs share it)")),
    responses((status = 200, description = "The catalog", content_type = "application/json"),
              (status = 404, description = "No such catalog")))]
pub(crate) async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<Response> {
    let index = state.index.current();
    let position = catalog(&index, &key)?;
    let base = base_url(&headers, &state);
    let document = node_document(&index, &base, position)
        .await?
        .ok_or_else(|| Error::NotFound(format!("catalog {key:?} does not exist")))?;
    Ok(json_response(JSON, &document))
}

/// The children of one catalog of the tree.
#[utoipa::path(get, path = "/catalogs/{catalogKey}/children", tag = "Browse",
    params(("catalogKey" = String, Path, description = "The catalog's key")),
    responses((status = 200, description = "The catalogs and collections the catalog links as its children", content_type = "application/json"),
              (status = 404, description = "No such catalog")))]
pub(crate) async fn children(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<Response> {
    let index = state.index.current();
    let position = catalog(&index, &key)?;
    let base = base_url(&headers, &state);
    let node = index.tree.node(position);
    let body = children_document(
        &index,
        &base,
        &node.children,
        base.href(&["catalogs", &key, "children"]),
        browse::node_link("parent", &index, &base, position),
    )
    .await?;
    Ok(json_response(JSON, &body))
}

fn catalog(index: &crate::index::IndexVersion, key: &str) -> Result<usize> {
    index
        .tree
        .catalog(key)
        .ok_or_else(|| Error::NotFound(format!("catalog {key:?} does not exist")))
}
