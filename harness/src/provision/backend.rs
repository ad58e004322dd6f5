//! What the harness knows about each backend, in one place per backend (`backends/`): its
//! name, pinned image and server settings, how to run it natively, the URL it is reached
//! at, and how to tell that it is ready. [`Backend`] names them; [`Kind`] is what each
//! one implements. Adding a backend is adding a file there, a variant, and its arm in
//! [`Backend::kind`].

use super::backends;
use async_trait::async_trait;
use rustix::process::Signal;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A server statebench can provide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Backend {
    /// PostgreSQL: `postgres`, `pg-eventlog`, `cache-aside`, `http`.
    Postgres,
    /// Redis: `redis`, `cache-aside`.
    Redis,
    /// Valkey, the open-source fork of Redis: `valkey`, `cache-aside-valkey`.
    Valkey,
    /// NATS with JetStream: `jetstream`.
    Nats,
    /// KurrentDB: `kurrentdb`.
    KurrentDb,
}

/// The fixed facts of a backend.
pub(super) struct Facts {
    /// The name in settings, config files and messages.
    pub name: &'static str,
    /// The official image, pinned by tag.
    pub image: &'static str,
    /// The port the server listens on inside its container.
    pub container_port: u16,
    /// The container's command before the server settings (the program, where the image
    /// wants one).
    pub container_program: &'static [&'static str],
    /// URL schemes of its servers; the first is the one the harness writes.
    pub schemes: &'static [&'static str],
    /// The signal that stops the server cleanly.
    pub stop_signal: Signal,
}

/// How a backend runs from installed binaries: `{dir}` (a fresh directory with `data`
/// and `socket` in it) and `{port}` are filled in; the server settings follow `args`.
pub(super) struct Native {
    /// The server program.
    pub program: PathBuf,
    /// A step run once before the first start (PostgreSQL's initdb).
    pub setup: Option<(PathBuf, Vec<String>)>,
    /// The arguments before the server settings.
    pub args: Vec<String>,
    /// The user it runs as (uid, gid), when not the harness's.
    pub user: Option<(u32, u32)>,
}

/// One backend: what statebench knows about it. Implemented once per backend, in
/// `provision/backends/`.
#[async_trait]
pub(super) trait Kind: Sync {
    /// Its fixed facts.
    fn facts(&self) -> &Facts;

    /// The server settings, stated explicitly and the same in a container and a native
    /// process: what survives a crash (as `persistence` says) and limits.
    fn server_args(&self, persistence: Persistence) -> Result<Vec<String>, String>;

    /// How to run it from installed binaries, or why it cannot be.
    fn native(&self) -> Result<Native, String>;

    /// One readiness probe: connects as the adapters do; returns the server's name and
    /// version as it states them (`PostgreSQL 17.12`).
    async fn probe(&self, url: &str) -> Result<String, String>;

    /// Environment of the container: what the official image reads.
    fn container_env(&self, _password: &str) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// The URL of its server on `127.0.0.1:port`, with `password` where it has one.
    fn local_url(&self, port: u16, _password: &str) -> String {
        format!("{}://127.0.0.1:{port}", self.facts().schemes[0])
    }
}

/// A password for one server, fresh per call: servers are reachable by other local users.
pub fn fresh_password() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let a = statebench_suites::generate::derive_seed(nanos, u64::from(std::process::id()));
    let b = statebench_suites::generate::derive_seed(a, nanos.rotate_left(17));
    format!("{a:016x}{b:016x}")
}

/// What a server keeps of what it acknowledged when its process dies: a setting of the
/// harness-started servers, named in the config file (`persistence: {redis: off}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Persistence {
    /// The pinned settings: PostgreSQL `fsync=on`, `synchronous_commit=on`; Redis and
    /// Valkey an append-only file synced every second and no RDB snapshots; NATS
    /// JetStream's file store as the server syncs it.
    #[default]
    Durable,
    /// Nothing kept on purpose, to measure what durability costs and what a kill loses:
    /// Redis and Valkey with neither an append-only file nor RDB snapshots; PostgreSQL
    /// with `fsync=off`, `synchronous_commit=off`, `full_page_writes=off`. Never a default.
    Off,
}

impl std::str::FromStr for Persistence {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "durable" => Ok(Self::Durable),
            "off" => Ok(Self::Off),
            other => Err(format!(
                "unknown persistence `{other}` (known: durable, off)"
            )),
        }
    }
}

impl fmt::Display for Persistence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Durable => "durable",
            Self::Off => "off",
        })
    }
}

/// The arguments as owned strings.
pub(super) fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

/// One readiness probe may take this long.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

impl Backend {
    /// Every backend.
    pub const ALL: [Self; 5] = [
        Self::Postgres,
        Self::Redis,
        Self::Valkey,
        Self::Nats,
        Self::KurrentDb,
    ];

    /// What the harness knows about it.
    pub(super) fn kind(self) -> &'static dyn Kind {
        match self {
            Self::Postgres => &backends::postgres::POSTGRES,
            Self::Redis => &backends::redis::REDIS,
            Self::Valkey => &backends::valkey::VALKEY,
            Self::Nats => &backends::nats::NATS,
            Self::KurrentDb => &backends::kurrentdb::KURRENTDB,
        }
    }

    /// The name in settings, config files and messages.
    pub fn name(self) -> &'static str {
        self.kind().facts().name
    }

    /// The backend of that name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The environment variable with the URL of an external server.
    pub fn url_variable(self) -> String {
        format!("STATEBENCH_{}_URL", self.name().to_uppercase())
    }

    /// The environment variable that overrides the image.
    pub fn image_variable(self) -> String {
        format!("STATEBENCH_{}_IMAGE", self.name().to_uppercase())
    }

    /// The official image, pinned by tag.
    pub fn default_image(self) -> &'static str {
        self.kind().facts().image
    }

    /// The port the server listens on inside its container.
    pub fn container_port(self) -> u16 {
        self.kind().facts().container_port
    }

    /// Environment of the container: what the official images read.
    pub fn container_env(self, password: &str) -> Vec<(&'static str, String)> {
        self.kind().container_env(password)
    }

    /// The container's command: the program where the image wants one, then the server
    /// settings.
    pub fn container_args(self, persistence: Persistence) -> Result<Vec<String>, String> {
        let mut args = owned(self.kind().facts().container_program);
        args.extend(self.server_args(persistence)?);
        Ok(args)
    }

    /// The server settings, the same in a container and a native process.
    pub fn server_args(self, persistence: Persistence) -> Result<Vec<String>, String> {
        self.kind().server_args(persistence)
    }

    /// The signal that stops the server cleanly.
    pub fn stop_signal(self) -> Signal {
        self.kind().facts().stop_signal
    }

    /// The URL of a server of this backend listening on `127.0.0.1:port`, with `password`
    /// where the backend has one (PostgreSQL).
    pub fn local_url(self, port: u16, password: &str) -> String {
        self.kind().local_url(port, password)
    }

    /// Refuses a URL that cannot be one of this backend's.
    pub fn check_url(self, url: &str) -> Result<(), String> {
        let parsed =
            url::Url::parse(url).map_err(|e| format!("malformed URL `{}`: {e}", redact(url)))?;
        let schemes = self.kind().facts().schemes;
        if !schemes.contains(&parsed.scheme()) {
            return Err(format!(
                "URL `{}` is not a {self} URL (expected {}://…)",
                redact(url),
                schemes[0]
            ));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(format!("URL `{}` has no host", redact(url)));
        }
        Ok(())
    }

    /// Asks the server once for its name and version, as it states them.
    pub async fn version(self, url: &str) -> Result<String, String> {
        match tokio::time::timeout(PROBE_TIMEOUT, self.kind().probe(url)).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer within {PROBE_TIMEOUT:?}")),
        }
    }

    /// Probes until the server answers or `limit` passes; returns its name and version.
    pub async fn wait_ready(self, url: &str, limit: Duration) -> Result<String, String> {
        let start = Instant::now();
        loop {
            let error = match self.version(url).await {
                Ok(version) => return Ok(version),
                Err(e) => e,
            };
            if start.elapsed() > limit {
                return Err(format!("did not answer within {limit:?}: {error}"));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

pub use statebench_adapters::connect::redact;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_for_their_backend() {
        assert!(
            Backend::Postgres
                .check_url("postgres://u:p@h:5432/db")
                .is_ok()
        );
        let wrong = Backend::Redis.check_url("postgres://h").unwrap_err();
        assert!(wrong.contains("not a redis URL"), "{wrong}");
        let malformed = Backend::Nats.check_url("nats//oops").unwrap_err();
        assert!(malformed.starts_with("malformed URL"), "{malformed}");
        assert!(Backend::Valkey.check_url("redis://127.0.0.1:6379").is_ok());
    }

    #[test]
    fn names_round_trip_and_variables_follow_them() {
        for b in Backend::ALL {
            assert_eq!(Backend::parse(b.name()), Some(b));
        }
        assert_eq!(
            Backend::KurrentDb.url_variable(),
            "STATEBENCH_KURRENTDB_URL"
        );
        assert_eq!(Backend::Nats.image_variable(), "STATEBENCH_NATS_IMAGE");
        assert_eq!(Backend::Valkey.image_variable(), "STATEBENCH_VALKEY_IMAGE");
    }

    #[test]
    fn every_backend_states_its_settings_and_a_url_it_accepts() {
        for b in Backend::ALL {
            let url = b.local_url(5000, "pw");
            assert_eq!(b.check_url(&url), Ok(()), "{b}: {url}");
            assert!(b.server_args(Persistence::Durable).is_ok(), "{b}");
            assert!(b.container_args(Persistence::Durable).is_ok(), "{b}");
        }
        // The two Redis servers take the same settings, each its own program.
        let redis = Backend::Redis.container_args(Persistence::Durable).unwrap();
        let valkey = Backend::Valkey
            .container_args(Persistence::Durable)
            .unwrap();
        assert_eq!(redis[0], "redis-server");
        assert_eq!(valkey[0], "valkey-server");
        assert_eq!(redis[1..], valkey[1..]);
        assert!(
            redis.contains(&"appendonly".to_owned()) || redis.contains(&"--appendonly".to_owned())
        );
    }
}
