//! `update`: a few named changes published as a new version of an index
//! without crawling: the named items are read, compared with the rows the
//! index holds for them, and the difference published as a delta (the
//! rows upserted, the keys removed) beside rewritten small tables. Once the
//! deltas pass a threshold they are compacted into a new items table.

mod events;
mod messages;
mod plan;
mod read;
mod state;
mod tables;

use crate::item::{self, ItemRow};
use crate::publish::{MANIFEST_ATTEMPTS, manifest_at_output, new_index_id, upload_file, work_dir};
use crate::report::{ErrorKind, ErrorRecord};
use crate::{Error, Result};
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use chrono::Utc;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use plan::{Plan, Step, is_unread};
use read::{ItemDocument, ReadOutcome, linked, read_collection, read_items};
use serde::Serialize;
use stac_indexed_format::manifest::MANIFEST_FILE;
use stac_indexed_format::schema::{COLLECTION, ID, OWNER, staged_items_schema};
use stac_indexed_format::{Counts, Delta, FileEntry, IndexConfig, Manifest};
use stac_indexed_io::{Io, Uri};
use stac_indexed_table::resolve::{LocalDelta, resolve};
use stac_indexed_table::{ITEMS_ROW_GROUP, order::sort_batch, writer_properties};
use state::{Held, Key, held_rows, key};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tables::{TablePaths, Tables};

pub use events::{EventError, changes_from_json, changes_from_text};
pub use messages::{BatchOutcome, QueuedMessage, update_from_messages};

/// Deltas an index may carry before an update compacts them into a new
/// items table.
pub const MAX_DELTAS: usize = 16;
/// Rows (upserted and removed, over all deltas) an index may carry, as a
/// share of its items table's, before an update compacts them.
pub const MAX_DELTA_SHARE: f64 = 0.05;
/// Rows the deltas may always carry, however small the items table.
pub const MIN_DELTA_ROWS: u64 = 10_000;

/// One change an update is asked to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Read the item at this URI and insert or replace it by (collection, id).
    Upsert(Uri),
    /// Remove the item read from this URI.
    RemoveHref(Uri),
    /// Remove the item `(collection, id)`.
    RemoveKey {
        /// The collection id.
        collection: String,
        /// The item id.
        id: String,
    },
}

/// What `update` needs.
#[derive(Clone, Debug)]
pub struct UpdateOptions {
    /// The index: its directory or s3:// prefix, or its manifest.
    pub index: Uri,
    /// The changes, applied in order (the last one for an item wins).
    pub changes: Vec<Change>,
    /// How many documents are read at once.
    pub concurrency: usize,
    /// Compact the deltas into a new items table whatever their size.
    pub compact: bool,
    /// Where working files go (a fresh temporary directory when absent).
    pub work_dir: Option<PathBuf>,
    /// Where copies of a remote index's files are kept between updates (by
    /// content hash, in its sub-directory `update-files`); the working
    /// directory when absent.
    pub cache_dir: Option<PathBuf>,
}

/// What an update did.
#[derive(Clone, Debug, Serialize)]
pub struct UpdateReport {
    /// The version the index is at now (the one read when nothing changed).
    pub index_id: String,
    /// Whether a new version was published.
    pub published: bool,
    /// The manifest's URI.
    pub manifest: String,
    /// Items new to the index.
    pub added: u64,
    /// Items replaced.
    pub updated: u64,
    /// Items removed.
    pub removed: u64,
    /// Items read again and found the same.
    pub unchanged: u64,
    /// Problems recorded in the errors table by this update.
    pub errors: Vec<ErrorRecord>,
    /// The URIs named to be read that could not be (nothing changed for
    /// them: the change can be tried again).
    pub unread: Vec<String>,
    /// Whether the deltas were compacted into a new items table.
    pub compacted: bool,
    /// How many deltas the index now carries.
    pub deltas: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Applies `options.changes` to the index and publishes the result.
pub async fn update(options: UpdateOptions, io: Arc<Io>) -> Result<UpdateReport> {
    let started = Instant::now();
    let manifest_uri = manifest_uri(&options.index);
    let work = work_dir(options.work_dir.as_deref())?;
    // A directory of its own: files there that the index no longer names are deleted.
    let cache = options.cache_dir.as_deref().unwrap_or(work.path()).join("update-files");
    let documents = read_documents(&io, &options).await;
    let mut collections_read = HashMap::new();
    for attempt in 0..MANIFEST_ATTEMPTS {
        let Some((manifest, version)) = manifest_at_output(&io, &manifest_uri).await? else {
            return Err(Error::NoSource(manifest_uri));
        };
        let context = Attempt {
            io: &io,
            manifest_uri: &manifest_uri,
            manifest: &manifest,
            dir: work.path().join(format!("attempt-{attempt}")),
            cache: &cache,
        };
        let outcome = context.prepare(&options, &documents, &mut collections_read).await?;
        let Some(prepared) = outcome.publish else {
            return Ok(outcome.report.finish(&manifest, false, &manifest_uri, started));
        };
        if io
            .put_if(&manifest_uri, Bytes::from(prepared.to_json()), Some(&version))
            .await?
        {
            return Ok(outcome.report.finish(&prepared, true, &manifest_uri, started));
        }
        tracing::warn!(
            replaced = manifest.index_id,
            "another run published a version meanwhile; the update is made again on top of it"
        );
    }
    Err(Error::ManifestContention {
        uri: manifest_uri.to_string(),
        attempts: MANIFEST_ATTEMPTS,
    })
}

/// A local items table of `manifest`'s version with its deltas applied:
/// the file itself for a local index without deltas, otherwise copies (and
/// the resolved table) in `dir`.
pub(crate) async fn local_items(io: &Io, manifest_uri: &Uri, manifest: &Manifest, dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::local(dir, e))?;
    let attempt = Attempt {
        io,
        manifest_uri,
        manifest,
        dir: dir.to_path_buf(),
        cache: dir,
    };
    let base = attempt.local(&manifest.files.items, "items").await?;
    if manifest.files.deltas.is_empty() {
        return Ok(base);
    }
    let mut files = Vec::with_capacity(manifest.files.deltas.len());
    for delta in &manifest.files.deltas {
        files.push((
            attempt.local(&delta.upserted, "upserted").await?,
            attempt.local(&delta.removed, "removed").await?,
        ));
    }
    let resolved = dir.join("resolved-items.parquet");
    let target = resolved.clone();
    tokio::task::spawn_blocking(move || {
        let deltas: Vec<LocalDelta<'_>> = files
            .iter()
            .map(|(upserted, removed)| LocalDelta { upserted, removed })
            .collect();
        resolve(&base, &deltas, &target, ITEMS_ROW_GROUP)
    })
    .await
    .map_err(|e| Error::Task(e.to_string()))??;
    Ok(resolved)
}

/// `manifest` (a version written but not published yet) with `changes`
/// applied on top, as a new version ready to publish; `None` when they
/// change nothing. For a full index that lost the race to updates.
pub(crate) async fn replay(
    io: &Io,
    manifest_uri: &Uri,
    manifest: &Manifest,
    changes: Vec<Change>,
    dir: &Path,
) -> Result<Option<Manifest>> {
    let options = UpdateOptions {
        index: manifest_uri.clone(),
        changes,
        concurrency: crate::DEFAULT_CONCURRENCY,
        compact: false,
        work_dir: Some(dir.to_path_buf()),
        cache_dir: None,
    };
    let documents = read_documents(io, &options).await;
    let attempt = Attempt {
        io,
        manifest_uri,
        manifest,
        dir: dir.join("replay"),
        cache: &dir.join("replay-cache"),
    };
    let prepared = attempt.prepare(&options, &documents, &mut HashMap::new()).await?;
    Ok(prepared.publish)
}

/// The manifest of an index named by its directory, prefix or manifest.
fn manifest_uri(index: &Uri) -> Uri {
    if index.as_url().path().ends_with(".json") {
        return index.clone();
    }
    index
        .as_directory()
        .join(MANIFEST_FILE)
        .expect("a directory joins a file name")
}

/// Every item the changes name to upsert, read once.
async fn read_documents(io: &Io, options: &UpdateOptions) -> HashMap<Uri, ReadOutcome> {
    let mut seen = HashSet::new();
    let upserts: Vec<Uri> = options
        .changes
        .iter()
        .filter_map(|change| match change {
            Change::Upsert(uri) if seen.insert(uri.clone()) => Some(uri.clone()),
            _ => None,
        })
        .collect();
    read_items(io, &upserts, options.concurrency)
        .await
        .into_iter()
        .collect()
}

/// One try at publishing an update on top of the version read.
struct Attempt<'a> {
    io: &'a Io,
    manifest_uri: &'a Uri,
    manifest: &'a Manifest,
    /// This attempt's working directory.
    dir: PathBuf,
    cache: &'a Path,
}

/// What an attempt prepared: the counts, and the manifest to publish if
/// anything changed.
struct Prepared {
    report: Counted,
    publish: Option<Manifest>,
}

/// The counts of an update, before it is published.
struct Counted {
    plan_changes: stac_indexed_format::Changes,
    errors: Vec<ErrorRecord>,
    unread: Vec<String>,
    compacted: bool,
}

impl Counted {
    fn finish(self, manifest: &Manifest, published: bool, uri: &Uri, started: Instant) -> UpdateReport {
        UpdateReport {
            index_id: manifest.index_id.clone(),
            published,
            manifest: uri.to_string(),
            added: self.plan_changes.added,
            updated: self.plan_changes.updated,
            removed: self.plan_changes.removed,
            unchanged: self.plan_changes.unchanged,
            errors: self.errors,
            unread: self.unread,
            compacted: self.compacted && published,
            deltas: manifest.files.deltas.len(),
            seconds: started.elapsed().as_secs_f64(),
        }
    }
}

impl Attempt<'_> {
    async fn prepare(
        &self,
        options: &UpdateOptions,
        documents: &HashMap<Uri, ReadOutcome>,
        collections_read: &mut HashMap<String, Option<read::NewCollection>>,
    ) -> Result<Prepared> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::local(&self.dir, e))?;
        let files = &self.manifest.files;
        let base = self.local(&files.items, "items").await?;
        let mut deltas = Vec::with_capacity(files.deltas.len());
        for delta in &files.deltas {
            deltas.push((
                self.local(&delta.upserted, "upserted").await?,
                self.local(&delta.removed, "removed").await?,
            ));
        }
        let tree_paths = match (&files.tree, &files.links) {
            (Some(tree), Some(links)) => Some((self.local(tree, "tree").await?, self.local(links, "links").await?)),
            _ => None,
        };
        let table_paths = TablePaths {
            collections: &self.local(&files.collections, "collections").await?,
            errors: &self.local(&files.errors, "errors").await?,
            tree: tree_paths.as_ref().map(|(t, l)| (t.as_path(), l.as_path())),
        };
        let mut tables = Tables::read(&table_paths)?;
        let mut in_use: Vec<&Path> = vec![&base, table_paths.collections, table_paths.errors];
        in_use.extend(deltas.iter().flat_map(|(u, r)| [u.as_path(), r.as_path()]));
        in_use.extend(table_paths.tree.iter().flat_map(|(t, l)| [*t, *l]));
        prune_cache(self.cache, &in_use);

        let config = &self.manifest.config;
        let (steps, errors) = self
            .steps(&options.changes, documents, &mut tables, config, collections_read)
            .await;
        let (hrefs, keys) = named(&steps);
        let local_deltas: Vec<LocalDelta<'_>> = deltas
            .iter()
            .map(|(upserted, removed)| LocalDelta { upserted, removed })
            .collect();
        let held: HashMap<Key, Held> = held_rows(&base, &local_deltas, &hrefs, &keys)?;
        let unread = steps
            .iter()
            .filter_map(|step| match step {
                Step::Unread { href } => Some(href.clone()),
                _ => None,
            })
            .collect();
        let plan = plan::plan(steps, &held);
        let errors_before = tables.errors.len();
        let new_errors = errors.clone();
        tables.apply(&plan, errors);
        let errors_changed = tables.errors.len() != errors_before || !new_errors.is_empty();
        let mut counted = Counted {
            plan_changes: plan.changes(),
            errors: new_errors,
            unread,
            compacted: false,
        };
        if !plan.changes_rows() && !errors_changed && !options.compact {
            return Ok(Prepared {
                report: counted,
                publish: None,
            });
        }

        let index_id = new_index_id();
        let version_dir = Manifest::version_dir(&index_id);
        let out = self.manifest_uri.join(".")?;
        let delta = self.write_delta(&plan, config)?;
        let mut new_files = files.clone();
        let delta_rows = delta.0.1 + delta.1.1;
        let carried: u64 = files.deltas.iter().map(|d| d.upserted.rows + d.removed.rows).sum();
        counted.compacted =
            options.compact || must_compact(files.deltas.len() + 1, carried + delta_rows, files.items.rows);
        if counted.compacted {
            let mut all = local_deltas.clone();
            all.push(LocalDelta {
                upserted: &delta.0.0,
                removed: &delta.1.0,
            });
            let items = self.dir.join("items.parquet");
            let rows = resolve(&base, &all, &items, ITEMS_ROW_GROUP)?;
            new_files.items = upload_file(
                self.io,
                &out,
                format!("{version_dir}/items.parquet"),
                &items,
                Some(rows),
            )
            .await?;
            new_files.deltas.clear();
        } else {
            new_files.deltas.push(Delta {
                index_id: index_id.clone(),
                upserted: upload_file(
                    self.io,
                    &out,
                    format!("{version_dir}/upserted.parquet"),
                    &delta.0.0,
                    Some(delta.0.1),
                )
                .await?,
                removed: upload_file(
                    self.io,
                    &out,
                    format!("{version_dir}/removed.parquet"),
                    &delta.1.0,
                    Some(delta.1.1),
                )
                .await?,
            });
        }
        let written = tables.write(&self.dir)?;
        new_files.collections = upload_file(
            self.io,
            &out,
            format!("{version_dir}/collections.parquet"),
            &written.collections.0,
            Some(written.collections.1),
        )
        .await?;
        new_files.errors = upload_file(
            self.io,
            &out,
            format!("{version_dir}/errors.parquet"),
            &written.errors.0,
            Some(written.errors.1),
        )
        .await?;
        if let Some((path, rows)) = &written.tree {
            new_files.tree =
                Some(upload_file(self.io, &out, format!("{version_dir}/tree.parquet"), path, Some(*rows)).await?);
        }
        if let Some((path, rows)) = &written.links {
            new_files.links =
                Some(upload_file(self.io, &out, format!("{version_dir}/links.parquet"), path, Some(*rows)).await?);
        }
        let items = (self.manifest.counts.items + plan.added.len() as u64).saturating_sub(plan.removed.len() as u64);
        let manifest = Manifest {
            format_version: new_files.format_version(),
            index_id,
            previous_index_id: Some(self.manifest.index_id.clone()),
            created: Utc::now(),
            indexer_version: env!("CARGO_PKG_VERSION").to_string(),
            root_uri: self.manifest.root_uri.clone(),
            catalog: self.manifest.catalog.clone(),
            config: config.clone(),
            files: new_files,
            counts: Counts {
                documents: documents.len() as u64,
                items,
                collections: tables.collections.len() as u64,
                errors: tables.errors.len() as u64,
            },
            changes: Some(plan.changes()),
        };
        Ok(Prepared {
            report: counted,
            publish: Some(manifest),
        })
    }

    /// The changes as steps on rows, with the errors found reading them.
    async fn steps(
        &self,
        changes: &[Change],
        documents: &HashMap<Uri, ReadOutcome>,
        tables: &mut Tables,
        config: &IndexConfig,
        collections_read: &mut HashMap<String, Option<read::NewCollection>>,
    ) -> (Vec<Step>, Vec<ErrorRecord>) {
        let mut steps = Vec::with_capacity(changes.len());
        let mut errors = Vec::new();
        for change in changes {
            let step = match change {
                Change::Upsert(uri) => {
                    let outcome = documents.get(uri).expect("every upserted URI was read");
                    self.row_step(uri, outcome, tables, config, collections_read, &mut errors)
                        .await
                }
                Change::RemoveHref(uri) => Step::RemoveHref(uri.to_string()),
                Change::RemoveKey { collection, id } => Step::RemoveKey(key(collection, id)),
            };
            steps.push(step);
        }
        (steps, errors)
    }

    /// The step of one item read (its row, or why it has none).
    async fn row_step(
        &self,
        uri: &Uri,
        outcome: &ReadOutcome,
        tables: &mut Tables,
        config: &IndexConfig,
        collections_read: &mut HashMap<String, Option<read::NewCollection>>,
        errors: &mut Vec<ErrorRecord>,
    ) -> Step {
        let href = uri.to_string();
        let document = match outcome {
            Ok(Some(document)) => document,
            Ok(None) => return Step::Ignored,
            Err(error) => {
                errors.push(error.clone());
                return match is_unread(error) {
                    true => Step::Unread { href },
                    false => Step::Invalid { href },
                };
            }
        };
        match self.extract(uri, document, tables, config, collections_read).await {
            Ok((row, warnings)) => {
                errors.extend(warnings.into_iter().map(|message| ErrorRecord {
                    uri: href.clone(),
                    kind: ErrorKind::PropertyType,
                    message,
                    parent: None,
                }));
                Step::Row(Box::new(row))
            }
            Err(error) => {
                errors.push(error);
                Step::Invalid { href }
            }
        }
    }

    /// The row of an item read, as the crawl would make it; reads its
    /// collection when the index does not hold it.
    async fn extract(
        &self,
        uri: &Uri,
        document: &ItemDocument,
        tables: &mut Tables,
        config: &IndexConfig,
        collections_read: &mut HashMap<String, Option<read::NewCollection>>,
    ) -> std::result::Result<(ItemRow, Vec<String>), ErrorRecord> {
        let json = &document.json;
        let parent = linked(json, uri, "parent");
        let collection_link = linked(json, uri, "collection");
        let parent_collection = [&collection_link, &parent]
            .into_iter()
            .flatten()
            .find_map(|link| tables.collection_at(link.as_str()))
            .map(str::to_string);
        let owner: Arc<str> = Arc::from(parent.as_ref().map_or("", |p| p.as_str()));
        let extracted = item::extract(
            json,
            document.hash.clone(),
            uri.to_string(),
            parent_collection.as_deref(),
            owner,
            config,
        )
        .map_err(|rejection| ErrorRecord {
            uri: uri.to_string(),
            kind: rejection.kind,
            message: rejection.message,
            parent: None,
        })?;
        let collection = extracted.row.collection.clone();
        if !tables.has_collection(&collection) {
            if !collections_read.contains_key(&collection) {
                let mut found = None;
                for link in [&collection_link, &parent].into_iter().flatten() {
                    found = read_collection(self.io, link, &collection).await;
                    if found.is_some() {
                        break;
                    }
                }
                collections_read.insert(collection.clone(), found);
            }
            match collections_read.get(&collection).and_then(Option::as_ref) {
                Some(found) => tables.add_collection(found.clone()),
                None => {
                    return Err(ErrorRecord {
                        uri: uri.to_string(),
                        kind: ErrorKind::UnknownCollection,
                        message: format!(
                            "item {:?} names collection {collection:?}, which the index does not hold and its links do not lead to",
                            extracted.row.id
                        ),
                        parent: None,
                    });
                }
            }
        }
        Ok((extracted.row, extracted.warnings))
    }

    /// The upserted rows and removed keys of a plan as the delta's two
    /// files, with their rows.
    fn write_delta(&self, plan: &Plan, config: &IndexConfig) -> Result<((PathBuf, u64), (PathBuf, u64))> {
        let upserted = self.dir.join("upserted.parquet");
        let rows: Vec<&ItemRow> = plan.added.iter().chain(&plan.updated).collect();
        write_rows(&upserted, &rows, config)?;
        let removed = self.dir.join("removed.parquet");
        write_keys(&removed, &plan.removed)?;
        Ok(((upserted, rows.len() as u64), (removed, plan.removed.len() as u64)))
    }

    /// A local copy of one of the version's files (in place when the index
    /// is local; kept in the cache by content hash otherwise).
    async fn local(&self, entry: &FileEntry, name: &str) -> Result<PathBuf> {
        let uri = self.manifest_uri.join(&entry.path)?;
        if let Some(path) = uri.to_file_path() {
            return Ok(path);
        }
        let path = self.cache.join(format!("{name}-{}.parquet", entry.sha256));
        if path.is_file() {
            return Ok(path);
        }
        Ok(self.io.local_copy(&uri, &path, |_| Ok(())).await?)
    }
}

/// Deletes the copies in `cache` of files that the version read no longer
/// names (earlier versions' tables; a compacted base).
fn prune_cache(cache: &Path, in_use: &[&Path]) {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !in_use.contains(&path.as_path()) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Whether deltas of `rows` rows in all, `count` of them, are to be
/// compacted into an items table of `base_rows`.
fn must_compact(count: usize, rows: u64, base_rows: u64) -> bool {
    count > MAX_DELTAS || rows > MIN_DELTA_ROWS.max((base_rows as f64 * MAX_DELTA_SHARE) as u64)
}

/// The hrefs and keys the steps name.
fn named(steps: &[Step]) -> (HashSet<String>, HashSet<Key>) {
    let mut hrefs = HashSet::new();
    let mut keys = HashSet::new();
    for step in steps {
        match step {
            Step::Row(row) => {
                hrefs.insert(row.href.clone());
                keys.insert(key(&row.collection, &row.id));
            }
            Step::Invalid { href } | Step::Unread { href } | Step::RemoveHref(href) => {
                hrefs.insert(href.clone());
            }
            Step::RemoveKey(removed) => {
                keys.insert(removed.clone());
            }
            Step::Ignored => {}
        }
    }
    (hrefs, keys)
}

/// Rows in the items table's columns (no `seq`) and order.
fn write_rows(path: &Path, rows: &[&ItemRow], config: &IndexConfig) -> Result<()> {
    let schema = Arc::new(staged_items_schema(config));
    let mut batcher = crate::batch::RowBatcher::new(schema.clone(), config, 0);
    for row in rows {
        batcher.push((*row).clone());
    }
    let staged = batcher.take_batch()?;
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| schema.field(i).name() != OWNER)
        .collect();
    let batch = sort_batch(&staged.project(&keep)?)?;
    let file = std::fs::File::create(path).map_err(|e| Error::local(path, e))?;
    let properties = writer_properties(Compression::ZSTD(Default::default()), ITEMS_ROW_GROUP);
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(properties))?;
    writer.write(&batch)?;
    writer.close()?;
    Ok(())
}

/// Keys as a `(collection, id)` table.
fn write_keys(path: &Path, keys: &[Key]) -> Result<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new(COLLECTION, DataType::Utf8, false),
        Field::new(ID, DataType::Utf8, false),
    ]));
    let pairs: Vec<(&str, &str)> = keys.iter().filter_map(|k| k.split_once('\0')).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(pairs.iter().map(|p| p.0))),
        Arc::new(StringArray::from_iter_values(pairs.iter().map(|p| p.1))),
    ];
    let file = std::fs::File::create(path).map_err(|e| Error::local(path, e))?;
    let mut writer = ArrowWriter::try_new(file, schema.clone(), None)?;
    writer.write(&RecordBatch::try_new(schema, columns)?)?;
    writer.close()?;
    Ok(())
}
