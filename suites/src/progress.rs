//! How long work reports its progress; the harness draws it, tests ignore it.

use std::time::Duration;

/// What a progress display is told.
///
/// Work comes in steps (a conformance run, one trial, one fault scenario); a step has one or
/// more phases (a trial loads its keys, warms up, then measures), each started by `begin`,
/// and the step closes with one `end`.
pub trait Progress: Send + Sync {
    /// The steps still ahead, in the order they run, each with its planned length when that
    /// is known (timed phases) and `None` when not (checks, phases counted in operations);
    /// `exact` is false when the list is an estimate. Told before the first step and again
    /// whenever the plan changes; a display may use it to say how much is left.
    fn plan(&self, ahead: &[Option<Duration>], exact: bool) {
        let _ = (ahead, exact);
    }
    /// A phase starts: `label` names it, `total` is its length in the unit of `advance`
    /// (milliseconds for timed phases, operations for counted ones).
    fn begin(&self, label: &str, total: u64);
    /// The phase reached `position` of its total; `message` is a short live figure.
    fn advance(&self, position: u64, message: &str);
    /// The step ended; `summary` is one line on how it went.
    fn end(&self, summary: &str);
    /// A line for the user that is not a step (a skip, a warning).
    fn note(&self, line: &str);
}

/// Shows nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn plan(&self, _: &[Option<Duration>], _: bool) {}
    fn begin(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64, _: &str) {}
    fn end(&self, _: &str) {}
    fn note(&self, _: &str) {}
}
