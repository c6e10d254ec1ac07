//! `stac-indexed serve`: the STAC API over an index.

use crate::GlobalArgs;
use crate::commands::io;
use anyhow::Context;
use clap::Args;
use stac_indexed_api::{ApiConfig, HttpOptions, IndexHandle};
use stac_indexed_io::Uri;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// `stac-indexed serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The index: a manifest URI (path, file://, http(s)://, s3://) or the directory holding manifest.json.
    #[arg(long, env = "STAC_INDEXED_INDEX")]
    index: String,
    /// The address to listen on (when PORT is set and this is not, 0.0.0.0:$PORT).
    #[arg(long, env = "STAC_INDEXED_ADDR")]
    addr: Option<SocketAddr>,
    /// The landing page id (default: the root catalog's).
    #[arg(long, env = "STAC_INDEXED_ID")]
    id: Option<String>,
    /// The landing page title (default: the root catalog's).
    #[arg(long, env = "STAC_INDEXED_TITLE")]
    title: Option<String>,
    /// The landing page description (default: the root catalog's).
    #[arg(long, env = "STAC_INDEXED_DESCRIPTION")]
    description: Option<String>,
    /// The page size when a request gives no limit.
    #[arg(long, env = "STAC_INDEXED_DEFAULT_LIMIT", default_value_t = 10)]
    default_limit: usize,
    /// Larger limits are clamped to this.
    #[arg(long, env = "STAC_INDEXED_MAX_LIMIT", default_value_t = 10_000)]
    max_limit: usize,
    /// A path prefix for every link, e.g. an API Gateway stage (`/prod`).
    #[arg(long, env = "STAC_INDEXED_ROOT_PATH", default_value = "")]
    root_path: String,
    /// Where remote index files are copied (one directory per index version).
    #[arg(long, env = "STAC_INDEXED_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Seconds between checks of the manifest for a new index version (0: never).
    #[arg(long, env = "STAC_INDEXED_RELOAD_INTERVAL", default_value_t = 60)]
    reload_interval: u64,
    /// How many item documents are fetched at once (over all requests).
    #[arg(long, env = "STAC_INDEXED_FETCH_CONCURRENCY", default_value_t = 64)]
    fetch_concurrency: usize,
    /// Seconds one item may take to read from its source, retries included,
    /// before a page is answered without it (and names it as missing).
    #[arg(long, env = "STAC_INDEXED_ITEM_FETCH_BUDGET", default_value_t = 10.0)]
    item_fetch_budget: f64,
    /// The item cache's size, in MiB.
    #[arg(long, env = "STAC_INDEXED_ITEM_CACHE_MB", default_value_t = 64)]
    item_cache_mb: usize,
    /// Seconds a cached item document is served before it is fetched again.
    #[arg(long, env = "STAC_INDEXED_ITEM_CACHE_TTL", default_value_t = 60)]
    item_cache_ttl: u64,
    /// DuckDB connections serving queries at once (default: 2 per core).
    #[arg(long, env = "STAC_INDEXED_CONNECTIONS")]
    connections: Option<usize>,
    /// A secret for signing paging tokens; give every instance the same one.
    #[arg(long, env = "STAC_INDEXED_TOKEN_SECRET", default_value = "", hide_env_values = true)]
    token_secret: String,
    /// Copy the items into DuckDB's memory after start-up (faster SQL searches, more memory).
    #[arg(long, env = "STAC_INDEXED_MEMORY_TABLE")]
    memory_table: bool,
    /// Do not build the row directory (saves memory; DuckDB answers every search).
    #[arg(long, env = "STAC_INDEXED_NO_ROW_DIRECTORY")]
    no_row_directory: bool,
    /// The most items one export (`f=ndjson|parquet`) may hold; larger ones are a 400.
    #[arg(long, env = "STAC_INDEXED_EXPORT_MAX_ITEMS", default_value_t = 1_000_000)]
    export_max_items: u64,
    /// Where GeoParquet exports keep their items between passes (default: the system's temp dir).
    #[arg(long, env = "STAC_INDEXED_EXPORT_DIR")]
    export_dir: Option<PathBuf>,
    /// Cache-Control of an item.
    #[arg(
        long,
        env = "STAC_INDEXED_CACHE_CONTROL_ITEMS",
        default_value = "public, max-age=3600"
    )]
    cache_control_items: String,
    /// Cache-Control of a collection.
    #[arg(
        long,
        env = "STAC_INDEXED_CACHE_CONTROL_COLLECTIONS",
        default_value = "public, max-age=3600"
    )]
    cache_control_collections: String,
    /// Cache-Control of searches (/search, /collections, a collection's items, /aggregate).
    #[arg(
        long,
        env = "STAC_INDEXED_CACHE_CONTROL_SEARCHES",
        default_value = "public, max-age=60"
    )]
    cache_control_searches: String,
    /// Cache-Control of what describes the API (landing page, conformance, queryables, OpenAPI).
    #[arg(
        long,
        env = "STAC_INDEXED_CACHE_CONTROL_METADATA",
        default_value = "public, max-age=600"
    )]
    cache_control_metadata: String,
    /// Where STAC Browser's built files are (default: share/stac-indexed/browser beside the binary's directory, when there).
    #[arg(long, env = "STAC_INDEXED_BROWSER_DIR")]
    browser_dir: Option<PathBuf>,
    /// Do not serve STAC Browser at /browser/.
    #[arg(long, env = "STAC_INDEXED_NO_BROWSER")]
    no_browser: bool,
    /// Allowed CORS origins, comma-separated (default: any).
    #[arg(long, env = "STAC_INDEXED_CORS_ORIGINS", value_delimiter = ',')]
    cors_origins: Vec<String>,
    /// Seconds a request may take.
    #[arg(long, env = "STAC_INDEXED_REQUEST_TIMEOUT", default_value_t = 30)]
    request_timeout: u64,
    /// The largest request body accepted, in bytes.
    #[arg(long, env = "STAC_INDEXED_BODY_LIMIT", default_value_t = 8 * 1024 * 1024)]
    body_limit: usize,
    /// Seconds to let requests in flight finish after SIGTERM or Ctrl-C.
    #[arg(long, env = "STAC_INDEXED_SHUTDOWN_GRACE", default_value_t = 10)]
    shutdown_grace: u64,
}

impl ServeArgs {
    fn api_config(&self) -> ApiConfig {
        let defaults = ApiConfig::default();
        ApiConfig {
            id: self.id.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            default_limit: self.default_limit.max(1),
            max_limit: self.max_limit.max(1),
            root_path: self.root_path.clone(),
            cache_dir: self.cache_dir.clone().unwrap_or(defaults.cache_dir),
            reload_interval: (self.reload_interval > 0).then(|| Duration::from_secs(self.reload_interval)),
            fetch_concurrency: self.fetch_concurrency.max(1),
            item_fetch_budget: Duration::try_from_secs_f64(self.item_fetch_budget)
                .ok()
                .filter(|budget| !budget.is_zero())
                .unwrap_or(defaults.item_fetch_budget),
            item_cache_bytes: self.item_cache_mb * 1024 * 1024,
            item_cache_ttl: Duration::from_secs(self.item_cache_ttl),
            connections: self.connections.unwrap_or(defaults.connections).max(1),
            token_secret: self.token_secret.clone(),
            in_memory: self.memory_table,
            row_directory: !self.no_row_directory,
            export_max_items: self.export_max_items,
            export_dir: self.export_dir.clone().unwrap_or(defaults.export_dir),
            browser_dir: self.browser_dir(),
            cache_policy: stac_indexed_api::CachePolicy {
                items: self.cache_control_items.clone(),
                collections: self.cache_control_collections.clone(),
                searches: self.cache_control_searches.clone(),
                metadata: self.cache_control_metadata.clone(),
            },
        }
    }

    /// STAC Browser's files: the flag's directory, or the one installed
    /// beside the binary (`<prefix>/bin/stac-indexed`,
    /// `<prefix>/share/stac-indexed/browser`), unless turned off.
    fn browser_dir(&self) -> Option<PathBuf> {
        if self.no_browser {
            return None;
        }
        if self.browser_dir.is_some() {
            return self.browser_dir.clone();
        }
        let exe = std::env::current_exe().ok()?;
        let dir = exe.parent()?.parent()?.join("share/stac-indexed/browser");
        dir.join("index.html").is_file().then_some(dir)
    }

    fn address(&self) -> anyhow::Result<SocketAddr> {
        if let Some(addr) = self.addr {
            return Ok(addr);
        }
        match std::env::var("PORT") {
            Ok(port) => Ok(SocketAddr::from((
                [0, 0, 0, 0],
                port.parse::<u16>().context("PORT is not a port number")?,
            ))),
            Err(_) => Ok(SocketAddr::from(([127, 0, 0, 1], 8123))),
        }
    }
}

pub(crate) async fn run(args: ServeArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let io = io(global)?;
    let config = args.api_config();
    if let Some(dir) = &config.browser_dir
        && !dir.join("index.html").is_file()
    {
        anyhow::bail!(
            "--browser-dir {}: no STAC Browser there (index.html); build it with scripts/build-browser.sh",
            dir.display()
        );
    }
    if let Some(value) = config.cache_policy.invalid_value() {
        anyhow::bail!("--cache-control-*: {value:?} is not a valid header value");
    }
    let index = IndexHandle::open(Uri::parse(&args.index)?, io.clone(), config.clone())
        .await
        .with_context(|| format!("cannot open the index {}", args.index))?;
    index.spawn_reloader();
    let http = HttpOptions {
        cors_origins: args.cors_origins.clone(),
        request_timeout: Duration::from_secs(args.request_timeout),
        body_limit: args.body_limit,
    };
    let app = stac_indexed_api::app(index.clone(), io, config, &http);
    if crate::lambda::is_lambda() {
        return crate::lambda::run(app).await;
    }
    let address = args.address()?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    eprintln!(
        "serving index {} on http://{} (docs at /api.html)",
        index.current().id(),
        listener.local_addr()?
    );
    let grace = Duration::from_secs(args.shutdown_grace);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(());
    });
    let server = tokio::spawn(async move { server.await });
    let _ = stop_rx.await;
    // Requests in flight get `grace` to finish; then the process exits anyway.
    match tokio::time::timeout(grace, server).await {
        Ok(result) => result??,
        Err(_) => tracing::warn!("requests still in flight after the shutdown grace period"),
    }
    Ok(())
}

/// SIGTERM (container platforms) or Ctrl-C.
pub(crate) async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
