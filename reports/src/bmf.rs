//! `bmf.json`: the trials in Bencher Metric Format, for dashboards that track results over
//! time (<https://bencher.dev/docs/reference/bencher-metric-format/>).
//!
//! One benchmark per trial, named `subject/suite/step` (`postgres/throughput/16-workers`,
//! `postgres/latency/1000-per-s`), with three measures:
//! - `throughput`: operations that succeeded per second of the measured window (goodput);
//! - `latency`: the response time of the successful operations in nanoseconds, the median as
//!   the value, the smallest as `lower_value` and the 99th percentile as `upper_value`
//!   (absent when nothing succeeded);
//! - `error-rate`: operations that did not succeed over all operations (absent when none ran).

use serde_json::{Map, Value, json};
use statebench_suites::results::{Results, Trial};

/// The benchmark name of a trial: `subject/suite/step`.
pub fn name(t: &Trial) -> String {
    format!("{}/{}/{}", t.subject, t.suite, t.step.slug())
}

/// The results as BMF JSON, pretty-printed.
pub fn render(results: &Results) -> String {
    let mut text =
        serde_json::to_string_pretty(&value(results)).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

/// The results as a BMF value.
pub fn value(results: &Results) -> Value {
    // One benchmark per step: repeated trials pooled.
    let results = &crate::pooled::pooled(results);
    let mut benchmarks = Map::new();
    for t in &results.trials {
        let m = &t.measured;
        let mut measures = Map::new();
        if let Some(v) = finite(m.ok_per_s) {
            measures.insert("throughput".into(), json!({ "value": v }));
        }
        let ok = &m.ok_response;
        if ok.count > 0 {
            let ns = |us: f64| finite(us * 1_000.0);
            if let Some(value) = ns(ok.p50_us) {
                let mut latency = Map::new();
                latency.insert("value".into(), json!(value));
                if let Some(lower) = ns(ok.min_us) {
                    latency.insert("lower_value".into(), json!(lower));
                }
                if let Some(upper) = ns(ok.p99_us) {
                    latency.insert("upper_value".into(), json!(upper));
                }
                measures.insert("latency".into(), Value::Object(latency));
            }
        }
        let ops = m.counts.total();
        if ops > 0 {
            let rate = m.counts.errors() as f64 / ops as f64;
            measures.insert("error-rate".into(), json!({ "value": rate }));
        }
        // Two trials of one name (not written by statebench today) stay apart.
        let base = name(t);
        let mut key = base.clone();
        let mut n = 2;
        while benchmarks.contains_key(&key) {
            key = format!("{base}#{n}");
            n += 1;
        }
        benchmarks.insert(key, Value::Object(measures));
    }
    Value::Object(benchmarks)
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample;

    #[test]
    fn every_trial_is_a_benchmark_with_known_measures() {
        let bmf = value(&sample());
        let text: Value = serde_json::from_str(&render(&sample())).unwrap();
        assert_eq!(text.as_object().map(Map::len), Some(2));
        assert_eq!(
            bmf,
            json!({
                "pg,x/throughput/16-workers": {
                    "throughput": { "value": 900.0 },
                    "latency": {
                        "value": 50_000.0,
                        "lower_value": 40_000.0,
                        "upper_value": 90_000.0
                    },
                    "error-rate": { "value": 20.0 / 110.0 }
                },
                "memory:state/latency/1000-per-s": {
                    "throughput": { "value": 1000.0 },
                    "latency": {
                        "value": 5_000.0,
                        "lower_value": 4_000.0,
                        "upper_value": 7_000.0
                    },
                    "error-rate": { "value": 0.0 }
                }
            })
        );
    }

    #[test]
    fn no_latency_without_a_success_and_names_stay_unique() {
        let mut r = sample();
        r.trials[0].measured.ok_response.count = 0;
        let mut twin = r.trials[1].clone();
        twin.id = "t3".into();
        r.trials.push(twin);
        let bmf = value(&r);
        assert!(bmf["pg,x/throughput/16-workers"].get("latency").is_none());
        assert!(bmf.get("memory:state/latency/1000-per-s#2").is_some());
    }
}
