//! The answer first: which subject is fastest, at what latency, and whether it is correct,
//! per workload, in one table at the top of the report.

use crate::charts::common_rate;
use crate::document::{Block, Table, pct, supported, workers};
use crate::format::rate;
use statebench_suites::results::{Results, Step, Trial};
use statebench_suites::standing::Standing;

/// A red banner when any subject broke a promise.
pub fn alert(r: &Results) -> Vec<Block> {
    let failed: Vec<String> = r
        .subjects
        .iter()
        .filter_map(|s| {
            let c = s.correctness.as_ref()?;
            (c.standing == Standing::Fail).then(|| format!("{} ({})", s.name, c.mark()))
        })
        .collect();
    if failed.is_empty() {
        return Vec::new();
    }
    vec![Block::Alert(format!(
        "FAILED: {} broke a promise it makes. Its speed is not the speed of a correct store and \
         is not comparable; the evidence is under Verdicts and Consistency.",
        failed.join("; ")
    ))]
}

/// One subject's line in the ranking.
struct Line<'a> {
    subject: &'a str,
    best: Option<&'a Trial>,
    at_rate: Option<&'a Trial>,
    correctness: String,
    standing: Option<Standing>,
}

/// Per workload, the subjects ranked by goodput, with p99 at a common offered rate and each
/// one's correctness beside it.
pub fn ranking(r: &Results) -> Vec<Block> {
    let mut workloads: Vec<&str> = Vec::new();
    for t in &r.trials {
        if !workloads.contains(&t.workload.as_str()) {
            workloads.push(&t.workload);
        }
    }
    let mut blocks = Vec::new();
    let common = common_rate(r);
    for workload in workloads {
        let mut lines: Vec<Line<'_>> = Vec::new();
        for s in &r.subjects {
            let of = |suite: &'static str| {
                r.trials.iter().filter(move |t| {
                    t.workload == workload && t.subject == s.name && t.suite == suite
                })
            };
            let best =
                of("throughput").max_by(|a, b| a.measured.ok_per_s.total_cmp(&b.measured.ok_per_s));
            let at_rate = of("latency").find(
                |t| matches!(t.step, Step::Open { rate_per_s, .. } if Some(rate_per_s) == common),
            );
            if best.is_none() && at_rate.is_none() {
                continue;
            }
            let (correctness, standing) = match &s.correctness {
                Some(c) => (
                    match c.standing {
                        Standing::Pass => format!("pass ({} checks)", c.checks),
                        Standing::Unknown => format!("undecided: {}", c.undecided.join("; ")),
                        _ => c.mark(),
                    },
                    Some(c.standing),
                ),
                None => ("not checked".to_owned(), None),
            };
            lines.push(Line {
                subject: &s.name,
                best,
                at_rate,
                correctness,
                standing,
            });
        }
        if lines.is_empty() {
            continue;
        }
        lines.sort_by(|a, b| {
            let ok = |l: &Line<'_>| l.best.map_or(-1.0, |t| t.measured.ok_per_s);
            ok(b).total_cmp(&ok(a))
        });
        // p99 rank among the subjects measured at the common rate, lowest first.
        let mut by_p99: Vec<(&str, f64)> = lines
            .iter()
            .filter_map(|l| {
                let t = l.at_rate?;
                let ok = &t.measured.ok_response;
                supported(ok, 0.99).then_some((l.subject, ok.p99_us))
            })
            .collect();
        by_p99.sort_by(|a, b| a.1.total_cmp(&b.1));
        let p99_header = match common {
            Some(rate_s) => format!("p99 at {}/s offered", rate(rate_s)),
            None => "p99 at a common rate".to_owned(),
        };
        let mut table = Table::new(&[
            ("#", true),
            ("subject", false),
            ("goodput", true),
            ("at", true),
            (&p99_header, true),
            ("errors", true),
            ("correctness", false),
        ]);
        for (i, l) in lines.iter().enumerate() {
            let not_comparable = l.standing != Some(Standing::Pass);
            let (goodput, at) = match l.best {
                Some(t) => {
                    let Step::Closed { concurrency } = t.step else {
                        continue;
                    };
                    let mark = if not_comparable { "*" } else { "" };
                    (
                        format!("{} ok/s{mark}", rate(t.measured.ok_per_s)),
                        workers(concurrency),
                    )
                }
                None => ("–".to_owned(), "–".to_owned()),
            };
            let p99 = match l.at_rate {
                Some(t) => {
                    let m = &t.measured;
                    let shown = pct(&m.ok_response, 0.99);
                    let rank = by_p99
                        .iter()
                        .position(|(s, _)| *s == l.subject)
                        .map(|k| format!(" (#{})", k + 1))
                        .unwrap_or_default();
                    let behind = if m.unstarted > 0 {
                        ", could not keep up"
                    } else {
                        ""
                    };
                    if supported(&m.ok_response, 0.99) {
                        format!("{shown}{rank}{behind}")
                    } else {
                        format!("– ({} ok ops, too few)", m.counts.ok)
                    }
                }
                None => "–".to_owned(),
            };
            let errors = {
                let (errors, ops) = [l.best, l.at_rate]
                    .iter()
                    .flatten()
                    .fold((0, 0), |(e, n), t| {
                        (e + t.measured.counts.errors(), n + t.measured.ops)
                    });
                if ops == 0 {
                    "–".to_owned()
                } else {
                    format!("{:.2}%", 100.0 * errors as f64 / ops as f64)
                }
            };
            table.rows.push(vec![
                (i + 1).to_string(),
                l.subject.to_owned(),
                goodput,
                at,
                p99,
                errors,
                l.correctness.clone(),
            ]);
        }
        blocks.push(Block::Heading(2, format!("Summary: {workload}")));
        let (fastest, faster) = r.fastest_passing();
        let mut text = String::from(
            "Ranked by goodput: successful operations per second at each subject's best \
             closed-loop step. The p99 is of successful operations' response time in the \
             open-loop step at the highest offered rate every subject ran, with its rank \
             (lowest first); errors are over those two steps. Correctness is every check the \
             run made of the subject; * marks a goodput that is not comparable, because its \
             subject did not pass every check.",
        );
        if let Some((name, ok)) = fastest {
            text += &format!(
                " Fastest that passed every check: {name}, {} ok/s.",
                rate(ok)
            );
        }
        blocks.push(Block::Paragraph(text));
        blocks.push(Block::Table(table));
        if !faster.is_empty() {
            blocks.push(Block::Warning(
                "Faster, but not comparable: these subjects did not pass every check (a broken \
                 promise, a check that could not decide, or no check at all), so their speed \
                 is not shown to be the speed of a correct store."
                    .into(),
                faster
                    .iter()
                    .map(|(name, ok, mark)| format!("{name}: {} ok/s, {mark}", rate(*ok)))
                    .collect(),
            ));
        }
    }
    blocks
}
