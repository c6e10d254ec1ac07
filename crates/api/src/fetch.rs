//! Fetching whole items from their URIs, concurrently and in result order,
//! through a cache bounded by bytes.
//!
//! The cache key is the item's URI and the content hash the index holds for
//! it; a fetched document is cached only when its bytes hash to that value.
//! So a re-indexed (changed) item has a new key and is never served stale.
//! An item changed at its source without a re-index is served fresh once its
//! cache entry is older than the time to live (`--item-cache-ttl`): every
//! instance agrees again within that time.

use crate::{Error, Result};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use lru::LruCache;
use serde_json::Value;
use serde_json::value::RawValue;
use stac_indexed_engine::Hit;
use stac_indexed_format::content_hash;
use stac_indexed_io::{Io, Uri};
use std::collections::BTreeMap;
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
    cache: Mutex<ByteCache>,
}

struct ByteCache {
    entries: LruCache<(String, String), (Bytes, Instant)>,
    bytes: usize,
    capacity: usize,
    ttl: Duration,
}

impl ItemFetcher {
    /// A fetcher with at most `concurrency` fetches in flight and a cache of
    /// `cache_bytes` whose entries live `ttl`.
    pub fn new(io: Arc<Io>, concurrency: usize, cache_bytes: usize, ttl: Duration) -> ItemFetcher {
        ItemFetcher {
            io,
            permits: Semaphore::new(concurrency.max(1)),
            concurrency: concurrency.max(1),
            cache: Mutex::new(ByteCache {
                entries: LruCache::unbounded(),
                bytes: 0,
                capacity: cache_bytes,
                ttl,
            }),
        }
    }

    /// The items of a page, in the page's order. An item that cannot be read
    /// fails the whole request (a page never silently shrinks).
    pub async fn fetch_all(&self, hits: &[Hit]) -> Result<Vec<RawItem>> {
        let fetches: Vec<_> = hits.iter().map(|hit| self.fetch(hit)).collect();
        futures::stream::iter(fetches)
            .buffered(self.concurrency)
            .try_collect()
            .await
    }

    /// One item's document.
    pub async fn fetch(&self, hit: &Hit) -> Result<RawItem> {
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
        if content_hash(&bytes) == hit.content_hash {
            self.store(key, bytes.clone());
        }
        parse(&bytes, hit)
    }

    /// The item's bytes; for `page#id` URIs, the feature with that id in the page.
    async fn read(&self, hit: &Hit) -> Result<Bytes> {
        let unavailable = |reason: String| {
            Error::SourceUnavailable(format!(
                "item {:?} of collection {:?} is in the index but cannot be read from {}: {reason}; \
                 the index may be out of date",
                hit.id, hit.collection, hit.href
            ))
        };
        let uri = Uri::parse(&hit.href).map_err(|e| unavailable(e.to_string()))?;
        let Some(fragment) = uri.as_url().fragment().map(str::to_string) else {
            return self.io.get(&uri).await.map_err(|e| unavailable(e.to_string()));
        };
        let mut page_url = uri.as_url().clone();
        page_url.set_fragment(None);
        let page_uri = Uri::from_url(page_url).map_err(|e| unavailable(e.to_string()))?;
        let page = self.io.get(&page_uri).await.map_err(|e| unavailable(e.to_string()))?;
        let page: Value = serde_json::from_slice(&page).map_err(|e| unavailable(e.to_string()))?;
        let feature = page
            .get("features")
            .and_then(Value::as_array)
            .and_then(|features| {
                features
                    .iter()
                    .find(|f| f.get("id").and_then(Value::as_str) == Some(&fragment))
            })
            .ok_or_else(|| unavailable("the item is no longer in its page".into()))?;
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
