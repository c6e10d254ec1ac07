//! Byte strings end to end, kept out of the heap: written to an unlinked
//! temporary file as they are read, then mapped read-only, so the kernel's
//! page cache holds them (and drops the pages it needs back), not the
//! process's heap. The row directory keeps its geometries (WKB, the
//! largest part) this way. Where no temporary file can be made, they stay
//! in the heap; a file that fails once made fails the directory's load.

use crate::{Error, Result};
use std::fs::File;
use std::io::{BufWriter, Write};

/// Byte strings, pushed in order, then read by position.
pub(crate) struct Blobs {
    storage: Storage,
    ends: Vec<u64>,
}

enum Storage {
    /// Being written to a temporary file.
    Writing(BufWriter<File>),
    /// Mapped from that file once written.
    Mapped(Mapping),
    /// In the heap (no temporary file could be written).
    Heap(Vec<u8>),
}

impl Blobs {
    /// An empty set, written to a temporary file when one can be made.
    pub(crate) fn new() -> Blobs {
        let storage = match tempfile::tempfile() {
            Ok(file) => Storage::Writing(BufWriter::with_capacity(1 << 20, file)),
            Err(error) => {
                tracing::warn!(%error, "no temporary file: geometries stay in memory");
                Storage::Heap(Vec::new())
            }
        };
        Blobs {
            storage,
            ends: Vec::new(),
        }
    }

    /// Appends a value.
    pub(crate) fn push(&mut self, value: &[u8]) -> Result<()> {
        match &mut self.storage {
            Storage::Writing(file) => file.write_all(value).map_err(temporary_file)?,
            Storage::Heap(bytes) => bytes.extend_from_slice(value),
            Storage::Mapped(_) => return Err(Error::Internal("a value pushed after the blobs were mapped".into())),
        }
        self.ends
            .push(self.ends.last().copied().unwrap_or(0) + value.len() as u64);
        Ok(())
    }

    /// Ends the writing: the file written is mapped.
    pub(crate) fn finish(&mut self) -> Result<()> {
        self.ends.shrink_to_fit();
        match std::mem::replace(&mut self.storage, Storage::Heap(Vec::new())) {
            Storage::Writing(writer) => {
                let file = writer.into_inner().map_err(|e| temporary_file(e.into_error()))?;
                self.storage = Storage::Mapped(Mapping::of(&file).map_err(temporary_file)?);
            }
            Storage::Heap(mut bytes) => {
                bytes.shrink_to_fit();
                self.storage = Storage::Heap(bytes);
            }
            mapped => self.storage = mapped,
        }
        Ok(())
    }

    /// Value `index` (empty while still being written to a file).
    pub(crate) fn get(&self, index: usize) -> &[u8] {
        let start = if index == 0 { 0 } else { self.ends[index - 1] as usize };
        let end = self.ends[index] as usize;
        match &self.storage {
            Storage::Mapped(mapping) => &mapping.bytes()[start..end],
            Storage::Heap(bytes) => &bytes[start..end],
            Storage::Writing(_) => &[],
        }
    }

    /// The heap bytes they take (the mapped ones are the page cache's).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.ends.capacity() * 8
            + match &self.storage {
                Storage::Heap(bytes) => bytes.capacity(),
                Storage::Mapped(_) | Storage::Writing(_) => 0,
            }
    }

    /// Whether the values live in a mapped file.
    #[cfg(test)]
    fn is_mapped(&self) -> bool {
        matches!(self.storage, Storage::Mapped(_))
    }
}

fn temporary_file(error: std::io::Error) -> Error {
    Error::Internal(format!("the geometries' temporary file: {error}"))
}

/// A read-only private mapping of a whole file, unmapped on drop.
struct Mapping {
    address: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is read-only and never changes while it lives; the
// file behind it is unlinked and written only before it was mapped.
unsafe impl Send for Mapping {}
// SAFETY: as above: shared reads of immutable memory.
unsafe impl Sync for Mapping {}

impl Mapping {
    fn of(file: &File) -> std::io::Result<Mapping> {
        use std::os::fd::AsRawFd;
        let len = file.metadata()?.len() as usize;
        if len == 0 {
            return Ok(Mapping {
                address: std::ptr::null_mut(),
                len: 0,
            });
        }
        // SAFETY: a fresh read-only private mapping of `len` bytes of an open
        // file; the kernel picks the address. Checked for MAP_FAILED below.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if address == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Mapping { address, len })
    }

    fn bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `address` maps `len` readable bytes until `drop`, and
        // nothing writes them.
        unsafe { std::slice::from_raw_parts(self.address.cast::<u8>(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: unmaps exactly the mapping made in `of`, once.
            unsafe {
                libc::munmap(self.address, self.len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_from_the_mapped_file() {
        let mut blobs = Blobs::new();
        let values: Vec<Vec<u8>> = (0..10_000u32).map(|n| n.to_le_bytes().repeat(n as usize % 7)).collect();
        for value in &values {
            blobs.push(value).unwrap();
        }
        blobs.finish().unwrap();
        assert!(blobs.is_mapped(), "a temporary file can be made here");
        for (index, value) in values.iter().enumerate() {
            assert_eq!(blobs.get(index), value.as_slice());
        }
        assert_eq!(blobs.heap_bytes(), 10_000 * 8);
    }

    #[test]
    fn empty_values_map_nothing() {
        let mut blobs = Blobs::new();
        blobs.push(b"").unwrap();
        blobs.finish().unwrap();
        assert_eq!(blobs.get(0), b"");
        assert!(blobs.push(b"late").is_err(), "mapped blobs take no more values");
    }
}
