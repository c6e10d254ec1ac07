//! Item search parameters: parsed from a GET query string or a POST body,
//! validated into one [`SearchParams`].

use crate::fields::Fields;
use crate::{Error, Result};
use chrono::DateTime;
use serde_json::{Map, Value};
use stac_indexed_engine::sort;
use stac_indexed_engine::{Interval, QueryGeometry, Search};
use stac_indexed_filter::{FilterLang, parse_filter, parse_q};
use stac_indexed_format::geometry::{Bbox, encode_geojson};

/// A search as a request asks for it: what the engine answers, plus how
/// the answer is shaped and where paging resumes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchParams {
    /// The search.
    pub search: Search,
    /// Which members of the items to return (the fields extension).
    pub fields: Option<Fields>,
    /// The paging token, if any.
    pub token: Option<String>,
}

/// Limits that apply to every search.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The page size when none is asked for.
    pub default: usize,
    /// Larger page sizes are clamped to this.
    pub max: usize,
}

/// The search parameters as they arrived, for re-use in paging links.
#[derive(Clone, Debug)]
pub enum Original {
    /// GET: the query pairs, in order.
    Query(Vec<(String, String)>),
    /// POST: the JSON body.
    Body(Map<String, Value>),
}

/// The coordinate reference systems a filter may be written in: WGS 84
/// longitude, latitude (EPSG:4326 is taken in that axis order, as GeoJSON
/// and STAC do).
const FILTER_CRS: [&str; 4] = [
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "http://www.opengis.net/def/crs/EPSG/0/4326",
    "EPSG:4326",
    "OGC:CRS84",
];

/// An empty `filter-crs` is no `filter-crs` (the default, CRS84). An
/// empty `filter-lang` names no language: a 400.
fn check_filter_crs(crs: Option<&str>) -> Result<()> {
    match crs.map(str::trim) {
        Some(crs) if !crs.is_empty() && !FILTER_CRS.contains(&crs) => Err(Error::bad_request(format!(
            "filter-crs {crs:?} is not supported; use {}",
            FILTER_CRS[0]
        ))),
        _ => Ok(()),
    }
}

/// Whether any parameter needs more than a moment to parse (a filter, a
/// query or free text can be large): such searches are parsed off the
/// async runtime.
pub fn parsing_is_heavy<'a>(mut names: impl Iterator<Item = &'a str>) -> bool {
    names.any(|name| matches!(name, "filter" | "query" | "q" | "intersects"))
}

impl SearchParams {
    /// Parses GET query pairs (unknown parameters are ignored, per the spec;
    /// parameters of unsupported extensions are refused).
    pub fn from_query(pairs: &[(String, String)], limits: Limits) -> Result<SearchParams> {
        let get = |name: &str| pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        check_filter_crs(get("filter-crs"))?;
        let lang = get("filter-lang").map(str::parse).transpose()?;
        let search = Search {
            ids: get("ids").map(comma_list).filter(|ids| !ids.is_empty()),
            collections: get("collections").map(comma_list).filter(|c| !c.is_empty()),
            bbox: get("bbox").map(parse_bbox_text).transpose()?,
            intersects: get("intersects").map(parse_intersects_text).transpose()?,
            datetime: get("datetime").map(parse_datetime).transpose()?,
            filter: get("filter")
                .map(|text| parse_filter(&Value::String(text.into()), lang.unwrap_or(FilterLang::Cql2Text)))
                .transpose()?,
            query: get("query").map(parse_query_text).transpose()?,
            q: get("q").map(|text| parse_q(&Value::String(text.into()))).transpose()?,
            sortby: get("sortby").map(sort::parse_text).transpose()?.unwrap_or_default(),
            limit: get("limit")
                .map(|text| parse_limit_text(text, limits))
                .transpose()?
                .unwrap_or(limits.default),
        };
        Ok(SearchParams {
            search: check(search)?,
            fields: get("fields").map(Fields::from_query).transpose()?,
            token: get("token").filter(|t| !t.is_empty()).map(str::to_string),
        })
    }

    /// Parses a POST body (unknown members are ignored, per the spec;
    /// members of unsupported extensions are refused).
    pub fn from_body(body: &Map<String, Value>, limits: Limits) -> Result<SearchParams> {
        let member = |name: &str| body.get(name).filter(|v| !v.is_null());
        let text_member = |name: &str| {
            member(name)
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| Error::bad_request(format!("{name} must be a string")))
                })
                .transpose()
        };
        check_filter_crs(text_member("filter-crs")?)?;
        let lang = text_member("filter-lang")?.map(str::parse).transpose()?;
        let search = Search {
            ids: member("ids").map(|v| string_list(v, "ids")).transpose()?,
            collections: member("collections").map(collections_json).transpose()?,
            bbox: member("bbox").map(parse_bbox_json).transpose()?,
            intersects: member("intersects").map(parse_intersects).transpose()?,
            datetime: member("datetime")
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| Error::bad_request("datetime must be a string"))
                        .and_then(parse_datetime)
                })
                .transpose()?,
            filter: member("filter")
                .map(|filter| parse_filter(filter, lang.unwrap_or_else(|| post_filter_lang(filter))))
                .transpose()?,
            query: member("query").map(query_object).transpose()?,
            q: member("q").map(parse_q).transpose()?,
            sortby: member("sortby").map(sort::parse_json).transpose()?.unwrap_or_default(),
            limit: member("limit")
                .map(|v| parse_limit_json(v, limits))
                .transpose()?
                .unwrap_or(limits.default),
        };
        Ok(SearchParams {
            search: check(search)?,
            fields: member("fields").map(Fields::from_json).transpose()?,
            token: member("token")
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| Error::bad_request("token must be a string"))
                })
                .transpose()?,
        })
    }
}

fn check(search: Search) -> Result<Search> {
    if search.bbox.is_some() && search.intersects.is_some() {
        return Err(Error::bad_request("bbox and intersects cannot be used together"));
    }
    Ok(search)
}

/// The default encoding of a POST filter: cql2-json, or cql2-text when the
/// filter is a string (a client that forgot `filter-lang`).
fn post_filter_lang(filter: &Value) -> FilterLang {
    if filter.is_string() {
        FilterLang::Cql2Text
    } else {
        FilterLang::Cql2Json
    }
}

fn parse_query_text(text: &str) -> Result<Value> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| Error::bad_request(format!("query is not valid JSON: {e}")))?;
    query_object(&value)
}

fn query_object(value: &Value) -> Result<Value> {
    if value.is_object() {
        Ok(value.clone())
    } else {
        Err(Error::bad_request("query must be a JSON object of properties"))
    }
}

fn comma_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// POST `collections`: an array of ids, or (leniently) one id as a string.
fn collections_json(value: &Value) -> Result<Vec<String>> {
    match value {
        Value::String(id) => Ok(vec![id.clone()]),
        other => string_list(other, "collections"),
    }
}

fn string_list(value: &Value, name: &str) -> Result<Vec<String>> {
    value
        .as_array()
        .and_then(|items| items.iter().map(|v| v.as_str().map(str::to_string)).collect())
        .ok_or_else(|| Error::bad_request(format!("{name} must be an array of strings")))
}

/// `minx,miny,maxx,maxy` or `minx,miny,minz,maxx,maxy,maxz`.
pub fn parse_bbox_text(text: &str) -> Result<Bbox> {
    let numbers = text
        .split(',')
        .map(|part| part.trim().parse::<f64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| Error::bad_request(format!("bbox {text:?} must be 4 or 6 comma-separated numbers")))?;
    bbox_from_numbers(&numbers)
}

fn parse_bbox_json(value: &Value) -> Result<Bbox> {
    let numbers = value
        .as_array()
        .and_then(|items| items.iter().map(Value::as_f64).collect::<Option<Vec<_>>>())
        .ok_or_else(|| Error::bad_request("bbox must be an array of 4 or 6 numbers"))?;
    bbox_from_numbers(&numbers)
}

fn bbox_from_numbers(numbers: &[f64]) -> Result<Bbox> {
    let bbox = match numbers {
        [w, s, e, n] => [*w, *s, *e, *n],
        [w, s, _, e, n, _] => [*w, *s, *e, *n],
        _ => {
            return Err(Error::bad_request(format!(
                "bbox must have 4 or 6 numbers, not {}",
                numbers.len()
            )));
        }
    };
    let [w, s, e, n] = bbox;
    if numbers.iter().any(|v| !v.is_finite()) {
        return Err(Error::bad_request("bbox values must be finite numbers"));
    }
    if !(-180.0..=180.0).contains(&w) || !(-180.0..=180.0).contains(&e) {
        return Err(Error::bad_request("bbox longitudes must be between -180 and 180"));
    }
    if !(-90.0..=90.0).contains(&s) || !(-90.0..=90.0).contains(&n) {
        return Err(Error::bad_request("bbox latitudes must be between -90 and 90"));
    }
    if s > n {
        return Err(Error::bad_request(
            "bbox minimum latitude is above its maximum latitude",
        ));
    }
    Ok(bbox)
}

fn parse_intersects_text(text: &str) -> Result<QueryGeometry> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| Error::bad_request(format!("intersects is not valid JSON: {e}")))?;
    parse_intersects(&value)
}

fn parse_intersects(value: &Value) -> Result<QueryGeometry> {
    if value
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t == "Feature" || t == "FeatureCollection")
    {
        return Err(Error::bad_request(
            "intersects must be a GeoJSON geometry, not a Feature",
        ));
    }
    let encoded = encode_geojson(value).map_err(|e| Error::bad_request(format!("intersects: {e}")))?;
    Ok(QueryGeometry {
        wkb: encoded.wkb,
        bbox: encoded.bbox,
    })
}

/// An RFC 3339 instant, or an interval `start/end` with `..` or empty for an open end.
pub fn parse_datetime(text: &str) -> Result<Interval> {
    let instant = |part: &str| -> Result<Option<i64>> {
        let part = part.trim();
        if part.is_empty() || part == ".." {
            return Ok(None);
        }
        DateTime::parse_from_rfc3339(part)
            .map(|t| Some(t.timestamp_micros()))
            .map_err(|_| Error::bad_request(format!("datetime {part:?} is not an RFC 3339 timestamp")))
    };
    let interval = match text.split_once('/') {
        None => {
            let at = instant(text)?.ok_or_else(|| Error::bad_request("datetime is empty"))?;
            Interval {
                start: Some(at),
                end: Some(at),
            }
        }
        Some((start, end)) => Interval {
            start: instant(start)?,
            end: instant(end)?,
        },
    };
    match interval {
        Interval {
            start: Some(start),
            end: Some(end),
        } if start > end => Err(Error::bad_request("datetime interval ends before it starts")),
        Interval { start: None, end: None } if text.contains('/') => {
            Err(Error::bad_request("datetime interval must have at least one end"))
        }
        interval => Ok(interval),
    }
}

fn parse_limit_text(text: &str, limits: Limits) -> Result<usize> {
    let digits = text.trim();
    match digits.parse::<i64>() {
        Ok(value) => clamp_limit(value, limits),
        // An integer too large for 64 bits is still a limit above the maximum.
        Err(_) if !digits.is_empty() && digits.trim_start_matches('+').bytes().all(|b| b.is_ascii_digit()) => {
            Ok(limits.max)
        }
        Err(_) => Err(Error::bad_request(format!("limit {text:?} is not an integer"))),
    }
}

fn parse_limit_json(value: &Value, limits: Limits) -> Result<usize> {
    let limit = value
        .as_i64()
        .or_else(|| value.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
        .ok_or_else(|| Error::bad_request("limit must be an integer"))?;
    clamp_limit(limit, limits)
}

fn clamp_limit(value: i64, limits: Limits) -> Result<usize> {
    if value < 1 {
        return Err(Error::bad_request("limit must be at least 1"));
    }
    Ok((value as u64).min(limits.max as u64) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LIMITS: Limits = Limits {
        default: 10,
        max: 10_000,
    };

    fn query(pairs: &[(&str, &str)]) -> Result<Search> {
        params(pairs).map(|p| p.search)
    }

    fn params(pairs: &[(&str, &str)]) -> Result<SearchParams> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        SearchParams::from_query(&pairs, LIMITS)
    }

    #[test]
    fn bbox_takes_four_or_six_numbers() {
        assert_eq!(query(&[("bbox", "1,2,3,4")]).unwrap().bbox, Some([1.0, 2.0, 3.0, 4.0]));
        assert_eq!(
            query(&[("bbox", "1,2,0,3,4,100")]).unwrap().bbox,
            Some([1.0, 2.0, 3.0, 4.0])
        );
        assert_eq!(
            query(&[("bbox", "170,-10,-170,10")]).unwrap().bbox,
            Some([170.0, -10.0, -170.0, 10.0])
        );
        for bad in [
            "1,2,3",
            "1,2,3,4,5",
            "a,b,c,d",
            "1,5,3,4",
            "1,2,3,95",
            "",
            "1,2,3,NaN",
            "-181,0,0,1",
        ] {
            assert!(matches!(query(&[("bbox", bad)]), Err(Error::BadRequest(_))), "{bad}");
        }
    }

    #[test]
    fn datetimes_are_instants_or_intervals() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros();
        let at = "2024-01-05T10:14:01Z";
        assert_eq!(
            parse_datetime(at).unwrap(),
            Interval {
                start: Some(t(at)),
                end: Some(t(at))
            }
        );
        let interval = parse_datetime("2024-01-01T00:00:00Z/2024-02-01T00:00:00+01:00").unwrap();
        assert_eq!(interval.end, Some(t("2024-01-31T23:00:00Z")));
        assert_eq!(parse_datetime("../2024-01-01T00:00:00Z").unwrap().start, None);
        assert_eq!(parse_datetime("2024-01-01T00:00:00Z/..").unwrap().end, None);
        assert_eq!(parse_datetime("2024-01-01T00:00:00Z/").unwrap().end, None);
        for bad in [
            "yesterday",
            "2024-02-01T00:00:00Z/2024-01-01T00:00:00Z",
            "../..",
            "/",
            "",
            "2024-01-01",
        ] {
            assert!(parse_datetime(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_default_clamp_and_refuse() {
        assert_eq!(query(&[]).unwrap().limit, 10);
        assert_eq!(query(&[("limit", "20000")]).unwrap().limit, 10_000);
        assert_eq!(query(&[("limit", "99999999999999999999999")]).unwrap().limit, 10_000);
        assert_eq!(query(&[("ids", ""), ("collections", ",")]).unwrap().ids, None);
        for bad in ["0", "-1", "1.5", "ten"] {
            assert!(query(&[("limit", bad)]).is_err(), "{bad}");
        }
        let body = |v: Value| SearchParams::from_body(v.as_object().unwrap(), LIMITS);
        assert_eq!(body(json!({"limit": 5})).unwrap().search.limit, 5);
        assert!(body(json!({"limit": "5"})).is_err());
    }

    #[test]
    fn extension_parameters_parse_or_are_refused() {
        let params = params(&[
            ("filter", "\"eo:cloud_cover\" < 10"),
            ("query", r#"{"gsd": {"eq": 10}}"#),
            ("q", "snow"),
            ("sortby", "-gsd"),
            ("fields", "id"),
            ("filter-crs", "http://www.opengis.net/def/crs/OGC/1.3/CRS84"),
        ])
        .unwrap();
        assert!(
            query(&[("filter", "gsd = 1"), ("filter-crs", "")]).is_ok(),
            "empty is the default"
        );
        let search = &params.search;
        assert!(search.filter.is_some() && search.query.is_some() && search.q.is_some());
        assert!(params.fields.is_some() && search.has_extensions() && !search.sortby.is_empty());
        for bad in [
            ("filter", "gsd ="),
            ("filter-lang", "sql"),
            ("filter-crs", "EPSG:3857"),
            ("query", "{not json"),
            ("q", "\"unbalanced"),
        ] {
            let error = query(&[("filter", "gsd = 1"), bad]).unwrap_err();
            assert_eq!(error.status(), axum::http::StatusCode::BAD_REQUEST, "{bad:?}");
        }
        let body = json!({"filter": {"op": "=", "args": [{"property": "gsd"}, 10]}, "q": ["a", "b"]});
        let search = SearchParams::from_body(body.as_object().unwrap(), LIMITS)
            .unwrap()
            .search;
        assert!(search.filter.is_some() && search.q.is_some());
        let text_in_post = json!({"filter": "gsd = 10"});
        assert!(SearchParams::from_body(text_in_post.as_object().unwrap(), LIMITS).is_ok());
        let wrong_lang = json!({"filter": "gsd = 10", "filter-lang": "cql2-json"});
        assert!(SearchParams::from_body(wrong_lang.as_object().unwrap(), LIMITS).is_err());
    }

    #[test]
    fn intersects_and_lists() {
        let search = query(&[
            ("intersects", r#"{"type":"Point","coordinates":[1,2]}"#),
            ("ids", "a,,b"),
            ("collections", "c"),
            ("unknown", "ignored"),
        ])
        .unwrap();
        assert_eq!(search.intersects.unwrap().bbox, [1.0, 2.0, 1.0, 2.0]);
        assert_eq!(search.ids, Some(vec!["a".to_string(), "b".to_string()]));
        assert!(query(&[("intersects", "{not json")]).is_err());
        assert!(query(&[("intersects", r#"{"type":"Feature","geometry":null}"#)]).is_err());
        assert!(
            query(&[
                ("intersects", r#"{"type":"Point","coordinates":[1,2]}"#),
                ("bbox", "0,0,1,1")
            ])
            .is_err()
        );
        let body = json!({"ids": ["a", 1]});
        assert!(SearchParams::from_body(body.as_object().unwrap(), LIMITS).is_err());
    }
}
