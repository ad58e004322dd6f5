//! The regression gate: `statebench compare BASE HEAD` (and the same-job A/B) decide, per
//! metric, whether head regressed from base, on the distributions of repeated trials, and
//! whether a check that passed now fails.
//!
//! The verdict of a gated metric (values on a log scale, δ its practical threshold, so
//! t = ln(1 + δ): a rise by δ or a fall by δ/(1 + δ), 5% up or 4.8% down for δ = 5%;
//! "worse" is lower goodput or higher latency):
//! 1. **inconclusive** when either side has fewer than `min_trials` trials, or a value is
//!    0, negative or not finite (no ratio to take);
//! 2. else **regressed** when the Holm-adjusted Mann–Whitney p < α and the Hodges–Lehmann
//!    shift is worse than t; **improved** when p < α and it is better than t;
//! 3. else **no change** when p < α (a real change no larger than δ, noted), or when the
//!    (1 − α) confidence interval of the shift lies within ±t;
//! 4. else **inconclusive**: not significant, and the interval reaches past ±t (too noisy,
//!    with an estimate of the trials each side would need).
//!
//! A metric not gated is shown with its statistics and judged by nothing. Consistency is
//! exact, not statistical: see [`consistency`].

mod compare;
pub mod config;
pub mod consistency;
mod render;
pub mod stats;
#[cfg(test)]
mod tests;
mod warnings;

pub use compare::{MetricComparison, compare};
pub use config::{Gate, GateError, Metric};
pub use consistency::{ConsistencyChange, Mark};
pub use render::{markdown, rule};
pub use warnings::Warning;

use serde::Serialize;

/// Bumped on every change that breaks readers of the comparison's JSON.
pub const SCHEMA_VERSION: u32 = 1;

/// Exit code of a comparison with a regression.
pub const EXIT_REGRESSED: i32 = 3;
/// Exit code of a comparison with no regression but an inconclusive verdict, under
/// `--strict`.
pub const EXIT_INCONCLUSIVE: i32 = 4;

/// A verdict on one metric, one check, or the whole comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Worse than the threshold, with confidence; or a check that passed now fails.
    Regressed,
    /// Better than the threshold, with confidence; or a check that failed now passes.
    Improved,
    /// Not enough evidence either way.
    Inconclusive,
    /// Any change is within the threshold.
    NoChange,
    /// Shown, not gated.
    NotGated,
}

impl Verdict {
    /// The words tables show.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Regressed => "REGRESSED",
            Self::Improved => "improved",
            Self::Inconclusive => "inconclusive",
            Self::NoChange => "no change",
            Self::NotGated => "not gated",
        }
    }
}

/// What a run compared was.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunInfo {
    /// When it started (RFC 3339).
    pub started_at: String,
    /// The tool's version.
    pub tool_version: String,
    /// The tool's git commit, where known.
    pub git_sha: Option<String>,
    /// Trials per step it asked for.
    pub trials: u32,
}

impl RunInfo {
    fn of(r: &statebench_suites::results::Results) -> Self {
        Self {
            started_at: r.started_at.clone(),
            tool_version: r.tool.version.clone(),
            git_sha: r.tool.git_sha.clone(),
            trials: r.config.trials,
        }
    }
}

/// Everything `compare` found: every metric of every step in both runs, every check that
/// changed, and how the runs differ.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The run compared against.
    pub base: RunInfo,
    /// The run judged.
    pub head: RunInfo,
    /// The gate applied.
    pub gate: Gate,
    /// Regressed when anything gated regressed; else inconclusive when anything gated was;
    /// else improved when anything improved; else no change.
    pub verdict: Verdict,
    /// The exit code of `compare` (0 or 3).
    pub exit_code: i32,
    /// The exit code of `compare --strict` (0, 3 or 4).
    pub exit_code_strict: i32,
    /// Metrics in Holm's family: gated and tested.
    pub gated_metrics: usize,
    /// Every metric of every step present in both runs.
    pub metrics: Vec<MetricComparison>,
    /// Checks whose verdict changed.
    pub consistency: Vec<ConsistencyChange>,
    /// How the runs differ beyond what was measured.
    pub warnings: Vec<Warning>,
}

impl Comparison {
    /// 0 without a regression, 3 with one; under `strict`, 4 when something gated was
    /// inconclusive and nothing regressed.
    pub fn exit_code(&self, strict: bool) -> i32 {
        match self.verdict {
            Verdict::Regressed => EXIT_REGRESSED,
            Verdict::Inconclusive if strict => EXIT_INCONCLUSIVE,
            _ => 0,
        }
    }

    /// Gated verdicts, metrics and checks together.
    fn gated_verdicts(&self) -> impl Iterator<Item = Verdict> + '_ {
        let metrics = self.metrics.iter().map(|m| m.verdict);
        let checks = self
            .consistency
            .iter()
            .filter(|_| self.gate.consistency)
            .map(|c| c.verdict);
        metrics.chain(checks).filter(|v| *v != Verdict::NotGated)
    }

    fn settle(&mut self) {
        let seen: Vec<Verdict> = self.gated_verdicts().collect();
        self.verdict = [Verdict::Regressed, Verdict::Inconclusive, Verdict::Improved]
            .into_iter()
            .find(|v| seen.contains(v))
            .unwrap_or(Verdict::NoChange);
        self.exit_code = self.exit_code(false);
        self.exit_code_strict = self.exit_code(true);
    }
}

/// The comparison as pretty-printed JSON.
pub fn json(comparison: &Comparison) -> String {
    let mut text = serde_json::to_string_pretty(comparison).unwrap_or_else(|e| {
        // Every field is a number, string, list or map; this cannot happen.
        format!("{{\"error\": \"the comparison could not be serialized: {e}\"}}")
    });
    text.push('\n');
    text
}
