//! One whole run: crawl, finalize, publish the files, then the manifest.

use crate::batch::{RowBatcher, errors_batch};
use crate::crawl::{CollectionRecord, crawl};
use crate::finalize::{Finalized, finalize};
use crate::options::{IndexOptions, Source};
use crate::report::{ErrorRecord, IndexReport};
use crate::staging::{StagingWriter, write_file};
use crate::tree::{self, TreeNode};
use crate::{Error, Progress, Result};
use arrow_array::RecordBatch;
use arrow_array::builder::{BooleanBuilder, Int64Builder, StringBuilder};
use bytes::Bytes;
use chrono::Utc;
use sha2::{Digest, Sha256};
use stac_indexed_format::manifest::MANIFEST_FILE;
use stac_indexed_format::schema::{collections_schema, errors_schema, staged_items_schema, tree_schema};
use stac_indexed_format::{Counts, FORMAT_VERSION, FileEntry, Files, MAX_INDEXED_ITEM_LINKS, Manifest};
use stac_indexed_io::{Io, Scheme, Uri};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Crawls, builds and publishes one index version; returns its summary.
pub async fn index(options: IndexOptions, io: Arc<Io>, progress: &Progress) -> Result<IndexReport> {
    let started = Instant::now();
    let out = options.out.as_directory();
    if out.scheme() == Scheme::Http {
        return Err(Error::Io(stac_indexed_io::Error::NotWritable { uri: out.to_string() }));
    }
    let manifest_uri = out.join(MANIFEST_FILE)?;
    let previous = previous_manifest(&io, &options.source, &manifest_uri).await?;
    let (root, config) = match options.source {
        Source::Root { uri, config } => (uri, config),
        Source::Manifest(_) | Source::Output => {
            let (_, manifest) = previous.as_ref().ok_or_else(|| Error::NoSource(manifest_uri.clone()))?;
            (Uri::parse(&manifest.root_uri)?, manifest.config.clone())
        }
    };
    let work = work_dir(options.work_dir.as_deref())?;
    let staged_path = work.path().join("staged.parquet");
    let schema = Arc::new(staged_items_schema(&config));
    let writer = StagingWriter::start(&staged_path, schema.clone())?;
    let batcher = RowBatcher::new(schema, &config);
    let config = Arc::new(config);
    let crawled = crawl(
        &root,
        io.clone(),
        config.clone(),
        options.concurrency,
        batcher,
        &writer,
        progress,
    )
    .await;
    let staged_rows = writer.finish().await?;
    let crawled = crawled?;
    tracing::info!(staged_rows, documents = crawled.documents, "crawl finished");

    let previous_items = match &previous {
        Some((uri, manifest)) => previous_items(&io, uri, manifest, work.path()).await,
        None => None,
    };
    let collection_ids: Vec<String> = crawled.collections.iter().map(|c| c.id.clone()).collect();
    let tree = tree::assemble(root.as_str(), crawled.tree);
    let owners = tree::owner_nodes(&tree, &crawled.owners);
    let nodes = tree.len();
    let work_path = work.path().to_path_buf();
    let finalized = tokio::task::spawn_blocking(move || {
        let tree = crate::finalize::TreeOwners { nodes, owners };
        finalize(
            &work_path,
            &staged_path,
            &collection_ids,
            &tree,
            previous_items.as_deref(),
        )
    })
    .await
    .map_err(|e| Error::Task(e.to_string()))??;

    let mut errors = crawled.errors;
    errors.extend(finalized.errors.iter().cloned());
    errors.sort_by(|a, b| (&a.uri, a.kind.as_str()).cmp(&(&b.uri, b.kind.as_str())));
    progress.add_errors(finalized.errors.len() as u64);
    if options.strict && !errors.is_empty() {
        return Err(Error::Strict {
            count: errors.len(),
            first: errors[0].to_string(),
        });
    }

    let index_id = new_index_id();
    let tables = write_tables(work.path(), &crawled.collections, &tree, &finalized, &errors)?;
    let files = upload(&io, &out, &index_id, &finalized, &tables).await?;
    let counts = Counts {
        documents: crawled.documents,
        items: finalized.items,
        collections: crawled.collections.len() as u64,
        errors: errors.len() as u64,
    };
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        index_id: index_id.clone(),
        previous_index_id: previous.as_ref().map(|(_, m)| m.index_id.clone()),
        created: Utc::now(),
        indexer_version: env!("CARGO_PKG_VERSION").to_string(),
        root_uri: root.to_string(),
        catalog: crawled.catalog,
        config: Arc::unwrap_or_clone(config),
        files,
        counts: counts.clone(),
        changes: finalized.changes.clone(),
    };
    io.put(&manifest_uri, Bytes::from(manifest.to_json())).await?;
    Ok(IndexReport {
        index_id,
        manifest: manifest_uri.to_string(),
        counts,
        changes: finalized.changes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The manifest to re-index from, or the one already at the output.
async fn previous_manifest(io: &Io, source: &Source, at_output: &Uri) -> Result<Option<(Uri, Manifest)>> {
    let uri = match source {
        Source::Manifest(uri) => uri.clone(),
        Source::Root { .. } | Source::Output => at_output.clone(),
    };
    match Manifest::read(io, &uri).await.map_err(Error::from) {
        Ok(manifest) => Ok(Some((uri, manifest))),
        Err(Error::Io(e)) if e.is_not_found() && !matches!(source, Source::Manifest(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A local copy (or the local path) of the previous version's items table;
/// `None` when it is gone (changes are then not reported).
async fn previous_items(io: &Io, manifest_uri: &Uri, manifest: &Manifest, work: &Path) -> Option<PathBuf> {
    let uri = manifest_uri.join(&manifest.files.items.path).ok()?;
    if uri.to_file_path().is_some_and(|path| !path.is_file()) {
        return None;
    }
    match io
        .local_copy(&uri, &work.join("previous-items.parquet"), |_| Ok(()))
        .await
    {
        Ok(path) => Some(path),
        Err(e) => {
            tracing::warn!(%uri, error = %e, "previous items table unavailable; changes not reported");
            None
        }
    }
}

fn work_dir(parent: Option<&Path>) -> Result<tempfile::TempDir> {
    let parent = parent.map(Path::to_path_buf).unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&parent).map_err(|e| Error::local(&parent, e))?;
    tempfile::Builder::new()
        .prefix("stac-indexed-")
        .tempdir_in(&parent)
        .map_err(|e| Error::local(&parent, e))
}

/// The local collections, errors and tree tables.
struct Tables {
    collections: (PathBuf, u64),
    errors: (PathBuf, u64),
    tree: (PathBuf, u64),
}

fn write_tables(
    work: &Path,
    collections: &[CollectionRecord],
    tree: &[TreeNode],
    finalized: &Finalized,
    errors: &[ErrorRecord],
) -> Result<Tables> {
    let collections_path = work.join("collections.parquet");
    write_file(
        &collections_path,
        &collections_batch(collections, &finalized.item_counts)?,
    )?;
    let errors_path = work.join("errors.parquet");
    write_file(&errors_path, &errors_batch(Arc::new(errors_schema()), errors)?)?;
    let tree_path = work.join("tree.parquet");
    write_file(&tree_path, &tree_batch(tree, &finalized.node_item_counts)?)?;
    Ok(Tables {
        collections: (collections_path, collections.len() as u64),
        errors: (errors_path, errors.len() as u64),
        tree: (tree_path, tree.len() as u64),
    })
}

/// The tree table, in tree order.
fn tree_batch(tree: &[TreeNode], item_counts: &[u64]) -> Result<RecordBatch> {
    let mut row = Int64Builder::new();
    let mut parent = Int64Builder::new();
    let mut kind = StringBuilder::new();
    let mut key = StringBuilder::new();
    let mut id = StringBuilder::new();
    let mut title = StringBuilder::new();
    let mut description = StringBuilder::new();
    let mut href = StringBuilder::new();
    let mut json = StringBuilder::new();
    let mut count = Int64Builder::new();
    let mut in_index = BooleanBuilder::new();
    for (index, node) in tree.iter().enumerate() {
        let record = &node.record;
        let items = item_counts.get(index).copied().unwrap_or(0);
        row.append_value(index as i64);
        parent.append_option(node.parent.map(|p| p as i64));
        kind.append_value(record.kind.as_str());
        key.append_value(&node.key);
        id.append_value(&record.id);
        title.append_option(record.title.as_deref());
        description.append_option(record.description.as_deref());
        href.append_value(&record.href);
        json.append_option(record.json.as_deref());
        count.append_value(items as i64);
        in_index.append_value(items <= MAX_INDEXED_ITEM_LINKS);
    }
    Ok(RecordBatch::try_new(
        Arc::new(tree_schema()),
        vec![
            Arc::new(row.finish()),
            Arc::new(parent.finish()),
            Arc::new(kind.finish()),
            Arc::new(key.finish()),
            Arc::new(id.finish()),
            Arc::new(title.finish()),
            Arc::new(description.finish()),
            Arc::new(href.finish()),
            Arc::new(json.finish()),
            Arc::new(count.finish()),
            Arc::new(in_index.finish()),
        ],
    )?)
}

fn collections_batch(collections: &[CollectionRecord], counts: &HashMap<String, u64>) -> Result<RecordBatch> {
    let mut sorted: Vec<&CollectionRecord> = collections.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let mut id = StringBuilder::new();
    let mut title = StringBuilder::new();
    let mut json = StringBuilder::new();
    let mut href = StringBuilder::new();
    let mut count = Int64Builder::new();
    for collection in sorted {
        id.append_value(&collection.id);
        title.append_option(collection.title.as_deref());
        json.append_value(&collection.json);
        href.append_value(&collection.href);
        count.append_value(counts.get(&collection.id).copied().unwrap_or(0) as i64);
    }
    Ok(RecordBatch::try_new(
        Arc::new(collections_schema()),
        vec![
            Arc::new(id.finish()),
            Arc::new(title.finish()),
            Arc::new(json.finish()),
            Arc::new(href.finish()),
            Arc::new(count.finish()),
        ],
    )?)
}

/// Copies the data files under `versions/<index_id>/` at the output.
async fn upload(io: &Io, out: &Uri, index_id: &str, finalized: &Finalized, tables: &Tables) -> Result<Files> {
    let version_dir = Manifest::version_dir(index_id);
    let mut entries = Vec::new();
    for (name, path, rows) in [
        ("items.parquet", finalized.items_path.clone(), None),
        (
            "collections.parquet",
            tables.collections.0.clone(),
            Some(tables.collections.1),
        ),
        ("errors.parquet", tables.errors.0.clone(), Some(tables.errors.1)),
        ("tree.parquet", tables.tree.0.clone(), Some(tables.tree.1)),
        ("links.parquet", finalized.links_path.clone(), Some(finalized.links)),
    ] {
        let relative = format!("{version_dir}/{name}");
        io.put_file(&out.join(&relative)?, &path).await?;
        let (bytes, sha256) = file_digest(&path)?;
        let rows = match rows {
            Some(rows) => rows,
            None => parquet_rows(&path)?,
        };
        entries.push(FileEntry {
            path: relative,
            rows,
            bytes,
            sha256,
        });
    }
    let mut entries = entries.into_iter();
    let mut next = || entries.next().expect("five files");
    Ok(Files {
        items: next(),
        collections: next(),
        errors: next(),
        tree: Some(next()),
        links: Some(next()),
    })
}

fn parquet_rows(path: &Path) -> Result<u64> {
    let file = std::fs::File::open(path).map_err(|e| Error::local(path, e))?;
    let reader = parquet::file::serialized_reader::SerializedFileReader::new(file)?;
    use parquet::file::reader::FileReader;
    Ok(reader.metadata().file_metadata().num_rows() as u64)
}

/// The size and SHA-256 (hex) of a local file.
fn file_digest(path: &Path) -> Result<(u64, String)> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::local(path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let read = file.read(&mut buffer).map_err(|e| Error::local(path, e))?;
        if read == 0 {
            break;
        }
        total += read as u64;
        hasher.update(&buffer[..read]);
    }
    Ok((total, stac_indexed_format::hex(&hasher.finalize())))
}

/// `<UTC time>-<random>`: unique per build and sortable by creation time.
fn new_index_id() -> String {
    format!(
        "{}-{:08x}",
        Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
        rand::random::<u32>()
    )
    .replace('.', "")
}
