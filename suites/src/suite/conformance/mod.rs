//! The conformance suite: deterministic checks of the contract, per subject. A check whose
//! capability the adapter declares unsupported is not run and reported as such, with the
//! adapter's reason.

mod events;
mod snapshots;
mod state;

use crate::progress::Progress;
use crate::results::{CheckResult, CheckStatus};
use crate::subject::{Subject, Target};
use statebench_adapters::{Capabilities, Capability, StoreError};
use std::fmt::{self, Display};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A check that does not finish in this time fails.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

type Verdict = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// One check of the contract over store type `S`, run on keys below a prefix of its own.
/// It runs only when the adapter declares every capability it `needs`; checks that read back
/// what they wrote need read-your-writes.
struct Check<S: ?Sized> {
    name: &'static str,
    needs: &'static [Needs],
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

/// Runs every check of the subject's interface; keys go below `prefix`, unique to the run.
pub async fn run(subject: &Subject, prefix: &str, progress: &dyn Progress) -> Vec<CheckResult> {
    match &subject.target {
        Target::State(store) => run_all(subject, store, state::CHECKS, prefix, progress).await,
        Target::Events(store) => {
            let mut results = run_all(subject, store, events::CHECKS, prefix, progress).await;
            results.extend(match &subject.snapshots {
                Some(snapshots) => {
                    let prefix = format!("{prefix}snapshots/");
                    run_all(subject, snapshots, snapshots::CHECKS, &prefix, progress).await
                }
                None => snapshots::CHECKS
                    .iter()
                    .map(|check| CheckResult {
                        subject: subject.name.clone(),
                        check: check.name.to_owned(),
                        capability: None,
                        status: CheckStatus::Unsupported,
                        detail: "the adapter keeps no snapshots".to_owned(),
                    })
                    .collect(),
            });
            results
        }
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
        let missing = check.needs.iter().find_map(|n| match n.of(caps) {
            Capability::Unsupported(reason) => Some(format!("no {}: {reason}", n.name())),
            Capability::Supported => None,
        });
        let (status, detail) = match missing {
            Some(reason) => (CheckStatus::Unsupported, reason),
            None => {
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
            capability: check.needs.first().map(|n| n.name().to_owned()),
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

/// Expects a conflict whose reported token, if any, is `current`.
fn expect_conflict<V, T: PartialEq + Display + fmt::Debug>(
    what: &str,
    result: Result<V, StoreError<T>>,
    current: T,
) -> Result<(), String>
where
    V: fmt::Debug,
{
    match result {
        Err(StoreError::Conflict { actual: None }) => Ok(()),
        Err(StoreError::Conflict { actual: Some(a) }) if a == current => Ok(()),
        Err(StoreError::Conflict { actual: Some(a) }) => Err(format!(
            "{what}: the conflict reported {a}, but the current one is {current}"
        )),
        Ok(v) => Err(format!("{what} succeeded ({v:?}) where it had to conflict")),
        Err(e) => Err(format!("{what}: {e}")),
    }
}

/// Runs `RACERS` copies of `race` at once (each gets its number) and returns their results.
async fn race<R, F, Fut>(race: F) -> Result<Vec<R>, String>
where
    R: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    let mut racers = tokio::task::JoinSet::new();
    for i in 0..RACERS {
        racers.spawn(race(i));
    }
    let mut results = Vec::with_capacity(RACERS);
    while let Some(joined) = racers.join_next().await {
        results.push(joined.map_err(|e| format!("a racing task failed: {e}"))?);
    }
    Ok(results)
}

/// Bytes as text for a message.
fn shown(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}
