//! `RacyCas`: compare-and-set done as a read, a compare, a pause and a blind write.

use super::{Seeded, checked_apart};
use crate::memory::holds;
use crate::{Adapter, Descriptor, Expect, StateError, StateStore, Version, Versioned};
use async_trait::async_trait;
use bytes::Bytes;

/// A [`StateStore`] whose compare-and-set is not atomic: it reads the version, compares,
/// mostly yields to the runtime, then writes blindly. Alone it is correct; two writers expecting
/// the same version can both read it before either writes, and both win. It claims `cas`
/// all the same, as a naive implementation would.
pub struct RacyCas {
    seeded: Seeded,
}

impl RacyCas {
    /// An empty store whose pauses are seeded by `seed`.
    pub fn new(seed: u64) -> Self {
        let how = "compare-and-set as get, compare, yield, blind put: concurrent writers \
                   expecting one version can all win";
        Self {
            seeded: Seeded::new("broken-cas", how, seed),
        }
    }
}

impl Adapter for RacyCas {
    fn descriptor(&self) -> &Descriptor {
        &self.seeded.descriptor
    }
}

#[async_trait]
impl StateStore for RacyCas {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StateError> {
        self.seeded.memory.get(key).await
    }

    async fn put(&self, key: &str, value: Bytes, expect: Expect) -> Result<Version, StateError> {
        let memory = &self.seeded.memory;
        let held = holds(expect, memory.version(key));
        let expect = checked_apart(&self.seeded.dice, expect, Expect::Any, held).await;
        memory.put(key, value, expect).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreError;
    use crate::broken::tests::{sometimes_more_than_one_wins, winners};
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_expecting_one_version_sometimes_both_win() {
        let s = Arc::new(RacyCas::new(7));
        sometimes_more_than_one_wins("writers", |round| {
            let (s, key) = (s.clone(), format!("k{round}"));
            async move {
                let start = s.put(&key, Bytes::new(), Expect::Any).await.unwrap();
                winners(|| {
                    let (s, key) = (s.clone(), key.clone());
                    async move {
                        s.put(&key, Bytes::new(), Expect::Version(start))
                            .await
                            .is_ok()
                    }
                })
                .await
            }
        })
        .await;
    }
}
