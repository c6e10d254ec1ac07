//! The crawl: every document fetched once, all fetches under one bound.
//!
//! A single loop owns the state (queues, the set of URIs seen, collections,
//! errors); fetching and parsing run as spawned tasks, at most `concurrency`
//! at a time. Item fetches are preferred over catalog and collection fetches
//! so that the queue of pending items stays about one collection long: memory
//! stays flat however large the catalog. Rows leave in batches for the
//! staging writer as soon as a batch is full.

use crate::batch::RowBatcher;
use crate::document::{self, DocumentKind, Link};
use crate::item::{self, Extracted};
use crate::report::{ErrorKind, ErrorRecord};
use crate::staging::StagingWriter;
use crate::{Error, Progress, Result};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::Value;
use stac_indexed_format::{CatalogInfo, IndexConfig};
use stac_indexed_io::{Io, Uri};
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Rows per record batch sent to the staging writer.
const BATCH_ROWS: usize = 8192;

/// A collection as the crawl found it.
#[derive(Clone, Debug)]
pub(crate) struct CollectionRecord {
    pub id: String,
    pub title: Option<String>,
    /// The document with its item/child/items links removed, as JSON text.
    pub json: String,
    pub href: String,
}

/// What the crawl produced besides the staged rows.
#[derive(Debug)]
pub(crate) struct CrawlOutput {
    pub catalog: CatalogInfo,
    pub collections: Vec<CollectionRecord>,
    pub errors: Vec<ErrorRecord>,
    pub documents: u64,
}

/// Shared, read-only state of the spawned tasks.
struct Context {
    io: Arc<Io>,
    config: Arc<IndexConfig>,
}

/// One thing to fetch (or list).
#[derive(Clone, Debug)]
struct Task {
    uri: Uri,
    /// The URI of the document that linked here.
    parent: Option<Arc<str>>,
    /// The id of the collection that linked here, for items without a `collection`.
    collection: Option<Arc<str>>,
    /// List a directory or prefix instead of fetching a document.
    list: bool,
}

/// What one task produced.
#[derive(Default)]
struct Outcome {
    fetched: bool,
    items: Vec<Task>,
    nodes: Vec<Task>,
    rows: Vec<item::ItemRow>,
    errors: Vec<ErrorRecord>,
    collection: Option<CollectionRecord>,
}

/// The crawl loop's own state.
struct Crawl<'a> {
    context: Arc<Context>,
    concurrency: usize,
    seen: HashSet<u64>,
    items: VecDeque<Task>,
    nodes: VecDeque<Task>,
    collection_ids: HashSet<String>,
    output: CrawlOutput,
    batcher: RowBatcher,
    writer: &'a StagingWriter,
    progress: &'a Progress,
}

/// Crawls from `root`; rows go to `writer`, the rest is returned.
pub(crate) async fn crawl(
    root: &Uri,
    io: Arc<Io>,
    config: Arc<IndexConfig>,
    concurrency: usize,
    batcher: RowBatcher,
    writer: &StagingWriter,
    progress: &Progress,
) -> Result<CrawlOutput> {
    let context = Arc::new(Context { io, config });
    let (bytes, document) = fetch_root(&context.io, root).await?;
    let catalog = catalog_info(&document);
    let mut crawl = Crawl {
        context: context.clone(),
        concurrency: concurrency.max(1),
        seen: HashSet::new(),
        items: VecDeque::new(),
        nodes: VecDeque::new(),
        collection_ids: HashSet::new(),
        output: CrawlOutput {
            catalog,
            collections: Vec::new(),
            errors: Vec::new(),
            documents: 0,
        },
        batcher,
        writer,
        progress,
    };
    let root_task = Task {
        uri: root.clone(),
        parent: None,
        collection: None,
        list: false,
    };
    crawl.seen.insert(uri_key(root));
    let outcome = process(&context, &root_task, bytes, document);
    crawl.absorb(outcome).await?;
    crawl.run().await?;
    if crawl.batcher.len() > 0 {
        let batch = crawl.batcher.take_batch()?;
        crawl.writer.write(batch).await?;
    }
    Ok(crawl.output)
}

impl Crawl<'_> {
    async fn run(&mut self) -> Result<()> {
        let mut in_flight = FuturesUnordered::new();
        loop {
            while in_flight.len() < self.concurrency {
                let Some(task) = self.next_task() else { break };
                let context = self.context.clone();
                in_flight.push(tokio::spawn(async move { run_task(&context, &task).await }));
            }
            match in_flight.next().await {
                None => return Ok(()),
                Some(joined) => {
                    let outcome = joined.map_err(|e| Error::Task(e.to_string()))?;
                    self.absorb(outcome).await?;
                }
            }
        }
    }

    /// Items first, but fetch catalogs and collections early enough that the
    /// next collection's items are known before this one's run out.
    fn next_task(&mut self) -> Option<Task> {
        if self.items.len() < self.concurrency * 2
            && let Some(task) = self.nodes.pop_front()
        {
            return Some(task);
        }
        self.items.pop_front().or_else(|| self.nodes.pop_front())
    }

    async fn absorb(&mut self, outcome: Outcome) -> Result<()> {
        if outcome.fetched {
            self.output.documents += 1;
            self.progress.add_documents(1);
        }
        let mut follow_links = true;
        if let Some(collection) = outcome.collection {
            if self.collection_ids.insert(collection.id.clone()) {
                self.output.collections.push(collection);
            } else {
                follow_links = false;
                self.record(ErrorRecord {
                    message: format!(
                        "collection id {:?} was already found elsewhere; this one is skipped",
                        collection.id
                    ),
                    uri: collection.href,
                    kind: ErrorKind::DuplicateCollection,
                    parent: None,
                });
            }
        }
        if follow_links {
            for task in outcome.items {
                if self.seen.insert(uri_key(&task.uri)) {
                    self.items.push_back(task);
                }
            }
            for task in outcome.nodes {
                if self.seen.insert(uri_key(&task.uri)) {
                    self.nodes.push_back(task);
                }
            }
        }
        outcome.errors.into_iter().for_each(|e| self.record(e));
        self.progress.add_items(outcome.rows.len() as u64);
        for row in outcome.rows {
            self.batcher.push(row);
            if self.batcher.len() >= BATCH_ROWS {
                let batch = self.batcher.take_batch()?;
                self.writer.write(batch).await?;
            }
        }
        Ok(())
    }

    fn record(&mut self, error: ErrorRecord) {
        tracing::debug!(%error, "recorded");
        self.progress.add_errors(1);
        self.output.errors.push(error);
    }
}

/// A stable key for the set of URIs seen (64 bits: collisions are negligible
/// at catalog sizes, and the set stays small).
fn uri_key(uri: &Uri) -> u64 {
    let mut hasher = DefaultHasher::new();
    uri.as_str().hash(&mut hasher);
    hasher.finish()
}

async fn fetch_root(io: &Io, root: &Uri) -> Result<(Bytes, Value)> {
    let fatal = |message: String| Error::Root {
        uri: root.to_string(),
        message,
    };
    let bytes = io.get(root).await.map_err(|e| fatal(e.to_string()))?;
    let document: Value =
        serde_json::from_slice(&bytes).map_err(|e| fatal(format!("not valid JSON: {e}")))?;
    match document::kind_of(&document) {
        Some(DocumentKind::Catalog | DocumentKind::Collection) => Ok((bytes, document)),
        _ => Err(fatal("not a STAC catalog or collection".into())),
    }
}

fn catalog_info(document: &Value) -> CatalogInfo {
    let text = |key: &str| {
        document
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    CatalogInfo {
        id: text("id").unwrap_or_default(),
        title: text("title"),
        description: text("description"),
    }
}

async fn run_task(context: &Context, task: &Task) -> Outcome {
    if task.list {
        return list(context, task).await;
    }
    let bytes = match context.io.get(&task.uri).await {
        Ok(bytes) => bytes,
        Err(e) => return Outcome::error(task, ErrorKind::Fetch, e.to_string()),
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(document) => process(context, task, bytes, document),
        Err(e) => {
            let mut outcome =
                Outcome::error(task, ErrorKind::Parse, format!("not valid JSON: {e}"));
            outcome.fetched = true;
            outcome
        }
    }
}

/// Lists a directory or prefix named by an `items` link: every JSON file is an item.
async fn list(context: &Context, task: &Task) -> Outcome {
    match context.io.list(&task.uri).await {
        Ok(uris) => Outcome {
            items: uris
                .into_iter()
                .filter(document::is_json_name)
                .map(|uri| task.child(uri, task.collection.clone(), false))
                .collect(),
            ..Outcome::default()
        },
        Err(e) => Outcome::error(task, ErrorKind::Fetch, format!("cannot list: {e}")),
    }
}

/// Turns a fetched document into rows, further tasks and errors.
fn process(context: &Context, task: &Task, bytes: Bytes, document: Value) -> Outcome {
    let mut outcome = Outcome {
        fetched: true,
        ..Outcome::default()
    };
    match document::kind_of(&document) {
        Some(DocumentKind::Item) => {
            let hash = item::content_hash(&bytes);
            outcome.add_item(context, task, &document, hash, task.uri.to_string());
        }
        Some(DocumentKind::Catalog) => outcome.follow(task, &document, None),
        Some(DocumentKind::Collection) => match document.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => {
                let id: Arc<str> = Arc::from(id);
                outcome.follow(task, &document, Some(id.clone()));
                outcome.collection = Some(CollectionRecord {
                    id: id.to_string(),
                    title: document
                        .get("title")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    json: document::stored_collection(document).to_string(),
                    href: task.uri.to_string(),
                });
            }
            _ => outcome.push_error(
                task,
                ErrorKind::NotStac,
                "a collection without an id".into(),
            ),
        },
        Some(DocumentKind::ItemCollection) => {
            let features = document.get("features").and_then(Value::as_array);
            for feature in features.into_iter().flatten() {
                let href = feature_href(feature, &task.uri);
                let hash = item::content_hash(feature.to_string().as_bytes());
                outcome.add_item(context, task, feature, hash, href);
            }
            outcome.follow(task, &document, task.collection.clone());
        }
        None => outcome.push_error(
            task,
            ErrorKind::NotStac,
            "not a STAC catalog, collection, item or item collection".into(),
        ),
    }
    outcome
}

/// Where an item inside an ItemCollection can be fetched again: its absolute
/// `self` link, or the page URI with the item id as fragment.
fn feature_href(feature: &Value, page: &Uri) -> String {
    let (links, _) = document::links(feature, page);
    links
        .into_iter()
        .find(|link| link.rel == "self")
        .map(|link| link.target.to_string())
        .unwrap_or_else(|| {
            let id = feature
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let mut url = page.as_url().clone();
            url.set_fragment(Some(id));
            url.to_string()
        })
}

impl Task {
    fn child(&self, uri: Uri, collection: Option<Arc<str>>, list: bool) -> Task {
        Task {
            uri,
            parent: Some(Arc::from(self.uri.as_str())),
            collection,
            list,
        }
    }
}

impl Outcome {
    fn error(task: &Task, kind: ErrorKind, message: String) -> Outcome {
        let mut outcome = Outcome::default();
        outcome.push_error(task, kind, message);
        outcome
    }

    fn push_error(&mut self, task: &Task, kind: ErrorKind, message: String) {
        self.push_error_at(task.uri.to_string(), task, kind, message);
    }

    fn push_error_at(&mut self, uri: String, task: &Task, kind: ErrorKind, message: String) {
        self.errors.push(ErrorRecord {
            uri,
            kind,
            message,
            parent: task.parent.as_deref().map(str::to_string),
        });
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

    fn add_item(
        &mut self,
        context: &Context,
        task: &Task,
        item: &Value,
        hash: String,
        href: String,
    ) {
        match item::extract(
            item,
            hash,
            href.clone(),
            task.collection.as_deref(),
            &context.config,
        ) {
            Ok(Extracted { row, warnings }) => {
                for warning in warnings {
                    self.push_error_at(href.clone(), task, ErrorKind::PropertyType, warning);
                }
                self.rows.push(row);
            }
            Err(rejection) => self.push_error_at(href, task, rejection.kind, rejection.message),
        }
    }

    /// Queues the document's child, item, items and next links.
    fn follow(&mut self, task: &Task, document: &Value, collection: Option<Arc<str>>) {
        let (links, unresolved) = document::links(document, &task.uri);
        for (href, reason) in unresolved {
            self.push_link_error(href, task, reason);
        }
        for Link {
            rel,
            target,
            method,
        } in links
        {
            match rel.as_str() {
                "child" => self.nodes.push(task.child(target, None, false)),
                "item" => self
                    .items
                    .push(task.child(target, collection.clone(), false)),
                "items" => {
                    let list = document::is_listable(&target);
                    self.nodes
                        .push(task.child(target, collection.clone(), list));
                }
                "next"
                    if method
                        .as_deref()
                        .is_none_or(|m| m.eq_ignore_ascii_case("GET")) =>
                {
                    self.nodes
                        .push(task.child(target, collection.clone(), false));
                }
                "next" => self.push_link_error(
                    target.to_string(),
                    task,
                    "a next link with a method other than GET cannot be followed".into(),
                ),
                _ => {}
            }
        }
    }
}
