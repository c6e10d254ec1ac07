//! A validated search to parameterised DuckDB SQL over the `items` view, and
//! the keyset-paged query itself.
//!
//! Every value is a bound parameter; every identifier is one of the index's
//! own columns. Spatial filters prune with the bbox columns and then test the
//! geometry exactly (`st_intersects`).

use crate::paging::Boundary;
use crate::search::{Interval, Search};
use crate::spatial::INTERSECTS;
use crate::{Error, Result};
use duckdb::types::{TimeUnit, Value as SqlValue};
use duckdb::{Connection, params_from_iter};
use serde_json::json;
use stac_indexed_format::geometry::{Bbox, encode_geojson};

/// A WHERE clause with its parameters.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    clauses: Vec<String>,
    params: Vec<SqlValue>,
}

impl Filter {
    /// The filter of a search, optionally within one collection.
    pub fn of(search: &Search, collection: Option<&str>) -> Result<Filter> {
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
            filter.push_bbox(bbox);
            filter.push_within_or_intersects(bbox, bbox_wkb(bbox)?);
        }
        if let Some(geometry) = &search.intersects {
            filter.push_bbox(geometry.bbox);
            filter.push_intersects(geometry.wkb.clone());
        }
        if let Some(interval) = search.datetime {
            filter.push_interval(interval);
        }
        Ok(filter)
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

    /// Items whose bbox meets `bbox`, either of which may cross the antimeridian.
    fn push_bbox(&mut self, [west, south, east, north]: Bbox) {
        let ranges: Vec<(f64, f64)> = if west <= east {
            vec![(west, east)]
        } else {
            vec![(west, 180.0), (-180.0, east)]
        };
        let mut longitude = Vec::new();
        for (low, high) in ranges {
            longitude.push(
                "((bbox_xmin <= bbox_xmax AND bbox_xmin <= ? AND bbox_xmax >= ?) \
                 OR (bbox_xmin > bbox_xmax AND (bbox_xmin <= ? OR bbox_xmax >= ?)))"
                    .to_string(),
            );
            self.params.extend([high, low, high, low].map(SqlValue::Double));
        }
        self.clauses.push(format!("({})", longitude.join(" OR ")));
        self.push(
            "bbox_ymin <= ? AND bbox_ymax >= ?",
            [SqlValue::Double(north), SqlValue::Double(south)],
        );
    }

    /// Items whose bbox lies inside a (non-crossing) query box intersect it
    /// without a geometry test; the others are tested exactly.
    fn push_within_or_intersects(&mut self, [west, south, east, north]: Bbox, wkb: Vec<u8>) {
        if west > east {
            return self.push_intersects(wkb);
        }
        self.push(
            &format!(
                "((bbox_xmin <= bbox_xmax AND bbox_xmin >= ? AND bbox_xmax <= ? AND bbox_ymin >= ? AND bbox_ymax <= ?) \
                 OR {INTERSECTS}(geometry, ?))"
            ),
            [
                SqlValue::Double(west),
                SqlValue::Double(east),
                SqlValue::Double(south),
                SqlValue::Double(north),
                SqlValue::Blob(wkb),
            ],
        );
    }

    fn push_intersects(&mut self, wkb: Vec<u8>) {
        self.push(&format!("{INTERSECTS}(geometry, ?)"), [SqlValue::Blob(wkb)]);
    }

    /// An item meets the interval by its datetime, or by its start/end range.
    fn push_interval(&mut self, interval: Interval) {
        if let Some(end) = interval.end {
            self.push("coalesce(start_datetime, datetime) <= ?::TIMESTAMPTZ", [timestamp(end)]);
        }
        if let Some(start) = interval.start {
            self.push("coalesce(end_datetime, datetime) >= ?::TIMESTAMPTZ", [timestamp(start)]);
        }
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "true".into()
        } else {
            self.clauses.join(" AND ")
        }
    }
}

fn text(value: &str) -> SqlValue {
    SqlValue::Text(value.to_string())
}

fn timestamp(micros: i64) -> SqlValue {
    SqlValue::Timestamp(TimeUnit::Microsecond, micros)
}

/// A box as a polygon (two, split at the antimeridian, when west > east).
fn bbox_wkb([west, south, east, north]: Bbox) -> Result<Vec<u8>> {
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

/// One row of a result page: what is needed to fetch and link the item.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// The row's sort key.
    pub seq: i64,
    /// The collection id.
    pub collection: String,
    /// The item id.
    pub id: String,
    /// Where the item is.
    pub href: String,
    /// The hash of the indexed item document.
    pub content_hash: String,
}

/// A page of hits and whether there are more on either side.
#[derive(Debug)]
pub struct Page {
    /// The hits, in order.
    pub hits: Vec<Hit>,
    /// Rows exist after the last hit.
    pub has_next: bool,
    /// Rows exist before the first hit.
    pub has_prev: bool,
    /// How many rows match in all.
    pub matched: u64,
}

/// Runs a keyset-paged search: `limit` rows after (or before) the boundary, in `seq` order.
pub fn page(connection: &Connection, filter: &Filter, boundary: Option<Boundary>, limit: usize) -> Result<Page> {
    let params = &filter.params;
    // The boundary and the limit are integers of ours, written into the SQL:
    // DuckDB prunes row groups and uses its top-N only for constants.
    let (keyset, order) = match boundary {
        None => (String::new(), "seq"),
        Some(Boundary::After(seq)) => (format!(" AND seq > {seq}"), "seq"),
        Some(Boundary::Before(seq)) => (format!(" AND seq < {seq}"), "seq DESC"),
    };
    let sql = format!(
        "SELECT seq, collection, id, href, content_hash FROM items WHERE {}{keyset} ORDER BY {order} LIMIT {}",
        filter.sql(),
        limit + 1
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let mut hits = statement
        .query_map(params_from_iter(params.iter()), |row| {
            Ok(Hit {
                seq: row.get(0)?,
                collection: row.get(1)?,
                id: row.get(2)?,
                href: row.get(3)?,
                content_hash: row.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let more = hits.len() > limit;
    hits.truncate(limit);
    let (has_next, has_prev) = match boundary {
        None => (more, false),
        Some(Boundary::After(_)) => (more, true),
        Some(Boundary::Before(_)) => {
            hits.reverse();
            (true, more)
        }
    };
    // A first page that holds every match needs no count.
    let matched = if boundary.is_none() && !more {
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

/// How many rows match a filter.
pub fn count(connection: &Connection, filter: &Filter) -> Result<u64> {
    let sql = format!("SELECT count(*) FROM items WHERE {}", filter.sql());
    let mut statement = connection.prepare_cached(&sql)?;
    let count: i64 = statement.query_row(params_from_iter(filter.params.iter()), |row| row.get(0))?;
    Ok(count as u64)
}

/// One item's row by collection and id.
pub fn item(connection: &Connection, collection: &str, id: &str) -> Result<Option<Hit>> {
    let mut statement = connection
        .prepare_cached("SELECT seq, collection, id, href, content_hash FROM items WHERE collection = ? AND id = ?")?;
    let mut rows = statement.query_map([collection, id], |row| {
        Ok(Hit {
            seq: row.get(0)?,
            collection: row.get(1)?,
            id: row.get(2)?,
            href: row.get(3)?,
            content_hash: row.get(4)?,
        })
    })?;
    Ok(rows.next().transpose()?)
}
