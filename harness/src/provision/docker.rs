//! Backends as containers, with testcontainers: an image pinned by tag (or an override),
//! the server settings on its command line, published on a fixed loopback port (so that a
//! restarted container is found where it was), removed afterwards.

use super::backend::{Backend, Persistence, fresh_password, redact};
use super::fault::{FaultTarget, Lifecycle, Step};
use super::{READY_TIMEOUT, Server, free_port, log_tail};
use crate::cleanup::{Resource, Token, register};
use async_trait::async_trait;
use rustix::process::Signal;
use statebench_suites::results::ServerInfo;
use std::time::{Duration, Instant};
use testcontainers::bollard::Docker;
use testcontainers::bollard::query_parameters::KillContainerOptionsBuilder;
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ContainerRequest, GenericImage, ImageExt};

/// How long creating a container (pulling its image included) may take.
const START_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a container may take to stop before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts at publishing on a free port, which another process may take in between.
const PORT_ATTEMPTS: usize = 3;

/// A container the harness started.
pub struct Container {
    inner: ContainerAsync<GenericImage>,
    docker: Docker,
    stop_signal: Signal,
    _token: Token,
}

impl Container {
    /// Stops and removes the container.
    pub async fn remove(self) {
        // Dropping the handle would remove it too, but only inside a runtime: do it here.
        let _ = self.inner.rm().await;
    }

    /// Sends `signal` to the container's main process.
    async fn signal(&self, signal: Signal) -> Result<(), String> {
        let options = KillContainerOptionsBuilder::new()
            .signal(&signal.as_raw().to_string())
            .build();
        self.docker
            .kill_container(self.inner.id(), Some(options))
            .await
            .map_err(|e| first_line(&e))
    }

    /// Polls until the container no longer runs; `false` if it still runs after `limit`.
    async fn stopped_within(&self, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(false) = self.inner.is_running().await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// Sends `signal`, then SIGKILL if the container still runs after a while, and waits
    /// until it has stopped. A container that is not running counts as stopped.
    async fn end(&self, signal: Signal) -> Result<(), String> {
        let sent = self.signal(signal).await;
        if self.stopped_within(STOP_TIMEOUT).await {
            return Ok(());
        }
        sent?;
        self.signal(Signal::KILL).await?;
        match self.stopped_within(STOP_TIMEOUT).await {
            true => Ok(()),
            false => Err(format!("still running {STOP_TIMEOUT:?} after SIGKILL")),
        }
    }
}

#[async_trait]
impl Lifecycle for Container {
    async fn apply(&mut self, step: Step) -> Result<(), String> {
        match step {
            Step::Kill => self.end(Signal::KILL).await,
            Step::Stop => self.end(self.stop_signal).await,
            Step::Pause => self.inner.pause().await.map_err(|e| first_line(&e)),
            Step::Resume => self.inner.unpause().await.map_err(|e| first_line(&e)),
            // Its file system, and so its data, is the one it had; its port is fixed.
            Step::Start => self
                .docker
                .start_container(self.inner.id(), None)
                .await
                .map_err(|e| first_line(&e)),
        }
    }

    async fn exited(&mut self) -> String {
        exited(&self.inner).await
    }

    async fn remove(self: Box<Self>) {
        Container::remove(*self).await;
    }
}

fn client() -> Result<Docker, String> {
    Docker::connect_with_defaults().map_err(|e| format!("no Docker engine: {e}"))
}

/// Whether a Docker engine answers.
pub async fn engine() -> Result<(), String> {
    let docker = client()?;
    match tokio::time::timeout(Duration::from_secs(5), docker.ping()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("the Docker engine does not answer: {e}")),
        Err(_) => Err("the Docker engine does not answer within 5 s".into()),
    }
}

/// `registry/name:tag` split into name and tag (`latest` when there is none).
fn split(image: &str) -> (&str, &str) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (image, "latest"),
    }
}

/// Starts `backend` from `image` and waits until it answers.
pub async fn start(
    backend: Backend,
    image: &str,
    persistence: Persistence,
) -> Result<Server, String> {
    let docker = client()?;
    let image_id = match docker.inspect_image(image).await {
        Ok(found) => found.id,
        Err(_) => None,
    };
    let password = fresh_password();
    let (inner, host_port) =
        create(backend, image, persistence, &password, image_id.is_some()).await?;
    let container = Container {
        _token: register(Resource::Container(inner.id().to_owned())),
        inner,
        docker: docker.clone(),
        stop_signal: backend.stop_signal(),
    };
    let url = backend.local_url(host_port, &password);
    let ready = tokio::select! {
        ready = backend.wait_ready(&url, READY_TIMEOUT) => ready,
        why = exited(&container.inner) => Err(why),
    };
    let version = match ready {
        Ok(version) => version,
        Err(e) => {
            container.remove().await;
            return Err(e);
        }
    };
    let info = ServerInfo {
        backend: backend.to_string(),
        version: Some(version),
        provisioning: "docker".into(),
        url: redact(&url),
        image: Some(image.to_owned()),
        image_id: match image_id {
            Some(id) => Some(id),
            None => docker.inspect_image(image).await.ok().and_then(|i| i.id),
        },
        binary: None,
    };
    let faults = FaultTarget::managed(backend, &url, "docker", Box::new(container));
    Ok(Server {
        backend,
        url,
        info,
        faults,
    })
}

/// Creates and starts the container on a free loopback port; returns it with the port.
async fn create(
    backend: Backend,
    image: &str,
    persistence: Persistence,
    password: &str,
    present: bool,
) -> Result<(ContainerAsync<GenericImage>, u16), String> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let host_port = free_port()?;
        let request = request(backend, image, persistence, password, host_port)?;
        let started = tokio::time::timeout(START_TIMEOUT, request.start()).await;
        let error = match started {
            Ok(Ok(container)) => return Ok((container, host_port)),
            Ok(Err(e)) => first_line(&e),
            Err(_) => return Err(format!("starting `{image}` took over {START_TIMEOUT:?}")),
        };
        let port_taken = error.contains("already allocated") || error.contains("already in use");
        if port_taken && attempt < PORT_ATTEMPTS {
            continue;
        }
        return Err(if present {
            format!("cannot start `{image}`: {error}")
        } else {
            format!("image `{image}` is not present and could not be pulled: {error}")
        });
    }
}

/// The container `backend` runs in, published on `host_port` of loopback.
fn request(
    backend: Backend,
    image: &str,
    persistence: Persistence,
    password: &str,
    host_port: u16,
) -> Result<ContainerRequest<GenericImage>, String> {
    let (name, tag) = split(image);
    let port = backend.container_port();
    let label = crate::cleanup::container_label();
    let (label_key, label_value) = label.split_once('=').unwrap_or((&label, ""));
    let mut request = GenericImage::new(name, tag)
        .with_exposed_port(port.tcp())
        .with_wait_for(WaitFor::Nothing)
        .with_cmd(backend.container_args(persistence)?)
        .with_label(label_key, label_value)
        .with_startup_timeout(START_TIMEOUT)
        .with_host_config_modifier(move |host| loopback_only(host, port, host_port));
    for (key, value) in backend.container_env(password) {
        request = request.with_env_var(key, value);
    }
    Ok(request)
}

/// Publishes the server's port on loopback only (Docker's default is every interface): the
/// servers have no authentication worth the name. The host port is fixed, not ephemeral:
/// Docker may give a restarted container another ephemeral port.
fn loopback_only(
    host: &mut testcontainers::bollard::models::HostConfig,
    port: u16,
    host_port: u16,
) {
    let binding = testcontainers::bollard::models::PortBinding {
        host_ip: Some("127.0.0.1".into()),
        host_port: Some(host_port.to_string()),
    };
    host.publish_all_ports = Some(false);
    host.port_bindings = Some([(format!("{port}/tcp"), Some(vec![binding]))].into());
}

/// Returns (with the end of its log) once the container is no longer running.
async fn exited(container: &ContainerAsync<GenericImage>) -> String {
    while let Ok(true) = container.is_running().await {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let log = container.stderr_to_vec().await.unwrap_or_default();
    format!(
        "the container exited: {}",
        log_tail(&String::from_utf8_lossy(&log))
    )
}

fn first_line(e: &impl std::fmt::Display) -> String {
    e.to_string().lines().next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn images_split_at_the_tag_not_at_a_registry_port() {
        assert_eq!(split("postgres:17"), ("postgres", "17"));
        assert_eq!(
            split("localhost:5000/redis"),
            ("localhost:5000/redis", "latest")
        );
        assert_eq!(
            split("docker.kurrent.io/k/kurrentdb:25.1"),
            ("docker.kurrent.io/k/kurrentdb", "25.1")
        );
    }
}
