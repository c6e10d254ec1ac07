//! Rewriting the links of items and collections to API URLs.
//!
//! `self`, `root`, `parent` and `collection` point into the API; other links
//! and asset hrefs are made absolute against the document's source URI, so a
//! client never receives a relative href it cannot resolve.

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

/// Relations the API replaces with its own.
const API_RELATIONS: [&str; 6] = ["self", "root", "parent", "collection", "item", "items"];

/// An item as served: API links, absolute hrefs elsewhere.
pub fn rewrite_item(mut item: Value, source: Option<&Uri>, base: &BaseUrl, collection: &str, id: &str) -> Value {
    let mut links = kept_links(&item, source);
    links.extend([
        link("self", base.href(&["collections", collection, "items", id]), GEOJSON),
        link("parent", base.href(&["collections", collection]), JSON),
        link("collection", base.href(&["collections", collection]), JSON),
        link("root", base.root(), JSON),
    ]);
    item["links"] = Value::Array(links);
    absolutize_assets(&mut item, source);
    item
}

/// A collection as served: API links, absolute hrefs elsewhere.
pub fn rewrite_collection(collection: &Value, source: &Uri, base: &BaseUrl, id: &str) -> Value {
    let mut collection = collection.clone();
    let mut links = kept_links(&collection, Some(source));
    let title = collection
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or(id)
        .to_string();
    links.extend([
        titled(link("self", base.href(&["collections", id]), JSON), &title),
        titled(link("root", base.root(), JSON), "Landing page"),
        titled(link("parent", base.root(), JSON), "Landing page"),
        titled(
            link("items", base.href(&["collections", id, "items"]), GEOJSON),
            &format!("Items of {title}"),
        ),
    ]);
    collection["links"] = Value::Array(links);
    absolutize_assets(&mut collection, Some(source));
    collection
}

/// A link with a title (STAC best practice for catalogs and collections).
fn titled(mut link: Value, title: &str) -> Value {
    link["title"] = Value::String(title.to_string());
    link
}

fn kept_links(document: &Value, source: Option<&Uri>) -> Vec<Value> {
    let links = document
        .get("links")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
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

fn absolutize_assets(document: &mut Value, source: Option<&Uri>) {
    if let Some(assets) = document.get_mut("assets").and_then(Value::as_object_mut) {
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
        let served = rewrite_item(item, Some(&source), &base, "c 1", "a b");
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
    }
}
