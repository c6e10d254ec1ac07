//! Staged rows for the tests of this crate.

use arrow_array::builder::{BinaryBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use std::sync::Arc;

/// A staged row: collection, datetime (else start_datetime), id, owner.
pub(crate) type Row = (String, Option<i64>, Option<i64>, String, i64);

pub(crate) fn batch(schema: &SchemaRef, rows: &[Row]) -> RecordBatch {
    let mut strings: Vec<StringBuilder> = (0..5).map(|_| StringBuilder::new()).collect();
    let mut times: Vec<TimestampMicrosecondBuilder> = (0..3)
        .map(|_| TimestampMicrosecondBuilder::new().with_timezone("UTC"))
        .collect();
    let mut floats: Vec<Float64Builder> = (0..4).map(|_| Float64Builder::new()).collect();
    let (mut geometry, mut owner) = (BinaryBuilder::new(), Int64Builder::new());
    for (collection, datetime, start, id, row_owner) in rows {
        strings[0].append_value(collection);
        strings[1].append_value(id);
        times[0].append_option(*datetime);
        times[1].append_option(*start);
        times[2].append_option(*start);
        floats.iter_mut().for_each(|f| f.append_value(0.0));
        geometry.append_value([1u8]);
        strings[2].append_value(format!("file:///{collection}/{id}.json"));
        strings[3].append_value("hash");
        strings[4].append_null();
        owner.append_value(*row_owner);
    }
    let mut columns: Vec<ArrayRef> = vec![Arc::new(strings[0].finish()), Arc::new(strings[1].finish())];
    columns.extend(times.iter_mut().map(|t| Arc::new(t.finish()) as ArrayRef));
    columns.extend(floats.iter_mut().map(|f| Arc::new(f.finish()) as ArrayRef));
    columns.push(Arc::new(geometry.finish()));
    columns.extend(strings[2..].iter_mut().map(|s| Arc::new(s.finish()) as ArrayRef));
    columns.push(Arc::new(owner.finish()));
    RecordBatch::try_new(schema.clone(), columns).unwrap()
}
