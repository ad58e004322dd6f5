//! Known answers of the gate on hand-made runs.

use super::*;
use crate::testing::{rounds, sample, with_trials};
use statebench_suites::results::{CheckResult, CheckStatus};

const S: &str = "memory:state";

fn run(n: usize, ok_per_s: f64, p50_us: f64, noise: f64, order: usize) -> Results {
    with_trials(rounds(S, n, ok_per_s, p50_us, noise, order), n as u32)
}

use statebench_suites::results::Results;

fn of(c: &Comparison, metric: Metric) -> &MetricComparison {
    c.metrics.iter().find(|m| m.metric == metric).unwrap()
}

#[test]
fn the_same_speed_within_one_percent_is_no_change() {
    let c = compare(
        &run(10, 1000.0, 100.0, 0.01, 0),
        &run(10, 1000.0, 100.0, 0.01, 1),
        &Gate::default(),
    );
    for m in &c.metrics {
        assert_eq!(m.verdict, Verdict::NoChange, "{m:?}");
    }
    assert_eq!(c.verdict, Verdict::NoChange);
    assert_eq!((c.exit_code(false), c.exit_code(true)), (0, 0));
    assert_eq!(c.gated_metrics, 3);
}

#[test]
fn goodput_thirty_percent_down_over_ten_trials_is_a_regression() {
    let mut head = run(10, 700.0, 100.0, 0.01, 1);
    // Latency as on base: only goodput moved.
    for t in &mut head.trials {
        t.measured.ok_response = run(10, 1000.0, 100.0, 0.01, 1).trials[t.round as usize]
            .measured
            .ok_response
            .clone();
    }
    let c = compare(&run(10, 1000.0, 100.0, 0.01, 0), &head, &Gate::default());
    let goodput = of(&c, Metric::Goodput);
    assert_eq!(goodput.verdict, Verdict::Regressed, "{goodput:?}");
    let change = goodput.change_pct.unwrap();
    assert!((change + 30.0).abs() < 2.0, "{change}");
    assert!(goodput.ci_low_pct.unwrap() < change && change < goodput.ci_high_pct.unwrap());
    // Complete separation of 10 and 10: p = 2/C(20,10); Holm over 3 metrics.
    let p = 2.0 / 184_756.0;
    assert!((goodput.p_value.unwrap() - p).abs() < 1e-12);
    assert!((goodput.p_holm.unwrap() - 3.0 * p).abs() < 1e-12);
    assert_eq!(of(&c, Metric::P50).verdict, Verdict::NoChange);
    assert_eq!(c.verdict, Verdict::Regressed);
    assert_eq!(c.exit_code(false), 3);
    let md = markdown(&c);
    assert!(
        md.starts_with(
            "**statebench gate: REGRESSED** — 1 regression (memory:state goodput at 16 workers −30% ["
        ),
        "{md}"
    );
}

#[test]
fn goodput_thirty_percent_up_is_an_improvement_and_passes() {
    let c = compare(
        &run(10, 1000.0, 100.0, 0.01, 0),
        &run(10, 1300.0, 60.0, 0.01, 1),
        &Gate::default(),
    );
    assert_eq!(of(&c, Metric::Goodput).verdict, Verdict::Improved);
    assert_eq!(of(&c, Metric::P99).verdict, Verdict::Improved);
    assert_eq!(c.verdict, Verdict::Improved);
    assert_eq!((c.exit_code(false), c.exit_code(true)), (0, 0));
}

#[test]
fn two_trials_each_are_inconclusive_and_say_what_would_settle_it() {
    let c = compare(
        &run(2, 1000.0, 100.0, 0.01, 0),
        &run(2, 700.0, 100.0, 0.01, 1),
        &Gate::default(),
    );
    let goodput = of(&c, Metric::Goodput);
    assert_eq!(goodput.verdict, Verdict::Inconclusive);
    assert_eq!(goodput.p_value, None);
    assert!(
        goodput
            .note
            .starts_with("2 trials each, fewer than the 5 each needed; noise ±"),
        "{}",
        goodput.note
    );
    assert!(
        goodput
            .note
            .ends_with("about 5 trials each would settle it"),
        "{}",
        goodput.note
    );
    assert_eq!(c.gated_metrics, 0);
    assert_eq!((c.exit_code(false), c.exit_code(true)), (0, 4));
}

#[test]
fn one_trial_each_is_inconclusive() {
    let c = compare(
        &run(1, 1000.0, 100.0, 0.0, 0),
        &run(1, 1000.0, 100.0, 0.0, 0),
        &Gate::default(),
    );
    assert!(c.metrics.iter().all(|m| m.verdict == Verdict::Inconclusive));
    assert!(
        of(&c, Metric::Goodput)
            .note
            .starts_with("1 trial each, fewer than the 5")
    );
    // Even a gate that asks for one trial cannot reach 95% confidence with one.
    let gate = Gate {
        min_trials: 1,
        ..Gate::default()
    };
    let c = compare(
        &run(1, 1000.0, 100.0, 0.0, 0),
        &run(1, 900.0, 100.0, 0.0, 0),
        &gate,
    );
    let goodput = of(&c, Metric::Goodput);
    assert_eq!(goodput.verdict, Verdict::Inconclusive);
    assert!(
        goodput
            .note
            .starts_with("with 1 trial each no interval reaches 95% confidence (at most 0%)"),
        "{}",
        goodput.note
    );
}

#[test]
fn forty_percent_noise_over_five_trials_is_inconclusive() {
    let c = compare(
        &run(5, 1000.0, 100.0, 0.4, 0),
        &run(5, 1000.0, 100.0, 0.4, 1),
        &Gate::default(),
    );
    let goodput = of(&c, Metric::Goodput);
    assert_eq!(goodput.verdict, Verdict::Inconclusive, "{goodput:?}");
    assert!(
        goodput.note.contains("trials each would settle it"),
        "{}",
        goodput.note
    );
    let needed: usize = goodput
        .note
        .split("about ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(needed > 5, "{}", goodput.note);
}

#[test]
fn equal_values_everywhere_are_no_change() {
    let c = compare(
        &run(5, 1000.0, 100.0, 0.0, 0),
        &run(5, 1000.0, 100.0, 0.0, 0),
        &Gate::default(),
    );
    for m in &c.metrics {
        assert_eq!(m.verdict, Verdict::NoChange, "{m:?}");
        assert_eq!(m.change_pct, Some(0.0));
        assert_eq!(m.p_value, Some(1.0));
    }
}

#[test]
fn a_small_but_certain_change_is_no_change_with_a_note() {
    // Goodput 2% down with 0.1% noise: significant, below δ 5%.
    let c = compare(
        &run(10, 1000.0, 100.0, 0.001, 0),
        &run(10, 980.0, 100.0, 0.001, 1),
        &Gate::default(),
    );
    let goodput = of(&c, Metric::Goodput);
    assert_eq!(goodput.verdict, Verdict::NoChange);
    assert_eq!(goodput.note, "a change of −2.0% (below δ 5%)");
}

#[test]
fn tied_values_from_three_digit_histograms_take_the_normal_path() {
    let mut base = run(6, 1000.0, 100.0, 0.0, 0);
    let mut head = run(6, 1000.0, 100.0, 0.0, 0);
    for (i, t) in base.trials.iter_mut().enumerate() {
        t.measured.ok_response.p99_us = [500.0, 500.0, 501.0, 502.0, 502.0, 501.0][i];
    }
    for (i, t) in head.trials.iter_mut().enumerate() {
        t.measured.ok_response.p99_us = [501.0, 502.0, 502.0, 500.0, 501.0, 501.0][i];
    }
    let c = compare(&base, &head, &Gate::default());
    let p99 = of(&c, Metric::P99);
    assert_eq!(p99.p_method, Some(stats::Method::Normal));
    assert_eq!(p99.verdict, Verdict::NoChange, "{p99:?}");
}

#[test]
fn goodput_zero_is_inconclusive_not_a_number() {
    let mut head = run(5, 1000.0, 100.0, 0.0, 0);
    head.trials[2].measured.ok_per_s = 0.0;
    let c = compare(&run(5, 1000.0, 100.0, 0.0, 0), &head, &Gate::default());
    let goodput = of(&c, Metric::Goodput);
    assert_eq!(goodput.verdict, Verdict::Inconclusive);
    assert_eq!(
        goodput.note,
        "goodput 0 or missing in 0 of 5 base and 1 of 5 head trials: no ratio to compare"
    );
}

#[test]
fn a_metric_left_out_of_the_gate_is_shown_not_gated() {
    let gate = Gate::parse("g", "metrics:\n  goodput: {delta: 5%}\n").unwrap();
    let c = compare(
        &run(10, 1000.0, 100.0, 0.01, 0),
        &run(10, 1000.0, 300.0, 0.01, 1),
        &gate,
    );
    let p99 = of(&c, Metric::P99);
    assert_eq!(p99.verdict, Verdict::NotGated);
    assert!(p99.change_pct.unwrap() > 100.0);
    assert_eq!(p99.p_holm, None);
    assert_eq!(c.gated_metrics, 1);
    assert_eq!(c.exit_code(false), 0);
}

fn check(status: CheckStatus) -> CheckResult {
    CheckResult {
        subject: S.into(),
        check: "cas-exactly-one-winner".into(),
        capability: Some("cas".into()),
        status,
        detail: if status == CheckStatus::Fail {
            "round 3 of 20: 2 of 16 writers won".into()
        } else {
            String::new()
        },
    }
}

#[test]
fn a_conformance_check_that_passed_and_now_fails_is_a_regression_at_the_same_speed() {
    let mut base = run(10, 1000.0, 100.0, 0.01, 0);
    let mut head = run(10, 1000.0, 100.0, 0.01, 0);
    base.conformance.push(check(CheckStatus::Pass));
    head.conformance.push(check(CheckStatus::Fail));
    let c = compare(&base, &head, &Gate::default());
    assert!(c.metrics.iter().all(|m| m.verdict == Verdict::NoChange));
    let change = &c.consistency[0];
    assert_eq!(
        (
            change.kind.as_str(),
            change.base,
            change.head,
            change.verdict
        ),
        ("conformance", Mark::Pass, Mark::Fail, Verdict::Regressed)
    );
    assert_eq!(change.detail, "round 3 of 20: 2 of 16 writers won");
    assert_eq!(c.exit_code(false), 3);
    assert!(
        markdown(&c)
            .contains("1 consistency regression (memory:state conformance cas-exactly-one-winner)")
    );
    // Reversed, it is fixed; with `consistency: false`, shown and not gated.
    let fixed = compare(&head, &base, &Gate::default());
    assert_eq!(fixed.consistency[0].verdict, Verdict::Improved);
    assert_eq!(fixed.exit_code(true), 0);
    let lenient = Gate {
        consistency: false,
        ..Gate::default()
    };
    assert_eq!(compare(&base, &head, &lenient).exit_code(true), 0);
}

#[test]
fn a_standing_that_went_from_pass_to_fail_is_a_regression() {
    let base = run(5, 1000.0, 100.0, 0.0, 0);
    let mut head = base.clone();
    head.subjects[1].correctness = head.subjects[0].correctness.clone();
    let c = compare(&base, &head, &Gate::default());
    let change = c.consistency.iter().find(|x| x.kind == "standing").unwrap();
    assert_eq!(
        (change.subject.as_str(), change.verdict),
        (S, Verdict::Regressed)
    );
}

#[test]
fn a_subject_only_in_head_is_warned_of_and_listed() {
    let base = run(5, 1000.0, 100.0, 0.0, 0);
    let mut head = base.clone();
    let mut extra = head.subjects[1].clone();
    extra.name = "redis".into();
    head.subjects.push(extra);
    head.trials.extend(rounds("redis", 5, 2000.0, 50.0, 0.0, 0));
    let c = compare(&base, &head, &Gate::default());
    assert!(c.metrics.iter().all(|m| m.subject == S));
    let w: Vec<String> = c.warnings.iter().map(|w| w.message.clone()).collect();
    assert_eq!(w, ["only in head, not compared: redis"]);
    assert!(markdown(&c).contains("> - subjects: only in head, not compared: redis"));
}

#[test]
fn a_step_only_on_one_side_is_warned_of() {
    let base = run(5, 1000.0, 100.0, 0.0, 0);
    let mut head = base.clone();
    head.trials.extend(crate::testing::sample().trials);
    let c = compare(&base, &head, &Gate::default());
    assert!(
        c.warnings.iter().any(|w| w.kind == "steps"
            && w.message
                .contains("memory:state read-heavy latency 1000-per-s")),
        "{:?}",
        c.warnings
    );
}

#[test]
fn different_machines_and_tools_are_warned_of() {
    let base = run(5, 1000.0, 100.0, 0.0, 0);
    let mut head = base.clone();
    head.machine.logical_cpus = 8;
    head.machine.cpu_model = Some("Fast CPU".into());
    head.tool.git_sha = Some("0123456789abcdef".into());
    let c = compare(&base, &head, &Gate::default());
    let w: Vec<String> = c
        .warnings
        .iter()
        .map(|w| format!("{}: {}", w.kind, w.message))
        .collect();
    assert_eq!(
        w,
        [
            "machine: the machines differ: cpu unknown → Fast CPU, logical cpus 2 → 8",
            "tool: statebench 0.0.0 → 0.0.0 (0123456789ab)",
        ]
    );
    // Warnings never fail the gate.
    assert_eq!(c.exit_code(true), 0);
}

#[test]
fn holm_runs_over_every_gated_metric_of_every_step() {
    let mut base = run(10, 1000.0, 100.0, 0.01, 0);
    let mut head = run(10, 1000.0, 100.0, 0.01, 1);
    let mut other = base.subjects[1].clone();
    other.name = "other".into();
    for r in [&mut base, &mut head] {
        r.subjects.push(other.clone());
    }
    base.trials
        .extend(rounds("other", 10, 1000.0, 100.0, 0.01, 0));
    head.trials
        .extend(rounds("other", 10, 1000.0, 100.0, 0.01, 1));
    let c = compare(&base, &head, &Gate::default());
    assert_eq!(c.gated_metrics, 6);
    for m in &c.metrics {
        let (p, holm) = (m.p_value.unwrap(), m.p_holm.unwrap());
        assert!(
            holm >= p && holm <= (6.0 * p).min(1.0) + 1e-12,
            "{p} {holm}"
        );
    }
}

#[test]
fn the_json_names_units_and_verdicts_in_lowercase() {
    let c = compare(
        &run(10, 1000.0, 100.0, 0.01, 0),
        &run(10, 700.0, 100.0, 0.01, 1),
        &Gate::default(),
    );
    let v: serde_json::Value = serde_json::from_str(&json(&c)).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["verdict"], "regressed");
    assert_eq!(v["exit_code"], 3);
    let goodput = &v["metrics"][0];
    assert_eq!(goodput["metric"], "goodput");
    assert_eq!(goodput["verdict"], "regressed");
    assert_eq!(goodput["delta_pct"], 5.0);
    assert_eq!(goodput["base_values"].as_array().unwrap().len(), 10);
    for field in [
        "change_pct",
        "ci_low_pct",
        "ci_high_pct",
        "p_value",
        "p_holm",
    ] {
        assert!(goodput[field].is_number(), "{field}");
    }
    assert_eq!(v["gate"]["metrics"]["p99"]["delta"], 0.2);
}

#[test]
fn a_comparison_too_long_for_a_comment_keeps_its_regressions_and_cuts_the_rest() {
    let mut base = sample();
    let mut head = sample();
    base.trials.clear();
    head.trials.clear();
    for i in 0..400 {
        let name = format!("subject-with-a-long-name-{i}");
        let speed = if i == 7 { 500.0 } else { 1000.0 };
        base.trials.extend(rounds(&name, 5, 1000.0, 100.0, 0.0, 0));
        head.trials.extend(rounds(&name, 5, speed, 100.0, 0.0, 0));
        for r in [&mut base, &mut head] {
            let mut s = r.subjects[1].clone();
            s.name = name.clone();
            r.subjects.push(s);
        }
    }
    let c = compare(&base, &head, &Gate::default());
    let md = markdown(&c);
    assert!(md.len() < crate::markdown::LIMIT, "{}", md.len());
    assert!(md.contains("| subject-with-a-long-name-7 | throughput 16 workers | goodput |"));
    assert!(md.contains("more with no change (see --json)"));
    assert!(md.contains("Rule: a metric is inconclusive"));
}

#[test]
fn the_markdown_leads_with_the_verdict_and_ends_with_the_method_and_rule() {
    let c = compare(
        &run(10, 1000.0, 100.0, 0.01, 0),
        &run(10, 1000.0, 100.0, 0.01, 1),
        &Gate::default(),
    );
    let md = markdown(&c);
    assert!(md.starts_with(
        "**statebench gate: NO CHANGE** — 0 regressions, 0 improvements, 3 no change, 0 inconclusive\n"
    ), "{md}");
    assert!(md.contains("### Workload read-heavy\n"));
    assert!(md.contains("Holm-adjusted over 3 gated metrics; δ goodput 5%, p50 10%, p99 20%; trials per side: base 10, head 10 (at least 5 needed)."));
    assert!(md.trim_end().ends_with("is a regression."));
}

#[test]
fn results_written_before_repeated_trials_compare_as_one_trial_each() {
    let mut old = serde_json::to_value(run(1, 1000.0, 100.0, 0.0, 0)).unwrap();
    old["config"].as_object_mut().unwrap().remove("trials");
    for t in old["trials"].as_array_mut().unwrap() {
        t.as_object_mut().unwrap().remove("round");
    }
    let old: Results = serde_json::from_value(old).unwrap();
    assert_eq!((old.config.trials, old.trials[0].round), (1, 0));
    let c = compare(&old, &old, &Gate::default());
    assert!(c.metrics.iter().all(|m| m.verdict == Verdict::Inconclusive));
}
