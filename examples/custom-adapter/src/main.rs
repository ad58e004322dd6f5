//! A full statebench run on `VersionedMap`, with its report:
//! `cargo run -p custom-adapter -- --out DIR` (and any other flag of `statebench run`).
//! Exits 3 when a check failed.

use clap::Parser;
use custom_adapter::{VersionedMap, subject};
use statebench::cli::RunArgs;
use statebench_suites::standing::Standing;
use std::process::ExitCode;

/// Runs statebench's suites on VersionedMap and writes results.json, report.md and
/// index.html.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    run: RunArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let store = subject("versioned-map", VersionedMap::new());
    let results = statebench::run_with(vec![store], cli.run).await?;
    let failed = results
        .subjects
        .iter()
        .filter_map(|s| s.correctness.as_ref())
        .any(|c| c.standing == Standing::Fail);
    Ok(ExitCode::from(if failed { 3 } else { 0 }))
}
