//! When open-loop operations are meant to start.

use crate::workload::Arrivals;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand_distr::{Distribution, Exp};
use std::time::Duration;

/// Intended start offsets from the phase's start, one per operation, in order.
pub struct Schedule {
    rate: f64,
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
            issued: 0,
            poisson,
            at: 0.0,
        }
    }

    /// The next intended start.
    pub fn next_offset(&mut self) -> Duration {
        let offset = match &mut self.poisson {
            None => self.issued as f64 / self.rate,
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
    fn poisson_arrivals_keep_the_rate_on_average() {
        let mut s = Schedule::new(1_000.0, Arrivals::Poisson, 5);
        let n = s.count_until(Duration::from_secs(10));
        assert!(
            (9_700..10_300).contains(&n),
            "{n} arrivals in 10 s at 1000/s"
        );
    }
}
