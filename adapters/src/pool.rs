//! A pool of connections that each serve one operation at a time, shared by the Redis and
//! PostgreSQL adapters.
//!
//! An operation takes the most recently used idle connection (so that a client running
//! alone keeps one server connection busy, as pgbench's and redis-benchmark's do), or opens
//! one while fewer than the pool's size are in use, or else waits for one to come back; it
//! gives the connection back when done, unless the connection can no longer be used. Idle
//! connections close after a while, so that the pools of subjects that are not running hold
//! no server connections.
//!
//! It is ours rather than deadpool's: taking and returning a connection here is a lock, a
//! `Vec` pop and a semaphore permit, where deadpool's `get` cost about 1,000 instructions and
//! its large futures were copied into every operation's boxed future (callgrind; README,
//! "Peer parity").

use parking_lot::Mutex;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// An idle connection unused this long is closed (within twice this: the check runs this
/// often), so that the pools of subjects that are not running hold no server connections.
pub const IDLE: Duration = Duration::from_secs(5);

/// A connection a [`Pool`] can hand out again.
pub trait Reusable: Send + 'static {
    /// Whether the connection can take another request: not broken, closed or out of step.
    /// Called when the connection comes back and before it is reused; it must be cheap.
    fn usable(&self) -> bool;
}

/// The connections to one server: the idle ones, the most recently used last, and one
/// permit per connection in use.
pub struct Pool<C> {
    idle: Mutex<Vec<(C, Instant)>>,
    permits: Arc<Semaphore>,
}

impl<C: Reusable> Pool<C> {
    /// A pool of at most `size` connections (at least 1), none open yet.
    pub fn new(size: usize) -> Arc<Self> {
        Arc::new(Self {
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(size.max(1))),
        })
    }

    /// A connection for one operation: the most recently used idle one that is still
    /// usable, or a new one from `open` while fewer than the pool's size are in use; else
    /// waits for one to come back. The caller bounds the wait.
    pub async fn get<E, Open>(self: &Arc<Self>, open: Open) -> Result<Lease<C>, E>
    where
        Open: AsyncFnOnce() -> Result<C, E>,
    {
        // The semaphore is the pool's own and never closed.
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("a pool's semaphore is never closed");
        let conn = match self.reuse() {
            Some(conn) => conn,
            // Boxed: opening a connection is a large future (tokio-postgres's connect is
            // kilobytes), and inline it would make every operation's future that large, to
            // be copied each time the operation's future moves.
            None => Box::pin(open()).await?,
        };
        Ok(Lease {
            conn: Some(conn),
            pool: self.clone(),
            _permit: permit,
        })
    }

    /// The most recently used idle connection that is still usable, closing those that are
    /// not.
    fn reuse(&self) -> Option<C> {
        let mut idle = self.idle.lock();
        while let Some((conn, _)) = idle.pop() {
            if conn.usable() {
                return Some(conn);
            }
        }
        None
    }

    /// Closes the idle connections unused for [`IDLE`], every [`IDLE`] (so within twice
    /// that), until the pool is dropped.
    pub fn close_idle(self: &Arc<Self>) {
        let pool: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(IDLE);
            every.tick().await;
            loop {
                every.tick().await;
                let Some(pool) = pool.upgrade() else { return };
                let closed: Vec<_> = {
                    let mut idle = pool.idle.lock();
                    let (keep, close) = idle.drain(..).partition(|(_, used)| used.elapsed() < IDLE);
                    *idle = keep;
                    close
                };
                // Dropping them closes them, outside the lock.
                drop(closed);
            }
        });
    }
}

/// A connection taken from a [`Pool`] for one operation; it goes back when dropped, unless
/// it is no longer usable.
pub struct Lease<C: Reusable> {
    conn: Option<C>,
    pool: Arc<Pool<C>>,
    _permit: OwnedSemaphorePermit,
}

impl<C: Reusable> Deref for Lease<C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.conn.as_ref().expect("a connection until dropped")
    }
}

impl<C: Reusable> DerefMut for Lease<C> {
    fn deref_mut(&mut self) -> &mut C {
        self.conn.as_mut().expect("a connection until dropped")
    }
}

impl<C: Reusable> Drop for Lease<C> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && conn.usable()
        {
            self.pool.idle.lock().push((conn, Instant::now()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    struct Fake {
        id: usize,
        broken: Arc<AtomicBool>,
    }

    impl Reusable for Fake {
        fn usable(&self) -> bool {
            !self.broken.load(Ordering::Relaxed)
        }
    }

    fn opener(opened: &AtomicUsize) -> impl AsyncFnOnce() -> Result<Fake, String> + '_ {
        async move || {
            Ok(Fake {
                id: opened.fetch_add(1, Ordering::Relaxed),
                broken: Arc::new(AtomicBool::new(false)),
            })
        }
    }

    #[tokio::test]
    async fn the_most_recently_used_connection_is_reused_and_broken_ones_are_not() {
        let pool = Pool::<Fake>::new(4);
        let opened = AtomicUsize::new(0);
        let a = pool.get(opener(&opened)).await.unwrap();
        let b = pool.get(opener(&opened)).await.unwrap();
        assert_eq!((a.id, b.id), (0, 1));
        drop(a);
        drop(b);
        // b came back last: it goes out first.
        let again = pool.get(opener(&opened)).await.unwrap();
        assert_eq!(again.id, 1);
        again.broken.store(true, Ordering::Relaxed);
        drop(again);
        // The broken one was not kept; a is next.
        let next = pool.get(opener(&opened)).await.unwrap();
        assert_eq!(next.id, 0);
        next.broken.store(true, Ordering::Relaxed);
        let other = pool.get(opener(&opened)).await.unwrap();
        assert_eq!(other.id, 2, "nothing idle: a new one");
        assert_eq!(opened.load(Ordering::Relaxed), 3);
    }

    #[tokio::test]
    async fn a_full_pool_waits_for_a_connection_to_come_back() {
        let pool = Pool::<Fake>::new(1);
        let opened = AtomicUsize::new(0);
        let held = pool.get(opener(&opened)).await.unwrap();
        let waiting =
            tokio::time::timeout(Duration::from_millis(50), pool.get(opener(&opened))).await;
        assert!(waiting.is_err(), "a second connection beyond the size");
        drop(held);
        let got = pool.get(opener(&opened)).await.unwrap();
        assert_eq!(got.id, 0);
        assert_eq!(opened.load(Ordering::Relaxed), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_connections_close_after_a_while() {
        let pool = Pool::<Fake>::new(2);
        let opened = AtomicUsize::new(0);
        pool.close_idle();
        drop(pool.get(opener(&opened)).await.unwrap());
        assert_eq!(pool.idle.lock().len(), 1);
        tokio::time::sleep(IDLE * 2 + Duration::from_secs(1)).await;
        assert_eq!(pool.idle.lock().len(), 0);
    }
}
