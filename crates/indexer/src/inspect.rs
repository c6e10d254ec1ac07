//! Reading back what an index version holds, for `stac-indexed inspect`.

use crate::report::ErrorRecordRow;
use crate::{Error, Result};
use duckdb::Connection;
use serde::Serialize;
use stac_indexed_format::Manifest;
use stac_indexed_format::schema::{
    COLLECTION_TITLE, ERROR_KIND, ERROR_MESSAGE, ERROR_PARENT, ERROR_URI, ID, ITEM_COUNT,
};
use stac_indexed_io::{Io, Uri};

/// A manifest and a look into its tables.
#[derive(Debug, Serialize)]
pub struct Inspection {
    /// The manifest.
    pub manifest: Manifest,
    /// Every collection with its item count.
    pub collections: Vec<CollectionSummary>,
    /// The first errors, in URI order.
    pub errors: Vec<ErrorRecordRow>,
}

/// One collection of the index.
#[derive(Debug, Serialize)]
pub struct CollectionSummary {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: Option<String>,
    /// How many items the index holds for it.
    pub items: u64,
}

/// Reads the manifest at `manifest_uri` (or `<dir>/manifest.json`), its
/// collections and its first `max_errors` errors.
pub async fn inspect(io: &Io, manifest_uri: &Uri, max_errors: usize) -> Result<Inspection> {
    let manifest = Manifest::read(io, manifest_uri).await?;
    let work = tempfile::tempdir().map_err(|e| Error::local(&std::env::temp_dir(), e))?;
    let mut local = Vec::new();
    for (name, entry) in [
        ("collections", &manifest.files.collections),
        ("errors", &manifest.files.errors),
    ] {
        let uri = manifest_uri.join(&entry.path)?;
        let path = io
            .local_copy(&uri, &work.path().join(format!("{name}.parquet")), |_| Ok(()))
            .await?;
        local.push(stac_indexed_format::sql_path(&path));
    }
    let connection = Connection::open_in_memory()?;
    let mut statement = connection.prepare(&format!(
        "SELECT {ID}, {COLLECTION_TITLE}, {ITEM_COUNT} FROM read_parquet({}) ORDER BY {ID}",
        local[0]
    ))?;
    let collections = statement
        .query_map([], |row| {
            Ok(CollectionSummary {
                id: row.get(0)?,
                title: row.get(1)?,
                items: row.get::<_, i64>(2)? as u64,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut statement = connection.prepare(&format!(
        "SELECT {ERROR_URI}, {ERROR_KIND}, {ERROR_MESSAGE}, {ERROR_PARENT} FROM read_parquet({}) LIMIT {max_errors}",
        local[1]
    ))?;
    let errors = statement
        .query_map([], |row| {
            Ok(ErrorRecordRow {
                uri: row.get(0)?,
                kind: row.get(1)?,
                message: row.get(2)?,
                parent: row.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(Inspection {
        manifest,
        collections,
        errors,
    })
}
