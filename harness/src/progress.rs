//! Progress on stderr: a bar for the step under way and a line for each step done. Bars hide
//! themselves when stderr is not a terminal; the lines remain, so CI logs show every step.

use indicatif::{ProgressBar, ProgressStyle};
use statebench_suites::Progress;
use std::sync::{Mutex, MutexGuard};

/// Draws progress with indicatif.
#[derive(Default)]
pub struct Bars {
    current: Mutex<Option<(String, ProgressBar)>>,
}

impl Bars {
    fn current(&self) -> MutexGuard<'_, Option<(String, ProgressBar)>> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Progress for Bars {
    fn begin(&self, label: &str, total: u64) {
        let bar = ProgressBar::new(total.max(1));
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {percent:>3}% {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(label.to_owned());
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        if let Some((_, old)) = self.current().replace((label.to_owned(), bar)) {
            old.finish_and_clear();
        }
    }

    fn advance(&self, position: u64, message: &str) {
        if let Some((_, bar)) = self.current().as_ref() {
            bar.set_position(position);
            bar.set_message(message.to_owned());
        }
    }

    fn end(&self, summary: &str) {
        if let Some((label, bar)) = self.current().take() {
            bar.finish_and_clear();
            eprintln!("  {label}: {summary}");
        }
    }

    fn note(&self, line: &str) {
        match self.current().as_ref() {
            Some((_, bar)) => bar.suspend(|| eprintln!("  {line}")),
            None => eprintln!("  {line}"),
        }
    }
}
