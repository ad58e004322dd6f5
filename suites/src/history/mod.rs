//! Histories: every operation of a consistency run as an `invoke` and then `ok`, `fail`
//! (definitely did not happen) or `info` (may have happened), in JSON Lines, one entry per
//! line, in Jepsen's vocabulary (`read`, `write`, `cas [expected, new]`, `add`, `append`).
//!
//! A line holds `index`, `time` (monotonic nanoseconds), `process`, `type`, `f`, `key` and
//! `value`; a line without `key` belongs to a single register, and without `time` the line
//! order is the real-time order. Fault actions are entries of the process `nemesis`.

mod ops;
mod read;
mod record;

pub use ops::{Op, OpOutcome, Ops, pair};
pub use read::{BadLine, parse, read_file};
pub use record::{Recorder, write_jsonl};

use serde::{Deserialize, Serialize};
use std::fmt;

/// The process fault actions are recorded under.
pub const NEMESIS: &str = "nemesis";

/// What a line says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An operation began.
    Invoke,
    /// It took effect; `value` is what it returned.
    Ok,
    /// It certainly did not take effect (a conflict).
    Fail,
    /// It may or may not have taken effect (a timeout, a lost connection).
    Info,
}

impl Kind {
    /// The name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invoke => "invoke",
            Self::Ok => "ok",
            Self::Fail => "fail",
            Self::Info => "info",
        }
    }
}

/// Who ran an operation: a client number, or a name (`nemesis`, `setup`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Process {
    /// A client.
    Number(u64),
    /// A named actor.
    Name(String),
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::Name(name) => f.write_str(name),
        }
    }
}

impl Process {
    /// Whether this is the fault injector rather than a client.
    pub fn is_nemesis(&self) -> bool {
        matches!(self, Self::Name(n) if n == NEMESIS)
    }
}

/// A key as histories spell it: a string or a number, compared as text.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Key {
    /// A name.
    Text(String),
    /// A number (Jepsen's independent keys are often numbers).
    Number(i64),
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(t) => f.write_str(t),
            Self::Number(n) => write!(f, "{n}"),
        }
    }
}

/// One line of a history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the history (0, 1, 2, …); informative only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// Monotonic time in nanoseconds from the run's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<u64>,
    /// Who ran it.
    pub process: Process,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// The function: `read`, `write`, `cas`, `add`, `append`, or a fault action.
    pub f: String,
    /// The key; absent for a single register.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Key>,
    /// The argument (on `invoke`) or the result (on `ok`).
    #[serde(default)]
    pub value: serde_json::Value,
    /// The store's version of the value read or written, where known (statebench's own
    /// histories); checkers of other histories do not need it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// The error of a `fail` or `info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Entry {
    /// The entry as one line of JSON.
    pub fn to_line(&self) -> String {
        // An Entry holds only strings, numbers and JSON values: it always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }
}
