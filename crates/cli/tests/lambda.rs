//! End to end: the real binary as a Lambda function. The test plays the
//! Lambda service: a Runtime API on 127.0.0.1 (next invocation, response,
//! error) hands out API Gateway REST (v1) and HTTP (v2) events and collects
//! the answers.

use serde_json::{Value, json};
use stac_indexed_test_support::*;
use std::process::{Command, Stdio};

/// An API Gateway REST API (v1) proxy event for stage `prod`.
fn v1_event(path: &str, query: &[(&str, &str)]) -> Value {
    let single: serde_json::Map<String, Value> = query.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    let multi: serde_json::Map<String, Value> = query.iter().map(|(k, v)| (k.to_string(), json!([v]))).collect();
    json!({
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": "GET",
        "headers": {"Host": "abc123.execute-api.us-east-1.amazonaws.com", "X-Forwarded-Proto": "https"},
        "multiValueHeaders": {"Host": ["abc123.execute-api.us-east-1.amazonaws.com"], "X-Forwarded-Proto": ["https"]},
        "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(single) },
        "multiValueQueryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(multi) },
        "pathParameters": {"proxy": path.trim_start_matches('/')},
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012", "resourceId": "r", "stage": "prod", "requestId": "c1",
            "identity": {"sourceIp": "203.0.113.1"}, "resourcePath": "/{proxy+}", "httpMethod": "GET",
            "apiId": "abc123", "path": format!("/prod{path}")
        },
        "body": null,
        "isBase64Encoded": false
    })
}

/// An API Gateway HTTP API (v2) event; stage `$default` is a Function URL or default stage.
fn v2_event(stage: &str, path: &str, raw_query: &str) -> Value {
    let raw_path = if stage == "$default" {
        path.to_string()
    } else {
        format!("/{stage}{path}")
    };
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": {"host": "xyz789.lambda-url.us-east-1.on.aws", "x-forwarded-proto": "https"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "xyz789", "domainName": "xyz789.lambda-url.us-east-1.on.aws",
            "domainPrefix": "xyz789",
            "http": {"method": "GET", "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1", "userAgent": "test"},
            "requestId": "c2", "routeKey": "$default", "stage": stage, "time": "21/Nov/2026:08:00:00 +0000",
            "timeEpoch": 1795248000000u64
        },
        "isBase64Encoded": false
    })
}

/// A response header: from `headers`, or the first value in `multiValueHeaders`
/// (API Gateway merges both; v1 responses use the latter).
fn header<'a>(answer: &'a Value, name: &str) -> Option<&'a str> {
    let find = |key: &str| {
        answer[key]
            .as_object()
            .and_then(|headers| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
            .map(|(_, v)| v)
    };
    find("headers")
        .and_then(Value::as_str)
        .or_else(|| find("multiValueHeaders").and_then(|v| v.get(0)).and_then(Value::as_str))
}

fn body(answer: &Value) -> Value {
    assert_eq!(answer["isBase64Encoded"], false, "{answer}");
    serde_json::from_str(answer["body"].as_str().unwrap_or_else(|| panic!("no body: {answer}"))).unwrap()
}

fn hrefs(document: &Value) -> Vec<String> {
    document["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["href"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_answers_api_gateway_events_as_a_lambda_function() {
    let index = tempfile::tempdir().unwrap();
    index_into(&sample_data(), index.path());
    let (service, runtime_api) = LambdaService::start().await;

    let cache = tempfile::tempdir().unwrap();
    let mut function = Command::new(env!("CARGO_BIN_EXE_stac-indexed"))
        .args(["serve", "--index", index.path().to_str().unwrap()])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "stac")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("STAC_INDEXED_CACHE_DIR", cache.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");

    // REST API (v1), stage "prod": the landing page links carry the stage.
    let landing = service.invoke("v1-landing", v1_event("/", &[])).await;
    assert_eq!(landing["statusCode"], 200, "{landing}");
    assert_eq!(header(&landing, "content-type"), Some("application/json"), "{landing}");
    let links = hrefs(&body(&landing));
    assert!(
        links.contains(&"https://abc123.execute-api.us-east-1.amazonaws.com/prod/".to_string()),
        "{links:?}"
    );
    assert!(
        links
            .iter()
            .all(|l| l.starts_with("https://abc123.execute-api.us-east-1.amazonaws.com/prod/"))
    );

    // A search with paging: the next link keeps the stage and the query; following it gives page 2.
    let page1 = service
        .invoke("v1-search", v1_event("/search", &[("limit", "2")]))
        .await;
    assert_eq!(page1["statusCode"], 200, "{page1}");
    assert_eq!(header(&page1, "content-type"), Some("application/geo+json"));
    let page1 = body(&page1);
    assert_eq!(page1["numberMatched"], 50);
    let next = page1["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .unwrap()["href"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        next.starts_with("https://abc123.execute-api.us-east-1.amazonaws.com/prod/search?"),
        "{next}"
    );
    let token = url::Url::parse(&next)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "token")
        .unwrap()
        .1
        .to_string();
    let page2 = service
        .invoke("v1-next", v1_event("/search", &[("limit", "2"), ("token", &token)]))
        .await;
    let page2 = body(&page2);
    let ids = |page: &Value| ids(page);
    assert_eq!(ids(&page2).len(), 2);
    assert!(ids(&page2).iter().all(|id| !ids(&page1).contains(id)));

    // An unknown item: 404 in the STAC error shape.
    let missing = service
        .invoke(
            "v1-404",
            v1_event("/collections/sentinel-2-l2a/items/no-such-item", &[]),
        )
        .await;
    assert_eq!(missing["statusCode"], 404, "{missing}");
    assert_eq!(body(&missing)["code"], "NotFound");
    assert!(body(&missing)["description"].as_str().unwrap().contains("no-such-item"));

    // HTTP API (v2) on a named stage, and a Function URL ($default stage).
    let staged = service.invoke("v2-stage", v2_event("v1", "/search", "limit=3")).await;
    assert_eq!(staged["statusCode"], 200, "{staged}");
    let staged = body(&staged);
    assert_eq!(ids(&staged).len(), 3);
    assert!(
        hrefs(&staged)
            .iter()
            .all(|l| l.starts_with("https://xyz789.lambda-url.us-east-1.on.aws/v1/")),
        "{staged}"
    );
    let url = service
        .invoke("v2-url", v2_event("$default", "/search", "limit=3"))
        .await;
    let url = body(&url);
    assert_eq!(ids(&url), ids(&staged));
    let self_link = url["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "self")
        .unwrap();
    assert_eq!(
        self_link["href"],
        "https://xyz789.lambda-url.us-east-1.on.aws/search?limit=3"
    );
    let item = service
        .invoke("v2-404", v2_event("$default", "/collections/nope/items/x", ""))
        .await;
    assert_eq!(item["statusCode"], 404, "{item}");
    assert_eq!(header(&item, "content-type"), Some("application/json"));
    assert_eq!(body(&item)["code"], "NotFound");

    // HTTP API (v2): the landing page and following a next link on a named stage.
    let landing = service.invoke("v2-landing", v2_event("v1", "/", "")).await;
    assert_eq!(landing["statusCode"], 200, "{landing}");
    let links = hrefs(&body(&landing));
    assert!(
        links
            .iter()
            .all(|l| l.starts_with("https://xyz789.lambda-url.us-east-1.on.aws/v1/")),
        "{links:?}"
    );
    let next = staged["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .unwrap()["href"]
        .as_str()
        .unwrap()
        .to_string();
    let next = url::Url::parse(&next).unwrap();
    assert_eq!(next.path(), "/v1/search");
    let page2 = service
        .invoke("v2-next", v2_event("v1", "/search", next.query().unwrap()))
        .await;
    assert_eq!(page2["statusCode"], 200, "{page2}");
    assert_eq!(header(&page2, "content-type"), Some("application/geo+json"));
    let page2 = body(&page2);
    assert_eq!(ids(&page2).len(), 3);
    assert!(ids(&page2).iter().all(|id| !ids(&staged).contains(id)));

    function.kill().unwrap();
    function.wait().unwrap();
}
