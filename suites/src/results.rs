//! The results model: versioned, self-describing data that reports render and gates compare.
//!
//! Units are in the names (`_us`, `_ms`, `_per_s`); latencies are microseconds with
//! nanosecond resolution, read from HdrHistograms of 3 significant digits.

use crate::outcome::Outcome;
use crate::workload::{Arrivals, OpKind, Workload};
use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};
use statebench_adapters::Descriptor;

/// Bumped on every change that breaks readers of `results.json`.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything one run measured, and what it ran with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// [`SCHEMA_VERSION`] of the writer.
    pub schema_version: u32,
    /// The tool that wrote it.
    pub tool: Tool,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// RFC 3339, UTC.
    pub finished_at: String,
    /// The run was stopped (Ctrl-C) before it finished; what is here was measured.
    pub interrupted: bool,
    /// The resolved configuration, seed included.
    pub config: RunConfig,
    /// The machine the harness ran on.
    pub machine: Machine,
    /// The servers the run used, and how each was provided.
    pub servers: Vec<ServerInfo>,
    /// What was measured: one entry per adapter and interface.
    pub subjects: Vec<SubjectInfo>,
    /// Adapters or suites that did not run, and why.
    pub skipped: Vec<Skipped>,
    /// The conformance suite's verdicts.
    pub conformance: Vec<CheckResult>,
    /// Latency and throughput trials.
    pub trials: Vec<Trial>,
    /// Consistency runs: one per subject and fault scenario.
    #[serde(default)]
    pub consistency: Vec<ConsistencyRun>,
    /// How this run was merged from the shards of a sharded run (`statebench merge`): each
    /// shard's own figures and what disagreed; absent in a run that was not merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<Merge>,
}

/// The shards a merged run was made from, and what the merge found amiss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Merge {
    /// One entry per shard, by index.
    pub shards: Vec<ShardRun>,
    /// Where the shards disagreed (windows, versions, machines, missing trials): the merged
    /// figures stand, but read them with these in mind.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// One shard of a merged run, as it ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardRun {
    /// The shard's index (`run --shard I/N`).
    pub index: u32,
    /// The run directory it was read from, as given to `statebench merge`.
    pub source: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// RFC 3339, UTC.
    pub finished_at: String,
    /// The shard was stopped before it finished.
    pub interrupted: bool,
    /// The tool that ran it.
    pub tool: Tool,
    /// The machine it ran on.
    pub machine: Machine,
    /// Threads that ran its clients, where recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// Its own figures for each trial it ran.
    pub trials: Vec<ShardTrial>,
}

/// One shard's own figures for one trial of a merged run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardTrial {
    /// The merged trial's id.
    pub id: String,
    /// How the shard offered its part of the load.
    pub step: Step,
    /// Wall-clock start of its measured phase, nanoseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_unix_ns: Option<u64>,
    /// Its measured window.
    pub window_ms: f64,
    /// Operations it completed, any outcome.
    pub ops: u64,
    /// Its operations per second of its window.
    pub ops_per_s: f64,
    /// Its goodput.
    pub ok_per_s: f64,
    /// Its response time of successful operations at the 99th percentile.
    pub ok_p99_us: f64,
    /// Its HdrHistogram interval log, relative to the merged run's directory, when copied
    /// there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_log: Option<String>,
}

/// One run of the consistency suite: a subject's clients on a few hot keys, every operation
/// recorded, under one fault scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConsistencyRun {
    /// The subject.
    pub subject: String,
    /// The fault scenario as written (`none`, `kill:redis@1s+1s`, …).
    pub fault: String,
    /// The backend faulted, when one was.
    pub target: Option<String>,
    /// Why the scenario did not run, when it did not.
    pub skipped: Option<String>,
    /// Stopped early (Ctrl-C).
    pub interrupted: bool,
    /// How long the clients ran.
    pub duration_ms: f64,
    /// Client operations by how they ended.
    pub ops: HistoryCounts,
    /// Completed client operations per second.
    pub ops_per_s: f64,
    /// What the nemesis did, and when.
    pub nemesis: Vec<NemesisEvent>,
    /// The history files (JSON Lines), relative to the run directory.
    pub histories: Vec<String>,
    /// The checkers' verdicts, each with whether the subject promises the property.
    pub checks: Vec<ConsistencyCheck>,
    /// How stale reads were, for a state subject.
    pub staleness: Option<crate::check::staleness::Staleness>,
}

impl ConsistencyRun {
    /// Checks of a property the subject promises that came out invalid.
    pub fn failed(&self) -> impl Iterator<Item = &ConsistencyCheck> {
        self.checks
            .iter()
            .filter(|c| c.promised && c.verdict.validity == crate::check::Validity::Invalid)
    }

    /// Checks of a promised property that could not be decided.
    pub fn undecided(&self) -> impl Iterator<Item = &ConsistencyCheck> {
        self.checks
            .iter()
            .filter(|c| c.promised && c.verdict.validity == crate::check::Validity::Unknown)
    }
}

/// Operations of a history by how they ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryCounts {
    /// Took effect.
    pub ok: u64,
    /// Certainly did not.
    pub fail: u64,
    /// May have.
    pub info: u64,
}

/// A checker's verdict in a consistency run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyCheck {
    /// The verdict and its evidence.
    #[serde(flatten)]
    pub verdict: crate::check::Verdict,
    /// Whether the subject promises the property (by its declared capabilities); a broken
    /// promise fails the run, a property not promised is measured and shown.
    pub promised: bool,
    /// Why it is not promised, or what the check left out.
    pub note: String,
}

/// One action of the nemesis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NemesisEvent {
    /// When, from the clients' start.
    pub at_ms: f64,
    /// `kill`, `restart`, `pause`, `resume`, `latency`, `heal`, …
    pub action: String,
    /// The backend.
    pub target: String,
    /// Whether it worked.
    pub ok: bool,
    /// What was done, or what went wrong.
    pub detail: String,
}

/// Name, version and source revision of the tool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// `statebench`.
    pub name: String,
    /// The crate version.
    pub version: String,
    /// The git commit it was built from, where known.
    pub git_sha: Option<String>,
}

/// The run's resolved configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Adapters asked for.
    pub adapters: Vec<String>,
    /// Suites asked for, in the order they ran.
    pub suites: Vec<String>,
    /// Where the workload came from: `builtin:NAME` or a file path.
    pub workload_source: String,
    /// The workload with every default filled in and every override applied.
    pub workload: Workload,
    /// The seed every generator derives from.
    pub seed: u64,
    /// How many times each measured step ran (`--trials`); its trials are told apart by
    /// [`Trial::round`].
    #[serde(default = "one")]
    pub trials: u32,
    /// Faults put in front of subjects (`run --inject`), one spelling each:
    /// `latency=200us`, `memory:state:errors=0.5%`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inject: Vec<String>,
    /// Threads that ran the clients (`run --threads`); absent in results written before it
    /// was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// The slice of a sharded run this agent ran (`run --shard I/N`); absent in a whole run
    /// and in a merged one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
}

/// One agent's slice of a sharded run: agents with the same configuration and seed, each
/// with its own index, together offer the load of one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This agent's slice, from 0.
    pub index: u32,
    /// How many slices the run has.
    pub count: u32,
    /// The common start the agents agreed on (`--start-at`), RFC 3339 UTC, when one was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<String>,
}

fn one() -> u32 {
    1
}

/// The machine the harness ran on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// `linux`, `macos`, …
    pub os: String,
    /// `x86_64`, `aarch64`, …
    pub arch: String,
    /// Kernel release, where known.
    pub kernel: Option<String>,
    /// CPU model name, where known.
    pub cpu_model: Option<String>,
    /// Logical CPUs available to the harness.
    pub logical_cpus: usize,
    /// Physical memory, where known.
    pub memory_bytes: Option<u64>,
}

/// A server the run used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// `postgres`, `redis`, `valkey`, `nats`, `kurrentdb`.
    pub backend: String,
    /// The server's name and version as it states them (`PostgreSQL 17.12`), when it
    /// answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `docker`, `native` or `external`.
    pub provisioning: String,
    /// How it was reached, password hidden.
    pub url: String,
    /// The image, for docker.
    pub image: Option<String>,
    /// The image's id (`sha256:…`), for docker.
    pub image_id: Option<String>,
    /// The server binary, for native.
    pub binary: Option<String>,
}

/// Which contract a subject was driven through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interface {
    /// [`StateStore`](statebench_adapters::StateStore).
    State,
    /// [`EventStore`](statebench_adapters::EventStore).
    Events,
}

/// One adapter driven through one interface.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubjectInfo {
    /// `memory:state`, `postgres`, …
    pub name: String,
    /// The contract used.
    pub interface: Interface,
    /// What the adapter declares.
    pub descriptor: Descriptor,
    /// How its backend was provided (`embedded`, `docker`, `native`, `external`).
    pub provisioning: String,
    /// Declared capabilities that a check disproved: the declaration is not to be believed.
    #[serde(default)]
    pub disproved: Vec<Disproof>,
    /// Whether it kept every promise the run checked (filled in when the run ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correctness: Option<crate::standing::Correctness>,
}

/// A declared capability that a failed check disproves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disproof {
    /// The capability, as [`CheckResult::capability`] names it (`cas`, `read_your_writes`, …).
    pub capability: String,
    /// The check that failed.
    pub check: String,
    /// What the check saw.
    pub detail: String,
}

impl Disproof {
    /// The capabilities that `checks` disprove: one per failed check that verifies one.
    pub fn from_checks<'a>(checks: impl IntoIterator<Item = &'a CheckResult>) -> Vec<Self> {
        checks
            .into_iter()
            .filter(|c| c.status == CheckStatus::Fail)
            .filter_map(|c| {
                c.capability.as_ref().map(|capability| Self {
                    capability: capability.clone(),
                    check: c.check.clone(),
                    detail: c.detail.clone(),
                })
            })
            .collect()
    }
}

/// Loading a trial's fresh key space (or one stream per key) before it runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoadSummary {
    /// Keys (or streams) written.
    pub keys: u64,
    /// Wall-clock time it took.
    pub duration_ms: f64,
    /// Keys per second.
    pub keys_per_s: f64,
}

/// Something that did not run, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The adapter or subject.
    pub name: String,
    /// The suite, when only one suite was skipped.
    pub suite: Option<String>,
    /// Why, in one line.
    pub reason: String,
}

/// A conformance verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// The adapter does what the contract says.
    Pass,
    /// It does not; the detail says what happened.
    Fail,
    /// The adapter declares that it does not offer this; not run.
    Unsupported,
}

/// One conformance check on one subject.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The subject checked.
    pub subject: String,
    /// The check's name, for example `cas-exactly-one-winner`.
    pub check: String,
    /// The capability the check verifies, when it verifies one.
    pub capability: Option<String>,
    /// The verdict.
    pub status: CheckStatus,
    /// What failed, or why it was not run; empty on a pass.
    pub detail: String,
}

/// How a trial offered its load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "loop", rename_all = "lowercase")]
pub enum Step {
    /// Operations arrived on a schedule at `rate_per_s`.
    Open {
        /// Offered operations per second.
        rate_per_s: f64,
        /// The arrival process.
        arrivals: Arrivals,
        /// Operations in flight at most.
        max_in_flight: usize,
    },
    /// `concurrency` workers, each starting an operation when its last one ended.
    Closed {
        /// Workers.
        concurrency: usize,
    },
}

impl Step {
    /// The step as trial ids and benchmark names have it: `16-workers`, `1000-per-s`.
    pub fn slug(&self) -> String {
        match self {
            Step::Closed { concurrency } => format!("{concurrency}-workers"),
            Step::Open { rate_per_s, .. } => format!("{rate_per_s}-per-s"),
        }
    }
}

/// One measured step of a suite on one subject.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Unique in the run and safe as a file name.
    pub id: String,
    /// The subject measured.
    pub subject: String,
    /// `latency` or `throughput`.
    pub suite: String,
    /// The workload's name.
    pub workload: String,
    /// How the load was offered.
    pub step: Step,
    /// Which repetition of its step this is (0-based; see [`RunConfig::trials`]).
    #[serde(default)]
    pub round: u32,
    /// Stopped early (Ctrl-C); the numbers cover what ran.
    pub interrupted: bool,
    /// Loading the trial's own key space.
    pub load: Option<LoadSummary>,
    /// The warm-up, recorded apart and excluded from `measured`.
    pub warmup: Summary,
    /// The measured phase.
    pub measured: PhaseStats,
    /// The HdrHistogram interval log of the measured phase, relative to the run directory.
    pub interval_log: Option<String>,
    /// Checks of what the trial's operations left behind: lost updates, where it ran
    /// commands.
    #[serde(default)]
    pub checks: Vec<ConsistencyCheck>,
    /// The subject's standing after the whole run: a speed figure of a subject that failed a
    /// check is not comparable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standing: Option<crate::standing::Standing>,
}

/// Counts by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Done.
    pub ok: u64,
    /// Definitely not done.
    pub conflict: u64,
    /// Maybe done.
    pub indefinite: u64,
    /// Cannot work.
    pub fatal: u64,
}

impl Counts {
    /// Adds one count to `outcome`.
    pub fn add(&mut self, outcome: Outcome, n: u64) {
        match outcome {
            Outcome::Ok => self.ok += n,
            Outcome::Conflict => self.conflict += n,
            Outcome::Indefinite => self.indefinite += n,
            Outcome::Fatal => self.fatal += n,
        }
    }

    /// Every operation counted.
    pub fn total(&self) -> u64 {
        self.ok + self.conflict + self.indefinite + self.fatal
    }

    /// Operations that did not end `ok`.
    pub fn errors(&self) -> u64 {
        self.total() - self.ok
    }
}

/// The short account of a phase that is not measured (the warm-up).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Wall-clock length.
    pub duration_ms: f64,
    /// Operations completed.
    pub ops: u64,
    /// Completed operations per second.
    pub ops_per_s: f64,
    /// By outcome.
    pub counts: Counts,
}

/// The measured phase of a trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseStats {
    /// Wall-clock length, from the phase's start to its last completion.
    pub duration_ms: f64,
    /// Operations completed.
    pub ops: u64,
    /// Operations completed within the measured window per second of it, whatever their
    /// outcome.
    pub ops_per_s: f64,
    /// Operations that ended `ok` within the measured window per second of it (goodput).
    pub ok_per_s: f64,
    /// By outcome.
    pub counts: Counts,
    /// Started more than 1 ms after their intended start (open loop).
    pub late: u64,
    /// Scheduled before the phase ended but never started: the offered rate was not met.
    pub unstarted: u64,
    /// Started but still unfinished when the phase's grace period ran out.
    pub abandoned: u64,
    /// How late operations started relative to their schedule (open loop).
    pub start_lag: Option<Latency>,
    /// Response time over every operation and outcome.
    pub response: Latency,
    /// Service time over every operation and outcome.
    pub service: Latency,
    /// One entry per operation kind that ran.
    pub operations: Vec<OpStats>,
    /// Throughput and latency per interval.
    pub timeline: Vec<TimelinePoint>,
    /// The window throughput is counted over: a timed phase's set length (operations that
    /// ended after it are stragglers, in the latencies but not in `ops_per_s`), else
    /// `duration_ms`. Absent (0) in results written before it was recorded.
    #[serde(default)]
    pub window_ms: f64,
    /// Operations that ended after the measured window, any outcome.
    #[serde(default)]
    pub stragglers: u64,
    /// Response time over the operations that succeeded: the headline figure, so that a store
    /// that fails fast does not look fast.
    #[serde(default)]
    pub ok_response: Latency,
    /// Service time over the operations that succeeded.
    #[serde(default)]
    pub ok_service: Latency,
    /// Wall-clock time of the phase's start, nanoseconds since the Unix epoch: how shards of
    /// one run line up their windows. Absent in results written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_unix_ns: Option<u64>,
}

/// Whether a phase's stragglers matter: its last operation ended more than 5% of the
/// window (and at least 100 ms) after the window. In a closed loop every worker's last
/// operation ends a little after the window; that is not worth a warning, a call stuck for
/// seconds is.
pub fn overran(window_ms: f64, duration_ms: f64) -> bool {
    duration_ms - window_ms > (window_ms / 20.0).max(100.0)
}

/// One operation kind within a phase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpStats {
    /// The operation.
    pub op: OpKind,
    /// Completed, any outcome.
    pub ops: u64,
    /// Completed per second.
    pub ops_per_s: f64,
    /// By outcome.
    pub counts: Counts,
    /// Conflicts retried inside commands.
    pub retries: u64,
    /// Commands the domain refused (counted as ok).
    pub rejected: u64,
    /// Response time (intended start to end) over every outcome.
    pub response: Latency,
    /// Service time (actual start to end) over every outcome.
    pub service: Latency,
    /// The same per outcome, with the histograms.
    pub outcomes: Vec<OutcomeStats>,
}

/// One (operation, outcome) with its histograms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutcomeStats {
    /// The outcome.
    pub outcome: Outcome,
    /// Response time.
    pub response: Latency,
    /// Service time.
    pub service: Latency,
    /// Response times in nanoseconds, HdrHistogram V2+DEFLATE, base64.
    pub response_histogram: String,
    /// Service times in nanoseconds, HdrHistogram V2+DEFLATE, base64.
    pub service_histogram: String,
    /// One error message of this outcome, as an example.
    pub example_error: Option<String>,
}

/// Percentiles of one histogram, in microseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Values recorded.
    pub count: u64,
    /// Smallest.
    pub min_us: f64,
    /// Arithmetic mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// 99.99th percentile.
    pub p9999_us: f64,
    /// Largest.
    pub max_us: f64,
}

impl Latency {
    /// Reads the percentiles of a histogram of nanoseconds.
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        let us = |ns: u64| round3(ns as f64 / 1_000.0);
        let q = |quantile: f64| us(h.value_at_quantile(quantile));
        Self {
            count: h.len(),
            min_us: us(h.min()),
            mean_us: round3(h.mean() / 1_000.0),
            p50_us: q(0.5),
            p90_us: q(0.9),
            p99_us: q(0.99),
            p999_us: q(0.999),
            p9999_us: q(0.9999),
            max_us: us(h.max()),
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1_000.0).round() / 1_000.0
}

/// One interval of a phase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelinePoint {
    /// Interval start, from the phase's start.
    pub start_ms: f64,
    /// Interval end, from the phase's start.
    pub end_ms: f64,
    /// Completed in the interval, any outcome.
    pub ops: u64,
    /// Completed in the interval with an outcome other than ok.
    pub errors: u64,
    /// `ops` per second of the interval.
    pub ops_per_s: f64,
    /// Median response time of the interval.
    pub response_p50_us: Option<f64>,
    /// 99th percentile response time of the interval.
    pub response_p99_us: Option<f64>,
    /// Largest response time of the interval.
    pub response_max_us: Option<f64>,
}

/// Encodes a histogram as HdrHistogram V2+DEFLATE in base64, the form every HdrHistogram
/// implementation reads.
pub fn encode_histogram(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut bytes) {
        Ok(_) => base64::engine::general_purpose::STANDARD.encode(bytes),
        // Serializing into memory fails only on a histogram it cannot represent.
        Err(e) => format!("unencodable: {e:?}"),
    }
}

/// Decodes what [`encode_histogram`] wrote.
pub fn decode_histogram(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("not base64: {e}"))?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HdrHistogram: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stragglers_matter_when_the_last_ends_well_after_the_window() {
        // A closed loop's last operations end within a few milliseconds: no warning.
        assert!(!overran(2_000.0, 2_004.0));
        assert!(!overran(2_000.0, 2_100.0));
        // One call that timed out 10 s after a 2 s window: a warning.
        assert!(overran(2_000.0, 12_000.0));
        // Long windows allow 5%: 3 s late on a 60 s window is not worth one, 4 s is.
        assert!(!overran(60_000.0, 63_000.0));
        assert!(overran(60_000.0, 64_000.0));
    }
    use crate::engine::tally::histogram;

    fn checked(check: &str, capability: Option<&str>, status: CheckStatus) -> CheckResult {
        CheckResult {
            subject: "s".into(),
            check: check.into(),
            capability: capability.map(Into::into),
            status,
            detail: format!("{check} detail"),
        }
    }

    #[test]
    fn only_failed_checks_of_a_capability_disprove_it() {
        let checks = [
            checked("cas-exactly-one-winner", Some("cas"), CheckStatus::Fail),
            checked("cas-current-version-wins", Some("cas"), CheckStatus::Pass),
            checked(
                "read-your-writes",
                Some("read_your_writes"),
                CheckStatus::Unsupported,
            ),
            checked("versions-increase", None, CheckStatus::Fail),
        ];
        let disproved = Disproof::from_checks(&checks);
        assert_eq!(
            disproved,
            [Disproof {
                capability: "cas".into(),
                check: "cas-exactly-one-winner".into(),
                detail: "cas-exactly-one-winner detail".into(),
            }]
        );
    }

    #[test]
    fn subjects_written_before_disproofs_still_read() {
        let info = SubjectInfo {
            name: "memory:state".into(),
            interface: Interface::State,
            descriptor: statebench_adapters::memory::descriptor(),
            provisioning: "embedded".into(),
            disproved: Vec::new(),
            correctness: None,
        };
        let mut old = serde_json::to_value(&info).unwrap();
        old.as_object_mut().unwrap().remove("disproved");
        let back: SubjectInfo = serde_json::from_value(old).unwrap();
        assert_eq!(back, info);
    }

    #[test]
    fn histograms_survive_encoding() {
        let mut h = histogram();
        for v in [1_000, 2_000, 1_000_000, 3_000_000_000] {
            h.record(v).unwrap();
        }
        let back = decode_histogram(&encode_histogram(&h)).unwrap();
        assert_eq!(back, h);
        assert_eq!(Latency::of(&back).count, 4);
        assert!(decode_histogram("not base64!").is_err());
    }
}
