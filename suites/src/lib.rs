//! Workloads, the load engine, the aggregate executor, the suites and the results model.
//!
//! Suites never name a concrete backend: they drive [`Subject`]s, each an adapter seen through
//! one of the two contracts of `statebench-adapters`.
#![forbid(unsafe_code)]

pub mod bench;
pub mod check;
pub mod domain;
pub mod engine;
pub mod executor;
pub mod faults;
pub mod generate;
pub mod history;
pub mod ledger;
pub mod outcome;
pub mod progress;
pub mod results;
pub mod shard;
pub mod standing;
pub mod subject;
pub mod suite;
pub mod testing;
pub mod units;
pub mod workload;

pub use outcome::{Executed, Outcome};
pub use progress::{Progress, Silent};
pub use subject::{Runner, Subject, Target};
pub use workload::Workload;
