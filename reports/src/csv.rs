//! `results.csv`: one row per trial and operation kind, for spreadsheets and dashboards.
//!
//! Latencies are of the operations that succeeded, in microseconds, as `results.json` has
//! them; a percentile is empty where no operation of the kind succeeded. RFC 4180: a header
//! row, fields quoted where they hold a comma, a quote or a line break, lines ended CRLF.

use statebench_suites::outcome::Outcome;
use statebench_suites::results::{Results, Step, Trial};
use statebench_suites::standing::Standing;

/// The columns, in order.
pub const HEADER: [&str; 23] = [
    "run_started_at",
    "workload",
    "subject",
    "suite",
    "step",
    "workers",
    "offered_per_s",
    "op",
    "ops",
    "ok",
    "conflicts",
    "other_errors",
    "trial_ok_per_s",
    "ops_per_s",
    "ok_p50_us",
    "ok_p90_us",
    "ok_p99_us",
    "ok_p999_us",
    "ok_max_us",
    "stragglers",
    "window_ms",
    "correctness",
    "trial",
];

/// The results as CSV.
pub fn render(results: &Results) -> String {
    let mut out = String::new();
    line(&mut out, HEADER.iter().map(|h| (*h).to_owned()));
    for t in &results.trials {
        let (workers, offered) = match t.step {
            Step::Closed { concurrency } => (concurrency.to_string(), String::new()),
            Step::Open { rate_per_s, .. } => (String::new(), number(rate_per_s)),
        };
        let correctness = standing(results, t).as_str().to_owned();
        for o in &t.measured.operations {
            let ok = o
                .outcomes
                .iter()
                .find(|s| s.outcome == Outcome::Ok)
                .map(|s| &s.response)
                .filter(|l| l.count > 0);
            let pct = |f: fn(&statebench_suites::results::Latency) -> f64| {
                ok.map(|l| number(f(l))).unwrap_or_default()
            };
            line(
                &mut out,
                [
                    results.started_at.clone(),
                    t.workload.clone(),
                    t.subject.clone(),
                    t.suite.clone(),
                    t.step.slug(),
                    workers.clone(),
                    offered.clone(),
                    o.op.as_str().to_owned(),
                    o.ops.to_string(),
                    o.counts.ok.to_string(),
                    o.counts.conflict.to_string(),
                    (o.counts.indefinite + o.counts.fatal).to_string(),
                    number(t.measured.ok_per_s),
                    number(o.ops_per_s),
                    pct(|l| l.p50_us),
                    pct(|l| l.p90_us),
                    pct(|l| l.p99_us),
                    pct(|l| l.p999_us),
                    pct(|l| l.max_us),
                    t.measured.stragglers.to_string(),
                    number(t.measured.window_ms),
                    correctness.clone(),
                    t.id.clone(),
                ]
                .into_iter(),
            );
        }
    }
    out
}

/// The subject's standing after the run: as recorded on the trial or the subject, else
/// judged again from the results.
pub(crate) fn standing(results: &Results, t: &Trial) -> Standing {
    t.standing
        .or_else(|| {
            results
                .subjects
                .iter()
                .find(|s| s.name == t.subject)
                .and_then(|s| s.correctness.as_ref().map(|c| c.standing))
        })
        .unwrap_or_else(|| results.correctness(&t.subject).standing)
}

/// A number as plainly as it reads: `1000`, `12.5`; empty when not finite.
fn number(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

fn line(out: &mut String, fields: impl Iterator<Item = String>) {
    for (i, field) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&quote(&field));
    }
    out.push_str("\r\n");
}

/// A field quoted as RFC 4180 requires: in double quotes, quotes doubled, where it holds a
/// comma, a quote or a line break.
pub fn quote(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample;

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn one_row_per_trial_and_operation_with_successful_latencies() {
        let text = render(&sample());
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], HEADER.join(","));
        // Two operations in the closed trial, one in the open one, and the final CRLF.
        assert_eq!(lines.len(), 1 + 3 + 1);
        assert_eq!(lines[4], "");
        assert_eq!(
            lines[1],
            "2026-01-01T00:00:00Z,read-heavy,\"pg,x\",throughput,16-workers,16,,read,\
             100,90,6,4,900,1000,50,70,90,95,120,2,100,FAIL,t1"
        );
        // The write had no success: no percentiles.
        assert_eq!(
            lines[2],
            "2026-01-01T00:00:00Z,read-heavy,\"pg,x\",throughput,16-workers,16,,write,\
             10,0,10,0,900,100,,,,,,2,100,FAIL,t1"
        );
        assert_eq!(
            lines[3],
            "2026-01-01T00:00:00Z,read-heavy,memory:state,latency,1000-per-s,,1000,read,\
             1000,1000,0,0,1000,1000,5,6,7,8,9,0,1000,pass,t2"
        );
    }
}
