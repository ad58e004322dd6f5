//! A merged run's shards (`statebench merge`): how the merge was made, where the shards
//! disagreed, and each shard's own figures beside the merged ones. Nothing is shown for a run
//! that was not merged.

use crate::document::{Block, Table, git_suffix, step_words};
use crate::format::{latency_us, rate};
use statebench_suites::results::{Merge, Results, ShardRun, Trial};

/// The shards' disagreements, first in the report, when there were any.
pub fn warnings(results: &Results) -> Vec<Block> {
    match &results.merge {
        Some(m) if !m.warnings.is_empty() => vec![Block::Warning(
            format!(
                "This run was merged from {} shards that did not all agree; read its figures \
                 with this in mind:",
                m.shards.len()
            ),
            m.warnings.clone(),
        )],
        _ => Vec::new(),
    }
}

/// The section: how the merge was made, the shards, and every trial shard by shard.
pub fn section(results: &Results) -> Vec<Block> {
    let Some(merge) = &results.merge else {
        return Vec::new();
    };
    let mut blocks = vec![
        Block::Heading(2, "Shards".into()),
        Block::Paragraph(format!(
            "This run was merged by `statebench merge` from {} shards (`run --shard I/N`), \
             each offering its part of every step at the same time. Histograms were added \
             outcome by outcome and every latency read from the sums, never a percentile \
             averaged; counts were summed; a step is the shards' parts together; throughput \
             is the shards' in-window operations over their common window (over the union of \
             their windows, with a warning, where they did not line up). Timelines were added \
             interval by interval on one clock: there an interval's p99 is the largest of the \
             shards' (an upper bound) and its median is left out. Start lag is the worst \
             shard's. Conformance and consistency come from the shards that ran them. Each \
             shard's interval logs and histories are in `shard-I/`.",
            merge.shards.len()
        )),
        Block::Table(shards(merge)),
    ];
    let trials = trials(results, merge);
    if !trials.rows.is_empty() {
        blocks.push(Block::Details(
            format!("Every trial shard by shard ({} rows)", trials.rows.len()),
            vec![Block::Table(trials)],
        ));
    }
    blocks
}

fn shards(merge: &Merge) -> Table {
    let mut table = Table::new(&[
        ("shard", true),
        ("from", false),
        ("ran", false),
        ("statebench", false),
        ("machine", false),
    ]);
    table.rows = merge.shards.iter().map(shard_row).collect();
    table
}

fn shard_row(s: &ShardRun) -> Vec<String> {
    let sha = git_suffix(&s.tool);
    let threads = s
        .threads
        .map(|t| format!(", {t} client thread{}", if t == 1 { "" } else { "s" }))
        .unwrap_or_default();
    let interrupted = if s.interrupted { " (interrupted)" } else { "" };
    vec![
        s.index.to_string(),
        format!("`{}`", s.source),
        format!("{} to {}{interrupted}", s.started_at, s.finished_at),
        format!("{}{sha}", s.tool.version),
        format!(
            "{} {}, {} logical CPUs{threads}",
            s.machine.os, s.machine.arch, s.machine.logical_cpus
        ),
    ]
}

/// One row per trial and shard, then the merged row.
fn trials(results: &Results, merge: &Merge) -> Table {
    let mut table = Table::new(&[
        ("trial", false),
        ("shard", false),
        ("step", false),
        ("start", true),
        ("window", true),
        ("ops", true),
        ("ops/s", true),
        ("ok/s", true),
        ("ok p99", true),
    ]);
    for t in &results.trials {
        let start = t.measured.started_unix_ns;
        for s in &merge.shards {
            let Some(part) = s.trials.iter().find(|p| p.id == t.id) else {
                continue;
            };
            let offset = match (part.started_unix_ns, start) {
                (Some(p), Some(t0)) => {
                    format!("+{}", latency_us(p.saturating_sub(t0) as f64 / 1e3))
                }
                _ => "–".to_owned(),
            };
            table.rows.push(vec![
                format!("`{}`", t.id),
                s.index.to_string(),
                step_words(&part.step),
                offset,
                latency_us(part.window_ms * 1_000.0),
                part.ops.to_string(),
                rate(part.ops_per_s),
                rate(part.ok_per_s),
                latency_us(part.ok_p99_us),
            ]);
        }
        table.rows.push(merged_row(t));
    }
    table
}

fn merged_row(t: &Trial) -> Vec<String> {
    let m = &t.measured;
    vec![
        format!("`{}`", t.id),
        "merged".to_owned(),
        step_words(&t.step),
        String::new(),
        latency_us(m.window_ms * 1_000.0),
        m.ops.to_string(),
        rate(m.ops_per_s),
        rate(m.ok_per_s),
        latency_us(m.ok_response.p99_us),
    ]
}
