//! One index version's search engine: a search in, a page of hits and the
//! exact count out.
//!
//! Until the row directory is built (in the background after start-up),
//! every search is one DuckDB query ([`crate::sql`]). Then the directory
//! finds the rows the core parameters match (ids, collections, bbox,
//! intersects, datetime); filter, query and free text become a
//! [`Predicate`] over typed columns (each conjunct the columns cannot
//! answer is matched by DuckDB once and enters as a set of rows); the page
//! is found in `seq` order by a scan that stops when the page is full
//! ([`crate::scan`]); the count is one pass over the same words, skipped
//! when the paging token carries it. A sorted search marks its matches in
//! a bitmap in one pass (which counts them), then selects its page among
//! them when they are few, or walks the sort permutation
//! ([`crate::sort_index`]) testing one bit a row.

use crate::aggregate::{self, Aggregation, Outcome, Widths};
use crate::columns::{Bitmap, Columns};
use crate::directory::Directory;
use crate::hit::{Hit, Page};
use crate::keyset::{Direction, Keyset};
use crate::pool::Pool;
use crate::predicate::Predicate;
use crate::scan::{self, CoreRows};
use crate::search::Search;
use crate::sort::Order;
use crate::sort_index::{SortIndexes, SortKey};
use crate::sql::{self, Filter, PageQuery};
use crate::{Error, Result};
use duckdb::Connection;
use duckdb::types::Value as SqlValue;
use stac_indexed_filter::{
    Condition, Expr, Kind, Queryable, Queryables, Scope, Sql, query_to_expr, text_condition, to_condition, to_sql,
};
use stac_indexed_format::geometry::Bbox;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A sorted search whose matches are at most one in this many rows
/// selects its page among them instead of walking the permutation.
const FEW_ROWS: usize = 16;

/// How an engine is set up.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// DuckDB connections in the pool.
    pub connections: usize,
    /// Copy the items into a DuckDB in-memory table after start-up.
    pub in_memory: bool,
    /// Build the row directory (and warm the columns) after start-up.
    pub row_directory: bool,
}

/// A search to answer.
#[derive(Clone, Debug)]
pub struct Request {
    /// The search.
    pub search: Search,
    /// Within this collection only (`/collections/{id}/items`).
    pub collection: Option<String>,
    /// Where the page starts, from a paging token.
    pub keyset: Option<Keyset>,
    /// The count, when a paging token carries it.
    pub matched: Option<u64>,
}

/// A row's values for index-only fields.
#[derive(Clone, Debug)]
pub struct RowValues {
    /// The bbox.
    pub bbox: Bbox,
    /// The values of the asked columns, in order.
    pub values: Vec<SqlValue>,
}

/// The search engine of one index version.
pub struct Engine {
    /// The items table.
    items: PathBuf,
    pool: Arc<Pool>,
    queryables: Queryables,
    directory: OnceLock<Directory>,
    columns: Columns,
    sorts: SortIndexes,
    widths: Widths,
}

impl Engine {
    /// Opens the items (and errors) Parquet files with DuckDB. Blocking.
    pub fn open(items: &Path, errors: &Path, queryables: Queryables, options: Options) -> Result<Arc<Engine>> {
        let connection = open_database(items, errors)?;
        Ok(Arc::new(Engine {
            items: items.to_path_buf(),
            pool: Pool::new(connection, options.connections)?,
            queryables,
            directory: OnceLock::new(),
            columns: Columns::over(items),
            sorts: SortIndexes::default(),
            widths: Widths::default(),
        }))
    }

    /// Loads in the background what makes searches fast: the in-memory
    /// table (if asked), the row directory, then the queryables' columns.
    pub fn spawn_background_load(self: &Arc<Self>, options: Options) {
        let engine = self.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            if options.in_memory {
                match engine.pool.run(load_into_memory).await {
                    Ok(()) => tracing::info!(seconds = started.elapsed().as_secs_f64(), "items loaded into memory"),
                    Err(error) => tracing::warn!(%error, "items stay on Parquet"),
                }
            }
            if !options.row_directory {
                return;
            }
            let loader = engine.clone();
            match engine.pool.run(move |c| loader.load(c)).await {
                Ok(()) => tracing::info!(
                    seconds = started.elapsed().as_secs_f64(),
                    column_mb = engine.columns.bytes() / 1_000_000,
                    directory = %engine.directory_sizes(),
                    rectangles = engine.directory().map_or(0, Directory::rectangles),
                    "row directory ready"
                ),
                Err(error) => tracing::warn!(%error, "no row directory; DuckDB answers every search"),
            }
        });
    }

    /// What the directory's parts take, in MB (`ids 21, hrefs 14, …`).
    fn directory_sizes(&self) -> String {
        let parts = self.directory.get().map(Directory::bytes).unwrap_or_default();
        let total: usize = parts.iter().map(|(_, bytes)| bytes).sum();
        let parts: Vec<String> = parts
            .iter()
            .map(|(part, bytes)| format!("{part} {}", bytes / 1_000_000))
            .collect();
        format!("{} MB: {}", total / 1_000_000, parts.join(", "))
    }

    /// Builds the directory, then reads the columns filters usually need.
    fn load(&self, connection: &Connection) -> Result<()> {
        let directory = Directory::read(&self.items)?;
        self.columns.use_ids(directory.ids(), directory.rows());
        let _ = self.directory.set(directory);
        for queryable in self.queryables.all() {
            if matches!(queryable.kind, Kind::Geometry) || ["id", "collection"].contains(&queryable.column.as_str()) {
                continue;
            }
            if let Err(error) = self.columns.get(connection, &queryable.sql_column(), queryable.kind) {
                tracing::warn!(%error, column = queryable.column, "column not loaded");
            }
        }
        Ok(())
    }

    /// The connections, for queries of the API's own (errors, collections).
    pub fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }

    /// The row directory, once built.
    pub fn directory(&self) -> Option<&Directory> {
        self.directory.get()
    }

    /// One item by collection and id.
    pub async fn item(self: &Arc<Self>, collection: &str, id: &str) -> Result<Option<Hit>> {
        if let Some(directory) = self.directory() {
            return Ok(directory.item(collection, id));
        }
        let (collection, id) = (collection.to_string(), id.to_string());
        self.pool.run(move |c| sql::item(c, &collection, &id)).await
    }

    /// A page of a search.
    pub async fn page(self: &Arc<Self>, request: Request) -> Result<Page> {
        let search = &request.search;
        if let Some(directory) = self.directory()
            && !search.has_extensions()
            && search.sortby.is_empty()
        {
            let boundary = request.keyset.as_ref().map(Keyset::boundary);
            return Ok(directory.page(search, request.collection.as_deref(), boundary, search.limit));
        }
        let engine = self.clone();
        // Translating a filter can take a while (a large geometry or IN
        // list): it runs on the blocking thread with the search.
        self.pool.run(move |c| engine.page_blocking(c, &request)).await
    }

    fn page_blocking(&self, connection: &Connection, request: &Request) -> Result<Page> {
        let search = &request.search;
        let collections = match &request.collection {
            Some(collection) => Some(vec![collection.clone()]),
            None => search.collections.clone(),
        };
        let scope = self.queryables.scope(collections.as_deref());
        let order = Order::resolve(&search.sortby, &scope)?;
        let sortable_in_memory = order
            .keys()
            .all(|(_, kind, _)| !matches!(kind, Kind::Geometry | Kind::TextArray));
        let directory = match self.directory() {
            Some(directory) if sortable_in_memory => directory,
            directory => {
                let query = PageQuery {
                    filter: Filter::of(search, request.collection.as_deref(), &scope)?,
                    order,
                    keyset: request.keyset.clone(),
                    limit: search.limit,
                };
                return sql::page(connection, &query, directory);
            }
        };
        let predicate = self.predicate(connection, directory, search, &scope)?;
        let core = directory.core_rows(search, request.collection.as_deref());
        if order.is_default() {
            let predicate = predicate.unwrap_or(Predicate::Constant(Some(true)));
            let boundary = request.keyset.as_ref().map(Keyset::boundary);
            let page = scan::page(&core, &predicate, boundary, search.limit, request.matched);
            return Ok(Page {
                hits: page.rows.iter().map(|seq| directory.hit(*seq)).collect(),
                has_next: page.has_next,
                has_prev: page.has_prev,
                matched: page.matched,
            });
        }
        self.sorted_page(connection, directory, request, &order, &core, predicate.as_ref())
    }

    /// A page along the permutation of the search's order.
    fn sorted_page(
        &self,
        connection: &Connection,
        directory: &Directory,
        request: &Request,
        order: &Order,
        core: &CoreRows,
        predicate: Option<&Predicate>,
    ) -> Result<Page> {
        let keys = order
            .keys()
            .map(|(column, kind, descending)| {
                Ok(SortKey {
                    column: self.columns.get(connection, column, kind)?,
                    descending,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let index = self.sorts.get(keys, directory.rows());
        let keyset = request.keyset.as_ref();
        let limit = request.search.limit;
        let members = Members::of(core, predicate, directory.rows());
        let matched = request.matched.unwrap_or_else(|| members.count());
        // Few matches: select the page among them. Many: walk the
        // permutation, which soon finds enough of them.
        let (seqs, more) = if matched <= (directory.rows() / FEW_ROWS) as u64 {
            index.page_among(members.rows(), keyset, limit)?
        } else {
            index.page(keyset, limit, |seq| members.contains(seq))?
        };
        let (has_next, has_prev) = match keyset {
            Some(keyset) if keyset.direction == Direction::Prev => (true, more),
            Some(_) => (more, true),
            None => (more, false),
        };
        let hits = seqs
            .into_iter()
            .map(|seq| Hit {
                sort_key: index.token_key(seq),
                ..directory.hit(seq)
            })
            .collect();
        Ok(Page {
            hits,
            has_next,
            has_prev,
            matched,
        })
    }

    /// The search's filter, query and free text as one predicate (`None`
    /// when it has none). Each is checked by its SQL translation first, so
    /// a mistake is refused the same way on every path.
    fn predicate(
        &self,
        connection: &Connection,
        directory: &Directory,
        search: &Search,
        scope: &Scope<'_>,
    ) -> Result<Option<Predicate>> {
        let mut parts = Vec::new();
        let mut expressions: Vec<Expr> = Vec::new();
        if let Some(filter) = &search.filter {
            expressions.push(filter.clone());
        }
        if let Some(query) = &search.query {
            expressions.push(query_to_expr(query, scope)?);
        }
        for expression in &expressions {
            for conjunct in conjuncts(expression) {
                let sql = to_sql(conjunct, scope)?;
                let condition = to_condition(conjunct, scope);
                parts.push(self.bind(connection, directory, sql, condition)?);
            }
        }
        if let Some(q) = &search.q {
            parts.push(self.bind(connection, directory, q.to_sql(), Some(text_condition(q)))?);
        }
        Ok(match parts.len() {
            0 => None,
            1 => parts.pop(),
            _ => Some(Predicate::And(parts)),
        })
    }

    /// A condition over the columns, or else the rows its SQL matches.
    fn bind(
        &self,
        connection: &Connection,
        directory: &Directory,
        sql: Sql,
        condition: Option<Condition>,
    ) -> Result<Predicate> {
        if let Some(condition) = condition {
            let mut column =
                |field: &stac_indexed_filter::Field| match self.columns.get(connection, &field.column, field.kind) {
                    Ok(column) => Some(column),
                    Err(error) => {
                        tracing::warn!(%error, column = field.column, "column not loaded; DuckDB filters it");
                        None
                    }
                };
            if let Some(predicate) = Predicate::bind(&condition, &mut column) {
                return Ok(predicate);
            }
        }
        let mut rows = Bitmap::new(directory.rows());
        for seq in sql::matching_seqs(connection, &Filter::of_sql(sql))? {
            rows.set(seq as usize);
        }
        Ok(Predicate::Rows(Arc::new(rows)))
    }

    /// Aggregates the matches of a search (optionally within one
    /// collection); one outcome per aggregation, in order. The matches and
    /// their values come from the directory and columns once they are
    /// ready, else DuckDB groups them (the same answers).
    pub async fn aggregate(
        self: &Arc<Self>,
        search: Search,
        collection: Option<String>,
        aggregations: Vec<Aggregation>,
    ) -> Result<Vec<Outcome>> {
        let engine = self.clone();
        self.pool
            .run(move |connection| engine.aggregate_blocking(connection, &search, collection.as_deref(), aggregations))
            .await
    }

    fn aggregate_blocking(
        &self,
        connection: &Connection,
        search: &Search,
        collection: Option<&str>,
        aggregations: Vec<Aggregation>,
    ) -> Result<Vec<Outcome>> {
        let collections = collection
            .map(|c| vec![c.to_string()])
            .or_else(|| search.collections.clone());
        let scope = self.queryables.scope(collections.as_deref());
        // The SQL translation checks the search (the same 400s on every path).
        let filter = Filter::of(search, collection, &scope)?;
        if let Some(directory) = self.directory()
            && let Some(columns) = self.aggregation_columns(connection, &aggregations)
        {
            let predicate = self.predicate(connection, directory, search, &scope)?;
            let core = directory.core_rows(search, collection);
            let rows = Members::of(&core, predicate.as_ref(), directory.rows()).rows();
            let aggregations: Vec<_> = aggregations.into_iter().zip(columns).collect();
            return aggregate::aggregate_rows(directory, &rows, &aggregations);
        }
        aggregate::aggregate(connection, &filter, &aggregations)
    }

    /// The column each aggregation reads in memory (`None` when one cannot
    /// be loaded: DuckDB aggregates then).
    fn aggregation_columns(
        &self,
        connection: &Connection,
        aggregations: &[Aggregation],
    ) -> Option<Vec<Option<Arc<crate::columns::Column>>>> {
        aggregations
            .iter()
            .map(|aggregation| match aggregate::column_of(aggregation) {
                None => Some(None),
                Some((column, kind)) => match self.columns.get(connection, &column, kind) {
                    Ok(column) => Some(Some(column)),
                    Err(error) => {
                        tracing::warn!(%error, column, "column not loaded; DuckDB aggregates");
                        None
                    }
                },
            })
            .collect()
    }

    /// The default bucket width of a numeric queryable's histogram: about
    /// ten round buckets over the range its JSON Schema gives (`minimum`,
    /// `maximum`), or else over the values in the index.
    pub async fn histogram_width(self: &Arc<Self>, queryable: &Queryable) -> Result<f64> {
        let integer = queryable.kind == Kind::Integer;
        let bound = |name: &str| queryable.schema.get(name).and_then(serde_json::Value::as_f64);
        if let (Some(min), Some(max)) = (bound("minimum"), bound("maximum")) {
            return Ok(aggregate::round_width(min, max, integer));
        }
        let engine = self.clone();
        let column = queryable.sql_column();
        self.pool
            .run(move |connection| {
                engine.widths.get(&column, || {
                    let range = aggregate::column_range(connection, &column)?;
                    Ok(range.map_or(1.0, |(min, max)| aggregate::round_width(min, max, integer)))
                })
            })
            .await
    }

    /// The bbox and the values of `columns` (SQL expressions and kinds) of
    /// each row, for answers built from the index alone.
    pub async fn row_values(self: &Arc<Self>, seqs: Vec<i64>, columns: Vec<(String, Kind)>) -> Result<Vec<RowValues>> {
        let engine = self.clone();
        self.pool
            .run(move |connection| engine.row_values_blocking(connection, &seqs, &columns))
            .await
    }

    fn row_values_blocking(
        &self,
        connection: &Connection,
        seqs: &[i64],
        columns: &[(String, Kind)],
    ) -> Result<Vec<RowValues>> {
        let Some(directory) = self.directory() else {
            return sql_row_values(connection, seqs, columns);
        };
        let loaded = columns
            .iter()
            .map(|(column, kind)| match kind {
                Kind::Geometry => Ok(None),
                kind => self.columns.get(connection, column, *kind).map(Some),
            })
            .collect::<Result<Vec<_>>>()?;
        seqs.iter()
            .map(|seq| {
                let seq = u32::try_from(*seq)
                    .ok()
                    .filter(|s| (*s as usize) < directory.rows())
                    .ok_or_else(|| Error::Internal(format!("row {seq} is not in the index")))?;
                let values = loaded
                    .iter()
                    .map(|column| match column {
                        Some(column) => column.sql_value(seq as usize),
                        None => SqlValue::Blob(directory.wkb(seq).into_owned()),
                    })
                    .collect();
                Ok(RowValues {
                    bbox: directory.bbox(seq),
                    values,
                })
            })
            .collect()
    }
}

/// Row values read with SQL (before the directory is ready).
fn sql_row_values(connection: &Connection, seqs: &[i64], columns: &[(String, Kind)]) -> Result<Vec<RowValues>> {
    use stac_indexed_format::schema::{BBOX_XMAX, BBOX_XMIN, BBOX_YMAX, BBOX_YMIN};
    let expressions: Vec<String> = [BBOX_XMIN, BBOX_YMIN, BBOX_XMAX, BBOX_YMAX]
        .into_iter()
        .map(str::to_string)
        .chain(columns.iter().map(|(column, _)| column.clone()))
        .collect();
    let mut rows = sql::columns_of(connection, seqs, &expressions)?;
    seqs.iter()
        .map(|seq| {
            let mut values = rows
                .remove(seq)
                .ok_or_else(|| Error::Internal(format!("row {seq} is not in the index")))?;
            let rest = values.split_off(4);
            let number = |value: &SqlValue| match value {
                SqlValue::Double(v) => *v,
                _ => f64::NAN,
            };
            Ok(RowValues {
                bbox: [
                    number(&values[0]),
                    number(&values[1]),
                    number(&values[2]),
                    number(&values[3]),
                ],
                values: rest,
            })
        })
        .collect()
}

/// The parts of a top-level AND (or the expression itself).
fn conjuncts(expression: &Expr) -> Vec<&Expr> {
    match expression {
        Expr::Operation { op, args } if op == "and" && !args.is_empty() => args.iter().map(|a| &**a).collect(),
        other => vec![other],
    }
}

/// The rows a sorted search matches: its core rows, as ranges when no
/// predicate narrows them, else as a bitmap made in one pass (which also
/// counts them), so that a walk along a permutation tests each row with
/// one bit however the filter correlates with the order.
enum Members<'a> {
    Ranges(&'a [std::ops::Range<u32>]),
    Set(Bitmap),
}

impl Members<'_> {
    fn of<'a>(core: &'a CoreRows, predicate: Option<&Predicate>, rows: usize) -> Members<'a> {
        match (core, predicate) {
            (CoreRows::Ranges(ranges), None) => Members::Ranges(ranges),
            (core, Some(predicate)) => Members::Set(scan::bitmap(core, predicate, rows)),
            (core, None) => Members::Set(scan::bitmap(core, &Predicate::Constant(Some(true)), rows)),
        }
    }

    fn count(&self) -> u64 {
        match self {
            Members::Ranges(ranges) => ranges.iter().map(|r| u64::from(r.end - r.start)).sum(),
            Members::Set(set) => set.count(),
        }
    }

    /// Every member, ascending.
    fn rows(&self) -> Vec<u32> {
        match self {
            Members::Ranges(ranges) => ranges.iter().flat_map(Clone::clone).collect(),
            Members::Set(set) => set.ones(),
        }
    }

    fn contains(&self, seq: u32) -> bool {
        match self {
            Members::Ranges(ranges) => ranges.iter().any(|r| r.contains(&seq)),
            Members::Set(set) => set.get(seq as usize),
        }
    }
}

fn open_database(items: &Path, errors: &Path) -> Result<Connection> {
    let connection = Connection::open_in_memory()?;
    connection.execute_batch(&format!(
        "SET threads = 1;
         SET TimeZone = 'UTC';
         SET autoinstall_known_extensions = false;
         SET autoload_known_extensions = false;
         CREATE VIEW items AS SELECT * FROM read_parquet({items});
         CREATE VIEW errors AS SELECT * FROM read_parquet({errors});",
        items = stac_indexed_format::sql_path(items),
        errors = stac_indexed_format::sql_path(errors),
    ))?;
    stac_indexed_filter::spatial::register_functions(&connection)?;
    Ok(connection)
}

/// Copies the items into memory and repoints the `items` view at the copy.
fn load_into_memory(connection: &Connection) -> Result<()> {
    connection.execute_batch(
        "CREATE TABLE items_in_memory AS SELECT * FROM items ORDER BY seq;
         CREATE INDEX items_by_key ON items_in_memory (collection, id);
         CREATE OR REPLACE VIEW items AS SELECT * FROM items_in_memory;",
    )?;
    Ok(())
}
