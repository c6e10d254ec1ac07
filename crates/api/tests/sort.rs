//! The sort extension through the router: orders computed from the sample
//! JSON, paging forward and back, sortables, and refusals.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use stac_indexed_test_support::*;
use std::cmp::Ordering;

/// The value an item sorts by for `field`, as its JSON says.
fn sort_value<'a>(item: &'a SampleItem, field: &str) -> &'a Value {
    let bare = field.strip_prefix("properties.").unwrap_or(field);
    match bare {
        "id" | "collection" => &item.json[bare],
        _ => &item.json["properties"][bare],
    }
}

/// Compares two non-null sort values of one field.
fn compare_values(a: &Value, b: &Value) -> Ordering {
    let time = |v: &Value| v.as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => a.as_f64().unwrap().total_cmp(&b.as_f64().unwrap()),
        (Value::String(x), Value::String(y)) => match (time(a), time(b)) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => x.cmp(y),
        },
        _ => panic!("cannot compare {a} with {b}"),
    }
}

/// The index's own order, the documented tie-breaker: collection, then
/// newest first (datetime, or start_datetime for ranges), then id.
fn tie_breaker(a: &SampleItem, b: &SampleItem) -> Ordering {
    let instant = |i: &SampleItem| -> Option<DateTime<Utc>> { i.datetime.or(i.start) };
    a.collection
        .cmp(&b.collection)
        .then_with(|| match (instant(a), instant(b)) {
            (Some(x), Some(y)) => y.cmp(&x),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
        .then_with(|| a.id.cmp(&b.id))
}

/// The expected ids for a sortby of `(field, descending)` keys; NULLs last.
fn expected_order(items: &[SampleItem], keys: &[(&str, bool)]) -> Vec<String> {
    let mut items: Vec<&SampleItem> = items.iter().collect();
    items.sort_by(|a, b| {
        keys.iter()
            .map(|(field, descending)| {
                let (x, y) = (sort_value(a, field), sort_value(b, field));
                match (x.is_null(), y.is_null()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Greater,
                    (false, true) => Ordering::Less,
                    _ if *descending => compare_values(y, x),
                    _ => compare_values(x, y),
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or_else(|| tie_breaker(a, b))
    });
    items.into_iter().map(|i| i.id.clone()).collect()
}

/// Sortbys as GET text, with their keys.
const SORTS: &[(&str, &[(&str, bool)])] = &[
    ("-properties.eo:cloud_cover", &[("eo:cloud_cover", true)]),
    ("eo:cloud_cover", &[("eo:cloud_cover", false)]),
    ("+datetime", &[("datetime", false)]),
    ("-properties.datetime,id", &[("datetime", true), ("id", false)]),
    ("platform,-gsd", &[("platform", false), ("gsd", true)]),
    ("-gsd", &[("gsd", true)]),
    ("id", &[("id", false)]),
    ("-collection,-id", &[("collection", true), ("id", true)]),
    ("end_datetime", &[("end_datetime", false)]),
];

#[tokio::test]
async fn get_sortby_orders_and_pages_every_item_once() {
    let api = Api::sample().await;
    let items = sample_items();
    for (sortby, keys) in SORTS {
        let expected = expected_order(&items, keys);
        let pages = follow_get(&api, &with_query("/search", &[("sortby", sortby), ("limit", "7")])).await;
        let got: Vec<String> = pages.iter().flat_map(ids).collect();
        assert_eq!(got, expected, "sortby={sortby}");
        assert!(pages.iter().all(|p| p["numberMatched"] == 50), "{sortby}");
        // And back again through the prev links of the last page.
        let mut back: Vec<String> = ids(pages.last().unwrap());
        let mut page = pages.last().unwrap().clone();
        while let Some(prev) = link(&page, "prev") {
            page = api.get(&local(prev["href"].as_str().unwrap())).await.assert_page();
            back.splice(0..0, ids(&page));
        }
        assert_eq!(back, expected, "prev links, sortby={sortby}");
    }
}

#[tokio::test]
async fn post_sortby_orders_and_pages_with_filters_kept() {
    let api = Api::sample().await;
    let items = sample_items();
    let body = json!({
        "collections": [S2, LANDSAT],
        "sortby": [{"field": "properties.eo:cloud_cover", "direction": "desc"}, {"field": "id"}],
        "limit": 4,
    });
    let in_collections: Vec<SampleItem> = items
        .iter()
        .filter(|i| i.collection == S2 || i.collection == LANDSAT)
        .cloned()
        .collect();
    let expected = expected_order(&in_collections, &[("eo:cloud_cover", true), ("id", false)]);
    let pages = follow_post(&api, body).await;
    assert_eq!(pages.iter().flat_map(ids).collect::<Vec<_>>(), expected);
}

#[tokio::test]
async fn collection_items_take_sortby() {
    let api = Api::sample().await;
    let items: Vec<SampleItem> = sample_items().into_iter().filter(|i| i.collection == S1).collect();
    let url = with_query(
        &format!("/collections/{S1}/items"),
        &[("sortby", "-datetime"), ("limit", "3")],
    );
    let got: Vec<String> = follow_get(&api, &url).await.iter().flat_map(ids).collect();
    assert_eq!(got, expected_order(&items, &[("datetime", true)]));
}

#[tokio::test]
async fn sorting_by_what_is_not_sortable_is_a_400_naming_it() {
    let api = Api::sample().await;
    for field in [
        "geometry",
        "nope",
        "constellation",
        "properties.proj:code",
        "x'; DROP TABLE items; --",
    ] {
        let description = api
            .get(&with_query("/search", &[("sortby", field)]))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
        assert!(description.contains(field), "{field}: {description}");
        api.post("/search", &json!({"sortby": [{"field": field}]}))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
    for bad in [
        json!("id"),
        json!([{"field": "id", "direction": "sideways"}]),
        json!([{}]),
    ] {
        api.post("/search", &json!({"sortby": bad}))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
}

#[tokio::test]
async fn a_token_cannot_change_the_sort() {
    let api = Api::sample().await;
    let page = api.search(&[("sortby", "-gsd"), ("limit", "2")]).await;
    let next = href(&page, "next");
    let token = query_of(next).into_iter().find(|(k, _)| k == "token").unwrap().1;
    let description = api
        .get(&with_query(
            "/search",
            &[("sortby", "gsd"), ("limit", "2"), ("token", &token)],
        ))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    assert!(description.contains("sortby"), "{description}");
    api.get(&with_query("/search", &[("limit", "2"), ("token", &token)]))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
}

#[tokio::test]
async fn sortables_list_the_sortable_fields() {
    let api = Api::sample().await;
    let reply = api.get("/sortables").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "application/schema+json");
    let sortables = reply.json();
    let names: Vec<&str> = sortables["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let config = sample_config();
    let mut expected = vec!["id", "collection", "datetime", "start_datetime", "end_datetime"];
    expected.extend(config.fields.iter().filter(|f| f.sortable).map(|f| f.name.as_str()));
    assert_eq!(names, expected);
    assert_eq!(sortables["$id"], "http://localhost/sortables");
    let per_collection = api.get(&format!("/collections/{S1}/sortables")).await.json();
    assert_eq!(
        per_collection["$id"],
        format!("http://localhost/collections/{S1}/sortables")
    );
    api.get("/collections/nope/sortables")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NotFound");
}
