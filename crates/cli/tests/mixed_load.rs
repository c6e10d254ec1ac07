//! End to end, bounded (about 20 s): a mixed load on a generated catalog:
//! every search shape, item and collection reads, clients that disconnect
//! mid-request, and two index swaps in the middle. No answer is a 5xx, the
//! server log holds no panic, and every shape is answered afterwards.

use stac_indexed_test_support::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long the clients run.
const LOAD: Duration = Duration::from_secs(16);

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Every shape of request the API answers (as bench-api.sh measures them).
fn shapes() -> Vec<String> {
    let cloud = encode("\"eo:cloud_cover\" < 10");
    let platform = encode("platform = 'sentinel-2a' AND \"eo:cloud_cover\" BETWEEN 10 AND 20");
    let mixed = encode(
        "(platform IN ('landsat-8','landsat-9') OR gsd > 20) AND NOT \"eo:cloud_cover\" >= 50 \
         AND datetime >= TIMESTAMP('2022-01-01T00:00:00Z')",
    );
    let like = encode("platform LIKE 'sentinel%' AND id LIKE '%-00000042'");
    let spatial = encode("S_INTERSECTS(geometry, BBOX(-10, 30, 40, 60)) AND \"eo:cloud_cover\" < 30");
    let query = encode(r#"{"eo:cloud_cover":{"lt":10}}"#);
    vec![
        "/search?limit=10".into(),
        "/search?limit=10&bbox=-10,30,40,60&datetime=2022-01-01T00:00:00Z/2022-06-30T00:00:00Z".into(),
        "/collections/collection-001/items/item-001-00000099".into(),
        "/search?ids=item-000-00000042,item-003-00000777".into(),
        "/search?limit=10&sortby=-eo%3Acloud_cover".into(),
        format!("/search?limit=10&filter={cloud}"),
        format!("/search?limit=10&bbox=-10,30,40,60&filter={cloud}"),
        format!("/search?limit=10&filter={platform}"),
        format!("/search?limit=10&filter={mixed}"),
        format!("/search?limit=10&filter={like}"),
        format!("/search?limit=10&filter={spatial}"),
        format!("/search?limit=10&query={query}"),
        "/search?limit=10&q=sentinel".into(),
        "/search?limit=10&sortby=platform,-eo%3Acloud_cover".into(),
        format!("/search?limit=10&sortby=platform,-eo%3Acloud_cover&filter={cloud}"),
        "/search?limit=100&fields=id,properties.eo%3Acloud_cover".into(),
        "/search?limit=50".into(),
        "/collections/collection-002/items?limit=10&sortby=-datetime".into(),
        "/collections".into(),
        "/collections/collection-003".into(),
        "/queryables".into(),
        "/".into(),
    ]
}

/// What one client saw: requests sent, answers by class, and the failures.
#[derive(Default)]
struct Tally {
    sent: usize,
    disconnected: usize,
    failures: Vec<String>,
}

async fn client_loop(base: String, shapes: Arc<Vec<String>>, stop: Arc<AtomicBool>, worker: usize) -> Tally {
    // Odd clients give up almost at once: the server sees them disconnect.
    let impatient = worker % 2 == 1;
    let timeout = if impatient {
        Duration::from_millis(2)
    } else {
        Duration::from_secs(20)
    };
    let client = reqwest::Client::builder().timeout(timeout).build().unwrap();
    let mut tally = Tally::default();
    let mut n = worker * 7;
    while !stop.load(Ordering::Relaxed) {
        let path = &shapes[n % shapes.len()];
        n += 1;
        tally.sent += 1;
        match client.get(format!("{base}{path}")).send().await {
            Ok(response) if response.status().is_server_error() => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                tally.failures.push(format!("{path}: {status} {body}"));
            }
            Ok(response) => {
                if let Err(e) = response.bytes().await {
                    if impatient {
                        tally.disconnected += 1;
                    } else {
                        tally.failures.push(format!("{path}: {e}"));
                    }
                }
            }
            Err(_) if impatient => tally.disconnected += 1,
            Err(e) => tally.failures.push(format!("{path}: {e}")),
        }
    }
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mixed_load_with_disconnects_and_index_swaps_has_no_5xx() {
    let catalog = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let (catalog_dir, out_dir) = (catalog.path().to_path_buf(), out.path().to_path_buf());
    tokio::task::spawn_blocking(move || {
        let dir = catalog_dir.to_str().unwrap();
        run_ok(
            &["generate", "--items", "6000", "--collections", "4", "--out", dir],
            &[],
        );
        index_with_config(&catalog_dir, &out_dir, &catalog_dir.join("index-config.json"));
    })
    .await
    .unwrap();
    let server = Server::start(out.path(), &["--reload-interval", "1"]).await;
    let shapes = Arc::new(shapes());
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..12)
        .map(|worker| tokio::spawn(client_loop(server.base.clone(), shapes.clone(), stop.clone(), worker)))
        .collect();

    // Two re-indexes (new versions) while the clients run.
    let out_dir = out.path().to_path_buf();
    let started = Instant::now();
    let swaps = tokio::task::spawn_blocking(move || {
        (0..2)
            .map(|_| {
                std::thread::sleep(Duration::from_secs(3));
                reindex(&out_dir)
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    tokio::time::sleep(LOAD.saturating_sub(started.elapsed())).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = Tally::default();
    for client in clients {
        let tally = client.await.unwrap();
        total.sent += tally.sent;
        total.disconnected += tally.disconnected;
        total.failures.extend(tally.failures);
    }
    assert!(
        total.failures.is_empty(),
        "{} failures, first: {:?}",
        total.failures.len(),
        &total.failures[..total.failures.len().min(5)]
    );
    assert!(total.sent > 500, "the load ran: {} requests", total.sent);
    assert!(total.disconnected > 50, "clients disconnected: {}", total.disconnected);

    // The last version is served, and every shape answers afterwards.
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, health) = get_json(&client, &server.url("/_mgmt/health")).await;
        if health["index_id"] == swaps[1].as_str() {
            break;
        }
        assert!(Instant::now() < deadline, "swaps {swaps:?}, health {health}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for path in shapes.iter() {
        let (status, body) = get_json(&client, &server.url(path)).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
}
