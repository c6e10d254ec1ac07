//! `GET` and `POST /search`, and the paged FeatureCollection answer that
//! `/collections/{id}/items` shares.

use super::{base_url, json_response, query_pairs};
use crate::export::{Export, Format, Links};
use crate::fetch::{Missing, RawItem};
use crate::fields::{Fields, IndexRow, column_json};
use crate::index::IndexVersion;
use crate::links::{GEOJSON, JSON, link, rewrite_item};
use crate::paging::{Cursor, Direction};
use crate::search::{Original, SearchParams, parsing_is_heavy};
use crate::urls::BaseUrl;
use crate::{AppState, Error, Result};
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use stac_indexed_engine::{Hit, Page, Request, RowValues, Search, sort};
use stac_indexed_filter::Queryable;
use std::sync::Arc;

/// Item search with query parameters.
#[utoipa::path(get, path = "/search", tag = "Item Search",
    params(
        ("ids" = Option<String>, Query, description = "Comma-separated item ids"),
        ("collections" = Option<String>, Query, description = "Comma-separated collection ids"),
        ("bbox" = Option<String>, Query, min_length = 1, description = "minx,miny,maxx,maxy (or 6 numbers with heights)"),
        ("intersects" = Option<String>, Query, min_length = 1, description = "A GeoJSON geometry, as JSON text"),
        ("datetime" = Option<String>, Query, min_length = 1, description = "An RFC 3339 instant or interval (open ends: `..` or empty)"),
        ("filter" = Option<String>, Query, min_length = 1, description = "A CQL2 filter over the queryables (see /queryables)"),
        ("filter-lang" = Option<String>, Query, pattern = "^(cql2-text|cql2-json)$", description = "`cql2-text` (default) or `cql2-json`"),
        ("filter-crs" = Option<String>, Query, description = "Only `http://www.opengis.net/def/crs/OGC/1.3/CRS84` (or EPSG:4326)"),
        ("sortby" = Option<String>, Query, description = "Sort fields, comma separated, `-` for descending: `-properties.eo:cloud_cover,id` (see /sortables)"),
        ("fields" = Option<String>, Query, description = "Members to include or (`-`) exclude: `id,properties.eo:cloud_cover,-geometry`"),
        ("query" = Option<String>, Query, min_length = 1, description = "A query-extension object as JSON text: `{\"eo:cloud_cover\":{\"lt\":10}}`"),
        ("q" = Option<String>, Query, min_length = 1, description = "Free text over title, description and keywords: terms, \"phrases\", AND, OR, +required, -excluded"),
        ("limit" = Option<i64>, Query, minimum = 1, description = "Page size (default 10, larger values are clamped to the maximum)"),
        ("token" = Option<String>, Query, description = "Paging token from a next or prev link"),
        ("f" = Option<String>, Query, pattern = "^(json|geojson|ndjson|parquet)?$", description = "`ndjson` or `parquet`: every match as one file (newline-delimited JSON, or stac-geoparquet) instead of a page; so does an Accept header naming application/x-ndjson or application/vnd.apache.parquet"),
    ),
    responses((status = 200, description = "A page of items (or, with f=ndjson|parquet, every match)", content(("application/geo+json"), ("application/x-ndjson"), ("application/vnd.apache.parquet"))),
              (status = 400, description = "An invalid parameter, or an export of more items than allowed"),
              (status = 409, description = "The index changed since the search began: restart without the token")))]
pub(crate) async fn get(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Result<Response> {
    let pairs = query_pairs(&uri)?;
    let search = parse_query(&pairs, &state).await?;
    let base = base_url(&headers, &state);
    if let Some(format) = export_format(&pairs, &headers)? {
        return export(&state, base, search, None, format).await;
    }
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
    params(("f" = Option<String>, Query, pattern = "^(json|geojson|ndjson|parquet)?$", description = "`ndjson` or `parquet`: every match as one file instead of a page (or an Accept header naming its media type)")),
    request_body(content = Option<Object>, content_type = "application/json",
        description = "ids, collections, bbox, intersects, datetime, filter, filter-lang, filter-crs, sortby, fields, query, q, limit, token; an empty (or `null`) body is an empty search"),
    responses((status = 200, description = "A page of items (or, with f=ndjson|parquet, every match)", content(("application/geo+json"), ("application/x-ndjson"), ("application/vnd.apache.parquet"))),
              (status = 400, description = "An invalid parameter"),
              (status = 409, description = "The index changed since the search began: restart without the token")))]
pub(crate) async fn post(State(state): State<AppState>, headers: HeaderMap, uri: Uri, body: Bytes) -> Result<Response> {
    let body = parse_body(&body)?;
    let limits = state.limits();
    let heavy = parsing_is_heavy(body.keys().map(String::as_str));
    let (search, body) = off_runtime(heavy, move || SearchParams::from_body(&body, limits).map(|s| (s, body))).await?;
    let base = base_url(&headers, &state);
    if let Some(format) = export_format(&query_pairs(&uri)?, &headers)? {
        return export(&state, base, search, None, format).await;
    }
    respond(&state, &base, search, Original::Body(body), None).await
}

/// The export a request asks for (`f`, or its Accept header), if any.
pub(crate) fn export_format(pairs: &[(String, String)], headers: &HeaderMap) -> Result<Option<Format>> {
    let f = pairs
        .iter()
        .rev()
        .find(|(name, _)| name == "f")
        .map(|(_, value)| value.as_str());
    Format::requested(f, headers)
}

/// Every match of a search, streamed as one NDJSON or stac-geoparquet file.
pub(crate) async fn export(
    state: &AppState,
    base: BaseUrl,
    params: SearchParams,
    collection: Option<&str>,
    format: Format,
) -> Result<Response> {
    let export = Export {
        index: state.index.current(),
        fetcher: state.fetcher.clone(),
        search: params.search,
        collection: collection.map(str::to_string),
        fields: params.fields,
        links: Links::Api(base),
        max_items: state.config.export_max_items,
        spill_dir: state.config.export_dir.clone(),
    };
    let stream = export.start(format).await?;
    // Fused: a body may be polled again after its end (the compression
    // layer does), which an unfused unfold does not allow.
    let chunks = futures::stream::unfold(stream.chunks, |mut chunks| async move {
        let chunk = chunks.recv().await?;
        Some((chunk.map_err(std::io::Error::other), chunks))
    })
    .fuse();
    let mut response = Body::from_stream(chunks).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(format.media_type()));
    let name = collection.unwrap_or("search");
    let disposition = format!(
        "attachment; filename=\"{}.{}\"",
        name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_', "_"),
        format.extension()
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    headers.insert(NUMBER_MATCHED_HEADER, HeaderValue::from(stream.matched));
    Ok(response)
}

/// The header of an export that says how many items it holds.
pub(crate) const NUMBER_MATCHED_HEADER: &str = "stac-number-matched";

/// The search of GET query pairs.
pub(crate) async fn parse_query(pairs: &[(String, String)], state: &AppState) -> Result<SearchParams> {
    let limits = state.limits();
    let heavy = parsing_is_heavy(pairs.iter().map(|(k, _)| k.as_str()));
    let pairs = pairs.to_vec();
    off_runtime(heavy, move || SearchParams::from_query(&pairs, limits)).await
}

/// Runs `work` on a blocking thread when it may take a while, else here.
pub(crate) async fn off_runtime<T: Send + 'static>(
    heavy: bool,
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    if heavy {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| Error::Internal(format!("parsing the search failed: {e}")))?
    } else {
        work()
    }
}

/// A JSON object body, or a 400 that says what is wrong.
pub(crate) fn parse_body(body: &[u8]) -> Result<Map<String, Value>> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        // The body is optional: JSON `null` is no body, an empty search.
        Ok(Value::Null) => Ok(Map::new()),
        Ok(_) => Err(Error::bad_request("the request body must be a JSON object")),
        Err(e) => Err(Error::bad_request(format!("the request body is not valid JSON: {e}"))),
    }
}

/// Runs a search and answers with a FeatureCollection page.
pub(crate) async fn respond(
    state: &AppState,
    base: &BaseUrl,
    params: SearchParams,
    original: Original,
    collection: Option<&str>,
) -> Result<Response> {
    let SearchParams { search, fields, token } = params;
    let index = state.index.current();
    let collections = collection
        .map(|c| vec![c.to_string()])
        .or_else(|| search.collections.clone());
    let scope = index.queryables.scope(collections.as_deref());
    let sort = sort::signature(&search.sortby);
    let fingerprint = fingerprint(&search, collection);
    let cursor = token
        .as_deref()
        .map(|token| state.tokens.decode(token, index.id()))
        .transpose()?;
    let keyset = cursor.as_ref().map(|c| c.keyset(&sort)).transpose()?;
    // Fields the index holds answer without fetching the items.
    let index_only: Option<Vec<Queryable>> = fields
        .as_ref()
        .and_then(|fields| fields.index_columns(&scope))
        .map(|columns| columns.into_iter().cloned().collect());
    let request = Request {
        matched: cursor.as_ref().and_then(|c| c.matched_for(&fingerprint)),
        search,
        collection: collection.map(str::to_string),
        keyset,
    };
    let page = index.engine.page(request).await?;
    let (features, missing) = match (&fields, index_only) {
        (Some(fields), Some(queryables)) => (
            index_only_items(&index, fields, queryables, &page.hits).await?,
            Vec::new(),
        ),
        _ => fetched_items(state, base, fields.as_ref(), &page.hits).await?,
    };
    let path: Vec<&str> = match collection {
        Some(id) => vec!["collections", id, "items"],
        None => vec!["search"],
    };
    let links = PageLinks {
        base,
        path: &path,
        original: &original,
        media_type: GEOJSON,
        sort: &sort,
        matched: Some((page.matched, fingerprint)),
    }
    .of(state, index.id(), &page);
    let header = missing_header(&missing);
    let body = FeatureCollection {
        kind: "FeatureCollection",
        number_matched: page.matched,
        number_returned: features.len(),
        features,
        links,
        missing,
    };
    let mut response = json_response(GEOJSON, &body);
    if let Some(value) = header {
        response.headers_mut().insert(MISSING_ITEMS_HEADER, value);
    }
    Ok(response)
}

/// The header that names the items of a page that could not be read.
pub(crate) const MISSING_ITEMS_HEADER: &str = "stac-missing-items";

/// `collection/id` of each missing item, each part percent-encoded, comma
/// separated (`None` when nothing is missing).
fn missing_header(missing: &[Missing]) -> Option<HeaderValue> {
    if missing.is_empty() {
        return None;
    }
    let encode = |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let names: Vec<String> = missing
        .iter()
        .map(|m| format!("{}/{}", encode(&m.collection), encode(&m.id)))
        .collect();
    HeaderValue::from_str(&names.join(",")).ok()
}

/// What the count of a search depends on, hashed: a token's count is used
/// only by a search with the same fingerprint (a client may change the
/// other parameters of a next link and keep its token).
fn fingerprint(search: &Search, collection: Option<&str>) -> String {
    let counted = Search {
        sortby: Vec::new(),
        limit: 0,
        ..search.clone()
    };
    let digest = Sha256::digest(format!("{counted:?} in {collection:?}").as_bytes());
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// The items of a page, fetched from their sources, with API links and
/// only the fields asked for, and those that could not be read. Only when
/// none of a page's items could be read is the page an error (502).
async fn fetched_items(
    state: &AppState,
    base: &BaseUrl,
    fields: Option<&Fields>,
    hits: &[Hit],
) -> Result<(Vec<RawItem>, Vec<Missing>)> {
    let fetched = state.fetcher.fetch_all(hits).await;
    if fetched.items.is_empty() && !fetched.missing.is_empty() {
        let reasons: Vec<&str> = fetched.missing.iter().map(|m| m.reason.as_str()).collect();
        return Err(Error::SourceUnavailable(format!(
            "none of the {} items of this page could be read from their sources: {}",
            hits.len(),
            reasons.join("; ")
        )));
    }
    let items = fetched
        .items
        .into_iter()
        .map(|(document, hit)| {
            let source = stac_indexed_io::Uri::parse(&hit.href).ok();
            let item = rewrite_item(document, source.as_ref(), base, &hit.collection, &hit.id);
            match fields {
                Some(fields) => fields.apply(item),
                None => item,
            }
        })
        .collect();
    Ok((items, fetched.missing))
}

/// The items of a page built from their index rows alone (no fetch).
async fn index_only_items(
    index: &Arc<IndexVersion>,
    fields: &Fields,
    queryables: Vec<Queryable>,
    hits: &[Hit],
) -> Result<Vec<RawItem>> {
    let seqs: Vec<i64> = hits.iter().map(|hit| hit.seq).collect();
    let columns = queryables.iter().map(|q| (q.sql_column(), q.kind)).collect();
    let rows = index.engine.row_values(seqs, columns).await?;
    hits.iter()
        .zip(rows)
        .map(|(hit, row)| index_only_item(fields, &queryables, hit, row))
        .collect()
}

/// An item built from its index row.
fn index_only_item(fields: &Fields, queryables: &[Queryable], hit: &Hit, row: RowValues) -> Result<RawItem> {
    let values = queryables
        .iter()
        .zip(row.values)
        .map(|(queryable, value)| {
            let path = queryable.item_path.clone().unwrap_or_default();
            Ok((path, column_json(queryable.kind, value)?))
        })
        .collect::<Result<Vec<_>>>()?;
    let row = IndexRow {
        collection: hit.collection.clone(),
        id: hit.id.clone(),
        bbox: row.bbox,
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
    /// Items of the page that could not be read from their sources.
    #[serde(rename = "missingItems", skip_serializing_if = "Vec::is_empty")]
    missing: Vec<Missing>,
}

/// How a page's links are made: where it was asked for, and what its
/// paging tokens carry.
pub(crate) struct PageLinks<'a> {
    /// The API's base URL for this request.
    pub(crate) base: &'a BaseUrl,
    /// The page's path under the base.
    pub(crate) path: &'a [&'a str],
    /// The parameters as they came.
    pub(crate) original: &'a Original,
    /// The media type of the pages.
    pub(crate) media_type: &'static str,
    /// The signature of the search's sort.
    pub(crate) sort: &'a str,
    /// The count and what it counted, for the tokens to carry.
    pub(crate) matched: Option<(u64, String)>,
}

impl PageLinks<'_> {
    /// `self`, `root`, and `next`/`prev` with tokens from the page's last
    /// and first hits, where there are pages after and before.
    pub(crate) fn of(&self, state: &AppState, index_id: &str, page: &Page) -> Vec<Value> {
        let mut links = vec![self.self_link(), link("root", self.base.root(), JSON)];
        let sides = [
            ("next", page.has_next, page.hits.last(), Direction::Next),
            ("prev", page.has_prev, page.hits.first(), Direction::Prev),
        ];
        for (rel, exists, hit, direction) in sides {
            if let (true, Some(hit)) = (exists, hit) {
                let mut key = hit.sort_key.clone();
                key.push(json!(hit.seq));
                let token = state.tokens.encode(&Cursor {
                    index_id: index_id.to_string(),
                    direction,
                    key,
                    sort: self.sort.to_string(),
                    matched: self.matched.clone(),
                });
                links.push(self.paging_link(rel, token));
            }
        }
        links
    }

    fn self_link(&self) -> Value {
        match self.original {
            Original::Query(pairs) => link("self", self.base.href_with_query(self.path, pairs), self.media_type),
            Original::Body(_) => link("self", self.base.href(self.path), self.media_type),
        }
    }

    /// A next/prev link: GET carries the original query plus the token; POST
    /// carries method POST and the original body plus the token.
    fn paging_link(&self, rel: &str, token: String) -> Value {
        let (base, path, media_type) = (self.base, self.path, self.media_type);
        match self.original {
            Original::Query(pairs) => {
                let mut pairs: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "token").cloned().collect();
                pairs.push(("token".into(), token));
                link(rel, base.href_with_query(path, &pairs), media_type)
            }
            Original::Body(body) => {
                let mut body = body.clone();
                body.insert("token".into(), Value::String(token));
                json!({"rel": rel, "href": base.href(path), "type": media_type, "method": "POST", "body": body, "merge": false})
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_body;

    #[test]
    fn a_body_is_nothing_null_or_an_object() {
        assert!(parse_body(b"").unwrap().is_empty());
        assert!(parse_body(b"null").unwrap().is_empty());
        assert_eq!(parse_body(br#"{"limit": 1}"#).unwrap()["limit"], 1);
        for bad in [&b"\t"[..], b" ", b"[]", b"1", b"\"x\"", b"{"] {
            assert!(parse_body(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
