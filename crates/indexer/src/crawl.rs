//! The crawl: every document fetched once, all fetches under one bound.
//!
//! A single loop owns the state (queues, the set of URIs seen, collections,
//! errors); fetching and parsing run as spawned tasks, at most `concurrency`
//! at a time. Item links wait as the unresolved hrefs of the document that
//! holds them (tens of bytes each) and become tasks only when dispatched;
//! catalogs and collections are fetched while fewer than `2 × concurrency`
//! item links wait. Items on the local disk go in chunks of [`LOCAL_CHUNK`]
//! to blocking threads, one per core, that read, parse and extract them one
//! after another: one thread hand-off per chunk instead of two per file.
//! Rows leave in batches for the staging writer as soon as a batch is full.
//! Memory stays flat however large the catalog.
//!
//! In a sharded crawl every shard reads the tree but dispatches only the
//! item links its [`Shard`] owns (see [`crate::shard`]); what it reads is
//! accounted as *replicated* (every shard reads it) or *owned* (only this
//! shard does) so that the merge counts each document and error once.

use crate::batch::RowBatcher;
use crate::document::{self, Document, DocumentKind, RawLink};
use crate::item::{self, Extracted};
use crate::report::{ErrorKind, ErrorRecord};
use crate::shard::Shard;
use crate::staging::StagingWriter;
use crate::tree::{NodeKind, NodeRecord};
use crate::{Error, Progress, Result};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stac_indexed_format::{CatalogInfo, IndexConfig};
use stac_indexed_io::{Io, LocalFiles, Scheme, Uri};
use std::collections::{BTreeSet, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::sync::Arc;

/// Rows per record batch sent to the staging writer.
const BATCH_ROWS: usize = 8192;

/// Local item files read by one blocking task.
const LOCAL_CHUNK: usize = 128;

/// A collection as the crawl found it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct CollectionRecord {
    pub id: String,
    pub title: Option<String>,
    /// The document with its item/child/items/next links removed, as JSON text.
    pub json: String,
    pub href: String,
}

/// What the crawl produced besides the staged rows.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CrawlOutput {
    pub catalog: CatalogInfo,
    pub collections: Vec<CollectionRecord>,
    /// Every catalog and collection read (the root among them), in the order found.
    pub tree: Vec<NodeRecord>,
    /// The URIs of the staged rows' owners, by the number in their `owner`
    /// column (less the shard's base).
    pub owners: Vec<String>,
    /// Errors every shard records alike (about the tree and its links).
    pub replicated_errors: Vec<ErrorRecord>,
    /// Errors about what only this shard read (its items).
    pub owned_errors: Vec<ErrorRecord>,
    /// Documents every shard reads (catalogs, collections, pages).
    pub replicated_documents: u64,
    /// Documents only this shard reads (its items).
    pub owned_documents: u64,
    /// What the staged rows' keys say about rows to drop.
    #[serde(default)]
    pub row_keys: RowKeySummary,
}

/// What a crawl saw of its rows' `(collection, id)` keys: whether
/// finalizing has rows to drop (duplicates, unknown collections) to look for.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct RowKeySummary {
    /// Whether two rows may share a key (their 64-bit hashes met; a real
    /// duplicate always does).
    pub maybe_duplicated: bool,
    /// The collections the rows name.
    pub collections: BTreeSet<String>,
}

impl RowKeySummary {
    /// Whether every row is surely published: no key twice, and every
    /// collection among `crawled`.
    pub(crate) fn all_kept(&self, crawled: &HashSet<&str>) -> bool {
        !self.maybe_duplicated && self.collections.iter().all(|c| crawled.contains(c.as_str()))
    }
}

/// The crawl's record of its rows' keys (see [`RowKeySummary`]).
#[derive(Default)]
struct RowKeys {
    summary: RowKeySummary,
    hashes: hashbrown::HashSet<u64>,
    hasher: hashbrown::DefaultHashBuilder,
}

impl RowKeys {
    fn add(&mut self, collection: &str, id: &str) {
        if !self.summary.collections.contains(collection) {
            self.summary.collections.insert(collection.to_string());
        }
        if !self.hashes.insert(self.hasher.hash_one((collection, id))) {
            self.summary.maybe_duplicated = true;
        }
    }
}

/// Shared, read-only state of the spawned tasks.
struct Context {
    io: Arc<Io>,
    config: Arc<IndexConfig>,
    shard: Shard,
    /// The members of an item the config reads ([`item::needed_members`]).
    item_members: item::NeededMembers,
}

/// One thing to fetch (or list).
#[derive(Clone, Debug)]
struct Task {
    uri: Uri,
    /// The URI of the document that linked here.
    parent: Option<Arc<str>>,
    /// The id of the collection that linked here, for items without a `collection`.
    collection: Option<Arc<str>>,
    /// The URI of the catalog or collection whose links led here (through
    /// `item`, `items` and `next` links); `None` for catalogs and collections.
    owner: Option<Arc<str>>,
    /// List a directory or prefix instead of fetching a document.
    list: bool,
    /// Only this shard fetches it (an item, or something an item link led to).
    owned: bool,
}

/// Where item links come from: what every item task they become carries.
#[derive(Clone)]
struct ItemOrigin {
    /// The document (or listing) that holds the links.
    parent: Arc<str>,
    /// The id of the collection that linked them, for items without a `collection`.
    collection: Option<Arc<str>>,
    /// The catalog or collection whose links led here.
    owner: Option<Arc<str>>,
}

impl ItemOrigin {
    /// The task that fetches the item at `uri` (items are always owned).
    fn item_task(&self, uri: Uri) -> Task {
        Task {
            uri,
            parent: Some(self.parent.clone()),
            collection: self.collection.clone(),
            owner: self.owner.clone(),
            list: false,
            owned: true,
        }
    }
}

/// Item files on the local disk, linked by the same document, read one
/// after another on a blocking thread.
struct LocalItems {
    uris: Vec<Uri>,
    origin: ItemOrigin,
}

/// What the loop hands to a spawned task.
enum Job {
    /// Fetch (or list) one document.
    Fetch(Task),
    /// Read a chunk of local item files.
    ReadLocal(LocalItems),
}

/// The item links of one document (or one listing), resolved when dispatched.
struct ItemLinks {
    base: Uri,
    origin: ItemOrigin,
    /// Listed by a document only this shard reads: every link is this shard's.
    owned: bool,
    hrefs: std::vec::IntoIter<String>,
}

/// What one task produced.
#[derive(Default)]
struct Outcome {
    documents: u64,
    /// Whether the documents were owned tasks.
    owned: bool,
    item_links: Option<ItemLinks>,
    nodes: Vec<Task>,
    rows: Vec<item::ItemRow>,
    /// Errors about the documents themselves.
    errors: Vec<ErrorRecord>,
    /// Errors about the items extracted (owned, wherever they were found).
    item_errors: Vec<ErrorRecord>,
    collection: Option<CollectionRecord>,
    tree_node: Option<NodeRecord>,
}

/// The crawl loop's own state.
struct Crawl<'a> {
    context: Arc<Context>,
    concurrency: usize,
    /// The bound on chunks of local items read at once (the cores).
    local_workers: usize,
    local_in_flight: usize,
    /// A remote item met while filling a chunk of local ones, dispatched next.
    deferred: Option<Task>,
    seen: SeenUris,
    items: VecDeque<ItemLinks>,
    pending_items: usize,
    nodes: VecDeque<Task>,
    collection_ids: HashSet<String>,
    output: CrawlOutput,
    row_keys: RowKeys,
    batcher: RowBatcher,
    writer: &'a StagingWriter,
    progress: &'a Progress,
}

/// Where and how to crawl.
pub(crate) struct CrawlSettings {
    pub io: Arc<Io>,
    pub config: Arc<IndexConfig>,
    pub concurrency: usize,
    pub shard: Shard,
}

/// Crawls from `root`; rows go to `writer`, the rest is returned.
pub(crate) async fn crawl(
    root: &Uri,
    settings: CrawlSettings,
    batcher: RowBatcher,
    writer: &StagingWriter,
    progress: &Progress,
) -> Result<CrawlOutput> {
    let CrawlSettings {
        io,
        config,
        concurrency,
        shard,
    } = settings;
    let item_members = item::needed_members(&config);
    let context = Arc::new(Context {
        io,
        config,
        shard,
        item_members,
    });
    let (bytes, document) = fetch_root(&context.io, root).await?;
    let catalog = catalog_info(&document);
    let mut crawl = Crawl {
        context: context.clone(),
        concurrency: concurrency.max(1),
        local_workers: std::thread::available_parallelism().map_or(2, usize::from),
        local_in_flight: 0,
        deferred: None,
        seen: SeenUris::default(),
        items: VecDeque::new(),
        pending_items: 0,
        nodes: VecDeque::new(),
        collection_ids: HashSet::new(),
        output: CrawlOutput {
            catalog,
            collections: Vec::new(),
            tree: Vec::new(),
            owners: Vec::new(),
            replicated_errors: Vec::new(),
            owned_errors: Vec::new(),
            replicated_documents: 0,
            owned_documents: 0,
            row_keys: RowKeySummary::default(),
        },
        row_keys: RowKeys::default(),
        batcher,
        writer,
        progress,
    };
    let root_task = Task {
        uri: root.clone(),
        parent: None,
        collection: None,
        owner: None,
        list: false,
        owned: false,
    };
    crawl.seen.insert(root);
    let outcome = process(&context, &root_task, &bytes, document);
    crawl.absorb(outcome).await?;
    crawl.run().await?;
    if crawl.batcher.len() > 0 {
        let batch = crawl.batcher.take_batch()?;
        crawl.writer.write(batch).await?;
    }
    crawl.output.owners = crawl.batcher.owners().iter().map(|owner| owner.to_string()).collect();
    crawl.output.row_keys = crawl.row_keys.summary;
    Ok(crawl.output)
}

impl Crawl<'_> {
    async fn run(&mut self) -> Result<()> {
        let mut in_flight = FuturesUnordered::new();
        loop {
            while in_flight.len() < self.concurrency {
                let Some(job) = self.next_job() else { break };
                let context = self.context.clone();
                in_flight.push(match job {
                    Job::Fetch(task) => tokio::spawn(async move { (false, vec![run_task(&context, &task).await]) }),
                    Job::ReadLocal(items) => {
                        self.local_in_flight += 1;
                        tokio::task::spawn_blocking(move || (true, read_local_items(&context, items)))
                    }
                });
            }
            match in_flight.next().await {
                None => return Ok(()),
                Some(joined) => {
                    let (local, outcomes) = joined.map_err(|e| Error::Task(e.to_string()))?;
                    self.local_in_flight -= usize::from(local);
                    for outcome in outcomes {
                        self.absorb(outcome).await?;
                    }
                }
            }
        }
    }

    /// Catalogs and collections while few item links wait, items otherwise.
    fn next_job(&mut self) -> Option<Job> {
        if self.pending_items < self.concurrency * 2
            && let Some(task) = self.nodes.pop_front()
        {
            return Some(Job::Fetch(task));
        }
        if let Some(task) = self.deferred.take() {
            return Some(Job::Fetch(task));
        }
        if self.local_in_flight < self.local_workers
            && let Some(job) = self.next_items()
        {
            return Some(job);
        }
        self.nodes.pop_front().map(Job::Fetch)
    }

    /// The next item links of the queue: a remote one alone, local ones in
    /// a chunk (from one document).
    fn next_items(&mut self) -> Option<Job> {
        let mut chunk: Option<LocalItems> = None;
        while let Some(links) = self.items.front_mut() {
            let Some(href) = links.hrefs.next() else {
                self.items.pop_front();
                if chunk.is_some() {
                    break;
                }
                continue;
            };
            self.pending_items -= 1;
            match links.base.join(&href) {
                Ok(uri) if self.seen.insert(&uri) => {
                    if !links.owned && !self.context.shard.owns(uri.as_str()) {
                        continue;
                    }
                    if uri.scheme() == Scheme::File {
                        let chunk = chunk.get_or_insert_with(|| LocalItems {
                            uris: Vec::with_capacity(LOCAL_CHUNK),
                            origin: links.origin.clone(),
                        });
                        chunk.uris.push(uri);
                        if chunk.uris.len() == LOCAL_CHUNK {
                            break;
                        }
                        continue;
                    }
                    let task = links.origin.item_task(uri);
                    if chunk.is_none() {
                        return Some(Job::Fetch(task));
                    }
                    self.deferred = Some(task);
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    let error = ErrorRecord {
                        uri: href,
                        kind: ErrorKind::UnsupportedLink,
                        message: e.to_string(),
                        parent: Some(links.origin.parent.to_string()),
                    };
                    let owned = links.owned;
                    self.record(error, owned);
                }
            }
        }
        chunk.map(Job::ReadLocal)
    }

    async fn absorb(&mut self, outcome: Outcome) -> Result<()> {
        if outcome.owned {
            self.output.owned_documents += outcome.documents;
        } else {
            self.output.replicated_documents += outcome.documents;
        }
        self.progress.add_documents(outcome.documents);
        let mut follow_links = true;
        if let Some(collection) = outcome.collection {
            if self.collection_ids.insert(collection.id.clone()) {
                self.output.collections.push(collection);
            } else {
                follow_links = false;
                let error = ErrorRecord {
                    message: format!(
                        "collection id {:?} was already found elsewhere; this one is skipped",
                        collection.id
                    ),
                    uri: collection.href,
                    kind: ErrorKind::DuplicateCollection,
                    parent: None,
                };
                self.record(error, outcome.owned);
            }
        }
        if follow_links {
            self.output.tree.extend(outcome.tree_node);
            if let Some(links) = outcome.item_links {
                self.pending_items += links.hrefs.len();
                self.items.push_back(links);
            }
            for task in outcome.nodes {
                if self.seen.insert(&task.uri) {
                    self.nodes.push_back(task);
                }
            }
        }
        outcome.errors.into_iter().for_each(|e| self.record(e, outcome.owned));
        outcome.item_errors.into_iter().for_each(|e| self.record(e, true));
        self.progress.add_items(outcome.rows.len() as u64);
        for row in outcome.rows {
            self.row_keys.add(&row.collection, &row.id);
            self.batcher.push(row);
            if self.batcher.len() >= BATCH_ROWS {
                let batch = self.batcher.take_batch()?;
                self.writer.write(batch).await?;
            }
        }
        Ok(())
    }

    fn record(&mut self, error: ErrorRecord, owned: bool) {
        tracing::debug!(%error, "recorded");
        self.progress.add_errors(1);
        if owned {
            self.output.owned_errors.push(error);
        } else {
            self.output.replicated_errors.push(error);
        }
    }
}

/// The URIs met so far, kept as 64-bit hashes: collisions are negligible
/// at catalog sizes, and the set stays small.
#[derive(Default)]
struct SeenUris {
    keys: hashbrown::HashSet<u64>,
    hasher: hashbrown::DefaultHashBuilder,
}

impl SeenUris {
    /// Whether `uri` is new (and from now on seen).
    fn insert(&mut self, uri: &Uri) -> bool {
        self.keys.insert(self.hasher.hash_one(uri.as_str()))
    }
}

async fn fetch_root(io: &Io, root: &Uri) -> Result<(Bytes, Document)> {
    let fatal = |message: String| Error::Root {
        uri: root.to_string(),
        message,
    };
    let bytes = io.get(root).await.map_err(|e| fatal(e.to_string()))?;
    let document = document::parse(&bytes).map_err(|e| fatal(format!("not valid JSON: {e}")))?;
    match document::kind_of(&document) {
        Some(DocumentKind::Catalog | DocumentKind::Collection) => Ok((bytes, document)),
        _ if document.json.get("stac_version").is_none() => Err(fatal(
            "not a STAC catalog or collection: it has no \"stac_version\" (every STAC catalog since 0.6 has one)"
                .into(),
        )),
        _ => Err(fatal("not a STAC catalog or collection".into())),
    }
}

fn catalog_info(document: &Document) -> CatalogInfo {
    let text = |key: &str| document.json.get(key).and_then(Value::as_str).map(str::to_string);
    CatalogInfo {
        id: text("id").unwrap_or_default(),
        title: text("title"),
        description: text("description"),
    }
}

async fn run_task(context: &Context, task: &Task) -> Outcome {
    let mut outcome = fetch_task(context, task).await;
    outcome.owned = task.owned;
    outcome
}

async fn fetch_task(context: &Context, task: &Task) -> Outcome {
    if task.list {
        return list(context, task).await;
    }
    match context.io.get(&task.uri).await {
        Ok(bytes) => parse_and_process(context, task, &bytes),
        Err(e) => Outcome::error(task, ErrorKind::Fetch, e.to_string()),
    }
}

/// Reads, parses and extracts a chunk of local item files, on the calling
/// (blocking) thread. The items' rows and errors come back as one outcome;
/// any other kind of document (a link labelled `item` may lead anywhere)
/// as one outcome each.
fn read_local_items(context: &Context, items: LocalItems) -> Vec<Outcome> {
    let mut files = LocalFiles::new(&items.uris);
    let mut merged = Outcome {
        owned: true,
        ..Outcome::default()
    };
    let mut outcomes = Vec::new();
    for uri in items.uris {
        let task = items.origin.item_task(uri);
        let mut outcome = match files.read(&task.uri) {
            Ok(bytes) => parse_and_process(context, &task, bytes),
            Err(e) => Outcome::error(&task, ErrorKind::Fetch, e.to_string()),
        };
        outcome.owned = true;
        if outcome.only_rows_and_errors() {
            merged.documents += outcome.documents;
            merged.rows.extend(outcome.rows);
            merged.errors.extend(outcome.errors);
            merged.item_errors.extend(outcome.item_errors);
        } else {
            outcomes.push(outcome);
        }
    }
    outcomes.push(merged);
    outcomes
}

/// Items take the short way (only the members the index reads are parsed);
/// everything else is parsed whole.
fn parse_and_process(context: &Context, task: &Task, bytes: &[u8]) -> Outcome {
    if let Some(item) = item::parse_needed(bytes, &context.item_members) {
        let mut outcome = Outcome {
            documents: 1,
            ..Outcome::default()
        };
        let hash = stac_indexed_format::content_hash(bytes);
        outcome.add_item(context, task, &item, hash, task.uri.to_string());
        return outcome;
    }
    match document::parse(bytes) {
        Ok(document) => process(context, task, bytes, document),
        Err(e) => {
            let mut outcome = Outcome::error(task, ErrorKind::Parse, format!("not valid JSON: {e}"));
            outcome.documents = 1;
            outcome
        }
    }
}

/// Lists a directory or prefix named by an `items` link: every JSON file is an item.
async fn list(context: &Context, task: &Task) -> Outcome {
    match context.io.list(&task.uri).await {
        Ok(uris) => Outcome {
            item_links: Some(ItemLinks {
                base: task.uri.clone(),
                origin: ItemOrigin {
                    parent: Arc::from(task.uri.as_str()),
                    collection: task.collection.clone(),
                    owner: task.owner.clone(),
                },
                owned: task.owned,
                hrefs: uris
                    .into_iter()
                    .filter(document::is_json_name)
                    .map(|uri| uri.to_string())
                    .collect::<Vec<_>>()
                    .into_iter(),
            }),
            ..Outcome::default()
        },
        Err(e) => Outcome::error(task, ErrorKind::Fetch, format!("cannot list: {e}")),
    }
}

/// Turns a fetched document into rows, further tasks and errors.
fn process(context: &Context, task: &Task, bytes: &[u8], document: Document) -> Outcome {
    let mut outcome = Outcome {
        documents: 1,
        ..Outcome::default()
    };
    match document::kind_of(&document) {
        Some(DocumentKind::Item) => {
            let hash = stac_indexed_format::content_hash(bytes);
            outcome.add_item(context, task, &document.json, hash, task.uri.to_string());
        }
        Some(DocumentKind::Catalog) => {
            let mut node = node_record(task, &document.json, NodeKind::Catalog);
            node.json = Some(document.json.to_string());
            node.children = outcome.follow(task, document.links, None, Some(Arc::from(task.uri.as_str())));
            outcome.tree_node = Some(node);
        }
        Some(DocumentKind::Collection) => match document.json.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => {
                let id: Arc<str> = Arc::from(id);
                let mut node = node_record(task, &document.json, NodeKind::Collection);
                outcome.collection = Some(CollectionRecord {
                    id: id.to_string(),
                    title: node.title.clone(),
                    json: document.json.to_string(),
                    href: task.uri.to_string(),
                });
                let owner = Some(Arc::from(task.uri.as_str()));
                node.children = outcome.follow(task, document.links, Some(id), owner);
                outcome.tree_node = Some(node);
            }
            _ => outcome.push_error(task, ErrorKind::NotStac, "a collection without an id".into()),
        },
        Some(DocumentKind::ItemCollection) => {
            let features = document.json.get("features").and_then(Value::as_array);
            let extract = task.owned || context.shard.owns(task.uri.as_str());
            for feature in features.into_iter().flatten().filter(|_| extract) {
                let href = feature_href(feature, &task.uri);
                let hash = stac_indexed_format::content_hash(stac_indexed_format::canonical_json(feature).as_bytes());
                outcome.add_item(context, task, feature, hash, href);
            }
            outcome.follow(task, document.links, task.collection.clone(), task.owner.clone());
        }
        None => outcome.push_error(
            task,
            ErrorKind::NotStac,
            "not a STAC catalog, collection, item or item collection".into(),
        ),
    }
    outcome
}

/// A catalog or collection as a tree node (its json and children are set by the caller).
fn node_record(task: &Task, json: &Value, kind: NodeKind) -> NodeRecord {
    let text = |key: &str| json.get(key).and_then(Value::as_str).map(str::to_string);
    NodeRecord {
        href: task.uri.to_string(),
        kind,
        id: text("id").unwrap_or_default(),
        title: text("title"),
        description: text("description"),
        json: None,
        children: Vec::new(),
    }
}

/// Where an item inside an ItemCollection can be fetched again: its absolute
/// `self` link, or the page URI with the item id as fragment.
fn feature_href(feature: &Value, page: &Uri) -> String {
    document::self_href(feature, page)
        .map(|uri| uri.to_string())
        .unwrap_or_else(|| {
            let id = feature.get("id").and_then(Value::as_str).unwrap_or_default();
            let mut url = page.as_url().clone();
            url.set_fragment(Some(id));
            url.to_string()
        })
}

impl Task {
    /// A task for a link of this one's document: owned when this one is.
    fn child(&self, uri: Uri, collection: Option<Arc<str>>, owner: Option<Arc<str>>, list: bool) -> Task {
        Task {
            uri,
            parent: Some(Arc::from(self.uri.as_str())),
            collection,
            owner,
            list,
            owned: self.owned,
        }
    }
}

impl Outcome {
    /// Whether nothing but rows and errors came out (no links to follow, no
    /// catalog or collection).
    fn only_rows_and_errors(&self) -> bool {
        self.item_links.is_none() && self.nodes.is_empty() && self.collection.is_none() && self.tree_node.is_none()
    }

    fn error(task: &Task, kind: ErrorKind, message: String) -> Outcome {
        let mut outcome = Outcome::default();
        outcome.push_error(task, kind, message);
        outcome
    }

    fn push_error(&mut self, task: &Task, kind: ErrorKind, message: String) {
        self.push_error_at(task.uri.to_string(), task, kind, message);
    }

    fn push_error_at(&mut self, uri: String, task: &Task, kind: ErrorKind, message: String) {
        self.errors.push(error_at(uri, task, kind, message));
    }

    fn push_item_error(&mut self, uri: String, task: &Task, kind: ErrorKind, message: String) {
        self.item_errors.push(error_at(uri, task, kind, message));
    }

    /// A link that cannot be followed; its parent is the document holding it.
    fn push_link_error(&mut self, href: String, task: &Task, message: String) {
        self.errors.push(ErrorRecord {
            uri: href,
            kind: ErrorKind::UnsupportedLink,
            message,
            parent: Some(task.uri.to_string()),
        });
    }

    fn add_item(&mut self, context: &Context, task: &Task, item: &Value, hash: String, href: String) {
        let owner = task.owner.clone().unwrap_or_else(|| Arc::from(""));
        match item::extract(
            item,
            hash,
            href.clone(),
            task.collection.as_deref(),
            owner,
            &context.config,
        ) {
            Ok(Extracted { row, warnings }) => {
                for warning in warnings {
                    self.push_item_error(href.clone(), task, ErrorKind::PropertyType, warning);
                }
                self.rows.push(row);
            }
            Err(rejection) => self.push_item_error(href, task, rejection.kind, rejection.message),
        }
    }

    /// Queues the document's child, items and next links; keeps its item
    /// links unresolved until they are dispatched. The items they lead to
    /// belong to `owner` in the tree. Returns the child links, resolved.
    fn follow(
        &mut self,
        task: &Task,
        links: Vec<RawLink>,
        collection: Option<Arc<str>>,
        owner: Option<Arc<str>>,
    ) -> Vec<String> {
        let mut children = Vec::new();
        let mut item_hrefs = Vec::new();
        for RawLink { rel, href, method } in links {
            if rel == "item" {
                item_hrefs.push(href);
                continue;
            }
            let target = match task.uri.join(&href) {
                Ok(target) => target,
                Err(e) => {
                    self.push_link_error(href, task, e.to_string());
                    continue;
                }
            };
            match rel.as_str() {
                "child" => {
                    children.push(target.to_string());
                    self.nodes.push(task.child(target, None, None, false));
                }
                "items" => {
                    let list = document::is_listable(&target);
                    self.nodes
                        .push(task.child(target, collection.clone(), owner.clone(), list));
                }
                _ if method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case("GET")) => {
                    self.nodes
                        .push(task.child(target, collection.clone(), owner.clone(), false));
                }
                _ => self.push_link_error(
                    target.to_string(),
                    task,
                    "a next link with a method other than GET cannot be followed".into(),
                ),
            }
        }
        if !item_hrefs.is_empty() {
            self.item_links = Some(ItemLinks {
                base: task.uri.clone(),
                origin: ItemOrigin {
                    parent: Arc::from(task.uri.as_str()),
                    collection,
                    owner,
                },
                owned: task.owned,
                hrefs: item_hrefs.into_iter(),
            });
        }
        children
    }
}

fn error_at(uri: String, task: &Task, kind: ErrorKind, message: String) -> ErrorRecord {
    ErrorRecord {
        uri,
        kind,
        message,
        parent: task.parent.as_deref().map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_keys_tell_whether_finalizing_has_rows_to_drop() {
        let crawled: HashSet<&str> = ["a", "b"].into_iter().collect();
        let mut keys = RowKeys::default();
        for (collection, id) in [("a", "1"), ("a", "2"), ("b", "1")] {
            keys.add(collection, id);
        }
        assert!(keys.summary.all_kept(&crawled));
        assert!(!keys.summary.all_kept(&["a"].into_iter().collect()), "rows of b");
        keys.add("b", "1");
        assert!(keys.summary.maybe_duplicated);
        assert!(!keys.summary.all_kept(&crawled));
    }
}
