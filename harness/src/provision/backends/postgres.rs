//! PostgreSQL: the official image's environment, `fsync` and `synchronous_commit` as the
//! persistence says, initdb and a password natively, run as an unprivileged user as root.

use super::super::backend::{Facts, Kind, Native, Persistence, owned};
use super::super::native;
use async_trait::async_trait;
use rustix::process::Signal;
use std::path::PathBuf;

/// PostgreSQL.
pub struct Postgres;

/// The one instance.
pub const POSTGRES: Postgres = Postgres;

const FACTS: Facts = Facts {
    name: "postgres",
    image: "postgres:17",
    container_port: 5432,
    container_program: &["postgres"],
    schemes: &["postgres", "postgresql"],
    // A fast shutdown: SIGTERM would wait for every client to disconnect.
    stop_signal: Signal::INT,
};

/// Debian keeps each major version apart, Homebrew each formula: newest first.
fn version_dirs() -> Vec<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(v.0));
    let mut dirs: Vec<PathBuf> = versions.into_iter().map(|(_, dir)| dir).collect();
    for brew in ["/opt/homebrew/opt", "/usr/local/opt"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(brew)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("postgresql"))
            .map(|e| e.path().join("bin"))
            .collect();
        found.sort();
        dirs.extend(found.into_iter().rev());
    }
    dirs
}

#[async_trait]
impl Kind for Postgres {
    fn facts(&self) -> &Facts {
        &FACTS
    }

    fn server_args(&self, persistence: Persistence) -> Result<Vec<String>, String> {
        let on = match persistence {
            Persistence::Durable => "on",
            Persistence::Off => "off",
        };
        Ok(vec![
            "-c".into(),
            format!("fsync={on}"),
            "-c".into(),
            format!("synchronous_commit={on}"),
            "-c".into(),
            format!("full_page_writes={on}"),
            "-c".into(),
            "max_connections=300".into(),
        ])
    }

    fn native(&self) -> Result<Native, String> {
        let bin = native::find(&["initdb", "postgres"], version_dirs())?;
        let initdb = owned(&[
            "-D",
            "{dir}/data",
            "-U",
            "postgres",
            "--pwfile={dir}/socket/password",
            "--auth=scram-sha-256",
            "--no-sync",
            "-E",
            "UTF8",
        ]);
        let args = owned(&[
            "-D",
            "{dir}/data",
            "-p",
            "{port}",
            "-k",
            "{dir}/socket",
            "-c",
            "listen_addresses=127.0.0.1",
        ]);
        Ok(Native {
            program: bin.join("postgres"),
            setup: Some((bin.join("initdb"), initdb)),
            args,
            // PostgreSQL refuses to run as root.
            user: native::unprivileged_user(),
        })
    }

    async fn probe(&self, url: &str) -> Result<String, String> {
        use statebench_adapters::Adapter;
        statebench_adapters::postgres::Postgres::connect(url)
            .await
            .map(|store| store.descriptor().backend.clone())
            .map_err(|e| e.to_string())
    }

    fn container_env(&self, password: &str) -> Vec<(&'static str, String)> {
        vec![("POSTGRES_PASSWORD", password.to_owned())]
    }

    fn local_url(&self, port: u16, password: &str) -> String {
        format!("postgres://postgres:{password}@127.0.0.1:{port}/postgres")
    }
}
