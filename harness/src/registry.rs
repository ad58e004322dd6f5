//! The adapters the harness can run, by name.

use statebench_adapters::memory::Memory;
use statebench_adapters::noop::Noop;
use statebench_suites::subject::{Subject, Target};
use std::sync::Arc;

/// An adapter the CLI can name.
pub struct Entry {
    /// The name on the command line.
    pub name: &'static str,
    /// One line for `statebench list`.
    pub about: &'static str,
    /// Whether a run without `--adapters` includes it.
    pub default: bool,
    /// Makes its subjects (one per interface it implements).
    pub make: fn() -> Result<Vec<Subject>, String>,
}

/// Every adapter, in report order.
pub const ADAPTERS: &[Entry] = &[
    Entry {
        name: "memory",
        about: "in-process reference, linearizable by construction; the embedded default",
        default: true,
        make: memory,
    },
    Entry {
        name: "noop",
        about: "stores nothing and answers at once: measures the harness's own ceiling",
        default: false,
        make: noop,
    },
];

/// The adapter of that name.
pub fn find(name: &str) -> Option<&'static Entry> {
    ADAPTERS.iter().find(|a| a.name == name)
}

fn subject(name: String, target: Target) -> Subject {
    Subject {
        name,
        target,
        provisioning: "embedded".to_owned(),
    }
}

fn memory() -> Result<Vec<Subject>, String> {
    Ok(vec![
        subject(
            "memory:state".into(),
            Target::State(Arc::new(Memory::new())),
        ),
        subject(
            "memory:events".into(),
            Target::Events(Arc::new(Memory::new())),
        ),
    ])
}

fn noop() -> Result<Vec<Subject>, String> {
    Ok(vec![
        subject(
            "noop:state".into(),
            Target::State(Arc::new(Noop::default())),
        ),
        subject(
            "noop:events".into(),
            Target::Events(Arc::new(Noop::default())),
        ),
    ])
}
