//! Fetching whole items from their URIs, concurrently and in result order,
//! through a cache bounded by bytes.
//!
//! The cache key is the item's URI and the content hash the index holds for
//! it; a fetched document is cached only when its bytes hash to that value.
//! So a re-indexed (changed) item has a new key and is never served stale.
//! An item changed at its source without a re-index is served fresh once its
//! cache entry is older than the time to live (`--item-cache-ttl`): every
//! instance agrees again within that time.
//!
//! Sources fail. The io crate retries what may pass (timeouts, connection
//! errors, 429 and 5xx) with backoff; here each item gets a time budget for
//! all of it (`--item-fetch-budget`). An item that still cannot be read is a
//! [`Missing`] entry of its page, counted for `/_mgmt/health`, never the
//! failure of the whole page.

use crate::{Error, Result};
use bytes::Bytes;
use futures::StreamExt;
use lru::LruCache;
use serde_json::Value;
use serde_json::value::RawValue;
use stac_indexed_engine::Hit;
use stac_indexed_format::content_hash;
use stac_indexed_io::{Io, Uri};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// An item document read one level deep: its top-level members as raw JSON,
/// so geometry and properties pass through to the response without being
/// parsed into a tree and written again.
pub type RawItem = BTreeMap<String, Box<RawValue>>;

/// Fetches item documents; one per process, shared by all requests.
pub struct ItemFetcher {
    io: Arc<Io>,
    permits: Semaphore,
    concurrency: usize,
    budget: Duration,
    failures: AtomicU64,
    cache: Mutex<ByteCache>,
}

/// An item of a page that could not be read from its source.
#[derive(Debug, serde::Serialize)]
pub struct Missing {
    /// The item's id.
    pub id: String,
    /// Its collection.
    pub collection: String,
    /// Where the index says it is.
    pub href: String,
    /// Why it could not be read.
    pub reason: String,
}

/// A page's item documents: those read, in page order, and those missing.
pub struct Fetched {
    /// The documents that were read, with the hit each belongs to.
    pub items: Vec<(RawItem, Hit)>,
    /// The hits whose documents could not be read.
    pub missing: Vec<Missing>,
}

/// Whether fetched documents go into the cache.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Caching {
    ReadWrite,
    ReadOnly,
}

struct ByteCache {
    entries: LruCache<(String, String), (Bytes, Instant)>,
    bytes: usize,
    capacity: usize,
    ttl: Duration,
}

impl ItemFetcher {
    /// A fetcher with at most `concurrency` fetches in flight, `budget` for
    /// each item (retries included) and a cache of `cache_bytes` whose
    /// entries live `ttl`.
    pub fn new(io: Arc<Io>, concurrency: usize, budget: Duration, cache_bytes: usize, ttl: Duration) -> ItemFetcher {
        ItemFetcher {
            io,
            permits: Semaphore::new(concurrency.max(1)),
            concurrency: concurrency.max(1),
            budget,
            failures: AtomicU64::new(0),
            cache: Mutex::new(ByteCache {
                entries: LruCache::unbounded(),
                bytes: 0,
                capacity: cache_bytes,
                ttl,
            }),
        }
    }

    /// The items of a page, in the page's order, and those that could not
    /// be read (the page names them rather than silently shrinking).
    pub async fn fetch_all(&self, hits: &[Hit]) -> Fetched {
        self.fetch_many(hits, Caching::ReadWrite).await
    }

    /// Like [`ItemFetcher::fetch_all`], for a bulk export: documents come from
    /// the cache when they are there, but are not added to it (an export of
    /// a million items would only evict what the pages need).
    pub async fn fetch_all_uncached(&self, hits: &[Hit]) -> Fetched {
        self.fetch_many(hits, Caching::ReadOnly).await
    }

    async fn fetch_many(&self, hits: &[Hit], caching: Caching) -> Fetched {
        let fetches: Vec<_> = hits.iter().map(|hit| self.fetch_with(hit, caching)).collect();
        let results: Vec<Result<RawItem>> = futures::stream::iter(fetches)
            .buffered(self.concurrency)
            .collect()
            .await;
        let mut fetched = Fetched {
            items: Vec::with_capacity(hits.len()),
            missing: Vec::new(),
        };
        for (result, hit) in results.into_iter().zip(hits) {
            match result {
                Ok(item) => fetched.items.push((item, hit.clone())),
                Err(error) => fetched.missing.push(Missing {
                    id: hit.id.clone(),
                    collection: hit.collection.clone(),
                    href: hit.href.clone(),
                    reason: error.to_string(),
                }),
            }
        }
        fetched
    }

    /// One item's document, within the time budget; a failure is logged and counted.
    pub async fn fetch(&self, hit: &Hit) -> Result<RawItem> {
        self.fetch_with(hit, Caching::ReadWrite).await
    }

    async fn fetch_with(&self, hit: &Hit, caching: Caching) -> Result<RawItem> {
        let result = match tokio::time::timeout(self.budget, self.fetch_once(hit, caching)).await {
            Ok(result) => result,
            Err(_) => Err(Error::SourceUnavailable(format!(
                "item {:?} of collection {:?} could not be read from {} within {:?}",
                hit.id, hit.collection, hit.href, self.budget
            ))),
        };
        if let Err(error) = &result {
            self.failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(id = %hit.id, collection = %hit.collection, href = %hit.href, %error, "item source failed");
        }
        result
    }

    /// How many item reads have failed since the start (for /_mgmt/health).
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    async fn fetch_once(&self, hit: &Hit, caching: Caching) -> Result<RawItem> {
        let key = (hit.href.clone(), hit.content_hash.clone());
        if let Some(bytes) = self.cached(&key) {
            return parse(&bytes, hit);
        }
        let bytes = {
            let _permit = self
                .permits
                .acquire()
                .await
                .map_err(|e| Error::Internal(e.to_string()))?;
            self.read(hit).await?
        };
        if caching == Caching::ReadWrite && content_hash(&bytes) == hit.content_hash {
            self.store(key, bytes.clone());
        }
        parse(&bytes, hit)
    }

    /// The item's bytes; for `page#id` URIs, the feature with that id in the page.
    async fn read(&self, hit: &Hit) -> Result<Bytes> {
        let unavailable = |reason: String| {
            Error::SourceUnavailable(format!(
                "item {:?} of collection {:?} is in the index but cannot be read from {}: {reason}",
                hit.id, hit.collection, hit.href
            ))
        };
        let failed = |error: stac_indexed_io::Error| match error.is_not_found() {
            true => Error::SourceGone(format!(
                "item {:?} of collection {:?} is in the index but its source {} no longer exists; \
                 the index is out of date",
                hit.id, hit.collection, hit.href
            )),
            false => unavailable(error.to_string()),
        };
        let uri = Uri::parse(&hit.href).map_err(|e| unavailable(e.to_string()))?;
        let Some(fragment) = uri.as_url().fragment().map(str::to_string) else {
            return self.io.get(&uri).await.map_err(failed);
        };
        let mut page_url = uri.as_url().clone();
        page_url.set_fragment(None);
        let page_uri = Uri::from_url(page_url).map_err(|e| unavailable(e.to_string()))?;
        let page = self.io.get(&page_uri).await.map_err(failed)?;
        let page: Value = serde_json::from_slice(&page).map_err(|e| unavailable(e.to_string()))?;
        let feature = page
            .get("features")
            .and_then(Value::as_array)
            .and_then(|features| {
                features
                    .iter()
                    .find(|f| f.get("id").and_then(Value::as_str) == Some(&fragment))
            })
            .ok_or_else(|| {
                Error::SourceGone(format!(
                    "item {:?} of collection {:?} is in the index but no longer in its page {}; \
                     the index is out of date",
                    hit.id, hit.collection, hit.href
                ))
            })?;
        Ok(Bytes::from(stac_indexed_format::canonical_json(feature)))
    }

    fn cached(&self, key: &(String, String)) -> Option<Bytes> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let ttl = cache.ttl;
        match cache.entries.get(key) {
            Some((bytes, stored)) if stored.elapsed() < ttl => Some(bytes.clone()),
            Some(_) => {
                if let Some((bytes, _)) = cache.entries.pop(key) {
                    cache.bytes -= bytes.len();
                }
                None
            }
            None => None,
        }
    }

    fn store(&self, key: (String, String), bytes: Bytes) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if bytes.len() > cache.capacity {
            return;
        }
        cache.bytes += bytes.len();
        if let Some((old, _)) = cache.entries.put(key, (bytes, Instant::now())) {
            cache.bytes -= old.len();
        }
        while cache.bytes > cache.capacity {
            match cache.entries.pop_lru() {
                Some((_, (evicted, _))) => cache.bytes -= evicted.len(),
                None => break,
            }
        }
    }

    /// Bytes held by the cache (for /_mgmt/health).
    pub fn cached_bytes(&self) -> usize {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }
}

fn parse(bytes: &[u8], hit: &Hit) -> Result<RawItem> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::SourceUnavailable(format!(
            "item {:?} at {} is no longer valid JSON: {e}",
            hit.id, hit.href
        ))
    })
}
