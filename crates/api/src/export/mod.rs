//! Bulk export: the whole result set of a search, no paging, streamed as
//! newline-delimited JSON or as stac-geoparquet ([`geoparquet`]).
//!
//! The engine pages through the matches in the search's order ([`PAGE`]
//! rows at a time, keyset paging, the count carried); each page's items are
//! fetched from their sources (not kept in the item cache) and sent on as
//! chunks of bytes, so memory stays bounded at any size. The HTTP routes and
//! the `export` command share this code: the routes stream the chunks as a
//! response body, the command writes them to a file.
//!
//! An item that cannot be read ends the export with an error (a response
//! cut short, a command that fails): an export is all the matches or
//! nothing, never silently fewer.

pub mod geoparquet;

use crate::fetch::{ItemFetcher, RawItem};
use crate::fields::Fields;
use crate::index::IndexVersion;
use crate::links::{rewrite_item, source_item};
use crate::urls::BaseUrl;
use crate::{Error, Result};
use axum::http::HeaderMap;
use axum::http::header::ACCEPT;
use bytes::Bytes;
use serde_json::Value;
use stac_indexed_engine::{Hit, Keyset, Request, Search};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Rows asked of the engine, and items fetched, at a time.
pub const PAGE: usize = 1_000;

/// The media type of newline-delimited JSON.
pub const NDJSON: &str = "application/x-ndjson";
/// The media type of Parquet.
pub const PARQUET: &str = "application/vnd.apache.parquet";

/// What an export is written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One item per line.
    Ndjson,
    /// stac-geoparquet (GeoParquet 1.1).
    GeoParquet,
}

impl Format {
    /// Its media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Ndjson => NDJSON,
            Format::GeoParquet => PARQUET,
        }
    }

    /// Its usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Ndjson => "ndjson",
            Format::GeoParquet => "parquet",
        }
    }

    /// The format a file name asks for, by its extension.
    pub fn of_path(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            "parquet" | "geoparquet" => Some(Format::GeoParquet),
            _ => None,
        }
    }

    /// The export a request asks for: `f=ndjson|parquet` (`f=json` or
    /// `f=geojson` is the usual page), else an `Accept` header naming one of
    /// the export media types. `None`: a page of JSON.
    pub fn requested(f: Option<&str>, headers: &HeaderMap) -> Result<Option<Format>> {
        if let Some(f) = f {
            return match f.trim().to_ascii_lowercase().as_str() {
                "ndjson" | "jsonl" => Ok(Some(Format::Ndjson)),
                "parquet" | "geoparquet" => Ok(Some(Format::GeoParquet)),
                "json" | "geojson" | "" => Ok(None),
                other => Err(Error::bad_request(format!(
                    "f={other:?} is not a format; use json, ndjson or parquet"
                ))),
            };
        }
        let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let names = |media_type: &str| {
            accept.split(',').any(|part| {
                part.split(';')
                    .next()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case(media_type))
            })
        };
        Ok(if names(PARQUET) {
            Some(Format::GeoParquet)
        } else if names(NDJSON) {
            Some(Format::Ndjson)
        } else {
            None
        })
    }
}

/// How the links of exported items are written.
#[derive(Clone, Debug)]
pub enum Links {
    /// As the API serves items (self, parent, collection and root links to it).
    Api(BaseUrl),
    /// As in the source, with absolute hrefs (an export away from the API).
    Source,
}

/// One export: a search over one index version.
pub struct Export {
    /// The index version searched (held for the whole export).
    pub index: Arc<IndexVersion>,
    /// Reads the items.
    pub fetcher: Arc<ItemFetcher>,
    /// The search (its `limit` is ignored: every match is exported).
    pub search: Search,
    /// Within this collection only.
    pub collection: Option<String>,
    /// Which members of the items to write (the fields extension).
    pub fields: Option<Fields>,
    /// How links are written.
    pub links: Links,
    /// Refuse searches that match more items than this.
    pub max_items: u64,
    /// Where a GeoParquet export keeps its items between its two passes.
    pub spill_dir: PathBuf,
}

/// A running export: how many items it holds, and its bytes as they come.
pub struct Stream {
    /// How many items the export holds.
    pub matched: u64,
    /// The export's bytes, chunk by chunk; an `Err` ends it unfinished.
    pub chunks: mpsc::Receiver<Result<Bytes>>,
}

impl Export {
    /// Counts the matches (refusing too many before anything is sent), then
    /// writes the export in the background.
    pub async fn start(self, format: Format) -> Result<Stream> {
        let mut pages = Pages::new(self).await?;
        let matched = pages.matched;
        let max = pages.export.max_items;
        if matched > max {
            return Err(Error::bad_request(format!(
                "the search matches {matched} items; an export holds at most {max}: narrow the search \
                 (collections, bbox, datetime, filter) or export it in parts"
            )));
        }
        let (sender, chunks) = mpsc::channel(4);
        let writer = sender.clone();
        let writing = tokio::spawn(async move {
            match format {
                Format::Ndjson => ndjson(&mut pages, &writer).await,
                Format::GeoParquet => geoparquet::write(&mut pages, &writer).await,
            }
        });
        // The chunks end without an error only when the export is whole:
        // a failure, even a panic, is sent as the last chunk.
        tokio::spawn(async move {
            let error = match writing.await {
                Ok(Ok(())) => return,
                Ok(Err(error)) => error,
                Err(failed) => Error::Internal(format!("the export failed: {failed}")),
            };
            tracing::warn!(%error, "export failed");
            let _ = sender.send(Err(error)).await;
        });
        Ok(Stream { matched, chunks })
    }
}

/// Writes each page's items as lines of JSON.
async fn ndjson(pages: &mut Pages, sender: &mpsc::Sender<Result<Bytes>>) -> Result<()> {
    while let Some(items) = pages.next().await? {
        let mut chunk = Vec::with_capacity(items.len() * 1024);
        let mut item_json = Vec::with_capacity(4096);
        for item in &items {
            item_json.clear();
            serde_json::to_writer(&mut item_json, item).map_err(|e| Error::Internal(e.to_string()))?;
            compact_json(&item_json, &mut chunk);
            chunk.push(b'\n');
        }
        if sender.send(Ok(Bytes::from(chunk))).await.is_err() {
            // The reader went away: nothing more to do.
            return Ok(());
        }
    }
    Ok(())
}

/// Appends valid JSON `text` to `out` without its insignificant whitespace:
/// an item's members pass through as their sources wrote them (perhaps
/// pretty-printed), and a line of NDJSON must be one line.
fn compact_json(text: &[u8], out: &mut Vec<u8>) {
    let (mut in_string, mut escaped) = (false, false);
    for &byte in text {
        if in_string {
            out.push(byte);
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else if !matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
            in_string = byte == b'"';
            out.push(byte);
        }
    }
}

/// The matches of an export, a page of items at a time.
pub struct Pages {
    export: Export,
    matched: u64,
    first: Option<Vec<Hit>>,
    keyset: Option<Keyset>,
    done: bool,
}

impl Pages {
    /// The first page of hits (and so the count).
    async fn new(export: Export) -> Result<Pages> {
        let page = export.index.engine.page(export.request(None, None)).await?;
        Ok(Pages {
            keyset: page.hits.last().map(keyset_after),
            done: !page.has_next,
            matched: page.matched,
            first: Some(page.hits),
            export,
        })
    }

    /// The next page's items, fetched and with their links written; `None` after the last.
    pub async fn next(&mut self) -> Result<Option<Vec<RawItem>>> {
        let hits = match self.first.take() {
            Some(hits) => hits,
            None if self.done => return Ok(None),
            None => {
                let request = self.export.request(self.keyset.clone(), Some(self.matched));
                let page = self.export.index.engine.page(request).await?;
                self.done = !page.has_next;
                self.keyset = page.hits.last().map(keyset_after);
                page.hits
            }
        };
        if hits.is_empty() {
            return Ok(None);
        }
        let fetched = self.export.fetcher.fetch_all_uncached(&hits).await;
        if let Some(missing) = fetched.missing.first() {
            return Err(Error::SourceUnavailable(format!(
                "the export stopped: item {:?} of collection {:?} could not be read: {}",
                missing.id, missing.collection, missing.reason
            )));
        }
        let export = &self.export;
        let items = fetched
            .items
            .into_iter()
            .map(|(document, hit)| {
                let source = stac_indexed_io::Uri::parse(&hit.href).ok();
                let item = match &export.links {
                    Links::Api(base) => rewrite_item(document, source.as_ref(), base, &hit.collection, &hit.id),
                    Links::Source => source_item(document, source.as_ref(), &hit.collection),
                };
                match &export.fields {
                    Some(fields) => fields.apply(item),
                    None => item,
                }
            })
            .collect();
        Ok(Some(items))
    }

    /// How many items the export holds.
    pub fn matched(&self) -> u64 {
        self.matched
    }
}

impl Export {
    fn request(&self, keyset: Option<Keyset>, matched: Option<u64>) -> Request {
        Request {
            search: Search {
                limit: PAGE,
                ..self.search.clone()
            },
            collection: self.collection.clone(),
            keyset,
            matched,
        }
    }
}

/// The keyset of the rows after `hit`.
fn keyset_after(hit: &Hit) -> Keyset {
    Keyset {
        direction: stac_indexed_engine::Direction::Next,
        values: hit.sort_key.clone(),
        seq: hit.seq,
    }
}

/// A JSON value of a raw member, or null.
fn member(item: &RawItem, key: &str) -> Value {
    item.get(key)
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn compact_json_keeps_strings_and_drops_the_rest() {
        let pretty = "{\n  \"a b\": [1, 2],\n\t\"c\": \"x \\\" y\\n\" }\r\n";
        let mut out = Vec::new();
        compact_json(pretty.as_bytes(), &mut out);
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out, r#"{"a b":[1,2],"c":"x \" y\n"}"#);
        let parsed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, serde_json::from_str::<Value>(pretty).unwrap());
    }

    #[test]
    fn the_format_comes_from_f_or_accept() {
        let accept = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(ACCEPT, HeaderValue::from_str(value).unwrap());
            headers
        };
        let none = HeaderMap::new();
        assert_eq!(
            Format::requested(Some("parquet"), &none).unwrap(),
            Some(Format::GeoParquet)
        );
        assert_eq!(Format::requested(Some("NDJSON"), &none).unwrap(), Some(Format::Ndjson));
        assert_eq!(Format::requested(Some("json"), &accept(PARQUET)).unwrap(), None);
        assert!(Format::requested(Some("csv"), &none).is_err());
        assert_eq!(Format::requested(None, &none).unwrap(), None);
        assert_eq!(
            Format::requested(None, &accept("application/vnd.apache.parquet;q=1, */*")).unwrap(),
            Some(Format::GeoParquet)
        );
        assert_eq!(Format::requested(None, &accept(NDJSON)).unwrap(), Some(Format::Ndjson));
        assert_eq!(Format::requested(None, &accept("application/geo+json")).unwrap(), None);
        assert_eq!(Format::of_path("a/b.parquet".as_ref()), Some(Format::GeoParquet));
        assert_eq!(Format::of_path("b.jsonl".as_ref()), Some(Format::Ndjson));
        assert_eq!(Format::of_path("b.csv".as_ref()), None);
    }
}
