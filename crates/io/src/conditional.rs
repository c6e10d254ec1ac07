//! Compare-and-swap of one small object (an index's manifest): read it with
//! its version, then replace it only if that version is still the one there.
//!
//! On S3 the version is the ETag and the write a `PutObject` with
//! `If-Match` (or `If-None-Match: *` when nothing was there). Local files
//! have no such write: a writer holds `<file>.lock` (created exclusively)
//! while it compares the file's content with what it read and renames its
//! new content into place. A lock older than [`STALE_LOCK`] is taken to be
//! left by a writer that died and is broken.

use crate::store::{local_error, local_path, store_error};
use crate::{Error, Io, Result, Scheme, Uri};
use bytes::Bytes;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A lock file older than this was left by a writer that stopped: the
/// critical section it guards is a read, a compare and a rename.
const STALE_LOCK: Duration = Duration::from_secs(30);

/// How long a writer waits between attempts to take a held lock.
const LOCK_RETRY: Duration = Duration::from_millis(5);

/// The version of an object as it was read, for [`Io::put_if`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectVersion(Version);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Version {
    /// S3's ETag.
    ETag(String),
    /// A local file's (or an HTTP resource's) whole content.
    Content(Bytes),
}

impl Io {
    /// The object at `uri` and its version; `None` when there is none.
    pub async fn get_versioned(&self, uri: &Uri) -> Result<Option<(Bytes, ObjectVersion)>> {
        let read = match uri.scheme() {
            Scheme::S3 => {
                let located = self.locate(uri)?;
                match located.store.get(&located.path).await {
                    Ok(result) => {
                        let e_tag = result.meta.e_tag.clone().ok_or_else(|| Error::Refused {
                            uri: uri.to_string(),
                            reason: "the store sent no ETag, which conditional writes need".into(),
                        })?;
                        let bytes = result.bytes().await.map_err(|e| store_error(uri, e))?;
                        Ok((bytes, Version::ETag(e_tag)))
                    }
                    Err(e) => Err(store_error(uri, e)),
                }
            }
            Scheme::File | Scheme::Http => self
                .get(uri)
                .await
                .map(|bytes| (bytes.clone(), Version::Content(bytes))),
        };
        match read {
            Ok((bytes, version)) => Ok(Some((bytes, ObjectVersion(version)))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes `bytes` to `uri` if the object there is still `expected`
    /// (`None`: if there is still none). Returns whether it wrote: `false`
    /// means another writer replaced the object since it was read.
    pub async fn put_if(&self, uri: &Uri, bytes: Bytes, expected: Option<&ObjectVersion>) -> Result<bool> {
        match uri.scheme() {
            Scheme::S3 => self.put_if_s3(uri, bytes, expected).await,
            Scheme::File => {
                let path = local_path(uri)?;
                let expected = expected.cloned();
                let target = path.clone();
                tokio::task::spawn_blocking(move || swap_local(&target, &bytes, expected.as_ref()))
                    .await
                    .map_err(|e| Error::Request {
                        uri: uri.to_string(),
                        message: e.to_string(),
                    })?
                    .map_err(|source| local_error(uri, &path, source))
            }
            Scheme::Http => Err(Error::NotWritable { uri: uri.to_string() }),
        }
    }

    async fn put_if_s3(&self, uri: &Uri, bytes: Bytes, expected: Option<&ObjectVersion>) -> Result<bool> {
        let mode = match expected {
            None => PutMode::Create,
            Some(ObjectVersion(Version::ETag(e_tag))) => PutMode::Update(UpdateVersion {
                e_tag: Some(e_tag.clone()),
                version: None,
            }),
            Some(ObjectVersion(Version::Content(_))) => {
                return Err(Error::Refused {
                    uri: uri.to_string(),
                    reason: "a version read from another scheme cannot condition an S3 write".into(),
                });
            }
        };
        let located = self.locate(uri)?;
        let options = PutOptions {
            mode,
            ..PutOptions::default()
        };
        match located
            .store
            .put_opts(&located.path, PutPayload::from(bytes), options)
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(store_error(uri, e)),
        }
    }
}

/// The local compare-and-swap: under the lock, replaces the file at `path`
/// if its content is still `expected`.
fn swap_local(path: &Path, bytes: &[u8], expected: Option<&ObjectVersion>) -> std::io::Result<bool> {
    let _lock = LockFile::take(path)?;
    let current = match std::fs::read(path) {
        Ok(current) => Some(current),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let unchanged = match (expected, &current) {
        (None, None) => true,
        (Some(ObjectVersion(Version::Content(read))), Some(current)) => read[..] == current[..],
        _ => false,
    };
    if !unchanged {
        return Ok(false);
    }
    let partial = sibling(path, &format!(".partial-{}", std::process::id()));
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, path)?;
    Ok(true)
}

/// `<file>.lock`, held while it exists; removed on drop.
struct LockFile {
    path: PathBuf,
}

impl LockFile {
    /// Creates the lock file beside `target`, waiting while another writer
    /// holds it (and breaking it when it is stale).
    fn take(target: &Path) -> std::io::Result<LockFile> {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let path = sibling(target, ".lock");
        loop {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(_) => return Ok(LockFile { path }),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    if is_stale(&path) {
                        tracing::warn!(lock = %path.display(), "breaking a stale lock");
                        let _ = std::fs::remove_file(&path);
                    } else {
                        std::thread::sleep(LOCK_RETRY);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn is_stale(lock: &Path) -> bool {
    std::fs::metadata(lock)
        .and_then(|meta| meta.modified())
        .is_ok_and(|modified| SystemTime::now().duration_since(modified).unwrap_or_default() > STALE_LOCK)
}

/// `path` with `suffix` added to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_local_file_is_replaced_only_if_unchanged_since_read() {
        let dir = tempfile::tempdir().unwrap();
        let uri = Uri::from_path(&dir.path().join("sub/manifest.json")).unwrap();
        let io = Io::new(crate::IoOptions::default()).unwrap();
        assert!(io.get_versioned(&uri).await.unwrap().is_none());
        assert!(io.put_if(&uri, Bytes::from_static(b"1"), None).await.unwrap());
        assert!(
            !io.put_if(&uri, Bytes::from_static(b"x"), None).await.unwrap(),
            "something is there now"
        );
        let (bytes, first) = io.get_versioned(&uri).await.unwrap().unwrap();
        assert_eq!(&bytes[..], b"1");
        assert!(io.put_if(&uri, Bytes::from_static(b"2"), Some(&first)).await.unwrap());
        assert!(
            !io.put_if(&uri, Bytes::from_static(b"3"), Some(&first)).await.unwrap(),
            "the version read is gone"
        );
        assert_eq!(&io.get(&uri).await.unwrap()[..], b"2");
        assert!(!dir.path().join("sub/manifest.json.lock").exists());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn of_racing_local_writers_from_one_version_exactly_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let uri = Uri::from_path(&dir.path().join("manifest.json")).unwrap();
        let io = std::sync::Arc::new(Io::new(crate::IoOptions::default()).unwrap());
        io.put(&uri, Bytes::from_static(b"base")).await.unwrap();
        let (_, version) = io.get_versioned(&uri).await.unwrap().unwrap();
        let writers: Vec<_> = (0..16)
            .map(|n| {
                let (io, uri, version) = (io.clone(), uri.clone(), version.clone());
                tokio::spawn(async move { io.put_if(&uri, Bytes::from(format!("{n}")), Some(&version)).await })
            })
            .collect();
        let mut won = 0;
        for writer in writers {
            won += usize::from(writer.await.unwrap().unwrap());
        }
        assert_eq!(won, 1);
    }

    #[tokio::test]
    async fn a_stale_lock_is_broken() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest.json");
        let lock = sibling(&path, ".lock");
        std::fs::write(&lock, b"").unwrap();
        let old = SystemTime::now() - STALE_LOCK - Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&lock)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let uri = Uri::from_path(&path).unwrap();
        assert!(
            Io::new(crate::IoOptions::default())
                .unwrap()
                .put_if(&uri, Bytes::from_static(b"1"), None)
                .await
                .unwrap()
        );
        assert!(!lock.exists());
    }
}
