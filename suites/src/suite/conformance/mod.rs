//! The conformance suite: deterministic checks of the contract, per subject. A check whose
//! capability the adapter declares unsupported is not run and reported as such, with the
//! adapter's reason.

mod events;
mod state;

use crate::progress::Progress;
use crate::results::{CheckResult, CheckStatus};
use crate::subject::{Subject, Target};
use statebench_adapters::{Capabilities, Capability};
use std::fmt::Display;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A check that does not finish in this time fails.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

type Verdict = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// One check of the contract over store type `S`, run on keys below a prefix of its own.
struct Check<S: ?Sized> {
    name: &'static str,
    needs: Option<Needs>,
    run: fn(Arc<S>, String) -> Verdict,
}

/// The capability a check verifies.
#[derive(Clone, Copy, Debug)]
enum Needs {
    Cas,
    ReadYourWrites,
    DenseRevisions,
    AtomicMultiEventAppend,
    IdempotentAppend,
}

impl Needs {
    fn name(self) -> &'static str {
        match self {
            Self::Cas => "cas",
            Self::ReadYourWrites => "read_your_writes",
            Self::DenseRevisions => "dense_revisions",
            Self::AtomicMultiEventAppend => "atomic_multi_event_append",
            Self::IdempotentAppend => "idempotent_append",
        }
    }

    fn of(self, caps: &Capabilities) -> &Capability {
        match self {
            Self::Cas => &caps.cas,
            Self::ReadYourWrites => &caps.read_your_writes,
            Self::DenseRevisions => &caps.dense_revisions,
            Self::AtomicMultiEventAppend => &caps.atomic_multi_event_append,
            Self::IdempotentAppend => &caps.idempotent_append,
        }
    }
}

/// The names of every check for `interface` (`state` or `events`), in order.
pub fn names(events: bool) -> Vec<&'static str> {
    if events {
        events::CHECKS.iter().map(|c| c.name).collect()
    } else {
        state::CHECKS.iter().map(|c| c.name).collect()
    }
}

/// Runs every check of the subject's interface; keys go below `prefix`, unique to the run.
pub async fn run(subject: &Subject, prefix: &str, progress: &dyn Progress) -> Vec<CheckResult> {
    match &subject.target {
        Target::State(store) => run_all(subject, store, state::CHECKS, prefix, progress).await,
        Target::Events(store) => run_all(subject, store, events::CHECKS, prefix, progress).await,
    }
}

async fn run_all<S: ?Sized>(
    subject: &Subject,
    store: &Arc<S>,
    checks: &[Check<S>],
    prefix: &str,
    progress: &dyn Progress,
) -> Vec<CheckResult> {
    let caps = &subject.descriptor().capabilities;
    progress.begin(
        &format!("{}: conformance", subject.name),
        checks.len() as u64,
    );
    let mut results = Vec::with_capacity(checks.len());
    for (i, check) in checks.iter().enumerate() {
        let (status, detail) = match check.needs.map(|n| n.of(caps)) {
            Some(Capability::Unsupported(reason)) => (CheckStatus::Unsupported, reason.clone()),
            _ => {
                let verdict = (check.run)(store.clone(), format!("{prefix}{}/", check.name));
                match tokio::time::timeout(CHECK_TIMEOUT, verdict).await {
                    Ok(Ok(())) => (CheckStatus::Pass, String::new()),
                    Ok(Err(detail)) => (CheckStatus::Fail, detail),
                    Err(_) => (
                        CheckStatus::Fail,
                        format!("did not finish in {CHECK_TIMEOUT:?}"),
                    ),
                }
            }
        };
        results.push(CheckResult {
            subject: subject.name.clone(),
            check: check.name.to_owned(),
            capability: check.needs.map(|n| n.name().to_owned()),
            status,
            detail,
        });
        progress.advance(i as u64 + 1, check.name);
    }
    let failed = results
        .iter()
        .filter(|r| r.status == CheckStatus::Fail)
        .count();
    progress.end(&format!("{} checks, {failed} failed", results.len()));
    results
}

/// Names a failed step of a check.
fn step<T, E: Display>(what: &str, result: Result<T, E>) -> Result<T, String> {
    result.map_err(|e| format!("{what}: {e}"))
}

/// Fails with `message` unless `ok`.
fn ensure(ok: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(message()) }
}

/// How many writers race in the concurrency checks.
const RACERS: usize = 16;
