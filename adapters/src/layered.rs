//! Stores that keep a cache in front of their truth, seen from both sides: so that a
//! consistency check can tell a stale cache entry from a lost write, and say how long a stale
//! entry may live.

use crate::{StateError, StateStore, Versioned};
use async_trait::async_trait;
use std::time::Duration;

/// What a cache holds for one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cached {
    /// The cached value and the version it claims.
    pub entry: Versioned,
    /// How long the cache keeps it; `None`: until something removes it.
    pub expires_in: Option<Duration>,
}

/// A [`StateStore`] with a cache in front of a truth (cache-aside): reads may come from the
/// cache, writes go to the truth.
#[async_trait]
pub trait Layered: StateStore {
    /// The truth's value of `key`, bypassing the cache.
    async fn truth(&self, key: &str) -> Result<Option<Versioned>, StateError>;

    /// What the cache holds for `key`, without filling it.
    async fn cached(&self, key: &str) -> Result<Option<Cached>, StateError>;

    /// The longest a stale entry may live (its time to live), if the store bounds it.
    fn staleness_bound(&self) -> Option<Duration>;
}
