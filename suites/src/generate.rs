//! Seeded generators of operations: which kind, which key, how big, how much.

use crate::shard::Slice;
use crate::workload::{Distribution, OpKind, Workload};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution as _, Zipf};
use std::sync::atomic::{AtomicU64, Ordering};

/// One operation to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Op {
    /// What to do.
    pub kind: OpKind,
    /// The index of the key (or stream) it touches; an insert takes a fresh key when it
    /// runs instead, so that operations that never run claim no key.
    pub key: u64,
    /// Bytes of the value or event it writes.
    pub size: u32,
    /// Amount of a command, deposit or write.
    pub amount: u32,
    /// Whether a command deposits (else it withdraws).
    pub deposit: bool,
}

/// The keys of one subject in one run: a unique prefix, the loaded keys, and those inserted
/// since. Shared by every generator and worker of the subject.
///
/// In a sharded run the key space is the whole run's, and the slice's own keys are those its
/// [`Slice`] owns: it loads only those, writes only those, and inserts keys that stay its own.
#[derive(Debug)]
pub struct KeySpace {
    prefix: String,
    loaded: u64,
    slice: Slice,
    /// The slice's first key above the loaded ones: its first insert.
    first_insert: u64,
    inserted: AtomicU64,
}

impl KeySpace {
    /// Keys `0..loaded` under `prefix`.
    pub fn new(prefix: impl Into<String>, loaded: u64) -> Self {
        Self::sliced(prefix, loaded, Slice::WHOLE)
    }

    /// Keys `0..loaded` under `prefix`, of which `slice` loads and writes its own.
    pub fn sliced(prefix: impl Into<String>, loaded: u64, slice: Slice) -> Self {
        Self {
            prefix: prefix.into(),
            loaded,
            slice,
            first_insert: slice.first_from(loaded),
            inserted: AtomicU64::new(0),
        }
    }

    /// Writes the name of key `index` into `out`, replacing what was there.
    ///
    /// Runs once per operation: `itoa` writes the digits in a fifth of the instructions of
    /// `write!`, whose formatting machinery was a sixth of the engine's own.
    pub fn name(&self, index: u64, out: &mut String) {
        out.clear();
        out.push_str(&self.prefix);
        out.push_str(itoa::Buffer::new().format(index));
    }

    /// The number of keys loaded before the trials (by every slice together).
    pub fn loaded(&self) -> u64 {
        self.loaded
    }

    /// The number of loaded keys this slice loads.
    pub fn to_load(&self) -> u64 {
        self.slice.share_of(self.loaded)
    }

    /// This slice's `n`-th loaded key (`n < to_load()`).
    pub fn loaded_key(&self, n: u64) -> u64 {
        self.slice.nth(n)
    }

    /// The number of keys that exist now (loaded and inserted), as far as this slice
    /// knows: it counts every slice as having inserted as many keys as it has.
    pub fn current(&self) -> u64 {
        self.loaded + self.inserted.load(Ordering::Relaxed) * u64::from(self.slice.count())
    }

    /// A fresh key index, for an insert about to run: the slice's next key above the loaded
    /// ones.
    pub fn allocate(&self) -> u64 {
        let n = self.inserted.fetch_add(1, Ordering::Relaxed);
        self.first_insert + n * u64::from(self.slice.count())
    }

    /// The key a write drawn at `index` goes to: `index` itself in a whole run, else this
    /// slice's key nearest to it (see [`Slice::own`]).
    pub fn own(&self, index: u64) -> u64 {
        if self.slice.is_whole() {
            index
        } else {
            self.slice.own(index, self.current())
        }
    }
}

/// A prime above any key count, so that `rank * SPREAD mod n` is a permutation of `0..n`:
/// it spreads popular ranks over the key space instead of packing them at its start.
const SPREAD: u128 = 2_654_435_761;

fn spread(rank: u64, n: u64) -> u64 {
    ((u128::from(rank) * SPREAD) % u128::from(n)) as u64
}

enum Chooser {
    Uniform,
    Zipfian(Zipf<f64>),
    Hotspot { hot: u64, hot_ops: f64 },
    Latest(Zipf<f64>),
}

/// Draws operations from a workload's mix, keys and sizes; deterministic for a seed.
pub struct Generator {
    rng: SmallRng,
    cumulative: [u32; 5],
    chooser: Chooser,
    sizes: (u32, u32),
}

/// splitmix64, to derive independent seeds from a base seed and a stream number.
pub fn derive_seed(base: u64, stream: u64) -> u64 {
    let mut z = base ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Generator {
    /// A generator for `workload` (already validated) over `keys`.
    pub fn new(workload: &Workload, keys: &KeySpace, seed: u64) -> Self {
        let mut cumulative = [0; 5];
        let mut total = 0;
        for op in OpKind::ALL {
            total += workload.mix.weight(op);
            cumulative[op.index()] = total;
        }
        let n = keys.loaded() as f64;
        let zipf = || {
            let theta = workload.keys.theta.unwrap_or(0.99);
            Zipf::new(n, theta).expect("validated: n >= 1 and theta > 0")
        };
        let chooser = match workload.keys.distribution {
            Distribution::Uniform => Chooser::Uniform,
            Distribution::Zipfian => Chooser::Zipfian(zipf()),
            Distribution::Latest => Chooser::Latest(zipf()),
            Distribution::Hotspot => Chooser::Hotspot {
                hot: ((n * workload.keys.hot_fraction.unwrap_or(0.2)).ceil() as u64)
                    .clamp(1, keys.loaded()),
                hot_ops: workload.keys.hot_ops.unwrap_or(0.8),
            },
        };
        let min = workload.value_size;
        let sizes = (min, workload.value_size_max.unwrap_or(min));
        Self {
            rng: SmallRng::seed_from_u64(seed),
            cumulative,
            chooser,
            sizes,
        }
    }

    /// The next operation.
    pub fn next(&mut self, keys: &KeySpace) -> Op {
        let total = self.cumulative[4];
        let roll = self.rng.random_range(0..total);
        let kind = OpKind::ALL[self.cumulative.iter().position(|c| roll < *c).unwrap_or(0)];
        // Reads may go to any slice's key; writes go to this slice's own.
        let key = match kind {
            OpKind::Insert => keys.allocate(),
            OpKind::Read => self.key(keys),
            _ => keys.own(self.key(keys)),
        };
        let size = if self.sizes.0 == self.sizes.1 {
            self.sizes.0
        } else {
            self.rng.random_range(self.sizes.0..=self.sizes.1)
        };
        let amount = self.rng.random_range(1..=100);
        let deposit = self.rng.random_bool(0.5);
        Op {
            kind,
            key,
            size,
            amount,
            deposit,
        }
    }

    fn key(&mut self, keys: &KeySpace) -> u64 {
        let loaded = keys.loaded();
        match &self.chooser {
            Chooser::Uniform => self.rng.random_range(0..keys.current()),
            Chooser::Zipfian(zipf) => spread(zipf.sample(&mut self.rng) as u64 - 1, loaded),
            Chooser::Latest(zipf) => {
                let back = zipf.sample(&mut self.rng) as u64 - 1;
                keys.current().saturating_sub(1).saturating_sub(back)
            }
            Chooser::Hotspot { hot, hot_ops } => {
                let rank = if self.rng.random_bool(*hot_ops) || *hot == loaded {
                    self.rng.random_range(0..*hot)
                } else {
                    self.rng.random_range(*hot..loaded)
                };
                spread(rank, loaded)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::builtin;

    fn draw(name: &str, seed: u64, n: usize) -> Vec<Op> {
        let workload = builtin(name).unwrap().unwrap();
        let keys = KeySpace::new("k", workload.keys.count);
        let mut generator = Generator::new(&workload, &keys, seed);
        (0..n).map(|_| generator.next(&keys)).collect()
    }

    #[test]
    fn the_same_seed_draws_the_same_operations() {
        assert_eq!(draw("read-heavy", 3, 500), draw("read-heavy", 3, 500));
        assert_ne!(draw("read-heavy", 3, 500), draw("read-heavy", 4, 500));
    }

    #[test]
    fn the_mix_and_the_skew_show_in_the_draws() {
        let ops = draw("read-heavy", 1, 20_000);
        let reads = ops.iter().filter(|o| o.kind == OpKind::Read).count();
        assert!(
            (18_500..19_500).contains(&reads),
            "{reads} reads of 20000 at 95%"
        );
        let mut counts = std::collections::HashMap::new();
        for op in &ops {
            *counts.entry(op.key).or_insert(0) += 1;
        }
        let hottest = counts.values().max().copied().unwrap_or(0);
        assert!(
            hottest > 20_000 / 100,
            "zipfian 0.99 has a key above 1%: {hottest}"
        );
        assert!(ops.iter().all(|o| o.key < 10_000));
    }

    #[test]
    fn hotspot_sends_most_operations_to_few_keys() {
        let ops = draw("event-sourced", 1, 10_000);
        let mut counts: Vec<u32> = vec![0; 1000];
        for op in &ops {
            counts[op.key as usize] += 1;
        }
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let top: u32 = counts[..100].iter().sum();
        assert!(
            (7_500..8_500).contains(&top),
            "10% of keys got {top} of 10000 ops at 80%"
        );
    }

    #[test]
    fn key_names_are_the_prefix_and_the_index_in_decimal() {
        let keys = KeySpace::new("sb-1/", 3);
        let mut name = "left over".to_owned();
        for index in [0, 7, 10, 1_234_567, u64::MAX] {
            keys.name(index, &mut name);
            assert_eq!(name, format!("sb-1/{index}"));
        }
    }

    /// Every slice of `count` drawing `n` operations of a mix with every kind but append,
    /// on `distribution`: per slice, the keys it loads and the operations it drew.
    fn sliced_draws(distribution: Distribution, count: u32, n: usize) -> Vec<(Vec<u64>, Vec<Op>)> {
        let mut workload = builtin("read-heavy").unwrap().unwrap();
        workload.keys.count = 1_001;
        workload.keys.distribution = distribution;
        workload.mix = crate::workload::Mix {
            read: 40,
            command: 20,
            write: 20,
            insert: 20,
            append: 0,
        };
        (0..count)
            .map(|index| {
                let slice = Slice::new(index, count).unwrap();
                let keys = KeySpace::sliced("k", workload.keys.count, slice);
                let loads = (0..keys.to_load()).map(|n| keys.loaded_key(n)).collect();
                let mut generator = Generator::new(&workload, &keys, slice.seed(9));
                let ops = (0..n).map(|_| generator.next(&keys)).collect();
                (loads, ops)
            })
            .collect()
    }

    #[test]
    fn slices_load_disjoint_keys_that_together_are_every_loaded_key() {
        for count in [1, 2, 3, 7] {
            let mut loaded: Vec<u64> = sliced_draws(Distribution::Uniform, count, 0)
                .into_iter()
                .flat_map(|(loads, _)| loads)
                .collect();
            loaded.sort_unstable();
            assert_eq!(loaded, (0..1_001).collect::<Vec<_>>(), "{count} slices");
        }
    }

    #[test]
    fn slices_write_and_insert_only_their_own_keys_and_read_any() {
        let distributions = [
            Distribution::Uniform,
            Distribution::Zipfian,
            Distribution::Hotspot,
            Distribution::Latest,
        ];
        for distribution in distributions {
            let draws = sliced_draws(distribution, 3, 5_000);
            let mut written: Vec<std::collections::BTreeSet<u64>> = Vec::new();
            let mut read_elsewhere = false;
            for (index, (_, ops)) in draws.iter().enumerate() {
                let mine = |key: u64| key % 3 == index as u64;
                let writes: std::collections::BTreeSet<u64> = ops
                    .iter()
                    .filter(|o| o.kind != OpKind::Read)
                    .map(|o| o.key)
                    .collect();
                assert!(
                    writes.iter().all(|&k| mine(k)),
                    "{distribution:?}: slice {index} wrote another slice's key"
                );
                read_elsewhere |= ops.iter().any(|o| o.kind == OpKind::Read && !mine(o.key));
                written.push(writes);
            }
            assert!(
                read_elsewhere,
                "{distribution:?}: reads span every slice's keys"
            );
            for (a, b) in [(0, 1), (0, 2), (1, 2)] {
                assert!(written[a].is_disjoint(&written[b]), "{distribution:?}");
            }
        }
    }

    #[test]
    fn a_slice_inserts_its_own_keys_above_the_loaded_ones() {
        let keys = KeySpace::sliced("k", 10, Slice::new(1, 4).unwrap());
        let inserted: Vec<u64> = (0..3).map(|_| keys.allocate()).collect();
        assert_eq!(inserted, [13, 17, 21]);
        assert_eq!(
            keys.current(),
            10 + 3 * 4,
            "every slice counted as inserting alike"
        );
        assert_eq!(keys.to_load(), 3, "keys 1, 5 and 9");
    }

    #[test]
    fn spreading_is_a_permutation() {
        let mut seen: Vec<u64> = (0..1000).map(|r| spread(r, 1000)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());
    }
}
