//! Shared helpers of the suites' integration tests.
#![allow(dead_code)]

use statebench_suites::Workload;
use statebench_suites::engine::{Engine, Length, Mode, PhaseReport, PhaseSpec};
use statebench_suites::generate::KeySpace;
use statebench_suites::subject::{Runner, Subject, Target};
use statebench_suites::{Silent, workload};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A built-in workload, with `edit` applied.
pub fn workload(name: &str, edit: impl FnOnce(&mut Workload)) -> Arc<Workload> {
    let mut w = workload::builtin(name)
        .expect("a built-in name")
        .expect("built-ins parse");
    edit(&mut w);
    Arc::new(w)
}

/// A subject over `target`, named `name`.
pub fn subject(name: &str, target: Target) -> Subject {
    Subject::new(name, target, "embedded")
}

/// An engine for `subject` and `workload`, its keys not loaded.
pub fn engine(subject: &Subject, workload: Arc<Workload>, grace: Duration) -> Engine {
    let keys = Arc::new(KeySpace::new("test/", workload.keys.count));
    Engine {
        runner: Arc::new(Runner::new(subject, &workload, keys)),
        workload,
        cancel: CancellationToken::new(),
        grace,
    }
}

/// Runs one phase silently.
pub async fn phase(engine: &Engine, length: Length, mode: Mode) -> PhaseReport {
    let spec = PhaseSpec {
        label: "test".into(),
        length,
        mode,
        seed: 7,
        stagger: 0.0,
    };
    engine.run(&spec, &Silent, None).await
}

/// A silent suite context for `workload`, writing below `dir` when given.
pub fn context(
    workload: Arc<Workload>,
    dir: Option<&std::path::Path>,
) -> statebench_suites::suite::Context<'_> {
    statebench_suites::suite::Context {
        seed: workload.seed,
        workload,
        cancel: CancellationToken::new(),
        progress: &Silent,
        grace: Duration::from_secs(1),
        run_dir: dir,
        slice: statebench_suites::shard::Slice::WHOLE,
        agenda: None,
    }
}

/// A consistency workload: `hot-key-commands` with short runs for tests.
pub fn consistency_workload(seed: u64, length: Duration) -> Arc<Workload> {
    workload("hot-key-commands", |w| {
        w.seed = seed;
        w.consistency.duration = workload::Seconds(length);
        w.consistency.quiet = workload::Seconds(Duration::from_millis(20));
        w.consistency.rate = 4_000.0;
    })
}
