//! Loading a subject's key space before its trials.

use crate::outcome::Outcome;
use crate::progress::Progress;
use crate::results::LoadSummary;
use crate::subject::Runner;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const WORKERS: u64 = 16;
const TRIES: u32 = 3;

/// Writes every loaded key of the runner's slice once (an account with the initial balance),
/// `WORKERS` at a time: a phase of a step, which the step's `end` closes (the caller's, or
/// the caller's error). A whole run's slice is every key.
pub async fn load(
    runner: Arc<Runner>,
    label: &str,
    progress: &dyn Progress,
    cancel: &CancellationToken,
) -> Result<LoadSummary, String> {
    let keys = runner.keys().to_load();
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    progress.begin(label, keys);
    let mut set = tokio::task::JoinSet::new();
    for w in 0..WORKERS.min(keys) {
        let (runner, done, cancel) = (runner.clone(), done.clone(), cancel.clone());
        set.spawn(async move {
            let mut name = String::new();
            for n in (w..keys).step_by(WORKERS as usize) {
                if cancel.is_cancelled() {
                    return Err("interrupted".to_owned());
                }
                let index = runner.keys().loaded_key(n);
                load_key(&runner, index, &mut name).await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        });
    }
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    let mut failure = None;
    loop {
        tokio::select! {
            joined = set.join_next() => match joined {
                None => break,
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(e))) => { failure.get_or_insert(e); set.abort_all(); }
                Some(Err(e)) if e.is_cancelled() => {}
                Some(Err(e)) => { failure.get_or_insert(format!("a load worker failed: {e}")); }
            },
            _ = ticker.tick() => progress.advance(done.load(Ordering::Relaxed), ""),
        }
    }
    let elapsed = start.elapsed();
    if let Some(e) = failure {
        return Err(e);
    }
    progress.advance(keys, "");
    Ok(LoadSummary {
        keys,
        duration_ms: elapsed.as_secs_f64() * 1_000.0,
        keys_per_s: crate::units::per_second(keys, elapsed),
    })
}

async fn load_key(runner: &Runner, index: u64, name: &mut String) -> Result<(), String> {
    let mut tries = 0;
    loop {
        tries += 1;
        let done = runner.load_one(index, name).await;
        if done.outcome == Outcome::Ok {
            return Ok(());
        }
        if done.outcome == Outcome::Fatal || tries == TRIES {
            let error = done.error.unwrap_or_default();
            return Err(format!(
                "loading key `{name}` failed after {tries} tries: {error}"
            ));
        }
    }
}
