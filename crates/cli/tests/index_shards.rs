//! End to end: a crawl split into parts run in parallel (`index --shard
//! K/N`), then merged (`index --merge`), publishes the same index as one
//! run, row by row and error by error, locally and on a real S3-compatible
//! server; a missing, duplicated or foreign part stops the merge before
//! anything is published.

use serde_json::{Value, json};
use stac_indexed_test_support::*;
use std::path::{Path, PathBuf};

const SHARDS: u32 = 4;
const TABLES: [&str; 5] = ["items", "collections", "errors", "tree", "links"];

/// A generated catalog with a bit of everything the merge must get right:
/// items listed by links, by a directory listing and by paged
/// ItemCollections; a sub-catalog; and errors of every origin (a broken
/// child link every part sees, items that are not JSON or of a wrong type,
/// a duplicate id, an unknown collection).
fn catalog_with_faults(dir: &Path) -> PathBuf {
    let root = dir.join("catalog");
    run_ok(
        &[
            "generate",
            "--items",
            "600",
            "--collections",
            "3",
            "--out",
            root.to_str().unwrap(),
        ],
        &[],
    );
    let items = root.join("collection-000/items");
    std::fs::write(items.join("item-000-00000003.json"), "{ not json").unwrap();
    edit(&items.join("item-000-00000005.json"), |item| {
        item["properties"]["eo:cloud_cover"] = json!("cloudy");
    });
    edit(&items.join("item-000-00000007.json"), |item| {
        item["collection"] = json!("nope")
    });
    let copy = std::fs::read(items.join("item-000-00000009.json")).unwrap();
    std::fs::write(items.join("copy-of-9.json"), copy).unwrap();
    edit(&root.join("collection-000/collection.json"), |collection| {
        let links = collection["links"].as_array_mut().unwrap();
        links.push(json!({"rel": "item", "href": "./items/copy-of-9.json"}));
    });

    // A sub-catalog with a collection whose items are paged ItemCollections,
    // and a collection whose items are a directory listing.
    let paged = root.join("sub/paged");
    std::fs::create_dir_all(&paged).unwrap();
    let feature = |n: usize| {
        json!({"type": "Feature", "stac_version": "1.0.0", "id": format!("paged-{n}"), "collection": "paged",
               "geometry": {"type": "Point", "coordinates": [n as f64 / 10.0, 1.0]},
               "bbox": [n as f64 / 10.0, 1.0, n as f64 / 10.0, 1.0],
               "properties": {"datetime": format!("2024-02-{:02}T00:00:00Z", n % 28 + 1), "eo:cloud_cover": n},
               "links": [], "assets": {}})
    };
    for page in 0..3 {
        let mut document = json!({"type": "FeatureCollection",
            "features": (page * 10..page * 10 + 10).map(feature).collect::<Vec<_>>(), "links": []});
        if page < 2 {
            document["links"] = json!([{"rel": "next", "href": format!("./page-{}.json", page + 1)}]);
        }
        write(&paged.join(format!("page-{page}.json")), &document);
    }
    write(&paged.join("collection.json"), &collection("paged", "./page-0.json"));
    let listed = root.join("sub/listed");
    std::fs::create_dir_all(listed.join("items")).unwrap();
    for n in 0..25 {
        let mut item = feature(n);
        item["id"] = json!(format!("listed-{n}"));
        item["collection"] = json!("listed");
        write(&listed.join(format!("items/listed-{n}.json")), &item);
    }
    write(&listed.join("collection.json"), &collection("listed", "./items/"));
    write(
        &root.join("sub/catalog.json"),
        &json!({"type": "Catalog", "stac_version": "1.0.0", "id": "sub", "description": "a sub-catalog",
                "links": [{"rel": "child", "href": "./paged/collection.json"},
                          {"rel": "child", "href": "./listed/collection.json"},
                          {"rel": "child", "href": "./gone/catalog.json"}]}),
    );
    edit(&root.join("catalog.json"), |catalog| {
        let links = catalog["links"].as_array_mut().unwrap();
        links.push(json!({"rel": "child", "href": "./sub/catalog.json"}));
    });
    root
}

/// A collection whose items are behind one `items` link.
fn collection(id: &str, items: &str) -> Value {
    json!({"type": "Collection", "stac_version": "1.0.0", "id": id, "description": format!("{id} items"),
           "license": "CC-BY-4.0", "extent": {"spatial": {"bbox": [[0, 0, 3, 1]]},
           "temporal": {"interval": [["2024-02-01T00:00:00Z", null]]}},
           "links": [{"rel": "items", "href": items}]})
}

fn write(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
}

fn edit(path: &Path, change: impl FnOnce(&mut Value)) {
    let mut value = read_json(path);
    change(&mut value);
    write(path, &value);
}

/// Every row of every table of the index at `dir`, as text, in a stable order.
fn table_rows(dir: &Path) -> Vec<(&'static str, Vec<Vec<String>>)> {
    TABLES
        .iter()
        .map(|name| {
            let rows = query(&format!(
                "SELECT * FROM read_parquet('{}') ORDER BY ALL",
                table(dir, name)
            ));
            (*name, rows)
        })
        .collect()
}

fn assert_same_index(whole: &Path, merged: &Path) {
    let (whole_manifest, merged_manifest) = (manifest(whole), manifest(merged));
    assert_eq!(whole_manifest["counts"], merged_manifest["counts"]);
    assert_eq!(whole_manifest["root_uri"], merged_manifest["root_uri"]);
    assert_eq!(whole_manifest["config"], merged_manifest["config"]);
    for ((name, whole_rows), (_, merged_rows)) in table_rows(whole).into_iter().zip(table_rows(merged)) {
        assert!(
            !whole_rows.is_empty(),
            "{name} is empty: the comparison would prove nothing"
        );
        assert_eq!(whole_rows.len(), merged_rows.len(), "{name}: row counts differ");
        for (whole_row, merged_row) in whole_rows.iter().zip(&merged_rows) {
            assert_eq!(whole_row, merged_row, "{name}: rows differ");
        }
    }
}

/// Runs every part at once, each as its own process; returns their reports.
fn run_parts(args: &[String], env: &[(&'static str, String)]) -> Vec<Value> {
    let handles: Vec<_> = (0..SHARDS)
        .map(|k| {
            let mut args = args.to_vec();
            args.extend(["--shard".to_string(), format!("{k}/{SHARDS}")]);
            let env = env.to_vec();
            std::thread::spawn(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                run_ok(&args, &env_refs(&env))
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().unwrap()["report"].clone())
        .collect()
}

fn index_args(root: &Path, out: &Path) -> Vec<String> {
    let config = root.join("index-config.json");
    [
        "index",
        root.join("catalog.json").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]
    .into_iter()
    .map(str::to_string)
    .chain(["--config".to_string(), config.to_str().unwrap().to_string()])
    .collect()
}

fn merge_fails(out: &Path) -> String {
    let output = run(&["index", "--merge", out.to_str().unwrap()], &[]);
    assert!(!output.status.success(), "the merge should fail");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(line["status"], "error");
    line["error"].as_str().unwrap().to_string()
}

#[test]
fn four_parts_merged_equal_one_run_row_by_row() {
    let dir = tempfile::tempdir().unwrap();
    let root = catalog_with_faults(dir.path());
    let whole = dir.path().join("whole");
    let args = index_args(&root, &whole);
    let summary = run_ok(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    let counts = &summary["report"]["counts"];
    assert_eq!(counts["collections"], 5, "{summary}");
    let kinds = column(&format!(
        "SELECT DISTINCT kind FROM read_parquet('{}') ORDER BY 1",
        table(&whole, "errors")
    ));
    assert_eq!(
        kinds,
        ["duplicate_id", "fetch", "parse", "property_type", "unknown_collection"],
        "the catalog has errors of every origin"
    );

    let sharded = dir.path().join("sharded");
    let reports = run_parts(&index_args(&root, &sharded), &[]);
    let staged: u64 = reports.iter().map(|r| r["items"].as_u64().unwrap()).sum();
    assert_eq!(
        staged,
        counts["items"].as_u64().unwrap() + 2,
        "every item staged once (2 dropped later)"
    );
    assert!(
        reports.iter().all(|r| r["items"].as_u64().unwrap() > 100),
        "the items are shared out: {reports:?}"
    );
    assert!(!sharded.join("manifest.json").exists(), "parts publish nothing");
    let merged = run_ok(&["index", "--merge", sharded.to_str().unwrap()], &[]);
    assert_eq!(merged["report"]["counts"], *counts);
    assert_same_index(&whole, &sharded);
    assert!(!sharded.join("parts").exists(), "the parts are deleted once published");
}

#[test]
fn a_missing_duplicated_or_foreign_part_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = catalog_with_faults(dir.path());
    let out = dir.path().join("out");
    let mut args = index_args(&root, &out);
    args.extend(["--shard".into(), "0/1".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_ok(&args, &[]);
    let published = std::fs::read(out.join("manifest.json")).unwrap();
    assert!(!out.join("parts").exists(), "a count of 1 is an ordinary run");

    let shard = |k: u32, n: u32| {
        let mut args = index_args(&root, &out);
        args.extend(["--shard".into(), format!("{k}/{n}")]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_ok(&args, &[]);
    };
    let error = merge_fails(&dir.path().join("nothing-here"));
    assert!(error.contains("no finished parts"), "{error}");
    for k in [0, 1, 3] {
        shard(k, 4);
    }
    let error = merge_fails(&out);
    assert!(error.contains("missing part(s) 2/4"), "{error}");

    shard(2, 4);
    copy_dir(&out.join("parts/1-of-4"), &out.join("parts/1-of-4-again"));
    let error = merge_fails(&out);
    assert!(error.contains("part 1/4 appears twice"), "{error}");
    std::fs::remove_dir_all(out.join("parts/1-of-4-again")).unwrap();

    shard(1, 3);
    let error = merge_fails(&out);
    assert!(error.contains("different sharded runs"), "{error}");
    std::fs::remove_dir_all(out.join("parts/1-of-3")).unwrap();

    let mut foreign: Value = read_json(&out.join("parts/3-of-4/part.json"));
    foreign["root_uri"] = json!("file:///elsewhere/catalog.json");
    write(&out.join("parts/3-of-4/part.json"), &foreign);
    let error = merge_fails(&out);
    assert!(error.contains("another root or config"), "{error}");
    assert_eq!(
        std::fs::read(out.join("manifest.json")).unwrap(),
        published,
        "nothing was published"
    );

    std::fs::remove_dir_all(out.join("parts/3-of-4")).unwrap();
    shard(3, 4);
    let merged = run_ok(&["index", "--merge", out.to_str().unwrap()], &[]);
    assert_eq!(
        merged["report"]["changes"]["unchanged"],
        merged["report"]["counts"]["items"]
    );
}

#[test]
fn job_engines_name_the_part_in_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let root = catalog_with_faults(dir.path());
    let out = dir.path().join("out");
    let args = index_args(&root, &out);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let cloud_run = run_ok(&args, &[("CLOUD_RUN_TASK_INDEX", "1"), ("CLOUD_RUN_TASK_COUNT", "2")]);
    assert_eq!(cloud_run["report"]["shard"], "1/2");
    let batch = run_ok(
        &args,
        &[("AWS_BATCH_JOB_ARRAY_INDEX", "0"), ("STAC_INDEXED_SHARD_COUNT", "2")],
    );
    assert_eq!(batch["report"]["shard"], "0/2");
    let output = run(&args, &[("AWS_BATCH_JOB_ARRAY_INDEX", "0")]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("STAC_INDEXED_SHARD_COUNT"));
    let merged = run_ok(&["index", "--merge", out.to_str().unwrap()], &[]);
    assert_eq!(merged["report"]["counts"]["collections"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_parts_on_s3_merged_equal_one_run() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = catalog_with_faults(dir.path());
    moto.create_bucket("catalog").await;
    moto.create_bucket("index").await;
    moto.upload_dir(&root, "catalog", "c").await;
    let config = root.join("index-config.json").to_str().unwrap().to_string();
    let args = |out: &str| -> Vec<String> {
        [
            "index",
            "s3://catalog/c/catalog.json",
            "--out",
            out,
            "--config",
            &config,
        ]
        .into_iter()
        .map(str::to_string)
        .collect()
    };
    let (env, whole_args, sharded_args) = (moto.env(), args("s3://index/whole"), args("s3://index/sharded"));
    tokio::task::spawn_blocking(move || {
        let whole: Vec<&str> = whole_args.iter().map(String::as_str).collect();
        run_ok(&whole, &env_refs(&env));
        run_parts(&sharded_args, &env);
        run_ok(&["index", "--merge", "s3://index/sharded"], &env_refs(&env));
    })
    .await
    .unwrap();
    let whole = download(&moto, "whole", &dir.path().join("whole")).await;
    let sharded = download(&moto, "sharded", &dir.path().join("sharded")).await;
    assert_same_index(&whole, &sharded);
    assert!(
        moto.get("index", "sharded/parts/0-of-4/part.json").await.is_none(),
        "the parts are deleted once published"
    );
}

/// Copies an index's manifest and data files from the `index` bucket.
async fn download(moto: &Moto, prefix: &str, dir: &Path) -> PathBuf {
    let manifest_bytes = moto.get("index", &format!("{prefix}/manifest.json")).await.unwrap();
    let manifest: Value = serde_json::from_slice(&manifest_bytes).unwrap();
    for name in TABLES {
        let path = manifest["files"][name]["path"].as_str().unwrap();
        let local = dir.join(path);
        std::fs::create_dir_all(local.parent().unwrap()).unwrap();
        std::fs::write(&local, moto.get("index", &format!("{prefix}/{path}")).await.unwrap()).unwrap();
    }
    std::fs::write(dir.join("manifest.json"), manifest_bytes).unwrap();
    dir.to_path_buf()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}
