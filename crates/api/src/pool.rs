//! A pool of DuckDB connections to one in-process database.
//!
//! Queries run on tokio's blocking threads, never on a worker thread, each on
//! its own connection: requests are not serialised behind one connection or
//! one lock (the mutex below is held only to take or return a connection).

use crate::{Error, Result};
use duckdb::Connection;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// Connections to one database, lent out one per query.
pub struct Pool {
    idle: Mutex<Vec<Connection>>,
    available: Semaphore,
}

impl Pool {
    /// `size` connections cloned from `first` (all share its database).
    pub fn new(first: Connection, size: usize) -> Result<Arc<Pool>> {
        let mut idle = Vec::with_capacity(size.max(1));
        for _ in 1..size.max(1) {
            idle.push(first.try_clone()?);
        }
        idle.push(first);
        Ok(Arc::new(Pool {
            available: Semaphore::new(idle.len()),
            idle: Mutex::new(idle),
        }))
    }

    /// Runs `work` with a connection on a blocking thread.
    pub async fn run<T, F>(self: &Arc<Self>, work: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self
            .available
            .acquire()
            .await
            .map_err(|_| Error::Internal("the connection pool is closed".into()))?;
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let connection = pool.take();
            let result = work(&connection);
            pool.give_back(connection);
            result
        })
        .await
        .map_err(|e| Error::Internal(format!("a query task failed: {e}")))?
    }

    fn take(&self) -> Connection {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .expect("a permit guarantees an idle connection")
    }

    fn give_back(&self, connection: Connection) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(connection);
    }
}
