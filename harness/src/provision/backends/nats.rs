//! NATS with JetStream: file storage in the server's directory.

use super::super::backend::{Facts, Kind, Native, Persistence, owned};
use super::super::native;
use async_trait::async_trait;
use rustix::process::Signal;

/// NATS.
pub struct Nats;

/// The one instance.
pub const NATS: Nats = Nats;

const FACTS: Facts = Facts {
    name: "nats",
    image: "nats:2.10",
    container_port: 4222,
    container_program: &["-js", "-sd", "/data/jetstream"],
    schemes: &["nats", "tls"],
    stop_signal: Signal::TERM,
};

#[async_trait]
impl Kind for Nats {
    fn facts(&self) -> &Facts {
        &FACTS
    }

    /// JetStream's storage is the stream's, which the jetstream adapter makes a file
    /// store; the server syncs it every 2 minutes (its default sync_interval).
    fn server_args(&self, persistence: Persistence) -> Result<Vec<String>, String> {
        super::durable_only("nats", persistence)
    }

    fn native(&self) -> Result<Native, String> {
        let bin = native::find(&["nats-server"], Vec::new())?;
        Ok(Native {
            program: bin.join("nats-server"),
            setup: None,
            args: owned(&[
                "-a",
                "127.0.0.1",
                "-p",
                "{port}",
                "-js",
                "-sd",
                "{dir}/data",
            ]),
            user: None,
        })
    }

    async fn probe(&self, url: &str) -> Result<String, String> {
        use statebench_adapters::Adapter;
        statebench_adapters::jetstream::JetStream::connect(url)
            .await
            .map(|store| store.descriptor().backend.clone())
            .map_err(|e| e.to_string())
    }
}
