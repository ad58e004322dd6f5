//! Workloads: what work a run offers, read from YAML and validated on load.

mod builtin;
mod error;
mod locate;
mod spec;
mod validate;

pub use builtin::{BUILTIN, builtin};
pub use error::WorkloadError;
pub use spec::{
    Arrivals, ClosedLoop, Consistency, Distribution, Keys, Mix, OpKind, OpenLoop, Phase, Seconds,
    Workload,
};

use std::path::Path;

impl Workload {
    /// Parses and validates a workload; `origin` names the text in errors (a file path, or
    /// `builtin:NAME`).
    pub fn parse(origin: &str, text: &str) -> Result<Self, WorkloadError> {
        let de = serde_yaml::Deserializer::from_str(text);
        let workload: Self = serde_path_to_error::deserialize(de)
            .map_err(|e| WorkloadError::from_serde(origin, &e, text))?;
        workload.validate().map_err(|(field, message)| {
            let line = locate::line_of(text, &field);
            WorkloadError {
                origin: origin.to_owned(),
                line,
                field,
                message,
            }
        })?;
        Ok(workload)
    }

    /// Reads, parses and validates a workload file.
    pub fn from_file(path: &Path) -> Result<Self, WorkloadError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| WorkloadError {
            origin: origin.clone(),
            line: None,
            field: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(&origin, &text)
    }

    /// A built-in workload by name, or else a workload file at that path.
    pub fn resolve(name_or_path: &str) -> Result<Self, WorkloadError> {
        if let Some(found) = builtin(name_or_path) {
            return found;
        }
        let path = Path::new(name_or_path);
        if path.exists() {
            return Self::from_file(path);
        }
        let names: Vec<&str> = BUILTIN.iter().map(|(name, _)| *name).collect();
        Err(WorkloadError {
            origin: name_or_path.to_owned(),
            line: None,
            field: String::new(),
            message: format!(
                "no such workload: not a built-in one ({}) nor a file",
                names.join(", ")
            ),
        })
    }
}
