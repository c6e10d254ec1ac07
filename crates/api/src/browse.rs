//! Browsing: the static catalog's own tree, served through the API (the
//! browseable and children conformance classes).
//!
//! Every catalog of the tree below the root is served at
//! `/catalogs/{key}`, every collection at `/collections/{id}`, the root is
//! the landing page. A node's document links its parent, its children
//! (`child`, titled, in the source's order) and the items it links
//! (`item`, at their API URLs), so that a client walking `child` and `item`
//! links from the landing page reaches every item as in the static
//! catalog. A node that links more items than the index keeps
//! ([`stac_indexed_format::MAX_INDEXED_ITEM_LINKS`]) is served with its
//! source document's item links instead: read from the source on each
//! request, pointing at the static item files.

use crate::index::IndexVersion;
use crate::links::{GEOJSON, JSON, kept_links, link, titled};
use crate::urls::BaseUrl;
use crate::{AppState, Result};
use serde::Deserialize;
use serde_json::{Value, json};
use stac_indexed_engine::tree::{Node, NodeKind};
use stac_indexed_io::Uri;

/// The API URL of the node at `position`: the landing page for the root.
pub(crate) fn node_href(index: &IndexVersion, base: &BaseUrl, position: usize) -> String {
    let node = index.tree.node(position);
    match (position, node.kind) {
        (_, NodeKind::Collection) => base.href(&["collections", &node.key]),
        (0, NodeKind::Catalog) => base.root(),
        (_, NodeKind::Catalog) => base.href(&["catalogs", &node.key]),
    }
}

/// The API URL of a node's parent (the landing page for the root's
/// children, and for the root itself).
pub(crate) fn parent_href(index: &IndexVersion, base: &BaseUrl, position: usize) -> String {
    match index.tree.node(position).parent {
        Some(parent) => node_href(index, base, parent),
        None => base.root(),
    }
}

/// The parent link's href of a collection.
pub(crate) fn collection_parent(index: &IndexVersion, base: &BaseUrl, id: &str) -> String {
    match index.tree.collection(id) {
        Some(position) => parent_href(index, base, position),
        None => base.root(),
    }
}

/// The landing page's children: the root's, or the root itself when it is
/// a collection.
pub(crate) fn landing_children(index: &IndexVersion) -> Vec<usize> {
    let root = index.tree.root();
    match root.kind {
        NodeKind::Collection => vec![0],
        NodeKind::Catalog => root.children.clone(),
    }
}

/// A node's `child` links (titled), then its `item` links.
pub(crate) async fn tree_links(
    state: &AppState,
    index: &IndexVersion,
    base: &BaseUrl,
    position: usize,
) -> Result<Vec<Value>> {
    let node = index.tree.node(position);
    let mut links = child_links(index, base, &node.children);
    links.extend(item_links(state, index, base, position).await?);
    Ok(links)
}

/// `child` links to the nodes at `positions`, titled when they have a title.
pub(crate) fn child_links(index: &IndexVersion, base: &BaseUrl, positions: &[usize]) -> Vec<Value> {
    positions
        .iter()
        .map(|child| {
            let node = index.tree.node(*child);
            let href = node_href(index, base, *child);
            match &node.title {
                Some(title) => titled(link("child", href, JSON), title),
                None => link("child", href, JSON),
            }
        })
        .collect()
}

/// The `item` links of a node: API URLs from the index, or the source
/// document's own when the node links too many for the index.
async fn item_links(state: &AppState, index: &IndexVersion, base: &BaseUrl, position: usize) -> Result<Vec<Value>> {
    let node = index.tree.node(position);
    if node.items_in_index {
        let items = index.tree.item_links(position).await?;
        return Ok(items
            .iter()
            .map(|(collection, id)| link("item", base.href(&["collections", collection, "items", id]), GEOJSON))
            .collect());
    }
    source_item_links(state, node).await
}

/// A document's links, read without the rest of it.
#[derive(Deserialize)]
struct LinksOnly {
    #[serde(default)]
    links: Vec<SourceLink>,
}

#[derive(Deserialize)]
struct SourceLink {
    rel: Option<String>,
    href: Option<String>,
    #[serde(rename = "type")]
    media_type: Option<String>,
}

/// The `item` links of a node's source document, hrefs made absolute.
async fn source_item_links(state: &AppState, node: &Node) -> Result<Vec<Value>> {
    let bytes = state.fetcher.fetch_document(&node.href).await?;
    let source = Uri::parse(&node.href)?;
    let document: LinksOnly = serde_json::from_slice(&bytes)
        .map_err(|e| crate::Error::SourceUnavailable(format!("{} is not a STAC document: {e}", node.href)))?;
    Ok(document
        .links
        .into_iter()
        .filter(|l| l.rel.as_deref() == Some("item"))
        .filter_map(|l| {
            let href = source.join(l.href.as_deref()?).ok()?.to_string();
            Some(link("item", href, l.media_type.as_deref().unwrap_or(GEOJSON)))
        })
        .collect())
}

/// A catalog below the root, as served without its children and items:
/// its source document's members and links (hrefs absolute), `self`,
/// `root` and `parent` into the API.
pub(crate) fn catalog_document(index: &IndexVersion, base: &BaseUrl, position: usize) -> Value {
    let node = index.tree.node(position);
    let mut document = node.json.clone().unwrap_or_else(|| {
        json!({
            "type": "Catalog",
            "stac_version": "1.1.0",
            "id": node.id,
            "description": node.description.clone().unwrap_or_default(),
        })
    });
    let source = Uri::parse(&node.href).ok();
    let mut links = kept_links(&document["links"], source.as_ref());
    let title = node.title.as_deref().unwrap_or(&node.key);
    links.extend([
        titled(link("self", node_href(index, base, position), JSON), title),
        titled(link("root", base.root(), JSON), "Landing page"),
        link("parent", parent_href(index, base, position), JSON),
    ]);
    document["links"] = Value::Array(links);
    document
}

/// A `{"children": [...], "links": [...]}` document (the children extension)
/// for the nodes at `positions`, each child as the collections list and
/// the children of a catalog show it (without its own child and item links).
pub(crate) fn children_document(
    index: &IndexVersion,
    base: &BaseUrl,
    positions: &[usize],
    self_href: String,
    parent: String,
) -> Value {
    let children: Vec<Value> = positions
        .iter()
        .filter_map(|position| child_document(index, base, *position))
        .collect();
    json!({
        "children": children,
        "links": [
            link("self", self_href, JSON),
            titled(link("root", base.root(), JSON), "Landing page"),
            link("parent", parent, JSON),
        ],
    })
}

fn child_document(index: &IndexVersion, base: &BaseUrl, position: usize) -> Option<Value> {
    let node = index.tree.node(position);
    match node.kind {
        NodeKind::Catalog => Some(catalog_document(index, base, position)),
        NodeKind::Collection => {
            let collection = index.collection(&node.key)?;
            let parent = parent_href(index, base, position);
            Some(crate::links::rewrite_collection(
                &collection.json,
                &collection.href,
                base,
                &collection.id,
                parent,
            ))
        }
    }
}
