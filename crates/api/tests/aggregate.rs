//! The aggregation extension through the real router: every answer is
//! checked against counts computed from the sample catalog's JSON files.

use axum::http::StatusCode;
use chrono::{DateTime, Datelike, Utc};
use serde_json::{Value, json};
use stac_indexed_test_support::*;
use std::collections::BTreeMap;

/// The aggregation named `name` of an AggregationCollection.
fn aggregation<'a>(answer: &'a Value, name: &str) -> &'a Value {
    answer["aggregations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {answer}"))
}

/// A frequency's buckets as key -> frequency, and its overflow.
fn buckets(aggregation: &Value) -> (BTreeMap<String, u64>, u64) {
    let buckets = aggregation["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["key"].as_str().unwrap().to_string(), b["frequency"].as_u64().unwrap()))
        .collect();
    (buckets, aggregation["overflow"].as_u64().unwrap())
}

fn count_by(items: &[&SampleItem], key: impl Fn(&SampleItem) -> Option<String>) -> (BTreeMap<String, u64>, u64) {
    let mut counts = BTreeMap::new();
    let mut missing = 0;
    for item in items {
        match key(item) {
            Some(key) => *counts.entry(key).or_default() += 1,
            None => missing += 1,
        }
    }
    (counts, missing)
}

/// An item's instant for time buckets: its datetime, or its start.
fn start(item: &SampleItem) -> DateTime<Utc> {
    item.datetime.or(item.start).unwrap()
}

/// The geohash of a point, by bisection (independent of the server's bit arithmetic).
fn geohash(lon: f64, lat: f64, precision: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (mut lon_range, mut lat_range) = ((-180.0, 180.0), (-90.0, 90.0));
    let mut hash = String::new();
    let (mut bits, mut code, mut even) = (0, 0, true);
    while hash.len() < precision {
        let (range, value): (&mut (f64, f64), f64) = if even {
            (&mut lon_range, lon)
        } else {
            (&mut lat_range, lat)
        };
        let middle = (range.0 + range.1) / 2.0;
        code <<= 1;
        if value >= middle {
            code |= 1;
            range.0 = middle;
        } else {
            range.1 = middle;
        }
        even = !even;
        bits += 1;
        if bits == 5 {
            hash.push(ALPHABET[code] as char);
            (bits, code) = (0, 0);
        }
    }
    hash
}

/// The centre of an item's bbox (beyond the antimeridian for a box across it).
fn centre(item: &SampleItem) -> (f64, f64) {
    let bbox: Vec<f64> = item.json["bbox"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let (west, south, east, north) = if bbox.len() == 6 {
        (bbox[0], bbox[1], bbox[3], bbox[4])
    } else {
        (bbox[0], bbox[1], bbox[2], bbox[3])
    };
    let mut lon = if west <= east {
        (west + east) / 2.0
    } else {
        (west + east + 360.0) / 2.0
    };
    if lon > 180.0 {
        lon -= 360.0;
    }
    (lon, (south + north) / 2.0)
}

/// Checks every aggregation of `answer` against `items` (the matches, from the JSON).
fn check_against(answer: &Value, items: &[&SampleItem], what: &str) {
    let total = items.len() as u64;
    assert_eq!(aggregation(answer, "total_count")["value"], total, "{what}");
    for a in answer["aggregations"].as_array().unwrap() {
        if a.get("buckets").is_some() {
            let (buckets, overflow) = buckets(a);
            assert_eq!(buckets.values().sum::<u64>() + overflow, total, "{what}: {a}");
        }
    }
    let expect = |name: &str, expected: (BTreeMap<String, u64>, u64)| {
        assert_eq!(buckets(aggregation(answer, name)), expected, "{what}: {name}");
    };
    expect("collection_frequency", count_by(items, |i| Some(i.collection.clone())));
    let property = |name: &'static str| move |i: &SampleItem| i.json["properties"][name].as_str().map(str::to_string);
    expect("platform_frequency", count_by(items, property("platform")));
    expect("constellation_frequency", count_by(items, property("constellation")));
    // eo:cloud_cover's schema says 0-100: ten buckets of 10.
    expect(
        "eo:cloud_cover_frequency",
        count_by(items, |i| {
            i.json["properties"]["eo:cloud_cover"].as_f64().map(|c| {
                let k = (c / 10.0).floor();
                format!("{}-{}", k * 10.0, (k + 1.0) * 10.0)
            })
        }),
    );
    expect(
        "datetime_frequency",
        count_by(items, |i| {
            Some(format!("{:04}-{:02}-01T00:00:00Z", start(i).year(), start(i).month()))
        }),
    );
    expect(
        "geohash_grid_frequency",
        count_by(items, |i| {
            let (lon, lat) = centre(i);
            Some(geohash(lon, lat, 2))
        }),
    );
    // The first and last instants the matches cover.
    let min = items.iter().map(|i| i.start.or(i.datetime).unwrap()).min();
    let max = items.iter().map(|i| i.end.or(i.datetime).unwrap()).max();
    let instant = |name: &str| {
        aggregation(answer, name)["value"]
            .as_str()
            .map(|t| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc))
    };
    assert_eq!(instant("datetime_min"), min, "{what}");
    assert_eq!(instant("datetime_max"), max, "{what}");
}

/// Which sample items a search keeps.
type Keep = Box<dyn Fn(&SampleItem) -> bool>;

#[tokio::test]
async fn aggregations_match_counts_from_the_sample_json() {
    let api = Api::sample().await;
    let items = sample_items();
    let all: Vec<&SampleItem> = items.iter().collect();
    let answer = api.get("/aggregate").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type(), "application/json");
    let answer = answer.json();
    assert_eq!(answer["type"], "AggregationCollection");
    check_against(&answer, &all, "everything");

    // Each search restricts the aggregation exactly as it restricts /search.
    let searches: Vec<(Vec<(&str, &str)>, Keep)> = vec![
        (
            vec![("collections", "sentinel-2-l2a")],
            Box::new(|i| i.collection == "sentinel-2-l2a"),
        ),
        (
            vec![("bbox", "-10,35,20,60")],
            Box::new(|i| in_bbox(i, [-10.0, 35.0, 20.0, 60.0])),
        ),
        (
            vec![("filter", "\"eo:cloud_cover\" < 30")],
            Box::new(|i| {
                i.json["properties"]["eo:cloud_cover"]
                    .as_f64()
                    .is_some_and(|c| c < 30.0)
            }),
        ),
        (
            vec![("datetime", "2024-02-01T00:00:00Z/2024-03-31T23:59:59Z")],
            Box::new(|i| in_interval(i, Some("2024-02-01T00:00:00Z"), Some("2024-03-31T23:59:59Z"))),
        ),
        (
            vec![("query", r#"{"platform":{"eq":"sentinel-2a"}}"#)],
            Box::new(|i| i.json["properties"]["platform"] == "sentinel-2a"),
        ),
    ];
    for (params, keep) in searches {
        let matches: Vec<&SampleItem> = items.iter().filter(|i| keep(i)).collect();
        let what = format!("{params:?}");
        assert!(!matches.is_empty(), "{what} matches something");
        let answer = api.get(&with_query("/aggregate", &params)).await.json();
        check_against(&answer, &matches, &what);
        let page = api.search(&params).await;
        assert_eq!(
            aggregation(&answer, "total_count")["value"],
            page["numberMatched"],
            "{what}"
        );
    }
}

#[tokio::test]
async fn post_and_collection_aggregates_take_the_same_search() {
    let api = Api::sample().await;
    let items = sample_items();
    let body = json!({
        "collections": ["landsat-c2-l2"],
        "filter": {"op": "<", "args": [{"property": "eo:cloud_cover"}, 50]},
        "aggregations": ["total_count", "platform_frequency", "eo:cloud_cover_frequency"],
        "eo:cloud_cover_frequency_interval": 25,
        "limit": 1, "sortby": "nonsense", "fields": "id", "token": "ignored",
    });
    let answer = api.post("/aggregate", &body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let answer = answer.json();
    let matches: Vec<&SampleItem> = items
        .iter()
        .filter(|i| i.collection == "landsat-c2-l2")
        .filter(|i| {
            i.json["properties"]["eo:cloud_cover"]
                .as_f64()
                .is_some_and(|c| c < 50.0)
        })
        .collect();
    let names: Vec<&str> = answer["aggregations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["total_count", "platform_frequency", "eo:cloud_cover_frequency"]);
    assert_eq!(aggregation(&answer, "total_count")["value"], matches.len() as u64);
    let (cloud, overflow) = buckets(aggregation(&answer, "eo:cloud_cover_frequency"));
    let expected = count_by(&matches, |i| {
        let c = i.json["properties"]["eo:cloud_cover"].as_f64()?;
        let k = (c / 25.0).floor();
        Some(format!("{}-{}", k * 25.0, (k + 1.0) * 25.0))
    });
    assert_eq!((cloud, overflow), expected);
    let first = &aggregation(&answer, "eo:cloud_cover_frequency")["buckets"][0];
    assert_eq!((first["from"].as_f64(), first["to"].as_f64()), (Some(0.0), Some(25.0)));

    // The same through the collection's endpoint, GET and POST.
    let path = "/collections/landsat-c2-l2/aggregate";
    let get = api
        .get(&with_query(
            path,
            &[
                ("filter", "\"eo:cloud_cover\" < 50"),
                ("aggregations", "total_count,platform_frequency"),
            ],
        ))
        .await
        .json();
    assert_eq!(get["aggregations"][0], answer["aggregations"][0]);
    assert_eq!(get["aggregations"][1], answer["aggregations"][1]);
    let mut body = body.clone();
    body.as_object_mut().unwrap().remove("collections");
    let post = api.post(path, &body).await.json();
    assert_eq!(post["aggregations"], answer["aggregations"]);
    assert_eq!(href(&post, "self"), format!("http://localhost{path}"));
}

#[tokio::test]
async fn datetime_and_grid_options_change_the_buckets() {
    let api = Api::sample().await;
    let items = sample_items();
    let all: Vec<&SampleItem> = items.iter().collect();
    let answer = api
        .get("/aggregate?aggregations=datetime_frequency,geohash_grid_frequency,geotile_grid_frequency&datetime_frequency_interval=year&geohash_grid_frequency_precision=1&geotile_grid_frequency_precision=0")
        .await
        .json();
    let years = aggregation(&answer, "datetime_frequency");
    assert_eq!(years["interval"], "year");
    assert_eq!(
        buckets(years),
        count_by(&all, |i| Some(format!("{:04}-01-01T00:00:00Z", start(i).year())))
    );
    let first = &years["buckets"][0];
    let from = DateTime::parse_from_rfc3339(first["from"].as_str().unwrap()).unwrap();
    let to = DateTime::parse_from_rfc3339(first["to"].as_str().unwrap()).unwrap();
    assert_eq!((to.year() - from.year(), to.month(), to.day()), (1, 1, 1));
    assert_eq!(
        buckets(aggregation(&answer, "geohash_grid_frequency")),
        count_by(&all, |i| {
            let (lon, lat) = centre(i);
            Some(geohash(lon, lat, 1))
        })
    );
    // Zoom 0 is one tile holding everything.
    assert_eq!(
        buckets(aggregation(&answer, "geotile_grid_frequency")),
        (BTreeMap::from([("0/0/0".to_string(), 50)]), 0)
    );
}

#[tokio::test]
async fn aggregations_are_listed_and_linked() {
    let api = Api::sample().await;
    let listing = api.get("/aggregations").await.json();
    let names: Vec<&str> = listing["aggregations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    for name in [
        "total_count",
        "datetime_min",
        "datetime_max",
        "datetime_frequency",
        "collection_frequency",
        "geohash_grid_frequency",
        "geotile_grid_frequency",
        "eo:cloud_cover_frequency",
        "gsd_frequency",
        "platform_frequency",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert!(!names.contains(&"id_frequency") && !names.contains(&"instruments_frequency"));
    let cloud = listing["aggregations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "eo:cloud_cover_frequency")
        .unwrap();
    assert_eq!(cloud["interval"], 10.0);
    // Every listed aggregation can be asked for by name.
    let answer = api.get(&format!("/aggregate?aggregations={}", names.join(","))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.json()["aggregations"].as_array().unwrap().len(), names.len());

    let landing = api.get("/").await.json();
    let methods: Vec<&str> = links(&landing, "aggregate")
        .iter()
        .map(|l| l["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["GET", "POST"]);
    assert_eq!(href(&landing, "aggregate"), "http://localhost/aggregate");
    assert_eq!(href(&landing, "aggregations"), "http://localhost/aggregations");
    let conformance = api.get("/conformance").await.json();
    assert!(
        conformance["conformsTo"]
            .as_array()
            .unwrap()
            .contains(&json!("https://api.stacspec.org/v0.3.0/aggregation"))
    );
    let collection = api.get("/collections/sentinel-1-grd").await.json();
    assert_eq!(
        href(&collection, "aggregate"),
        "http://localhost/collections/sentinel-1-grd/aggregate"
    );
    assert_eq!(
        href(&collection, "aggregations"),
        "http://localhost/collections/sentinel-1-grd/aggregations"
    );
    let listing = api.get("/collections/sentinel-1-grd/aggregations").await.json();
    assert_eq!(
        href(&listing, "aggregate"),
        "http://localhost/collections/sentinel-1-grd/aggregate"
    );
}

#[tokio::test]
async fn bad_aggregation_requests_are_400s() {
    let api = Api::sample().await;
    for (uri, says) in [
        ("/aggregate?aggregations=total_count,nonsense", "nonsense"),
        (
            "/aggregate?aggregations=datetime_frequency&datetime_frequency_interval=fortnight",
            "fortnight",
        ),
        (
            "/aggregate?aggregations=geohash_grid_frequency&geohash_grid_frequency_precision=13",
            "1 to 12",
        ),
        (
            "/aggregate?aggregations=geotile_grid_frequency&geotile_grid_frequency_precision=1.5",
            "0 to 29",
        ),
        (
            "/aggregate?aggregations=gsd_frequency&gsd_frequency_interval=0",
            "positive",
        ),
        (
            "/aggregate?aggregations=gsd_frequency&gsd_frequency_interval=wide",
            "number",
        ),
        (
            "/aggregate?aggregations=&geohash_grid_frequency_precision=x",
            "geohash_grid_frequency_precision",
        ),
        (
            "/aggregate?aggregations=total_count&datetime_frequency_interval=fortnight",
            "fortnight",
        ),
        (
            "/aggregate?geotile_grid_frequency_precision=3&geotile_grid_frequency_precision=4",
            "more than once",
        ),
        ("/aggregate?filter=nonsense%20%3D", "cql2-text"),
        ("/aggregate?bbox=1,2,3", "bbox"),
        (
            "/collections/sentinel-1-grd/aggregate?aggregations=id_frequency",
            "id_frequency",
        ),
    ] {
        let reply = api.get(uri).await;
        let message = reply.assert_error(StatusCode::BAD_REQUEST, "BadRequest");
        assert!(message.contains(says), "{uri}: {message}");
    }
    for body in [
        json!({"aggregations": "total_count"}),
        json!({"aggregations": [1]}),
        json!([]),
    ] {
        api.post("/aggregate", &body)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
    api.get("/collections/nope/aggregate")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NotFound");
    api.get("/collections/nope/aggregations")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NotFound");
}

#[tokio::test]
async fn the_engine_in_memory_and_duckdb_give_the_same_answers() {
    let in_memory = Api::sample().await;
    let duckdb = Api::new(
        &sample_data(),
        sample_config(),
        stac_indexed_api::ApiConfig {
            row_directory: false,
            ..stac_indexed_api::ApiConfig::default()
        },
    )
    .await;
    let options = "datetime_frequency_interval=day&geohash_grid_frequency_precision=5&geotile_grid_frequency_precision=9&gsd_frequency_interval=7";
    for search in [
        "",
        "collections=sentinel-1-grd",
        "bbox=170,-60,-170,60",
        "bbox=-10,35,20,60&datetime=2024-02-01T00:00:00Z/..",
        "filter=%22eo:cloud_cover%22%20%3C%2030%20OR%20platform%20IS%20NULL",
        "intersects=%7B%22type%22%3A%22Point%22%2C%22coordinates%22%3A%5B10%2C50%5D%7D",
        "q=sentinel",
        "ids=nothing",
    ] {
        for options in ["", options] {
            let uri = format!("/aggregate?{search}&{options}");
            let a = in_memory.get(&uri).await;
            let b = duckdb.get(&uri).await;
            assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.text());
            assert_eq!(a.json()["aggregations"], b.json()["aggregations"], "{uri}");
        }
    }
    let uri = "/collections/landsat-c2-l2/aggregate?aggregations=platform_frequency,datetime_frequency&datetime_frequency_interval=year";
    assert_eq!(in_memory.get(uri).await.json(), duckdb.get(uri).await.json());
}
