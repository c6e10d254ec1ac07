//! `GET` and `POST /search`, and the paged FeatureCollection answer that
//! `/collections/{id}/items` shares.

use super::{base_url, json_response, query_pairs};
use crate::fetch::RawItem;
use crate::links::{GEOJSON, JSON, link, rewrite_item};
use crate::paging::{Cursor, Direction, Keyset};
use crate::query::{self, Filter, Hit, Page};
use crate::search::{Original, Search};
use crate::sort::{self, Order};
use crate::urls::BaseUrl;
use crate::{AppState, Error, Result};
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Map, Value, json};

/// Item search with query parameters.
#[utoipa::path(get, path = "/search", tag = "Item Search",
    params(
        ("ids" = Option<String>, Query, description = "Comma-separated item ids"),
        ("collections" = Option<String>, Query, description = "Comma-separated collection ids"),
        ("bbox" = Option<String>, Query, description = "minx,miny,maxx,maxy (or 6 numbers with heights)"),
        ("intersects" = Option<String>, Query, description = "A GeoJSON geometry, as JSON text"),
        ("datetime" = Option<String>, Query, description = "An RFC 3339 instant or interval (open ends: `..` or empty)"),
        ("limit" = Option<i64>, Query, description = "Page size (default 10, larger values are clamped to the maximum)"),
        ("token" = Option<String>, Query, description = "Paging token from a next or prev link"),
    ),
    responses((status = 200, description = "A page of items", content_type = "application/geo+json"),
              (status = 400, description = "An invalid parameter"),
              (status = 409, description = "The index changed since the search began: restart without the token")))]
pub async fn get(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Result<Response> {
    let pairs = query_pairs(&uri);
    let search = Search::from_query(&pairs, state.limits())?;
    respond(
        &state,
        &base_url(&headers, &state),
        search,
        Original::Query(pairs),
        None,
    )
    .await
}

/// Item search with a JSON body.
#[utoipa::path(post, path = "/search", tag = "Item Search",
    request_body(content = Object, content_type = "application/json",
        description = "ids, collections, bbox, intersects, datetime, limit, token"),
    responses((status = 200, description = "A page of items", content_type = "application/geo+json"),
              (status = 400, description = "An invalid parameter"),
              (status = 409, description = "The index changed since the search began: restart without the token")))]
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response> {
    let body = parse_body(&body)?;
    let search = Search::from_body(&body, state.limits())?;
    respond(&state, &base_url(&headers, &state), search, Original::Body(body), None).await
}

/// A JSON object body, or a 400 that says what is wrong.
pub fn parse_body(body: &[u8]) -> Result<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::bad_request("the request body must be a JSON object")),
        Err(e) => Err(Error::bad_request(format!("the request body is not valid JSON: {e}"))),
    }
}

/// Runs a search and answers with a FeatureCollection page.
pub async fn respond(
    state: &AppState,
    base: &BaseUrl,
    search: Search,
    original: Original,
    collection: Option<&str>,
) -> Result<Response> {
    let index = state.index.current();
    let collections = collection
        .map(|c| vec![c.to_string()])
        .or_else(|| search.collections.clone());
    let scope = index.queryables.scope(collections.as_deref());
    let order = Order::resolve(&search.sortby, &scope)?;
    let sort = sort::signature(&search.sortby);
    let keyset = search
        .token
        .as_deref()
        .map(|token| state.tokens.decode(token, index.id())?.keyset(&sort))
        .transpose()?;
    let limit = search.limit;
    let page: Page = match index.directory() {
        Some(directory) if order.is_default() => {
            directory.page(&search, collection, keyset.as_ref().map(Keyset::boundary), limit)
        }
        _ => {
            let filter = Filter::of(&search, collection)?;
            index
                .pool
                .run(move |connection| query::page(connection, &filter, &order, keyset.as_ref(), limit))
                .await?
        }
    };
    let documents = state.fetcher.fetch_all(&page.hits).await?;
    let features: Vec<RawItem> = documents
        .into_iter()
        .zip(&page.hits)
        .map(|(document, hit)| {
            let source = stac_indexed_io::Uri::parse(&hit.href).ok();
            rewrite_item(document, source.as_ref(), base, &hit.collection, &hit.id)
        })
        .collect();
    let path: Vec<&str> = match collection {
        Some(id) => vec!["collections", id, "items"],
        None => vec!["search"],
    };
    let mut links = vec![self_link(base, &path, &original), link("root", base.root(), JSON)];
    let token_at = |direction: Direction, hit: &Hit| {
        let mut key = hit.sort_key.clone();
        key.push(json!(hit.seq));
        state.tokens.encode(&Cursor {
            index_id: index.id().to_string(),
            direction,
            key,
            sort: sort.clone(),
        })
    };
    if let (true, Some(last)) = (page.has_next, page.hits.last()) {
        links.push(paging_link(
            "next",
            base,
            &path,
            &original,
            token_at(Direction::Next, last),
        ));
    }
    if let (true, Some(first)) = (page.has_prev, page.hits.first()) {
        links.push(paging_link(
            "prev",
            base,
            &path,
            &original,
            token_at(Direction::Prev, first),
        ));
    }
    let body = FeatureCollection {
        kind: "FeatureCollection",
        number_matched: page.matched,
        number_returned: features.len(),
        features,
        links,
    };
    Ok(json_response(GEOJSON, &body))
}

/// A page of items as served.
#[derive(serde::Serialize)]
struct FeatureCollection {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "numberMatched")]
    number_matched: u64,
    #[serde(rename = "numberReturned")]
    number_returned: usize,
    features: Vec<RawItem>,
    links: Vec<Value>,
}

fn self_link(base: &BaseUrl, path: &[&str], original: &Original) -> Value {
    match original {
        Original::Query(pairs) => link("self", base.href_with_query(path, pairs), GEOJSON),
        Original::Body(_) => link("self", base.href(path), GEOJSON),
    }
}

/// A next/prev link: GET carries the original query plus the token; POST
/// carries method POST and the original body plus the token.
fn paging_link(rel: &str, base: &BaseUrl, path: &[&str], original: &Original, token: String) -> Value {
    match original {
        Original::Query(pairs) => {
            let mut pairs: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "token").cloned().collect();
            pairs.push(("token".into(), token));
            link(rel, base.href_with_query(path, &pairs), GEOJSON)
        }
        Original::Body(body) => {
            let mut body = body.clone();
            body.insert("token".into(), Value::String(token));
            json!({"rel": rel, "href": base.href(path), "type": GEOJSON, "method": "POST", "body": body, "merge": false})
        }
    }
}
