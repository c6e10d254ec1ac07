//! Reading STAC documents in assertions: a page's ids, a document's
//! links, URLs with queries.

use serde_json::Value;
use std::collections::BTreeSet;

/// `path?k=v&…`, form-encoded.
pub fn with_query(path: &str, params: &[(&str, &str)]) -> String {
    if params.is_empty() {
        return path.to_string();
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("{path}?{query}")
}

/// The path and query of an absolute link href (to send it to the router).
pub fn local(href: &str) -> String {
    let url = url::Url::parse(href).unwrap();
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    }
}

/// The ids of a FeatureCollection page's features, in order.
pub fn ids(page: &Value) -> Vec<String> {
    page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

/// The ids of a page's features as a set; a page that lists one twice fails.
pub fn id_set(page: &Value) -> BTreeSet<String> {
    let ids = ids(page);
    let set: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(set.len(), ids.len(), "a page lists an item twice: {ids:?}");
    set
}

/// The page holds exactly `expected` (all on one page) and says so in its counts.
pub fn assert_matches(page: &Value, expected: &BTreeSet<String>, what: &str) {
    assert_eq!(&id_set(page), expected, "{what}");
    assert_eq!(page["numberMatched"], expected.len(), "{what}");
    assert_eq!(page["numberReturned"], expected.len(), "{what}");
}

/// A document's first link with this rel.
pub fn link<'a>(document: &'a Value, rel: &str) -> Option<&'a Value> {
    document["links"].as_array().unwrap().iter().find(|l| l["rel"] == rel)
}

/// A document's links with this rel.
pub fn links<'a>(document: &'a Value, rel: &str) -> Vec<&'a Value> {
    document["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["rel"] == rel)
        .collect()
}

/// The href of a document's link with this rel, which must be there.
pub fn href<'a>(document: &'a Value, rel: &str) -> &'a str {
    link(document, rel).unwrap_or_else(|| panic!("no {rel} link in {}", document["links"]))["href"]
        .as_str()
        .unwrap()
}

/// The decoded query pairs of a URL.
pub fn query_of(href: &str) -> Vec<(String, String)> {
    url::Url::parse(href).unwrap().query_pairs().into_owned().collect()
}

/// The href of a document's link with this rel, if it has one.
pub fn link_href(document: &Value, rel: &str) -> Option<String> {
    link(document, rel).and_then(|l| l["href"].as_str()).map(str::to_string)
}
