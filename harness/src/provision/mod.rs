//! Provisioning: the servers a run needs, started by the harness (a Docker container or a
//! local server process) or given by the user (a URL), and stopped again afterwards.
//!
//! `auto` tries Docker where an engine answers, then a native server where the binaries
//! are installed; a backend neither can provide is skipped with its reasons. A server the
//! harness started can be killed, paused and restarted through its [`FaultTarget`].

mod backend;
mod backends;
mod docker;
mod fault;
mod native;

pub use backend::{Backend, Persistence};
pub use fault::{FAULT_TIMEOUT, Fault, FaultError, FaultTarget, ServerState};

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How long a started server may take to answer.
pub const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// How a backend is provided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Docker where an engine answers, else native, else skipped.
    Auto,
    /// A container of the backend's image.
    Docker,
    /// A server process from installed binaries.
    Native,
    /// A URL from the environment or the config file.
    External,
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "auto" => Ok(Self::Auto),
            "docker" => Ok(Self::Docker),
            "native" => Ok(Self::Native),
            "external" => Ok(Self::External),
            other => Err(format!(
                "unknown provisioning mode `{other}` (known: auto, docker, native, external)"
            )),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Docker => "docker",
            Self::Native => "native",
            Self::External => "external",
        })
    }
}

/// Per backend: how to provide it, which image to use, which URL to reach.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The mode of every backend not named in `modes`.
    pub default_mode: Option<Mode>,
    /// Modes by backend.
    pub modes: BTreeMap<Backend, Mode>,
    /// Image overrides by backend.
    pub images: BTreeMap<Backend, String>,
    /// URLs of external servers by backend.
    pub urls: BTreeMap<Backend, String>,
    /// Persistence of harness-started servers by backend; `durable` when not named.
    pub persistence: BTreeMap<Backend, Persistence>,
}

impl Settings {
    /// The mode for `backend`: its own, else the default, else `auto`.
    pub fn mode(&self, backend: Backend) -> Mode {
        self.modes
            .get(&backend)
            .copied()
            .or(self.default_mode)
            .unwrap_or(Mode::Auto)
    }

    /// The image for `backend`: an override, else the pinned official one.
    pub fn image(&self, backend: Backend) -> String {
        self.images
            .get(&backend)
            .cloned()
            .unwrap_or_else(|| backend.default_image().to_owned())
    }

    /// The persistence of a harness-started `backend`: its own, else the pinned `durable`.
    pub fn persistence(&self, backend: Backend) -> Persistence {
        self.persistence.get(&backend).copied().unwrap_or_default()
    }
}

/// A running (or reachable) server.
pub struct Server {
    /// Which backend.
    pub backend: Backend,
    /// How to reach it.
    pub url: String,
    /// What the results say about how it was provided.
    pub info: statebench_suites::results::ServerInfo,
    faults: FaultTarget,
}

impl Server {
    /// A handle for killing, pausing and restarting this server while others use it;
    /// every fault is refused for an external server.
    pub fn faults(&self) -> FaultTarget {
        self.faults.clone()
    }

    /// Stops and removes what the harness started (resuming it first if paused, also
    /// after a kill); nothing for an external server. Faults through any handle are
    /// refused afterwards.
    pub async fn shutdown(self) {
        self.faults.remove().await;
    }
}

/// Provides `backend` as `settings` say; `note` receives one-line remarks (fallbacks).
pub async fn provide(
    backend: Backend,
    settings: &Settings,
    note: &(dyn Fn(&str) + Sync),
) -> Result<Server, String> {
    let persistence = settings.persistence(backend);
    match settings.mode(backend) {
        Mode::External => external(backend, settings).await,
        Mode::Docker => docker::start(backend, &settings.image(backend), persistence).await,
        Mode::Native => native::start(backend, persistence).await,
        Mode::Auto => {
            if let Some(url) = settings.urls.get(&backend) {
                note(&format!(
                    "{backend}: using the given URL {}",
                    backend::redact(url)
                ));
                return external(backend, settings).await;
            }
            let mut reasons = Vec::new();
            match docker::engine().await {
                Ok(()) => match docker::start(backend, &settings.image(backend), persistence).await
                {
                    Ok(server) => return Ok(server),
                    Err(e) => reasons.push(format!("docker: {e}")),
                },
                Err(e) => reasons.push(format!("docker: {e}")),
            }
            match native::start(backend, persistence).await {
                Ok(server) => {
                    note(&format!(
                        "{backend}: started natively ({})",
                        reasons.join("; ")
                    ));
                    Ok(server)
                }
                Err(e) => {
                    reasons.push(format!("native: {e}"));
                    Err(reasons.join("; "))
                }
            }
        }
    }
}

/// A server at a URL the user gave. Its version is asked once; one that does not answer
/// yet is no error here (its adapters say what is wrong when they connect).
async fn external(backend: Backend, settings: &Settings) -> Result<Server, String> {
    let url = settings.urls.get(&backend).cloned().ok_or_else(|| {
        format!(
            "no URL given: set {} or `urls.{backend}` in the config file",
            backend.url_variable()
        )
    })?;
    backend.check_url(&url)?;
    let version = backend.version(&url).await.ok();
    Ok(Server {
        backend,
        info: statebench_suites::results::ServerInfo {
            backend: backend.to_string(),
            version,
            provisioning: "external".into(),
            url: backend::redact(&url),
            image: None,
            image_id: None,
            binary: None,
        },
        faults: FaultTarget::external(backend, &url),
        url,
    })
}

/// A free port on loopback, for a server to listen on (natively, or published from a
/// container).
fn free_port() -> Result<u16, String> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// The last lines of a server's log, on one line.
fn log_tail(log: &str) -> String {
    let tail: Vec<&str> = log.lines().rev().take(3).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
}
