//! Provisioning: the servers a run needs, started by the harness (a Docker container or a
//! local server process) or given by the user (a URL), and stopped again afterwards.
//!
//! `auto` tries Docker where an engine answers, then a native server where the binaries
//! are installed; a backend neither can provide is skipped with its reasons.

mod backend;
mod docker;
mod native;

pub use backend::Backend;

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
}

/// A running (or reachable) server.
pub struct Server {
    /// Which backend.
    pub backend: Backend,
    /// How to reach it.
    pub url: String,
    /// What the results say about how it was provided.
    pub info: statebench_suites::results::ServerInfo,
    guard: Guard,
}

enum Guard {
    None,
    Container(Box<docker::Container>),
    Process(Box<native::Process>),
}

impl Server {
    /// Stops and removes what the harness started; nothing for an external server.
    pub async fn shutdown(self) {
        match self.guard {
            Guard::None => {}
            Guard::Container(c) => c.remove().await,
            Guard::Process(p) => p.stop().await,
        }
    }
}

/// Provides `backend` as `settings` say; `note` receives one-line remarks (fallbacks).
pub async fn provide(
    backend: Backend,
    settings: &Settings,
    note: &(dyn Fn(&str) + Sync),
) -> Result<Server, String> {
    match settings.mode(backend) {
        Mode::External => external(backend, settings),
        Mode::Docker => docker::start(backend, &settings.image(backend)).await,
        Mode::Native => native::start(backend).await,
        Mode::Auto => {
            if let Some(url) = settings.urls.get(&backend) {
                note(&format!(
                    "{backend}: using the given URL {}",
                    backend::redact(url)
                ));
                return external(backend, settings);
            }
            let mut reasons = Vec::new();
            match docker::engine().await {
                Ok(()) => match docker::start(backend, &settings.image(backend)).await {
                    Ok(server) => return Ok(server),
                    Err(e) => reasons.push(format!("docker: {e}")),
                },
                Err(e) => reasons.push(format!("docker: {e}")),
            }
            match native::start(backend).await {
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

fn external(backend: Backend, settings: &Settings) -> Result<Server, String> {
    let url = settings.urls.get(&backend).cloned().ok_or_else(|| {
        format!(
            "no URL given: set {} or `urls.{backend}` in the config file",
            backend.url_variable()
        )
    })?;
    backend.check_url(&url)?;
    Ok(Server {
        backend,
        info: statebench_suites::results::ServerInfo {
            backend: backend.to_string(),
            provisioning: "external".into(),
            url: backend::redact(&url),
            image: None,
            image_id: None,
            binary: None,
        },
        url,
        guard: Guard::None,
    })
}

/// The last lines of a server's log, on one line.
fn log_tail(log: &str) -> String {
    let tail: Vec<&str> = log.lines().rev().take(3).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
}
