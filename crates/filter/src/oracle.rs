//! Tests of the translator against cql2's own evaluator: an in-memory
//! `items` table built from hand-made items, and for every expression the
//! ids the SQL selects must be the ids `Expr::matches` selects.

use crate::spatial::register_functions;
use crate::{Error, FilterLang, Queryables, parse_filter, parse_q, query_to_expr, to_sql};
use duckdb::types::Value as SqlValue;
use duckdb::{Connection, params_from_iter};
use serde_json::{Value, json};
use stac_indexed_format::IndexConfig;
use stac_indexed_format::geometry::encode_geojson;
use std::time::Instant;

const FIELDS: [(&str, &str); 8] = [
    ("eo:cloud_cover", "DOUBLE"),
    ("gsd", "DOUBLE"),
    ("orbit", "BIGINT"),
    ("platform", "VARCHAR"),
    ("title", "VARCHAR"),
    ("flag", "BOOLEAN"),
    ("created", "TIMESTAMPTZ"),
    ("instruments", "VARCHAR[]"),
];

fn queryables() -> Queryables {
    let config = IndexConfig::from_json(
        r#"{"fields": [
            {"name": "eo:cloud_cover", "path": "properties.eo:cloud_cover", "type": "number"},
            {"name": "gsd", "path": "properties.gsd", "type": "number"},
            {"name": "orbit", "path": "properties.orbit", "type": "integer"},
            {"name": "platform", "path": "properties.platform", "type": "string"},
            {"name": "title", "path": "properties.title", "type": "string"},
            {"name": "flag", "path": "properties.flag", "type": "boolean"},
            {"name": "created", "path": "properties.created", "type": "datetime"},
            {"name": "instruments", "path": "properties.instruments", "type": "string[]"}
        ]}"#,
    )
    .unwrap();
    Queryables::new(&config)
}

fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]})
}

fn point(x: f64, y: f64) -> Value {
    json!({"type": "Point", "coordinates": [x, y]})
}

fn item(id: &str, collection: &str, geometry: Value, properties: Value) -> Value {
    json!({"type": "Feature", "stac_version": "1.0.0", "id": id, "collection": collection,
           "geometry": geometry, "properties": properties, "links": [], "assets": {}})
}

/// Hand-made items covering the edge cases.
fn items() -> Vec<Value> {
    let dt = |s: &str| json!(s);
    let mut antimeridian = item(
        "i09",
        "c3",
        json!({"type": "MultiPolygon", "coordinates": [
            [[[170, -10], [180, -10], [180, 10], [170, 10], [170, -10]]],
            [[[-180, -10], [-170, -10], [-170, 10], [-180, 10], [-180, -10]]]
        ]}),
        json!({"datetime": "2020-03-01T00:00:00Z", "eo:cloud_cover": 1}),
    );
    antimeridian["bbox"] = json!([170, -10, -170, 10]);
    vec![
        item(
            "i01",
            "c1",
            square(0.0, 0.0, 10.0, 10.0),
            json!({"datetime": dt("2020-01-01T00:00:00Z"),
            "eo:cloud_cover": 5, "gsd": 10, "platform": "sentinel-2a", "instruments": ["msi"], "orbit": 100,
            "flag": true, "created": "2020-01-05T00:00:00Z", "title": "Sentinel scene",
            "description": "Clear sky over Paris", "keywords": ["optical", "EO"]}),
        ),
        item(
            "i02",
            "c1",
            square(10.0, 0.0, 20.0, 10.0),
            json!({"datetime": "2020-01-02T12:00:00Z",
            "eo:cloud_cover": 15, "gsd": 10, "platform": "sentinel-2b", "instruments": ["msi", "tir"],
            "orbit": 101, "flag": false, "title": "Sentinel scène"}),
        ),
        item(
            "i03",
            "c1",
            square(5.0, 5.0, 15.0, 15.0),
            json!({"datetime": "2020-01-15T06:30:00Z",
            "eo:cloud_cover": 50.5, "gsd": 20, "platform": "landsat-8", "instruments": ["oli", "tirs"],
            "orbit": 7, "title": "Landsat CAFÉ", "description": "Cloudy, climate model run"}),
        ),
        item(
            "i04",
            "c1",
            point(2.0, 2.0),
            json!({"datetime": null, "start_datetime": "2020-01-01T00:00:00Z",
            "end_datetime": "2020-01-31T23:59:59Z", "eo:cloud_cover": null, "gsd": 30, "platform": "Landsat-9",
            "instruments": [], "title": "Point de vue", "keywords": ["climate", "model"]}),
        ),
        item(
            "i05",
            "c2",
            json!({"type": "LineString", "coordinates": [[0, 0], [20, 20]]}),
            json!({"datetime": "2020-01-20T00:00:00Z", "start_datetime": "2020-01-10T00:00:00Z",
            "end_datetime": "2020-02-10T00:00:00Z", "eo:cloud_cover": 0, "title": "ligne"}),
        ),
        item(
            "i06",
            "c2",
            json!({"type": "MultiPoint", "coordinates": [[1, 1], [30, 30]]}),
            json!({"datetime": "2019-12-31T23:59:59Z", "eo:cloud_cover": 100, "gsd": 5.5,
            "platform": "sentinel-1a", "instruments": ["c-sar"], "flag": true, "keywords": ["radar", "SAR"]}),
        ),
        item(
            "i07",
            "c2",
            json!({"type": "Polygon", "coordinates": [
                [[40, 40], [50, 40], [50, 50], [40, 50], [40, 40]],
                [[42, 42], [48, 42], [48, 48], [42, 48], [42, 42]]]}),
            json!({"datetime": "2021-06-01T00:00:00Z", "eo:cloud_cover": 20,
            "platform": "x'; DROP TABLE items; --", "title": "O'Reilly \"quoted\""}),
        ),
        item(
            "i08",
            "c2",
            point(45.0, 45.0),
            json!({"datetime": "2020-01-01T00:00:00Z", "eo:cloud_cover": 20,
            "gsd": 10, "platform": "100%_done\\", "instruments": ["msi"]}),
        ),
        antimeridian,
        item(
            "i10",
            "c3",
            square(0.0, 0.0, 10.0, 10.0),
            json!({"datetime": "2020-01-01T00:00:00Z",
            "eo:cloud_cover": 5, "gsd": 10, "platform": "sentinel-2a", "instruments": ["msi", "msi"], "orbit": 100}),
        ),
        item(
            "i11",
            "c3",
            json!({"type": "Polygon", "coordinates": [[[10, 10], [10, 0], [0, 0], [0, 10], [10, 10]]]}),
            json!({"datetime": "2020-02-01T00:00:00Z", "gsd": 15, "instruments": ["tir", "msi"]}),
        ),
        item(
            "i12",
            "c3",
            json!({"type": "LineString", "coordinates": [[10, 0], [10, 10]]}),
            json!({"datetime": "2020-01-31T23:59:59Z", "eo:cloud_cover": 7.5}),
        ),
        item(
            "i13",
            "c1",
            point(100.0, 50.0),
            json!({"datetime": null, "start_datetime": "2020-01-15T06:30:00Z",
            "end_datetime": "2020-01-20T00:00:00Z", "eo:cloud_cover": 33}),
        ),
        item(
            "i14",
            "c1",
            json!({"type": "GeometryCollection", "geometries": [point(5.0, 5.0),
                {"type": "LineString", "coordinates": [[-5, -5], [-1, -1]]}]}),
            json!({"datetime": "2022-01-01T00:00:00Z", "created": null, "eo:cloud_cover": 80, "gsd": 60}),
        ),
        item(
            "i15",
            "c2",
            square(-20.0, -20.0, -15.0, -15.0),
            json!({"datetime": null,
            "start_datetime": "2019-01-01T00:00:00Z", "end_datetime": "2019-12-31T23:59:59Z",
            "platform": "SENTINEL-2A"}),
        ),
        item(
            "i16",
            "c2",
            point(-179.0, 0.0),
            json!({"datetime": "2020-01-02T00:00:00Z", "platform": "naïve",
            "title": "Naïve Élan"}),
        ),
        item(
            "i17",
            "c3",
            json!({"type": "MultiLineString", "coordinates": [[[-5, 5], [15, 5]], [[100, 100], [101, 101]]]}),
            json!({"datetime": "2020-01-10T00:00:00Z", "eo:cloud_cover": 12, "orbit": 3}),
        ),
        item(
            "i18",
            "c3",
            square(-50.0, -50.0, 60.0, 60.0),
            json!({"datetime": "2020-01-20T00:00:00Z",
            "eo:cloud_cover": 60, "gsd": 10}),
        ),
        item(
            "i19",
            "c1",
            json!({"type": "MultiPolygon", "coordinates": [
                [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]], [[[3, 3], [4, 3], [4, 4], [3, 4], [3, 3]]]]}),
            json!({"datetime": "2020-06-15T12:00:00Z", "eo:cloud_cover": 5, "instruments": ["oli"]}),
        ),
        item(
            "i20",
            "c1",
            point(5.0, 5.0),
            json!({"datetime": "2020-01-01T12:00:00Z"}),
        ),
    ]
}

/// A column value of an item as the indexer stores it (NULL when missing).
fn field(properties: &Value, name: &str, sql_type: &str) -> SqlValue {
    let value = &properties[name];
    match (sql_type, value) {
        ("DOUBLE", Value::Number(n)) => SqlValue::Double(n.as_f64().unwrap()),
        ("BIGINT", Value::Number(n)) => SqlValue::BigInt(n.as_i64().unwrap()),
        ("BOOLEAN", Value::Bool(b)) => SqlValue::Boolean(*b),
        ("VARCHAR" | "TIMESTAMPTZ", Value::String(s)) => SqlValue::Text(s.clone()),
        ("VARCHAR[]", Value::Array(_)) => SqlValue::Text(value.to_string()),
        _ => SqlValue::Null,
    }
}

fn search_text(properties: &Value) -> SqlValue {
    let mut parts: Vec<String> = ["title", "description"]
        .iter()
        .filter_map(|k| properties[*k].as_str().map(str::to_string))
        .collect();
    if let Some(keywords) = properties["keywords"].as_array() {
        parts.extend(keywords.iter().filter_map(|k| k.as_str().map(str::to_string)));
    }
    if parts.is_empty() {
        SqlValue::Null
    } else {
        SqlValue::Text(parts.join("\n").to_lowercase())
    }
}

/// An in-memory `items` table with the functions registered.
fn database(items: &[Value]) -> Connection {
    let connection = Connection::open_in_memory().unwrap();
    connection.execute_batch("SET TimeZone = 'UTC'").unwrap();
    register_functions(&connection).unwrap();
    let fields: Vec<String> = FIELDS.iter().map(|(n, t)| format!("\"{n}\" {t}")).collect();
    connection
        .execute_batch(&format!(
            "CREATE TABLE items (seq BIGINT, collection VARCHAR, id VARCHAR, datetime TIMESTAMPTZ, \
             start_datetime TIMESTAMPTZ, end_datetime TIMESTAMPTZ, bbox_xmin DOUBLE, bbox_ymin DOUBLE, \
             bbox_xmax DOUBLE, bbox_ymax DOUBLE, geometry BLOB, href VARCHAR, content_hash VARCHAR, \
             search_text VARCHAR, {})",
            fields.join(", ")
        ))
        .unwrap();
    let casts: Vec<&str> = FIELDS
        .iter()
        .map(|(_, t)| match *t {
            "VARCHAR[]" => "CAST(CAST(? AS JSON) AS VARCHAR[])",
            "TIMESTAMPTZ" => "CAST(? AS TIMESTAMPTZ)",
            _ => "?",
        })
        .collect();
    let sql = format!(
        "INSERT INTO items VALUES (?, ?, ?, CAST(? AS TIMESTAMPTZ), CAST(? AS TIMESTAMPTZ), \
         CAST(? AS TIMESTAMPTZ), ?, ?, ?, ?, ?, ?, ?, ?, {})",
        casts.join(", ")
    );
    for (seq, item) in items.iter().enumerate() {
        let encoded = encode_geojson(&item["geometry"]).unwrap();
        let bbox = match item["bbox"].as_array() {
            Some(b) => [0, 1, 2, 3].map(|i| b[i].as_f64().unwrap()),
            None => encoded.bbox,
        };
        let p = &item["properties"];
        let text = |v: &Value| v.as_str().map_or(SqlValue::Null, |s| SqlValue::Text(s.into()));
        let mut row = vec![
            SqlValue::BigInt(seq as i64),
            text(&item["collection"]),
            text(&item["id"]),
            text(&p["datetime"]),
            text(&p["start_datetime"]),
            text(&p["end_datetime"]),
        ];
        row.extend(bbox.map(SqlValue::Double));
        row.extend([
            SqlValue::Blob(encoded.wkb),
            SqlValue::Text(format!("file:///{seq}.json")),
            SqlValue::Text("0".repeat(32)),
            search_text(p),
        ]);
        row.extend(FIELDS.iter().map(|(n, t)| field(p, n, t)));
        connection.execute(&sql, params_from_iter(row)).unwrap();
    }
    connection
}

fn select(connection: &Connection, sql: &crate::Sql) -> duckdb::Result<Vec<String>> {
    let query = format!("SELECT id FROM items WHERE ({}) ORDER BY id", sql.text);
    let mut statement = connection.prepare(&query)?;
    let ids = statement
        .query_map(params_from_iter(sql.params.iter()), |row| row.get(0))?
        .collect::<duckdb::Result<Vec<String>>>()?;
    Ok(ids)
}

fn ids_where(connection: &Connection, filter: &Value, lang: FilterLang) -> Result<Vec<String>, Error> {
    let queryables = queryables();
    let expr = parse_filter(filter, lang)?;
    let sql = to_sql(&expr, &queryables.scope(None))?;
    Ok(select(connection, &sql).unwrap_or_else(|e| panic!("{filter}: DuckDB failed: {e}\n{}", sql.text)))
}

/// The ids cql2's evaluator selects.
fn expected(expr: &cql2::Expr, items: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = items
        .iter()
        .filter(|item| expr.clone().matches(Some(item)).unwrap_or(false))
        .map(|item| item["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

const TEXT_FILTERS: &[&str] = &[
    // Comparisons, NULLs, booleans.
    "id = 'i01'",
    "id <> 'i01'",
    "collection = 'c2'",
    "\"eo:cloud_cover\" < 10",
    "eo:cloud_cover <= 5",
    "eo:cloud_cover > 50",
    "eo:cloud_cover >= 50.5",
    "eo:cloud_cover = 20",
    "eo:cloud_cover <> 20",
    "properties.eo:cloud_cover < 1",
    "gsd = 10 AND eo:cloud_cover < 10",
    "gsd = 10 OR eo:cloud_cover > 90",
    "NOT (gsd = 10)",
    "NOT eo:cloud_cover < 10",
    "NOT (gsd = 10 OR eo:cloud_cover > 90)",
    "(gsd = 10 OR gsd = 20) AND NOT (eo:cloud_cover >= 50)",
    "platform IS NULL",
    "platform IS NOT NULL",
    "eo:cloud_cover IS NULL",
    "NOT eo:cloud_cover IS NULL",
    "instruments IS NULL",
    "created IS NULL",
    "flag = true",
    "flag",
    "NOT flag",
    "flag = false",
    "flag <> true",
    "orbit > 50",
    "orbit = 100",
    "orbit < 7.5",
    "eo:cloud_cover < gsd",
    "gsd >= eo:cloud_cover",
    "platform = 'x''; DROP TABLE items; --'",
    "title = 'O''Reilly \"quoted\"'",
    "true",
    "false",
    "NOT false",
    "eo:cloud_cover = NULL",
    "NOT (eo:cloud_cover = NULL)",
    "NULL",
    "id = 'i01' OR NULL",
    // Timestamps.
    "datetime = TIMESTAMP('2020-01-01T00:00:00Z')",
    "datetime > TIMESTAMP('2020-01-01T00:00:00Z')",
    "datetime <= TIMESTAMP('2020-01-02T12:00:00Z')",
    "datetime < '2020-01-02T00:00:00Z'",
    "datetime = TIMESTAMP('2020-01-01T01:00:00+01:00')",
    "datetime = DATE('2020-01-02')",
    "datetime <> DATE('2020-01-02')",
    "start_datetime < end_datetime",
    "datetime >= start_datetime",
    "created = TIMESTAMP('2020-01-05T00:00:00Z')",
    "created > DATE('2020-01-04')",
    // LIKE, CASEI, ACCENTI.
    "platform LIKE 'sentinel%'",
    "platform LIKE 'sentinel-2_'",
    "platform LIKE '%2a'",
    "platform NOT LIKE 'sentinel%'",
    "NOT platform LIKE 'sentinel%'",
    "platform LIKE '100\\%\\_done%'",
    "platform LIKE '100\\%\\_done\\\\'",
    "platform LIKE '%DROP%'",
    "title LIKE '%''%'",
    "casei(platform) LIKE 'sentinel-2a'",
    "casei(platform) LIKE casei('SENTINEL%')",
    "casei(platform) = casei('SENTINEL-2A')",
    "casei(platform) = 'landsat-9'",
    "casei('LANDSAT-9') = casei(platform)",
    "accenti(title) = accenti('Sentinel scene')",
    "accenti(title) = 'Sentinel scene'",
    "accenti(casei(title)) LIKE accenti(casei('%CAFE%'))",
    "casei(title) LIKE '%café%'",
    "accenti(title) LIKE '%Elan'",
    "accenti(platform) = 'naive'",
    // BETWEEN.
    "eo:cloud_cover BETWEEN 5 AND 20",
    "eo:cloud_cover NOT BETWEEN 5 AND 20",
    "gsd BETWEEN 10 AND 10",
    "orbit BETWEEN 7 AND 100",
    "gsd * 2 BETWEEN 15 AND 25",
    // IN.
    "platform IN ('sentinel-2a', 'landsat-8')",
    "id IN ('i01', 'i05', 'nope')",
    "platform NOT IN ('sentinel-2a')",
    "eo:cloud_cover IN (5, 20, 100)",
    "orbit IN (100, 3)",
    "orbit NOT IN (100, 3)",
    "platform IN ('sentinel-2a', NULL)",
    "NOT platform IN ('sentinel-2a', NULL)",
    "id IN ('i01')",
    // Arithmetic.
    "gsd * 2 > 20",
    "gsd + eo:cloud_cover = 15",
    "eo:cloud_cover - gsd < 0",
    "gsd / 2 = 5",
    "gsd % 3 = 1",
    "gsd ^ 2 >= 400",
    "gsd div 3 = 3",
    "gsd / 0 > 1",
    "-gsd < -15",
    "(gsd + 1) * 2 = 22",
    "orbit * 2 = 200",
    "orbit + orbit > 150",
    "10 - gsd - 1 < 0",
    // Spatial.
    "S_INTERSECTS(geometry, POLYGON((0 0, 10 0, 10 10, 0 10, 0 0)))",
    "S_EQUALS(geometry, POLYGON((0 0, 10 0, 10 10, 0 10, 0 0)))",
    "S_DISJOINT(geometry, POLYGON((0 0, 10 0, 10 10, 0 10, 0 0)))",
    "S_TOUCHES(geometry, POLYGON((0 0, 10 0, 10 10, 0 10, 0 0)))",
    "S_WITHIN(geometry, POLYGON((-1 -1, 11 -1, 11 11, -1 11, -1 -1)))",
    "S_CONTAINS(geometry, POINT(2 2))",
    "S_OVERLAPS(geometry, POLYGON((5 5, 15 5, 15 15, 5 15, 5 5)))",
    "S_CROSSES(geometry, LINESTRING(-5 5, 15 5))",
    "S_CROSSES(LINESTRING(-5 5, 15 5), geometry)",
    "S_INTERSECTS(geometry, POINT(45 45))",
    "S_INTERSECTS(geometry, BBOX(0, 0, 1, 1))",
    "S_INTERSECTS(geometry, BBOX(175, -5, 180, 5))",
    "S_WITHIN(POINT(2 2), geometry)",
    "S_CONTAINS(POLYGON((-100 -100, 100 -100, 100 100, -100 100, -100 -100)), geometry)",
    "S_INTERSECTS(geometry, MULTIPOINT((45 45), (2 2)))",
    "S_INTERSECTS(geometry, LINESTRING(-30 -30, -16 -16))",
    "S_INTERSECTS(geometry, MULTILINESTRING((-30 -30, -16 -16), (100 49, 100 51)))",
    "S_INTERSECTS(geometry, MULTIPOLYGON(((41 41, 43 41, 43 43, 41 43, 41 41)), ((0 0, 1 0, 1 1, 0 0))))",
    "S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT(45 45), LINESTRING(-3 -2, -2 -3)))",
    "NOT S_INTERSECTS(geometry, POLYGON((0 0, 10 0, 10 10, 0 10, 0 0)))",
    "S_DISJOINT(geometry, POINT(100 50))",
    "S_TOUCHES(geometry, LINESTRING(10 0, 10 10))",
    "S_EQUALS(geometry, POINT(2 2))",
    "S_EQUALS(geometry, geometry)",
    "S_INTERSECTS(POINT(0 0), POINT(0 0))",
    "S_WITHIN(geometry, BBOX(-60, -60, 70, 70))",
    "S_OVERLAPS(geometry, MULTIPOINT((1 1), (100 100)))",
    "S_CONTAINS(geometry, LINESTRING(1 1, 2 2))",
    "S_INTERSECTS(geometry, POLYGON((44 44, 46 44, 46 46, 44 46, 44 44)))",
    // Temporal.
    "T_AFTER(datetime, TIMESTAMP('2020-01-01T00:00:00Z'))",
    "T_BEFORE(datetime, TIMESTAMP('2020-01-02T00:00:00Z'))",
    "T_BEFORE(datetime, DATE('2020-01-02'))",
    "T_AFTER(datetime, DATE('2020-01-01'))",
    "T_INTERSECTS(datetime, INTERVAL('2020-01-01T00:00:00Z', '2020-01-15T06:30:00Z'))",
    "T_DURING(datetime, INTERVAL('2020-01-01T00:00:00Z', '2020-01-31T00:00:00Z'))",
    "T_INTERSECTS(INTERVAL(start_datetime, end_datetime), INTERVAL('2020-01-15T00:00:00Z', '2020-01-16T00:00:00Z'))",
    "T_CONTAINS(INTERVAL(start_datetime, end_datetime), TIMESTAMP('2020-01-15T00:00:00Z'))",
    "T_EQUALS(datetime, TIMESTAMP('2020-01-01T00:00:00Z'))",
    "T_DISJOINT(datetime, INTERVAL('2020-01-01T00:00:00Z', '..'))",
    "T_INTERSECTS(datetime, INTERVAL('..', '2020-01-01T00:00:00Z'))",
    "T_INTERSECTS(datetime, INTERVAL('..', '..'))",
    "T_STARTS(INTERVAL(start_datetime, end_datetime), INTERVAL('2020-01-01T00:00:00Z', '2020-02-01T00:00:00Z'))",
    "T_STARTEDBY(INTERVAL(start_datetime, end_datetime), TIMESTAMP('2020-01-15T06:30:00Z'))",
    "T_FINISHES(INTERVAL(start_datetime, end_datetime), INTERVAL('2019-12-01T00:00:00Z', '2020-01-20T00:00:00Z'))",
    "T_FINISHEDBY(INTERVAL(start_datetime, end_datetime), TIMESTAMP('2020-01-20T00:00:00Z'))",
    "T_MEETS(INTERVAL(start_datetime, end_datetime), TIMESTAMP('2019-12-31T23:59:59Z'))",
    "T_MEETS(INTERVAL(start_datetime, end_datetime), INTERVAL('2020-01-20T00:00:00Z', '..'))",
    "T_METBY(INTERVAL(start_datetime, end_datetime), INTERVAL('2019-06-01T00:00:00Z', '2020-01-01T00:00:00Z'))",
    "T_OVERLAPS(INTERVAL(start_datetime, end_datetime), INTERVAL('2020-01-20T00:00:00Z', '2020-03-01T00:00:00Z'))",
    "T_OVERLAPPEDBY(INTERVAL(start_datetime, end_datetime), INTERVAL('2019-12-01T00:00:00Z', '2020-01-16T00:00:00Z'))",
    "T_INTERSECTS(created, DATE('2020-01-05'))",
    "T_DURING(datetime, DATE('2020-01-02'))",
    "T_INTERSECTS(datetime, DATE('2020-01-02'))",
    "T_EQUALS(DATE('2020-01-02'), DATE('2020-01-02'))",
    "T_DISJOINT(INTERVAL(start_datetime, end_datetime), INTERVAL('2020-01-01T00:00:00Z', '2020-01-05T00:00:00Z'))",
    "NOT T_DISJOINT(INTERVAL(start_datetime, end_datetime), INTERVAL('2020-01-01T00:00:00Z', '2020-01-05T00:00:00Z'))",
    "T_AFTER(INTERVAL(start_datetime, '..'), TIMESTAMP('2020-01-12T00:00:00Z'))",
    "T_BEFORE(datetime, end_datetime)",
    "T_DURING(datetime, INTERVAL(start_datetime, end_datetime))",
    "T_INTERSECTS(datetime, '2020-01-01T00:00:00Z')",
    "T_INTERSECTS(datetime, INTERVAL('2020-01-01', '2020-01-02'))",
    "NOT T_AFTER(datetime, TIMESTAMP('2020-01-10T00:00:00Z'))",
    // Arrays.
    "A_CONTAINS(instruments, ('msi'))",
    "A_CONTAINS(instruments, ('msi', 'tir'))",
    "A_CONTAINEDBY(instruments, ('msi', 'tir', 'oli'))",
    "A_EQUALS(instruments, ('msi'))",
    "A_EQUALS(instruments, ('tir', 'msi'))",
    "A_OVERLAPS(instruments, ('tirs', 'c-sar'))",
    "A_CONTAINS(('msi', 'tir', 'x'), instruments)",
    "NOT A_OVERLAPS(instruments, ('msi'))",
    "A_CONTAINEDBY(instruments, ('zzz'))",
    "A_OVERLAPS(instruments, instruments)",
];

fn json_filters() -> Vec<Value> {
    let geometry = json!({"property": "geometry"});
    vec![
        json!({"op": "and", "args": [{"op": "=", "args": [{"property": "gsd"}, 10]},
                                     {"op": "<", "args": [{"property": "eo:cloud_cover"}, 10]}]}),
        json!({"op": "t_intersects", "args": [{"property": "datetime"}, {"interval": ["2020-01-01T00:00:00Z", ".."]}]}),
        json!({"op": "in", "args": [{"property": "id"}, ["i01", "i02"]]}),
        json!({"op": "a_overlaps", "args": [{"property": "instruments"}, ["msi"]]}),
        json!({"op": "s_intersects", "args": [geometry, {"bbox": [0, 0, 1, 1]}]}),
        json!({"op": "s_within", "args": [geometry, {"type": "Polygon",
            "coordinates": [[[-1, -1], [21, -1], [21, 21], [-1, 21], [-1, -1]]]}]}),
        json!({"op": "s_intersects", "args": [geometry, {"type": "GeometryCollection", "geometries": [
            {"type": "Point", "coordinates": [45, 45]}, {"type": "LineString", "coordinates": [[-3, -2], [-2, -3]]}]}]}),
        json!({"op": "like", "args": [{"op": "casei", "args": [{"property": "platform"}]},
                                      {"op": "casei", "args": ["SENTINEL%"]}]}),
        json!({"op": "between", "args": [{"property": "eo:cloud_cover"}, 5, 20]}),
        json!({"op": "isNull", "args": [{"property": "platform"}]}),
        json!({"op": "<", "args": [{"op": "*", "args": [{"property": "gsd"}, 2]}, 25]}),
        json!({"op": "=", "args": [{"property": "datetime"}, {"timestamp": "2020-01-01T00:00:00Z"}]}),
        json!({"op": ">", "args": [{"property": "created"}, {"date": "2020-01-04"}]}),
        json!({"op": "not", "args": [{"op": "a_contains", "args": [{"property": "instruments"}, ["msi"]]}]}),
        json!({"op": "t_during", "args": [{"interval": [{"property": "start_datetime"}, {"property": "end_datetime"}]},
                                          {"interval": ["2019-01-01T00:00:00Z", "2021-01-01T00:00:00Z"]}]}),
        json!({"op": "or", "args": [{"property": "flag"}, {"op": "s_touches", "args": [geometry,
            {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]}]}]}),
        json!({"op": "+", "args": [1, 2]}),
        json!({"op": "=", "args": [{"op": "+", "args": [{"property": "gsd"}, 1, 2]}, 13]}),
    ]
}

#[test]
fn sql_selects_what_the_cql2_evaluator_selects() {
    let items = items();
    let connection = database(&items);
    let mut checked = 0;
    let mut filters: Vec<(Value, FilterLang)> = TEXT_FILTERS.iter().map(|f| (json!(f), FilterLang::Cql2Text)).collect();
    filters.extend(json_filters().into_iter().map(|f| (f, FilterLang::Cql2Json)));
    for (filter, lang) in &filters {
        let expr = parse_filter(filter, *lang).unwrap_or_else(|e| panic!("{filter}: {e}"));
        if matches!(expr, cql2::Expr::Operation { ref op, .. } if op == "+") {
            let error = ids_where(&connection, filter, *lang).unwrap_err();
            assert!(error.to_string().contains("not a condition"), "{error}");
            continue;
        }
        let got = ids_where(&connection, filter, *lang).unwrap_or_else(|e| panic!("{filter}: {e}"));
        assert_eq!(got, expected(&expr, &items), "{filter}");
        checked += 1;
    }
    assert!(checked > 150, "{checked}");
}

/// Where cql2's evaluator is known to be wrong, the expectations are written by hand.
#[test]
fn sql_selects_these_where_the_evaluator_is_wrong() {
    let items = items();
    let connection = database(&items);
    let cases: &[(&str, &[&str])] = &[
        // The evaluator reads BBOX(170, -5, -170, 5) as the box from -170 to
        // 170: STAC reads west > east as crossing the antimeridian.
        ("S_INTERSECTS(geometry, BBOX(170, -5, -170, 5))", &["i09", "i16"]),
        // The evaluator widens the item's instant to a day before comparing
        // it with a DATE; a DATE in a comparison is midnight UTC here.
        ("datetime < DATE('2020-01-02')", &["i01", "i06", "i08", "i10", "i20"]),
        ("datetime > DATE('2020-06-15')", &["i07", "i14", "i19"]),
        // The evaluator does not reduce the values of a list (CASEI stays unapplied).
        (
            "casei(platform) IN (casei('SENTINEL-2A'), casei('LANDSAT-9'))",
            &["i01", "i04", "i10", "i15"],
        ),
        // The evaluator orders a string (the item's value) against a
        // TIMESTAMP by variant, not by time.
        (
            "datetime BETWEEN TIMESTAMP('2020-01-02T00:00:00Z') AND TIMESTAMP('2020-01-10T00:00:00Z')",
            &["i02", "i16", "i17"],
        ),
    ];
    for (filter, want) in cases {
        let got = ids_where(&connection, &json!(filter), FilterLang::Cql2Text).unwrap();
        assert_eq!(got, *want, "{filter}");
    }
}

#[test]
fn client_mistakes_are_errors_that_name_the_culprit() {
    let connection = database(&items());
    let cases: &[(&str, &str)] = &[
        ("nope = 1", "\"nope\""),
        ("\"x\"\"; DROP TABLE items; --\" = 1", "DROP TABLE"),
        ("eo:cloud_cover = 'abc'", "eo:cloud_cover"),
        ("platform = 5", "platform"),
        ("flag = 'yes'", "flag"),
        ("datetime = 'not a date'", "not a date"),
        ("datetime = 5", "datetime"),
        ("S_INTERSECTS(eo:cloud_cover, POINT(0 0))", "eo:cloud_cover"),
        ("S_WITHIN(geometry, 5)", "s_within"),
        ("A_CONTAINS(platform, ('x'))", "platform"),
        ("A_CONTAINS(instruments, (1, 2))", "strings"),
        ("T_AFTER(gsd, TIMESTAMP('2020-01-01T00:00:00Z'))", "gsd"),
        ("myfunction(gsd) = 1", "myfunction"),
        ("platform LIKE 'abc\\'", "escape"),
        ("gsd LIKE 'abc'", "gsd"),
        ("platform LIKE platform", "pattern"),
        ("platform IN (1, 'a')", "IN"),
        ("platform IN (1, 2)", "platform"),
        ("gsd + 'a' > 1", "'a'"),
        ("instruments = ('msi')", "instruments"),
        ("geometry = POINT(0 0)", "S_"),
        ("gsd", "gsd"),
        ("INTERVAL('2020-01-01T00:00:00Z', '..') = datetime", "INTERVAL"),
        ("datetime > TIMESTAMP('99999-01-01T00:00:00Z')", "99999"),
        ("S_INTERSECTS(geometry, BBOX(0, 10, 1, 0))", "BBOX"),
        ("S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 0 0)))", "geometry"),
        ("flag BETWEEN true AND false", "BETWEEN"),
    ];
    let queryables = queryables();
    for (filter, culprit) in cases {
        let error = parse_filter(&json!(filter), FilterLang::Cql2Text)
            .and_then(|expr| to_sql(&expr, &queryables.scope(None)))
            .expect_err(filter);
        assert!(error.to_string().contains(culprit), "{filter}: {error}");
    }
    let arity = json!({"op": "=", "args": [{"property": "gsd"}]});
    assert!(ids_where(&connection, &arity, FilterLang::Cql2Json).is_err());
    let count: i64 = connection
        .query_row("SELECT count(*) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 20, "the table survived");
}

#[test]
fn a_huge_in_list_is_one_parameter() {
    let connection = database(&items());
    let mut ids: Vec<String> = (0..100_000).map(|i| format!("'x{i}'")).collect();
    ids.push("'i07'".into());
    let filter = json!(format!("id IN ({})", ids.join(", ")));
    let expr = parse_filter(&filter, FilterLang::Cql2Text).unwrap();
    let sql = to_sql(&expr, &queryables().scope(None)).unwrap();
    assert_eq!(sql.params.len(), 1, "{}", sql.text);
    assert!(sql.text.len() < 100, "the values are not in the text: {}", sql.text);
    assert_eq!(ids_where(&connection, &filter, FilterLang::Cql2Text).unwrap(), ["i07"]);
}

#[test]
fn a_polygon_of_100k_vertices_is_exact_and_fast() {
    // A circle of radius 30 around (0, 0), over 1,000 points on a grid.
    let n = 100_000;
    let ring: Vec<Value> = (0..=n)
        .map(|i| {
            let angle = std::f64::consts::TAU * (i % n) as f64 / n as f64;
            json!([30.0 * angle.cos(), 30.0 * angle.sin()])
        })
        .collect();
    let circle = json!({"type": "Polygon", "coordinates": [ring]});
    let grid: Vec<Value> = (0..1000)
        .map(|i| {
            let (x, y) = ((i % 40) as f64 * 2.0 - 40.0, (i / 40) as f64 * 2.0 - 25.0);
            item(
                &format!("p{i:04}"),
                "c1",
                point(x, y),
                json!({"datetime": "2020-01-01T00:00:00Z"}),
            )
        })
        .collect();
    let connection = database(&grid);
    for op in ["s_intersects", "s_within"] {
        let filter = json!({"op": op, "args": [{"property": "geometry"}, circle]});
        let start = Instant::now();
        let queryables = queryables();
        let sql = to_sql(
            &parse_filter(&filter, FilterLang::Cql2Json).unwrap(),
            &queryables.scope(None),
        )
        .unwrap();
        let translated = start.elapsed();
        let got = select(&connection, &sql).unwrap();
        let elapsed = start.elapsed();
        eprintln!("{op}: parsed and translated in {translated:?}");
        let inside: Vec<String> = grid
            .iter()
            .filter(|item| {
                let c = &item["geometry"]["coordinates"];
                let (x, y) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
                (x * x + y * y).sqrt() < 30.0 * (std::f64::consts::PI / n as f64).cos()
            })
            .map(|item| item["id"].as_str().unwrap().to_string())
            .collect();
        if op == "s_disjoint" {
            assert_eq!(got.len(), 1000 - inside.len(), "{op}");
        } else {
            assert_eq!(got, inside, "{op}");
        }
        eprintln!("{op} with a 100k-vertex polygon over 1,000 rows: {elapsed:?}");
        assert!(elapsed.as_secs() < 60, "{elapsed:?}");
    }
}

#[test]
fn the_query_extension_goes_through_the_same_checks() {
    let items = items();
    let connection = database(&items);
    let queryables = queryables();
    let run = |query: Value| -> Result<Vec<String>, Error> {
        let scope = queryables.scope(None);
        let sql = to_sql(&query_to_expr(&query, &scope)?, &scope)?;
        Ok(select(&connection, &sql).unwrap())
    };
    assert_eq!(
        run(json!({"eo:cloud_cover": {"lt": 10, "gte": 5}})).unwrap(),
        ["i01", "i10", "i12", "i19"]
    );
    assert_eq!(run(json!({"platform": {"startsWith": "100%_"}})).unwrap(), ["i08"]);
    assert_eq!(run(json!({"platform": {"endsWith": "done\\"}})).unwrap(), ["i08"]);
    assert_eq!(run(json!({"platform": {"contains": "'; DROP"}})).unwrap(), ["i07"]);
    assert_eq!(
        run(json!({"platform": {"in": ["landsat-8", "naïve"]}})).unwrap(),
        ["i03", "i16"]
    );
    assert_eq!(
        run(json!({"id": {"neq": "i01"}, "collection": {"eq": "c3"}}))
            .unwrap()
            .len(),
        6
    );
    assert!(
        run(json!({"nope": {"eq": 1}}))
            .unwrap_err()
            .to_string()
            .contains("\"nope\"")
    );
    assert!(
        run(json!({"gsd": {"eq": "ten"}}))
            .unwrap_err()
            .to_string()
            .contains("gsd")
    );
}

#[test]
fn free_text_matches_search_text() {
    let connection = database(&items());
    let run = |q: Value| -> Result<Vec<String>, Error> { Ok(select(&connection, &parse_q(&q)?.to_sql()).unwrap()) };
    assert_eq!(run(json!("sentinel")).unwrap(), ["i01", "i02"]);
    assert_eq!(run(json!("SENTINEL")).unwrap(), ["i01", "i02"]);
    assert_eq!(run(json!("climate model")).unwrap(), ["i03", "i04"]);
    assert_eq!(run(json!("\"climate model\"")).unwrap(), ["i03"]);
    assert_eq!(run(json!("climate AND model")).unwrap(), ["i03", "i04"]);
    assert_eq!(run(json!("climate OR radar")).unwrap(), ["i03", "i04", "i06"]);
    assert_eq!(run(json!("(paris OR radar) AND sar")).unwrap(), ["i06"]);
    assert_eq!(run(json!("sentinel +scène")).unwrap(), ["i02"]);
    assert_eq!(run(json!("sentinel -scène")).unwrap(), ["i01"]);
    assert_eq!(run(json!("model +climate -cloudy")).unwrap(), ["i04"]);
    assert_eq!(run(json!("eo,climate model")).unwrap(), ["i01", "i03", "i04"]);
    assert_eq!(run(json!(["EO", "climate model"])).unwrap(), ["i01", "i03"]);
    assert_eq!(run(json!("café")).unwrap(), ["i03"]);
    assert_eq!(run(json!("o'reilly")).unwrap(), ["i07"]);
    assert_eq!(
        run(json!("\"x'; DROP TABLE items; --\"")).unwrap(),
        Vec::<String>::new()
    );
    for bad in [
        json!(""),
        json!("   "),
        json!([]),
        json!("\"unclosed"),
        json!("(a OR b"),
        json!("a)"),
        json!("a AND"),
        json!("OR a"),
        json!("a +"),
        json!("\"\""),
        json!(5),
        json!([1]),
        json!(format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000))),
    ] {
        assert!(run(bad.clone()).is_err(), "{bad}");
    }
}
