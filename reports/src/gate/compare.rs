//! Judging every metric of every step present in both runs.

use super::config::{Gate, Metric};
use super::stats::{self, Method};
use super::{Comparison, RunInfo, SCHEMA_VERSION, Verdict};
use serde::Serialize;
use statebench_suites::results::{Results, Trial};

/// One metric of one step, compared.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricComparison {
    /// The subject.
    pub subject: String,
    /// The workload's name.
    pub workload: String,
    /// `latency` or `throughput`.
    pub suite: String,
    /// The step's slug (`16-workers`, `1000-per-s`).
    pub step: String,
    /// The step in words (`16 workers`, `1.0 k/s`).
    pub step_label: String,
    /// The metric.
    pub metric: Metric,
    /// Whether it is gated (in Holm's family when it could be tested).
    pub gated: bool,
    /// Its practical threshold, when gated.
    pub delta_pct: Option<f64>,
    /// The base trials' values (ok/s or µs), in round order.
    pub base_values: Vec<f64>,
    /// The head trials' values.
    pub head_values: Vec<f64>,
    /// Median of the base values.
    pub base_median: f64,
    /// Median of the head values.
    pub head_median: f64,
    /// Hodges–Lehmann shift of the log values, as a change in percent.
    pub change_pct: Option<f64>,
    /// Low end of its (1 − α) confidence interval; absent when too few trials reach it.
    pub ci_low_pct: Option<f64>,
    /// High end of the interval.
    pub ci_high_pct: Option<f64>,
    /// Two-sided Mann–Whitney p-value.
    pub p_value: Option<f64>,
    /// How `p_value` was found.
    pub p_method: Option<Method>,
    /// `p_value` after Holm's correction over every gated metric tested.
    pub p_holm: Option<f64>,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, when the verdict needs a word: what would settle it, a change below δ.
    pub note: String,
}

/// The statistics of one metric, before Holm's correction.
struct Tested {
    shift: f64,
    interval: Option<(f64, f64)>,
    p: f64,
    method: Method,
}

/// Compares `head` with `base` under `gate`.
pub fn compare(base: &Results, head: &Results, gate: &Gate) -> Comparison {
    let mut metrics = Vec::new();
    for (b, h) in groups(base, head) {
        for metric in Metric::ALL {
            metrics.push(measure(&b, &h, metric, gate));
        }
    }
    let tested: Vec<usize> = metrics
        .iter()
        .enumerate()
        .filter(|(_, (m, t))| m.gated && t.is_some())
        .map(|(i, _)| i)
        .collect();
    let raw: Vec<f64> = tested
        .iter()
        .filter_map(|&i| metrics[i].1.as_ref().map(|t| t.p))
        .collect();
    for (&i, p) in tested.iter().zip(stats::holm(&raw)) {
        metrics[i].0.p_holm = Some(p);
    }
    let metrics: Vec<MetricComparison> = metrics
        .into_iter()
        .map(|(m, t)| judge(m, t.as_ref(), gate))
        .collect();
    let mut comparison = Comparison {
        schema_version: SCHEMA_VERSION,
        base: RunInfo::of(base),
        head: RunInfo::of(head),
        gate: gate.clone(),
        verdict: Verdict::NoChange,
        exit_code: 0,
        exit_code_strict: 0,
        gated_metrics: tested.len(),
        metrics,
        consistency: super::consistency::changes(base, head, gate),
        warnings: super::warnings::warnings(base, head),
    };
    comparison.settle();
    comparison
}

/// A trial's group: subject, workload, suite and step; its round is not part of it.
pub(super) fn key(t: &Trial) -> (String, String, String, String) {
    (
        t.subject.clone(),
        t.workload.clone(),
        t.suite.clone(),
        t.step.slug(),
    )
}

/// The trials of every group present in both runs, in head's order, interrupted trials
/// left out.
fn groups<'a>(base: &'a Results, head: &'a Results) -> Vec<(Vec<&'a Trial>, Vec<&'a Trial>)> {
    let mut keys = Vec::new();
    for t in &head.trials {
        if !keys.contains(&key(t)) {
            keys.push(key(t));
        }
    }
    let of = |r: &'a Results, k: &(String, String, String, String)| -> Vec<&'a Trial> {
        let mut found: Vec<&Trial> = r
            .trials
            .iter()
            .filter(|t| !t.interrupted && key(t) == *k)
            .collect();
        found.sort_by_key(|t| t.round);
        found
    };
    keys.iter()
        .map(|k| (of(base, k), of(head, k)))
        .filter(|(b, h)| !b.is_empty() && !h.is_empty())
        .collect()
}

/// The values of one metric, and its statistics when they can be computed.
fn measure(
    base: &[&Trial],
    head: &[&Trial],
    metric: Metric,
    gate: &Gate,
) -> (MetricComparison, Option<Tested>) {
    let first = head[0];
    let values = |ts: &[&Trial]| -> Vec<f64> { ts.iter().map(|t| metric.of(t)).collect() };
    let (x, y) = (values(base), values(head));
    let sorted_median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        stats::median(&v)
    };
    let comparison = MetricComparison {
        subject: first.subject.clone(),
        workload: first.workload.clone(),
        suite: first.suite.clone(),
        step: first.step.slug(),
        step_label: crate::document::step_words(&first.step),
        metric,
        gated: gate.delta(metric).is_some(),
        delta_pct: gate.delta(metric).map(|d| d * 100.0),
        base_median: sorted_median(&x),
        head_median: sorted_median(&y),
        base_values: x,
        head_values: y,
        change_pct: None,
        ci_low_pct: None,
        ci_high_pct: None,
        p_value: None,
        p_method: None,
        p_holm: None,
        verdict: Verdict::Inconclusive,
        note: String::new(),
    };
    let tested = test(&comparison, gate);
    (comparison, tested)
}

/// The statistics, when both sides have enough trials with positive values.
fn test(c: &MetricComparison, gate: &Gate) -> Option<Tested> {
    let enough = |v: &[f64]| v.len() >= gate.min_trials as usize;
    let positive = |v: &[f64]| v.iter().all(|x| x.is_finite() && *x > 0.0);
    let (x, y) = (&c.base_values, &c.head_values);
    if !(enough(x) && enough(y) && positive(x) && positive(y)) {
        return None;
    }
    let ln = |v: &[f64]| -> Vec<f64> { v.iter().map(|x| x.ln()).collect() };
    let (lx, ly) = (ln(x), ln(y));
    let (p, method) = stats::mann_whitney_p(&lx, &ly);
    Some(Tested {
        shift: stats::hodges_lehmann(&lx, &ly),
        interval: stats::shift_interval(&lx, &ly, gate.alpha),
        p,
        method,
    })
}

/// A log shift as a change in percent.
fn pct(shift: f64) -> f64 {
    shift.exp_m1() * 100.0
}

/// Fills in the statistics and the verdict (the rule is in the module's documentation).
fn judge(mut c: MetricComparison, tested: Option<&Tested>, gate: &Gate) -> MetricComparison {
    let Some(t) = tested else {
        c.verdict = if c.gated {
            Verdict::Inconclusive
        } else {
            Verdict::NotGated
        };
        c.note = untestable(&c, gate);
        return c;
    };
    c.change_pct = Some(pct(t.shift));
    c.ci_low_pct = t.interval.map(|(lo, _)| pct(lo));
    c.ci_high_pct = t.interval.map(|(_, hi)| pct(hi));
    c.p_value = Some(t.p);
    c.p_method = Some(t.method);
    let (Some(delta), Some(p_holm)) = (gate.delta(c.metric), c.p_holm) else {
        c.verdict = Verdict::NotGated;
        return c;
    };
    let limit = delta.ln_1p();
    // Positive when head is worse.
    let worse = if c.metric.higher_is_better() {
        -t.shift
    } else {
        t.shift
    };
    let within = t
        .interval
        .is_some_and(|(lo, hi)| lo >= -limit && hi <= limit);
    (c.verdict, c.note) = if p_holm < gate.alpha && worse > limit {
        (Verdict::Regressed, String::new())
    } else if p_holm < gate.alpha && -worse > limit {
        (Verdict::Improved, String::new())
    } else if p_holm < gate.alpha {
        let below = format!(
            "a change of {} (below δ {})",
            signed_pct(pct(t.shift)),
            delta_pct(delta * 100.0)
        );
        (Verdict::NoChange, below)
    } else if within {
        (Verdict::NoChange, String::new())
    } else {
        let mut note = settle_note(&c, t.interval, gate);
        if t.interval.is_none() {
            let (n, m) = (c.base_values.len(), c.head_values.len());
            note = format!(
                "with {} no interval reaches {:.0}% confidence (at most {:.0}%); {note}",
                trials_pair(n, m),
                (1.0 - gate.alpha) * 100.0,
                stats::attainable_confidence(n, m) * 100.0
            );
        }
        (Verdict::Inconclusive, note)
    };
    c
}

/// Why a metric could not be tested, and what would settle it.
fn untestable(c: &MetricComparison, gate: &Gate) -> String {
    let (n, m) = (c.base_values.len(), c.head_values.len());
    let bad = |v: &[f64]| v.iter().filter(|x| !(x.is_finite() && **x > 0.0)).count();
    let (bad_base, bad_head) = (bad(&c.base_values), bad(&c.head_values));
    if bad_base + bad_head > 0 {
        return format!(
            "{} 0 or missing in {bad_base} of {n} base and {bad_head} of {m} head trials: \
             no ratio to compare",
            c.metric.as_str()
        );
    }
    let few = format!(
        "{}, fewer than the {} each needed",
        trials_pair(n, m),
        gate.min_trials
    );
    match settle_note(c, None, gate) {
        note if note.is_empty() => few,
        note => format!("{few}; {note}"),
    }
}

/// `3 trials each`, `2 trials on base and 4 on head`.
fn trials_pair(n: usize, m: usize) -> String {
    let s = |k: usize| if k == 1 { "" } else { "s" };
    if n == m {
        format!("{n} trial{} each", s(n))
    } else {
        format!("{n} trial{} on base and {m} on head", s(n))
    }
}

/// `noise ±14%: about 18 trials each would settle it`: the interval's half-width (or, with
/// no interval, the one the values' spread implies) and the trials per side that would
/// shrink it to δ, as half-widths shrink with the square root of the trials.
fn settle_note(c: &MetricComparison, interval: Option<(f64, f64)>, gate: &Gate) -> String {
    let (n, m) = (c.base_values.len(), c.head_values.len());
    let half = match interval {
        Some((lo, hi)) => (hi - lo) / 2.0,
        None => {
            let logs = |v: &[f64]| -> Vec<f64> { v.iter().map(|x| x.ln()).collect() };
            let (sx, sy) = (
                stats::std_dev(&logs(&c.base_values)),
                stats::std_dev(&logs(&c.head_values)),
            );
            if n < 2 || m < 2 {
                return "one trial shows no noise: run more".into();
            }
            let pooled =
                (((n - 1) as f64 * sx * sx + (m - 1) as f64 * sy * sy) / (n + m - 2) as f64).sqrt();
            // The HL interval is about as wide as the t interval of the means, times
            // √(π/3) for normal data.
            let z = stats::normal_quantile(1.0 - gate.alpha / 2.0);
            z * (std::f64::consts::PI / 3.0).sqrt()
                * pooled
                * (1.0 / n as f64 + 1.0 / m as f64).sqrt()
        }
    };
    // The half-width in log points: symmetric, and close to a percentage when small.
    let noise = format!("noise ±{}", plain_pct(half * 100.0));
    let Some(limit) = gate.delta(c.metric).map(f64::ln_1p).filter(|l| *l > 0.0) else {
        return noise;
    };
    let now = (n + m) as f64 / 2.0;
    let needed = (now * (half / limit).powi(2)).ceil() as usize;
    let needed = needed
        .max(gate.min_trials as usize)
        .max(n.max(m) + 1)
        .min(100_000);
    format!("{noise}: about {needed} trials each would settle it")
}

/// `+34%`, `−2.1%`: signed, one decimal below 10.
pub(super) fn signed_pct(x: f64) -> String {
    let sign = if x < 0.0 { "−" } else { "+" };
    format!("{sign}{}", plain_pct(x.abs()))
}

/// A threshold: `5%`, `2.5%`.
pub(super) fn delta_pct(x: f64) -> String {
    let text = format!("{x:.1}");
    format!("{}%", text.strip_suffix(".0").unwrap_or(&text))
}

/// `34%`, `2.1%`.
pub(super) fn plain_pct(x: f64) -> String {
    if x.abs() < 10.0 {
        format!("{x:.1}%")
    } else {
        format!("{x:.0}%")
    }
}
