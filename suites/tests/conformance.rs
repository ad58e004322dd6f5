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

/// Memory's descriptor, with `cas` claimed and read-your-writes claimed or not.
fn claiming_cas(read_your_writes: bool) -> Descriptor {
    let mut descriptor = statebench_adapters::memory::descriptor();
    descriptor.capabilities.cas = Capability::Supported;
    if !read_your_writes {
        descriptor.capabilities.read_your_writes = Capability::unsupported("a cache in front");
    }
    descriptor
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_ignores_expectations_fails_the_cas_checks() {
    // Without read-your-writes the checks do not read back, and still catch it by what the
    // writes return.
    for read_your_writes in [true, false] {
        let store = BlindWrites(Memory::new(), claiming_cas(read_your_writes));
        let results = check(Target::State(Arc::new(store))).await;
        for failing in [
            "put-absent-creates-once",
            "cas-stale-version-conflicts",
            "cas-exactly-one-winner",
        ] {
            let r = status_of(&results, failing);
            assert_eq!(
                r.status,
                CheckStatus::Fail,
                "{failing} should catch blind writes (read-your-writes: {read_your_writes})"
            );
            assert!(!r.detail.is_empty());
        }
        let ryw = status_of(&results, "read-your-writes").status;
        let expected = if read_your_writes {
            CheckStatus::Pass
        } else {
            CheckStatus::Unsupported
        };
        assert_eq!(ryw, expected);
    }
}

/// Keeps what it is given and finds nothing: correct compare-and-set, reads that never see it.
struct NothingFound(Memory, Descriptor);

impl Adapter for NothingFound {
    fn descriptor(&self) -> &Descriptor {
        &self.1
    }
}

#[async_trait]
impl StateStore for NothingFound {
    async fn get(&self, _: &str) -> Result<Option<Versioned>, StateError> {
        Ok(None)
    }

    async fn put(&self, key: &str, value: Bytes, expect: Expect) -> Result<Version, StateError> {
        self.0.put(key, value, expect).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cas_checks_read_back_only_where_read_your_writes_is_declared() {
    let cas_checks = [
        "put-absent-creates-once",
        "cas-current-version-wins",
        "cas-stale-version-conflicts",
        "cas-exactly-one-winner",
    ];
    for read_your_writes in [true, false] {
        let store = NothingFound(Memory::new(), claiming_cas(read_your_writes));
        let results = check(Target::State(Arc::new(store))).await;
        for name in cas_checks {
            let r = status_of(&results, name);
            let (expected, why) = if read_your_writes {
                (CheckStatus::Fail, "its read-back finds nothing")
            } else {
                (CheckStatus::Pass, "the writes alone are right")
            };
            assert_eq!(r.status, expected, "{name}: {why}: {}", r.detail);
            assert_eq!(r.capability.as_deref(), Some("cas"));
        }
    }
}

/// Claims atomic multi-event appends but writes a batch one event at a time, a millisecond
/// apart (as one request per event over a network would), and ignores expectations.
struct OneAtATime(Memory, Descriptor);

impl OneAtATime {
    fn new(read_your_writes: bool) -> Self {
        Self(Memory::new(), claiming_cas(read_your_writes))
    }
}

impl Adapter for OneAtATime {
    fn descriptor(&self) -> &Descriptor {
        &self.1
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
    let results = check(Target::Events(Arc::new(OneAtATime::new(true)))).await;
    let atomic = status_of(&results, "multi-event-append-is-atomic");
    assert_eq!(atomic.status, CheckStatus::Fail, "{}", atomic.detail);
    assert!(
        atomic.detail.contains("part of an 8-event append"),
        "{}",
        atomic.detail
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_store_that_ignores_expectations_fails_the_cas_checks_without_reading_back() {
    let results = check(Target::Events(Arc::new(OneAtATime::new(false)))).await;
    for failing in [
        "append-no-stream-creates-once",
        "append-exact-revision",
        "append-exactly-one-winner",
    ] {
        let r = status_of(&results, failing);
        assert_eq!(r.status, CheckStatus::Fail, "{failing}: {}", r.detail);
    }
    let atomic = status_of(&results, "multi-event-append-is-atomic");
    assert_eq!(atomic.status, CheckStatus::Unsupported, "it reads back");
}
