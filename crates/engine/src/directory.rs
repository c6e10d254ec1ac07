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
use crate::columns::Bitmap;
use crate::geometries::{Geometries, SpatialQuery};
use crate::grid::Grid;
use crate::hit::{Hit, Page};
use crate::intervals::{self, Intervals};
use crate::keyset::Boundary;
use crate::packed::{Hrefs, Packed};
use crate::scan::CoreRows;
use crate::search::{Interval, Search};
use arrow_array::{Array, BinaryArray, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use hashbrown::DefaultHashBuilder;
use hashbrown::HashTable;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use stac_indexed_filter::spatial::decode_wkb;
use stac_indexed_format::geometry::Bbox;
use stac_indexed_format::schema::{
    BBOX_XMAX, BBOX_XMIN, BBOX_YMAX, BBOX_YMIN, COLLECTION, CONTENT_HASH, DATETIME, END_DATETIME, GEOMETRY, HREF, ID,
    SEQ, START_DATETIME,
};
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

/// Every row of one index version, addressable by `seq` and by (collection, id).
pub struct Directory {
    /// Per seq, the index of its collection in `collections`.
    row_collections: Vec<u16>,
    ids: Arc<Packed>,
    hrefs: Hrefs,
    /// Per seq, the 16 bytes of its content hash (32 hex digits in the index).
    content_hashes: Vec<[u8; 16]>,
    /// Geometries: WKB mapped from a temporary file, rectangles by their bbox.
    geometries: Geometries,
    /// Per seq, `coalesce(start_datetime, datetime)` and
    /// `coalesce(end_datetime, datetime)`, UTC microseconds, contiguous:
    /// what a temporal search reads for each row.
    intervals: Intervals,
    collections: Vec<String>,
    ranges: HashMap<String, Range<u32>>,
    /// Seqs, found by (collection, id) without storing the keys twice.
    by_key: HashTable<u32>,
    hasher: DefaultHashBuilder,
    grid: Grid,
}

impl Directory {
    /// Reads every row of the items table (a Parquet file in `seq` order),
    /// with the parquet crate: DuckDB's buffers would outlive the read.
    pub fn read(items: &Path) -> Result<Directory> {
        let mut row_collections: Vec<u16> = Vec::new();
        let (mut ids, mut hrefs, mut geometries) = (Packed::default(), Hrefs::default(), Geometries::new());
        let mut content_hashes = Vec::new();
        let mut bboxes = Vec::new();
        let mut intervals = Intervals::default();
        let mut collections: Vec<String> = Vec::new();
        let mut ranges: HashMap<String, Range<u32>> = HashMap::new();
        for batch in read_items(items, &DIRECTORY_COLUMNS)? {
            let batch = batch.map_err(|e| parquet_error(items, e))?;
            let columns = DirectoryColumns::of(&batch)
                .map_err(|message| crate::Error::Internal(format!("{}: {message}", items.display())))?;
            for row in 0..batch.num_rows() {
                let position = row_collections.len() as u32;
                if columns.seq.value(row) != i64::from(position) {
                    return Err(crate::Error::Internal(format!(
                        "seq {} is not dense at row {position}",
                        columns.seq.value(row)
                    )));
                }
                let collection = columns.collection.value(row);
                if collections.last().map(String::as_str) != Some(collection) {
                    collections.push(collection.to_string());
                    ranges.insert(collection.to_string(), position..position);
                }
                if let Some(range) = ranges.get_mut(collection) {
                    range.end = position + 1;
                }
                let collection_number = u16::try_from(collections.len() - 1)
                    .map_err(|_| crate::Error::Internal("more than 65,536 collections".into()))?;
                row_collections.push(collection_number);
                let id = columns.id.value(row);
                ids.push(id.as_bytes())?;
                hrefs.push(columns.href.value(row), id)?;
                content_hashes.push(hash_bytes(columns.content_hash.value(row))?);
                let bbox = columns.bbox.map(|c| c.value(row));
                geometries.push(columns.geometry.value(row), bbox)?;
                bboxes.push(bbox);
                let time = |column: &TimestampMicrosecondArray| column.is_valid(row).then(|| column.value(row));
                let (datetime, start, end) = (time(columns.datetime), time(columns.start), time(columns.end));
                intervals.push((
                    start.or(datetime).unwrap_or(i64::MIN),
                    end.or(datetime).unwrap_or(i64::MAX),
                ));
            }
        }
        content_hashes.shrink_to_fit();
        intervals.shrink();
        hrefs.shrink();
        ids.shrink();
        geometries.finish()?;
        let mut directory = Directory {
            row_collections,
            ids: Arc::new(ids),
            hrefs,
            content_hashes,
            geometries,
            grid: Grid::new(&bboxes, intervals.all()),
            intervals,
            collections,
            ranges,
            by_key: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
        };
        let mut by_key = HashTable::with_capacity(directory.rows());
        for seq in 0..directory.rows() as u32 {
            let hash = directory.row_hash(seq);
            by_key.insert_unique(hash, seq, |s| directory.row_hash(*s));
        }
        directory.by_key = by_key;
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
        let in_collections = |seq: u32| {
            allowed
                .as_ref()
                .is_none_or(|a| a[self.row_collections[seq as usize] as usize])
        };
        let in_time = |interval| search.datetime.is_none_or(|i| meets(interval, i));
        // Rows whose bbox lies inside a query box meet it; the others are
        // tested against their geometry.
        let inside_box = |bbox: Bbox| search.bbox.is_some_and(|b| inside(bbox, b));
        let query = spatial_query(search);
        let meets_geometry = |seq: u32, bbox: Bbox| {
            inside_box(bbox) || query.as_ref().is_none_or(|q| self.geometries.meets(seq, bbox, q))
        };
        let mut seqs = Vec::new();
        match (&search.ids, bounds) {
            (Some(ids), _) => seqs.extend(self.seqs_of_ids(ids, collections).into_iter().filter(|seq| {
                let bbox = self.bbox(*seq);
                in_time(self.intervals.get(*seq))
                    && bounds.is_none_or(|b| bboxes_meet(bbox, b) && meets_geometry(*seq, bbox))
                    && in_collections(*seq)
            })),
            (None, Some(bounds)) => {
                let (low, high) = intervals::bounds(search.datetime);
                let (boxed, timeless) = (search.bbox.is_some(), search.datetime.is_none());
                self.grid.visit(bounds, |entries| {
                    let inside = entries.inside && boxed;
                    if inside && timeless && allowed.is_none() {
                        seqs.extend_from_slice(entries.seqs);
                        return;
                    }
                    let rows = entries.seqs.iter().zip(entries.bboxes).zip(entries.intervals);
                    for ((seq, bbox), (start, end)) in rows {
                        if *start <= high
                            && *end >= low
                            && (inside || bboxes_meet(*bbox, bounds))
                            && in_collections(*seq)
                            && (inside || meets_geometry(*seq, *bbox))
                        {
                            seqs.push(*seq);
                        }
                    }
                })
            }
            (None, None) => return self.intervals.meeting(&self.ranges_of(collections), search.datetime),
        };
        sorted_distinct(seqs, self.rows())
    }

    /// About how many bytes the directory takes, by part: what a row costs
    /// in memory, for docs/benchmarks.md and the start-up log.
    pub fn bytes(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("ids", self.ids.bytes()),
            ("hrefs", self.hrefs.bytes()),
            ("geometries", self.geometries.heap_bytes()),
            ("content hashes", self.content_hashes.capacity() * 16),
            ("intervals", self.intervals.bytes()),
            ("collections", self.row_collections.capacity() * 2),
            ("by key", self.by_key.capacity() * 5),
            ("grid", self.grid.bytes()),
        ]
    }

    /// The rows' ids, by seq.
    pub(crate) fn ids(&self) -> Arc<Packed> {
        self.ids.clone()
    }

    /// How many rows there are.
    pub fn rows(&self) -> usize {
        self.row_collections.len()
    }

    fn collection_of(&self, seq: u32) -> &str {
        &self.collections[self.row_collections[seq as usize] as usize]
    }

    /// The number of a row's collection in [`Directory::collection_names`].
    pub(crate) fn collection_number(&self, seq: u32) -> usize {
        self.row_collections[seq as usize] as usize
    }

    /// The collections, by number.
    pub(crate) fn collection_names(&self) -> &[String] {
        &self.collections
    }

    /// A row's `coalesce(start_datetime, datetime)` and
    /// `coalesce(end_datetime, datetime)` (UTC microseconds; `i64::MIN` and
    /// `i64::MAX` when absent).
    pub(crate) fn interval(&self, seq: u32) -> (i64, i64) {
        self.intervals.get(seq)
    }

    /// A row's bbox.
    pub fn bbox(&self, seq: u32) -> Bbox {
        self.grid.bbox(seq)
    }

    /// A row's geometry, as 2D WKB.
    pub fn wkb(&self, seq: u32) -> Cow<'_, [u8]> {
        self.geometries.wkb(seq, self.bbox(seq))
    }

    /// How many rows' geometries are their bbox.
    pub fn rectangles(&self) -> usize {
        self.geometries.rectangles()
    }

    /// The row with this seq, as a hit.
    pub fn hit(&self, seq: u32) -> Hit {
        let index = seq as usize;
        Hit {
            seq: seq as i64,
            collection: self.collection_of(seq).to_string(),
            id: self.ids.text(index).to_string(),
            href: self.hrefs.text(index, self.ids.text(index)),
            content_hash: stac_indexed_format::hex(&self.content_hashes[index]),
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

/// Seqs (from grid cells: out of order, a row listed in several cells more
/// than once) sorted and distinct, out of `rows`. Many are marked in a
/// bitmap and read back in order (linear in the rows / 64 words), few are
/// sorted.
fn sorted_distinct(mut seqs: Vec<u32>, rows: usize) -> Vec<u32> {
    if seqs.len() < rows / 256 {
        seqs.sort_unstable();
        seqs.dedup();
        return seqs;
    }
    let mut marked = Bitmap::new(rows);
    seqs.iter().for_each(|seq| marked.set(*seq as usize));
    marked.ones()
}

/// The 16 bytes of a content hash written as 32 hex digits.
/// The items table's columns the directory reads.
const DIRECTORY_COLUMNS: [&str; 13] = [
    SEQ,
    COLLECTION,
    ID,
    HREF,
    CONTENT_HASH,
    BBOX_XMIN,
    BBOX_YMIN,
    BBOX_XMAX,
    BBOX_YMAX,
    DATETIME,
    START_DATETIME,
    END_DATETIME,
    GEOMETRY,
];

/// One batch's directory columns, typed.
struct DirectoryColumns<'a> {
    seq: &'a Int64Array,
    collection: &'a StringArray,
    id: &'a StringArray,
    href: &'a StringArray,
    content_hash: &'a StringArray,
    bbox: [&'a Float64Array; 4],
    datetime: &'a TimestampMicrosecondArray,
    start: &'a TimestampMicrosecondArray,
    end: &'a TimestampMicrosecondArray,
    geometry: &'a BinaryArray,
}

impl<'a> DirectoryColumns<'a> {
    fn of(batch: &'a RecordBatch) -> std::result::Result<DirectoryColumns<'a>, String> {
        fn typed<'b, T: 'static>(batch: &'b RecordBatch, name: &str) -> std::result::Result<&'b T, String> {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<T>())
                .ok_or_else(|| format!("no {name} column of the expected type"))
        }
        Ok(DirectoryColumns {
            seq: typed(batch, SEQ)?,
            collection: typed(batch, COLLECTION)?,
            id: typed(batch, ID)?,
            href: typed(batch, HREF)?,
            content_hash: typed(batch, CONTENT_HASH)?,
            bbox: [
                typed(batch, BBOX_XMIN)?,
                typed(batch, BBOX_YMIN)?,
                typed(batch, BBOX_XMAX)?,
                typed(batch, BBOX_YMAX)?,
            ],
            datetime: typed(batch, DATETIME)?,
            start: typed(batch, START_DATETIME)?,
            end: typed(batch, END_DATETIME)?,
            geometry: typed(batch, GEOMETRY)?,
        })
    }
}

/// The named columns of the items table, a batch at a time.
pub(crate) fn read_items(items: &Path, columns: &[&str]) -> Result<ParquetRecordBatchReader> {
    let file = std::fs::File::open(items).map_err(|e| crate::Error::Internal(format!("{}: {e}", items.display())))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_error(items, e))?;
    let indices: Vec<usize> = columns
        .iter()
        .map(|name| {
            builder
                .schema()
                .index_of(name)
                .map_err(|_| crate::Error::Internal(format!("{}: no {name} column", items.display())))
        })
        .collect::<Result<_>>()?;
    let projection = ProjectionMask::roots(builder.parquet_schema(), indices);
    builder
        .with_projection(projection)
        .with_batch_size(8192)
        .build()
        .map_err(|e| parquet_error(items, e))
}

fn parquet_error(items: &Path, error: impl std::fmt::Display) -> crate::Error {
    crate::Error::Internal(format!("{}: {error}", items.display()))
}

fn hash_bytes(hex: &str) -> Result<[u8; 16]> {
    let invalid = || crate::Error::Internal(format!("content hash {hex:?} is not 32 hex digits"));
    let mut bytes = [0u8; 16];
    if hex.len() != 32 {
        return Err(invalid());
    }
    let digit = |b: u8| char::from(b).to_digit(16).ok_or_else(invalid);
    for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
        *byte = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Ok(bytes)
}

/// The geometry a search must meet: its `intersects`, or its `bbox`.
fn spatial_query(search: &Search) -> Option<SpatialQuery> {
    if let Some(geometry) = &search.intersects {
        let decoded = decode_wkb(&geometry.wkb)?;
        return Some(SpatialQuery::Geometry(decoded, geometry.wkb.clone()));
    }
    search.bbox.map(SpatialQuery::Rectangle)
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
#[inline]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seqs_come_back_sorted_and_distinct_both_ways() {
        let rows = 100_000;
        let few: Vec<u32> = vec![7, 3, 99_999, 3, 0, 7];
        let many: Vec<u32> = (0..5_000u32)
            .map(|i| (i * 7919) % rows as u32)
            .chain([5, 5, 0])
            .collect();
        for seqs in [few, many] {
            let mut expected = seqs.clone();
            expected.sort_unstable();
            expected.dedup();
            assert_eq!(sorted_distinct(seqs, rows), expected);
        }
    }

    #[test]
    fn content_hashes_are_32_hex_digits() {
        let hex = "00ff10a0b1c2d3e4f5061728394a5b6c";
        let bytes = hash_bytes(hex).unwrap();
        assert_eq!(bytes[..3], [0x00, 0xff, 0x10]);
        assert_eq!(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>(), hex);
        for bad in [
            "",
            "00ff",
            "+0ff10a0b1c2d3e4f5061728394a5b6c",
            "zzff10a0b1c2d3e4f5061728394a5b6c",
        ] {
            assert!(hash_bytes(bad).is_err(), "{bad:?}");
        }
    }
}
