//! The catalog tree of an index version: the root, its catalogs and
//! collections as the static catalog links them, and the items each one
//! links (docs/index-format.md, the tree and links tables).
//!
//! The nodes are small and held in memory. The item links are not: a
//! catalog of a million items has a million of them, so they stay in the
//! links table and are read for one node at a time, when its document is
//! asked for (the table is sorted by node, so DuckDB reads one row group).

use crate::pool::Pool;
use crate::{Error, Result};
use duckdb::Connection;
use serde_json::Value;
use stac_indexed_format::schema::{
    COLLECTION, COLLECTION_JSON, COLLECTION_TITLE, HREF, ID, ITEM_COUNT, ITEMS_IN_INDEX, NODE_DESCRIPTION, NODE_KEY,
    NODE_KIND, NODE_PARENT, NODE_ROW,
};
use stac_indexed_format::sql_path;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A catalog (served at `/catalogs/{key}`, or the landing page for the root).
    Catalog,
    /// A collection (served at `/collections/{key}`).
    Collection,
}

/// One catalog or collection of the tree.
#[derive(Clone, Debug)]
pub struct Node {
    /// Catalog or collection.
    pub kind: NodeKind,
    /// Its name in API URLs: a collection's id, a catalog's unique key.
    pub key: String,
    /// Its `id` in the source.
    pub id: String,
    /// Its title.
    pub title: Option<String>,
    /// Its description.
    pub description: Option<String>,
    /// The absolute URI of its source document.
    pub href: String,
    /// The parent's position in the tree (`None` for the root).
    pub parent: Option<usize>,
    /// The children's positions, in the order the source links them.
    pub children: Vec<usize>,
    /// Catalogs: the source document without its structural links.
    pub json: Option<Value>,
    /// How many indexed items it links.
    pub item_count: u64,
    /// Whether the links table holds its item links (otherwise it links
    /// too many, and its source document's are served).
    pub items_in_index: bool,
}

/// The tree of one index version.
pub struct Tree {
    nodes: Vec<Node>,
    catalogs: HashMap<String, usize>,
    collections: HashMap<String, usize>,
    links: Option<Arc<Pool>>,
    /// Whether the index recorded the tree (format 2); a version 1 index
    /// only knows its collections.
    complete: bool,
}

impl Tree {
    /// Reads the tree table and opens the links table. Blocking.
    pub fn open(tree: &Path, links: &Path) -> Result<Tree> {
        let connection = Connection::open_in_memory()?;
        connection.execute_batch(
            "SET threads = 1;
             SET autoinstall_known_extensions = false;
             SET autoload_known_extensions = false;",
        )?;
        let nodes = read_nodes(&connection, tree)?;
        connection.execute_batch(&format!(
            "CREATE VIEW links AS SELECT * FROM read_parquet({})",
            sql_path(links)
        ))?;
        Tree::build(nodes, Some(Pool::new(connection, 1)?), true)
    }

    /// The tree of a version 1 index: the root and its collections, no item links.
    pub fn flat(root_href: &str, collections: impl IntoIterator<Item = (String, Option<String>, String, u64)>) -> Tree {
        let root = Node {
            kind: NodeKind::Catalog,
            key: String::new(),
            id: String::new(),
            title: None,
            description: None,
            href: root_href.to_string(),
            parent: None,
            children: Vec::new(),
            json: None,
            item_count: 0,
            items_in_index: true,
        };
        let nodes = std::iter::once(root).chain(collections.into_iter().map(|(id, title, href, item_count)| Node {
            kind: NodeKind::Collection,
            key: id.clone(),
            id,
            title,
            description: None,
            href,
            parent: Some(0),
            children: Vec::new(),
            json: None,
            item_count,
            items_in_index: true,
        }));
        Tree::build(nodes.collect(), None, false).expect("a flat tree is well formed")
    }

    fn build(mut nodes: Vec<Node>, links: Option<Arc<Pool>>, complete: bool) -> Result<Tree> {
        if nodes.is_empty() {
            return Err(Error::Internal("the tree table has no root".into()));
        }
        for row in 1..nodes.len() {
            match nodes[row].parent {
                Some(parent) if parent < row => nodes[parent].children.push(row),
                _ => return Err(Error::Internal(format!("tree node {row} comes before its parent"))),
            }
        }
        let keys = |kind: NodeKind| {
            nodes
                .iter()
                .enumerate()
                .filter(|(row, node)| node.kind == kind && (*row > 0 || kind == NodeKind::Collection))
                .map(|(row, node)| (node.key.clone(), row))
                .collect::<HashMap<_, _>>()
        };
        let (catalogs, collections) = (keys(NodeKind::Catalog), keys(NodeKind::Collection));
        Ok(Tree {
            nodes,
            catalogs,
            collections,
            links,
            complete,
        })
    }

    /// The root (the landing page).
    pub fn root(&self) -> &Node {
        &self.nodes[0]
    }

    /// The node at a position.
    pub fn node(&self, position: usize) -> &Node {
        &self.nodes[position]
    }

    /// The children of a node, in order.
    pub fn children(&self, node: &Node) -> impl Iterator<Item = &Node> {
        node.children.iter().map(|child| &self.nodes[*child])
    }

    /// The position of the catalog below the root with this key.
    pub fn catalog(&self, key: &str) -> Option<usize> {
        self.catalogs.get(key).copied()
    }

    /// The position of a collection (the root too, when the root is one).
    pub fn collection(&self, id: &str) -> Option<usize> {
        self.collections.get(id).copied()
    }

    /// Whether every item is reachable by `child` and `item` links: the
    /// index recorded the tree, and every node's item links.
    pub fn is_browseable(&self) -> bool {
        self.complete && self.nodes.iter().all(|node| node.items_in_index)
    }

    /// The (collection, id) of the items a node links, in the items
    /// table's order; empty when the links table does not hold them.
    pub async fn item_links(&self, position: usize) -> Result<Vec<(String, String)>> {
        let node = &self.nodes[position];
        let Some(pool) = self
            .links
            .as_ref()
            .filter(|_| node.items_in_index && node.item_count > 0)
        else {
            return Ok(Vec::new());
        };
        let sql = format!("SELECT {COLLECTION}, {ID} FROM links WHERE {NODE_ROW} = ?");
        pool.run(move |connection| {
            let mut statement = connection.prepare_cached(&sql)?;
            let rows = statement.query_map([position as i64], |row| Ok((row.get(0)?, row.get(1)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}

fn read_nodes(connection: &Connection, tree: &Path) -> Result<Vec<Node>> {
    let mut statement = connection.prepare(&format!(
        "SELECT {NODE_PARENT}, {NODE_KIND}, {NODE_KEY}, {ID}, {COLLECTION_TITLE}, {NODE_DESCRIPTION}, {HREF},
                {COLLECTION_JSON}, {ITEM_COUNT}, {ITEMS_IN_INDEX}
         FROM read_parquet({}) ORDER BY {NODE_ROW}",
        sql_path(tree)
    ))?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, Option<i64>>(0)?,
            row.get::<_, String>(1)?,
            Node {
                kind: NodeKind::Catalog,
                key: row.get(2)?,
                id: row.get(3)?,
                title: row.get(4)?,
                description: row.get(5)?,
                href: row.get(6)?,
                parent: None,
                children: Vec::new(),
                json: None,
                item_count: row.get::<_, i64>(8)? as u64,
                items_in_index: row.get(9)?,
            },
            row.get::<_, Option<String>>(7)?,
        ))
    })?;
    let mut nodes = Vec::new();
    for row in rows {
        let (parent, kind, mut node, json) = row?;
        node.parent = parent.map(|p| p as usize);
        node.kind = match kind.as_str() {
            "catalog" => NodeKind::Catalog,
            "collection" => NodeKind::Collection,
            other => return Err(Error::Internal(format!("tree node of unknown kind {other:?}"))),
        };
        node.json = json
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|e| Error::Internal(format!("catalog {}: {e}", node.href)))?;
        nodes.push(node);
    }
    Ok(nodes)
}
