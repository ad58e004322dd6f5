//! `statebench compare BASE HEAD`: the regression gate over two runs' results.

use crate::cli::CompareArgs;
use crate::output;
use anyhow::Context as _;
use statebench_reports::gate::{self, Gate};
use std::path::Path;

/// Compares the runs, prints the Markdown (or the JSON, with `--json -`) and writes the files
/// asked for; the exit code: 0 no regression, 3 a regression, 4 under `--strict` when a gated
/// verdict is inconclusive and nothing regressed.
pub fn run(args: &CompareArgs) -> anyhow::Result<u8> {
    let base = read(&args.base)?;
    let head = read(&args.head)?;
    let gate = match &args.gate {
        Some(path) => Gate::load(path)?,
        None => Gate::default(),
    };
    let comparison = gate::compare(&base, &head, &gate);
    for w in &comparison.warnings {
        eprintln!("warning: {}: {}", w.kind, w.message);
    }
    let markdown = gate::markdown(&comparison);
    let json = gate::json(&comparison);
    if let Some(path) = &args.md {
        write(path, &markdown)?;
    }
    match &args.json {
        Some(path) if path.as_os_str() == "-" => print!("{json}"),
        Some(path) => {
            write(path, &json)?;
            print!("{markdown}");
        }
        None => print!("{markdown}"),
    }
    // The codes are 0, 3 and 4.
    Ok(u8::try_from(comparison.exit_code(args.strict)).unwrap_or(1))
}

/// A run's results, from its directory or its results.json.
fn read(path: &Path) -> anyhow::Result<statebench_suites::results::Results> {
    let (_, file) = output::run_paths(path);
    Ok(statebench_reports::read(&file)?)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    output::write_atomic(path, text).with_context(|| format!("cannot write {}", path.display()))
}
