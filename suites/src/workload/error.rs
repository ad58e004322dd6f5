//! A workload error that names the file, the line and the field.

use std::fmt;

/// Why a workload could not be loaded: where, which field, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct WorkloadError {
    /// The file path, or `builtin:NAME`.
    pub origin: String,
    /// The 1-based line, where known.
    pub line: Option<usize>,
    /// The field's path, for example `keys.theta`; empty for the whole file.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for WorkloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.field.is_empty() {
            write!(f, ": field `{}`", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl WorkloadError {
    pub(super) fn from_serde(
        origin: &str,
        e: &serde_path_to_error::Error<serde_yaml::Error>,
        text: &str,
    ) -> Self {
        let inner = e.inner();
        // A syntax error has no field; serde_path_to_error then ends the path with `?`.
        let path = e.path().to_string();
        let field = match path.trim_end_matches(".?").trim_end_matches('?') {
            "." => String::new(),
            known => known.to_owned(),
        };
        // serde_yaml's message carries the path in front and the location behind; both are
        // reported in their own fields.
        let mut message = inner.to_string();
        // The path in front may be the field's or its parent's (for unknown fields).
        if let Some((front, rest)) = message.split_once(": ")
            && !front.is_empty()
            && field.starts_with(front)
        {
            message = rest.to_owned();
        }
        if let Some(at) = inner.location() {
            let suffix = format!(" at line {} column {}", at.line(), at.column());
            if let Some(rest) = message.strip_suffix(&suffix) {
                message = rest.to_owned();
            }
        }
        Self {
            origin: origin.to_owned(),
            // At the end of the input the parser may point a line past the last one.
            line: inner
                .location()
                .map(|l| l.line().min(text.lines().count().max(1))),
            field,
            message,
        }
    }
}
