//! When open-loop operations are meant to start.

use crate::workload::Arrivals;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand_distr::{Distribution, Exp};
use std::time::Duration;

/// Intended start offsets from the phase's start, one per operation, in order.
pub struct Schedule {
    rate: f64,
    /// Constant arrivals start this fraction of a gap late (a slice's place among slices).
    shift: f64,
    issued: u64,
    poisson: Option<(SmallRng, Exp<f64>)>,
    at: f64,
}

impl Schedule {
    /// `rate` operations per second (validated above zero), arriving as `arrivals` says.
    pub fn new(rate: f64, arrivals: Arrivals, seed: u64) -> Self {
        let poisson = (arrivals == Arrivals::Poisson).then(|| {
            let gaps = Exp::new(rate).expect("validated: the rate is positive and finite");
            (SmallRng::seed_from_u64(seed), gaps)
        });
        Self {
            rate,
            shift: 0.0,
            issued: 0,
            poisson,
            at: 0.0,
        }
    }

    /// Constant arrivals `fraction` (0 to 1) of a gap later: slice i of N, each at 1/N of
    /// the rate from one common start, is shifted i/N of its own gap, so that the N slices'
    /// arrivals together are evenly spaced, as one agent's would be, not N at once. Poisson
    /// arrivals are independent already.
    pub fn shifted(mut self, fraction: f64) -> Self {
        self.shift = fraction;
        self
    }

    /// The next intended start.
    pub fn next_offset(&mut self) -> Duration {
        let offset = match &mut self.poisson {
            None => (self.issued as f64 + self.shift) / self.rate,
            Some((rng, gaps)) => {
                let at = self.at;
                self.at += gaps.sample(rng);
                at
            }
        };
        self.issued += 1;
        Duration::from_secs_f64(offset)
    }

    /// How many further starts fall before `end`; consumes them.
    pub fn count_until(&mut self, end: Duration) -> u64 {
        let mut n = 0;
        while self.next_offset() < end {
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_arrivals_are_evenly_spaced() {
        let mut s = Schedule::new(1_000.0, Arrivals::Constant, 0);
        let offsets: Vec<_> = (0..3).map(|_| s.next_offset()).collect();
        assert_eq!(
            offsets,
            [
                Duration::ZERO,
                Duration::from_millis(1),
                Duration::from_millis(2)
            ]
        );
        assert_eq!(s.count_until(Duration::from_secs(1)), 997);
    }

    #[test]
    fn slices_of_constant_arrivals_interleave_into_the_whole_schedule() {
        // Four slices of 1000/s, each 250/s: together every millisecond, none at once.
        let mut all: Vec<Duration> = (0..4)
            .flat_map(|i| {
                let mut s = Schedule::new(250.0, Arrivals::Constant, 0).shifted(f64::from(i) / 4.0);
                (0..5).map(move |_| s.next_offset()).collect::<Vec<_>>()
            })
            .collect();
        all.sort();
        let mut whole = Schedule::new(1_000.0, Arrivals::Constant, 0);
        for (i, at) in all.iter().enumerate() {
            let expected = whole.next_offset();
            let apart = at.abs_diff(expected);
            assert!(
                apart < Duration::from_nanos(10),
                "arrival {i}: {at:?} vs {expected:?}"
            );
        }
    }

    #[test]
    fn poisson_arrivals_keep_the_rate_on_average() {
        let mut s = Schedule::new(1_000.0, Arrivals::Poisson, 5);
        let n = s.count_until(Duration::from_secs(10));
        assert!(
            (9_700..10_300).contains(&n),
            "{n} arrivals in 10 s at 1000/s"
        );
    }
}
