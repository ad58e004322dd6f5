//! Sharded runs: one run sliced over several load agents (`statebench run --shard I/N`).
//!
//! Agents cannot talk to each other, so everything they share is computed alike by each from
//! the same configuration: which keys a slice loads and writes ([`Slice`]), its part of every
//! rate and worker count, its seeds, and when each timed step warms up ([`Agenda`]).

use crate::generate::derive_seed;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// One agent's slice of a run: slice `index` of `count`.
///
/// Keys are dealt round the slices: key `k` belongs to slice `k mod count`, which alone loads
/// it and writes it (reads may go to any key). Worker counts are split so that the slices'
/// parts add up to the whole, the remainder going to the lowest indexes; rates are divided
/// evenly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slice {
    index: u32,
    count: u32,
}

/// Seed streams of the slices, apart from the streams of phases and rounds.
const SLICE_STREAMS: u64 = 1 << 56;

impl Slice {
    /// The whole run: what a run without shards is, and what `--shard 0/1` is.
    pub const WHOLE: Self = Self { index: 0, count: 1 };

    /// Slice `index` of `count`; `None` unless `index < count`.
    pub fn new(index: u32, count: u32) -> Option<Self> {
        (index < count).then_some(Self { index, count })
    }

    /// This slice's index, from 0.
    pub fn index(self) -> u32 {
        self.index
    }

    /// How many slices the run has.
    pub fn count(self) -> u32 {
        self.count
    }

    /// Whether this is the whole run (one slice).
    pub fn is_whole(self) -> bool {
        self.count == 1
    }

    /// Whether this slice loads and writes key `key`.
    pub fn owns(self, key: u64) -> bool {
        key % u64::from(self.count) == u64::from(self.index)
    }

    /// The key of this slice in the same block of `count` keys as `key`, or in the block
    /// before when that one is not below `bound` (the keys that exist). Skewed draws keep
    /// their shape: each block's popularity falls on this slice's key in it. Needs
    /// `bound >= count`, so that every slice has a key below it.
    pub fn own(self, key: u64, bound: u64) -> u64 {
        let count = u64::from(self.count);
        let mine = key - key % count + u64::from(self.index);
        if mine >= bound {
            mine.saturating_sub(count)
        } else {
            mine
        }
    }

    /// How many of the keys `0..keys` this slice owns.
    pub fn share_of(self, keys: u64) -> u64 {
        keys.saturating_sub(u64::from(self.index))
            .div_ceil(u64::from(self.count))
    }

    /// This slice's `n`-th key (from 0).
    pub fn nth(self, n: u64) -> u64 {
        u64::from(self.index) + n * u64::from(self.count)
    }

    /// The first key of this slice at or above `from`.
    pub fn first_from(self, from: u64) -> u64 {
        let count = u64::from(self.count);
        let behind = (u64::from(self.index) + count - from % count) % count;
        from + behind
    }

    /// This slice's part of `whole` workers (or operations in flight): `whole / count`, and
    /// one more for each of the lowest `whole % count` slices, so the parts add up to it.
    pub fn workers(self, whole: usize) -> usize {
        let count = self.count as usize;
        whole / count + usize::from((self.index as usize) < whole % count)
    }

    /// Where this slice's constant arrivals fall within one of its gaps, as a fraction: its
    /// index over the count (0 for the whole run), so that slices started together interleave
    /// their arrivals instead of offering N at once.
    pub fn stagger(self) -> f64 {
        f64::from(self.index) / f64::from(self.count)
    }

    /// This slice's part of an offered rate in operations per second.
    pub fn rate(self, whole: f64) -> f64 {
        whole / f64::from(self.count)
    }

    /// This slice's seed of a phase whose whole-run seed is `seed`: the same for the whole
    /// run, else derived from it and the index, so slices draw different operations and each
    /// draws the same ones every time.
    pub fn seed(self, seed: u64) -> u64 {
        if self.is_whole() {
            seed
        } else {
            derive_seed(seed, SLICE_STREAMS | u64::from(self.index))
        }
    }
}

impl std::fmt::Display for Slice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The shared timeline of a sharded run: when each timed trial warms up and when its
/// measured phase starts, the same on every agent.
///
/// Trials follow each other from the common start: trial `j` warms up at
/// `start + j × (warm-up + measured + gap)`, its measured phase begins a warm-up later, and
/// the gap after its measured phase is for its last operations, its books check and the next
/// trial's load. An agent loads a trial's keys as soon as it gets to the trial, then waits for
/// the planned warm-up; the first trial's keys load before the start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agenda {
    starts: BTreeMap<String, SystemTime>,
    warmup: Duration,
    measure: Duration,
    gap: Duration,
}

impl Agenda {
    /// The trials `ids`, in the order they run, from `start`.
    pub fn new(
        start: SystemTime,
        ids: impl IntoIterator<Item = String>,
        warmup: Duration,
        measure: Duration,
        gap: Duration,
    ) -> Self {
        let slot = warmup + measure + gap;
        let mut starts = BTreeMap::new();
        let mut at = start;
        for id in ids {
            starts.entry(id).or_insert(at);
            at += slot;
        }
        Self {
            starts,
            warmup,
            measure,
            gap,
        }
    }

    /// When trial `id` warms up, if it is on the timeline.
    pub fn warmup_at(&self, id: &str) -> Option<SystemTime> {
        self.starts.get(id).copied()
    }

    /// When trial `id`'s measured phase starts, if it is on the timeline.
    pub fn measure_at(&self, id: &str) -> Option<SystemTime> {
        self.warmup_at(id).map(|at| at + self.warmup)
    }

    /// How many trials are on the timeline.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether no trial is on the timeline.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The time from one trial's warm-up to the next one's.
    pub fn slot(&self) -> Duration {
        self.warmup + self.measure + self.gap
    }

    /// The first warm-up, if any trial is on the timeline.
    pub fn first(&self) -> Option<SystemTime> {
        self.starts.values().min().copied()
    }

    /// When the last measured phase ends, if any trial is on the timeline.
    pub fn end(&self) -> Option<SystemTime> {
        let last = self.starts.values().max()?;
        Some(*last + self.warmup + self.measure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn slices(count: u32) -> impl Iterator<Item = Slice> {
        (0..count).map(move |i| Slice::new(i, count).unwrap())
    }

    #[test]
    fn a_slice_needs_an_index_below_the_count() {
        assert_eq!(Slice::new(0, 1), Some(Slice::WHOLE));
        assert_eq!(Slice::new(3, 4).map(|s| s.to_string()), Some("3/4".into()));
        assert_eq!(Slice::new(4, 4), None);
        assert_eq!(Slice::new(0, 0), None);
    }

    #[test]
    fn the_whole_run_owns_every_key_and_keeps_its_seeds_and_steps() {
        let whole = Slice::WHOLE;
        for key in [0, 1, 7, 10_000] {
            assert!(whole.owns(key));
            assert_eq!(whole.own(key, 10_001), key);
        }
        assert_eq!(whole.share_of(100), 100);
        assert_eq!(whole.first_from(100), 100);
        assert_eq!(whole.workers(16), 16);
        assert_eq!(whole.rate(1000.0), 1000.0);
        assert_eq!(whole.seed(42), 42);
    }

    #[test]
    fn worker_counts_split_into_parts_that_add_up_with_the_remainder_first() {
        let parts: Vec<usize> = slices(4).map(|s| s.workers(10)).collect();
        assert_eq!(parts, [3, 3, 2, 2]);
        let parts: Vec<usize> = slices(3).map(|s| s.workers(2)).collect();
        assert_eq!(
            parts,
            [1, 1, 0],
            "fewer workers than slices leaves one with none"
        );
        for count in 1..=9 {
            for whole in 0..=40 {
                let sum: usize = slices(count).map(|s| s.workers(whole)).sum();
                assert_eq!(sum, whole, "{whole} workers over {count} slices");
            }
        }
    }

    #[test]
    fn rates_split_evenly_and_add_up_to_the_whole() {
        for (whole, count) in [(1000.0, 2), (500.0, 4), (750.0, 3), (10.0, 8)] {
            let sum: f64 = slices(count).map(|s| s.rate(whole)).sum();
            assert!((sum - whole).abs() < 1e-9, "{sum} of {whole} over {count}");
        }
    }

    #[test]
    fn every_slice_draws_its_own_seeds_the_same_every_time() {
        let seeds: Vec<u64> = slices(4).map(|s| s.seed(42)).collect();
        let again: Vec<u64> = slices(4).map(|s| s.seed(42)).collect();
        assert_eq!(seeds, again);
        let distinct: std::collections::BTreeSet<u64> = seeds.iter().copied().collect();
        assert_eq!(distinct.len(), 4);
        assert!(!seeds.contains(&42));
    }

    #[test]
    fn the_timeline_puts_trials_one_slot_apart_from_the_start() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let ms = Duration::from_millis;
        let ids = ["a", "b", "c"].map(String::from);
        let agenda = Agenda::new(start, ids, ms(500), ms(2_000), ms(10_000));
        assert_eq!(agenda.slot(), ms(12_500));
        assert_eq!(agenda.warmup_at("a"), Some(start));
        assert_eq!(agenda.measure_at("a"), Some(start + ms(500)));
        assert_eq!(agenda.warmup_at("c"), Some(start + ms(25_000)));
        assert_eq!(agenda.measure_at("c"), Some(start + ms(25_500)));
        assert_eq!(agenda.warmup_at("d"), None);
        assert_eq!((agenda.len(), agenda.first()), (3, Some(start)));
        assert_eq!(agenda.end(), Some(start + ms(27_500)));
    }

    proptest! {
        #[test]
        fn the_slices_keys_are_disjoint_and_together_the_whole(
            keys in 1u64..500,
            count in 1u32..9,
        ) {
            prop_assume!(keys >= u64::from(count));
            let mut seen = vec![0u32; keys as usize];
            for slice in slices(count) {
                for n in 0..slice.share_of(keys) {
                    let key = slice.nth(n);
                    prop_assert!(key < keys);
                    prop_assert!(slice.owns(key));
                    seen[key as usize] += 1;
                }
            }
            prop_assert!(seen.iter().all(|&n| n == 1), "each key in exactly one slice");
        }

        #[test]
        fn a_slice_writes_only_its_own_keys_that_exist(
            key in 0u64..10_000,
            extra in 0u64..1_000,
            count in 1u32..9,
            index in 0u32..9,
        ) {
            prop_assume!(index < count);
            let slice = Slice::new(index, count).unwrap();
            let bound = (key + 1).max(u64::from(count)) + extra;
            let mine = slice.own(key, bound);
            prop_assert!(slice.owns(mine));
            prop_assert!(mine < bound);
            prop_assert!(mine.abs_diff(key) < 2 * u64::from(count));
        }

        #[test]
        fn the_first_key_from_a_point_is_the_slices_nearest_at_or_above_it(
            from in 0u64..10_000,
            count in 1u32..9,
            index in 0u32..9,
        ) {
            prop_assume!(index < count);
            let slice = Slice::new(index, count).unwrap();
            let first = slice.first_from(from);
            prop_assert!(slice.owns(first));
            prop_assert!(first >= from && first < from + u64::from(count));
        }
    }
}
