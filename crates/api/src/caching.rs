//! HTTP caching, for clients and for the caches (CDNs, proxies) in front of
//! the API: every successful GET and HEAD answer carries a strong `ETag`,
//! `If-None-Match` with a current tag gives `304 Not Modified`, and
//! `Cache-Control` says how long each kind of resource may be reused
//! ([`CachePolicy`]).
//!
//! The tag is a hash of the bytes of the answer as sent (after
//! compression, so a gzip and a brotli answer have tags of their own, as
//! strong tags must). An answer is a function of the index version's data
//! and the request, so a re-index changes exactly the tags of the answers
//! whose bytes change: an item's when its document changed, a collection's
//! when its document changed, and a search's (its paging tokens name the
//! version). Exports, which are streamed, have no tag.
//!
//! HEAD is answered as the GET of the same resource without its body, with
//! the same headers (`Content-Length`, `ETag`). A page that names items it
//! could not read (`stac-missing-items`) is `no-store`, untagged: the next
//! request may find their sources back.

use crate::routes::search::MISSING_ITEMS_HEADER;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The request headers an answer depends on, beyond its URL: the export
/// format (`Accept`), the encoding, and those the API's own URLs in the
/// answer are made from.
const VARY_ON: &str = "Accept, Accept-Encoding, Forwarded, X-Forwarded-Host, X-Forwarded-Proto, X-Forwarded-Prefix";

/// `Cache-Control` per kind of resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachePolicy {
    /// One item (`/collections/{id}/items/{itemId}`): changes only when its document does.
    pub items: String,
    /// One collection (`/collections/{id}`), one catalog of the tree
    /// (`/catalogs/{key}`) and the children lists (`/children`,
    /// `/catalogs/{key}/children`).
    pub collections: String,
    /// Searches: `/search`, `/collections`, `/collections/{id}/items`,
    /// `/aggregate`: they change with every index version.
    pub searches: String,
    /// What describes the API: the landing page, conformance, queryables,
    /// sortables, aggregations, the OpenAPI document and its page.
    pub metadata: String,
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy {
            items: "public, max-age=3600".into(),
            collections: "public, max-age=3600".into(),
            searches: "public, max-age=60".into(),
            metadata: "public, max-age=600".into(),
        }
    }
}

/// The management routes: never cached.
const NEVER: &str = "no-store";

/// The kinds of resource, by path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resource {
    Item,
    Collection,
    Search,
    Metadata,
    Management,
}

impl Resource {
    /// The kind of resource at `path` (the API's own paths; the root path
    /// prefix, if any, is not part of it).
    fn of(path: &str) -> Resource {
        // The API's paths have at most four segments: a longer one is no resource of ours.
        let mut segments = [""; 5];
        let mut count = 0;
        for segment in path.split('/').filter(|s| !s.is_empty()).take(5) {
            segments[count] = segment;
            count += 1;
        }
        match &segments[..count] {
            ["_mgmt", ..] | ["status", ..] => Resource::Management,
            ["collections", _, "items", _] => Resource::Item,
            ["collections", _] | ["catalogs", _] | ["catalogs", _, "children"] | ["children"] => Resource::Collection,
            ["search"]
            | ["collections"]
            | ["collections", _, "items"]
            | ["aggregate"]
            | ["collections", _, "aggregate"] => Resource::Search,
            _ => Resource::Metadata,
        }
    }

    fn cache_control(self, headers: &CacheHeaders) -> Option<&HeaderValue> {
        match self {
            Resource::Item => headers.items.as_ref(),
            Resource::Collection => headers.collections.as_ref(),
            Resource::Search => headers.searches.as_ref(),
            Resource::Metadata => headers.metadata.as_ref(),
            Resource::Management => Some(&headers.never),
        }
    }
}

/// A policy's `Cache-Control` values, made once (`None`: a value that is not
/// a valid header, which is then left out).
pub(crate) struct CacheHeaders {
    items: Option<HeaderValue>,
    collections: Option<HeaderValue>,
    searches: Option<HeaderValue>,
    metadata: Option<HeaderValue>,
    never: HeaderValue,
}

impl CachePolicy {
    /// The policy's values as headers.
    pub(crate) fn headers(&self) -> CacheHeaders {
        let value = |text: &str| {
            HeaderValue::from_str(text)
                .inspect_err(|_| tracing::warn!(value = text, "not a valid Cache-Control value; left out"))
                .ok()
        };
        CacheHeaders {
            items: value(&self.items),
            collections: value(&self.collections),
            searches: value(&self.searches),
            metadata: value(&self.metadata),
            never: HeaderValue::from_static(NEVER),
        }
    }

    /// The first value that is not a valid header, if any (for a check at start-up).
    pub fn invalid_value(&self) -> Option<&str> {
        [&self.items, &self.collections, &self.searches, &self.metadata]
            .into_iter()
            .find(|text| HeaderValue::from_str(text).is_err())
            .map(String::as_str)
    }
}

/// The caching middleware: tags, conditional answers, `Cache-Control`, `Vary`, HEAD.
pub(crate) async fn caching(State(cache): State<Arc<CacheHeaders>>, mut request: Request, next: Next) -> Response {
    let method = request.method().clone();
    if method != Method::GET && method != Method::HEAD {
        return next.run(request).await;
    }
    let resource = Resource::of(request.uri().path());
    let if_none_match = request.headers().get(IF_NONE_MATCH).cloned();
    // HEAD runs as GET, so that its headers are exactly the GET's.
    *request.method_mut() = Method::GET;
    let response = next.run(request).await;
    let status = response.status();
    // A page that lacks items whose sources failed is not kept anywhere.
    let incomplete = response.headers().contains_key(MISSING_ITEMS_HEADER);
    let cacheable = status == StatusCode::OK && resource != Resource::Management && !incomplete;
    let mut response = if cacheable && !is_streamed(response.headers()) {
        match tagged(response, if_none_match.as_ref()).await {
            Ok(response) => response,
            Err(response) => return response,
        }
    } else {
        response
    };
    let headers = response.headers_mut();
    let cache_control = if (status.is_success() && !incomplete) || status == StatusCode::NOT_MODIFIED {
        resource.cache_control(&cache)
    } else {
        Some(&cache.never)
    };
    if !headers.contains_key(CACHE_CONTROL)
        && let Some(value) = cache_control
    {
        headers.insert(CACHE_CONTROL, value.clone());
    }
    if resource != Resource::Management {
        headers.append(VARY, HeaderValue::from_static(VARY_ON));
    }
    if method == Method::HEAD {
        *response.body_mut() = Body::empty();
    }
    response
}

/// An export is streamed: it is not read whole to be hashed.
fn is_streamed(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with(crate::export::NDJSON) || t.starts_with(crate::export::PARQUET))
}

/// The answer with its tag, or `304 Not Modified` when the client holds
/// that tag already. `Err` holds an answer to send as it is (its body failed).
async fn tagged(response: Response, if_none_match: Option<&HeaderValue>) -> Result<Response, Response> {
    let (mut parts, body) = response.into_parts();
    let bytes = match to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(%error, "an answer's body failed");
            return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
    };
    let tag = entity_tag(&bytes);
    let value = HeaderValue::from_str(&tag).expect("a quoted hex tag is a header value");
    if if_none_match.is_some_and(|header| matches_any(header, &tag)) {
        let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
        let headers = not_modified.headers_mut();
        headers.insert(ETAG, value);
        for name in [CACHE_CONTROL, VARY] {
            for v in parts.headers.get_all(&name) {
                headers.append(name.clone(), v.clone());
            }
        }
        return Ok(not_modified);
    }
    parts.headers.insert(ETAG, value);
    parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

/// A strong entity tag of some bytes: 128 bits of their SHA-256, quoted.
fn entity_tag(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut tag = String::with_capacity(34);
    tag.push('"');
    for byte in &digest[..16] {
        tag.push(HEX[usize::from(byte >> 4)] as char);
        tag.push(HEX[usize::from(byte & 15)] as char);
    }
    tag.push('"');
    tag
}

/// Whether an `If-None-Match` header names `tag` (or is `*`). Weak
/// comparison, as RFC 9110 asks for If-None-Match: `W/"x"` matches `"x"`.
fn matches_any(header: &HeaderValue, tag: &str) -> bool {
    let Ok(header) = header.to_str() else {
        return false;
    };
    header
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_by_path() {
        assert_eq!(Resource::of("/collections/a/items/b"), Resource::Item);
        assert_eq!(Resource::of("/collections/a"), Resource::Collection);
        assert_eq!(Resource::of("/catalogs/a"), Resource::Collection);
        assert_eq!(Resource::of("/catalogs/a/children"), Resource::Collection);
        assert_eq!(Resource::of("/children"), Resource::Collection);
        assert_eq!(Resource::of("/collections/a/items"), Resource::Search);
        assert_eq!(Resource::of("/collections"), Resource::Search);
        assert_eq!(Resource::of("/search"), Resource::Search);
        assert_eq!(Resource::of("/aggregate"), Resource::Search);
        assert_eq!(Resource::of("/collections/a/queryables"), Resource::Metadata);
        assert_eq!(Resource::of("/"), Resource::Metadata);
        assert_eq!(Resource::of("/api.html/assets/x.js"), Resource::Metadata);
        assert_eq!(Resource::of("/_mgmt/ping"), Resource::Management);
        assert_eq!(Resource::of("/status/errors"), Resource::Management);
    }

    #[test]
    fn if_none_match_lists_and_stars() {
        let tag = entity_tag(b"x");
        let header = |text: &str| HeaderValue::from_str(text).unwrap();
        assert!(matches_any(&header(&tag), &tag));
        assert!(matches_any(&header(&format!("\"other\", {tag}")), &tag));
        assert!(matches_any(&header(&format!("W/{tag}")), &tag));
        assert!(matches_any(&header("*"), &tag));
        assert!(!matches_any(&header("\"other\""), &tag));
        assert_ne!(entity_tag(b"x"), entity_tag(b"y"));
    }
}
