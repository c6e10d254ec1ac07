//! Live counters a front end can poll (the CLI draws a progress bar from them).

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters updated while a run goes on.
#[derive(Debug, Default)]
pub struct Progress {
    documents: AtomicU64,
    items: AtomicU64,
    errors: AtomicU64,
}

impl Progress {
    /// Documents fetched so far.
    pub fn documents(&self) -> u64 {
        self.documents.load(Ordering::Relaxed)
    }

    /// Items extracted so far.
    pub fn items(&self) -> u64 {
        self.items.load(Ordering::Relaxed)
    }

    /// Errors recorded so far.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    pub(crate) fn add_documents(&self, n: u64) {
        self.documents.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_items(&self, n: u64) {
        self.items.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_errors(&self, n: u64) {
        self.errors.fetch_add(n, Ordering::Relaxed);
    }
}
