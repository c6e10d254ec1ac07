//! Bulk export through the real router: an export holds exactly the items
//! that paging through the same search returns, in the same order, field by
//! field, as NDJSON and as stac-geoparquet (read back with the parquet crate).

use arrow_array::{Array, ArrayRef, BinaryArray, RecordBatch, TimestampMicrosecondArray};
use arrow_schema::{Field, Schema};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value, json};
use stac_indexed_api::ApiConfig;
use stac_indexed_format::geometry::encode_geojson;
use stac_indexed_test_support::*;
use std::sync::Arc;
use tower::ServiceExt;

/// A response whose body may end in an error (an export cut short).
struct Streamed {
    status: StatusCode,
    headers: HeaderMap,
    body: Result<Vec<u8>, String>,
}

async fn stream(api: &Api, request: Request<Body>) -> Streamed {
    let response = api.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .map(|b| b.to_vec())
        .map_err(|e| e.to_string());
    Streamed { status, headers, body }
}

async fn export(api: &Api, uri: &str) -> Streamed {
    stream(api, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// Every item of a GET search, paging 7 at a time.
async fn paged_items(api: &Api, path: &str, params: &[(&str, &str)]) -> Vec<Value> {
    let mut params = params.to_vec();
    params.push(("limit", "7"));
    follow_get(api, &with_query(path, &params))
        .await
        .iter()
        .flat_map(|page| page["features"].as_array().unwrap().clone())
        .collect()
}

fn lines(body: &[u8]) -> Vec<Value> {
    body.split(|b| *b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice(line).unwrap())
        .collect()
}

/// The searches every format is checked with: the index's order, a filter
/// with a sort, a collection's items within a bbox.
const SEARCHES: [(&str, &[(&str, &str)]); 3] = [
    ("/search", &[]),
    (
        "/search",
        &[("filter", "\"eo:cloud_cover\" < 60"), ("sortby", "-eo:cloud_cover")],
    ),
    ("/collections/sentinel-2-l2a/items", &[("bbox", "-20,30,40,70")]),
];

#[tokio::test]
async fn an_ndjson_export_holds_what_paging_returns() {
    let api = Api::sample().await;
    for (path, params) in SEARCHES {
        let expected = paged_items(&api, path, params).await;
        let mut with_f = params.to_vec();
        with_f.push(("f", "ndjson"));
        let reply = export(&api, &with_query(path, &with_f)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.headers["content-type"], "application/x-ndjson");
        assert_eq!(
            reply.headers["stac-number-matched"],
            expected.len().to_string().as_str()
        );
        assert!(
            reply.headers["content-disposition"]
                .to_str()
                .unwrap()
                .ends_with(".ndjson\""),
            "{:?}",
            reply.headers
        );
        assert!(!expected.is_empty());
        assert_eq!(lines(&reply.body.unwrap()), expected, "{path} {params:?}");
    }
}

#[tokio::test]
async fn compressed_exports_stream_whole() {
    let api = Api::sample().await;
    for format in ["ndjson", "parquet"] {
        let request = Request::get(format!("/search?f={format}"))
            .header("accept-encoding", "gzip")
            .body(Body::empty())
            .unwrap();
        let reply = stream(&api, request).await;
        assert_eq!(reply.headers["content-encoding"], "gzip", "{format}");
        let compressed = reply.body.expect("the compressed export ends whole");
        let mut whole = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&compressed[..]), &mut whole).unwrap();
        let plain = export(&api, &format!("/search?f={format}")).await.body.unwrap();
        if format == "ndjson" {
            assert_eq!(whole, plain);
        } else {
            assert_eq!(rows(&whole).0.len(), 50);
        }
    }
}

#[tokio::test]
async fn accept_headers_post_bodies_and_fields_choose_too() {
    let api = Api::sample().await;
    let expected = paged_items(&api, "/search", &[("collections", "landsat-c2-l2")]).await;
    let request = Request::get("/search?collections=landsat-c2-l2")
        .header("accept", "application/x-ndjson")
        .body(Body::empty())
        .unwrap();
    assert_eq!(lines(&stream(&api, request).await.body.unwrap()), expected);

    let body = json!({"collections": ["landsat-c2-l2"], "fields": {"include": ["id"], "exclude": ["links", "assets", "geometry", "bbox", "properties", "stac_version", "stac_extensions", "type"]}, "limit": 2});
    let request = Request::post("/search?f=ndjson")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let exported = lines(&stream(&api, request).await.body.unwrap());
    let ids: Vec<Value> = expected
        .iter()
        .map(|item| json!({"id": item["id"], "collection": item["collection"]}))
        .collect();
    assert_eq!(
        exported, ids,
        "every match (limit is not a page size here), with only the fields asked for"
    );

    let reply = api.get("/search?f=csv").await;
    assert!(
        reply
            .assert_error(StatusCode::BAD_REQUEST, "BadRequest")
            .contains("csv")
    );
}

/// A row of an exported file as JSON (geometry left out), and the geometry's WKB.
fn rows(file: &[u8]) -> (Vec<Value>, Vec<Option<Vec<u8>>>, Value) {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file.to_vec())).unwrap();
    let metadata = reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .cloned()
        .unwrap_or_default();
    let geo: Value = metadata
        .iter()
        .find(|kv| kv.key == "geo")
        .map(|kv| serde_json::from_str(kv.value.as_deref().unwrap()).unwrap())
        .expect("GeoParquet metadata");
    let batches: Vec<RecordBatch> = reader.build().unwrap().map(Result::unwrap).collect();
    let mut rows = Vec::new();
    let mut geometries = Vec::new();
    for batch in &batches {
        let column = batch.column_by_name("geometry").unwrap();
        let wkb = column.as_any().downcast_ref::<BinaryArray>().unwrap();
        geometries.extend((0..wkb.len()).map(|i| (!wkb.is_null(i)).then(|| wkb.value(i).to_vec())));
        let index = batch.schema().index_of("geometry").unwrap();
        let mut rest = with_offset_instants(batch);
        rest.remove_column(index);
        let mut writer = arrow_json::ArrayWriter::new(Vec::new());
        writer.write(&rest).unwrap();
        writer.finish().unwrap();
        let json: Vec<Value> = serde_json::from_slice(&writer.into_inner()).unwrap();
        rows.extend(json);
    }
    (rows, geometries, geo)
}

/// The batch with its UTC instants labelled `+00:00`, which the JSON
/// writer can print without a time zone database.
fn with_offset_instants(batch: &RecordBatch) -> RecordBatch {
    let (mut fields, mut columns) = (Vec::new(), Vec::new());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        match column.as_any().downcast_ref::<TimestampMicrosecondArray>() {
            Some(instants) => {
                let instants = instants.clone().with_timezone("+00:00");
                fields.push(Field::new(field.name(), instants.data_type().clone(), true));
                columns.push(Arc::new(instants) as ArrayRef);
            }
            None => {
                fields.push(field.as_ref().clone());
                columns.push(column.clone());
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

/// Whether an exported value is the item's: numbers as numbers (an integer
/// may be a double in its column), instants as instants, a missing member
/// as null.
fn same(exported: &Value, expected: &Value) -> bool {
    match (exported, expected) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(a), Value::String(b)) => {
            a == b
                || matches!(
                    (chrono::DateTime::parse_from_rfc3339(a), chrono::DateTime::parse_from_rfc3339(b)),
                    (Ok(x), Ok(y)) if x == y
                )
        }
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y)),
        (Value::Object(a), Value::Object(b)) => {
            b.iter().all(|(k, v)| same(a.get(k).unwrap_or(&Value::Null), v))
                && a.iter().all(|(k, v)| b.contains_key(k) || v.is_null())
        }
        (a, b) => a == b,
    }
}

fn check_row(row: &Value, wkb: &Option<Vec<u8>>, item: &Value) {
    let what = &item["id"];
    for member in [
        "type",
        "stac_version",
        "stac_extensions",
        "id",
        "collection",
        "links",
        "assets",
    ] {
        if item.get(member).is_some() {
            assert!(
                same(&row[member], &item[member]),
                "{what} {member}: {} vs {}",
                row[member],
                item[member]
            );
        }
    }
    for (name, value) in item["properties"].as_object().unwrap() {
        assert!(same(&row[name], value), "{what} {name}: {} vs {value}", row[name]);
    }
    let bbox: Vec<f64> = item["bbox"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let exported = [
        &row["bbox"]["xmin"],
        &row["bbox"]["ymin"],
        &row["bbox"]["xmax"],
        &row["bbox"]["ymax"],
    ]
    .map(|v| v.as_f64().unwrap());
    assert_eq!(exported.to_vec(), bbox, "{what} bbox");
    assert_eq!(
        wkb.as_ref(),
        Some(&encode_geojson(&item["geometry"]).unwrap().wkb),
        "{what} geometry"
    );
}

#[tokio::test]
async fn a_geoparquet_export_holds_what_paging_returns() {
    let api = Api::sample().await;
    for (path, params) in SEARCHES {
        let expected = paged_items(&api, path, params).await;
        let mut with_f = params.to_vec();
        with_f.push(("f", "parquet"));
        let reply = export(&api, &with_query(path, &with_f)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.headers["content-type"], "application/vnd.apache.parquet");
        let (rows, geometries, geo) = rows(&reply.body.unwrap());
        assert_eq!(rows.len(), expected.len(), "{path} {params:?}");
        let ids: Vec<&Value> = rows.iter().map(|r| &r["id"]).collect();
        let expected_ids: Vec<&Value> = expected.iter().map(|i| &i["id"]).collect();
        assert_eq!(ids, expected_ids, "the search's order");
        for ((row, wkb), item) in rows.iter().zip(&geometries).zip(&expected) {
            check_row(row, wkb, item);
        }
        assert_eq!(geo["version"], "1.1.0");
        assert_eq!(geo["primary_column"], "geometry");
        let column = &geo["columns"]["geometry"];
        assert_eq!(column["encoding"], "WKB");
        assert_eq!(column["covering"]["bbox"]["xmin"], json!(["bbox", "xmin"]));
        let mut types: Vec<&str> = expected
            .iter()
            .map(|i| i["geometry"]["type"].as_str().unwrap())
            .collect();
        types.sort_unstable();
        types.dedup();
        assert_eq!(column["geometry_types"], json!(types));
        let west = expected
            .iter()
            .map(|i| i["bbox"][0].as_f64().unwrap())
            .fold(f64::INFINITY, f64::min);
        assert!(column["bbox"][0].as_f64().unwrap() <= west);
    }
}

#[tokio::test]
async fn datetimes_are_timestamps_and_empty_exports_are_valid_files() {
    let api = Api::sample().await;
    let reply = export(&api, "/search?f=parquet&ids=nothing-has-this-id").await;
    assert_eq!(reply.headers["stac-number-matched"], "0");
    let body = reply.body.unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(body)).unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 0);
    for column in ["id", "collection", "geometry", "bbox"] {
        assert!(reader.schema().field_with_name(column).is_ok(), "{column}");
    }
    let reply = export(&api, "/search?f=parquet").await;
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(reply.body.unwrap())).unwrap();
    let schema = reader.schema();
    assert_eq!(
        schema.field_with_name("datetime").unwrap().data_type(),
        &stac_indexed_format::schema::timestamp_type()
    );
    let geometry = schema.field_with_name("geometry").unwrap();
    assert_eq!(geometry.metadata()["ARROW:extension:name"], "geoarrow.wkb");
}

#[tokio::test]
async fn exports_beyond_the_maximum_are_refused_before_they_start() {
    let config = ApiConfig {
        export_max_items: 10,
        ..ApiConfig::default()
    };
    let api = Api::new(&sample_data(), sample_config(), config).await;
    for format in ["ndjson", "parquet"] {
        let reply = api.get(&format!("/search?f={format}")).await;
        let message = reply.assert_error(StatusCode::BAD_REQUEST, "BadRequest");
        assert!(
            message.contains("50 items") && message.contains("at most 10"),
            "{message}"
        );
    }
    let small = export(
        &api,
        "/search?f=ndjson&collections=landsat-c2-l2&filter=%22eo:cloud_cover%22%3C20",
    )
    .await;
    assert_eq!(small.status, StatusCode::OK);
}

#[tokio::test]
async fn an_unreadable_item_cuts_the_export_short() {
    let catalog = sample_copy();
    let api = Api::new(catalog.path(), sample_config(), ApiConfig::default()).await;
    let victim = files_under(catalog.path())
        .into_iter()
        .find(|p| p.parent().is_some_and(|d| d.ends_with("items")))
        .unwrap();
    std::fs::remove_file(&victim).unwrap();
    for format in ["ndjson", "parquet"] {
        let reply = export(&api, &format!("/search?f={format}")).await;
        assert_eq!(reply.status, StatusCode::OK, "the export had started");
        assert!(
            reply.body.is_err(),
            "{format}: the body ends in an error, not as if whole"
        );
    }
}
