//! What a fetched JSON document is, and where its links lead.
//!
//! Documents are parsed so that the links the crawler follows (`child`,
//! `item`, `items`, `next`) are taken out while deserializing, as plain
//! strings: a static collection may list a hundred thousand items, and a
//! `serde_json::Value` per link would cost several times the document's size.

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use stac_indexed_io::Uri;
use std::fmt;

/// The relations the crawler follows.
const FOLLOWED: [&str; 4] = ["child", "item", "items", "next"];

/// A parsed document: its JSON without the followed links, and those links apart.
#[derive(Debug)]
pub(crate) struct Document {
    /// The document; `Value::Null` when the top level is not a JSON object.
    pub json: Value,
    /// The `child`, `item`, `items` and `next` links, in document order.
    pub links: Vec<RawLink>,
}

/// A followed link as written in the document (href not yet resolved).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RawLink {
    pub rel: String,
    pub href: String,
    pub method: Option<String>,
}

/// The kinds of STAC document the crawler understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DocumentKind {
    /// A STAC Catalog.
    Catalog,
    /// A STAC Collection.
    Collection,
    /// A STAC Item (a GeoJSON Feature).
    Item,
    /// An ItemCollection or a page of an items endpoint (a FeatureCollection).
    ItemCollection,
}

/// Parses a document, separating its followed links.
pub(crate) fn parse(bytes: &[u8]) -> serde_json::Result<Document> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let document = DocumentSeed.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(document)
}

/// Tells a document's kind from its `type` (and, for old catalogs, its shape).
pub(crate) fn kind_of(document: &Document) -> Option<DocumentKind> {
    let json = &document.json;
    match json.get("type").and_then(Value::as_str) {
        Some("Catalog") => Some(DocumentKind::Catalog),
        Some("Collection") => Some(DocumentKind::Collection),
        Some("Feature") => Some(DocumentKind::Item),
        Some("FeatureCollection") => Some(DocumentKind::ItemCollection),
        // STAC before 1.0 had no "type" on catalogs and collections, but a
        // "stac_version"; without both it is some other JSON document.
        None if json.get("stac_version").is_none() => None,
        None if json.get("extent").is_some() && json.get("id").is_some() => Some(DocumentKind::Collection),
        None if json.get("id").is_some() && (json.get("links").is_some() || !document.links.is_empty()) => {
            Some(DocumentKind::Catalog)
        }
        _ => None,
    }
}

/// The absolute `self` link of a feature, resolved against the page that holds it.
pub(crate) fn self_href(feature: &Value, page: &Uri) -> Option<Uri> {
    feature
        .get("links")?
        .as_array()?
        .iter()
        .filter(|link| link.get("rel").and_then(Value::as_str) == Some("self"))
        .find_map(|link| page.join(link.get("href")?.as_str()?).ok())
}

/// Whether an `items` link should be listed (a directory or S3 prefix) rather
/// than fetched as an ItemCollection or items endpoint.
pub(crate) fn is_listable(target: &Uri) -> bool {
    let path = target.as_url().path();
    let is_document = path.ends_with(".json") || path.ends_with(".geojson");
    target.to_file_path().is_some() && !is_document
        || target.s3_bucket_and_key().is_some() && !is_document && target.as_url().query().is_none()
}

/// Whether a listed object looks like a JSON document.
pub(crate) fn is_json_name(uri: &Uri) -> bool {
    uri.file_name()
        .is_some_and(|name| name.ends_with(".json") || name.ends_with(".geojson"))
}

/// Deserializes a whole document; anything but an object becomes `Null`.
struct DocumentSeed;

impl<'de> DeserializeSeed<'de> for DocumentSeed {
    type Value = Document;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Document, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed {
    type Value = Document;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
        let mut json = Map::new();
        let mut links = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = if key == "links" {
                Value::Array(map.next_value_seed(LinksSeed { followed: &mut links })?)
            } else {
                map.next_value()?
            };
            json.insert(key, value);
        }
        Ok(Document {
            json: Value::Object(json),
            links,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Document, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(not_an_object())
    }

    fn visit_bool<E>(self, _: bool) -> Result<Document, E> {
        Ok(not_an_object())
    }

    fn visit_i64<E>(self, _: i64) -> Result<Document, E> {
        Ok(not_an_object())
    }

    fn visit_u64<E>(self, _: u64) -> Result<Document, E> {
        Ok(not_an_object())
    }

    fn visit_f64<E>(self, _: f64) -> Result<Document, E> {
        Ok(not_an_object())
    }

    fn visit_str<E>(self, _: &str) -> Result<Document, E> {
        Ok(not_an_object())
    }

    fn visit_unit<E>(self) -> Result<Document, E> {
        Ok(not_an_object())
    }
}

fn not_an_object() -> Document {
    Document {
        json: Value::Null,
        links: Vec::new(),
    }
}

/// Deserializes a `links` array: followed links go to `followed`, the others are kept.
struct LinksSeed<'a> {
    followed: &'a mut Vec<RawLink>,
}

impl<'de> DeserializeSeed<'de> for LinksSeed<'_> {
    type Value = Vec<Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<Value>, D::Error> {
        let value = deserializer.deserialize_any(self)?;
        Ok(value)
    }
}

impl<'de> Visitor<'de> for LinksSeed<'_> {
    type Value = Vec<Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of links")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Value>, A::Error> {
        let mut kept = Vec::new();
        while let Some(link) = seq.next_element::<Value>()? {
            match followed_link(&link) {
                Some(raw) => self.followed.push(raw),
                None => kept.push(link),
            }
        }
        Ok(kept)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<Value>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Vec::new())
    }

    fn visit_bool<E>(self, _: bool) -> Result<Vec<Value>, E> {
        Ok(Vec::new())
    }

    fn visit_i64<E>(self, _: i64) -> Result<Vec<Value>, E> {
        Ok(Vec::new())
    }

    fn visit_u64<E>(self, _: u64) -> Result<Vec<Value>, E> {
        Ok(Vec::new())
    }

    fn visit_f64<E>(self, _: f64) -> Result<Vec<Value>, E> {
        Ok(Vec::new())
    }

    fn visit_str<E>(self, _: &str) -> Result<Vec<Value>, E> {
        Ok(Vec::new())
    }

    fn visit_unit<E>(self) -> Result<Vec<Value>, E> {
        Ok(Vec::new())
    }
}

fn followed_link(link: &Value) -> Option<RawLink> {
    let rel = link.get("rel")?.as_str()?;
    let href = link.get("href")?.as_str()?;
    FOLLOWED.contains(&rel).then(|| RawLink {
        rel: rel.to_string(),
        href: href.to_string(),
        method: link.get("method").and_then(Value::as_str).map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(value: Value) -> Document {
        parse(value.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn kinds_come_from_type_or_shape() {
        let kind = |value: Value| kind_of(&parsed(value));
        assert_eq!(kind(json!({"type": "Catalog"})), Some(DocumentKind::Catalog));
        assert_eq!(kind(json!({"type": "Collection"})), Some(DocumentKind::Collection));
        assert_eq!(kind(json!({"type": "Feature"})), Some(DocumentKind::Item));
        assert_eq!(
            kind(json!({"type": "FeatureCollection"})),
            Some(DocumentKind::ItemCollection)
        );
        assert_eq!(
            kind(json!({"stac_version": "0.8.0", "id": "x", "extent": {}, "links": []})),
            Some(DocumentKind::Collection)
        );
        assert_eq!(
            kind(json!({"stac_version": "0.8.0", "id": "x", "links": [{"rel": "child", "href": "c.json"}]})),
            Some(DocumentKind::Catalog)
        );
        assert_eq!(
            kind(json!({"id": "x", "links": [{"rel": "child", "href": "c.json"}]})),
            None,
            "untyped JSON without stac_version is not STAC"
        );
        assert_eq!(kind(json!({"type": "Point"})), None);
        assert_eq!(kind(json!([1, 2])), None);
        assert_eq!(kind(json!("text")), None);
    }

    #[test]
    fn followed_links_are_taken_out_and_the_rest_kept() {
        let document = parsed(json!({"id": "c", "links": [
            {"rel": "item", "href": "./items/a.json", "type": "application/geo+json"},
            {"rel": "license", "href": "https://license"},
            {"rel": "child", "href": "../other/catalog.json"},
            {"rel": "next", "href": "items?page=2", "method": "GET"},
            {"rel": "items", "href": "./items/"},
            {"rel": "item"},
            "garbage"
        ]}));
        let rels: Vec<(&str, &str)> = document
            .links
            .iter()
            .map(|l| (l.rel.as_str(), l.href.as_str()))
            .collect();
        assert_eq!(
            rels,
            vec![
                ("item", "./items/a.json"),
                ("child", "../other/catalog.json"),
                ("next", "items?page=2"),
                ("items", "./items/")
            ]
        );
        assert_eq!(document.links[2].method.as_deref(), Some("GET"));
        assert_eq!(
            document.json["links"],
            json!([{"rel": "license", "href": "https://license"}, {"rel": "item"}, "garbage"])
        );
    }

    #[test]
    fn odd_links_values_and_invalid_json() {
        assert!(parsed(json!({"id": "c", "links": "nope"})).links.is_empty());
        assert!(parsed(json!({"id": "c", "links": {"a": 1}})).links.is_empty());
        assert!(parse(b"{\"id\": ").is_err());
        assert!(parse(b"{} trailing").is_err());
    }

    #[test]
    fn self_links_of_features_resolve_against_the_page() {
        let page = Uri::parse("https://h/a/page.json?x=1").unwrap();
        let feature = json!({"links": [{"rel": "self", "href": "../items/f.json"}]});
        assert_eq!(self_href(&feature, &page).unwrap().as_str(), "https://h/items/f.json");
        assert!(self_href(&json!({"links": []}), &page).is_none());
    }

    #[test]
    fn directories_and_prefixes_are_listable() {
        assert!(is_listable(&Uri::parse("/data/items/").unwrap()));
        assert!(is_listable(&Uri::parse("s3://b/items").unwrap()));
        assert!(!is_listable(&Uri::parse("s3://b/items.json").unwrap()));
        assert!(!is_listable(&Uri::parse("https://h/collections/x/items").unwrap()));
        assert!(!is_listable(&Uri::parse("/data/items.geojson").unwrap()));
    }
}
