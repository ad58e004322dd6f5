//! The suites: conformance checks of the contract, and latency and throughput trials built
//! from engine phases.

pub mod conformance;
pub mod consistency;
mod load;
pub mod trial;

pub use load::load;
pub use trial::{Context, Prepared, Round, Trials, latency, throughput, trial_ids};

/// Every suite, with a line on what it does.
pub const SUITES: [(&str, &str); 4] = [
    (
        "conformance",
        "checks each adapter against the contract: pass, fail, or unsupported as declared",
    ),
    (
        "latency",
        "open loop at the workload's offered rates: response and service time percentiles",
    ),
    (
        "throughput",
        "closed-loop concurrency sweep: the maximum ops/s and the latency at each step",
    ),
    (
        "consistency",
        "clients on hot keys record a history under each fault; linearizability, lost updates, stale reads, stream integrity, durability",
    ),
];
