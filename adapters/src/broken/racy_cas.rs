//! `RacyCas`: compare-and-set done as a read, a compare, a pause and a blind write.

use super::{Dice, descriptor, window};
use crate::memory::{self, Memory, holds};
use crate::{Adapter, Descriptor, Expect, StateError, StateStore, Version, Versioned};
use async_trait::async_trait;
use bytes::Bytes;

/// A [`StateStore`] whose compare-and-set is not atomic: it reads the version, compares,
/// mostly yields to the runtime, then writes blindly. Alone it is correct; two writers expecting
/// the same version can both read it before either writes, and both win. It claims `cas`
/// all the same, as a naive implementation would.
pub struct RacyCas {
    inner: Memory,
    dice: Dice,
    descriptor: Descriptor,
}

impl RacyCas {
    /// An empty store whose pauses are seeded by `seed`.
    pub fn new(seed: u64) -> Self {
        let claims = memory::descriptor().capabilities;
        let how = "compare-and-set as get, compare, yield, blind put: concurrent writers \
                   expecting one version can all win";
        Self {
            inner: Memory::new(),
            dice: Dice::new(seed),
            descriptor: descriptor("broken-cas", how, Some(seed), claims),
        }
    }
}

impl Adapter for RacyCas {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
}

#[async_trait]
impl StateStore for RacyCas {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StateError> {
        self.inner.get(key).await
    }

    async fn put(&self, key: &str, value: Bytes, expect: Expect) -> Result<Version, StateError> {
        if expect == Expect::Any {
            return self.inner.put(key, value, expect).await;
        }
        let current = self.inner.get(key).await?.map(|v| v.version);
        if !holds(expect, current) {
            // Refusals are correct: the store itself reports the conflict.
            return self.inner.put(key, value, expect).await;
        }
        window(&self.dice).await;
        self.inner.put(key, value, Expect::Any).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreError;
    use std::sync::Arc;

    #[tokio::test]
    async fn alone_it_keeps_the_contract() {
        let s = RacyCas::new(1);
        let v1 = s.put("k", Bytes::from("a"), Expect::Absent).await.unwrap();
        let again = s.put("k", Bytes::from("b"), Expect::Absent).await;
        assert_eq!(again, Err(StoreError::Conflict { actual: Some(v1) }));
        let v2 = s.put("k", Bytes::from("c"), Expect::Version(v1)).await;
        let v2 = v2.unwrap();
        let stale = s.put("k", Bytes::from("d"), Expect::Version(v1)).await;
        assert_eq!(stale, Err(StoreError::Conflict { actual: Some(v2) }));
        assert_eq!(s.get("k").await.unwrap().unwrap().value, Bytes::from("c"));
    }

    /// How many of 8 writers expecting the same version win, on a fresh key.
    async fn winners(s: &Arc<RacyCas>, key: &str) -> usize {
        let start = s.put(key, Bytes::new(), Expect::Any).await.unwrap();
        let racers: Vec<_> = (0..8)
            .map(|_| {
                let (s, key) = (s.clone(), key.to_owned());
                tokio::spawn(async move { s.put(&key, Bytes::new(), Expect::Version(start)).await })
            })
            .collect();
        let mut won = 0;
        for racer in racers {
            won += usize::from(racer.await.unwrap().is_ok());
        }
        won
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_expecting_one_version_sometimes_both_win() {
        let s = Arc::new(RacyCas::new(7));
        let mut lost = 0;
        for round in 0..200 {
            let won = winners(&s, &format!("k{round}")).await;
            assert!(won >= 1, "round {round}: nobody won");
            lost += usize::from(won > 1);
        }
        // Sometimes correct: neither every round nor none.
        assert!(
            lost > 0 && lost < 200,
            "{lost} of 200 rounds let two writers win"
        );
    }
}
