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
use crate::shard::{Agenda, Slice};
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
    /// The part of the run this agent offers: its keys, and its part of every rate and
    /// worker count ([`Slice::WHOLE`] unless sharded).
    pub slice: Slice,
    /// When each trial warms up and is measured, on a timeline shared with the other agents
    /// of a sharded run; `None`: as soon as its keys are loaded.
    pub agenda: Option<&'a Agenda>,
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

/// The steps of `suite` (`latency` or `throughput`) in a whole run, in the order they run.
pub fn whole_steps(workload: &Workload, suite: &str) -> Vec<Step> {
    if suite == "latency" {
        let open = &workload.open;
        let step = |&rate_per_s| Step::Open {
            rate_per_s,
            arrivals: open.arrivals,
            max_in_flight: open.max_in_flight,
        };
        open.rates.iter().map(step).collect()
    } else {
        let step = |&concurrency| Step::Closed { concurrency };
        workload.closed.concurrency.iter().map(step).collect()
    }
}

/// `slice`'s part of `step`: its part of the rate and of the operations in flight, or of
/// the workers.
pub fn part_of(step: &Step, slice: Slice) -> Step {
    match *step {
        Step::Open {
            rate_per_s,
            arrivals,
            max_in_flight,
        } => Step::Open {
            rate_per_s: slice.rate(rate_per_s),
            arrivals,
            max_in_flight: slice.workers(max_in_flight),
        },
        Step::Closed { concurrency } => Step::Closed {
            concurrency: slice.workers(concurrency),
        },
    }
}

/// The ids of the trials `suite` runs on `subject` in `round`, in order: the same on every
/// slice of a sharded run, since they name the whole run's step.
pub fn trial_ids(subject: &str, suite: &str, workload: &Workload, round: Round) -> Vec<String> {
    whole_steps(workload, suite)
        .iter()
        .map(|step| {
            trial_id(
                subject,
                suite,
                &format!("{}{}", step.slug(), round.suffix()),
            )
        })
        .collect()
}

fn trial_id(subject: &str, suite: &str, step_name: &str) -> String {
    format!(
        "{}.{suite}.{step_name}",
        subject.replace([':', '/', ' ', '(', ')'], "-")
    )
}

/// The latency suite: one open-loop trial per offered rate of the workload (this slice's part
/// of it).
pub async fn latency(prepared: &Prepared, ctx: &Context<'_>, round: Round) -> Trials {
    sliced_steps(prepared, ctx, "latency", round).await
}

/// The throughput suite: one closed-loop trial per concurrency of the workload (this slice's
/// part of it).
pub async fn throughput(prepared: &Prepared, ctx: &Context<'_>, round: Round) -> Trials {
    sliced_steps(prepared, ctx, "throughput", round).await
}

/// The steps of `suite`, each named after the whole run's step and run as this slice's part.
async fn sliced_steps(prepared: &Prepared, ctx: &Context<'_>, suite: &str, round: Round) -> Trials {
    let steps = whole_steps(&ctx.workload, suite).into_iter().map(|whole| {
        let part = part_of(&whole, ctx.slice);
        let mode = match part {
            Step::Open {
                rate_per_s,
                arrivals,
                max_in_flight,
            } => Mode::Open {
                rate: rate_per_s,
                arrivals,
                max_in_flight,
            },
            Step::Closed { concurrency } => Mode::Closed { concurrency },
        };
        (whole.slug(), part, mode)
    });
    run_steps(prepared, ctx, suite, round, steps.collect()).await
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
    let id = trial_id(subject, suite, step_name);
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
    let keys = Arc::new(KeySpace::sliced(
        format!("{}{id}/acct-", prepared.key_base),
        ctx.workload.keys.count,
        ctx.slice,
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
    let planned = ctx
        .agenda
        .and_then(|a| a.warmup_at(&id).zip(a.measure_at(&id)));
    if let Some((warmup_at, _)) = planned {
        keep_time(ctx, &id, "warm-up", warmup_at).await;
    }
    let warmup = match length(&ctx.workload.warmup) {
        Some(length) => {
            let label = format!("{label} (warm-up)");
            let spec = PhaseSpec {
                label,
                length,
                mode,
                seed: ctx.slice.seed(derive_seed(ctx.seed, stream)),
                stagger: ctx.slice.stagger(),
            };
            // A phase of the trial's step: the measured phase's line closes the step.
            summary(&engine.run(&spec, ctx.progress, None).await)
        }
        None => Summary::default(),
    };
    if ctx.cancel.is_cancelled() {
        return Ok(None);
    }
    if let Some((_, measure_at)) = planned {
        keep_time(ctx, &id, "measured phase", measure_at).await;
    }
    if ctx.cancel.is_cancelled() {
        return Ok(None);
    }
    let measured_length = length(&ctx.workload.measure).unwrap_or(Length::Ops(1));
    let seed = ctx.slice.seed(derive_seed(ctx.seed, stream + 1));
    let spec = PhaseSpec {
        label,
        length: measured_length,
        mode,
        seed,
        stagger: ctx.slice.stagger(),
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

/// How late a phase may start on the shared timeline before the agent warns that its
/// window will not line up with the other agents'.
const LATE: Duration = Duration::from_millis(100);

/// Waits until `at`, the planned start of trial `id`'s `phase` on the shared timeline, or
/// until the run is cancelled; says loudly when that time has already passed.
async fn keep_time(ctx: &Context<'_>, id: &str, phase: &str, at: std::time::SystemTime) {
    let planned = humantime::format_rfc3339_millis(at);
    match at.duration_since(std::time::SystemTime::now()) {
        Ok(ahead) => {
            if ahead > Duration::from_secs(1) {
                ctx.progress.note(&format!(
                    "{id}: {phase} at {planned} (in {:.1} s), with the other shards",
                    ahead.as_secs_f64()
                ));
            }
            tokio::select! {
                () = tokio::time::sleep(ahead) => {}
                () = ctx.cancel.cancelled() => {}
            }
        }
        Err(late) if late.duration() > LATE => {
            let cause = if phase == "warm-up" {
                "loading its keys (or the step before) overran the load allowance"
            } else {
                "its warm-up ended late"
            };
            ctx.progress.note(&format!(
                "WARNING: {id}: {phase} starts {:.3} s after its planned start {planned}: \
                 {cause}, so its window will not line up with the other shards' \
                 (its started_unix_ns shows by how much)",
                late.duration().as_secs_f64()
            ));
        }
        Err(_) => {}
    }
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
