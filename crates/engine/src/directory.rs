//! A compact in-memory directory of the index's rows, in `seq` order.
//!
//! The index is published sorted (collection, then newest first, then id)
//! with a dense `seq`, so each collection is one contiguous range of rows:
//! every item, a collection's items and `ids` are answered by slicing and
//! hashing. Each row also keeps its bbox, its time interval and its WKB, and
//! a [`Grid`] over the bboxes finds the rows a spatial search may match:
//! `bbox`, `intersects` and `datetime` searches cost what they match, not
//! what the index holds, with the same exact geometry test as the SQL path.
//! The directory is built in the background after start-up; until it is
//! ready, DuckDB answers every search.

use crate::Result;
use crate::grid::Grid;
use crate::hit::{Hit, Page};
use crate::keyset::Boundary;
use crate::scan::CoreRows;
use crate::search::{Interval, Search};
use crate::sql::bbox_wkb;
use duckdb::Connection;
use geo::{Geometry, Intersects};
use hashbrown::HashTable;
use stac_indexed_filter::spatial::decode_wkb;
use stac_indexed_format::geometry::Bbox;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::ops::Range;

/// Byte strings end to end in one buffer: one allocation for a million
/// values instead of a million (a boxed string costs its pointer, its
/// length and the allocator's rounding on top of its bytes).
#[derive(Default)]
struct Packed {
    bytes: Vec<u8>,
    ends: Vec<u64>,
}

impl Packed {
    fn push(&mut self, value: &[u8]) {
        self.bytes.extend_from_slice(value);
        self.ends.push(self.bytes.len() as u64);
    }

    fn get(&self, index: usize) -> &[u8] {
        let start = if index == 0 { 0 } else { self.ends[index - 1] as usize };
        &self.bytes[start..self.ends[index] as usize]
    }

    /// A value pushed as a `str`.
    fn text(&self, index: usize) -> &str {
        std::str::from_utf8(self.get(index)).unwrap_or_default()
    }

    fn shrink(&mut self) {
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// Every row of one index version, addressable by `seq` and by (collection, id).
pub struct Directory {
    /// Per seq, the index of its collection in `collections`.
    row_collections: Vec<u16>,
    ids: Packed,
    hrefs: Packed,
    content_hashes: Packed,
    wkbs: Packed,
    /// Per seq, kept apart and contiguous: what every spatial or temporal
    /// search reads for each candidate.
    bboxes: Vec<Bbox>,
    /// `coalesce(start_datetime, datetime)` and `coalesce(end_datetime, datetime)`, UTC microseconds.
    intervals: Vec<(i64, i64)>,
    collections: Vec<String>,
    ranges: HashMap<String, Range<u32>>,
    /// Seqs, found by (collection, id) without storing the keys twice.
    by_key: HashTable<u32>,
    hasher: RandomState,
    grid: Grid,
}

impl Directory {
    /// Reads every row from the `items` view, in `seq` order.
    pub fn load(connection: &Connection) -> Result<Directory> {
        let mut statement = connection.prepare(
            "SELECT seq, collection, id, href, content_hash, bbox_xmin, bbox_ymin, bbox_xmax, bbox_ymax,
                    epoch_us(coalesce(start_datetime, datetime)), epoch_us(coalesce(end_datetime, datetime)),
                    geometry
             FROM items",
        )?;
        let mut row_collections: Vec<u16> = Vec::new();
        let (mut ids, mut hrefs, mut content_hashes, mut wkbs) = (
            Packed::default(),
            Packed::default(),
            Packed::default(),
            Packed::default(),
        );
        let mut bboxes = Vec::new();
        let mut intervals = Vec::new();
        let mut collections: Vec<String> = Vec::new();
        let mut ranges: HashMap<String, Range<u32>> = HashMap::new();
        let mut results = statement.query([])?;
        while let Some(row) = results.next()? {
            let seq: i64 = row.get(0)?;
            let collection: String = row.get(1)?;
            let id: String = row.get(2)?;
            if seq != row_collections.len() as i64 {
                return Err(crate::Error::Internal(format!(
                    "seq {seq} is not dense at row {}",
                    row_collections.len()
                )));
            }
            let position = row_collections.len() as u32;
            if collections.last() != Some(&collection) {
                collections.push(collection.clone());
                ranges.insert(collection.clone(), position..position);
            }
            if let Some(range) = ranges.get_mut(&collection) {
                range.end = position + 1;
            }
            let collection_number = u16::try_from(collections.len() - 1)
                .map_err(|_| crate::Error::Internal("more than 65,536 collections".into()))?;
            row_collections.push(collection_number);
            ids.push(id.as_bytes());
            hrefs.push(row.get_ref(3)?.as_str().map_err(duckdb::Error::from)?.as_bytes());
            content_hashes.push(row.get_ref(4)?.as_str().map_err(duckdb::Error::from)?.as_bytes());
            wkbs.push(row.get_ref(11)?.as_blob().map_err(duckdb::Error::from)?);
            bboxes.push([row.get(5)?, row.get(6)?, row.get(7)?, row.get(8)?]);
            intervals.push((
                row.get::<_, Option<i64>>(9)?.unwrap_or(i64::MIN),
                row.get::<_, Option<i64>>(10)?.unwrap_or(i64::MAX),
            ));
        }
        for packed in [&mut ids, &mut hrefs, &mut content_hashes, &mut wkbs] {
            packed.shrink();
        }
        let mut directory = Directory {
            row_collections,
            ids,
            hrefs,
            content_hashes,
            wkbs,
            bboxes,
            intervals,
            collections,
            ranges,
            by_key: HashTable::new(),
            hasher: RandomState::new(),
            grid: Grid::new(),
        };
        let mut by_key = HashTable::with_capacity(directory.rows());
        for seq in 0..directory.rows() as u32 {
            let hash = directory.row_hash(seq);
            by_key.insert_unique(hash, seq, |s| directory.row_hash(*s));
        }
        directory.by_key = by_key;
        for (seq, bbox) in directory.bboxes.iter().enumerate() {
            directory.grid.insert(seq as u32, *bbox);
        }
        Ok(directory)
    }

    fn key_hash(&self, collection: &str, id: &str) -> u64 {
        self.hasher.hash_one((collection, id))
    }

    fn row_hash(&self, seq: u32) -> u64 {
        self.key_hash(self.collection_of(seq), self.ids.text(seq as usize))
    }

    /// One item by collection and id, if the directory knows it.
    pub fn item(&self, collection: &str, id: &str) -> Option<Hit> {
        let seq = self.by_key.find(self.key_hash(collection, id), |s| {
            self.ids.text(*s as usize) == id && self.collection_of(*s) == collection
        })?;
        Some(self.hit(*seq))
    }

    /// A page of a search.
    pub fn page(&self, search: &Search, scope: Option<&str>, boundary: Option<Boundary>, limit: usize) -> Page {
        match self.core_rows(search, scope) {
            CoreRows::Sorted(seqs) => page_of_sorted(self, &seqs, boundary, limit),
            CoreRows::Ranges(ranges) => {
                let matched = ranges.iter().map(|r| r.len() as u64).sum();
                let mut page = page_of_ranges(self, &ranges, boundary, limit);
                page.matched = matched;
                page
            }
        }
    }

    /// The rows the core parameters of a search match (ids, collections,
    /// bbox, intersects, datetime), within one collection when `scope` is given.
    pub fn core_rows(&self, search: &Search, scope: Option<&str>) -> CoreRows {
        let mut collections: Option<Vec<&str>> = search
            .collections
            .as_ref()
            .map(|c| c.iter().map(String::as_str).collect());
        if let Some(scope) = scope {
            collections = Some(match collections {
                Some(list) if !list.contains(&scope) => vec![],
                _ => vec![scope],
            });
        }
        if search.bbox.is_some() || search.intersects.is_some() || search.datetime.is_some() {
            return CoreRows::Sorted(self.matching(search, collections.as_deref()));
        }
        match &search.ids {
            Some(ids) => {
                let mut seqs = self.seqs_of_ids(ids, collections.as_deref());
                seqs.sort_unstable();
                seqs.dedup();
                CoreRows::Sorted(seqs)
            }
            None => CoreRows::Ranges(self.ranges_of(collections.as_deref())),
        }
    }

    /// The seqs matching a search with a spatial or temporal filter, sorted.
    fn matching(&self, search: &Search, collections: Option<&[&str]>) -> Vec<u32> {
        let allowed: Option<Vec<bool>> =
            collections.map(|list| self.collections.iter().map(|c| list.contains(&c.as_str())).collect());
        let bounds = search.bbox.or(search.intersects.as_ref().map(|g| g.bbox));
        let candidates: Vec<u32> = match (&search.ids, bounds) {
            (Some(ids), _) => self.seqs_of_ids(ids, collections),
            (None, Some(bounds)) => self.grid.candidates(bounds).collect(),
            (None, None) => self.ranges_of(collections).into_iter().flatten().collect(),
        };
        let mut seqs: Vec<u32> = candidates
            .into_iter()
            .filter(|seq| {
                let seq = *seq as usize;
                search.datetime.is_none_or(|i| meets(self.intervals[seq], i))
                    && bounds.is_none_or(|b| bboxes_meet(self.bboxes[seq], b))
                    && allowed.as_ref().is_none_or(|a| a[self.row_collections[seq] as usize])
            })
            .collect();
        seqs.sort_unstable();
        seqs.dedup();
        let Some(query) = query_geometry(search) else {
            return seqs;
        };
        seqs.retain(|seq| {
            let seq = *seq as usize;
            search.bbox.is_some_and(|b| inside(self.bboxes[seq], b))
                || decode_wkb(self.wkbs.get(seq)).is_some_and(|geometry| query.intersects(&geometry))
        });
        seqs
    }

    /// How many rows there are.
    pub fn rows(&self) -> usize {
        self.row_collections.len()
    }

    fn collection_of(&self, seq: u32) -> &str {
        &self.collections[self.row_collections[seq as usize] as usize]
    }

    /// A row's bbox.
    pub fn bbox(&self, seq: u32) -> Bbox {
        self.bboxes[seq as usize]
    }

    /// A row's geometry, as 2D WKB.
    pub fn wkb(&self, seq: u32) -> &[u8] {
        self.wkbs.get(seq as usize)
    }

    /// The row with this seq, as a hit.
    pub fn hit(&self, seq: u32) -> Hit {
        let index = seq as usize;
        Hit {
            seq: seq as i64,
            collection: self.collection_of(seq).to_string(),
            id: self.ids.text(index).to_string(),
            href: self.hrefs.text(index).to_string(),
            content_hash: self.content_hashes.text(index).to_string(),
            sort_key: Vec::new(),
        }
    }

    /// The row ranges of some collections (all rows when `None`), in seq order.
    fn ranges_of(&self, collections: Option<&[&str]>) -> Vec<Range<u32>> {
        let Some(collections) = collections else {
            return std::iter::once(0..self.rows() as u32).collect();
        };
        let mut ranges: Vec<Range<u32>> = collections
            .iter()
            .filter_map(|c| self.ranges.get(*c).cloned())
            .collect();
        ranges.sort_by_key(|r| r.start);
        ranges.dedup();
        ranges
    }

    fn seqs_of_ids(&self, ids: &[String], collections: Option<&[&str]>) -> Vec<u32> {
        let all: Vec<&str> = self.collections.iter().map(String::as_str).collect();
        let collections = collections.unwrap_or(&all);
        ids.iter()
            .flat_map(|id| collections.iter().filter_map(move |c| self.item(c, id)))
            .map(|hit| hit.seq as u32)
            .collect()
    }
}

/// The geometry a search must intersect: its `intersects`, or its `bbox` as polygons.
fn query_geometry(search: &Search) -> Option<Geometry<f64>> {
    if let Some(geometry) = &search.intersects {
        return decode_wkb(&geometry.wkb);
    }
    search
        .bbox
        .and_then(|b| bbox_wkb(b).ok())
        .and_then(|wkb| decode_wkb(&wkb))
}

/// The longitude ranges of a bbox (two when it crosses the antimeridian).
fn longitudes([west, _, east, _]: Bbox) -> Vec<(f64, f64)> {
    if west <= east {
        vec![(west, east)]
    } else {
        vec![(west, 180.0), (-180.0, east)]
    }
}

/// Whether two bboxes meet, either of which may cross the antimeridian.
fn bboxes_meet(a: Bbox, b: Bbox) -> bool {
    if a[1] > b[3] || a[3] < b[1] {
        return false;
    }
    if a[0] <= a[2] && b[0] <= b[2] {
        return a[0] <= b[2] && a[2] >= b[0];
    }
    longitudes(a)
        .iter()
        .any(|(a0, a1)| longitudes(b).iter().any(|(b0, b1)| a0 <= b1 && a1 >= b0))
}

/// Whether an item's bbox lies inside a query box (then its geometry meets the box).
fn inside(item: Bbox, query: Bbox) -> bool {
    item[0] <= item[2]
        && query[0] <= query[2]
        && item[0] >= query[0]
        && item[2] <= query[2]
        && item[1] >= query[1]
        && item[3] <= query[3]
}

/// Whether an item's interval meets a query interval.
fn meets((start, end): (i64, i64), interval: Interval) -> bool {
    interval.end.is_none_or(|e| start <= e) && interval.start.is_none_or(|s| end >= s)
}

/// A page over sorted, distinct seqs.
fn page_of_sorted(directory: &Directory, seqs: &[u32], boundary: Option<Boundary>, limit: usize) -> Page {
    let (slice, has_next, has_prev) = match boundary {
        None => (&seqs[..seqs.len().min(limit)], seqs.len() > limit, false),
        Some(Boundary::After(after)) => {
            let start = seqs.partition_point(|s| (*s as i64) <= after);
            let end = (start + limit).min(seqs.len());
            (&seqs[start..end], end < seqs.len(), true)
        }
        Some(Boundary::Before(before)) => {
            let end = seqs.partition_point(|s| (*s as i64) < before);
            let start = end.saturating_sub(limit);
            (&seqs[start..end], true, start > 0)
        }
    };
    Page {
        hits: slice.iter().map(|seq| directory.hit(*seq)).collect(),
        has_next,
        has_prev,
        matched: seqs.len() as u64,
    }
}

/// A page over sorted, disjoint ranges of seqs.
fn page_of_ranges(directory: &Directory, ranges: &[Range<u32>], boundary: Option<Boundary>, limit: usize) -> Page {
    let seqs = ranges.iter().flat_map(|r| r.clone());
    let (hits, has_next, has_prev): (Vec<u32>, bool, bool) = match boundary {
        None => {
            let mut taken: Vec<u32> = seqs.take(limit + 1).collect();
            let more = taken.len() > limit;
            taken.truncate(limit);
            (taken, more, false)
        }
        Some(Boundary::After(after)) => {
            let mut taken: Vec<u32> = ranges
                .iter()
                .flat_map(|r| (r.start.max((after + 1).clamp(0, u32::MAX as i64) as u32))..r.end)
                .take(limit + 1)
                .collect();
            let more = taken.len() > limit;
            taken.truncate(limit);
            (taken, more, true)
        }
        Some(Boundary::Before(before)) => {
            let mut taken: Vec<u32> = ranges
                .iter()
                .rev()
                .flat_map(|r| (r.start..r.end.min(before.clamp(0, u32::MAX as i64) as u32)).rev())
                .take(limit + 1)
                .collect();
            let more = taken.len() > limit;
            taken.truncate(limit);
            taken.reverse();
            (taken, true, more)
        }
    };
    Page {
        hits: hits.into_iter().map(|seq| directory.hit(seq)).collect(),
        has_next,
        has_prev,
        matched: 0,
    }
}
