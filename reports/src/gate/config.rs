//! The gate file: which metrics are gated, their practical thresholds, α and the trials
//! needed. YAML, unknown fields refused, bad values named with the file and the field.

use serde::{Deserialize, Serialize};
use std::path::Path;

/// Defaults of the gate, as measured with `ci/gate-error-rates` (README, "Gate error
/// rates"): with 8 trials a side on PostgreSQL, 0 false alarms in 30 A/A comparisons, and
/// every slowdown of 2δ of p50 or more caught in 19 of 20.
pub mod defaults {
    /// Family-wise false-alarm rate per comparison.
    pub const ALPHA: f64 = 0.05;
    /// Trials each side needs before a metric is judged.
    pub const MIN_TRIALS: u32 = 5;
    /// Practical threshold of goodput: a change smaller than 5% is not a regression.
    pub const GOODPUT_DELTA: f64 = 0.05;
    /// Practical threshold of the median response time.
    pub const P50_DELTA: f64 = 0.10;
    /// Practical threshold of the 99th percentile response time.
    pub const P99_DELTA: f64 = 0.20;
}

/// A metric the gate can judge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Operations that ended ok per second of the measured window (higher is better).
    Goodput,
    /// Median response time of successful operations (lower is better).
    P50,
    /// 99th percentile response time of successful operations (lower is better).
    P99,
}

impl Metric {
    /// Every metric, in the order tables show them.
    pub const ALL: [Metric; 3] = [Metric::Goodput, Metric::P50, Metric::P99];

    /// The name in files and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Goodput => "goodput",
            Self::P50 => "p50",
            Self::P99 => "p99",
        }
    }

    /// Whether a larger value is better.
    pub fn higher_is_better(self) -> bool {
        self == Self::Goodput
    }

    /// The value of a trial.
    pub fn of(self, trial: &statebench_suites::results::Trial) -> f64 {
        match self {
            Self::Goodput => trial.measured.ok_per_s,
            Self::P50 => trial.measured.ok_response.p50_us,
            Self::P99 => trial.measured.ok_response.p99_us,
        }
    }

    /// A value as people read it, with its unit.
    pub fn show(self, value: f64) -> String {
        match self {
            Self::Goodput => format!("{}/s", crate::format::rate(value)),
            Self::P50 | Self::P99 => crate::format::latency_us(value),
        }
    }
}

/// A fraction, written in the gate file as `5%` or `0.05`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FractionText", into = "f64")]
pub struct Fraction(pub f64);

impl From<Fraction> for f64 {
    fn from(f: Fraction) -> f64 {
        f.0
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum FractionText {
    Number(f64),
    Text(String),
}

impl TryFrom<FractionText> for Fraction {
    type Error = String;

    fn try_from(text: FractionText) -> Result<Self, String> {
        let value = match text {
            FractionText::Number(x) => x,
            FractionText::Text(t) => match t.trim().strip_suffix('%') {
                Some(pct) => pct.trim().parse::<f64>().map(|p| p / 100.0),
                None => t.trim().parse::<f64>(),
            }
            .map_err(|_| format!("`{t}` is not a fraction (write 5% or 0.05)"))?,
        };
        if !value.is_finite() || value < 0.0 {
            return Err(format!("{value} is not a fraction of 0 or more"));
        }
        Ok(Self(value))
    }
}

/// A fraction written as `5%` or `0.05`.
fn fraction<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Fraction::deserialize(d).map(|f| f.0)
}

/// How one metric is gated.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricGate {
    /// The practical threshold δ: a change must be larger to count.
    pub delta: Fraction,
}

/// The gated metrics; a metric left out is shown, not gated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// Goodput.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goodput: Option<MetricGate>,
    /// Median response time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50: Option<MetricGate>,
    /// 99th percentile response time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<MetricGate>,
}

/// The gate: what `compare` fails on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Gate {
    /// Chance of any false alarm per comparison (Holm over every gated metric).
    #[serde(deserialize_with = "fraction")]
    pub alpha: f64,
    /// Trials each side needs; with fewer, a metric is inconclusive.
    pub min_trials: u32,
    /// The gated metrics and their thresholds; a metric left out is shown, not gated.
    pub metrics: Metrics,
    /// Whether a consistency regression (a check that passed and now fails) fails the gate.
    pub consistency: bool,
}

impl Default for Gate {
    fn default() -> Self {
        let delta = |d| MetricGate { delta: Fraction(d) };
        Self {
            alpha: defaults::ALPHA,
            min_trials: defaults::MIN_TRIALS,
            metrics: Metrics {
                goodput: Some(delta(defaults::GOODPUT_DELTA)),
                p50: Some(delta(defaults::P50_DELTA)),
                p99: Some(delta(defaults::P99_DELTA)),
            },
            consistency: true,
        }
    }
}

/// Why a gate file could not be loaded: the file, the line and field where known, and what
/// is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}{}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default(),
    if field.is_empty() { String::new() } else { format!(": field `{field}`") })]
pub struct GateError {
    /// The file.
    pub path: String,
    /// The 1-based line, where known.
    pub line: Option<usize>,
    /// The field's path (`metrics.p99.delta`); empty for the whole file.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Gate {
    /// The practical threshold of `metric`, when it is gated.
    pub fn delta(&self, metric: Metric) -> Option<f64> {
        let gated = match metric {
            Metric::Goodput => self.metrics.goodput,
            Metric::P50 => self.metrics.p50,
            Metric::P99 => self.metrics.p99,
        };
        gated.map(|g| g.delta.0)
    }

    /// Reads a gate file.
    pub fn load(path: &Path) -> Result<Gate, GateError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| GateError {
            path: shown.clone(),
            line: None,
            field: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(&shown, &text)
    }

    /// Parses and checks a gate file's text; `path` names it in errors.
    pub fn parse(path: &str, text: &str) -> Result<Gate, GateError> {
        let error = |line, field: String, message: String| GateError {
            path: path.to_owned(),
            line,
            field,
            message,
        };
        // An empty file is the default gate.
        if text.trim().is_empty() {
            return Ok(Gate::default());
        }
        let de = serde_yaml::Deserializer::from_str(text);
        let gate: Gate = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let field = match field.trim_end_matches(".?").trim_end_matches('?') {
                "." => String::new(),
                known => known.to_owned(),
            };
            let inner = e.into_inner();
            let line = inner.location().map(|l| l.line());
            let mut message = inner.to_string();
            if let Some((front, rest)) = message.split_once(": ")
                && !front.is_empty()
                && field.starts_with(front)
            {
                message = rest.to_owned();
            }
            if let Some(at) = inner.location() {
                let suffix = format!(" at line {} column {}", at.line(), at.column());
                if let Some(rest) = message.strip_suffix(&suffix) {
                    message = rest.to_owned();
                }
            }
            error(line, field, message)
        })?;
        gate.check()
            .map_err(|(field, message)| error(line_of(text, field), field.to_owned(), message))?;
        Ok(gate)
    }

    /// Values serde accepts that make no sense: the field and why.
    fn check(&self) -> Result<(), (&'static str, String)> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(("alpha", format!("{} is not between 0 and 1", self.alpha)));
        }
        if self.min_trials == 0 {
            return Err(("min_trials", "must be at least 1".into()));
        }
        Ok(())
    }
}

/// The line of a top-level field in YAML text, where it is written.
fn line_of(text: &str, field: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.starts_with(&format!("{field}:")))
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gate_file_takes_percentages_and_fractions() {
        let gate = Gate::parse(
            "gate.yaml",
            "alpha: 1%\nmin_trials: 8\nmetrics:\n  goodput: {delta: 5%}\n  p99: {delta: 0.25}\n\
             consistency: false\n",
        )
        .unwrap();
        assert_eq!(gate.alpha, 0.01);
        assert_eq!(gate.min_trials, 8);
        assert_eq!(gate.delta(Metric::Goodput), Some(0.05));
        assert_eq!(gate.delta(Metric::P99), Some(0.25));
        // Left out: shown, not gated.
        assert_eq!(gate.delta(Metric::P50), None);
        assert!(!gate.consistency);
    }

    #[test]
    fn a_missing_field_takes_the_default() {
        assert_eq!(Gate::parse("g", "alpha: 0.05\n").unwrap(), Gate::default());
        assert_eq!(Gate::parse("g", "").unwrap(), Gate::default());
    }

    #[test]
    fn a_bad_value_is_named_with_the_file_and_field() {
        let e = Gate::parse("gate.yaml", "metrics:\n  p99: {delta: lots}\n").unwrap_err();
        assert_eq!(e.field, "metrics.p99.delta");
        assert!(
            e.to_string()
                .starts_with("gate.yaml:2: field `metrics.p99.delta`"),
            "{e}"
        );
        let e = Gate::parse("gate.yaml", "alfa: 0.05\n").unwrap_err();
        assert!(e.to_string().contains("unknown field `alfa`"), "{e}");
        let e = Gate::parse("gate.yaml", "metrics:\n  p95: {delta: 5%}\n").unwrap_err();
        assert!(e.to_string().contains("p95"), "{e}");
        let e = Gate::parse("gate.yaml", "min_trials: 3\nalpha: 2\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "gate.yaml:2: field `alpha`: 2 is not between 0 and 1"
        );
        let e = Gate::parse("gate.yaml", "metrics:\n  p50: {delta: -5%}\n").unwrap_err();
        assert!(e.to_string().contains("metrics.p50.delta"), "{e}");
    }
}
