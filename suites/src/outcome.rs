//! How one operation ended, as the recorder and the reports count it.

use serde::{Deserialize, Serialize};
use statebench_adapters::{ErrorKind, StoreError};
use std::fmt;

/// How one operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Done (a rejected command is done too: the domain said no).
    Ok,
    /// Definitely not done: a conflict, or a command that gave up after its retries.
    Conflict,
    /// Maybe done: a timeout or a broken connection.
    Indefinite,
    /// Cannot work: misconfiguration or bad input.
    Fatal,
}

impl Outcome {
    /// Every outcome, in report order.
    pub const ALL: [Self; 4] = [Self::Ok, Self::Conflict, Self::Indefinite, Self::Fatal];

    /// The name used in results and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Conflict => "conflict",
            Self::Indefinite => "indefinite",
            Self::Fatal => "fatal",
        }
    }

    /// Its position in [`Outcome::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    fn of(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Definite => Self::Conflict,
            ErrorKind::Indefinite => Self::Indefinite,
            ErrorKind::Fatal => Self::Fatal,
        }
    }
}

/// What one executed operation reports to the recorder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Executed {
    /// How it ended.
    pub outcome: Outcome,
    /// Conflicts retried on the way (commands only).
    pub retries: u32,
    /// The domain refused the command (counted as `ok`).
    pub rejected: bool,
    /// The error's message when it failed, kept as an example for the report.
    pub error: Option<String>,
}

impl Executed {
    /// A plain success.
    pub const OK: Self = Self {
        outcome: Outcome::Ok,
        retries: 0,
        rejected: false,
        error: None,
    };

    /// A failure, classified by the error's kind.
    pub fn failed<T: fmt::Debug + fmt::Display>(error: &StoreError<T>) -> Self {
        Self::failure(Outcome::of(error.kind()), error.to_string())
    }

    /// A failure of the given outcome.
    pub fn failure(outcome: Outcome, message: String) -> Self {
        Self {
            outcome,
            retries: 0,
            rejected: false,
            error: Some(message),
        }
    }

    /// Success, or the error's classification.
    pub fn from_result<V, T: fmt::Debug + fmt::Display>(result: Result<V, StoreError<T>>) -> Self {
        match result {
            Ok(_) => Self::OK,
            Err(e) => Self::failed(&e),
        }
    }
}
