//! End to end: serving an index published on S3 (moto_server) and one
//! published over HTTP; items are fetched from where they live.

use serde_json::Value;
use stac_indexed_test_support::*;

/// Searches the server and fetches one item; checks they come from the sample catalog.
async fn check_server(server: &Server) {
    let client = reqwest::Client::new();
    let (status, page) = get_json(&client, &format!("{}/search?limit=50&bbox=20,20,21,21", server.base)).await;
    assert_eq!(status, 200, "{page}");
    let mut ids = ids(&page);
    ids.sort();
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert!(ids.contains(&"S2B_MSIL2A_20240111T092239_T34QDK".to_string()));
    let (status, item) = get_json(
        &client,
        &format!(
            "{}/collections/landsat-c2-l2/items/LC09_L2SP_074072_20240318",
            server.base
        ),
    )
    .await;
    assert_eq!(status, 200, "{item}");
    assert_eq!(item["properties"]["title"], "Fiji across the antimeridian");
    let (_, health) = get_json(&client, &format!("{}/_mgmt/health", server.base)).await;
    assert_eq!(health["items"], 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_on_s3_is_served_with_items_from_s3() {
    let Some(moto) = Moto::start() else {
        return;
    };
    moto.index_sample().await;
    let cache = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let env = moto.env();
    let server = Server::spawn(
        &[
            "serve",
            "--index",
            "s3://index/sample",
            "--addr",
            &addr,
            "--cache-dir",
            cache.path().to_str().unwrap(),
        ],
        &env_refs(&env),
        port,
    )
    .await;
    check_server(&server).await;
    // The index files were copied once, under the version's id, into the cache.
    let manifest: Value = serde_json::from_slice(&moto.get("index", "sample/manifest.json").await.unwrap()).unwrap();
    let version = cache.path().join(manifest["index_id"].as_str().unwrap());
    for name in ["items.parquet", "collections.parquet", "errors.parquet"] {
        assert!(version.join(name).is_file(), "{name} is cached");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_over_http_is_served() {
    let dir = tempfile::tempdir().unwrap();
    index_into(&sample_data(), dir.path());
    let addr = serve_directory(dir.path()).await;
    let cache = tempfile::tempdir().unwrap();
    let manifest = format!("http://{addr}/manifest.json");
    let server = Server::start(
        std::path::Path::new(&manifest),
        &["--cache-dir", cache.path().to_str().unwrap()],
    )
    .await;
    check_server(&server).await;
    assert_eq!(
        std::fs::read_dir(cache.path()).unwrap().count(),
        1,
        "one cached version"
    );
}
