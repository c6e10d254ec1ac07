//! What an operator can configure about the API.

use std::path::PathBuf;
use std::time::Duration;

/// API settings (the `serve` flags).
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// The landing page id (default: the root catalog's id).
    pub id: Option<String>,
    /// The landing page title (default: the root catalog's title).
    pub title: Option<String>,
    /// The landing page description (default: the root catalog's description).
    pub description: Option<String>,
    /// `limit` when a request gives none.
    pub default_limit: usize,
    /// Larger `limit`s are clamped to this.
    pub max_limit: usize,
    /// A path prefix for every link (e.g. an API Gateway stage, `/prod`).
    pub root_path: String,
    /// Where remote index files are copied, one directory per index version.
    pub cache_dir: PathBuf,
    /// How often the manifest is checked for a new version (`None`: never).
    pub reload_interval: Option<Duration>,
    /// How many item documents are fetched at once, over all requests.
    pub fetch_concurrency: usize,
    /// How long one item may take to read, retries included, before a
    /// page is answered without it.
    pub item_fetch_budget: Duration,
    /// The item cache's size in bytes.
    pub item_cache_bytes: usize,
    /// How long a cached item document is served before it is fetched again.
    pub item_cache_ttl: Duration,
    /// How many DuckDB connections serve queries at once.
    pub connections: usize,
    /// A secret mixed into paging-token signatures (the same on every instance).
    pub token_secret: String,
    /// Copy the items table into DuckDB's memory after start-up (faster SQL
    /// searches; the row directory answers the common ones anyway).
    pub in_memory: bool,
    /// Build the row directory after start-up (default-order searches and
    /// item lookups without DuckDB).
    pub row_directory: bool,
    /// The most items one export (`f=ndjson|parquet`) may hold.
    pub export_max_items: u64,
    /// Where GeoParquet exports keep their items between passes.
    pub export_dir: PathBuf,
    /// `Cache-Control` per kind of resource.
    pub cache_policy: crate::CachePolicy,
    /// Where STAC Browser's built files are (`None`: no `/browser/`).
    pub browser_dir: Option<PathBuf>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        ApiConfig {
            id: None,
            title: None,
            description: None,
            default_limit: 10,
            max_limit: 10_000,
            root_path: String::new(),
            cache_dir: std::env::temp_dir().join("stac-indexed-cache"),
            reload_interval: Some(Duration::from_secs(60)),
            fetch_concurrency: 64,
            item_fetch_budget: Duration::from_secs(10),
            item_cache_bytes: 64 * 1024 * 1024,
            item_cache_ttl: Duration::from_secs(60),
            connections: cores * 2,
            token_secret: String::new(),
            in_memory: false,
            row_directory: true,
            export_max_items: 1_000_000,
            export_dir: std::env::temp_dir().join("stac-indexed-export"),
            cache_policy: crate::CachePolicy::default(),
            browser_dir: None,
        }
    }
}
