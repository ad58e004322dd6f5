//! `DoubleAppend`: an append checks the stream's revision, pauses, then appends without an
//! expectation.

use super::{Dice, descriptor, window};
use crate::memory::{self, Memory, revision_holds};
use crate::{
    Adapter, Appended, Descriptor, EventData, EventError, EventStore, ExpectRevision, ReadFrom,
    RecordedEvent, Revision, Snapshot, Snapshots,
};
use async_trait::async_trait;

/// An [`EventStore`] whose expected-revision check is not atomic with its append: alone it
/// is correct; two appends expecting the same revision can both pass the check, and both
/// are appended. It claims `cas` (and everything else memory claims) all the same.
pub struct DoubleAppend {
    inner: Memory,
    dice: Dice,
    descriptor: Descriptor,
}

impl DoubleAppend {
    /// An empty store whose pauses are seeded by `seed`.
    pub fn new(seed: u64) -> Self {
        let claims = memory::descriptor().capabilities;
        let how = "append checks the revision, yields, then appends without expectation: \
                   two appends can win one revision";
        Self {
            inner: Memory::new(),
            dice: Dice::new(seed),
            descriptor: descriptor("broken-append", how, Some(seed), claims),
        }
    }

    async fn last(&self, stream: &str) -> Result<Option<Revision>, EventError> {
        let events = self.inner.read(stream, ReadFrom::Start, usize::MAX).await?;
        Ok(events.last().map(|e| e.revision))
    }
}

impl Adapter for DoubleAppend {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
}

#[async_trait]
impl EventStore for DoubleAppend {
    async fn append(
        &self,
        stream: &str,
        events: Vec<EventData>,
        expect: ExpectRevision,
    ) -> Result<Appended, EventError> {
        if expect == ExpectRevision::Any {
            return self.inner.append(stream, events, expect).await;
        }
        if !revision_holds(expect, self.last(stream).await?) {
            // The store itself decides: a repeat of an earlier append, or a conflict.
            return self.inner.append(stream, events, expect).await;
        }
        window(&self.dice).await;
        self.inner.append(stream, events, ExpectRevision::Any).await
    }

    async fn read(
        &self,
        stream: &str,
        from: ReadFrom,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, EventError> {
        self.inner.read(stream, from, max).await
    }
}

#[async_trait]
impl Snapshots for DoubleAppend {
    async fn load_snapshot(&self, stream: &str) -> Result<Option<Snapshot>, EventError> {
        self.inner.load_snapshot(stream).await
    }

    async fn save_snapshot(&self, stream: &str, snapshot: Snapshot) -> Result<(), EventError> {
        self.inner.save_snapshot(stream, snapshot).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreError;
    use bytes::Bytes;
    use std::sync::Arc;

    fn one(data: &'static str) -> Vec<EventData> {
        vec![EventData {
            id: None,
            event_type: "E".into(),
            data: Bytes::from_static(data.as_bytes()),
        }]
    }

    #[tokio::test]
    async fn alone_it_keeps_the_contract() {
        let s = DoubleAppend::new(1);
        let first = s.append("s", one("a"), ExpectRevision::NoStream).await;
        let first = first.unwrap().last;
        let again = s.append("s", one("b"), ExpectRevision::NoStream).await;
        assert_eq!(
            again,
            Err(StoreError::Conflict {
                actual: Some(first)
            })
        );
        let exact = ExpectRevision::Exact(first);
        let second = s.append("s", one("c"), exact).await.unwrap().last;
        let stale = s.append("s", one("d"), exact).await;
        assert_eq!(
            stale,
            Err(StoreError::Conflict {
                actual: Some(second)
            })
        );
        assert_eq!(s.read("s", ReadFrom::Start, 10).await.unwrap().len(), 2);
    }

    /// How many of 8 appends expecting the stream's first revision win, on a fresh stream.
    async fn winners(s: &Arc<DoubleAppend>, stream: &str) -> usize {
        let start = s.append(stream, one("start"), ExpectRevision::Any).await;
        let start = start.unwrap().last;
        let racers: Vec<_> = (0..8)
            .map(|_| {
                let (s, stream) = (s.clone(), stream.to_owned());
                tokio::spawn(async move {
                    s.append(&stream, one("race"), ExpectRevision::Exact(start))
                        .await
                })
            })
            .collect();
        let mut won = 0;
        for racer in racers {
            won += usize::from(racer.await.unwrap().is_ok());
        }
        won
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_appends_expecting_one_revision_sometimes_both_win() {
        let s = Arc::new(DoubleAppend::new(7));
        let mut doubled = 0;
        for round in 0..200 {
            let won = winners(&s, &format!("s{round}")).await;
            assert!(won >= 1, "round {round}: nobody won");
            doubled += usize::from(won > 1);
        }
        // Sometimes correct: neither every round nor none.
        assert!(
            doubled > 0 && doubled < 200,
            "{doubled} of 200 rounds let two appends win"
        );
    }
}
