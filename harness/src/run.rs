//! One run: every chosen suite on every chosen adapter, into one set of results.

use crate::faulting::Faulting;
use crate::inject::Injections;
use crate::machine;
use crate::options::{RunOptions, Suite};
use crate::provision::{self, Backend, Server};
use crate::registry::{self, Made, Provided};
use crate::shard::{self as sharding, Sharding};
use statebench_suites::Progress;
use statebench_suites::results::{
    Disproof, Interface, Results, RunConfig, SCHEMA_VERSION, ServerInfo, Shard, Skipped,
    SubjectInfo, Tool,
};
use statebench_suites::shard::{Agenda, Slice};
use statebench_suites::subject::Subject;
use statebench_suites::suite::{
    Context, Prepared, Round, conformance, consistency, latency, throughput, trial_ids,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// How long operations still in flight at the end of a phase may take before they are
/// abandoned (and counted as such).
pub const GRACE: Duration = Duration::from_secs(10);

/// Runs `options`; writes interval logs below `run_dir` when given. Cancelling stops at the
/// next operation and returns what was measured, marked interrupted.
pub async fn execute(
    options: &RunOptions,
    progress: &dyn Progress,
    cancel: &CancellationToken,
    run_dir: Option<&Path>,
) -> Results {
    let side = Side {
        name: String::new(),
        options: options.clone(),
        run_dir: run_dir.map(Path::to_path_buf),
    };
    let mut results = execute_sides(&[side], progress, cancel).await;
    results.remove(0)
}

/// One side of a same-job comparison (`statebench ab`): its own options (servers, images,
/// URLs, injected faults) and run directory. The workload, seed, suites and trials are the
/// first side's for every side.
#[derive(Clone, Debug)]
pub struct Side {
    /// `base`, `head`; empty for a plain run. A side's subjects run as `NAME/subject` (so
    /// progress and file names say which side) and are recorded under their own names in
    /// the side's results.
    pub name: String,
    /// The side's options.
    pub options: RunOptions,
    /// Where its interval logs and histories go.
    pub run_dir: Option<std::path::PathBuf>,
}

/// What one side started: its servers and the tasks its subjects need.
struct Started {
    servers: Vec<Server>,
    faulting: Faulting,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    needed: bool,
}

/// Runs every side at once: each provides its own servers and makes its own subjects, then
/// the trials of all of them are interleaved round by round (see [`units`]). One result per
/// side, in order.
pub async fn execute_sides(
    sides: &[Side],
    progress: &dyn Progress,
    cancel: &CancellationToken,
) -> Vec<Results> {
    let first = &sides[0].options;
    let tag = run_tag(first);
    if let Some(shard) = &first.shard {
        introduce(shard, &tag, progress);
    }
    let workload = Arc::new(first.workload.clone());
    let mut results: Vec<Results> = sides.iter().map(|s| skeleton(&s.options, first)).collect();
    let estimated: Vec<Step> = sides
        .iter()
        .flat_map(|s| {
            let registry = s.options.adapters.iter().flat_map(|_| estimate(first));
            let own = s
                .options
                .subjects
                .iter()
                .flat_map(|o| steps_of(Some(o), first));
            registry.chain(own).collect::<Vec<_>>()
        })
        .collect();
    progress.plan(&estimated, false);
    let mut ready = Vec::new();
    let mut started = Vec::new();
    for (index, side) in sides.iter().enumerate() {
        let (side_ready, side_started) =
            start_side(index, side, progress, cancel, &mut results[index]).await;
        ready.extend(side_ready);
        started.push(side_started);
    }
    let units = units(first, &ready);
    let agenda = first.shard.as_ref().and_then(|shard| {
        let agenda = agenda(shard, &units, &ready, first)?;
        announce(shard, &agenda, progress);
        Some(agenda)
    });
    let contexts: Vec<Context<'_>> = sides
        .iter()
        .map(|side| Context {
            workload: workload.clone(),
            seed: first.seed,
            cancel: cancel.clone(),
            progress,
            grace: GRACE,
            run_dir: side.run_dir.as_deref(),
            slice: slice_of(first),
            agenda: agenda.as_ref(),
        })
        .collect();
    for r in &ready {
        results[r.side]
            .subjects
            .push(subject_info(&r.subject, &contexts[r.side]));
        if let Some(shard) = first.shard.as_ref().filter(|s| !s.runs_checks()) {
            results[r.side]
                .skipped
                .extend(checks_elsewhere(shard, &r.subject, first));
        }
    }
    let run = Run {
        ready: &ready,
        options: first,
        contexts: &contexts,
        tag: &tag,
        units: &units,
    };
    run_units(&run, &mut results).await;
    progress.plan(&[], true);
    let mut any_needed = false;
    for side in started {
        side.tasks.iter().for_each(tokio::task::JoinHandle::abort);
        side.faulting.stop().await;
        for server in side.servers {
            server.shutdown().await;
        }
        any_needed |= side.needed;
    }
    if any_needed {
        // A container created while its start was being abandoned was never handed over.
        tokio::task::spawn_blocking(crate::cleanup::remove_labelled_containers)
            .await
            .ok();
    }
    for (side, results) in sides.iter().zip(&mut results) {
        if !side.name.is_empty() {
            plain_names(results, &format!("{}/", side.name));
        }
        results.interrupted = cancel.is_cancelled();
        results.settle();
        results.finished_at = now();
    }
    results
}

/// A side's results before anything ran; the workload, seed, suites and trials are `first`'s.
fn skeleton(options: &RunOptions, first: &RunOptions) -> Results {
    Results {
        schema_version: SCHEMA_VERSION,
        tool: tool(),
        started_at: now(),
        finished_at: String::new(),
        interrupted: false,
        config: RunConfig {
            adapters: options.adapters.clone(),
            suites: first.suites.iter().map(|s| s.name().to_owned()).collect(),
            workload_source: first.workload_source.clone(),
            workload: first.workload.clone(),
            seed: first.seed,
            trials: first.trials,
            inject: options.inject.normalized(),
            threads: Some(first.threads),
            shard: first.shard.as_ref().map(|s| Shard {
                index: s.slice.index(),
                count: s.slice.count(),
                start_at: s.start_at.map(sharding::rfc3339),
            }),
        },
        machine: machine::describe(),
        servers: Vec::new(),
        subjects: Vec::new(),
        skipped: Vec::new(),
        conformance: Vec::new(),
        trials: Vec::new(),
        consistency: Vec::new(),
        merge: None,
    }
}

/// The most operations one subject has in flight at once in the suites `options` runs (its
/// shard's part, in a sharded run).
fn busiest(options: &RunOptions) -> usize {
    let w = &options.workload;
    let slice = slice_of(options);
    let busiest = |suite: &Suite| match suite {
        Suite::Conformance => 0,
        Suite::Latency => slice.workers(w.open.max_in_flight),
        Suite::Throughput => w
            .closed
            .concurrency
            .iter()
            .map(|&c| slice.workers(c))
            .max()
            .unwrap_or(0),
        Suite::Consistency if checks_here(options) => w.consistency.clients,
        Suite::Consistency => 0,
    };
    options.suites.iter().map(busiest).max().unwrap_or(0)
}

/// Provides a side's servers and makes its subjects; what could not be made is recorded in
/// `results` as skipped.
async fn start_side(
    index: usize,
    side: &Side,
    progress: &dyn Progress,
    cancel: &CancellationToken,
    results: &mut Results,
) -> (Vec<Ready>, Started) {
    let options = &side.options;
    let entries: Vec<&registry::Entry> = options
        .adapters
        .iter()
        .filter_map(|name| registry::find(name))
        .collect();
    let http_url = options.servers.http_url.as_deref();
    let needed: BTreeSet<Backend> = entries
        .iter()
        .flat_map(|e| e.needs(http_url).iter().copied())
        .collect();
    let (servers, unavailable) =
        provide_all(&needed, &options.servers.provision, progress, cancel).await;
    results.servers = servers.iter().map(|s| s.info.clone()).collect();
    let provided = Provided {
        servers: servers
            .iter()
            .map(|s| (s.backend, (s.url.clone(), label(&s.info))))
            .collect(),
        http_url: options.servers.http_url.clone(),
        clients: busiest(options),
    };
    let network = options.suites.contains(&Suite::Consistency)
        && options
            .workload
            .consistency
            .faults
            .iter()
            .any(|f| f.kind.is_network());
    let faulting = Faulting::new(&servers, &provided, network, progress).await;
    let mut ready = Vec::new();
    let mut tasks = Vec::new();
    for entry in entries {
        if cancel.is_cancelled() {
            break;
        }
        match make(entry, &provided, &unavailable, http_url).await {
            Ok(mut made) => {
                made.subjects = inject(&options.inject, entry.name, made.subjects, options.seed);
                let needs = entry.needs(http_url);
                let nemesis = faulting.nemesis(needs);
                let mut twins = match faulting.through_proxies(entry, needs).await {
                    Some(Ok(twins)) => twins,
                    Some(Err(e)) => {
                        progress.note(&format!(
                            "{}: no subjects through the proxies: {e}",
                            entry.name
                        ));
                        Made::default()
                    }
                    None => Made::default(),
                };
                twins.subjects = inject(&options.inject, entry.name, twins.subjects, options.seed);
                for subject in made.subjects {
                    let twin = twins
                        .subjects
                        .iter()
                        .find(|t| t.name == subject.name)
                        .cloned();
                    // Clients that do not go through the proxies are refused network faults
                    // rather than faulted where nobody connects.
                    let nemesis = match twin {
                        Some(_) => nemesis.clone(),
                        None => nemesis.without_proxies(),
                    };
                    let plain = subject.name.clone();
                    let named = |mut s: Subject| {
                        if !side.name.is_empty() {
                            s.name = format!("{}/{}", side.name, s.name);
                        }
                        s
                    };
                    ready.push(Ready {
                        subject: named(subject),
                        twin: twin.map(named),
                        nemesis: Box::new(nemesis),
                        side: index,
                        plain,
                    });
                }
                tasks.extend(made.tasks);
                tasks.extend(twins.tasks);
            }
            Err(reason) => {
                let who = match side.name.as_str() {
                    "" => entry.name.to_owned(),
                    name => format!("{name}/{}", entry.name),
                };
                progress.note(&format!("{who}: skipped: {reason}"));
                results.skipped.push(Skipped {
                    name: entry.name.to_owned(),
                    suite: None,
                    reason,
                });
            }
        }
    }
    // The caller's own subjects (`run_with`) run in the caller's process: nothing can fault
    // them.
    for subject in &options.subjects {
        let plain = subject.name.clone();
        let mut subject = subject.clone();
        if !side.name.is_empty() {
            subject.name = format!("{}/{}", side.name, subject.name);
        }
        ready.push(Ready {
            subject,
            twin: None,
            nemesis: Box::new(statebench_suites::faults::NoNemesis),
            side: index,
            plain,
        });
    }
    let started = Started {
        servers,
        faulting,
        tasks,
        needed: !needed.is_empty(),
    };
    (ready, started)
}

/// Records a side's subjects under their own names: `base/postgres` ran, `postgres` is
/// written. Trial ids and file names keep the side, so they stay apart on disk.
fn plain_names(results: &mut Results, prefix: &str) {
    let strip = |name: &mut String| {
        if let Some(plain) = name.strip_prefix(prefix) {
            *name = plain.to_owned();
        }
    };
    results.subjects.iter_mut().for_each(|s| strip(&mut s.name));
    results
        .trials
        .iter_mut()
        .for_each(|t| strip(&mut t.subject));
    results
        .conformance
        .iter_mut()
        .for_each(|c| strip(&mut c.subject));
    results
        .consistency
        .iter_mut()
        .for_each(|c| strip(&mut c.subject));
    results.skipped.iter_mut().for_each(|s| strip(&mut s.name));
}

/// The adapters of `results` that could not be provided (their servers, URLs or probes
/// failed), each as `name: reason`.
pub fn unprovided(results: &Results) -> Vec<String> {
    results
        .skipped
        .iter()
        .filter(|s| s.suite.is_none())
        .map(|s| {
            let prefix = format!("{}: ", s.name);
            let reason = s.reason.strip_prefix(&prefix).unwrap_or(&s.reason);
            format!("{}: {reason}", s.name)
        })
        .collect()
}

/// `subjects` of `adapter`, each behind the faults `--inject` puts in front of it.
fn inject(
    injections: &Injections,
    adapter: &str,
    subjects: Vec<Subject>,
    seed: u64,
) -> Vec<Subject> {
    subjects
        .into_iter()
        .map(|s| injections.wrap(adapter, s, seed))
        .collect()
}

/// A step's planned length, when known (see [`Progress::plan`]).
type Step = Option<Duration>;

/// The steps of one suite on `subject` (`None`: a subject not made yet, assumed fit for the
/// workload), in the order they run.
fn suite_steps(suite: Suite, subject: Option<&Subject>, options: &RunOptions) -> Vec<Step> {
    let w = &options.workload;
    let timed = |phase: &statebench_suites::workload::Phase| match (phase.duration, phase.ops) {
        (Some(d), _) => Some(d.0),
        (None, Some(_)) => None,
        (None, None) => Some(Duration::ZERO),
    };
    let trial = timed(&w.warmup).zip(timed(&w.measure)).map(|(a, b)| a + b);
    let unfit = subject.is_some_and(|s| s.unfit_for(w).is_some());
    match suite {
        Suite::Conformance | Suite::Consistency if !checks_here(options) => Vec::new(),
        Suite::Conformance => vec![None],
        Suite::Latency | Suite::Throughput if unfit => Vec::new(),
        Suite::Latency => vec![trial; w.open.rates.len()],
        Suite::Throughput => vec![trial; w.closed.concurrency.len()],
        Suite::Consistency => {
            let c = &w.consistency;
            vec![Some(c.duration.0 + c.quiet.0); c.faults.len()]
        }
    }
}

/// Every step of every suite on `subject`, each timed one once per trial.
fn steps_of(subject: Option<&Subject>, options: &RunOptions) -> Vec<Step> {
    options
        .suites
        .iter()
        .flat_map(|suite| {
            let steps = suite_steps(*suite, subject, options);
            match suite {
                Suite::Latency | Suite::Throughput => steps.repeat(options.trials as usize),
                _ => steps,
            }
        })
        .collect()
}

/// The steps of an adapter whose subjects are not made yet: one subject, fit for the workload.
fn estimate(options: &RunOptions) -> Vec<Step> {
    steps_of(None, options)
}

/// A subject made and ready for its suites, with what its consistency suite faults.
struct Ready {
    subject: Subject,
    /// The same subject going through the proxies, when network faults are scheduled.
    twin: Option<Subject>,
    nemesis: Box<dyn statebench_suites::faults::Nemesis>,
    /// The side it belongs to (see [`Side`]).
    side: usize,
    /// Its name without the side: the same subject on every side.
    plain: String,
}

/// The work of a run over every side's subjects.
struct Run<'a, 'c> {
    ready: &'a [Ready],
    options: &'a RunOptions,
    contexts: &'a [Context<'c>],
    tag: &'a str,
    /// The work, in the order it runs (see [`units`]).
    units: &'a [Unit],
}

/// An adapter's subjects, or why it cannot be made.
async fn make(
    entry: &registry::Entry,
    provided: &Provided,
    unavailable: &BTreeMap<Backend, String>,
    http_url: Option<&str>,
) -> Result<Made, String> {
    let missing = entry
        .needs(http_url)
        .iter()
        .find_map(|b| unavailable.get(b).map(|why| (b, why)));
    match missing {
        Some((backend, why)) if entry.name == "http" => Err(format!(
            "no {} given, and no {backend} server for the in-process statebench-service: {why}",
            crate::config::HTTP_URL
        )),
        Some((backend, why)) => Err(format!("no {backend} server: {why}")),
        None => (entry.make)(provided).await,
    }
}

/// What the results say of `subject` before its suites run.
fn subject_info(subject: &Subject, ctx: &Context<'_>) -> SubjectInfo {
    let mut info = SubjectInfo {
        name: subject.name.clone(),
        interface: subject.interface(),
        descriptor: subject.descriptor().clone(),
        provisioning: subject.provisioning.clone(),
        disproved: Vec::new(),
        correctness: None,
    };
    if let (Some(every), Interface::Events) = (ctx.workload.snapshot_every, subject.interface()) {
        let how = match subject.snapshots {
            Some(_) => format!("every {every} events"),
            None => "none: the adapter keeps no snapshots, every load replays the stream".into(),
        };
        info.descriptor.settings.insert("snapshots".into(), how);
    }
    info
}

/// One piece of a run's work on one subject, in the order [`units`] lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Conformance(usize),
    /// Every timed suite's steps, once, on one subject.
    Timed {
        round: u32,
        subject: usize,
    },
    Consistency(usize),
}

/// The run's work in order: the suites as asked, except that the timed suites (latency and
/// throughput) run together in rounds, each round taking every subject in turn, so that the
/// trials of one subject are spread over the run, not back to back, and drift on a shared
/// machine falls on every subject alike. The same subject on several sides (`ab`) runs side
/// by side, the sides' order turned round every round, so neither always goes first.
///
/// A shard that does not run the checks leaves them out; on a shared timeline
/// (`--start-at`) the checks run after the timed steps, so that they push none of them off it.
fn units(options: &RunOptions, ready: &[Ready]) -> Vec<Unit> {
    let all = 0..ready.len();
    let mut pairs: Vec<Vec<usize>> = Vec::new();
    for (index, r) in ready.iter().enumerate() {
        match pairs.iter_mut().find(|p| ready[p[0]].plain == r.plain) {
            Some(pair) => pair.push(index),
            None => pairs.push(vec![index]),
        }
    }
    let mut units = Vec::new();
    let mut timed_done = false;
    let checks = checks_here(options);
    for suite in &options.suites {
        match suite {
            Suite::Conformance | Suite::Consistency if !checks => {}
            Suite::Conformance => units.extend(all.clone().map(Unit::Conformance)),
            Suite::Consistency => units.extend(all.clone().map(Unit::Consistency)),
            Suite::Latency | Suite::Throughput if !timed_done => {
                timed_done = true;
                for round in 0..options.trials {
                    for pair in &pairs {
                        let turn = round as usize % pair.len();
                        let order = pair[turn..].iter().chain(&pair[..turn]);
                        units.extend(order.map(|&subject| Unit::Timed { round, subject }));
                    }
                }
            }
            Suite::Latency | Suite::Throughput => {}
        }
    }
    if options.shard.as_ref().is_some_and(|s| s.start_at.is_some()) {
        // A stable sort: the timed units keep their order, and so do the checks.
        units.sort_by_key(|u| !matches!(u, Unit::Timed { .. }));
    }
    units
}

/// The slice of the run `options` offer: the whole of it unless sharded.
fn slice_of(options: &RunOptions) -> Slice {
    options.shard.as_ref().map_or(Slice::WHOLE, |s| s.slice)
}

/// Whether this agent runs the conformance and consistency suites: always, unless it is a
/// shard that leaves them to shard 0.
fn checks_here(options: &RunOptions) -> bool {
    options.shard.as_ref().is_none_or(Sharding::runs_checks)
}

/// The checks `subject` does not run on this shard, recorded as skipped with the reason.
fn checks_elsewhere(shard: &Sharding, subject: &Subject, options: &RunOptions) -> Vec<Skipped> {
    options
        .suites
        .iter()
        .filter(|s| matches!(s, Suite::Conformance | Suite::Consistency))
        .map(|suite| Skipped {
            name: subject.name.clone(),
            suite: Some(suite.name().to_owned()),
            reason: format!(
                "runs on shard 0 only (--shard-checks first); this is shard {}",
                shard.slice
            ),
        })
        .collect()
}

/// The shared timeline of the timed trials in `units`, when the shards agreed a start.
fn agenda(
    shard: &Sharding,
    units: &[Unit],
    ready: &[Ready],
    options: &RunOptions,
) -> Option<Agenda> {
    let start = shard.start_at?;
    let w = &options.workload;
    let ids = units.iter().flat_map(|unit| {
        let Unit::Timed { round, subject } = *unit else {
            return Vec::new();
        };
        let subject = &ready[subject].subject;
        if subject.unfit_for(w).is_some() {
            return Vec::new();
        }
        let round = Round {
            index: round,
            of: options.trials,
        };
        timed_suites(options)
            .flat_map(|suite| trial_ids(&subject.name, suite.name(), w, round))
            .collect()
    });
    let (warmup, measure) = (sharding::planned(&w.warmup), sharding::planned(&w.measure));
    Some(Agenda::new(
        start,
        ids,
        warmup,
        measure,
        shard.load_allowance,
    ))
}

/// Says which shard this agent is, and warns when the shards cannot line up.
fn introduce(shard: &Sharding, tag: &str, progress: &dyn Progress) {
    progress.note(&shard.describe());
    if shard.start_at.is_none() && !shard.slice.is_whole() {
        progress.note(&format!(
            "WARNING: shard {}: no --start-at, so the shards' measured windows will not line \
             up; and their keys go under sb-{tag}/, from the seed and the shard count alone, \
             which a rerun with the same seed on the same servers reuses",
            shard.slice
        ));
    }
}

/// Says when this shard's timed steps start, and warns loudly when the agreed start has
/// passed.
fn announce(shard: &Sharding, agenda: &Agenda, progress: &dyn Progress) {
    let now = SystemTime::now();
    let Some(start) = shard.start_at else { return };
    if let Ok(late) = now.duration_since(start)
        && late > sharding::PAST_TOLERANCE
    {
        progress.note(&format!(
            "WARNING: shard {}: --start-at {} passed {:.1} s ago: starting at once; the steps \
             planned before now start late and their windows will not line up with the other \
             shards' (later steps catch up with the timeline as load allowances absorb the delay)",
            shard.slice,
            sharding::shown(start),
            late.as_secs_f64()
        ));
    }
    let (Some(first), Some(end)) = (agenda.first(), agenda.end()) else {
        progress.note(&format!(
            "shard {}: no timed steps on the timeline",
            shard.slice
        ));
        return;
    };
    let until = |at: SystemTime| match at.duration_since(now) {
        Ok(ahead) => format!("in {:.1} s", ahead.as_secs_f64()),
        Err(past) => format!("{:.1} s ago", past.duration().as_secs_f64()),
    };
    progress.note(&format!(
        "shard {}: {} timed steps on the shared timeline: the first warms up at {} ({}), then \
         one every {:.1} s (warm-up + measured + load allowance {:.1} s); the last measured \
         phase ends at {}",
        shard.slice,
        agenda.len(),
        sharding::shown(first),
        until(first),
        agenda.slot().as_secs_f64(),
        shard.load_allowance.as_secs_f64(),
        sharding::shown(end),
    ));
}

/// The timed suites, in the order asked.
fn timed_suites(options: &RunOptions) -> impl Iterator<Item = Suite> + '_ {
    options
        .suites
        .iter()
        .copied()
        .filter(|s| matches!(s, Suite::Latency | Suite::Throughput))
}

/// The steps of `unit`, leaving out suites that stopped on their subject.
fn unit_steps(
    unit: Unit,
    ready: &[Ready],
    options: &RunOptions,
    stopped: &BTreeSet<(usize, &'static str)>,
) -> Vec<Step> {
    let one =
        |suite: Suite, subject: usize| suite_steps(suite, Some(&ready[subject].subject), options);
    match unit {
        Unit::Conformance(subject) => one(Suite::Conformance, subject),
        Unit::Consistency(subject) => one(Suite::Consistency, subject),
        Unit::Timed { subject, .. } => timed_suites(options)
            .filter(|suite| !stopped.contains(&(subject, suite.name())))
            .flat_map(|suite| one(suite, subject))
            .collect(),
    }
}

/// Runs every unit of work on the subjects made, each into its side's results.
async fn run_units(run: &Run<'_, '_>, results: &mut [Results]) {
    let (ready, options, units) = (run.ready, run.options, run.units);
    let key_base =
        |subject: &Subject| format!("sb-{}/{}/", run.tag, subject.name.replace(':', "-"));
    // The shards share the timed trials' keys, not the checks': each check runs on its own.
    let check_base = |subject: &Subject| match &options.shard {
        Some(shard) if !shard.slice.is_whole() => {
            format!("{}shard-{}/", key_base(subject), shard.slice.index())
        }
        _ => key_base(subject),
    };
    let mut stopped = BTreeSet::new();
    for (number, unit) in units.iter().enumerate() {
        let first = &run.contexts[0];
        if first.cancel.is_cancelled() {
            return;
        }
        let plan: Vec<Step> = units[number..]
            .iter()
            .flat_map(|u| unit_steps(*u, ready, options, &stopped))
            .collect();
        first.progress.plan(&plan, true);
        match *unit {
            Unit::Conformance(index) => {
                let (r, ctx) = (&ready[index], &run.contexts[ready[index].side]);
                let results = &mut results[r.side];
                let prefix = format!("{}conformance/", check_base(&r.subject));
                let checks = conformance::run(&r.subject, &prefix, ctx.progress).await;
                if let Some(info) = results
                    .subjects
                    .iter_mut()
                    .find(|s| s.name == r.subject.name)
                {
                    info.disproved = Disproof::from_checks(&checks);
                }
                results.conformance.extend(checks);
            }
            Unit::Timed {
                round,
                subject: index,
            } => {
                let (r, ctx) = (&ready[index], &run.contexts[ready[index].side]);
                let round = Round {
                    index: round,
                    of: options.trials,
                };
                for suite in timed_suites(options) {
                    if ctx.cancel.is_cancelled() || stopped.contains(&(index, suite.name())) {
                        continue;
                    }
                    let base = key_base(&r.subject);
                    if !timed(&r.subject, suite, round, &base, ctx, &mut results[r.side]).await {
                        stopped.insert((index, suite.name()));
                    }
                }
            }
            Unit::Consistency(index) => {
                let (r, ctx) = (&ready[index], &run.contexts[ready[index].side]);
                let clients = r.twin.as_ref().unwrap_or(&r.subject);
                let base = check_base(&r.subject);
                results[r.side]
                    .consistency
                    .extend(consistency::run(clients, ctx, &base, r.nemesis.as_ref()).await);
            }
        }
    }
}

/// One round of a timed suite on one subject, or why it cannot run; false when the suite
/// cannot go on with this subject (it is unfit for the workload, or a trial failed to start),
/// so that later rounds leave it out.
async fn timed(
    subject: &Subject,
    suite: Suite,
    round: Round,
    key_base: &str,
    ctx: &Context<'_>,
    results: &mut Results,
) -> bool {
    let skipped = |results: &mut Results, reason: String| {
        ctx.progress.note(&format!(
            "{} / {}: skipped: {reason}",
            subject.name,
            suite.name()
        ));
        results.skipped.push(Skipped {
            name: subject.name.clone(),
            suite: Some(suite.name().to_owned()),
            reason,
        });
    };
    if let Some(reason) = subject.unfit_for(&ctx.workload) {
        skipped(results, reason);
        return false;
    }
    let prepared = Prepared {
        subject: subject.clone(),
        key_base: key_base.to_owned(),
    };
    let trials = match suite {
        Suite::Latency => latency(&prepared, ctx, round).await,
        _ => throughput(&prepared, ctx, round).await,
    };
    results.trials.extend(trials.done);
    match trials.stopped {
        Some(reason) => {
            skipped(results, format!("stopped: {reason}"));
            false
        }
        None => true,
    }
}

/// Provides every needed backend at once; returns the servers that are up and why the
/// others are not.
async fn provide_all(
    needed: &BTreeSet<Backend>,
    settings: &provision::Settings,
    progress: &dyn Progress,
    cancel: &CancellationToken,
) -> (Vec<Server>, BTreeMap<Backend, String>) {
    let mut starting = tokio::task::JoinSet::new();
    for &backend in needed {
        let settings = settings.clone();
        starting.spawn(async move {
            let notes = std::sync::Mutex::new(Vec::new());
            let started = std::time::Instant::now();
            let note = |line: &str| {
                notes
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(line.to_owned())
            };
            let result = provision::provide(backend, &settings, &note).await;
            let notes = notes.into_inner().unwrap_or_else(|p| p.into_inner());
            (backend, result, notes, started.elapsed())
        });
    }
    if !needed.is_empty() {
        let names: Vec<&str> = needed.iter().map(|b| b.name()).collect();
        progress.note(&format!("starting servers: {}", names.join(", ")));
    }
    let (mut servers, mut unavailable) = (Vec::new(), BTreeMap::new());
    loop {
        let joined = tokio::select! {
            joined = starting.join_next() => joined,
            () = cancel.cancelled() => {
                starting.abort_all();
                while starting.join_next().await.is_some() {}
                break;
            }
        };
        let Some(joined) = joined else { break };
        let Ok((backend, result, notes, took)) = joined else {
            continue;
        };
        for line in notes {
            progress.note(&line);
        }
        match result {
            Ok(server) => {
                let version = server
                    .info
                    .version
                    .as_deref()
                    .unwrap_or("version not stated");
                progress.note(&format!(
                    "{backend}: {version}, {} in {:.1} s",
                    label(&server.info),
                    took.as_secs_f64()
                ));
                servers.push(server);
            }
            Err(why) => {
                progress.note(&format!("{backend}: unavailable: {why}"));
                unavailable.insert(backend, why);
            }
        }
    }
    for b in needed {
        if !servers.iter().any(|s| s.backend == *b) {
            unavailable
                .entry(*b)
                .or_insert_with(|| "interrupted".to_owned());
        }
    }
    // In the backends' order, not the order they happened to answer in.
    servers.sort_by_key(|s| s.backend);
    (servers, unavailable)
}

/// How a server was provided, in a few words.
fn label(info: &ServerInfo) -> String {
    match (&info.image, &info.binary) {
        (Some(image), _) => format!("docker {image}"),
        (_, Some(binary)) => format!("native {binary}"),
        _ => format!("{} {}", info.provisioning, info.url),
    }
}

fn tool() -> Tool {
    let sha = env!("STATEBENCH_GIT_SHA");
    Tool {
        name: "statebench".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        git_sha: (!sha.is_empty()).then(|| sha.to_owned()),
    }
}

fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// A short tag that keeps this run's keys apart from other runs' on a shared server. The
/// shards of a run share it, so that reads reach every shard's keys: they derive it from
/// what they share, the seed, the start and the shard count.
fn run_tag(options: &RunOptions) -> String {
    if let Some(shard) = options.shard.as_ref().filter(|s| !s.slice.is_whole()) {
        let start = shard.start_at.map_or(0, sharding::unix_ns);
        let mixed = statebench_suites::generate::derive_seed(
            statebench_suites::generate::derive_seed(options.seed, start),
            u64::from(shard.slice.count()),
        );
        return format!("{:08x}", mixed as u32);
    }
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let mixed = statebench_suites::generate::derive_seed(
        nanos.as_nanos() as u64,
        u64::from(std::process::id()),
    );
    format!("{:08x}", mixed as u32)
}
