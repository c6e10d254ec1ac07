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
//! ([`stac_indexed_format::MAX_INDEXED_ITEM_LINKS`]) has no `item` links
//! but a `via` link to its source document, which has them; an index with
//! such a node is not advertised as browseable.

use crate::Result;
use crate::index::IndexVersion;
use crate::links::{GEOJSON, JSON, kept_links, link, titled};
use crate::urls::BaseUrl;
use serde_json::{Value, json};
use stac_indexed_engine::tree::NodeKind;
use stac_indexed_io::Uri;

/// The link relation of a children document (the children extension).
pub(crate) const CHILDREN_REL: &str = "children";

/// The title of the landing page in links to it.
const LANDING_PAGE: &str = "Landing page";

/// A link to the node at `position` (the landing page for a root catalog),
/// titled with its title, else its key.
pub(crate) fn node_link(rel: &str, index: &IndexVersion, base: &BaseUrl, position: usize) -> Value {
    let node = index.tree.node(position);
    let (href, title) = match (position, node.kind) {
        (_, NodeKind::Collection) => (base.href(&["collections", &node.key]), node.title.as_deref()),
        (0, NodeKind::Catalog) => (base.root(), Some(LANDING_PAGE)),
        (_, NodeKind::Catalog) => (base.href(&["catalogs", &node.key]), node.title.as_deref()),
    };
    titled(link(rel, href, JSON), title.unwrap_or(&node.key))
}

/// The `parent` link of a node: its parent's, or the landing page for
/// the root itself.
pub(crate) fn parent_link(index: &IndexVersion, base: &BaseUrl, position: usize) -> Value {
    match index.tree.node(position).parent {
        Some(parent) => node_link("parent", index, base, parent),
        None => landing_link("parent", base),
    }
}

/// A link to the landing page.
pub(crate) fn landing_link(rel: &str, base: &BaseUrl) -> Value {
    titled(link(rel, base.root(), JSON), LANDING_PAGE)
}

/// The `parent` link of a collection (the landing page when it is not in the tree).
pub(crate) fn collection_parent(index: &IndexVersion, base: &BaseUrl, id: &str) -> Value {
    match index.tree.collection(id) {
        Some(position) => parent_link(index, base, position),
        None => landing_link("parent", base),
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

/// A node's `child` links (titled), then its `item` links, or a `via`
/// link to its source when it links more items than the index keeps.
pub(crate) async fn tree_links(index: &IndexVersion, base: &BaseUrl, position: usize) -> Result<Vec<Value>> {
    let node = index.tree.node(position);
    let mut links = child_links(index, base, &node.children);
    if node.items_in_index {
        let items = index.tree.item_links(position).await?;
        links.extend(items.iter().map(|(collection, id)| {
            titled(
                link("item", base.href(&["collections", collection, "items", id]), GEOJSON),
                id,
            )
        }));
    } else {
        let title = format!("The source document, with its {} item links", node.item_count);
        links.push(titled(link("via", node.href.clone(), JSON), &title));
    }
    Ok(links)
}

/// `child` links to the nodes at `positions`, titled.
pub(crate) fn child_links(index: &IndexVersion, base: &BaseUrl, positions: &[usize]) -> Vec<Value> {
    positions
        .iter()
        .map(|child| node_link("child", index, base, *child))
        .collect()
}

/// A catalog below the root, as served without its children and items:
/// its source document's members and links (hrefs absolute), `self`,
/// `root` and `parent` into the API.
fn catalog_document(index: &IndexVersion, base: &BaseUrl, position: usize) -> Value {
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
    links.extend([
        node_link("self", index, base, position),
        landing_link("root", base),
        parent_link(index, base, position),
    ]);
    document["links"] = Value::Array(links);
    document
}

/// A `{"children": [...], "links": [...]}` document (the children extension)
/// for the nodes at `positions`, each child as its own URL serves it.
pub(crate) async fn children_document(
    index: &IndexVersion,
    base: &BaseUrl,
    positions: &[usize],
    self_href: String,
    parent: Value,
) -> Result<Value> {
    let mut children = Vec::with_capacity(positions.len());
    for position in positions {
        children.extend(node_document(index, base, *position).await?);
    }
    Ok(json!({
        "children": children,
        "links": [
            link("self", self_href, JSON),
            landing_link("root", base),
            parent,
        ],
    }))
}

/// A catalog or collection below the root as served, with its place in the
/// tree; `None` for a collection the index does not hold.
pub(crate) async fn node_document(index: &IndexVersion, base: &BaseUrl, position: usize) -> Result<Option<Value>> {
    let node = index.tree.node(position);
    let mut document = match node.kind {
        NodeKind::Catalog => catalog_document(index, base, position),
        NodeKind::Collection => {
            let Some(collection) = index.collection(&node.key) else {
                return Ok(None);
            };
            let parent = parent_link(index, base, position);
            crate::links::rewrite_collection(&collection.json, &collection.href, base, &collection.id, parent)
        }
    };
    let tree = tree_links(index, base, position).await?;
    if let Some(Value::Array(links)) = document.get_mut("links") {
        links.extend(tree);
        if node.kind == NodeKind::Catalog {
            links.push(link(
                CHILDREN_REL,
                base.href(&["catalogs", &node.key, "children"]),
                JSON,
            ));
        }
    }
    Ok(Some(document))
}
