//! End to end: indexing from and publishing to a real S3-compatible server
//! (moto_server, installed by scripts/test.sh), and a catalog mixing http and s3.

use serde_json::{Value, json};
use stac_indexed_test_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_from_s3_to_s3() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let summary = moto.index_sample().await;
    assert_eq!(summary["report"]["counts"]["items"], 50);
    assert_eq!(summary["report"]["manifest"], "s3://index/sample/manifest.json");

    let manifest: Value = serde_json::from_slice(&moto.get("index", "sample/manifest.json").await.unwrap()).unwrap();
    assert_eq!(manifest["root_uri"], "s3://catalog/sample/catalog.json");
    assert_eq!(manifest["counts"]["errors"], 0);
    let local = tempfile::tempdir().unwrap();
    let items_key = format!("sample/{}", manifest["files"]["items"]["path"].as_str().unwrap());
    let items_path = local.path().join("items.parquet");
    std::fs::write(&items_path, moto.get("index", &items_key).await.unwrap()).unwrap();
    let rows = query(&format!(
        "SELECT collection, id, href FROM read_parquet('{}') ORDER BY ALL",
        items_path.display()
    ));
    let ids: Vec<(String, String)> = rows.iter().map(|r| (r[0].clone(), r[1].clone())).collect();
    assert_eq!(ids, sample_item_ids());
    assert!(rows.iter().all(|r| r[2].starts_with("s3://catalog/sample/")));

    // Re-index in place on S3: the previous version is found and compared.
    let env = moto.env();
    let again = tokio::task::spawn_blocking(move || run_ok(&["index", "--out", "s3://index/sample"], &env_refs(&env)))
        .await
        .unwrap();
    assert_eq!(again["report"]["changes"]["unchanged"], 50);
    let env = moto.env();
    let gc = tokio::task::spawn_blocking(move || run_ok(&["gc", "s3://index/sample", "--keep", "1"], &env_refs(&env)))
        .await
        .unwrap();
    assert_eq!(gc["removed"].as_array().unwrap().len(), 1);
    assert!(moto.get("index", &items_key).await.is_none(), "the old version is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_bucket_reads_anonymously() {
    let Some(moto) = Moto::start() else {
        return;
    };
    moto.create_bucket("public").await;
    moto.upload_dir(&sample_data(), "public", "cat").await;
    let out = tempfile::tempdir().unwrap();
    let out_path = out.path().to_path_buf();
    let endpoint = moto.endpoint.clone();
    let summary = tokio::task::spawn_blocking(move || {
        run_ok(
            &[
                "index",
                "s3://public/cat/catalog.json",
                "--out",
                out_path.to_str().unwrap(),
                "--s3-anonymous",
                "--s3-endpoint",
                &endpoint,
                "--s3-allow-http",
            ],
            &[("AWS_REGION", "us-east-1")],
        )
    })
    .await
    .unwrap();
    assert_eq!(summary["report"]["counts"]["items"], 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_catalog_with_items_on_s3() {
    let Some(moto) = Moto::start() else {
        return;
    };
    moto.create_bucket("items").await;
    moto.upload_dir(&sample_data(), "items", "sample").await;
    // The catalog is served over HTTP; the Sentinel-2 collection links its items on S3.
    let catalog = sample_copy();
    let collection_path = catalog.path().join("optical/sentinel-2-l2a/collection.json");
    let mut collection: Value = serde_json::from_slice(&std::fs::read(&collection_path).unwrap()).unwrap();
    for link in collection["links"].as_array_mut().unwrap() {
        if link["rel"] == "item" {
            let href = link["href"].as_str().unwrap().trim_start_matches("./").to_string();
            link["href"] = json!(format!("s3://items/sample/optical/sentinel-2-l2a/{href}"));
        }
    }
    std::fs::write(&collection_path, serde_json::to_vec(&collection).unwrap()).unwrap();
    std::fs::remove_dir_all(catalog.path().join("optical/sentinel-2-l2a/items")).unwrap();
    let addr = serve_directory(catalog.path()).await;
    let out = tempfile::tempdir().unwrap();
    let out_path = out.path().to_path_buf();
    let env = moto.env();
    let summary = tokio::task::spawn_blocking(move || {
        run_ok(
            &[
                "index",
                &format!("http://{addr}/catalog.json"),
                "--out",
                out_path.to_str().unwrap(),
            ],
            &env_refs(&env),
        )
    })
    .await
    .unwrap();
    assert_eq!(summary["report"]["counts"]["items"], 50);
    assert_eq!(summary["report"]["counts"]["errors"], 0);
    let schemes = query(&format!(
        "SELECT collection, split_part(href, ':', 1) AS scheme, count(*) FROM read_parquet('{}') GROUP BY ALL ORDER BY ALL",
        table(out.path(), "items")
    ));
    let schemes: Vec<(String, String)> = schemes.into_iter().map(|r| (r[0].clone(), r[1].clone())).collect();
    assert_eq!(
        schemes,
        vec![
            ("landsat-c2-l2".to_string(), "http".to_string()),
            ("sentinel-1-grd".to_string(), "http".to_string()),
            ("sentinel-2-l2a".to_string(), "s3".to_string())
        ]
    );
}
