//! KurrentDB: a single insecure node from its official image; not packaged for native
//! runs.

use super::super::backend::{Facts, Kind, Native, Persistence};
use async_trait::async_trait;
use rustix::process::Signal;
use std::time::Duration;

/// KurrentDB.
pub struct KurrentDb;

/// The one instance.
pub const KURRENTDB: KurrentDb = KurrentDb;

const FACTS: Facts = Facts {
    name: "kurrentdb",
    image: "docker.kurrent.io/kurrent-latest/kurrentdb:25.1",
    container_port: 2113,
    container_program: &[],
    schemes: &["kurrentdb", "esdb", "kurrentdb+discover", "esdb+discover"],
    stop_signal: Signal::TERM,
};

#[async_trait]
impl Kind for KurrentDb {
    fn facts(&self) -> &Facts {
        &FACTS
    }

    fn server_args(&self, persistence: Persistence) -> Result<Vec<String>, String> {
        super::durable_only("kurrentdb", persistence)
    }

    fn native(&self) -> Result<Native, String> {
        Err("KurrentDB is not packaged for native runs: use docker, or give STATEBENCH_KURRENTDB_URL".into())
    }

    /// Its HTTP health endpoint, then a client connection.
    async fn probe(&self, url: &str) -> Result<String, String> {
        let port = url::Url::parse(url)
            .ok()
            .and_then(|u| u.port())
            .unwrap_or(2113);
        let live = format!("http://127.0.0.1:{port}/health/live");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        let answered = client.get(&live).send().await.map_err(|e| e.to_string())?;
        if !answered.status().is_success() {
            return Err(format!("{live} answered {}", answered.status()));
        }
        use statebench_adapters::Adapter;
        statebench_adapters::kurrentdb::KurrentDb::connect(url)
            .await
            .map(|store| store.descriptor().backend.clone())
            .map_err(|e| e.to_string())
    }

    fn container_env(&self, _password: &str) -> Vec<(&'static str, String)> {
        vec![
            ("KURRENTDB_INSECURE", "true".to_owned()),
            ("KURRENTDB_RUN_PROJECTIONS", "None".to_owned()),
        ]
    }

    fn local_url(&self, port: u16, _password: &str) -> String {
        format!("kurrentdb://127.0.0.1:{port}?tls=false")
    }
}
