//! `stac-indexed`: index a static STAC catalog, inspect and prune indexes.

mod commands;
mod export;
mod generate;
mod lambda;
mod logging;
mod serve;
mod update;

use clap::{Args, Parser, Subcommand};
use std::process::ExitCode;

/// A STAC API that needs no database: index a static catalog into Parquet, then serve it.
#[derive(Debug, Parser)]
#[command(name = "stac-indexed", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    global: GlobalArgs,
}

/// Options every subcommand understands.
#[derive(Debug, Args)]
struct GlobalArgs {
    /// Log format: text or json.
    #[arg(long, global = true, env = "STAC_INDEXED_LOG_FORMAT", default_value = "text")]
    log_format: logging::LogFormat,
    /// Log filter (tracing syntax, e.g. `info` or `stac_indexed_indexer=debug`).
    #[arg(long, global = true, env = "STAC_INDEXED_LOG", default_value = "warn")]
    log: String,
    /// An explicit S3 endpoint for S3-compatible stores (otherwise AWS_ENDPOINT_URL or AWS).
    #[arg(long, global = true, env = "STAC_INDEXED_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
    /// Allow a plain http:// S3 endpoint.
    #[arg(long, global = true, env = "STAC_INDEXED_S3_ALLOW_HTTP")]
    s3_allow_http: bool,
    /// Read S3 without credentials (public buckets).
    #[arg(long, global = true, env = "STAC_INDEXED_S3_ANONYMOUS")]
    s3_anonymous: bool,
    /// Timeout of one http(s) request, in seconds.
    #[arg(long, global = true, env = "STAC_INDEXED_HTTP_TIMEOUT", default_value_t = 30)]
    http_timeout: u64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Crawl a static STAC catalog and publish a new index version.
    Index(commands::IndexArgs),
    /// Apply a few changes to an index without crawling: read the named
    /// items, publish them (and removals) as a new version.
    Update(update::UpdateArgs),
    /// Show what an index holds: manifest, collections, first errors.
    Inspect(commands::InspectArgs),
    /// Delete old index versions, keeping the newest N.
    Gc(commands::GcArgs),
    /// Write every item a search matches to one stac-geoparquet or NDJSON file.
    Export(export::ExportArgs),
    /// Serve the STAC API over an index.
    Serve(serve::ServeArgs),
    /// Write a deterministic synthetic catalog (for benchmarks).
    Generate(generate::GenerateArgs),
    /// Check that a server answers /_mgmt/ping (a container health check).
    Ping(commands::PingArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.global.log_format, &cli.global.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Index(args) => commands::index(args, &cli.global).await,
            Command::Update(args) => update::run(args, &cli.global).await,
            Command::Inspect(args) => commands::inspect(args, &cli.global).await,
            Command::Gc(args) => commands::gc(args, &cli.global).await,
            Command::Export(args) => export::run(args, &cli.global).await,
            Command::Serve(args) => serve::run(args, &cli.global).await,
            Command::Generate(args) => generate::run(args),
            Command::Ping(args) => commands::ping(args, &cli.global).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
