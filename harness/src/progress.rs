//! Progress on stderr: an overall bar with the steps done of all planned and the time left, a
//! bar for the phase under way, and one line for each step done. Bars fit the terminal's
//! width and hide themselves when stderr is not a terminal; the lines remain, so CI logs show
//! every step.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use statebench_suites::Progress;
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Draws progress with indicatif.
pub struct Bars {
    multi: MultiProgress,
    state: Mutex<State>,
}

struct State {
    /// The phase under way: its label and bar.
    phase: Option<(String, ProgressBar)>,
    /// Steps done of all planned; shown once there is a plan.
    overall: Option<ProgressBar>,
    clock: Clock,
}

impl Default for Bars {
    fn default() -> Self {
        Self {
            multi: MultiProgress::new(),
            state: Mutex::new(State {
                phase: None,
                overall: None,
                clock: Clock::new(Instant::now()),
            }),
        }
    }
}

impl Bars {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Brings the overall bar up to date.
    fn show_overall(&self, state: &mut State) {
        let now = Instant::now();
        let total = state.clock.total();
        if state.overall.is_none() && total > 0 {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template("{wide_bar} {pos}/{len} steps, {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_message(state.clock.status(now));
            state.overall = Some(self.multi.add(bar));
        }
        if let Some(bar) = &state.overall {
            bar.set_length(total.max(1));
            bar.set_position(state.clock.done);
            bar.set_message(state.clock.status(now));
        }
    }
}

impl Progress for Bars {
    fn plan(&self, ahead: &[Option<Duration>], exact: bool) {
        let mut state = self.state();
        state.clock.plan(ahead, exact, Instant::now());
        if ahead.is_empty() {
            // Nothing more to run: the plan is done with (the run may still clean up).
            if let Some(bar) = state.overall.take() {
                bar.finish_and_clear();
            }
            if let Some((_, bar)) = state.phase.take() {
                bar.finish_and_clear();
            }
            return;
        }
        self.show_overall(&mut state);
    }

    fn begin(&self, label: &str, total: u64) {
        let bar = ProgressBar::new(total.max(1));
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:20}] {percent:>3}% {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(label.to_owned());
        let mut state = self.state();
        let bar = match &state.overall {
            Some(overall) => self.multi.insert_before(overall, bar),
            None => self.multi.add(bar),
        };
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Some((_, old)) = state.phase.replace((label.to_owned(), bar)) {
            old.finish_and_clear();
            self.multi.remove(&old);
        }
        self.show_overall(&mut state);
    }

    fn advance(&self, position: u64, message: &str) {
        let mut state = self.state();
        if let Some((label, bar)) = state.phase.as_ref() {
            bar.set_position(position);
            bar.set_message(if message.is_empty() {
                label.clone()
            } else {
                format!("{label}: {message}")
            });
        }
        self.show_overall(&mut state);
    }

    fn end(&self, summary: &str) {
        let mut state = self.state();
        let label = state.phase.take().map(|(label, bar)| {
            bar.finish_and_clear();
            self.multi.remove(&bar);
            label
        });
        state.clock.step_done(Instant::now());
        let count = format!("[{}/{}]", state.clock.done, state.clock.total());
        let line = match label {
            Some(label) => format!("  {count} {label}: {summary}"),
            None => format!("  {count} {summary}"),
        };
        self.multi.suspend(|| eprintln!("{line}"));
        self.show_overall(&mut state);
    }

    fn note(&self, line: &str) {
        self.multi.suspend(|| eprintln!("  {line}"));
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        let state = self.state();
        for bar in state.phase.iter().map(|(_, b)| b).chain(&state.overall) {
            bar.finish_and_clear();
        }
    }
}

/// Counts steps and tells the time left: timed steps take their planned length, stretched by
/// how much longer the finished ones took than planned (loading keys, the grace period,
/// checking); steps of unknown length take what the finished ones took on average.
#[derive(Debug)]
struct Clock {
    started: Instant,
    /// When the step under way started (the last step's end, or the last plan).
    step_started: Instant,
    /// Steps done.
    done: u64,
    /// Steps ahead, the one under way first, with their planned lengths where known.
    ahead: VecDeque<Option<Duration>>,
    /// Whether the plan is known exactly (all subjects made).
    exact: bool,
    /// Planned length of the finished timed steps, and what they took.
    timed_planned: Duration,
    timed_took: Duration,
    /// Finished steps of unknown length, and what they took.
    untimed: u32,
    untimed_took: Duration,
}

impl Clock {
    fn new(now: Instant) -> Self {
        Self {
            started: now,
            step_started: now,
            done: 0,
            ahead: VecDeque::new(),
            exact: false,
            timed_planned: Duration::ZERO,
            timed_took: Duration::ZERO,
            untimed: 0,
            untimed_took: Duration::ZERO,
        }
    }

    /// Plans are told between steps; the time since the last step (servers starting,
    /// subjects being made) belongs to no step.
    fn plan(&mut self, ahead: &[Option<Duration>], exact: bool, now: Instant) {
        self.ahead = ahead.iter().copied().collect();
        self.exact = exact;
        self.step_started = now;
    }

    fn step_done(&mut self, now: Instant) {
        let took = now.saturating_duration_since(self.step_started);
        match self.ahead.pop_front().flatten() {
            Some(planned) => {
                self.timed_planned += planned;
                self.timed_took += took;
            }
            None => {
                self.untimed += 1;
                self.untimed_took += took;
            }
        }
        self.done += 1;
        self.step_started = now;
    }

    fn total(&self) -> u64 {
        self.done + self.ahead.len() as u64
    }

    /// The time left, and whether it is a lower bound (steps of unknown length ahead and
    /// none finished yet to tell how long they take).
    fn left(&self, now: Instant) -> (Duration, bool) {
        let stretch = if self.timed_planned.is_zero() {
            1.0
        } else {
            (self.timed_took.as_secs_f64() / self.timed_planned.as_secs_f64()).max(1.0)
        };
        let untimed = (self.untimed > 0).then(|| self.untimed_took / self.untimed);
        let mut lower_bound = false;
        let mut left = Duration::ZERO;
        for (i, step) in self.ahead.iter().enumerate() {
            let length = match (step, untimed) {
                (Some(planned), _) => planned.mul_f64(stretch),
                (None, Some(average)) => average,
                (None, None) => {
                    lower_bound = true;
                    Duration::ZERO
                }
            };
            left += if i == 0 {
                length.saturating_sub(now.saturating_duration_since(self.step_started))
            } else {
                length
            };
        }
        (left, lower_bound)
    }

    /// "12s elapsed, about 1m 20s left".
    fn status(&self, now: Instant) -> String {
        let elapsed = short(now.saturating_duration_since(self.started));
        let (left, lower_bound) = self.left(now);
        let left = match (lower_bound, left.is_zero()) {
            (true, true) => "time left unknown".to_owned(),
            (true, false) => format!("more than {} left", short(left)),
            // Loads and checks take what they take: every figure is an estimate.
            (false, _) => format!("about {} left", short(left)),
        };
        let plan = if self.exact { "" } else { " (plan estimated)" };
        format!("{elapsed} elapsed, {left}{plan}")
    }
}

/// A duration in a few characters: `45s`, `3m 05s`, `1h 02m`.
fn short(d: Duration) -> String {
    let s = d.as_secs_f64().round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn timed_steps_take_their_plan_stretched_by_what_finished_ones_took() {
        let t0 = Instant::now();
        let mut clock = Clock::new(t0);
        clock.plan(&[Some(2 * SEC), Some(2 * SEC), Some(2 * SEC)], true, t0);
        assert_eq!(clock.left(t0), (6 * SEC, false));
        assert_eq!(clock.left(t0 + SEC), (5 * SEC, false));
        // The first step took 3 s, not 2: the other two are expected to take 3 s each.
        clock.step_done(t0 + 3 * SEC);
        assert_eq!((clock.done, clock.total()), (1, 3));
        assert_eq!(clock.left(t0 + 3 * SEC), (6 * SEC, false));
        assert_eq!(clock.status(t0 + 3 * SEC), "3s elapsed, about 6s left");
    }

    #[test]
    fn steps_of_unknown_length_take_what_finished_ones_took() {
        let t0 = Instant::now();
        let mut clock = Clock::new(t0);
        clock.plan(&[None, Some(2 * SEC), None], false, t0);
        assert_eq!(clock.left(t0), (2 * SEC, true));
        assert_eq!(
            clock.status(t0),
            "0s elapsed, more than 2s left (plan estimated)"
        );
        clock.step_done(t0 + 4 * SEC);
        assert_eq!(clock.left(t0 + 4 * SEC), (6 * SEC, false));
    }

    #[test]
    fn a_new_plan_replaces_the_steps_ahead_and_keeps_the_count_done() {
        let t0 = Instant::now();
        let mut clock = Clock::new(t0);
        clock.plan(&[None, None, None], false, t0);
        clock.step_done(t0 + SEC);
        clock.plan(&[None], true, t0 + SEC);
        assert_eq!((clock.done, clock.total()), (1, 2));
        assert_eq!(clock.status(t0 + SEC), "1s elapsed, about 1s left");
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(short(Duration::from_secs(45)), "45s");
        assert_eq!(short(Duration::from_secs(185)), "3m 05s");
        assert_eq!(short(Duration::from_secs(3720)), "1h 02m");
    }
}
