//! Trials: a warm-up and a measured phase of the engine, turned into results.

use super::load;
use crate::engine::tally::{Tally, add, histogram};
use crate::engine::{Engine, Length, Mode, PhaseReport, PhaseSpec};
use crate::generate::{KeySpace, derive_seed};
use crate::outcome::Outcome;
use crate::progress::Progress;
use crate::results::{
    Counts, Latency, LoadSummary, OpStats, OutcomeStats, PhaseStats, Step, Summary, Trial,
    encode_histogram,
};
use crate::subject::{Runner, Subject};
use crate::units;
use crate::workload::{OpKind, Phase, Workload};
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

/// A subject with its key space loaded, ready for trials.
pub struct Prepared {
    /// The subject.
    pub subject: Subject,
    engine: Engine,
}

impl Prepared {
    /// Loads the workload's keys under `key_prefix` (unique to the run) into `subject`.
    pub async fn new(
        subject: Subject,
        ctx: &Context<'_>,
        key_prefix: String,
    ) -> Result<(Self, LoadSummary), String> {
        let keys = Arc::new(KeySpace::new(key_prefix, ctx.workload.keys.count));
        let runner = Arc::new(Runner::new(&subject, &ctx.workload, keys));
        let label = format!("{}: load", subject.name);
        let summary = load(runner.clone(), &label, ctx.progress, &ctx.cancel).await?;
        let engine = Engine {
            runner,
            workload: ctx.workload.clone(),
            cancel: ctx.cancel.clone(),
            grace: ctx.grace,
        };
        Ok((Self { subject, engine }, summary))
    }
}

/// The latency suite: one open-loop trial per offered rate of the workload.
pub async fn latency(prepared: &Prepared, ctx: &Context<'_>) -> Vec<Trial> {
    let open = &ctx.workload.open;
    let mut trials = Vec::new();
    for (i, &rate) in open.rates.iter().enumerate() {
        if ctx.cancel.is_cancelled() {
            break;
        }
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
        trials.push(
            run(
                prepared,
                ctx,
                "latency",
                (i, format!("{rate}-per-s")),
                step,
                mode,
            )
            .await,
        );
    }
    trials
}

/// The throughput suite: one closed-loop trial per concurrency of the workload.
pub async fn throughput(prepared: &Prepared, ctx: &Context<'_>) -> Vec<Trial> {
    let mut trials = Vec::new();
    for (i, &concurrency) in ctx.workload.closed.concurrency.iter().enumerate() {
        if ctx.cancel.is_cancelled() {
            break;
        }
        let step = Step::Closed { concurrency };
        let mode = Mode::Closed { concurrency };
        let label = (i, format!("{concurrency}-workers"));
        trials.push(run(prepared, ctx, "throughput", label, step, mode).await);
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

async fn run(
    prepared: &Prepared,
    ctx: &Context<'_>,
    suite: &str,
    (index, step_name): (usize, String),
    step: Step,
    mode: Mode,
) -> Trial {
    let subject = &prepared.subject.name;
    let id = format!(
        "{}.{suite}.{step_name}",
        subject.replace([':', '/', ' '], "-")
    );
    let stream = if suite == "latency" { 0 } else { 1 << 32 } + 2 * index as u64;
    let label = match &step {
        Step::Open { rate_per_s, .. } => {
            format!("{subject}: {suite} at {}/s", units::rate(*rate_per_s))
        }
        Step::Closed { concurrency: 1 } => format!("{subject}: {suite} with 1 worker"),
        Step::Closed { concurrency } => format!("{subject}: {suite} with {concurrency} workers"),
    };
    let warmup = match length(&ctx.workload.warmup) {
        Some(length) => {
            let spec = PhaseSpec {
                label: format!("{label} (warm-up)"),
                length,
                mode,
                seed: derive_seed(ctx.seed, stream),
            };
            let report = prepared.engine.run(&spec, ctx.progress, None).await;
            ctx.progress.end(&one_line(&report));
            summary(&report)
        }
        None => Summary::default(),
    };
    let measured_length = length(&ctx.workload.measure).unwrap_or(Length::Ops(1));
    let spec = PhaseSpec {
        label,
        length: measured_length,
        mode,
        seed: derive_seed(ctx.seed, stream + 1),
    };
    let (log, interval_log) = open_log(ctx, &id);
    let report = if ctx.cancel.is_cancelled() {
        None
    } else {
        Some(prepared.engine.run(&spec, ctx.progress, log).await)
    };
    let report = match report {
        Some(report) => report,
        None => return interrupted_before(id, subject, suite, ctx, step, warmup),
    };
    ctx.progress.end(&one_line(&report));
    if let Some(e) = &report.log_error {
        ctx.progress
            .note(&format!("{id}: interval log incomplete: {e}"));
    }
    Trial {
        id,
        subject: subject.clone(),
        suite: suite.to_owned(),
        workload: ctx.workload.name.clone(),
        step,
        interrupted: report.interrupted,
        warmup,
        measured: stats(&report),
        interval_log: interval_log.filter(|_| report.log_error.is_none()),
    }
}

fn interrupted_before(
    id: String,
    subject: &str,
    suite: &str,
    ctx: &Context<'_>,
    step: Step,
    warmup: Summary,
) -> Trial {
    Trial {
        id,
        subject: subject.to_owned(),
        suite: suite.to_owned(),
        workload: ctx.workload.name.clone(),
        step,
        interrupted: true,
        warmup,
        measured: stats(&PhaseReport {
            elapsed: Duration::ZERO,
            total: Tally::default(),
            timeline: Vec::new(),
            scheduled: 0,
            started: 0,
            abandoned: 0,
            interrupted: true,
            log_error: None,
        }),
        interval_log: None,
    }
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
    let p99 = total.all_responses().value_at_quantile(0.99) as f64 / 1_000.0;
    let errors = ops - total.count_of(Outcome::Ok);
    let mut line = format!(
        "{} ops/s, p99 {}, {errors} errors",
        units::rate(per_second(ops, report.elapsed)),
        units::latency_us(p99),
    );
    if report.unstarted() > 0 {
        line += &format!(", {} unstarted (offered rate not met)", report.unstarted());
    }
    line
}

fn per_second(n: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        n as f64 / seconds
    } else {
        0.0
    }
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
    PhaseStats {
        duration_ms: report.elapsed.as_secs_f64() * 1_000.0,
        ops: counts.total(),
        ops_per_s: per_second(counts.total(), report.elapsed),
        ok_per_s: per_second(counts.ok, report.elapsed),
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
    }
}

fn op_stats(total: &Tally, op: OpKind, elapsed: Duration) -> Option<OpStats> {
    let mut counts = Counts::default();
    let (mut response, mut service) = (histogram(), histogram());
    let mut outcomes = Vec::new();
    for outcome in Outcome::ALL {
        let Some(cell) = total.cell(op, outcome) else {
            continue;
        };
        counts.add(outcome, cell.response.len());
        add(&mut response, &cell.response);
        add(&mut service, &cell.service);
        outcomes.push(OutcomeStats {
            outcome,
            response: Latency::of(&cell.response),
            service: Latency::of(&cell.service),
            response_histogram: encode_histogram(&cell.response),
            service_histogram: encode_histogram(&cell.service),
            example_error: cell.example.clone(),
        });
    }
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
