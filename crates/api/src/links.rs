//! Rewriting the links of items and collections to API URLs.
//!
//! `self`, `root`, `parent` and `collection` point into the API; other links
//! and asset hrefs are made absolute against the document's source URI, so a
//! client never receives a relative href it cannot resolve.

use crate::fetch::RawItem;
use crate::urls::BaseUrl;
use serde_json::{Value, json};
use stac_indexed_io::Uri;

/// Media types of the links the API makes.
pub const JSON: &str = "application/json";
/// GeoJSON.
pub const GEOJSON: &str = "application/geo+json";

/// A link object.
pub fn link(rel: &str, href: impl Into<String>, media_type: &str) -> Value {
    json!({"rel": rel, "href": href.into(), "type": media_type})
}

/// The media type of a queryables or sortables document.
pub const SCHEMA_JSON: &str = "application/schema+json";
/// The link relation of a queryables document (OGC API Features part 3).
pub const QUERYABLES_REL: &str = "http://www.opengis.net/def/rel/ogc/1.0/queryables";
/// The link relation of a sortables document (OGC API Features part 8, draft).
pub const SORTABLES_REL: &str = "http://www.opengis.net/def/rel/ogc/1.0/sortables";

/// Relations the API makes itself: a source document's own are dropped.
const API_RELATIONS: [&str; 12] = [
    "self",
    "root",
    "parent",
    "collection",
    "child",
    "item",
    "items",
    "children",
    QUERYABLES_REL,
    SORTABLES_REL,
    "aggregate",
    "aggregations",
];

/// An item as served: API links, absolute hrefs elsewhere. Only `links` and
/// `assets` are parsed and written again; every other member passes through.
/// An item whose document has no `collection` (one linked from a collection
/// that did not name it) gets the collection the index gave it, as the links
/// already say.
pub fn rewrite_item(mut item: RawItem, source: Option<&Uri>, base: &BaseUrl, collection: &str, id: &str) -> RawItem {
    fill_collection(&mut item, collection);
    let mut links = kept_links(&member(&item, "links"), source);
    links.extend([
        link("self", base.href(&["collections", collection, "items", id]), GEOJSON),
        link("parent", base.href(&["collections", collection]), JSON),
        link("collection", base.href(&["collections", collection]), JSON),
        link("root", base.root(), JSON),
    ]);
    insert_raw(&mut item, "links", &Value::Array(links));
    absolutize_item_assets(&mut item, source);
    item
}

/// An item as its source has it, for use away from the API (an export
/// from the command line): every link kept, its hrefs and those of its
/// assets made absolute, and its collection filled in as [`rewrite_item`] does.
pub fn source_item(mut item: RawItem, source: Option<&Uri>, collection: &str) -> RawItem {
    fill_collection(&mut item, collection);
    if item.contains_key("links") {
        let mut links = member(&item, "links");
        if let Some(links) = links.as_array_mut() {
            links.iter_mut().for_each(|link| absolutize(link, source));
        }
        insert_raw(&mut item, "links", &links);
    }
    absolutize_item_assets(&mut item, source);
    item
}

fn fill_collection(item: &mut RawItem, collection: &str) {
    if item.get("collection").is_none_or(|raw| raw.get() == "null") {
        insert_raw(item, "collection", &Value::from(collection));
    }
}

fn member(item: &RawItem, key: &str) -> Value {
    item.get(key)
        .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
        .unwrap_or(Value::Null)
}

fn absolutize_item_assets(item: &mut RawItem, source: Option<&Uri>) {
    if item.contains_key("assets") {
        let mut assets = member(item, "assets");
        absolutize_assets(&mut assets, source);
        insert_raw(item, "assets", &assets);
    }
}

fn insert_raw(item: &mut RawItem, key: &str, value: &Value) {
    if let Ok(raw) = serde_json::value::to_raw_value(value) {
        item.insert(key.to_string(), raw);
    }
}

/// A collection as served: API links (`parent`, its place in the catalog
/// tree, given), absolute hrefs elsewhere.
pub fn rewrite_collection(collection: &Value, source: &Uri, base: &BaseUrl, id: &str, parent: Value) -> Value {
    let mut collection = collection.clone();
    let mut links = kept_links(&collection["links"], Some(source));
    let title = collection
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or(id)
        .to_string();
    links.extend([
        titled(link("self", base.href(&["collections", id]), JSON), &title),
        titled(link("root", base.root(), JSON), "Landing page"),
        parent,
        titled(
            link("items", base.href(&["collections", id, "items"]), GEOJSON),
            &format!("Items of {title}"),
        ),
        titled(
            link(
                QUERYABLES_REL,
                base.href(&["collections", id, "queryables"]),
                SCHEMA_JSON,
            ),
            &format!("Queryables of {title}"),
        ),
        titled(
            link(SORTABLES_REL, base.href(&["collections", id, "sortables"]), SCHEMA_JSON),
            &format!("Sortables of {title}"),
        ),
        titled(
            link("aggregate", base.href(&["collections", id, "aggregate"]), JSON),
            &format!("Aggregate the items of {title}"),
        ),
        titled(
            link("aggregations", base.href(&["collections", id, "aggregations"]), JSON),
            &format!("Aggregations of {title}"),
        ),
    ]);
    collection["links"] = Value::Array(links);
    if let Some(assets) = collection.get_mut("assets") {
        absolutize_assets(assets, Some(source));
    }
    collection
}

/// A link with a title (STAC best practice for catalogs and collections).
pub(crate) fn titled(mut link: Value, title: &str) -> Value {
    link["title"] = Value::String(title.to_string());
    link
}

/// A source document's links but those the API makes itself, hrefs made absolute.
pub(crate) fn kept_links(links: &Value, source: Option<&Uri>) -> Vec<Value> {
    let links = links.as_array().cloned().unwrap_or_default();
    links
        .into_iter()
        .filter(|l| {
            l.get("rel")
                .and_then(Value::as_str)
                .is_some_and(|rel| !API_RELATIONS.contains(&rel))
        })
        .map(|mut l| {
            absolutize(&mut l, source);
            l
        })
        .collect()
}

fn absolutize_assets(assets: &mut Value, source: Option<&Uri>) {
    if let Some(assets) = assets.as_object_mut() {
        assets.values_mut().for_each(|asset| absolutize(asset, source));
    }
}

fn absolutize(object: &mut Value, source: Option<&Uri>) {
    let (Some(source), Some(href)) = (source, object.get("href").and_then(Value::as_str)) else {
        return;
    };
    if let Ok(absolute) = source.join(href) {
        object["href"] = Value::String(absolute.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_links_point_into_the_api_and_hrefs_become_absolute() {
        let item = json!({
            "id": "a b", "links": [
                {"rel": "self", "href": "./x.json"}, {"rel": "parent", "href": "../collection.json"},
                {"rel": "license", "href": "../LICENSE"}, {"rel": "alternate", "href": "https://e.com/x"}
            ],
            "assets": {"data": {"href": "./data.tif"}, "remote": {"href": "s3://b/k.tif"}}
        });
        let source = Uri::parse("https://h/cat/c/items/x.json").unwrap();
        let base = BaseUrl::from_headers(&Default::default(), "stage");
        let item: RawItem = serde_json::from_str(&item.to_string()).unwrap();
        let served = serde_json::to_value(rewrite_item(item, Some(&source), &base, "c 1", "a b")).unwrap();
        let hrefs: Vec<(&str, &str)> = served["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["rel"].as_str().unwrap(), l["href"].as_str().unwrap()))
            .collect();
        assert_eq!(
            hrefs,
            vec![
                ("license", "https://h/cat/c/LICENSE"),
                ("alternate", "https://e.com/x"),
                ("self", "http://localhost/stage/collections/c%201/items/a%20b"),
                ("parent", "http://localhost/stage/collections/c%201"),
                ("collection", "http://localhost/stage/collections/c%201"),
                ("root", "http://localhost/stage/"),
            ]
        );
        assert_eq!(served["assets"]["data"]["href"], "https://h/cat/c/items/data.tif");
        assert_eq!(served["assets"]["remote"]["href"], "s3://b/k.tif");
        assert_eq!(
            served["collection"], "c 1",
            "the index's collection fills a missing member"
        );
    }

    #[test]
    fn an_items_own_collection_member_is_kept() {
        let base = BaseUrl::from_headers(&Default::default(), "");
        let item: RawItem = serde_json::from_str(r#"{"id": "a", "collection": "own"}"#).unwrap();
        let served = serde_json::to_value(rewrite_item(item, None, &base, "indexed", "a")).unwrap();
        assert_eq!(served["collection"], "own");
    }

    #[test]
    fn collection_links_keep_their_own_and_gain_the_api_ones() {
        let collection = json!({
            "id": "c", "title": "C",
            "links": [{"rel": "license", "href": "./LICENSE"}, {"rel": "self", "href": "./collection.json"}],
            "assets": {"thumb": {"href": "thumb.png"}}
        });
        let source = Uri::parse("https://h/cat/c/collection.json").unwrap();
        let base = BaseUrl::from_headers(&Default::default(), "");
        let served = rewrite_collection(&collection, &source, &base, "c", link("parent", base.root(), JSON));
        let rels: Vec<(&str, &str)> = served["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["rel"].as_str().unwrap(), l["href"].as_str().unwrap()))
            .collect();
        assert_eq!(
            rels,
            vec![
                ("license", "https://h/cat/c/LICENSE"),
                ("self", "http://localhost/collections/c"),
                ("root", "http://localhost/"),
                ("parent", "http://localhost/"),
                ("items", "http://localhost/collections/c/items"),
                (QUERYABLES_REL, "http://localhost/collections/c/queryables"),
                (SORTABLES_REL, "http://localhost/collections/c/sortables"),
                ("aggregate", "http://localhost/collections/c/aggregate"),
                ("aggregations", "http://localhost/collections/c/aggregations"),
            ]
        );
        assert_eq!(served["links"][1]["title"], "C");
        assert_eq!(served["assets"]["thumb"]["href"], "https://h/cat/c/thumb.png");
    }
}
