//! The deliberately broken stores are caught by the conformance suite in every seeded run,
//! the reference never is, and a single round of a race would often let a broken store
//! through: the numbers behind "every race repeated".

mod support;

use statebench_adapters::broken::{DoubleAppend, RacyCas, StaleCache};
use statebench_adapters::memory::Memory;
use statebench_suites::Silent;
use statebench_suites::results::{CheckResult, CheckStatus};
use statebench_suites::subject::{Subject, Target};
use statebench_suites::suite::conformance::{self, ROUNDS};
use std::sync::Arc;

/// Seeded runs of the whole suite per broken store, and runs of the reference.
const RUNS: u64 = 20;

fn racy_cas(seed: u64) -> Subject {
    support::subject("broken-cas", Target::State(Arc::new(RacyCas::new(seed))))
}

fn double_append(seed: u64) -> Subject {
    let store = Arc::new(DoubleAppend::new(seed));
    support::subject("broken-append", Target::Events(store.clone())).with_snapshots(store)
}

fn find<'a>(results: &'a [CheckResult], check: &str) -> &'a CheckResult {
    results
        .iter()
        .find(|r| r.check == check)
        .unwrap_or_else(|| panic!("{check} did not run: {results:?}"))
}

/// Requires `race` to fail, naming the round, and every other check to pass: the store is
/// correct but for the race.
fn caught_only_by(results: &[CheckResult], race: &str, run: u64) {
    let failed = find(results, race);
    assert_eq!(failed.status, CheckStatus::Fail, "run {run}: {race} passed");
    assert!(
        failed.detail.starts_with("round ") && failed.detail.contains(&format!(" of {ROUNDS}: ")),
        "run {run}: the detail names no round: {}",
        failed.detail
    );
    for r in results.iter().filter(|r| r.check != race) {
        assert_eq!(
            r.status,
            CheckStatus::Pass,
            "run {run}: {}: {}",
            r.check,
            r.detail
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racy_cas_is_caught_in_every_one_of_20_seeded_runs() {
    for seed in 1..=RUNS {
        let results = conformance::run(&racy_cas(seed), "conformance/", &Silent).await;
        caught_only_by(&results, "cas-exactly-one-winner", seed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn double_append_is_caught_in_every_one_of_20_seeded_runs() {
    for seed in 1..=RUNS {
        let results = conformance::run(&double_append(seed), "conformance/", &Silent).await;
        caught_only_by(&results, "append-exactly-one-winner", seed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_is_never_flagged_in_20_runs() {
    for run in 1..=RUNS {
        let events = Arc::new(Memory::new());
        let subjects = [
            support::subject("memory:state", Target::State(Arc::new(Memory::new()))),
            support::subject("memory:events", Target::Events(events.clone()))
                .with_snapshots(events),
        ];
        for subject in subjects {
            let results = conformance::run(&subject, "conformance/", &Silent).await;
            for r in &results {
                let name = &subject.name;
                assert_eq!(
                    r.status,
                    CheckStatus::Pass,
                    "run {run}, {name}: {}: {}",
                    r.check,
                    r.detail
                );
            }
        }
    }
}

/// How often one round of `cas-exactly-one-winner` catches `RacyCas`, over many seeds: the
/// reason every race runs [`ROUNDS`] rounds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_single_round_often_misses_what_twenty_catch() {
    const TRIES: u64 = 200;
    let mut caught = 0;
    for seed in 1..=TRIES {
        let results = conformance::run_rounds(&racy_cas(seed), "conformance/", &Silent, 1).await;
        let race = find(&results, "cas-exactly-one-winner");
        caught += u32::from(race.status == CheckStatus::Fail);
    }
    let rate = f64::from(caught) / TRIES as f64;
    let missed_by_all = (1.0 - rate).powi(ROUNDS as i32);
    println!(
        "one round of cas-exactly-one-winner caught RacyCas in {caught} of {TRIES} runs \
         ({:.1} %); {ROUNDS} rounds would all miss with probability {missed_by_all:.1e}",
        rate * 100.0
    );
    assert!(caught > 0, "a single round never caught RacyCas");
    assert!(
        u64::from(caught) < TRIES,
        "a single round caught RacyCas every time: nothing to show"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cache_without_read_your_writes_runs_its_cas_checks() {
    let subject = Subject::layered("broken-cache", Arc::new(StaleCache::new()), "embedded");
    let results = conformance::run(&subject, "conformance/", &Silent).await;
    for check in [
        "put-absent-creates-once",
        "cas-current-version-wins",
        "cas-stale-version-conflicts",
        "cas-exactly-one-winner",
        "get-missing-is-none",
        "versions-increase",
    ] {
        let r = find(&results, check);
        assert_eq!(r.status, CheckStatus::Pass, "{check}: {}", r.detail);
    }
    for check in ["read-your-writes", "values-round-trip", "keys-round-trip"] {
        let r = find(&results, check);
        assert_eq!(r.status, CheckStatus::Unsupported, "{check}: {}", r.detail);
        assert!(
            r.detail
                .starts_with("no read_your_writes: writes never invalidate")
        );
    }
    assert_eq!(results.len(), 9);
}
