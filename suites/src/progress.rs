//! How long work reports its progress; the harness draws it, tests ignore it.

/// What a progress display is told.
pub trait Progress: Send + Sync {
    /// A step starts: `label` names it, `total` is its length in the unit of `advance`
    /// (milliseconds for timed phases, operations for counted ones).
    fn begin(&self, label: &str, total: u64);
    /// The step reached `position` of its total; `message` is a short live figure.
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
    fn begin(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64, _: &str) {}
    fn end(&self, _: &str) {}
    fn note(&self, _: &str) {}
}
