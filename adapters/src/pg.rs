//! PostgreSQL plumbing shared by `postgres`, `pg-eventlog` and `cache-aside`: a pool of
//! connections with prepared statements, error classification, and the settings in force.

use crate::connect::{CONNECT_TIMEOUT, ConnectError, OPERATION_TIMEOUT, redact, within};
use crate::{Capability, StoreError};
use deadpool_postgres::{
    Manager, ManagerConfig, Pool, PoolError, QueueMode, RecyclingMethod, Runtime,
};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;
use tokio_postgres::NoTls;

/// Connections a PostgreSQL adapter opens at most when not told (`connect`): a run sizes
/// its pools to its busiest step instead (`connect_with`).
pub const DEFAULT_CONNECTIONS: usize = 32;
/// A connection idle this long is closed, so that the pools of subjects that are not
/// running hold no server connections.
const IDLE: Duration = Duration::from_secs(5);

/// A pool of connections to one PostgreSQL server, and what it said about itself.
pub struct Pg {
    /// Hands out connections; statements are prepared once per connection.
    pub pool: Pool,
    /// `PostgreSQL 15.18`, …
    pub version: String,
    /// Durability settings read from the server.
    pub settings: BTreeMap<String, String>,
}

impl Pg {
    /// Connects to `url` (`postgres://user:password@host:port/db`) with a pool of at most
    /// `connections` (one per client that runs at once), reads the server's version and
    /// durability settings, and runs `schema`. Fails when the server takes fewer
    /// connections than that.
    pub async fn connect(
        url: &str,
        schema: &str,
        connections: usize,
    ) -> Result<Self, ConnectError> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| ConnectError::Invalid(format!("PostgreSQL URL `{}`: {e}", redact(url))))?;
        config.connect_timeout(CONNECT_TIMEOUT);
        config.application_name("statebench");
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(connections.max(1))
            // The most recently used connection first: a client that runs alone keeps one
            // server process busy, as pgbench's does, instead of waking every pooled one in
            // turn (first in, first out cost 2.4 times the server CPU per read; README, "Peer
            // parity").
            .queue_mode(QueueMode::Lifo)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(OPERATION_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| ConnectError::Invalid(e.to_string()))?;
        let client = pool
            .get()
            .await
            .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
        let setup = async {
            client.batch_execute(schema).await?;
            let mut settings = BTreeMap::new();
            for name in [
                "server_version",
                "fsync",
                "synchronous_commit",
                "full_page_writes",
                "wal_sync_method",
            ] {
                let row = client.query_one(&format!("SHOW {name}"), &[]).await?;
                settings.insert(name.to_owned(), row.get::<_, String>(0));
            }
            let mut limits = [0_usize; 2];
            for (limit, name) in limits
                .iter_mut()
                .zip(["max_connections", "superuser_reserved_connections"])
            {
                let row = client.query_one(&format!("SHOW {name}"), &[]).await?;
                *limit = row.get::<_, String>(0).parse().unwrap_or(0);
            }
            Ok::<_, tokio_postgres::Error>((settings, limits))
        };
        let (mut settings, [max, reserved]) = within(
            CONNECT_TIMEOUT * 2,
            async { setup.await.map_err(|e| e.to_string()) },
            || "no answer to setup queries".to_owned(),
        )
        .await
        .map_err(ConnectError::Unusable)?;
        let takes = max.saturating_sub(reserved);
        if connections > takes {
            return Err(ConnectError::Unusable(format!(
                "{connections} clients at once need {connections} connections, but the server \
                 takes at most {takes} (max_connections={max}, {reserved} reserved for \
                 superusers): run fewer workers, or raise max_connections"
            )));
        }
        let version = format!(
            "PostgreSQL {}",
            settings.remove("server_version").unwrap_or_default()
        );
        drop(client);
        close_idle(&pool);
        Ok(Self {
            pool,
            version,
            settings,
        })
    }

    /// Whether acknowledged commits survive SIGKILL of the server: only when a commit waits
    /// for its WAL to be written (`synchronous_commit` not `off`).
    pub fn kill_durable(&self) -> Capability {
        match self.settings.get("synchronous_commit").map(String::as_str) {
            Some("off") => Capability::unsupported(
                "synchronous_commit=off: commits return before their WAL is written",
            ),
            Some(_) => Capability::Supported,
            None => Capability::unsupported("synchronous_commit unknown"),
        }
    }
}

/// Closes the connections of `pool` that have been idle for [`IDLE`], every [`IDLE`],
/// until the pool is dropped.
fn close_idle(pool: &Pool) {
    let pool = pool.weak();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(IDLE);
        every.tick().await;
        loop {
            every.tick().await;
            let Some(pool) = pool.upgrade() else { return };
            // Dropping the removed clients closes their connections.
            let _closed = pool.retain(|_, metrics| metrics.last_used() < IDLE);
        }
    });
}

/// Classifies a PostgreSQL error for the contract.
pub fn classify<T: fmt::Debug + fmt::Display>(e: &tokio_postgres::Error) -> StoreError<T> {
    let message = e.to_string();
    match e.as_db_error().map(|db| db.code().code()) {
        // Serialization failure, deadlock: the transaction was rolled back.
        Some("40001" | "40P01") => StoreError::Conflict { actual: None },
        // Connection exceptions, operator intervention, too many connections.
        Some(code) if code.starts_with("08") || code.starts_with("57") || code == "53300" => {
            StoreError::Unavailable(message)
        }
        Some(_) => StoreError::Fatal(message),
        // No server error: the connection broke, maybe after the request was sent.
        None => StoreError::Unavailable(message),
    }
}

/// Classifies a failure to get a connection from the pool.
pub fn classify_pool<T: fmt::Debug + fmt::Display>(e: PoolError) -> StoreError<T> {
    match e {
        PoolError::Timeout(_) => StoreError::Timeout("no free connection in time".into()),
        PoolError::Backend(e) => classify(&e),
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// Runs one database interaction within the operation timeout.
pub async fn timed<R, T: fmt::Debug + fmt::Display>(
    future: impl Future<Output = Result<R, StoreError<T>>>,
) -> Result<R, StoreError<T>> {
    crate::connect::timed("PostgreSQL", future).await
}
