//! Consistency changes: exact, not statistical. For every subject in both runs, a check
//! that passed on base and fails on head is a regression: a conformance check (pass →
//! fail), a consistency check of a promised property (keyed by subject, fault and check;
//! valid → invalid), a trial's books (keyed by the trial's group and the check; every round
//! counts, the worst verdict stands), and the subject's standing (pass → FAIL). A check that
//! failed and now passes is shown as improved; one that passed and now could not be decided,
//! was not run or is no longer promised is inconclusive.

use super::Verdict;
use super::config::Gate;
use serde::Serialize;
use statebench_suites::check::Validity;
use statebench_suites::results::{CheckStatus, ConsistencyCheck, Results};
use statebench_suites::standing::Standing;
use std::collections::BTreeMap;

/// A check's outcome on one side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// It passed (a promised property held).
    Pass,
    /// It failed (a promised property was broken).
    Fail,
    /// It ran and could not decide.
    Unknown,
    /// The subject declares it does not offer what the check needs.
    Unsupported,
    /// Not run, or not promised.
    NotChecked,
}

impl Mark {
    /// The word tables show.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "FAIL",
            Self::Unknown => "unknown",
            Self::Unsupported => "unsupported",
            Self::NotChecked => "not checked",
        }
    }
}

/// A check whose outcome changed between the runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConsistencyChange {
    /// The subject.
    pub subject: String,
    /// `conformance`, `consistency`, `books` or `standing`.
    pub kind: String,
    /// The check's name (the standing's is `standing`).
    pub check: String,
    /// Where: the fault scenario, the trial's step, or empty.
    pub place: String,
    /// On base.
    pub base: Mark,
    /// On head.
    pub head: Mark,
    /// Regressed, improved or inconclusive.
    pub verdict: Verdict,
    /// Whether it counts towards the gate (the gate file's `consistency`).
    pub gated: bool,
    /// What head's check said.
    pub detail: String,
}

/// The verdict of a check that went from `base` to `head`, when it changed in a way worth
/// showing.
fn verdict(base: Mark, head: Mark) -> Option<Verdict> {
    match (base, head) {
        (Mark::Pass, Mark::Fail) => Some(Verdict::Regressed),
        (Mark::Fail, Mark::Pass) => Some(Verdict::Improved),
        (Mark::Pass, Mark::Pass) => None,
        (Mark::Pass, _) => Some(Verdict::Inconclusive),
        _ => None,
    }
}

/// One side's checks of one kind: (subject, check, place) → (mark, detail).
type Marks = BTreeMap<(String, String, String), (Mark, String)>;

/// Reads one kind of check from a run.
type Reader = fn(&Results) -> Marks;

/// Every check that changed, for subjects in both runs.
pub fn changes(base: &Results, head: &Results, gate: &Gate) -> Vec<ConsistencyChange> {
    let both = |s: &str| {
        base.subjects.iter().any(|b| b.name == s) && head.subjects.iter().any(|h| h.name == s)
    };
    let mut found = Vec::new();
    let kinds: [(&str, Reader); 4] = [
        ("standing", standing),
        ("conformance", conformance),
        ("consistency", consistency),
        ("books", books),
    ];
    for (kind, marks) in kinds {
        let (b, h) = (marks(base), marks(head));
        for (key, (before, _)) in &b {
            if !both(&key.0) {
                continue;
            }
            let (after, detail) = h
                .get(key)
                .cloned()
                .unwrap_or((Mark::NotChecked, String::new()));
            if let Some(v) = verdict(*before, after) {
                found.push(change(kind, key, *before, after, v, detail, gate));
            }
        }
    }
    found.sort_by_key(|c| c.verdict);
    found
}

fn change(
    kind: &str,
    (subject, check, place): &(String, String, String),
    base: Mark,
    head: Mark,
    verdict: Verdict,
    detail: String,
    gate: &Gate,
) -> ConsistencyChange {
    ConsistencyChange {
        subject: subject.clone(),
        kind: kind.to_owned(),
        check: check.clone(),
        place: place.clone(),
        base,
        head,
        verdict,
        gated: gate.consistency,
        detail,
    }
}

fn standing(r: &Results) -> Marks {
    r.subjects
        .iter()
        .map(|s| {
            let c = s
                .correctness
                .clone()
                .unwrap_or_else(|| r.correctness(&s.name));
            let mark = match c.standing {
                Standing::Pass => Mark::Pass,
                Standing::Fail => Mark::Fail,
                Standing::Unknown => Mark::Unknown,
                Standing::Unchecked => Mark::NotChecked,
            };
            let detail = c
                .broken
                .iter()
                .chain(&c.undecided)
                .cloned()
                .collect::<Vec<_>>();
            (
                (s.name.clone(), "standing".to_owned(), String::new()),
                (mark, detail.join("; ")),
            )
        })
        .collect()
}

fn conformance(r: &Results) -> Marks {
    r.conformance
        .iter()
        .map(|c| {
            let mark = match c.status {
                CheckStatus::Pass => Mark::Pass,
                CheckStatus::Fail => Mark::Fail,
                CheckStatus::Unsupported => Mark::Unsupported,
            };
            (
                (c.subject.clone(), c.check.clone(), String::new()),
                (mark, c.detail.clone()),
            )
        })
        .collect()
}

fn consistency(r: &Results) -> Marks {
    let mut marks = Marks::new();
    for run in &r.consistency {
        for c in &run.checks {
            let key = (
                run.subject.clone(),
                c.verdict.check.clone(),
                run.fault.clone(),
            );
            worst(&mut marks, key, c);
        }
    }
    marks
}

fn books(r: &Results) -> Marks {
    let mut marks = Marks::new();
    for t in &r.trials {
        for c in &t.checks {
            let place = format!("{} {} {}", t.workload, t.suite, t.step.slug());
            worst(
                &mut marks,
                (t.subject.clone(), c.verdict.check.clone(), place),
                c,
            );
        }
    }
    marks
}

/// Records a check's mark under `key`, keeping the worst of several (rounds of a step):
/// fail, then unknown, then pass. A property not promised is not checked.
fn worst(marks: &mut Marks, key: (String, String, String), c: &ConsistencyCheck) {
    let mark = match (c.promised, c.verdict.validity) {
        (false, _) => Mark::NotChecked,
        (true, Validity::Valid) => Mark::Pass,
        (true, Validity::Invalid) => Mark::Fail,
        (true, Validity::Unknown) => Mark::Unknown,
    };
    let rank = |m: Mark| match m {
        Mark::Fail => 0,
        Mark::Unknown => 1,
        Mark::Pass => 2,
        _ => 3,
    };
    let entry = marks
        .entry(key)
        .or_insert((mark, c.verdict.summary.clone()));
    if rank(mark) < rank(entry.0) {
        *entry = (mark, c.verdict.summary.clone());
    }
}
