//! The consistency checkers catch each deliberately broken store in every one of 20 seeded
//! runs, by the check that matches the way it is broken, and never flag the reference.

mod support;

use statebench_adapters::broken::{DoubleAppend, Forgetful, RacyCas, StaleCache};
use statebench_adapters::memory::Memory;
use statebench_suites::Workload;
use statebench_suites::check::Validity;
use statebench_suites::faults::NoNemesis;
use statebench_suites::results::ConsistencyRun;
use statebench_suites::subject::{Subject, Target};
use statebench_suites::suite::consistency;
use std::sync::Arc;
use std::time::Duration;

const RUNS: u64 = 20;

fn workload(seed: u64) -> Arc<Workload> {
    support::consistency_workload(seed, Duration::from_millis(400))
}

async fn run(subject: &Subject, seed: u64) -> ConsistencyRun {
    let workload = workload(seed);
    let ctx = support::context(workload, None);
    let mut runs = consistency::run(subject, &ctx, &format!("t{seed}/"), &NoNemesis).await;
    runs.remove(0)
}

fn broken_promises(run: &ConsistencyRun) -> Vec<String> {
    run.failed().map(|c| c.verdict.check.clone()).collect()
}

/// Runs `make(seed)` 20 times; each run must break the promise `check`.
async fn caught_every_time(name: &str, check: &str, make: impl Fn(u64) -> Subject) {
    for seed in 0..RUNS {
        let r = run(&make(seed), seed).await;
        let broken = broken_promises(&r);
        assert!(
            broken.iter().any(|b| b == check),
            "{name}, seed {seed}: `{check}` not caught (broken: {broken:?}); {:#?}",
            r.checks
        );
        let evidence = &r
            .checks
            .iter()
            .find(|c| c.verdict.check == check)
            .unwrap()
            .verdict
            .evidence;
        assert!(!evidence.is_empty(), "{name}: a verdict without evidence");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cas_done_as_a_read_and_a_write_loses_updates_every_time() {
    caught_every_time("RacyCas", "lost-updates", |seed| {
        Subject::new(
            "broken-cas",
            Target::State(Arc::new(RacyCas::new(seed))),
            "embedded",
        )
    })
    .await;
    // The register history catches it too, though not in every short run: count how often.
    let mut caught = 0;
    for seed in 0..RUNS {
        let subject = Subject::new(
            "broken-cas",
            Target::State(Arc::new(RacyCas::new(seed))),
            "embedded",
        );
        caught += u32::from(
            broken_promises(&run(&subject, seed).await)
                .iter()
                .any(|b| b == "linearizable"),
        );
    }
    println!("RacyCas: the linearizability check caught it in {caught} of {RUNS} runs");
    assert!(caught > 0, "the linearizability check never caught RacyCas");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_appends_winning_one_revision_break_stream_integrity_every_time() {
    caught_every_time("DoubleAppend", "stream-integrity", |seed| {
        Subject::new(
            "broken-append",
            Target::Events(Arc::new(DoubleAppend::new(seed))),
            "embedded",
        )
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dropped_acknowledged_writes_are_missing_from_the_final_reads_every_time() {
    caught_every_time("Forgetful:state", "linearizable", |seed| {
        Subject::new(
            "broken-forgetful:state",
            Target::State(Arc::new(Forgetful::new(seed))),
            "embedded",
        )
    })
    .await;
    caught_every_time("Forgetful:events", "durability", |seed| {
        Subject::new(
            "broken-forgetful:events",
            Target::Events(Arc::new(Forgetful::new(seed))),
            "embedded",
        )
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cache_never_invalidated_stays_stale_for_good_every_time() {
    caught_every_time("StaleCache", "stale-for-good", |_| {
        Subject::layered("broken-cache", Arc::new(StaleCache::new()), "embedded")
    })
    .await;
    // Its reads are stale by declaration: measured, not a broken promise.
    let r = run(
        &Subject::layered("broken-cache", Arc::new(StaleCache::new()), "embedded"),
        1,
    )
    .await;
    let stale = r
        .checks
        .iter()
        .find(|c| c.verdict.check == "stale-reads")
        .unwrap();
    assert_eq!(
        (stale.verdict.validity, stale.promised),
        (Validity::Invalid, false),
        "{stale:#?}"
    );
    assert!(r.staleness.as_ref().unwrap().stale > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_reference_is_never_flagged() {
    for seed in 0..RUNS {
        let events = Arc::new(Memory::new());
        for subject in [
            Subject::new(
                "memory:state",
                Target::State(Arc::new(Memory::new())),
                "embedded",
            ),
            Subject::new("memory:events", Target::Events(events.clone()), "embedded"),
        ] {
            let r = run(&subject, seed).await;
            assert_eq!(r.skipped, None, "{}, seed {seed}", subject.name);
            let mut names: Vec<&str> = r.checks.iter().map(|c| c.verdict.check.as_str()).collect();
            names.sort_unstable();
            let expected = if subject.name.ends_with("state") {
                vec!["durability", "linearizable", "lost-updates", "stale-reads"]
            } else {
                vec!["durability", "stream-integrity"]
            };
            assert_eq!(names, expected, "{}, seed {seed}", subject.name);
            let not_valid: Vec<_> = r
                .checks
                .iter()
                .filter(|c| c.verdict.validity != Validity::Valid || !c.promised)
                .collect();
            assert!(
                not_valid.is_empty(),
                "{}, seed {seed}: {not_valid:#?}",
                subject.name
            );
        }
    }
}
