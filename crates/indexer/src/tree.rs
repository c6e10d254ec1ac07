//! The catalog tree: the catalogs and collections the crawl found, which
//! links which, put in a deterministic order for the tree table.
//!
//! The crawl fetches documents concurrently, so the order it finds them in
//! changes from run to run. [`assemble`] walks the recorded `child` links
//! breadth first from the root instead, each document's children in the
//! order it links them: a document linked by several catalogs sits under
//! the first one the walk reaches. Catalogs and collections the walk cannot
//! reach (found through an `items` or `next` link) go under the root, in
//! href order.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet, VecDeque};

/// What a tree node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum NodeKind {
    Catalog,
    Collection,
}

impl NodeKind {
    /// The name in the tree table's `kind` column.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            NodeKind::Catalog => "catalog",
            NodeKind::Collection => "collection",
        }
    }
}

/// A catalog or collection as the crawl read it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct NodeRecord {
    /// The absolute URI it was read from.
    pub href: String,
    pub kind: NodeKind,
    pub id: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// Catalogs only: the document without its `child`, `item`, `items`
    /// and `next` links, as JSON text (collections are in their own table).
    pub json: Option<String>,
    /// Its `child` links, resolved, in document order.
    pub children: Vec<String>,
}

/// A node in tree order.
#[derive(Debug)]
pub(crate) struct TreeNode {
    pub record: NodeRecord,
    /// The parent's row (`None` for the root).
    pub parent: Option<usize>,
    /// Its name in API URLs: a collection's id; a catalog's id, with `-2`,
    /// `-3`… appended when an earlier catalog has the same one.
    pub key: String,
}

/// Puts the records in tree order: the root (`root`, the href the crawl
/// started from) first, parents before children.
pub(crate) fn assemble(root: &str, records: Vec<NodeRecord>) -> Vec<TreeNode> {
    let mut unplaced: HashMap<String, NodeRecord> = records.into_iter().map(|r| (r.href.clone(), r)).collect();
    let mut tree = Vec::with_capacity(unplaced.len());
    walk(&mut tree, &mut unplaced, root, None);
    let root_row = (!tree.is_empty()).then_some(0);
    for href in leftover_tops(&unplaced) {
        walk(&mut tree, &mut unplaced, &href, root_row);
    }
    name_catalogs(&mut tree);
    tree
}

/// The unplaced nodes in the order to place them under the root: first
/// those no other unplaced node links as a child, then the rest (cycles),
/// each group in href order.
fn leftover_tops(unplaced: &HashMap<String, NodeRecord>) -> Vec<String> {
    let linked: HashSet<&String> = unplaced.values().flat_map(|r| &r.children).collect();
    let mut hrefs: Vec<&String> = unplaced.keys().collect();
    hrefs.sort_by_key(|href| (linked.contains(href), *href));
    hrefs.into_iter().cloned().collect()
}

/// The tree row of each numbered owner of staged rows: `(owner number,
/// node row)` for the owners that are tree nodes, numbered from `base`.
pub(crate) fn owner_nodes(tree: &[TreeNode], owners: &[String], base: i64) -> Vec<(i64, i64)> {
    let rows: HashMap<&str, usize> = tree
        .iter()
        .enumerate()
        .map(|(row, node)| (node.record.href.as_str(), row))
        .collect();
    owners
        .iter()
        .enumerate()
        .filter_map(|(number, owner)| rows.get(owner.as_str()).map(|row| (base + number as i64, *row as i64)))
        .collect()
}

/// Places `start` under `parent`, then everything below it, breadth first.
fn walk(tree: &mut Vec<TreeNode>, unplaced: &mut HashMap<String, NodeRecord>, start: &str, parent: Option<usize>) {
    let mut queue = VecDeque::from([(start.to_string(), parent)]);
    while let Some((href, parent)) = queue.pop_front() {
        let Some(record) = unplaced.remove(&href) else { continue };
        let row = tree.len();
        queue.extend(record.children.iter().map(|child| (child.clone(), Some(row))));
        let key = record.id.clone();
        tree.push(TreeNode { record, parent, key });
    }
}

/// Makes the keys of catalogs below the root (the root is the landing
/// page) unique and non-empty; collection ids already are unique.
fn name_catalogs(tree: &mut [TreeNode]) {
    let mut taken = HashSet::new();
    let below_root = |n: &&mut TreeNode| n.record.kind == NodeKind::Catalog && n.parent.is_some();
    for node in tree.iter_mut().filter(below_root) {
        let base = if node.key.is_empty() {
            "catalog".to_string()
        } else {
            node.key.clone()
        };
        let mut key = base.clone();
        let mut n = 1;
        while !taken.insert(key.clone()) {
            n += 1;
            key = format!("{base}-{n}");
        }
        node.key = key;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(href: &str, kind: NodeKind, id: &str, children: &[&str]) -> NodeRecord {
        NodeRecord {
            href: href.into(),
            kind,
            id: id.into(),
            title: None,
            description: None,
            json: None,
            children: children.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn shape(tree: &[TreeNode]) -> Vec<(String, Option<usize>)> {
        tree.iter().map(|n| (n.key.clone(), n.parent)).collect()
    }

    #[test]
    fn breadth_first_in_link_order_whatever_the_crawl_order() {
        let records = vec![
            record("c2", NodeKind::Collection, "s2", &[]),
            record("sub", NodeKind::Catalog, "optical", &["c2", "c1"]),
            record("root", NodeKind::Catalog, "root", &["sub", "c3"]),
            record("c1", NodeKind::Collection, "l8", &[]),
            record("c3", NodeKind::Collection, "s1", &[]),
        ];
        let mut reversed = records.clone();
        reversed.reverse();
        let expected = vec![
            ("root".to_string(), None),
            ("optical".to_string(), Some(0)),
            ("s1".to_string(), Some(0)),
            ("s2".to_string(), Some(1)),
            ("l8".to_string(), Some(1)),
        ];
        assert_eq!(shape(&assemble("root", records)), expected);
        assert_eq!(shape(&assemble("root", reversed)), expected);
    }

    #[test]
    fn a_node_linked_twice_sits_under_the_first_parent_reached() {
        let records = vec![
            record("root", NodeKind::Catalog, "root", &["a", "b"]),
            record("a", NodeKind::Catalog, "a", &["x"]),
            record("b", NodeKind::Catalog, "b", &["x"]),
            record("x", NodeKind::Collection, "x", &["root"]),
        ];
        assert_eq!(
            shape(&assemble("root", records)),
            vec![
                ("root".to_string(), None),
                ("a".to_string(), Some(0)),
                ("b".to_string(), Some(0)),
                ("x".to_string(), Some(1)),
            ]
        );
    }

    #[test]
    fn catalog_keys_are_unique_and_unreachable_nodes_go_under_the_root() {
        let records = vec![
            record("root", NodeKind::Catalog, "2024", &["y1", "y2"]),
            record("y1", NodeKind::Catalog, "2024", &[]),
            record("y2", NodeKind::Catalog, "2024", &[]),
            record("page-found", NodeKind::Catalog, "", &["c"]),
            record("c", NodeKind::Collection, "2024", &[]),
        ];
        assert_eq!(
            shape(&assemble("root", records)),
            vec![
                ("2024".to_string(), None),
                ("2024".to_string(), Some(0)),
                ("2024-2".to_string(), Some(0)),
                ("catalog".to_string(), Some(0)),
                ("2024".to_string(), Some(3)),
            ]
        );
    }
}
