//! Throughput and latency over time, in bounded memory however long the phase.
//!
//! Each second becomes a point. When the points reach [`MAX_POINTS`], neighbours merge (their
//! histograms add, counts sum) and later points span twice as long: resolution halves, memory
//! stays put, and no percentile is ever averaged. Points keep 2 significant digits (1 %
//! resolution), enough for a chart, at a tenth of the memory of the full histograms.

use super::tally::{Tally, add};
use crate::outcome::Outcome;
use crate::results::TimelinePoint;
use hdrhistogram::Histogram;
use std::time::Duration;

/// Points kept at most.
pub const MAX_POINTS: usize = 600;

struct Slot {
    start: Duration,
    end: Duration,
    ticks: u32,
    ok: u64,
    failed: u64,
    responses: Histogram<u64>,
}

impl Slot {
    fn merge(&mut self, next: Self) {
        self.end = next.end;
        self.ticks += next.ticks;
        self.ok += next.ok;
        self.failed += next.failed;
        add(&mut self.responses, &next.responses);
    }
}

/// The same values at 2 significant digits.
fn coarse(fine: &Histogram<u64>) -> Histogram<u64> {
    let mut out = Histogram::new(2).expect("2 significant digits is a valid precision");
    for v in fine.iter_recorded() {
        if out
            .record_n(v.value_iterated_to(), v.count_at_value())
            .is_err()
        {
            out.saturating_record_n(v.value_iterated_to(), v.count_at_value());
        }
    }
    out
}

/// Per-interval points of one phase.
#[derive(Default)]
pub struct Timeline {
    closed: Vec<Slot>,
    open: Option<Slot>,
    ticks_per_point: u32,
}

impl Timeline {
    /// Adds what was recorded between `start` and `end` (offsets from the phase's start).
    pub fn push(&mut self, start: Duration, end: Duration, interval: &Tally) {
        let ticks_per_point = self.ticks_per_point.max(1);
        let ok = interval.count_of(Outcome::Ok);
        let slot = Slot {
            start,
            end,
            ticks: 1,
            ok,
            failed: interval.count() - ok,
            responses: coarse(&interval.all_responses()),
        };
        let open = match self.open.take() {
            Some(mut open) => {
                open.merge(slot);
                open
            }
            None => slot,
        };
        if open.ticks < ticks_per_point {
            self.open = Some(open);
            return;
        }
        self.closed.push(open);
        if self.closed.len() >= MAX_POINTS {
            self.halve();
        }
    }

    fn halve(&mut self) {
        let mut merged = Vec::with_capacity(MAX_POINTS / 2 + 1);
        let mut slots = std::mem::take(&mut self.closed).into_iter();
        while let Some(mut first) = slots.next() {
            if let Some(second) = slots.next() {
                first.merge(second);
            }
            merged.push(first);
        }
        self.closed = merged;
        self.ticks_per_point = self.ticks_per_point.max(1) * 2;
    }

    /// The points, oldest first.
    pub fn points(&self) -> Vec<TimelinePoint> {
        self.closed.iter().chain(&self.open).map(point).collect()
    }
}

fn point(slot: &Slot) -> TimelinePoint {
    let us = |q: f64| slot.responses.value_at_quantile(q) as f64 / 1_000.0;
    let total = slot.ok + slot.failed;
    TimelinePoint {
        start_ms: slot.start.as_secs_f64() * 1_000.0,
        end_ms: slot.end.as_secs_f64() * 1_000.0,
        ops: total,
        errors: slot.failed,
        ops_per_s: crate::units::per_second(total, slot.end - slot.start),
        response_p50_us: (total > 0).then(|| us(0.5)),
        response_p99_us: (total > 0).then(|| us(0.99)),
        response_max_us: (total > 0).then(|| slot.responses.max() as f64 / 1_000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Executed;
    use crate::workload::OpKind;

    #[test]
    fn a_long_phase_keeps_a_bounded_number_of_points_and_every_count() {
        let mut timeline = Timeline::default();
        let mut tally = Tally::default();
        let end = std::time::Instant::now();
        let sample = crate::engine::tally::Sample {
            response_ns: 1_000,
            service_ns: 1_000,
            lag_ns: None,
            end,
            straggler: false,
        };
        tally.record(OpKind::Read, &Executed::OK, &sample);
        let seconds = 10 * MAX_POINTS as u64;
        for s in 0..seconds {
            timeline.push(Duration::from_secs(s), Duration::from_secs(s + 1), &tally);
        }
        let points = timeline.points();
        assert!(points.len() <= MAX_POINTS && points.len() >= MAX_POINTS / 4);
        assert_eq!(points.iter().map(|p| p.ops).sum::<u64>(), seconds);
        assert_eq!(points.last().unwrap().end_ms, seconds as f64 * 1_000.0);
        // Points keep 2 significant digits: 1 µs reads as at most 1% more.
        assert!(points.iter().all(|p| {
            p.response_p99_us
                .is_some_and(|us| (1.0..=1.01).contains(&us))
        }));
    }
}
