//! The fields extension through the router: which members come back,
//! computed from the sample JSON by the rules of `src/fields.rs`'s module
//! documentation (written again here), and index-only answers: the same
//! members as a fetched answer, built without reading the items.

use axum::http::StatusCode;
use chrono::DateTime;
use serde_json::{Map, Value, json};
use stac_indexed_api::ApiConfig;
use stac_indexed_test_support::*;
use std::collections::BTreeSet;

const ITEM_MEMBERS: [&str; 10] = [
    "type",
    "stac_version",
    "stac_extensions",
    "id",
    "geometry",
    "bbox",
    "properties",
    "links",
    "assets",
    "collection",
];

/// A field as member names; a first segment that is not an Item member names a property.
fn path(field: &str) -> Vec<String> {
    let segments: Vec<String> = field.split('.').map(str::to_string).collect();
    if ITEM_MEMBERS.contains(&segments[0].as_str()) {
        segments
    } else {
        std::iter::once("properties".to_string()).chain(segments).collect()
    }
}

/// A field selection, as the rules read it.
struct Selection {
    /// Explicit rules: path, and whether it includes.
    explicit: Vec<(Vec<String>, bool)>,
    /// Default-set and always-kept members: kept unless an exclude says otherwise.
    weak: Vec<Vec<String>>,
    /// The base: the whole item (POST with `include` missing and some exclude).
    full: bool,
}

impl Selection {
    /// `include`: `None` when missing (POST only), else the list (maybe
    /// empty). Only excludes: the full item without them.
    fn new(include: Option<&[&str]>, exclude: &[&str]) -> Selection {
        let mut explicit: Vec<(Vec<String>, bool)> = exclude.iter().map(|f| (path(f), false)).collect();
        let included: Vec<&str> = include.unwrap_or_default().to_vec();
        explicit.extend(included.iter().map(|f| (path(f), true)));
        let mut weak: Vec<Vec<String>> = ["id", "type", "collection"].iter().map(|f| path(f)).collect();
        let full = included.is_empty() && !exclude.is_empty();
        if included.is_empty() && !full {
            // The default set (rule 1), with the datetime range when the item has it.
            for field in [
                "type",
                "stac_version",
                "id",
                "geometry",
                "bbox",
                "links",
                "assets",
                "properties.datetime",
                "properties.start_datetime",
                "properties.end_datetime",
            ] {
                weak.push(path(field));
            }
        }
        Selection { explicit, weak, full }
    }

    /// Whether the member at `at` is kept by the rules at it or above it.
    fn keeps(&self, at: &[String]) -> bool {
        let above = |p: &Vec<String>| p.len() <= at.len() && at.starts_with(p);
        // The most specific explicit rule; at the same path, include wins.
        let rule = self
            .explicit
            .iter()
            .filter(|(p, _)| above(p))
            .max_by_key(|(p, include)| (p.len(), *include));
        match rule {
            Some((_, include)) => *include,
            None => self.full || self.weak.iter().any(above),
        }
    }

    /// The item as the selection leaves it.
    fn project(&self, item: &Value) -> Value {
        self.object(item.as_object().unwrap(), &mut Vec::new())
            .unwrap_or_else(|| json!({}))
    }

    fn object(&self, object: &Map<String, Value>, at: &mut Vec<String>) -> Option<Value> {
        let mut kept = Map::new();
        for (key, value) in object {
            at.push(key.clone());
            let member = match value {
                Value::Object(inner) => self.object(inner, at),
                _ => self.keeps(at).then(|| value.clone()),
            };
            if let Some(member) = member {
                kept.insert(key.clone(), member);
            }
            at.pop();
        }
        // An included object appears even when nothing in it is kept.
        (!kept.is_empty() || (!at.is_empty() && self.keeps(at))).then_some(Value::Object(kept))
    }
}

/// Every member path of a document (objects only; arrays are values).
fn member_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let Value::Object(object) = value {
        for (key, inner) in object {
            let at = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            out.insert(at.clone());
            member_paths(inner, &at, out);
        }
    }
}

fn paths_of(value: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    member_paths(value, "", &mut out);
    out
}

/// Whether two values are the same modulo the documented normalisations:
/// numbers by value, timestamps as instants.
fn same(a: &Value, b: &Value) -> bool {
    let instant = |v: &Value| v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok());
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) => x == y || instant(a).is_some_and(|t| Some(t) == instant(b)),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// The answer's items hold exactly the expected members, with the sample's
/// values (links and assets hold rewritten hrefs: only their members count).
/// `order` is the ids of the same search without fields (an excluded id
/// cannot name its item).
fn check_page(page: &Value, order: &[String], selection: &Selection, what: &str) {
    let items = sample_items();
    let features = page["features"].as_array().unwrap();
    assert_eq!(features.len(), 50, "{what}");
    for (feature, id) in features.iter().zip(order) {
        let item = items.iter().find(|i| &i.id == id).unwrap();
        let want = selection.project(&item.json);
        assert_eq!(paths_of(feature), paths_of(&want), "{what}: {id}");
        for (key, value) in want.as_object().unwrap() {
            if key != "links" && key != "assets" {
                assert!(
                    same(&feature[key], value),
                    "{what}: {id} {key}: {} vs {value}",
                    feature[key]
                );
            }
        }
    }
}

#[tokio::test]
async fn get_fields_return_exactly_the_selected_members() {
    let api = Api::sample().await;
    let order = ids(&api.search(&[("limit", "100")]).await);
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "id,properties.eo:cloud_cover",
            &["id", "properties.eo:cloud_cover"],
            &[],
        ),
        ("eo:cloud_cover,gsd", &["eo:cloud_cover", "gsd"], &[]),
        (
            "+properties.platform, geometry",
            &["properties.platform", "geometry"],
            &[],
        ),
        ("properties", &["properties"], &[]),
        ("-geometry", &[], &["geometry"]),
        ("-geometry,-links,-assets", &[], &["geometry", "links", "assets"]),
        ("-properties.datetime", &[], &["properties.datetime"]),
        ("-properties.platform,-assets", &[], &["properties.platform", "assets"]),
        ("", &[], &[]),
        (
            "properties,-properties.gsd,-properties.title",
            &["properties"],
            &["properties.gsd", "properties.title"],
        ),
        (
            "-properties,properties.datetime",
            &["properties.datetime"],
            &["properties"],
        ),
        ("id,-id", &["id"], &["id"]),
        ("properties.gsd,-collection", &["properties.gsd"], &["collection"]),
        ("properties.gsd,-type,-id", &["properties.gsd"], &["type", "id"]),
        ("links,assets.visual", &["links", "assets.visual"], &[]),
        ("assets,-assets.thumbnail", &["assets"], &["assets.thumbnail"]),
        (
            "properties.instruments.0,properties.nope",
            &["properties.instruments.0", "properties.nope"],
            &[],
        ),
        (
            "bbox,properties.keywords,-properties",
            &["bbox", "properties.keywords"],
            &["properties"],
        ),
        (
            "stac_version,properties.title,properties.description",
            &["stac_version", "properties.title", "properties.description"],
            &[],
        ),
    ];
    for (fields, include, exclude) in cases {
        let selection = Selection::new(Some(include), exclude);
        let page = api.search(&[("fields", fields), ("limit", "100")]).await;
        check_page(&page, &order, &selection, &format!("GET fields={fields}"));
    }
}

#[tokio::test]
async fn post_fields_return_exactly_the_selected_members() {
    let api = Api::sample().await;
    let order = ids(&api.search(&[("limit", "100")]).await);
    let cases: &[(Option<&[&str]>, &[&str])] = &[
        (Some(&["id", "properties.eo:cloud_cover"]), &[]),
        (None, &["geometry", "assets"]),
        (None, &["properties.title", "properties.description", "links"]),
        (Some(&[]), &["geometry"]),
        (Some(&[]), &[]),
        (None, &[]),
        (Some(&["properties"]), &["properties.datetime", "properties.keywords"]),
        (Some(&["properties.datetime"]), &["properties"]),
        (Some(&["gsd", "platform"]), &["gsd"]),
        (Some(&["geometry.type"]), &[]),
        (
            Some(&["assets.thumbnail.href", "assets.visual"]),
            &["assets.visual.roles"],
        ),
        (None, &["id", "collection", "type"]),
    ];
    for (include, exclude) in cases {
        let selection = Selection::new(*include, exclude);
        let mut fields = Map::new();
        if let Some(include) = include {
            fields.insert("include".into(), json!(include));
        }
        fields.insert("exclude".into(), json!(exclude));
        let page = api.search_post(json!({"fields": fields, "limit": 100})).await;
        check_page(&page, &order, &selection, &format!("POST fields={fields:?}"));
    }
    // `fields: null`, `{}` and null lists are the default set.
    for fields in [json!(null), json!({}), json!({"include": null, "exclude": null})] {
        let page = api.search_post(json!({"fields": fields, "limit": 100})).await;
        if fields.is_null() {
            // No fields at all: the full item.
            check_page(&page, &order, &Selection::new(None, &["__none__"]), "fields: null");
        } else {
            check_page(&page, &order, &Selection::new(Some(&[]), &[]), &format!("{fields}"));
        }
    }
}

#[tokio::test]
async fn malformed_fields_are_400s() {
    let api = Api::sample().await;
    for fields in [
        json!({"includes": ["id"]}),
        json!({"include": "id"}),
        json!({"include": [1]}),
        json!(["id"]),
        json!("id"),
        json!({"include": ["properties..gsd"]}),
    ] {
        api.post("/search", &json!({"fields": fields}))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
    api.get(&with_query("/search", &[("fields", "properties..gsd")]))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
}

/// Include lists the index can answer alone.
const INDEX_ONLY: &[&str] = &[
    "id,collection,geometry,bbox,properties.datetime,properties.eo:cloud_cover,properties.platform",
    "id,properties.start_datetime,properties.end_datetime,properties.gsd",
    "bbox,datetime,instruments,constellation,proj:code",
    "geometry",
    "properties.datetime,properties.eo:cloud_cover,-collection",
];

/// The same include list plus a member no item has, which only a fetch can answer.
fn fetched_variant(fields: &str) -> String {
    format!("{fields},properties.no-such-member")
}

#[tokio::test]
async fn index_only_answers_equal_fetched_answers() {
    let api = Api::sample().await;
    let order = ids(&api.search(&[("limit", "100")]).await);
    for fields in INDEX_ONLY {
        let (include, exclude): (Vec<&str>, Vec<&str>) = fields.split(',').partition(|f| !f.starts_with('-'));
        let exclude: Vec<&str> = exclude.iter().map(|f| &f[1..]).collect();
        let selection = Selection::new(Some(&include), &exclude);
        let index_only = api.search(&[("fields", fields), ("limit", "100")]).await;
        check_page(&index_only, &order, &selection, &format!("index-only fields={fields}"));
        let fetched = api
            .search(&[("fields", &fetched_variant(fields)), ("limit", "100")])
            .await;
        assert_eq!(
            ids(&index_only),
            ids(&fetched),
            "{fields}: the same items in the same order"
        );
        for (a, b) in index_only["features"]
            .as_array()
            .unwrap()
            .iter()
            .zip(fetched["features"].as_array().unwrap())
        {
            assert!(same(a, b), "{fields}:\nindex-only {a}\nfetched    {b}");
        }
        // POST too.
        let body = json!({"fields": {"include": include, "exclude": exclude}, "limit": 100});
        let post = api.search_post(body).await;
        assert!(same(&post["features"], &index_only["features"]), "POST {fields}");
    }
    // A collection's own queryable is index-only within that collection.
    let fields = "id,properties.sar:polarizations,properties.datetime";
    let selection = Selection::new(
        Some(&["id", "properties.sar:polarizations", "properties.datetime"]),
        &[],
    );
    let page = api
        .get(&with_query(
            &format!("/collections/{S1}/items"),
            &[("fields", fields), ("limit", "100")],
        ))
        .await
        .assert_page();
    for feature in page["features"].as_array().unwrap() {
        let item = sample_item(feature["id"].as_str().unwrap());
        assert!(same(feature, &selection.project(&item.json)), "{feature}");
    }
    assert_matches(&page, &expected(|i| i.collection == S1), "sar:polarizations");
}

#[tokio::test]
async fn index_only_answers_do_not_fetch_the_items() {
    let catalog = sample_copy();
    let api = Api::new(catalog.path(), sample_config(), ApiConfig::default()).await;
    let gone = "S1A_IW_GRDH_20240314T053011";
    std::fs::remove_file(catalog.path().join(format!("radar/items/{gone}.json"))).unwrap();
    let item = sample_item(gone);

    // A full answer needs the file: 502.
    let description = api
        .get(&format!("/search?ids={gone}"))
        .await
        .assert_error(StatusCode::BAD_GATEWAY, "SourceUnavailable");
    assert!(description.contains(gone), "{description}");
    // So does a fields answer with a member the index does not hold.
    api.get(&with_query(
        "/search",
        &[("ids", gone), ("fields", "id,properties.title")],
    ))
    .await
    .assert_error(StatusCode::BAD_GATEWAY, "SourceUnavailable");

    // The index alone answers these.
    for fields in INDEX_ONLY {
        let (include, exclude): (Vec<&str>, Vec<&str>) = fields.split(',').partition(|f| !f.starts_with('-'));
        let exclude: Vec<&str> = exclude.iter().map(|f| &f[1..]).collect();
        let want = Selection::new(Some(&include), &exclude).project(&item.json);
        let page = api.search(&[("ids", gone), ("fields", fields)]).await;
        assert_eq!(ids(&page), [gone], "{fields}");
        assert!(
            same(&page["features"][0], &want),
            "{fields}: {} vs {want}",
            page["features"][0]
        );
        let page = api
            .search_post(json!({"ids": [gone], "fields": {"include": include, "exclude": exclude}}))
            .await;
        assert!(same(&page["features"][0], &want), "POST {fields}");
        // With a filter and over the whole collection.
        let page = api
            .get(&with_query(
                &format!("/collections/{S1}/items"),
                &[("fields", fields), ("filter", "gsd = 10"), ("limit", "100")],
            ))
            .await
            .assert_page();
        let want = expected(|i| i.collection == S1 && i.json["properties"]["gsd"] == 10);
        assert_matches(&page, &want, fields);
    }
}
