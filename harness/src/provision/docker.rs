//! Backends as containers, with testcontainers: an image pinned by tag (or an override),
//! the server settings on its command line, a host port on loopback, removed afterwards.

use super::backend::{Backend, fresh_password, redact};
use super::{Guard, READY_TIMEOUT, Server, log_tail};
use crate::cleanup::{Resource, Token, register};
use statebench_suites::results::ServerInfo;
use std::time::Duration;
use testcontainers::bollard::Docker;
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

/// How long creating a container (pulling its image included) may take.
const START_TIMEOUT: Duration = Duration::from_secs(300);

/// A container the harness started.
pub struct Container {
    inner: ContainerAsync<GenericImage>,
    _token: Token,
}

impl Container {
    /// Stops and removes the container.
    pub async fn remove(self) {
        // Dropping the handle would remove it too, but only inside a runtime: do it here.
        let _ = self.inner.rm().await;
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
pub async fn start(backend: Backend, image: &str) -> Result<Server, String> {
    let docker = client()?;
    let image_id = match docker.inspect_image(image).await {
        Ok(found) => found.id,
        Err(_) => None,
    };
    let (name, tag) = split(image);
    let port = backend.container_port();
    let password = fresh_password();
    let label = crate::cleanup::container_label();
    let (label_key, label_value) = label.split_once('=').unwrap_or((&label, ""));
    let mut request = GenericImage::new(name, tag)
        .with_exposed_port(port.tcp())
        .with_wait_for(WaitFor::Nothing)
        .with_cmd(backend.container_args())
        .with_label(label_key, label_value)
        .with_startup_timeout(START_TIMEOUT)
        .with_host_config_modifier(move |host| loopback_only(host, port));
    for (key, value) in backend.container_env(&password) {
        request = request.with_env_var(key, value);
    }
    let started = tokio::time::timeout(START_TIMEOUT, request.start()).await;
    let inner = match started {
        Ok(Ok(container)) => container,
        Ok(Err(e)) if image_id.is_none() => {
            return Err(format!(
                "image `{image}` is not present and could not be pulled: {}",
                first_line(&e)
            ));
        }
        Ok(Err(e)) => return Err(format!("cannot start `{image}`: {}", first_line(&e))),
        Err(_) => return Err(format!("starting `{image}` took over {START_TIMEOUT:?}")),
    };
    let container = Container {
        _token: register(Resource::Container(inner.id().to_owned())),
        inner,
    };
    let host_port = match container.inner.get_host_port_ipv4(port.tcp()).await {
        Ok(p) => p,
        Err(e) => {
            container.remove().await;
            return Err(format!("no host port for {port}: {e}"));
        }
    };
    let url = backend.local_url(host_port, Some(&password));
    let ready = tokio::select! {
        ready = backend.wait_ready(&url, READY_TIMEOUT) => ready,
        why = exited(&container.inner) => Err(why),
    };
    if let Err(e) = ready {
        container.remove().await;
        return Err(e);
    }
    let info = ServerInfo {
        backend: backend.to_string(),
        provisioning: "docker".into(),
        url: redact(&url),
        image: Some(image.to_owned()),
        image_id: match image_id {
            Some(id) => Some(id),
            None => docker.inspect_image(image).await.ok().and_then(|i| i.id),
        },
        binary: None,
    };
    Ok(Server {
        backend,
        url,
        info,
        guard: Guard::Container(Box::new(container)),
    })
}

/// Publishes the server's port on loopback only (Docker's default is every interface): the
/// servers have no authentication worth the name.
fn loopback_only(host: &mut testcontainers::bollard::models::HostConfig, port: u16) {
    let binding = testcontainers::bollard::models::PortBinding {
        host_ip: Some("127.0.0.1".into()),
        host_port: Some(String::new()),
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
