//! The normal pipeline on subjects you make: a full run of your own adapter, with its
//! report, from a binary of yours.

use crate::cli::RunArgs;
use crate::options::{InvalidInput, RunOptions};
use crate::progress::Bars;
use crate::{output, run};
use statebench_suites::Subject;
use statebench_suites::results::Results;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

/// Why a run with your subjects could not be done or written.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The arguments, or the output directory, are not usable.
    #[error(transparent)]
    Input(#[from] InvalidInput),
    /// The results could not be written.
    #[error("cannot write the results to {}: {source}", dir.display())]
    Write {
        /// The run directory.
        dir: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// Runs the suites `args` chooses (all four by default) on `subjects`, after the adapters
/// `args` names (none when it names none, so only yours run), and writes results.json,
/// report.md and index.html into `args.out` (default `statebench-results/<time>`), as
/// `statebench run` does. Progress goes to stderr; Ctrl-C stops measuring and writes what
/// was measured. Whether a check failed is in each subject's `correctness`.
pub async fn run_with(subjects: Vec<Subject>, args: RunArgs) -> Result<Results, RunError> {
    let only_yours = args.adapters.is_empty();
    let mut options = RunOptions::from_args(args)?;
    if only_yours {
        options.adapters.clear();
    }
    options.subjects = subjects;
    output::prepare(&options.out)?;
    let cancel = CancellationToken::new();
    let watcher = tokio::spawn({
        let cancel = cancel.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        }
    });
    let results = run::execute(&options, &Bars::default(), &cancel, Some(&options.out)).await;
    watcher.abort();
    output::write_run(&options.out, &results).map_err(|source| RunError::Write {
        dir: options.out.clone(),
        source,
    })?;
    Ok(results)
}
