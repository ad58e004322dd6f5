//! The report's correctness sections: every subject's standing next to its best speed (so
//! that a store that breaks its promises never passes for the fastest), and the consistency
//! matrix: subject and fault by check, with counts.

use crate::document::{Block, Table};
use crate::format::rate;
use statebench_suites::check::Validity;
use statebench_suites::results::{ConsistencyCheck, ConsistencyRun, Results};
use statebench_suites::standing::Standing;

/// Each subject's standing, its best goodput, and the fastest subject that passed.
pub fn verdicts(r: &Results) -> Vec<Block> {
    let mut table = Table::new(&[
        ("subject", false),
        ("checks", false),
        ("what broke", false),
        ("best ok/s", true),
    ]);
    for s in &r.subjects {
        let Some(c) = &s.correctness else { continue };
        let best = r
            .trials
            .iter()
            .filter(|t| t.subject == s.name && t.suite == "throughput")
            .map(|t| t.measured.ok_per_s)
            .fold(None, |acc: Option<f64>, x| {
                Some(acc.map_or(x, |a| a.max(x)))
            });
        let broke = match c.standing {
            Standing::Fail => grouped(&c.broken),
            Standing::Unknown => format!("undecided: {}", c.undecided.join("; ")),
            _ => "-".to_owned(),
        };
        table.rows.push(vec![
            s.name.clone(),
            format!("{} ({} ran)", c.standing.as_str(), c.checks),
            broke,
            best.map_or("-".to_owned(), rate),
        ]);
    }
    if table.rows.is_empty() {
        return Vec::new();
    }
    let mut blocks = vec![Block::Heading(2, "Verdicts".into())];
    blocks.push(Block::Paragraph(
        "A subject passes when every check that ran kept its promise: conformance, the \
         consistency suite, and the books of every trial that ran commands (each account's \
         balance between its acknowledged and its attempted changes). A property the adapter \
         does not declare is measured and shown, not failed."
            .into(),
    ));
    blocks.push(Block::Table(table));
    blocks
}

/// `lost-updates ×5 (consistency, fault none; after broken-cas.latency…)` → counted per check.
fn grouped(broken: &[String]) -> String {
    let mut counted: Vec<(String, usize)> = Vec::new();
    for b in broken {
        let name = b.split(" (").next().unwrap_or(b).to_owned();
        match counted.iter_mut().find(|(n, _)| *n == name) {
            Some((_, n)) => *n += 1,
            None => counted.push((name, 1)),
        }
    }
    let shown: Vec<String> = counted
        .into_iter()
        .map(|(name, n)| if n > 1 { format!("{name} ×{n}") } else { name })
        .collect();
    shown.join(", ")
}

/// What a check's violations count, in words: `3 stale reads`, `1 of 5 keys`.
fn violations(v: &statebench_suites::check::Verdict) -> String {
    let n = v.violations;
    match v.check.as_str() {
        "linearizable" => format!("{n} of {} keys", v.keys),
        "stale-reads" => format!("{n} stale reads"),
        "lost-updates" => format!("{n} reads out of bounds"),
        "durability" => format!("{n} acknowledged writes lost"),
        "stale-for-good" => format!("{n} of {} entries", v.keys),
        _ => format!("{n} violations"),
    }
}

fn cell(c: &ConsistencyCheck) -> String {
    let v = &c.verdict;
    match (v.validity, c.promised) {
        (Validity::Valid, _) if v.violations > 0 => {
            format!("valid ({} noted)", violations(v))
        }
        (Validity::Valid, _) => format!("valid ({} ops)", v.ops),
        (Validity::Invalid, true) => format!("FAIL ({} in {} ops)", violations(v), v.ops),
        (Validity::Invalid, false) => {
            format!("seen {} in {} ops (not promised)", violations(v), v.ops)
        }
        (Validity::Unknown, _) => "unknown".to_owned(),
    }
}

fn fault_of(run: &ConsistencyRun) -> String {
    match &run.target {
        Some(t) => format!("{} on {t}", run.fault),
        None => run.fault.clone(),
    }
}

/// The consistency matrix, stale reads, the nemesis's actions and the evidence of failures.
pub fn consistency(r: &Results) -> Vec<Block> {
    if r.consistency.is_empty() {
        return Vec::new();
    }
    let checks: Vec<String> = {
        let mut names: Vec<String> = Vec::new();
        for c in r.consistency.iter().flat_map(|run| &run.checks) {
            if !names.contains(&c.verdict.check) {
                names.push(c.verdict.check.clone());
            }
        }
        names
    };
    let mut columns = vec![
        ("subject", false),
        ("fault", false),
        ("ops ok/fail/info", true),
        ("achieved", true),
    ];
    columns.extend(checks.iter().map(|c| (c.as_str(), false)));
    let mut matrix = Table::new(&columns);
    for run in &r.consistency {
        let mut row = vec![
            run.subject.clone(),
            fault_of(run),
            format!("{}/{}/{}", run.ops.ok, run.ops.fail, run.ops.info),
            format!(
                "{}/s for {:.1} s",
                rate(run.ops_per_s),
                run.duration_ms / 1e3
            ),
        ];
        for name in &checks {
            let found = run.checks.iter().find(|c| c.verdict.check == *name);
            row.push(match (&run.skipped, found) {
                (Some(_), _) => "skipped".to_owned(),
                (None, Some(c)) => cell(c),
                (None, None) => "n/a".to_owned(),
            });
        }
        matrix.rows.push(row);
    }
    let w = &r.config.workload.consistency;
    let mut blocks = vec![
        Block::Heading(2, "Consistency".into()),
        Block::Paragraph(format!(
            "{} clients on {} hot keys per subject, paced to at most {} operations per second in \
             all, for {:.1} s per fault scenario (what they achieved, operations over the time the \
             clients ran, is in the table); then every fault is healed, a quiet \
             period of {:.1} s passes, and every key is read once more. Every operation is \
             recorded (the histories are in `histories/`, checkable offline with `statebench \
             check`). `FAIL`: a promised property broken; `not promised`: the adapter declares \
             it does not keep it, so it is measured; each cell counts what was found (keys \
             not linearizable, stale reads, reads out of the bounds of the adds, acknowledged \
             writes lost) and the operations checked.",
            w.clients,
            w.keys,
            w.rate,
            w.duration.0.as_secs_f64(),
            w.quiet.0.as_secs_f64(),
        )),
        Block::Table(matrix),
    ];
    blocks.extend(staleness(r));
    blocks.extend(details(r));
    blocks
}

fn staleness(r: &Results) -> Vec<Block> {
    let mut table = Table::new(&[
        ("subject", false),
        ("fault", false),
        ("reads", true),
        ("stale", true),
        ("share", true),
        ("versions behind (max)", true),
        ("behind p50", true),
        ("behind p99", true),
        ("behind max", true),
    ]);
    for run in &r.consistency {
        let Some(s) = &run.staleness else { continue };
        table.rows.push(vec![
            run.subject.clone(),
            fault_of(run),
            s.reads.to_string(),
            s.stale.to_string(),
            format!("{:.2}%", 100.0 * s.share()),
            s.max_versions_behind.to_string(),
            format!("{:.2} ms", s.behind_p50_ms),
            format!("{:.2} ms", s.behind_p99_ms),
            format!("{:.2} ms", s.behind_max_ms),
        ]);
    }
    if table.rows.iter().all(|row| row[3] == "0") {
        return Vec::new();
    }
    vec![
        Block::Heading(3, "Stale reads".into()),
        Block::Paragraph(
            "A read is stale when it returns a version older than one acknowledged before the \
             read began; `behind`: how long before the read began a newer version had been \
             acknowledged."
                .into(),
        ),
        Block::Table(table),
    ]
}

fn details(r: &Results) -> Vec<Block> {
    let mut lines = Vec::new();
    for run in &r.consistency {
        if let Some(why) = &run.skipped {
            lines.push(format!(
                "{} under {}: skipped: {why}",
                run.subject, run.fault
            ));
            continue;
        }
        for e in &run.nemesis {
            lines.push(format!(
                "{} under {}: at {:.0} ms {} {}: {}{}",
                run.subject,
                run.fault,
                e.at_ms,
                e.action,
                e.target,
                if e.ok { "" } else { "FAILED: " },
                e.detail
            ));
        }
        for c in run
            .checks
            .iter()
            .filter(|c| c.verdict.validity != Validity::Valid || !c.note.is_empty())
        {
            let mut line = format!(
                "{} under {}: {}: {}",
                run.subject, run.fault, c.verdict.check, c.verdict.summary
            );
            if !c.note.is_empty() {
                line += &format!(" ({})", c.note);
            }
            if let Some(e) = c.verdict.evidence.first() {
                let key = e
                    .key
                    .as_deref()
                    .map(|k| format!("key {k}: "))
                    .unwrap_or_default();
                line += &format!(". E.g. {key}{}", e.message);
                for op in e.ops.iter().take(4) {
                    line += &format!("; `{op}`");
                }
            }
            lines.push(line);
        }
    }
    if lines.is_empty() {
        return Vec::new();
    }
    vec![
        Block::Heading(3, "What the checks found".into()),
        Block::List(lines),
    ]
}
