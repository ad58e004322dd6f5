//! The `statebench` binary's library: command line, options, the adapter registry, the
//! orchestration of a run, network faults between the harness and a backend, and the run
//! directory.
#![forbid(unsafe_code)]

pub mod ab;
pub mod check;
pub mod cleanup;
pub mod cli;
pub mod compare;
pub mod config;
pub mod custom;
pub mod faulting;
pub mod faults;
pub mod inject;
pub mod listing;
pub mod machine;
pub mod merge;
pub mod nemesis;
pub mod options;
pub mod output;
pub mod progress;
pub mod provision;
pub mod registry;
pub mod run;
pub mod shard;
pub mod summary;

pub use custom::{RunError, run_with};
