//! Collection search through the real router: every answer checked against
//! the sample catalog's collection documents, read independently.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use stac_indexed_test_support::*;
use std::collections::BTreeSet;

/// The sample collection documents.
fn sample_collections() -> Vec<Value> {
    files_under(&sample_data())
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "collection.json"))
        .map(|p| read_json(&p))
        .collect()
}

fn ids_where(keep: impl Fn(&Value) -> bool) -> BTreeSet<String> {
    sample_collections()
        .iter()
        .filter(|c| keep(c))
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

fn extent_bbox(collection: &Value) -> [f64; 4] {
    let b: Vec<f64> = collection["extent"]["spatial"]["bbox"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    [b[0], b[1], b[2], b[3]]
}

fn extent_interval(collection: &Value) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let at = |i: usize| {
        collection["extent"]["temporal"]["interval"][0][i]
            .as_str()
            .map(parse_time)
    };
    (at(0), at(1))
}

fn overlaps([w, s, e, n]: [f64; 4], [qw, qs, qe, qn]: [f64; 4]) -> bool {
    w <= qe && e >= qw && s <= qn && n >= qs
}

fn text_of(collection: &Value) -> String {
    let mut parts = vec![collection["id"].as_str().unwrap().to_string()];
    for key in ["title", "description"] {
        parts.extend(collection[key].as_str().map(str::to_string));
    }
    for keyword in collection["keywords"].as_array().into_iter().flatten() {
        parts.push(keyword.as_str().unwrap().to_string());
    }
    parts.join(" ").to_lowercase()
}

fn collection_ids(page: &Value) -> Vec<String> {
    page["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

/// Which sample collections a search keeps.
type Keep = Box<dyn Fn(&Value) -> bool>;

#[tokio::test]
async fn collection_search_selects_what_the_documents_say() {
    let api = Api::sample().await;
    let all = api.get("/collections").await;
    assert_eq!(all.status, StatusCode::OK);
    let all = all.json();
    assert_eq!(all["numberMatched"], 3);
    assert_eq!(
        collection_ids(&all).into_iter().collect::<BTreeSet<_>>(),
        ids_where(|_| true)
    );

    let instant = |text: &str| Some(parse_time(text));
    let cases: Vec<(Vec<(&str, &str)>, Keep)> = vec![
        (
            vec![("bbox", "0,0,5,5")],
            Box::new(|c| overlaps(extent_bbox(c), [0.0, 0.0, 5.0, 5.0])),
        ),
        (
            vec![("bbox", "10,0,11,1")],
            Box::new(|c| overlaps(extent_bbox(c), [10.0, 0.0, 11.0, 1.0])),
        ),
        (
            vec![("datetime", "2024-06-29T00:00:00Z/..")],
            Box::new(move |c| {
                extent_interval(c)
                    .1
                    .is_none_or(|end| end >= instant("2024-06-29T00:00:00Z").unwrap())
            }),
        ),
        (
            vec![("datetime", "../2024-01-04T00:00:00Z")],
            Box::new(move |c| {
                extent_interval(c)
                    .0
                    .is_none_or(|start| start <= instant("2024-01-04T00:00:00Z").unwrap())
            }),
        ),
        (vec![("q", "radar")], Box::new(|c| text_of(c).contains("radar"))),
        (vec![("q", "optical")], Box::new(|c| text_of(c).contains("optical"))),
        (
            vec![("filter", "license = 'CC-BY-4.0'")],
            Box::new(|c| c["license"] == "CC-BY-4.0"),
        ),
        (
            vec![("filter", "a_contains(keywords, 'sar')")],
            Box::new(|c| c["keywords"].as_array().unwrap().contains(&json!("sar"))),
        ),
        (
            vec![
                (
                    "filter",
                    r#"{"op": "like", "args": [{"property": "title"}, "Sentinel%"]}"#,
                ),
                ("filter-lang", "cql2-json"),
            ],
            Box::new(|c| c["title"].as_str().unwrap().starts_with("Sentinel")),
        ),
    ];
    for (params, keep) in cases {
        let expected = ids_where(keep);
        let page = api.get(&with_query("/collections", &params)).await;
        assert_eq!(page.status, StatusCode::OK, "{params:?}: {}", page.text());
        let page = page.json();
        let found: BTreeSet<String> = collection_ids(&page).into_iter().collect();
        assert_eq!(found, expected, "{params:?}");
        assert_eq!(page["numberMatched"], expected.len(), "{params:?}");
        assert_eq!(page["numberReturned"], expected.len(), "{params:?}");
        assert!(
            !expected.is_empty() && expected.len() < 3 || params[0].0 == "bbox",
            "{params:?} is a real test"
        );
    }
}

#[tokio::test]
async fn collection_search_sorts_and_pages_both_ways() {
    let api = Api::sample().await;
    let mut titles: Vec<(String, String)> = sample_collections()
        .iter()
        .map(|c| {
            (
                c["title"].as_str().unwrap().to_string(),
                c["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    titles.sort();
    titles.reverse();
    let expected: Vec<String> = titles.into_iter().map(|(_, id)| id).collect();
    let sorted = api.get("/collections?sortby=-title").await.json();
    assert_eq!(collection_ids(&sorted), expected);

    // One at a time, forwards then back.
    let mut pages = vec![api.get("/collections?sortby=-title&limit=1").await.json()];
    while let Some(next) = link_href(pages.last().unwrap(), "next") {
        pages.push(api.get(&local(&next)).await.json());
        assert!(pages.len() <= 3);
    }
    let forwards: Vec<String> = pages.iter().flat_map(collection_ids).collect();
    assert_eq!(forwards, expected);
    for page in &pages {
        assert_eq!(page["numberMatched"], 3);
    }
    let prev = link_href(pages.last().unwrap(), "prev").unwrap();
    assert_eq!(
        collection_ids(&api.get(&local(&prev)).await.json()),
        [expected[1].clone()]
    );

    // POST, for long filters: next links carry the body.
    let first = api
        .post(
            "/collections-search",
            &json!({"limit": 1, "filter": "license = 'CC-BY-4.0'", "sortby": [{"field": "id", "direction": "asc"}]}),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let first = first.json();
    assert_eq!(first["numberMatched"], 2);
    let next = link(&first, "next").unwrap();
    assert_eq!(next["method"], "POST");
    let second = api
        .post(&local(next["href"].as_str().unwrap()), &next["body"])
        .await
        .json();
    let both: Vec<String> = [collection_ids(&first), collection_ids(&second)].concat();
    let mut expected: Vec<String> = ids_where(|c| c["license"] == "CC-BY-4.0").into_iter().collect();
    expected.sort();
    assert_eq!(both, expected);
    assert!(link(&second, "next").is_none());
}

#[tokio::test]
async fn unknown_and_bad_collection_search_parameters_are_400s() {
    let api = Api::sample().await;
    for (uri, says) in [
        ("/collections?collections=x", "collections"),
        ("/collections?ids=x", "ids"),
        ("/collections?fields=a..b", "empty path segment"),
        ("/collections?foo=1", "foo"),
        ("/collections?bbox=1,2,3", "bbox"),
        ("/collections?filter=platform%20%3D%20'x'", "platform"),
        ("/collections?sortby=description", "description"),
        ("/collections?datetime=yesterday", "datetime"),
    ] {
        let message = api.get(uri).await.assert_error(StatusCode::BAD_REQUEST, "BadRequest");
        assert!(message.contains(says), "{uri}: {message}");
    }
    let reply = api
        .post(
            "/collections-search",
            &json!({"intersects": {"type": "Point", "coordinates": [0, 0]}}),
        )
        .await;
    assert!(
        reply
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest")
            .contains("intersects")
    );
}

#[tokio::test]
async fn collection_queryables_and_sortables_are_documented() {
    let api = Api::sample().await;
    let queryables = api.get("/collections/queryables").await;
    assert_eq!(queryables.content_type(), "application/schema+json");
    let queryables = queryables.json();
    assert_eq!(queryables["$id"], "http://localhost/collections/queryables");
    let names: BTreeSet<&str> = queryables["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for name in [
        "id",
        "title",
        "description",
        "keywords",
        "license",
        "start_datetime",
        "end_datetime",
    ] {
        assert!(names.contains(name), "{name} in {names:?}");
    }
    let sortables = api.get("/collections/sortables").await.json();
    let names: BTreeSet<&str> = sortables["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(
        names.contains("title") && names.contains("id") && !names.contains("description"),
        "{names:?}"
    );
    let conformance = api.get("/conformance").await.json();
    let classes = conformance["conformsTo"].as_array().unwrap();
    assert!(classes.contains(&json!("https://api.stacspec.org/v1.0.0-rc.1/collection-search")));
}

#[tokio::test]
async fn collection_fields_select_members_as_written() {
    let api = Api::sample().await;
    let keys = |collection: &Value| -> BTreeSet<String> { collection.as_object().unwrap().keys().cloned().collect() };
    let page = api.get("/collections?fields=title,extent.temporal").await.json();
    for collection in page["collections"].as_array().unwrap() {
        assert_eq!(
            keys(collection),
            BTreeSet::from(["id", "type", "title", "extent"].map(String::from))
        );
        assert!(collection["extent"].get("spatial").is_none(), "{collection}");
        assert!(collection["extent"]["temporal"]["interval"].is_array());
    }
    let page = api.get("/collections?fields=-links,-extent").await.json();
    let whole = api.get("/collections/sentinel-1-grd").await.json();
    let trimmed = page["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "sentinel-1-grd")
        .unwrap();
    let mut expected = keys(&whole);
    expected.remove("links");
    expected.remove("extent");
    assert_eq!(keys(trimmed), expected);
    // The default set (nothing included or excluded).
    let page = api.get("/collections?fields=").await.json();
    let defaults = BTreeSet::from(
        [
            "type",
            "stac_version",
            "id",
            "title",
            "description",
            "extent",
            "license",
            "links",
        ]
        .map(String::from),
    );
    for collection in page["collections"].as_array().unwrap() {
        assert!(
            keys(collection).is_subset(&defaults) && keys(collection).contains("extent"),
            "{collection}"
        );
        assert!(collection.get("keywords").is_none());
    }
    let post = api
        .post(
            "/collections-search",
            &json!({"fields": {"include": ["license"]}, "q": "radar"}),
        )
        .await
        .json();
    assert_eq!(
        post["collections"],
        json!([{"id": "sentinel-1-grd", "type": "Collection", "license": "CC-BY-4.0"}])
    );
}
