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

/// How many rounds a check that races runs, each on a fresh key, stopping at the first
/// failure: a store that is only sometimes wrong passes a single round by luck.
pub const ROUNDS: usize = 20;

/// One check of the contract over store type `S`, run on keys below a prefix of its own.
/// It runs only when the adapter declares every capability it `needs`; checks that can only
/// be verified by reading back what they wrote need read-your-writes.
struct Check<S: ?Sized> {
    name: &'static str,
    needs: &'static [Needs],
    run: fn(Arc<S>, String, Plan) -> Verdict,
}

/// How the checks run on one subject.
#[derive(Clone, Copy, Debug)]
struct Plan {
    /// Whether a check reads back what it wrote: only when the subject declares
    /// read-your-writes, since a read may otherwise come from an older copy (a cache).
    read_back: bool,
    /// How many rounds each race runs.
    rounds: usize,
}

impl Plan {
    /// Runs `verify` only when the subject promises that reads see its writes.
    async fn read_back(
        self,
        verify: impl Future<Output = Result<(), String>>,
    ) -> Result<(), String> {
        if self.read_back { verify.await } else { Ok(()) }
    }

    /// Runs `round` on fresh keys below `key` until one fails (saying which) or all pass.
    async fn rounds<F, Fut>(self, key: &str, mut round: F) -> Result<(), String>
    where
        F: FnMut(String) -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        let total = self.rounds;
        for n in 1..=total {
            round(format!("{key}round-{n}"))
                .await
                .map_err(|e| format!("round {n} of {total}: {e}"))?;
        }
        Ok(())
    }
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

/// Runs every check of the subject's interface, each race [`ROUNDS`] times; keys go below
/// `prefix`, unique to the run.
pub async fn run(subject: &Subject, prefix: &str, progress: &dyn Progress) -> Vec<CheckResult> {
    run_rounds(subject, prefix, progress, ROUNDS).await
}

/// [`run`], with each race run `rounds` times (at least once): fewer only to show what
/// repetition buys.
pub async fn run_rounds(
    subject: &Subject,
    prefix: &str,
    progress: &dyn Progress,
    rounds: usize,
) -> Vec<CheckResult> {
    let plan = Plan {
        read_back: subject
            .descriptor()
            .capabilities
            .read_your_writes
            .is_supported(),
        rounds: rounds.max(1),
    };
    let total = match &subject.target {
        Target::State(_) => state::CHECKS.len(),
        Target::Events(_) => events::CHECKS.len() + snapshots::CHECKS.len(),
    };
    progress.begin(&format!("{}: conformance", subject.name), total as u64);
    let mut results = Vec::with_capacity(total);
    match &subject.target {
        Target::State(store) => {
            run_all(
                subject,
                store,
                state::CHECKS,
                prefix,
                progress,
                plan,
                &mut results,
            )
            .await;
        }
        Target::Events(store) => {
            run_all(
                subject,
                store,
                events::CHECKS,
                prefix,
                progress,
                plan,
                &mut results,
            )
            .await;
            match &subject.snapshots {
                Some(snapshots) => {
                    let prefix = format!("{prefix}snapshots/");
                    let checks = snapshots::CHECKS;
                    run_all(
                        subject,
                        snapshots,
                        checks,
                        &prefix,
                        progress,
                        plan,
                        &mut results,
                    )
                    .await;
                }
                None => results.extend(snapshots::CHECKS.iter().map(|check| CheckResult {
                    subject: subject.name.clone(),
                    check: check.name.to_owned(),
                    capability: None,
                    status: CheckStatus::Unsupported,
                    detail: "the adapter keeps no snapshots".to_owned(),
                })),
            }
        }
    }
    progress.advance(results.len() as u64, "");
    progress.end(&counts(&results));
    results
}

/// How the checks went, counted as the run's summary counts them: "2 pass, 0 FAIL, 7
/// unsupported".
pub fn counts<'a>(results: impl IntoIterator<Item = &'a CheckResult>) -> String {
    let (mut pass, mut fail, mut unsupported) = (0, 0, 0);
    for r in results {
        match r.status {
            CheckStatus::Pass => pass += 1,
            CheckStatus::Fail => fail += 1,
            CheckStatus::Unsupported => unsupported += 1,
        }
    }
    format!("{pass} pass, {fail} FAIL, {unsupported} unsupported")
}

/// Runs `checks` on `store`, adding their results to `results`.
async fn run_all<S: ?Sized>(
    subject: &Subject,
    store: &Arc<S>,
    checks: &[Check<S>],
    prefix: &str,
    progress: &dyn Progress,
    plan: Plan,
    results: &mut Vec<CheckResult>,
) {
    let caps = &subject.descriptor().capabilities;
    for check in checks {
        let missing = check.needs.iter().find_map(|n| match n.of(caps) {
            Capability::Unsupported(reason) => Some(format!("no {}: {reason}", n.name())),
            Capability::Supported => None,
        });
        let (status, detail) = match missing {
            Some(reason) => (CheckStatus::Unsupported, reason),
            None => {
                let verdict = (check.run)(store.clone(), format!("{prefix}{}/", check.name), plan);
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
        progress.advance(results.len() as u64, check.name);
    }
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
/// The racers wait for one another at a start line, so that the first does not finish
/// before the last has started.
async fn race<R, F, Fut>(race: F) -> Result<Vec<R>, String>
where
    R: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut racers = tokio::task::JoinSet::new();
    for i in 0..RACERS {
        let (start, run) = (start.clone(), race(i));
        racers.spawn(async move {
            start.wait().await;
            run.await
        });
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

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(rounds: usize) -> Plan {
        Plan {
            read_back: false,
            rounds,
        }
    }

    #[tokio::test]
    async fn rounds_use_fresh_keys_and_stop_at_the_first_failure_naming_it() {
        let mut keys = Vec::new();
        let outcome = plan(ROUNDS)
            .rounds("check/", |key| {
                keys.push(key);
                let n = keys.len();
                async move { ensure(n != 7, || "2 of 16 writers won".to_owned()) }
            })
            .await;
        assert_eq!(
            outcome,
            Err("round 7 of 20: 2 of 16 writers won".to_owned())
        );
        assert_eq!(keys.len(), 7, "no round after the failure");
        assert_eq!(keys[0], "check/round-1");
        assert!(keys.windows(2).all(|w| w[0] != w[1]));
    }

    #[tokio::test]
    async fn every_round_runs_when_all_pass_and_read_back_runs_only_when_planned() {
        let mut ran = 0;
        let outcome = plan(ROUNDS)
            .rounds("k/", |_| {
                ran += 1;
                async { Ok(()) }
            })
            .await;
        assert_eq!((outcome, ran), (Ok(()), ROUNDS));
        let failing = || async { Err::<(), _>("read back".to_owned()) };
        assert_eq!(plan(1).read_back(failing()).await, Ok(()));
        let reading = Plan {
            read_back: true,
            rounds: 1,
        };
        assert_eq!(reading.read_back(failing()).await, Err("read back".into()));
    }
}
