//! `statebench ab`: base and head measured in one job on one machine, their trials
//! interleaved, then compared. Figures stored from another runner, or from the same runner
//! at another hour, differ by more than most regressions; two configurations measured side by
//! side do not.

use crate::cli::AbArgs;
use crate::options::{InvalidInput, RunOptions};
use crate::output;
use crate::run::Side;
use std::path::{Path, PathBuf};

/// Trials per side when `--trials` is not given.
pub const DEFAULT_TRIALS: &str = "8";

/// The sides' names, in the order their subjects first run.
pub const SIDES: [&str; 2] = ["base", "head"];

/// The comparison, as Markdown and JSON, in the `ab` directory.
pub const COMPARE_MD: &str = "compare.md";
/// The comparison as JSON.
pub const COMPARE_JSON: &str = "compare.json";

/// The two sides of `args`, checked, and the directory they go in.
pub fn sides(args: &AbArgs) -> Result<(PathBuf, Vec<Side>), InvalidInput> {
    let out = args
        .run
        .out
        .clone()
        .unwrap_or_else(|| crate::options::stamped("ab-"));
    let mut sides = Vec::new();
    let own = [
        (&args.base_config, &args.base_inject),
        (&args.head_config, &args.head_inject),
    ];
    for (name, (config, inject)) in SIDES.into_iter().zip(own) {
        let mut run = args.run.clone();
        run.config = config.clone().or_else(|| args.run.config.clone());
        run.inject.extend(inject.iter().cloned());
        run.trials = run.trials.or_else(|| Some(DEFAULT_TRIALS.to_owned()));
        let dir = out.join(name);
        run.out = Some(dir.clone());
        let options = RunOptions::from_args(run)?;
        if let Some(shard) = &options.shard {
            return Err(InvalidInput(format!(
                "statebench ab does not run sharded (shard {} asked for): run each side's \
                 shards with `statebench run --shard`, merge each side, then compare",
                shard.slice
            )));
        }
        output::prepare(&dir)?;
        sides.push(Side {
            name: name.to_owned(),
            options,
            run_dir: Some(dir),
        });
    }
    Ok((out, sides))
}

/// Writes the comparison next to the sides' run directories.
pub fn write_comparison(out: &Path, markdown: &str, json: &str) -> std::io::Result<()> {
    output::write_atomic(&out.join(COMPARE_MD), markdown)?;
    output::write_atomic(&out.join(COMPARE_JSON), json)
}
