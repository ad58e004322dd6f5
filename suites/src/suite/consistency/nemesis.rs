//! Carrying out a fault scenario while the clients run: start the fault at its time, end it
//! (heal) at its end, or at once when the run is cancelled; every action goes into the
//! histories (process `nemesis`) and the results.

use crate::faults::{FaultSpec, Nemesis};
use crate::history::{Entry, Key, Kind, NEMESIS, Process, Recorder};
use crate::results::NemesisEvent;
use parking_lot::Mutex;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A nemesis call that takes longer than this has failed (a restart waits for the server).
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// Where the nemesis's actions are written down.
pub struct Log {
    started: Instant,
    recorders: Vec<Arc<Recorder>>,
    events: Mutex<Vec<NemesisEvent>>,
}

impl Log {
    /// A log for a run that started at `started`, copying every action into `recorders`.
    pub fn new(started: Instant, recorders: Vec<Arc<Recorder>>) -> Self {
        Self {
            started,
            recorders,
            events: Mutex::new(Vec::new()),
        }
    }

    fn entry(kind: Kind, action: &str, value: serde_json::Value) -> Entry {
        Entry {
            index: None,
            time: None,
            process: Process::Name(NEMESIS.into()),
            kind,
            f: action.to_owned(),
            key: None::<Key>,
            value,
            version: None,
            error: None,
        }
    }

    /// Runs one nemesis call and writes it down: an invoke before, an info after.
    async fn call<F>(&self, action: &str, target: &str, call: F) -> bool
    where
        F: Future<Output = Result<String, String>>,
    {
        for r in &self.recorders {
            r.push(Self::entry(Kind::Invoke, action, json!(target)));
        }
        let at = self.started.elapsed();
        let result = match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {CALL_TIMEOUT:?}")),
        };
        let shown = match &result {
            Ok(d) => json!({"target": target, "ok": d}),
            Err(e) => json!({"target": target, "error": e}),
        };
        for r in &self.recorders {
            r.push(Self::entry(Kind::Info, action, shown.clone()));
        }
        self.events
            .lock()
            .push(super::event(at, action, target, &result));
        result.is_ok()
    }

    /// What happened, in order.
    pub fn into_events(self) -> Vec<NemesisEvent> {
        self.events.into_inner()
    }
}

/// Waits until `at` after the start, or until cancelled; false when cancelled.
async fn until(log: &Log, at: Duration, cancel: &CancellationToken) -> bool {
    let when = log.started + at;
    tokio::select! {
        () = tokio::time::sleep_until(when.into()) => true,
        () = cancel.cancelled() => false,
    }
}

/// Carries out `spec` on `target` during a run of `run` length; false when the fault could
/// not be injected.
pub async fn schedule(
    nemesis: &dyn Nemesis,
    spec: &FaultSpec,
    target: Option<&str>,
    run: Duration,
    log: &Log,
    cancel: &CancellationToken,
) -> bool {
    let Some(target) = target else { return true };
    let (start, end) = spec.window(run);
    if !until(log, start, cancel).await {
        return true;
    }
    let kind = spec.kind;
    let injected = log
        .call(kind.name(), target, nemesis.start(kind, target))
        .await;
    // Heal at the end of the window, or at once when the run is cancelled; an instant fault
    // is healed at once (a restart that failed is started again): every run ends healed.
    if kind.lasts() {
        until(log, end, cancel).await;
    }
    log.call("heal", target, nemesis.end(kind, target)).await;
    injected
}
