//! Checks that go beyond types: ranges, and fields that must come together.

use super::spec::{Distribution, OpKind, Phase, Workload};

type Invalid = (String, String);

fn fail(field: &str, message: impl Into<String>) -> Result<(), Invalid> {
    Err((field.to_owned(), message.into()))
}

/// Values above this many keys or workers are a typo, not a benchmark.
const MAX_KEYS: u64 = 1_000_000_000;
const MAX_WORKERS: usize = 10_000;
const MAX_VALUE_SIZE: u32 = 16 << 20;

impl Workload {
    /// The first problem found, as (field path, message).
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        if self.name.trim().is_empty() {
            return fail("name", "must not be empty");
        }
        self.validate_keys()?;
        if OpKind::ALL.iter().all(|op| self.mix.weight(*op) == 0) {
            return fail(
                "mix",
                "every weight is zero: give at least one operation a weight",
            );
        }
        if !(8..=MAX_VALUE_SIZE).contains(&self.value_size) {
            return fail("value_size", format!("must be 8 to {MAX_VALUE_SIZE} bytes"));
        }
        if self
            .value_size_max
            .is_some_and(|max| max < self.value_size || max > MAX_VALUE_SIZE)
        {
            return fail(
                "value_size_max",
                "must be at least value_size and at most 16 MiB",
            );
        }
        if self.snapshot_every == Some(0) {
            return fail("snapshot_every", "must be at least 1 event (or left out)");
        }
        validate_phase("warmup", &self.warmup, true)?;
        validate_phase("measure", &self.measure, false)?;
        self.validate_loops()?;
        self.validate_consistency()
    }

    fn validate_consistency(&self) -> Result<(), Invalid> {
        let c = &self.consistency;
        if !(1..=1_000).contains(&c.keys) {
            return fail("consistency.keys", "must be 1 to 1000");
        }
        if !(1..=1_000).contains(&c.clients) {
            return fail("consistency.clients", "must be 1 to 1000");
        }
        if !(c.rate.is_finite() && c.rate > 0.0 && c.rate <= 1e6) {
            return fail(
                "consistency.rate",
                "must be above 0 and at most 1000000 per second",
            );
        }
        if c.duration.0.is_zero() || c.duration.0 > std::time::Duration::from_secs(3_600) {
            return fail("consistency.duration", "must be above 0 and at most 1h");
        }
        if c.quiet.0 > std::time::Duration::from_secs(600) {
            return fail("consistency.quiet", "must be at most 10m");
        }
        if c.faults.is_empty() {
            return fail(
                "consistency.faults",
                "must name at least one scenario (`none` for no fault)",
            );
        }
        Ok(())
    }

    fn validate_keys(&self) -> Result<(), Invalid> {
        let keys = &self.keys;
        if !(1..=MAX_KEYS).contains(&keys.count) {
            return fail("keys.count", format!("must be 1 to {MAX_KEYS}"));
        }
        let zipf_like = matches!(
            keys.distribution,
            Distribution::Zipfian | Distribution::Latest
        );
        match keys.theta {
            Some(t) if !zipf_like => {
                return fail(
                    "keys.theta",
                    format!("only zipfian and latest use theta ({t})"),
                );
            }
            Some(t) if !(t.is_finite() && t > 0.0 && t <= 10.0) => {
                return fail(
                    "keys.theta",
                    format!("must be above 0 and at most 10, got {t}"),
                );
            }
            _ => {}
        }
        let hotspot = keys.distribution == Distribution::Hotspot;
        for (field, value) in [
            ("hot_fraction", keys.hot_fraction),
            ("hot_ops", keys.hot_ops),
        ] {
            let path = format!("keys.{field}");
            match value {
                Some(_) if !hotspot => return fail(&path, "only the hotspot distribution uses it"),
                Some(v) if !(v > 0.0 && v < 1.0) => {
                    return fail(
                        &path,
                        format!("must be between 0 and 1 (exclusive), got {v}"),
                    );
                }
                None if hotspot => return fail(&path, "the hotspot distribution needs it"),
                _ => {}
            }
        }
        Ok(())
    }

    fn validate_loops(&self) -> Result<(), Invalid> {
        if self.open.rates.is_empty() {
            return fail("open.rates", "needs at least one rate");
        }
        for (i, rate) in self.open.rates.iter().enumerate() {
            if !(rate.is_finite() && *rate > 0.0 && *rate <= 10_000_000.0) {
                let path = format!("open.rates[{i}]");
                return fail(
                    &path,
                    format!("must be above 0 and at most 1e7 ops/s, got {rate}"),
                );
            }
        }
        if !(1..=MAX_WORKERS).contains(&self.open.max_in_flight) {
            return fail("open.max_in_flight", format!("must be 1 to {MAX_WORKERS}"));
        }
        if self.closed.concurrency.is_empty() {
            return fail("closed.concurrency", "needs at least one worker count");
        }
        for (i, n) in self.closed.concurrency.iter().enumerate() {
            if !(1..=MAX_WORKERS).contains(n) {
                let path = format!("closed.concurrency[{i}]");
                return fail(&path, format!("must be 1 to {MAX_WORKERS}, got {n}"));
            }
        }
        Ok(())
    }

    /// Whether every operation of the mix can run on a state store (append cannot).
    pub fn fits_state_store(&self) -> bool {
        self.mix.append == 0
    }
}

fn validate_phase(field: &str, phase: &Phase, may_be_empty: bool) -> Result<(), Invalid> {
    match (phase.duration, phase.ops) {
        (Some(_), Some(_)) => fail(field, "give duration or ops, not both"),
        (None, None) => fail(field, "give a duration (like 5s) or a number of ops"),
        (Some(d), None) if d.0.is_zero() && !may_be_empty => {
            fail(&format!("{field}.duration"), "must be above zero")
        }
        (None, Some(0)) if !may_be_empty => fail(&format!("{field}.ops"), "must be above zero"),
        _ => Ok(()),
    }
}
