//! `results.json`: the results as data.

use statebench_suites::results::{Results, SCHEMA_VERSION};
use std::path::Path;

/// Why a results file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        reason: std::io::Error,
    },
    /// The file is not results of this schema.
    #[error("{path}: not statebench results of schema {SCHEMA_VERSION}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// The results as pretty-printed JSON.
pub fn render(results: &Results) -> String {
    let mut text = serde_json::to_string_pretty(results).unwrap_or_else(|e| {
        // Every field is a plain number, string, list or map; this cannot happen.
        format!("{{\"error\": \"results could not be serialized: {e}\"}}")
    });
    text.push('\n');
    text
}

/// Reads `results.json`, refusing other schema versions.
pub fn read(path: &Path) -> Result<Results, ReadError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|reason| ReadError::Io {
        path: shown.clone(),
        reason,
    })?;
    let invalid = |message: String| ReadError::Invalid {
        path: shown.clone(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    match value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
    {
        Some(v) if v == u64::from(SCHEMA_VERSION) => {}
        Some(v) => return Err(invalid(format!("it has schema_version {v}"))),
        None => return Err(invalid("it has no schema_version".into())),
    }
    serde_json::from_value(value).map_err(|e| invalid(e.to_string()))
}
