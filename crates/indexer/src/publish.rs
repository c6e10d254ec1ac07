//! One whole run: crawl, finalize, publish the files, then the manifest;
//! or one part of a sharded run, and the merge that publishes the parts.

use crate::batch::{RowBatcher, errors_batch};
use crate::crawl::{CollectionRecord, CrawlOutput, CrawlSettings, crawl};
use crate::finalize::{Finalized, TreeOwners, finalize};
use crate::options::{IndexOptions, MergeOptions, Source};
use crate::report::{ErrorRecord, IndexReport, PartReport};
use crate::shard::{self, LocalPart, Part, Shard};
use crate::staging::{StagingWriter, write_file};
use crate::tree::{self, NodeRecord, TreeNode};
use crate::update::Change;
use crate::{Error, Progress, Result};
use arrow_array::RecordBatch;
use arrow_array::builder::{BooleanBuilder, Int64Builder, StringBuilder};
use bytes::Bytes;
use chrono::Utc;
use sha2::{Digest, Sha256};
use stac_indexed_format::manifest::MANIFEST_FILE;
use stac_indexed_format::schema::{collections_schema, errors_schema, staged_items_schema, tree_schema};
use stac_indexed_format::{CatalogInfo, Counts, FileEntry, Files, IndexConfig, MAX_INDEXED_ITEM_LINKS, Manifest};
use stac_indexed_io::{Io, ObjectVersion, Scheme, Uri};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Crawls, builds and publishes one index version; returns its summary.
pub async fn index(options: IndexOptions, io: Arc<Io>, progress: &Progress) -> Result<IndexReport> {
    let started = Instant::now();
    let target = Target::resolve(&io, options.source, &options.out).await?;
    let work = work_dir(options.work_dir.as_deref())?;
    let part = crawl_part(&target, Shard::WHOLE, options.concurrency, &io, work.path(), progress).await?;
    publish(target, vec![part], options.strict, &io, work.path(), progress, started).await
}

/// Crawls the share of the catalog that `shard` owns and writes it as a
/// part under the output, for [`merge`] to publish with the others.
pub async fn index_part(options: IndexOptions, shard: Shard, io: Arc<Io>, progress: &Progress) -> Result<PartReport> {
    let started = Instant::now();
    let target = Target::resolve(&io, options.source, &options.out).await?;
    let work = work_dir(options.work_dir.as_deref())?;
    let part = crawl_part(&target, shard, options.concurrency, &io, work.path(), progress).await?;
    let uri = shard::write_part(&io, &target.out, &part).await?;
    let crawl = &part.part.crawl;
    Ok(PartReport {
        shard: shard.to_string(),
        part: uri.to_string(),
        items: part.part.staged_rows,
        documents: crawl.replicated_documents + crawl.owned_documents,
        errors: (crawl.replicated_errors.len() + crawl.owned_errors.len()) as u64,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Publishes one version from every part of a sharded run under the
/// output, as a single run would have, then deletes the parts. Publishes
/// nothing unless exactly parts 0..N of one run are there.
pub async fn merge(options: MergeOptions, io: Arc<Io>, progress: &Progress) -> Result<IndexReport> {
    let started = Instant::now();
    let out = writable_output(&options.out)?;
    let work = work_dir(options.work_dir.as_deref())?;
    let parts = shard::read_parts(&io, &out, work.path()).await?;
    let first = &parts[0].part;
    let manifest_uri = out.join(MANIFEST_FILE)?;
    let replaced = manifest_at_output(&io, &manifest_uri).await?;
    let target = Target {
        previous: previous_manifest(&io, &Source::Output, &manifest_uri, &replaced).await?,
        replaced,
        root: Uri::parse(&first.root_uri)?,
        config: first.config.clone(),
        manifest_uri,
        out: out.clone(),
    };
    progress.add_items(parts.iter().map(|p| p.part.staged_rows).sum());
    let report = publish(target, parts, options.strict, &io, work.path(), progress, started).await?;
    io.delete_prefix(&shard::parts_dir(&out)?).await?;
    Ok(report)
}

/// Where a run publishes and what it indexes.
struct Target {
    out: Uri,
    manifest_uri: Uri,
    /// The manifest at the output when the run started (what publishing
    /// replaces), and its version.
    replaced: Option<(Manifest, ObjectVersion)>,
    previous: Option<(Uri, Manifest)>,
    root: Uri,
    config: IndexConfig,
}

impl Target {
    async fn resolve(io: &Io, source: Source, out: &Uri) -> Result<Target> {
        let out = writable_output(out)?;
        let manifest_uri = out.join(MANIFEST_FILE)?;
        let replaced = manifest_at_output(io, &manifest_uri).await?;
        let previous = previous_manifest(io, &source, &manifest_uri, &replaced).await?;
        let (root, config) = match source {
            Source::Root { uri, config } => (uri, config),
            Source::Manifest(_) | Source::Output => {
                let (_, manifest) = previous.as_ref().ok_or_else(|| Error::NoSource(manifest_uri.clone()))?;
                (Uri::parse(&manifest.root_uri)?, manifest.config.clone())
            }
        };
        Ok(Target {
            out,
            manifest_uri,
            replaced,
            previous,
            root,
            config,
        })
    }
}

fn writable_output(out: &Uri) -> Result<Uri> {
    let out = out.as_directory();
    if out.scheme() == Scheme::Http {
        return Err(Error::Io(stac_indexed_io::Error::NotWritable { uri: out.to_string() }));
    }
    Ok(out)
}

/// Crawls `shard`'s share into a staging file in `work`.
async fn crawl_part(
    target: &Target,
    shard: Shard,
    concurrency: usize,
    io: &Arc<Io>,
    work: &Path,
    progress: &Progress,
) -> Result<LocalPart> {
    let staged = work.join(format!("staged-{}.parquet", shard.index));
    let schema = Arc::new(staged_items_schema(&target.config));
    let writer = StagingWriter::start(&staged, schema.clone())?;
    let batcher = RowBatcher::new(schema, &target.config, shard.owner_base());
    let settings = CrawlSettings {
        io: io.clone(),
        config: Arc::new(target.config.clone()),
        concurrency,
        shard,
    };
    let crawled = crawl(&target.root, settings, batcher, &writer, progress).await;
    let staged_rows = writer.finish().await?;
    let crawl = crawled?;
    tracing::info!(%shard, staged_rows, "crawl finished");
    Ok(LocalPart {
        part: Part {
            shard,
            root_uri: target.root.to_string(),
            config: target.config.clone(),
            crawl,
            staged_rows,
        },
        staged,
    })
}

/// The parts' crawl outputs as one: the tree and collections of all (part
/// 0's first), what every part read alike from part 0, what each owned
/// from each.
struct Combined {
    catalog: CatalogInfo,
    collections: Vec<CollectionRecord>,
    tree: Vec<NodeRecord>,
    /// Each part's owner URIs, with the base of its numbers.
    owners: Vec<(i64, Vec<String>)>,
    errors: Vec<ErrorRecord>,
    documents: u64,
}

impl Combined {
    fn of(parts: Vec<Part>) -> Combined {
        let mut combined = Combined {
            catalog: CatalogInfo::default(),
            collections: Vec::new(),
            tree: Vec::new(),
            owners: Vec::new(),
            errors: Vec::new(),
            documents: 0,
        };
        let mut collection_ids = HashSet::new();
        let mut node_hrefs = HashSet::new();
        for Part { shard, crawl, .. } in parts {
            let CrawlOutput {
                catalog,
                collections,
                tree,
                owners,
                replicated_errors,
                owned_errors,
                replicated_documents,
                owned_documents,
                row_keys: _,
            } = crawl;
            if shard.index == 0 {
                combined.catalog = catalog;
                combined.errors.extend(replicated_errors);
                combined.documents += replicated_documents;
            }
            combined.errors.extend(owned_errors);
            combined.documents += owned_documents;
            let new_collections = collections.into_iter().filter(|c| collection_ids.insert(c.id.clone()));
            combined.collections.extend(new_collections);
            combined
                .tree
                .extend(tree.into_iter().filter(|n| node_hrefs.insert(n.href.clone())));
            combined.owners.push((shard.owner_base(), owners));
        }
        combined
    }
}

/// Finalizes the parts' staged rows into one version and publishes it:
/// the data files first, the manifest last.
async fn publish(
    target: Target,
    parts: Vec<LocalPart>,
    strict: bool,
    io: &Io,
    work: &Path,
    progress: &Progress,
    started: Instant,
) -> Result<IndexReport> {
    let staged: Vec<PathBuf> = parts.iter().map(|p| p.staged.clone()).collect();
    let all_kept = all_rows_kept(&parts);
    let combined = Combined::of(parts.into_iter().map(|p| p.part).collect());
    let previous_items = match &target.previous {
        Some((uri, manifest)) => previous_items(io, uri, manifest, work).await,
        None => None,
    };
    let collection_ids: Vec<String> = combined.collections.iter().map(|c| c.id.clone()).collect();
    let tree = tree::assemble(target.root.as_str(), combined.tree);
    let owners = combined
        .owners
        .iter()
        .flat_map(|(base, owners)| tree::owner_nodes(&tree, owners, *base))
        .collect();
    let tree_owners = TreeOwners {
        nodes: tree.len(),
        owners,
    };
    let work_path = work.to_path_buf();
    let finalized = tokio::task::spawn_blocking(move || {
        finalize(
            &work_path,
            &staged,
            &collection_ids,
            &tree_owners,
            previous_items.as_deref(),
            all_kept,
        )
    })
    .await
    .map_err(|e| Error::Task(e.to_string()))??;

    let mut errors = combined.errors;
    errors.extend(finalized.errors.iter().cloned());
    errors.sort_by(|a, b| (&a.uri, a.kind.as_str(), &a.message).cmp(&(&b.uri, b.kind.as_str(), &b.message)));
    progress.add_errors(finalized.errors.len() as u64);
    if strict && !errors.is_empty() {
        return Err(Error::Strict {
            count: errors.len(),
            first: errors[0].to_string(),
        });
    }

    let index_id = new_index_id();
    let tables = write_tables(work, &combined.collections, &tree, &finalized, &errors)?;
    let files = upload(io, &target.out, &index_id, &finalized, &tables).await?;
    let counts = Counts {
        documents: combined.documents,
        items: finalized.items,
        collections: combined.collections.len() as u64,
        errors: errors.len() as u64,
    };
    let mut manifest = Manifest {
        format_version: files.format_version(),
        index_id: index_id.clone(),
        previous_index_id: target.previous.as_ref().map(|(_, m)| m.index_id.clone()),
        created: Utc::now(),
        indexer_version: env!("CARGO_PKG_VERSION").to_string(),
        root_uri: target.root.to_string(),
        catalog: combined.catalog,
        config: target.config,
        files,
        counts: counts.clone(),
        changes: finalized.changes.clone(),
    };
    replace_manifest(io, &target.manifest_uri, &mut manifest, target.replaced.as_ref(), work).await?;
    Ok(IndexReport {
        index_id,
        manifest: target.manifest_uri.to_string(),
        counts,
        changes: manifest.changes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Whether the crawl's own account of its rows shows that none is to be
/// dropped (so that finalizing need not look): one part, no key seen twice,
/// every row's collection crawled. Parts may share keys, so several are
/// always checked.
fn all_rows_kept(parts: &[LocalPart]) -> bool {
    let [LocalPart { part, .. }] = parts else {
        return false;
    };
    let crawled: HashSet<&str> = part.crawl.collections.iter().map(|c| c.id.as_str()).collect();
    part.crawl.row_keys.all_kept(&crawled)
}

/// The manifest at the output and its version, if there is one.
pub(crate) async fn manifest_at_output(io: &Io, uri: &Uri) -> Result<Option<(Manifest, ObjectVersion)>> {
    match io.get_versioned(uri).await? {
        Some((bytes, version)) => Ok(Some((Manifest::from_json(&bytes)?, version))),
        None => Ok(None),
    }
}

/// The manifest to re-index from: the one named, or the one at the output.
async fn previous_manifest(
    io: &Io,
    source: &Source,
    at_output: &Uri,
    replaced: &Option<(Manifest, ObjectVersion)>,
) -> Result<Option<(Uri, Manifest)>> {
    match source {
        Source::Manifest(uri) => Ok(Some((uri.clone(), Manifest::read(io, uri).await?))),
        Source::Root { .. } | Source::Output => Ok(replaced
            .as_ref()
            .map(|(manifest, _)| (at_output.clone(), manifest.clone()))),
    }
}

/// How many times a run re-reads the manifest another run replaced while
/// it was publishing before it gives up.
pub(crate) const MANIFEST_ATTEMPTS: usize = 10;

/// Writes `manifest` at `uri` if the manifest there is still the one read
/// (`start`; `None`: none). When another run published meanwhile, this
/// version replaces that one: it is re-read and named as the previous
/// version (the changes counted against the older one are dropped), what
/// was published since `start` is replayed on top of this version
/// ([`replay_published_since`]), and the write is tried again.
async fn replace_manifest(
    io: &Io,
    uri: &Uri,
    manifest: &mut Manifest,
    start: Option<&(Manifest, ObjectVersion)>,
    work: &Path,
) -> Result<()> {
    let ours = manifest.clone();
    let mut version = start.map(|(_, version)| version.clone());
    for attempt in 0..MANIFEST_ATTEMPTS {
        if io
            .put_if(uri, Bytes::from(manifest.to_json()), version.as_ref())
            .await?
        {
            return Ok(());
        }
        let current = manifest_at_output(io, uri).await?;
        let current_id = current.as_ref().map(|(m, _)| m.index_id.clone());
        tracing::warn!(
            replaced = current_id.as_deref().unwrap_or("none"),
            "another run published a version meanwhile; this one replaces it"
        );
        *manifest = ours.clone();
        if manifest.previous_index_id != current_id {
            manifest.previous_index_id = current_id.clone();
            manifest.changes = None;
        }
        if let (Some((started_from, _)), Some((published, _))) = (start, &current) {
            let dir = work.join(format!("replay-{attempt}"));
            if let Some(mut replayed) = replay_published_since(io, uri, started_from, published, &ours, &dir).await? {
                replayed.previous_index_id = current_id;
                replayed.changes = None;
                *manifest = replayed;
            }
        }
        version = current.map(|(_, version)| version);
    }
    Err(Error::ManifestContention {
        uri: uri.to_string(),
        attempts: MANIFEST_ATTEMPTS,
    })
}

/// `ours` with what was published between `started_from` (the version this
/// run started from) and `published` (the one there now) made again on top
/// of it, as an update: the items added or changed meanwhile are read again
/// from their hrefs, those removed are removed. `None` when nothing changed
/// in between. Items inside item collections (an href with a fragment)
/// cannot be read again alone and are left as this run read them.
async fn replay_published_since(
    io: &Io,
    uri: &Uri,
    started_from: &Manifest,
    published: &Manifest,
    ours: &Manifest,
    dir: &Path,
) -> Result<Option<Manifest>> {
    let items_of = |m: &Manifest| (m.files.items.clone(), m.files.deltas.clone());
    if items_of(started_from) == items_of(published) {
        return Ok(None);
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::local(dir, e))?;
    let old = crate::update::local_items(io, uri, started_from, &dir.join("old")).await?;
    let new = crate::update::local_items(io, uri, published, &dir.join("new")).await?;
    let work = dir.to_path_buf();
    let differences = tokio::task::spawn_blocking(move || crate::finalize::differences(&work, &old, &new))
        .await
        .map_err(|e| Error::Task(e.to_string()))??;
    let mut changes: Vec<Change> = differences
        .hrefs
        .iter()
        .filter(|href| !href.contains('#'))
        .map(|href| Uri::parse(href).map(Change::Upsert))
        .collect::<std::result::Result<_, _>>()?;
    let removals = differences.removed.into_iter();
    changes.extend(removals.map(|(collection, id)| Change::RemoveKey { collection, id }));
    if changes.is_empty() {
        return Ok(None);
    }
    tracing::info!(
        changes = changes.len(),
        "replaying what was published meanwhile on top of this version"
    );
    crate::update::replay(io, uri, ours, changes, dir).await
}

/// A local copy (or the local path) of the previous version's items table;
/// `None` when it is gone (changes are then not reported).
async fn previous_items(io: &Io, manifest_uri: &Uri, manifest: &Manifest, work: &Path) -> Option<PathBuf> {
    let items = manifest_uri.join(&manifest.files.items.path).ok()?;
    if items.to_file_path().is_some_and(|path| !path.is_file()) {
        return None;
    }
    match crate::update::local_items(io, manifest_uri, manifest, &work.join("previous")).await {
        Ok(path) => Some(path),
        Err(e) => {
            tracing::warn!(uri = %items, error = %e, "previous items table unavailable; changes not reported");
            None
        }
    }
}

pub(crate) fn work_dir(parent: Option<&Path>) -> Result<tempfile::TempDir> {
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
    write_file(
        &tree_path,
        &tree_batch(tree, &finalized.node_item_counts, &|_, items| {
            items <= MAX_INDEXED_ITEM_LINKS
        })?,
    )?;
    Ok(Tables {
        collections: (collections_path, collections.len() as u64),
        errors: (errors_path, errors.len() as u64),
        tree: (tree_path, tree.len() as u64),
    })
}

/// The tree table, in tree order; `is_in_index(row, items)`: whether the
/// links table holds the node's item links.
pub(crate) fn tree_batch(
    tree: &[TreeNode],
    item_counts: &[u64],
    is_in_index: &dyn Fn(usize, u64) -> bool,
) -> Result<RecordBatch> {
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
    let mut in_index_column = BooleanBuilder::new();
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
        in_index_column.append_value(is_in_index(index, items));
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
            Arc::new(in_index_column.finish()),
        ],
    )?)
}

pub(crate) fn collections_batch(
    collections: &[CollectionRecord],
    counts: &HashMap<String, u64>,
) -> Result<RecordBatch> {
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
        entries.push(upload_file(io, out, relative, &path, rows).await?);
    }
    let mut entries = entries.into_iter();
    let mut next = || entries.next().expect("five files");
    Ok(Files {
        items: next(),
        collections: next(),
        errors: next(),
        tree: Some(next()),
        links: Some(next()),
        deltas: Vec::new(),
    })
}

/// Copies one local file to `relative` under the output; its entry for
/// the manifest (`rows`: read from the Parquet footer when not given).
pub(crate) async fn upload_file(
    io: &Io,
    out: &Uri,
    relative: String,
    path: &Path,
    rows: Option<u64>,
) -> Result<FileEntry> {
    io.put_file(&out.join(&relative)?, path).await?;
    let (bytes, sha256) = file_digest(path)?;
    let rows = match rows {
        Some(rows) => rows,
        None => parquet_rows(path)?,
    };
    Ok(FileEntry {
        path: relative,
        rows,
        bytes,
        sha256,
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
pub(crate) fn new_index_id() -> String {
    format!(
        "{}-{:08x}",
        Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
        rand::random::<u32>()
    )
    .replace('.', "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use stac_indexed_format::{CatalogInfo, Changes, Counts, FileEntry, Files};
    use stac_indexed_io::IoOptions;

    fn manifest(index_id: &str, previous: Option<&str>) -> Manifest {
        let entry = |name: &str| FileEntry {
            path: format!("versions/{index_id}/{name}"),
            rows: 0,
            bytes: 0,
            sha256: String::new(),
        };
        Manifest {
            format_version: stac_indexed_format::BASE_FORMAT_VERSION,
            index_id: index_id.into(),
            previous_index_id: previous.map(str::to_string),
            created: Utc::now(),
            indexer_version: "test".into(),
            root_uri: "file:///x/catalog.json".into(),
            catalog: CatalogInfo::default(),
            config: IndexConfig::default(),
            files: Files {
                items: entry("items.parquet"),
                collections: entry("collections.parquet"),
                errors: entry("errors.parquet"),
                tree: None,
                links: None,
                deltas: Vec::new(),
            },
            counts: Counts::default(),
            changes: Some(Changes::default()),
        }
    }

    #[tokio::test]
    async fn a_version_published_meanwhile_is_replaced_and_named_previous() {
        let dir = tempfile::tempdir().unwrap();
        let io = Io::new(IoOptions::default()).unwrap();
        let uri = Uri::from_path(&dir.path().join(MANIFEST_FILE)).unwrap();
        io.put(&uri, Bytes::from(manifest("a", None).to_json())).await.unwrap();
        let (_, read_at_start) = manifest_at_output(&io, &uri).await.unwrap().unwrap();
        // Another run publishes "b" (the same items) while this one crawls.
        let mut other = manifest("b", Some("a"));
        other.files = manifest("a", None).files;
        io.put(&uri, Bytes::from(other.to_json())).await.unwrap();

        let mut ours = manifest("c", Some("a"));
        let start = (manifest("a", None), read_at_start);
        replace_manifest(&io, &uri, &mut ours, Some(&start), dir.path())
            .await
            .unwrap();
        let (published, _) = manifest_at_output(&io, &uri).await.unwrap().unwrap();
        assert_eq!(published.index_id, "c");
        assert_eq!(published.previous_index_id.as_deref(), Some("b"));
        assert_eq!(published.changes, None, "changes counted against \"a\" are not claimed");

        let mut first = manifest("d", None);
        replace_manifest(&io, &uri, &mut first, None, dir.path()).await.unwrap();
        assert_eq!(
            first.previous_index_id.as_deref(),
            Some("c"),
            "a run that found no manifest names the one that appeared"
        );
    }
}
