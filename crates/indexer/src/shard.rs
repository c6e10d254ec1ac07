//! Sharded crawls: N runs each index a share of the items, one merge publishes.
//!
//! Every shard reads the catalogs and collections (they are few, and each
//! shard needs their links to find its items) but fetches only the items
//! whose URI hashes to it, so the work splits by item whatever the shape of
//! the catalog. What a shard reads only because every shard does (the tree,
//! its errors, its document count) is taken from part 0 at the merge; what
//! a shard owns (its items, their errors) from every part.
//!
//! A shard writes its part under `OUT/parts/<K>-of-<N>/`: the staged rows
//! (`staged.parquet`) first, `part.json` (everything else the crawl found)
//! last, so a part without `part.json` is unfinished and ignored. The merge
//! reads every `part.json`, refuses to publish unless exactly the parts
//! 0..N of one run are there, and deletes `OUT/parts/` once the version is
//! published.

use crate::crawl::CrawlOutput;
use crate::{Error, Result};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use stac_indexed_format::IndexConfig;
use stac_indexed_io::{Io, Uri};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The directory under the output that holds the parts.
const PARTS_DIR: &str = "parts";
/// The file that completes a part.
const PART_FILE: &str = "part.json";
/// The part's staged rows.
const STAGED_FILE: &str = "staged.parquet";

/// One share of a sharded crawl: part `index` of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which part, from 0.
    pub index: u32,
    /// How many parts.
    pub count: u32,
}

impl Shard {
    /// The whole catalog in one part.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Part `index` of `count`; `index` must be below `count`.
    pub fn new(index: u32, count: u32) -> Result<Shard> {
        if count == 0 || index >= count {
            return Err(Error::InvalidShard(format!(
                "part {index} of {count}: the part must be at least 0 and below the count"
            )));
        }
        Ok(Shard { index, count })
    }

    /// Whether the item at `uri` is this part's to index: a hash of the URI,
    /// stable across processes and builds (FNV-1a), modulo the count.
    pub fn owns(&self, uri: &str) -> bool {
        self.count <= 1 || fnv1a(uri.as_bytes()) % u64::from(self.count) == u64::from(self.index)
    }

    /// The number added to this part's owner numbers so that those of all
    /// parts can share one table.
    pub(crate) fn owner_base(&self) -> i64 {
        i64::from(self.index) << 32
    }

    fn directory_name(&self) -> String {
        format!("{}-of-{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = Error;

    /// `K/N`, as in `--shard 2/8`.
    fn from_str(text: &str) -> Result<Shard> {
        let invalid = || Error::InvalidShard(format!("{text:?} is not K/N (for example 0/4)"));
        let (index, count) = text.split_once('/').ok_or_else(invalid)?;
        let index = index.trim().parse().map_err(|_| invalid())?;
        let count = count.trim().parse().map_err(|_| invalid())?;
        Shard::new(index, count)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What one part's crawl found besides its staged rows (`part.json`).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Part {
    pub shard: Shard,
    pub root_uri: String,
    pub config: IndexConfig,
    pub crawl: CrawlOutput,
    pub staged_rows: u64,
}

/// A part with its staged rows in a local file.
#[derive(Debug)]
pub(crate) struct LocalPart {
    pub part: Part,
    pub staged: PathBuf,
}

/// `OUT/parts/`.
pub(crate) fn parts_dir(out: &Uri) -> Result<Uri> {
    Ok(out.join(&format!("{PARTS_DIR}/"))?)
}

/// Writes a part under `out` (replacing what an earlier attempt of the same
/// part left); returns the URI of its `part.json`.
pub(crate) async fn write_part(io: &Io, out: &Uri, part: &LocalPart) -> Result<Uri> {
    let directory = parts_dir(out)?.join(&format!("{}/", part.part.shard.directory_name()))?;
    io.delete_prefix(&directory).await?;
    io.put_file(&directory.join(STAGED_FILE)?, &part.staged).await?;
    let json = serde_json::to_vec(&part.part).map_err(|e| Error::Task(format!("part.json: {e}")))?;
    let uri = directory.join(PART_FILE)?;
    io.put(&uri, Bytes::from(json)).await?;
    Ok(uri)
}

/// Reads every finished part under `out`, checks that they are exactly
/// parts 0..N of one crawl, and copies their staged rows into `work`.
pub(crate) async fn read_parts(io: &Io, out: &Uri, work: &Path) -> Result<Vec<LocalPart>> {
    let directory = parts_dir(out)?;
    let listed = match io.list(&directory).await {
        Ok(listed) => listed,
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let mut found = Vec::new();
    for uri in listed.into_iter().filter(|uri| uri.file_name() == Some(PART_FILE)) {
        let bytes = io.get(&uri).await?;
        let part: Part = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Merge(format!("{uri} is not a part written by this version: {e}")))?;
        found.push((uri, part));
    }
    let found = check_parts(&directory, found)?;
    let mut parts = Vec::with_capacity(found.len());
    for (uri, part) in found {
        let staged = uri.join(STAGED_FILE)?;
        let local = work.join(format!("staged-{}.parquet", part.shard.index));
        let staged = io.local_copy(&staged, &local, |_| Ok(())).await?;
        parts.push(LocalPart { part, staged });
    }
    Ok(parts)
}

/// Orders the parts by index; fails unless each of 0..N is there once, all
/// of the same N, root and config.
fn check_parts(directory: &Uri, mut found: Vec<(Uri, Part)>) -> Result<Vec<(Uri, Part)>> {
    let Some((_, first)) = found.first() else {
        return Err(Error::Merge(format!(
            "no finished parts under {directory}: run `stac-indexed index --shard K/N` for each part first"
        )));
    };
    let count = first.shard.count;
    if let Some((uri, other)) = found.iter().find(|(_, p)| p.shard.count != count) {
        return Err(Error::Merge(format!(
            "parts of different sharded runs under {directory}: {uri} is part {} but another part is of {count}",
            other.shard
        )));
    }
    found.sort_by_key(|(uri, part)| (part.shard.index, uri.to_string()));
    if let Some(pair) = found.windows(2).find(|pair| pair[0].1.shard == pair[1].1.shard) {
        return Err(Error::Merge(format!(
            "part {} appears twice: {} and {}",
            pair[0].1.shard, pair[0].0, pair[1].0
        )));
    }
    let missing: Vec<String> = (0..count)
        .filter(|index| !found.iter().any(|(_, p)| p.shard.index == *index))
        .map(|index| format!("{index}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Merge(format!(
            "missing part(s) {} under {directory}: run `stac-indexed index --shard K/N` for each, then merge again",
            missing.join(", ")
        )));
    }
    let (_, first) = &found[0];
    if let Some((uri, _)) = found
        .iter()
        .find(|(_, p)| p.root_uri != first.root_uri || p.config != first.config)
    {
        return Err(Error::Merge(format!(
            "{uri} indexed another root or config than part 0 ({})",
            first.root_uri
        )));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_reject_nonsense() {
        assert_eq!("2/8".parse::<Shard>().unwrap(), Shard { index: 2, count: 8 });
        assert_eq!("0/1".parse::<Shard>().unwrap(), Shard::WHOLE);
        for bad in ["8/8", "1/0", "a/2", "3", "-1/4", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_uri_belongs_to_exactly_one_shard_and_shares_are_balanced() {
        let shards: Vec<Shard> = (0..4).map(|k| Shard::new(k, 4).unwrap()).collect();
        let mut sizes = [0usize; 4];
        for n in 0..10_000 {
            let uri = format!("s3://bucket/collection/item-{n}.json");
            let owners: Vec<usize> = (0..4).filter(|k| shards[*k].owns(&uri)).collect();
            assert_eq!(owners.len(), 1, "{uri}");
            sizes[owners[0]] += 1;
        }
        assert!(sizes.iter().all(|size| (2_300..2_700).contains(size)), "{sizes:?}");
        assert!(Shard::WHOLE.owns("anything"));
    }
}
