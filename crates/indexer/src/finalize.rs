//! Sorting the staged rows into the published items table, with DuckDB.
//!
//! DuckDB sorts out of core (bounded memory, spilling to the work directory),
//! so the published file can be clustered by collection and datetime however
//! many items there are. The same connection finds duplicate ids and items of
//! unknown collections, counts items per collection and per tree node,
//! writes the links table and, when there is a previous version, compares
//! content hashes.

use crate::Result;
use crate::report::{ErrorKind, ErrorRecord};
use duckdb::Connection;
use stac_indexed_format::schema::{COLLECTION, CONTENT_HASH, DATETIME, HREF, ID, NODE_ROW, OWNER, SEQ, START_DATETIME};
use stac_indexed_format::{Changes, MAX_INDEXED_ITEM_LINKS, sql_path};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Rows per row group of the published items file: small enough that
/// collection and datetime filters skip most groups.
pub(crate) const ITEMS_ROW_GROUP: usize = 10_240;

/// DuckDB's memory bound while sorting (it spills beyond it). One thread:
/// each sorting thread holds its own buffers, and a parallel sort of wide
/// rows exceeded a 128 MB limit at 1M items where one thread stays inside.
const MEMORY_LIMIT: &str = "192MB";

/// The published items table and what was learned making it.
#[derive(Debug)]
pub(crate) struct Finalized {
    pub items_path: PathBuf,
    pub items: u64,
    pub item_counts: HashMap<String, u64>,
    /// The links table: the items of each tree node that links at most
    /// [`MAX_INDEXED_ITEM_LINKS`].
    pub links_path: PathBuf,
    /// Its rows.
    pub links: u64,
    /// Items per tree node, by row.
    pub node_item_counts: Vec<u64>,
    pub errors: Vec<ErrorRecord>,
    pub changes: Option<Changes>,
}

/// The tree's size, and which tree node each numbered owner of the staged
/// rows is.
pub(crate) struct TreeOwners {
    pub nodes: usize,
    /// `(owner number, node row)`.
    pub owners: Vec<(i64, i64)>,
}

/// Sorts the `staged` files into `<work>/items.parquet`, dropping rows of collections not
/// in `collections` and all but the first (by href) of duplicate ids, and
/// writes `<work>/links.parquet` for the nodes of `tree`.
pub(crate) fn finalize(
    work: &Path,
    staged: &[PathBuf],
    collections: &[String],
    tree: &TreeOwners,
    previous_items: Option<&Path>,
) -> Result<Finalized> {
    let connection = open(work)?;
    connection.execute_batch(
        "CREATE TEMP TABLE crawled_collections (id VARCHAR PRIMARY KEY);
         CREATE TEMP TABLE owners (owner BIGINT PRIMARY KEY, node BIGINT);",
    )?;
    {
        let mut appender = connection.appender("crawled_collections")?;
        for id in collections {
            appender.append_row([id])?;
        }
        let mut appender = connection.appender("owners")?;
        for (owner, node) in &tree.owners {
            appender.append_row([owner, node])?;
        }
    }
    let staged: Vec<String> = staged.iter().map(|path| sql_path(path)).collect();
    connection.execute_batch(&format!(
        "CREATE TEMP VIEW staged AS SELECT * FROM read_parquet([{}]);
         CREATE TEMP TABLE duplicates AS
           SELECT {COLLECTION}, {ID}, min({HREF}) AS kept FROM staged
           WHERE {COLLECTION} IN (SELECT id FROM crawled_collections)
           GROUP BY ALL HAVING count(*) > 1;
         CREATE TEMP TABLE dropped AS
           SELECT s.{HREF}, s.{COLLECTION}, s.{ID}, d.kept FROM staged s
           JOIN duplicates d USING ({COLLECTION}, {ID}) WHERE s.{HREF} <> d.kept;",
        staged.join(", ")
    ))?;
    let mut errors = unknown_collection_errors(&connection)?;
    errors.extend(duplicate_errors(&connection)?);
    let sorted = work.join("sorted.parquet");
    let items_path = work.join("items.parquet");
    connection.execute_batch(&format!(
        "COPY (SELECT * FROM staged
               WHERE {COLLECTION} IN (SELECT id FROM crawled_collections)
                 AND {HREF} NOT IN (SELECT {HREF} FROM dropped)
               ORDER BY {COLLECTION}, coalesce({DATETIME}, {START_DATETIME}) DESC NULLS LAST, {ID})
           TO {sorted} (FORMAT parquet, COMPRESSION uncompressed);
         COPY (SELECT file_row_number AS {SEQ}, * EXCLUDE (file_row_number, {OWNER})
               FROM read_parquet({sorted}, file_row_number = true))
           TO {items} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ITEMS_ROW_GROUP});",
        sorted = sql_path(&sorted),
        items = sql_path(&items_path),
    ))?;
    let links_path = work.join("links.parquet");
    let (node_item_counts, links) = write_links(&connection, &sorted, &links_path, tree.nodes)?;
    let _ = std::fs::remove_file(&sorted);
    let item_counts = item_counts(&connection, &items_path)?;
    let items = item_counts.values().sum();
    let changes = previous_items
        .map(|previous| changes(&connection, &items_path, previous))
        .transpose()?;
    Ok(Finalized {
        items_path,
        items,
        item_counts,
        links_path,
        links,
        node_item_counts,
        errors,
        changes,
    })
}

/// Counts the items of each tree node and writes the links table (node
/// row, collection, id; by node, then in `seq` order) for the nodes with
/// at most [`MAX_INDEXED_ITEM_LINKS`]. Returns the counts by row and the
/// rows written.
fn write_links(connection: &Connection, sorted: &Path, links: &Path, nodes: usize) -> Result<(Vec<u64>, u64)> {
    let sorted = sql_path(sorted);
    connection.execute_batch(&format!(
        "CREATE TEMP VIEW owned AS
           SELECT o.node AS {NODE_ROW}, s.{COLLECTION}, s.{ID}, s.file_row_number AS position
           FROM read_parquet({sorted}, file_row_number = true) s JOIN owners o ON s.{OWNER} = o.owner;
         CREATE TEMP TABLE node_counts AS SELECT {NODE_ROW}, count(*) AS n FROM owned GROUP BY ALL;
         COPY (SELECT {NODE_ROW}, {COLLECTION}, {ID} FROM owned
               WHERE {NODE_ROW} IN (SELECT {NODE_ROW} FROM node_counts WHERE n <= {MAX_INDEXED_ITEM_LINKS})
               ORDER BY {NODE_ROW}, position)
           TO {links} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ITEMS_ROW_GROUP});",
        links = sql_path(links),
    ))?;
    let mut counts = vec![0; nodes];
    let mut statement = connection.prepare(&format!("SELECT {NODE_ROW}, n FROM node_counts"))?;
    for row in statement.query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)))? {
        let (node, n) = row?;
        counts[node as usize] = n as u64;
    }
    let written = counts.iter().filter(|n| **n <= MAX_INDEXED_ITEM_LINKS).sum();
    Ok((counts, written))
}

fn open(work: &Path) -> Result<Connection> {
    let connection = Connection::open_in_memory()?;
    let spill = work.join("duckdb-spill");
    connection.execute_batch(&format!(
        "SET memory_limit = '{MEMORY_LIMIT}';
         SET temp_directory = {spill};
         SET preserve_insertion_order = true;
         SET threads = 1;
         SET autoinstall_known_extensions = false;
         SET autoload_known_extensions = false;",
        spill = sql_path(&spill)
    ))?;
    Ok(connection)
}

fn unknown_collection_errors(connection: &Connection) -> Result<Vec<ErrorRecord>> {
    let mut statement = connection.prepare(&format!(
        "SELECT {HREF}, {COLLECTION}, {ID} FROM staged
         WHERE {COLLECTION} NOT IN (SELECT id FROM crawled_collections) ORDER BY {HREF}"
    ))?;
    let rows = statement.query_map([], |row| {
        let (href, collection, id): (String, String, String) = (row.get(0)?, row.get(1)?, row.get(2)?);
        Ok(ErrorRecord {
            uri: href,
            kind: ErrorKind::UnknownCollection,
            message: format!("item {id:?} names collection {collection:?}, which the crawl did not find"),
            parent: None,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn duplicate_errors(connection: &Connection) -> Result<Vec<ErrorRecord>> {
    let mut statement = connection.prepare(&format!(
        "SELECT {HREF}, {COLLECTION}, {ID}, kept FROM dropped ORDER BY {HREF}"
    ))?;
    let rows = statement.query_map([], |row| {
        let (href, collection, id, kept): (String, String, String, String) =
            (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
        Ok(ErrorRecord {
            uri: href,
            kind: ErrorKind::DuplicateId,
            message: format!("item {id:?} of collection {collection:?} is also at {kept}, which is kept"),
            parent: None,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn item_counts(connection: &Connection, items: &Path) -> Result<HashMap<String, u64>> {
    let mut statement = connection.prepare(&format!(
        "SELECT {COLLECTION}, count(*) FROM read_parquet({}) GROUP BY ALL",
        sql_path(items)
    ))?;
    let rows = statement.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Added, removed, updated and unchanged items, by (collection, id) and content hash.
fn changes(connection: &Connection, items: &Path, previous: &Path) -> Result<Changes> {
    let columns = format!("{COLLECTION}, {ID}, {CONTENT_HASH}");
    let sql = format!(
        "SELECT count(*) FILTER (WHERE o.{ID} IS NULL),
                count(*) FILTER (WHERE n.{ID} IS NULL),
                count(*) FILTER (WHERE n.{CONTENT_HASH} <> o.{CONTENT_HASH}),
                count(*) FILTER (WHERE n.{CONTENT_HASH} = o.{CONTENT_HASH})
         FROM (SELECT {columns} FROM read_parquet({new})) n
         FULL OUTER JOIN (SELECT {columns} FROM read_parquet({old})) o
           ON n.{COLLECTION} = o.{COLLECTION} AND n.{ID} = o.{ID}",
        new = sql_path(items),
        old = sql_path(previous),
    );
    let counts = connection.query_row(&sql, [], |row| {
        Ok(Changes {
            added: row.get::<_, i64>(0)? as u64,
            removed: row.get::<_, i64>(1)? as u64,
            updated: row.get::<_, i64>(2)? as u64,
            unchanged: row.get::<_, i64>(3)? as u64,
        })
    })?;
    Ok(counts)
}
