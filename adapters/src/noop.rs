//! `noop`: stores nothing and answers at once; measures the harness's own ceiling.

use crate::{
    Adapter, Appended, Capabilities, Capability, Descriptor, EventData, EventError, EventStore,
    Expect, ExpectRevision, ReadFrom, RecordedEvent, Revision, StateError, StateStore, Technique,
    Version, Versioned,
};
use async_trait::async_trait;
use bytes::Bytes;
use std::sync::atomic::{AtomicU64, Ordering};

/// What `noop` is and promises: nothing.
pub fn descriptor() -> Descriptor {
    let nothing = || Capability::unsupported("stores nothing");
    Descriptor {
        adapter: "noop".into(),
        technique: Technique::Diagnostic,
        backend: "none".into(),
        capabilities: Capabilities {
            cas: nothing(),
            read_your_writes: nothing(),
            dense_revisions: nothing(),
            kill_durable: nothing(),
            atomic_multi_event_append: nothing(),
            idempotent_append: nothing(),
        },
        settings: Default::default(),
    }
}

/// Acknowledges every write (with versions that grow, as the contract asks) and finds
/// nothing on every read.
pub struct Noop {
    descriptor: Descriptor,
    versions: AtomicU64,
}

impl Default for Noop {
    fn default() -> Self {
        Self {
            descriptor: descriptor(),
            versions: AtomicU64::new(0),
        }
    }
}

impl Adapter for Noop {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
}

#[async_trait]
impl StateStore for Noop {
    async fn get(&self, _key: &str) -> Result<Option<Versioned>, StateError> {
        Ok(None)
    }

    async fn put(&self, _key: &str, _value: Bytes, _expect: Expect) -> Result<Version, StateError> {
        Ok(Version::from_raw(
            self.versions.fetch_add(1, Ordering::Relaxed) + 1,
        ))
    }
}

#[async_trait]
impl EventStore for Noop {
    async fn append(
        &self,
        _stream: &str,
        _events: Vec<EventData>,
        _expect: ExpectRevision,
    ) -> Result<Appended, EventError> {
        Ok(Appended {
            last: Revision::from_raw(0),
            position: None,
        })
    }

    async fn read(
        &self,
        _stream: &str,
        _from: ReadFrom,
        _max: usize,
    ) -> Result<Vec<RecordedEvent>, EventError> {
        Ok(Vec::new())
    }
}
