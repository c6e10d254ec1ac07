//! End to end: `stac-indexed index` over local files, checked against the JSON files themselves.

use serde_json::{Value, json};
use stac_indexed_test_support::*;
use std::path::Path;

fn index(root: &Path, out: &Path, extra: &[&str]) -> Value {
    let config = sample_data().join("index-config.json");
    let mut args = vec![
        "index",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run_ok(&args, &[])
}

fn ids_in(items: &str) -> Vec<(String, String)> {
    query(&format!(
        "SELECT collection, id FROM read_parquet('{items}') ORDER BY ALL"
    ))
    .into_iter()
    .map(|row| (row[0].clone(), row[1].clone()))
    .collect()
}

fn errors_in(out: &Path) -> Vec<(String, String)> {
    query(&format!(
        "SELECT uri, kind FROM read_parquet('{}') ORDER BY ALL",
        table(out, "errors")
    ))
    .into_iter()
    .map(|row| (row[0].clone(), row[1].clone()))
    .collect()
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut value: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
}

const S2: &str = "optical/sentinel-2-l2a";

#[test]
fn the_sample_catalog_indexes_completely() {
    let out = tempfile::tempdir().unwrap();
    let summary = index(&sample_data().join("catalog.json"), out.path(), &[]);
    assert_eq!(summary["status"], "ok");

    let manifest = manifest(out.path());
    assert_eq!(manifest["format_version"], 2);
    assert_eq!(manifest["counts"]["items"], 50);
    assert_eq!(manifest["counts"]["collections"], 3);
    assert_eq!(manifest["counts"]["errors"], 0);
    assert_eq!(manifest["catalog"]["id"], "stac-indexed-sample");
    assert_eq!(manifest["previous_index_id"], Value::Null);
    assert_eq!(manifest["config"]["fields"].as_array().unwrap().len(), 8);
    assert!(
        manifest["root_uri"]
            .as_str()
            .unwrap()
            .ends_with("/sample-data/catalog.json")
    );
    let index_id = manifest["index_id"].as_str().unwrap();
    assert_eq!(summary["report"]["index_id"], index_id);
    for name in ["items", "collections", "errors", "tree", "links"] {
        let entry = &manifest["files"][name];
        assert_eq!(entry["path"], format!("versions/{index_id}/{name}.parquet"));
        let bytes = std::fs::read(out.path().join(entry["path"].as_str().unwrap())).unwrap();
        assert_eq!(entry["bytes"], bytes.len());
        let digest = query(&format!(
            "SELECT sha256(content) FROM read_blob('{}')",
            table(out.path(), name)
        ));
        assert_eq!(entry["sha256"], digest[0][0]);
    }
    assert_eq!(manifest["files"]["items"]["rows"], 50);

    let items = table(out.path(), "items");
    assert_eq!(ids_in(&items), sample_item_ids());
    // seq is dense and follows collection, then newest first, then id.
    let ordered = column(&format!(
        "SELECT seq = row_number() OVER (ORDER BY collection, coalesce(datetime, start_datetime) DESC, id) - 1
         FROM read_parquet('{items}') ORDER BY seq"
    ));
    assert!(ordered.iter().all(|ok| ok == "true"), "{ordered:?}");
    let hrefs = column(&format!("SELECT href FROM read_parquet('{items}')"));
    assert!(hrefs.iter().all(|h| h.starts_with("file:///") && h.ends_with(".json")));
    let columns = column(&format!("SELECT name FROM parquet_schema('{items}')"));
    assert!(
        !columns.iter().any(|c| c.contains("owner")),
        "the staging-only column is not published: {columns:?}"
    );
}

/// The number of `item` links of a sample document.
fn item_links_of(path: &str) -> usize {
    let document = read_json(&sample_data().join(path));
    document["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["rel"] == "item")
        .count()
}

#[test]
fn the_catalog_tree_and_its_item_links_are_kept() {
    let out = tempfile::tempdir().unwrap();
    index(&sample_data().join("catalog.json"), out.path(), &[]);
    let tree = query(&format!(
        "SELECT node, parent, kind, key, id, title, item_count, items_in_index, json IS NOT NULL,
                href LIKE 'file:///%.json'
         FROM read_parquet('{}') ORDER BY node",
        table(out.path(), "tree")
    ));
    let row = |node: &str, parent: &str, kind: &str, key: &str, title: &str, items: usize, json: bool| {
        let strings = [node, parent, kind, key, key, title];
        let mut row: Vec<String> = strings.iter().map(|s| s.to_string()).collect();
        row.extend([items.to_string(), "true".into(), json.to_string(), "true".into()]);
        row
    };
    assert_eq!(
        tree,
        vec![
            row(
                "0",
                "NULL",
                "catalog",
                "stac-indexed-sample",
                "stac-indexed sample catalog",
                0,
                true
            ),
            row("1", "0", "catalog", "optical", "Optical imagery", 0, true),
            row(
                "2",
                "0",
                "collection",
                "sentinel-1-grd",
                "Sentinel-1 GRD (sample)",
                item_links_of("radar/collection.json"),
                false
            ),
            row(
                "3",
                "1",
                "collection",
                "sentinel-2-l2a",
                "Sentinel-2 Level-2A (sample)",
                item_links_of(&format!("{S2}/collection.json")),
                false
            ),
            row(
                "4",
                "1",
                "collection",
                "landsat-c2-l2",
                "Landsat Collection 2 Level-2 (sample)",
                item_links_of("optical/landsat-c2-l2/collection.json"),
                false
            ),
        ]
    );
    // Every item is linked by its collection's node, in the items table's order.
    let links = table(out.path(), "links");
    let items = table(out.path(), "items");
    let misplaced = column(&format!(
        "SELECT count(*) FROM read_parquet('{links}') l JOIN read_parquet('{}') t USING (node)
         WHERE t.key <> l.collection",
        table(out.path(), "tree")
    ));
    assert_eq!(misplaced, vec!["0"]);
    let in_order = column(&format!(
        "SELECT (SELECT list(collection || '/' || id) FROM read_parquet('{links}'))
              = (SELECT list(collection || '/' || id ORDER BY l.node, seq)
                 FROM read_parquet('{items}') i JOIN read_parquet('{links}') l USING (collection, id))"
    ));
    assert_eq!(in_order, vec!["true"]);
    assert_eq!(
        column(&format!("SELECT count(*) FROM read_parquet('{links}')")),
        vec!["50"]
    );
}

#[test]
fn item_fields_are_extracted_truly() {
    let out = tempfile::tempdir().unwrap();
    index(&sample_data().join("catalog.json"), out.path(), &[]);
    let items = table(out.path(), "items");
    // Independently: which sample items lack eo:cloud_cover, or a datetime.
    let mut no_cloud = Vec::new();
    let mut ranges_only = Vec::new();
    for (collection, id) in sample_item_ids() {
        let dir = match collection.as_str() {
            "sentinel-2-l2a" => "optical/sentinel-2-l2a",
            "landsat-c2-l2" => "optical/landsat-c2-l2",
            _ => "radar",
        };
        let item: Value = serde_json::from_slice(
            &std::fs::read(sample_data().join(dir).join("items").join(format!("{id}.json"))).unwrap(),
        )
        .unwrap();
        if item["properties"].get("eo:cloud_cover").is_none() {
            no_cloud.push(id.clone());
        }
        if item["properties"]["datetime"].is_null() {
            ranges_only.push(id.clone());
        }
    }
    no_cloud.sort();
    ranges_only.sort();
    assert_eq!(
        column(&format!(
            "SELECT id FROM read_parquet('{items}') WHERE \"eo:cloud_cover\" IS NULL ORDER BY id"
        )),
        no_cloud
    );
    assert_eq!(
        column(&format!(
            "SELECT id FROM read_parquet('{items}') WHERE datetime IS NULL AND start_datetime IS NOT NULL ORDER BY id"
        )),
        ranges_only
    );
    assert!(!ranges_only.is_empty());
    // The antimeridian item keeps its crossing bbox; the point item is a point.
    let crossing = query(&format!(
        "SELECT id FROM read_parquet('{items}') WHERE bbox_xmin > bbox_xmax"
    ));
    assert_eq!(crossing, vec![vec!["LC09_L2SP_074072_20240318".to_string()]]);
    let point = query(&format!(
        "SELECT bbox_xmin = bbox_xmax AND bbox_ymin = bbox_ymax, octet_length(geometry) FROM read_parquet('{items}')
         WHERE id = 'LC08_L2SP_194027_20240120'"
    ));
    assert_eq!(point, vec![vec!["true".to_string(), "21".to_string()]]);
    // Typed columns: instruments is a list, sar:polarizations only for radar.
    let instruments = column(&format!(
        "SELECT instruments FROM read_parquet('{items}') WHERE collection = 'landsat-c2-l2' LIMIT 1"
    ));
    assert!(instruments[0].contains("oli"), "{instruments:?}");
    let polarized = column(&format!(
        "SELECT DISTINCT collection FROM read_parquet('{items}') WHERE \"sar:polarizations\" IS NOT NULL"
    ));
    assert_eq!(polarized, vec!["sentinel-1-grd"]);
    let text = column(&format!(
        "SELECT count(*) FROM read_parquet('{items}') WHERE search_text LIKE '%zürich%'"
    ));
    assert_ne!(text[0], "0");

    let collections = query(&format!(
        "SELECT id, item_count, json FROM read_parquet('{}') ORDER BY id",
        table(out.path(), "collections")
    ));
    let counts: Vec<(String, String)> = collections.iter().map(|r| (r[0].clone(), r[1].clone())).collect();
    assert_eq!(
        counts,
        vec![
            ("landsat-c2-l2".to_string(), "16".to_string()),
            ("sentinel-1-grd".to_string(), "10".to_string()),
            ("sentinel-2-l2a".to_string(), "24".to_string())
        ]
    );
    for row in &collections {
        let json: Value = serde_json::from_str(&row[2]).unwrap();
        assert_eq!(json["type"], "Collection");
        assert!(json["links"].as_array().unwrap().iter().all(|l| l["rel"] != "item"));
    }
}

#[test]
fn bad_documents_are_recorded_and_the_rest_is_indexed() {
    let catalog = sample_copy();
    let root = catalog.path();
    let items = root.join(S2).join("items");
    let broken = items.join("S2A_MSIL2A_20240105T101401_T32TPR.json");
    std::fs::write(&broken, b"{\"type\": \"Feature\", \"id\": ").unwrap();
    let missing = items.join("S2B_MSIL2A_20240111T092239_T34QDK.json");
    std::fs::remove_file(&missing).unwrap();
    let no_geometry = items.join("S2A_MSIL2A_20240130T092011_T34QEK.json");
    edit_json(&no_geometry, |item| item["geometry"] = Value::Null);
    edit_json(&root.join("catalog.json"), |catalog| {
        catalog["links"]
            .as_array_mut()
            .unwrap()
            .push(json!({"rel": "child", "href": "./nowhere/catalog.json"}));
    });

    let out = tempfile::tempdir().unwrap();
    let summary = index(&root.join("catalog.json"), out.path(), &[]);
    assert_eq!(summary["report"]["counts"]["items"], 47);
    let uri = |p: &Path| format!("file://{}", p.display());
    let mut expected = vec![
        (uri(&broken), "parse".to_string()),
        (uri(&missing), "fetch".to_string()),
        (uri(&no_geometry), "invalid_geometry".to_string()),
        (uri(&root.join("nowhere/catalog.json")), "fetch".to_string()),
    ];
    expected.sort();
    assert_eq!(errors_in(out.path()), expected);
    let parents = column(&format!(
        "SELECT parent FROM read_parquet('{}') WHERE uri LIKE '%nowhere%'",
        table(out.path(), "errors")
    ));
    assert_eq!(parents, vec![uri(&root.join("catalog.json"))]);

    // --strict: the same catalog fails the run and publishes nothing.
    let strict_out = tempfile::tempdir().unwrap();
    let config = sample_data().join("index-config.json");
    let output = run(
        &[
            "index",
            root.join("catalog.json").to_str().unwrap(),
            "--out",
            strict_out.path().to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--strict",
        ],
        &[],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("4 error(s) while indexing and --strict is set"));
    assert!(!strict_out.path().join("manifest.json").exists());
}

#[test]
fn duplicate_ids_and_unknown_collections_are_errors() {
    let catalog = sample_copy();
    let root = catalog.path();
    let items = root.join(S2).join("items");
    let original = items.join("S2A_MSIL2A_20240105T101401_T32TPR.json");
    std::fs::copy(&original, items.join("zz-duplicate.json")).unwrap();
    let stray = items.join("zz-stray.json");
    std::fs::copy(&original, &stray).unwrap();
    edit_json(&stray, |item| {
        item["id"] = json!("stray");
        item["collection"] = json!("no-such-collection");
    });
    edit_json(&root.join(S2).join("collection.json"), |collection| {
        let links = collection["links"].as_array_mut().unwrap();
        links.push(json!({"rel": "item", "href": "./items/zz-duplicate.json"}));
        links.push(json!({"rel": "item", "href": "./items/zz-stray.json"}));
        links.push(json!({"rel": "item", "href": "./items/zz-duplicate.json"}));
    });
    let out = tempfile::tempdir().unwrap();
    let summary = index(&root.join("catalog.json"), out.path(), &[]);
    assert_eq!(summary["report"]["counts"]["items"], 50);
    assert_eq!(
        summary["report"]["counts"]["documents"], 57,
        "each document is fetched once"
    );
    let errors = errors_in(out.path());
    assert_eq!(
        errors,
        vec![
            (
                format!("file://{}", items.join("zz-duplicate.json").display()),
                "duplicate_id".to_string()
            ),
            (format!("file://{}", stray.display()), "unknown_collection".to_string()),
        ]
    );
    let kept = column(&format!(
        "SELECT href FROM read_parquet('{}') WHERE id = 'S2A_MSIL2A_20240105T101401_T32TPR'",
        table(out.path(), "items")
    ));
    assert_eq!(kept, vec![format!("file://{}", original.display())]);
}

#[test]
fn items_links_list_directories_and_follow_item_collection_pages() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let item = |id: &str, x: f64| {
        json!({"type": "Feature", "stac_version": "1.1.0", "id": id,
               "geometry": {"type": "Point", "coordinates": [x, 1.0]},
               "properties": {"datetime": "2024-01-01T00:00:00Z"}, "links": [], "assets": {}})
    };
    let write = |path: &str, value: &Value| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, serde_json::to_vec(value).unwrap()).unwrap();
    };
    let collection = |id: &str, items_href: &str| {
        json!({"type": "Collection", "stac_version": "1.1.0", "id": id, "description": "d", "license": "CC0-1.0",
               "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[null, null]]}},
               "links": [{"rel": "items", "href": items_href}]})
    };
    write(
        "catalog.json",
        &json!({"type": "Catalog", "id": "root", "description": "d", "links": [
            {"rel": "child", "href": "listed/collection.json"},
            {"rel": "child", "href": "paged/collection.json"},
            {"rel": "child", "href": "listed/collection.json"}
        ]}),
    );
    write("listed/collection.json", &collection("listed", "./items/"));
    for i in 0..3 {
        write(&format!("listed/items/l{i}.json"), &item(&format!("l{i}"), i as f64));
    }
    std::fs::write(root.join("listed/items/README.txt"), "not an item").unwrap();
    write("paged/collection.json", &collection("paged", "./page1.json"));
    let mut with_self = item("p0", 0.0);
    with_self["links"] = json!([{"rel": "self", "href": "./elsewhere/p0.json"}]);
    write(
        "paged/page1.json",
        &json!({"type": "FeatureCollection", "features": [with_self, item("p1", 1.0)],
        "links": [{"rel": "next", "href": "page2.json?token=2"}]}),
    );
    write(
        "paged/page2.json",
        &json!({"type": "FeatureCollection", "features": [item("p2", 2.0)],
        "links": [{"rel": "next", "href": "page3.json", "method": "POST"}]}),
    );

    let out = tempfile::tempdir().unwrap();
    run_ok(
        &[
            "index",
            root.join("catalog.json").to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
        ],
        &[],
    );
    let items = table(out.path(), "items");
    let rows = query(&format!(
        "SELECT collection, id, href FROM read_parquet('{items}') ORDER BY collection, id"
    ));
    let base = format!("file://{}", root.display());
    let expected: Vec<Vec<String>> = [
        ("listed", "l0", "/listed/items/l0.json".to_string()),
        ("listed", "l1", "/listed/items/l1.json".to_string()),
        ("listed", "l2", "/listed/items/l2.json".to_string()),
        ("paged", "p0", "/paged/elsewhere/p0.json".to_string()),
        ("paged", "p1", "/paged/page1.json#p1".to_string()),
        ("paged", "p2", "/paged/page2.json?token=2#p2".to_string()),
    ]
    .into_iter()
    .map(|(c, i, h)| vec![c.to_string(), i.to_string(), format!("{base}{h}")])
    .collect();
    assert_eq!(rows, expected);
    assert_eq!(
        errors_in(out.path()),
        vec![(format!("{base}/paged/page3.json"), "unsupported_link".to_string())]
    );
    // Items found by listing or on pages belong to the collection whose
    // `items` link led there; a child linked twice is one node.
    let owners = query(&format!(
        "SELECT t.key, l.id FROM read_parquet('{}') l JOIN read_parquet('{}') t USING (node) ORDER BY ALL",
        table(out.path(), "links"),
        table(out.path(), "tree")
    ));
    let expected: Vec<Vec<String>> = ["l0", "l1", "l2"]
        .iter()
        .map(|id| vec!["listed".to_string(), id.to_string()])
        .chain(
            ["p0", "p1", "p2"]
                .iter()
                .map(|id| vec!["paged".to_string(), id.to_string()]),
        )
        .collect();
    assert_eq!(owners, expected);
    let nodes = column(&format!(
        "SELECT key FROM read_parquet('{}') ORDER BY node",
        table(out.path(), "tree")
    ));
    assert_eq!(nodes, vec!["root", "listed", "paged"]);
}

#[test]
fn reindexing_reports_changes_and_gc_keeps_the_newest() {
    let catalog = sample_copy();
    let root = catalog.path();
    let out = tempfile::tempdir().unwrap();
    let first = index(&root.join("catalog.json"), out.path(), &[]);
    let first_id = first["report"]["index_id"].as_str().unwrap().to_string();

    let items = root.join(S2).join("items");
    edit_json(&items.join("S2A_MSIL2A_20240105T101401_T32TPR.json"), |item| {
        item["properties"]["eo:cloud_cover"] = json!(99.5);
    });
    std::fs::copy(
        items.join("S2A_MSIL2A_20240105T101401_T32TPR.json"),
        items.join("new.json"),
    )
    .unwrap();
    edit_json(&items.join("new.json"), |item| item["id"] = json!("brand-new"));
    edit_json(&root.join(S2).join("collection.json"), |collection| {
        let links = collection["links"].as_array_mut().unwrap();
        links.retain(|l| l["href"] != "./items/S2B_MSIL2A_20240111T092239_T34QDK.json");
        links.push(json!({"rel": "item", "href": "./items/new.json"}));
    });

    // Re-index from the manifest already at --out: the stored root and config are used.
    let second = run_ok(&["index", "--out", out.path().to_str().unwrap()], &[]);
    assert_eq!(
        second["report"]["changes"],
        json!({"added": 1, "removed": 1, "updated": 1, "unchanged": 48})
    );
    let manifest = manifest(out.path());
    assert_eq!(manifest["previous_index_id"], first_id);
    assert_eq!(manifest["config"]["fields"].as_array().unwrap().len(), 8);
    let cloud = column(&format!(
        "SELECT \"eo:cloud_cover\" FROM read_parquet('{}') WHERE id = 'S2A_MSIL2A_20240105T101401_T32TPR'",
        table(out.path(), "items")
    ));
    assert_eq!(cloud, vec!["99.5"]);

    // Re-index with --from into another place.
    let elsewhere = tempfile::tempdir().unwrap();
    let manifest_path = out.path().join("manifest.json");
    let third = run_ok(
        &[
            "index",
            "--from",
            manifest_path.to_str().unwrap(),
            "--out",
            elsewhere.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(third["report"]["changes"]["unchanged"], 50);

    let fourth = run_ok(&["index", "--out", out.path().to_str().unwrap()], &[]);
    let current = fourth["report"]["index_id"].as_str().unwrap().to_string();
    let versions = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir.join("versions"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(versions(out.path()).len(), 3);
    let gc = run_ok(&["gc", out.path().to_str().unwrap(), "--keep", "1"], &[]);
    assert_eq!(gc["removed"].as_array().unwrap().len(), 2);
    assert_eq!(versions(out.path()), vec![current]);
    run_ok(&["inspect", out.path().to_str().unwrap()], &[]);
}

#[test]
fn an_unreadable_root_and_a_bad_config_fail_clearly() {
    let out = tempfile::tempdir().unwrap();
    let output = run(
        &["index", "/no/such/catalog.json", "--out", out.path().to_str().unwrap()],
        &[],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read the root catalog file:///no/such/catalog.json"),
        "{stderr}"
    );

    // A root without stac_version is not a catalog: a clear failure, not 0 items.
    let root = out.path().join("not-stac.json");
    std::fs::write(
        &root,
        r#"{"id": "x", "description": "d", "links": [{"rel": "child", "href": "./c.json"}]}"#,
    )
    .unwrap();
    let output = run(
        &["index", root.to_str().unwrap(), "--out", out.path().to_str().unwrap()],
        &[],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("it has no \"stac_version\""), "{stderr}");

    let config = out.path().join("bad-config.json");
    std::fs::write(
        &config,
        r#"{"fields": [{"name": "x", "path": "properties.x", "type": "float"}]}"#,
    )
    .unwrap();
    let output = run(
        &[
            "index",
            sample_data().join("catalog.json").to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid index config at fields[0].type: unknown type \"float\""),
        "{stderr}"
    );
    assert!(!out.path().join("manifest.json").exists());
}

#[test]
fn a_realistic_generated_catalog_indexes_completely() {
    let catalog = tempfile::tempdir().unwrap();
    let dir = catalog.path().to_str().unwrap();
    run_ok(
        &[
            "generate",
            "--items",
            "40",
            "--collections",
            "2",
            "--realistic",
            "--out",
            dir,
        ],
        &[],
    );
    let item_path = catalog.path().join("collection-001/items/item-001-00000007.json");
    let text = std::fs::read_to_string(&item_path).unwrap();
    assert!(text.contains("\n  \""), "pretty-printed");
    assert!((2_000..3_500).contains(&text.len()), "about 3 KB: {}", text.len());
    let item: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(item["assets"].as_object().unwrap().len(), 5);
    assert_eq!(item["properties"]["constellation"], "sentinel-2");
    let out = tempfile::tempdir().unwrap();
    let config = catalog.path().join("index-config.json");
    let summary = run_ok(
        &[
            "index",
            catalog.path().join("catalog.json").to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(summary["report"]["counts"]["items"], 40);
    assert_eq!(summary["report"]["counts"]["errors"], 0);
}
