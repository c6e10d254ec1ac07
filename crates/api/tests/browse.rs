//! Browseable and children through the real router: a client walking
//! `child` and `item` links from the landing page finds the static
//! catalog's tree and every one of its items, read independently from the
//! sample files.

use axum::http::StatusCode;
use serde_json::{Value, json};
use stac_indexed_api::{ApiConfig, HttpOptions, IndexHandle};
use stac_indexed_io::Uri;
use stac_indexed_test_support::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What a walk along `child` and `item` links finds: each document's
/// children (by id, in link order) and each (document id, item id) link.
#[derive(Debug, Default, PartialEq)]
struct Walk {
    children: Vec<(String, Vec<String>)>,
    items: BTreeSet<(String, String)>,
}

fn link_hrefs(document: &Value, rel: &str) -> Vec<String> {
    links(document, rel)
        .into_iter()
        .map(|l| l["href"].as_str().unwrap().to_string())
        .collect()
}

/// Walks the static catalog's files, depth first.
fn walk_files(path: &Path, walk: &mut Walk) {
    let document = read_json(path);
    let id = document["id"].as_str().unwrap().to_string();
    let dir = path.parent().unwrap();
    let resolve = |href: &str| -> PathBuf { dir.join(href).canonicalize().unwrap() };
    for item in link_hrefs(&document, "item") {
        let item = read_json(&resolve(&item));
        walk.items
            .insert((id.clone(), item["id"].as_str().unwrap().to_string()));
    }
    let children: Vec<PathBuf> = link_hrefs(&document, "child").iter().map(|h| resolve(h)).collect();
    let ids = children
        .iter()
        .map(|c| read_json(c)["id"].as_str().unwrap().to_string())
        .collect();
    walk.children.push((id, ids));
    children.iter().for_each(|child| walk_files(child, walk));
}

/// Walks the API from `path`, depth first, fetching every item link.
async fn walk_api(api: &Api, path: &str, walk: &mut Walk, seen: &mut BTreeSet<String>) {
    assert!(seen.insert(path.to_string()), "{path} is reached twice");
    let reply = api.get(path).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text());
    let document = reply.json();
    let id = document["id"].as_str().unwrap().to_string();
    assert_eq!(local(href(&document, "self")), path, "{path}: self link");
    for rel in ["self", "root", "parent", "child", "item"] {
        for l in links(&document, rel) {
            assert!(l["title"].is_string(), "{path}: an untitled {rel} link {l}");
        }
    }
    for item in link_hrefs(&document, "item") {
        let reply = api.get(&local(&item)).await;
        assert_eq!(reply.status, StatusCode::OK, "{item}: {}", reply.text());
        walk.items
            .insert((id.clone(), reply.json()["id"].as_str().unwrap().to_string()));
    }
    let mut ids = Vec::new();
    let children = link_hrefs(&document, "child");
    for child in &children {
        let reply = api.get(&local(child)).await;
        ids.push(reply.json()["id"].as_str().unwrap().to_string());
        let child_document = reply.json();
        assert_eq!(
            local(href(&child_document, "parent")),
            path,
            "{child}: its parent is the document that links it"
        );
    }
    walk.children.push((id, ids));
    for child in children {
        Box::pin(walk_api(api, &local(&child), walk, seen)).await;
    }
}

#[tokio::test]
async fn child_and_item_links_from_the_landing_page_reach_every_item_as_in_the_static_catalog() {
    let api = Api::sample().await;
    let mut expected = Walk::default();
    walk_files(&sample_data().join("catalog.json"), &mut expected);
    let mut served = Walk::default();
    walk_api(&api, "/", &mut served, &mut BTreeSet::new()).await;
    assert_eq!(served, expected);
    assert_eq!(served.items.len(), 50, "every sample item is linked once");
    assert_eq!(
        served.children[0],
        (
            "stac-indexed-sample".to_string(),
            vec!["optical".to_string(), "sentinel-1-grd".to_string()]
        )
    );
    let conformance = api.get("/conformance").await.json();
    for class in [
        "https://api.stacspec.org/v1.0.0/browseable",
        "https://api.stacspec.org/v1.0.0/children",
    ] {
        assert!(conformance["conformsTo"].as_array().unwrap().contains(&json!(class)));
    }
}

#[tokio::test]
async fn a_sub_catalog_keeps_its_source_members_and_links() {
    let api = Api::sample().await;
    let catalog = api.get("/catalogs/optical").await.json();
    let source = read_json(&sample_data().join("optical/catalog.json"));
    for member in ["type", "stac_version", "id", "title", "description"] {
        assert_eq!(catalog[member], source[member], "{member}");
    }
    assert_eq!(local(href(&catalog, "root")), "/");
    assert_eq!(local(href(&catalog, "parent")), "/");
    assert_eq!(local(href(&catalog, "children")), "/catalogs/optical/children");
    let titles: Vec<&str> = links(&catalog, "child")
        .iter()
        .map(|l| l["title"].as_str().unwrap())
        .collect();
    let source_titles: Vec<&str> = links(&source, "child")
        .iter()
        .map(|l| l["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, source_titles, "children in the source's order, titled");
}

#[tokio::test]
async fn children_lists_the_documents_the_child_links_name() {
    let api = Api::sample().await;
    let landing = api.get("/").await.json();
    assert_eq!(local(href(&landing, "children")), "/children");
    for (path, document) in [
        ("/children", landing),
        ("/catalogs/optical/children", api.get("/catalogs/optical").await.json()),
    ] {
        let reply = api.get(path).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.content_type(), "application/json");
        let children = reply.json();
        assert_eq!(local(href(&children, "self")), path);
        let listed: Vec<String> = children["children"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| local(href(c, "self")))
            .collect();
        let linked: Vec<String> = link_hrefs(&document, "child").iter().map(|h| local(h)).collect();
        assert_eq!(listed, linked, "{path}");
        for child in children["children"].as_array().unwrap() {
            let whole = api.get(&local(href(child, "self"))).await.json();
            assert_eq!(child, &whole, "a listed child is the document its URL serves");
        }
    }
}

#[tokio::test]
async fn unknown_catalogs_are_404s() {
    let api = Api::sample().await;
    for path in ["/catalogs/nope", "/catalogs/nope/children", "/catalogs/sentinel-1-grd"] {
        api.get(path).await.assert_error(StatusCode::NOT_FOUND, "NotFound");
    }
}

/// A catalog with one collection linking `n` items.
fn catalog_with_items(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir.join("big/items")).unwrap();
    let write = |path: PathBuf, value: Value| std::fs::write(path, value.to_string()).unwrap();
    write(
        dir.join("catalog.json"),
        json!({"type": "Catalog", "stac_version": "1.1.0", "id": "root", "description": "r",
               "links": [{"rel": "child", "href": "./big/collection.json"}]}),
    );
    let item_links: Vec<Value> = (0..n)
        .map(|i| json!({"rel": "item", "href": format!("./items/i{i}.json"), "type": "application/geo+json"}))
        .collect();
    let mut links = vec![json!({"rel": "license", "href": "./LICENSE"})];
    links.extend(item_links);
    write(
        dir.join("big/collection.json"),
        json!({"type": "Collection", "stac_version": "1.1.0", "id": "big", "description": "b", "license": "CC0-1.0",
               "extent": {"spatial": {"bbox": [[0, 0, 1, 1]]}, "temporal": {"interval": [[null, null]]}},
               "links": links}),
    );
    for i in 0..n {
        write(
            dir.join(format!("big/items/i{i}.json")),
            json!({"type": "Feature", "stac_version": "1.1.0", "id": format!("i{i}"), "collection": "big",
                   "geometry": {"type": "Point", "coordinates": [0.5, 0.5]}, "bbox": [0.5, 0.5, 0.5, 0.5],
                   "properties": {"datetime": "2024-01-01T00:00:00Z"}, "links": [], "assets": {}}),
        );
    }
}

#[tokio::test]
async fn a_collection_with_more_item_links_than_the_index_keeps_links_its_source() {
    let n = stac_indexed_format::MAX_INDEXED_ITEM_LINKS as usize + 1;
    let catalog = tempfile::tempdir().unwrap();
    catalog_with_items(catalog.path(), n);
    let api = Api::new(catalog.path(), Default::default(), ApiConfig::default()).await;
    let collection = api.get("/collections/big").await.json();
    assert!(links(&collection, "item").is_empty(), "no item links past the limit");
    let source = catalog.path().canonicalize().unwrap().join("big");
    let via = link(&collection, "via").expect("a via link to the source");
    assert_eq!(
        via["href"],
        Uri::from_path(&source.join("collection.json")).unwrap().to_string()
    );
    assert!(via["title"].as_str().unwrap().contains(&n.to_string()), "{via}");
    assert_eq!(
        link_hrefs(&collection, "license"),
        vec![Uri::from_path(&source.join("LICENSE")).unwrap().to_string()]
    );
    let listed = api.get("/children").await.json();
    assert_eq!(listed["children"][0], collection);
    let classes = api.get("/conformance").await.json()["conformsTo"].clone();
    let classes = classes.as_array().unwrap();
    assert!(
        !classes.contains(&json!("https://api.stacspec.org/v1.0.0/browseable")),
        "not every item is reachable by API links"
    );
    assert!(classes.contains(&json!("https://api.stacspec.org/v1.0.0/children")));
}

#[tokio::test]
async fn a_collection_within_the_limit_links_its_items_in_the_api() {
    let catalog = tempfile::tempdir().unwrap();
    catalog_with_items(catalog.path(), 3);
    let api = Api::new(catalog.path(), Default::default(), ApiConfig::default()).await;
    let collection = api.get("/collections/big").await.json();
    let items: BTreeSet<String> = link_hrefs(&collection, "item").iter().map(|h| local(h)).collect();
    let expected: BTreeSet<String> = (0..3).map(|i| format!("/collections/big/items/i{i}")).collect();
    assert_eq!(items, expected);
}

#[tokio::test]
async fn a_version_1_index_is_served_as_a_flat_tree_without_browseable() {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    index_catalog(&sample_data().join("catalog.json"), sample_config(), out.path()).await;
    edit_json_atomically(&out.path().join("manifest.json"), |manifest| {
        manifest["format_version"] = json!(1);
        let files = manifest["files"].as_object_mut().unwrap();
        files.remove("tree");
        files.remove("links");
    });
    let config = ApiConfig {
        reload_interval: None,
        cache_dir: cache.path().to_path_buf(),
        ..ApiConfig::default()
    };
    let handle = IndexHandle::open(Uri::from_path(out.path()).unwrap(), io(), config.clone())
        .await
        .unwrap();
    let api = Api {
        app: stac_indexed_api::app(handle, io(), config, &HttpOptions::default()),
        index_id: String::new(),
        manifest: Value::Null,
        _dirs: vec![out, cache],
    };
    let landing = api.get("/").await.json();
    let children: BTreeSet<String> = link_hrefs(&landing, "child").iter().map(|h| local(h)).collect();
    let expected: BTreeSet<String> = ["landsat-c2-l2", "sentinel-1-grd", "sentinel-2-l2a"]
        .iter()
        .map(|id| format!("/collections/{id}"))
        .collect();
    assert_eq!(children, expected, "the collections are the root's children");
    let classes = landing["conformsTo"].as_array().unwrap();
    assert!(!classes.contains(&json!("https://api.stacspec.org/v1.0.0/browseable")));
    let listed = api.get("/children").await.json();
    assert_eq!(listed["children"].as_array().unwrap().len(), 3);
    let collection = api.get("/collections/sentinel-2-l2a").await.json();
    assert!(links(&collection, "item").is_empty());
    assert_eq!(local(href(&collection, "parent")), "/");
}
