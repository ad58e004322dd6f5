//! A fault-injecting wrapper around any adapter: added latency, a stall at a given time, and
//! a seeded error rate. Used by tests, by `statebench run --inject`, and to validate the
//! harness itself.

pub mod delay;

use crate::{
    Adapter, Appended, Descriptor, EventData, EventError, EventStore, Expect, ExpectRevision,
    ReadFrom, RecordedEvent, StateError, StateStore, StoreError, Version, Versioned,
};
use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// Which faults to inject. The default injects none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPlan {
    /// Latency added before every call, in nanoseconds; precise to some microseconds (see
    /// [`delay`]), never shorter.
    #[serde(default)]
    pub latency_ns: u64,
    /// A window during which every call waits until the window ends, like a paused server.
    #[serde(default)]
    pub stall: Option<Stall>,
    /// The fraction of calls, 0.0 to 1.0, that fail: half refused before reaching the inner
    /// adapter (`Unavailable`), half applied with the reply lost (`Timeout`). Both are
    /// indefinite, as a real network makes them.
    #[serde(default)]
    pub error_rate: f64,
    /// Seeds which calls fail.
    #[serde(default)]
    pub seed: u64,
}

/// A stall window, measured from the wrapper's creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stall {
    /// When the stall starts, in milliseconds after the wrapper was created.
    pub at_ms: u64,
    /// How long it lasts, in milliseconds.
    pub duration_ms: u64,
}

impl FaultPlan {
    /// What is injected, in words: `latency 200 µs, error rate 1 %, seed 7`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.latency_ns > 0 {
            parts.push(format!("latency {}", nanos_in_words(self.latency_ns)));
        }
        if let Some(s) = self.stall {
            parts.push(format!("stall {} ms at {} ms", s.duration_ms, s.at_ms));
        }
        if self.error_rate > 0.0 {
            parts.push(format!("error rate {} %", trimmed(self.error_rate * 100.0)));
            parts.push(format!("seed {}", self.seed));
        }
        if parts.is_empty() {
            return "none".into();
        }
        parts.join(", ")
    }
}

/// Wraps an adapter (`Faulty<dyn StateStore>`, `Faulty<Memory>`, …) and injects the faults of
/// a [`FaultPlan`].
pub struct Faulty<A: ?Sized> {
    inner: Arc<A>,
    plan: FaultPlan,
    origin: Instant,
    calls: AtomicU64,
    descriptor: Descriptor,
}

enum Injected {
    Nothing,
    Refuse,
    LoseReply,
}

impl<A: Adapter + ?Sized> Faulty<A> {
    /// Wraps `inner`; the stall window is measured from now.
    pub fn new(inner: Arc<A>, plan: FaultPlan) -> Self {
        let mut descriptor = inner.descriptor().clone();
        descriptor.adapter = format!("{}+faults", descriptor.adapter);
        descriptor.settings.insert("faults".into(), plan.describe());
        Self {
            inner,
            plan,
            origin: Instant::now(),
            calls: AtomicU64::new(0),
            descriptor,
        }
    }

    /// Measures the stall window from `origin` instead of the wrapper's creation.
    pub fn with_origin(mut self, origin: std::time::Instant) -> Self {
        self.origin = Instant::from_std(origin);
        self
    }

    async fn inject(&self) -> Injected {
        let call = self.calls.fetch_add(1, Ordering::Relaxed);
        if let Some(stall) = self.plan.stall {
            let start = self.origin + Duration::from_millis(stall.at_ms);
            let end = start + Duration::from_millis(stall.duration_ms);
            let now = Instant::now();
            if now >= start && now < end {
                tokio::time::sleep_until(end).await;
            }
        }
        if self.plan.latency_ns > 0 {
            delay::sleep(Duration::from_nanos(self.plan.latency_ns)).await;
        }
        let roll = splitmix64(self.plan.seed ^ call.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let uniform = (roll >> 11) as f64 / (1u64 << 53) as f64;
        match (uniform < self.plan.error_rate, roll & 1 == 0) {
            (false, _) => Injected::Nothing,
            (true, true) => Injected::Refuse,
            (true, false) => Injected::LoseReply,
        }
    }

    async fn call<T, E, F>(&self, op: F) -> Result<T, StoreError<E>>
    where
        E: Debug + std::fmt::Display,
        F: Future<Output = Result<T, StoreError<E>>>,
    {
        match self.inject().await {
            Injected::Nothing => op.await,
            Injected::Refuse => Err(StoreError::Unavailable(
                "injected fault: refused, not applied".into(),
            )),
            Injected::LoseReply => {
                let _applied = op.await;
                Err(StoreError::Timeout(
                    "injected fault: reply lost, may have been applied".into(),
                ))
            }
        }
    }
}

impl<A: Adapter + ?Sized> Adapter for Faulty<A> {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
}

/// `x` with at most six decimals, without trailing zeros: `7`, `0.5`.
fn trimmed(x: f64) -> String {
    let text = format!("{x:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// `200 µs`, `1.5 ms`, `750 ns`.
fn nanos_in_words(ns: u64) -> String {
    match ns {
        0..1_000 => format!("{ns} ns"),
        1_000..1_000_000 => format!("{} µs", trimmed(ns as f64 / 1e3)),
        1_000_000..1_000_000_000 => format!("{} ms", trimmed(ns as f64 / 1e6)),
        _ => format!("{} s", trimmed(ns as f64 / 1e9)),
    }
}

/// SplitMix64: a fast, well-mixed hash of a counter, so each call's fate depends only on the
/// seed and the call's number.
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[async_trait]
impl<A: StateStore + ?Sized> StateStore for Faulty<A> {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StateError> {
        self.call(self.inner.get(key)).await
    }

    async fn put(&self, key: &str, value: Bytes, expect: Expect) -> Result<Version, StateError> {
        self.call(self.inner.put(key, value, expect)).await
    }
}

#[async_trait]
impl<A: EventStore + ?Sized> EventStore for Faulty<A> {
    async fn append(
        &self,
        stream: &str,
        events: Vec<EventData>,
        expect: ExpectRevision,
    ) -> Result<Appended, EventError> {
        self.call(self.inner.append(stream, events, expect)).await
    }

    async fn read(
        &self,
        stream: &str,
        from: ReadFrom,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, EventError> {
        self.call(self.inner.read(stream, from, max)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::Memory;

    fn plan(error_rate: f64, seed: u64) -> FaultPlan {
        FaultPlan {
            error_rate,
            seed,
            ..FaultPlan::default()
        }
    }

    async fn outcomes(plan: FaultPlan) -> Vec<Option<bool>> {
        let store = Faulty::new(Arc::new(Memory::new()), plan);
        let mut seen = Vec::new();
        for i in 0..400 {
            let result = store.put(&format!("k{i}"), Bytes::new(), Expect::Any).await;
            seen.push(match result {
                Ok(_) => None,
                Err(StoreError::Unavailable(_)) => Some(false),
                Err(StoreError::Timeout(_)) => Some(true),
                Err(other) => panic!("unexpected {other}"),
            });
        }
        seen
    }

    #[tokio::test]
    async fn the_error_rate_is_seeded_and_about_right() {
        let first = outcomes(plan(0.25, 7)).await;
        assert_eq!(
            first,
            outcomes(plan(0.25, 7)).await,
            "same seed, same faults"
        );
        assert_ne!(
            first,
            outcomes(plan(0.25, 8)).await,
            "another seed, other faults"
        );
        let failed = first.iter().filter(|o| o.is_some()).count();
        assert!(
            (60..140).contains(&failed),
            "{failed} of 400 failed at rate 0.25"
        );
        let lost_replies = first.iter().filter(|o| **o == Some(true)).count();
        assert!(
            lost_replies > 0 && lost_replies < failed,
            "both kinds occur"
        );
    }

    #[tokio::test]
    async fn a_lost_reply_still_applies_the_write() {
        let memory = Arc::new(Memory::new());
        let store = Faulty::new(memory.clone(), plan(1.0, 1));
        let mut applied = 0;
        for i in 0..50 {
            let key = format!("k{i}");
            if let Err(StoreError::Timeout(_)) = store.put(&key, Bytes::new(), Expect::Any).await {
                assert!(memory.get(&key).await.unwrap().is_some());
                applied += 1;
            } else {
                assert!(memory.get(&key).await.unwrap().is_none());
            }
        }
        assert!(applied > 0);
    }

    #[tokio::test(start_paused = true)]
    async fn calls_during_the_stall_wait_until_it_ends() {
        let stall = Stall {
            at_ms: 100,
            duration_ms: 1000,
        };
        let plan = FaultPlan {
            stall: Some(stall),
            ..FaultPlan::default()
        };
        let origin = Instant::now();
        let store = Faulty::new(Arc::new(Memory::new()), plan).with_origin(origin.into_std());
        store.get("before").await.unwrap();
        assert!(origin.elapsed() < Duration::from_millis(100));
        tokio::time::sleep(Duration::from_millis(150)).await;
        store.get("during").await.unwrap();
        assert!(origin.elapsed() >= Duration::from_millis(1100));
        assert_eq!(store.descriptor().adapter, "memory+faults");
    }
}
