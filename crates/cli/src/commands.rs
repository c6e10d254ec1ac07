//! The `index`, `inspect` and `gc` subcommands.

use crate::GlobalArgs;
use anyhow::Context;
use clap::Args;
use clap::builder::TypedValueParser;
use indicatif::{ProgressBar, ProgressStyle};
use stac_indexed_format::IndexConfig;
use stac_indexed_format::manifest::MANIFEST_FILE;
use stac_indexed_indexer::{
    DEFAULT_CONCURRENCY, IndexOptions, IndexReport, MergeOptions, PartReport, Progress, Shard, Source,
};
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
    #[arg(long, env = "STAC_INDEXED_OUT", required_unless_present = "merge")]
    out: Option<String>,
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
    /// Crawl only part K of N (from 0) of the items and write it under
    /// OUT/parts/ for --merge. Default: CLOUD_RUN_TASK_INDEX and
    /// CLOUD_RUN_TASK_COUNT (a Cloud Run job's tasks), or
    /// AWS_BATCH_JOB_ARRAY_INDEX and STAC_INDEXED_SHARD_COUNT (an AWS Batch
    /// array job); a count of 1 is an ordinary run.
    #[arg(long, env = "STAC_INDEXED_SHARD", value_name = "K/N", conflicts_with = "merge")]
    shard: Option<String>,
    /// Publish the parts that `--shard` runs wrote under OUT as one version, then delete them.
    #[arg(long, value_name = "OUT", conflicts_with_all = ["root", "from", "config", "out"])]
    merge: Option<String>,
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
        s3: s3_options(global),
        http_timeout: Duration::from_secs(global.http_timeout),
    };
    Ok(Arc::new(Io::new(options)?))
}

/// How S3 (and SQS) are reached, from the global flags.
pub(crate) fn s3_options(global: &GlobalArgs) -> S3Options {
    S3Options {
        endpoint: global.s3_endpoint.clone(),
        allow_http: global.s3_allow_http,
        anonymous: global.s3_anonymous,
    }
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

/// What an `index` command did.
enum Report {
    /// A version was published (an ordinary run, or a merge).
    Published(IndexReport),
    /// One part of a sharded run was written.
    Part(PartReport),
}

/// An index run, a part of a sharded one, or the merge; its report as JSON.
async fn run_index(args: IndexArgs, io: Arc<Io>) -> anyhow::Result<serde_json::Value> {
    let progress = Arc::new(Progress::default());
    let bar = progress_bar(progress.clone());
    let result = run_index_command(args, io, &progress).await;
    bar.finish_and_clear();
    match result? {
        Report::Published(report) => {
            print_summary(&report);
            Ok(serde_json::to_value(report)?)
        }
        Report::Part(report) => {
            print_part(&report);
            Ok(serde_json::to_value(report)?)
        }
    }
}

async fn run_index_command(args: IndexArgs, io: Arc<Io>, progress: &Progress) -> anyhow::Result<Report> {
    if let Some(out) = &args.merge {
        let options = MergeOptions {
            out: Uri::parse(out)?,
            strict: args.strict,
            work_dir: args.work_dir,
        };
        return Ok(Report::Published(
            stac_indexed_indexer::merge(options, io, progress).await?,
        ));
    }
    let shard = shard(&args)?;
    let options = index_options(args, &io).await?;
    Ok(match shard {
        Some(shard) => Report::Part(stac_indexed_indexer::index_part(options, shard, io, progress).await?),
        None => Report::Published(stac_indexed_indexer::index(options, io, progress).await?),
    })
}

/// The part of a sharded run to crawl: `--shard`, else the job engine's
/// environment; `None` for an ordinary run (no shard, or a count of 1).
fn shard(args: &IndexArgs) -> anyhow::Result<Option<Shard>> {
    let shard = match &args.shard {
        Some(text) => text.parse::<Shard>()?,
        None => match shard_from_environment()? {
            Some(shard) => shard,
            None => return Ok(None),
        },
    };
    Ok((shard.count > 1).then_some(shard))
}

/// A Cloud Run job task or an AWS Batch array child, from their variables.
fn shard_from_environment() -> anyhow::Result<Option<Shard>> {
    let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let number = |name: &str, text: String| {
        text.parse::<u32>()
            .with_context(|| format!("{name}={text:?} is not a number"))
    };
    if let (Some(index), Some(count)) = (variable("CLOUD_RUN_TASK_INDEX"), variable("CLOUD_RUN_TASK_COUNT")) {
        let shard = Shard::new(
            number("CLOUD_RUN_TASK_INDEX", index)?,
            number("CLOUD_RUN_TASK_COUNT", count)?,
        )?;
        return Ok(Some(shard));
    }
    if let Some(index) = variable("AWS_BATCH_JOB_ARRAY_INDEX") {
        let count = variable("STAC_INDEXED_SHARD_COUNT").context(
            "AWS_BATCH_JOB_ARRAY_INDEX is set: set STAC_INDEXED_SHARD_COUNT to the array size too (AWS Batch does not pass it)",
        )?;
        let shard = Shard::new(
            number("AWS_BATCH_JOB_ARRAY_INDEX", index)?,
            number("STAC_INDEXED_SHARD_COUNT", count)?,
        )?;
        return Ok(Some(shard));
    }
    Ok(None)
}

async fn index_options(args: IndexArgs, io: &Io) -> anyhow::Result<IndexOptions> {
    let out = Uri::parse(args.out.as_deref().context("--out is required")?)?;
    let source = match (&args.root, &args.from) {
        (Some(root), _) => Source::Root {
            uri: Uri::parse(root)?,
            config: read_config(io, args.config.as_deref()).await?,
        },
        (None, Some(from)) => Source::Manifest(manifest_uri(from)?),
        (None, None) if args.config.is_some() => {
            anyhow::bail!("--config needs a root catalog (re-indexing uses the stored config)")
        }
        (None, None) => Source::Output,
    };
    Ok(IndexOptions {
        source,
        out,
        concurrency: args.concurrency,
        strict: args.strict,
        work_dir: args.work_dir,
    })
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

fn print_part(report: &PartReport) {
    eprintln!(
        "part {}: {} items from {} documents, {} errors, in {:.1} s; written to {} (publish with --merge)",
        report.shard, report.items, report.documents, report.errors, report.seconds, report.part
    );
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
