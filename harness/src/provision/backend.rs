//! What the harness knows about each backend: names, pinned images and server settings,
//! the URL it is reached at, and how to tell that it is ready.

use std::fmt;
use std::time::{Duration, Instant};

/// A server statebench can provide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Backend {
    /// PostgreSQL: `postgres`, `pg-eventlog`, `cache-aside`, `http`.
    Postgres,
    /// Redis: `redis`, `cache-aside`.
    Redis,
    /// NATS with JetStream: `jetstream`.
    Nats,
    /// KurrentDB: `kurrentdb`.
    KurrentDb,
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
    /// The pinned settings: PostgreSQL `fsync=on`, `synchronous_commit=on`; Redis an
    /// append-only file synced every second and no RDB snapshots; NATS JetStream's file
    /// store as the server syncs it.
    #[default]
    Durable,
    /// Nothing kept on purpose, to measure what durability costs and what a kill loses:
    /// Redis with neither an append-only file nor RDB snapshots; PostgreSQL with
    /// `fsync=off`, `synchronous_commit=off`, `full_page_writes=off`. Never a default.
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
    pub const ALL: [Self; 4] = [Self::Postgres, Self::Redis, Self::Nats, Self::KurrentDb];

    /// The name in settings, config files and messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Redis => "redis",
            Self::Nats => "nats",
            Self::KurrentDb => "kurrentdb",
        }
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
        match self {
            Self::Postgres => "postgres:17",
            Self::Redis => "redis:7.4",
            Self::Nats => "nats:2.10",
            Self::KurrentDb => "docker.kurrent.io/kurrent-latest/kurrentdb:25.1",
        }
    }

    /// The port the server listens on inside its container.
    pub fn container_port(self) -> u16 {
        match self {
            Self::Postgres => 5432,
            Self::Redis => 6379,
            Self::Nats => 4222,
            Self::KurrentDb => 2113,
        }
    }

    /// Environment of the container: what the official images read.
    pub fn container_env(self, password: &str) -> Vec<(&'static str, String)> {
        match self {
            Self::Postgres => vec![("POSTGRES_PASSWORD", password.to_owned())],
            Self::KurrentDb => vec![
                ("KURRENTDB_INSECURE", "true".to_owned()),
                ("KURRENTDB_RUN_PROJECTIONS", "None".to_owned()),
            ],
            Self::Redis | Self::Nats => Vec::new(),
        }
    }

    /// The container's command: the program where the image wants one, then the server
    /// settings.
    pub fn container_args(self, persistence: Persistence) -> Result<Vec<String>, String> {
        let mut args = match self {
            Self::Postgres => vec!["postgres".to_owned()],
            Self::Redis => vec!["redis-server".to_owned()],
            Self::Nats => owned(&["-js", "-sd", "/data/jetstream"]),
            Self::KurrentDb => Vec::new(),
        };
        args.extend(self.server_args(persistence)?);
        Ok(args)
    }

    /// The server settings, stated explicitly and the same in a container and a native
    /// process: what survives a crash (as `persistence` says) and limits.
    pub fn server_args(self, persistence: Persistence) -> Result<Vec<String>, String> {
        use Persistence::{Durable, Off};
        let args: &[&str] = match (self, persistence) {
            (Self::Postgres, Durable) => &[
                "-c",
                "fsync=on",
                "-c",
                "synchronous_commit=on",
                "-c",
                "full_page_writes=on",
                "-c",
                "max_connections=300",
            ],
            (Self::Postgres, Off) => &[
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
            ],
            (Self::Redis, Durable) => &[
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
            ],
            (Self::Redis, Off) => &["--appendonly", "no", "--save", ""],
            // JetStream's storage is the stream's, which the jetstream adapter makes a file
            // store; the server syncs it every 2 minutes (its default sync_interval).
            (Self::Nats | Self::KurrentDb, Durable) => &[],
            (Self::Nats | Self::KurrentDb, Off) => {
                return Err(format!(
                    "{self}: persistence `off` is not offered (it is for postgres and redis)"
                ));
            }
        };
        Ok(owned(args))
    }

    /// The signal that stops the server cleanly. PostgreSQL's SIGINT is a fast shutdown:
    /// its SIGTERM would wait for every client to disconnect.
    pub fn stop_signal(self) -> rustix::process::Signal {
        match self {
            Self::Postgres => rustix::process::Signal::INT,
            Self::Redis | Self::Nats | Self::KurrentDb => rustix::process::Signal::TERM,
        }
    }

    /// The URL of a server of this backend listening on `127.0.0.1:port`; `password` for
    /// PostgreSQL.
    pub fn local_url(self, port: u16, password: Option<&str>) -> String {
        match self {
            Self::Postgres => match password {
                Some(p) => format!("postgres://postgres:{p}@127.0.0.1:{port}/postgres"),
                None => format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            },
            Self::Redis => format!("redis://127.0.0.1:{port}"),
            Self::Nats => format!("nats://127.0.0.1:{port}"),
            Self::KurrentDb => format!("kurrentdb://127.0.0.1:{port}?tls=false"),
        }
    }

    /// Refuses a URL that cannot be one of this backend's.
    pub fn check_url(self, url: &str) -> Result<(), String> {
        let parsed =
            url::Url::parse(url).map_err(|e| format!("malformed URL `{}`: {e}", redact(url)))?;
        let schemes: &[&str] = match self {
            Self::Postgres => &["postgres", "postgresql"],
            Self::Redis => &["redis"],
            Self::Nats => &["nats", "tls"],
            Self::KurrentDb => &["kurrentdb", "esdb", "kurrentdb+discover", "esdb+discover"],
        };
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

    /// One readiness probe: connects as the adapters do.
    async fn probe(self, url: &str) -> Result<(), String> {
        use statebench_adapters::{jetstream, kurrentdb, postgres, redis_conn};
        match self {
            Self::Postgres => postgres::Postgres::connect(url)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Self::Redis => redis_conn::Redis::connect(url)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Self::Nats => jetstream::JetStream::connect(url)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Self::KurrentDb => {
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
                kurrentdb::KurrentDb::connect(url)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Probes until the server answers or `limit` passes.
    pub async fn wait_ready(self, url: &str, limit: Duration) -> Result<(), String> {
        let start = Instant::now();
        loop {
            let probe = tokio::time::timeout(PROBE_TIMEOUT, self.probe(url)).await;
            let error = match probe {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(e)) => e,
                Err(_) => format!("no answer within {PROBE_TIMEOUT:?}"),
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
    }
}
