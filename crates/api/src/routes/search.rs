//! `GET` and `POST /search`, and the paged FeatureCollection answer that
//! `/collections/{id}/items` shares.

use super::{base_url, json_response, query_pairs};
use crate::fetch::RawItem;
use crate::fields::{Fields, IndexRow, column_json};
use crate::index::IndexVersion;
use crate::links::{GEOJSON, JSON, link, rewrite_item};
use crate::paging::{Cursor, Direction, Keyset};
use crate::query::{self, Filter, Hit, Page, PageQuery};
use crate::search::{Original, Search, parsing_is_heavy};
use crate::sort::{self, Order};
use crate::urls::BaseUrl;
use crate::{AppState, Error, Result};
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use bytes::Bytes;
use duckdb::types::Value as SqlValue;
use serde_json::{Map, Value, json};
use stac_indexed_filter::Queryable;
use stac_indexed_format::schema::{BBOX_XMAX, BBOX_XMIN, BBOX_YMAX, BBOX_YMIN};
use std::sync::Arc;

/// Item search with query parameters.
#[utoipa::path(get, path = "/search", tag = "Item Search",
    params(
        ("ids" = Option<String>, Query, description = "Comma-separated item ids"),
        ("collections" = Option<String>, Query, description = "Comma-separated collection ids"),
        ("bbox" = Option<String>, Query, description = "minx,miny,maxx,maxy (or 6 numbers with heights)"),
        ("intersects" = Option<String>, Query, description = "A GeoJSON geometry, as JSON text"),
        ("datetime" = Option<String>, Query, description = "An RFC 3339 instant or interval (open ends: `..` or empty)"),
        ("filter" = Option<String>, Query, description = "A CQL2 filter over the queryables (see /queryables)"),
        ("filter-lang" = Option<String>, Query, description = "`cql2-text` (default) or `cql2-json`"),
        ("filter-crs" = Option<String>, Query, description = "Only `http://www.opengis.net/def/crs/OGC/1.3/CRS84` (or EPSG:4326)"),
        ("sortby" = Option<String>, Query, description = "Sort fields, comma separated, `-` for descending: `-properties.eo:cloud_cover,id` (see /sortables)"),
        ("fields" = Option<String>, Query, description = "Members to include or (`-`) exclude: `id,properties.eo:cloud_cover,-geometry`"),
        ("query" = Option<String>, Query, description = "A query-extension object as JSON text: `{\"eo:cloud_cover\":{\"lt\":10}}`"),
        ("q" = Option<String>, Query, description = "Free text over title, description and keywords: terms, \"phrases\", AND, OR, +required, -excluded"),
        ("limit" = Option<i64>, Query, description = "Page size (default 10, larger values are clamped to the maximum)"),
        ("token" = Option<String>, Query, description = "Paging token from a next or prev link"),
    ),
    responses((status = 200, description = "A page of items", content_type = "application/geo+json"),
              (status = 400, description = "An invalid parameter"),
              (status = 409, description = "The index changed since the search began: restart without the token")))]
pub async fn get(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Result<Response> {
    let pairs = query_pairs(&uri);
    let search = parse_query(&pairs, &state).await?;
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
        description = "ids, collections, bbox, intersects, datetime, filter, filter-lang, filter-crs, sortby, fields, query, q, limit, token"),
    responses((status = 200, description = "A page of items", content_type = "application/geo+json"),
              (status = 400, description = "An invalid parameter"),
              (status = 409, description = "The index changed since the search began: restart without the token")))]
pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response> {
    let body = parse_body(&body)?;
    let limits = state.limits();
    let heavy = parsing_is_heavy(body.keys().map(String::as_str));
    let (search, body) = off_runtime(heavy, move || Search::from_body(&body, limits).map(|s| (s, body))).await?;
    respond(&state, &base_url(&headers, &state), search, Original::Body(body), None).await
}

/// The search of GET query pairs.
pub async fn parse_query(pairs: &[(String, String)], state: &AppState) -> Result<Search> {
    let limits = state.limits();
    let heavy = parsing_is_heavy(pairs.iter().map(|(k, _)| k.as_str()));
    let pairs = pairs.to_vec();
    off_runtime(heavy, move || Search::from_query(&pairs, limits)).await
}

/// Runs `work` on a blocking thread when it may take a while, else here.
async fn off_runtime<T: Send + 'static>(heavy: bool, work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    if heavy {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| Error::Internal(format!("parsing the search failed: {e}")))?
    } else {
        work()
    }
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
    // Fields the index holds answer without fetching the items.
    let index_only: Option<Vec<Queryable>> = search
        .fields
        .as_ref()
        .and_then(|fields| fields.index_columns(&scope))
        .map(|columns| columns.into_iter().cloned().collect());
    let page = find_page(&index, &search, collection, collections, order, keyset).await?;
    let features = match (&search.fields, index_only) {
        (Some(fields), Some(queryables)) => index_only_items(&index, fields, queryables, &page.hits).await?,
        _ => fetched_items(state, base, search.fields.as_ref(), &page.hits).await?,
    };
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

/// The page of a search. The row directory answers the core parameters
/// alone; with filter, query or q, DuckDB finds the rows those match and the
/// directory does the rest; a sortby of one field walks the directory's sort
/// index. A sortby of several fields (or any search before the directory is
/// ready) is one SQL query.
async fn find_page(
    index: &Arc<IndexVersion>,
    search: &Search,
    collection: Option<&str>,
    collections: Option<Vec<String>>,
    order: Order,
    keyset: Option<Keyset>,
) -> Result<Page> {
    let limit = search.limit;
    if let Some(directory) = index.directory()
        && !search.needs_sql()
    {
        return Ok(directory.page(search, collection, keyset.as_ref().map(Keyset::boundary), limit));
    }
    let version = index.clone();
    let (search, collection) = (search.clone(), collection.map(str::to_string));
    // Translating a filter can take a while (a large geometry or IN list):
    // it runs on the blocking thread with the query.
    index
        .pool
        .run(move |connection| {
            let scope = version.queryables.scope(collections.as_deref());
            let directory = version.directory();
            // The rows the extension filters match, if there are any.
            let extension_rows = || -> Result<Option<Vec<u32>>> {
                let extensions = search.filter.is_some() || search.query.is_some() || search.q.is_some();
                extensions
                    .then(|| query::matching_seqs(connection, &Filter::extensions(&search, &scope)?))
                    .transpose()
            };
            match (directory, order.single_key()) {
                (Some(directory), _) if search.sortby.is_empty() => {
                    let allowed = extension_rows()?.unwrap_or_default();
                    let boundary = keyset.as_ref().map(Keyset::boundary);
                    Ok(directory.page_within(&search, collection.as_deref(), &allowed, boundary, limit))
                }
                (Some(directory), Some((column, kind, descending))) => {
                    let index = directory.sort_index(connection, column, kind)?;
                    let allowed = extension_rows()?;
                    directory.sorted_page(
                        &search,
                        collection.as_deref(),
                        allowed.as_deref(),
                        &index,
                        descending,
                        keyset.as_ref(),
                        limit,
                    )
                }
                _ => {
                    let query = PageQuery {
                        filter: Filter::of(&search, collection.as_deref(), &scope)?,
                        order,
                        keyset,
                        limit,
                    };
                    query::page(connection, &query, directory)
                }
            }
        })
        .await
}

/// The items of a page, fetched from their sources, with API links and
/// only the fields asked for.
async fn fetched_items(
    state: &AppState,
    base: &BaseUrl,
    fields: Option<&Fields>,
    hits: &[Hit],
) -> Result<Vec<RawItem>> {
    let documents = state.fetcher.fetch_all(hits).await?;
    Ok(documents
        .into_iter()
        .zip(hits)
        .map(|(document, hit)| {
            let source = stac_indexed_io::Uri::parse(&hit.href).ok();
            let item = rewrite_item(document, source.as_ref(), base, &hit.collection, &hit.id);
            match fields {
                Some(fields) => fields.apply(item),
                None => item,
            }
        })
        .collect())
}

/// The items of a page built from their index rows alone (no fetch).
async fn index_only_items(
    index: &Arc<IndexVersion>,
    fields: &Fields,
    queryables: Vec<Queryable>,
    hits: &[Hit],
) -> Result<Vec<RawItem>> {
    let seqs: Vec<i64> = hits.iter().map(|hit| hit.seq).collect();
    let bbox = [BBOX_XMIN, BBOX_YMIN, BBOX_XMAX, BBOX_YMAX].map(str::to_string);
    let columns: Vec<String> = bbox
        .into_iter()
        .chain(queryables.iter().map(Queryable::sql_column))
        .collect();
    let mut rows = index
        .pool
        .run(move |connection| query::columns_of(connection, &seqs, &columns))
        .await?;
    hits.iter()
        .map(|hit| {
            let values = rows
                .remove(&hit.seq)
                .ok_or_else(|| Error::Internal(format!("row {} is not in the index", hit.seq)))?;
            index_only_item(fields, &queryables, hit, values)
        })
        .collect()
}

/// An item built from its index row: the bbox columns, then the queryables.
fn index_only_item(fields: &Fields, queryables: &[Queryable], hit: &Hit, columns: Vec<SqlValue>) -> Result<RawItem> {
    let number = |i: usize| match columns.get(i) {
        Some(SqlValue::Double(v)) => *v,
        _ => f64::NAN,
    };
    let bbox = [number(0), number(1), number(2), number(3)];
    let values = queryables
        .iter()
        .zip(columns.into_iter().skip(4))
        .map(|(queryable, value)| {
            let path = queryable.item_path.clone().unwrap_or_default();
            Ok((path, column_json(queryable.kind, value)?))
        })
        .collect::<Result<Vec<_>>>()?;
    let row = IndexRow {
        collection: hit.collection.clone(),
        id: hit.id.clone(),
        bbox,
        values,
    };
    Ok(fields.index_item(&row))
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
