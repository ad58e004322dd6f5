//! `statebench merge RUN_DIR... --out DIR`: one run from the shards of a sharded run
//! (`run --shard I/N`), written like any run: results.json, report.md and index.html, with
//! each shard's interval logs and histories copied under `DIR/shard-I/`. The merge itself is
//! [`statebench_reports::merge`].

use crate::output;
use anyhow::{Context as _, bail};
use statebench_reports::merge::{Input, merge, relocated};
use statebench_suites::results::Results;
use std::path::{Component, Path, PathBuf};

/// Merges the shards in `runs` (run directories or their results.json) into `out` and
/// returns the merged results; an error (exit 1) when a run cannot be read, `out` is one of
/// the runs or already holds a run, or the runs are not every shard of one run.
pub fn run(runs: &[PathBuf], out: &Path) -> anyhow::Result<Results> {
    let mut inputs = Vec::new();
    let mut files = Vec::new();
    for path in runs {
        let (dir, file) = output::run_paths(path);
        if same(&dir, out) {
            bail!(
                "--out {} is the run directory {}; choose another directory for the merged run",
                out.display(),
                path.display()
            );
        }
        let results = statebench_reports::read(&file)
            .with_context(|| format!("{} is not a run", path.display()))?;
        if let Some(shard) = &results.config.shard {
            files.extend(
                shard_files(&results)
                    .into_iter()
                    .map(|p| (dir.join(&p), relocated(shard.index, &p))),
            );
        }
        inputs.push(Input {
            source: path.display().to_string(),
            results,
        });
    }
    let mut merged = merge(inputs)?;
    output::prepare(out)?;
    let mut uncopied = Vec::new();
    for (from, to) in files {
        if let Err(e) = copy(&from, &out.join(&to)) {
            uncopied.push(format!(
                "{} could not be copied to {to}: {e}",
                from.display()
            ));
        }
    }
    if let Some(m) = merged.merge.as_mut() {
        m.warnings.extend(uncopied);
    }
    output::write_run(out, &merged)
        .with_context(|| format!("cannot write the merged run to {}", out.display()))?;
    Ok(merged)
}

/// The files a shard's results name, relative to its directory: interval logs and
/// consistency histories.
fn shard_files(results: &Results) -> Vec<String> {
    let logs = results.trials.iter().filter_map(|t| t.interval_log.clone());
    let histories = results
        .consistency
        .iter()
        .flat_map(|c| c.histories.iter().cloned());
    logs.chain(histories).collect()
}

/// Copies `from` to `to`, creating directories; refuses a destination that would leave the
/// merged run's directory (a path in results.json is data, not to be trusted blindly).
fn copy(from: &Path, to: &Path) -> std::io::Result<()> {
    if to.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(std::io::Error::other("the path leaves the run directory"));
    }
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::copy(from, to).map(|_| ())
}

fn same(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
