//! Stale reads of a register history with versions (statebench's own): the share of reads
//! that returned a version older than the newest one acknowledged before the read began, how
//! many versions and how many milliseconds behind they were.

use super::{Evidence, Validity, Verdict};
use crate::history::{Op, OpOutcome, Ops};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How stale the reads of a history were.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Staleness {
    /// Reads that completed ok (final reads excluded).
    pub reads: u64,
    /// Of them, reads of a version older than one acknowledged before they began.
    pub stale: u64,
    /// The most versions a read was behind.
    pub max_versions_behind: u64,
    /// How long before the read began a newer version had been acknowledged: median.
    pub behind_p50_ms: f64,
    /// The same, 99th percentile.
    pub behind_p99_ms: f64,
    /// The same, largest.
    pub behind_max_ms: f64,
}

impl Staleness {
    /// Stale reads as a share of reads, 0 to 1.
    pub fn share(&self) -> f64 {
        if self.reads == 0 {
            0.0
        } else {
            self.stale as f64 / self.reads as f64
        }
    }
}

/// Measures stale reads among `ops` (the register history of one run), leaving out reads by
/// `final_process`. Needs `version` and `time` on the entries; reads without them are not
/// counted.
pub fn measure(ops: &Ops, final_process: &str) -> (Staleness, Vec<Evidence>) {
    let mut staleness = Staleness::default();
    let mut behind_ms: Vec<f64> = Vec::new();
    let mut evidence = Vec::new();
    for (key, key_ops) in ops.by_key() {
        let mut writes: Vec<&Op> = key_ops
            .iter()
            .copied()
            .filter(|o| {
                o.f != "read"
                    && o.outcome == OpOutcome::Ok
                    && o.version.is_some()
                    && o.end_ns.is_some()
            })
            .collect();
        writes.sort_by_key(|o| o.end_ns);
        let mut reads: Vec<&Op> = key_ops
            .iter()
            .copied()
            .filter(|o| o.f == "read" && o.outcome == OpOutcome::Ok && o.start_ns.is_some())
            .filter(
                |o| !matches!(&o.process, crate::history::Process::Name(n) if n == final_process),
            )
            .collect();
        reads.sort_by_key(|o| o.start_ns);
        // Versions acknowledged so far, with when.
        let mut known: BTreeMap<u64, u64> = BTreeMap::new();
        let mut next = 0;
        for read in reads {
            let begun = read.start_ns.unwrap_or(0);
            while next < writes.len() && writes[next].end_ns.unwrap_or(u64::MAX) < begun {
                let w = writes[next];
                known.insert(w.version.unwrap_or(0), w.end_ns.unwrap_or(0));
                next += 1;
            }
            staleness.reads += 1;
            let seen = read.version.unwrap_or(0);
            let newer = known.range(seen + 1..);
            let (count, first_ns) = newer.fold((0u64, u64::MAX), |(n, first), (_, &at)| {
                (n + 1, first.min(at))
            });
            if count == 0 {
                continue;
            }
            staleness.stale += 1;
            staleness.max_versions_behind = staleness.max_versions_behind.max(count);
            behind_ms.push(begun.saturating_sub(first_ns) as f64 / 1e6);
            if evidence.len() < super::MAX_EVIDENCE {
                evidence.push(Evidence {
                    key: key.as_ref().map(ToString::to_string),
                    message: format!(
                        "a read returned version {seen}, {count} versions behind; a newer one had been acknowledged {:.1} ms before it began",
                        begun.saturating_sub(first_ns) as f64 / 1e6
                    ),
                    ops: vec![read.describe()],
                });
            }
        }
    }
    behind_ms.sort_by(f64::total_cmp);
    let at = |q: f64| {
        behind_ms
            .get(((behind_ms.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(0.0)
    };
    staleness.behind_p50_ms = at(0.5);
    staleness.behind_p99_ms = at(0.99);
    staleness.behind_max_ms = behind_ms.last().copied().unwrap_or(0.0);
    (staleness, evidence)
}

/// The stale-reads verdict: invalid when any read was stale.
pub fn verdict(staleness: &Staleness, evidence: Vec<Evidence>, keys: u64) -> Verdict {
    let s = staleness;
    let (validity, summary) = if s.reads == 0 {
        (Validity::Unknown, "no read to measure".to_owned())
    } else if s.stale == 0 {
        (Validity::Valid, format!("{} reads, none stale", s.reads))
    } else {
        (
            Validity::Invalid,
            format!(
                "{} of {} reads stale ({:.2}%), up to {} versions and {:.1} ms behind (p50 {:.2} ms, p99 {:.1} ms)",
                s.stale,
                s.reads,
                100.0 * s.share(),
                s.max_versions_behind,
                s.behind_max_ms,
                s.behind_p50_ms,
                s.behind_p99_ms
            ),
        )
    };
    Verdict {
        check: "stale-reads".into(),
        validity,
        ops: s.reads,
        keys,
        violations: s.stale,
        summary,
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{pair, parse};

    #[test]
    fn a_read_of_an_old_version_after_a_newer_ack_is_stale() {
        let text = r#"{"time":10,"process":0,"type":"invoke","f":"write","key":"k","value":"a"}
{"time":20,"process":0,"type":"ok","f":"write","key":"k","value":"a","version":1}
{"time":30,"process":0,"type":"invoke","f":"write","key":"k","value":"b"}
{"time":1000030,"process":0,"type":"ok","f":"write","key":"k","value":"b","version":2}
{"time":3000000,"process":1,"type":"invoke","f":"read","key":"k"}
{"time":3000010,"process":1,"type":"ok","f":"read","key":"k","value":"a","version":1}
{"time":3000020,"process":1,"type":"invoke","f":"read","key":"k"}
{"time":3000030,"process":1,"type":"ok","f":"read","key":"k","value":"b","version":2}
{"time":3000040,"process":"final","type":"invoke","f":"read","key":"k"}
{"time":3000050,"process":"final","type":"ok","f":"read","key":"k","value":"a","version":1}
"#;
        let ops = pair(&parse(text.as_bytes()).unwrap()).unwrap();
        let (s, evidence) = measure(&ops, "final");
        assert_eq!((s.reads, s.stale, s.max_versions_behind), (2, 1, 1));
        assert!((s.behind_max_ms - 2.0).abs() < 0.01, "{s:?}");
        assert_eq!(verdict(&s, evidence, 1).validity, Validity::Invalid);
    }
}
