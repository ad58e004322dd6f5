//! Checks of your own adapter from ordinary `#[test]`s: the conformance suite and the
//! consistency suite (no faults: your store runs in your process) on a [`Subject`] you make,
//! each returning a [`Report`] whose [`assert_pass`](Report::assert_pass) fails the test with
//! every failed check and its evidence.
//!
//! ```no_run
//! # use statebench_suites::{Subject, Target, testing};
//! # use std::sync::Arc;
//! # async fn example(store: Arc<dyn statebench_adapters::StateStore>) {
//! let subject = Subject::new("my-store", Target::State(store), "in process");
//! testing::conformance(&subject).await.assert_pass();
//! testing::consistency(&subject, &testing::ConsistencyOptions::default())
//!     .await
//!     .assert_pass();
//! # }
//! ```
//!
//! Run them on a multi-threaded runtime (`#[tokio::test(flavor = "multi_thread")]`), so that
//! the racing checks race on threads as well as on tasks.

use crate::Silent;
use crate::check::Validity;
use crate::faults::{FaultSpec, NoNemesis};
use crate::results::{CheckResult, CheckStatus, ConsistencyCheck, ConsistencyRun};
use crate::subject::Subject;
use crate::suite::{Context, conformance as conformance_suite, consistency as consistency_suite};
use crate::workload::{Seconds, Workload, builtin};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// Runs every conformance check of the subject's contract, each race
/// [`ROUNDS`](conformance_suite::ROUNDS) times, on keys unique to this call.
pub async fn conformance(subject: &Subject) -> Report {
    let prefix = format!("{}conformance/", unique_prefix());
    Report {
        subject: subject.name.clone(),
        conformance: conformance_suite::run(subject, &prefix, &Silent).await,
        consistency: Vec::new(),
    }
}

/// How long and how hard [`consistency`] drives the subject.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConsistencyOptions {
    /// How long the clients run.
    pub duration: Duration,
    /// Operations per second offered by all clients together.
    pub rate: f64,
    /// Seeds the clients' choices.
    pub seed: u64,
}

impl Default for ConsistencyOptions {
    /// One second at 4,000 operations per second: enough for a racy compare-and-set to lose
    /// updates, short enough for a unit test.
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(1),
            rate: 4_000.0,
            seed: 1,
        }
    }
}

/// Runs the consistency suite with no faults: concurrent clients on a few hot keys record a
/// history, which the checkers then read (linearizability, lost updates; stream integrity
/// for an event store). Histories are not written anywhere.
pub async fn consistency(subject: &Subject, options: &ConsistencyOptions) -> Report {
    let workload = consistency_workload(options);
    let ctx = Context {
        seed: options.seed,
        workload,
        cancel: CancellationToken::new(),
        progress: &Silent,
        grace: Duration::from_secs(10),
        run_dir: None,
        slice: crate::shard::Slice::WHOLE,
        agenda: None,
    };
    let prefix = unique_prefix();
    Report {
        subject: subject.name.clone(),
        conformance: Vec::new(),
        consistency: consistency_suite::run(subject, &ctx, &prefix, &NoNemesis).await,
    }
}

/// The built-in `hot-key-commands` workload with one fault-free scenario as `options` say.
fn consistency_workload(options: &ConsistencyOptions) -> Arc<Workload> {
    // Built-in workloads are compiled in and parsed by the tests of `workload`.
    let mut workload = builtin("hot-key-commands")
        .and_then(Result::ok)
        .expect("the built-in hot-key-commands workload parses");
    workload.seed = options.seed;
    let c = &mut workload.consistency;
    c.duration = Seconds(options.duration);
    c.rate = options.rate;
    c.quiet = Seconds(Duration::from_millis(50));
    c.faults = vec![FaultSpec::NONE];
    Arc::new(workload)
}

/// A key prefix no other call in this process, nor an earlier process, uses: a store that
/// keeps its data between test runs starts each check on fresh keys.
fn unique_prefix() -> String {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    format!("statebench-test-{nanos:x}-{call}/")
}

/// What the checks found on one subject.
#[derive(Clone, Debug)]
pub struct Report {
    /// The subject checked.
    pub subject: String,
    /// Conformance checks, in the order they ran.
    pub conformance: Vec<CheckResult>,
    /// Consistency runs (one per fault scenario), with their checkers' verdicts.
    pub consistency: Vec<ConsistencyRun>,
}

/// A check that did not pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The check's name: `cas-exactly-one-winner`, `lost-updates`, …
    pub check: String,
    /// Whether it failed or could not decide (either way, not a pass).
    pub undecided: bool,
    /// What happened, with the evidence, over as many lines as it takes.
    pub detail: String,
}

impl Report {
    /// Every check that failed, and every promised consistency check that could not
    /// decide: a verdict of unknown is never a pass. Checks of capabilities the adapter
    /// declares unsupported, and properties it does not promise, are left out.
    pub fn failures(&self) -> Vec<Failure> {
        let conformance = self
            .conformance
            .iter()
            .filter(|c| c.status == CheckStatus::Fail)
            .map(|c| Failure {
                check: c.check.clone(),
                undecided: false,
                detail: c.detail.clone(),
            });
        let consistency = self.consistency.iter().flat_map(|run| {
            run.checks
                .iter()
                .filter(|c| c.promised && c.verdict.validity != Validity::Valid)
                .map(|c| consistency_failure(run, c))
        });
        conformance.chain(consistency).collect()
    }

    /// Whether every check passed (or was not run, as the adapter declares).
    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }

    /// Whether the check named `check` failed (a verdict of unknown is not a failure here).
    pub fn failed(&self, check: &str) -> bool {
        self.failures()
            .iter()
            .any(|f| f.check == check && !f.undecided)
    }

    /// Panics with every failure and its evidence unless every check passed.
    #[track_caller]
    pub fn assert_pass(&self) {
        let failures = self.failures();
        if !failures.is_empty() {
            panic!(
                "{}: {} of the checks did not pass\n\n{}",
                self.subject,
                failures.len(),
                shown(&failures)
            );
        }
    }
}

fn consistency_failure(run: &ConsistencyRun, c: &ConsistencyCheck) -> Failure {
    let v = &c.verdict;
    let mut detail = format!("{} (fault: {})", v.summary, run.fault);
    for e in &v.evidence {
        detail += "\n";
        if let Some(key) = &e.key {
            detail += &format!("key {key}: ");
        }
        detail += &e.message;
        for op in &e.ops {
            detail += &format!("\n    {op}");
        }
    }
    Failure {
        check: v.check.clone(),
        undecided: v.validity == Validity::Unknown,
        detail,
    }
}

fn shown(failures: &[Failure]) -> String {
    let blocks: Vec<String> = failures.iter().map(ToString::to_string).collect();
    blocks.join("\n\n")
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.undecided {
            "could not decide"
        } else {
            "FAILED"
        };
        write!(f, "{} {what}:", self.check)?;
        for line in self.detail.lines() {
            write!(f, "\n  {line}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Report {
    /// Each check and how it went, then the failures with their evidence.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.subject)?;
        for c in &self.conformance {
            writeln!(f, "  {} {:?}", c.check, c.status)?;
        }
        for run in &self.consistency {
            for c in &run.checks {
                let v = &c.verdict;
                let promised = if c.promised { "" } else { " (not promised)" };
                writeln!(f, "  {} {}{promised}: {}", v.check, v.validity, v.summary)?;
            }
        }
        let failures = self.failures();
        if !failures.is_empty() {
            write!(f, "\n{}", shown(&failures))?;
        }
        Ok(())
    }
}
