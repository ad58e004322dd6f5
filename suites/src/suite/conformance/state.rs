//! Checks of the StateStore contract.

use super::{Check, Needs, RACERS, Verdict, ensure, step};
use bytes::Bytes;
use statebench_adapters::{Expect, StateStore, StoreError};
use std::sync::Arc;

type Store = Arc<dyn StateStore>;

pub(super) const CHECKS: &[Check<dyn StateStore>] = &[
    Check {
        name: "get-missing-is-none",
        needs: None,
        run: get_missing,
    },
    Check {
        name: "read-your-writes",
        needs: Some(Needs::ReadYourWrites),
        run: read_your_writes,
    },
    Check {
        name: "put-absent-creates-once",
        needs: None,
        run: absent_once,
    },
    Check {
        name: "cas-current-version-wins",
        needs: Some(Needs::Cas),
        run: cas_current,
    },
    Check {
        name: "cas-stale-version-conflicts",
        needs: Some(Needs::Cas),
        run: cas_stale,
    },
    Check {
        name: "versions-increase",
        needs: None,
        run: versions_increase,
    },
    Check {
        name: "cas-exactly-one-winner",
        needs: Some(Needs::Cas),
        run: one_winner,
    },
    Check {
        name: "values-round-trip",
        needs: None,
        run: values_round_trip,
    },
    Check {
        name: "keys-round-trip",
        needs: None,
        run: keys_round_trip,
    },
];

fn text(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn get_missing(s: Store, k: String) -> Verdict {
    Box::pin(async move {
        match step("get", s.get(&k).await)? {
            None => Ok(()),
            Some(found) => Err(format!("a key never written has version {}", found.version)),
        }
    })
}

fn read_your_writes(s: Store, k: String) -> Verdict {
    Box::pin(async move {
        let version = step("put", s.put(&k, text("mine"), Expect::Any).await)?;
        let found = step("get", s.get(&k).await)?.ok_or("get after an acknowledged put: none")?;
        ensure(
            found.value == text("mine") && found.version == version,
            || {
                format!(
                    "put acknowledged version {version}; get returned version {}",
                    found.version
                )
            },
        )
    })
}

fn absent_once(s: Store, k: String) -> Verdict {
    Box::pin(async move {
        let first = step(
            "first put(absent)",
            s.put(&k, text("a"), Expect::Absent).await,
        )?;
        match s.put(&k, text("b"), Expect::Absent).await {
            Err(StoreError::Conflict { actual }) => {
                ensure(actual.is_none_or(|a| a == first), || {
                    format!("the conflict reported version {actual:?}, the key is at {first}")
                })
            }
            Ok(v) => Err(format!("a second put(absent) succeeded with version {v}")),
            Err(e) => Err(format!("second put(absent): {e}")),
        }
    })
}

fn cas_current(s: Store, k: String) -> Verdict {
    Box::pin(async move {
        let v1 = step("put", s.put(&k, text("one"), Expect::Any).await)?;
        let v2 = step(
            "put(version)",
            s.put(&k, text("two"), Expect::Version(v1)).await,
        )?;
        ensure(v2 > v1, || {
            format!("version {v2} after {v1} is not greater")
        })?;
        let found = step("get", s.get(&k).await)?.ok_or("get after put(version): none")?;
        ensure(found.value == text("two") && found.version == v2, || {
            format!(
                "get returned version {} after put(version) acknowledged {v2}",
                found.version
            )
        })
    })
}

fn cas_stale(s: Store, k: String) -> Verdict {
    Box::pin(async move {
        let v1 = step("put", s.put(&k, text("one"), Expect::Any).await)?;
        let v2 = step(
            "put(version)",
            s.put(&k, text("two"), Expect::Version(v1)).await,
        )?;
        match s.put(&k, text("stale"), Expect::Version(v1)).await {
            Err(StoreError::Conflict { actual }) => ensure(actual.is_none_or(|a| a == v2), || {
                format!("the conflict reported version {actual:?}, the key is at {v2}")
            })?,
            Ok(v) => {
                return Err(format!(
                    "a write expecting stale version {v1} succeeded as {v}"
                ));
            }
            Err(e) => return Err(format!("put(stale version): {e}")),
        }
        let found = step("get", s.get(&k).await)?.ok_or("get: none")?;
        ensure(found.value == text("two"), || {
            "the stale write changed the value".to_owned()
        })
    })
}

fn versions_increase(s: Store, k: String) -> Verdict {
    Box::pin(async move {
        let mut last = None;
        for i in 0..5 {
            let v = step("put", s.put(&k, text(&format!("v{i}")), Expect::Any).await)?;
            ensure(last.is_none_or(|l| v > l), || {
                format!("version {v} after {last:?}")
            })?;
            last = Some(v);
        }
        Ok(())
    })
}

fn one_winner(s: Store, k: String) -> Verdict {
    Box::pin(async move {
        let start = step("put", s.put(&k, text("start"), Expect::Any).await)?;
        let mut racers = tokio::task::JoinSet::new();
        for i in 0..RACERS {
            let (s, k) = (s.clone(), k.clone());
            racers.spawn(async move {
                let value = text(&format!("writer-{i}"));
                (
                    value.clone(),
                    s.put(&k, value, Expect::Version(start)).await,
                )
            });
        }
        let mut winners = Vec::new();
        while let Some(joined) = racers.join_next().await {
            let (value, result) = joined.map_err(|e| format!("a writer task failed: {e}"))?;
            match result {
                Ok(version) => winners.push((value, version)),
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(format!("a racing put: {e}")),
            }
        }
        let [(value, version)] = winners.as_slice() else {
            return Err(format!(
                "{} of {RACERS} writers expecting version {start} succeeded",
                winners.len()
            ));
        };
        let found = step("get", s.get(&k).await)?.ok_or("get after the race: none")?;
        ensure(found.value == *value && found.version == *version, || {
            "the stored value is not the winner's".to_owned()
        })
    })
}

fn values_round_trip(s: Store, k: String) -> Verdict {
    Box::pin(async move {
        let every_byte: Vec<u8> = (0..64 * 1024).map(|i| (i % 256) as u8).collect();
        for (name, value) in [
            ("empty", Bytes::new()),
            ("64 KiB binary", every_byte.into()),
        ] {
            let key = format!("{k}{}", name.replace(' ', "-"));
            step("put", s.put(&key, value.clone(), Expect::Any).await)?;
            let found = step("get", s.get(&key).await)?.ok_or("get: none")?;
            ensure(found.value == value, || {
                format!("the {name} value came back changed")
            })?;
        }
        Ok(())
    })
}

fn keys_round_trip(s: Store, k: String) -> Verdict {
    Box::pin(async move {
        let suffixes = [
            "plain",
            "with space",
            "slash/inside",
            "percent%20",
            "ünïcødé-ключ",
            "q?a=b&c#d",
        ];
        for (i, suffix) in suffixes.iter().enumerate() {
            step(
                "put",
                s.put(&format!("{k}{suffix}"), text(&i.to_string()), Expect::Any)
                    .await,
            )?;
        }
        for (i, suffix) in suffixes.iter().enumerate() {
            let found = step("get", s.get(&format!("{k}{suffix}")).await)?;
            ensure(
                found.is_some_and(|f| f.value == text(&i.to_string())),
                || format!("key `{suffix}` did not keep its own value"),
            )?;
        }
        Ok(())
    })
}
