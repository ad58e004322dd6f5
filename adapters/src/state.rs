//! The key-value contract: one versioned value per key.

use crate::{Adapter, StateError, Version};
use async_trait::async_trait;
use bytes::Bytes;

/// What a [`StateStore::put`] expects of the key's current value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// No expectation: a blind write.
    Any,
    /// The key must not exist: create only.
    Absent,
    /// The key must be at exactly this version: compare-and-set.
    Version(Version),
}

/// A value and the version that wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Versioned {
    /// The stored bytes.
    pub value: Bytes,
    /// The version of this value.
    pub version: Version,
}

/// One versioned value per key.
///
/// Guarantee G1 (CAS): of N concurrent `put`s with the same `Expect::Version(v)`, exactly one
/// succeeds and the others get [`StoreError::Conflict`](crate::StoreError::Conflict), unless
/// the descriptor declares `cas` unsupported.
#[async_trait]
pub trait StateStore: Adapter {
    /// The current value of `key` and its version, or `None` when absent.
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StateError>;

    /// Writes `value` if `expect` holds and returns the new version, which is greater than
    /// every earlier version of the key.
    async fn put(&self, key: &str, value: Bytes, expect: Expect) -> Result<Version, StateError>;
}
