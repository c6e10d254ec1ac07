//! Reading Parquet files back with DuckDB, independently of the code under test.

use crate::sample::read_json;
use serde_json::Value;
use std::path::Path;

/// Runs a query with DuckDB; every value as text (NULL as "NULL").
pub fn query(sql: &str) -> Vec<Vec<String>> {
    let connection = duckdb::Connection::open_in_memory().unwrap();
    let mut statement = connection.prepare(sql).unwrap();
    let mut rows = statement.query([]).unwrap();
    let mut out = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        let columns = row.as_ref().column_count();
        out.push(
            (0..columns)
                .map(|i| match row.get_ref(i).unwrap() {
                    duckdb::types::ValueRef::Null => "NULL".to_string(),
                    _ => {
                        let value: duckdb::types::Value = row.get(i).unwrap();
                        use duckdb::types::Value as V;
                        match value {
                            V::Text(s) => s,
                            V::Boolean(b) => b.to_string(),
                            V::BigInt(n) => n.to_string(),
                            V::Int(n) => n.to_string(),
                            V::HugeInt(n) => n.to_string(),
                            V::UBigInt(n) => n.to_string(),
                            V::Double(n) => n.to_string(),
                            other => format!("{other:?}"),
                        }
                    }
                })
                .collect(),
        );
    }
    out
}

/// One column of a query's rows.
pub fn column(sql: &str) -> Vec<String> {
    query(sql).into_iter().map(|mut row| row.remove(0)).collect()
}

/// The manifest at `dir/manifest.json`.
pub fn manifest(dir: &Path) -> Value {
    read_json(&dir.join("manifest.json"))
}

/// The local path of one of a manifest's files.
pub fn table(dir: &Path, name: &str) -> String {
    let manifest = manifest(dir);
    dir.join(manifest["files"][name]["path"].as_str().unwrap())
        .display()
        .to_string()
}
