//! `memory`: the in-process reference adapter and the embedded default.
//!
//! Every key and stream lives behind one of a fixed set of mutexes, so each operation is
//! atomic on its key: linearizable by construction. Everything else is compared against it.

use crate::{
    Adapter, Appended, Capabilities, Capability, Descriptor, EventData, EventError, EventStore,
    Expect, ExpectRevision, ReadFrom, RecordedEvent, Revision, Snapshot, Snapshots, StateError,
    StateStore, StoreError, Technique, Version, Versioned,
};
use async_trait::async_trait;
use bytes::Bytes;
use foldhash::HashMap;
use parking_lot::Mutex;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use uuid::Uuid;

const SHARDS: usize = 64;

/// What `memory` is and promises.
pub fn descriptor() -> Descriptor {
    let none = || Capability::unsupported("process memory: gone when the process ends");
    Descriptor {
        adapter: "memory".into(),
        technique: Technique::Reference,
        backend: "in-process".into(),
        capabilities: Capabilities {
            cas: Capability::Supported,
            read_your_writes: Capability::Supported,
            dense_revisions: Capability::Supported,
            kill_durable: none(),
            atomic_multi_event_append: Capability::Supported,
            idempotent_append: Capability::Supported,
        },
        settings: [("durability".to_owned(), "none (process memory)".to_owned())].into(),
    }
}

/// The in-process store; implements both [`StateStore`] and [`EventStore`].
pub struct Memory {
    shards: Box<[Mutex<Shard>]>,
    hasher: foldhash::fast::FixedState,
    next_position: AtomicU64,
    descriptor: Descriptor,
}

#[derive(Default)]
struct Shard {
    values: HashMap<String, Versioned>,
    streams: HashMap<String, Stream>,
    snapshots: HashMap<String, Snapshot>,
}

#[derive(Default)]
struct Stream {
    events: Vec<RecordedEvent>,
    ids: HashMap<Uuid, usize>,
}

impl Default for Memory {
    fn default() -> Self {
        Self::new()
    }
}

impl Memory {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: foldhash::fast::FixedState::with_seed(0x5eed),
            next_position: AtomicU64::new(0),
            descriptor: descriptor(),
        }
    }

    fn shard(&self, key: &str) -> &Mutex<Shard> {
        // The shard count is a power of two, so the mask keeps the low bits of the hash.
        &self.shards[self.hasher.hash_one(key) as usize & (SHARDS - 1)]
    }

    /// The version `key` holds now, `None` when it is absent.
    pub(crate) fn version(&self, key: &str) -> Option<Version> {
        self.shard(key).lock().values.get(key).map(|v| v.version)
    }

    /// The revision of `stream`'s last event, `None` when it has none.
    pub(crate) fn last_revision(&self, stream: &str) -> Option<Revision> {
        self.shard(stream)
            .lock()
            .streams
            .get(stream)
            .and_then(Stream::last)
    }
}

/// The version a put gives a key that holds `current`.
pub(crate) fn next_version(current: Option<Version>) -> Version {
    Version::from_raw(current.map_or(1, |v| v.raw() + 1))
}

/// The revision the last of `count` (one or more) events appended after `last` gets:
/// revisions count the stream's events from 0.
pub(crate) fn last_appended(last: Option<Revision>, count: usize) -> Revision {
    Revision::from_raw(last.map_or(0, |r| r.raw() + 1) + count as u64 - 1)
}

pub(crate) fn holds(expect: Expect, current: Option<Version>) -> bool {
    match expect {
        Expect::Any => true,
        Expect::Absent => current.is_none(),
        Expect::Version(v) => current == Some(v),
    }
}

pub(crate) fn revision_holds(expect: ExpectRevision, current: Option<Revision>) -> bool {
    match expect {
        ExpectRevision::Any => true,
        ExpectRevision::NoStream => current.is_none(),
        ExpectRevision::Exact(r) => current == Some(r),
    }
}

impl Adapter for Memory {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
}

#[async_trait]
impl StateStore for Memory {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StateError> {
        Ok(self.shard(key).lock().values.get(key).cloned())
    }

    async fn put(&self, key: &str, value: Bytes, expect: Expect) -> Result<Version, StateError> {
        let mut shard = self.shard(key).lock();
        let current = shard.values.get(key).map(|v| v.version);
        if !holds(expect, current) {
            return Err(StoreError::Conflict { actual: current });
        }
        let version = next_version(current);
        match shard.values.get_mut(key) {
            Some(slot) => *slot = Versioned { value, version },
            None => {
                shard
                    .values
                    .insert(key.to_owned(), Versioned { value, version });
            }
        }
        Ok(version)
    }
}

impl Stream {
    fn last(&self) -> Option<Revision> {
        self.events.last().map(|e| e.revision)
    }

    /// The acknowledgement of an earlier identical append, when `events` repeats one.
    fn repeated(&self, events: &[EventData]) -> Option<Appended> {
        let first = *self.ids.get(&events.first()?.id?)?;
        let stored = self.events.get(first..first + events.len())?;
        let same = stored
            .iter()
            .zip(events)
            .all(|(s, e)| e.id.is_some() && s.id == e.id);
        let last = stored.last()?;
        same.then_some(Appended {
            last: last.revision,
            position: last.position,
        })
    }

    fn push(&mut self, event: EventData, position: u64) {
        let index = self.events.len();
        if let Some(id) = event.id {
            self.ids.insert(id, index);
        }
        self.events.push(RecordedEvent {
            revision: Revision::from_raw(index as u64),
            position: Some(position),
            id: event.id,
            event_type: event.event_type,
            data: event.data,
        });
    }
}

#[async_trait]
impl EventStore for Memory {
    async fn append(
        &self,
        stream: &str,
        events: Vec<EventData>,
        expect: ExpectRevision,
    ) -> Result<Appended, EventError> {
        EventData::require_some(&events)?;
        let mut shard = self.shard(stream).lock();
        let existing = shard.streams.get(stream);
        if let Some(done) = existing.and_then(|s| s.repeated(&events)) {
            return Ok(done);
        }
        let current = existing.and_then(Stream::last);
        if !revision_holds(expect, current) {
            return Err(StoreError::Conflict { actual: current });
        }
        if !shard.streams.contains_key(stream) {
            shard.streams.insert(stream.to_owned(), Stream::default());
        }
        let target = shard.streams.get_mut(stream).expect("inserted above");
        let count = events.len() as u64;
        let first_position = self.next_position.fetch_add(count, Ordering::Relaxed);
        for (offset, event) in (0..).zip(events) {
            target.push(event, first_position + offset);
        }
        Ok(Appended {
            last: target.last().expect("at least one event was pushed"),
            position: Some(first_position + count - 1),
        })
    }

    async fn read(
        &self,
        stream: &str,
        from: ReadFrom,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, EventError> {
        let shard = self.shard(stream).lock();
        let Some(events) = shard.streams.get(stream).map(|s| &s.events) else {
            return Ok(Vec::new());
        };
        let start = match from {
            ReadFrom::Start => 0,
            ReadFrom::After(r) => usize::try_from(r.raw()).map_or(usize::MAX, |r| r + 1),
        };
        Ok(events.iter().skip(start).take(max).cloned().collect())
    }
}

#[async_trait]
impl Snapshots for Memory {
    async fn load_snapshot(&self, stream: &str) -> Result<Option<Snapshot>, EventError> {
        Ok(self.shard(stream).lock().snapshots.get(stream).cloned())
    }

    async fn save_snapshot(&self, stream: &str, snapshot: Snapshot) -> Result<(), EventError> {
        let mut shard = self.shard(stream).lock();
        let newer = shard
            .snapshots
            .get(stream)
            .is_some_and(|s| s.revision >= snapshot.revision);
        if !newer {
            shard.snapshots.insert(stream.to_owned(), snapshot);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: Option<u128>, kind: &str) -> EventData {
        EventData {
            id: id.map(Uuid::from_u128),
            event_type: kind.into(),
            data: Bytes::new(),
        }
    }

    #[tokio::test]
    async fn versions_start_at_one_and_grow_per_key() {
        let m = Memory::new();
        let v1 = m
            .put("a", Bytes::from_static(b"x"), Expect::Absent)
            .await
            .unwrap();
        let v2 = m
            .put("a", Bytes::from_static(b"y"), Expect::Version(v1))
            .await
            .unwrap();
        assert_eq!((v1.raw(), v2.raw()), (1, 2));
        let stale = m
            .put("a", Bytes::new(), Expect::Version(v1))
            .await
            .unwrap_err();
        assert_eq!(stale, StoreError::Conflict { actual: Some(v2) });
        assert_eq!(
            m.get("a").await.unwrap().unwrap().value,
            Bytes::from_static(b"y")
        );
    }

    #[tokio::test]
    async fn repeated_appends_with_the_same_ids_are_not_duplicated() {
        let m = Memory::new();
        let batch = vec![event(Some(1), "A"), event(Some(2), "B")];
        let first = m
            .append("s", batch.clone(), ExpectRevision::NoStream)
            .await
            .unwrap();
        let again = m
            .append("s", batch, ExpectRevision::NoStream)
            .await
            .unwrap();
        assert_eq!(first, again);
        assert_eq!(m.read("s", ReadFrom::Start, 10).await.unwrap().len(), 2);
        let anonymous = m
            .append("s", vec![event(None, "C")], ExpectRevision::Any)
            .await;
        assert_eq!(anonymous.unwrap().last.raw(), 2);
    }

    #[tokio::test]
    async fn reads_after_a_revision_skip_what_came_before() {
        let m = Memory::new();
        let batch = (0..5).map(|_| event(None, "E")).collect();
        m.append("s", batch, ExpectRevision::Any).await.unwrap();
        let tail = m
            .read("s", ReadFrom::After(Revision::from_raw(2)), 10)
            .await
            .unwrap();
        let revisions: Vec<u64> = tail.iter().map(|e| e.revision.raw()).collect();
        assert_eq!(revisions, [3, 4]);
        assert!(
            m.read("missing", ReadFrom::Start, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
