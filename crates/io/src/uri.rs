//! Absolute URIs and RFC 3986 resolution of hrefs.

use crate::{Error, Result};
use std::fmt;
use std::path::{Path, PathBuf};
use url::Url;

/// An absolute URI of a document: `file://`, `http://`, `https://` or `s3://`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uri(Url);

/// The kinds of location [`Io`](crate::Io) knows how to reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// A local file.
    File,
    /// An http(s) URL.
    Http,
    /// An S3 bucket and key.
    S3,
}

impl Uri {
    /// Parses a URI, or a local path (relative paths resolve against the current directory).
    pub fn parse(text: &str) -> Result<Uri> {
        let invalid = |reason: &str| Error::InvalidUri {
            uri: text.to_string(),
            reason: reason.to_string(),
        };
        if text.is_empty() {
            return Err(invalid("empty"));
        }
        if let Some(url) = Url::parse(text).ok().filter(|u| u.scheme().len() > 1) {
            return Uri::from_url(url)
                .map_err(|_| invalid("unsupported scheme (use a path, file://, http(s):// or s3://)"));
        }
        let path = Path::new(text);
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir().map_err(|e| invalid(&e.to_string()))?.join(path)
        };
        Uri::from_path(&absolute)
    }

    /// A `file://` URI for an absolute local path.
    pub fn from_path(path: &Path) -> Result<Uri> {
        let normalized = normalize(path);
        let is_dir_hint = path.as_os_str().to_string_lossy().ends_with('/');
        let url = if is_dir_hint {
            Url::from_directory_path(&normalized)
        } else {
            Url::from_file_path(&normalized)
        };
        url.map(Uri).map_err(|_| Error::InvalidUri {
            uri: path.display().to_string(),
            reason: "not an absolute path".into(),
        })
    }

    /// Wraps a parsed URL, refusing schemes this crate cannot read.
    pub fn from_url(url: Url) -> Result<Uri> {
        match url.scheme() {
            "file" | "http" | "https" => Ok(Uri(url)),
            "s3" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(Uri(url)),
            "s3" => Err(Error::InvalidUri {
                uri: url.to_string(),
                reason: "an s3:// URI needs a bucket".into(),
            }),
            other => Err(Error::InvalidUri {
                uri: url.to_string(),
                reason: format!("unsupported scheme {other:?}"),
            }),
        }
    }

    /// Resolves an href found in this document per RFC 3986 (relative, absolute-path,
    /// network-path and absolute references; query strings are kept).
    pub fn join(&self, href: &str) -> Result<Uri> {
        let joined = self.0.join(href).map_err(|e| Error::InvalidUri {
            uri: href.to_string(),
            reason: format!("cannot resolve against {}: {e}", self.0),
        })?;
        Uri::from_url(joined)
    }

    /// The same URI as a directory (with a trailing slash), for joining names under it.
    pub fn as_directory(&self) -> Uri {
        let mut url = self.0.clone();
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Uri(url)
    }

    /// Which kind of location this is.
    pub fn scheme(&self) -> Scheme {
        match self.0.scheme() {
            "file" => Scheme::File,
            "s3" => Scheme::S3,
            _ => Scheme::Http,
        }
    }

    /// The local path of a `file://` URI.
    pub fn to_file_path(&self) -> Option<PathBuf> {
        if self.scheme() != Scheme::File {
            return None;
        }
        let path = self.0.path();
        match self.0.host_str() {
            // Nothing to decode: the path as it is (the common case, and a
            // hot one when a crawl reads many local files).
            None | Some("") if !path.contains('%') => Some(PathBuf::from(path)),
            _ => self.0.to_file_path().ok(),
        }
    }

    /// The S3 bucket and the key (percent-decoded) of an `s3://` URI.
    pub fn s3_bucket_and_key(&self) -> Option<(&str, String)> {
        if self.scheme() != Scheme::S3 {
            return None;
        }
        let bucket = self.0.host_str()?;
        let key = percent_decode(self.0.path().trim_start_matches('/'));
        Some((bucket, key))
    }

    /// The underlying URL.
    pub fn as_url(&self) -> &Url {
        &self.0
    }

    /// The URI as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The last path segment (file name), if any.
    pub fn file_name(&self) -> Option<&str> {
        self.0.path_segments()?.next_back().filter(|s| !s.is_empty())
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// Removes `.` and `..` components without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(high), Some(low)) => hex_value(*high).zip(hex_value(*low)),
            _ => None,
        };
        match escaped {
            Some((high, low)) => {
                out.push(high << 4 | low);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(base: &str, href: &str) -> String {
        Uri::parse(base).unwrap().join(href).unwrap().to_string()
    }

    #[test]
    fn relative_hrefs_resolve_per_rfc3986() {
        let base = "https://example.com/cat/sub/collection.json";
        assert_eq!(resolve(base, "item.json"), "https://example.com/cat/sub/item.json");
        assert_eq!(resolve(base, "./a/b.json"), "https://example.com/cat/sub/a/b.json");
        assert_eq!(resolve(base, "../c.json"), "https://example.com/cat/c.json");
        assert_eq!(resolve(base, "/abs/path.json"), "https://example.com/abs/path.json");
        assert_eq!(
            resolve(base, "items?page=2"),
            "https://example.com/cat/sub/items?page=2"
        );
        assert_eq!(
            resolve(base, "?page=3"),
            "https://example.com/cat/sub/collection.json?page=3"
        );
        assert_eq!(resolve(base, "//other.org/x.json"), "https://other.org/x.json");
        assert_eq!(resolve(base, "s3://bucket/k.json"), "s3://bucket/k.json");
    }

    #[test]
    fn s3_and_file_bases_resolve_too() {
        assert_eq!(
            resolve("s3://bkt/a/b/catalog.json", "../c/item.json"),
            "s3://bkt/a/c/item.json"
        );
        assert_eq!(resolve("s3://bkt/a/catalog.json", "/root.json"), "s3://bkt/root.json");
        assert_eq!(
            resolve("file:///data/cat/catalog.json", "./x/y.json"),
            "file:///data/cat/x/y.json"
        );
        assert_eq!(
            resolve("file:///data/cat/catalog.json", "../../up.json"),
            "file:///up.json"
        );
    }

    #[test]
    fn local_paths_become_file_uris() {
        let uri = Uri::parse("/tmp/some/../catalog.json").unwrap();
        assert_eq!(uri.as_str(), "file:///tmp/catalog.json");
        assert_eq!(uri.to_file_path().unwrap(), PathBuf::from("/tmp/catalog.json"));
        let spaced = Uri::parse("/tmp/a b/é.json").unwrap();
        assert_eq!(spaced.as_str(), "file:///tmp/a%20b/%C3%A9.json");
        assert_eq!(spaced.to_file_path().unwrap(), PathBuf::from("/tmp/a b/é.json"));
        let relative = Uri::parse("sample/catalog.json").unwrap();
        assert!(relative.as_str().starts_with("file:///"));
        assert!(relative.as_str().ends_with("/sample/catalog.json"));
    }

    #[test]
    fn unsupported_and_malformed_uris_are_refused() {
        assert!(Uri::parse("ftp://host/x.json").is_err());
        assert!(Uri::parse("s3:///nobucket").is_err());
        assert!(Uri::parse("").is_err());
    }

    #[test]
    fn s3_keys_are_percent_decoded() {
        assert_eq!(percent_decode("a%zz%C3%A9%"), "a%zzé%");
        let uri = Uri::parse("s3://bucket/dir/with%20space.json").unwrap();
        let (bucket, key) = uri.s3_bucket_and_key().unwrap();
        assert_eq!(bucket, "bucket");
        assert_eq!(key, "dir/with space.json");
    }
}
