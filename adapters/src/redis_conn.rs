//! Redis plumbing shared by `redis` and `cache-aside`: one multiplexed connection that
//! reconnects, error classification, and the persistence settings in force.

use crate::connect::{CONNECT_TIMEOUT, ConnectError, OPERATION_TIMEOUT, redact, within};
use crate::{Capability, StoreError};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::collections::BTreeMap;
use std::fmt;

/// A connection to one Redis server, and what it said about itself.
#[derive(Clone)]
pub struct Redis {
    /// Multiplexed: every caller shares it; reconnects after the server comes back.
    pub conn: ConnectionManager,
    /// `Redis 7.0.15`, …
    pub version: String,
    /// Persistence settings read from the server.
    pub settings: BTreeMap<String, String>,
}

impl Redis {
    /// Connects to `url` (`redis://host:port`) and reads the server's version and settings.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        let client = redis::Client::open(url)
            .map_err(|e| ConnectError::Invalid(format!("Redis URL `{}`: {e}", redact(url))))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(OPERATION_TIMEOUT))
            .set_number_of_retries(2);
        let connecting = async {
            ConnectionManager::new_with_config(client, config)
                .await
                .map_err(|e| e.to_string())
        };
        let mut conn = within(CONNECT_TIMEOUT * 2, connecting, || {
            format!("no answer from {}", redact(url))
        })
        .await
        .map_err(ConnectError::Unreachable)?;
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut conn)
            .await
            .map_err(|e| ConnectError::Unusable(e.to_string()))?;
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
                .map(str::trim)
        };
        let version = match (field("valkey_version"), field("redis_version")) {
            (Some(v), _) => format!("Valkey {v}"),
            (None, Some(v)) => format!("Redis {v}"),
            (None, None) => "Redis (version unknown)".to_owned(),
        };
        let mut settings = BTreeMap::new();
        for name in ["appendonly", "appendfsync", "save"] {
            let pair: Vec<String> = redis::cmd("CONFIG")
                .arg("GET")
                .arg(name)
                .query_async(&mut conn)
                .await
                .map_err(|e| ConnectError::Unusable(format!("CONFIG GET {name}: {e}")))?;
            if let [_, value] = pair.as_slice() {
                settings.insert(name.to_owned(), value.clone());
            }
        }
        Ok(Self {
            conn,
            version,
            settings,
        })
    }

    /// Whether acknowledged writes survive SIGKILL of the server: with the append-only file
    /// on, a write is in the file (the OS's page cache) before its reply is sent.
    pub fn kill_durable(&self) -> Capability {
        match self.settings.get("appendonly").map(String::as_str) {
            Some("yes") => Capability::Supported,
            _ => Capability::unsupported(
                "appendonly no: writes since the last RDB snapshot are lost",
            ),
        }
    }
}

/// Classifies a Redis error for the contract: a timeout, or else unavailable. Replies that
/// could not be read, a server still loading or busy: none says the write did not happen.
pub fn classify<T: fmt::Debug + fmt::Display>(e: &redis::RedisError) -> StoreError<T> {
    if e.is_timeout() {
        StoreError::Timeout(e.to_string())
    } else {
        StoreError::Unavailable(e.to_string())
    }
}

/// Runs one Redis interaction within `limit`.
pub async fn timed_within<R, T: fmt::Debug + fmt::Display>(
    limit: std::time::Duration,
    future: impl Future<Output = Result<R, StoreError<T>>>,
) -> Result<R, StoreError<T>> {
    within(limit, future, || {
        StoreError::Timeout(format!("no answer from Redis in {limit:?}"))
    })
    .await
}

/// Runs one Redis interaction within the operation timeout.
pub async fn timed<R, T: fmt::Debug + fmt::Display>(
    future: impl Future<Output = Result<R, StoreError<T>>>,
) -> Result<R, StoreError<T>> {
    timed_within(OPERATION_TIMEOUT, future).await
}

/// Reads a version reply: an integer, a decimal string, or nil.
pub fn version_of(value: &redis::Value) -> Option<u64> {
    match value {
        redis::Value::Int(n) => u64::try_from(*n).ok(),
        redis::Value::BulkString(bytes) => std::str::from_utf8(bytes).ok()?.parse().ok(),
        redis::Value::SimpleString(s) => s.parse().ok(),
        _ => None,
    }
}
