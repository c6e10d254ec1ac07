//! Rows to Arrow record batches.

use crate::item::{FieldValue, ItemRow};
use crate::report::ErrorRecord;
use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Float64Builder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, SchemaRef};
use stac_indexed_format::{FieldType, IndexConfig};
use std::collections::HashMap;
use std::sync::Arc;

/// Collects item rows and turns them into record batches of the staged items schema.
pub(crate) struct RowBatcher {
    schema: SchemaRef,
    field_types: Vec<FieldType>,
    rows: Vec<ItemRow>,
    /// The number of each owner (the catalog or collection that linked
    /// items) met so far; staged rows carry the number, not the URI.
    owner_numbers: HashMap<Arc<str>, i64>,
    owners: Vec<Arc<str>>,
    /// Added to every owner number (a shard's, so that all shards' numbers differ).
    owner_base: i64,
}

impl RowBatcher {
    pub(crate) fn new(schema: SchemaRef, config: &IndexConfig, owner_base: i64) -> RowBatcher {
        RowBatcher {
            schema,
            field_types: config.fields.iter().map(|f| f.field_type).collect(),
            rows: Vec::new(),
            owner_numbers: HashMap::new(),
            owners: Vec::new(),
            owner_base,
        }
    }

    /// The owners met so far, by number.
    pub(crate) fn owners(&self) -> &[Arc<str>] {
        &self.owners
    }

    fn owner_number(&mut self, owner: &Arc<str>) -> i64 {
        if let Some(number) = self.owner_numbers.get(owner) {
            return *number;
        }
        let number = self.owner_base + self.owners.len() as i64;
        self.owners.push(owner.clone());
        self.owner_numbers.insert(owner.clone(), number);
        number
    }

    pub(crate) fn push(&mut self, row: ItemRow) {
        self.rows.push(row);
    }

    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Builds a batch from the rows collected so far and starts over.
    pub(crate) fn take_batch(&mut self) -> Result<RecordBatch, ArrowError> {
        let rows = std::mem::take(&mut self.rows);
        let timestamp = |get: fn(&ItemRow) -> Option<i64>| -> ArrayRef {
            let mut builder = TimestampMicrosecondBuilder::with_capacity(rows.len()).with_timezone("UTC");
            rows.iter().for_each(|r| builder.append_option(get(r)));
            Arc::new(builder.finish())
        };
        let float = |get: fn(&ItemRow) -> f64| -> ArrayRef {
            let mut builder = Float64Builder::with_capacity(rows.len());
            rows.iter().for_each(|r| builder.append_value(get(r)));
            Arc::new(builder.finish())
        };
        let string = |get: fn(&ItemRow) -> Option<&str>| -> ArrayRef {
            let mut builder = StringBuilder::new();
            rows.iter().for_each(|r| builder.append_option(get(r)));
            Arc::new(builder.finish())
        };
        let mut geometry = BinaryBuilder::new();
        rows.iter().for_each(|r| geometry.append_value(&r.wkb));
        let mut columns: Vec<ArrayRef> = vec![
            string(|r| Some(&r.collection)),
            string(|r| Some(&r.id)),
            timestamp(|r| r.datetime),
            timestamp(|r| r.start_datetime),
            timestamp(|r| r.end_datetime),
            float(|r| r.bbox[0]),
            float(|r| r.bbox[1]),
            float(|r| r.bbox[2]),
            float(|r| r.bbox[3]),
            Arc::new(geometry.finish()),
            string(|r| Some(&r.href)),
            string(|r| Some(&r.content_hash)),
            string(|r| r.search_text.as_deref()),
        ];
        for (index, field_type) in self.field_types.iter().enumerate() {
            columns.push(field_column(*field_type, rows.iter().map(|r| &r.fields[index])));
        }
        let mut owners = Int64Builder::with_capacity(rows.len());
        for row in &rows {
            owners.append_value(self.owner_number(&row.owner));
        }
        columns.push(Arc::new(owners.finish()));
        RecordBatch::try_new(self.schema.clone(), columns)
    }
}

/// One configured field's column.
fn field_column<'a>(field_type: FieldType, values: impl Iterator<Item = &'a FieldValue>) -> ArrayRef {
    match field_type {
        FieldType::String => {
            let mut builder = StringBuilder::new();
            values.for_each(|v| builder.append_option(if let FieldValue::String(s) = v { Some(s) } else { None }));
            Arc::new(builder.finish())
        }
        FieldType::Number => {
            let mut builder = Float64Builder::new();
            values.for_each(|v| builder.append_option(if let FieldValue::Number(n) = v { Some(*n) } else { None }));
            Arc::new(builder.finish())
        }
        FieldType::Integer => {
            let mut builder = Int64Builder::new();
            values.for_each(|v| builder.append_option(if let FieldValue::Integer(n) = v { Some(*n) } else { None }));
            Arc::new(builder.finish())
        }
        FieldType::Boolean => {
            let mut builder = BooleanBuilder::new();
            values.for_each(|v| builder.append_option(if let FieldValue::Boolean(b) = v { Some(*b) } else { None }));
            Arc::new(builder.finish())
        }
        FieldType::Datetime => {
            let mut builder = TimestampMicrosecondBuilder::new().with_timezone("UTC");
            values.for_each(|v| {
                builder.append_option(if let FieldValue::Datetime(t) = v {
                    Some(*t)
                } else {
                    None
                })
            });
            Arc::new(builder.finish())
        }
        FieldType::StringArray => {
            let mut builder = ListBuilder::new(StringBuilder::new());
            for value in values {
                if let FieldValue::Strings(strings) = value {
                    strings.iter().for_each(|s| builder.values().append_value(s));
                    builder.append(true);
                } else {
                    builder.append(false);
                }
            }
            Arc::new(builder.finish())
        }
    }
}

/// The errors table as one record batch.
pub(crate) fn errors_batch(schema: SchemaRef, errors: &[ErrorRecord]) -> Result<RecordBatch, ArrowError> {
    let mut uri = StringBuilder::new();
    let mut kind = StringBuilder::new();
    let mut message = StringBuilder::new();
    let mut parent = StringBuilder::new();
    for error in errors {
        uri.append_value(&error.uri);
        kind.append_value(error.kind.as_str());
        message.append_value(&error.message);
        parent.append_option(error.parent.as_deref());
    }
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(uri.finish()),
            Arc::new(kind.finish()),
            Arc::new(message.finish()),
            Arc::new(parent.finish()),
        ],
    )
}
