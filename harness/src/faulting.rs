//! What the consistency suite needs to fault a run's servers: their fault handles, and, when
//! network faults are scheduled, a proxy in front of each server with subjects made to go
//! through it (the other suites keep talking to the servers directly).

use crate::faults::{Proxy, upstream_of, via_proxy};
use crate::nemesis::{ServerNemesis, Target};
use crate::provision::{Backend, FaultTarget, Server};
use crate::registry::{Entry, Made, Provided};
use statebench_suites::Progress;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The fault handles and proxies of one run.
pub struct Faulting {
    targets: BTreeMap<Backend, FaultTarget>,
    proxies: BTreeMap<Backend, Arc<Proxy>>,
    proxied: Option<Provided>,
}

impl Faulting {
    /// Handles for `servers`; proxies in front of them when `network` faults are scheduled.
    pub async fn new(
        servers: &[Server],
        provided: &Provided,
        network: bool,
        progress: &dyn Progress,
    ) -> Self {
        let targets = servers.iter().map(|s| (s.backend, s.faults())).collect();
        let mut proxies = BTreeMap::new();
        let mut proxied = provided.clone();
        if network {
            for s in servers {
                let started = match upstream_of(&s.url) {
                    Ok(upstream) => Proxy::start(upstream).await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                let routed = started.and_then(|proxy| {
                    let url = via_proxy(&s.url, proxy.addr()).map_err(|e| e.to_string())?;
                    Ok((proxy, url))
                });
                match routed {
                    Ok((proxy, url)) => {
                        if let Some(entry) = proxied.servers.get_mut(&s.backend) {
                            entry.0 = url;
                        }
                        proxies.insert(s.backend, Arc::new(proxy));
                    }
                    Err(e) => {
                        progress.note(&format!("{}: no proxy for network faults: {e}", s.backend))
                    }
                }
            }
        }
        Self {
            targets,
            proxied: network.then_some(proxied),
            proxies,
        }
    }

    /// The nemesis of a subject that uses `needs`.
    pub fn nemesis(&self, needs: &[Backend]) -> ServerNemesis {
        ServerNemesis::new(
            needs
                .iter()
                .filter_map(|b| {
                    Some(Target {
                        backend: *b,
                        server: self.targets.get(b)?.clone(),
                        proxy: self.proxies.get(b).cloned(),
                    })
                })
                .collect(),
        )
    }

    /// The adapter's subjects once more, going through the proxies, when there are any.
    pub async fn through_proxies(
        &self,
        entry: &Entry,
        needs: &[Backend],
    ) -> Option<Result<Made, String>> {
        let proxied = self.proxied.as_ref()?;
        if needs.is_empty() || !needs.iter().any(|b| self.proxies.contains_key(b)) {
            return None;
        }
        Some((entry.make)(proxied).await)
    }

    /// Stops the proxies.
    pub async fn stop(self) {
        for (_, proxy) in self.proxies {
            if let Ok(proxy) = Arc::try_unwrap(proxy) {
                proxy.stop().await;
            }
        }
    }
}
