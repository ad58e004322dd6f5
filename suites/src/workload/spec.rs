//! The workload file format. Every field a file may hold is here, with its default.

use crate::faults::FaultSpec;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::time::Duration;

/// A named, seeded description of the work a run offers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Short name, shown in reports.
    pub name: String,
    /// One sentence on what it models.
    #[serde(default)]
    pub description: String,
    /// Which keys (or streams) operations touch.
    pub keys: Keys,
    /// Relative weights of the operations.
    pub mix: Mix,
    /// Bytes per written value or event payload (at least 8: an account's balance).
    #[serde(default = "default_value_size")]
    pub value_size: u32,
    /// When set, sizes are uniform in `value_size..=value_size_max`.
    #[serde(default)]
    pub value_size_max: Option<u32>,
    /// Recorded apart and excluded from the results.
    #[serde(default = "default_warmup")]
    pub warmup: Phase,
    /// The measured phase of every trial.
    #[serde(default = "default_measure")]
    pub measure: Phase,
    /// Open-loop settings, used by the latency suite.
    #[serde(default)]
    pub open: OpenLoop,
    /// Closed-loop settings, used by the throughput suite.
    #[serde(default)]
    pub closed: ClosedLoop,
    /// Retries of a command after a conflict before it gives up.
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// Event subjects whose adapter keeps snapshots load from the newest one and save a new
    /// one every this many events; unset, every load replays the whole stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_every: Option<u32>,
    /// Seeds every generator; the CLI's `--seed` overrides it.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Settings of the consistency suite.
    #[serde(default)]
    pub consistency: Consistency,
}

/// The consistency suite: concurrent clients on a few hot keys, every operation recorded,
/// once per fault scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Consistency {
    /// Keys (registers and counters, or streams) the clients contend on.
    pub keys: u32,
    /// Concurrent clients.
    pub clients: usize,
    /// Operations per second offered by all clients together.
    pub rate: f64,
    /// How long the clients run, per fault scenario.
    pub duration: Seconds,
    /// After the load stops and every fault is healed, how long to wait before the final
    /// reads.
    pub quiet: Seconds,
    /// Fault scenarios, each on fresh keys (see [`FaultSpec`]); the CLI's `--faults`
    /// overrides them.
    pub faults: Vec<FaultSpec>,
}

impl Default for Consistency {
    fn default() -> Self {
        Self {
            keys: 5,
            clients: 10,
            rate: 1_000.0,
            duration: Seconds(Duration::from_secs(3)),
            quiet: Seconds(Duration::from_secs(1)),
            faults: vec![FaultSpec::NONE],
        }
    }
}

fn default_value_size() -> u32 {
    128
}
fn default_warmup() -> Phase {
    Phase {
        duration: Some(Seconds(Duration::from_secs(1))),
        ops: None,
    }
}
fn default_measure() -> Phase {
    Phase {
        duration: Some(Seconds(Duration::from_secs(5))),
        ops: None,
    }
}
fn default_max_retries() -> u32 {
    20
}
fn default_seed() -> u64 {
    1
}

/// The key space and how operations pick from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    /// Keys loaded before the first trial; inserts add more.
    pub count: u64,
    /// How keys are picked.
    #[serde(default)]
    pub distribution: Distribution,
    /// Zipfian exponent for `zipfian` and `latest` (YCSB uses 0.99).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theta: Option<f64>,
    /// `hotspot`: the share of keys that are hot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hot_fraction: Option<f64>,
    /// `hotspot`: the share of operations that go to hot keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hot_ops: Option<f64>,
}

/// How operations pick keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Distribution {
    /// Every key equally likely.
    #[default]
    Uniform,
    /// Key popularity follows Zipf's law with exponent `theta`; hot keys are spread over
    /// the key space.
    Zipfian,
    /// `hot_ops` of the operations go to `hot_fraction` of the keys.
    Hotspot,
    /// The most recently inserted keys are the most popular (Zipfian by recency).
    Latest,
}

/// Relative weights of the operations; zero leaves one out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mix {
    /// Read the current state (a get, or a replay of the stream).
    pub read: u32,
    /// A command through the aggregate executor: load, decide, write with the expected
    /// version, retry on conflict.
    pub command: u32,
    /// A blind write (no expectation).
    pub write: u32,
    /// Create a new key or stream.
    pub insert: u32,
    /// Append an event to a stream without expectation; needs an event store.
    pub append: u32,
}

/// The operations a workload mixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    /// See [`Mix::read`].
    Read,
    /// See [`Mix::command`].
    Command,
    /// See [`Mix::write`].
    Write,
    /// See [`Mix::insert`].
    Insert,
    /// See [`Mix::append`].
    Append,
}

impl OpKind {
    /// Every kind, in report order.
    pub const ALL: [Self; 5] = [
        Self::Read,
        Self::Command,
        Self::Write,
        Self::Insert,
        Self::Append,
    ];

    /// The name used in files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Command => "command",
            Self::Write => "write",
            Self::Insert => "insert",
            Self::Append => "append",
        }
    }

    /// Its position in [`OpKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl Mix {
    /// The weight of one operation.
    pub fn weight(&self, op: OpKind) -> u32 {
        match op {
            OpKind::Read => self.read,
            OpKind::Command => self.command,
            OpKind::Write => self.write,
            OpKind::Insert => self.insert,
            OpKind::Append => self.append,
        }
    }
}

/// How long a phase lasts: a duration or an operation count, exactly one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// Wall-clock length (`5s`, `500ms`, `2m`, or a number of seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Seconds>,
    /// Number of operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<u64>,
}

/// Open-loop settings: operations arrive on a schedule, whether or not earlier ones are done.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpenLoop {
    /// Offered rates in operations per second; the latency suite runs one trial per rate.
    pub rates: Vec<f64>,
    /// The arrival process.
    pub arrivals: Arrivals,
    /// Operations in flight at most (the client's connections); later arrivals wait, and
    /// the wait counts in their response time.
    pub max_in_flight: usize,
}

impl Default for OpenLoop {
    fn default() -> Self {
        Self {
            rates: vec![1000.0],
            arrivals: Arrivals::Constant,
            max_in_flight: 64,
        }
    }
}

/// When open-loop operations arrive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arrivals {
    /// Evenly spaced, like wrk2.
    #[default]
    Constant,
    /// Exponentially distributed gaps: independent clients.
    Poisson,
}

/// Closed-loop settings: each worker starts its next operation when the last one ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClosedLoop {
    /// Worker counts; the throughput suite runs one trial per count.
    pub concurrency: Vec<usize>,
}

impl Default for ClosedLoop {
    fn default() -> Self {
        Self {
            concurrency: vec![1, 4, 16],
        }
    }
}

/// A duration written as `5s`, `250ms`, `2m` or a number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seconds(pub Duration);

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(self.0).to_string())
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Text(String),
        }
        let invalid = |what: &str| {
            serde::de::Error::custom(format!(
                "invalid duration {what}: write it like 5s, 250ms, 2m, or a number of seconds"
            ))
        };
        match Raw::deserialize(d)? {
            Raw::Number(n) if (0.0..1e9).contains(&n) => Ok(Self(Duration::from_secs_f64(n))),
            Raw::Number(n) => Err(invalid(&n.to_string())),
            Raw::Text(t) => humantime::parse_duration(t.trim())
                .map(Self)
                .map_err(|_| invalid(&format!("`{t}`"))),
        }
    }
}
