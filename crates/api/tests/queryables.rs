//! /queryables and /collections/{id}/queryables against the index config,
//! and the two filters that are not CQL2: free text `q` and the query
//! extension, with expectations from hand-written predicates over the
//! sample JSON.

use axum::http::StatusCode;
use serde_json::{Value, json};
use stac_indexed_api::ApiConfig;
use stac_indexed_test_support::*;
use std::collections::{BTreeMap, BTreeSet};

const QUERYABLES_REL: &str = "http://www.opengis.net/def/rel/ogc/1.0/queryables";

/// The queryables that apply to `collection` (`None`: every collection),
/// with their configured schemas (`Value::Null` when none is configured),
/// read from sample-data/index-config.json.
fn configured(collection: Option<&str>) -> BTreeMap<String, Value> {
    let config = read_json(&sample_data().join("index-config.json"));
    let mut out = BTreeMap::new();
    for field in config["fields"].as_array().unwrap() {
        if field["queryable"] == false {
            continue;
        }
        let applies = match field["collections"].as_array() {
            None => true,
            Some(list) => list.iter().any(|c| c == "*" || Some(c.as_str().unwrap()) == collection),
        };
        if applies {
            out.insert(field["name"].as_str().unwrap().to_string(), field["schema"].clone());
        }
    }
    out
}

const BUILT_INS: [&str; 6] = [
    "id",
    "collection",
    "geometry",
    "datetime",
    "start_datetime",
    "end_datetime",
];

fn check_document(reply: &Reply, id: &str, collection: Option<&str>) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.content_type(), "application/schema+json");
    let document = reply.json();
    assert!(
        [
            "https://json-schema.org/draft/2019-09/schema",
            "http://json-schema.org/draft-07/schema#"
        ]
        .contains(&document["$schema"].as_str().unwrap()),
        "{document}"
    );
    assert_eq!(document["$id"], id);
    assert_eq!(document["type"], "object");
    assert_eq!(document["additionalProperties"], false);
    let properties = document["properties"].as_object().unwrap();
    let config = configured(collection);
    let want: BTreeSet<&str> = BUILT_INS
        .iter()
        .copied()
        .chain(config.keys().map(String::as_str))
        .collect();
    let got: BTreeSet<&str> = properties.keys().map(String::as_str).collect();
    assert_eq!(got, want, "{id}");
    for (name, schema) in &config {
        let served = &properties[name];
        if schema.is_null() {
            // No schema configured: one from the field's type.
            let config = read_json(&sample_data().join("index-config.json"));
            let field = config["fields"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["name"] == name.as_str())
                .unwrap();
            let json_type = match field["type"].as_str().unwrap() {
                "string[]" => "array",
                other => other,
            };
            assert_eq!(served["type"], json_type, "{name}: {served}");
        } else {
            assert_eq!(served, schema, "{name}");
        }
    }
    for name in ["datetime", "start_datetime", "end_datetime"] {
        assert_eq!(properties[name]["type"], "string", "{name}");
        assert_eq!(properties[name]["format"], "date-time", "{name}");
    }
    assert_eq!(properties["id"]["type"], "string");
    assert!(
        properties["geometry"]["$ref"]
            .as_str()
            .is_some_and(|r| r.contains("geojson")),
        "{}",
        properties["geometry"]
    );
}

#[tokio::test]
async fn queryables_describe_the_index_config() {
    let api = Api::sample().await;
    check_document(&api.get("/queryables").await, "http://localhost/queryables", None);
    for collection in [S1, S2, LANDSAT] {
        let path = format!("/collections/{collection}/queryables");
        check_document(
            &api.get(&path).await,
            &format!("http://localhost{path}"),
            Some(collection),
        );
    }
    // The one collection-specific field really is specific.
    assert!(configured(Some(S1)).contains_key("sar:polarizations"));
    assert!(!configured(None).contains_key("sar:polarizations"));
    assert!(!configured(Some(S2)).contains_key("sar:polarizations"));

    let description = api
        .get("/collections/nope/queryables")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NotFound");
    assert!(description.contains("nope"), "{description}");
}

#[tokio::test]
async fn the_queryables_id_is_the_request_url() {
    let api = Api::sample().await;
    let headers = [
        ("host", "internal"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "stac.example.com"),
    ];
    check_document(
        &api.get_with("/queryables", &headers).await,
        "https://stac.example.com/queryables",
        None,
    );
    check_document(
        &api.get_with(&format!("/collections/{S1}/queryables"), &headers).await,
        &format!("https://stac.example.com/collections/{S1}/queryables"),
        Some(S1),
    );
    let prefixed = [
        ("x-forwarded-host", "gw.example.com"),
        ("x-forwarded-prefix", "/stac/v1"),
    ];
    check_document(
        &api.get_with("/queryables", &prefixed).await,
        "http://gw.example.com/stac/v1/queryables",
        None,
    );

    let api = Api::new(
        &sample_data(),
        sample_config(),
        ApiConfig {
            root_path: "/prod".into(),
            ..ApiConfig::default()
        },
    )
    .await;
    check_document(&api.get("/queryables").await, "http://localhost/prod/queryables", None);
    check_document(
        &api.get(&format!("/collections/{S2}/queryables")).await,
        &format!("http://localhost/prod/collections/{S2}/queryables"),
        Some(S2),
    );
}

#[tokio::test]
async fn the_landing_page_and_collections_link_their_queryables() {
    let api = Api::sample().await;
    let landing = api.get("/").await.json();
    let found = links(&landing, QUERYABLES_REL);
    assert_eq!(found.len(), 1, "{}", landing["links"]);
    assert_eq!(found[0]["href"], "http://localhost/queryables");
    assert_eq!(found[0]["type"], "application/schema+json");

    let collections = api.get("/collections").await.json();
    let listed = collections["collections"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    for collection in listed {
        let id = collection["id"].as_str().unwrap();
        let want = format!("http://localhost/collections/{id}/queryables");
        assert_eq!(href(collection, QUERYABLES_REL), want, "listed {id}");
        let one = api.get(&format!("/collections/{id}")).await.json();
        assert_eq!(href(&one, QUERYABLES_REL), want, "{id}");
        // And the link leads to the document.
        check_document(&api.get(&local(&want)).await, &want, Some(id));
    }
}

// ---------------------------------------------------------------------------
// Free text.
// ---------------------------------------------------------------------------

/// The title, description and keywords of an item, lower-cased.
fn texts(item: &SampleItem) -> Vec<String> {
    let properties = &item.json["properties"];
    let mut out: Vec<String> = ["title", "description"]
        .iter()
        .filter_map(|k| properties[*k].as_str())
        .map(str::to_lowercase)
        .collect();
    if let Some(keywords) = properties["keywords"].as_array() {
        out.extend(keywords.iter().map(|k| k.as_str().unwrap().to_lowercase()));
    }
    out
}

/// Whether one of the texts contains the term (a word or a phrase).
fn has(item: &SampleItem, term: &str) -> bool {
    let term = term.to_lowercase();
    texts(item).iter().any(|t| t.contains(&term))
}

#[tokio::test]
async fn free_text_matches_title_description_and_keywords() {
    let api = Api::sample().await;
    type Predicate = Box<dyn Fn(&SampleItem) -> bool>;
    let cases: Vec<(&str, Predicate)> = vec![
        ("snow", Box::new(|i| has(i, "snow"))),
        ("SNOW", Box::new(|i| has(i, "snow"))),
        ("zürich", Box::new(|i| has(i, "zürich"))),
        ("ZÜRICH", Box::new(|i| has(i, "zürich"))),
        ("lake garda", Box::new(|i| has(i, "lake") || has(i, "garda"))),
        ("\"lake garda\"", Box::new(|i| has(i, "lake garda"))),
        ("\"garda in\"", Box::new(|i| has(i, "garda in"))),
        ("snow AND alps", Box::new(|i| has(i, "snow") && has(i, "alps"))),
        ("snow OR flood", Box::new(|i| has(i, "snow") || has(i, "flood"))),
        (
            "(snow OR flood) AND alps",
            Box::new(|i| (has(i, "snow") || has(i, "flood")) && has(i, "alps")),
        ),
        (
            "snow OR flood AND po",
            Box::new(|i| has(i, "snow") || (has(i, "flood") && has(i, "po"))),
        ),
        ("lake +summer", Box::new(|i| has(i, "summer"))),
        ("lake -garda", Box::new(|i| has(i, "lake") && !has(i, "garda"))),
        (
            "agriculture +veneto -crop",
            Box::new(|i| has(i, "veneto") && !has(i, "crop")),
        ),
        ("nile,fiji", Box::new(|i| has(i, "nile") || has(i, "fiji"))),
        (
            "\"po river\" dolomites",
            Box::new(|i| has(i, "po river") || has(i, "dolomites")),
        ),
        ("antimeridian", Box::new(|i| has(i, "antimeridian"))),
        ("winter summer", Box::new(|i| has(i, "winter") || has(i, "summer"))),
        ("nothing-like-this", Box::new(|_| false)),
        ("sentinel", Box::new(|i| has(i, "sentinel"))),
    ];
    for (q, predicate) in &cases {
        let want = expected(predicate);
        let page = api.search(&[("q", q), ("limit", "100")]).await;
        assert_matches(&page, &want, &format!("GET q={q}"));
        let page = api.search_post(json!({"q": q, "limit": 100})).await;
        assert_matches(&page, &want, &format!("POST q={q}"));
    }
    // Most cases must discriminate.
    let useful = cases
        .iter()
        .filter(|(_, p)| (1..18).contains(&expected(p).len()))
        .count();
    assert!(useful >= 16, "{useful}");

    // POST arrays: each term as written, any of them.
    for terms in [
        vec!["Lake Garda", "nile"],
        vec!["po river"],
        vec!["SNOW", "flood", "xyz"],
    ] {
        let want = expected(|i| terms.iter().any(|t| has(i, t)));
        let page = api.search_post(json!({"q": terms, "limit": 100})).await;
        assert_matches(&page, &want, &format!("POST q={terms:?}"));
    }
    // On collection items, and with a filter.
    let page = api
        .get(&with_query(
            &format!("/collections/{S1}/items"),
            &[("q", "snow OR flood"), ("limit", "100")],
        ))
        .await
        .assert_page();
    assert_matches(
        &page,
        &expected(|i| i.collection == S1 && (has(i, "snow") || has(i, "flood"))),
        "collection items",
    );
    let page = api
        .search(&[("q", "lake"), ("filter", "eo:cloud_cover < 10"), ("limit", "100")])
        .await;
    let low = |i: &SampleItem| {
        i.json["properties"]["eo:cloud_cover"]
            .as_f64()
            .is_some_and(|c| c < 10.0)
    };
    assert_matches(&page, &expected(|i| has(i, "lake") && low(i)), "q + filter");
}

// ---------------------------------------------------------------------------
// The query extension.
// ---------------------------------------------------------------------------

fn number(item: &SampleItem, name: &str) -> Option<f64> {
    item.json["properties"][name].as_f64()
}

fn text<'a>(item: &'a SampleItem, name: &str) -> Option<&'a str> {
    match name {
        "id" => Some(&item.id),
        "collection" => Some(&item.collection),
        _ => item.json["properties"][name].as_str(),
    }
}

#[tokio::test]
async fn the_query_extension_selects_what_its_operators_say() {
    let api = Api::sample().await;
    type Predicate = Box<dyn Fn(&SampleItem) -> bool>;
    let cases: Vec<(Value, Predicate)> = vec![
        (
            json!({"eo:cloud_cover": {"lt": 10}}),
            Box::new(|i| number(i, "eo:cloud_cover").is_some_and(|c| c < 10.0)),
        ),
        (
            json!({"eo:cloud_cover": {"lte": 9.9}}),
            Box::new(|i| number(i, "eo:cloud_cover").is_some_and(|c| c <= 9.9)),
        ),
        (
            json!({"properties.eo:cloud_cover": {"gt": 50}}),
            Box::new(|i| number(i, "eo:cloud_cover").is_some_and(|c| c > 50.0)),
        ),
        (
            json!({"eo:cloud_cover": {"gte": 44, "lte": 80}}),
            Box::new(|i| number(i, "eo:cloud_cover").is_some_and(|c| (44.0..=80.0).contains(&c))),
        ),
        (
            json!({"eo:cloud_cover": {"eq": 0}}),
            Box::new(|i| number(i, "eo:cloud_cover") == Some(0.0)),
        ),
        (
            json!({"eo:cloud_cover": {"neq": 0}}),
            Box::new(|i| number(i, "eo:cloud_cover").is_some_and(|c| c != 0.0)),
        ),
        (json!({"gsd": {"eq": 30}}), Box::new(|i| number(i, "gsd") == Some(30.0))),
        (
            json!({"platform": {"neq": "sentinel-2a"}}),
            Box::new(|i| text(i, "platform") != Some("sentinel-2a")),
        ),
        (
            json!({"id": {"startsWith": "S2B"}}),
            Box::new(|i| i.id.starts_with("S2B")),
        ),
        (
            json!({"id": {"endsWith": "T32TPR"}}),
            Box::new(|i| i.id.ends_with("T32TPR")),
        ),
        (
            json!({"platform": {"contains": "tinel-2"}}),
            Box::new(|i| text(i, "platform").is_some_and(|p| p.contains("tinel-2"))),
        ),
        (
            json!({"id": {"contains": "_L2SP_19"}}),
            Box::new(|i| i.id.contains("_L2SP_19")),
        ),
        (
            json!({"proj:code": {"in": ["EPSG:32736", "EPSG:32636"]}}),
            Box::new(|i| matches!(text(i, "proj:code"), Some("EPSG:32736" | "EPSG:32636"))),
        ),
        (
            json!({"eo:cloud_cover": {"in": [0, 44, 95]}}),
            Box::new(|i| number(i, "eo:cloud_cover").is_some_and(|c| [0.0, 44.0, 95.0].contains(&c))),
        ),
        (
            json!({"datetime": {"gt": "2024-05-01T00:00:00Z"}}),
            Box::new(|i| i.datetime.is_some_and(|t| t > parse_time("2024-05-01T00:00:00Z"))),
        ),
        (
            json!({"collection": {"eq": S1}, "datetime": {"lt": "2024-03-01T00:00:00Z"}}),
            Box::new(|i| i.collection == S1 && i.datetime.is_some_and(|t| t < parse_time("2024-03-01T00:00:00Z"))),
        ),
        (
            json!({"eo:cloud_cover": {"gt": 10}, "gsd": {"lt": 20}, "id": {"startsWith": "S2A"}}),
            Box::new(|i| {
                number(i, "eo:cloud_cover").is_some_and(|c| c > 10.0)
                    && number(i, "gsd").is_some_and(|g| g < 20.0)
                    && i.id.starts_with("S2A")
            }),
        ),
        (
            json!({"constellation": {"startsWith": "sentinel"}, "platform": {"endsWith": "b"}}),
            Box::new(|i| {
                text(i, "constellation").is_some_and(|c| c.starts_with("sentinel"))
                    && text(i, "platform").is_some_and(|p| p.ends_with('b'))
            }),
        ),
        (json!({"id": {"contains": "%"}}), Box::new(|i| i.id.contains('%'))),
        (
            json!({"id": {"startsWith": "S_A"}}),
            Box::new(|i| i.id.starts_with("S_A")),
        ),
    ];
    for (query, predicate) in &cases {
        let want = expected(predicate);
        let page = api.search_post(json!({"query": query, "limit": 100})).await;
        assert_matches(&page, &want, &format!("POST query={query}"));
        let page = api.search(&[("query", &query.to_string()), ("limit", "100")]).await;
        assert_matches(&page, &want, &format!("GET query={query}"));
    }
    let useful = cases
        .iter()
        .filter(|(_, p)| (1..50).contains(&expected(p).len()))
        .count();
    assert!(useful >= 17, "{useful}");

    // Collection-specific queryables follow the searched collections.
    let query = json!({"sar:polarizations": {"eq": "VV"}});
    let description = api
        .post("/search", &json!({"query": query}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    assert!(description.contains("sar:polarizations"), "{description}");
    // With a filter and on collection items.
    let page = api
        .get(&with_query(
            &format!("/collections/{LANDSAT}/items"),
            &[
                ("query", r#"{"eo:cloud_cover": {"lt": 50}}"#),
                ("filter", "platform = 'landsat-9'"),
                ("limit", "100"),
            ],
        ))
        .await
        .assert_page();
    let want = expected(|i| {
        i.collection == LANDSAT
            && text(i, "platform") == Some("landsat-9")
            && number(i, "eo:cloud_cover").is_some_and(|c| c < 50.0)
    });
    assert!(!want.is_empty());
    assert_matches(&page, &want, "query + filter on collection items");
}
