//! `update` end to end on local files: changes published as deltas and
//! served, answers equal to a full re-index after random changes, the
//! command line, and updaters racing on one index.

use serde_json::{Value, json};
use stac_indexed_api::ApiConfig;
use stac_indexed_indexer::{Change, UpdateOptions, UpdateReport};
use stac_indexed_io::Uri;
use stac_indexed_test_support::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The collection the changes are made in.
const COLLECTION: &str = "landsat-c2-l2";

/// A copy of the sample catalog that changes, and its index.
struct Changing {
    catalog: tempfile::TempDir,
    index: tempfile::TempDir,
}

impl Changing {
    async fn new() -> Changing {
        let catalog = sample_copy();
        let index = tempfile::tempdir().unwrap();
        index_catalog(&catalog.path().join("catalog.json"), sample_config(), index.path()).await;
        Changing { catalog, index }
    }

    fn collection_dir(&self) -> PathBuf {
        self.catalog.path().join("optical").join(COLLECTION)
    }

    fn item_path(&self, id: &str) -> PathBuf {
        self.collection_dir().join("items").join(format!("{id}.json"))
    }

    /// The ids the collection links, in its order.
    fn linked_ids(&self) -> Vec<String> {
        let collection = read_json(&self.collection_dir().join("collection.json"));
        links(&collection, "item")
            .iter()
            .map(|link| {
                let href = link["href"].as_str().unwrap();
                href.trim_start_matches("./items/")
                    .trim_end_matches(".json")
                    .to_string()
            })
            .collect()
    }

    /// Writes a new item (a copy of `template` with another id) and links it.
    fn insert(&self, template: &str, id: &str, cloud_cover: f64) -> Uri {
        let mut item = read_json(&self.item_path(template));
        item["id"] = json!(id);
        item["properties"]["eo:cloud_cover"] = json!(cloud_cover);
        std::fs::write(self.item_path(id), item.to_string()).unwrap();
        edit_json_atomically(&self.collection_dir().join("collection.json"), |collection| {
            let link = json!({"rel": "item", "href": format!("./items/{id}.json"), "type": "application/geo+json"});
            collection["links"].as_array_mut().unwrap().push(link);
        });
        self.uri(id)
    }

    /// Changes an item's cloud cover and datetime.
    fn replace(&self, id: &str, cloud_cover: f64, day: u32) -> Uri {
        edit_json_atomically(&self.item_path(id), |item| {
            item["properties"]["eo:cloud_cover"] = json!(cloud_cover);
            item["properties"]["datetime"] = json!(format!("2023-01-{day:02}T10:00:00Z"));
        });
        self.uri(id)
    }

    /// Deletes an item's file and its link.
    fn delete(&self, id: &str) -> Uri {
        let uri = self.uri(id);
        std::fs::remove_file(self.item_path(id)).unwrap();
        edit_json_atomically(&self.collection_dir().join("collection.json"), |collection| {
            let href = format!("./items/{id}.json");
            collection["links"]
                .as_array_mut()
                .unwrap()
                .retain(|link| link["href"] != href.as_str());
        });
        uri
    }

    fn uri(&self, id: &str) -> Uri {
        Uri::from_path(&self.item_path(id)).unwrap()
    }

    async fn update(&self, changes: Vec<Change>) -> UpdateReport {
        update_index(self.index.path(), changes).await
    }
}

async fn update_index(index: &Path, changes: Vec<Change>) -> UpdateReport {
    let options = UpdateOptions {
        index: Uri::from_path(index).unwrap(),
        changes,
        concurrency: 8,
        compact: false,
        work_dir: None,
        cache_dir: None,
    };
    stac_indexed_indexer::update(options, io()).await.unwrap()
}

/// A small deterministic random number generator (xorshift).
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// What the API answers to the searches that read the index's columns.
async fn answers(api: &Api) -> Vec<Value> {
    let mut answers = Vec::new();
    for params in [
        vec![("limit", "1000")],
        vec![("limit", "1000"), ("fields", "id,collection,properties.eo:cloud_cover")],
        vec![("limit", "1000"), ("filter", "\"eo:cloud_cover\" < 40")],
        vec![("limit", "1000"), ("sortby", "-eo:cloud_cover,id")],
        vec![
            ("limit", "1000"),
            ("collections", COLLECTION),
            ("datetime", "2023-01-01T00:00:00Z/2023-12-31T00:00:00Z"),
        ],
    ] {
        let mut page = api.search(&params).await;
        // The links name the index version; the items and their order are the answer.
        page.as_object_mut().unwrap().remove("links");
        answers.push(page);
    }
    let collection = api
        .get(&format!("/collections/{COLLECTION}/items?limit=1000"))
        .await
        .assert_page();
    answers.push(json!({"ids": ids(&collection), "matched": collection["numberMatched"]}));
    answers
}

#[tokio::test]
async fn random_changes_are_served_as_a_full_reindex_serves_them() {
    let changing = Changing::new().await;
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let mut next_id = 0;
    for round in 0..12 {
        let mut changes = Vec::new();
        for _ in 0..1 + random.below(5) {
            let linked = changing.linked_ids();
            let pick = linked[random.below(linked.len())].clone();
            let change = match random.below(3) {
                0 => {
                    next_id += 1;
                    let id = format!("new-{next_id}");
                    Change::Upsert(changing.insert(&pick, &id, random.below(100) as f64))
                }
                1 => Change::Upsert(changing.replace(&pick, random.below(100) as f64, 1 + random.below(28) as u32)),
                _ if linked.len() > 5 => match round % 2 {
                    0 => Change::RemoveHref(changing.delete(&pick)),
                    _ => {
                        changing.delete(&pick);
                        Change::RemoveKey {
                            collection: COLLECTION.into(),
                            id: pick,
                        }
                    }
                },
                _ => continue,
            };
            changes.push(change);
        }
        let report = changing.update(changes).await;
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    }
    let manifest = read_json(&changing.index.path().join("manifest.json"));
    assert_eq!(manifest["format_version"], 3, "the index carries deltas");

    let updated = Api::open(changing.index.path(), ApiConfig::default()).await;
    let reindexed = tempfile::tempdir().unwrap();
    index_catalog(
        &changing.catalog.path().join("catalog.json"),
        sample_config(),
        reindexed.path(),
    )
    .await;
    let fresh = Api::open(reindexed.path(), ApiConfig::default()).await;
    let (updated_answers, fresh_answers) = (answers(&updated).await, answers(&fresh).await);
    assert_eq!(updated_answers[0]["numberMatched"], fresh_answers[0]["numberMatched"]);
    for (got, expected) in updated_answers.iter().zip(&fresh_answers) {
        assert_eq!(got, expected);
    }
    let fresh_manifest = read_json(&reindexed.path().join("manifest.json"));
    assert_eq!(manifest["counts"]["items"], fresh_manifest["counts"]["items"]);

    // Compacted, the same again: one items table, no deltas.
    let options = UpdateOptions {
        index: Uri::from_path(changing.index.path()).unwrap(),
        changes: Vec::new(),
        concurrency: 1,
        compact: true,
        work_dir: None,
        cache_dir: None,
    };
    let report = stac_indexed_indexer::update(options, io()).await.unwrap();
    assert!(report.compacted && report.published && report.deltas == 0);
    let compacted = Api::open(changing.index.path(), ApiConfig::default()).await;
    assert_eq!(answers(&compacted).await, fresh_answers);
    assert_eq!(
        read_json(&changing.index.path().join("manifest.json"))["format_version"],
        2
    );
}

#[tokio::test]
async fn updates_add_replace_remove_and_record_errors() {
    let changing = Changing::new().await;
    let before = Api::open(changing.index.path(), ApiConfig::default()).await;
    let total = before.search(&[("limit", "1")]).await["numberMatched"]
        .as_u64()
        .unwrap();
    let linked = changing.linked_ids();
    let (replaced, removed) = (linked[0].clone(), linked[1].clone());

    let added = changing.insert(&replaced, "fresh", 1.5);
    let changed = changing.replace(&replaced, 97.25, 3);
    let gone = changing.delete(&removed);
    let broken = changing.collection_dir().join("items").join("broken.json");
    std::fs::write(&broken, "{\"type\": \"Feature\", \"id\": ").unwrap();
    let orphan = changing.collection_dir().join("items").join("orphan.json");
    let mut orphan_item = read_json(&changing.item_path(&replaced));
    orphan_item["id"] = json!("orphan");
    orphan_item["collection"] = json!("nowhere");
    orphan_item["links"] = json!([]);
    std::fs::write(&orphan, orphan_item.to_string()).unwrap();
    let missing = changing.collection_dir().join("items").join("missing.json");
    let report = changing
        .update(vec![
            Change::Upsert(added),
            Change::Upsert(changed.clone()),
            Change::RemoveHref(gone),
            Change::Upsert(Uri::from_path(&broken).unwrap()),
            Change::Upsert(Uri::from_path(&orphan).unwrap()),
            Change::Upsert(Uri::from_path(&missing).unwrap()),
        ])
        .await;
    assert!(report.published);
    assert_eq!(
        (report.added, report.updated, report.removed, report.unchanged),
        (1, 1, 1, 0)
    );
    let kinds: BTreeSet<String> = report.errors.iter().map(|e| e.kind.to_string()).collect();
    assert_eq!(kinds, ["fetch", "parse", "unknown_collection"].map(String::from).into());
    assert_eq!(report.unread, [Uri::from_path(&missing).unwrap().to_string()]);

    let after = Api::open(changing.index.path(), ApiConfig::default()).await;
    assert_eq!(
        after.search(&[("limit", "1")]).await["numberMatched"].as_u64().unwrap(),
        total
    );
    let fresh = after.get(&format!("/collections/{COLLECTION}/items/fresh")).await;
    assert_eq!(fresh.status, 200);
    assert_eq!(fresh.json()["properties"]["eo:cloud_cover"], 1.5);
    let matched = after.search(&[("filter", "\"eo:cloud_cover\" = 97.25")]).await;
    assert_eq!(ids(&matched), std::slice::from_ref(&replaced));
    after
        .get(&format!("/collections/{COLLECTION}/items/{removed}"))
        .await
        .assert_error(axum::http::StatusCode::NOT_FOUND, "NotFound");
    let manifest = read_json(&changing.index.path().join("manifest.json"));
    assert_eq!(manifest["counts"]["errors"], 3);
    assert_eq!(
        manifest["changes"],
        json!({"added": 1, "removed": 1, "updated": 1, "unchanged": 0})
    );

    // The same again: nothing changes, nothing is published.
    let again = changing.update(vec![Change::Upsert(changed)]).await;
    assert!(!again.published);
    assert_eq!(again.unchanged, 1);
    assert_eq!(again.index_id, manifest["index_id"].as_str().unwrap());

    // Fixing the broken item clears its error.
    let mut fixed = read_json(&changing.item_path(&replaced));
    fixed["id"] = json!("was-broken");
    std::fs::write(&broken, fixed.to_string()).unwrap();
    let repaired = changing
        .update(vec![Change::Upsert(Uri::from_path(&broken).unwrap())])
        .await;
    assert_eq!(repaired.added, 1);
    let manifest = read_json(&changing.index.path().join("manifest.json"));
    assert_eq!(manifest["counts"]["errors"], 2);
}

#[tokio::test]
async fn a_new_collection_comes_with_its_first_item() {
    let changing = Changing::new().await;
    let dir = changing.catalog.path().join("extra");
    std::fs::create_dir_all(dir.join("items")).unwrap();
    let mut collection = read_json(&changing.collection_dir().join("collection.json"));
    collection["id"] = json!("extra");
    collection["title"] = json!("Added by an update");
    collection["links"] = json!([]);
    std::fs::write(dir.join("collection.json"), collection.to_string()).unwrap();
    let linked = changing.linked_ids();
    let mut item = read_json(&changing.item_path(&linked[0]));
    item["id"] = json!("extra-1");
    item["collection"] = json!("extra");
    item["links"] = json!([{"rel": "collection", "href": "../collection.json"}]);
    std::fs::write(dir.join("items/extra-1.json"), item.to_string()).unwrap();

    let report = changing
        .update(vec![Change::Upsert(
            Uri::from_path(&dir.join("items/extra-1.json")).unwrap(),
        )])
        .await;
    assert_eq!(report.added, 1, "{:?}", report.errors);
    let api = Api::open(changing.index.path(), ApiConfig::default()).await;
    let served = api.get("/collections/extra").await;
    assert_eq!(served.status, 200);
    assert_eq!(served.json()["title"], "Added by an update");
    let items = api.get("/collections/extra/items").await.assert_page();
    assert_eq!(ids(&items), ["extra-1"]);
}

#[test]
fn the_command_line_reads_lists_and_deletes_by_key() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let changing = runtime.block_on(Changing::new());
    let linked = changing.linked_ids();
    let added = changing.insert(&linked[0], "from-list", 12.0);
    changing.delete(&linked[1]);
    let list = changing.catalog.path().join("changes.txt");
    std::fs::write(
        &list,
        format!("# one new item\n{}\n", added.to_file_path().unwrap().display()),
    )
    .unwrap();
    let index = changing.index.path().to_str().unwrap();
    let output = run_ok(
        &[
            "update",
            "--index",
            index,
            "--from",
            list.to_str().unwrap(),
            "--delete-item",
            &format!("{COLLECTION}/{}", linked[1]),
        ],
        &[],
    );
    assert_eq!(output["status"], "ok");
    assert_eq!(output["report"]["added"], 1);
    assert_eq!(output["report"]["removed"], 1);
    assert_eq!(output["report"]["deltas"], 1);

    let refused = run(&["update", "--index", index, "--delete-item", "no-slash"], &[]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("COLLECTION/ID"));
    let nothing = run(&["update", "--index", index], &[]);
    assert!(!nothing.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_updaters_racing_lose_no_change() {
    let changing = Changing::new().await;
    let template = changing.linked_ids()[0].clone();
    let mut uris = Vec::new();
    for n in 0..200 {
        uris.push(changing.insert(&template, &format!("race-{n}"), n as f64 / 2.0));
    }
    let index = changing.index.path().to_path_buf();
    let updaters: Vec<_> = [0, 1]
        .into_iter()
        .map(|updater| {
            let (index, mine) = (index.clone(), uris[updater * 100..(updater + 1) * 100].to_vec());
            tokio::spawn(async move {
                for uri in mine {
                    let report = update_index(&index, vec![Change::Upsert(uri)]).await;
                    assert_eq!(report.added, 1);
                }
            })
        })
        .collect();
    for updater in updaters {
        updater.await.unwrap();
    }
    let api = Api::open(&index, ApiConfig::default()).await;
    let raced = api.search(&[("limit", "1000"), ("filter", "id LIKE 'race-%'")]).await;
    assert_eq!(raced["numberMatched"], 200);
    let expected: BTreeSet<String> = (0..200).map(|n| format!("race-{n}")).collect();
    assert_eq!(id_set(&raced), expected);
}

/// A full index that publishes after an update did keeps the update: what
/// was published while it crawled is replayed on top of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_index_keeps_what_updates_published_while_it_crawled() {
    let catalog = sample_copy();
    let addr = serve_directory_slowly(catalog.path(), std::time::Duration::from_millis(100)).await;
    let index = tempfile::tempdir().unwrap();
    let index_arg = index.path().to_str().unwrap().to_string();
    let config = sample_data().join("index-config.json");
    let root = format!("http://{addr}/catalog.json");
    let first = run_blocking(vec![
        "index".into(),
        root,
        "--out".into(),
        index_arg.clone(),
        "--config".into(),
        config.to_str().unwrap().into(),
    ])
    .await;
    assert_eq!(first["status"], "ok", "{first}");
    // An item the catalog does not link: only the update brings it in.
    let items = catalog.path().join("optical").join(COLLECTION).join("items");
    let template = std::fs::read_dir(&items).unwrap().next().unwrap().unwrap().path();
    let mut late = read_json(&template);
    late["id"] = json!("late");
    std::fs::write(items.join("late.json"), late.to_string()).unwrap();

    // One document at a time, 100 ms each: the crawl takes over 5 s.
    let crawl = tokio::spawn(run_blocking(vec![
        "index".into(),
        "--out".into(),
        index_arg.clone(),
        "--concurrency".into(),
        "1".into(),
    ]));
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let late_uri = format!("http://{addr}/optical/{COLLECTION}/items/late.json");
    let updated = run_blocking(vec!["update".into(), "--index".into(), index_arg.clone(), late_uri]).await;
    assert_eq!(updated["report"]["added"], 1, "{updated}");
    let crawled = crawl.await.unwrap();
    assert_eq!(crawled["status"], "ok", "{crawled}");

    let manifest = read_json(&index.path().join("manifest.json"));
    assert_eq!(
        manifest["previous_index_id"], updated["report"]["index_id"],
        "the crawl published after the update"
    );
    assert_eq!(
        manifest["files"]["deltas"].as_array().map(Vec::len),
        Some(1),
        "{manifest}"
    );
    let api = Api::open(index.path(), ApiConfig::default()).await;
    assert_eq!(
        api.get(&format!("/collections/{COLLECTION}/items/late")).await.status,
        200
    );
    assert_eq!(api.search(&[("limit", "1")]).await["numberMatched"], 51);
}

/// Runs the binary off the async workers; its JSON line (success or not).
async fn run_blocking(args: Vec<String>) -> Value {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = run(&args, &[]);
        let stdout = String::from_utf8_lossy(&output.stdout);
        serde_json::from_str(stdout.lines().last().unwrap_or("null")).unwrap_or_else(
            |_| json!({"status": "unreadable", "stdout": stdout, "stderr": String::from_utf8_lossy(&output.stderr)}),
        )
    })
    .await
    .unwrap()
}

/// `gc` keeps the versions whose files an updated index still reads (its
/// items table and deltas live in earlier versions' directories).
#[tokio::test]
async fn gc_keeps_the_files_an_updated_index_reads() {
    let changing = Changing::new().await;
    let linked = changing.linked_ids();
    let base = read_json(&changing.index.path().join("manifest.json"))["index_id"]
        .as_str()
        .unwrap()
        .to_string();
    let first = changing
        .update(vec![Change::Upsert(changing.insert(&linked[0], "gc-1", 1.0))])
        .await;
    let second = changing
        .update(vec![Change::Upsert(changing.insert(&linked[0], "gc-2", 2.0))])
        .await;
    assert!(first.published && second.published);

    let index = changing.index.path().to_str().unwrap().to_string();
    let gc = tokio::task::spawn_blocking(move || run_ok(&["gc", &index, "--keep", "1"], &[]))
        .await
        .unwrap();
    let mut kept: Vec<&str> = gc["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    kept.sort();
    assert_eq!(kept, [base.as_str(), &first.index_id, &second.index_id]);
    assert!(gc["removed"].as_array().unwrap().is_empty());
    let api = Api::open(changing.index.path(), ApiConfig::default()).await;
    for id in ["gc-1", "gc-2"] {
        assert_eq!(
            api.get(&format!("/collections/{COLLECTION}/items/{id}")).await.status,
            200
        );
    }

    // Compacted, the earlier versions are no longer read: gc removes them.
    let index = changing.index.path().to_str().unwrap().to_string();
    let compacted = tokio::task::spawn_blocking(move || {
        run_ok(&["update", "--index", &index, "--compact"], &[]);
        run_ok(&["gc", &index, "--keep", "1"], &[])
    })
    .await
    .unwrap();
    // Kept: the version the manifest names and those its unchanged files
    // (here the links table the updates wrote) are in; no other.
    let manifest = read_json(&changing.index.path().join("manifest.json"));
    let files = manifest["files"].as_object().unwrap();
    let mut named: Vec<&str> = files
        .values()
        .filter_map(|entry| entry["path"].as_str())
        .map(|path| path.split('/').nth(1).unwrap())
        .collect();
    named.push(manifest["index_id"].as_str().unwrap());
    named.sort();
    named.dedup();
    let mut kept: Vec<&str> = compacted["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    kept.sort();
    assert_eq!(kept, named, "{compacted}");
    assert!(!kept.contains(&base.as_str()), "the base items table is no longer read");
    assert_eq!(manifest["files"].get("deltas"), None);
    let api = Api::open(changing.index.path(), ApiConfig::default()).await;
    assert_eq!(api.search(&[("limit", "1")]).await["numberMatched"], 52);
}
