//! The consistency suite's nemesis over real servers: kills, pauses and restarts go to the
//! servers the harness started (through their [`FaultTarget`]s), network faults to the TCP
//! [`Proxy`] that sits between the clients and each server.

use crate::faults::Proxy;
use crate::provision::{Backend, FaultTarget};
use async_trait::async_trait;
use statebench_suites::faults::{FaultKind, Nemesis};
use std::sync::Arc;

/// One backend a subject uses, and how to fault it.
#[derive(Clone)]
pub struct Target {
    /// Which backend.
    pub backend: Backend,
    /// Its server's fault handle (refuses every fault for an external server).
    pub server: FaultTarget,
    /// The proxy the subject's consistency clients go through, when network faults are
    /// scheduled.
    pub proxy: Option<Arc<Proxy>>,
}

/// Faults the servers behind one subject.
#[derive(Clone)]
pub struct ServerNemesis {
    targets: Vec<Target>,
}

impl ServerNemesis {
    /// A nemesis over `targets`, in the order the subject uses them.
    pub fn new(targets: Vec<Target>) -> Self {
        Self { targets }
    }

    /// The same servers with no proxy: for a subject whose clients do not go through one,
    /// so that a network fault is refused rather than sent where nobody connects.
    pub fn without_proxies(&self) -> Self {
        Self::new(
            self.targets
                .iter()
                .map(|t| Target {
                    proxy: None,
                    ..t.clone()
                })
                .collect(),
        )
    }

    fn find(&self, name: &str) -> Result<&Target, String> {
        self.targets
            .iter()
            .find(|t| t.backend.name() == name)
            .ok_or_else(|| format!("no {name} server behind this subject"))
    }

    fn proxy(&self, name: &str) -> Result<&Proxy, String> {
        self.find(name)?
            .proxy
            .as_deref()
            .ok_or_else(|| format!("no proxy in front of {name}: network faults need one"))
    }
}

#[async_trait]
impl Nemesis for ServerNemesis {
    fn targets(&self) -> Vec<String> {
        self.targets
            .iter()
            .map(|t| t.backend.name().to_owned())
            .collect()
    }

    async fn start(&self, kind: FaultKind, target: &str) -> Result<String, String> {
        let shown = |e: crate::provision::FaultError| e.to_string();
        match kind {
            FaultKind::None => Ok("nothing".into()),
            FaultKind::Kill => {
                self.find(target)?.server.kill().await.map_err(shown)?;
                Ok(format!("SIGKILLed {target}"))
            }
            FaultKind::Pause => {
                self.find(target)?.server.pause().await.map_err(shown)?;
                Ok(format!("paused {target} (SIGSTOP)"))
            }
            FaultKind::Restart => {
                let server = &self.find(target)?.server;
                server.kill().await.map_err(shown)?;
                server.restart().await.map_err(shown)?;
                Ok(format!(
                    "SIGKILLed {target} and started it again on its data"
                ))
            }
            FaultKind::Latency(d) => {
                self.proxy(target)?.set_latency(d);
                Ok(format!(
                    "{} ms added each way between the clients and {target}",
                    d.as_millis()
                ))
            }
            FaultKind::Stall => {
                self.proxy(target)?.stall();
                Ok(format!("every connection to {target} stalled"))
            }
            FaultKind::Reset => {
                self.proxy(target)?.reset();
                Ok(format!("reset every connection to {target} (TCP RST)"))
            }
        }
    }

    async fn end(&self, kind: FaultKind, target: &str) -> Result<String, String> {
        let shown = |e: crate::provision::FaultError| e.to_string();
        match kind {
            FaultKind::Kill => {
                self.find(target)?.server.restart().await.map_err(shown)?;
                Ok(format!("started {target} again on its data"))
            }
            FaultKind::Pause => {
                self.find(target)?.server.resume().await.map_err(shown)?;
                Ok(format!("resumed {target} (SIGCONT)"))
            }
            FaultKind::Latency(_) | FaultKind::Stall => {
                self.proxy(target)?.heal();
                Ok(format!("the network to {target} healed"))
            }
            FaultKind::Restart => {
                // Running again, whatever the restart did.
                self.find(target)?.server.heal().await.map_err(shown)?;
                Ok(format!("{target} is running"))
            }
            FaultKind::Reset => {
                self.proxy(target)?.heal();
                Ok(format!("the network to {target} healed"))
            }
            FaultKind::None => Ok("nothing to heal".into()),
        }
    }
}
