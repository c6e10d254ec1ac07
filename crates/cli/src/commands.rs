//! The `index`, `inspect` and `gc` subcommands.

use crate::GlobalArgs;
use anyhow::Context;
use clap::Args;
use clap::builder::TypedValueParser;
use indicatif::{ProgressBar, ProgressStyle};
use stac_indexed_format::IndexConfig;
use stac_indexed_format::manifest::MANIFEST_FILE;
use stac_indexed_indexer::{DEFAULT_CONCURRENCY, IndexOptions, IndexReport, Progress, Source};
use stac_indexed_io::{Io, IoOptions, S3Options, Uri};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// `stac-indexed index`.
#[derive(Debug, Args)]
pub(crate) struct IndexArgs {
    /// The root catalog or collection: a path, file://, http(s):// or s3:// URI.
    /// Omit it to re-index with the root and config of the manifest at --out (or --from).
    #[arg(env = "STAC_INDEXED_ROOT")]
    root: Option<String>,
    /// Where to publish: a directory or an s3://bucket/prefix (the manifest goes at its top).
    #[arg(long, env = "STAC_INDEXED_OUT")]
    out: String,
    /// The index config (JSON): which item properties to index. Default: only the built-in ones.
    #[arg(long, env = "STAC_INDEXED_CONFIG", conflicts_with = "from")]
    config: Option<String>,
    /// Re-index with the root and config stored in this manifest.
    #[arg(long, env = "STAC_INDEXED_FROM", conflicts_with = "root")]
    from: Option<String>,
    /// How many documents are fetched at once.
    #[arg(long, env = "STAC_INDEXED_CONCURRENCY", default_value_t = DEFAULT_CONCURRENCY,
          value_parser = clap::value_parser!(u16).range(1..).map(usize::from))]
    concurrency: usize,
    /// Fail (and publish nothing) when any document cannot be indexed.
    #[arg(long, env = "STAC_INDEXED_STRICT")]
    strict: bool,
    /// Where working files go (default: the system temporary directory).
    #[arg(long, env = "STAC_INDEXED_WORK_DIR")]
    work_dir: Option<PathBuf>,
}

/// `stac-indexed inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// A manifest URI, or the directory / s3:// prefix that holds manifest.json.
    #[arg(env = "STAC_INDEXED_INDEX")]
    index: String,
    /// How many errors to show.
    #[arg(long, env = "STAC_INDEXED_INSPECT_ERRORS", default_value_t = 20)]
    errors: usize,
    /// Print JSON instead of text.
    #[arg(long, env = "STAC_INDEXED_INSPECT_JSON")]
    json: bool,
}

/// `stac-indexed gc`.
#[derive(Debug, Args)]
pub(crate) struct GcArgs {
    /// The directory or s3:// prefix that holds manifest.json and versions/.
    #[arg(env = "STAC_INDEXED_OUT")]
    out: String,
    /// How many of the newest versions to keep (the current one is always kept).
    #[arg(long, env = "STAC_INDEXED_GC_KEEP", default_value_t = 3,
          value_parser = clap::value_parser!(u16).range(1..).map(usize::from))]
    keep: usize,
}

/// Builds the reader/writer from the global flags.
pub(crate) fn io(global: &GlobalArgs) -> anyhow::Result<Arc<Io>> {
    let options = IoOptions {
        s3: S3Options {
            endpoint: global.s3_endpoint.clone(),
            allow_http: global.s3_allow_http,
            anonymous: global.s3_anonymous,
        },
        http_timeout: Duration::from_secs(global.http_timeout),
    };
    Ok(Arc::new(Io::new(options)?))
}

pub(crate) async fn index(args: IndexArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let io = io(global)?;
    let result = run_index(args, io).await;
    let line = match &result {
        Ok(report) => serde_json::json!({"status": "ok", "report": report}),
        Err(e) => serde_json::json!({"status": "error", "error": format!("{e:#}")}),
    };
    println!("{line}");
    result.map(|_| ())
}

async fn run_index(args: IndexArgs, io: Arc<Io>) -> anyhow::Result<IndexReport> {
    let out = Uri::parse(&args.out)?;
    let source = match (&args.root, &args.from) {
        (Some(root), _) => Source::Root {
            uri: Uri::parse(root)?,
            config: read_config(&io, args.config.as_deref()).await?,
        },
        (None, Some(from)) => Source::Manifest(manifest_uri(from)?),
        (None, None) if args.config.is_some() => {
            anyhow::bail!("--config needs a root catalog (re-indexing uses the stored config)")
        }
        (None, None) => Source::Output,
    };
    let options = IndexOptions {
        source,
        out,
        concurrency: args.concurrency,
        strict: args.strict,
        work_dir: args.work_dir,
    };
    let progress = Arc::new(Progress::default());
    let bar = progress_bar(progress.clone());
    let result = stac_indexed_indexer::index(options, io, &progress).await;
    bar.finish_and_clear();
    let report = result?;
    print_summary(&report);
    Ok(report)
}

async fn read_config(io: &Io, location: Option<&str>) -> anyhow::Result<IndexConfig> {
    let Some(location) = location else {
        return Ok(IndexConfig::default());
    };
    let bytes = io
        .get(&Uri::parse(location)?)
        .await
        .context("cannot read the index config")?;
    let text = std::str::from_utf8(&bytes).context("the index config is not UTF-8")?;
    IndexConfig::from_json(text).with_context(|| format!("in {location}"))
}

/// A manifest URI from a manifest URI or the directory that holds one.
fn manifest_uri(text: &str) -> anyhow::Result<Uri> {
    let uri = Uri::parse(text)?;
    if uri.as_str().ends_with(".json") {
        Ok(uri)
    } else {
        Ok(uri.as_directory().join(MANIFEST_FILE)?)
    }
}

/// A live line on a terminal (hidden when stderr is not one).
fn progress_bar(progress: Arc<Progress>) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let updater = bar.clone();
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        while !updater.is_finished() {
            let items = progress.items();
            let rate = items as f64 / started.elapsed().as_secs_f64().max(0.001);
            updater.set_message(format!(
                "documents {} · items {} · errors {} · {:.0} items/s",
                progress.documents(),
                items,
                progress.errors(),
                rate
            ));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    bar
}

fn print_summary(report: &IndexReport) {
    let counts = &report.counts;
    eprintln!(
        "indexed {} items in {} collections from {} documents, {} errors, in {:.1} s ({:.0} items/s)",
        counts.items,
        counts.collections,
        counts.documents,
        counts.errors,
        report.seconds,
        counts.items as f64 / report.seconds.max(0.001)
    );
    if let Some(changes) = &report.changes {
        eprintln!(
            "changes: {} added, {} removed, {} updated, {} unchanged",
            changes.added, changes.removed, changes.updated, changes.unchanged
        );
    }
    eprintln!("index {} published at {}", report.index_id, report.manifest);
}

pub(crate) async fn inspect(args: InspectArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let io = io(global)?;
    let inspection = stac_indexed_indexer::inspect(&io, &manifest_uri(&args.index)?, args.errors).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&inspection)?);
        return Ok(());
    }
    let manifest = &inspection.manifest;
    println!("index      {} (format {})", manifest.index_id, manifest.format_version);
    println!("created    {}", manifest.created.to_rfc3339());
    println!("root       {}", manifest.root_uri);
    if let Some(previous) = &manifest.previous_index_id {
        println!("previous   {previous}");
    }
    println!(
        "counts     {} items, {} collections, {} documents, {} errors",
        manifest.counts.items, manifest.counts.collections, manifest.counts.documents, manifest.counts.errors
    );
    for (name, entry) in [
        ("items", &manifest.files.items),
        ("collections", &manifest.files.collections),
        ("errors", &manifest.files.errors),
    ] {
        println!(
            "file       {name}: {} ({} rows, {} bytes)",
            entry.path, entry.rows, entry.bytes
        );
    }
    println!("collections:");
    for collection in &inspection.collections {
        println!(
            "  {:<32} {:>10} items  {}",
            collection.id,
            collection.items,
            collection.title.as_deref().unwrap_or("")
        );
    }
    if !inspection.errors.is_empty() {
        println!("errors (first {}):", inspection.errors.len());
        for error in &inspection.errors {
            println!("  [{}] {}: {}", error.kind, error.uri, error.message);
        }
    }
    Ok(())
}

pub(crate) async fn gc(args: GcArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let io = io(global)?;
    let report = stac_indexed_indexer::gc(&io, &Uri::parse(&args.out)?, args.keep).await?;
    eprintln!(
        "kept {} version(s), removed {} ({} files)",
        report.kept.len(),
        report.removed.len(),
        report.files_deleted
    );
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// `stac-indexed ping`.
#[derive(Debug, Args)]
pub(crate) struct PingArgs {
    /// The URL to check (default: this machine's server on $PORT, else 8123).
    #[arg(long, env = "STAC_INDEXED_PING_URL")]
    url: Option<String>,
}

/// Succeeds when the server answers its ping endpoint.
pub(crate) async fn ping(args: PingArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let url = args.url.unwrap_or_else(|| {
        let port = std::env::var("PORT").unwrap_or_else(|_| "8123".into());
        format!("http://127.0.0.1:{port}/_mgmt/ping")
    });
    io(global)?
        .get(&Uri::parse(&url)?)
        .await
        .context("the server does not answer")?;
    Ok(())
}
