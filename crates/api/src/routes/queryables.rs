//! `/queryables`, `/sortables` and their per-collection forms: JSON Schemas
//! of what searches may filter and sort on, from the index config.

use super::{base_url, json_response};
use crate::links::SCHEMA_JSON;
use crate::{AppState, Error, Result};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use stac_indexed_filter::Queryable;

/// What every collection's items may be filtered on.
#[utoipa::path(get, path = "/queryables", tag = "Filter",
    responses((status = 200, description = "A JSON Schema of the queryables of all collections", content_type = "application/schema+json")))]
pub(crate) async fn global_queryables(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    document(&state, &headers, None, Which::Queryables)
}

/// What one collection's items may be filtered on.
#[utoipa::path(get, path = "/collections/{collectionId}/queryables", tag = "Filter",
    params(("collectionId" = String, Path, description = "The collection id")),
    responses((status = 200, description = "A JSON Schema of the collection's queryables", content_type = "application/schema+json"),
              (status = 404, description = "No such collection")))]
pub(crate) async fn collection_queryables(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(collection): Path<String>,
) -> Result<Response> {
    document(&state, &headers, Some(collection), Which::Queryables)
}

/// What every collection's items may be sorted on.
#[utoipa::path(get, path = "/sortables", tag = "Sort",
    responses((status = 200, description = "A JSON Schema of the sortables of all collections", content_type = "application/schema+json")))]
pub(crate) async fn global_sortables(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    document(&state, &headers, None, Which::Sortables)
}

/// What one collection's items may be sorted on.
#[utoipa::path(get, path = "/collections/{collectionId}/sortables", tag = "Sort",
    params(("collectionId" = String, Path, description = "The collection id")),
    responses((status = 200, description = "A JSON Schema of the collection's sortables", content_type = "application/schema+json"),
              (status = 404, description = "No such collection")))]
pub(crate) async fn collection_sortables(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(collection): Path<String>,
) -> Result<Response> {
    document(&state, &headers, Some(collection), Which::Sortables)
}

/// What collection searches may filter on.
#[utoipa::path(get, path = "/collections/queryables", tag = "Filter",
    responses((status = 200, description = "A JSON Schema of the collection queryables", content_type = "application/schema+json")))]
pub(crate) async fn collections_queryables(State(state): State<AppState>, headers: HeaderMap) -> Response {
    collections_document(&state, &headers, Which::Queryables)
}

/// What collection searches may sort on.
#[utoipa::path(get, path = "/collections/sortables", tag = "Sort",
    responses((status = 200, description = "A JSON Schema of the collection sortables", content_type = "application/schema+json")))]
pub(crate) async fn collections_sortables(State(state): State<AppState>, headers: HeaderMap) -> Response {
    collections_document(&state, &headers, Which::Sortables)
}

fn collections_document(state: &AppState, headers: &HeaderMap, which: Which) -> Response {
    let index = state.index.current();
    let id = base_url(headers, state).href(&["collections", which.segment()]);
    let title = format!("The {} of collection search", which.segment());
    let scope = index.collection_search.queryables().scope(None);
    json_response(SCHEMA_JSON, &scope.json_schema(&id, &title, which.includes()))
}

#[derive(Clone, Copy)]
enum Which {
    Queryables,
    Sortables,
}

impl Which {
    fn segment(self) -> &'static str {
        match self {
            Which::Queryables => "queryables",
            Which::Sortables => "sortables",
        }
    }

    fn includes(self) -> fn(&Queryable) -> bool {
        match self {
            Which::Queryables => |q| q.queryable,
            Which::Sortables => |q| q.sortable,
        }
    }
}

fn document(state: &AppState, headers: &HeaderMap, collection: Option<String>, which: Which) -> Result<Response> {
    let index = state.index.current();
    let base = base_url(headers, state);
    let (id, title, collections) = match collection {
        None => (
            base.href(&[which.segment()]),
            format!("The {} of every collection", which.segment()),
            None,
        ),
        Some(collection) => {
            if index.collection(&collection).is_none() {
                return Err(Error::NotFound(format!("collection {collection:?} does not exist")));
            }
            let id = base.href(&["collections", &collection, which.segment()]);
            let title = format!("The {} of collection {collection}", which.segment());
            (id, title, Some(vec![collection]))
        }
    };
    let scope = index.queryables.scope(collections.as_deref());
    Ok(json_response(
        SCHEMA_JSON,
        &scope.json_schema(&id, &title, which.includes()),
    ))
}
