//! `StaleCache`: a cache in front of a truth that writes never invalidate.

use super::descriptor;
use crate::layered::{Cached, Layered};
use crate::memory::{self, Memory};
use crate::{
    Adapter, Capabilities, Capability, Descriptor, Expect, StateError, StateStore, Version,
    Versioned,
};
use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::Duration;

/// A cache-aside [`Layered`] store done wrong: reads fill the cache on a miss, writes go to
/// the truth (a [`Memory`], compare-and-set there and correct) and never invalidate or update
/// the cache, and entries never expire. A key read once serves that value for good. It
/// declares what a real cache-aside does: compare-and-set, and no read-your-writes.
pub struct StaleCache {
    truth: Memory,
    cache: Mutex<HashMap<String, Versioned>>,
    descriptor: Descriptor,
}

impl Default for StaleCache {
    fn default() -> Self {
        Self::new()
    }
}

impl StaleCache {
    /// An empty truth behind an empty cache.
    pub fn new() -> Self {
        let capabilities = Capabilities::state_store(
            Capability::Supported,
            Capability::unsupported(
                "writes never invalidate the cache: a key read before a write serves the old value",
            ),
            memory::descriptor().capabilities.kill_durable,
        );
        let how = "a cache that writes never invalidate and whose entries never expire";
        Self {
            truth: Memory::new(),
            cache: Mutex::default(),
            descriptor: descriptor("broken-cache", how, None, capabilities),
        }
    }
}

impl Adapter for StaleCache {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
}

#[async_trait]
impl StateStore for StaleCache {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StateError> {
        if let Some(hit) = self.cache.lock().get(key) {
            return Ok(Some(hit.clone()));
        }
        let found = self.truth.get(key).await?;
        if let Some(found) = &found {
            self.cache.lock().insert(key.to_owned(), found.clone());
        }
        Ok(found)
    }

    async fn put(&self, key: &str, value: Bytes, expect: Expect) -> Result<Version, StateError> {
        self.truth.put(key, value, expect).await
    }
}

#[async_trait]
impl Layered for StaleCache {
    async fn truth(&self, key: &str) -> Result<Option<Versioned>, StateError> {
        self.truth.get(key).await
    }

    async fn cached(&self, key: &str) -> Result<Option<Cached>, StateError> {
        let entry = self.cache.lock().get(key).cloned();
        Ok(entry.map(|entry| Cached {
            entry,
            expires_in: None,
        }))
    }

    fn staleness_bound(&self) -> Option<Duration> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_never_read_reads_its_latest_write() {
        let s = StaleCache::new();
        let v1 = s.put("k", Bytes::from("a"), Expect::Absent).await.unwrap();
        let v2 = s.put("k", Bytes::from("b"), Expect::Version(v1)).await;
        let found = s.get("k").await.unwrap().unwrap();
        assert_eq!(
            (found.value, found.version),
            (Bytes::from("b"), v2.unwrap())
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_key_read_once_serves_that_value_for_good() {
        let s = StaleCache::new();
        let v1 = s.put("k", Bytes::from("a"), Expect::Absent).await.unwrap();
        s.get("k").await.unwrap();
        let v2 = s.put("k", Bytes::from("b"), Expect::Version(v1)).await;
        let v2 = v2.unwrap();
        assert_eq!(s.get("k").await.unwrap().unwrap().version, v1, "stale");
        assert_eq!(s.truth("k").await.unwrap().unwrap().version, v2);
        let cached = s.cached("k").await.unwrap().unwrap();
        assert_eq!((cached.entry.version, cached.expires_in), (v1, None));
        assert_eq!(s.staleness_bound(), None);
        let stale = s.put("k", Bytes::new(), Expect::Version(v1)).await;
        assert!(stale.is_err(), "compare-and-set is checked in the truth");
    }
}
