//! What a fetched JSON document is, and where its links lead.

use serde_json::Value;
use stac_indexed_io::Uri;

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

/// Tells a document's kind from its `type` (and, for old catalogs, its shape).
pub(crate) fn kind_of(document: &Value) -> Option<DocumentKind> {
    match document.get("type").and_then(Value::as_str) {
        Some("Catalog") => Some(DocumentKind::Catalog),
        Some("Collection") => Some(DocumentKind::Collection),
        Some("Feature") => Some(DocumentKind::Item),
        Some("FeatureCollection") => Some(DocumentKind::ItemCollection),
        // STAC before 1.0 had no "type" on catalogs and collections.
        None if document.get("extent").is_some() && document.get("id").is_some() => {
            Some(DocumentKind::Collection)
        }
        None if document.get("links").is_some() && document.get("id").is_some() => {
            Some(DocumentKind::Catalog)
        }
        _ => None,
    }
}

/// A link found in a document, resolved against it.
#[derive(Clone, Debug)]
pub(crate) struct Link {
    /// The relation.
    pub rel: String,
    /// The resolved target.
    pub target: Uri,
    /// The HTTP method, for `next` links that declare one.
    pub method: Option<String>,
}

/// The links of a document with hrefs resolved against its URI; followed links
/// that do not resolve are returned as (href, reason).
pub(crate) fn links(document: &Value, base: &Uri) -> (Vec<Link>, Vec<(String, String)>) {
    let mut resolved = Vec::new();
    let mut unresolved = Vec::new();
    let Some(entries) = document.get("links").and_then(Value::as_array) else {
        return (resolved, unresolved);
    };
    for link in entries {
        let (Some(rel), Some(href)) = (
            link.get("rel").and_then(Value::as_str),
            link.get("href").and_then(Value::as_str),
        ) else {
            continue;
        };
        if !matches!(rel, "child" | "item" | "items" | "next" | "self") {
            continue;
        }
        match base.join(href) {
            Ok(target) => resolved.push(Link {
                rel: rel.to_string(),
                target,
                method: link
                    .get("method")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            }),
            Err(_) if rel == "self" => {}
            Err(e) => unresolved.push((href.to_string(), e.to_string())),
        }
    }
    (resolved, unresolved)
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

/// A collection document as stored in the index: its `item`, `child` and
/// `items` links removed (the API makes its own; a static collection can list
/// thousands of items).
pub(crate) fn stored_collection(mut collection: Value) -> Value {
    if let Some(links) = collection.get_mut("links").and_then(Value::as_array_mut) {
        links.retain(|link| {
            !matches!(
                link.get("rel").and_then(Value::as_str),
                Some("item" | "child" | "items")
            )
        });
    }
    collection
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_come_from_type_or_shape() {
        assert_eq!(
            kind_of(&json!({"type": "Catalog"})),
            Some(DocumentKind::Catalog)
        );
        assert_eq!(
            kind_of(&json!({"type": "Collection"})),
            Some(DocumentKind::Collection)
        );
        assert_eq!(
            kind_of(&json!({"type": "Feature"})),
            Some(DocumentKind::Item)
        );
        assert_eq!(
            kind_of(&json!({"type": "FeatureCollection"})),
            Some(DocumentKind::ItemCollection)
        );
        assert_eq!(
            kind_of(&json!({"id": "x", "extent": {}, "links": []})),
            Some(DocumentKind::Collection)
        );
        assert_eq!(
            kind_of(&json!({"id": "x", "links": []})),
            Some(DocumentKind::Catalog)
        );
        assert_eq!(kind_of(&json!({"type": "Point"})), None);
        assert_eq!(kind_of(&json!([1, 2])), None);
    }

    #[test]
    fn links_resolve_against_the_document() {
        let base = Uri::parse("https://h/cat/collection.json").unwrap();
        let document = json!({"links": [
            {"rel": "item", "href": "./items/a.json"},
            {"rel": "child", "href": "../other/catalog.json"},
            {"rel": "license", "href": "https://license"},
            {"rel": "next", "href": "items?page=2", "method": "GET"},
            {"rel": "item", "href": "ftp://nope/x.json"},
            {"rel": "item"}
        ]});
        let (resolved, unresolved) = links(&document, &base);
        let targets: Vec<_> = resolved
            .iter()
            .map(|l| (l.rel.as_str(), l.target.as_str()))
            .collect();
        assert_eq!(
            targets,
            vec![
                ("item", "https://h/cat/items/a.json"),
                ("child", "https://h/other/catalog.json"),
                ("next", "https://h/cat/items?page=2"),
            ]
        );
        assert_eq!(resolved[2].method.as_deref(), Some("GET"));
        assert_eq!(unresolved.len(), 1);
    }

    #[test]
    fn directories_and_prefixes_are_listable() {
        assert!(is_listable(&Uri::parse("/data/items/").unwrap()));
        assert!(is_listable(&Uri::parse("s3://b/items").unwrap()));
        assert!(!is_listable(&Uri::parse("s3://b/items.json").unwrap()));
        assert!(!is_listable(
            &Uri::parse("https://h/collections/x/items").unwrap()
        ));
        assert!(!is_listable(&Uri::parse("/data/items.geojson").unwrap()));
    }

    #[test]
    fn stored_collections_drop_structural_links() {
        let stored = stored_collection(json!({"links": [
            {"rel": "item", "href": "a.json"}, {"rel": "license", "href": "l"}, {"rel": "child", "href": "c.json"}
        ]}));
        assert_eq!(stored["links"], json!([{"rel": "license", "href": "l"}]));
    }
}
