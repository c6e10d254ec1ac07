//! Hostile input through the router: SQL in literals, property names, sort
//! fields and field paths; huge IN lists; pathological nesting; a geometry
//! of 100k vertices; malformed query and free-text parameters. Every answer
//! is a correct page or a STAC 4xx error: never a 500, a crash or a hang.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use geo::{Contains, Intersects, LineString, Polygon};
use serde_json::{Value, json};
use stac_indexed_test_support::*;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// A search that must still see the whole catalog.
async fn the_catalog_is_intact(api: &Api) {
    let page = api.search(&[("limit", "100")]).await;
    assert_matches(&page, &expected(|_| true), "after hostile input");
    let page = api.search(&[("filter", "gsd = 30"), ("limit", "100")]).await;
    let gsd30 = expected(|i| i.json["properties"]["gsd"] == 30);
    assert!(!gsd30.is_empty());
    assert_matches(&page, &gsd30, "a SQL search still works");
}

/// A POST with a raw body.
async fn post_raw(api: &Api, body: String) -> Reply {
    api.send(
        Request::post("/search")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn sql_in_string_literals_is_just_a_string() {
    let api = Api::sample().await;
    let none = BTreeSet::new();
    for filter in [
        "id = 'x''; DROP TABLE items; --'",
        "id = 'x'' OR ''1''=''1'",
        "platform LIKE '%''; DELETE FROM items; --%'",
        "id IN ('a''); DROP TABLE items; --', 'b\" OR 1=1 --')",
        "CASEI(platform) = CASEI('x''; DROP TABLE items; --')",
        "proj:code = '\\''; DROP TABLE items; --'",
        "collection = 'sentinel-1-grd'' --'",
    ] {
        let page = api.search(&[("filter", filter), ("limit", "100")]).await;
        assert_matches(&page, &none, filter);
        let page = api
            .search_post(json!({"filter": filter, "filter-lang": "cql2-text", "limit": 100}))
            .await;
        assert_matches(&page, &none, filter);
    }
    for filter in [
        json!({"op": "=", "args": [{"property": "id"}, "x'; DROP TABLE items; --"]}),
        json!({"op": "=", "args": [{"property": "platform"}, "landsat-8' OR '1'='1"]}),
        json!({"op": "like", "args": [{"property": "id"}, "%\"; DROP TABLE items; --"]}),
    ] {
        let page = api.search_post(json!({"filter": filter, "limit": 100})).await;
        assert_matches(&page, &none, &filter.to_string());
    }
    // A quote that belongs in the value finds nothing here, and is not an error.
    for q in [
        "\"x'; DROP TABLE items; --\"",
        "x'; DROP TABLE items",
        "snow'; DELETE FROM items",
    ] {
        let page = api.search(&[("q", q)]).await;
        assert_matches(&page, &none, q);
    }
    let page = api
        .search_post(json!({"query": {"platform": {"eq": "x' OR '1'='1"}, "id": {"startsWith": "'; --"}}}))
        .await;
    assert_matches(&page, &none, "query");
    the_catalog_is_intact(&api).await;
}

#[tokio::test]
async fn sql_in_property_names_is_a_400_naming_it() {
    let api = Api::sample().await;
    for (filter, culprit) in [
        ("\"x\"\" OR 1=1 --\" = 1", "OR 1=1 --"),
        ("\"eo:cloud_cover\"\" = 1 OR \"\"gsd\" > 0", "= 1 OR"),
        ("\"id; DROP TABLE items\" = 'x'", "DROP TABLE items"),
        ("\"gsd\"\")--\" IS NULL", ")--"),
    ] {
        let description = api
            .get(&with_query("/search", &[("filter", filter)]))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
        assert!(description.contains(culprit), "{filter}: {description}");
        let description = api
            .post("/search", &json!({"filter": filter, "filter-lang": "cql2-text"}))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
        assert!(description.contains(culprit), "{filter}: {description}");
    }
    for name in [
        "x\" OR 1=1 --",
        "gsd\" = 10 OR \"id",
        "eo:cloud_cover'; DROP TABLE items; --",
    ] {
        let filter = json!({"op": "=", "args": [{"property": name}, 1]});
        let description = api
            .post("/search", &json!({"filter": filter}))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
        assert!(
            description.contains("OR") || description.contains("DROP"),
            "{name}: {description}"
        );
        let description = api
            .post("/search", &json!({"query": {name: {"eq": 1}}}))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
        assert!(
            description.contains("OR") || description.contains("DROP"),
            "{name}: {description}"
        );
    }
    the_catalog_is_intact(&api).await;
}

#[tokio::test]
async fn sql_in_sort_fields_is_a_400_naming_it() {
    let api = Api::sample().await;
    for sortby in [
        "id;DROP TABLE items",
        "-\"gsd\" DESC; DROP TABLE items; --",
        "gsd) --",
        "+eo:cloud_cover\" OR 1=1",
    ] {
        let description = api
            .get(&with_query("/search", &[("sortby", sortby)]))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
        // The name is quoted in the description, its quotes escaped.
        let name = sortby.trim_start_matches(['-', '+']).replace('"', "\\\"");
        assert!(description.contains(&name), "{sortby}: {description}");
    }
    for field in ["gsd\" DESC; DROP TABLE items; --", "id, (SELECT 1)", "datetime' --"] {
        let description = api
            .post("/search", &json!({"sortby": [{"field": field, "direction": "desc"}]}))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
        let name = field.replace('"', "\\\"");
        assert!(description.contains(&name), "{field}: {description}");
    }
    api.post(
        "/search",
        &json!({"sortby": [{"field": "gsd", "direction": "desc; DROP TABLE items"}]}),
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    the_catalog_is_intact(&api).await;
}

#[tokio::test]
async fn sql_in_field_paths_names_nothing() {
    let api = Api::sample().await;
    let paths = [
        "properties.x'; DROP TABLE items; --",
        "properties.eo:cloud_cover\"; DROP TABLE items; --",
        "\"; DELETE FROM items",
    ];
    // Each path names no member: only the members kept by rule remain.
    let check = |page: &Value, what: &str| {
        assert_eq!(page["numberMatched"], 50, "{what}");
        for feature in page["features"].as_array().unwrap() {
            let keys: BTreeSet<&str> = feature.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys, BTreeSet::from(["id", "type", "collection"]), "{what}: {feature}");
        }
    };
    for path in paths {
        let page = api.search(&[("fields", path), ("limit", "100")]).await;
        check(&page, path);
        let page = api
            .search_post(json!({"fields": {"include": [path]}, "limit": 100}))
            .await;
        check(&page, path);
    }
    let page = api
        .search_post(json!({"fields": {"include": paths}, "limit": 100}))
        .await;
    check(&page, "all of them");
    // Excluding them changes nothing of the default set.
    let page = api
        .search_post(json!({"fields": {"exclude": paths}, "ids": [FIJI]}))
        .await;
    assert_eq!(page["features"][0]["properties"]["eo:cloud_cover"], 23.5);
    the_catalog_is_intact(&api).await;
}

/// 20,000 ids that do not exist, with some that do in the middle.
fn many_ids(real: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = (0..20_000).map(|i| format!("nope-{i:05}")).collect();
    for (n, id) in real.iter().enumerate() {
        ids.insert(n * 1000 + 7, id.clone());
    }
    ids
}

#[tokio::test]
async fn a_huge_in_list_gives_the_right_answer() {
    let api = Api::sample().await;
    let real: Vec<String> = sample_items()
        .iter()
        .filter(|i| i.collection == S1 || i.id == FIJI)
        .map(|i| i.id.clone())
        .collect();
    let want: BTreeSet<String> = real.iter().cloned().collect();
    let ids = many_ids(&real);

    let start = Instant::now();
    let filter = json!({"op": "in", "args": [{"property": "id"}, ids]});
    let page = api.search_post(json!({"filter": filter, "limit": 100})).await;
    assert_matches(&page, &want, "cql2-json IN");
    println!("cql2-json IN of {} values: {:?}", ids.len(), start.elapsed());

    let start = Instant::now();
    let quoted: Vec<String> = ids.iter().map(|id| format!("'{id}'")).collect();
    let text = format!("id IN ({})", quoted.join(", "));
    let page = api
        .search_post(json!({"filter": text, "filter-lang": "cql2-text", "limit": 100}))
        .await;
    assert_matches(&page, &want, "cql2-text IN");
    println!("cql2-text IN of {} values: {:?}", ids.len(), start.elapsed());

    let start = Instant::now();
    let text = format!("NOT id IN ({}) AND collection = '{S1}'", quoted.join(", "));
    let page = api
        .search_post(json!({"filter": text, "filter-lang": "cql2-text", "limit": 100}))
        .await;
    assert_matches(&page, &BTreeSet::new(), "NOT IN");
    println!("cql2-text NOT IN of {} values: {:?}", ids.len(), start.elapsed());

    let start = Instant::now();
    let page = api
        .search_post(json!({"query": {"id": {"in": ids}}, "limit": 100}))
        .await;
    assert_matches(&page, &want, "query in");
    println!("query in of {} values: {:?}", ids.len(), start.elapsed());

    let start = Instant::now();
    let page = api.search_post(json!({"ids": ids, "limit": 100})).await;
    assert_matches(&page, &want, "ids");
    println!("ids of {} values: {:?}", ids.len(), start.elapsed());
}

fn assert_client_error(reply: &Reply, what: &str) -> String {
    assert!(
        reply.status.is_client_error(),
        "{what}: {} {}",
        reply.status,
        reply.text()
    );
    reply.assert_error(reply.status, "BadRequest")
}

#[tokio::test]
async fn deep_nesting_is_a_400_not_a_crash() {
    let api = Api::sample().await;
    let n = 10_000;
    let timed = Instant::now();
    let texts = [
        ("nested NOTs", format!("{}gsd = 10", "NOT ".repeat(n))),
        (
            "nested parentheses",
            format!("{}gsd = 10{}", "(".repeat(n), ")".repeat(n)),
        ),
        (
            "nested NOT ( )",
            format!("{}gsd = 10{}", "NOT (".repeat(n), ")".repeat(n)),
        ),
        ("long arithmetic", format!("gsd{} = 10", " + 1".repeat(n))),
        (
            "nested arithmetic",
            format!("{}gsd{} = 10", "(".repeat(n), " + 1)".repeat(n)),
        ),
        ("nested negation", format!("{}gsd = 10", "-".repeat(n))),
        // Found by fuzzing: the parser backtracked for seconds through
        // these (four times more with each level).
        (
            "unclosed parentheses",
            "S_eog ((((((((((((((((((((((\u{1a}00000000\tm 1000rm 1".to_string(),
        ),
        (
            "an invalid expression in 30 parentheses",
            format!("{}gsd ? 1{}", "(".repeat(30), ")".repeat(30)),
        ),
        (
            "nested CASEI",
            format!("{}platform{} = 'x'", "CASEI(".repeat(n), ")".repeat(n)),
        ),
    ];
    for (what, text) in &texts {
        let start = Instant::now();
        let reply = api
            .post("/search", &json!({"filter": text, "filter-lang": "cql2-text"}))
            .await;
        let description = assert_client_error(&reply, what);
        println!("{what} (POST cql2-text): {} in {:?}", reply.status, start.elapsed());
        assert!(!description.is_empty());
        // GET too, when the URL is not too long for a URI (64 KiB).
        let uri = with_query("/search", &[("filter", text)]);
        if uri.len() < u16::MAX as usize - 1 {
            assert_client_error(&api.get(&uri).await, what);
        }
    }
    // A long flat chain of ANDs is not nesting: a correct answer or a 400.
    let chain = vec!["gsd = 10"; n].join(" AND ");
    let reply = api
        .post(
            "/search",
            &json!({"filter": chain, "filter-lang": "cql2-text", "limit": 100}),
        )
        .await;
    if reply.status == StatusCode::OK {
        assert_matches(
            &reply.json(),
            &expected(|i| i.json["properties"]["gsd"] == 10),
            "AND chain",
        );
    } else {
        assert_client_error(&reply, "AND chain");
    }
    println!("{n} ANDs: {}", reply.status);

    // cql2-json, written as text (a deep serde_json::Value would overflow this thread's stack).
    let not = |inner: &str| format!("{}{inner}{}", r#"{"op":"not","args":["#.repeat(n), "]}".repeat(n));
    let deep_not = not(r#"{"op":"=","args":[{"property":"gsd"},10]}"#);
    let deep_plus = format!(
        r#"{{"op":"=","args":[{}{{"property":"gsd"}}{},10]}}"#,
        r#"{"op":"+","args":[1,"#.repeat(n),
        "]}".repeat(n)
    );
    let deep_array = format!(
        r#"{{"op":"a_contains","args":[{{"property":"instruments"}},{}"msi"{}]}}"#,
        "[".repeat(n),
        "]".repeat(n)
    );
    for (what, filter) in [
        ("json NOTs", &deep_not),
        ("json +", &deep_plus),
        ("json arrays", &deep_array),
    ] {
        let start = Instant::now();
        let reply = post_raw(&api, format!(r#"{{"filter": {filter}}}"#)).await;
        assert_client_error(&reply, what);
        println!("{what} (POST cql2-json): {} in {:?}", reply.status, start.elapsed());
        let reply = post_raw(
            &api,
            format!(r#"{{"filter": {}, "filter-lang": "cql2-json"}}"#, json!(filter)),
        )
        .await;
        assert_client_error(&reply, what);
        let uri = with_query("/search", &[("filter", filter), ("filter-lang", "cql2-json")]);
        if uri.len() < u16::MAX as usize - 1 {
            assert_client_error(&api.get(&uri).await, what);
        }
    }
    // Deep q and query.
    let q = format!("{}snow{}", "(".repeat(n), ")".repeat(n));
    assert_client_error(&api.get(&with_query("/search", &[("q", &q)])).await, "q");
    assert_client_error(&api.post("/search", &json!({"q": q})).await, "q");
    let query = format!(r#"{{"query": {}1{}}}"#, r#"{"gsd":"#.repeat(n), "}".repeat(n));
    assert_client_error(&post_raw(&api, query).await, "query");
    println!("all nesting cases: {:?}", timed.elapsed());
    the_catalog_is_intact(&api).await;
}

/// A circle of `n` vertices (closed) around (x, y).
fn circle(n: usize, (x, y): (f64, f64), radius: f64) -> Vec<[f64; 2]> {
    (0..=n)
        .map(|i| {
            let angle = std::f64::consts::TAU * (i % n) as f64 / n as f64;
            [x + radius * angle.cos(), y + radius * angle.sin()]
        })
        .collect()
}

#[tokio::test]
async fn a_geometry_of_100k_vertices_is_answered_exactly() {
    let api = Api::sample().await;
    // Around Lake Garda: some footprints inside, some across the edge, some outside.
    let ring = circle(100_000, (10.8, 45.7), 0.9);
    let polygon = Polygon::new(
        LineString::from(ring.iter().map(|&[x, y]| (x, y)).collect::<Vec<_>>()),
        vec![],
    );
    let intersecting = expected(|i| polygon.intersects(&i.geometry));
    let within = expected(|i| polygon.contains(&i.geometry));
    assert!(!within.is_empty() && within.len() < intersecting.len() && intersecting.len() < 50);
    let geometry = json!({"type": "Polygon", "coordinates": [ring]});
    let bound = Duration::from_secs(120);

    let start = Instant::now();
    let reply = api
        .post("/search", &json!({"intersects": geometry, "limit": 100}))
        .await;
    let elapsed = start.elapsed();
    println!("intersects with 100k vertices: {} in {elapsed:?}", reply.status);
    assert_matches(&reply.assert_page(), &intersecting, "intersects");
    assert!(elapsed < bound, "{elapsed:?}");

    for (op, want) in [("s_intersects", &intersecting), ("s_within", &within)] {
        let start = Instant::now();
        let filter = json!({"op": op, "args": [{"property": "geometry"}, geometry]});
        let reply = api.post("/search", &json!({"filter": filter, "limit": 100})).await;
        let elapsed = start.elapsed();
        println!("{op} with 100k vertices (cql2-json): {} in {elapsed:?}", reply.status);
        assert_matches(&reply.assert_page(), want, op);
        assert!(elapsed < bound, "{elapsed:?}");
    }

    let start = Instant::now();
    let wkt: Vec<String> = ring.iter().map(|[x, y]| format!("{x} {y}")).collect();
    let text = format!("S_INTERSECTS(geometry, POLYGON(({})))", wkt.join(", "));
    let reply = api
        .post(
            "/search",
            &json!({"filter": text, "filter-lang": "cql2-text", "limit": 100}),
        )
        .await;
    let elapsed = start.elapsed();
    println!(
        "S_INTERSECTS with 100k vertices (cql2-text): {} in {elapsed:?}",
        reply.status
    );
    assert_matches(&reply.assert_page(), &intersecting, "cql2-text");
    assert!(elapsed < bound, "{elapsed:?}");
}

#[tokio::test]
async fn unknown_query_operators_are_400s() {
    let api = Api::sample().await;
    for (query, culprit) in [
        (json!({"gsd": {"like": 10}}), "like"),
        (json!({"gsd": {"eq": 10, "between": [1, 2]}}), "between"),
        (json!({"gsd": {"EQ": 10}}), "EQ"),
        (json!({"gsd": {"eq; DROP TABLE items": 10}}), "DROP"),
        (json!({"gsd": 10}), "gsd"),
        (json!({"gsd": {"in": 10}}), "in"),
        (json!({"platform": {"startsWith": 5}}), "startsWith"),
        (json!({"nope": {"eq": 1}}), "nope"),
    ] {
        let description = api
            .post("/search", &json!({"query": query}))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
        assert!(description.contains(culprit), "{query}: {description}");
        let description = api
            .get(&with_query("/search", &[("query", &query.to_string())]))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
        assert!(description.contains(culprit), "GET {query}: {description}");
    }
    for query in [json!([1]), json!("gsd = 10"), json!(5)] {
        api.post("/search", &json!({"query": query}))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
    for text in ["{not json", "[]", "\"gsd\"", ""] {
        api.get(&with_query("/search", &[("query", text)]))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
}

#[tokio::test]
async fn malformed_free_text_is_a_400() {
    let api = Api::sample().await;
    for q in [
        "\"unbalanced",
        "snow \"lake",
        "\"",
        "(snow OR lake",
        "snow)",
        "snow AND",
        "OR snow",
        "",
        "  ",
    ] {
        let description = api
            .get(&with_query("/search", &[("q", q)]))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
        assert!(description.contains('q'), "{q:?}: {description}");
        api.post("/search", &json!({"q": q}))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
    for q in [json!([]), json!([""]), json!(5), json!({"a": 1}), json!(["snow", 5])] {
        api.post("/search", &json!({"q": q}))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest");
    }
}

#[tokio::test]
async fn a_parameter_given_twice_is_a_400_naming_it() {
    let api = Api::sample().await;
    for uri in [
        "/search?limit=abc&limit=5",
        "/search?collections=sentinel-2-l2a&collections=landsat-c2-l2",
        "/collections/sentinel-2-l2a/items?datetime=2024-01-01T00:00:00Z&datetime=..",
        "/collections?limit=1&limit=2",
    ] {
        let description = api.get(uri).await.assert_error(StatusCode::BAD_REQUEST, "BadRequest");
        assert!(description.contains("more than once"), "{uri}: {description}");
    }
    the_catalog_is_intact(&api).await;
}
