//! From a run's histories to its verdicts, each marked with whether the subject promises the
//! property: what its declared capabilities say it keeps, under this fault.

use super::FINAL;
use super::finals::StaleForGood;
use crate::check::{
    self, Budget, Evidence, Validity, Verdict, counter, plural, register, staleness, stream,
};
use crate::faults::FaultSpec;
use crate::history::{Entry, Op, OpOutcome, Ops, Process, pair};
use crate::results::{ConsistencyCheck, ConsistencyRun};
use crate::subject::{Subject, Target};
use statebench_adapters::Capability;

/// The checkers' budget in a run: generous, but a run must end.
const BUDGET: Budget = Budget {
    time: std::time::Duration::from_secs(30),
    memory_bytes: 2 << 30,
};

fn ops_of(entries: &[Entry]) -> Result<Ops, String> {
    let numbered: Vec<(usize, Entry)> = entries
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, e)| (i + 1, e))
        .collect();
    pair(&numbered).map_err(|e| e.to_string())
}

pub(super) fn unknown(check: &str, why: String) -> Verdict {
    Verdict {
        check: check.into(),
        validity: Validity::Unknown,
        ops: 0,
        keys: 0,
        violations: 0,
        summary: why,
        evidence: Vec::new(),
    }
}

/// A promise kept or not: `Err(reason)` when the capability is declared unsupported.
fn promise(capability: &Capability) -> Result<(), String> {
    match capability {
        Capability::Supported => Ok(()),
        Capability::Unsupported(reason) => Err(reason.clone()),
    }
}

fn checked(verdict: Verdict, promised: Result<(), String>, note: &str) -> ConsistencyCheck {
    let (promised, note) = match promised {
        Ok(()) => (true, note.to_owned()),
        Err(reason) => (false, format!("not promised: {reason}")),
    };
    ConsistencyCheck {
        verdict,
        promised,
        note,
    }
}

/// Fills in `run.checks` (and the staleness figures) from the histories.
pub(super) fn judge(
    run: &mut ConsistencyRun,
    subject: &Subject,
    spec: &FaultSpec,
    entries: &super::Finished,
    stale: StaleForGood,
    keys: u32,
) {
    let caps = &subject.descriptor().capabilities;
    let durable = if spec.kind.crashes() {
        promise(&caps.kill_durable)
    } else {
        Ok(())
    };
    match &subject.target {
        Target::State(_) => {
            if let Some(registers) = &entries.registers {
                match ops_of(registers) {
                    Ok(ops) => registers_checks(run, subject, &ops, durable.clone(), keys),
                    Err(e) => run
                        .checks
                        .push(checked(unknown("linearizable", e), Ok(()), "")),
                }
            }
            if let Some(accounts) = &entries.accounts {
                let verdict = ops_of(accounts)
                    .and_then(|ops| counter::check(&ops).map_err(|e| e.to_string()));
                let verdict = verdict.unwrap_or_else(|e| unknown("lost-updates", e));
                let note = if subject.layers.is_some() {
                    "balances read from the truth behind the cache"
                } else {
                    ""
                };
                run.checks.push(checked(verdict, promise(&caps.cas), note));
            }
        }
        Target::Events(_) => {
            if let Some(streams) = &entries.streams {
                match ops_of(streams).and_then(|ops| stream::check(&ops).map_err(|e| e.to_string()))
                {
                    Ok(verdicts) => {
                        for v in verdicts {
                            let promised = if v.check == "durability" {
                                durable.clone()
                            } else {
                                promise(&caps.cas)
                            };
                            run.checks.push(checked(v, promised, ""));
                        }
                    }
                    Err(e) => run
                        .checks
                        .push(checked(unknown("stream-integrity", e), Ok(()), "")),
                }
            }
        }
    }
    if let Some(inspection) = stale {
        run.checks.push(checked(
            stale_for_good(&inspection),
            Ok(()),
            "a cache may be stale, but only for as long as its entries live",
        ));
    }
    if let (true, Capability::Unsupported(reason)) = (spec.kind.crashes(), &caps.kill_durable) {
        // What a crash destroys, a store that does not declare kill durability never
        // promised to keep: every check is measured, none is a broken promise.
        for c in &mut run.checks {
            if c.promised {
                c.promised = false;
                c.note = format!(
                    "not promised under {}: acknowledged writes may not survive a kill ({reason})",
                    spec.kind.name()
                );
            }
        }
    }
}

/// The scenario's fault could not be injected: a pass under a fault that never happened
/// says nothing about the fault, so every passing check becomes undecided.
pub(super) fn without_the_fault(run: &mut ConsistencyRun, spec: &FaultSpec) {
    let why = run
        .nemesis
        .iter()
        .find(|e| !e.ok)
        .map_or(String::new(), |e| e.detail.clone());
    for c in &mut run.checks {
        if c.verdict.validity == Validity::Valid {
            c.verdict.validity = Validity::Unknown;
            c.verdict.summary = format!(
                "{} (not decided: the {} fault could not be injected: {why})",
                c.verdict.summary,
                spec.kind.name()
            );
        }
    }
}

fn registers_checks(
    run: &mut ConsistencyRun,
    subject: &Subject,
    ops: &Ops,
    durable: Result<(), String>,
    keys: u32,
) {
    let caps = &subject.descriptor().capabilities;
    let ryw = promise(&caps.read_your_writes);
    let linear = match &ryw {
        Ok(()) => register::check(ops, BUDGET).map(|v| (v, String::new())),
        Err(reason) => {
            // Reads may be stale by declaration: check what the writes and cas alone say.
            let writes = Ops {
                ops: ops.ops.iter().filter(|o| o.f != "read").cloned().collect(),
                ..ops.clone()
            };
            register::check(&writes, BUDGET).map(|v| {
                (
                    v,
                    format!("reads left out (no read-your-writes: {reason}); see stale-reads"),
                )
            })
        }
    };
    match linear {
        Ok((v, note)) => run.checks.push(checked(v, promise(&caps.cas), &note)),
        Err(e) => run
            .checks
            .push(checked(unknown("linearizable", e.to_string()), Ok(()), "")),
    }
    let (measured, evidence) = staleness::measure(ops, FINAL);
    run.checks.push(checked(
        staleness::verdict(&measured, evidence, u64::from(keys)),
        ryw,
        "",
    ));
    run.staleness = Some(measured);
    let note = if subject.layers.is_some() {
        "final reads from the truth behind the cache"
    } else {
        ""
    };
    run.checks
        .push(checked(register_durability(ops), durable, note));
}

fn is_final(op: &Op) -> bool {
    matches!(&op.process, Process::Name(n) if n == FINAL)
}

/// Acknowledged writes the final reads cannot find: those of a version above the one the
/// final read returned, and those whose version a later write was given again.
fn register_durability(ops: &Ops) -> Verdict {
    let (mut keys, mut acked, mut lost, mut undecided) = (0u64, 0u64, 0u64, 0u64);
    let mut evidence = Vec::new();
    for (key, key_ops) in ops.by_key() {
        keys += 1;
        let writes: Vec<&Op> = key_ops
            .iter()
            .copied()
            .filter(|o| o.f != "read" && o.outcome == OpOutcome::Ok && o.version.is_some())
            .collect();
        acked += writes.len() as u64;
        let Some(last) = key_ops
            .iter()
            .copied()
            .filter(|o| is_final(o) && o.outcome == OpOutcome::Ok)
            .max_by_key(|o| o.start)
        else {
            undecided += 1;
            continue;
        };
        let seen = last.version.unwrap_or(0);
        let missing: Vec<&Op> = writes
            .iter()
            .copied()
            .filter(|w| w.version.unwrap_or(0) > seen)
            .collect();
        lost += missing.len() as u64;
        if let Some(first) = missing.first() {
            evidence.push(Evidence {
                key: key.as_ref().map(ToString::to_string),
                message: format!(
                    "{} acknowledged writes are newer than what the final read found (version {seen})",
                    missing.len()
                ),
                ops: vec![first.describe(), last.describe()],
            });
        }
        // A store that lost a write and counted its versions again hands the lost write's
        // version to a later one: of two acknowledged writes with one version, one is gone.
        let mut by_version: Vec<&Op> = writes
            .iter()
            .copied()
            .filter(|w| w.version.unwrap_or(0) <= seen)
            .collect();
        by_version.sort_by_key(|w| (w.version, w.start));
        let reused: Vec<[&Op; 2]> = by_version
            .windows(2)
            .filter(|pair| pair[0].version == pair[1].version)
            .map(|pair| [pair[0], pair[1]])
            .collect();
        lost += reused.len() as u64;
        if let Some([a, b]) = reused.first() {
            evidence.push(Evidence {
                key: key.as_ref().map(ToString::to_string),
                message: format!(
                    "{} acknowledged writes got a version another acknowledged write also got (version {}): the store lost one and gave its version out again",
                    reused.len(),
                    a.version.unwrap_or(0)
                ),
                ops: vec![a.describe(), b.describe()],
            });
        }
    }
    let validity = if lost > 0 {
        Validity::Invalid
    } else if undecided > 0 {
        Validity::Unknown
    } else {
        Validity::Valid
    };
    let mut summary = format!(
        "{lost} of {acked} acknowledged writes missing from the final reads on {}",
        plural(keys, "key")
    );
    if undecided > 0 {
        summary += &format!("; {undecided} keys had no final read");
    }
    Verdict {
        check: "durability".into(),
        validity,
        ops: acked,
        keys,
        violations: lost,
        summary,
        evidence,
    }
}

fn stale_for_good(inspection: &super::finals::CacheInspection) -> Verdict {
    let (stale, bound, inspected) = (&inspection.stale, inspection.bound, inspection.inspected);
    let forever: Vec<&super::finals::StaleEntry> = stale
        .iter()
        .filter(|s| match (s.expires_in, bound) {
            (Some(left), Some(bound)) => left > bound,
            _ => true,
        })
        .collect();
    let evidence = stale
        .iter()
        .take(check::MAX_EVIDENCE)
        .map(|s| Evidence {
            key: Some(s.key.clone()),
            message: format!(
                "the cache holds version {} while the truth holds {}; {}",
                s.cached,
                s.truth,
                s.expires_in
                    .map_or("it never expires".to_owned(), |d| format!(
                        "it expires in {:.1} s",
                        d.as_secs_f64()
                    ))
            ),
            ops: Vec::new(),
        })
        .collect();
    let longest = stale
        .iter()
        .filter_map(|s| s.expires_in)
        .max()
        .unwrap_or_default();
    let (validity, summary) = if !forever.is_empty() {
        (
            Validity::Invalid,
            format!(
                "{} of {inspected} cache entries stale after the quiet period with no expiry within the declared bound: stale for good",
                forever.len()
            ),
        )
    } else if inspection.unread > 0 || inspected == 0 {
        // A key not inspected may be the one that stays stale.
        (
            Validity::Unknown,
            format!(
                "{} of {inspected} inspected cache entries stale (until they expire), but {} keys could not be inspected ({})",
                stale.len(),
                inspection.unread,
                inspection
                    .unread_why
                    .as_deref()
                    .unwrap_or("no key to inspect")
            ),
        )
    } else if stale.is_empty() {
        (
            Validity::Valid,
            format!("{inspected} cache entries agree with the truth after the quiet period"),
        )
    } else {
        (
            Validity::Valid,
            format!(
                "{} of {inspected} cache entries still stale after the quiet period, until they expire (within {:.0} s)",
                stale.len(),
                longest.as_secs_f64()
            ),
        )
    };
    Verdict {
        check: "stale-for-good".into(),
        validity,
        ops: inspected,
        keys: inspected,
        violations: stale.len() as u64,
        summary,
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::parse;

    fn durability(lines: &[(&str, &str, &str, u64)]) -> Verdict {
        let text: String = lines
            .iter()
            .map(|(p, t, f, v)| {
                let process = if *p == "final" { "\"final\"".to_owned() } else { p.to_string() };
                format!(
                    "{{\"process\":{process},\"type\":\"{t}\",\"f\":\"{f}\",\"key\":\"r\",\"value\":{v},\"version\":{v}}}\n"
                )
            })
            .collect();
        register_durability(&pair(&parse(text.as_bytes()).unwrap()).unwrap())
    }

    #[test]
    fn a_write_newer_than_the_final_read_is_lost() {
        let v = durability(&[
            ("0", "invoke", "write", 1),
            ("0", "ok", "write", 1),
            ("0", "invoke", "write", 2),
            ("0", "ok", "write", 2),
            ("final", "invoke", "read", 1),
            ("final", "ok", "read", 1),
        ]);
        assert_eq!((v.validity, v.violations), (Validity::Invalid, 1), "{v:?}");
    }

    #[test]
    fn a_version_given_out_twice_is_a_lost_write() {
        // Version 2 was acknowledged, lost in a crash, and handed out again.
        let v = durability(&[
            ("0", "invoke", "write", 1),
            ("0", "ok", "write", 1),
            ("0", "invoke", "write", 2),
            ("0", "ok", "write", 2),
            ("1", "invoke", "write", 2),
            ("1", "ok", "write", 2),
            ("final", "invoke", "read", 2),
            ("final", "ok", "read", 2),
        ]);
        assert_eq!((v.validity, v.violations), (Validity::Invalid, 1), "{v:?}");
        assert!(v.evidence[0].message.contains("gave its version out again"));
        let kept = durability(&[
            ("0", "invoke", "write", 1),
            ("0", "ok", "write", 1),
            ("1", "invoke", "write", 2),
            ("1", "ok", "write", 2),
            ("final", "invoke", "read", 2),
            ("final", "ok", "read", 2),
        ]);
        assert_eq!(kept.validity, Validity::Valid, "{kept:?}");
    }
}
