//! Collection search: the index's collections as the rows of a small
//! in-memory DuckDB table, searched with the same SQL translation as items
//! ([`crate::sql`]): `bbox` against the collections' spatial extents,
//! `datetime` against their temporal extents, `q` over id, title,
//! description and keywords, CQL2 `filter` over the collection queryables
//! ([`Collections::queryables`]), `sortby`, and keyset paging with the
//! exact count.
//!
//! The table has the columns of the items table that the translation
//! uses (a collection's extent is its bbox, and its temporal extent its
//! `start_datetime`/`end_datetime`, open ends as `-infinity`/`infinity`),
//! plus `title`, `description`, `keywords` and `license`.

use crate::hit::Page;
use crate::keyset::Keyset;
use crate::pool::Pool;
use crate::search::Search;
use crate::sort::Order;
use crate::sql::{self, Filter, PageQuery};
use crate::{Error, Result};
use duckdb::Connection;
use duckdb::types::Value as SqlValue;
use stac_indexed_filter::Queryables;
use stac_indexed_format::IndexConfig;
use stac_indexed_format::geometry::Bbox;
use std::sync::Arc;

/// What collection search knows of one collection.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CollectionRow {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: Option<String>,
    /// Its description.
    pub description: Option<String>,
    /// Its keywords.
    pub keywords: Vec<String>,
    /// Its license.
    pub license: Option<String>,
    /// The bounds of its spatial extent (west may exceed east).
    pub bbox: Option<Bbox>,
    /// The start of its temporal extent (UTC microseconds; `None`: open).
    pub start: Option<i64>,
    /// The end of its temporal extent (UTC microseconds; `None`: open).
    pub end: Option<i64>,
}

/// The collections of one index version, searchable.
pub struct Collections {
    pool: Arc<Pool>,
    queryables: Queryables,
}

/// The queryable fields of collections beyond the built-in ones (`id`,
/// `datetime`, `start_datetime`, `end_datetime`, `geometry`): `title`,
/// `license` (both sortable), `description`, `keywords`.
pub fn collection_fields() -> IndexConfig {
    IndexConfig::from_json(
        r#"{"fields": [
            {"name": "title", "path": "title", "type": "string", "sortable": true,
             "schema": {"title": "Title", "type": "string"}},
            {"name": "description", "path": "description", "type": "string",
             "schema": {"title": "Description", "type": "string"}},
            {"name": "keywords", "path": "keywords", "type": "string[]",
             "schema": {"title": "Keywords", "type": "array", "items": {"type": "string"}}},
            {"name": "license", "path": "license", "type": "string", "sortable": true,
             "schema": {"title": "License", "type": "string"}}
        ]}"#,
    )
    .expect("the collection fields are a valid index config")
}

impl Collections {
    /// The collections as a table. Blocking.
    pub fn open(rows: &[CollectionRow]) -> Result<Collections> {
        let connection = Connection::open_in_memory()?;
        connection.execute_batch(
            "SET threads = 1;
             SET TimeZone = 'UTC';
             SET autoinstall_known_extensions = false;
             SET autoload_known_extensions = false;
             CREATE TABLE items (
                 seq BIGINT, collection VARCHAR, id VARCHAR, href VARCHAR, content_hash VARCHAR,
                 datetime TIMESTAMPTZ, start_datetime TIMESTAMPTZ, end_datetime TIMESTAMPTZ,
                 bbox_xmin DOUBLE, bbox_ymin DOUBLE, bbox_xmax DOUBLE, bbox_ymax DOUBLE, geometry BLOB,
                 search_text VARCHAR, title VARCHAR, description VARCHAR, keywords VARCHAR[], license VARCHAR);",
        )?;
        stac_indexed_filter::spatial::register_functions(&connection)?;
        {
            let mut insert = connection.prepare(
                "INSERT INTO items VALUES (?, ?, ?, '', '', NULL,
                     coalesce(make_timestamp(?::BIGINT)::TIMESTAMPTZ, '-infinity'::TIMESTAMPTZ),
                     coalesce(make_timestamp(?::BIGINT)::TIMESTAMPTZ, 'infinity'::TIMESTAMPTZ),
                     ?, ?, ?, ?, ?, ?, ?, ?,
                     list_filter(string_split(?, chr(31)), lambda k: k <> ''), ?)",
            )?;
            for (seq, row) in rows.iter().enumerate() {
                let bbox = row.bbox.map_or([None; 4], |b| b.map(Some));
                let geometry = row.bbox.map(sql::bbox_wkb).transpose()?;
                let text = |value: &Option<String>| value.clone().map_or(SqlValue::Null, SqlValue::Text);
                let mut params: Vec<SqlValue> = vec![
                    SqlValue::BigInt(seq as i64),
                    SqlValue::Text(row.id.clone()),
                    SqlValue::Text(row.id.clone()),
                    row.start.map_or(SqlValue::Null, SqlValue::BigInt),
                    row.end.map_or(SqlValue::Null, SqlValue::BigInt),
                ];
                params.extend(bbox.map(|v| v.map_or(SqlValue::Null, SqlValue::Double)));
                params.extend([
                    geometry.map_or(SqlValue::Null, SqlValue::Blob),
                    SqlValue::Text(search_text(row)),
                    text(&row.title),
                    text(&row.description),
                    SqlValue::Text(row.keywords.join("\u{1f}")),
                    text(&row.license),
                ]);
                insert.execute(duckdb::params_from_iter(params))?;
            }
        }
        Ok(Collections {
            pool: Pool::new(connection, 2)?,
            queryables: Queryables::new(&collection_fields()),
        })
    }

    /// What collection filters and sorts may use.
    pub fn queryables(&self) -> &Queryables {
        &self.queryables
    }

    /// A page of a collection search: hits whose `id` is a collection id.
    pub async fn page(&self, search: Search, keyset: Option<Keyset>) -> Result<Page> {
        let queryables = self.queryables.clone();
        self.pool
            .run(move |connection| {
                let scope = queryables.scope(None);
                if search.ids.is_some() || search.collections.is_some() || search.query.is_some() {
                    return Err(Error::bad_request(
                        "collection search takes bbox, datetime, q, filter, sortby and limit",
                    ));
                }
                let query = PageQuery {
                    filter: Filter::of(&search, None, &scope)?,
                    order: Order::resolve(&search.sortby, &scope)?,
                    keyset,
                    limit: search.limit,
                };
                sql::page(connection, &query, None)
            })
            .await
    }
}

/// Lower-cased id, title, description and keywords: what `q` searches, as
/// the indexer writes items' `search_text`.
fn search_text(row: &CollectionRow) -> String {
    let mut parts = vec![row.id.as_str()];
    parts.extend(row.title.as_deref());
    parts.extend(row.description.as_deref());
    parts.extend(row.keywords.iter().map(String::as_str));
    parts.join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<CollectionRow> {
        let micros = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp_micros();
        vec![
            CollectionRow {
                id: "radar".into(),
                title: Some("Sentinel-1 radar".into()),
                keywords: vec!["SAR".into(), "backscatter".into()],
                bbox: Some([-10.0, 35.0, 30.0, 60.0]),
                start: Some(micros("2020-01-01T00:00:00Z")),
                end: None,
                ..CollectionRow::default()
            },
            CollectionRow {
                id: "optical".into(),
                title: Some("Optical".into()),
                description: Some("Multispectral imagery".into()),
                license: Some("CC-BY-4.0".into()),
                bbox: Some([100.0, -10.0, 120.0, 10.0]),
                start: Some(micros("2015-01-01T00:00:00Z")),
                end: Some(micros("2018-12-31T00:00:00Z")),
                ..CollectionRow::default()
            },
            CollectionRow {
                id: "timeless".into(),
                ..CollectionRow::default()
            },
        ]
    }

    async fn ids(collections: &Collections, search: Search) -> Vec<String> {
        let page = collections.page(search, None).await.unwrap();
        page.hits.into_iter().map(|h| h.id).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn extents_text_and_filters_select_collections() {
        let collections = Collections::open(&rows()).unwrap();
        let search = |f: &dyn Fn(&mut Search)| {
            let mut search = Search {
                limit: 10,
                ..Search::default()
            };
            f(&mut search);
            search
        };
        assert_eq!(
            ids(&collections, search(&|_| {})).await,
            ["radar", "optical", "timeless"]
        );
        assert_eq!(
            ids(&collections, search(&|s| s.bbox = Some([0.0, 40.0, 1.0, 41.0]))).await,
            ["radar"]
        );
        let since = |year: i32| {
            let start = chrono::NaiveDate::from_ymd_opt(year, 1, 1)
                .unwrap()
                .and_time(chrono::NaiveTime::MIN);
            Some(crate::Interval {
                start: Some(start.and_utc().timestamp_micros()),
                end: None,
            })
        };
        // 2017 onwards: the open-ended radar, optical's 2015-2018, and the collection without an extent.
        let search_since = |year| Search {
            datetime: since(year),
            limit: 10,
            ..Search::default()
        };
        assert_eq!(
            ids(&collections, search_since(2017)).await,
            ["radar", "optical", "timeless"]
        );
        assert_eq!(ids(&collections, search_since(2019)).await, ["radar", "timeless"]);
        assert_eq!(
            ids(
                &collections,
                search(&|s| s.q = Some(stac_indexed_filter::TextQuery::parse("sar").unwrap()))
            )
            .await,
            ["radar"]
        );
        let filter = stac_indexed_filter::parse_filter(
            &serde_json::json!("license = 'CC-BY-4.0'"),
            stac_indexed_filter::FilterLang::Cql2Text,
        )
        .unwrap();
        assert_eq!(
            ids(&collections, search(&|s| s.filter = Some(filter.clone()))).await,
            ["optical"]
        );
        let sorted = search(&|s| s.sortby = crate::sort::parse_text("-title").unwrap());
        assert_eq!(ids(&collections, sorted).await, ["radar", "optical", "timeless"]);
        let sorted = search(&|s| s.sortby = crate::sort::parse_text("id").unwrap());
        assert_eq!(ids(&collections, sorted).await, ["optical", "radar", "timeless"]);
        let unknown = stac_indexed_filter::parse_filter(
            &serde_json::json!("platform = 'x'"),
            stac_indexed_filter::FilterLang::Cql2Text,
        )
        .unwrap();
        let refused = collections
            .page(search(&|s| s.filter = Some(unknown.clone())), None)
            .await;
        assert!(matches!(refused, Err(Error::Filter(_))), "{refused:?}");
    }
}
