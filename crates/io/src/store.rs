//! [`Io`]: read, list and write by URI over any supported scheme.

use crate::http::HttpClient;
use crate::s3::S3Stores;
use crate::uri::Scheme;
use crate::{Error, Result, S3Options, Uri};
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use url::Url;

/// Settings for [`Io`].
#[derive(Clone, Debug)]
pub struct IoOptions {
    /// How S3 is reached.
    pub s3: S3Options,
    /// The timeout of one http(s) request.
    pub http_timeout: Duration,
}

impl Default for IoOptions {
    fn default() -> Self {
        IoOptions {
            s3: S3Options::default(),
            http_timeout: Duration::from_secs(30),
        }
    }
}

/// Reads, lists and writes bytes by [`Uri`]. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Io {
    http: HttpClient,
    s3: S3Stores,
    local: LocalFileSystem,
}

/// Where an object lives: a store and the object's path in it.
pub(crate) struct Located {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) path: StorePath,
}

/// The size of each part of a multipart upload.
const UPLOAD_PART_BYTES: usize = 16 * 1024 * 1024;

impl Io {
    /// Creates the clients (no network access happens here).
    pub fn new(options: IoOptions) -> Result<Io> {
        Ok(Io {
            http: HttpClient::new(options.http_timeout)?,
            s3: S3Stores::new(options.s3),
            local: LocalFileSystem::new(),
        })
    }

    /// Reads the whole object at `uri`.
    pub async fn get(&self, uri: &Uri) -> Result<Bytes> {
        match uri.scheme() {
            Scheme::Http => self.http.get(uri.as_str()).await,
            Scheme::File => {
                let path = local_path(uri)?;
                tokio::fs::read(&path)
                    .await
                    .map(Bytes::from)
                    .map_err(|source| local_error(uri, &path, source))
            }
            Scheme::S3 => {
                let located = self.locate(uri)?;
                let result = located.store.get(&located.path).await;
                let bytes = match result {
                    Ok(result) => result.bytes().await,
                    Err(e) => Err(e),
                };
                bytes.map_err(|e| store_error(uri, e))
            }
        }
    }

    /// A local file holding the object at `uri`: the file itself when `uri`
    /// is local, otherwise a copy written to `path` (through a `.partial`
    /// file renamed into place, so a reader never sees part of it). `check`
    /// sees the bytes first and may refuse them with a reason (a checksum
    /// that does not match).
    pub async fn local_copy(
        &self,
        uri: &Uri,
        path: &Path,
        check: impl FnOnce(&[u8]) -> std::result::Result<(), String>,
    ) -> Result<PathBuf> {
        if let Some(local) = uri.to_file_path() {
            return Ok(local);
        }
        let bytes = self.get(uri).await?;
        check(&bytes).map_err(|reason| Error::Refused {
            uri: uri.to_string(),
            reason,
        })?;
        let local_error = |source| Error::Local {
            path: path.display().to_string(),
            source,
        };
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(local_error)?;
        }
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        tokio::fs::write(&partial, &bytes).await.map_err(local_error)?;
        tokio::fs::rename(&partial, path).await.map_err(local_error)?;
        Ok(path.to_path_buf())
    }

    /// Whether an object exists at `uri`.
    pub async fn exists(&self, uri: &Uri) -> Result<bool> {
        match uri.scheme() {
            Scheme::File => Ok(local_path(uri)?.is_file()),
            Scheme::S3 => {
                let located = self.locate(uri)?;
                match located.store.head(&located.path).await {
                    Ok(_) => Ok(true),
                    Err(object_store::Error::NotFound { .. }) => Ok(false),
                    Err(e) => Err(store_error(uri, e)),
                }
            }
            Scheme::Http => match self.http.get(uri.as_str()).await {
                Ok(_) => Ok(true),
                Err(Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(e),
            },
        }
    }

    /// Lists every object under a directory or prefix (recursively), sorted.
    /// http(s) cannot be listed.
    pub async fn list(&self, prefix: &Uri) -> Result<Vec<Uri>> {
        let directory = prefix.as_directory();
        let (store, path): (&dyn ObjectStore, StorePath) = match directory.scheme() {
            Scheme::Http => {
                return Err(Error::InvalidUri {
                    uri: prefix.to_string(),
                    reason: "http(s) locations cannot be listed".into(),
                });
            }
            Scheme::File => {
                let path = local_path(&directory)?;
                if !path.is_dir() {
                    return Err(Error::NotFound {
                        uri: prefix.to_string(),
                    });
                }
                let store_path = StorePath::from_absolute_path(&path).map_err(|e| path_error(prefix, e))?;
                (&self.local, store_path)
            }
            Scheme::S3 => {
                let located = self.locate(&directory)?;
                let objects: Vec<_> = located
                    .store
                    .list(Some(&located.path))
                    .try_collect()
                    .await
                    .map_err(|e| store_error(prefix, e))?;
                let (bucket, _) = directory.s3_bucket_and_key().expect("an s3 uri");
                let mut uris = objects
                    .iter()
                    .map(|meta| s3_uri(bucket, meta.location.as_ref()))
                    .collect::<Result<Vec<_>>>()?;
                uris.sort();
                return Ok(uris);
            }
        };
        let objects: Vec<_> = store
            .list(Some(&path))
            .try_collect()
            .await
            .map_err(|e| store_error(prefix, e))?;
        let mut uris = objects
            .iter()
            .map(|meta| {
                let path = self
                    .local
                    .path_to_filesystem(&meta.location)
                    .map_err(|e| store_error(prefix, e))?;
                Uri::from_path(&path)
            })
            .collect::<Result<Vec<_>>>()?;
        uris.sort();
        Ok(uris)
    }

    /// Writes `bytes` to `uri` atomically: locally to a temporary file then a
    /// rename, on S3 in one PUT. Readers never see a partial object.
    pub async fn put(&self, uri: &Uri, bytes: Bytes) -> Result<()> {
        let located = self.locate_writable(uri).await?;
        located
            .store
            .put(&located.path, PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| store_error(uri, e))
    }

    /// Copies a local file to `uri` (a multipart upload on S3), streaming it.
    pub async fn put_file(&self, uri: &Uri, source: &Path) -> Result<()> {
        let located = self.locate_writable(uri).await?;
        let mut file = tokio::fs::File::open(source)
            .await
            .map_err(|e| local_error(uri, source, e))?;
        let upload = located
            .store
            .put_multipart(&located.path)
            .await
            .map_err(|e| store_error(uri, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, UPLOAD_PART_BYTES);
        let mut buffer = vec![0u8; 1024 * 1024];
        loop {
            let read = file.read(&mut buffer).await.map_err(|e| local_error(uri, source, e))?;
            if read == 0 {
                break;
            }
            writer.wait_for_capacity(4).await.map_err(|e| store_error(uri, e))?;
            writer.write(&buffer[..read]);
        }
        writer.finish().await.map(|_| ()).map_err(|e| store_error(uri, e))
    }

    /// Deletes every object under a directory or prefix; returns how many.
    pub async fn delete_prefix(&self, prefix: &Uri) -> Result<usize> {
        let objects = match self.list(prefix).await {
            Ok(objects) => objects,
            Err(Error::NotFound { .. }) => return Ok(0),
            Err(e) => return Err(e),
        };
        for object in &objects {
            let located = self.locate_writable(object).await?;
            located
                .store
                .delete(&located.path)
                .await
                .map_err(|e| store_error(object, e))?;
        }
        if let Some(path) = prefix.as_directory().to_file_path() {
            remove_empty_directories(&path);
        }
        Ok(objects.len())
    }

    pub(crate) fn locate(&self, uri: &Uri) -> Result<Located> {
        let (bucket, key) = uri.s3_bucket_and_key().ok_or_else(|| Error::InvalidUri {
            uri: uri.to_string(),
            reason: "not an s3:// URI".into(),
        })?;
        let path = StorePath::parse(&key).unwrap_or_else(|_| StorePath::from(key.as_str()));
        Ok(Located {
            store: self.s3.bucket(bucket)?,
            path,
        })
    }

    async fn locate_writable(&self, uri: &Uri) -> Result<Located> {
        match uri.scheme() {
            Scheme::S3 => self.locate(uri),
            Scheme::File => {
                let path = local_path(uri)?;
                let store_path = StorePath::from_absolute_path(&path).map_err(|e| path_error(uri, e))?;
                Ok(Located {
                    store: Arc::new(LocalFileSystem::new()),
                    path: store_path,
                })
            }
            Scheme::Http => Err(Error::NotWritable { uri: uri.to_string() }),
        }
    }
}

pub(crate) fn local_path(uri: &Uri) -> Result<std::path::PathBuf> {
    uri.to_file_path().ok_or_else(|| Error::InvalidUri {
        uri: uri.to_string(),
        reason: "not a local file URI".into(),
    })
}

fn s3_uri(bucket: &str, key: &str) -> Result<Uri> {
    let mut url = Url::parse(&format!("s3://{bucket}/")).map_err(|e| Error::InvalidUri {
        uri: bucket.to_string(),
        reason: e.to_string(),
    })?;
    url.set_path(&format!("/{key}"));
    Uri::from_url(url)
}

pub(crate) fn local_error(uri: &Uri, path: &Path, source: std::io::Error) -> Error {
    if source.kind() == std::io::ErrorKind::NotFound {
        Error::NotFound { uri: uri.to_string() }
    } else {
        Error::Local {
            path: path.display().to_string(),
            source,
        }
    }
}

pub(crate) fn store_error(uri: &Uri, source: object_store::Error) -> Error {
    match source {
        object_store::Error::NotFound { .. } => Error::NotFound { uri: uri.to_string() },
        source => Error::Store {
            uri: uri.to_string(),
            source,
        },
    }
}

fn path_error(uri: &Uri, source: object_store::path::Error) -> Error {
    Error::InvalidUri {
        uri: uri.to_string(),
        reason: source.to_string(),
    }
}

/// Removes directories left empty under `root` (and `root` itself when empty).
fn remove_empty_directories(root: &Path) {
    if let Ok(entries) = std::fs::read_dir(root) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_empty_directories(&entry.path());
            }
        }
    }
    let _ = std::fs::remove_dir(root);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io() -> Io {
        Io::new(IoOptions::default()).unwrap()
    }

    #[tokio::test]
    async fn local_put_get_list_delete_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let root = Uri::from_path(dir.path()).unwrap().as_directory();
        let io = io();
        io.put(&root.join("a/one.json").unwrap(), Bytes::from_static(b"1"))
            .await
            .unwrap();
        io.put(&root.join("a/b/two.json").unwrap(), Bytes::from_static(b"22"))
            .await
            .unwrap();
        let one = io.get(&root.join("a/one.json").unwrap()).await.unwrap();
        assert_eq!(&one[..], b"1");
        let listed: Vec<String> = io
            .list(&root.join("a").unwrap())
            .await
            .unwrap()
            .iter()
            .map(|u| u.as_str().trim_start_matches(root.as_str()).to_string())
            .collect();
        assert_eq!(listed, vec!["a/b/two.json", "a/one.json"]);
        assert_eq!(io.delete_prefix(&root.join("a").unwrap()).await.unwrap(), 2);
        assert!(!dir.path().join("a").exists());
    }

    #[tokio::test]
    async fn missing_local_file_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let uri = Uri::from_path(&dir.path().join("nope.json")).unwrap();
        let error = io().get(&uri).await.unwrap_err();
        assert!(error.is_not_found(), "{error}");
        assert!(!io().exists(&uri).await.unwrap());
    }

    #[tokio::test]
    async fn put_file_copies_a_local_file() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("source.bin");
        let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&source, &content).unwrap();
        let target = Uri::from_path(&dir.path().join("out/target.bin")).unwrap();
        io().put_file(&target, &source).await.unwrap();
        assert_eq!(std::fs::read(dir.path().join("out/target.bin")).unwrap(), content);
    }

    #[tokio::test]
    async fn local_copy_reads_local_files_in_place_and_copies_remote_ones() {
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().join("a.parquet");
        std::fs::write(&local, b"local").unwrap();
        let io = Io::new(IoOptions::default()).unwrap();
        let uri = Uri::from_path(&local).unwrap();
        let in_place = io
            .local_copy(&uri, &dir.path().join("unused"), |_| Ok(()))
            .await
            .unwrap();
        assert_eq!(in_place, local);
        assert!(!dir.path().join("unused").exists());

        // A real HTTP server on a socket, answering one fixed body.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/remote.parquet", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().take(2) {
                let mut stream = stream.unwrap();
                let mut request = [0u8; 1024];
                let _ = std::io::Read::read(&mut stream, &mut request);
                let response = "HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nremote";
                std::io::Write::write_all(&mut stream, response.as_bytes()).unwrap();
            }
        });
        let remote = Uri::parse(&url).unwrap();
        let target = dir.path().join("cache/remote.parquet");
        let refused = io
            .local_copy(&remote, &target, |_| Err("checksum differs".into()))
            .await;
        assert!(matches!(refused, Err(Error::Refused { .. })), "{refused:?}");
        assert!(!target.exists(), "refused bytes are not written");
        let copy = io.local_copy(&remote, &target, |bytes| {
            (bytes == b"remote")
                .then_some(())
                .ok_or_else(|| "unexpected bytes".to_string())
        });
        assert_eq!(std::fs::read(copy.await.unwrap()).unwrap(), b"remote");
        assert!(!dir.path().join("cache/remote.parquet.partial").exists());
    }
}
