//! The comparison as Markdown, under a pull-request comment's size: the verdict in the first
//! line, the warnings, a table per workload (regressions first), the consistency changes,
//! and a footer with the method and the rule.

use super::compare::{delta_pct, signed_pct};
use super::config::{Gate, Metric};
use super::{Comparison, MetricComparison, Verdict};
use crate::markdown::LIMIT;

/// The comparison as Markdown, under [`LIMIT`] characters: when it is longer, rows of
/// metrics that did not change are cut (regressions, improvements and inconclusive rows
/// stay whole), with a count of what was left out.
pub fn markdown(c: &Comparison) -> String {
    for keep in [usize::MAX, 200, 50, 10, 0] {
        let text = render(c, keep);
        if text.len() < LIMIT {
            return text;
        }
    }
    let text = render(c, 0);
    let mut end = LIMIT - 200;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n\n… cut to fit a pull-request comment; the whole comparison is in its JSON \
         (--json).\n",
        &text[..end]
    )
}

/// The verdict rule in one line, with the gate's numbers.
pub fn rule(gate: &Gate) -> String {
    format!(
        "Rule: a metric is inconclusive when a side has fewer than {} trials or a value ≤ 0; \
         else regressed (improved) when p (Holm) < α = {} and the change is worse (better) \
         than δ; else no change when p (Holm) < α (a change within δ) or the {:.0}% CI lies \
         within ±δ; else inconclusive (too noisy). A check that passed and now fails is a \
         regression.",
        gate.min_trials,
        gate.alpha,
        (1.0 - gate.alpha) * 100.0
    )
}

fn render(c: &Comparison, keep: usize) -> String {
    let mut out = format!("{}\n\n", headline(c));
    if !c.warnings.is_empty() {
        out += "> [!WARNING]\n> The runs differ:\n";
        for w in &c.warnings {
            out += &format!("> - {}: {}\n", w.kind, w.message);
        }
        out.push('\n');
    }
    let mut workloads: Vec<&str> = Vec::new();
    for m in &c.metrics {
        if !workloads.contains(&m.workload.as_str()) {
            workloads.push(&m.workload);
        }
    }
    for workload in workloads {
        out += &format!("### Workload {workload}\n\n");
        let rows: Vec<&MetricComparison> = c
            .metrics
            .iter()
            .filter(|m| m.workload == workload)
            .collect();
        out += &table(&rows, c.gate.alpha, keep);
    }
    if c.metrics.is_empty() {
        out += "No step was measured in both runs.\n\n";
    }
    if !c.consistency.is_empty() {
        out += &consistency(c);
    }
    out += &format!("---\n{}\n\n{}\n", method(c), rule(&c.gate));
    out
}

/// `**statebench gate: REGRESSED** — 2 regressions (…), 0 improvements, …`.
fn headline(c: &Comparison) -> String {
    let word = match c.verdict {
        Verdict::Regressed => "REGRESSED",
        Verdict::Improved => "IMPROVED",
        Verdict::Inconclusive => "INCONCLUSIVE",
        Verdict::NoChange | Verdict::NotGated => "NO CHANGE",
    };
    let of = |v: Verdict| c.metrics.iter().filter(move |m| m.verdict == v);
    let named = |v: Verdict| {
        let all: Vec<String> = of(v).map(short).collect();
        match all.len() {
            0 => String::new(),
            n if n <= 3 => format!(" ({})", all.join("; ")),
            n => format!(" ({}; and {} more)", all[..3].join("; "), n - 3),
        }
    };
    let count = |v: Verdict, one: &str, many: &str| {
        let n = of(v).count();
        format!("{n} {}", if n == 1 { one } else { many })
    };
    let mut line = format!(
        "**statebench gate: {word}** — {}{}, {}{}, {}, {}",
        count(Verdict::Regressed, "regression", "regressions"),
        named(Verdict::Regressed),
        count(Verdict::Improved, "improvement", "improvements"),
        named(Verdict::Improved),
        count(Verdict::NoChange, "no change", "no change"),
        count(Verdict::Inconclusive, "inconclusive", "inconclusive"),
    );
    let not_gated = of(Verdict::NotGated).count();
    if not_gated > 0 {
        line += &format!(", {not_gated} not gated");
    }
    let checks = |v: Verdict| c.consistency.iter().filter(move |x| x.verdict == v);
    let broken: Vec<String> = checks(Verdict::Regressed)
        .map(|x| format!("{} {} {}", x.subject, x.kind, x.check))
        .collect();
    if !broken.is_empty() {
        line += &format!(
            "; {} consistency regression{} ({}){}",
            broken.len(),
            if broken.len() == 1 { "" } else { "s" },
            broken.join("; "),
            if c.gate.consistency {
                ""
            } else {
                ", not gated"
            }
        );
    }
    for (v, word) in [
        (Verdict::Improved, "fixed"),
        (Verdict::Inconclusive, "checks inconclusive"),
    ] {
        let n = checks(v).count();
        if n > 0 {
            line += &format!("; {n} {word}");
        }
    }
    line
}

/// `postgres p99 at 1.0 k/s +34% [+21%, +48%]`.
fn short(m: &MetricComparison) -> String {
    format!(
        "{} {} at {} {} {}",
        m.subject,
        m.metric.as_str(),
        m.step_label,
        m.change_pct.map_or("—".into(), signed_pct),
        interval(m)
    )
}

fn interval(m: &MetricComparison) -> String {
    match (m.ci_low_pct, m.ci_high_pct) {
        (Some(lo), Some(hi)) => format!("[{}, {}]", signed_pct(lo), signed_pct(hi)),
        _ => "—".into(),
    }
}

fn p(value: Option<f64>) -> String {
    match value {
        None => "—".into(),
        Some(p) if p < 0.001 => "<0.001".into(),
        Some(p) => format!("{p:.3}"),
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Rows of one workload, regressions first; at most `keep` rows of metrics that did not
/// change or are not gated.
fn table(rows: &[&MetricComparison], alpha: f64, keep: usize) -> String {
    let mut out = format!(
        "| subject | step | metric | base median | head median | change (HL) | {:.0}% CI | p (Holm) | verdict |\n\
         |---|---|---|---:|---:|---:|---:|---:|---|\n",
        (1.0 - alpha) * 100.0
    );
    let mut sorted = rows.to_vec();
    sorted.sort_by_key(|m| m.verdict);
    let quiet = |m: &&&MetricComparison| matches!(m.verdict, Verdict::NoChange | Verdict::NotGated);
    let mut shown_quiet = 0;
    let mut cut = 0;
    for m in &sorted {
        if quiet(&m) {
            if shown_quiet >= keep {
                cut += 1;
                continue;
            }
            shown_quiet += 1;
        }
        out += &row(m);
    }
    if cut > 0 {
        out += &format!("| … and {cut} more with no change (see --json) | | | | | | | | |\n");
    }
    out.push('\n');
    out
}

fn row(m: &MetricComparison) -> String {
    let verdict = match (m.verdict, m.note.is_empty()) {
        (Verdict::Regressed, _) => "**REGRESSED**".to_owned(),
        (v, true) => v.as_str().to_owned(),
        (v, false) => format!("{}: {}", v.as_str(), m.note),
    };
    let p_cell = match (m.p_holm, m.p_value) {
        (Some(_), _) => p(m.p_holm),
        (None, Some(raw)) => format!("{} unadjusted", p(Some(raw))),
        (None, None) => "—".into(),
    };
    let cells = [
        m.subject.clone(),
        format!("{} {}", m.suite, m.step_label),
        m.metric.as_str().to_owned(),
        m.metric.show(m.base_median),
        m.metric.show(m.head_median),
        m.change_pct.map_or("—".into(), signed_pct),
        interval(m),
        p_cell,
        verdict,
    ];
    let cells: Vec<String> = cells.iter().map(|c| cell(c)).collect();
    format!("| {} |\n", cells.join(" | "))
}

fn consistency(c: &Comparison) -> String {
    let mut out = String::from(
        "### Consistency changes\n\n| subject | check | where | base | head | verdict | detail |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for x in &c.consistency {
        let verdict = match (x.verdict, x.gated) {
            (Verdict::Regressed, true) => "**REGRESSED**".to_owned(),
            (v, true) => v.as_str().to_owned(),
            (v, false) => format!("{} (not gated)", v.as_str()),
        };
        let cells = [
            x.subject.clone(),
            format!("{} {}", x.kind, x.check),
            x.place.clone(),
            x.base.as_str().to_owned(),
            x.head.as_str().to_owned(),
            verdict,
            x.detail.clone(),
        ];
        let cells: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        out += &format!("| {} |\n", cells.join(" | "));
    }
    out.push('\n');
    out
}

/// The method in one line: statistics, family, thresholds, trials.
fn method(c: &Comparison) -> String {
    let deltas: Vec<String> = Metric::ALL
        .iter()
        .map(|m| match c.gate.delta(*m) {
            Some(d) => format!("{} {}", m.as_str(), delta_pct(d * 100.0)),
            None => format!("{} not gated", m.as_str()),
        })
        .collect();
    let range = |f: fn(&MetricComparison) -> usize| {
        let lens: Vec<usize> = c.metrics.iter().map(f).collect();
        match (lens.iter().min(), lens.iter().max()) {
            (Some(lo), Some(hi)) if lo == hi => lo.to_string(),
            (Some(lo), Some(hi)) => format!("{lo}–{hi}"),
            _ => "0".into(),
        }
    };
    format!(
        "Method: Hodges–Lehmann shift of log values (head against base) with its \
         distribution-free {:.0}% confidence interval (Moses); two-sided Mann–Whitney p (exact \
         without ties, else normal with tie and continuity corrections), Holm-adjusted over {} \
         gated metric{}; δ {}; trials per side: base {}, head {} (at least {} needed).",
        (1.0 - c.gate.alpha) * 100.0,
        c.gated_metrics,
        if c.gated_metrics == 1 { "" } else { "s" },
        deltas.join(", "),
        range(|m| m.base_values.len()),
        range(|m| m.head_values.len()),
        c.gate.min_trials
    )
}
