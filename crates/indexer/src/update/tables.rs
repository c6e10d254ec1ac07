//! The small tables of a version (collections, errors, tree, links) read
//! back, changed by an update, and written again.

use super::plan::Plan;
use super::read::NewCollection;
use super::state::{Key, collection_of, key};
use crate::batch::errors_batch;
use crate::crawl::CollectionRecord;
use crate::item::ItemRow;
use crate::publish::{collections_batch, tree_batch};
use crate::report::{ErrorKind, ErrorRecord};
use crate::staging::write_file;
use crate::tree::{NodeKind, NodeRecord, TreeNode};
use crate::{Error, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use stac_indexed_format::MAX_INDEXED_ITEM_LINKS;
use stac_indexed_format::schema::{
    COLLECTION, COLLECTION_JSON, COLLECTION_TITLE, ERROR_KIND, ERROR_MESSAGE, ERROR_PARENT, ERROR_URI, HREF, ID,
    ITEM_COUNT, ITEMS_IN_INDEX, NODE_DESCRIPTION, NODE_KEY, NODE_KIND, NODE_PARENT, errors_schema,
};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A version's small tables, in memory.
pub(crate) struct Tables {
    pub collections: Vec<CollectionRecord>,
    pub item_counts: HashMap<String, u64>,
    pub errors: Vec<ErrorRecord>,
    /// The catalog tree and its item links (`None` in a version 1 index).
    pub tree: Option<TreeTables>,
}

/// The tree and links tables.
pub(crate) struct TreeTables {
    pub nodes: Vec<TreeNode>,
    pub item_counts: Vec<u64>,
    pub in_index: Vec<bool>,
    /// `(node, key)`, by node.
    pub links: Vec<(usize, Key)>,
    /// Whether the links changed (the file is written again).
    pub links_changed: bool,
}

/// The local files of the small tables.
pub(crate) struct TablePaths<'a> {
    pub collections: &'a Path,
    pub errors: &'a Path,
    pub tree: Option<(&'a Path, &'a Path)>,
}

/// The files [`Tables::write`] wrote, with their rows.
pub(crate) struct Written {
    pub collections: (PathBuf, u64),
    pub errors: (PathBuf, u64),
    pub tree: Option<(PathBuf, u64)>,
    /// Written only when the links changed.
    pub links: Option<(PathBuf, u64)>,
}

impl Tables {
    /// Reads the tables.
    pub(crate) fn read(paths: &TablePaths<'_>) -> Result<Tables> {
        let (collections, item_counts) = read_collections(paths.collections)?;
        let tree = match paths.tree {
            Some((tree, links)) => Some(TreeTables::read(tree, links)?),
            None => None,
        };
        Ok(Tables {
            collections,
            item_counts,
            errors: read_errors(paths.errors)?,
            tree,
        })
    }

    /// Whether the index holds the collection `id`.
    pub(crate) fn has_collection(&self, id: &str) -> bool {
        self.collections.iter().any(|c| c.id == id)
    }

    /// Adds a collection found by an update, under the root of the tree.
    pub(crate) fn add_collection(&mut self, collection: NewCollection) {
        if self.has_collection(&collection.record.id) {
            return;
        }
        self.collections.push(collection.record);
        if let Some(tree) = &mut self.tree {
            tree.nodes.push(TreeNode {
                key: collection.node.id.clone(),
                record: collection.node,
                parent: Some(0),
            });
            tree.item_counts.push(0);
            tree.in_index.push(true);
        }
    }

    /// The collection id an item without one takes: that of the collection
    /// node at `href` (its parent or collection link), if any.
    pub(crate) fn collection_at(&self, href: &str) -> Option<&str> {
        let tree = self.tree.as_ref()?;
        tree.nodes
            .iter()
            .find(|n| n.record.kind == NodeKind::Collection && n.record.href == href)
            .map(|n| n.record.id.as_str())
    }

    /// Applies a plan: item counts, item links, and the errors at the hrefs
    /// it decided replaced by `errors`.
    pub(crate) fn apply(&mut self, plan: &Plan, errors: Vec<ErrorRecord>) {
        for row in &plan.added {
            *self.item_counts.entry(row.collection.clone()).or_default() += 1;
        }
        for removed in &plan.removed {
            if let Some(count) = self.item_counts.get_mut(collection_of(removed)) {
                *count = count.saturating_sub(1);
            }
        }
        if let Some(tree) = &mut self.tree {
            tree.remove(&plan.removed);
            tree.add(&plan.added);
        }
        self.errors.retain(|e| !plan.decided_hrefs.contains(&e.uri));
        self.errors.extend(errors);
        self.errors
            .sort_by(|a, b| (&a.uri, a.kind.as_str(), &a.message).cmp(&(&b.uri, b.kind.as_str(), &b.message)));
    }

    /// Writes the tables into `dir`.
    pub(crate) fn write(&self, dir: &Path) -> Result<Written> {
        let collections = dir.join("collections.parquet");
        write_file(&collections, &collections_batch(&self.collections, &self.item_counts)?)?;
        let errors = dir.join("errors.parquet");
        write_file(&errors, &errors_batch(Arc::new(errors_schema()), &self.errors)?)?;
        let (tree, links) = match &self.tree {
            Some(tables) => {
                let tree = dir.join("tree.parquet");
                let in_index = |row: usize, _: u64| tables.in_index[row];
                write_file(&tree, &tree_batch(&tables.nodes, &tables.item_counts, &in_index)?)?;
                let links = tables.links_changed.then(|| dir.join("links.parquet"));
                if let Some(links) = &links {
                    write_file(links, &tables.links_batch()?)?;
                }
                (
                    Some((tree, tables.nodes.len() as u64)),
                    links.map(|path| (path, tables.links.len() as u64)),
                )
            }
            None => (None, None),
        };
        Ok(Written {
            collections: (collections, self.collections.len() as u64),
            errors: (errors, self.errors.len() as u64),
            tree,
            links,
        })
    }
}

impl TreeTables {
    fn read(tree: &Path, links: &Path) -> Result<TreeTables> {
        let batch = read_table(tree)?;
        let text = |name: &str| string_column(&batch, tree, name);
        let (kinds, keys, ids, titles, descriptions, hrefs, jsons) = (
            text(NODE_KIND)?,
            text(NODE_KEY)?,
            text(ID)?,
            text(COLLECTION_TITLE)?,
            text(NODE_DESCRIPTION)?,
            text(HREF)?,
            text(COLLECTION_JSON)?,
        );
        let parents = int_column(&batch, tree, NODE_PARENT)?;
        let counts = int_column(&batch, tree, ITEM_COUNT)?;
        let in_index = batch
            .column_by_name(ITEMS_IN_INDEX)
            .and_then(|c| c.as_boolean_opt().cloned())
            .ok_or_else(|| Error::index_file(tree, format!("no boolean {ITEMS_IN_INDEX} column")))?;
        let optional = |column: &StringArray, row: usize| column.is_valid(row).then(|| column.value(row).to_string());
        let mut nodes = Vec::with_capacity(batch.num_rows());
        for row in 0..batch.num_rows() {
            let kind = match kinds.value(row) {
                "collection" => NodeKind::Collection,
                _ => NodeKind::Catalog,
            };
            nodes.push(TreeNode {
                record: NodeRecord {
                    href: hrefs.value(row).to_string(),
                    kind,
                    id: ids.value(row).to_string(),
                    title: optional(titles, row),
                    description: optional(descriptions, row),
                    json: optional(jsons, row),
                    children: Vec::new(),
                },
                parent: parents.is_valid(row).then(|| parents.value(row) as usize),
                key: keys.value(row).to_string(),
            });
        }
        Ok(TreeTables {
            item_counts: counts.values().iter().map(|n| *n as u64).collect(),
            in_index: (0..in_index.len()).map(|row| in_index.value(row)).collect(),
            nodes,
            links: read_links(links)?,
            links_changed: false,
        })
    }

    /// The node that links an item added by an update: the catalog or
    /// collection its `parent` link names, else its collection's node,
    /// else the root.
    fn owner_of(&self, row: &ItemRow) -> usize {
        let by_href = self.nodes.iter().position(|n| *n.record.href == *row.owner);
        let by_collection = || {
            self.nodes
                .iter()
                .position(|n| n.record.kind == NodeKind::Collection && n.record.id == row.collection)
        };
        by_href.or_else(by_collection).unwrap_or(0)
    }

    fn add(&mut self, rows: &[ItemRow]) {
        for row in rows {
            let node = self.owner_of(row);
            self.item_counts[node] += 1;
            if !self.in_index[node] {
                continue;
            }
            self.links_changed = true;
            if self.item_counts[node] > MAX_INDEXED_ITEM_LINKS {
                // Too many to list: the node's document links them instead.
                self.in_index[node] = false;
                self.links.retain(|(owner, _)| *owner != node);
            } else {
                let at = self.links.partition_point(|(owner, _)| *owner <= node);
                self.links.insert(at, (node, key(&row.collection, &row.id)));
            }
        }
    }

    fn remove(&mut self, removed: &[Key]) {
        let removed: HashSet<&Key> = removed.iter().collect();
        let mut counts = std::mem::take(&mut self.item_counts);
        let before = self.links.len();
        let mut linked = HashSet::new();
        self.links.retain(|(node, row_key)| {
            let gone = removed.contains(row_key);
            if gone {
                counts[*node] = counts[*node].saturating_sub(1);
                linked.insert(row_key.clone());
            }
            !gone
        });
        self.links_changed |= self.links.len() != before;
        // The rest belonged to nodes too big to list: their collection's, as
        // far as the index can tell.
        for row_key in removed.into_iter().filter(|k| !linked.contains(*k)) {
            let node = self
                .nodes
                .iter()
                .position(|n| n.record.kind == NodeKind::Collection && n.record.id == collection_of(row_key));
            if let Some(node) = node.filter(|node| !self.in_index[*node]) {
                counts[node] = counts[node].saturating_sub(1);
            }
        }
        self.item_counts = counts;
    }

    fn links_batch(&self) -> Result<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![
            Field::new(stac_indexed_format::schema::NODE_ROW, DataType::Int64, true),
            Field::new(COLLECTION, DataType::Utf8, true),
            Field::new(ID, DataType::Utf8, true),
        ]));
        let split = |k: &Key| {
            k.split_once('\0')
                .map(|(c, i)| (c.to_string(), i.to_string()))
                .unwrap_or_default()
        };
        let pairs: Vec<(String, String)> = self.links.iter().map(|(_, k)| split(k)).collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(self.links.iter().map(|(n, _)| *n as i64))),
            Arc::new(StringArray::from_iter_values(pairs.iter().map(|p| p.0.as_str()))),
            Arc::new(StringArray::from_iter_values(pairs.iter().map(|p| p.1.as_str()))),
        ];
        Ok(RecordBatch::try_new(schema, columns)?)
    }
}

fn read_collections(path: &Path) -> Result<(Vec<CollectionRecord>, HashMap<String, u64>)> {
    let batch = read_table(path)?;
    let text = |name: &str| string_column(&batch, path, name);
    let (ids, titles, jsons, hrefs) = (text(ID)?, text(COLLECTION_TITLE)?, text(COLLECTION_JSON)?, text(HREF)?);
    let counts = int_column(&batch, path, ITEM_COUNT)?;
    let mut collections = Vec::with_capacity(batch.num_rows());
    let mut item_counts = HashMap::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        collections.push(CollectionRecord {
            id: ids.value(row).to_string(),
            title: titles.is_valid(row).then(|| titles.value(row).to_string()),
            json: jsons.value(row).to_string(),
            href: hrefs.value(row).to_string(),
        });
        item_counts.insert(ids.value(row).to_string(), counts.value(row) as u64);
    }
    Ok((collections, item_counts))
}

fn read_errors(path: &Path) -> Result<Vec<ErrorRecord>> {
    let batch = read_table(path)?;
    let text = |name: &str| string_column(&batch, path, name);
    let (uris, kinds, messages, parents) = (
        text(ERROR_URI)?,
        text(ERROR_KIND)?,
        text(ERROR_MESSAGE)?,
        text(ERROR_PARENT)?,
    );
    (0..batch.num_rows())
        .map(|row| {
            let kind: ErrorKind = serde_json::from_value(kinds.value(row).into())
                .map_err(|_| Error::index_file(path, format!("unknown error kind {:?}", kinds.value(row))))?;
            Ok(ErrorRecord {
                uri: uris.value(row).to_string(),
                kind,
                message: messages.value(row).to_string(),
                parent: parents.is_valid(row).then(|| parents.value(row).to_string()),
            })
        })
        .collect()
}

fn read_links(path: &Path) -> Result<Vec<(usize, Key)>> {
    let batch = read_table(path)?;
    let nodes = int_column(&batch, path, stac_indexed_format::schema::NODE_ROW)?;
    let (collections, ids) = (
        string_column(&batch, path, COLLECTION)?,
        string_column(&batch, path, ID)?,
    );
    Ok((0..batch.num_rows())
        .map(|row| (nodes.value(row) as usize, key(collections.value(row), ids.value(row))))
        .collect())
}

/// A whole (small) Parquet file as one batch.
fn read_table(path: &Path) -> Result<RecordBatch> {
    let file = std::fs::File::open(path).map_err(|e| Error::local(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
    let schema = arrow_array::RecordBatchReader::schema(&reader);
    let batches: Vec<RecordBatch> = reader.collect::<std::result::Result<_, _>>()?;
    Ok(arrow_select::concat::concat_batches(&schema, &batches)?)
}

fn string_column<'a>(batch: &'a RecordBatch, path: &Path, name: &str) -> Result<&'a StringArray> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| Error::index_file(path, format!("no text column {name}")))
}

fn int_column<'a>(batch: &'a RecordBatch, path: &Path, name: &str) -> Result<&'a Int64Array> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<Int64Type>())
        .ok_or_else(|| Error::index_file(path, format!("no integer column {name}")))
}
