//! `redis`: the distributed cache as the primary store. Each key is a hash of `value` and
//! `version`; a compare-and-set is a Lua script, atomic on the server.

use crate::connect::ConnectError;
use crate::redis_conn::{Dedicated, Redis, classify, timed, version_of};
use crate::{
    Adapter, Capabilities, Capability, Descriptor, Expect, StateError, StateStore, StoreError,
    Technique, Version, Versioned,
};
use async_trait::async_trait;
use bytes::Bytes;
use redis::Value;
use std::sync::LazyLock;

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
        })
    }
}

impl Adapter for RedisStore {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
}

/// [`PUT`] and its hash.
static PUT_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(PUT));

/// Runs the [`PUT`] script by its hash, loading it first when the server does not have it.
pub(crate) async fn put(
    conn: &mut Dedicated,
    key: &str,
    value: &[u8],
    expect: Expect,
) -> Result<Version, StateError> {
    let script = &*PUT_SCRIPT;
    let mut number = itoa::Buffer::new();
    let (mode, expected): (&[u8], &[u8]) = match expect {
        Expect::Any => (b"any", b""),
        Expect::Absent => (b"absent", b""),
        Expect::Version(v) => (b"version", number.format(v.raw()).as_bytes()),
    };
    let args: [&[u8]; 7] = [
        b"EVALSHA",
        script.get_hash().as_bytes(),
        b"1",
        key.as_bytes(),
        mode,
        expected,
        value,
    ];
    let mut reply = conn.call(&args).await.map_err(|e| classify(&e))?;
    if let Value::ServerError(e) = &reply
        && e.kind() == Some(redis::ServerErrorKind::NoScript)
    {
        let loaded = conn
            .call(&[b"SCRIPT", b"LOAD", PUT.as_bytes()])
            .await
            .and_then(Value::extract_error)
            .map_err(|e| classify(&e))?;
        if !matches!(&loaded, Value::BulkString(hash) if hash == script.get_hash().as_bytes()) {
            return Err(StoreError::Fatal(format!(
                "SCRIPT LOAD answered {loaded:?}"
            )));
        }
        reply = conn.call(&args).await.map_err(|e| classify(&e))?;
    }
    let reply = reply.extract_error().map_err(|e| classify(&e))?;
    let unexpected = || StoreError::Fatal(format!("unexpected script reply {reply:?}"));
    let Value::Array(items) = &reply else {
        return Err(unexpected());
    };
    let [done, version] = items.as_slice() else {
        return Err(unexpected());
    };
    match (version_of(done), version_of(version).map(Version::from_raw)) {
        (Some(1), Some(v)) => Ok(v),
        (Some(0), actual) => Err(StoreError::Conflict { actual }),
        _ => Err(unexpected()),
    }
}

/// Reads the hash of `key`: its value and version, or nothing when either is missing.
pub(crate) async fn get(conn: &mut Dedicated, key: &str) -> Result<Option<Versioned>, StateError> {
    let reply = conn
        .call(&[b"HMGET", key.as_bytes(), b"value", b"version"])
        .await
        .and_then(Value::extract_error)
        .map_err(|e| classify(&e))?;
    let unexpected = |reply: &Value| StoreError::Fatal(format!("unexpected HMGET reply {reply:?}"));
    let Value::Array(fields) = reply else {
        return Err(unexpected(&reply));
    };
    let [value, version] =
        <[Value; 2]>::try_from(fields).map_err(|fields| unexpected(&Value::Array(fields)))?;
    match (value, version) {
        (Value::Nil, _) | (_, Value::Nil) => Ok(None),
        (Value::BulkString(value), version) => match version_of(&version) {
            Some(version) => Ok(Some(Versioned {
                value: Bytes::from(value),
                version: Version::from_raw(version),
            })),
            None => Err(unexpected(&version)),
        },
        (value, version) => Err(unexpected(&Value::Array(vec![value, version]))),
    }
}

#[async_trait]
impl StateStore for RedisStore {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StateError> {
        timed(async { get(&mut *self.redis.conn().await?, key).await }).await
    }

    async fn put(&self, key: &str, value: Bytes, expect: Expect) -> Result<Version, StateError> {
        timed(async { put(&mut *self.redis.conn().await?, key, &value, expect).await }).await
    }
}
