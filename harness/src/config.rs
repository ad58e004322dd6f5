//! The optional config file (`--config FILE`): provisioning, images and URLs per backend.
//! The environment (`STATEBENCH_<BACKEND>_URL`, `STATEBENCH_<BACKEND>_IMAGE`) overrides the
//! file, and `--provision` overrides both.
//!
//! ```yaml
//! provision: auto            # or per backend: {postgres: native, redis: docker}
//! images: {postgres: statebench/postgres:17-trixie}
//! urls: {nats: nats://10.0.0.5:4222, http: http://my-service:8080}
//! persistence: {redis: off}  # durable (the pinned settings) unless named
//! ```

use crate::options::InvalidInput;
use crate::provision::{Backend, Mode, Settings};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    provision: Option<ProvisionField>,
    #[serde(default)]
    images: BTreeMap<String, String>,
    #[serde(default)]
    urls: BTreeMap<String, String>,
    #[serde(default)]
    persistence: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ProvisionField {
    All(String),
    Each(BTreeMap<String, String>),
}

/// The environment variable with the URL of a service that speaks the HTTP state contract.
pub const HTTP_URL: &str = "STATEBENCH_HTTP_URL";

/// Provisioning settings, and the URL of an external HTTP service, from every source.
#[derive(Clone, Debug, Default)]
pub struct Resolved {
    /// Per backend.
    pub provision: Settings,
    /// An external service for the `http` adapter, when given.
    pub http_url: Option<String>,
}

fn backend(name: &str, origin: &str) -> Result<Backend, InvalidInput> {
    Backend::parse(name).ok_or_else(|| {
        let known: Vec<&str> = Backend::ALL.iter().map(|b| b.name()).collect();
        InvalidInput(format!(
            "{origin}: unknown backend `{name}` (known: {})",
            known.join(", ")
        ))
    })
}

/// Parses `auto`, or `postgres=native,redis=docker`, into `settings`.
pub fn apply_provision(
    spec: &str,
    origin: &str,
    settings: &mut Settings,
) -> Result<(), InvalidInput> {
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            None => settings.default_mode = Some(mode(part, origin)?),
            Some((name, value)) => {
                settings
                    .modes
                    .insert(backend(name.trim(), origin)?, mode(value, origin)?);
            }
        }
    }
    Ok(())
}

fn mode(text: &str, origin: &str) -> Result<Mode, InvalidInput> {
    text.parse()
        .map_err(|e| InvalidInput(format!("{origin}: {e}")))
}

/// Reads the config file (if any), then the environment, then `--provision`.
pub fn resolve(file: Option<&Path>, provision: Option<&str>) -> Result<Resolved, InvalidInput> {
    let mut resolved = Resolved::default();
    let settings = &mut resolved.provision;
    if let Some(path) = file {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| InvalidInput(format!("cannot read config file {shown}: {e}")))?;
        let parsed: File =
            serde_yaml::from_str(&text).map_err(|e| InvalidInput(format!("{shown}: {e}")))?;
        match parsed.provision {
            Some(ProvisionField::All(spec)) => apply_provision(&spec, &shown, settings)?,
            Some(ProvisionField::Each(each)) => {
                for (name, value) in each {
                    settings
                        .modes
                        .insert(backend(&name, &shown)?, mode(&value, &shown)?);
                }
            }
            None => {}
        }
        for (name, image) in parsed.images {
            settings.images.insert(backend(&name, &shown)?, image);
        }
        for (name, url) in parsed.urls {
            if name == "http" {
                resolved.http_url = Some(url);
            } else {
                settings.urls.insert(backend(&name, &shown)?, url);
            }
        }
        for (name, value) in parsed.persistence {
            let b = backend(&name, &shown)?;
            let persistence = value
                .parse()
                .map_err(|e| InvalidInput(format!("{shown}: persistence.{name}: {e}")))?;
            // Refused here rather than when the server starts.
            b.server_args(persistence)
                .map_err(|e| InvalidInput(format!("{shown}: {e}")))?;
            settings.persistence.insert(b, persistence);
        }
    }
    let settings = &mut resolved.provision;
    for b in Backend::ALL {
        if let Some(url) = std::env::var(b.url_variable())
            .ok()
            .filter(|v| !v.is_empty())
        {
            settings.urls.insert(b, url);
        }
        if let Some(image) = std::env::var(b.image_variable())
            .ok()
            .filter(|v| !v.is_empty())
        {
            settings.images.insert(b, image);
        }
    }
    if let Some(url) = std::env::var(HTTP_URL).ok().filter(|v| !v.is_empty()) {
        resolved.http_url = Some(url);
    }
    if let Some(spec) = provision {
        // A mode for every backend on the command line outranks the file's per-backend modes.
        if spec
            .split(',')
            .any(|part| !part.contains('=') && !part.trim().is_empty())
        {
            resolved.provision.modes.clear();
        }
        apply_provision(spec, "--provision", &mut resolved.provision)?;
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provision::Persistence;

    #[test]
    fn provision_specs_set_a_default_and_per_backend_modes() {
        let mut s = Settings::default();
        apply_provision("native, redis=docker", "--provision", &mut s).unwrap();
        assert_eq!(s.mode(Backend::Postgres), Mode::Native);
        assert_eq!(s.mode(Backend::Redis), Mode::Docker);
        let bad = apply_provision("pg=docker", "--provision", &mut s)
            .unwrap_err()
            .to_string();
        assert!(bad.contains("unknown backend `pg`"), "{bad}");
        let bad = apply_provision("sometimes", "--provision", &mut s)
            .unwrap_err()
            .to_string();
        assert!(
            bad.contains("unknown provisioning mode `sometimes`"),
            "{bad}"
        );
    }

    #[test]
    fn a_config_file_sets_modes_images_and_urls() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        let text =
            "provision: {nats: native}\nimages: {kurrentdb: my/k:1}\nurls: {http: http://svc:1}\n";
        std::fs::write(&path, text).unwrap();
        let r = resolve(Some(&path), Some("redis=external")).unwrap();
        assert_eq!(r.provision.mode(Backend::Nats), Mode::Native);
        assert_eq!(r.provision.mode(Backend::Redis), Mode::External);
        assert_eq!(r.provision.image(Backend::KurrentDb), "my/k:1");
        assert_eq!(r.http_url.as_deref(), Some("http://svc:1"));
        let all = resolve(Some(&path), Some("docker")).unwrap();
        assert_eq!(
            all.provision.mode(Backend::Nats),
            Mode::Docker,
            "the command line wins"
        );
        assert_eq!(
            r.provision.persistence(Backend::Redis),
            Persistence::Durable
        );
        std::fs::write(&path, "provision: {mongo: docker}\n").unwrap();
        assert!(
            resolve(Some(&path), None)
                .unwrap_err()
                .to_string()
                .contains("unknown backend `mongo`")
        );
    }

    #[test]
    fn a_config_file_names_the_persistence_of_a_backend() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        std::fs::write(&path, "persistence: {redis: off, postgres: durable}\n").unwrap();
        let r = resolve(Some(&path), None).unwrap();
        assert_eq!(r.provision.persistence(Backend::Redis), Persistence::Off);
        assert_eq!(r.provision.persistence(Backend::Nats), Persistence::Durable);
        for (text, expected) in [
            (
                "persistence: {redis: sometimes}\n",
                "unknown persistence `sometimes`",
            ),
            (
                "persistence: {nats: off}\n",
                "nats: persistence `off` is not offered",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = resolve(Some(&path), None).unwrap_err().to_string();
            assert!(e.contains(expected), "{e}");
        }
    }
}
