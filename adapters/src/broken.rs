//! Deliberately broken stores, for testing statebench's own checks: each wraps the in-process
//! [`Memory`](crate::memory::Memory), claims what a correct store claims, and is *sometimes
//! correct*, as real bugs are. A check that passes one of these has not tested anything.
//!
//! - [`RacyCas`]: compare-and-set as a read, a compare, a pause and a blind write, so that
//!   two writers expecting one version can both win (lost updates).
//! - [`DoubleAppend`]: an append checks the stream's revision, pauses, then appends without
//!   an expectation, so that two appends can win one revision.
//! - [`Forgetful`]: acknowledges every write and silently drops a seeded fraction of them.
//! - [`StaleCache`]: a cache in front of a truth that writes never invalidate and entries
//!   never leave.
//!
//! Where chance is involved it is seeded: the same seed and the same order of calls give
//! the same behaviour. Never use these to store anything.

mod double_append;
mod forgetful;
mod racy_cas;
mod stale_cache;

pub use double_append::DoubleAppend;
pub use forgetful::Forgetful;
pub use racy_cas::RacyCas;
pub use stale_cache::StaleCache;

use crate::fault::splitmix64;
use crate::memory::{self, Memory};
use crate::{Capabilities, Descriptor, Technique};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The descriptor of a broken adapter: `capabilities` as claimed, a `broken` setting that
/// says how it breaks them, and its seed where chance is involved.
fn descriptor(
    adapter: &str,
    broken: &str,
    seed: Option<u64>,
    capabilities: Capabilities,
) -> Descriptor {
    let mut settings: std::collections::BTreeMap<String, String> =
        [("broken".to_owned(), broken.to_owned())].into();
    if let Some(seed) = seed {
        settings.insert("seed".into(), seed.to_string());
    }
    Descriptor {
        adapter: adapter.into(),
        technique: Technique::Broken,
        backend: "in-process (memory)".into(),
        capabilities,
        settings,
    }
}

/// What a seeded broken adapter is made of: the memory it wraps, its dice, and a descriptor
/// that claims everything memory claims.
struct Seeded {
    memory: Memory,
    dice: Dice,
    descriptor: Descriptor,
}

impl Seeded {
    /// An empty memory, dice thrown by `seed`, and the claims of memory broken as `broken` says.
    fn new(adapter: &str, broken: &str, seed: u64) -> Self {
        let claims = memory::descriptor().capabilities;
        Self {
            memory: Memory::new(),
            dice: Dice::new(seed),
            descriptor: descriptor(adapter, broken, Some(seed), claims),
        }
    }
}

/// Implements [`Snapshots`](crate::Snapshots) for a broken adapter by the memory it wraps
/// (in a field `seeded`): no broken adapter breaks snapshots.
macro_rules! snapshots_by_memory {
    ($adapter:ty) => {
        #[async_trait::async_trait]
        impl crate::Snapshots for $adapter {
            async fn load_snapshot(
                &self,
                stream: &str,
            ) -> Result<Option<crate::Snapshot>, crate::EventError> {
                self.seeded.memory.load_snapshot(stream).await
            }

            async fn save_snapshot(
                &self,
                stream: &str,
                snapshot: crate::Snapshot,
            ) -> Result<(), crate::EventError> {
                self.seeded.memory.save_snapshot(stream, snapshot).await
            }
        }
    };
}
use snapshots_by_memory;

/// Seeded dice: the outcome of roll `n` depends only on the seed and `n`.
struct Dice {
    seed: u64,
    rolls: AtomicU64,
}

impl Dice {
    fn new(seed: u64) -> Self {
        Self {
            seed,
            rolls: AtomicU64::new(0),
        }
    }

    fn roll(&self) -> u64 {
        let n = self.rolls.fetch_add(1, Ordering::Relaxed);
        splitmix64(self.seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    /// True on about one roll in `n`.
    fn one_in(&self, n: u64) -> bool {
        self.roll().is_multiple_of(n.max(1))
    }
}

/// The gap between a check and the write it guards, seeded so that the store is only
/// sometimes wrong however busy the machine: on one call in eight there is none (the write
/// follows at once, though a task on another thread may still slip in); otherwise a yield to
/// the runtime, so that other tasks run in between, and on one call in eight also a sleep of
/// up to a millisecond, as a network round trip would take.
async fn window(dice: &Dice) {
    if dice.one_in(8) {
        return;
    }
    tokio::task::yield_now().await;
    if dice.one_in(8) {
        let micros = dice.roll() % 1_000;
        tokio::time::sleep(Duration::from_micros(micros)).await;
    }
}

/// The expectation to write with when `expect` is checked apart from the write (`holds`
/// says whether it held when checked): when it held, a seeded [`window`] and then none
/// (`any`), so that another writer can slip in between; otherwise `expect` itself, for the
/// store to decide (a conflict, or the repeat of an earlier write), as `any` always is.
async fn checked_apart<X: PartialEq>(dice: &Dice, expect: X, any: X, holds: bool) -> X {
    if expect == any || !holds {
        return expect;
    }
    window(dice).await;
    any
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;

    /// How many of 8 tasks running `attempt` at once succeed.
    pub(super) async fn winners<F, A>(attempt: F) -> usize
    where
        F: Fn() -> A,
        A: Future<Output = bool> + Send + 'static,
    {
        let racers: Vec<_> = (0..8).map(|_| tokio::spawn(attempt())).collect();
        let mut won = 0;
        for racer in racers {
            won += usize::from(racer.await.unwrap());
        }
        won
    }

    /// Runs 200 rounds of a race (`round(i)` says how many won round `i`): someone wins
    /// every round, and more than one wins some rounds but not all (sometimes correct).
    pub(super) async fn sometimes_more_than_one_wins<F, R>(racers: &str, round: F)
    where
        F: Fn(usize) -> R,
        R: Future<Output = usize>,
    {
        let mut doubled = 0;
        for i in 0..200 {
            let won = round(i).await;
            assert!(won >= 1, "round {i}: nobody won");
            doubled += usize::from(won > 1);
        }
        assert!(
            doubled > 0 && doubled < 200,
            "{doubled} of 200 rounds let two {racers} win"
        );
    }

    #[test]
    fn dice_are_seeded_and_about_fair() {
        let throws = |seed| {
            let dice = Dice::new(seed);
            (0..2_000).map(|_| dice.one_in(20)).collect::<Vec<_>>()
        };
        assert_eq!(throws(3), throws(3));
        assert_ne!(throws(3), throws(4));
        let hits = throws(3).iter().filter(|h| **h).count();
        assert!((50..150).contains(&hits), "{hits} of 2000 at 1 in 20");
    }
}
