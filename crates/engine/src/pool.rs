//! A pool of DuckDB connections to one in-process database.
//!
//! Queries run on tokio's blocking threads, never on a worker thread, each on
//! its own connection: requests are not serialised behind one connection or
//! one lock (the mutex below is held only to take or return a connection).
//!
//! A connection is lent with a [`Lease`] that travels with the blocking work
//! and returns the connection when it is dropped: when the work finishes,
//! fails or panics, and whether or not the request that asked for it is
//! still waiting (a client that disconnects cancels only the waiting). The
//! permit that admits the work travels with it too, so the number of
//! permits never exceeds the number of idle connections.

use crate::{Error, Result};
use duckdb::Connection;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Connections to one database, lent out one per query.
pub struct Pool {
    idle: Mutex<Vec<Connection>>,
    available: Arc<Semaphore>,
}

/// One connection on loan; given back to its pool on drop.
struct Lease {
    pool: Arc<Pool>,
    connection: Option<Connection>,
    /// Released after the connection is back (fields drop in order).
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    fn connection(&self) -> &Connection {
        self.connection
            .as_ref()
            .expect("a lease holds its connection until dropped")
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(connection);
        }
    }
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
            available: Arc::new(Semaphore::new(idle.len())),
            idle: Mutex::new(idle),
        }))
    }

    /// Runs `work` with a connection on a blocking thread.
    pub async fn run<T, F>(self: &Arc<Self>, work: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let permit = self
            .available
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Internal("the connection pool is closed".into()))?;
        let lease = self.lease(permit)?;
        tokio::task::spawn_blocking(move || work(lease.connection()))
            .await
            .map_err(|e| Error::Internal(format!("a query task failed: {e}")))?
    }

    fn lease(self: &Arc<Self>, permit: OwnedSemaphorePermit) -> Result<Lease> {
        let connection = self
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .ok_or_else(|| Error::Internal("no idle connection behind a permit".into()))?;
        Ok(Lease {
            pool: self.clone(),
            connection: Some(connection),
            _permit: permit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pool(size: usize) -> Arc<Pool> {
        Pool::new(Connection::open_in_memory().unwrap(), size).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancelled_waiters_do_not_lose_connections() {
        let pool = pool(2);
        // Start slow queries and drop their futures while they run.
        for _ in 0..8 {
            let slow = pool.run(|_| {
                std::thread::sleep(Duration::from_millis(30));
                Ok(())
            });
            let _ = tokio::time::timeout(Duration::from_millis(5), slow).await;
        }
        // Every connection comes back: many concurrent queries all succeed.
        let runs = (0..32).map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.run(move |c| Ok(c.query_row("SELECT ?::BIGINT", [i], |r| r.get::<_, i64>(0))?))
                    .await
            })
        });
        for (i, run) in runs.enumerate() {
            assert_eq!(run.await.unwrap().unwrap(), i as i64);
        }
        assert_eq!(pool.idle.lock().unwrap().len(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failing_and_panicking_work_give_their_connection_back() {
        let pool = pool(1);
        let failed: Result<()> = pool.run(|_| Err(Error::Internal("no".into()))).await;
        assert!(failed.is_err());
        let panicked: Result<()> = pool.run(|_| panic!("a query panicked")).await;
        assert!(matches!(panicked, Err(Error::Internal(_))));
        assert_eq!(
            pool.run(|c| Ok(c.query_row("SELECT 7", [], |r| r.get::<_, i64>(0))?))
                .await
                .unwrap(),
            7
        );
    }
}
