//! The workloads that ship with statebench, embedded in the binary.

use super::{Workload, WorkloadError};

/// Every built-in workload: (name, YAML text).
pub const BUILTIN: [(&str, &str); 5] = [
    (
        "read-heavy",
        include_str!("../../workloads/read-heavy.yaml"),
    ),
    (
        "update-heavy",
        include_str!("../../workloads/update-heavy.yaml"),
    ),
    (
        "hot-key-commands",
        include_str!("../../workloads/hot-key-commands.yaml"),
    ),
    (
        "event-sourced",
        include_str!("../../workloads/event-sourced.yaml"),
    ),
    ("gate", include_str!("../../workloads/gate.yaml")),
];

/// A built-in workload by name; `None` when there is none of that name.
pub fn builtin(name: &str) -> Option<Result<Workload, WorkloadError>> {
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, text)| Workload::parse(&format!("builtin:{n}"), text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses_and_is_named_after_itself() {
        for (name, _) in BUILTIN {
            let workload = builtin(name).unwrap().unwrap();
            assert_eq!(workload.name, name);
        }
    }
}
