//! `/collections` and `/collections/{collectionId}`, answered from the index.

//!
//! `GET /collections` is collection search too: with no parameter it lists
//! every collection; `bbox`, `datetime`, `q`, `filter`, `sortby` and `limit`
//! select and page them (the engine's [`stac_indexed_engine::collections`]).

use super::search::{PageLinks, off_runtime, parse_body};
use super::{base_url, json_response, query_pairs};
use crate::browse;
use crate::fetch::RawItem;
use crate::fields::{Document, Fields};
use crate::links::{JSON, rewrite_collection};
use crate::search::{Limits, Original, SearchParams, parsing_is_heavy};
use crate::urls::BaseUrl;
use crate::{AppState, Error, Result};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use bytes::Bytes;
use serde_json::value::to_raw_value;
use serde_json::{Value, json};
use stac_indexed_engine::sort;

/// The parameters of collection search; any other is a 400.
const PARAMETERS: [&str; 10] = [
    "fields",
    "bbox",
    "datetime",
    "q",
    "filter",
    "filter-lang",
    "filter-crs",
    "sortby",
    "limit",
    "token",
];

/// The collections, all of them or those a collection search selects.
#[utoipa::path(get, path = "/collections", tag = "Collections",
    params(
        ("bbox" = Option<String>, Query, min_length = 1, description = "minx,miny,maxx,maxy: collections whose spatial extent meets it"),
        ("datetime" = Option<String>, Query, min_length = 1, description = "An RFC 3339 instant or interval: collections whose temporal extent meets it"),
        ("q" = Option<String>, Query, min_length = 1, description = "Free text over id, title, description and keywords"),
        ("filter" = Option<String>, Query, min_length = 1, description = "A CQL2 filter over the collection queryables (/collections/queryables)"),
        ("filter-lang" = Option<String>, Query, pattern = "^(cql2-text|cql2-json)$", description = "`cql2-text` (default) or `cql2-json`"),
        ("filter-crs" = Option<String>, Query, description = "Only `http://www.opengis.net/def/crs/OGC/1.3/CRS84`"),
        ("sortby" = Option<String>, Query, description = "Sort fields (/collections/sortables), `-` for descending"),
        ("limit" = Option<i64>, Query, minimum = 1, description = "Page size (default: every collection, up to the maximum limit)"),
        ("token" = Option<String>, Query, description = "Paging token from a next or prev link"),
        ("fields" = Option<String>, Query, description = "Members to include or (`-`) exclude, as written in the collection: `id,title,extent.temporal`"),
    ),
    responses((status = 200, description = "The collections", content_type = "application/json"),
              (status = 400, description = "An invalid or unknown parameter")))]
pub(crate) async fn list(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Result<Response> {
    let pairs = query_pairs(&uri)?;
    refuse_unknown(pairs.iter().map(|(name, _)| name.as_str()))?;
    let limits = limits(&state);
    let heavy = parsing_is_heavy(pairs.iter().map(|(name, _)| name.as_str()));
    let fields = pairs
        .iter()
        .rev()
        .find(|(name, _)| name == "fields")
        .map(|(_, text)| Fields::from_query_for(text, Document::Collection))
        .transpose()?;
    let query: Vec<(String, String)> = pairs.iter().filter(|(name, _)| name != "fields").cloned().collect();
    let params = off_runtime(heavy, move || SearchParams::from_query(&query, limits)).await?;
    let base = base_url(&headers, &state);
    search(&state, &base, params, fields, Original::Query(pairs), "collections").await
}

/// Collection search with a JSON body (for long filters).
#[utoipa::path(post, path = "/collections-search", tag = "Collections",
    request_body(content = Option<Object>, content_type = "application/json",
        description = "bbox, datetime, q, filter, filter-lang, filter-crs, sortby, limit, token"),
    responses((status = 200, description = "The collections the search selects", content_type = "application/json"),
              (status = 400, description = "An invalid or unknown parameter")))]
pub(crate) async fn search_post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response> {
    let body = parse_body(&body)?;
    refuse_unknown(body.keys().map(String::as_str))?;
    let fields = body
        .get("fields")
        .map(|value| Fields::from_json_for(value, Document::Collection))
        .transpose()?;
    let limits = limits(&state);
    let heavy = parsing_is_heavy(body.keys().map(String::as_str));
    let (params, body) = off_runtime(heavy, move || {
        let mut search = body.clone();
        search.remove("fields");
        SearchParams::from_body(&search, limits).map(|p| (p, body))
    })
    .await?;
    let base = base_url(&headers, &state);
    search(
        &state,
        &base,
        params,
        fields,
        Original::Body(body),
        "collections-search",
    )
    .await
}

/// A collection with only the fields asked for.
fn project(collection: Value, fields: Option<&Fields>) -> Value {
    let (Some(fields), Value::Object(members)) = (fields, &collection) else {
        return collection;
    };
    let raw: RawItem = members
        .iter()
        .filter_map(|(name, value)| to_raw_value(value).ok().map(|raw| (name.clone(), raw)))
        .collect();
    serde_json::to_value(fields.apply(raw)).unwrap_or(collection)
}

/// Without a `limit`, every collection (up to the maximum).
fn limits(state: &AppState) -> Limits {
    let max = state.config.max_limit;
    Limits { default: max, max }
}

fn refuse_unknown<'a>(mut names: impl Iterator<Item = &'a str>) -> Result<()> {
    match names.find(|name| !PARAMETERS.contains(name)) {
        None => Ok(()),
        Some(name) => Err(Error::bad_request(format!(
            "{name:?} is not a collection search parameter; use {}",
            PARAMETERS.join(", ")
        ))),
    }
}

async fn search(
    state: &AppState,
    base: &BaseUrl,
    params: SearchParams,
    fields: Option<Fields>,
    original: Original,
    path: &str,
) -> Result<Response> {
    let index = state.index.current();
    let SearchParams { search, token, .. } = params;
    let sort = sort::signature(&search.sortby);
    let keyset = token
        .as_deref()
        .map(|token| state.tokens.decode(token, index.id()))
        .transpose()?
        .map(|cursor| cursor.keyset(&sort))
        .transpose()?;
    let page = index.collection_search.page(search, keyset).await?;
    let collections: Vec<Value> = page
        .hits
        .iter()
        .filter_map(|hit| index.collection(&hit.id))
        .map(|c| {
            let parent = browse::collection_parent(&index, base, &c.id);
            project(
                rewrite_collection(&c.json, &c.href, base, &c.id, parent),
                fields.as_ref(),
            )
        })
        .collect();
    let links = PageLinks {
        base,
        path: &[path],
        original: &original,
        media_type: JSON,
        sort: &sort,
        matched: None,
    }
    .of(state, index.id(), &page);
    let body = json!({
        "collections": collections,
        "links": links,
        "numberMatched": page.matched,
        "numberReturned": collections.len(),
    });
    Ok(json_response(JSON, &body))
}

/// One collection, with its child and item links in the catalog tree.
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
    let in_tree = match index.tree.collection(&id) {
        Some(position) => browse::node_document(&index, &base, position).await?,
        None => None,
    };
    let document = in_tree.unwrap_or_else(|| {
        let parent = browse::landing_link("parent", &base);
        rewrite_collection(&collection.json, &collection.href, &base, &collection.id, parent)
    });
    Ok(json_response("application/json", &document))
}
