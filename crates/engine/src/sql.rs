//! The reference translation: a search as parameterised DuckDB SQL over the
//! `items` view, and the keyset-paged query itself. It answers every search
//! before the row directory is ready, and the parity tests hold the engine to it.
//!
//! Every text value and geometry is a bound parameter; numbers and
//! timestamps, which the API has already parsed into `f64` and `i64`, are
//! written into the SQL as literals (DuckDB prunes row groups and folds
//! constants only for literals: about 40% faster here). Every identifier is
//! one of the index's own columns. Spatial filters prune with the bbox
//! columns and then test the geometry exactly (`st_intersects`).

use crate::directory::Directory;
use crate::hit::{Hit, Page};
use crate::keyset::{Direction, Keyset};
use crate::search::{Interval, Search};
use crate::sort::{Order, token_value};
use crate::{Error, Result};
use arrow_array::{Array, Int64Array};
use duckdb::types::Value as SqlValue;
use duckdb::{Connection, params_from_iter};
use serde_json::json;
use stac_indexed_filter::spatial::INTERSECTS;
use stac_indexed_filter::{Scope, Sql, query_to_expr, to_sql};
use stac_indexed_format::geometry::{Bbox, encode_geojson};
use std::collections::{HashMap, HashSet};

/// A WHERE clause with its parameters.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    clauses: Vec<String>,
    params: Vec<SqlValue>,
}

impl Filter {
    /// The filter of a search, optionally within one collection; its
    /// extension filters may use what `scope` holds.
    pub fn of(search: &Search, collection: Option<&str>, scope: &Scope<'_>) -> Result<Filter> {
        let mut filter = Filter::default();
        if let Some(collection) = collection {
            filter.push("collection = ?", [text(collection)]);
        }
        if let Some(ids) = &search.ids {
            filter.push_in("id", ids);
        }
        if let Some(collections) = &search.collections {
            filter.push_in("collection", collections);
        }
        if let Some(bbox) = search.bbox {
            let within = (bbox[0] <= bbox[2]).then_some(bbox);
            filter.push_spatial(bbox, within, bbox_wkb(bbox)?);
        }
        if let Some(geometry) = &search.intersects {
            filter.push_spatial(geometry.bbox, None, geometry.wkb.clone());
        }
        if let Some(interval) = search.datetime {
            filter.push_interval(interval);
        }
        filter.push_extensions(search, scope)?;
        Ok(filter)
    }

    /// One extension condition alone.
    pub fn of_sql(sql: Sql) -> Filter {
        let mut filter = Filter::default();
        filter.push_sql(sql);
        filter
    }

    fn push_extensions(&mut self, search: &Search, scope: &Scope<'_>) -> Result<()> {
        if let Some(expression) = &search.filter {
            self.push_sql(to_sql(expression, scope)?);
        }
        if let Some(query) = &search.query {
            let expression = query_to_expr(query, scope)?;
            self.push_sql(to_sql(&expression, scope)?);
        }
        if let Some(q) = &search.q {
            self.push_sql(q.to_sql());
        }
        Ok(())
    }

    /// The parameters of the WHERE clause, in order.
    pub(crate) fn params(&self) -> &[SqlValue] {
        &self.params
    }

    fn push_sql(&mut self, sql: Sql) {
        self.push(&format!("({})", sql.text), sql.params);
    }

    fn push(&mut self, clause: &str, params: impl IntoIterator<Item = SqlValue>) {
        self.clauses.push(clause.to_string());
        self.params.extend(params);
    }

    fn push_in(&mut self, column: &str, values: &[String]) {
        if values.is_empty() {
            self.clauses.push("false".into());
            return;
        }
        let marks = vec!["?"; values.len()].join(", ");
        self.push(&format!("{column} IN ({marks})"), values.iter().map(|v| text(v)));
    }

    /// Items whose geometry intersects a query geometry with bounds `bounds`.
    ///
    /// The plain bbox comparisons let DuckDB prune; the exact test then runs
    /// only on rows whose bbox overlaps (a CASE guarantees the order), and not
    /// at all on rows whose bbox lies inside `within` (a query box).
    fn push_spatial(&mut self, bounds: Bbox, within: Option<Bbox>, wkb: Vec<u8>) {
        let overlap = bbox_overlap(bounds);
        self.push(&overlap, []);
        let mut sql = format!("CASE WHEN NOT ({overlap}) THEN false ");
        if let Some([west, south, east, north]) = within {
            let [west, south, east, north] = [west, south, east, north].map(number);
            sql.push_str(&format!(
                "WHEN bbox_xmin <= bbox_xmax AND bbox_xmin >= {west} AND bbox_xmax <= {east} \
                 AND bbox_ymin >= {south} AND bbox_ymax <= {north} THEN true "
            ));
        }
        sql.push_str(&format!("ELSE {INTERSECTS}(geometry, ?) END"));
        self.push(&sql, [SqlValue::Blob(wkb)]);
    }

    /// An item meets the interval by its datetime, or by its start/end range.
    fn push_interval(&mut self, interval: Interval) {
        if let Some(end) = interval.end {
            self.push(&format!("coalesce(start_datetime, datetime) <= {}", timestamp(end)), []);
        }
        if let Some(start) = interval.start {
            self.push(&format!("coalesce(end_datetime, datetime) >= {}", timestamp(start)), []);
        }
    }

    /// The WHERE clause (`true` when empty).
    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "true".into()
        } else {
            self.clauses.join(" AND ")
        }
    }
}

/// Items whose bbox meets `bounds`, either of which may cross the antimeridian.
fn bbox_overlap([west, south, east, north]: Bbox) -> String {
    let ranges: Vec<(f64, f64)> = if west <= east {
        vec![(west, east)]
    } else {
        vec![(west, 180.0), (-180.0, east)]
    };
    let longitude: Vec<String> = ranges
        .iter()
        .map(|(low, high)| {
            let (low, high) = (number(*low), number(*high));
            format!(
                "((bbox_xmin <= bbox_xmax AND bbox_xmin <= {high} AND bbox_xmax >= {low}) \
                 OR (bbox_xmin > bbox_xmax AND (bbox_xmin <= {high} OR bbox_xmax >= {low})))"
            )
        })
        .collect();
    let (north, south) = (number(north), number(south));
    format!(
        "({}) AND bbox_ymin <= {north} AND bbox_ymax >= {south}",
        longitude.join(" OR ")
    )
}

/// A finite number as an exact DOUBLE literal.
fn number(value: f64) -> String {
    debug_assert!(value.is_finite());
    format!("{value:?}::DOUBLE")
}

/// UTC microseconds as an exact TIMESTAMPTZ literal.
fn timestamp(micros: i64) -> String {
    let instant = chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default();
    format!(
        "'{}'::TIMESTAMPTZ",
        instant.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    )
}

fn text(value: &str) -> SqlValue {
    SqlValue::Text(value.to_string())
}

/// A box as a polygon (two, split at the antimeridian, when west > east).
pub(crate) fn bbox_wkb([west, south, east, north]: Bbox) -> Result<Vec<u8>> {
    let ring = |w: f64, e: f64| json!([[[w, south], [e, south], [e, north], [w, north], [w, south]]]);
    let geometry = if west <= east {
        json!({"type": "Polygon", "coordinates": ring(west, east)})
    } else {
        json!({"type": "MultiPolygon", "coordinates": [ring(west, 180.0), ring(-180.0, east)]})
    };
    encode_geojson(&geometry)
        .map(|e| e.wkb)
        .map_err(|e| Error::bad_request(format!("bbox: {e}")))
}

/// The columns every hit selects, before its sort columns.
const HIT_COLUMNS: &str = "seq, collection, id, href, content_hash";

impl Hit {
    /// A hit from a row of `seq` and then `sort_columns` sort values, completed by the directory.
    fn from_seq_row(directory: &Directory, row: &duckdb::Row<'_>, sort_columns: usize) -> duckdb::Result<Hit> {
        let seq: i64 = row.get(0)?;
        let mut hit = directory.hit(seq as u32);
        hit.sort_key = (1..1 + sort_columns)
            .map(|i| row.get::<_, SqlValue>(i).map(token_value))
            .collect::<duckdb::Result<_>>()?;
        Ok(hit)
    }

    /// A hit from a row of [`HIT_COLUMNS`], then `sort_columns` sort values.
    fn from_row(row: &duckdb::Row<'_>, sort_columns: usize) -> duckdb::Result<Hit> {
        Ok(Hit {
            seq: row.get(0)?,
            collection: row.get(1)?,
            id: row.get(2)?,
            href: row.get(3)?,
            content_hash: row.get(4)?,
            sort_key: (5..5 + sort_columns)
                .map(|i| row.get::<_, SqlValue>(i).map(token_value))
                .collect::<duckdb::Result<_>>()?,
        })
    }
}

/// One page of a search, as SQL will run it.
#[derive(Debug)]
pub struct PageQuery {
    /// Which rows.
    pub filter: Filter,
    /// In which order.
    pub order: Order,
    /// After (or before) which row.
    pub keyset: Option<Keyset>,
    /// How many.
    pub limit: usize,
}

/// Runs a keyset-paged search: `limit` rows after (or before) the keyset, in
/// `order`. With a row directory, only the seqs and sort values are read
/// from the index (narrow rows sort faster), and the directory gives the rest.
pub fn page(connection: &Connection, query: &PageQuery, directory: Option<&Directory>) -> Result<Page> {
    let PageQuery {
        filter,
        order,
        keyset,
        limit,
    } = query;
    let (keyset, limit) = (keyset.as_ref(), *limit);
    let mut params = filter.params.clone();
    let backwards = keyset.is_some_and(|k| k.direction == Direction::Prev);
    let keyset_sql = match keyset {
        None => String::new(),
        // The seq and the limit are integers of ours, written into the SQL:
        // DuckDB prunes row groups and uses its top-N only for constants.
        Some(keyset) if order.is_default() => {
            format!(" AND seq {} {}", if backwards { "<" } else { ">" }, keyset.seq)
        }
        Some(keyset) => {
            let (sql, keyset_params) = order.keyset_clause(keyset)?;
            params.extend(keyset_params);
            format!(" AND {sql}")
        }
    };
    let sort_columns: Vec<&str> = order.columns().collect();
    let leading = if directory.is_some() { "seq" } else { HIT_COLUMNS };
    let select = std::iter::once(leading).chain(sort_columns.iter().copied());
    let sql = format!(
        "SELECT {} FROM items WHERE {}{keyset_sql} ORDER BY {} LIMIT {}",
        select.collect::<Vec<_>>().join(", "),
        filter.sql(),
        order.order_by(backwards),
        limit + 1
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let mut hits = statement
        .query_map(params_from_iter(params.iter()), |row| match directory {
            Some(directory) => Hit::from_seq_row(directory, row, order.column_count()),
            None => Hit::from_row(row, order.column_count()),
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let more = hits.len() > limit;
    hits.truncate(limit);
    let (has_next, has_prev) = match keyset {
        None => (more, false),
        Some(_) if !backwards => (more, true),
        Some(_) => {
            hits.reverse();
            (true, more)
        }
    };
    // A first page that holds every match needs no count.
    let matched = if keyset.is_none() && !more {
        hits.len() as u64
    } else {
        count(connection, filter)?
    };
    Ok(Page {
        hits,
        has_next,
        has_prev,
        matched,
    })
}

/// The seqs of every row a filter matches, sorted. Only the filter's own
/// columns are read (the row directory does the rest of the search).
pub fn matching_seqs(connection: &Connection, filter: &Filter) -> Result<Vec<u32>> {
    let sql = format!("SELECT seq FROM items WHERE {}", filter.sql());
    let mut statement = connection.prepare_cached(&sql)?;
    let mut seqs = Vec::new();
    for batch in statement.query_arrow(params_from_iter(filter.params.iter()))? {
        let column = batch.column(0);
        let values = column
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| Error::Internal(format!("seq is {}, not BIGINT", column.data_type())))?;
        seqs.extend(values.values().iter().map(|seq| *seq as u32));
    }
    if !seqs.is_sorted() {
        seqs.sort_unstable();
    }
    Ok(seqs)
}

/// Columns (SQL expressions over `items`) of some rows, by seq.
pub fn columns_of(connection: &Connection, seqs: &[i64], columns: &[String]) -> Result<HashMap<i64, Vec<SqlValue>>> {
    let (Some(low), Some(high)) = (seqs.iter().min(), seqs.iter().max()) else {
        return Ok(HashMap::new());
    };
    let wanted: HashSet<i64> = seqs.iter().copied().collect();
    // The seqs are integers of ours, written as literals so that DuckDB skips
    // row groups. A page in the index's order is (nearly) one range: reading
    // the range and keeping the wanted rows here beats a long IN list.
    let dense = (high - low) as usize <= 2 * seqs.len();
    let mut sql = format!(
        "SELECT seq, {} FROM items WHERE seq BETWEEN {low} AND {high}",
        columns.join(", ")
    );
    if !dense {
        let list: Vec<String> = seqs.iter().map(i64::to_string).collect();
        sql.push_str(&format!(" AND seq IN ({})", list.join(", ")));
    }
    // Its literals differ per page: not worth a place in the statement cache.
    let mut statement = connection.prepare(&sql)?;
    let mut found = HashMap::with_capacity(seqs.len());
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        if wanted.contains(&seq) {
            let values = (1..=columns.len())
                .map(|i| row.get::<_, SqlValue>(i))
                .collect::<duckdb::Result<Vec<_>>>()?;
            found.insert(seq, values);
        }
    }
    Ok(found)
}

/// How many rows match a filter.
pub fn count(connection: &Connection, filter: &Filter) -> Result<u64> {
    let sql = format!("SELECT count(*) FROM items WHERE {}", filter.sql());
    let mut statement = connection.prepare_cached(&sql)?;
    let count: i64 = statement.query_row(params_from_iter(filter.params.iter()), |row| row.get(0))?;
    Ok(count as u64)
}

/// One item's row by collection and id.
pub fn item(connection: &Connection, collection: &str, id: &str) -> Result<Option<Hit>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {HIT_COLUMNS} FROM items WHERE collection = ? AND id = ?"
    ))?;
    let mut rows = statement.query_map([collection, id], |row| Hit::from_row(row, 0))?;
    Ok(rows.next().transpose()?)
}
