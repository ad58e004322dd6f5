//! Checks of the StateStore contract.

use super::{Check, Needs, Plan, RACERS, Verdict, ensure, expect_conflict, race, shown, step};
use bytes::Bytes;
use statebench_adapters::{Expect, StateStore, StoreError, Version};
use std::sync::Arc;

type Store = Arc<dyn StateStore>;

const RYW: &[Needs] = &[Needs::ReadYourWrites];
/// Compare-and-set checks verify what the write results prove, and read back only where the
/// subject declares read-your-writes.
const CAS: &[Needs] = &[Needs::Cas];

pub(super) const CHECKS: &[Check<dyn StateStore>] = &[
    Check {
        name: "get-missing-is-none",
        needs: &[],
        run: get_missing,
    },
    Check {
        name: "read-your-writes",
        needs: RYW,
        run: read_your_writes,
    },
    Check {
        name: "put-absent-creates-once",
        needs: CAS,
        run: absent_once,
    },
    Check {
        name: "cas-current-version-wins",
        needs: CAS,
        run: cas_current,
    },
    Check {
        name: "cas-stale-version-conflicts",
        needs: CAS,
        run: cas_stale,
    },
    Check {
        name: "versions-increase",
        needs: &[],
        run: versions_increase,
    },
    Check {
        name: "cas-exactly-one-winner",
        needs: CAS,
        run: one_winner,
    },
    Check {
        name: "values-round-trip",
        needs: RYW,
        run: values_round_trip,
    },
    Check {
        name: "keys-round-trip",
        needs: RYW,
        run: keys_round_trip,
    },
];

fn text(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// Reads `key` back and requires `value` at `version`.
async fn holds(
    s: &Store,
    key: &str,
    value: &Bytes,
    version: Version,
    after: &str,
) -> Result<(), String> {
    let found = step("get", s.get(key).await)?.ok_or_else(|| format!("get after {after}: none"))?;
    ensure(found.value == *value && found.version == version, || {
        format!(
            "after {after}, get returned {} at version {}; expected {} at version {version}",
            shown(&found.value),
            found.version,
            shown(value)
        )
    })
}

/// Writes `one` blindly, then `two` expecting the version `one` got; returns both versions.
async fn one_then_two(s: &Store, k: &str) -> Result<(Version, Version), String> {
    let v1 = step("put", s.put(k, text("one"), Expect::Any).await)?;
    let v2 = step(
        "put(version)",
        s.put(k, text("two"), Expect::Version(v1)).await,
    )?;
    Ok((v1, v2))
}

fn get_missing(s: Store, k: String, _: Plan) -> Verdict {
    Box::pin(async move {
        match step("get", s.get(&k).await)? {
            None => Ok(()),
            Some(found) => Err(format!("a key never written has version {}", found.version)),
        }
    })
}

fn read_your_writes(s: Store, k: String, _: Plan) -> Verdict {
    Box::pin(async move {
        let version = step("put", s.put(&k, text("mine"), Expect::Any).await)?;
        holds(&s, &k, &text("mine"), version, "an acknowledged put").await
    })
}

fn absent_once(s: Store, k: String, plan: Plan) -> Verdict {
    Box::pin(async move {
        let first = step(
            "first put(absent)",
            s.put(&k, text("a"), Expect::Absent).await,
        )?;
        let second = s.put(&k, text("b"), Expect::Absent).await;
        expect_conflict("a second put(absent)", second, first)?;
        plan.read_back(holds(&s, &k, &text("a"), first, "a refused put(absent)"))
            .await
    })
}

fn cas_current(s: Store, k: String, plan: Plan) -> Verdict {
    Box::pin(async move {
        let (v1, v2) = one_then_two(&s, &k).await?;
        ensure(v2 > v1, || {
            format!("version {v2} after {v1} is not greater")
        })?;
        plan.read_back(holds(&s, &k, &text("two"), v2, "put(version)"))
            .await
    })
}

fn cas_stale(s: Store, k: String, plan: Plan) -> Verdict {
    Box::pin(async move {
        let (v1, v2) = one_then_two(&s, &k).await?;
        let stale = s.put(&k, text("stale"), Expect::Version(v1)).await;
        expect_conflict(&format!("a put expecting stale version {v1}"), stale, v2)?;
        plan.read_back(holds(&s, &k, &text("two"), v2, "a refused stale put"))
            .await
    })
}

fn versions_increase(s: Store, k: String, _: Plan) -> Verdict {
    Box::pin(async move {
        let mut last: Option<Version> = None;
        for i in 0..5 {
            let v = step("put", s.put(&k, text(&format!("v{i}")), Expect::Any).await)?;
            if let Some(before) = last {
                ensure(v > before, || {
                    format!("version {v} came after version {before}")
                })?;
            }
            last = Some(v);
        }
        Ok(())
    })
}

fn one_winner(s: Store, k: String, plan: Plan) -> Verdict {
    Box::pin(async move { plan.rounds(&k, |k| one_winner_round(&s, k, plan)).await })
}

/// Races `RACERS` writers expecting one version: exactly one may win.
async fn one_winner_round(s: &Store, k: String, plan: Plan) -> Result<(), String> {
    let start = step("put", s.put(&k, text("start"), Expect::Any).await)?;
    let results = race(|i| {
        let (s, k) = (s.clone(), k.clone());
        async move {
            let value = text(&format!("writer-{i}"));
            (
                value.clone(),
                s.put(&k, value, Expect::Version(start)).await,
            )
        }
    })
    .await?;
    let mut winners = Vec::new();
    for (value, result) in results {
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
    plan.read_back(holds(s, &k, value, *version, "the race"))
        .await
}

fn values_round_trip(s: Store, k: String, _: Plan) -> Verdict {
    Box::pin(async move {
        let every_byte: Vec<u8> = (0..64 * 1024).map(|i| (i % 256) as u8).collect();
        for (name, value) in [
            ("empty", Bytes::new()),
            ("64-KiB-binary", every_byte.into()),
        ] {
            let key = format!("{k}{name}");
            let version = step("put", s.put(&key, value.clone(), Expect::Any).await)?;
            let found = step("get", s.get(&key).await)?.ok_or("get: none")?;
            ensure(found.value == value && found.version == version, || {
                format!(
                    "the {name} value came back changed ({} bytes)",
                    found.value.len()
                )
            })?;
        }
        Ok(())
    })
}

fn keys_round_trip(s: Store, k: String, _: Plan) -> Verdict {
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
