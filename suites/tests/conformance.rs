//! The conformance suite passes the reference, reports declared gaps, and catches a store
//! that breaks the contract.

mod support;

use async_trait::async_trait;
use bytes::Bytes;
use statebench_adapters::memory::Memory;
use statebench_adapters::noop::Noop;
use statebench_adapters::{
    Adapter, Appended, Capability, Descriptor, EventData, EventError, EventStore, Expect,
    ExpectRevision, ReadFrom, RecordedEvent, StateError, StateStore, StoreError, Version,
    Versioned,
};
use statebench_suites::Silent;
use statebench_suites::results::{CheckResult, CheckStatus};
use statebench_suites::subject::{Subject, Target};
use statebench_suites::suite::conformance;
use std::sync::Arc;

async fn check(target: Target) -> Vec<CheckResult> {
    conformance::run(
        &support::subject("under-test", target),
        "conformance/",
        &Silent,
    )
    .await
}

fn status_of<'a>(results: &'a [CheckResult], check: &str) -> &'a CheckResult {
    results
        .iter()
        .find(|r| r.check == check)
        .expect("the check ran")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_reference_passes_every_check_of_both_contracts() {
    let memory = Arc::new(Memory::new());
    let events = support::subject("under-test", Target::Events(memory.clone()));
    let events = Subject {
        snapshots: Some(memory.clone()),
        ..events
    };
    let state = support::subject("under-test", Target::State(memory));
    for subject in [state, events] {
        let results = conformance::run(&subject, "conformance/", &Silent).await;
        assert!(results.len() >= 9);
        for r in &results {
            assert_eq!(r.status, CheckStatus::Pass, "{}: {}", r.check, r.detail);
        }
    }
}

#[tokio::test]
async fn declared_gaps_are_reported_with_their_reason_and_not_run() {
    let results = check(Target::State(Arc::new(Noop::default()))).await;
    let cas = status_of(&results, "cas-exactly-one-winner");
    let expected = (CheckStatus::Unsupported, "no cas: stores nothing");
    assert_eq!((cas.status, cas.detail.as_str()), expected);
    let round_trip = status_of(&results, "values-round-trip");
    assert_eq!(round_trip.detail, "no read_your_writes: stores nothing");
    assert_eq!(
        status_of(&results, "get-missing-is-none").status,
        CheckStatus::Pass
    );
    assert_eq!(
        status_of(&results, "versions-increase").status,
        CheckStatus::Pass
    );
    assert!(
        results.iter().all(|r| r.status != CheckStatus::Fail),
        "{results:?}"
    );
}

/// Claims compare-and-set but writes blindly: the lost-update bug of a read-then-write
/// without a condition.
struct BlindWrites(Memory, Descriptor);

impl Adapter for BlindWrites {
    fn descriptor(&self) -> &Descriptor {
        &self.1
    }
}

#[async_trait]
impl StateStore for BlindWrites {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StateError> {
        self.0.get(key).await
    }

    async fn put(&self, key: &str, value: Bytes, _: Expect) -> Result<Version, StateError> {
        tokio::task::yield_now().await;
        self.0.put(key, value, Expect::Any).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_ignores_expectations_fails_the_cas_checks() {
    let mut descriptor = statebench_adapters::memory::descriptor();
    descriptor.capabilities.cas = Capability::Supported;
    let results = check(Target::State(Arc::new(BlindWrites(
        Memory::new(),
        descriptor,
    ))))
    .await;
    for failing in [
        "put-absent-creates-once",
        "cas-stale-version-conflicts",
        "cas-exactly-one-winner",
    ] {
        let r = status_of(&results, failing);
        assert_eq!(
            r.status,
            CheckStatus::Fail,
            "{failing} should catch blind writes"
        );
        assert!(!r.detail.is_empty());
    }
    assert_eq!(
        status_of(&results, "read-your-writes").status,
        CheckStatus::Pass
    );
}

/// Claims atomic multi-event appends but writes a batch one event at a time, a millisecond
/// apart (as one request per event over a network would).
struct OneAtATime(Memory);

impl Adapter for OneAtATime {
    fn descriptor(&self) -> &Descriptor {
        Adapter::descriptor(&self.0)
    }
}

#[async_trait]
impl EventStore for OneAtATime {
    async fn append(
        &self,
        stream: &str,
        events: Vec<EventData>,
        _: ExpectRevision,
    ) -> Result<Appended, EventError> {
        let mut last = None;
        for event in events {
            last = Some(
                self.0
                    .append(stream, vec![event], ExpectRevision::Any)
                    .await?,
            );
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        last.ok_or_else(|| StoreError::Fatal("no events".into()))
    }

    async fn read(
        &self,
        stream: &str,
        from: ReadFrom,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, EventError> {
        self.0.read(stream, from, max).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_splits_batches_fails_the_atomicity_check() {
    let results = check(Target::Events(Arc::new(OneAtATime(Memory::new())))).await;
    let atomic = status_of(&results, "multi-event-append-is-atomic");
    assert_eq!(atomic.status, CheckStatus::Fail, "{}", atomic.detail);
    assert!(
        atomic.detail.contains("part of an 8-event append"),
        "{}",
        atomic.detail
    );
}
