//! Latency histograms and counters of one stretch of a phase, by operation and outcome.

use crate::outcome::{Executed, Outcome};
use crate::workload::OpKind;
use hdrhistogram::Histogram;
use std::time::Instant;

/// Values above an hour are recorded as an hour.
pub const MAX_NS: u64 = 3_600_000_000_000;
/// An operation that starts more than this after its intended start is late.
pub const LATE_NS: u64 = 1_000_000;

const OPS: usize = OpKind::ALL.len();
const OUTCOMES: usize = Outcome::ALL.len();

/// A new histogram of nanoseconds, 3 significant digits, growing to fit what it records.
pub fn histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant digits is a valid precision")
}

fn record(h: &mut Histogram<u64>, ns: u64) {
    let ns = ns.clamp(1, MAX_NS);
    if h.record(ns).is_err() {
        h.saturating_record(ns);
    }
}

/// Adds `from` into `to`; `to` grows to fit, so no count is lost.
pub fn add(to: &mut Histogram<u64>, from: &Histogram<u64>) {
    if to.add(from).is_err() {
        for v in from.iter_recorded() {
            to.saturating_record_n(v.value_iterated_to(), v.count_at_value());
        }
    }
}

/// The 99th percentile of a histogram of nanoseconds, in microseconds.
pub fn p99_us(h: &Histogram<u64>) -> f64 {
    h.value_at_quantile(0.99) as f64 / 1_000.0
}

/// The timings of one operation.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// From the intended start to the end.
    pub response_ns: u64,
    /// From the actual start to the end.
    pub service_ns: u64,
    /// How late it started (open loop only).
    pub lag_ns: Option<u64>,
    /// When it ended.
    pub end: Instant,
    /// It ended after the end of its timed phase: a straggler, counted in the latencies but
    /// not in the window's throughput.
    pub straggler: bool,
}

/// Response and service times of one (operation, outcome).
#[derive(Clone, Debug)]
pub struct Cell {
    /// From the intended start to the end.
    pub response: Histogram<u64>,
    /// From the actual start to the end.
    pub service: Histogram<u64>,
    /// One error message, as an example for the report.
    pub example: Option<String>,
}

impl Cell {
    fn new() -> Self {
        Self {
            response: histogram(),
            service: histogram(),
            example: None,
        }
    }
}

/// Everything recorded over a stretch of time; merges by addition.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    cells: [[Option<Box<Cell>>; OUTCOMES]; OPS],
    retries: [u64; OPS],
    rejected: [u64; OPS],
    lag: Option<Box<Histogram<u64>>>,
    late: u64,
    stragglers: [u64; OUTCOMES],
    last_end: Option<Instant>,
}

impl Tally {
    /// Records one operation.
    pub fn record(&mut self, op: OpKind, done: &Executed, sample: &Sample) {
        let slot = &mut self.cells[op.index()][done.outcome.index()];
        let cell = slot.get_or_insert_with(|| Box::new(Cell::new()));
        record(&mut cell.response, sample.response_ns);
        record(&mut cell.service, sample.service_ns);
        if cell.example.is_none() {
            cell.example.clone_from(&done.error);
        }
        self.retries[op.index()] += u64::from(done.retries);
        self.rejected[op.index()] += u64::from(done.rejected);
        if let Some(lag) = sample.lag_ns {
            record(self.lag.get_or_insert_with(|| Box::new(histogram())), lag);
            self.late += u64::from(lag > LATE_NS);
        }
        self.stragglers[done.outcome.index()] += u64::from(sample.straggler);
        self.last_end = self.last_end.max(Some(sample.end));
    }

    /// Adds everything `other` recorded to this tally.
    pub fn absorb(&mut self, other: &Self) {
        for (mine, theirs) in self
            .cells
            .iter_mut()
            .flatten()
            .zip(other.cells.iter().flatten())
        {
            let Some(theirs) = theirs else { continue };
            let mine = mine.get_or_insert_with(|| Box::new(Cell::new()));
            add(&mut mine.response, &theirs.response);
            add(&mut mine.service, &theirs.service);
            if mine.example.is_none() {
                mine.example.clone_from(&theirs.example);
            }
        }
        for i in 0..OPS {
            self.retries[i] += other.retries[i];
            self.rejected[i] += other.rejected[i];
        }
        if let Some(theirs) = &other.lag {
            add(
                self.lag.get_or_insert_with(|| Box::new(histogram())),
                theirs,
            );
        }
        self.late += other.late;
        for (mine, theirs) in self.stragglers.iter_mut().zip(other.stragglers) {
            *mine += theirs;
        }
        self.last_end = self.last_end.max(other.last_end);
    }

    /// Empties the tally but keeps its histograms' memory, so recording into it again does
    /// not allocate.
    pub fn reset(&mut self) {
        for cell in self.cells.iter_mut().flatten().flatten() {
            cell.response.reset();
            cell.service.reset();
            cell.example = None;
        }
        if let Some(lag) = &mut self.lag {
            lag.reset();
        }
        self.retries = [0; OPS];
        self.rejected = [0; OPS];
        self.late = 0;
        self.stragglers = [0; OUTCOMES];
        self.last_end = None;
    }

    /// Operations of `outcome` that ended after their timed phase's end.
    pub fn stragglers(&self, outcome: Outcome) -> u64 {
        self.stragglers[outcome.index()]
    }

    /// Operations of any outcome that ended after their timed phase's end.
    pub fn all_stragglers(&self) -> u64 {
        self.stragglers.iter().sum()
    }

    /// The cell of one (operation, outcome), if anything was recorded there.
    pub fn cell(&self, op: OpKind, outcome: Outcome) -> Option<&Cell> {
        self.cells[op.index()][outcome.index()]
            .as_deref()
            .filter(|c| !c.response.is_empty())
    }

    /// Response and service times of one operation over every outcome.
    pub fn op_histograms(&self, op: OpKind) -> (Histogram<u64>, Histogram<u64>) {
        let (mut response, mut service) = (histogram(), histogram());
        for outcome in Outcome::ALL {
            if let Some(cell) = self.cell(op, outcome) {
                add(&mut response, &cell.response);
                add(&mut service, &cell.service);
            }
        }
        (response, service)
    }

    /// Conflicts retried by this operation's commands.
    pub fn retries(&self, op: OpKind) -> u64 {
        self.retries[op.index()]
    }

    /// Commands of this operation that the domain rejected.
    pub fn rejected(&self, op: OpKind) -> u64 {
        self.rejected[op.index()]
    }

    /// How late operations started (open loop only).
    pub fn lag(&self) -> Option<&Histogram<u64>> {
        self.lag.as_deref().filter(|h| !h.is_empty())
    }

    /// Operations that started more than a millisecond late.
    pub fn late(&self) -> u64 {
        self.late
    }

    /// When the last recorded operation ended.
    pub fn last_end(&self) -> Option<Instant> {
        self.last_end
    }

    /// Operations recorded, of every kind and outcome.
    pub fn count(&self) -> u64 {
        self.cells
            .iter()
            .flatten()
            .flatten()
            .map(|c| c.response.len())
            .sum()
    }

    /// Operations recorded with this outcome.
    pub fn count_of(&self, outcome: Outcome) -> u64 {
        let cells = self
            .cells
            .iter()
            .filter_map(|row| row[outcome.index()].as_ref());
        cells.map(|c| c.response.len()).sum()
    }

    /// Response times of every operation and outcome together.
    pub fn all_responses(&self) -> Histogram<u64> {
        self.merged(|cell| &cell.response)
    }

    /// Service times of every operation and outcome together.
    pub fn all_services(&self) -> Histogram<u64> {
        self.merged(|cell| &cell.service)
    }

    /// Response times of the operations that succeeded, every operation together.
    pub fn ok_responses(&self) -> Histogram<u64> {
        self.merged_of(Some(Outcome::Ok), |cell| &cell.response)
    }

    /// Service times of the operations that succeeded, every operation together.
    pub fn ok_services(&self) -> Histogram<u64> {
        self.merged_of(Some(Outcome::Ok), |cell| &cell.service)
    }

    fn merged(&self, pick: fn(&Cell) -> &Histogram<u64>) -> Histogram<u64> {
        self.merged_of(None, pick)
    }

    fn merged_of(
        &self,
        outcome: Option<Outcome>,
        pick: fn(&Cell) -> &Histogram<u64>,
    ) -> Histogram<u64> {
        let mut all = histogram();
        for by_outcome in &self.cells {
            for (i, cell) in by_outcome.iter().enumerate() {
                if let Some(cell) = cell
                    && outcome.is_none_or(|o| o.index() == i)
                {
                    add(&mut all, pick(cell));
                }
            }
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(response_ns: u64, service_ns: u64, lag_ns: Option<u64>) -> Sample {
        Sample {
            response_ns,
            service_ns,
            lag_ns,
            end: Instant::now(),
            straggler: false,
        }
    }

    #[test]
    fn tallies_merge_by_addition() {
        let mut a = Tally::default();
        let mut b = Tally::default();
        let failed = Executed::failure(Outcome::Indefinite, "timeout".into());
        a.record(OpKind::Read, &Executed::OK, &sample(1_000, 900, Some(100)));
        b.record(
            OpKind::Read,
            &Executed::OK,
            &sample(3_000, 2_000, Some(2_000_000)),
        );
        b.record(OpKind::Command, &failed, &sample(5_000, 5_000, None));
        a.absorb(&b);
        assert_eq!(a.count(), 3);
        assert_eq!(a.count_of(Outcome::Ok), 2);
        assert_eq!(a.late(), 1);
        assert_eq!(a.last_end(), b.last_end());
        let cell = a.cell(OpKind::Command, Outcome::Indefinite).unwrap();
        assert_eq!(cell.example.as_deref(), Some("timeout"));
        assert_eq!(
            a.cell(OpKind::Read, Outcome::Ok).unwrap().response.max(),
            3_001
        );
    }

    #[test]
    fn a_reset_tally_is_empty_and_records_again() {
        let mut t = Tally::default();
        t.record(
            OpKind::Read,
            &Executed::OK,
            &sample(1_000, 900, Some(2_000_000)),
        );
        t.reset();
        assert_eq!((t.count(), t.late(), t.last_end()), (0, 0, None));
        assert!(t.cell(OpKind::Read, Outcome::Ok).is_none() && t.lag().is_none());
        t.record(OpKind::Read, &Executed::OK, &sample(2_000, 900, None));
        assert_eq!(t.count(), 1);
    }
}
