//! `cache-aside`: PostgreSQL holds the truth, Redis caches it. Reads try the cache and fill
//! it from PostgreSQL on a miss; writes go to PostgreSQL (compare-and-set there), then touch
//! the cache as the policy says. Entries expire after [`TTL_S`] seconds, which bounds how
//! long a stale entry can live.

use crate::layered::{Cached, Layered};
use crate::postgres::Postgres;
use crate::redis_conn::{Redis, classify, timed, timed_within};
use crate::{
    Adapter, Capabilities, Capability, Descriptor, Expect, StateError, StateStore, StoreError,
    Technique, Version, Versioned,
};
use async_trait::async_trait;
use bytes::Bytes;
use std::sync::Arc;

/// Seconds a cache entry lives.
pub const TTL_S: u64 = 60;
/// A cache that does not answer in this time is bypassed: the truth still answers.
const CACHE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Sets the entry to (`ARGV[3]`, version `ARGV[2]`) with a TTL of `ARGV[4]`; when `ARGV[1]`
/// is `1`, only if the cached version is older (or there is none).
const FILL: &str = r"
if ARGV[1] == '1' then
  local current = redis.call('HGET', KEYS[1], 'version')
  if current and tonumber(current) >= tonumber(ARGV[2]) then return 0 end
end
redis.call('HSET', KEYS[1], 'value', ARGV[3], 'version', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
";

/// How the cache follows the truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// The common one: a miss fills the cache unconditionally; a write deletes the entry.
    /// A slow fill can put an old value back after a delete: stale until the next write or
    /// the TTL.
    DeleteAfterWrite,
    /// Fills and writes set the entry only if it holds an older version, so an old value
    /// never overwrites a newer one.
    VersionGated,
}

impl Policy {
    /// The policy's name in settings and subject names.
    pub fn name(self) -> &'static str {
        match self {
            Self::DeleteAfterWrite => "delete-after-write",
            Self::VersionGated => "version-gated",
        }
    }
}

/// What `cache-aside` is and promises, over these servers with this policy.
pub fn descriptor(truth: &Postgres, cache: &Redis, policy: Policy) -> Descriptor {
    let pg = truth.descriptor();
    let mut settings: std::collections::BTreeMap<String, String> = pg
        .settings
        .iter()
        .map(|(k, v)| (format!("postgres.{k}"), v.clone()))
        .chain(
            cache
                .settings
                .iter()
                .map(|(k, v)| (format!("redis.{k}"), v.clone())),
        )
        .collect();
    settings.insert("policy".into(), policy.name().into());
    settings.insert("ttl_s".into(), TTL_S.to_string());
    Descriptor {
        adapter: "cache-aside".into(),
        technique: Technique::CacheAside,
        backend: format!("{} + {}", pg.backend, cache.version),
        capabilities: Capabilities {
            read_your_writes: Capability::unsupported(match policy {
                Policy::DeleteAfterWrite => {
                    "a concurrent fill can put an older value back, for up to the TTL"
                }
                Policy::VersionGated => {
                    "a cache update that fails after the write leaves the old entry, for up to the TTL"
                }
            }),
            ..pg.capabilities.clone()
        },
        settings,
    }
}

/// A Redis cache in front of a PostgreSQL state table.
pub struct CacheAside {
    truth: Arc<Postgres>,
    cache: Redis,
    policy: Policy,
    fill: redis::Script,
    descriptor: Descriptor,
}

impl CacheAside {
    /// Puts `cache` in front of `truth` with `policy`.
    pub fn new(truth: Arc<Postgres>, cache: Redis, policy: Policy) -> Self {
        let descriptor = descriptor(&truth, &cache, policy);
        Self {
            truth,
            cache,
            policy,
            fill: redis::Script::new(FILL),
            descriptor,
        }
    }

    fn key(key: &str) -> String {
        format!("cache:{key}")
    }

    async fn set(&self, key: &str, found: &Versioned, gated: bool) -> Result<(), StateError> {
        let mut conn = self.cache.conn().await?;
        let _: i64 = self
            .fill
            .key(Self::key(key))
            .arg(if gated { "1" } else { "0" })
            .arg(found.version.raw())
            .arg(found.value.as_ref())
            .arg(TTL_S)
            .invoke_async(&mut *conn)
            .await
            .map_err(|e| classify(&e))?;
        Ok(())
    }

    /// Puts the truth's current value in the cache, unless it holds a newer one.
    async fn refresh(&self, key: &str) -> Result<(), StateError> {
        match self.truth.get(key).await? {
            Some(found) => self.set(key, &found, true).await,
            None => Ok(()),
        }
    }

    async fn forget(&self, key: &str) -> Result<(), StateError> {
        let _: i64 = redis::cmd("DEL")
            .arg(Self::key(key))
            .query_async(&mut *self.cache.conn().await?)
            .await
            .map_err(|e| classify(&e))?;
        Ok(())
    }
}

impl Adapter for CacheAside {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
}

#[async_trait]
impl StateStore for CacheAside {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StateError> {
        // A cache that does not answer is bypassed, as services do: the truth still answers.
        let cached =
            async { crate::redis::get(&mut *self.cache.conn().await?, &Self::key(key)).await };
        if let Ok(Some(hit)) = timed_within(CACHE_TIMEOUT, cached).await {
            return Ok(Some(hit));
        }
        let found = self.truth.get(key).await?;
        if let Some(found) = &found {
            let gated = self.policy == Policy::VersionGated;
            // A failed fill leaves the cache empty, which is correct, only slower.
            let _ = timed_within(CACHE_TIMEOUT, self.set(key, found, gated)).await;
        }
        Ok(found)
    }

    async fn put(&self, key: &str, value: Bytes, expect: Expect) -> Result<Version, StateError> {
        match self.truth.put(key, value.clone(), expect).await {
            Ok(version) => {
                // The write is done in the truth whatever happens to the cache now; a cache
                // that could not be updated holds a stale entry until it expires.
                let _ = match self.policy {
                    Policy::DeleteAfterWrite => timed_within(CACHE_TIMEOUT, self.forget(key)).await,
                    Policy::VersionGated => {
                        timed_within(
                            CACHE_TIMEOUT,
                            self.set(key, &Versioned { value, version }, true),
                        )
                        .await
                    }
                };
                Ok(version)
            }
            Err(conflict @ StoreError::Conflict { .. }) => {
                // The caller's version came from a stale entry, most likely: make its retry
                // read the truth. Deleting the entry would let a slow fill of an older
                // version back in even under version-gated fills (the consistency suite saw
                // it: 7 stale reads in 13,502); refreshing through the gate cannot.
                let _ = match self.policy {
                    Policy::DeleteAfterWrite => timed_within(CACHE_TIMEOUT, self.forget(key)).await,
                    Policy::VersionGated => timed_within(CACHE_TIMEOUT, self.refresh(key)).await,
                };
                Err(conflict)
            }
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Layered for CacheAside {
    async fn truth(&self, key: &str) -> Result<Option<Versioned>, StateError> {
        self.truth.get(key).await
    }

    async fn cached(&self, key: &str) -> Result<Option<Cached>, StateError> {
        timed(async {
            let mut conn = self.cache.conn().await?;
            let key = Self::key(key);
            let Some(entry) = crate::redis::get(&mut conn, &key).await? else {
                return Ok(None);
            };
            // PTTL: milliseconds left, -1 without an expiry, -2 when the key is gone (expired
            // between the two commands: report the entry as it was, about to go).
            let ttl_ms: i64 = redis::cmd("PTTL")
                .arg(&key)
                .query_async(&mut *conn)
                .await
                .map_err(|e| classify(&e))?;
            let expires_in = match ttl_ms {
                -1 => None,
                ms => Some(std::time::Duration::from_millis(ms.max(0) as u64)),
            };
            Ok(Some(Cached { entry, expires_in }))
        })
        .await
    }

    fn staleness_bound(&self) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_secs(TTL_S))
    }
}
