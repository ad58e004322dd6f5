//! A run with `--trials N` holds N trials of every step. The report shows each step once, as
//! the N trials pooled: their histograms added (never percentiles averaged), their counts
//! summed, their rates over the sum of their windows; and beside it the spread of the trials
//! (see [`spreads`]). `statebench compare` reads the trials one by one instead.

use statebench_suites::engine::tally;
use statebench_suites::results::{
    Counts, Latency, OpStats, OutcomeStats, PhaseStats, Results, Trial, decode_histogram,
    encode_histogram,
};
use std::collections::BTreeMap;

/// What makes trials repetitions of one step: subject, workload, suite and step.
pub fn group_key(trial: &Trial) -> (String, String, String, String) {
    (
        trial.subject.clone(),
        trial.workload.clone(),
        trial.suite.clone(),
        trial.step.slug(),
    )
}

/// The trials of `results` grouped by step, in the order each step first ran.
pub fn groups(results: &Results) -> Vec<Vec<&Trial>> {
    let mut order = Vec::new();
    let mut by_key: BTreeMap<_, Vec<&Trial>> = BTreeMap::new();
    for trial in &results.trials {
        let key = group_key(trial);
        if !by_key.contains_key(&key) {
            order.push(key.clone());
        }
        by_key.entry(key).or_default().push(trial);
    }
    order
        .into_iter()
        .filter_map(|key| by_key.remove(&key))
        .collect()
}

/// `results` with the trials of each step pooled into one; unchanged when every step ran
/// once.
pub fn pooled(results: &Results) -> Results {
    if results.trials.iter().all(|t| t.round == 0) {
        return results.clone();
    }
    let trials = groups(results).into_iter().map(pool).collect();
    Results {
        trials,
        ..results.clone()
    }
}

/// One trial standing for `trials`, repetitions of one step.
fn pool(trials: Vec<&Trial>) -> Trial {
    let first = trials[0];
    if trials.len() == 1 {
        return first.clone();
    }
    let phases: Vec<&PhaseStats> = trials.iter().map(|t| &t.measured).collect();
    let id = first
        .id
        .rsplit_once(".r")
        .filter(|(_, n)| n.parse::<u32>().is_ok())
        .map_or(first.id.as_str(), |(base, _)| base)
        .to_owned();
    Trial {
        id,
        round: 0,
        interrupted: trials.iter().any(|t| t.interrupted),
        measured: pool_phases(&phases),
        // The books of every trial: one that failed fails the step.
        checks: trials
            .iter()
            .flat_map(|t| t.checks.iter().cloned())
            .collect(),
        ..first.clone()
    }
}

fn pool_phases(phases: &[&PhaseStats]) -> PhaseStats {
    let sum = |f: fn(&PhaseStats) -> u64| phases.iter().map(|p| f(p)).sum::<u64>();
    let window_ms: f64 = phases.iter().map(|p| p.window_ms).sum();
    let duration_ms: f64 = phases.iter().map(|p| p.duration_ms).sum();
    let counts = sum_counts(phases.iter().map(|p| &p.counts));
    let per_s = |n: f64| {
        if window_ms > 0.0 {
            n * 1_000.0 / window_ms
        } else {
            0.0
        }
    };
    // The in-window rates, weighted by window: what the trials did together.
    let in_window = |f: fn(&PhaseStats) -> f64| {
        per_s(phases.iter().map(|p| f(p) * p.window_ms / 1_000.0).sum())
    };
    let operations = pool_operations(phases, window_ms);
    let all = merged(operations.iter().flat_map(|o| &o.outcomes), |_| true);
    let ok = merged(operations.iter().flat_map(|o| &o.outcomes), |o| {
        o.outcome == statebench_suites::outcome::Outcome::Ok
    });
    PhaseStats {
        duration_ms,
        ops: sum(|p| p.ops),
        ops_per_s: in_window(|p| p.ops_per_s),
        ok_per_s: in_window(|p| p.ok_per_s),
        counts,
        late: sum(|p| p.late),
        unstarted: sum(|p| p.unstarted),
        abandoned: sum(|p| p.abandoned),
        // Start lag has no histogram in the results: the worst trial's stands for all.
        start_lag: worst_start_lag(phases),
        response: all.0,
        service: all.1,
        operations,
        // The first trial's seconds, for the timeline charts.
        timeline: phases[0].timeline.clone(),
        window_ms,
        stragglers: sum(|p| p.stragglers),
        ok_response: ok.0,
        ok_service: ok.1,
        // Pooled trials ran one after another: no one start stands for all of them.
        started_unix_ns: None,
    }
}

/// Every operation kind of the trials, its histograms added outcome by outcome, its rate over
/// the sum of their windows.
fn pool_operations(phases: &[&PhaseStats], window_ms: f64) -> Vec<OpStats> {
    let mut by_op = add_operations(phases);
    for op in &mut by_op {
        op.ops_per_s = if window_ms > 0.0 {
            op.ops as f64 * 1_000.0 / window_ms
        } else {
            0.0
        };
    }
    by_op
}

/// Every operation kind of `phases`, in the order first seen: counts, retries and refusals
/// summed, histograms added outcome by outcome and the latencies read again from the sums.
/// Rates are left as the first phase's: what they are over is the caller's to say (pooled
/// trials ran one after another, a merged run's shards side by side).
pub(crate) fn add_operations(phases: &[&PhaseStats]) -> Vec<OpStats> {
    let mut by_op: Vec<OpStats> = Vec::new();
    for op in phases.iter().flat_map(|p| &p.operations) {
        match by_op.iter_mut().find(|o| o.op == op.op) {
            Some(pooled) => {
                pooled.ops += op.ops;
                pooled.counts = sum_counts([&pooled.counts, &op.counts]);
                pooled.retries += op.retries;
                pooled.rejected += op.rejected;
                for outcome in &op.outcomes {
                    match pooled
                        .outcomes
                        .iter_mut()
                        .find(|o| o.outcome == outcome.outcome)
                    {
                        Some(into) => *into = add_outcome(into, outcome),
                        None => pooled.outcomes.push(outcome.clone()),
                    }
                }
            }
            None => by_op.push(op.clone()),
        }
    }
    for op in &mut by_op {
        let (response, service) = merged(&op.outcomes, |_| true);
        op.response = response;
        op.service = service;
    }
    by_op
}

/// The counts of `all`, outcome by outcome, summed.
pub(crate) fn sum_counts<'a>(all: impl IntoIterator<Item = &'a Counts>) -> Counts {
    let mut sum = Counts::default();
    for c in all {
        sum.ok += c.ok;
        sum.conflict += c.conflict;
        sum.indefinite += c.indefinite;
        sum.fatal += c.fatal;
    }
    sum
}

/// The start lag of the phase whose lag was worst at p99. Start lag has no histogram in the
/// results, so it cannot be added: the worst phase's stands for all.
pub(crate) fn worst_start_lag(phases: &[&PhaseStats]) -> Option<Latency> {
    phases
        .iter()
        .filter_map(|p| p.start_lag.clone())
        .max_by(|a, b| a.p99_us.total_cmp(&b.p99_us))
}

fn add_outcome(a: &OutcomeStats, b: &OutcomeStats) -> OutcomeStats {
    let add = |x: &str, y: &str| -> Option<String> {
        // Into a histogram that grows: a decoded one keeps the range it was written with,
        // and values beyond it would be clamped.
        let mut h = tally::histogram();
        tally::add(&mut h, &decode_histogram(x).ok()?);
        tally::add(&mut h, &decode_histogram(y).ok()?);
        Some(encode_histogram(&h))
    };
    let (response, service) = match (
        add(&a.response_histogram, &b.response_histogram),
        add(&a.service_histogram, &b.service_histogram),
    ) {
        (Some(r), Some(s)) => (r, s),
        // Hand-made results without histograms: nothing to add, keep the first.
        _ => return a.clone(),
    };
    let latency = |text: &str| {
        decode_histogram(text)
            .map(|h| Latency::of(&h))
            .unwrap_or_default()
    };
    OutcomeStats {
        outcome: a.outcome,
        response: latency(&response),
        service: latency(&service),
        response_histogram: response,
        service_histogram: service,
        example_error: a.example_error.clone().or_else(|| b.example_error.clone()),
    }
}

/// Response and service time over the outcomes `keep` chooses, from their histograms.
pub(crate) fn merged<'a>(
    outcomes: impl IntoIterator<Item = &'a OutcomeStats>,
    keep: impl Fn(&OutcomeStats) -> bool,
) -> (Latency, Latency) {
    let (mut response, mut service) = (tally::histogram(), tally::histogram());
    for o in outcomes.into_iter().filter(|o| keep(o)) {
        if let (Ok(r), Ok(s)) = (
            decode_histogram(&o.response_histogram),
            decode_histogram(&o.service_histogram),
        ) {
            tally::add(&mut response, &r);
            tally::add(&mut service, &s);
        }
    }
    (Latency::of(&response), Latency::of(&service))
}

/// How much the trials of one step differed.
#[derive(Clone, Debug, PartialEq)]
pub struct Spread {
    /// The step's subject.
    pub subject: String,
    /// The step's suite.
    pub suite: String,
    /// The step, as the trials have it.
    pub step: statebench_suites::results::Step,
    /// How many trials ran.
    pub trials: usize,
    /// Goodput of each trial, in the order they ran.
    pub ok_per_s: Vec<f64>,
    /// p50 of the successful operations of each trial.
    pub p50_us: Vec<f64>,
    /// p99 of the successful operations of each trial.
    pub p99_us: Vec<f64>,
}

/// The spread of every step that ran more than once.
pub fn spreads(results: &Results) -> Vec<Spread> {
    groups(results)
        .into_iter()
        .filter(|g| g.len() > 1)
        .map(|g| Spread {
            subject: g[0].subject.clone(),
            suite: g[0].suite.clone(),
            step: g[0].step.clone(),
            trials: g.len(),
            ok_per_s: g.iter().map(|t| t.measured.ok_per_s).collect(),
            p50_us: g.iter().map(|t| t.measured.ok_response.p50_us).collect(),
            p99_us: g.iter().map(|t| t.measured.ok_response.p99_us).collect(),
        })
        .collect()
}

/// The median of `values` (the mean of the middle two for an even count); 0 for none.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The coefficient of variation (sample standard deviation over mean) of `values`, as a
/// fraction; `None` for fewer than two values or a mean of 0.
pub fn variation(values: &[f64]) -> Option<f64> {
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 || mean == 0.0 {
        return None;
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    Some(var.sqrt() / mean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use statebench_suites::outcome::Outcome;

    fn phase(values_us: &[u64], window_ms: f64) -> PhaseStats {
        let mut h = tally::histogram();
        for v in values_us {
            h.record(v * 1_000).unwrap();
        }
        let outcome = OutcomeStats {
            outcome: Outcome::Ok,
            response: Latency::of(&h),
            service: Latency::of(&h),
            response_histogram: encode_histogram(&h),
            service_histogram: encode_histogram(&h),
            example_error: None,
        };
        let n = values_us.len() as u64;
        let op = OpStats {
            op: statebench_suites::workload::OpKind::Read,
            ops: n,
            ops_per_s: n as f64 * 1_000.0 / window_ms,
            counts: Counts {
                ok: n,
                ..Counts::default()
            },
            retries: 0,
            rejected: 0,
            response: Latency::of(&h),
            service: Latency::of(&h),
            outcomes: vec![outcome],
        };
        PhaseStats {
            duration_ms: window_ms,
            ops: n,
            ops_per_s: n as f64 * 1_000.0 / window_ms,
            ok_per_s: n as f64 * 1_000.0 / window_ms,
            counts: op.counts,
            late: 0,
            unstarted: 0,
            abandoned: 0,
            start_lag: None,
            response: Latency::of(&h),
            service: Latency::of(&h),
            operations: vec![op],
            timeline: Vec::new(),
            window_ms,
            stragglers: 0,
            ok_response: Latency::of(&h),
            ok_service: Latency::of(&h),
            started_unix_ns: None,
        }
    }

    #[test]
    fn pooled_trials_have_the_percentiles_of_all_their_values_together() {
        // 100 fast values in one trial, 100 slow ones in the other: the pooled median lies
        // between, where no trial's own median is, and counts add.
        let fast: Vec<u64> = (0..100).map(|i| 100 + i).collect();
        let slow: Vec<u64> = (0..100).map(|i| 1_000 + i).collect();
        let (a, b) = (phase(&fast, 1_000.0), phase(&slow, 2_000.0));
        let p = pool_phases(&[&a, &b]);
        let mut all = tally::histogram();
        for v in fast.iter().chain(&slow) {
            all.record(v * 1_000).unwrap();
        }
        assert_eq!(p.ok_response, Latency::of(&all));
        assert_eq!(p.operations[0].outcomes[0].response, Latency::of(&all));
        assert_eq!((p.ops, p.counts.ok, p.operations[0].ops), (200, 200, 200));
        assert_eq!(p.window_ms, 3_000.0);
        // 200 operations over 3 s, not the mean of 100/s and 50/s.
        assert!((p.ok_per_s - 200.0 / 3.0).abs() < 1e-9, "{}", p.ok_per_s);
    }

    #[test]
    fn median_and_variation_are_of_the_trials() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(variation(&[5.0]), None);
        let cv = variation(&[9.0, 10.0, 11.0]).unwrap();
        assert!((cv - 0.1).abs() < 1e-12, "{cv}");
    }
}
