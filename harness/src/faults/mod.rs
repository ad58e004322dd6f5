//! Network faults between the harness and a backend: a TCP [`Proxy`] inside the run, on
//! loopback, that the harness's clients reach instead of the server ([`via_proxy`]) and that
//! can add latency, stall every connection, or reset them while a suite runs.
//!
//! The proxy is our own, on tokio: `noxious` (the toxiproxy port the issue suggested) is from
//! 2021, runs as its own server driven over HTTP, and has no reset fault.

mod address;
mod link;
pub mod proxy;

pub use address::{upstream_of, via_proxy};
pub use proxy::{FaultState, Proxy, ProxyError, ProxyStats};
