//! `stac-indexed export`: every match of a search, written to one NDJSON or
//! stac-geoparquet file: the same search parsing and export code as the
//! API's `f=ndjson|parquet`, with the items' links as in their sources.

use crate::GlobalArgs;
use crate::commands::io;
use anyhow::{Context, bail};
use clap::Args;
use stac_indexed_api::export::{Export, Format, Links};
use stac_indexed_api::fetch::ItemFetcher;
use stac_indexed_api::search::{Limits, SearchParams};
use stac_indexed_api::{ApiConfig, IndexHandle};
use stac_indexed_io::Uri;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `stac-indexed export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The index: a manifest URI (path, file://, http(s)://, s3://) or the directory holding manifest.json.
    #[arg(long, env = "STAC_INDEXED_INDEX")]
    index: String,
    /// The file to write: `.parquet` for stac-geoparquet, `.ndjson` (or `.jsonl`) for JSON lines.
    #[arg(long)]
    out: PathBuf,
    /// `parquet` or `ndjson`, when the file name does not say.
    #[arg(long)]
    format: Option<String>,
    /// Comma-separated collection ids.
    #[arg(long)]
    collections: Option<String>,
    /// Comma-separated item ids.
    #[arg(long)]
    ids: Option<String>,
    /// minx,miny,maxx,maxy.
    #[arg(long, allow_hyphen_values = true)]
    bbox: Option<String>,
    /// A GeoJSON geometry the items intersect, as JSON text.
    #[arg(long)]
    intersects: Option<String>,
    /// An RFC 3339 instant or interval (`2024-01-01T00:00:00Z/..`).
    #[arg(long)]
    datetime: Option<String>,
    /// A CQL2 filter.
    #[arg(long, allow_hyphen_values = true)]
    filter: Option<String>,
    /// `cql2-text` (default) or `cql2-json`.
    #[arg(long)]
    filter_lang: Option<String>,
    /// A query-extension object as JSON text.
    #[arg(long)]
    query: Option<String>,
    /// Free text.
    #[arg(long)]
    q: Option<String>,
    /// Sort fields, comma separated, `-` for descending (default: the index's order).
    #[arg(long, allow_hyphen_values = true)]
    sortby: Option<String>,
    /// Members to include or (`-`) exclude, as the fields extension says.
    #[arg(long, allow_hyphen_values = true)]
    fields: Option<String>,
    /// How many item documents are read at once.
    #[arg(long, default_value_t = 64)]
    fetch_concurrency: usize,
    /// Where a GeoParquet export keeps its items between its two passes (default: beside the output).
    #[arg(long)]
    temp_dir: Option<PathBuf>,
}

impl ExportArgs {
    /// The search as query pairs, parsed as the API parses a GET /search.
    fn pairs(&self) -> Vec<(String, String)> {
        [
            ("collections", &self.collections),
            ("ids", &self.ids),
            ("bbox", &self.bbox),
            ("intersects", &self.intersects),
            ("datetime", &self.datetime),
            ("filter", &self.filter),
            ("filter-lang", &self.filter_lang),
            ("query", &self.query),
            ("q", &self.q),
            ("sortby", &self.sortby),
            ("fields", &self.fields),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_ref().map(|value| (name.to_string(), value.clone())))
        .collect()
    }

    fn format(&self) -> anyhow::Result<Format> {
        match self.format.as_deref() {
            Some("parquet" | "geoparquet") => Ok(Format::GeoParquet),
            Some("ndjson" | "jsonl") => Ok(Format::Ndjson),
            Some(other) => bail!("--format {other:?} is not parquet or ndjson"),
            None => Format::of_path(&self.out).with_context(|| {
                format!(
                    "{} does not end in .parquet or .ndjson: give --format",
                    self.out.display()
                )
            }),
        }
    }
}

pub(crate) async fn run(args: ExportArgs, global: &GlobalArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let format = args.format()?;
    let io = io(global)?;
    let directory = args
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let config = ApiConfig {
        reload_interval: None,
        ..ApiConfig::default()
    };
    let limits = Limits {
        default: config.default_limit,
        max: config.max_limit,
    };
    let params = SearchParams::from_query(&args.pairs(), limits).map_err(|e| anyhow::anyhow!("{e}"))?;
    let index = IndexHandle::open(Uri::parse(&args.index)?, io.clone(), config.clone())
        .await
        .with_context(|| format!("cannot open the index {}", args.index))?;
    let fetcher = ItemFetcher::new(
        io,
        args.fetch_concurrency.max(1),
        config.item_fetch_budget,
        0,
        Duration::ZERO,
    );
    let export = Export {
        index: index.current(),
        fetcher: Arc::new(fetcher),
        search: params.search,
        collection: None,
        fields: params.fields,
        links: Links::Source,
        max_items: u64::MAX,
        spill_dir: args.temp_dir.clone().unwrap_or_else(|| directory.clone()),
    };
    let mut stream = export.start(format).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    // Written beside the output and renamed when whole: a failed export leaves no file.
    let partial = args.out.with_extension(format!("{}.part", format.extension()));
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(&partial).with_context(|| format!("cannot create {}", partial.display()))?,
    );
    let mut bytes = 0u64;
    let written: anyhow::Result<()> = async {
        while let Some(chunk) = stream.chunks.recv().await {
            let chunk = chunk.map_err(|e| anyhow::anyhow!("{e}"))?;
            bytes += chunk.len() as u64;
            file.write_all(&chunk)?;
        }
        file.flush()?;
        Ok(())
    }
    .await;
    if let Err(error) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(error.context("the export failed; nothing was written"));
    }
    std::fs::rename(&partial, &args.out).with_context(|| format!("cannot write {}", args.out.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    let summary = serde_json::json!({
        "out": args.out,
        "format": format.extension(),
        "items": stream.matched,
        "bytes": bytes,
        "seconds": seconds,
        "items_per_second": (stream.matched as f64 / seconds).round(),
    });
    println!("{summary}");
    Ok(())
}
