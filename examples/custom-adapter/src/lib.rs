//! An example of your own store under statebench: `VersionedMap`, a map of versioned values
//! behind one mutex, implements [`StateStore`]. Its tests run statebench's conformance and
//! consistency checks as ordinary `#[test]`s, its bench drives it from criterion, and its
//! binary makes a full statebench run with a report.
//!
//! [`VersionedMap::broken`] is the same store with a deliberately broken compare-and-set
//! (checked under the lock, written after it), to show that the checks catch it.
#![forbid(unsafe_code)]

use async_trait::async_trait;
use bytes::Bytes;
use statebench_adapters::{
    Adapter, Capabilities, Capability, Descriptor, Expect, StateError, StateStore, StoreError,
    Technique, Version, Versioned,
};
use statebench_suites::{Subject, Target};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// How a put checks its expectation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cas {
    /// Checked and written under one lock: atomic.
    Atomic,
    /// Checked under the lock, written under it again later: a racy get-then-put.
    GetThenPut,
}

/// One versioned value per key, in process memory.
pub struct VersionedMap {
    values: Mutex<Values>,
    cas: Cas,
    descriptor: Descriptor,
}

#[derive(Default)]
struct Values {
    by_key: HashMap<String, Versioned>,
    /// The last version given out: versions increase across the map, so per key too.
    last: u64,
}

impl VersionedMap {
    /// A correct, empty store.
    pub fn new() -> Self {
        Self::with(Cas::Atomic)
    }

    /// A deliberately broken, empty store: its compare-and-set checks the version, lets go
    /// of the lock, then writes, so two writers expecting one version can both win.
    pub fn broken() -> Self {
        Self::with(Cas::GetThenPut)
    }

    fn with(cas: Cas) -> Self {
        let mut settings = [("durability".to_owned(), "none (process memory)".to_owned())];
        if cas == Cas::GetThenPut {
            settings[0] = ("cas".into(), "get-then-put (deliberately broken)".into());
        }
        Self {
            values: Mutex::default(),
            cas,
            descriptor: Descriptor {
                adapter: "versioned-map".into(),
                technique: Technique::ExternalDataStore,
                backend: "in-process".into(),
                capabilities: Capabilities::state_store(
                    Capability::Supported,
                    Capability::Supported,
                    Capability::unsupported("process memory: gone when the process ends"),
                ),
                settings: settings.into(),
            },
        }
    }

    fn lock(&self) -> MutexGuard<'_, Values> {
        // A panic while holding the lock leaves whole values behind: keep going.
        self.values.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for VersionedMap {
    fn default() -> Self {
        Self::new()
    }
}

/// `store` as a statebench subject named `name`.
pub fn subject(name: &str, store: VersionedMap) -> Subject {
    Subject::new(name, Target::State(Arc::new(store)), "in process")
}

impl Values {
    /// Conflicts unless `expect` holds for `key`.
    fn check(&self, key: &str, expect: Expect) -> Result<(), StateError> {
        let current = self.by_key.get(key).map(|v| v.version);
        let holds = match expect {
            Expect::Any => true,
            Expect::Absent => current.is_none(),
            Expect::Version(v) => current == Some(v),
        };
        if holds {
            Ok(())
        } else {
            Err(StoreError::Conflict { actual: current })
        }
    }

    fn write(&mut self, key: &str, value: Bytes) -> Version {
        self.last += 1;
        let version = Version::from_raw(self.last);
        self.by_key
            .insert(key.to_owned(), Versioned { value, version });
        version
    }
}

impl Adapter for VersionedMap {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
}

#[async_trait]
impl StateStore for VersionedMap {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StateError> {
        Ok(self.lock().by_key.get(key).cloned())
    }

    async fn put(&self, key: &str, value: Bytes, expect: Expect) -> Result<Version, StateError> {
        if self.cas == Cas::Atomic {
            let mut values = self.lock();
            values.check(key, expect)?;
            return Ok(values.write(key, value));
        }
        self.lock().check(key, expect)?;
        // The bug: between the check and the write, the lock is free. A store reached over
        // a network makes a round trip here; this yield stands for it.
        tokio::task::yield_now().await;
        Ok(self.lock().write(key, value))
    }
}
