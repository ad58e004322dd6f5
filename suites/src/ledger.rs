//! The books of a trial: for every loaded account, the changes that commands (and appends)
//! surely made and the ones they may have made, kept as operations run. After the trial, each
//! touched account's balance must lie between the two: below means lost updates, above means
//! changes nobody made. Applied after every trial that runs commands, in every suite.

use crate::check::counter::Books;
use crate::check::{Evidence, MAX_EVIDENCE, Validity, Verdict};
use crate::domain::{INITIAL_BALANCE, decode_state};
use crate::executor::replay;
use crate::outcome::{Executed, Outcome};
use crate::subject::Target;
use statebench_adapters::Layered;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// Above this many loaded keys no books are kept (their memory would dwarf the run's).
pub const MAX_KEYS: u64 = 1_000_000;
/// At most this many touched accounts are read back after a trial.
pub const MAX_CHECKED: usize = 10_000;
/// Accounts read back at once.
const READERS: usize = 16;

#[derive(Default)]
struct Account {
    acknowledged: AtomicI64,
    maybe_up: AtomicI64,
    maybe_down: AtomicI64,
    touched: AtomicBool,
    /// A blind write set the balance: the books no longer bound it.
    overwritten: AtomicBool,
}

/// How a change ended, for the books.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    /// It took effect.
    Applied,
    /// It certainly did not.
    NotApplied,
    /// It may have.
    Maybe,
}

impl Settled {
    /// What an executed command or append says about its change.
    pub fn of(done: &Executed) -> Self {
        match done.outcome {
            Outcome::Ok if done.rejected => Self::NotApplied,
            Outcome::Ok => Self::Applied,
            Outcome::Conflict => Self::NotApplied,
            Outcome::Indefinite | Outcome::Fatal => Self::Maybe,
        }
    }
}

/// The books of every loaded account of one trial.
pub struct Ledger {
    accounts: Box<[Account]>,
    changes: AtomicU64,
}

impl Ledger {
    /// Books for `keys` accounts; `None` above [`MAX_KEYS`].
    pub fn new(keys: u64) -> Option<Self> {
        (keys <= MAX_KEYS).then(|| Self {
            accounts: (0..keys).map(|_| Account::default()).collect(),
            changes: AtomicU64::new(0),
        })
    }

    /// A change of `delta` to account `key` is about to be attempted.
    pub fn begin(&self, key: u64, delta: i64) {
        if let Some(a) = self.accounts.get(key as usize) {
            a.touched.store(true, Ordering::Relaxed);
            if delta >= 0 {
                a.maybe_up.fetch_add(delta, Ordering::Relaxed);
            } else {
                a.maybe_down.fetch_add(delta, Ordering::Relaxed);
            }
            self.changes.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The change begun with [`Ledger::begin`] ended so.
    pub fn end(&self, key: u64, delta: i64, settled: Settled) {
        let Some(a) = self.accounts.get(key as usize) else {
            return;
        };
        if settled == Settled::Maybe {
            return;
        }
        if delta >= 0 {
            a.maybe_up.fetch_sub(delta, Ordering::Relaxed);
        } else {
            a.maybe_down.fetch_sub(delta, Ordering::Relaxed);
        }
        if settled == Settled::Applied {
            a.acknowledged.fetch_add(delta, Ordering::Relaxed);
        }
    }

    /// A blind write set account `key`'s balance: its books stop bounding it.
    pub fn overwrite(&self, key: u64) {
        if let Some(a) = self.accounts.get(key as usize) {
            a.overwritten.store(true, Ordering::Relaxed);
        }
    }

    fn books(&self, key: usize) -> Books {
        let a = &self.accounts[key];
        Books {
            acknowledged: a.acknowledged.load(Ordering::Relaxed),
            maybe_up: a.maybe_up.load(Ordering::Relaxed),
            maybe_down: a.maybe_down.load(Ordering::Relaxed),
        }
    }

    /// Reads back every touched account (up to [`MAX_CHECKED`]) and compares its balance
    /// with its books; `name` names account `key`.
    pub async fn verify(
        self: Arc<Self>,
        target: &Target,
        truth: Option<&Arc<dyn Layered>>,
        name: impl Fn(u64) -> String,
    ) -> Verdict {
        let touched: Vec<u64> = (0..self.accounts.len())
            .filter(|&k| {
                let a = &self.accounts[k];
                a.touched.load(Ordering::Relaxed) && !a.overwritten.load(Ordering::Relaxed)
            })
            .map(|k| k as u64)
            .collect();
        let overwritten = self
            .accounts
            .iter()
            .filter(|a| a.overwritten.load(Ordering::Relaxed))
            .count();
        let checked: Vec<u64> = touched.iter().copied().take(MAX_CHECKED).collect();
        let balances = read_all(target, truth, &checked, &name).await;
        let (mut lost, mut phantom, mut unread) = (0u64, 0u64, 0u64);
        let mut evidence = Vec::new();
        for (&key, balance) in checked.iter().zip(&balances) {
            let balance = match balance {
                Ok(Some(balance)) => balance,
                Ok(None) => {
                    // The account was loaded and never deleted: its books are lost with it.
                    lost += 1;
                    if evidence.len() < MAX_EVIDENCE {
                        evidence.push(Evidence {
                            key: Some(name(key)),
                            message:
                                "the account is gone after the trial: every change to it is lost"
                                    .into(),
                            ops: Vec::new(),
                        });
                    }
                    continue;
                }
                Err(_) => {
                    unread += 1;
                    continue;
                }
            };
            let books = self.books(key as usize);
            let bounds = books.bounds(INITIAL_BALANCE);
            let place = bounds.place(*balance);
            if place == std::cmp::Ordering::Equal {
                continue;
            }
            if place == std::cmp::Ordering::Less {
                lost += 1;
            } else {
                phantom += 1;
            }
            if evidence.len() < MAX_EVIDENCE {
                evidence.push(Evidence {
                    key: Some(name(key)),
                    message: format!(
                        "balance {balance} after the trial; acknowledged changes put it at {} to {} ({} acknowledged, up to {} and {} more in doubt)",
                        bounds.low, bounds.high, books.acknowledged, books.maybe_up, books.maybe_down
                    ),
                    ops: Vec::new(),
                });
            }
        }
        let n = checked.len() as u64;
        let (validity, mut summary) = if lost + phantom > 0 {
            (
                Validity::Invalid,
                format!(
                    "{lost} of {n} accounts below their acknowledged changes (lost updates), {phantom} above them"
                ),
            )
        } else if n == 0 {
            (Validity::Unknown, "no account left to check".to_owned())
        } else if n == unread {
            (
                Validity::Unknown,
                format!("no account could be read back ({n} touched)"),
            )
        } else {
            // An account not read back may hide a lost update.
            (
                if unread > 0 {
                    Validity::Unknown
                } else {
                    Validity::Valid
                },
                format!(
                    "{} accounts each within their acknowledged changes",
                    n - unread
                ),
            )
        };
        if touched.len() > checked.len() {
            summary += &format!(
                " (the first {} of {} touched)",
                checked.len(),
                touched.len()
            );
        }
        if unread > 0 {
            let why = balances
                .iter()
                .find_map(|b| b.as_ref().err())
                .cloned()
                .unwrap_or_default();
            summary += &format!("; {unread} could not be read back ({why})");
        }
        if overwritten > 0 {
            summary += &format!("; {overwritten} set by blind writes left out");
        }
        Verdict {
            check: "lost-updates".into(),
            validity,
            ops: self.changes.load(Ordering::Relaxed),
            keys: n,
            violations: lost + phantom,
            summary,
            evidence,
        }
    }
}

/// The balance of each account, read `READERS` at a time.
async fn read_all(
    target: &Target,
    truth: Option<&Arc<dyn Layered>>,
    keys: &[u64],
    name: &impl Fn(u64) -> String,
) -> Vec<Result<Option<i64>, String>> {
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(READERS) {
        let mut set = tokio::task::JoinSet::new();
        for (i, &k) in chunk.iter().enumerate() {
            let (target, truth, key) = (target.clone(), truth.cloned(), name(k));
            set.spawn(async move { (i, balance(&target, truth.as_ref(), key).await) });
        }
        let mut read: Vec<Result<Option<i64>, String>> = vec![Err("not read".into()); chunk.len()];
        while let Some(joined) = set.join_next().await {
            if let Ok((i, balance)) = joined {
                read[i] = balance;
            }
        }
        out.extend(read);
    }
    out
}

async fn balance(
    target: &Target,
    truth: Option<&Arc<dyn Layered>>,
    key: String,
) -> Result<Option<i64>, String> {
    let read = async {
        match (target, truth) {
            (_, Some(layers)) => state_balance(layers.truth(&key).await),
            (Target::State(store), None) => state_balance(store.get(&key).await),
            (Target::Events(store), None) => replay(store.as_ref(), &key)
                .await
                .map(|(account, _)| Some(account.balance))
                .map_err(|e| e.error.unwrap_or_default()),
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(15), read)
        .await
        .map_err(|_| "no answer within 15 s".to_owned())?
}

/// The balance of a state account; `None` when the account is gone.
fn state_balance(
    found: Result<Option<statebench_adapters::Versioned>, statebench_adapters::StateError>,
) -> Result<Option<i64>, String> {
    match found.map_err(|e| e.to_string())? {
        Some(v) => decode_state(&v.value).map(|a| Some(a.balance)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use statebench_adapters::memory::Memory;
    use statebench_adapters::{Expect, StateStore};

    fn account(balance: i64) -> Bytes {
        Bytes::copy_from_slice(&balance.to_le_bytes())
    }

    async fn books_over(store: Arc<Memory>, ledger: Ledger) -> Verdict {
        let target = Target::State(store);
        Arc::new(ledger)
            .verify(&target, None, |k| format!("acct-{k}"))
            .await
    }

    #[tokio::test]
    async fn an_account_that_is_gone_is_lost_not_left_out() {
        let store = Arc::new(Memory::new());
        let ledger = Ledger::new(2).unwrap();
        for key in 0..2 {
            ledger.begin(key, 10);
            ledger.end(key, 10, Settled::Applied);
        }
        let balance = account(INITIAL_BALANCE + 10);
        store.put("acct-0", balance, Expect::Any).await.unwrap();
        let v = books_over(store, ledger).await;
        assert_eq!(v.validity, Validity::Invalid, "{v:?}");
        assert_eq!(v.violations, 1);
        assert!(v.evidence[0].message.contains("gone"), "{v:?}");
    }

    #[tokio::test]
    async fn balances_within_their_books_pass_and_one_outside_fails() {
        let store = Arc::new(Memory::new());
        let ledger = Ledger::new(2).unwrap();
        ledger.begin(0, 10);
        ledger.end(0, 10, Settled::Applied);
        ledger.begin(1, -5);
        ledger.end(1, -5, Settled::Maybe);
        store
            .put("acct-0", account(INITIAL_BALANCE + 10), Expect::Any)
            .await
            .unwrap();
        store
            .put("acct-1", account(INITIAL_BALANCE - 5), Expect::Any)
            .await
            .unwrap();
        let v = books_over(store.clone(), ledger).await;
        assert_eq!(v.validity, Validity::Valid, "{v:?}");

        let ledger = Ledger::new(1).unwrap();
        for _ in 0..2 {
            ledger.begin(0, 10);
            ledger.end(0, 10, Settled::Applied);
        }
        let v = books_over(store, ledger).await;
        assert_eq!(
            v.validity,
            Validity::Invalid,
            "one deposit of 10 was lost: {v:?}"
        );
    }

    #[tokio::test]
    async fn nothing_left_to_check_is_not_a_pass() {
        let ledger = Ledger::new(1).unwrap();
        ledger.begin(0, 10);
        ledger.overwrite(0);
        let v = books_over(Arc::new(Memory::new()), ledger).await;
        assert_eq!(v.validity, Validity::Unknown, "{v:?}");
        assert_eq!(v.keys, 0);
    }
}
