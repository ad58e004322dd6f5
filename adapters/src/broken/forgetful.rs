//! `Forgetful`: acknowledges every write and silently drops some of them.

use super::{Seeded, snapshots_by_memory};
use crate::memory::{holds, last_appended, next_version, revision_holds};
use crate::{
    Adapter, Appended, Descriptor, EventData, EventError, EventStore, Expect, ExpectRevision,
    ReadFrom, RecordedEvent, StateError, StateStore, StoreError, Version, Versioned,
};
use async_trait::async_trait;
use bytes::Bytes;

/// About one acknowledged put or append in this many is dropped.
pub const FORGETS_ONE_IN: u64 = 20;

/// A [`StateStore`] and [`EventStore`] that acknowledges every write that its expectation
/// allows, with the version or revision it would have had, but silently drops a seeded
/// fraction ([`FORGETS_ONE_IN`]) of them. Expectations that fail are refused as they should
/// be. It claims everything memory claims.
pub struct Forgetful {
    seeded: Seeded,
}

impl Forgetful {
    /// An empty store that chooses what to forget by `seed`.
    pub fn new(seed: u64) -> Self {
        let how = format!(
            "acknowledges every write and drops about 1 in {FORGETS_ONE_IN} of them unstored"
        );
        Self {
            seeded: Seeded::new("broken-forgetful", &how, seed),
        }
    }

    fn forgets(&self) -> bool {
        self.seeded.dice.one_in(FORGETS_ONE_IN)
    }
}

impl Adapter for Forgetful {
    fn descriptor(&self) -> &Descriptor {
        &self.seeded.descriptor
    }
}

#[async_trait]
impl StateStore for Forgetful {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StateError> {
        self.seeded.memory.get(key).await
    }

    async fn put(&self, key: &str, value: Bytes, expect: Expect) -> Result<Version, StateError> {
        if !self.forgets() {
            return self.seeded.memory.put(key, value, expect).await;
        }
        let current = self.seeded.memory.version(key);
        if !holds(expect, current) {
            return Err(StoreError::Conflict { actual: current });
        }
        // The version memory would have given it.
        Ok(next_version(current))
    }
}

#[async_trait]
impl EventStore for Forgetful {
    async fn append(
        &self,
        stream: &str,
        events: Vec<EventData>,
        expect: ExpectRevision,
    ) -> Result<Appended, EventError> {
        EventData::require_some(&events)?;
        if !self.forgets() {
            return self.seeded.memory.append(stream, events, expect).await;
        }
        let current = self.seeded.memory.last_revision(stream);
        if !revision_holds(expect, current) {
            return Err(StoreError::Conflict { actual: current });
        }
        // The revision memory would have given its last event.
        Ok(Appended {
            last: last_appended(current, events.len()),
            position: None,
        })
    }

    async fn read(
        &self,
        stream: &str,
        from: ReadFrom,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, EventError> {
        self.seeded.memory.read(stream, from, max).await
    }
}

snapshots_by_memory!(Forgetful);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Revision;

    fn one() -> Vec<EventData> {
        vec![EventData {
            id: None,
            event_type: "E".into(),
            data: Bytes::new(),
        }]
    }

    /// Of 400 acknowledged puts to their own keys, the ones that cannot be read back.
    async fn forgotten_puts(seed: u64) -> Vec<usize> {
        let s = Forgetful::new(seed);
        let mut forgotten = Vec::new();
        for i in 0..400 {
            let key = format!("k{i}");
            let version = s.put(&key, Bytes::new(), Expect::Absent).await.unwrap();
            match s.get(&key).await.unwrap() {
                Some(found) => assert_eq!(found.version, version),
                None => forgotten.push(i),
            }
        }
        forgotten
    }

    #[tokio::test]
    async fn about_one_put_in_twenty_is_acknowledged_and_lost() {
        let forgotten = forgotten_puts(5).await;
        assert_eq!(forgotten, forgotten_puts(5).await, "seeded");
        assert!((5..45).contains(&forgotten.len()), "{forgotten:?} of 400");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn some_acknowledged_appends_are_missing_and_their_revisions_reused() {
        let s = Forgetful::new(9);
        let mut acks = Vec::new();
        for _ in 0..400 {
            let ack = s.append("s", one(), ExpectRevision::Any).await.unwrap();
            acks.push(ack.last.raw());
        }
        let stored = s.read("s", ReadFrom::Start, 1_000).await.unwrap().len();
        assert!((355..395).contains(&stored), "{stored} of 400 stored");
        let forgotten = 400 - stored;
        let reused = acks.windows(2).filter(|w| w[0] == w[1]).count();
        assert!(
            reused > 0 && reused <= forgotten,
            "{reused} revisions reused"
        );
    }

    #[tokio::test]
    async fn a_failed_expectation_is_still_refused() {
        let s = Forgetful::new(1);
        for i in 0..100 {
            let key = format!("k{i}");
            let wrong = s.put(&key, Bytes::new(), Expect::Version(Version::from_raw(9)));
            assert!(matches!(wrong.await, Err(StoreError::Conflict { .. })));
            let wrong = s.append(&key, one(), ExpectRevision::Exact(Revision::from_raw(9)));
            assert!(matches!(wrong.await, Err(StoreError::Conflict { .. })));
        }
    }
}
