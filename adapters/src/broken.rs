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

#[cfg(test)]
mod tests {
    use super::*;

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
