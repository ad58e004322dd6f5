//! The consistency suite on the in-process reference: every check passes and is promised, the
//! histories are written and read back by the offline checker, and indefinite failures (a
//! lost reply whose write took effect) are not mistaken for violations.

mod support;

use statebench_adapters::fault::{FaultPlan, Faulty};
use statebench_adapters::memory::Memory;
use statebench_suites::Workload;
use statebench_suites::check::Validity;
use statebench_suites::faults::NoNemesis;
use statebench_suites::results::ConsistencyRun;
use statebench_suites::subject::{Subject, Target};
use statebench_suites::suite::consistency;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn workload(seed: u64) -> Arc<Workload> {
    support::consistency_workload(seed, Duration::from_millis(600))
}

async fn run(
    subject: &Subject,
    workload: Arc<Workload>,
    dir: Option<&Path>,
) -> Vec<ConsistencyRun> {
    let ctx = support::context(workload, dir);
    consistency::run(subject, &ctx, "t/", &NoNemesis).await
}

fn verdicts(run: &ConsistencyRun) -> Vec<(String, Validity, bool)> {
    run.checks
        .iter()
        .map(|c| (c.verdict.check.clone(), c.verdict.validity, c.promised))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_reference_passes_every_check_and_writes_its_histories() {
    let tmp = tempfile::tempdir().unwrap();
    let events = Arc::new(Memory::new());
    for subject in [
        Subject::new(
            "memory:state",
            Target::State(Arc::new(Memory::new())),
            "embedded",
        ),
        Subject::new("memory:events", Target::Events(events), "embedded"),
    ] {
        let runs = run(&subject, workload(1), Some(tmp.path())).await;
        assert_eq!(runs.len(), 1);
        let r = &runs[0];
        assert!(r.ops.ok > 500, "{}: {:?}", subject.name, r.ops);
        for (check, validity, promised) in verdicts(r) {
            assert_eq!(
                (validity, promised),
                (Validity::Valid, true),
                "{}: {check}: {:#?}",
                subject.name,
                r.checks
            );
        }
        assert!(!r.histories.is_empty());
        for h in &r.histories {
            let model = h.rsplit('.').nth(1).unwrap();
            let entries = statebench_suites::history::read_file(&tmp.path().join(h)).unwrap();
            let ops = statebench_suites::history::pair(&entries).unwrap();
            let model = statebench_suites::check::Model::parse(model).unwrap();
            let offline = model.check(&ops, Default::default()).unwrap();
            assert!(
                offline.iter().all(|v| v.validity == Validity::Valid),
                "{h}: {offline:#?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lost_replies_are_indefinite_not_violations() {
    let plan = FaultPlan {
        error_rate: 0.1,
        seed: 3,
        ..FaultPlan::default()
    };
    let state = Arc::new(Faulty::new(Arc::new(Memory::new()), plan.clone()));
    let events = Arc::new(Faulty::new(Arc::new(Memory::new()), plan));
    for subject in [
        Subject::new("faulty:state", Target::State(state), "embedded"),
        Subject::new("faulty:events", Target::Events(events), "embedded"),
    ] {
        let runs = run(&subject, workload(2), None).await;
        let r = &runs[0];
        assert!(r.ops.info > 20, "{}: {:?}", subject.name, r.ops);
        assert!(!r.checks.is_empty(), "{}", subject.name);
        assert!(
            r.checks
                .iter()
                .all(|c| c.verdict.validity == Validity::Valid),
            "{}: {:#?}",
            subject.name,
            r.checks
        );
    }
}
