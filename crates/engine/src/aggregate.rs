//! Aggregations (the STAC API aggregation extension): how a search's
//! matches spread over collections, time, values and places, computed from
//! the index, never from the items: by DuckDB (one GROUP BY per aggregation
//! over the matched rows, [`aggregate`]), or, once the row directory is
//! ready, by one pass over the matched rows of the directory and columns
//! in memory ([`aggregate_rows`]), with the same answers (DuckDB reads the
//! Parquet columns at about 10 ms per column per million rows; the pass in
//! memory takes about as long as the search's count).
//!
//! Every frequency accounts for every match: a match without a value (or
//! beyond the bucket limit) is counted in `overflow`, so the buckets and
//! the overflow add up to `total_count`.

use crate::columns::{Column, Values};
use crate::directory::Directory;
use crate::sql::Filter;
use crate::{Error, Result};
use duckdb::{Connection, params_from_iter};
use stac_indexed_filter::Kind;
use std::collections::HashMap;

/// The most buckets one aggregation answers with; the rest is overflow.
pub const MAX_BUCKETS: usize = 10_000;

/// An item's instant for time buckets: its datetime, or the start of its range.
const ITEM_INSTANT: &str = "coalesce(datetime, start_datetime)";
/// The first instant an item covers: the start of its range, or its datetime.
const ITEM_FIRST: &str = "coalesce(start_datetime, datetime)";
/// The last instant an item covers: the end of its range, or its datetime.
const ITEM_LAST: &str = "coalesce(end_datetime, datetime)";

/// One aggregation to compute.
#[derive(Clone, Debug, PartialEq)]
pub enum Aggregation {
    /// How many items match.
    TotalCount,
    /// The first instant the matches cover (start_datetime, or datetime).
    DatetimeMin,
    /// The last instant the matches cover (end_datetime, or datetime).
    DatetimeMax,
    /// Matches per calendar year, month or day of their datetime (or start_datetime).
    DatetimeFrequency(Calendar),
    /// Matches per collection.
    CollectionFrequency,
    /// Matches per value of a text or boolean column.
    Terms {
        /// The column, a quoted SQL identifier.
        column: String,
        /// Its kind: text or boolean.
        kind: Kind,
    },
    /// Matches per range of a numeric column: `[k * width, (k + 1) * width)`.
    Histogram {
        /// The column, a quoted SQL identifier.
        column: String,
        /// Its kind: number or integer.
        kind: Kind,
        /// The bucket width, positive.
        width: f64,
    },
    /// Matches per geohash cell of their bbox's centre, at a precision of 1-12 characters.
    Geohash(u8),
    /// Matches per web-mercator tile (`zoom/x/y`) of their bbox's centre, at zoom 0-29.
    Geotile(u8),
}

/// A calendar interval of [`Aggregation::DatetimeFrequency`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Calendar {
    /// Calendar years.
    Year,
    /// Calendar months.
    Month,
    /// Days (UTC).
    Day,
}

impl Calendar {
    /// Its name (`year`, `month`, `day`).
    pub fn as_str(self) -> &'static str {
        match self {
            Calendar::Year => "year",
            Calendar::Month => "month",
            Calendar::Day => "day",
        }
    }

    /// A calendar interval by name.
    pub fn parse(name: &str) -> Option<Calendar> {
        match name {
            "year" => Some(Calendar::Year),
            "month" => Some(Calendar::Month),
            "day" => Some(Calendar::Day),
            _ => None,
        }
    }
}

/// The answer to one aggregation.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// A count.
    Count(u64),
    /// An instant in UTC microseconds (`None`: no match has one).
    Instant(Option<i64>),
    /// Buckets, and how many matches fall in none of them.
    Buckets {
        /// The buckets: by key for ranges and time, by frequency (then key) otherwise.
        buckets: Vec<Bucket>,
        /// Matches without a value, or beyond [`MAX_BUCKETS`].
        overflow: u64,
    },
}

/// One bucket of a frequency.
#[derive(Clone, Debug, PartialEq)]
pub struct Bucket {
    /// What the bucket holds.
    pub key: Key,
    /// How many matches it holds.
    pub frequency: u64,
}

/// A bucket's key.
#[derive(Clone, Debug, PartialEq)]
pub enum Key {
    /// A value (of a term, a collection id, a geohash, or a tile `z/x/y`).
    Text(String),
    /// The values from `from` (inclusive) to `to` (exclusive).
    Range {
        /// The lower bound, inclusive.
        from: f64,
        /// The upper bound, exclusive.
        to: f64,
    },
    /// The start of a calendar interval, in UTC microseconds.
    Instant(i64),
}

/// Computes `aggregations` over the rows `filter` matches, in one query.
pub fn aggregate(connection: &Connection, filter: &Filter, aggregations: &[Aggregation]) -> Result<Vec<Outcome>> {
    if aggregations.is_empty() {
        return Ok(Vec::new());
    }
    let sql = aggregation_sql(filter, aggregations);
    let mut statement = connection.prepare(&sql)?;
    let mut groups: Vec<Vec<(Option<String>, u64)>> = vec![Vec::new(); aggregations.len()];
    let mut rows = statement.query(params_from_iter(filter.params()))?;
    while let Some(row) = rows.next()? {
        let which: i32 = row.get(0)?;
        let key: Option<String> = row.get(1)?;
        let count: i64 = row.get(2)?;
        let group = groups
            .get_mut(which as usize)
            .ok_or_else(|| Error::Internal(format!("aggregation {which} was not asked for")))?;
        group.push((key, count as u64));
    }
    aggregations
        .iter()
        .zip(groups)
        .map(|(aggregation, groups)| outcome(aggregation, groups))
        .collect()
}

/// The columns an aggregation reads in memory beyond the directory: the
/// datetime for time buckets, the aggregated column for terms and ranges.
pub(crate) fn column_of(aggregation: &Aggregation) -> Option<(String, Kind)> {
    match aggregation {
        Aggregation::DatetimeFrequency(_) => Some(("\"datetime\"".into(), Kind::Timestamp)),
        Aggregation::Terms { column, kind } | Aggregation::Histogram { column, kind, .. } => {
            Some((column.clone(), *kind))
        }
        _ => None,
    }
}

/// Computes `aggregations` over `rows` (seqs) from the directory and each
/// aggregation's column ([`column_of`]): the answers of [`aggregate`],
/// without DuckDB.
pub(crate) fn aggregate_rows(
    directory: &Directory,
    rows: &[u32],
    aggregations: &[(Aggregation, Option<std::sync::Arc<Column>>)],
) -> Result<Vec<Outcome>> {
    aggregations
        .iter()
        .map(|(aggregation, column)| outcome(aggregation, groups_of(directory, rows, aggregation, column.as_deref())?))
        .collect()
}

/// An aggregation's groups `(key, count)` over `rows`, keyed as [`aggregate`]'s SQL keys them.
fn groups_of(
    directory: &Directory,
    rows: &[u32],
    aggregation: &Aggregation,
    column: Option<&Column>,
) -> Result<Vec<(Option<String>, u64)>> {
    let missing_column = || Error::Internal(format!("{aggregation:?} has no column"));
    Ok(match aggregation {
        Aggregation::TotalCount => vec![(None, rows.len() as u64)],
        Aggregation::DatetimeMin => {
            let first = rows
                .iter()
                .map(|seq| directory.interval(*seq).0)
                .filter(|t| *t != i64::MIN)
                .min();
            vec![(first.map(|t| t.to_string()), 1)]
        }
        Aggregation::DatetimeMax => {
            let last = rows
                .iter()
                .map(|seq| directory.interval(*seq).1)
                .filter(|t| *t != i64::MAX)
                .max();
            vec![(last.map(|t| t.to_string()), 1)]
        }
        Aggregation::DatetimeFrequency(_) => {
            let column = column.ok_or_else(missing_column)?;
            let Values::Time(datetimes) = &column.values else {
                return Err(Error::Internal("datetime is not a time column".into()));
            };
            count_keys(rows, |seq| {
                let row = seq as usize;
                let instant = if column.valid.get(row) {
                    datetimes[row]
                } else {
                    directory.interval(seq).0
                };
                (instant != i64::MIN).then(|| (instant as f64 / MICROS_PER_DAY).floor() as i64)
            })
        }
        Aggregation::CollectionFrequency => {
            let names = directory.collection_names();
            let mut counts = vec![0u64; names.len()];
            rows.iter()
                .for_each(|seq| counts[directory.collection_number(*seq)] += 1);
            named_counts(names.iter().map(String::as_str), &counts)
        }
        Aggregation::Terms { .. } => {
            let column = column.ok_or_else(missing_column)?;
            match &column.values {
                Values::Text(dictionary) => {
                    let mut counts = vec![0u64; dictionary.values.len()];
                    let mut nulls = 0;
                    for seq in rows {
                        let row = *seq as usize;
                        match column.valid.get(row) {
                            true => counts[dictionary.codes.get(row)] += 1,
                            false => nulls += 1,
                        }
                    }
                    let mut groups = named_counts(dictionary.values.iter(), &counts);
                    groups.push((None, nulls));
                    groups
                }
                Values::Boolean(values) => count_keys(rows, |seq| {
                    let row = seq as usize;
                    column.valid.get(row).then(|| values.get(row))
                }),
                _ => return Err(Error::Internal(format!("{aggregation:?} is not over text"))),
            }
        }
        Aggregation::Histogram { width, .. } => {
            let column = column.ok_or_else(missing_column)?;
            let bucket = |value: f64| value.is_finite().then(|| (value / width).floor() as i64);
            match &column.values {
                Values::Number(values) => count_keys(rows, |seq| {
                    let row = seq as usize;
                    column.valid.get(row).then(|| bucket(values.get(row))).flatten()
                }),
                Values::Integer(values) => count_keys(rows, |seq| {
                    let row = seq as usize;
                    column.valid.get(row).then(|| bucket(values[row] as f64)).flatten()
                }),
                _ => return Err(Error::Internal(format!("{aggregation:?} is not over numbers"))),
            }
        }
        Aggregation::Geohash(precision) => {
            let (x_bits, y_bits) = geohash_bits(*precision);
            count_keys(rows, |seq| {
                let (lon, lat) = centre(directory.bbox(seq));
                let x = cell_of(lon, -180.0, 360.0, x_bits);
                let y = cell_of(lat, -90.0, 180.0, y_bits);
                Some((x << y_bits) | y)
            })
        }
        Aggregation::Geotile(zoom) => {
            let zoom = u32::from(*zoom);
            count_keys(rows, |seq| {
                let (lon, lat) = centre(directory.bbox(seq));
                let x = cell_of(lon, -180.0, 360.0, zoom);
                let y = cell_of(mercator_y(lat), 0.0, 1.0, zoom);
                Some((x << zoom) | y)
            })
        }
    })
}

/// Groups of `rows` by `key` (`None`: no value).
fn count_keys<K: std::hash::Hash + Eq + ToString>(
    rows: &[u32],
    key: impl Fn(u32) -> Option<K>,
) -> Vec<(Option<String>, u64)> {
    let mut counts: hashbrown::HashMap<Option<K>, u64> = hashbrown::HashMap::new();
    for seq in rows {
        *counts.entry(key(*seq)).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(key, count)| (key.map(|k| k.to_string()), count))
        .collect()
}

/// Groups by the name of each non-zero count.
fn named_counts<'a>(names: impl Iterator<Item = &'a str>, counts: &[u64]) -> Vec<(Option<String>, u64)> {
    names
        .zip(counts)
        .filter(|(_, count)| **count > 0)
        .map(|(name, count)| (Some(name.to_string()), *count))
        .collect()
}

/// A bbox's centre, as [`CENTRE_LONGITUDE`] and [`CENTRE_LATITUDE`] compute it.
fn centre([west, south, east, north]: [f64; 4]) -> (f64, f64) {
    let middle = (west + east) / 2.0;
    let lon = if west <= east {
        middle
    } else if middle + 180.0 > 180.0 {
        middle - 180.0
    } else {
        middle + 180.0
    };
    (lon, (south + north) / 2.0)
}

/// [`MERCATOR_Y`] of a latitude.
fn mercator_y(lat: f64) -> f64 {
    let lat = lat.clamp(-MERCATOR_LIMIT, MERCATOR_LIMIT).to_radians();
    (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0
}

/// The latitude where web mercator stops.
const MERCATOR_LIMIT: f64 = 85.0511287798;

/// [`cell`] of a value.
fn cell_of(value: f64, origin: f64, span: f64, bits: u32) -> u64 {
    let cells = (1u64 << bits) as f64;
    ((value - origin) / span * cells).floor().clamp(0.0, cells - 1.0) as u64
}

/// `WITH matched AS (SELECT <one key per aggregation> FROM items WHERE …)`,
/// then one `(aggregation, key, count)` arm per aggregation.
fn aggregation_sql(filter: &Filter, aggregations: &[Aggregation]) -> String {
    let keys: Vec<String> = aggregations
        .iter()
        .enumerate()
        .map(|(i, aggregation)| format!("{} AS k{i}", key_sql(aggregation)))
        .collect();
    let arms: Vec<String> = aggregations
        .iter()
        .enumerate()
        .map(|(i, aggregation)| match aggregation {
            Aggregation::TotalCount => format!("SELECT {i}, NULL::VARCHAR, count(*) FROM matched"),
            Aggregation::DatetimeMin => {
                format!("SELECT {i}, CAST(epoch_us(min(k{i})) AS VARCHAR), count(k{i}) FROM matched")
            }
            Aggregation::DatetimeMax => {
                format!("SELECT {i}, CAST(epoch_us(max(k{i})) AS VARCHAR), count(k{i}) FROM matched")
            }
            _ => format!("SELECT {i}, CAST(k{i} AS VARCHAR), count(*) FROM matched GROUP BY k{i}"),
        })
        .collect();
    // Several arms read the matches once, from a materialised copy of the keys.
    let materialized = if arms.len() > 1 { "MATERIALIZED " } else { "" };
    format!(
        "WITH matched AS {materialized}(SELECT {} FROM items WHERE {}) {}",
        keys.join(", "),
        filter.sql(),
        arms.join(" UNION ALL ")
    )
}

/// The SQL of an aggregation's key over one row of `items`.
fn key_sql(aggregation: &Aggregation) -> String {
    match aggregation {
        Aggregation::TotalCount => "NULL".into(),
        Aggregation::DatetimeMin => ITEM_FIRST.into(),
        Aggregation::DatetimeMax => ITEM_LAST.into(),
        // The UTC day, an integer: cheaper to group than a truncated
        // timestamp; days become months and years afterwards.
        Aggregation::DatetimeFrequency(_) => {
            format!("CAST(floor(epoch_us({ITEM_INSTANT}) / {MICROS_PER_DAY:?}) AS BIGINT)")
        }
        Aggregation::CollectionFrequency => "collection".into(),
        Aggregation::Terms { column, .. } => column.clone(),
        Aggregation::Histogram { column, width, .. } => {
            format!("CASE WHEN isfinite({column}::DOUBLE) THEN CAST(floor({column}::DOUBLE / {width:?}) AS BIGINT) END")
        }
        // A grid cell as one integer, `x << y_bits | y`.
        Aggregation::Geohash(precision) => {
            let (x_bits, y_bits) = geohash_bits(*precision);
            let x = cell(CENTRE_LONGITUDE, -180.0, 360.0, x_bits);
            let y = cell(CENTRE_LATITUDE, -90.0, 180.0, y_bits);
            format!("{x} * {} + {y}", 1u64 << y_bits)
        }
        Aggregation::Geotile(zoom) => {
            let zoom = u32::from(*zoom);
            let x = cell(CENTRE_LONGITUDE, -180.0, 360.0, zoom);
            let y = cell(MERCATOR_Y, 0.0, 1.0, zoom);
            format!("{x} * {} + {y}", 1u64 << zoom)
        }
    }
}

/// The longitude of a bbox's centre (a box across the antimeridian has its centre beyond it).
const CENTRE_LONGITUDE: &str = "(CASE WHEN bbox_xmin <= bbox_xmax THEN (bbox_xmin + bbox_xmax) / 2 \
     WHEN (bbox_xmin + bbox_xmax) / 2 + 180 > 180 THEN (bbox_xmin + bbox_xmax) / 2 - 180 \
     ELSE (bbox_xmin + bbox_xmax) / 2 + 180 END)";
/// The latitude of a bbox's centre.
const CENTRE_LATITUDE: &str = "((bbox_ymin + bbox_ymax) / 2)";
/// The web-mercator y of a bbox's centre, from 0 (north) to 1 (south),
/// with latitudes beyond the projection's ±85.0511° clamped to its edge.
const MERCATOR_Y: &str = "((1 - ln(tan(radians(least(greatest((bbox_ymin + bbox_ymax) / 2, -85.0511287798), 85.0511287798))) \
     + 1 / cos(radians(least(greatest((bbox_ymin + bbox_ymax) / 2, -85.0511287798), 85.0511287798)))) / pi()) / 2)";

/// Microseconds in a day.
const MICROS_PER_DAY: f64 = 86_400_000_000.0;

/// The longitude and latitude bits of a geohash of `precision` characters.
fn geohash_bits(precision: u8) -> (u32, u32) {
    let bits = u32::from(precision) * 5;
    (bits.div_ceil(2), bits / 2)
}

/// Which of `2^bits` equal cells from `origin` over `span` a value falls in.
fn cell(value: &str, origin: f64, span: f64, bits: u32) -> String {
    let cells = 1u64 << bits;
    format!(
        "CAST(least(greatest(floor(({value} - {origin:?}) / {span:?} * {cells}), 0), {}) AS BIGINT)",
        cells - 1
    )
}

/// An aggregation's answer from its groups `(key, count)`.
fn outcome(aggregation: &Aggregation, groups: Vec<(Option<String>, u64)>) -> Result<Outcome> {
    match aggregation {
        Aggregation::TotalCount => Ok(Outcome::Count(groups.first().map_or(0, |(_, n)| *n))),
        Aggregation::DatetimeMin | Aggregation::DatetimeMax => {
            let instant = groups.into_iter().next().and_then(|(key, _)| key);
            Ok(Outcome::Instant(instant.map(|key| integer(&key)).transpose()?))
        }
        Aggregation::DatetimeFrequency(calendar) => buckets(aggregation, by_calendar(groups, *calendar)?),
        _ => buckets(aggregation, groups),
    }
}

/// Groups by UTC day regrouped by the start (UTC microseconds) of their
/// calendar interval.
fn by_calendar(groups: Vec<(Option<String>, u64)>, calendar: Calendar) -> Result<Vec<(Option<String>, u64)>> {
    let mut starts: HashMap<Option<i64>, u64> = HashMap::new();
    for (day, count) in groups {
        let start = day.map(|day| calendar_start(integer(&day)?, calendar)).transpose()?;
        *starts.entry(start).or_default() += count;
    }
    Ok(starts
        .into_iter()
        .map(|(start, count)| (start.map(|s| s.to_string()), count))
        .collect())
}

/// The start of the calendar interval that holds UTC day `day` (days since 1970-01-01).
fn calendar_start(day: i64, calendar: Calendar) -> Result<i64> {
    use chrono::Datelike;
    let date = chrono::DateTime::from_timestamp(day * 86_400, 0)
        .ok_or_else(|| Error::Internal(format!("day {day} is out of range")))?
        .date_naive();
    let start = match calendar {
        Calendar::Year => date.with_day(1).and_then(|d| d.with_month(1)),
        Calendar::Month => date.with_day(1),
        Calendar::Day => Some(date),
    }
    .ok_or_else(|| Error::Internal(format!("day {day} has no calendar start")))?;
    Ok(start.and_time(chrono::NaiveTime::MIN).and_utc().timestamp_micros())
}

/// The buckets of a frequency: the [`MAX_BUCKETS`] largest, ordered; the rest, and
/// the matches without a key, are overflow.
fn buckets(aggregation: &Aggregation, groups: Vec<(Option<String>, u64)>) -> Result<Outcome> {
    let mut overflow = 0;
    let mut buckets = Vec::with_capacity(groups.len());
    for (key, frequency) in groups {
        match key {
            Some(key) => buckets.push(Bucket {
                key: bucket_key(aggregation, &key)?,
                frequency,
            }),
            None => overflow += frequency,
        }
    }
    buckets.sort_by(|a, b| b.frequency.cmp(&a.frequency).then_with(|| a.key.order(&b.key)));
    if buckets.len() > MAX_BUCKETS {
        overflow += buckets.drain(MAX_BUCKETS..).map(|b| b.frequency).sum::<u64>();
    }
    if matches!(
        aggregation,
        Aggregation::Histogram { .. } | Aggregation::DatetimeFrequency(_)
    ) {
        buckets.sort_by(|a, b| a.key.order(&b.key));
    }
    Ok(Outcome::Buckets { buckets, overflow })
}

/// A group's key as a bucket key.
fn bucket_key(aggregation: &Aggregation, key: &str) -> Result<Key> {
    Ok(match aggregation {
        Aggregation::Histogram { width, .. } => {
            let k = integer(key)? as f64;
            Key::Range {
                from: k * width,
                to: (k + 1.0) * width,
            }
        }
        Aggregation::DatetimeFrequency(_) => Key::Instant(integer(key)?),
        Aggregation::Geohash(precision) => {
            let (x, y) = cell_pair(key, geohash_bits(*precision).1)?;
            Key::Text(geohash(x, y, *precision))
        }
        Aggregation::Geotile(zoom) => {
            let (x, y) = cell_pair(key, u32::from(*zoom))?;
            Key::Text(format!("{zoom}/{x}/{y}"))
        }
        _ => Key::Text(key.to_string()),
    })
}

impl Key {
    fn order(&self, other: &Key) -> std::cmp::Ordering {
        match (self, other) {
            (Key::Range { from: a, .. }, Key::Range { from: b, .. }) => a.total_cmp(b),
            (Key::Instant(a), Key::Instant(b)) => a.cmp(b),
            (Key::Text(a), Key::Text(b)) => a.cmp(b),
            _ => std::cmp::Ordering::Equal,
        }
    }
}

fn integer(text: &str) -> Result<i64> {
    text.parse()
        .map_err(|_| Error::Internal(format!("an aggregation key {text:?} is not an integer")))
}

/// The `x` and `y` of a grid cell written `x << y_bits | y`.
fn cell_pair(key: &str, y_bits: u32) -> Result<(u64, u64)> {
    let cell = integer(key)? as u64;
    Ok((cell >> y_bits, cell & ((1u64 << y_bits) - 1)))
}

/// The geohash of longitude cell `x` and latitude cell `y` at `precision`
/// characters (`5 * precision` bits, interleaved from longitude's first).
pub fn geohash(x: u64, y: u64, precision: u8) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let bits = u32::from(precision) * 5;
    let (mut x_left, mut y_left) = (bits.div_ceil(2), bits / 2);
    let mut hash = String::with_capacity(usize::from(precision));
    let mut code = 0usize;
    for bit in 0..bits {
        let next = if bit % 2 == 0 {
            x_left -= 1;
            (x >> x_left) & 1
        } else {
            y_left -= 1;
            (y >> y_left) & 1
        };
        code = (code << 1) | next as usize;
        if bit % 5 == 4 {
            hash.push(ALPHABET[code] as char);
            code = 0;
        }
    }
    hash
}

/// A bucket width for a numeric column that spans `min..max`: a round
/// number (1, 2, 2.5 or 5 times a power of ten) giving about ten buckets;
/// whole for integer columns.
pub fn round_width(min: f64, max: f64, integer: bool) -> f64 {
    let raw = (max - min) / 10.0;
    let width = if raw.is_finite() && raw > 0.0 {
        let magnitude = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .into_iter()
            .find(|step| raw <= step * magnitude * (1.0 + 1e-9))
            .unwrap_or(10.0);
        step * magnitude
    } else {
        1.0
    };
    if integer { width.ceil().max(1.0) } else { width }
}

/// The smallest and largest value of a numeric column over the whole index.
pub fn column_range(connection: &Connection, column: &str) -> Result<Option<(f64, f64)>> {
    let sql =
        format!("SELECT min({column}::DOUBLE), max({column}::DOUBLE) FROM items WHERE isfinite({column}::DOUBLE)");
    let (min, max): (Option<f64>, Option<f64>) =
        connection.query_row(&sql, [], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(min.zip(max))
}

/// Bucket widths already worked out, by column.
#[derive(Default)]
pub(crate) struct Widths(std::sync::Mutex<HashMap<String, f64>>);

impl Widths {
    /// The width of `column`'s buckets, worked out once.
    pub(crate) fn get(&self, column: &str, compute: impl FnOnce() -> Result<f64>) -> Result<f64> {
        if let Some(width) = self.0.lock().unwrap_or_else(|e| e.into_inner()).get(column) {
            return Ok(*width);
        }
        let width = compute()?;
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(column.to_string(), width);
        Ok(width)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geohash_matches_published_examples() {
        // 57.64911 N, 10.40744 E is u4pruydqqvj (Wikipedia's example).
        let (lon, lat) = (10.40744f64, 57.64911f64);
        let precision = 11u8;
        let bits = u32::from(precision) * 5;
        let x = ((lon + 180.0) / 360.0 * (1u64 << bits.div_ceil(2)) as f64).floor() as u64;
        let y = ((lat + 90.0) / 180.0 * (1u64 << (bits / 2)) as f64).floor() as u64;
        assert_eq!(geohash(x, y, precision), "u4pruydqqvj");
        assert_eq!(geohash(x >> 25, y >> 25, 1), "u");
        assert_eq!(geohash(0, 0, 1), "0");
        assert_eq!(geohash(7, 3, 1), "z");
    }

    #[test]
    fn widths_are_round_and_give_about_ten_buckets() {
        assert_eq!(round_width(0.0, 100.0, false), 10.0);
        assert_eq!(round_width(0.0, 37.0, false), 5.0);
        assert_eq!(round_width(0.0, 1.0, false), 0.1);
        assert_eq!(round_width(10.0, 10.0, false), 1.0);
        assert_eq!(round_width(0.0, 3.0, true), 1.0);
        assert_eq!(round_width(0.0, 2_000.0, true), 200.0);
        assert_eq!(round_width(0.0, 24.0, false), 2.5);
    }

    fn items(connection: &Connection) {
        connection
            .execute_batch(
                "SET TimeZone = 'UTC';
                 CREATE TABLE items (seq BIGINT, collection VARCHAR, platform VARCHAR, cloud DOUBLE,
                    datetime TIMESTAMPTZ, start_datetime TIMESTAMPTZ, end_datetime TIMESTAMPTZ,
                    bbox_xmin DOUBLE, bbox_ymin DOUBLE, bbox_xmax DOUBLE, bbox_ymax DOUBLE);
                 INSERT INTO items VALUES
                  (0, 'a', 'x', 5, '2020-01-15T00:00:00Z', NULL, NULL, 10, 57, 11, 58),
                  (1, 'a', 'y', 15, '2020-02-01T00:00:00Z', NULL, NULL, 10, 57, 11, 58),
                  (2, 'b', 'x', NULL, NULL, '2019-12-31T23:00:00Z', '2020-03-01T00:00:00Z', -170, -10, -169, -9),
                  (3, 'b', NULL, 'nan', '2021-06-01T00:00:00Z', NULL, NULL, 179, 0, -179, 1);",
            )
            .unwrap();
    }

    #[test]
    fn every_frequency_adds_up_to_the_count() {
        let connection = Connection::open_in_memory().unwrap();
        items(&connection);
        let aggregations = [
            Aggregation::TotalCount,
            Aggregation::DatetimeMin,
            Aggregation::DatetimeMax,
            Aggregation::DatetimeFrequency(Calendar::Month),
            Aggregation::CollectionFrequency,
            Aggregation::Terms {
                column: "platform".into(),
                kind: Kind::Text,
            },
            Aggregation::Histogram {
                column: "cloud".into(),
                kind: Kind::Number,
                width: 10.0,
            },
            Aggregation::Geohash(1),
            Aggregation::Geotile(1),
        ];
        let outcomes = aggregate(&connection, &Filter::default(), &aggregations).unwrap();
        assert_eq!(outcomes[0], Outcome::Count(4));
        let instant = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp_micros();
        assert_eq!(outcomes[1], Outcome::Instant(Some(instant("2019-12-31T23:00:00Z"))));
        assert_eq!(outcomes[2], Outcome::Instant(Some(instant("2021-06-01T00:00:00Z"))));
        for outcome in &outcomes[3..] {
            let Outcome::Buckets { buckets, overflow } = outcome else {
                panic!("{outcome:?} has no buckets")
            };
            assert_eq!(
                buckets.iter().map(|b| b.frequency).sum::<u64>() + overflow,
                4,
                "{outcome:?}"
            );
        }
        let Outcome::Buckets { buckets, .. } = &outcomes[3] else {
            unreachable!()
        };
        let months: Vec<_> = buckets.iter().map(|b| (b.key.clone(), b.frequency)).collect();
        assert_eq!(
            months,
            [
                (Key::Instant(instant("2019-12-01T00:00:00Z")), 1),
                (Key::Instant(instant("2020-01-01T00:00:00Z")), 1),
                (Key::Instant(instant("2020-02-01T00:00:00Z")), 1),
                (Key::Instant(instant("2021-06-01T00:00:00Z")), 1),
            ]
        );
        let Outcome::Buckets { buckets, overflow } = &outcomes[5] else {
            unreachable!()
        };
        assert_eq!(
            (buckets[0].key.clone(), buckets[0].frequency, *overflow),
            (Key::Text("x".into()), 2, 1)
        );
        let Outcome::Buckets { buckets, overflow } = &outcomes[6] else {
            unreachable!()
        };
        assert_eq!(*overflow, 2, "a null and a NaN are in no range");
        assert_eq!(buckets[0].key, Key::Range { from: 0.0, to: 10.0 });
        assert_eq!(buckets[1].key, Key::Range { from: 10.0, to: 20.0 });
        let Outcome::Buckets { buckets, .. } = &outcomes[7] else {
            unreachable!()
        };
        let cells: Vec<_> = buckets.iter().map(|b| (b.key.clone(), b.frequency)).collect();
        // Denmark is in u; the antimeridian box's centre (180, 0.5) is in x (east edge).
        assert!(cells.contains(&(Key::Text("u".into()), 2)), "{cells:?}");
        assert!(cells.contains(&(Key::Text("x".into()), 1)), "{cells:?}");
        assert!(cells.contains(&(Key::Text("2".into()), 1)), "{cells:?}");
        let Outcome::Buckets { buckets, .. } = &outcomes[8] else {
            unreachable!()
        };
        let tiles: Vec<_> = buckets.iter().map(|b| (b.key.clone(), b.frequency)).collect();
        // The antimeridian box (centre 180, 0.5) shares the north-east tile.
        assert!(tiles.contains(&(Key::Text("1/1/0".into()), 3)), "{tiles:?}");
        assert!(tiles.contains(&(Key::Text("1/0/1".into()), 1)), "{tiles:?}");
    }

    #[test]
    fn no_match_gives_zero_and_no_buckets() {
        let connection = Connection::open_in_memory().unwrap();
        items(&connection);
        let filter = Filter::of_sql(stac_indexed_filter::Sql {
            text: "false".into(),
            params: Vec::new(),
        });
        let aggregations = [
            Aggregation::TotalCount,
            Aggregation::DatetimeMax,
            Aggregation::CollectionFrequency,
        ];
        let outcomes = aggregate(&connection, &filter, &aggregations).unwrap();
        assert_eq!(outcomes[0], Outcome::Count(0));
        assert_eq!(outcomes[1], Outcome::Instant(None));
        assert_eq!(
            outcomes[2],
            Outcome::Buckets {
                buckets: Vec::new(),
                overflow: 0
            }
        );
    }
}
