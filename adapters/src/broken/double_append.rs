//! `DoubleAppend`: an append checks the stream's revision, pauses, then appends without an
//! expectation.

use super::{Seeded, checked_apart, snapshots_by_memory};
use crate::memory::revision_holds;
use crate::{
    Adapter, Appended, Descriptor, EventData, EventError, EventStore, ExpectRevision, ReadFrom,
    RecordedEvent,
};
use async_trait::async_trait;

/// An [`EventStore`] whose expected-revision check is not atomic with its append: alone it
/// is correct; two appends expecting the same revision can both pass the check, and both
/// are appended. It claims `cas` (and everything else memory claims) all the same.
pub struct DoubleAppend {
    seeded: Seeded,
}

impl DoubleAppend {
    /// An empty store whose pauses are seeded by `seed`.
    pub fn new(seed: u64) -> Self {
        let how = "append checks the revision, yields, then appends without expectation: \
                   two appends can win one revision";
        Self {
            seeded: Seeded::new("broken-append", how, seed),
        }
    }
}

impl Adapter for DoubleAppend {
    fn descriptor(&self) -> &Descriptor {
        &self.seeded.descriptor
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
        let memory = &self.seeded.memory;
        let held = revision_holds(expect, memory.last_revision(stream));
        let expect = checked_apart(&self.seeded.dice, expect, ExpectRevision::Any, held).await;
        memory.append(stream, events, expect).await
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

snapshots_by_memory!(DoubleAppend);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreError;
    use crate::broken::tests::{sometimes_more_than_one_wins, winners};
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_appends_expecting_one_revision_sometimes_both_win() {
        let s = Arc::new(DoubleAppend::new(7));
        sometimes_more_than_one_wins("appends", |round| {
            let (s, stream) = (s.clone(), format!("s{round}"));
            async move {
                let start = s.append(&stream, one("start"), ExpectRevision::Any).await;
                let start = start.unwrap().last;
                winners(|| {
                    let (s, stream) = (s.clone(), stream.clone());
                    async move {
                        let exact = ExpectRevision::Exact(start);
                        s.append(&stream, one("race"), exact).await.is_ok()
                    }
                })
                .await
            }
        })
        .await;
    }
}
