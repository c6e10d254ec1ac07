//! The `update` subcommand: apply a few named changes to an index, or the
//! notifications of an SQS queue (polled, or handed over by Lambda).

use crate::GlobalArgs;
use crate::commands::{io, s3_options};
use anyhow::Context;
use clap::Args;
use clap::builder::TypedValueParser;
use stac_indexed_indexer::{
    Change, DEFAULT_CONCURRENCY, QueuedMessage, UpdateOptions, UpdateReport, changes_from_text, update_from_messages,
};
use stac_indexed_io::{Io, Message, Queue, Uri};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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
    /// Long-poll this SQS queue for notifications and apply them in
    /// batches, deleting the messages applied (failed ones stay for the
    /// queue's redrive policy).
    #[arg(long, env = "STAC_INDEXED_SQS_QUEUE", value_name = "URL")]
    sqs_queue: Option<String>,
    /// With --sqs-queue: stop once the queue has no message to hand out
    /// (a batch job) instead of polling for ever (a service).
    #[arg(long, requires = "sqs_queue")]
    until_empty: bool,
    /// Listen on this address for notifications POSTed one per request
    /// (Pub/Sub push subscriptions, SNS HTTP subscriptions, webhooks); when
    /// PORT is set and this is not given, a Cloud Run service listens on
    /// 0.0.0.0:$PORT. Each is applied as one update: 200 when applied, 422
    /// when it is not a notification or names an item not indexed, 503 when
    /// the update failed (the sender retries both).
    #[arg(
        long,
        env = "STAC_INDEXED_UPDATE_LISTEN",
        value_name = "ADDR",
        conflicts_with = "sqs_queue"
    )]
    listen: Option<std::net::SocketAddr>,
    /// Where copies of a remote index's files are kept between batches
    /// (--sqs-queue, --listen, and in Lambda).
    #[arg(long, env = "STAC_INDEXED_UPDATE_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
}

pub(crate) async fn run(args: UpdateArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let io = io(global)?;
    if let Some(queue) = &args.sqs_queue {
        let queue = Queue::new(queue, &s3_options(global))?;
        let until_empty = args.until_empty;
        return poll(&queue, &batch_options(args)?, io, until_empty).await;
    }
    let named =
        !args.items.is_empty() || args.from.is_some() || !args.delete.is_empty() || !args.delete_item.is_empty();
    if let Some(address) = listen_address(args.listen, named)? {
        return listen(address, batch_options(args)?, io).await;
    }
    if crate::lambda::is_lambda() && !named {
        return crate::lambda::run_updates(batch_options(args)?, io).await;
    }
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
        anyhow::bail!("nothing to do: name items, --delete, --delete-item, --from, --sqs-queue or --compact");
    }
    Ok(UpdateOptions {
        changes,
        cache_dir: None,
        ..batch_options(args)?
    })
}

/// The options of the updates that batches of notifications make.
fn batch_options(args: UpdateArgs) -> anyhow::Result<UpdateOptions> {
    let cache_dir = args
        .cache_dir
        .unwrap_or_else(|| std::env::temp_dir().join("stac-indexed-update-cache"));
    Ok(UpdateOptions {
        index: Uri::parse(&args.index)?,
        changes: Vec::new(),
        concurrency: args.concurrency,
        compact: args.compact,
        work_dir: args.work_dir,
        cache_dir: Some(cache_dir),
    })
}

/// Where `--listen` listens: the address given, or 0.0.0.0:$PORT on a
/// platform that sets PORT (Cloud Run) when nothing else is asked.
fn listen_address(given: Option<std::net::SocketAddr>, named: bool) -> anyhow::Result<Option<std::net::SocketAddr>> {
    if given.is_some() {
        return Ok(given);
    }
    match std::env::var("PORT") {
        Ok(port) if !named && !crate::lambda::is_lambda() => {
            let port = port.parse::<u16>().context("PORT is not a port number")?;
            Ok(Some(std::net::SocketAddr::from(([0, 0, 0, 0], port))))
        }
        _ => Ok(None),
    }
}

/// What the listener shares between requests: updates are applied one at a time.
struct Listener {
    template: UpdateOptions,
    io: Arc<Io>,
    one_at_a_time: tokio::sync::Mutex<()>,
}

/// Serves `POST` notifications (any path) and `GET /_mgmt/ping` until SIGTERM.
async fn listen(address: std::net::SocketAddr, template: UpdateOptions, io: Arc<Io>) -> anyhow::Result<()> {
    let state = Arc::new(Listener {
        template,
        io,
        one_at_a_time: tokio::sync::Mutex::new(()),
    });
    let app = axum::Router::new()
        .route("/_mgmt/ping", axum::routing::get(|| async { "ok" }))
        .fallback(axum::routing::post(apply_pushed))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    eprintln!("applying notifications POSTed to http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(crate::serve::shutdown_signal())
        .await?;
    Ok(())
}

/// One POSTed notification, applied as one update.
async fn apply_pushed(
    axum::extract::State(state): axum::extract::State<Arc<Listener>>,
    body: String,
) -> (axum::http::StatusCode, axum::Json<serde_json::Value>) {
    use axum::http::StatusCode;
    let message = QueuedMessage {
        id: "pushed".into(),
        body,
    };
    let outcome = {
        let _turn = state.one_at_a_time.lock().await;
        update_from_messages(&state.template, &[message], state.io.clone()).await
    };
    let status = match (&outcome.error, outcome.failed.is_empty()) {
        (Some(_), _) => StatusCode::SERVICE_UNAVAILABLE,
        (None, false) => StatusCode::UNPROCESSABLE_ENTITY,
        (None, true) => StatusCode::OK,
    };
    let body =
        serde_json::json!({"report": outcome.report, "error": outcome.error, "applied": outcome.failed.is_empty()});
    (status, axum::Json(body))
}

/// Applies the queue's notifications a batch at a time; prints a line per batch.
async fn poll(queue: &Queue, template: &UpdateOptions, io: Arc<Io>, until_empty: bool) -> anyhow::Result<()> {
    // A long poll, except that a job that stops when the queue is empty
    // waits only long enough to see the messages there.
    let wait = Duration::from_secs(if until_empty { 2 } else { 20 });
    tracing::info!(queue = queue.url(), "polling for notifications");
    // A job stops too when all it is handed has failed before (messages
    // waiting for their redrive policy).
    let mut failed_before = std::collections::HashSet::new();
    loop {
        let messages = queue.receive(10, wait).await?;
        let only_failed_before = messages.iter().all(|m| failed_before.contains(&m.id));
        if messages.is_empty() || until_empty && only_failed_before {
            if until_empty {
                return Ok(());
            }
            continue;
        }
        let queued: Vec<QueuedMessage> = messages
            .iter()
            .map(|m| QueuedMessage {
                id: m.id.clone(),
                body: m.body.clone(),
            })
            .collect();
        let outcome = update_from_messages(template, &queued, io.clone()).await;
        let applied: Vec<&Message> = messages.iter().filter(|m| !outcome.failed.contains(&m.id)).collect();
        queue.delete(&applied).await?;
        failed_before.extend(outcome.failed.iter().cloned());
        let line = serde_json::json!({
            "status": if outcome.error.is_some() { "error" } else { "ok" },
            "messages": messages.len(),
            "failed": outcome.failed,
            "error": outcome.error,
            "report": outcome.report,
        });
        println!("{line}");
    }
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
