//! Many small local files, read one after another by one thread.

use crate::store::{local_error, local_path};
use crate::{Result, Uri};
use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The first read of a file asks for this many bytes (a STAC item is
/// rarely bigger); the buffer doubles for bigger files and stays grown.
const FIRST_READ: usize = 16 * 1024;

/// Reads local files one after another into one reused buffer, blocking
/// the calling thread: for crawlers that read many small files from a
/// thread of their own.
///
/// The files are opened relative to the directory all of them share,
/// opened once, so the kernel resolves a short path per file instead of
/// the whole one; and each is read with `open`, `read` until it returns 0,
/// and `close` (`read_to_end` asks for the size and position first).
pub struct LocalFiles {
    /// The shared directory and a handle on it.
    base: Option<(PathBuf, OwnedFd)>,
    /// The last file's bytes, then what earlier files left (never cleared:
    /// clearing it for every file costs more than reading the file).
    buffer: Vec<u8>,
}

impl LocalFiles {
    /// A reader for `uris`: their files are opened relative to the deepest
    /// directory they share (any other file by its whole path).
    pub fn new(uris: &[Uri]) -> LocalFiles {
        let base = shared_directory(uris).and_then(|dir| {
            let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
            rustix::fs::open(&dir, flags, Mode::empty()).ok().map(|fd| (dir, fd))
        });
        LocalFiles {
            base,
            buffer: Vec::new(),
        }
    }

    /// The bytes of the local file at `uri`, valid until the next read.
    pub fn read(&mut self, uri: &Uri) -> Result<&[u8]> {
        let path = local_path(uri)?;
        let length = self
            .open(&path)
            .and_then(|file| read_into(file, &mut self.buffer))
            .map_err(|source| local_error(uri, &path, source))?;
        Ok(&self.buffer[..length])
    }

    fn open(&self, path: &Path) -> std::io::Result<File> {
        let relative = self
            .base
            .as_ref()
            .and_then(|(dir, fd)| Some((path.strip_prefix(dir).ok()?, fd)));
        match relative {
            Some((relative, dir)) => {
                let flags = OFlags::RDONLY | OFlags::CLOEXEC;
                let fd = rustix::fs::openat(dir, relative, flags, Mode::empty())?;
                Ok(File::from(fd))
            }
            None => File::open(path),
        }
    }
}

/// The deepest directory every local file of `uris` is under, if that is
/// not the file system's root.
fn shared_directory(uris: &[Uri]) -> Option<PathBuf> {
    let mut paths = uris.iter().filter_map(Uri::to_file_path);
    let mut shared = paths.next()?.parent()?.to_path_buf();
    for path in paths {
        while !path.starts_with(&shared) {
            shared = shared.parent()?.to_path_buf();
        }
    }
    (shared.parent().is_some()).then_some(shared)
}

/// Reads `file` into the start of `buffer` (grown as needed, never
/// shrunk); returns its length.
fn read_into(mut file: File, buffer: &mut Vec<u8>) -> std::io::Result<usize> {
    if buffer.len() < FIRST_READ {
        buffer.resize(FIRST_READ, 0);
    }
    let mut filled = 0;
    loop {
        if filled == buffer.len() {
            buffer.resize(buffer.len() * 2, 0);
        }
        match file.read(&mut buffer[filled..]) {
            Ok(0) => return Ok(filled),
            Ok(read) => filled += read,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_read_whole_into_one_reused_buffer() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("c/a")).unwrap();
        std::fs::create_dir_all(dir.path().join("c/b")).unwrap();
        let big: Vec<u8> = (0..100_000u32).map(|n| (n % 251) as u8).collect();
        std::fs::write(dir.path().join("c/a/big.json"), &big).unwrap();
        std::fs::write(dir.path().join("c/b/small.json"), b"{}").unwrap();
        std::fs::write(dir.path().join("c/empty.json"), b"").unwrap();
        std::fs::write(dir.path().join("elsewhere.json"), b"[1]").unwrap();
        let uri = |name: &str| Uri::from_path(&dir.path().join(name)).unwrap();
        let uris = [uri("c/b/small.json"), uri("c/a/big.json"), uri("c/empty.json")];
        let mut files = LocalFiles::new(&uris);
        assert_eq!(
            files.base.as_ref().map(|(dir, _)| dir.clone()),
            Some(dir.path().join("c")),
            "the directory the files share"
        );
        for (name, expected) in [
            ("c/b/small.json", &b"{}"[..]),
            ("c/a/big.json", &big),
            ("c/empty.json", b""),
            ("c/b/small.json", b"{}"),
            ("elsewhere.json", b"[1]"),
        ] {
            assert_eq!(files.read(&uri(name)).unwrap(), expected, "{name}");
        }
        let missing = files.read(&uri("c/missing.json")).unwrap_err();
        assert!(missing.is_not_found(), "{missing}");
    }

    #[test]
    fn files_sharing_only_the_root_are_read_by_their_whole_path() {
        let uris = [Uri::parse("/tmp/x.json").unwrap(), Uri::parse("/var/y.json").unwrap()];
        assert_eq!(shared_directory(&uris), None);
        assert!(LocalFiles::new(&uris).base.is_none());
    }
}
