//! `postgres`: the external data store. One row per key with a version column; a
//! compare-and-set is `UPDATE … WHERE version = $v`.

use crate::connect::ConnectError;
use crate::pg::{DEFAULT_CONNECTIONS, Pg, classify, timed};
use crate::{
    Adapter, Capabilities, Capability, Descriptor, Expect, StateError, StateStore, StoreError,
    Technique, Version, Versioned,
};
use async_trait::async_trait;
use bytes::Bytes;

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
    pg: Pg,
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
        let pg = Pg::connect(url, SCHEMA, connections).await?;
        Ok(Self {
            descriptor: descriptor(&pg),
            pg,
        })
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
            let mut client = self.pg.conn().await?;
            let statement = client.prepare_cached(GET).await.map_err(|e| classify(&e))?;
            let row = client
                .query_opt(&statement, &[&key])
                .await
                .map_err(|e| classify(&e))?;
            Ok(row.map(|row| Versioned {
                value: Bytes::from(row.get::<_, Vec<u8>>(0)),
                version: version(row.get(1)),
            }))
        })
        .await
    }

    async fn put(&self, key: &str, value: Bytes, expect: Expect) -> Result<Version, StateError> {
        timed(async {
            let mut client = self.pg.conn().await?;
            let value: &[u8] = &value;
            let (sql, expected) = match expect {
                Expect::Any => (PUT_ANY, None),
                Expect::Absent => (PUT_ABSENT, None),
                Expect::Version(v) => (PUT_VERSION, Some(i64::try_from(v.raw()).unwrap_or(-1))),
            };
            let statement = client.prepare_cached(sql).await.map_err(|e| classify(&e))?;
            let row = match &expected {
                None => client.query_opt(&statement, &[&key, &value]).await,
                Some(v) => client.query_opt(&statement, &[&key, &value, v]).await,
            }
            .map_err(|e| classify(&e))?;
            match row.map(|r| (version(r.get(0)), r.get::<_, bool>(1))) {
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
