//! `/collections/{collectionId}/items` and `/collections/{collectionId}/items/{itemId}`.

use super::search::{export, export_format, parse_query, respond};
use super::{base_url, json_response, query_pairs};
use crate::links::{GEOJSON, rewrite_item};
use crate::search::Original;
use crate::{AppState, Error, Result};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;

/// The items of one collection, paged.
#[utoipa::path(get, path = "/collections/{collectionId}/items", tag = "Features",
    params(
        ("collectionId" = String, Path, description = "The collection id"),
        ("bbox" = Option<String>, Query, min_length = 1, description = "minx,miny,maxx,maxy (or 6 numbers with heights)"),
        ("datetime" = Option<String>, Query, min_length = 1, description = "An RFC 3339 instant or interval"),
        ("filter" = Option<String>, Query, min_length = 1, description = "A CQL2 filter over the collection's queryables"),
        ("filter-lang" = Option<String>, Query, pattern = "^(cql2-text|cql2-json)$", description = "`cql2-text` (default) or `cql2-json`"),
        ("sortby" = Option<String>, Query, description = "Sort fields, comma separated, `-` for descending"),
        ("fields" = Option<String>, Query, description = "Members to include or (`-`) exclude"),
        ("query" = Option<String>, Query, min_length = 1, description = "A query-extension object as JSON text"),
        ("q" = Option<String>, Query, min_length = 1, description = "Free text over title, description and keywords"),
        ("limit" = Option<i64>, Query, minimum = 1, description = "Page size (default 10, larger values are clamped to the maximum)"),
        ("token" = Option<String>, Query, description = "Paging token from a next or prev link"),
        ("f" = Option<String>, Query, pattern = "^(json|geojson|ndjson|parquet)?$", description = "`ndjson` or `parquet`: every match as one file instead of a page (or an Accept header naming its media type)"),
    ),
    responses((status = 200, description = "A page of the collection's items (or, with f=ndjson|parquet, every match)", content(("application/geo+json"), ("application/x-ndjson"), ("application/vnd.apache.parquet"))),
              (status = 400, description = "An invalid parameter"),
              (status = 404, description = "No such collection")))]
pub(crate) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(collection): Path<String>,
    uri: Uri,
) -> Result<Response> {
    if state.index.current().collection(&collection).is_none() {
        return Err(Error::NotFound(format!("collection {collection:?} does not exist")));
    }
    let pairs = query_pairs(&uri)?;
    let search = parse_query(&pairs, &state).await?;
    if let Some(format) = export_format(&pairs, &headers)? {
        return export(&state, base_url(&headers, &state), search, Some(&collection), format).await;
    }
    respond(
        &state,
        &base_url(&headers, &state),
        search,
        Original::Query(pairs),
        Some(&collection),
    )
    .await
}

/// One item.
#[utoipa::path(get, path = "/collections/{collectionId}/items/{itemId}", tag = "Features",
    params(("collectionId" = String, Path, description = "The collection id"),
           ("itemId" = String, Path, description = "The item id")),
    responses((status = 200, description = "The item", content_type = "application/geo+json"),
              (status = 404, description = "No such collection or item"),
              (status = 502, description = "The item is indexed but its source cannot be read")))]
pub(crate) async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((collection, id)): Path<(String, String)>,
) -> Result<Response> {
    let index = state.index.current();
    if index.collection(&collection).is_none() {
        return Err(Error::NotFound(format!("collection {collection:?} does not exist")));
    }
    let hit = index
        .engine
        .item(&collection, &id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("item {id:?} does not exist in collection {collection:?}")))?;
    let document = state.fetcher.fetch(&hit).await?;
    let source = stac_indexed_io::Uri::parse(&hit.href).ok();
    let item = rewrite_item(
        document,
        source.as_ref(),
        &base_url(&headers, &state),
        &hit.collection,
        &hit.id,
    );
    Ok(json_response(GEOJSON, &item))
}
