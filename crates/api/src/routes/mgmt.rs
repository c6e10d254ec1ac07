//! `/_mgmt/ping`, `/_mgmt/health` and `/status/errors`.

use super::{base_url, json_response, query_pairs};
use crate::links::{JSON, link};
use crate::{AppState, Error, Result};
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use chrono::Utc;
use serde_json::{Value, json};

/// Liveness.
#[utoipa::path(get, path = "/_mgmt/ping", tag = "Management",
    responses((status = 200, description = "The server is up", content_type = "application/json")))]
pub(crate) async fn ping() -> Response {
    json_response("application/json", &json!({"message": "PONG"}))
}

/// The loaded index: id, age, counts.
#[utoipa::path(get, path = "/_mgmt/health", tag = "Management",
    responses((status = 200, description = "The loaded index version", content_type = "application/json")))]
pub(crate) async fn health(State(state): State<AppState>) -> Response {
    let index = state.index.current();
    let manifest = &index.manifest;
    let body = json!({
        "status": "ok",
        "index_id": manifest.index_id,
        "index_created": manifest.created,
        "index_age_seconds": (Utc::now() - manifest.created).num_seconds(),
        "loaded_at": index.loaded_at,
        "items": manifest.counts.items,
        "collections": manifest.counts.collections,
        "errors": manifest.counts.errors,
        "item_cache_bytes": state.fetcher.cached_bytes(),
        "item_source_failures": state.fetcher.failures(),
    });
    json_response("application/json", &body)
}

/// The indexer's errors, paged with `limit` and `offset`.
#[utoipa::path(get, path = "/status/errors", tag = "Management",
    params(("limit" = Option<i64>, Query, minimum = 0, description = "Page size (default 10; 0 and larger values are clamped)"),
           ("offset" = Option<i64>, Query, minimum = 0, description = "Rows to skip")),
    responses((status = 200, description = "What the indexer could not index", content_type = "application/json"),
              (status = 400, description = "An invalid parameter")))]
pub(crate) async fn errors(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Result<Response> {
    let pairs = query_pairs(&uri)?;
    let number = |name: &str, default: i64| -> Result<i64> {
        match pairs.iter().rev().find(|(k, _)| k == name) {
            None => Ok(default),
            Some((_, v)) => v
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| Error::bad_request(format!("{name} must be a non-negative integer"))),
        }
    };
    let limit = number("limit", state.config.default_limit as i64)?.clamp(1, state.config.max_limit as i64);
    let offset = number("offset", 0)?;
    let index = state.index.current();
    let (rows, matched) = index
        .engine
        .pool()
        .run(move |connection| {
            let mut statement = connection
                .prepare_cached("SELECT uri, kind, message, parent FROM errors ORDER BY uri, kind LIMIT ? OFFSET ?")?;
            let rows = statement
                .query_map([limit, offset], |row| {
                    Ok(
                        json!({"uri": row.get::<_, String>(0)?, "kind": row.get::<_, String>(1)?,
                              "message": row.get::<_, String>(2)?, "parent": row.get::<_, Option<String>>(3)?}),
                    )
                })?
                .collect::<Result<Vec<Value>, _>>()?;
            let matched: i64 = connection.query_row("SELECT count(*) FROM errors", [], |row| row.get(0))?;
            Ok((rows, matched))
        })
        .await?;
    let base = base_url(&headers, &state);
    let page = |offset: i64| {
        vec![
            ("limit".to_string(), limit.to_string()),
            ("offset".to_string(), offset.to_string()),
        ]
    };
    let mut links = vec![
        link("self", base.href_with_query(&["status", "errors"], &page(offset)), JSON),
        link("root", base.root(), JSON),
    ];
    if offset + (rows.len() as i64) < matched {
        links.push(link(
            "next",
            base.href_with_query(&["status", "errors"], &page(offset + limit)),
            JSON,
        ));
    }
    if offset > 0 {
        links.push(link(
            "prev",
            base.href_with_query(&["status", "errors"], &page((offset - limit).max(0))),
            JSON,
        ));
    }
    let body = json!({"errors": rows, "numberMatched": matched, "numberReturned": rows.len(), "links": links});
    Ok(json_response("application/json", &body))
}
