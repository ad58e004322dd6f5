//! The consistency suite: concurrent clients on a few hot keys record every operation (a
//! history), once per fault scenario; the faults are healed, a quiet period passes, final reads
//! are recorded; then the checkers read the histories.
//!
//! A state subject gets two histories: registers (read, write, cas; linearizability, stale
//! reads, durability) and accounts (deposits and withdrawals through the aggregate executor;
//! lost updates). An event subject gets one: streams (appends that expect a revision, reads;
//! integrity and durability). A cached subject is also checked for entries stale for good.

mod clients;
mod finals;
mod nemesis;
mod verdicts;

use super::trial::Context;
use crate::faults::{FaultKind, FaultSpec, Nemesis};
use crate::history::{Entry, Recorder, write_jsonl};
use crate::results::{ConsistencyCheck, ConsistencyRun, HistoryCounts, NemesisEvent};
use crate::subject::{Subject, Target};
use crate::units::per_second;
use clients::Plan;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

pub use clients::OP_TIMEOUT;

/// The process that records the final reads.
pub const FINAL: &str = "final";

/// Runs every fault scenario of the workload on `subject`, each on fresh keys below
/// `key_base`; `nemesis` carries out the faults.
pub async fn run(
    subject: &Subject,
    ctx: &Context<'_>,
    key_base: &str,
    nemesis: &dyn Nemesis,
) -> Vec<ConsistencyRun> {
    let mut runs = Vec::new();
    for (index, spec) in ctx.workload.consistency.faults.iter().enumerate() {
        if ctx.cancel.is_cancelled() {
            break;
        }
        let prefix = format!("{key_base}consistency/{index}/");
        runs.push(scenario(subject, ctx, &prefix, index, spec, nemesis).await);
    }
    runs
}

/// An empty run of `spec` on `subject`, to be filled in.
fn blank(subject: &Subject, spec: &FaultSpec) -> ConsistencyRun {
    ConsistencyRun {
        subject: subject.name.clone(),
        fault: spec.to_string(),
        target: None,
        skipped: None,
        interrupted: false,
        duration_ms: 0.0,
        ops: HistoryCounts::default(),
        ops_per_s: 0.0,
        nemesis: Vec::new(),
        histories: Vec::new(),
        checks: Vec::new(),
        staleness: None,
    }
}

/// The backend a fault goes to, or why the scenario cannot run.
fn target_of(
    spec: &FaultSpec,
    nemesis: &dyn Nemesis,
    subject: &Subject,
) -> Result<Option<String>, String> {
    if spec.kind == FaultKind::None {
        return Ok(None);
    }
    let targets = nemesis.targets();
    match &spec.target {
        Some(t) if targets.contains(t) => Ok(Some(t.clone())),
        Some(t) => Err(format!(
            "{} does not use {t} (its servers: {})",
            subject.name,
            if targets.is_empty() {
                "none".to_owned()
            } else {
                targets.join(", ")
            }
        )),
        None => targets.first().cloned().map(Some).ok_or_else(|| {
            format!(
                "{} has no server to fault (it runs in process)",
                subject.name
            )
        }),
    }
}

/// The histories of one scenario, by model.
struct Histories {
    registers: Option<Arc<Recorder>>,
    accounts: Option<Arc<Recorder>>,
    streams: Option<Arc<Recorder>>,
}

impl Histories {
    fn all(&self) -> Vec<Arc<Recorder>> {
        [&self.registers, &self.accounts, &self.streams]
            .into_iter()
            .flatten()
            .cloned()
            .collect()
    }
}

async fn scenario(
    subject: &Subject,
    ctx: &Context<'_>,
    prefix: &str,
    index: usize,
    spec: &FaultSpec,
    nemesis: &dyn Nemesis,
) -> ConsistencyRun {
    let mut run = blank(subject, spec);
    let target = match target_of(spec, nemesis, subject) {
        Ok(t) => t,
        Err(why) => {
            ctx.progress.note(&format!(
                "{}: consistency under {spec}: skipped: {why}",
                subject.name
            ));
            run.skipped = Some(why);
            return run;
        }
    };
    run.target = target.clone();
    let c = &ctx.workload.consistency;
    let duration = c.duration.0;
    let plan = Plan {
        prefix: prefix.to_owned(),
        keys: c.keys,
        gap: Duration::from_secs_f64(c.clients as f64 / c.rate),
        deadline: Instant::now() + Duration::from_secs(3_600),
        cancel: ctx.cancel.child_token(),
        max_retries: ctx.workload.max_retries,
    };
    let histories = match &subject.target {
        Target::State(_) => Histories {
            registers: Some(Arc::default()),
            accounts: Some(Arc::default()),
            streams: None,
        },
        Target::Events(_) => Histories {
            registers: None,
            accounts: None,
            streams: Some(Arc::default()),
        },
    };
    if let Err(why) = setup(subject, &histories, &plan).await {
        ctx.progress.note(&format!(
            "{}: consistency under {spec}: skipped: {why}",
            subject.name
        ));
        // The store itself failed, so nothing was decided: this counts as undecided (exit 4),
        // unlike a fault that does not apply to the subject.
        run.checks.push(ConsistencyCheck {
            verdict: verdicts::unknown("setup", format!("the scenario could not start: {why}")),
            promised: true,
            note: String::new(),
        });
        run.skipped = Some(why);
        return run;
    }
    let label = match spec.kind {
        FaultKind::None => format!("{}: consistency, no fault", subject.name),
        _ => format!(
            "{}: consistency, {spec} on {}",
            subject.name,
            target.as_deref().unwrap_or("?")
        ),
    };
    let started = Instant::now();
    let plan = Plan {
        deadline: started + duration,
        ..plan
    };
    let seed = crate::generate::derive_seed(ctx.seed, 0xC0_0000 + index as u64);
    let mut set = spawn_clients(subject, &histories, &plan, c.clients, seed);
    ctx.progress.begin(&label, duration.as_millis() as u64);
    let recorders = histories.all();
    let events = nemesis::Log::new(started, recorders.clone());
    let schedule = nemesis::schedule(
        nemesis,
        spec,
        target.as_deref(),
        duration,
        &events,
        &plan.cancel,
    );
    let watch = watch(&mut set, &recorders, started, ctx);
    let (injected, ()) = tokio::join!(schedule, watch);
    run.duration_ms = started.elapsed().as_secs_f64() * 1_000.0;
    run.interrupted = ctx.cancel.is_cancelled();
    let quiet = c.quiet.0;
    tokio::select! {
        () = tokio::time::sleep(quiet) => {}
        () = ctx.cancel.cancelled() => {}
    }
    let stale_for_good = finals::read(subject, &histories, &plan).await;
    run.nemesis = events.into_events();
    let entries = Finished {
        registers: histories.registers.as_ref().map(|r| r.finish()),
        accounts: histories.accounts.as_ref().map(|r| r.finish()),
        streams: histories.streams.as_ref().map(|r| r.finish()),
    };
    run.ops = entries.counts();
    run.ops_per_s = per_second(
        run.ops.ok + run.ops.fail + run.ops.info,
        Duration::from_secs_f64(run.duration_ms / 1e3),
    );
    run.histories = entries.write(ctx, subject, index, spec);
    verdicts::judge(&mut run, subject, spec, &entries, stale_for_good, c.keys);
    if !injected {
        verdicts::without_the_fault(&mut run, spec);
    }
    let failed = run.failed().count();
    let shown: Vec<String> = run
        .checks
        .iter()
        .map(|c| format!("{} {}", c.verdict.check, c.verdict.validity))
        .collect();
    ctx.progress.end(&format!(
        "{} ops ({} ok, {} fail, {} info); {}{}",
        run.ops.ok + run.ops.fail + run.ops.info,
        run.ops.ok,
        run.ops.fail,
        run.ops.info,
        shown.join(", "),
        if failed > 0 {
            format!("; {failed} broken promises")
        } else {
            String::new()
        }
    ));
    run
}

/// Opens the accounts and streams the clients work on.
async fn setup(subject: &Subject, histories: &Histories, plan: &Plan) -> Result<(), String> {
    match &subject.target {
        Target::State(store) => {
            let payload = crate::domain::Payload::new(16, 1);
            let accounts = histories.accounts.as_ref().ok_or("no account history")?;
            clients::open_accounts(store.as_ref(), accounts, plan, &payload).await
        }
        Target::Events(store) => {
            let streams = histories.streams.as_ref().ok_or("no stream history")?;
            clients::open_streams(store.as_ref(), streams, plan).await
        }
    }
}

fn spawn_clients(
    subject: &Subject,
    histories: &Histories,
    plan: &Plan,
    clients: usize,
    seed: u64,
) -> JoinSet<()> {
    let mut set = JoinSet::new();
    let seed_of = |c: u64| crate::generate::derive_seed(seed, c);
    match &subject.target {
        Target::State(store) => {
            // Two in five clients run commands on accounts; the rest work on registers.
            let counters = (clients * 2 / 5).max(1).min(clients);
            for c in 0..clients as u64 {
                if (c as usize) < clients - counters || clients == 1 {
                    let recorder = histories.registers.clone().unwrap_or_default();
                    set.spawn(clients::register_client(
                        store.clone(),
                        recorder,
                        plan.clone(),
                        c,
                        seed_of(c),
                    ));
                } else {
                    let recorder = histories.accounts.clone().unwrap_or_default();
                    let truth = subject.layers.clone();
                    set.spawn(clients::counter_client(
                        store.clone(),
                        truth,
                        recorder,
                        plan.clone(),
                        c,
                        seed_of(c),
                    ));
                }
            }
        }
        Target::Events(store) => {
            for c in 0..clients as u64 {
                let recorder = histories.streams.clone().unwrap_or_default();
                set.spawn(clients::stream_client(
                    store.clone(),
                    recorder,
                    plan.clone(),
                    c,
                    seed_of(c),
                ));
            }
        }
    }
    set
}

/// Shows progress until every client is done.
async fn watch(
    set: &mut JoinSet<()>,
    recorders: &[Arc<Recorder>],
    started: Instant,
    ctx: &Context<'_>,
) {
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            joined = set.join_next() => {
                match joined {
                    None => break,
                    Some(Err(e)) if e.is_panic() => ctx.progress.note(&format!("a consistency client failed: {e}")),
                    Some(_) => {}
                }
            }
            _ = ticker.tick() => {
                let entries: usize = recorders.iter().map(|r| r.len()).sum();
                ctx.progress.advance(started.elapsed().as_millis() as u64, &format!("{} ops", entries / 2));
            }
        }
    }
}

/// The recorded histories, in time order.
struct Finished {
    registers: Option<Vec<Entry>>,
    accounts: Option<Vec<Entry>>,
    streams: Option<Vec<Entry>>,
}

impl Finished {
    fn each(&self) -> [(&'static str, Option<&Vec<Entry>>); 3] {
        [
            ("cas-register", self.registers.as_ref()),
            ("counter", self.accounts.as_ref()),
            ("stream", self.streams.as_ref()),
        ]
    }

    /// Client operations by how they ended (setup, final reads and faults left out).
    fn counts(&self) -> HistoryCounts {
        let mut counts = HistoryCounts::default();
        for (_, entries) in self.each() {
            for e in entries.into_iter().flatten() {
                if !matches!(e.process, crate::history::Process::Number(_)) {
                    continue;
                }
                match e.kind {
                    crate::history::Kind::Ok => counts.ok += 1,
                    crate::history::Kind::Fail => counts.fail += 1,
                    crate::history::Kind::Info => counts.info += 1,
                    crate::history::Kind::Invoke => {}
                }
            }
        }
        counts
    }

    /// Writes each history below the run directory; returns their relative paths.
    fn write(
        &self,
        ctx: &Context<'_>,
        subject: &Subject,
        index: usize,
        spec: &FaultSpec,
    ) -> Vec<String> {
        let Some(dir) = ctx.run_dir else {
            return Vec::new();
        };
        let safe = subject.name.replace([':', '/', ' ', '(', ')'], "-");
        let mut written = Vec::new();
        for (model, entries) in self.each() {
            let Some(entries) = entries else { continue };
            let relative = format!(
                "histories/{safe}.{index}-{}.{model}.jsonl",
                spec.kind.name()
            );
            match write_jsonl(&dir.join(&relative), entries) {
                Ok(()) => written.push(relative),
                Err(e) => ctx
                    .progress
                    .note(&format!("{}: cannot write {relative}: {e}", subject.name)),
            }
        }
        written
    }
}

/// What a nemesis event says, for the history and the results.
pub(crate) fn event(
    at: Duration,
    action: &str,
    target: &str,
    result: &Result<String, String>,
) -> NemesisEvent {
    NemesisEvent {
        at_ms: at.as_secs_f64() * 1_000.0,
        action: action.to_owned(),
        target: target.to_owned(),
        ok: result.is_ok(),
        detail: match result {
            Ok(d) | Err(d) => d.clone(),
        },
    }
}
