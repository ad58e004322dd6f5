//! The summary table printed on stdout at the end of a run.

use statebench_reports::format::{latency_us, rate};
use statebench_suites::check::Validity;
use statebench_suites::results::{Results, Step};
use statebench_suites::suite::conformance;

/// One table of every trial, then a line per subject on conformance.
pub fn render(results: &Results) -> String {
    let raw = results;
    // One row per step: repeated trials pooled.
    let results = &statebench_reports::pooled::pooled(raw);
    let mut rows = vec![
        [
            "subject", "suite", "load", "ops/s", "ok/s", "p50", "p99", "max", "errors", "checks",
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
            rate(m.ok_per_s),
            latency_us(m.response.p50_us),
            latency_us(m.response.p99_us),
            latency_us(m.response.max_us),
            errors,
            t.standing.map_or("-", |s| s.as_str()).to_owned(),
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
                    if c < 3 || c == 9 {
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
        out += &format!(
            "conformance {}: {}\n",
            subject.name,
            conformance::counts(checks)
        );
    }
    out += &consistency(results);
    for subject in &results.subjects {
        if let Some(c) = subject
            .correctness
            .as_ref()
            .filter(|c| !c.broken.is_empty())
        {
            out += &format!("{}: {}\n", subject.name, c.mark());
            for b in c.broken.iter().take(5) {
                out += &format!("  broke: {b}\n");
            }
        }
    }
    out += &fastest(results);
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

/// One line per consistency run: its checks, and what they found.
fn consistency(results: &Results) -> String {
    let mut out = String::new();
    for run in &results.consistency {
        let fault = match &run.target {
            Some(t) => format!("{} on {t}", run.fault),
            None => run.fault.clone(),
        };
        if let Some(why) = &run.skipped {
            out += &format!(
                "consistency {} under {fault}: skipped: {why}\n",
                run.subject
            );
            continue;
        }
        let checks: Vec<String> = run
            .checks
            .iter()
            .map(|c| {
                let shown = match (c.verdict.validity, c.promised) {
                    (Validity::Valid, _) => "ok".to_owned(),
                    (Validity::Invalid, true) => format!("FAIL ({})", c.verdict.violations),
                    (Validity::Invalid, false) => {
                        format!("seen {} (not promised)", c.verdict.violations)
                    }
                    (Validity::Unknown, _) => "unknown".to_owned(),
                };
                format!("{} {shown}", c.verdict.check)
            })
            .collect();
        out += &format!(
            "consistency {} under {fault}: {} ops; {}\n",
            run.subject,
            run.ops.ok + run.ops.fail + run.ops.info,
            checks.join(", ")
        );
    }
    out
}

/// The fastest subject that passed every check, and any faster one that did not.
fn fastest(results: &Results) -> String {
    let (best, faster) = results.fastest_passing();
    let mut out = String::new();
    if let Some((name, ok)) = best {
        out += &format!(
            "fastest that passed every check: {name}, {} ok/s\n",
            rate(ok)
        );
    }
    for (name, ok, mark) in faster {
        out += &format!(
            "  {name} reached {} ok/s but is not comparable: {mark}\n",
            rate(ok)
        );
    }
    out
}
