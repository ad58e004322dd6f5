//! Trials: a fresh key space loaded, a warm-up, and a measured phase of the engine, turned
//! into results. Every trial starts from the same state, so results do not depend on the
//! order trials ran in (event streams, for one, grow with every command).

use super::load;
use crate::check::Validity;
use crate::engine::tally::{Tally, p99_us};
use crate::engine::{Engine, Length, Mode, PhaseReport, PhaseSpec};
use crate::generate::{KeySpace, derive_seed};
use crate::outcome::Outcome;
use crate::progress::Progress;
use crate::results::{
    ConsistencyCheck, Counts, Latency, OpStats, OutcomeStats, PhaseStats, Step, Summary, Trial,
    encode_histogram,
};
use crate::subject::{Runner, Subject};
use crate::units::{self, per_second};
use crate::workload::{OpKind, Phase, Workload};
use statebench_adapters::Capability;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What every suite of a run shares.
pub struct Context<'a> {
    /// The workload, resolved.
    pub workload: Arc<Workload>,
    /// The run's seed; every subject gets the same operations from it.
    pub seed: u64,
    /// Stops the run early.
    pub cancel: CancellationToken,
    /// Shows progress.
    pub progress: &'a dyn Progress,
    /// How long in-flight operations may take after a phase ends.
    pub grace: Duration,
    /// Where interval logs go (`intervals/` below it), when anywhere.
    pub run_dir: Option<&'a Path>,
}

/// A subject ready for trials, with the prefix its keys go under (unique to the run).
pub struct Prepared {
    /// The subject.
    pub subject: Subject,
    /// Keys of trial `id` go under `{key_base}{id}/`.
    pub key_base: String,
}

/// Which repetition of every step a suite runs (`--trials`): each round loads fresh keys,
/// warms up and measures again, with operations drawn from its own seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Round {
    /// 0-based.
    pub index: u32,
    /// How many rounds the run has.
    pub of: u32,
}

impl Round {
    /// The only round of a run without repetitions.
    pub const ONLY: Self = Self { index: 0, of: 1 };

    /// The suffix of a trial id: none when the run has one round, so such ids stay as they
    /// were.
    fn suffix(self) -> String {
        if self.of > 1 {
            format!(".r{}", self.index)
        } else {
            String::new()
        }
    }

    /// Moves a seed stream to this round's own; round 0 keeps the stream, so a run with one
    /// round draws what it always drew.
    fn stream(self, stream: u64) -> u64 {
        stream + (u64::from(self.index) << 40)
    }
}

/// The trials of a suite that ran, and why the rest did not, if they did not.
#[derive(Default)]
pub struct Trials {
    /// The trials that ran (an interrupted one included).
    pub done: Vec<Trial>,
    /// Why the suite stopped early, other than cancellation.
    pub stopped: Option<String>,
}

/// The latency suite: one open-loop trial per offered rate of the workload.
pub async fn latency(prepared: &Prepared, ctx: &Context<'_>, round: Round) -> Trials {
    let open = &ctx.workload.open;
    let steps = open.rates.iter().map(|&rate| {
        let mode = Mode::Open {
            rate,
            arrivals: open.arrivals,
            max_in_flight: open.max_in_flight,
        };
        let step = Step::Open {
            rate_per_s: rate,
            arrivals: open.arrivals,
            max_in_flight: open.max_in_flight,
        };
        (step.slug(), step, mode)
    });
    run_steps(prepared, ctx, "latency", round, steps.collect()).await
}

/// The throughput suite: one closed-loop trial per concurrency of the workload.
pub async fn throughput(prepared: &Prepared, ctx: &Context<'_>, round: Round) -> Trials {
    let steps = ctx.workload.closed.concurrency.iter().map(|&concurrency| {
        let step = Step::Closed { concurrency };
        (step.slug(), step, Mode::Closed { concurrency })
    });
    run_steps(prepared, ctx, "throughput", round, steps.collect()).await
}

async fn run_steps(
    prepared: &Prepared,
    ctx: &Context<'_>,
    suite: &str,
    round: Round,
    steps: Vec<(String, Step, Mode)>,
) -> Trials {
    let mut trials = Trials::default();
    for (index, (name, step, mode)) in steps.into_iter().enumerate() {
        if ctx.cancel.is_cancelled() {
            break;
        }
        let stream = round.stream(if suite == "latency" { 0 } else { 1 << 32 } + 2 * index as u64);
        let name = format!("{name}{}", round.suffix());
        match run(prepared, ctx, suite, &name, (step, round), mode, stream).await {
            Ok(Some(trial)) => trials.done.push(trial),
            Ok(None) => break,
            Err(reason) => {
                trials.stopped = Some(reason);
                break;
            }
        }
    }
    trials
}

fn length(phase: &Phase) -> Option<Length> {
    match (phase.duration, phase.ops) {
        (Some(d), _) if !d.0.is_zero() => Some(Length::Duration(d.0)),
        (None, Some(n)) if n > 0 => Some(Length::Ops(n)),
        _ => None,
    }
}

/// Runs one trial; `Ok(None)` when cancelled before its measured phase began.
async fn run(
    prepared: &Prepared,
    ctx: &Context<'_>,
    suite: &str,
    step_name: &str,
    (step, round): (Step, Round),
    mode: Mode,
    stream: u64,
) -> Result<Option<Trial>, String> {
    let subject = &prepared.subject.name;
    let id = format!(
        "{}.{suite}.{step_name}",
        subject.replace([':', '/', ' ', '(', ')'], "-")
    );
    let label = match &step {
        Step::Open { rate_per_s, .. } => {
            format!("{subject}: {suite} at {}/s", units::rate(*rate_per_s))
        }
        Step::Closed { concurrency: 1 } => format!("{subject}: {suite} with 1 worker"),
        Step::Closed { concurrency } => format!("{subject}: {suite} with {concurrency} workers"),
    };
    let label = if round.of > 1 {
        format!("{label}, trial {} of {}", round.index + 1, round.of)
    } else {
        label
    };
    let keys = Arc::new(KeySpace::new(
        format!("{}{id}/acct-", prepared.key_base),
        ctx.workload.keys.count,
    ));
    let runner = Arc::new(Runner::new(&prepared.subject, &ctx.workload, keys));
    let loaded = load(
        runner.clone(),
        &format!("{label} (load)"),
        ctx.progress,
        &ctx.cancel,
    )
    .await;
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(_) if ctx.cancel.is_cancelled() => return Ok(None),
        Err(reason) => return Err(format!("loading the keys failed: {reason}")),
    };
    let engine = Engine {
        runner,
        workload: ctx.workload.clone(),
        cancel: ctx.cancel.clone(),
        grace: ctx.grace,
    };
    let warmup = match length(&ctx.workload.warmup) {
        Some(length) => {
            let label = format!("{label} (warm-up)");
            let spec = PhaseSpec {
                label,
                length,
                mode,
                seed: derive_seed(ctx.seed, stream),
            };
            // A phase of the trial's step: the measured phase's line closes the step.
            summary(&engine.run(&spec, ctx.progress, None).await)
        }
        None => Summary::default(),
    };
    if ctx.cancel.is_cancelled() {
        return Ok(None);
    }
    let measured_length = length(&ctx.workload.measure).unwrap_or(Length::Ops(1));
    let seed = derive_seed(ctx.seed, stream + 1);
    let spec = PhaseSpec {
        label,
        length: measured_length,
        mode,
        seed,
    };
    let (log, interval_log) = open_log(ctx, &id);
    let report = engine.run(&spec, ctx.progress, log).await;
    let checks = books(prepared, &engine, &report).await;
    let mut line = one_line(&report);
    for c in checks
        .iter()
        .filter(|c| c.verdict.validity != Validity::Valid)
    {
        line += &format!(
            "; {} {}: {}",
            c.verdict.check, c.verdict.validity, c.verdict.summary
        );
    }
    ctx.progress.end(&line);
    if let Some(e) = &report.log_error {
        ctx.progress.note(&format!("{id}: {e}"));
    }
    Ok(Some(Trial {
        id,
        subject: subject.clone(),
        suite: suite.to_owned(),
        workload: ctx.workload.name.clone(),
        step,
        round: round.index,
        interrupted: report.interrupted,
        load: Some(loaded),
        warmup,
        measured: stats(&report),
        interval_log: interval_log.filter(|_| report.log_error.is_none()),
        checks,
        standing: None,
    }))
}

/// The lost-update check of the trial's books, when its operations changed balances.
async fn books(
    prepared: &Prepared,
    engine: &Engine,
    report: &PhaseReport,
) -> Vec<ConsistencyCheck> {
    if report.interrupted {
        return Vec::new();
    }
    let Some(verdict) = engine.runner.verify_books().await else {
        return Vec::new();
    };
    let subject = &prepared.subject;
    if verdict.keys == 0 {
        // Blind writes set every account the commands touched: there is nothing to bound,
        // which is neither a pass nor an undecided check.
        return vec![ConsistencyCheck {
            verdict,
            promised: false,
            note:
                "nothing to check: every account the commands touched was also set by a blind write"
                    .into(),
        }];
    }
    let (promised, note) = match &subject.descriptor().capabilities.cas {
        Capability::Supported if subject.layers.is_some() => (
            true,
            "balances read from the truth behind the cache".to_owned(),
        ),
        Capability::Supported => (true, String::new()),
        Capability::Unsupported(reason) => (false, format!("not promised: {reason}")),
    };
    vec![ConsistencyCheck {
        verdict,
        promised,
        note,
    }]
}

fn open_log(ctx: &Context<'_>, id: &str) -> (Option<Box<dyn Write + Send>>, Option<String>) {
    let Some(dir) = ctx.run_dir else {
        return (None, None);
    };
    let relative = format!("intervals/{id}.hlog");
    let opened = std::fs::create_dir_all(dir.join("intervals"))
        .and_then(|()| std::fs::File::create(dir.join(&relative)));
    match opened {
        Ok(file) => (
            Some(Box::new(std::io::BufWriter::new(file))),
            Some(relative),
        ),
        Err(e) => {
            ctx.progress
                .note(&format!("{id}: no interval log ({relative}: {e})"));
            (None, None)
        }
    }
}

fn one_line(report: &PhaseReport) -> String {
    let total = &report.total;
    let ops = total.count();
    let errors = ops - total.count_of(Outcome::Ok);
    let mut line = format!(
        "{} ops/s, p99 of successes {}, {errors} errors",
        units::rate(per_second(ops - total.all_stragglers(), report.window)),
        units::latency_us(p99_us(&total.ok_responses())),
    );
    let (window_ms, elapsed_ms) = (
        report.window.as_secs_f64() * 1e3,
        report.elapsed.as_secs_f64() * 1e3,
    );
    if total.all_stragglers() > 0 && crate::results::overran(window_ms, elapsed_ms) {
        line += &format!(
            ", {} ended after the window (stragglers, the last {:.1} s after it)",
            total.all_stragglers(),
            (elapsed_ms - window_ms) / 1e3
        );
    }
    if report.unstarted() > 0 {
        line += &format!(", {} unstarted (offered rate not met)", report.unstarted());
    }
    if report.abandoned > 0 {
        line += &format!(
            ", {} abandoned (no answer within the grace period)",
            report.abandoned
        );
    }
    line
}

fn counts_of(total: &Tally) -> Counts {
    let mut counts = Counts::default();
    for outcome in Outcome::ALL {
        counts.add(outcome, total.count_of(outcome));
    }
    counts
}

fn summary(report: &PhaseReport) -> Summary {
    let ops = report.total.count();
    Summary {
        duration_ms: report.elapsed.as_secs_f64() * 1_000.0,
        ops,
        ops_per_s: per_second(ops, report.elapsed),
        counts: counts_of(&report.total),
    }
}

/// The measured phase as results.
pub fn stats(report: &PhaseReport) -> PhaseStats {
    let total = &report.total;
    let counts = counts_of(total);
    let stragglers = total.all_stragglers();
    PhaseStats {
        duration_ms: report.elapsed.as_secs_f64() * 1_000.0,
        ops: counts.total(),
        ops_per_s: per_second(counts.total() - stragglers, report.window),
        ok_per_s: per_second(counts.ok - total.stragglers(Outcome::Ok), report.window),
        counts,
        late: total.late(),
        unstarted: report.unstarted(),
        abandoned: report.abandoned,
        start_lag: report.start_lag(),
        response: Latency::of(&total.all_responses()),
        service: Latency::of(&total.all_services()),
        operations: OpKind::ALL
            .into_iter()
            .filter_map(|op| op_stats(total, op, report.elapsed))
            .collect(),
        timeline: report.timeline.clone(),
        window_ms: report.window.as_secs_f64() * 1_000.0,
        stragglers,
        ok_response: Latency::of(&total.ok_responses()),
        ok_service: Latency::of(&total.ok_services()),
        started_unix_ns: report
            .started_at
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| u64::try_from(d.as_nanos()).ok()),
    }
}

fn op_stats(total: &Tally, op: OpKind, elapsed: Duration) -> Option<OpStats> {
    let mut counts = Counts::default();
    let mut outcomes = Vec::new();
    for outcome in Outcome::ALL {
        let Some(cell) = total.cell(op, outcome) else {
            continue;
        };
        counts.add(outcome, cell.response.len());
        outcomes.push(OutcomeStats {
            outcome,
            response: Latency::of(&cell.response),
            service: Latency::of(&cell.service),
            response_histogram: encode_histogram(&cell.response),
            service_histogram: encode_histogram(&cell.service),
            example_error: cell.example.clone(),
        });
    }
    let (response, service) = total.op_histograms(op);
    (counts.total() > 0).then(|| OpStats {
        op,
        ops: counts.total(),
        ops_per_s: per_second(counts.total(), elapsed),
        counts,
        retries: total.retries(op),
        rejected: total.rejected(op),
        response: Latency::of(&response),
        service: Latency::of(&service),
        outcomes,
    })
}
