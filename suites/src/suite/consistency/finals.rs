//! The end of a consistency run: final reads of every key (process `final`), retried while the
//! store is still coming back, and for a cached store, the entries still stale after the quiet
//! period.

use super::FINAL;
use super::clients::{self, Ended, Plan};
use crate::history::Process;
use crate::subject::{Subject, Target};
use serde_json::Value;
use std::time::Duration;

/// Final reads are tried this many times, a second apart, while they end indefinite.
const TRIES: u32 = 10;

/// A cache entry that still differed from the truth after the quiet period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaleEntry {
    /// The key's name in the history.
    pub key: String,
    /// The version the cache holds (0: none).
    pub cached: u64,
    /// The version the truth holds (0: absent).
    pub truth: u64,
    /// How long the cache will keep it; `None`: until something removes it.
    pub expires_in: Option<Duration>,
}

/// What the stale-for-good check found: `None` when the subject has no cache.
pub type StaleForGood = Option<CacheInspection>;

/// A cache compared with its truth after the quiet period.
pub struct CacheInspection {
    /// Entries that differ from the truth.
    pub stale: Vec<StaleEntry>,
    /// How long the adapter declares an entry may live.
    pub bound: Option<Duration>,
    /// Keys whose cache and truth were both read.
    pub inspected: u64,
    /// Keys where either read failed.
    pub unread: u64,
    /// The first of those failures.
    pub unread_why: Option<String>,
}

/// Reads every key once more, recording the reads; inspects a cache against its truth.
pub async fn read(subject: &Subject, histories: &super::Histories, plan: &Plan) -> StaleForGood {
    let final_process = || Process::Name(FINAL.into());
    match &subject.target {
        Target::State(store) => {
            if let Some(registers) = &histories.registers {
                for i in 0..plan.keys {
                    let name = format!("reg-{i}");
                    let key = format!("{}{name}", plan.prefix);
                    // A cached store's final reads go to its truth: durability is the truth's.
                    retried(|| {
                        clients::recorded(
                            registers,
                            final_process(),
                            "read",
                            &name,
                            Value::Null,
                            async {
                                match &subject.layers {
                                    Some(layers) => {
                                        clients::read_truth(layers.as_ref(), &key).await
                                    }
                                    None => clients::read_register(store.as_ref(), &key).await,
                                }
                            },
                        )
                    })
                    .await;
                }
            }
            if let Some(accounts) = &histories.accounts {
                for i in 0..plan.keys {
                    let name = format!("acct-{i}");
                    let key = format!("{}{name}", plan.prefix);
                    let truth = subject.layers.as_deref();
                    retried(|| {
                        clients::recorded(
                            accounts,
                            final_process(),
                            "read",
                            &name,
                            Value::Null,
                            clients::read_balance(store.as_ref(), truth, &key),
                        )
                    })
                    .await;
                }
            }
        }
        Target::Events(store) => {
            if let Some(streams) = &histories.streams {
                for i in 0..plan.keys {
                    let name = format!("stream-{i}");
                    let key = format!("{}{name}", plan.prefix);
                    retried(|| {
                        clients::recorded(
                            streams,
                            final_process(),
                            "read",
                            &name,
                            Value::Null,
                            async {
                                match clients::read_stream(store.as_ref(), &key, None).await {
                                    Ok((events, _)) => Ended::Ok(Value::Array(events), None),
                                    Err(e) => Ended::Info(e),
                                }
                            },
                        )
                    })
                    .await;
                }
            }
        }
    }
    stale_for_good(subject, plan).await
}

async fn retried<F, Fut>(mut read: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Ended>,
{
    for attempt in 0..TRIES {
        if !matches!(read().await, Ended::Info(_)) {
            return;
        }
        if attempt + 1 < TRIES {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// Compares each key's cache entry with its truth.
async fn stale_for_good(subject: &Subject, plan: &Plan) -> StaleForGood {
    let layers = subject.layers.as_ref()?;
    let mut stale = Vec::new();
    let (mut inspected, mut unread, mut unread_why) = (0, 0, None);
    for i in 0..plan.keys {
        for name in [format!("reg-{i}"), format!("acct-{i}")] {
            let key = format!("{}{name}", plan.prefix);
            let (truth, cached) = match (layers.truth(&key).await, layers.cached(&key).await) {
                (Ok(truth), Ok(cached)) => (truth, cached),
                (Err(e), _) | (_, Err(e)) => {
                    unread += 1;
                    unread_why.get_or_insert_with(|| format!("{name}: {e}"));
                    continue;
                }
            };
            inspected += 1;
            let truth_version = truth.map_or(0, |t| t.version.raw());
            if let Some(c) = cached
                && c.entry.version.raw() != truth_version
            {
                stale.push(StaleEntry {
                    key: name,
                    cached: c.entry.version.raw(),
                    truth: truth_version,
                    expires_in: c.expires_in,
                });
            }
        }
    }
    Some(CacheInspection {
        stale,
        bound: layers.staleness_bound(),
        inspected,
        unread,
        unread_why,
    })
}
