//! `redis`: the distributed cache as the primary store. Each key is a hash of `value` and
//! `version`; a compare-and-set is a Lua script, atomic on the server.

use crate::connect::ConnectError;
use crate::redis_conn::{Redis, classify, timed, version_of};
use crate::{
    Adapter, Capabilities, Capability, Descriptor, Expect, StateError, StateStore, StoreError,
    Technique, Version, Versioned,
};
use async_trait::async_trait;
use bytes::Bytes;

/// Writes `ARGV[3]` if the expectation `ARGV[1]` (`any`, `absent`, `version` = `ARGV[2]`)
/// holds. Returns `{1, new version}` or `{0, current version or nil}`.
pub(crate) const PUT: &str = r"
local current = redis.call('HGET', KEYS[1], 'version')
if ARGV[1] == 'absent' then
  if current then return {0, current} end
elseif ARGV[1] == 'version' then
  if current ~= ARGV[2] then return {0, current} end
end
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'value', ARGV[3])
return {1, version}
";

/// What `redis` is and promises on this server.
pub fn descriptor(redis: &Redis) -> Descriptor {
    Descriptor {
        adapter: "redis".into(),
        technique: Technique::DistributedCache,
        backend: redis.version.clone(),
        capabilities: Capabilities::state_store(
            Capability::Supported,
            Capability::Supported,
            redis.kill_durable(),
        ),
        settings: redis.settings.clone(),
    }
}

/// Redis as the only store.
pub struct RedisStore {
    redis: Redis,
    put: redis::Script,
    descriptor: Descriptor,
}

impl RedisStore {
    /// Connects to `url` with a pool of at most `connections` (one per operation that runs
    /// at once).
    pub async fn connect(url: &str, connections: usize) -> Result<Self, ConnectError> {
        let redis = Redis::connect(url, connections).await?;
        Ok(Self {
            descriptor: descriptor(&redis),
            redis,
            put: redis::Script::new(PUT),
        })
    }
}

impl Adapter for RedisStore {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
}

/// Runs the [`PUT`] script.
pub(crate) async fn put(
    conn: &mut (impl redis::aio::ConnectionLike + Send),
    script: &redis::Script,
    key: &str,
    value: &[u8],
    expect: Expect,
) -> Result<Version, StateError> {
    let (mode, expected) = match expect {
        Expect::Any => ("any", String::new()),
        Expect::Absent => ("absent", String::new()),
        Expect::Version(v) => ("version", v.raw().to_string()),
    };
    let reply: Vec<redis::Value> = script
        .key(key)
        .arg(mode)
        .arg(expected)
        .arg(value)
        .invoke_async(conn)
        .await
        .map_err(|e| classify(&e))?;
    match reply.as_slice() {
        [done, version] => {
            let version = version_of(version).map(Version::from_raw);
            match (version_of(done), version) {
                (Some(1), Some(v)) => Ok(v),
                (Some(0), actual) => Err(StoreError::Conflict { actual }),
                _ => Err(StoreError::Fatal(format!(
                    "unexpected script reply {reply:?}"
                ))),
            }
        }
        _ => Err(StoreError::Fatal(format!(
            "unexpected script reply {reply:?}"
        ))),
    }
}

/// Reads the hash of `key`.
pub(crate) async fn get(
    conn: &mut (impl redis::aio::ConnectionLike + Send),
    key: &str,
) -> Result<Option<Versioned>, StateError> {
    let (value, version): (Option<Vec<u8>>, Option<u64>) = redis::cmd("HMGET")
        .arg(key)
        .arg("value")
        .arg("version")
        .query_async(conn)
        .await
        .map_err(|e| classify(&e))?;
    Ok(match (value, version) {
        (Some(value), Some(version)) => Some(Versioned {
            value: Bytes::from(value),
            version: Version::from_raw(version),
        }),
        _ => None,
    })
}

#[async_trait]
impl StateStore for RedisStore {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StateError> {
        timed(async { get(&mut *self.redis.conn().await?, key).await }).await
    }

    async fn put(&self, key: &str, value: Bytes, expect: Expect) -> Result<Version, StateError> {
        timed(async {
            put(
                &mut *self.redis.conn().await?,
                &self.put,
                key,
                &value,
                expect,
            )
            .await
        })
        .await
    }
}
