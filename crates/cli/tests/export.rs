//! `stac-indexed export`, run as a user runs it: files that hold exactly
//! the items the search matches (counted from the sample JSON), with the
//! links of their sources; a failed export leaves no file.

use serde_json::Value;
use stac_indexed_test_support::*;
use std::collections::BTreeSet;

fn ndjson_ids(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn export_writes_the_matches_as_ndjson_and_geoparquet() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    index_into(&sample_data(), &index);
    let index = index.to_str().unwrap();

    let out = dir.path().join("cloudless.ndjson");
    let summary = run_ok(
        &[
            "export",
            "--index",
            index,
            "--filter",
            "\"eo:cloud_cover\" < 30",
            "--collections",
            "sentinel-2-l2a,landsat-c2-l2",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    let expected = expected(|item| {
        ["sentinel-2-l2a", "landsat-c2-l2"].contains(&item.collection.as_str())
            && item.json["properties"]["eo:cloud_cover"]
                .as_f64()
                .is_some_and(|c| c < 30.0)
    });
    assert!(!expected.is_empty());
    let items = ndjson_ids(&out);
    let ids: BTreeSet<String> = items.iter().map(|i| i["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, expected);
    assert_eq!(items.len(), expected.len());
    assert_eq!(summary["items"], expected.len());
    // Away from the API, links are the source's, made absolute.
    let item = &items[0];
    let source = sample_item(item["id"].as_str().unwrap());
    let self_link = item["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "self" || l["rel"] == "collection")
        .unwrap();
    assert!(
        self_link["href"].as_str().unwrap().starts_with("file://"),
        "{self_link}"
    );
    assert_eq!(item["properties"], source.json["properties"]);

    let out = dir.path().join("sentinel-1.parquet");
    let summary = run_ok(
        &[
            "export",
            "--index",
            index,
            "--collections",
            "sentinel-1-grd",
            "--sortby",
            "-datetime",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    let path = out.display().to_string();
    let rows = column(&format!("SELECT id FROM read_parquet('{path}')"));
    let mut expected: Vec<SampleItem> = sample_items()
        .into_iter()
        .filter(|i| i.collection == "sentinel-1-grd")
        .collect();
    expected.sort_by_key(|i| std::cmp::Reverse(i.datetime.or(i.start)));
    let expected: Vec<String> = expected.iter().map(|i| i.id.clone()).collect();
    assert_eq!(rows, expected, "the file holds the search's order");
    assert_eq!(summary["items"], expected.len());
    assert_eq!(summary["format"], "parquet");
    let geo = column(&format!(
        "SELECT decode(value) FROM parquet_kv_metadata('{path}') WHERE decode(key) = 'geo'"
    ));
    let geo: Value = serde_json::from_str(&geo[0]).unwrap();
    assert_eq!(geo["primary_column"], "geometry");
    assert!(!dir.path().join("sentinel-1.parquet.part").exists());
}

#[test]
fn a_failed_export_leaves_no_file_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = sample_copy();
    let index = dir.path().join("index");
    index_into(catalog.path(), &index);
    let victim = files_under(catalog.path())
        .into_iter()
        .find(|p| p.parent().is_some_and(|d| d.ends_with("items")))
        .unwrap();
    std::fs::remove_file(&victim).unwrap();
    for name in ["all.ndjson", "all.parquet"] {
        let out = dir.path().join(name);
        let output = run(
            &[
                "export",
                "--index",
                index.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            &[],
        );
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("could not be read"), "{stderr}");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with("all."))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
    let output = run(&["export", "--index", index.to_str().unwrap(), "--out", "x.csv"], &[]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--format"));
}
