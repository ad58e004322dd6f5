//! Where the shards of one run disagreed about how they ran: the merge stands, but a reader
//! should know.

use super::Shard;

/// Different builds, machines of different sizes, different agreed starts, interrupted
/// shards.
pub(super) fn of_runs(shards: &[Shard]) -> Vec<String> {
    let mut warnings = Vec::new();
    let each = |f: &dyn Fn(&Shard) -> String| -> Vec<String> {
        shards
            .iter()
            .map(|s| format!("shard {} {}", s.index, f(s)))
            .collect()
    };
    let differ = |key: &dyn Fn(&Shard) -> String| shards.iter().any(|s| key(s) != key(&shards[0]));
    let build = |s: &Shard| {
        let tool = &s.results.tool;
        match &tool.git_sha {
            Some(sha) => format!("{} (git {sha})", tool.version),
            None => tool.version.clone(),
        }
    };
    if differ(&build) {
        warnings.push(format!(
            "the shards ran different statebench builds: {}",
            each(&build).join("; ")
        ));
    }
    let size = |s: &Shard| {
        let threads = s
            .results
            .config
            .threads
            .map(|t| format!(", {t} client thread{}", if t == 1 { "" } else { "s" }))
            .unwrap_or_default();
        format!("{} logical CPUs{threads}", s.results.machine.logical_cpus)
    };
    if differ(&size) {
        warnings.push(format!(
            "the shards ran on machines of different sizes: {}",
            each(&size).join("; ")
        ));
    }
    let start = |s: &Shard| {
        s.results
            .config
            .shard
            .as_ref()
            .and_then(|sh| sh.start_at.clone())
            .unwrap_or_else(|| "no --start-at".to_owned())
    };
    if differ(&start) {
        warnings.push(format!(
            "the shards were given different start times (--start-at): {}",
            each(&start).join("; ")
        ));
    }
    for s in shards.iter().filter(|s| s.results.interrupted) {
        warnings.push(format!(
            "shard {} ({}) was interrupted: its part covers only what ran before the stop",
            s.index, s.source
        ));
    }
    warnings
}
