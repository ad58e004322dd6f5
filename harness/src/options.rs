//! Checked, resolved options of a run: parsed once from the command line, then passed around
//! and recorded in the results.

use crate::cli::RunArgs;
use crate::inject::Injections;
use crate::registry;
use crate::shard::Sharding;
use statebench_suites::Workload;
use statebench_suites::suite::SUITES;
use statebench_suites::workload::{Phase, Seconds};
use std::path::PathBuf;
use std::time::Duration;

/// Input the user can fix: named in one line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

fn invalid(message: impl Into<String>) -> InvalidInput {
    InvalidInput(message.into())
}

/// A suite that can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    /// Contract checks.
    Conformance,
    /// Open-loop trials.
    Latency,
    /// Closed-loop trials.
    Throughput,
    /// Histories under faults, checked.
    Consistency,
}

impl Suite {
    /// The name the CLI and results use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Conformance => "conformance",
            Self::Latency => "latency",
            Self::Throughput => "throughput",
            Self::Consistency => "consistency",
        }
    }

    /// Every suite, in the order a run takes them.
    pub const ALL: [Self; 4] = [
        Self::Conformance,
        Self::Latency,
        Self::Throughput,
        Self::Consistency,
    ];

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// The default workload of `statebench run`.
pub const DEFAULT_WORKLOAD: &str = "read-heavy";

/// Everything a run needs, checked.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Adapter names, known to the registry.
    pub adapters: Vec<String>,
    /// Suites in the order they run.
    pub suites: Vec<Suite>,
    /// Where the workload came from: `builtin:NAME` or a path.
    pub workload_source: String,
    /// The workload with overrides applied.
    pub workload: Workload,
    /// The seed.
    pub seed: u64,
    /// How many times each measured step runs (at least 1).
    pub trials: u32,
    /// The run directory.
    pub out: PathBuf,
    /// How servers are provided, and where external ones are.
    pub servers: crate::config::Resolved,
    /// Subjects made by the caller (a library user's own adapters), run after the named
    /// adapters like any other; nothing can fault them (see [`crate::run_with`]).
    pub subjects: Vec<statebench_suites::Subject>,
    /// Faults put in front of subjects.
    pub inject: Injections,
    /// Threads of the async runtime that runs the clients (see [`runtime`]).
    pub threads: usize,
    /// This agent's slice of a sharded run (`--shard`, `--shards`), and its timeline;
    /// `None` for a run without shards.
    pub shard: Option<Sharding>,
}

impl RunOptions {
    /// Checks and resolves `args`.
    pub fn from_args(args: RunArgs) -> Result<Self, InvalidInput> {
        let adapters = adapters(&args.adapters)?;
        let suites = suites(&args.suites)?;
        let inject = Injections::parse(&args.inject, &adapters)?;
        let name = args.workload.as_deref().unwrap_or(DEFAULT_WORKLOAD);
        let mut workload = Workload::resolve(name).map_err(|e| invalid(e.to_string()))?;
        let workload_source = if statebench_suites::workload::builtin(name).is_some() {
            format!("builtin:{name}")
        } else {
            name.to_owned()
        };
        if let Some(text) = &args.duration {
            let seconds = positive_seconds(text)?;
            workload.measure = Phase {
                duration: Some(Seconds(seconds)),
                ops: None,
            };
        }
        if !args.faults.is_empty() {
            workload.consistency.faults = args
                .faults
                .iter()
                .map(|f| statebench_suites::faults::FaultSpec::parse(f).map_err(invalid))
                .collect::<Result<_, _>>()?;
        }
        if let Some(text) = &args.seed {
            workload.seed = text.trim().parse().map_err(|_| {
                invalid(format!(
                    "--seed must be a whole number from 0 to {}, got `{text}`",
                    u64::MAX
                ))
            })?;
        }
        let trials = match &args.trials {
            Some(text) => trials(text)?,
            None => 1,
        };
        let shard = Sharding::resolve(&args, |name| std::env::var(name).ok(), &workload, &suites)?;
        let servers = crate::config::resolve(args.config.as_deref(), args.provision.as_deref())?;
        let out = args.out.unwrap_or_else(default_out);
        let threads = match &args.threads {
            Some(text) => threads(text)?,
            None => default_threads(),
        };
        Ok(Self {
            adapters,
            suites,
            workload_source,
            seed: workload.seed,
            trials,
            workload,
            out,
            servers,
            subjects: Vec::new(),
            inject,
            threads,
            shard,
        })
    }
}

fn adapters(asked: &[String]) -> Result<Vec<String>, InvalidInput> {
    if asked.is_empty() {
        return Ok(registry::ADAPTERS
            .iter()
            .filter(|a| a.default)
            .map(|a| a.name.to_owned())
            .collect());
    }
    let mut chosen: Vec<String> = Vec::new();
    for name in asked.iter().map(|a| a.trim()) {
        if registry::find(name).is_none() {
            let known: Vec<&str> = registry::ADAPTERS.iter().map(|a| a.name).collect();
            return Err(invalid(format!(
                "unknown adapter `{name}` (known: {})",
                known.join(", ")
            )));
        }
        if !chosen.iter().any(|c| c == name) {
            chosen.push(name.to_owned());
        }
    }
    Ok(chosen)
}

fn suites(asked: &[String]) -> Result<Vec<Suite>, InvalidInput> {
    if asked.is_empty() {
        return Ok(Suite::ALL.to_vec());
    }
    let mut chosen = Vec::new();
    for name in asked.iter().map(|s| s.trim()) {
        let suite = Suite::parse(name).ok_or_else(|| {
            let known: Vec<&str> = SUITES.iter().map(|(n, _)| *n).collect();
            invalid(format!(
                "unknown suite `{name}` (known: {})",
                known.join(", ")
            ))
        })?;
        if !chosen.contains(&suite) {
            chosen.push(suite);
        }
    }
    Ok(chosen)
}

/// Most trials a run takes: far more than any comparison needs, few enough that a typo
/// (`--trials 1000000`) is caught rather than run for weeks.
const MAX_TRIALS: u32 = 1000;

fn trials(text: &str) -> Result<u32, InvalidInput> {
    match text.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_TRIALS).contains(&n) => Ok(n),
        _ => Err(invalid(format!(
            "--trials must be a whole number from 1 to {MAX_TRIALS}, got `{text}`"
        ))),
    }
}

/// Client threads unless `--threads` says otherwise: half the machine's cores, at least
/// one, since the servers a run starts share the machine. Measured with ci/bench-peers on
/// 2 cores (README, "Peer parity"): one thread wakes no other thread between a worker and
/// its connection, and leaves the other core to the server.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}
/// Most client threads: far more than any machine's cores, few enough to catch a typo.
const MAX_THREADS: usize = 1024;

fn threads(text: &str) -> Result<usize, InvalidInput> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        _ => Err(invalid(format!(
            "--threads must be a whole number from 1 to {MAX_THREADS}, got `{text}`"
        ))),
    }
}

/// The async runtime of a run with `threads` client threads: a current-thread runtime for
/// one (the workers, the connections' tasks and the engine's monitor share it), else a
/// multi-threaded one with that many workers.
pub fn runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(threads);
        builder
    };
    builder.enable_all().build()
}

fn positive_seconds(text: &str) -> Result<Duration, InvalidInput> {
    let bad = || {
        invalid(format!(
            "--duration must be a positive number of seconds, got `{text}`"
        ))
    };
    let seconds: f64 = text.trim().parse().map_err(|_| bad())?;
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 1e7) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn default_out() -> PathBuf {
    stamped("")
}

/// `statebench-results/<prefix><time>`: where a run goes unless told.
pub fn stamped(prefix: &str) -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace([':', '-'], "")
        .replace('T', "-")
        .trim_end_matches('Z')
        .to_owned();
    PathBuf::from("statebench-results").join(format!("{prefix}{stamp}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(edit: impl FnOnce(&mut RunArgs)) -> RunArgs {
        let mut a = RunArgs::default();
        edit(&mut a);
        a
    }

    #[test]
    fn defaults_resolve_to_every_default_adapter_and_suite() {
        let o = RunOptions::from_args(RunArgs::default()).unwrap();
        let every_but_noop = [
            "memory",
            "postgres",
            "redis",
            "cache-aside",
            "valkey",
            "cache-aside-valkey",
            "pg-eventlog",
            "jetstream",
            "kurrentdb",
            "http",
        ];
        assert_eq!(o.adapters, every_but_noop);
        assert_eq!(o.suites, Suite::ALL);
        assert_eq!(o.trials, 1);
        assert_eq!(o.workload_source, "builtin:read-heavy");
        assert!(o.out.starts_with("statebench-results"));
    }

    #[test]
    fn bad_values_are_refused_with_the_reason() {
        let cases: [(RunArgs, &str); 10] = [
            (
                args(|a| a.threads = Some("0".into())),
                "--threads must be a whole number from 1",
            ),
            (args(|a| a.threads = Some("two".into())), "got `two`"),
            (
                args(|a| a.trials = Some("0".into())),
                "--trials must be a whole number from 1",
            ),
            (args(|a| a.trials = Some("2.5".into())), "got `2.5`"),
            (
                args(|a| a.adapters = vec!["mongo".into()]),
                "unknown adapter `mongo` (known: memory, postgres,",
            ),
            (
                args(|a| a.suites = vec!["speed".into()]),
                "unknown suite `speed`",
            ),
            (
                args(|a| a.duration = Some("0".into())),
                "--duration must be a positive number",
            ),
            (args(|a| a.duration = Some("-3".into())), "got `-3`"),
            (args(|a| a.duration = Some("soon".into())), "got `soon`"),
            (
                args(|a| a.seed = Some("-1".into())),
                "--seed must be a whole number",
            ),
        ];
        for (a, message) in cases {
            let error = RunOptions::from_args(a).unwrap_err().to_string();
            assert!(error.contains(message), "`{error}` should say `{message}`");
        }
    }

    #[test]
    fn a_shard_and_its_start_go_into_the_options() {
        let o = RunOptions::from_args(args(|a| {
            a.workload = Some("gate".into());
            a.shard = Some("1/2".into());
            a.start_at = Some("2026-01-01T00:00:00Z".into());
            a.load_allowance = Some("2.5".into());
        }))
        .unwrap();
        let shard = o.shard.expect("a sharded run");
        assert_eq!(shard.slice.to_string(), "1/2");
        let start = std::time::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        assert_eq!(shard.start_at, Some(start));
        assert_eq!(shard.load_allowance, Duration::from_millis(2_500));
        assert!(!shard.runs_checks(), "shard 1 leaves the checks to shard 0");
        let error = RunOptions::from_args(args(|a| a.shard = Some("0/2".into())))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("throughput step `1-workers` (1 workers) over 2 shards"),
            "read-heavy's one worker cannot be halved: {error}"
        );
    }

    #[test]
    fn overrides_apply_to_the_workload() {
        let o = RunOptions::from_args(args(|a| {
            a.duration = Some("1.5".into());
            a.seed = Some("99".into());
            a.suites = vec!["latency".into(), "latency".into()];
        }))
        .unwrap();
        assert_eq!(
            o.workload.measure.duration,
            Some(Seconds(Duration::from_millis(1_500)))
        );
        assert_eq!((o.seed, o.workload.seed), (99, 99));
        assert_eq!(o.suites, [Suite::Latency]);
    }
}
