//! Whether a subject kept every promise the run checked: conformance, consistency, and the
//! books of its trials. Reports put it next to every speed figure, so that a store that loses
//! updates can never look like the fastest good one.

use crate::check::Validity;
use crate::results::{CheckStatus, ConsistencyCheck, Disproof, Results};
use serde::{Deserialize, Serialize};

/// A subject faster than the fastest that passed, its best goodput, and why it is not
/// comparable.
pub type NotComparable = (String, f64, String);

/// A subject's standing after a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Standing {
    /// Every check ran kept its promise.
    Pass,
    /// A check of a promised property failed.
    Fail,
    /// Nothing failed, but a promised property could not be decided.
    Unknown,
    /// No check of its correctness ran.
    Unchecked,
}

impl Standing {
    /// The word reports show.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "FAIL",
            Self::Unknown => "unknown",
            Self::Unchecked => "unchecked",
        }
    }
}

/// A subject's standing and the checks behind it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correctness {
    /// The standing.
    pub standing: Standing,
    /// Promises broken, each as `suite: check (where)`.
    pub broken: Vec<String>,
    /// Promised properties that could not be decided.
    pub undecided: Vec<String>,
    /// Checks that ran.
    pub checks: u64,
}

impl Correctness {
    /// A short mark for tables: `pass`, `FAIL: lost-updates, …`.
    pub fn mark(&self) -> String {
        match self.standing {
            Standing::Fail => {
                let mut names: Vec<&str> = self
                    .broken
                    .iter()
                    .map(|b| {
                        b.split(" (")
                            .next()
                            .unwrap_or(b)
                            .rsplit(": ")
                            .next()
                            .unwrap_or(b)
                    })
                    .collect();
                names.dedup();
                names.sort_unstable();
                names.dedup();
                format!("FAIL: {}", names.join(", "))
            }
            other => other.as_str().to_owned(),
        }
    }
}

/// The capability a consistency check verifies, when a broken promise disproves one.
fn capability_of(check: &str, fault_crashes: bool) -> Option<&'static str> {
    match check {
        "linearizable" | "lost-updates" | "stream-integrity" => Some("cas"),
        "stale-reads" => Some("read_your_writes"),
        "durability" if fault_crashes => Some("kill_durable"),
        _ => None,
    }
}

impl Results {
    /// How `subject` stands after every check of this run.
    pub fn correctness(&self, subject: &str) -> Correctness {
        let mut broken = Vec::new();
        let mut undecided = Vec::new();
        let mut checks = 0u64;
        for c in self.conformance.iter().filter(|c| c.subject == subject) {
            if c.status != CheckStatus::Unsupported {
                checks += 1;
            }
            if c.status == CheckStatus::Fail {
                broken.push(format!("conformance: {}", c.check));
            }
        }
        let mut judge = |c: &ConsistencyCheck, place: String| {
            checks += 1;
            if !c.promised {
                return;
            }
            match c.verdict.validity {
                Validity::Invalid => broken.push(format!("{} ({place})", c.verdict.check)),
                Validity::Unknown => undecided.push(format!("{} ({place})", c.verdict.check)),
                Validity::Valid => {}
            }
        };
        for run in self.consistency.iter().filter(|r| r.subject == subject) {
            for c in &run.checks {
                judge(c, format!("consistency, fault {}", run.fault));
            }
        }
        for t in self.trials.iter().filter(|t| t.subject == subject) {
            for c in &t.checks {
                judge(c, format!("after {}", t.id));
            }
        }
        let standing = if !broken.is_empty() {
            Standing::Fail
        } else if !undecided.is_empty() {
            Standing::Unknown
        } else if checks == 0 {
            Standing::Unchecked
        } else {
            Standing::Pass
        };
        Correctness {
            standing,
            broken,
            undecided,
            checks,
        }
    }

    /// Capabilities the consistency runs disprove for `subject`: promised, checked, invalid.
    pub fn consistency_disproofs(&self, subject: &str) -> Vec<Disproof> {
        let mut found = Vec::new();
        for run in self.consistency.iter().filter(|r| r.subject == subject) {
            let crashes =
                crate::faults::FaultSpec::parse(&run.fault).is_ok_and(|f| f.kind.crashes());
            for c in run.failed() {
                if let Some(capability) = capability_of(&c.verdict.check, crashes) {
                    found.push(Disproof {
                        capability: capability.to_owned(),
                        check: format!("consistency {} ({})", c.verdict.check, run.fault),
                        detail: c.verdict.summary.clone(),
                    });
                }
            }
        }
        found
    }

    /// Fills in every subject's correctness and disproofs, and marks every trial with its
    /// subject's standing; call once every suite has run.
    pub fn settle(&mut self) {
        let judged: Vec<(Correctness, Vec<Disproof>)> = self
            .subjects
            .iter()
            .map(|s| {
                (
                    self.correctness(&s.name),
                    self.consistency_disproofs(&s.name),
                )
            })
            .collect();
        for (s, (correctness, disproofs)) in self.subjects.iter_mut().zip(judged) {
            for d in disproofs {
                if !s.disproved.contains(&d) {
                    s.disproved.push(d);
                }
            }
            s.correctness = Some(correctness);
        }
        let standings: Vec<(String, Standing)> = self
            .subjects
            .iter()
            .filter_map(|s| s.correctness.as_ref().map(|c| (s.name.clone(), c.standing)))
            .collect();
        for t in &mut self.trials {
            t.standing = standings
                .iter()
                .find(|(n, _)| *n == t.subject)
                .map(|(_, s)| *s);
        }
    }

    /// The fastest subject by goodput in the throughput suite that passed every check, and
    /// the faster ones that did not pass, with their goodput.
    pub fn fastest_passing(&self) -> (Option<(String, f64)>, Vec<NotComparable>) {
        let mut best: Vec<(String, f64)> = Vec::new();
        for t in self.trials.iter().filter(|t| t.suite == "throughput") {
            match best.iter_mut().find(|(n, _)| *n == t.subject) {
                Some((_, ok)) => *ok = ok.max(t.measured.ok_per_s),
                None => best.push((t.subject.clone(), t.measured.ok_per_s)),
            }
        }
        best.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut faster_but_not_passing = Vec::new();
        for (name, ok) in best {
            let c = self.correctness(&name);
            if c.standing == Standing::Pass {
                return (Some((name, ok)), faster_but_not_passing);
            }
            faster_but_not_passing.push((name, ok, c.mark()));
        }
        (None, faster_but_not_passing)
    }
}
