//! stac-geoparquet: items as rows of a GeoParquet 1.1 file, in the column
//! layout of the stac-geoparquet specification.
//!
//! - `type`, `stac_version`, `stac_extensions`, `id`, `collection`, `links`
//!   and `assets` as they are in the items (lists and structs);
//! - `geometry` as WKB (2D), the file's primary geometry column, with the
//!   GeoParquet `geo` metadata (types, bbox, and the bbox column as its
//!   covering) and the `geoarrow.wkb` extension type;
//! - `bbox` as a struct of `xmin`, `ymin`, `xmax`, `ymax` (doubles);
//! - every property as a top-level column; `datetime`, `start_datetime`,
//!   `end_datetime` (and `created`, `updated`, `expires`, `published`,
//!   `unpublished` when every value is an RFC 3339 instant) as timestamps in UTC.
//!
//! A Parquet file has one schema, and the items' properties are only known
//! once all of them are read: the items go to a temporary file of JSON lines
//! first (memory stays bounded), their schema is inferred from it (numbers
//! that are sometimes integers are doubles, values of mixed kinds are text),
//! then they are read back in batches and written as row groups, each sent
//! as soon as it is written.

use super::{Pages, member};
use crate::fetch::RawItem;
use crate::fields::ITEM_MEMBERS;
use crate::{Error, Result};
use arrow_array::TimestampMicrosecondArray;
use arrow_array::{Array, ArrayRef, BinaryArray, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use serde_json::{Map, Value, json};
use stac_indexed_format::geometry::encode_geojson;
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, Write};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Rows read back and written at a time.
const BATCH_ROWS: usize = 4_096;
/// Rows per row group.
const ROW_GROUP_ROWS: usize = 16_384;
/// Properties the indexer has checked are instants.
const CHECKED_TIMESTAMPS: [&str; 3] = ["datetime", "start_datetime", "end_datetime"];
/// Properties written as timestamps when every value is an RFC 3339 instant.
const OTHER_TIMESTAMPS: [&str; 5] = ["created", "updated", "expires", "published", "unpublished"];
/// The version of the stac-geoparquet specification followed.
const STAC_GEOPARQUET_VERSION: &str = "1.0.0";

/// Writes the items of `pages` as stac-geoparquet, sending the bytes as they are written.
pub(crate) async fn write(pages: &mut Pages, sender: &mpsc::Sender<Result<Bytes>>) -> Result<()> {
    let spill_dir = pages.export.spill_dir.clone();
    let mut spill = tokio::task::spawn_blocking(move || Spill::new(&spill_dir))
        .await
        .map_err(task_failed)??;
    while let Some(items) = pages.next().await? {
        spill = tokio::task::spawn_blocking(move || spill.append(&items).map(|()| spill))
            .await
            .map_err(task_failed)??;
        if sender.is_closed() {
            return Ok(());
        }
    }
    let sender = sender.clone();
    tokio::task::spawn_blocking(move || spill.write_parquet(&sender))
        .await
        .map_err(task_failed)?
}

fn task_failed(error: tokio::task::JoinError) -> Error {
    Error::Internal(format!("an export task failed: {error}"))
}

/// The items so far, as JSON lines in a temporary file, and what the
/// file's metadata will say about them.
struct Spill {
    lines: BufWriter<File>,
    rows: usize,
    geometry_types: BTreeSet<String>,
    bounds: Option<[f64; 4]>,
    /// Per timestamp-like property: whether every value so far is an instant.
    instants: HashMap<String, bool>,
}

impl Spill {
    fn new(dir: &std::path::Path) -> Result<Spill> {
        std::fs::create_dir_all(dir).map_err(|e| spill_error(dir, e))?;
        let file = tempfile::tempfile_in(dir).map_err(|e| spill_error(dir, e))?;
        Ok(Spill {
            lines: BufWriter::with_capacity(1 << 20, file),
            rows: 0,
            geometry_types: BTreeSet::new(),
            bounds: None,
            instants: HashMap::new(),
        })
    }

    fn append(&mut self, items: &[RawItem]) -> Result<()> {
        for item in items {
            let row = self.row(item)?;
            serde_json::to_writer(&mut self.lines, &row).map_err(|e| Error::Internal(e.to_string()))?;
            self.lines.write_all(b"\n").map_err(write_error)?;
            self.rows += 1;
        }
        Ok(())
    }

    /// An item as one flat row: the top-level members, then the properties;
    /// the geometry as base64 WKB, the bbox as an object.
    fn row(&mut self, item: &RawItem) -> Result<Map<String, Value>> {
        let mut row = Map::new();
        for (key, raw) in item {
            if !["properties", "geometry", "bbox"].contains(&key.as_str()) {
                let value = serde_json::from_str(raw.get()).map_err(|e| Error::Internal(e.to_string()))?;
                row.insert(key.clone(), value);
            }
        }
        if let Value::Object(properties) = member(item, "properties") {
            for (key, value) in properties {
                // A property named like an item member (a column of its own) is not written.
                if ITEM_MEMBERS.contains(&key.as_str()) || row.contains_key(&key) {
                    continue;
                }
                if OTHER_TIMESTAMPS.contains(&key.as_str()) {
                    let instant = value.is_null() || value.as_str().is_some_and(is_instant);
                    *self.instants.entry(key.clone()).or_insert(true) &= instant;
                }
                row.insert(key, value);
            }
        }
        let geometry = member(item, "geometry");
        let mut geometry_bbox = None;
        if !geometry.is_null() {
            let encoded = encode_geojson(&geometry)
                .map_err(|e| Error::Internal(format!("an item's geometry cannot be written as WKB: {e}")))?;
            if let Some(kind) = geometry.get("type").and_then(Value::as_str) {
                self.geometry_types.insert(kind.to_string());
            }
            self.bounds = Some(union(self.bounds, encoded.bbox));
            geometry_bbox = Some(encoded.bbox);
            row.insert("geometry".into(), Value::String(BASE64.encode(&encoded.wkb)));
        } else if item.contains_key("geometry") {
            row.insert("geometry".into(), Value::Null);
        }
        let bbox = bbox_of(&member(item, "bbox")).or(geometry_bbox);
        if let Some([xmin, ymin, xmax, ymax]) = bbox {
            row.insert(
                "bbox".into(),
                json!({"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax}),
            );
        }
        Ok(row)
    }

    /// Reads the lines back and writes them as Parquet, sending each row group.
    fn write_parquet(self, sender: &mpsc::Sender<Result<Bytes>>) -> Result<()> {
        let mut file = self.lines.into_inner().map_err(|e| write_error(e.into_error()))?;
        file.rewind().map_err(write_error)?;
        let (inferred, _) = arrow_json::reader::infer_json_schema(BufReader::new(&mut file), None)
            .map_err(|e| Error::Internal(format!("the items' schema cannot be inferred: {e}")))?;
        file.rewind().map_err(write_error)?;
        let timestamps: Vec<&str> = CHECKED_TIMESTAMPS
            .into_iter()
            .chain(
                OTHER_TIMESTAMPS
                    .into_iter()
                    .filter(|name| self.instants.get(*name) == Some(&true)),
            )
            .collect();
        let (json_schema, schema) = schemas(&inferred, &timestamps);
        let reader = arrow_json::ReaderBuilder::new(json_schema)
            .with_batch_size(BATCH_ROWS)
            .with_coerce_primitive(true)
            .build(BufReader::new(file))
            .map_err(|e| Error::Internal(e.to_string()))?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        let mut writer = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(properties)).map_err(parquet_error)?;
        for batch in reader {
            let batch = batch.map_err(|e| Error::Internal(format!("an item cannot be written as a row: {e}")))?;
            writer.write(&file_batch(&batch, &schema)?).map_err(parquet_error)?;
            let bytes = std::mem::take(writer.inner_mut());
            if !bytes.is_empty() && sender.blocking_send(Ok(Bytes::from(bytes))).is_err() {
                return Ok(());
            }
        }
        writer.append_key_value_metadata(KeyValue::new(
            "geo".into(),
            geo_metadata(&self.geometry_types, self.bounds).to_string(),
        ));
        writer.append_key_value_metadata(KeyValue::new(
            "stac-geoparquet".into(),
            json!({"version": STAC_GEOPARQUET_VERSION}).to_string(),
        ));
        let rest = writer.into_inner().map_err(parquet_error)?;
        let _ = sender.blocking_send(Ok(Bytes::from(rest)));
        Ok(())
    }
}

fn is_instant(text: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

/// A STAC bbox (2D or 3D) as west, south, east, north.
fn bbox_of(value: &Value) -> Option<[f64; 4]> {
    let numbers: Vec<f64> = value.as_array()?.iter().map(Value::as_f64).collect::<Option<_>>()?;
    match numbers[..] {
        [west, south, east, north] => Some([west, south, east, north]),
        [west, south, _, east, north, _] => Some([west, south, east, north]),
        _ => None,
    }
}

fn union(bounds: Option<[f64; 4]>, [west, south, east, north]: [f64; 4]) -> [f64; 4] {
    match bounds {
        None => [west, south, east, north],
        Some([w, s, e, n]) => [w.min(west), s.min(south), e.max(east), n.max(north)],
    }
}

/// The schema to read the lines with, and the schema of the file.
fn schemas(inferred: &Schema, timestamps: &[&str]) -> (SchemaRef, SchemaRef) {
    let bbox = DataType::Struct(Fields::from(
        ["xmin", "ymin", "xmax", "ymax"]
            .map(|name| Field::new(name, DataType::Float64, true))
            .to_vec(),
    ));
    let mut json_fields = Vec::new();
    let mut file_fields = Vec::new();
    let mut push = |json: Field, file: Field| {
        json_fields.push(json);
        file_fields.push(file);
    };
    for field in inferred.fields() {
        let name = field.name().as_str();
        match name {
            "geometry" => push(Field::new(name, DataType::Utf8, true), wkb_field()),
            "bbox" => push(
                Field::new(name, bbox.clone(), true),
                Field::new(name, bbox.clone(), true),
            ),
            // Read as UTC instants without a zone name (which the JSON
            // reader could not resolve), then labelled UTC.
            _ if timestamps.contains(&name) && field.data_type() == &DataType::Utf8 => push(
                Field::new(name, DataType::Timestamp(TimeUnit::Microsecond, None), true),
                Field::new(name, stac_indexed_format::schema::timestamp_type(), true),
            ),
            _ => {
                if let Some(data_type) = writable(field.data_type()) {
                    let field = Field::new(name, data_type, true);
                    push(field.clone(), field);
                }
            }
        }
    }
    // Every file has the columns of the layout, even with no rows.
    for (name, data_type) in [
        ("type", DataType::Utf8),
        ("stac_version", DataType::Utf8),
        ("id", DataType::Utf8),
        ("collection", DataType::Utf8),
    ] {
        if inferred.field_with_name(name).is_err() {
            push(
                Field::new(name, data_type.clone(), true),
                Field::new(name, data_type, true),
            );
        }
    }
    if inferred.field_with_name("geometry").is_err() {
        push(Field::new("geometry", DataType::Utf8, true), wkb_field());
    }
    if inferred.field_with_name("bbox").is_err() {
        push(Field::new("bbox", bbox.clone(), true), Field::new("bbox", bbox, true));
    }
    (Arc::new(Schema::new(json_fields)), Arc::new(Schema::new(file_fields)))
}

/// The geometry column: WKB, with the GeoArrow extension type.
fn wkb_field() -> Field {
    Field::new("geometry", DataType::Binary, true).with_metadata(HashMap::from([
        ("ARROW:extension:name".to_string(), "geoarrow.wkb".to_string()),
        ("ARROW:extension:metadata".to_string(), "{}".to_string()),
    ]))
}

/// A type Parquet can hold: values that were always null become text, and
/// objects that never had a member (nothing to write) are left out.
fn writable(data_type: &DataType) -> Option<DataType> {
    match data_type {
        DataType::Null => Some(DataType::Utf8),
        DataType::List(item) => {
            let inner = writable(item.data_type()).unwrap_or(DataType::Utf8);
            Some(DataType::List(Arc::new(Field::new(item.name(), inner, true))))
        }
        DataType::Struct(fields) => {
            let fields: Vec<Field> = fields
                .iter()
                .filter_map(|f| writable(f.data_type()).map(|t| Field::new(f.name(), t, true)))
                .collect();
            (!fields.is_empty()).then(|| DataType::Struct(Fields::from(fields)))
        }
        other => Some(other.clone()),
    }
}

/// A batch read from the lines as the file has it: the geometry (base64
/// text) as WKB, the instants labelled UTC.
fn file_batch(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = batch
        .schema()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, column)| {
            if let DataType::Timestamp(_, None) = field.data_type()
                && let Some(instants) = column.as_any().downcast_ref::<TimestampMicrosecondArray>()
            {
                return Ok(Arc::new(instants.clone().with_timezone("UTC")) as ArrayRef);
            }
            if field.name() != "geometry" {
                return Ok(column.clone());
            }
            let text = column
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| Error::Internal("the geometry column is not text".into()))?;
            let wkb = text
                .iter()
                .map(|value| value.map(|v| BASE64.decode(v)).transpose())
                .collect::<std::result::Result<Vec<Option<Vec<u8>>>, _>>()
                .map_err(|e| Error::Internal(format!("a geometry did not survive the spill: {e}")))?;
            Ok(Arc::new(BinaryArray::from_iter(wkb)) as ArrayRef)
        })
        .collect::<Result<Vec<_>>>()?;
    debug_assert!(columns.iter().all(|c| c.len() == batch.num_rows()));
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| Error::Internal(e.to_string()))
}

/// The GeoParquet 1.1 metadata of the geometry column.
fn geo_metadata(geometry_types: &BTreeSet<String>, bounds: Option<[f64; 4]>) -> Value {
    let covering = json!({"bbox": {
        "xmin": ["bbox", "xmin"], "ymin": ["bbox", "ymin"],
        "xmax": ["bbox", "xmax"], "ymax": ["bbox", "ymax"],
    }});
    let mut column = json!({
        "encoding": "WKB",
        "geometry_types": geometry_types,
        "covering": covering,
    });
    if let Some(bounds) = bounds {
        column["bbox"] = json!(bounds);
    }
    json!({"version": "1.1.0", "primary_column": "geometry", "columns": {"geometry": column}})
}

fn spill_error(dir: &std::path::Path, error: std::io::Error) -> Error {
    Error::Internal(format!(
        "cannot write the export's temporary file in {}: {error}",
        dir.display()
    ))
}

fn write_error(error: std::io::Error) -> Error {
    Error::Internal(format!("cannot write the export's temporary file: {error}"))
}

fn parquet_error(error: parquet::errors::ParquetError) -> Error {
    Error::Internal(format!("cannot write Parquet: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwritable_types_are_mended() {
        assert_eq!(writable(&DataType::Null), Some(DataType::Utf8));
        assert_eq!(writable(&DataType::Struct(Fields::empty())), None);
        let list_of_null = DataType::List(Arc::new(Field::new("item", DataType::Null, true)));
        assert_eq!(
            writable(&list_of_null),
            Some(DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))))
        );
    }

    #[test]
    fn bboxes_are_2d() {
        assert_eq!(bbox_of(&json!([1, 2, 3, 4])), Some([1.0, 2.0, 3.0, 4.0]));
        assert_eq!(bbox_of(&json!([1, 2, 0, 3, 4, 9])), Some([1.0, 2.0, 3.0, 4.0]));
        assert_eq!(bbox_of(&json!([1, 2, 3])), None);
        assert_eq!(bbox_of(&json!(null)), None);
    }
}
