//! The published items table from the staged rows, and what is learned
//! making it.
//!
//! DuckDB finds duplicate ids and items of unknown collections over the
//! staged files' narrow columns; the merge ([`stac_indexed_table::merge`]) interleaves
//! their sorted runs into the items table, skipping those rows, in bounded
//! memory however many items there are. DuckDB then counts items per
//! collection and per tree node, writes the links table and, when there is a
//! previous version, compares content hashes.

use crate::Result;
use crate::report::{ErrorKind, ErrorRecord};
use duckdb::Connection;
use stac_indexed_format::schema::{COLLECTION, CONTENT_HASH, HREF, ID, NODE_ROW, OWNER, SEQ};
use stac_indexed_format::{Changes, MAX_INDEXED_ITEM_LINKS, sql_path};
use stac_indexed_table::ITEMS_ROW_GROUP;
use stac_indexed_table::merge::{Candidate, Input, MergeTarget, RowFilter, Sorted, merge};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// DuckDB's memory bound (it spills beyond it). One thread: each thread
/// holds its own buffers, and a second one bought 10% at 1M items for a
/// third more memory.
const MEMORY_LIMIT: &str = "128MB";

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
/// writes `<work>/links.parquet` for the nodes of `tree`. `all_kept`: the
/// crawl knows there are no such rows, and they are not looked for.
pub(crate) fn finalize(
    work: &Path,
    staged: &[PathBuf],
    collections: &[String],
    tree: &TreeOwners,
    previous_items: Option<&Path>,
    all_kept: bool,
) -> Result<Finalized> {
    release_freed_memory();
    let (errors, mut filter) = match all_kept {
        true => (Vec::new(), Published::all(collections)),
        false => find_dropped(work, staged, collections)?,
    };
    // DuckDB keeps the buffers of a query until its database closes: closed
    // above, so that the merge does not hold them too.
    release_freed_memory();
    let items_path = work.join("items.parquet");
    let owners_path = work.join("owners.parquet");
    let target = MergeTarget {
        items: &items_path,
        owners: Some(&owners_path),
        row_group: ITEMS_ROW_GROUP,
    };
    let inputs: Vec<Input<'_>> = staged
        .iter()
        .map(|path| Input {
            path,
            sorted: Sorted::EachRowGroup,
        })
        .collect();
    let rows = merge(&inputs, &mut filter, target)?;
    tracing::info!(rows, "items merged");
    let connection = open(work)?;
    let links_path = work.join("links.parquet");
    let (node_item_counts, links) = write_links(&connection, tree, &items_path, &owners_path, &links_path)?;
    let _ = std::fs::remove_file(&owners_path);
    tracing::info!(links, "links written");
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

/// The staged rows that are not published (items of collections the crawl
/// did not find, and every copy of a duplicated `(collection, id)` but the
/// one whose href sorts first), with an error for each.
fn find_dropped(work: &Path, staged: &[PathBuf], collections: &[String]) -> Result<(Vec<ErrorRecord>, Published)> {
    let connection = open(work)?;
    connection.execute_batch("CREATE TEMP TABLE crawled_collections (id VARCHAR PRIMARY KEY);")?;
    {
        let mut appender = connection.appender("crawled_collections")?;
        for id in collections {
            appender.append_row([id])?;
        }
    }
    let staged_sql: Vec<String> = staged.iter().map(|path| sql_path(path)).collect();
    connection.execute_batch(&format!(
        "CREATE TEMP VIEW staged AS SELECT * FROM read_parquet([{}]);
         CREATE TEMP TABLE duplicates AS
           SELECT {COLLECTION}, {ID}, min({HREF}) AS kept FROM staged
           WHERE ({COLLECTION}, {ID}) IN (
             SELECT ({COLLECTION}, {ID}) FROM staged
             WHERE {COLLECTION} IN (SELECT id FROM crawled_collections)
             GROUP BY ALL HAVING count(*) > 1)
           GROUP BY ALL;
         CREATE TEMP TABLE dropped AS
           SELECT s.{HREF}, s.{COLLECTION}, s.{ID}, d.kept FROM staged s
           JOIN duplicates d USING ({COLLECTION}, {ID}) WHERE s.{HREF} <> d.kept;",
        staged_sql.join(", ")
    ))?;
    tracing::info!("duplicates found");
    let mut errors = unknown_collection_errors(&connection)?;
    errors.extend(duplicate_errors(&connection)?);
    let filter = Published {
        collections: collections.iter().cloned().collect(),
        dropped: hrefs(&connection, &format!("SELECT {HREF} FROM dropped"))?,
        kept: hrefs(&connection, "SELECT kept FROM duplicates")?,
        emitted: HashSet::new(),
    };
    Ok((errors, filter))
}

/// Counts the items of each tree node and writes the links table (node
/// row, collection, id; by node, then in `seq` order) for the nodes with
/// at most [`MAX_INDEXED_ITEM_LINKS`], from the items table and its
/// `(seq, owner)` side file. Returns the counts by row and the rows written.
fn write_links(
    connection: &Connection,
    tree: &TreeOwners,
    items: &Path,
    item_owners: &Path,
    links: &Path,
) -> Result<(Vec<u64>, u64)> {
    connection.execute_batch("CREATE TEMP TABLE owners (owner BIGINT PRIMARY KEY, node BIGINT);")?;
    {
        let mut appender = connection.appender("owners")?;
        for (owner, node) in &tree.owners {
            appender.append_row([owner, node])?;
        }
    }
    connection.execute_batch(&format!(
        "CREATE TEMP VIEW owned AS
           SELECT o.node AS {NODE_ROW}, i.{COLLECTION}, i.{ID}, i.{SEQ} AS position
           FROM read_parquet({items}) i
           JOIN read_parquet({item_owners}) s USING ({SEQ})
           JOIN owners o ON s.{OWNER} = o.owner;
         CREATE TEMP TABLE node_counts AS SELECT {NODE_ROW}, count(*) AS n FROM owned GROUP BY ALL;
         COPY (SELECT {NODE_ROW}, {COLLECTION}, {ID} FROM owned
               WHERE {NODE_ROW} IN (SELECT {NODE_ROW} FROM node_counts WHERE n <= {MAX_INDEXED_ITEM_LINKS})
               ORDER BY {NODE_ROW}, position)
           TO {links} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ITEMS_ROW_GROUP});",
        items = sql_path(items),
        item_owners = sql_path(item_owners),
        links = sql_path(links),
    ))?;
    let mut counts = vec![0; tree.nodes];
    let mut statement = connection.prepare(&format!("SELECT {NODE_ROW}, n FROM node_counts"))?;
    for row in statement.query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)))? {
        let (node, n) = row?;
        counts[node as usize] = n as u64;
    }
    let written = counts.iter().filter(|n| **n <= MAX_INDEXED_ITEM_LINKS).sum();
    Ok((counts, written))
}

/// Hands the heap pages freed so far back to the system before the next
/// step allocates its own: glibc keeps them otherwise, and the peak would be
/// the earlier step's and the next one's together.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the heap to the system.
    unsafe {
        libc::malloc_trim(0);
    }
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

/// The staged rows the published table keeps: those of crawled
/// collections, but the duplicates dropped, and the kept duplicate once
/// even when two rows have its href.
struct Published {
    collections: HashSet<String>,
    dropped: HashSet<String>,
    kept: HashSet<String>,
    emitted: HashSet<String>,
}

impl Published {
    /// Every row (the crawl saw no key twice and no unknown collection).
    fn all(collections: &[String]) -> Published {
        Published {
            collections: collections.iter().cloned().collect(),
            dropped: HashSet::new(),
            kept: HashSet::new(),
            emitted: HashSet::new(),
        }
    }
}

impl RowFilter for Published {
    fn keeps(&mut self, row: &Candidate<'_>) -> bool {
        if !self.collections.contains(row.collection) || self.dropped.contains(row.href) {
            return false;
        }
        !self.kept.contains(row.href) || self.emitted.insert(row.href.to_string())
    }
}

fn hrefs(connection: &Connection, sql: &str) -> Result<HashSet<String>> {
    let mut statement = connection.prepare(sql)?;
    let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
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
/// What changed from one items table to another.
#[derive(Debug, Default)]
pub(crate) struct Differences {
    /// The hrefs of the rows added or changed (by content hash or href).
    pub hrefs: Vec<String>,
    /// The keys `(collection, id)` gone.
    pub removed: Vec<(String, String)>,
}

/// What changed from the items table `old` to `new`, as changes an update
/// replays.
pub(crate) fn differences(work: &Path, old: &Path, new: &Path) -> Result<Differences> {
    let connection = open(work)?;
    let columns = format!("{COLLECTION}, {ID}, {HREF}, {CONTENT_HASH}");
    let (new, old) = (sql_path(new), sql_path(old));
    let mut changed = connection.prepare(&format!(
        "SELECT n.{HREF} FROM (SELECT {columns} FROM read_parquet({new})) n
         LEFT JOIN (SELECT {columns} FROM read_parquet({old})) o
           ON n.{COLLECTION} = o.{COLLECTION} AND n.{ID} = o.{ID}
         WHERE o.{ID} IS NULL OR n.{CONTENT_HASH} <> o.{CONTENT_HASH} OR n.{HREF} <> o.{HREF}
         ORDER BY n.{HREF}"
    ))?;
    let hrefs = changed
        .query_map([], |row| row.get::<_, String>(0))?
        .collect::<duckdb::Result<Vec<_>>>()?;
    let mut gone = connection.prepare(&format!(
        "SELECT {COLLECTION}, {ID} FROM read_parquet({old})
         EXCEPT SELECT {COLLECTION}, {ID} FROM read_parquet({new})
         ORDER BY ALL"
    ))?;
    let removed = gone
        .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))?
        .collect::<duckdb::Result<Vec<_>>>()?;
    Ok(Differences { hrefs, removed })
}

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
