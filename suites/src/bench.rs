//! Driving your own adapter from `cargo bench`: a closed loop of a workload's operations,
//! timed the way criterion's `iter_custom` wants.
//!
//! ```no_run
//! # use statebench_suites::{Subject, Workload, bench::ClosedLoop};
//! # async fn example(subject: Subject) -> Result<(), Box<dyn std::error::Error>> {
//! let workload = Workload::resolve("read-heavy")?;
//! let closed = ClosedLoop::new(&subject, workload).await?;
//! let took = closed.run(10_000, 4).await; // 10,000 operations, 4 workers
//! # Ok(()) }
//! ```
//!
//! An event subject's reads replay streams that grow with every command, so its time per
//! operation grows with the number of operations run; state subjects do not drift.

use crate::engine::{Engine, Length, Mode, PhaseSpec};
use crate::generate::KeySpace;
use crate::subject::{Runner, Subject};
use crate::suite::load;
use crate::{Silent, Workload};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Loading the workload's keys into the subject failed.
#[derive(Debug, thiserror::Error)]
#[error("loading the keys into {subject} failed: {reason}")]
pub struct LoadFailed {
    /// The subject.
    pub subject: String,
    /// What went wrong.
    pub reason: String,
}

/// A subject loaded with a workload's keys, ready to run operations back to back.
pub struct ClosedLoop {
    engine: Engine,
    runs: AtomicU64,
}

impl ClosedLoop {
    /// Loads `workload`'s keys into `subject` (below a prefix of its own).
    pub async fn new(subject: &Subject, workload: Workload) -> Result<Self, LoadFailed> {
        static LOOPS: AtomicU64 = AtomicU64::new(0);
        let number = LOOPS.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("statebench-bench-{}-{number}/", std::process::id());
        let keys = Arc::new(KeySpace::new(prefix, workload.keys.count));
        let runner = Arc::new(Runner::new(subject, &workload, keys));
        let cancel = CancellationToken::new();
        load(runner.clone(), "load", &Silent, &cancel)
            .await
            .map_err(|reason| LoadFailed {
                subject: subject.name.clone(),
                reason,
            })?;
        Ok(Self {
            engine: Engine {
                runner,
                workload: Arc::new(workload),
                cancel,
                grace: Duration::from_secs(10),
            },
            runs: AtomicU64::new(0),
        })
    }

    /// Runs `ops` operations of the workload's mix with `workers` workers back to back;
    /// returns how long they took (from the first start to the last end). Each call draws
    /// operations from a new seed.
    pub async fn run(&self, ops: u64, workers: usize) -> Duration {
        let spec = PhaseSpec {
            label: String::new(),
            length: Length::Ops(ops.max(1)),
            mode: Mode::Closed {
                concurrency: workers.max(1),
            },
            seed: self.runs.fetch_add(1, Ordering::Relaxed),
            stagger: 0.0,
        };
        self.engine.run(&spec, &Silent, None).await.elapsed
    }
}
