//! One run: every chosen suite on every chosen adapter, into one set of results.

use crate::faulting::Faulting;
use crate::inject::Injections;
use crate::machine;
use crate::options::{RunOptions, Suite};
use crate::provision::{self, Backend, Server};
use crate::registry::{self, Made, Provided};
use statebench_suites::Progress;
use statebench_suites::results::{
    Disproof, Interface, Results, RunConfig, SCHEMA_VERSION, ServerInfo, Skipped, SubjectInfo, Tool,
};
use statebench_suites::subject::Subject;
use statebench_suites::suite::{Context, Prepared, conformance, consistency, latency, throughput};
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
    let started_at = now();
    let tag = run_tag();
    let workload = Arc::new(options.workload.clone());
    let ctx = Context {
        workload: workload.clone(),
        seed: options.seed,
        cancel: cancel.clone(),
        progress,
        grace: GRACE,
        run_dir,
    };
    let mut results = Results {
        schema_version: SCHEMA_VERSION,
        tool: tool(),
        started_at,
        finished_at: String::new(),
        interrupted: false,
        config: RunConfig {
            adapters: options.adapters.clone(),
            suites: options.suites.iter().map(|s| s.name().to_owned()).collect(),
            workload_source: options.workload_source.clone(),
            workload: options.workload.clone(),
            seed: options.seed,
            inject: options.inject.normalized(),
        },
        machine: machine::describe(),
        servers: Vec::new(),
        subjects: Vec::new(),
        skipped: Vec::new(),
        conformance: Vec::new(),
        trials: Vec::new(),
        consistency: Vec::new(),
    };
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
    let estimated: Vec<Vec<Step>> = entries.iter().map(|_| estimate(options)).collect();
    progress.plan(&estimated.concat(), false);
    let (servers, unavailable) =
        provide_all(&needed, &options.servers.provision, progress, cancel).await;
    results.servers = servers.iter().map(|s| s.info.clone()).collect();
    let provided = Provided {
        servers: servers
            .iter()
            .map(|s| (s.backend, (s.url.clone(), label(&s.info))))
            .collect(),
        http_url: options.servers.http_url.clone(),
    };
    let network = options.suites.contains(&Suite::Consistency)
        && options
            .workload
            .consistency
            .faults
            .iter()
            .any(|f| f.kind.is_network());
    let faulting = Faulting::new(&servers, &provided, network, progress).await;
    for (index, entry) in entries.into_iter().enumerate() {
        if cancel.is_cancelled() {
            break;
        }
        // What the entries after this one plan to run, still an estimate.
        let later = estimated[index + 1..].concat();
        let exact = index + 1 == estimated.len();
        let missing = entry
            .needs(http_url)
            .iter()
            .find_map(|b| unavailable.get(b).map(|why| (b, why)));
        let made = match missing {
            Some((backend, why)) if entry.name == "http" => Err(format!(
                "no {} given, and no {backend} server for the in-process statebench-service: {why}",
                crate::config::HTTP_URL
            )),
            Some((backend, why)) => Err(format!("no {backend} server: {why}")),
            None => (entry.make)(&provided).await,
        };
        match made {
            Ok(mut made) => {
                made.subjects = inject(&options.inject, entry.name, made.subjects, options.seed);
                let needs = entry.needs(http_url);
                let nemesis = faulting.nemesis(needs);
                let direct = nemesis.without_proxies();
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
                let planned: Vec<Vec<Step>> = made
                    .subjects
                    .iter()
                    .map(|s| steps_of(Some(s), options))
                    .collect();
                for (number, subject) in made.subjects.into_iter().enumerate() {
                    if cancel.is_cancelled() {
                        break;
                    }
                    let ahead = Ahead {
                        later: [planned[number + 1..].concat(), later.clone()].concat(),
                        exact,
                    };
                    let twin = twins
                        .subjects
                        .iter()
                        .find(|t| t.name == subject.name)
                        .cloned();
                    let faults = Faults {
                        nemesis: if twin.is_some() { &nemesis } else { &direct },
                        subject: twin,
                    };
                    run_subject(subject, faults, options, &ctx, &tag, &ahead, &mut results).await;
                }
                made.tasks.iter().for_each(tokio::task::JoinHandle::abort);
                twins.tasks.iter().for_each(tokio::task::JoinHandle::abort);
            }
            Err(reason) => {
                progress.note(&format!("{}: skipped: {reason}", entry.name));
                progress.plan(&later, exact);
                results.skipped.push(Skipped {
                    name: entry.name.to_owned(),
                    suite: None,
                    reason,
                });
            }
        }
    }
    progress.plan(&[], true);
    faulting.stop().await;
    for server in servers {
        server.shutdown().await;
    }
    if !needed.is_empty() {
        // A container created while its start was being abandoned was never handed over.
        tokio::task::spawn_blocking(crate::cleanup::remove_labelled_containers)
            .await
            .ok();
    }
    results.interrupted = cancel.is_cancelled();
    results.settle();
    results.finished_at = now();
    results
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

/// How the consistency suite faults a subject: its nemesis, and the same subject going
/// through the proxies when network faults are scheduled.
struct Faults<'a> {
    nemesis: &'a dyn statebench_suites::faults::Nemesis,
    subject: Option<Subject>,
}

/// A step's planned length, when known (see [`Progress::plan`]).
type Step = Option<Duration>;

/// The steps planned after the subject under way.
struct Ahead {
    later: Vec<Step>,
    exact: bool,
}

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

/// Every step of every suite on `subject`.
fn steps_of(subject: Option<&Subject>, options: &RunOptions) -> Vec<Step> {
    options
        .suites
        .iter()
        .flat_map(|suite| suite_steps(*suite, subject, options))
        .collect()
}

/// The steps of an adapter whose subjects are not made yet: one subject, fit for the workload.
fn estimate(options: &RunOptions) -> Vec<Step> {
    steps_of(None, options)
}

async fn run_subject(
    subject: Subject,
    faults: Faults<'_>,
    options: &RunOptions,
    ctx: &Context<'_>,
    tag: &str,
    ahead: &Ahead,
    results: &mut Results,
) {
    // Before each suite, the plan from here on: what a suite skipped or stopped early leaves
    // out of it.
    let replan = |from: usize| {
        let mut steps: Vec<Step> = options.suites[from..]
            .iter()
            .flat_map(|suite| suite_steps(*suite, Some(&subject), options))
            .collect();
        steps.extend_from_slice(&ahead.later);
        ctx.progress.plan(&steps, ahead.exact);
    };
    let key_base = format!("sb-{tag}/{}/", subject.name.replace(':', "-"));
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
    results.subjects.push(info);
    for (number, suite) in options.suites.iter().enumerate() {
        if ctx.cancel.is_cancelled() {
            return;
        }
        replan(number);
        match suite {
            Suite::Conformance => {
                let prefix = format!("{key_base}conformance/");
                let checks = conformance::run(&subject, &prefix, ctx.progress).await;
                if let Some(info) = results.subjects.last_mut() {
                    info.disproved = Disproof::from_checks(&checks);
                }
                results.conformance.extend(checks);
            }
            Suite::Latency | Suite::Throughput => {
                timed(&subject, *suite, &key_base, ctx, results).await;
            }
            Suite::Consistency => {
                let clients = faults.subject.as_ref().unwrap_or(&subject);
                results
                    .consistency
                    .extend(consistency::run(clients, ctx, &key_base, faults.nemesis).await);
            }
        }
    }
}

/// One timed suite on one subject, or why it cannot run.
async fn timed(
    subject: &Subject,
    suite: Suite,
    key_base: &str,
    ctx: &Context<'_>,
    results: &mut Results,
) {
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
        return skipped(results, reason);
    }
    let prepared = Prepared {
        subject: subject.clone(),
        key_base: key_base.to_owned(),
    };
    let trials = match suite {
        Suite::Latency => latency(&prepared, ctx).await,
        _ => throughput(&prepared, ctx).await,
    };
    results.trials.extend(trials.done);
    if let Some(reason) = trials.stopped {
        skipped(results, format!("stopped: {reason}"));
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
                progress.note(&format!(
                    "{backend}: {} in {:.1} s",
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

/// A short tag that keeps this run's keys apart from other runs' on a shared server.
fn run_tag() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let mixed = statebench_suites::generate::derive_seed(
        nanos.as_nanos() as u64,
        u64::from(std::process::id()),
    );
    format!("{:08x}", mixed as u32)
}
