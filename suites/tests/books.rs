//! Every trial that runs commands checks its books afterwards: a store that loses updates is
//! caught in every seeded run, and the reference never is.

mod support;

use statebench_adapters::broken::RacyCas;
use statebench_adapters::memory::Memory;
use statebench_suites::check::Validity;
use statebench_suites::results::Trial;
use statebench_suites::subject::{Subject, Target};
use statebench_suites::suite::{Prepared, Round, latency, throughput};
use statebench_suites::workload::{Phase, Seconds};
use std::sync::Arc;
use std::time::Duration;

async fn trials(subject: Subject, seed: u64) -> Vec<Trial> {
    let workload = support::workload("hot-key-commands", |w| {
        w.seed = seed;
        w.warmup = Phase {
            duration: None,
            ops: Some(200),
        };
        w.measure = Phase {
            duration: Some(Seconds(Duration::from_millis(300))),
            ops: None,
        };
        w.closed.concurrency = vec![8];
        w.open.rates = vec![2_000.0];
    });
    let ctx = support::context(workload, None);
    let prepared = Prepared {
        subject,
        key_base: format!("b{seed}/"),
    };
    let mut done = throughput(&prepared, &ctx, Round::ONLY).await.done;
    done.extend(latency(&prepared, &ctx, Round::ONLY).await.done);
    done
}

fn lost_updates(t: &Trial) -> (Validity, bool) {
    let c = t
        .checks
        .iter()
        .find(|c| c.verdict.check == "lost-updates")
        .expect("a books check");
    (c.verdict.validity, c.promised)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_that_loses_updates_is_caught_after_every_trial() {
    for seed in 0..20 {
        let subject = Subject::new(
            "broken-cas",
            Target::State(Arc::new(RacyCas::new(seed))),
            "embedded",
        );
        let t = trials(subject, seed).await;
        // The closed loop contends hard enough to lose updates every time.
        assert_eq!(
            lost_updates(&t[0]),
            (Validity::Invalid, true),
            "seed {seed}: {:#?}",
            t[0].checks
        );
        assert!(!t[0].checks[0].verdict.evidence.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_reference_keeps_its_books_in_every_trial() {
    for seed in 0..20 {
        let events = Arc::new(Memory::new());
        for subject in [
            Subject::new(
                "memory:state",
                Target::State(Arc::new(Memory::new())),
                "embedded",
            ),
            Subject::new("memory:events", Target::Events(events), "embedded"),
        ] {
            for t in trials(subject, seed).await {
                assert_eq!(
                    lost_updates(&t),
                    (Validity::Valid, true),
                    "{}: {:#?}",
                    t.id,
                    t.checks
                );
                assert!(t.checks[0].verdict.keys > 0);
            }
        }
    }
}
