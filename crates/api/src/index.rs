//! One loaded index version, and the handle that swaps in new ones.
//!
//! Loading a version copies its files to the local cache when they are
//! remote (once per version), opens its search engine (an in-process DuckDB
//! database whose `items` view reads the Parquet file directly), and reads
//! the (small) collections table. Start-up does no scan of the items: the
//! engine builds its row directory and columns in the background, and
//! answers with DuckDB until then.

use crate::{ApiConfig, Error, Result};
use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use duckdb::Connection;
use serde_json::Value;
use stac_indexed_engine::collections::{CollectionRow, Collections};
use stac_indexed_engine::tree::Tree;
use stac_indexed_engine::{Engine, Options};
use stac_indexed_filter::Queryables;
use stac_indexed_format::manifest::MANIFEST_FILE;
use stac_indexed_format::{Delta, FileEntry, Manifest};
use stac_indexed_io::{Io, Uri};
use stac_indexed_table::ITEMS_ROW_GROUP;
use stac_indexed_table::resolve::{LocalDelta, resolve};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A collection as the index holds it.
#[derive(Debug)]
pub struct Collection {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: Option<String>,
    /// The collection document (without item/child links).
    pub json: Value,
    /// Where the document was read from (relative hrefs resolve against it).
    pub href: Uri,
    /// How many items the index holds for it.
    pub item_count: u64,
}

/// One loaded, immutable index version. Requests hold an `Arc` to the version
/// they started with, so a swap never changes an answer half-way.
pub struct IndexVersion {
    /// The manifest.
    pub manifest: Manifest,
    /// When this process loaded it.
    pub loaded_at: DateTime<Utc>,
    /// Its search engine.
    pub engine: Arc<Engine>,
    /// Collections, sorted by id.
    pub collections: Vec<Collection>,
    /// The collections, searchable (`GET /collections` with parameters).
    pub collection_search: Collections,
    /// What searches may filter and sort on.
    pub queryables: Queryables,
    /// The catalog tree, for browsing.
    pub tree: Tree,
    positions: HashMap<String, usize>,
    /// Keeps this version's cached copy of a remote index (dropped last).
    _cache: Option<CacheLease>,
}

/// Holds a cache directory while a loaded version uses it; when the last
/// version using it is dropped (swapped out, and no request holds it any
/// more) the directory is removed, so reloads do not fill the disk (on
/// Lambda, /tmp). Counted per directory, since the same index id can be
/// loaded again (a manifest rolled back) while an older copy is still held.
struct CacheLease {
    dir: PathBuf,
}

fn leases() -> &'static std::sync::Mutex<HashMap<PathBuf, usize>> {
    static LEASES: OnceLock<std::sync::Mutex<HashMap<PathBuf, usize>>> = OnceLock::new();
    LEASES.get_or_init(Default::default)
}

impl CacheLease {
    fn take(dir: PathBuf) -> CacheLease {
        *leases()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(dir.clone())
            .or_default() += 1;
        CacheLease { dir }
    }
}

impl Drop for CacheLease {
    fn drop(&mut self) {
        let mut leases = leases().lock().unwrap_or_else(|e| e.into_inner());
        let Some(count) = leases.get_mut(&self.dir) else { return };
        *count -= 1;
        if *count == 0 {
            leases.remove(&self.dir);
            if let Err(error) = std::fs::remove_dir_all(&self.dir) {
                tracing::debug!(dir = %self.dir.display(), %error, "cache directory not removed");
            }
        }
    }
}

impl IndexVersion {
    /// A collection by id.
    pub fn collection(&self, id: &str) -> Option<&Collection> {
        self.positions.get(id).map(|i| &self.collections[*i])
    }

    /// Waits until the background load is done (tests and benchmarks).
    pub async fn wait_for_directory(&self) {
        while self.engine.directory().is_none() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// The index id.
    pub fn id(&self) -> &str {
        &self.manifest.index_id
    }
}

/// The current index version, swapped atomically when a new one is published.
pub struct IndexHandle {
    current: ArcSwap<IndexVersion>,
    manifest_uri: Uri,
    io: Arc<Io>,
    config: ApiConfig,
}

impl IndexHandle {
    /// Loads the version named by the manifest at `manifest_uri` (a manifest
    /// or the directory that holds one).
    pub async fn open(manifest_uri: Uri, io: Arc<Io>, config: ApiConfig) -> Result<Arc<IndexHandle>> {
        let manifest_uri = if manifest_uri.as_str().ends_with(".json") {
            manifest_uri
        } else {
            manifest_uri.as_directory().join(MANIFEST_FILE)?
        };
        let manifest = Manifest::read(&io, &manifest_uri).await?;
        let version = load(&io, &manifest_uri, manifest, &config).await?;
        let handle = Arc::new(IndexHandle {
            current: ArcSwap::from(version),
            manifest_uri,
            io,
            config,
        });
        Ok(handle)
    }

    /// The version to answer a request with.
    pub fn current(&self) -> Arc<IndexVersion> {
        self.current.load_full()
    }

    /// Checks the manifest once; loads and swaps in a new version if there is
    /// one. Returns whether the version changed.
    pub async fn refresh(&self) -> Result<bool> {
        let manifest = Manifest::read(&self.io, &self.manifest_uri).await?;
        if manifest.index_id == self.current().id() {
            return Ok(false);
        }
        let version = load(&self.io, &self.manifest_uri, manifest, &self.config).await?;
        tracing::info!(index_id = version.id(), "new index version loaded");
        self.current.store(version);
        Ok(true)
    }

    /// Checks for a new version every `reload_interval`, forever.
    pub fn spawn_reloader(self: &Arc<Self>) {
        let Some(interval) = self.config.reload_interval else {
            return;
        };
        let handle = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(handle) = handle.upgrade() else {
                    return;
                };
                if let Err(error) = handle.refresh().await {
                    tracing::warn!(%error, "checking for a new index version failed");
                }
            }
        });
    }
}

/// Opens one version: local files, database, collections.
async fn load(io: &Io, manifest_uri: &Uri, manifest: Manifest, config: &ApiConfig) -> Result<Arc<IndexVersion>> {
    let files = &manifest.files;
    let cache = config.cache_dir.join(&manifest.index_id);
    // A remote index is copied into `cache`, and an index with deltas
    // resolved there; a local one without deltas is read in place.
    let lease =
        (manifest_uri.to_file_path().is_none() || !files.deltas.is_empty()).then(|| CacheLease::take(cache.clone()));
    let base = local_file(io, manifest_uri, &files.items, &cache, "items.parquet").await?;
    let items = apply_deltas(io, manifest_uri, &files.deltas, base, &cache).await?;
    let collections = local_file(io, manifest_uri, &files.collections, &cache, "collections.parquet").await?;
    let errors = local_file(io, manifest_uri, &files.errors, &cache, "errors.parquet").await?;
    let tree_files = match (&files.tree, &files.links) {
        (Some(tree), Some(links)) => Some((
            local_file(io, manifest_uri, tree, &cache, "tree.parquet").await?,
            local_file(io, manifest_uri, links, &cache, "links.parquet").await?,
        )),
        _ => None,
    };
    let root_uri = manifest.root_uri.clone();
    let options = Options {
        connections: config.connections,
        in_memory: config.in_memory,
        row_directory: config.row_directory,
    };
    let queryables = Queryables::new(&manifest.config);
    let engine_queryables = queryables.clone();
    let (engine, collections, collection_search, tree) = tokio::task::spawn_blocking(move || -> Result<_> {
        let engine = Engine::open(&items, &errors, engine_queryables, options)?;
        let collections = read_collections(&collections)?;
        let rows: Vec<CollectionRow> = collections.iter().map(collection_row).collect();
        let collection_search = Collections::open(&rows)?;
        let tree = match tree_files {
            Some((tree, links)) => Tree::open(&tree, &links)?,
            None => Tree::flat(
                &root_uri,
                collections
                    .iter()
                    .map(|c| (c.id.clone(), c.title.clone(), c.href.to_string(), c.item_count)),
            ),
        };
        Ok((engine, collections, collection_search, tree))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))??;
    engine.spawn_background_load(options);
    let positions = collections.iter().enumerate().map(|(i, c)| (c.id.clone(), i)).collect();
    Ok(Arc::new(IndexVersion {
        queryables,
        manifest,
        loaded_at: Utc::now(),
        engine,
        collections,
        collection_search,
        tree,
        positions,
        _cache: lease,
    }))
}

/// The items table of a version: `base` itself, or with `deltas` applied,
/// resolved once into `cache` (format 3).
async fn apply_deltas(io: &Io, manifest_uri: &Uri, deltas: &[Delta], base: PathBuf, cache: &Path) -> Result<PathBuf> {
    if deltas.is_empty() {
        return Ok(base);
    }
    let resolved = cache.join("items.resolved.parquet");
    if resolved.is_file() {
        return Ok(resolved);
    }
    let mut files = Vec::with_capacity(deltas.len());
    for (number, delta) in deltas.iter().enumerate() {
        let (upserted_name, removed_name) = (
            format!("delta-{number}-upserted.parquet"),
            format!("delta-{number}-removed.parquet"),
        );
        let upserted = local_file(io, manifest_uri, &delta.upserted, cache, &upserted_name).await?;
        let removed = local_file(io, manifest_uri, &delta.removed, cache, &removed_name).await?;
        files.push((upserted, removed));
    }
    let partial = cache.join("items.resolved.parquet.partial");
    let target = resolved.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        std::fs::create_dir_all(target.parent().unwrap_or(Path::new(".")))
            .map_err(|e| Error::Internal(format!("{}: {e}", target.display())))?;
        let deltas: Vec<LocalDelta<'_>> = files
            .iter()
            .map(|(upserted, removed)| LocalDelta { upserted, removed })
            .collect();
        let rows = resolve(&base, &deltas, &partial, ITEMS_ROW_GROUP).map_err(|e| Error::Internal(e.to_string()))?;
        std::fs::rename(&partial, &target).map_err(|e| Error::Internal(format!("{}: {e}", target.display())))?;
        tracing::info!(rows, deltas = deltas.len(), "deltas applied to the items table");
        Ok(())
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))??;
    Ok(resolved)
}

/// The local path of an index file: in place for local indexes, otherwise a
/// copy in the cache directory (made once, checked against the manifest).
async fn local_file(io: &Io, manifest_uri: &Uri, entry: &FileEntry, cache: &Path, name: &str) -> Result<PathBuf> {
    let uri = manifest_uri.join(&entry.path)?;
    let path = cache.join(name);
    if uri.to_file_path().is_none() && path.is_file() {
        return Ok(path);
    }
    let copy = io.local_copy(&uri, &path, |bytes| {
        let digest = stac_indexed_format::sha256_hex(bytes);
        (digest == entry.sha256).then_some(()).ok_or_else(|| {
            format!(
                "does not match its checksum in the manifest (got {digest}, expected {})",
                entry.sha256
            )
        })
    });
    Ok(copy.await?)
}

/// What collection search reads of a collection document: its title,
/// description, keywords, license, and the first (overall) bbox and
/// interval of its extent.
fn collection_row(collection: &Collection) -> CollectionRow {
    let json = &collection.json;
    let text = |name: &str| json.get(name).and_then(Value::as_str).map(str::to_string);
    let bbox = json
        .pointer("/extent/spatial/bbox/0")
        .and_then(Value::as_array)
        .and_then(|numbers| numbers.iter().map(Value::as_f64).collect::<Option<Vec<f64>>>())
        .and_then(|numbers| match numbers[..] {
            [west, south, east, north] | [west, south, _, east, north, _] => Some([west, south, east, north]),
            _ => None,
        });
    let instant = |pointer: &str| {
        json.pointer(pointer)
            .and_then(Value::as_str)
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|t| t.timestamp_micros())
    };
    CollectionRow {
        id: collection.id.clone(),
        title: text("title"),
        description: text("description"),
        keywords: json
            .get("keywords")
            .and_then(Value::as_array)
            .map(|k| k.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default(),
        license: text("license"),
        bbox,
        start: instant("/extent/temporal/interval/0/0"),
        end: instant("/extent/temporal/interval/0/1"),
    }
}

/// Reads the collections table (small) with a connection of its own.
fn read_collections(path: &Path) -> Result<Vec<Collection>> {
    let connection = Connection::open_in_memory()?;
    connection.execute_batch("SET autoinstall_known_extensions = false; SET autoload_known_extensions = false;")?;
    let mut statement = connection.prepare(&format!(
        "SELECT id, title, json, href, item_count FROM read_parquet({}) ORDER BY id",
        stac_indexed_format::sql_path(path)
    ))?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, Option<String>>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, i64>(4)?,
        ))
    })?;
    let mut collections = Vec::new();
    for row in rows {
        let (id, title, json, href, item_count) = row?;
        collections.push(Collection {
            json: serde_json::from_str(&json).map_err(|e| Error::Internal(format!("collection {id}: {e}")))?,
            href: Uri::parse(&href)?,
            id,
            title,
            item_count: item_count as u64,
        });
    }
    Ok(collections)
}
