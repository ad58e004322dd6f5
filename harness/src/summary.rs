//! The summary table printed on stdout at the end of a run.

use statebench_reports::format::{latency_us, rate};
use statebench_suites::results::{CheckStatus, Results, Step};

/// One table of every trial, then a line per subject on conformance.
pub fn render(results: &Results) -> String {
    let mut rows = vec![
        [
            "subject", "suite", "load", "ops/s", "p50", "p99", "max", "errors",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for t in &results.trials {
        let m = &t.measured;
        let load = match t.step {
            Step::Open { rate_per_s, .. } => format!("{}/s offered", rate(rate_per_s)),
            Step::Closed { concurrency: 1 } => "1 worker".to_owned(),
            Step::Closed { concurrency } => format!("{concurrency} workers"),
        };
        let mut errors = m.counts.errors().to_string();
        if m.unstarted > 0 {
            errors += &format!(" (+{} unstarted)", m.unstarted);
        }
        rows.push(vec![
            t.subject.clone() + if t.interrupted { " (interrupted)" } else { "" },
            t.suite.clone(),
            load,
            rate(m.ops_per_s),
            latency_us(m.response.p50_us),
            latency_us(m.response.p99_us),
            latency_us(m.response.max_us),
            errors,
        ]);
    }
    let mut out = String::new();
    if rows.len() > 1 {
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        for row in &rows {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(c, (cell, w))| {
                    if c < 3 {
                        format!("{cell:<w$}")
                    } else {
                        format!("{cell:>w$}")
                    }
                })
                .collect();
            out += cells.join("  ").trim_end();
            out.push('\n');
        }
    }
    for subject in &results.subjects {
        let checks: Vec<_> = results
            .conformance
            .iter()
            .filter(|c| c.subject == subject.name)
            .collect();
        if checks.is_empty() {
            continue;
        }
        let count = |s: CheckStatus| checks.iter().filter(|c| c.status == s).count();
        out += &format!(
            "conformance {}: {} pass, {} FAIL, {} unsupported\n",
            subject.name,
            count(CheckStatus::Pass),
            count(CheckStatus::Fail),
            count(CheckStatus::Unsupported)
        );
    }
    for s in &results.skipped {
        let suite = s
            .suite
            .as_deref()
            .map(|x| format!(" / {x}"))
            .unwrap_or_default();
        out += &format!("skipped {}{suite}: {}\n", s.name, s.reason);
    }
    out
}
