//! `/aggregate` and `/aggregations` (the aggregation extension), for the
//! whole index and per collection.
//!
//! `/aggregate` takes the search parameters of `/search` (ids, collections,
//! bbox, intersects, datetime, filter, query, q; paging, sorting and fields
//! mean nothing here and are ignored), `aggregations` (names from
//! `/aggregations`; all of them when absent) and per-aggregation options:
//! `datetime_frequency_interval` (`year`, `month` or `day`),
//! `<queryable>_frequency_interval` (a numeric histogram's bucket width),
//! `geohash_grid_frequency_precision` (1-12) and
//! `geotile_grid_frequency_precision` (0-29).

use super::search::{off_runtime, parse_body};
use super::{base_url, json_response, query_pairs};
use crate::index::IndexVersion;
use crate::links::{JSON, link};
use crate::search::{SearchParams, parsing_is_heavy};
use crate::urls::BaseUrl;
use crate::{AppState, Error, Result};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use bytes::Bytes;
use chrono::{DateTime, Months, SecondsFormat, TimeDelta, Utc};
use serde_json::{Map, Value, json};
use stac_indexed_engine::aggregate::{Aggregation, Bucket, Calendar, Key, Outcome};
use stac_indexed_filter::{Kind, Queryable};
use std::sync::Arc;

/// The conformance class.
pub(crate) const CONFORMANCE: &str = "https://api.stacspec.org/v0.3.0/aggregation";
/// The relation of a link to an aggregate endpoint.
pub(crate) const AGGREGATE_REL: &str = "aggregate";
/// The relation of a link to the list of aggregations.
pub(crate) const AGGREGATIONS_REL: &str = "aggregations";

/// The default geohash precision (2 characters: at most 1,024 cells of
/// about 1,250 × 625 km).
const GEOHASH_PRECISION: u8 = 2;
/// The default web-mercator zoom (at most 256 tiles, about 2,500 km at the equator).
const GEOTILE_ZOOM: u8 = 4;
/// Search parameters that mean nothing for an aggregation.
const IGNORED: [&str; 4] = ["limit", "sortby", "fields", "token"];

/// An aggregation clients may ask for.
struct Offer {
    name: String,
    data_type: &'static str,
    kind: OfferKind,
}

enum OfferKind {
    Fixed(Aggregation),
    DatetimeFrequency,
    Collections,
    Terms(Queryable),
    Histogram(Queryable),
    Geohash,
    Geotile,
}

/// What the index offers over `queryables` (a collection's, or every one).
fn offers<'a>(queryables: impl Iterator<Item = &'a Queryable>) -> Vec<Offer> {
    let fixed = |name: &str, data_type, kind| Offer {
        name: name.to_string(),
        data_type,
        kind,
    };
    let mut offers = vec![
        fixed("total_count", "integer", OfferKind::Fixed(Aggregation::TotalCount)),
        fixed("datetime_min", "datetime", OfferKind::Fixed(Aggregation::DatetimeMin)),
        fixed("datetime_max", "datetime", OfferKind::Fixed(Aggregation::DatetimeMax)),
        fixed(
            "datetime_frequency",
            "frequency_distribution",
            OfferKind::DatetimeFrequency,
        ),
        fixed("collection_frequency", "frequency_distribution", OfferKind::Collections),
        fixed("geohash_grid_frequency", "frequency_distribution", OfferKind::Geohash),
        fixed("geotile_grid_frequency", "frequency_distribution", OfferKind::Geotile),
    ];
    for queryable in queryables {
        if ["id", "collection"].contains(&queryable.column.as_str()) || !queryable.queryable {
            continue;
        }
        let kind = match queryable.kind {
            Kind::Text | Kind::Boolean => OfferKind::Terms(queryable.clone()),
            Kind::Number | Kind::Integer => OfferKind::Histogram(queryable.clone()),
            Kind::Timestamp | Kind::TextArray | Kind::Geometry => continue,
        };
        offers.push(Offer {
            name: format!("{}_frequency", queryable.name),
            data_type: "frequency_distribution",
            kind,
        });
    }
    offers
}

/// The offers for the whole index (any field, whatever collections it
/// applies to) or for one collection (its fields).
fn offers_for(index: &IndexVersion, collection: Option<&str>) -> Vec<Offer> {
    match collection {
        None => offers(index.queryables.all()),
        Some(collection) => offers(index.queryables.scope(Some(&[collection.to_string()])).members()),
    }
}

/// The aggregations a request asks for, each resolved with its options.
async fn resolve(
    index: &Arc<IndexVersion>,
    offers: &[Offer],
    names: Option<Vec<String>>,
    options: &Map<String, Value>,
) -> Result<Vec<(String, Aggregation, Option<&'static str>)>> {
    check_options(options)?;
    let names = names.unwrap_or_else(|| offers.iter().map(|o| o.name.clone()).collect());
    let mut resolved = Vec::with_capacity(names.len());
    for name in names {
        let offer = offers.iter().find(|o| o.name == name).ok_or_else(|| {
            let known: Vec<&str> = offers.iter().map(|o| o.name.as_str()).collect();
            Error::bad_request(format!(
                "aggregation {name:?} is not available here; available: {}",
                known.join(", ")
            ))
        })?;
        let (aggregation, interval) = match &offer.kind {
            OfferKind::Fixed(aggregation) => (aggregation.clone(), None),
            OfferKind::Collections => (Aggregation::CollectionFrequency, None),
            OfferKind::Terms(queryable) => {
                let aggregation = Aggregation::Terms {
                    column: queryable.sql_column(),
                    kind: queryable.kind,
                };
                (aggregation, None)
            }
            OfferKind::DatetimeFrequency => {
                let calendar = calendar_option(options)?.unwrap_or(Calendar::Month);
                (Aggregation::DatetimeFrequency(calendar), Some(calendar.as_str()))
            }
            OfferKind::Histogram(queryable) => {
                let option = format!("{name}_interval");
                let width = match width_option(options, &option)? {
                    Some(width) => width,
                    None => index.engine.histogram_width(queryable).await?,
                };
                let aggregation = Aggregation::Histogram {
                    column: queryable.sql_column(),
                    kind: queryable.kind,
                    width,
                };
                (aggregation, None)
            }
            OfferKind::Geohash => {
                let option = "geohash_grid_frequency_precision";
                let precision = precision_option(options, option, 1..=12)?.unwrap_or(GEOHASH_PRECISION);
                (Aggregation::Geohash(precision), None)
            }
            OfferKind::Geotile => {
                let option = "geotile_grid_frequency_precision";
                let zoom = precision_option(options, option, 0..=29)?.unwrap_or(GEOTILE_ZOOM);
                (Aggregation::Geotile(zoom), None)
            }
        };
        resolved.push((name, aggregation, interval));
    }
    Ok(resolved)
}

/// Checks every option given, whether or not its aggregation is asked for:
/// a malformed option is a client's mistake even when it would go unused.
fn check_options(options: &Map<String, Value>) -> Result<()> {
    for name in options.keys() {
        match name.as_str() {
            "datetime_frequency_interval" => drop(calendar_option(options)?),
            "geohash_grid_frequency_precision" => drop(precision_option(options, name, 1..=12)?),
            "geotile_grid_frequency_precision" => drop(precision_option(options, name, 0..=29)?),
            _ if name.ends_with("_frequency_interval") => drop(width_option(options, name)?),
            _ => {}
        }
    }
    Ok(())
}

/// `datetime_frequency_interval`: the calendar unit of the buckets.
fn calendar_option(options: &Map<String, Value>) -> Result<Option<Calendar>> {
    let Some(text) = text_option(options, "datetime_frequency_interval")? else {
        return Ok(None);
    };
    Calendar::parse(&text).map(Some).ok_or_else(|| {
        Error::bad_request(format!(
            "datetime_frequency_interval {text:?} is not year, month or day"
        ))
    })
}

/// A histogram's `…_interval`: a positive bucket width.
fn width_option(options: &Map<String, Value>, name: &str) -> Result<Option<f64>> {
    match number_option(options, name)? {
        Some(width) if !(width.is_finite() && width > 0.0) => {
            Err(Error::bad_request(format!("{name} must be a positive number")))
        }
        width => Ok(width),
    }
}

fn text_option(options: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match options.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(Error::bad_request(format!("{name} must be a string"))),
    }
}

fn number_option(options: &Map<String, Value>, name: &str) -> Result<Option<f64>> {
    match options.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => Ok(number.as_f64()),
        Some(Value::String(text)) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| Error::bad_request(format!("{name} must be a number, not {text:?}"))),
        Some(_) => Err(Error::bad_request(format!("{name} must be a number"))),
    }
}

fn precision_option(
    options: &Map<String, Value>,
    name: &str,
    range: std::ops::RangeInclusive<u8>,
) -> Result<Option<u8>> {
    let Some(number) = number_option(options, name)? else {
        return Ok(None);
    };
    let (low, high) = (*range.start(), *range.end());
    if number.fract() != 0.0 || number < f64::from(low) || number > f64::from(high) {
        return Err(Error::bad_request(format!(
            "{name} must be a whole number from {low} to {high}"
        )));
    }
    Ok(Some(number as u8))
}

/// An aggregate request: the search, the names asked for and the options.
struct AggregateRequest {
    params: SearchParams,
    names: Option<Vec<String>>,
    options: Map<String, Value>,
}

/// A GET request's parameters.
async fn from_query(pairs: Vec<(String, String)>, state: &AppState) -> Result<AggregateRequest> {
    let search_pairs: Vec<(String, String)> = pairs
        .iter()
        .filter(|(name, _)| !IGNORED.contains(&name.as_str()))
        .cloned()
        .collect();
    let limits = state.limits();
    let heavy = parsing_is_heavy(search_pairs.iter().map(|(k, _)| k.as_str()));
    let params = off_runtime(heavy, move || SearchParams::from_query(&search_pairs, limits)).await?;
    let names = pairs
        .iter()
        .rev()
        .find(|(name, _)| name == "aggregations")
        .map(|(_, value)| {
            value
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_string)
                .collect()
        });
    let options = pairs
        .into_iter()
        .filter(|(name, _)| is_option(name))
        .map(|(name, value)| (name, Value::String(value)))
        .collect();
    Ok(AggregateRequest { params, names, options })
}

/// A POST body's members.
async fn from_body(body: &[u8], state: &AppState) -> Result<AggregateRequest> {
    let mut body = parse_body(body)?;
    for ignored in IGNORED {
        body.remove(ignored);
    }
    let names = match body.get("aggregations") {
        None | Some(Value::Null) => None,
        Some(Value::Array(names)) => Some(
            names
                .iter()
                .map(|name| {
                    name.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| Error::bad_request("aggregations must be an array of names"))
                })
                .collect::<Result<Vec<_>>>()?,
        ),
        Some(_) => return Err(Error::bad_request("aggregations must be an array of names")),
    };
    let options = body
        .iter()
        .filter(|(name, _)| is_option(name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let limits = state.limits();
    let heavy = parsing_is_heavy(body.keys().map(String::as_str));
    let params = off_runtime(heavy, move || SearchParams::from_body(&body, limits)).await?;
    Ok(AggregateRequest { params, names, options })
}

fn is_option(name: &str) -> bool {
    name.ends_with("_frequency_interval") || name.ends_with("_frequency_precision")
}

/// Aggregates the matches of a search over the whole index.
#[utoipa::path(get, path = "/aggregate", tag = "Aggregation",
    params(
        ("aggregations" = Option<String>, Query, description = "Comma-separated names from /aggregations (default: all of them)"),
        ("collections" = Option<String>, Query, description = "Comma-separated collection ids"),
        ("ids" = Option<String>, Query, description = "Comma-separated item ids"),
        ("bbox" = Option<String>, Query, min_length = 1, description = "minx,miny,maxx,maxy"),
        ("intersects" = Option<String>, Query, min_length = 1, description = "A GeoJSON geometry, as JSON text"),
        ("datetime" = Option<String>, Query, min_length = 1, description = "An RFC 3339 instant or interval"),
        ("filter" = Option<String>, Query, min_length = 1, description = "A CQL2 filter"),
        ("filter-lang" = Option<String>, Query, pattern = "^(cql2-text|cql2-json)$", description = "`cql2-text` (default) or `cql2-json`"),
        ("query" = Option<String>, Query, min_length = 1, description = "A query-extension object as JSON text"),
        ("q" = Option<String>, Query, min_length = 1, description = "Free text"),
        ("datetime_frequency_interval" = Option<String>, Query, pattern = "^(year|month|day)$", description = "datetime_frequency's buckets (default month)"),
        ("geohash_grid_frequency_precision" = Option<i64>, Query, minimum = 1, maximum = 12, description = "Geohash length (default 2)"),
        ("geotile_grid_frequency_precision" = Option<i64>, Query, minimum = 0, maximum = 29, description = "Tile zoom (default 4)"),
    ),
    responses((status = 200, description = "An AggregationCollection", content_type = "application/json"),
              (status = 400, description = "An invalid parameter or an unknown aggregation")))]
pub(crate) async fn get(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Result<Response> {
    let request = from_query(query_pairs(&uri)?, &state).await?;
    answer(&state, &base_url(&headers, &state), request, None).await
}

/// Aggregates the matches of a search (a JSON body) over the whole index.
#[utoipa::path(post, path = "/aggregate", tag = "Aggregation",
    request_body(content = Option<Object>, content_type = "application/json",
        description = "A search body plus `aggregations` (an array of names) and the options of GET /aggregate"),
    responses((status = 200, description = "An AggregationCollection", content_type = "application/json"),
              (status = 400, description = "An invalid parameter or an unknown aggregation")))]
pub(crate) async fn post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response> {
    let request = from_body(&body, &state).await?;
    answer(&state, &base_url(&headers, &state), request, None).await
}

/// Aggregates the matches of a search within one collection.
#[utoipa::path(get, path = "/collections/{collectionId}/aggregate", tag = "Aggregation",
    params(("collectionId" = String, Path, description = "The collection id"),
           ("aggregations" = Option<String>, Query, description = "Comma-separated names from this collection's /aggregations")),
    responses((status = 200, description = "An AggregationCollection", content_type = "application/json"),
              (status = 400, description = "An invalid parameter or an aggregation this collection does not offer"),
              (status = 404, description = "No such collection")))]
pub(crate) async fn collection_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(collection): Path<String>,
    uri: Uri,
) -> Result<Response> {
    check_collection(&state, &collection)?;
    let request = from_query(query_pairs(&uri)?, &state).await?;
    answer(&state, &base_url(&headers, &state), request, Some(&collection)).await
}

/// Aggregates the matches of a search (a JSON body) within one collection.
#[utoipa::path(post, path = "/collections/{collectionId}/aggregate", tag = "Aggregation",
    params(("collectionId" = String, Path, description = "The collection id")),
    request_body(content = Option<Object>, content_type = "application/json",
        description = "A search body plus `aggregations` and the options of GET /aggregate"),
    responses((status = 200, description = "An AggregationCollection", content_type = "application/json"),
              (status = 400, description = "An invalid parameter or an aggregation this collection does not offer"),
              (status = 404, description = "No such collection")))]
pub(crate) async fn collection_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(collection): Path<String>,
    body: Bytes,
) -> Result<Response> {
    check_collection(&state, &collection)?;
    let request = from_body(&body, &state).await?;
    answer(&state, &base_url(&headers, &state), request, Some(&collection)).await
}

/// The aggregations available over the whole index.
#[utoipa::path(get, path = "/aggregations", tag = "Aggregation",
    responses((status = 200, description = "The aggregations /aggregate computes", content_type = "application/json")))]
pub(crate) async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    listing(&state, &base_url(&headers, &state), None).await
}

/// The aggregations available within one collection.
#[utoipa::path(get, path = "/collections/{collectionId}/aggregations", tag = "Aggregation",
    params(("collectionId" = String, Path, description = "The collection id")),
    responses((status = 200, description = "The aggregations this collection's /aggregate computes", content_type = "application/json"),
              (status = 404, description = "No such collection")))]
pub(crate) async fn collection_list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(collection): Path<String>,
) -> Result<Response> {
    check_collection(&state, &collection)?;
    listing(&state, &base_url(&headers, &state), Some(&collection)).await
}

fn check_collection(state: &AppState, collection: &str) -> Result<()> {
    match state.index.current().collection(collection) {
        Some(_) => Ok(()),
        None => Err(Error::NotFound(format!("collection {collection:?} does not exist"))),
    }
}

/// The path of the aggregate or aggregations endpoint.
fn path<'a>(collection: Option<&'a str>, last: &'a str) -> Vec<&'a str> {
    match collection {
        Some(id) => vec!["collections", id, last],
        None => vec![last],
    }
}

async fn listing(state: &AppState, base: &BaseUrl, collection: Option<&str>) -> Result<Response> {
    let index = state.index.current();
    let mut aggregations = Vec::new();
    for offer in offers_for(&index, collection) {
        let mut entry = json!({"name": offer.name, "data_type": offer.data_type});
        match &offer.kind {
            OfferKind::DatetimeFrequency => entry["interval"] = json!(Calendar::Month.as_str()),
            OfferKind::Histogram(queryable) => {
                entry["interval"] = json!(index.engine.histogram_width(queryable).await?);
            }
            OfferKind::Geohash => entry["precision"] = json!(GEOHASH_PRECISION),
            OfferKind::Geotile => entry["precision"] = json!(GEOTILE_ZOOM),
            OfferKind::Fixed(_) | OfferKind::Collections | OfferKind::Terms(_) => {}
        }
        aggregations.push(entry);
    }
    let body = json!({
        "type": "AggregationCollection",
        "aggregations": aggregations,
        "links": [
            link("self", base.href(&path(collection, "aggregations")), JSON),
            link("root", base.root(), JSON),
            link(AGGREGATE_REL, base.href(&path(collection, "aggregate")), JSON),
        ],
    });
    Ok(json_response(JSON, &body))
}

async fn answer(
    state: &AppState,
    base: &BaseUrl,
    request: AggregateRequest,
    collection: Option<&str>,
) -> Result<Response> {
    let index = state.index.current();
    let offers = offers_for(&index, collection);
    let resolved = resolve(&index, &offers, request.names, &request.options).await?;
    let aggregations = resolved.iter().map(|(_, aggregation, _)| aggregation.clone()).collect();
    let outcomes = index
        .engine
        .aggregate(request.params.search, collection.map(str::to_string), aggregations)
        .await?;
    let aggregations: Vec<AggregationJson<'_>> = resolved
        .iter()
        .zip(outcomes)
        .map(|((name, _, interval), outcome)| aggregation_json(name, *interval, outcome))
        .collect();
    let body = AggregationCollection {
        kind: "AggregationCollection",
        aggregations,
        links: vec![
            link("self", base.href(&path(collection, "aggregate")), JSON),
            link("root", base.root(), JSON),
        ],
    };
    Ok(json_response(JSON, &body))
}

/// An answer of /aggregate.
#[derive(serde::Serialize)]
struct AggregationCollection<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    aggregations: Vec<AggregationJson<'a>>,
    links: Vec<Value>,
}

/// One aggregation as served.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum AggregationJson<'a> {
    /// A count or an instant.
    Single {
        name: &'a str,
        data_type: &'static str,
        value: Value,
    },
    /// Buckets (written straight from structs: a grid can have thousands).
    Frequency {
        name: &'a str,
        data_type: &'static str,
        buckets: Vec<BucketJson>,
        overflow: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        interval: Option<&'a str>,
    },
}

/// One bucket as served.
#[derive(serde::Serialize)]
struct BucketJson {
    key: String,
    data_type: &'static str,
    frequency: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<Bound>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<Bound>,
}

/// A bucket's bound: a number, or an instant.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Bound {
    Number(f64),
    Instant(String),
}

fn aggregation_json<'a>(name: &'a str, interval: Option<&'a str>, outcome: Outcome) -> AggregationJson<'a> {
    match outcome {
        Outcome::Count(count) => AggregationJson::Single {
            name,
            data_type: "integer",
            value: json!(count),
        },
        Outcome::Instant(instant) => AggregationJson::Single {
            name,
            data_type: "datetime",
            value: json!(instant.map(rfc3339)),
        },
        Outcome::Buckets { buckets, overflow } => {
            let calendar = interval.and_then(Calendar::parse);
            AggregationJson::Frequency {
                name,
                data_type: "frequency_distribution",
                buckets: buckets.into_iter().map(|b| bucket_json(b, calendar)).collect(),
                overflow,
                interval,
            }
        }
    }
}

fn bucket_json(bucket: Bucket, calendar: Option<Calendar>) -> BucketJson {
    let frequency = bucket.frequency;
    match bucket.key {
        Key::Text(key) => BucketJson {
            key,
            data_type: "string",
            frequency,
            from: None,
            to: None,
        },
        Key::Range { from, to } => BucketJson {
            key: format!("{from}-{to}"),
            data_type: "numeric",
            frequency,
            from: Some(Bound::Number(from)),
            to: Some(Bound::Number(to)),
        },
        Key::Instant(start) => BucketJson {
            key: rfc3339(start),
            data_type: "datetime",
            frequency,
            from: Some(Bound::Instant(rfc3339(start))),
            to: calendar
                .and_then(|calendar| interval_end(start, calendar))
                .map(Bound::Instant),
        },
    }
}

/// The end (exclusive) of the calendar interval that starts at `start`.
fn interval_end(start: i64, calendar: Calendar) -> Option<String> {
    let start = DateTime::<Utc>::from_timestamp_micros(start)?;
    let end = match calendar {
        Calendar::Year => start.checked_add_months(Months::new(12))?,
        Calendar::Month => start.checked_add_months(Months::new(1))?,
        Calendar::Day => start.checked_add_signed(TimeDelta::days(1))?,
    };
    Some(end.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

fn rfc3339(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
}
