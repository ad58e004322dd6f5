//! Faults on a server the harness started: kill (SIGKILL), pause (SIGSTOP, `docker pause`),
//! resume, a clean stop, and a restart on the same data at the same address.
//!
//! A [`FaultTarget`] is a cheap handle (clone it into the task that injects faults while
//! others use the server). Faults on one server run one at a time, each within a time bound;
//! [`Server::shutdown`](super::Server::shutdown) still removes everything, whatever state
//! the faults left the server in.

use super::{Backend, READY_TIMEOUT};
use async_trait::async_trait;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// How long a kill, pause, resume or stop may take to take effect.
pub const FAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long removing a server may take before it is left to the drop guards.
const REMOVE_TIMEOUT: Duration = Duration::from_secs(60);

/// A fault to inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// SIGKILL: the server gets no chance to flush or say goodbye.
    Kill,
    /// A clean shutdown (the server's own stop signal; SIGKILL after 10 s).
    Stop,
    /// SIGSTOP (or `docker pause`): connections stay open and nothing answers.
    Pause,
    /// SIGCONT (or `docker unpause`) after a pause.
    Resume,
    /// Starts a server that is down again, on its data and address, and waits until it
    /// answers.
    Restart,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Kill => "kill",
            Self::Stop => "stop",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Restart => "restart",
        })
    }
}

/// Where a harness-started server is, as far as faults go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServerState {
    /// Up and answering (as far as the harness knows).
    Running,
    /// Paused: its processes are stopped, its connections open.
    Paused,
    /// Killed or stopped; its data is kept for a restart.
    Down,
    /// Shut down and removed, data and all.
    Removed,
}

impl fmt::Display for ServerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Down => "down",
            Self::Removed => "removed",
        })
    }
}

/// Why a fault could not be injected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    /// The server was not started by the harness (an external URL): it cannot be faulted.
    #[error("{0}")]
    Unsupported(String),
    /// The fault does not apply to the server as it is: pausing a server that is down,
    /// restarting one that runs, anything after shutdown.
    #[error("{0}")]
    Refused(String),
    /// The Docker engine or the OS refused, or the server did not come back.
    #[error("{0}")]
    Failed(String),
    /// The fault did not take effect within its time bound.
    #[error("{0}")]
    TimedOut(String),
}

/// One step a provider carries out on its server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// SIGKILL, and wait until the server is gone.
    Kill,
    /// The stop signal, SIGKILL if the server is still up after a while; wait until gone.
    Stop,
    /// SIGSTOP.
    Pause,
    /// SIGCONT.
    Resume,
    /// Start the server again on its data (the caller waits until it answers).
    Start,
}

/// What a provider (docker, native) does to the server it started.
#[async_trait]
pub(super) trait Lifecycle: Send {
    /// Carries out `step`; returns once it has taken effect.
    async fn apply(&mut self, step: Step) -> Result<(), String>;
    /// Returns (with the end of its log) once the server is no longer running; the caller
    /// bounds the wait.
    async fn exited(&mut self) -> String;
    /// Stops the server and removes it with its data.
    async fn remove(self: Box<Self>);
}

/// The shared state of one harness-started server.
struct Control {
    backend: Backend,
    url: String,
    managed: Mutex<Managed>,
}

struct Managed {
    state: ServerState,
    /// `None` once removed.
    life: Option<Box<dyn Lifecycle>>,
}

/// A handle for injecting faults into one server; cheap to clone and share between tasks.
#[derive(Clone)]
pub struct FaultTarget {
    backend: Backend,
    /// How messages name the server: backend, provisioning, redacted URL.
    shown: String,
    control: Option<Arc<Control>>,
}

impl fmt::Debug for FaultTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultTarget")
            .field("server", &self.shown)
            .finish_non_exhaustive()
    }
}

impl FaultTarget {
    /// A target for a server the harness started (`life` controls it).
    pub(super) fn managed(
        backend: Backend,
        url: &str,
        provisioning: &str,
        life: Box<dyn Lifecycle>,
    ) -> Self {
        let control = Control {
            backend,
            url: url.to_owned(),
            managed: Mutex::new(Managed {
                state: ServerState::Running,
                life: Some(life),
            }),
        };
        Self {
            backend,
            shown: format!(
                "{backend} ({provisioning}, {})",
                super::backend::redact(url)
            ),
            control: Some(Arc::new(control)),
        }
    }

    /// A target for a server the harness did not start: every fault is refused.
    pub(super) fn external(backend: Backend, url: &str) -> Self {
        Self {
            backend,
            shown: format!("{backend} (external, {})", super::backend::redact(url)),
            control: None,
        }
    }

    /// The backend of the server.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether faults can be injected: the harness started the server.
    pub fn is_supported(&self) -> bool {
        self.control.is_some()
    }

    /// The server's state; an external server is always `Running`, as far as anyone here
    /// knows. Waits while another fault is under way.
    pub async fn state(&self) -> ServerState {
        match &self.control {
            None => ServerState::Running,
            Some(control) => control.managed.lock().await.state,
        }
    }

    /// Kills the server with SIGKILL (its whole process group, or its container).
    pub async fn kill(&self) -> Result<(), FaultError> {
        self.apply(Fault::Kill).await
    }

    /// Stops the server cleanly; it keeps its data for a restart.
    pub async fn stop(&self) -> Result<(), FaultError> {
        self.apply(Fault::Stop).await
    }

    /// Pauses the server: SIGSTOP to its process group, or `docker pause`.
    pub async fn pause(&self) -> Result<(), FaultError> {
        self.apply(Fault::Pause).await
    }

    /// Resumes a paused server.
    pub async fn resume(&self) -> Result<(), FaultError> {
        self.apply(Fault::Resume).await
    }

    /// Starts a killed or stopped server again, on the same data and at the same URL, and
    /// waits until it answers.
    ///
    /// A start that fails is tried again, up to 5 times a second apart: the children of a
    /// killed PostgreSQL are in sessions of their own, so no signal to its process group
    /// reaches them, and until they notice their postmaster is gone they hold its shared
    /// memory, which a new postmaster refuses to share.
    pub async fn restart(&self) -> Result<(), FaultError> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.apply(Fault::Restart).await {
                Err(FaultError::Failed(_)) if tries < 5 => {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                done => return done,
            }
        }
    }

    /// Brings the server back to running, whatever the faults left: resumes it if paused,
    /// restarts it if down.
    pub async fn heal(&self) -> Result<(), FaultError> {
        match self.state().await {
            ServerState::Paused => self.resume().await,
            ServerState::Down => self.restart().await,
            ServerState::Running | ServerState::Removed => Ok(()),
        }
    }

    /// Injects `fault`. A fault that finds the server already where it leads (killing a
    /// server that is down, resuming one that runs) does nothing; one that cannot apply
    /// (pausing a server that is down, restarting one that runs) is refused.
    pub async fn apply(&self, fault: Fault) -> Result<(), FaultError> {
        let Some(control) = &self.control else {
            return Err(FaultError::Unsupported(format!(
                "cannot {fault} {}: statebench did not start it (faults need --provision docker or native)",
                self.shown
            )));
        };
        let mut guard = control.managed.lock().await;
        let Managed { state, life } = &mut *guard;
        let Some(life) = life.as_mut() else {
            return Err(self.refused(fault, ServerState::Removed));
        };
        let (steps, next) = match plan(fault, *state) {
            Plan::Nothing => return Ok(()),
            Plan::Refuse => return Err(self.refused(fault, *state)),
            Plan::Steps(steps, next) => (steps, next),
        };
        for &step in steps {
            self.step(life.as_mut(), step, fault).await?;
        }
        if fault == Fault::Restart
            && let Err(e) = control.ready(life.as_mut()).await
        {
            // Whatever did start must not linger half-up.
            let _ = tokio::time::timeout(FAULT_TIMEOUT, life.apply(Step::Kill)).await;
            *state = ServerState::Down;
            return Err(FaultError::Failed(format!(
                "{} did not come back: {e}",
                self.shown
            )));
        }
        *state = next;
        Ok(())
    }

    async fn step(
        &self,
        life: &mut dyn Lifecycle,
        step: Step,
        fault: Fault,
    ) -> Result<(), FaultError> {
        match tokio::time::timeout(FAULT_TIMEOUT, life.apply(step)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(FaultError::Failed(format!(
                "cannot {fault} {}: {e}",
                self.shown
            ))),
            Err(_) => Err(FaultError::TimedOut(format!(
                "{fault} {} did not take effect within {FAULT_TIMEOUT:?}",
                self.shown
            ))),
        }
    }

    fn refused(&self, fault: Fault, state: ServerState) -> FaultError {
        FaultError::Refused(format!("cannot {fault} {}: it is {state}", self.shown))
    }

    /// Removes the server, resuming it first if it is paused; later faults are refused.
    pub(super) async fn remove(&self) {
        let Some(control) = &self.control else { return };
        let mut managed = control.managed.lock().await;
        let Some(mut life) = managed.life.take() else {
            return;
        };
        if managed.state == ServerState::Paused {
            let _ = tokio::time::timeout(FAULT_TIMEOUT, life.apply(Step::Resume)).await;
        }
        managed.state = ServerState::Removed;
        // Past the bound, dropping the provider's guards removes what is left.
        let _ = tokio::time::timeout(REMOVE_TIMEOUT, life.remove()).await;
    }
}

impl Control {
    /// Waits until the restarted server answers, or it exits, within the ready timeout.
    async fn ready(&self, life: &mut dyn Lifecycle) -> Result<(), String> {
        tokio::select! {
            ready = self.backend.wait_ready(&self.url, READY_TIMEOUT) => ready.map(drop),
            why = life.exited() => Err(why),
        }
    }
}

/// What a fault does from a state.
enum Plan {
    Nothing,
    Refuse,
    Steps(&'static [Step], ServerState),
}

fn plan(fault: Fault, state: ServerState) -> Plan {
    use ServerState::{Down, Paused, Removed, Running};
    match (fault, state) {
        (_, Removed) => Plan::Refuse,
        (Fault::Kill, Running | Paused) => Plan::Steps(&[Step::Kill], Down),
        (Fault::Stop, Running) => Plan::Steps(&[Step::Stop], Down),
        // A stopped process cannot act on its stop signal until it runs again.
        (Fault::Stop, Paused) => Plan::Steps(&[Step::Resume, Step::Stop], Down),
        (Fault::Pause, Running) => Plan::Steps(&[Step::Pause], Paused),
        (Fault::Resume, Paused) => Plan::Steps(&[Step::Resume], Running),
        (Fault::Restart, Down) => Plan::Steps(&[Step::Start], Running),
        (Fault::Kill | Fault::Stop, Down) | (Fault::Pause, Paused) | (Fault::Resume, Running) => {
            Plan::Nothing
        }
        (Fault::Pause | Fault::Resume, Down) | (Fault::Restart, Running | Paused) => Plan::Refuse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_that_cannot_apply_are_refused_and_repeats_do_nothing() {
        use ServerState::*;
        let refused = |f, s| matches!(plan(f, s), Plan::Refuse);
        let nothing = |f, s| matches!(plan(f, s), Plan::Nothing);
        assert!(refused(Fault::Pause, Down));
        assert!(refused(Fault::Restart, Running));
        assert!(refused(Fault::Restart, Paused));
        assert!(refused(Fault::Kill, Removed));
        assert!(nothing(Fault::Kill, Down));
        assert!(nothing(Fault::Resume, Running));
        assert!(matches!(
            plan(Fault::Stop, Paused),
            Plan::Steps([Step::Resume, Step::Stop], Down)
        ));
        assert!(matches!(
            plan(Fault::Restart, Down),
            Plan::Steps([Step::Start], Running)
        ));
    }

    #[tokio::test]
    async fn an_external_server_refuses_every_fault_with_a_reason() {
        let target = FaultTarget::external(Backend::Redis, "redis://:secret@db.example:6379");
        assert!(!target.is_supported());
        let e = target.kill().await.unwrap_err();
        assert!(matches!(e, FaultError::Unsupported(_)), "{e:?}");
        let text = e.to_string();
        assert!(text.contains("did not start it"), "{text}");
        assert!(
            !text.contains("secret"),
            "the password is not shown: {text}"
        );
        assert_eq!(target.state().await, ServerState::Running);
        assert!(target.heal().await.is_ok(), "nothing to heal");
        // A task of its own can inject faults while others use the server.
        let spawned = tokio::spawn(async move { target.pause().await });
        assert!(matches!(
            spawned.await.unwrap(),
            Err(FaultError::Unsupported(_))
        ));
    }
}
