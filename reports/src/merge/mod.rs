//! `statebench merge`: one run from the shards of a sharded run (`run --shard I/N`), as if
//! one machine had offered all their load.
//!
//! Per trial id, across shards: histograms are added outcome by outcome and every latency is
//! read again from the sums (never an average of percentiles); counts, operations, late,
//! unstarted, abandoned, stragglers, retries and refusals are summed; the step is the whole
//! (concurrencies, rates and in-flight limits summed); throughput is over the common window
//! (see [`trial`]); timelines are added interval by interval, aligned by each phase's
//! wall-clock start (see [`timeline`]). Conformance, consistency runs and servers are taken
//! from the shards that have them. Each shard's own figures are kept in
//! [`Results::merge`], with warnings where the shards disagreed.
//!
//! A merge of one shard is that run: the same trials with the same figures.

mod parts;
mod refuse;
mod timeline;
mod trial;
mod warnings;

pub use refuse::MergeError;

use statebench_suites::results::{Merge, Results, SCHEMA_VERSION, ShardRun, ShardTrial};
use std::collections::BTreeMap;

/// One shard's results and where they were read from.
#[derive(Clone, Debug)]
pub struct Input {
    /// The run directory as the user named it; errors and the report name it so.
    pub source: String,
    /// Its results.json.
    pub results: Results,
}

/// Where a shard's files (interval logs, histories) go in the merged run's directory:
/// `shard-I/` followed by the path they had in the shard's.
pub fn relocated(index: u32, path: &str) -> String {
    format!("shard-{index}/{path}")
}

/// Merges the shards `inputs` into one run, or says why they are not the shards of one run.
/// Warnings (the shards' windows, versions or machines disagree, a trial is missing on a
/// shard) are in the result's [`Results::merge`].
pub fn merge(inputs: Vec<Input>) -> Result<Results, MergeError> {
    let shards = refuse::checked(inputs)?;
    let first = &shards[0].results;
    let mut warnings = warnings::of_runs(&shards);
    let trial::Merged {
        trials,
        ids,
        warnings: trial_warnings,
    } = trial::all(&shards);
    warnings.extend(trial_warnings);
    let (skipped, skip_warnings) = parts::skipped(&shards);
    warnings.extend(skip_warnings);
    let (servers, server_warnings) = parts::servers(&shards);
    warnings.extend(server_warnings);
    let mut config = first.config.clone();
    config.shard = None;
    let mut merged = Results {
        schema_version: SCHEMA_VERSION,
        tool: first.tool.clone(),
        started_at: shards
            .iter()
            .map(|s| s.results.started_at.clone())
            .min()
            .unwrap_or_default(),
        finished_at: shards
            .iter()
            .map(|s| s.results.finished_at.clone())
            .max()
            .unwrap_or_default(),
        interrupted: shards.iter().any(|s| s.results.interrupted),
        config,
        machine: first.machine.clone(),
        servers,
        subjects: parts::subjects(&shards),
        skipped,
        conformance: parts::conformance(&shards),
        trials,
        consistency: parts::consistency(&shards),
        merge: None,
    };
    // Correctness and standings again, over every shard's checks.
    merged.settle();
    merged.merge = Some(Merge {
        shards: shards.iter().map(|s| shard_run(s, &ids)).collect(),
        warnings,
    });
    Ok(merged)
}

/// A shard with its index, checked.
struct Shard {
    index: u32,
    source: String,
    results: Results,
}

/// The shard as it ran, with its own figures for every trial it has.
fn shard_run(shard: &Shard, ids: &BTreeMap<String, String>) -> ShardRun {
    let r = &shard.results;
    let trials = r
        .trials
        .iter()
        .map(|t| ShardTrial {
            id: ids.get(&t.id).cloned().unwrap_or_else(|| t.id.clone()),
            step: t.step.clone(),
            started_unix_ns: t.measured.started_unix_ns,
            window_ms: t.measured.window_ms,
            ops: t.measured.ops,
            ops_per_s: t.measured.ops_per_s,
            ok_per_s: t.measured.ok_per_s,
            ok_p99_us: t.measured.ok_response.p99_us,
            interval_log: t.interval_log.as_deref().map(|p| relocated(shard.index, p)),
        })
        .collect();
    ShardRun {
        index: shard.index,
        source: shard.source.clone(),
        started_at: r.started_at.clone(),
        finished_at: r.finished_at.clone(),
        interrupted: r.interrupted,
        tool: r.tool.clone(),
        machine: r.machine.clone(),
        threads: r.config.threads,
        trials,
    }
}

#[cfg(test)]
mod tests;
