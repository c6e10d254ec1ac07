//! End to end: `stac-indexed serve` on a real port, with the real binary.

use serde_json::Value;
use stac_indexed_test_support::*;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// An index of the sample catalog (in place) in a fresh directory.
fn sample_index() -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    index_into(&sample_data(), out.path());
    out
}

/// Waits until the server's health names `index_id`.
async fn wait_for_index(client: &reqwest::Client, server: &Server, index_id: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, health) = get_json(client, &server.url("/_mgmt/health")).await;
        assert_eq!(status, 200, "{health}");
        if health["index_id"] == index_id {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the server still serves {} instead of {index_id}:\n{}",
            health["index_id"],
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Changes one sample item in a catalog copy (atomically).
fn touch_item(catalog: &Path, id: &str, value: &str) {
    edit_json_atomically(
        &catalog.join(format!("optical/sentinel-2-l2a/items/{id}.json")),
        |item| item["properties"]["title"] = Value::String(value.to_string()),
    );
}

const ITEM: &str = "S2A_MSIL2A_20240105T101401_T32TPR";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_answers_over_a_real_port() {
    let index = sample_index();
    let index_id = manifest(index.path())["index_id"].as_str().unwrap().to_string();
    let server = Server::start(index.path(), &[]).await;
    let client = client();

    let (status, landing) = get_json(&client, &server.url("/")).await;
    assert_eq!(status, 200);
    assert_eq!(landing["id"], "stac-indexed-sample");
    // Links are built from the Host the client used.
    assert_eq!(link_href(&landing, "self").unwrap(), server.url("/"));

    let response = client.get(server.url("/search?limit=5")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/geo+json"
    );
    let page: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(page["numberMatched"], 50);
    assert_eq!(ids(&page).len(), 5);
    let next = link_href(&page, "next").unwrap();
    assert!(next.starts_with(&server.url("/search?")), "{next}");
    let (status, second) = get_json(&client, &next).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&second).len(), 5);

    let (status, item) = get_json(
        &client,
        &server.url(&format!("/collections/sentinel-2-l2a/items/{ITEM}")),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(item["id"], ITEM);
    assert_eq!(
        link_href(&item, "self").unwrap(),
        server.url(&format!("/collections/sentinel-2-l2a/items/{ITEM}"))
    );

    let (status, post) = {
        let response = client
            .post(server.url("/search"))
            .header("content-type", "application/json")
            .body(r#"{"collections": ["sentinel-1-grd"], "limit": 100}"#)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        (status, body)
    };
    assert_eq!(status, 200);
    assert_eq!(post["numberReturned"], 10);

    let (status, health) = get_json(&client, &server.url("/_mgmt/health")).await;
    assert_eq!(status, 200);
    assert_eq!(health["index_id"], index_id);
    assert_eq!(health["items"], 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_alone_listens_on_all_interfaces() {
    let index = sample_index();
    let port = free_port();
    let server = Server::spawn(
        &["serve", "--index", index.path().to_str().unwrap()],
        &[("PORT", &port.to_string())],
        port,
    )
    .await;
    let (status, landing) = get_json(&client(), &server.url("/")).await;
    assert_eq!(status, 200);
    assert_eq!(landing["type"], "Catalog");
    assert!(server.log().contains(&format!("0.0.0.0:{port}")), "{}", server.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_a_replaced_index_is_a_409() {
    let catalog = sample_copy();
    let out = tempfile::tempdir().unwrap();
    let first_id = index_into(catalog.path(), out.path());
    let server = Server::start(out.path(), &["--reload-interval", "1"]).await;
    let client = client();

    let (status, page) = get_json(&client, &server.url("/search?limit=5")).await;
    assert_eq!(status, 200);
    let next = link_href(&page, "next").unwrap();

    touch_item(catalog.path(), ITEM, "changed");
    let out_path = out.path().to_path_buf();
    let second_id = tokio::task::spawn_blocking(move || reindex(&out_path)).await.unwrap();
    assert_ne!(first_id, second_id);
    wait_for_index(&client, &server, &second_id).await;

    let (status, error) = get_json(&client, &next).await;
    assert_eq!(status, 409, "{error}");
    assert_eq!(error["code"], "IndexChanged");
    let description = error["description"].as_str().unwrap();
    assert!(description.contains("restart"), "{description}");
    assert_eq!(error.as_object().unwrap().len(), 2, "{error}");

    let (status, fresh) = get_json(&client, &server.url("/search?limit=5")).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&fresh).len(), 5);
    // The new version serves the changed item.
    let (_, item) = get_json(
        &client,
        &server.url(&format!("/collections/sentinel-2-l2a/items/{ITEM}")),
    )
    .await;
    assert_eq!(item["properties"]["title"], "changed");
}

/// Page 2 through server `a`'s next link, and the same link sent to `b`.
async fn next_page_on_both(a: &Server, b: &Server) -> (u16, Vec<String>, u16, Value) {
    let client = client();
    let (status, page) = get_json(&client, &a.url("/search?limit=5&collections=sentinel-2-l2a")).await;
    assert_eq!(status, 200);
    let next = link_href(&page, "next").unwrap();
    assert!(next.starts_with(&a.base));
    let (status_a, second_a) = get_json(&client, &next).await;
    assert_eq!(status_a, 200);
    let on_b = next.replacen(&a.base, &b.base, 1);
    let (status_b, second_b) = get_json(&client, &on_b).await;
    (status_a, ids(&second_a), status_b, second_b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_work_across_processes() {
    let index = sample_index();

    // No secret on either: the default key is the same everywhere.
    let a = Server::start(index.path(), &[]).await;
    let b = Server::start(index.path(), &[]).await;
    let (_, ids_a, status_b, page_b) = next_page_on_both(&a, &b).await;
    assert_eq!(status_b, 200, "{page_b}");
    assert_eq!(ids(&page_b), ids_a);
    assert_eq!(ids_a.len(), 5);
    drop((a, b));

    // The same secret on both.
    let a = Server::start(index.path(), &["--token-secret", "s3cret"]).await;
    let b = Server::start(index.path(), &["--token-secret", "s3cret"]).await;
    let (_, ids_a, status_b, page_b) = next_page_on_both(&a, &b).await;
    assert_eq!(status_b, 200, "{page_b}");
    assert_eq!(ids(&page_b), ids_a);
    drop(b);

    // A different secret refuses the token (so the secret is really used).
    let c = Server::start(index.path(), &["--token-secret", "other"]).await;
    let (_, _, status_c, error) = next_page_on_both(&a, &c).await;
    assert_eq!(status_c, 400, "{error}");
    assert_eq!(error["code"], "BadRequest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_index_swap_under_load_answers_every_request() {
    let catalog = sample_copy();
    let out = tempfile::tempdir().unwrap();
    index_into(catalog.path(), out.path());
    let server = Arc::new(Server::start(out.path(), &["--reload-interval", "1"]).await);
    let client = client();

    let stop = Arc::new(AtomicBool::new(false));
    let paths = [
        "/search?limit=10".to_string(),
        "/collections/sentinel-2-l2a/items?limit=5".to_string(),
        "/search?limit=10&bbox=10,45,12,47".to_string(),
        "/collections/landsat-c2-l2/items?limit=10&datetime=2024-01-01T00:00:00Z/..".to_string(),
        "/collections/sentinel-1-grd/items".to_string(),
        format!("/collections/sentinel-2-l2a/items/{ITEM}"),
        "/collections".to_string(),
    ];
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let (client, server, stop, paths) = (client.clone(), server.clone(), stop.clone(), paths.clone());
        tasks.push(tokio::spawn(async move {
            let mut answered = 0;
            let mut failures = Vec::new();
            let mut n = worker;
            while !stop.load(Ordering::Relaxed) {
                let path = &paths[n % paths.len()];
                n += 1;
                let response = client.get(server.url(path)).send().await;
                match response {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let body = response.bytes().await.unwrap_or_default();
                        if status == 200 {
                            // Whole, valid JSON every time.
                            if serde_json::from_slice::<Value>(&body).is_err() {
                                failures.push(format!("{path}: 200 with a broken body"));
                            }
                        } else {
                            failures.push(format!("{path}: {status} {}", String::from_utf8_lossy(&body)));
                        }
                    }
                    Err(e) => failures.push(format!("{path}: {e}")),
                }
                answered += 1;
            }
            (answered, failures)
        }));
    }

    // Two re-indexes while the clients run, about 4 seconds in all.
    let catalog_path = catalog.path().to_path_buf();
    let out_path = out.path().to_path_buf();
    let started = Instant::now();
    let latest = tokio::task::spawn_blocking(move || {
        let mut latest = String::new();
        for round in 0..2 {
            std::thread::sleep(Duration::from_millis(600));
            touch_item(&catalog_path, ITEM, &format!("round {round}"));
            latest = reindex(&out_path);
            std::thread::sleep(Duration::from_millis(1300));
        }
        latest
    })
    .await
    .unwrap();
    let remaining = Duration::from_secs(4).saturating_sub(started.elapsed());
    tokio::time::sleep(remaining).await;
    // Keep the load on until the last version is in.
    wait_for_index(&client, &server, &latest).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);

    let mut answered = 0;
    let mut failures = Vec::new();
    for task in tasks {
        let (n, f) = task.await.unwrap();
        answered += n;
        failures.extend(f);
    }
    eprintln!("{answered} requests during the index swaps");
    assert!(answered > 50, "only {answered} requests were made");
    assert!(
        failures.is_empty(),
        "{} of {answered} requests failed, e.g. {:?}\nserver log:\n{}",
        failures.len(),
        &failures[..failures.len().min(10)],
        server.log()
    );
    let (_, health) = get_json(&client, &server.url("/_mgmt/health")).await;
    assert_eq!(health["index_id"], latest);
    let (_, item) = get_json(
        &client,
        &server.url(&format!("/collections/sentinel-2-l2a/items/{ITEM}")),
    )
    .await;
    assert_eq!(item["properties"]["title"], "round 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_server_cleanly() {
    let index = sample_index();
    let mut server = Server::start(index.path(), &[]).await;
    let (status, _) = get_json(&client(), &server.url("/search?limit=1")).await;
    assert_eq!(status, 200);
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::block_in_place(|| server.wait_exit(Duration::from_secs(5)))
        .unwrap_or_else(|| panic!("the server did not exit within 5 s of SIGTERM"));
    assert_eq!(status.code(), Some(0), "{status}\n{}", server.log());
    // Nothing listens any more.
    let refused = client().get(server.url("/_mgmt/ping")).send().await;
    assert!(refused.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_succeeds_against_a_live_server_and_fails_otherwise() {
    let index = tempfile::tempdir().unwrap();
    index_into(&sample_data(), index.path());
    let server = Server::start(index.path(), &[]).await;
    let url = format!("{}/_mgmt/ping", server.base);
    let live = tokio::task::spawn_blocking(move || run(&["ping", "--url", &url], &[]))
        .await
        .unwrap();
    assert!(live.status.success(), "{}", String::from_utf8_lossy(&live.stderr));
    let dead = format!("http://127.0.0.1:{}/_mgmt/ping", free_port());
    let down = tokio::task::spawn_blocking(move || run(&["ping", "--url", &dead, "--http-timeout", "1"], &[]))
        .await
        .unwrap();
    assert!(!down.status.success());
}

/// Serves `root` over HTTP, answering item documents only after `delay`.
async fn serve_slowly(root: &Path, delay: Duration) -> std::net::SocketAddr {
    use axum::extract::Request;
    use axum::middleware::{self, Next};
    let slow = move |request: Request, next: Next| async move {
        if request.uri().path().contains("/items/") {
            tokio::time::sleep(delay).await;
        }
        next.run(request).await
    };
    let app = axum::Router::new()
        .fallback_service(tower_http::services::ServeDir::new(root))
        .layer(middleware::from_fn(slow));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_requests_in_flight_finish() {
    // Items come from a slow origin, so a search is still running when SIGTERM arrives.
    let origin = serve_slowly(&sample_data(), Duration::from_millis(1500)).await;
    let index = tempfile::tempdir().unwrap();
    let out = index.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        run_ok(
            &[
                "index",
                &format!("http://{origin}/catalog.json"),
                "--out",
                out.to_str().unwrap(),
            ],
            &[],
        )
    })
    .await
    .unwrap();
    // Indexing fetches all 50 slow items at once (concurrency 64): about 1.5 s.
    let mut server = Server::start(index.path(), &["--item-cache-mb", "0"]).await;
    let url = server.url("/search?limit=3");
    let in_flight = tokio::spawn(async move { get_json(&client(), &url).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!in_flight.is_finished(), "the request must still be in flight");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let (status, page) = in_flight.await.unwrap();
    assert_eq!(status, 200, "the request in flight finishes: {page}");
    assert_eq!(page["numberReturned"], 3);
    let exit = tokio::task::block_in_place(|| server.wait_exit(Duration::from_secs(10)))
        .unwrap_or_else(|| panic!("the server did not exit after draining"));
    assert_eq!(exit.code(), Some(0), "{exit}\n{}", server.log());
}
