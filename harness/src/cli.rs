//! The command line, parsed by clap; values are checked in [`crate::options`].

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Benchmarks and checks the state behind stateless microservices: databases, caches and
/// event stores, side by side, on the same workloads.
#[derive(Debug, Parser)]
#[command(name = "statebench", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run suites on adapters and write results.json, report.md and index.html.
    Run(RunArgs),
    /// Compare two configurations in one job on this machine: base and head each provide
    /// their own servers (their own config file: images, URLs, persistence) and their trials
    /// run interleaved, then `compare` decides. Writes DIR/base and DIR/head (each a run
    /// directory), DIR/compare.md and DIR/compare.json; exit 0 no regression, 3 a
    /// regression, 1 bad input.
    Ab(AbArgs),
    /// List the adapters, the workloads with their settings, and the suites.
    List,
    /// Render report.md and index.html again from a run's results.json, next to it; or
    /// export it as CSV or Bencher Metric Format JSON.
    Report {
        /// The run directory, or the path to its results.json.
        path: PathBuf,
        /// What to write, comma-separated: html (index.html), md (report.md), csv
        /// (results.csv, one row per trial and operation) or bmf (bmf.json, Bencher Metric
        /// Format). Default: html,md.
        #[arg(long, value_delimiter = ',', value_name = "FORMAT,…")]
        format: Vec<String>,
        /// Print the one format asked for to standard output instead of writing a file.
        #[arg(long)]
        stdout: bool,
    },
    /// Build a static site from runs: an index of every run, each run's report with its
    /// results.json to download, and a page per workload comparing its runs.
    Site {
        /// Run directories (or their results.json).
        #[arg(required = true, value_name = "RUN_DIR")]
        runs: Vec<PathBuf>,
        /// Directory to write the site into; it must not be one of the runs.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Merge the shards of a sharded run (`run --shard I/N`, every index once) into one run
    /// that renders and compares like any other: histograms added, counts summed, throughput
    /// over the common window, each shard's figures kept. Writes results.json, report.md and
    /// index.html to DIR, the shards' interval logs and histories under DIR/shard-I/; exit 0
    /// merged (warnings on stderr and in the report), 3 merged with a failed check, 4 with an
    /// undecided one, 1 when the runs are not the shards of one run.
    Merge {
        /// The shards' run directories (or their results.json).
        #[arg(required = true, value_name = "RUN_DIR")]
        runs: Vec<PathBuf>,
        /// Directory to write the merged run into; it must not be one of the shards or hold a
        /// run already.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Built-in workloads.
    Workload {
        /// What to do with them.
        #[command(subcommand)]
        command: WorkloadCommand,
    },
    /// Check a history (JSON Lines, one operation per line) offline: exit 0 valid, 3
    /// invalid, 4 unknown, 1 bad input.
    Check(CheckArgs),
    /// Compare two runs, metric by metric over their repeated trials, and check by check:
    /// exit 0 no regression, 3 a regression, 1 bad input (4 under --strict when a verdict
    /// is inconclusive and nothing regressed).
    Compare(CompareArgs),
}

/// Arguments of `statebench compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The run compared against: a run directory or its results.json.
    pub base: PathBuf,
    /// The run judged: a run directory or its results.json.
    pub head: PathBuf,
    /// A gate file (YAML: alpha, min_trials, metrics with their delta, consistency).
    #[arg(long, value_name = "FILE")]
    pub gate: Option<PathBuf>,
    /// Write the comparison as JSON to FILE (`-`: to standard output, instead of Markdown).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the Markdown to FILE too (it fits a pull-request comment).
    #[arg(long, value_name = "FILE")]
    pub md: Option<PathBuf>,
    /// Exit 4 when a gated verdict is inconclusive and nothing regressed.
    #[arg(long)]
    pub strict: bool,
}

/// The subcommands of `statebench workload`.
#[derive(Debug, Subcommand)]
pub enum WorkloadCommand {
    /// Print a built-in workload as YAML, every field written out, to start a workload file
    /// from (`statebench run --workload FILE` reads it back).
    Show {
        /// The built-in workload's name (see `statebench list`).
        name: String,
    },
}

/// Arguments of `statebench check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The model: cas-register (read, write, cas [expected,new]; linearizability), counter
    /// (add, read; lost updates) or stream (append [expected,id], read; integrity and
    /// durability).
    #[arg(long, value_name = "MODEL")]
    pub model: String,
    /// The history file, or `-` for standard input.
    pub file: PathBuf,
    /// Seconds the linearizability search may take before it says unknown (default 60).
    #[arg(long, value_name = "SECS")]
    pub time_limit: Option<String>,
    /// Memory in MiB the search may use for remembered states before it says unknown
    /// (default 1024).
    #[arg(long, value_name = "MIB")]
    pub memory_limit: Option<u64>,
    /// Print the verdicts as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `statebench ab`.
#[derive(Debug, Default, clap::Args)]
pub struct AbArgs {
    /// Everything `run` takes; `--config` is both sides' unless a side has its own, and
    /// `--trials` defaults to 8.
    #[command(flatten)]
    pub run: RunArgs,
    /// The base side's config file (provisioning, images, URLs, persistence).
    #[arg(long, value_name = "FILE")]
    pub base_config: Option<PathBuf>,
    /// The head side's config file.
    #[arg(long, value_name = "FILE")]
    pub head_config: Option<PathBuf>,
    /// Faults put in front of the base side's subjects only, as `--inject` takes them (which
    /// applies to both sides).
    #[arg(long, value_delimiter = ',', value_name = "[SUBJECT:]FAULT,…")]
    pub base_inject: Vec<String>,
    /// Faults put in front of the head side's subjects only: `--head-inject latency=50us`
    /// shows what the gate makes of a head that is 50 µs slower per call.
    #[arg(long, value_delimiter = ',', value_name = "[SUBJECT:]FAULT,…")]
    pub head_inject: Vec<String>,
    /// The gate file: α, minimum trials, the gated metrics and their thresholds.
    #[arg(long, value_name = "FILE")]
    pub gate: Option<PathBuf>,
    /// Exit 4 when no metric regressed but a verdict is inconclusive.
    #[arg(long)]
    pub strict: bool,
}

/// Arguments of `statebench run`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct RunArgs {
    /// Adapters to run, comma-separated (default: all but `noop`; see `statebench list`).
    #[arg(long, value_delimiter = ',')]
    pub adapters: Vec<String>,
    /// Suites to run, comma-separated (default: conformance,latency,throughput,consistency).
    #[arg(long, value_delimiter = ',')]
    pub suites: Vec<String>,
    /// Fault scenarios of the consistency suite, comma-separated, each
    /// KIND[=ARG][:TARGET][@START[+LENGTH]]: none, kill, pause, restart, latency=20ms, stall,
    /// reset (default: the workload's, else none).
    #[arg(long, value_delimiter = ',', value_name = "FAULT,…")]
    pub faults: Vec<String>,
    /// A built-in workload's name or a workload YAML file (default: read-heavy).
    #[arg(long, value_name = "NAME|FILE")]
    pub workload: Option<String>,
    /// Length of every measured phase in seconds, overriding the workload's.
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    pub duration: Option<String>,
    /// Seed of every generator, overriding the workload's.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub seed: Option<String>,
    /// Run every latency and throughput step N times (default 1), each on fresh keys with its
    /// own warm-up, in rounds that take every subject in turn; `statebench compare` decides on
    /// the spread of the trials.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub trials: Option<String>,
    /// Directory to write the run into (default: statebench-results/<time>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// How servers are provided: auto, docker, native or external, for every backend or per
    /// backend (`postgres=native,redis=docker`). Default: auto.
    #[arg(long, value_name = "MODE|BACKEND=MODE,…")]
    pub provision: Option<String>,
    /// Faults put in front of subjects, comma-separated or repeated, each
    /// [SUBJECT:]latency=DURATION (200us, 1.5ms; units ns, us, µs, ms, s) or
    /// [SUBJECT:]errors=SHARE (1% or 0.01; failures are indefinite). Without SUBJECT, every
    /// subject; SUBJECT is a subject (`memory:state`) or an adapter (all its subjects).
    #[arg(long, value_delimiter = ',', value_name = "[SUBJECT:]FAULT,…")]
    pub inject: Vec<String>,
    /// A YAML file with provisioning, images and URLs per backend.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Threads that run the clients (default: half the cores, at least 1; 1 on 2 cores).
    /// With 1, every worker and every connection's task run on one thread and wake each
    /// other without crossing threads; more are for stores on other machines, when the
    /// client's CPU is the limit.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub threads: Option<String>,
    /// Run slice I of N of the run, as one of N load agents with the same options
    /// (0 <= I < N): this agent loads and writes only the keys k with k mod N = I (reads go
    /// to any key), offers 1/N of every rate and of every worker count (the remainder of a
    /// count to the lowest shards; a step that leaves a shard without workers is refused),
    /// and draws its operations from the seed and I. Trials keep the whole run's ids and
    /// record this shard's own rate or worker count; `statebench merge` adds the shards'
    /// results. `--shard 0/1` is a plain run.
    #[arg(long, value_name = "I/N", allow_negative_numbers = true)]
    pub shard: Option<String>,
    /// The shard count of a run whose agents take their index I from JOB_COMPLETION_INDEX,
    /// as a Kubernetes Indexed Job sets it (env STATEBENCH_SHARDS when not given). --shard
    /// wins over JOB_COMPLETION_INDEX, and must agree with this count.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub shards: Option<String>,
    /// When every shard's first timed step warms up: Unix time in seconds (1767225600,
    /// 1767225600.5) or RFC 3339 (2026-01-01T00:00:00Z). Each later step warms up on a
    /// timeline every shard computes alike: the step before's warm-up + its warm-up and
    /// measured lengths + --load-allowance. A shard loads a step's keys, then waits for its
    /// planned warm-up and measured starts, and warns when it is late; a time more than a
    /// second past starts at once, with a warning. Checks run after the timed steps. Clocks
    /// must agree (NTP). Without it, steps start as soon as their keys are loaded.
    #[arg(long, value_name = "TIME")]
    pub start_at: Option<String>,
    /// With --start-at: seconds from one step's measured end to the next step's warm-up,
    /// for the last operations (up to 10 s), the books check and the next step's load
    /// (default 20).
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    pub load_allowance: Option<String>,
    /// Where a sharded run's conformance and consistency suites run: first (shard 0 only;
    /// the other shards record them as skipped, with the reason) or all (every shard, each
    /// on keys of its own). Default: first.
    #[arg(long, value_name = "first|all")]
    pub shard_checks: Option<String>,
}
