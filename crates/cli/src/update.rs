//! The `update` subcommand: apply a few named changes to an index.

use crate::GlobalArgs;
use crate::commands::io;
use anyhow::Context;
use clap::Args;
use clap::builder::TypedValueParser;
use stac_indexed_indexer::{Change, DEFAULT_CONCURRENCY, UpdateOptions, UpdateReport, changes_from_text};
use stac_indexed_io::Uri;
use std::io::Read;
use std::path::PathBuf;

/// `stac-indexed update`.
#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    /// The index: its directory or s3:// prefix, or its manifest.
    #[arg(long, env = "STAC_INDEXED_INDEX")]
    index: String,
    /// Items to read and insert or replace (by collection and id).
    items: Vec<String>,
    /// Items to remove, by the URI they were read from.
    #[arg(long, value_name = "ITEM_URI")]
    delete: Vec<String>,
    /// Items to remove, by collection and id.
    #[arg(long, value_name = "COLLECTION/ID")]
    delete_item: Vec<String>,
    /// Changes from a file (`-`: standard input): S3, SNS or EventBridge
    /// notifications as JSON, or lines of URIs (`delete URI` to remove).
    #[arg(long, value_name = "FILE")]
    from: Option<String>,
    /// Compact the deltas into a new items table now, whatever their size.
    #[arg(long)]
    compact: bool,
    /// How many documents are read at once.
    #[arg(long, env = "STAC_INDEXED_CONCURRENCY", default_value_t = DEFAULT_CONCURRENCY,
          value_parser = clap::value_parser!(u16).range(1..).map(usize::from))]
    concurrency: usize,
    /// Where working files go (default: the system temporary directory).
    #[arg(long, env = "STAC_INDEXED_WORK_DIR")]
    work_dir: Option<PathBuf>,
}

pub(crate) async fn run(args: UpdateArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let io = io(global)?;
    let result = async {
        let options = options(args)?;
        anyhow::Ok(stac_indexed_indexer::update(options, io).await?)
    }
    .await;
    let line = match &result {
        Ok(report) => serde_json::json!({"status": "ok", "report": report}),
        Err(e) => serde_json::json!({"status": "error", "error": format!("{e:#}")}),
    };
    println!("{line}");
    if let Ok(report) = &result {
        print_summary(report);
    }
    result.map(|_| ())
}

fn options(args: UpdateArgs) -> anyhow::Result<UpdateOptions> {
    let mut changes = Vec::new();
    for item in &args.items {
        changes.push(Change::Upsert(Uri::parse(item)?));
    }
    if let Some(from) = &args.from {
        changes.extend(changes_from_text(&read_from(from)?)?);
    }
    for uri in &args.delete {
        changes.push(Change::RemoveHref(Uri::parse(uri)?));
    }
    for item in &args.delete_item {
        let (collection, id) = item
            .split_once('/')
            .filter(|(c, i)| !c.is_empty() && !i.is_empty())
            .with_context(|| format!("--delete-item {item:?}: expected COLLECTION/ID"))?;
        changes.push(Change::RemoveKey {
            collection: collection.to_string(),
            id: id.to_string(),
        });
    }
    if changes.is_empty() && !args.compact {
        anyhow::bail!("nothing to do: name items, --delete, --delete-item, --from or --compact");
    }
    Ok(UpdateOptions {
        index: Uri::parse(&args.index)?,
        changes,
        concurrency: args.concurrency,
        compact: args.compact,
        work_dir: args.work_dir,
        cache_dir: None,
    })
}

fn read_from(from: &str) -> anyhow::Result<String> {
    let mut text = String::new();
    if from == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
    } else {
        text = std::fs::read_to_string(from).with_context(|| format!("cannot read {from}"))?;
    }
    Ok(text)
}

fn print_summary(report: &UpdateReport) {
    let version = match report.published {
        true => format!("published {}", report.index_id),
        false => format!("nothing changed; still {}", report.index_id),
    };
    eprintln!(
        "{version}: {} added, {} updated, {} removed, {} unchanged, {} errors{} in {:.2} s",
        report.added,
        report.updated,
        report.removed,
        report.unchanged,
        report.errors.len(),
        match report.compacted {
            true => " (deltas compacted)".to_string(),
            false => format!(" ({} deltas)", report.deltas),
        },
        report.seconds
    );
    for error in report.errors.iter().take(10) {
        eprintln!("  {error}");
    }
}
