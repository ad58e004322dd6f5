//! Consistency checkers over histories. Each says valid, invalid or unknown (a budget ran out,
//! or the history lacks what the check needs; never valid by default), with the evidence
//! behind the verdict: the key, the operations, and the shortest excerpt that fails.

pub mod counter;
pub mod register;
pub mod staleness;
pub mod stream;
pub mod synth;

use crate::history::{BadLine, Ops};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// A checker's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Validity {
    /// The history satisfies the property.
    Valid,
    /// It does not; the evidence shows where.
    Invalid,
    /// The checker could not decide (a budget ran out, or something it needs is missing).
    Unknown,
}

impl Validity {
    /// The name in files and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Invalid => "invalid",
            Self::Unknown => "unknown",
        }
    }

    /// Invalid beats unknown beats valid.
    pub fn and(self, other: Self) -> Self {
        match (self, other) {
            (Self::Invalid, _) | (_, Self::Invalid) => Self::Invalid,
            (Self::Unknown, _) | (_, Self::Unknown) => Self::Unknown,
            _ => Self::Valid,
        }
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a verdict is what it is, for one key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The key, when the history has keys.
    pub key: Option<String>,
    /// What is wrong (or why the checker could not decide), in one or two sentences.
    pub message: String,
    /// The operations that show it, one line each, with their line numbers.
    pub ops: Vec<String>,
}

/// What one checker concluded about one history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The property checked: `linearizable`, `lost-updates`, `stream-integrity`, …
    pub check: String,
    /// The verdict.
    pub validity: Validity,
    /// Operations the verdict rests on.
    pub ops: u64,
    /// Keys checked.
    pub keys: u64,
    /// Violations found (keys, reads or events, as `summary` says).
    pub violations: u64,
    /// One line for people.
    pub summary: String,
    /// The first few violations (or undecided keys), shortest excerpt first.
    pub evidence: Vec<Evidence>,
}

/// At most this many pieces of evidence are kept per verdict.
pub const MAX_EVIDENCE: usize = 5;

impl Verdict {
    /// Keeps the shortest pieces of evidence, at most [`MAX_EVIDENCE`].
    fn trim_evidence(mut self) -> Self {
        self.evidence.sort_by_key(|e| e.ops.len());
        self.evidence.truncate(MAX_EVIDENCE);
        self
    }
}

/// How much time and memory a search may use before it says unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Wall-clock time for the whole history.
    pub time: Duration,
    /// Memory for remembered search states, in bytes, for the whole history.
    pub memory_bytes: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            time: Duration::from_secs(60),
            memory_bytes: 1 << 30,
        }
    }
}

/// The data type a history's operations act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// `read`, `write`, `cas [expected, new]` on a register per key: checked for
    /// linearizability.
    CasRegister,
    /// `add` (a signed delta) and `read` on a counter per key: every read between what was
    /// surely and what was possibly added before it (lost updates, phantom changes).
    Counter,
    /// `append [expected revision, id]` and `read` (a list of `[revision, id]`) on a stream
    /// per key: one winner per expected revision, no duplicates or gaps, acknowledged
    /// appends found where they were acknowledged.
    Stream,
}

impl Model {
    /// Every model, with its name on the command line.
    pub const ALL: [(Self, &'static str); 3] = [
        (Self::CasRegister, "cas-register"),
        (Self::Counter, "counter"),
        (Self::Stream, "stream"),
    ];

    /// The model of that name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(m, _)| *m)
    }

    /// Checks `ops` against this model; bad input (a value the model cannot read) is an
    /// error naming its line.
    pub fn check(self, ops: &Ops, budget: Budget) -> Result<Vec<Verdict>, BadLine> {
        match self {
            Self::CasRegister => Ok(vec![register::check(ops, budget)?]),
            Self::Counter => Ok(vec![counter::check(ops)?]),
            Self::Stream => stream::check(ops),
        }
    }
}

/// The verdict of several verdicts: invalid beats unknown beats valid.
pub fn overall(verdicts: &[Verdict]) -> Validity {
    verdicts
        .iter()
        .fold(Validity::Valid, |acc, v| acc.and(v.validity))
}

/// `1 key`, `2 keys`.
pub fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
