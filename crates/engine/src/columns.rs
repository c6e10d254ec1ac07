//! The index's columns in memory, typed, in `seq` order: what filters,
//! sorts and index-only fields read.
//!
//! Each column is read from DuckDB once per index version, the first time a
//! search needs it (or by the background warm-up after start-up), as Arrow
//! batches. Integers and timestamps (UTC microseconds) are plain vectors;
//! text is dictionary-coded with a *sorted* dictionary, so that comparing
//! two rows' codes compares their strings, and a text predicate is decided
//! once per distinct value rather than once per row; numbers are coded the
//! same way when they have at most 65,536 distinct values, and codes are as
//! narrow as their dictionary allows ([`crate::codes`]). Validity (NULL or
//! not) is a bitmap.

use crate::codes::{Codes, Numbers};
use crate::packed::Packed;
use crate::{Error, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch};
use duckdb::Connection;
use duckdb::types::{TimeUnit, Value as SqlValue};
use hashbrown::DefaultHashBuilder;
use hashbrown::HashTable;
use serde_json::Value;
use stac_indexed_filter::Kind;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// One bit per row.
#[derive(Clone, Debug, Default)]
pub(crate) struct Bitmap {
    words: Vec<u64>,
}

impl Bitmap {
    /// All bits clear, for `rows` rows.
    pub(crate) fn new(rows: usize) -> Bitmap {
        Bitmap {
            words: vec![0; rows.div_ceil(64)],
        }
    }

    /// Sets the bit of `row`.
    pub(crate) fn set(&mut self, row: usize) {
        self.words[row / 64] |= 1 << (row % 64);
    }

    /// Whether the bit of `row` is set.
    pub(crate) fn get(&self, row: usize) -> bool {
        self.words.get(row / 64).is_some_and(|w| w & (1 << (row % 64)) != 0)
    }

    /// The 64 bits of rows `64 * index ..`; clear past the end.
    pub(crate) fn word(&self, index: usize) -> u64 {
        self.words.get(index).copied().unwrap_or(0)
    }

    /// Asks the processor to bring the bit of `row` into its cache.
    pub(crate) fn prefetch(&self, row: usize) {
        prefetch(&self.words, row / 64);
    }

    /// Sets the bits of `bits` in the word of rows `64 * index ..`.
    pub(crate) fn set_word(&mut self, index: usize, bits: u64) {
        self.words[index] |= bits;
    }

    /// How many bits are set.
    pub(crate) fn count(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// The rows whose bits are set, ascending.
    pub(crate) fn ones(&self) -> Vec<u32> {
        let mut rows = Vec::with_capacity(self.count() as usize);
        for (index, word) in self.words.iter().enumerate() {
            let mut bits = *word;
            while bits != 0 {
                rows.push((index * 64) as u32 + bits.trailing_zeros());
                bits &= bits - 1;
            }
        }
        rows
    }

    fn bytes(&self) -> usize {
        self.words.len() * 8
    }
}

/// Distinct text values, sorted: end to end in one buffer (a test of every
/// value reads memory in order, and a value costs its bytes and an offset),
/// or, for the `id` column, as rows of the directory's ids (a value costs
/// four bytes: the ids are kept once, by the directory).
#[derive(Debug)]
pub(crate) struct Texts {
    storage: Storage,
}

/// Where [`Texts`] keeps its values.
#[derive(Debug)]
enum Storage {
    /// The values end to end; `ends[code]` is where a code's value ends.
    Owned { bytes: String, ends: Vec<u64> },
    /// The value of code `c` is the id of row `rows[c]`.
    Ids { ids: Arc<Packed>, rows: Vec<u32> },
}

impl Default for Texts {
    fn default() -> Texts {
        Texts {
            storage: Storage::Owned {
                bytes: String::new(),
                ends: Vec::new(),
            },
        }
    }
}

impl Texts {
    /// How many values there are.
    pub(crate) fn len(&self) -> usize {
        match &self.storage {
            Storage::Owned { ends, .. } => ends.len(),
            Storage::Ids { rows, .. } => rows.len(),
        }
    }

    /// The value of a code.
    pub(crate) fn get(&self, code: usize) -> &str {
        match &self.storage {
            Storage::Owned { bytes, ends } => {
                let start = code.checked_sub(1).map_or(0, |previous| ends[previous] as usize);
                &bytes[start..ends[code] as usize]
            }
            Storage::Ids { ids, rows } => ids.text(rows[code] as usize),
        }
    }

    /// The values, in code (and value) order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|code| self.get(code))
    }

    /// The first code whose value is not before `value` (`false` of `before`).
    pub(crate) fn partition_point(&self, before: impl Fn(&str) -> bool) -> usize {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let middle = low + (high - low) / 2;
            if before(self.get(middle)) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        low
    }

    /// No values yet, with room for `values` values of `bytes` bytes in all.
    fn with_capacity(bytes: usize, values: usize) -> Texts {
        Texts {
            storage: Storage::Owned {
                bytes: String::with_capacity(bytes),
                ends: Vec::with_capacity(values),
            },
        }
    }

    /// The distinct ids of `ids`, sorted, and per row the code of its id.
    fn of_ids(ids: Arc<Packed>, count: usize) -> (Vec<u32>, Texts) {
        let mut order: Vec<u32> = (0..count as u32).collect();
        order.sort_unstable_by(|a, b| ids.get(*a as usize).cmp(ids.get(*b as usize)));
        let mut codes = vec![0u32; count];
        let mut rows: Vec<u32> = Vec::new();
        for row in order {
            if rows
                .last()
                .is_none_or(|last| ids.get(*last as usize) != ids.get(row as usize))
            {
                rows.push(row);
            }
            codes[row as usize] = (rows.len() - 1) as u32;
        }
        rows.shrink_to_fit();
        (
            codes,
            Texts {
                storage: Storage::Ids { ids, rows },
            },
        )
    }

    /// The bytes of the values.
    fn text_bytes(&self) -> usize {
        match &self.storage {
            Storage::Owned { bytes, .. } => bytes.len(),
            Storage::Ids { ids, rows } => rows.iter().map(|row| ids.get(*row as usize).len()).sum(),
        }
    }

    /// Appends a value (kept in its own buffer).
    fn push(&mut self, value: &str) {
        if let Storage::Owned { bytes, ends } = &mut self.storage {
            bytes.push_str(value);
            ends.push(bytes.len() as u64);
        }
    }

    fn bytes(&self) -> usize {
        match &self.storage {
            Storage::Owned { bytes, ends } => bytes.len() + ends.len() * 8,
            Storage::Ids { rows, .. } => rows.capacity() * 4,
        }
    }
}

/// Text values as codes into a sorted dictionary of the distinct values.
#[derive(Debug)]
pub(crate) struct Dictionary {
    /// Per row, an index into `values` (0 for NULL rows).
    pub codes: Codes,
    /// The distinct values, sorted.
    pub values: Texts,
}

impl Dictionary {
    /// Sets `allowed[code]` to whether the value of each code of `codes`
    /// passes `test`: in code order, or, for values kept as the directory's
    /// ids (scattered in code order), reading the ids in row order.
    pub(crate) fn test_values(&self, codes: Range<usize>, test: impl Fn(&str) -> bool, allowed: &mut [bool]) {
        match &self.values.storage {
            Storage::Ids { ids, .. } if codes.len() > self.values.len() / 16 => {
                for row in 0..self.codes.len() {
                    let code = self.codes.get(row);
                    if codes.contains(&code) {
                        allowed[code] = test(ids.text(row));
                    }
                }
            }
            _ => codes.for_each(|code| allowed[code] = test(self.values.get(code))),
        }
    }
}

/// Asks the processor to bring `values[index]` into its cache, without
/// waiting for it: a pass over scattered rows asks for the values of the
/// rows some steps ahead, so that their memory latencies overlap instead
/// of adding up. Nothing happens past the end, or off x86-64.
pub(crate) fn prefetch<T>(values: &[T], index: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(value) = values.get(index) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: SSE is part of x86-64's baseline, and a prefetch reads
        // nothing (it is a hint, valid for any address; this one is in bounds).
        unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(value).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (values, index);
}

impl Column {
    /// The codes of a text column, or of a number column coded into its
    /// distinct values: a test is then decided once per code.
    pub(crate) fn codes(&self) -> Option<&Codes> {
        match &self.values {
            Values::Text(dictionary) => Some(&dictionary.codes),
            Values::Number(Numbers::Coded { codes, .. }) => Some(codes),
            _ => None,
        }
    }

    /// Asks for row `row`'s value and validity (see [`prefetch`]).
    pub(crate) fn prefetch(&self, row: usize) {
        self.valid.prefetch(row);
        match &self.values {
            Values::Number(numbers) => numbers.prefetch(row),
            Values::Integer(values) | Values::Time(values) => prefetch(values, row),
            Values::Boolean(bits) => bits.prefetch(row),
            Values::Text(dictionary) => dictionary.codes.prefetch(row),
            Values::TextArray { offsets, .. } => prefetch(offsets, row),
        }
    }
}

/// A column's values, by storage type.
#[derive(Debug)]
pub(crate) enum Values {
    /// DOUBLE.
    Number(Numbers),
    /// BIGINT.
    Integer(Vec<i64>),
    /// TIMESTAMPTZ as UTC microseconds.
    Time(Vec<i64>),
    /// BOOLEAN.
    Boolean(Bitmap),
    /// VARCHAR.
    Text(Dictionary),
    /// VARCHAR[]: row `r` holds `codes[offsets[r]..offsets[r + 1]]`.
    TextArray {
        /// Where each row's values start (one more entry than rows).
        offsets: Vec<u32>,
        /// The values, as codes into `dictionary`.
        codes: Vec<u32>,
        /// The distinct values, sorted.
        dictionary: Texts,
    },
}

/// One column of the items table, in seq order.
#[derive(Debug)]
pub(crate) struct Column {
    /// The values (meaningless where `valid` is clear).
    pub values: Values,
    /// Which rows are not NULL.
    pub valid: Bitmap,
}

/// A value to compare rows with, as a paging token carries it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Probe {
    /// A number (DOUBLE).
    Number(f64),
    /// An integer, or a timestamp in UTC microseconds.
    Integer(i64),
    /// A boolean.
    Boolean(bool),
    /// Text.
    Text(String),
}

impl Column {
    /// Reads one column (an SQL expression over `items`) as `kind`.
    pub(crate) fn load(connection: &Connection, expression: &str, kind: Kind) -> Result<Column> {
        let select = match kind {
            Kind::Timestamp => format!("epoch_us({expression})"),
            Kind::Geometry => return Err(Error::Internal("geometries are not loaded as columns".into())),
            other => format!("CAST({expression} AS {})", other.sql_type()),
        };
        let mut statement = connection.prepare(&format!("SELECT {select} FROM items ORDER BY seq"))?;
        let batches: Vec<RecordBatch> = statement.query_arrow([])?.collect();
        let arrays: Vec<ArrayRef> = batches.iter().map(|b| b.column(0).clone()).collect();
        Column::of_arrays(&arrays, kind)
    }

    /// Reads the items table's column `name` as `kind` with the parquet
    /// crate (DuckDB's allocator would keep what its scan used); the file's
    /// rows are in `seq` order.
    pub(crate) fn read(items: &Path, name: &str, kind: Kind) -> Result<Column> {
        let mut arrays: Vec<ArrayRef> = Vec::new();
        for batch in crate::directory::read_items(items, &[name])? {
            let batch = batch.map_err(|e| Error::Internal(format!("{}: {e}", items.display())))?;
            let array = batch.column(0).clone();
            let array: ArrayRef = match (kind, array.as_primitive_opt::<TimestampMicrosecondType>()) {
                (Kind::Timestamp, Some(times)) => {
                    Arc::new(Int64Array::new(times.values().clone(), times.nulls().cloned()))
                }
                _ => array,
            };
            arrays.push(array);
        }
        Column::of_arrays(&arrays, kind)
    }

    /// The `id` column, from the directory's ids of its `count` rows.
    pub(crate) fn of_ids(ids: Arc<Packed>, count: usize) -> Column {
        let (codes, values) = Texts::of_ids(ids, count);
        let mut valid = Bitmap::new(count);
        (0..count).for_each(|row| valid.set(row));
        Column {
            values: Values::Text(Dictionary {
                codes: Codes::narrowed(codes, values.len()),
                values,
            }),
            valid,
        }
    }

    /// A column from its values in `seq` order.
    fn of_arrays(arrays: &[ArrayRef], kind: Kind) -> Result<Column> {
        let arrays: Vec<&ArrayRef> = arrays.iter().collect();
        let rows = arrays.iter().map(|a| a.len()).sum();
        let mut valid = Bitmap::new(rows);
        let mut row = 0;
        for array in &arrays {
            for i in 0..array.len() {
                if array.is_valid(i) {
                    valid.set(row);
                }
                row += 1;
            }
        }
        let values = match kind {
            Kind::Number => {
                // A NULL row's slot holds whatever the reader left there:
                // 0, so that it takes no place of its own in a dictionary.
                let mut numbers = primitive::<Float64Type>(&arrays)?;
                for (row, number) in numbers.iter_mut().enumerate() {
                    if !valid.get(row) {
                        *number = 0.0;
                    }
                }
                Values::Number(Numbers::of(numbers))
            }
            Kind::Integer => Values::Integer(primitive::<Int64Type>(&arrays)?),
            Kind::Timestamp => Values::Time(primitive::<Int64Type>(&arrays)?),
            Kind::Boolean => Values::Boolean(booleans(&arrays, rows)?),
            Kind::Text => Values::Text(texts(&arrays)?),
            Kind::TextArray => text_arrays(&arrays)?,
            Kind::Geometry => unreachable!("refused above"),
        };
        Ok(Column { values, valid })
    }

    /// About how many bytes the column takes.
    pub(crate) fn bytes(&self) -> usize {
        self.valid.bytes()
            + match &self.values {
                Values::Number(numbers) => numbers.bytes(),
                Values::Integer(v) | Values::Time(v) => v.len() * 8,
                Values::Boolean(b) => b.bytes(),
                Values::Text(d) => d.codes.bytes() + d.values.bytes(),
                Values::TextArray {
                    offsets,
                    codes,
                    dictionary,
                } => (offsets.len() + codes.len()) * 4 + dictionary.bytes(),
            }
    }

    /// Compares two non-NULL rows by value.
    pub(crate) fn compare_rows(&self, a: usize, b: usize) -> Ordering {
        match &self.values {
            Values::Number(numbers) => numbers.compare(a, b),
            Values::Integer(v) | Values::Time(v) => v[a].cmp(&v[b]),
            Values::Boolean(v) => v.get(a).cmp(&v.get(b)),
            Values::Text(d) => d.codes.get(a).cmp(&d.codes.get(b)),
            Values::TextArray { .. } => Ordering::Equal,
        }
    }

    /// Compares a value with a non-NULL row.
    pub(crate) fn compare_probe(&self, probe: &Probe, row: usize) -> Ordering {
        match (&self.values, probe) {
            (Values::Number(numbers), Probe::Number(p)) => p.total_cmp(&numbers.get(row)),
            (Values::Integer(v) | Values::Time(v), Probe::Integer(p)) => p.cmp(&v[row]),
            (Values::Boolean(v), Probe::Boolean(p)) => p.cmp(&v.get(row)),
            (Values::Text(d), Probe::Text(p)) => p.as_str().cmp(d.values.get(d.codes.get(row))),
            // A probe is made for its column's kind (Column::probe).
            _ => Ordering::Equal,
        }
    }

    /// The value a paging token holds for a row (the SQL path writes the same).
    pub(crate) fn token_value(&self, row: usize) -> Value {
        if !self.valid.get(row) {
            return Value::Null;
        }
        match &self.values {
            Values::Number(numbers) => {
                serde_json::Number::from_f64(numbers.get(row)).map_or(Value::Null, Value::Number)
            }
            Values::Integer(v) | Values::Time(v) => Value::from(v[row]),
            Values::Boolean(v) => Value::Bool(v.get(row)),
            Values::Text(d) => Value::String(d.values.get(d.codes.get(row)).to_string()),
            Values::TextArray { .. } => Value::Null,
        }
    }

    /// The value of a token for this column: `None` for NULL, an error for a
    /// value of another type.
    pub(crate) fn probe(&self, value: &Value) -> Option<Result<Probe, ()>> {
        let probe = match (&self.values, value) {
            (_, Value::Null) => return None,
            (Values::Number(_), Value::Number(n)) => n.as_f64().map(Probe::Number),
            (Values::Integer(_) | Values::Time(_), Value::Number(n)) => n.as_i64().map(Probe::Integer),
            (Values::Boolean(_), Value::Bool(b)) => Some(Probe::Boolean(*b)),
            (Values::Text(_), Value::String(s)) => Some(Probe::Text(s.clone())),
            _ => None,
        };
        Some(probe.ok_or(()))
    }

    /// A row's value as DuckDB would return it (index-only fields).
    pub(crate) fn sql_value(&self, row: usize) -> SqlValue {
        if !self.valid.get(row) {
            return SqlValue::Null;
        }
        match &self.values {
            Values::Number(numbers) => SqlValue::Double(numbers.get(row)),
            Values::Integer(v) => SqlValue::BigInt(v[row]),
            Values::Time(v) => SqlValue::Timestamp(TimeUnit::Microsecond, v[row]),
            Values::Boolean(v) => SqlValue::Boolean(v.get(row)),
            Values::Text(d) => SqlValue::Text(d.values.get(d.codes.get(row)).to_string()),
            Values::TextArray {
                offsets,
                codes,
                dictionary,
            } => SqlValue::List(
                codes[offsets[row] as usize..offsets[row + 1] as usize]
                    .iter()
                    .map(|c| SqlValue::Text(dictionary.get(*c as usize).to_string()))
                    .collect(),
            ),
        }
    }
}

fn unexpected(array: &ArrayRef) -> Error {
    Error::Internal(format!("unexpected column type {}", array.data_type()))
}

fn primitive<T: arrow_array::ArrowPrimitiveType>(arrays: &[&ArrayRef]) -> Result<Vec<T::Native>> {
    let mut values = Vec::with_capacity(arrays.iter().map(|a| a.len()).sum());
    for array in arrays {
        let typed = array.as_primitive_opt::<T>().ok_or_else(|| unexpected(array))?;
        values.extend_from_slice(typed.values());
    }
    Ok(values)
}

fn booleans(arrays: &[&ArrayRef], rows: usize) -> Result<Bitmap> {
    let mut bits = Bitmap::new(rows);
    let mut row = 0;
    for array in arrays {
        let typed = array.as_boolean_opt().ok_or_else(|| unexpected(array))?;
        for i in 0..typed.len() {
            if typed.is_valid(i) && typed.value(i) {
                bits.set(row);
            }
            row += 1;
        }
    }
    Ok(bits)
}

/// Codes text values in arrival order, then sorts the dictionary. The
/// distinct values are kept end to end in one buffer and found by a hash
/// table of their codes: a column of a million distinct ids costs two
/// buffers, not two million small allocations (which the allocator kept
/// long after the read).
#[derive(Default)]
struct Coder {
    /// The distinct values, in arrival order.
    arrived: Texts,
    /// Codes into `arrived`, by their value's hash.
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
    codes: Vec<u32>,
}

impl Coder {
    fn push(&mut self, value: Option<&str>) {
        let Coder {
            arrived,
            table,
            hasher,
            codes,
        } = self;
        let code = match value {
            None => 0,
            Some(value) => {
                let hash = hasher.hash_one(value);
                match table.find(hash, |code| arrived.get(*code as usize) == value) {
                    Some(code) => *code,
                    None => {
                        let code = arrived.len() as u32;
                        arrived.push(value);
                        table.insert_unique(hash, code, |code| hasher.hash_one(arrived.get(*code as usize)));
                        code
                    }
                }
            }
        };
        codes.push(code);
    }

    fn push_strings(&mut self, array: &dyn Array) -> Result<()> {
        if let Some(strings) = array.as_string_opt::<i32>() {
            strings.iter().for_each(|v| self.push(v));
        } else if let Some(strings) = array.as_string_opt::<i64>() {
            strings.iter().for_each(|v| self.push(v));
        } else if let Some(strings) = array.as_string_view_opt() {
            strings.iter().for_each(|v| self.push(v));
        } else {
            return Err(Error::Internal(format!("unexpected text type {}", array.data_type())));
        }
        Ok(())
    }

    /// The codes renumbered so that code order is value order.
    fn finish(self) -> (Vec<u32>, Texts) {
        let Coder {
            arrived,
            mut codes,
            table,
            ..
        } = self;
        drop(table);
        let mut order: Vec<u32> = (0..arrived.len() as u32).collect();
        order.sort_unstable_by(|a, b| arrived.get(*a as usize).cmp(arrived.get(*b as usize)));
        let mut renumbered = vec![0u32; arrived.len()];
        for (new, old) in order.iter().enumerate() {
            renumbered[*old as usize] = new as u32;
        }
        codes
            .iter_mut()
            .for_each(|c| *c = renumbered.get(*c as usize).copied().unwrap_or(0));
        let mut sorted = Texts::with_capacity(arrived.text_bytes(), arrived.len());
        order.iter().for_each(|old| sorted.push(arrived.get(*old as usize)));
        (codes, sorted)
    }
}

fn texts(arrays: &[&ArrayRef]) -> Result<Dictionary> {
    let mut coder = Coder::default();
    for array in arrays {
        coder.push_strings(array.as_ref())?;
    }
    let (codes, values) = coder.finish();
    Ok(Dictionary {
        codes: Codes::narrowed(codes, values.len()),
        values,
    })
}

fn text_arrays(arrays: &[&ArrayRef]) -> Result<Values> {
    let mut coder = Coder::default();
    let mut offsets = vec![0u32];
    for array in arrays {
        let lists = array.as_list_opt::<i32>().ok_or_else(|| unexpected(array))?;
        for i in 0..lists.len() {
            if lists.is_valid(i) {
                coder.push_strings(lists.value(i).as_ref())?;
            }
            offsets.push(coder.codes.len() as u32);
        }
    }
    let (codes, dictionary) = coder.finish();
    Ok(Values::TextArray {
        offsets,
        codes,
        dictionary,
    })
}

/// The columns loaded so far, by SQL expression.
pub(crate) struct Columns {
    /// The items table, for the columns read without DuckDB.
    items: PathBuf,
    /// The directory's ids and its row count, once it is read: the `id`
    /// column is made of them instead of a copy.
    ids: OnceLock<(Arc<Packed>, usize)>,
    loaded: Mutex<HashMap<String, Arc<Slot>>>,
}

/// One column: empty until it is read. Its lock is held while it is read,
/// so that concurrent first searches wait for one read instead of each
/// reading it (sixteen reads of a column of a million distinct ids took
/// 770 MB more than one, which the allocator then kept).
type Slot = Mutex<Option<Arc<Column>>>;

impl Columns {
    /// No column loaded yet, of the items table `items`.
    pub(crate) fn over(items: &Path) -> Columns {
        Columns {
            items: items.to_path_buf(),
            ids: OnceLock::new(),
            loaded: Mutex::default(),
        }
    }

    /// Makes the `id` column of the directory's ids (of `rows` rows) from now on.
    pub(crate) fn use_ids(&self, ids: Arc<Packed>, rows: usize) {
        let _ = self.ids.set((ids, rows));
    }

    /// A column, read from the index the first time it is asked for: a
    /// column of the items table with the parquet crate, any other
    /// expression (or a column that read fails) with DuckDB.
    pub(crate) fn get(&self, connection: &Connection, expression: &str, kind: Kind) -> Result<Arc<Column>> {
        let slot = lock(&self.loaded).entry(expression.to_string()).or_default().clone();
        let mut column = lock(&slot);
        if let Some(column) = column.as_ref() {
            return Ok(column.clone());
        }
        let name = plain_column(expression);
        if let (Some("id"), Kind::Text, Some((ids, rows))) = (name.as_deref(), kind, self.ids.get()) {
            let loaded = Arc::new(Column::of_ids(ids.clone(), *rows));
            *column = Some(loaded.clone());
            return Ok(loaded);
        }
        let read = name.and_then(|name| match Column::read(&self.items, &name, kind) {
            Ok(column) => Some(column),
            Err(error) => {
                tracing::debug!(%error, expression, "column read by DuckDB instead");
                None
            }
        });
        let loaded = Arc::new(match read {
            Some(column) => column,
            None => Column::load(connection, expression, kind)?,
        });
        *column = Some(loaded.clone());
        give_back_freed_memory();
        Ok(loaded)
    }

    /// About how many bytes the loaded columns take (not counting those
    /// being read).
    pub(crate) fn bytes(&self) -> usize {
        let slots: Vec<Arc<Slot>> = lock(&self.loaded).values().cloned().collect();
        slots
            .iter()
            .filter_map(|slot| slot.try_lock().ok()?.as_ref().map(|c| c.bytes()))
            .sum()
    }
}

/// The column an expression names when it is only a quoted identifier.
fn plain_column(expression: &str) -> Option<String> {
    let inner = expression.strip_prefix('"')?.strip_suffix('"')?;
    // Inside, a quote is only ever doubled (`sql_column` escapes that way).
    let unquoted = inner.replace("\"\"", "");
    (!inner.is_empty() && !unquoted.contains('"')).then(|| inner.replace("\"\"", "\""))
}

/// Returns the heap's free pages to the system. Reading a column builds it
/// through transient structures (a hash table of its distinct values), and
/// glibc keeps what they freed: a column of a million distinct ids left
/// about 120 MB more resident until this was called.
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of glibc's own heap;
    // it takes no pointers and is safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A lock, also after a panic elsewhere (the data is only ever replaced whole).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// `values` (in seq order) as the text column read from an index, and as
/// the `id` column made of a directory's ids: the two storages of
/// [`Texts`], for tests.
#[cfg(test)]
pub(crate) fn text_columns(values: &[&str]) -> (Column, Column) {
    let connection = Connection::open_in_memory().unwrap();
    let rows: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(seq, v)| format!("({seq}, '{v}')"))
        .collect();
    connection
        .execute_batch(&format!(
            "CREATE TABLE items AS SELECT * FROM (VALUES {}) t(seq, id)",
            rows.join(", ")
        ))
        .unwrap();
    let read = Column::load(&connection, "id", Kind::Text).unwrap();
    let mut ids = Packed::default();
    values.iter().for_each(|v| ids.push(v.as_bytes()).unwrap());
    (read, Column::of_ids(Arc::new(ids), values.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection() -> Connection {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch(
                "CREATE TABLE items AS SELECT * FROM (VALUES
                    (2, 1.5, 'b', TIMESTAMPTZ '2024-01-01 00:00:00+00', true, ['x', 'y']),
                    (0, NULL, 'c', NULL, false, NULL),
                    (1, -3.0, NULL, TIMESTAMPTZ '2023-01-01 00:00:01+00', NULL, ['y'])
                 ) t(seq, n, s, t, b, a)",
            )
            .unwrap();
        connection
    }

    #[test]
    fn columns_load_typed_in_seq_order() {
        let connection = connection();
        let n = Column::load(&connection, "n", Kind::Number).unwrap();
        assert_eq!((n.valid.get(0), n.valid.get(1), n.valid.get(3)), (false, true, false));
        assert_eq!(n.sql_value(2), SqlValue::Double(1.5));
        let s = Column::load(&connection, "s", Kind::Text).unwrap();
        assert_eq!(s.token_value(0), Value::from("c"));
        assert_eq!(s.token_value(1), Value::Null);
        assert_eq!(s.compare_rows(2, 0), Ordering::Less, "b < c by code");
        let t = Column::load(&connection, "t", Kind::Timestamp).unwrap();
        assert_eq!(t.token_value(1), Value::from(1_672_531_201_000_000i64));
        let b = Column::load(&connection, "b", Kind::Boolean).unwrap();
        assert_eq!(
            (b.sql_value(0), b.sql_value(1)),
            (SqlValue::Boolean(false), SqlValue::Null)
        );
        let a = Column::load(&connection, "a", Kind::TextArray).unwrap();
        assert_eq!(
            a.sql_value(2),
            SqlValue::List(vec![SqlValue::Text("x".into()), SqlValue::Text("y".into())])
        );
        assert_eq!(a.sql_value(0), SqlValue::Null);
    }

    #[test]
    fn the_id_column_of_the_directorys_ids_is_the_column_read() {
        let ids = ["b", "a", "c", "a", "", "é", "b"];
        let (read, shared) = text_columns(&ids);
        let (Values::Text(shared_dictionary), Values::Text(read_dictionary)) = (&shared.values, &read.values) else {
            panic!("text columns")
        };
        assert_eq!(
            shared_dictionary.values.iter().collect::<Vec<_>>(),
            read_dictionary.values.iter().collect::<Vec<_>>()
        );
        for (row, id) in ids.iter().enumerate() {
            assert!(shared.valid.get(row));
            assert_eq!(
                shared_dictionary.codes.get(row),
                read_dictionary.codes.get(row),
                "row {row}"
            );
            assert_eq!(shared.token_value(row), Value::from(*id));
        }
        assert!(
            shared.bytes() < read.bytes(),
            "the shared column keeps no copy of the ids"
        );
    }

    /// The same table as a Parquet file in `seq` order, as an index holds it.
    fn parquet(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("items.parquet");
        connection()
            .execute_batch(&format!(
                "COPY (SELECT seq, CAST(n AS DOUBLE) AS n, s, t, b, a FROM items ORDER BY seq) TO {} (FORMAT parquet)",
                stac_indexed_format::sql_path(&path)
            ))
            .unwrap();
        path
    }

    #[test]
    fn columns_read_with_the_parquet_crate_equal_those_duckdb_loads() {
        let dir = tempfile::tempdir().unwrap();
        let items = parquet(dir.path());
        let connection = connection();
        for (name, kind) in [
            ("n", Kind::Number),
            ("s", Kind::Text),
            ("t", Kind::Timestamp),
            ("b", Kind::Boolean),
            ("a", Kind::TextArray),
        ] {
            let read = Column::read(&items, name, kind).unwrap();
            let loaded = Column::load(&connection, name, kind).unwrap();
            for row in 0..3 {
                assert_eq!(read.sql_value(row), loaded.sql_value(row), "{name} row {row}");
                assert_eq!(read.valid.get(row), loaded.valid.get(row), "{name} row {row}");
            }
            assert_eq!(read.bytes(), loaded.bytes(), "{name}");
        }
        assert!(Column::read(&items, "missing", Kind::Number).is_err());
    }

    #[test]
    fn only_a_quoted_identifier_is_read_as_a_column() {
        assert_eq!(plain_column("\"eo:cloud_cover\"").as_deref(), Some("eo:cloud_cover"));
        assert_eq!(plain_column("\"a\"\"b\"").as_deref(), Some("a\"b"));
        assert_eq!(plain_column("s || 'x'"), None);
        assert_eq!(plain_column("\"a\" || \"b\""), None);
        assert_eq!(plain_column("\"\""), None);
    }

    #[test]
    fn probes_compare_like_rows() {
        let s = Column::load(&connection(), "s", Kind::Text).unwrap();
        let probe = s.probe(&Value::from("bb")).unwrap().unwrap();
        assert_eq!(s.compare_probe(&probe, 2), Ordering::Greater);
        assert_eq!(s.compare_probe(&probe, 0), Ordering::Less);
        assert!(s.probe(&Value::from(1)).unwrap().is_err());
        assert!(s.probe(&Value::Null).is_none());
    }

    #[test]
    fn concurrent_first_reads_of_a_column_read_it_once() {
        let columns = Columns::over(Path::new("/nonexistent/items.parquet"));
        let first = connection();
        // The column's expression counts the rows it is evaluated for.
        first.execute_batch("CREATE SEQUENCE reads").unwrap();
        let expression = "s || CAST(nextval('reads') AS VARCHAR)";
        let readers = 4;
        let connections: Vec<Connection> = (0..readers).map(|_| first.try_clone().unwrap()).collect();
        let start = std::sync::Barrier::new(readers);
        let read: Vec<Arc<Column>> = std::thread::scope(|scope| {
            let (columns, start) = (&columns, &start);
            let readers: Vec<_> = connections
                .into_iter()
                .map(|connection| {
                    scope.spawn(move || {
                        start.wait();
                        columns.get(&connection, expression, Kind::Text).unwrap()
                    })
                })
                .collect();
            readers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        assert!(read.iter().all(|c| Arc::ptr_eq(c, &read[0])), "one column, shared");
        let evaluated: i64 = first
            .query_row("SELECT currval('reads')", [], |row| row.get(0))
            .unwrap();
        assert!(evaluated <= 3, "the 3 rows were read {evaluated} times, not once");
        assert_eq!(columns.bytes(), read[0].bytes());
    }
}
