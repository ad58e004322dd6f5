//! `postgres`: the external data store. One row per key with a version column; a
//! compare-and-set is `UPDATE … WHERE version = $v`.

use crate::connect::{ConnectError, redact};
use crate::pg::{DEFAULT_CONNECTIONS, Pg, timed};
use crate::pg_wire::{self, Param, Wire};
use crate::pool::{Lease, Pool};
use crate::{
    Adapter, Capabilities, Capability, Descriptor, Expect, StateError, StateStore, StoreError,
    Technique, Version, Versioned,
};
use async_trait::async_trait;
use bytes::Bytes;
use std::sync::Arc;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS statebench_state (
    key text PRIMARY KEY,
    value bytea NOT NULL,
    version bigint NOT NULL
)";

const GET: &str = "SELECT value, version FROM statebench_state WHERE key = $1";
const PUT_ANY: &str = "INSERT INTO statebench_state (key, value, version) VALUES ($1, $2, 1)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = statebench_state.version + 1
    RETURNING version, true";
/// Inserts when absent; otherwise returns the current version (where the statement's
/// snapshot sees it) with `false`.
const PUT_ABSENT: &str = "WITH done AS (
        INSERT INTO statebench_state (key, value, version) VALUES ($1, $2, 1)
        ON CONFLICT (key) DO NOTHING RETURNING version)
    SELECT version, true FROM done
    UNION ALL SELECT version, false FROM statebench_state
        WHERE key = $1 AND NOT EXISTS (SELECT 1 FROM done)";
const PUT_VERSION: &str = "WITH done AS (
        UPDATE statebench_state SET value = $2, version = version + 1
        WHERE key = $1 AND version = $3 RETURNING version)
    SELECT version, true FROM done
    UNION ALL SELECT version, false FROM statebench_state
        WHERE key = $1 AND NOT EXISTS (SELECT 1 FROM done)";

/// What `postgres` is and promises on this server.
pub fn descriptor(pg: &Pg) -> Descriptor {
    Descriptor {
        adapter: "postgres".into(),
        technique: Technique::ExternalDataStore,
        backend: pg.version.clone(),
        capabilities: Capabilities::state_store(
            Capability::Supported,
            Capability::Supported,
            pg.kill_durable(),
        ),
        settings: pg.settings.clone(),
    }
}

/// A state table in PostgreSQL.
pub struct Postgres {
    /// The operations' connections, each serving one operation at a time.
    pool: Arc<Pool<Wire>>,
    config: Arc<tokio_postgres::Config>,
    descriptor: Descriptor,
}

impl Postgres {
    /// Connects to `url` with a pool of [`DEFAULT_CONNECTIONS`] and creates the state table
    /// if needed.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::connect_with(url, DEFAULT_CONNECTIONS).await
    }

    /// Connects to `url` with a pool of at most `connections`, one per client that runs at
    /// once, and creates the state table if needed.
    pub async fn connect_with(url: &str, connections: usize) -> Result<Self, ConnectError> {
        // The setup (schema, version, settings, the server's connection limit) goes
        // through tokio-postgres; its connection closes when `pg` is dropped, here.
        let pg = Pg::connect(url, SCHEMA, connections).await?;
        let mut config = tokio_postgres::Config::clone(pg.config());
        if config.get_user().is_none() {
            config.user(&pg.user);
        }
        pg_wire::supported(&config).map_err(ConnectError::Invalid)?;
        let descriptor = descriptor(&pg);
        drop(pg);
        let store = Self {
            descriptor,
            pool: Pool::new(connections),
            config: Arc::new(config),
        };
        // One connection now, kept for the first operation: what only these connections
        // refuse fails the setup, not every operation.
        // The pool is empty: `Wire::open`'s own time limit bounds this.
        let first = (store.conn().await)
            .map_err(|e| ConnectError::Unreachable(format!("{}: {e}", redact(url))))?;
        drop(first);
        store.pool.close_idle();
        Ok(store)
    }

    /// A connection for one operation: the most recently used idle one, or a new one while
    /// fewer than the pool's size are in use; else waits for one to come back (every
    /// operation runs within a timeout).
    async fn conn(&self) -> Result<Lease<Wire>, StateError> {
        self.pool
            .get(async || Wire::open(&self.config).await.map_err(|e| e.classify()))
            .await
    }
}

impl Adapter for Postgres {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
}

fn version(raw: i64) -> Version {
    Version::from_raw(u64::try_from(raw).unwrap_or(0))
}

#[async_trait]
impl StateStore for Postgres {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StateError> {
        timed(async {
            let mut conn = self.conn().await?;
            let row = conn.query_opt(GET, &[Param::Text(key)]).await;
            row.and_then(|row| {
                row.map(|row| {
                    Ok(Versioned {
                        value: row.bytea(0)?,
                        version: version(row.int8(1)?),
                    })
                })
                .transpose()
            })
            .map_err(|e| e.classify())
        })
        .await
    }

    async fn put(&self, key: &str, value: Bytes, expect: Expect) -> Result<Version, StateError> {
        timed(async {
            let mut conn = self.conn().await?;
            let (key, value) = (Param::Text(key), Param::Bytea(&value));
            let row = match expect {
                Expect::Any => conn.query_opt(PUT_ANY, &[key, value]).await,
                Expect::Absent => conn.query_opt(PUT_ABSENT, &[key, value]).await,
                Expect::Version(v) => {
                    let expected = Param::Int8(i64::try_from(v.raw()).unwrap_or(-1));
                    conn.query_opt(PUT_VERSION, &[key, value, expected]).await
                }
            }
            .and_then(|row| {
                row.map(|r| Ok((version(r.int8(0)?), r.bool(1)?)))
                    .transpose()
            })
            .map_err(|e| e.classify())?;
            match row {
                Some((written, true)) => Ok(written),
                // The snapshot may still show the expected version when a concurrent writer
                // changed it: then the actual version is not known.
                Some((seen, false)) => Err(StoreError::Conflict {
                    actual: (!matches!(expect, Expect::Version(v) if v == seen)).then_some(seen),
                }),
                None => Err(StoreError::Conflict { actual: None }),
            }
        })
        .await
    }
}
