//! PostgreSQL plumbing shared by `postgres`, `pg-eventlog` and `cache-aside`: a pool of
//! connections with prepared statements, error classification, and the settings in force.

use crate::connect::{CONNECT_TIMEOUT, ConnectError, redact, within};
use crate::pool::{Lease, Pool, Reusable};
use crate::{Capability, StoreError};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;
use std::sync::Arc;
use tokio_postgres::{Client, NoTls, Statement};

/// Connections a PostgreSQL adapter opens at most when not told (`connect`): a run sizes
/// its pools to its busiest step instead (`connect_with`).
pub const DEFAULT_CONNECTIONS: usize = 32;

/// One connection to a PostgreSQL server and the statements prepared on it.
pub struct PgConn {
    client: Client,
    /// The statements prepared so far, by their SQL text (the adapters' constants).
    statements: Vec<(&'static str, Statement)>,
}

impl PgConn {
    /// Connects with `config` within [`CONNECT_TIMEOUT`]; the connection's task runs on the
    /// runtime until the client is dropped or the server closes it.
    async fn open<T: fmt::Debug + fmt::Display>(
        config: &tokio_postgres::Config,
    ) -> Result<Self, StoreError<T>> {
        let connecting = async {
            let (client, connection) = config.connect(NoTls).await.map_err(|e| classify(&e))?;
            // Its errors reach the client: the next request on it fails.
            tokio::spawn(connection);
            Ok(Self {
                client,
                statements: Vec::new(),
            })
        };
        within(CONNECT_TIMEOUT, connecting, || {
            StoreError::Unavailable(format!(
                "no connection to PostgreSQL in {CONNECT_TIMEOUT:?}"
            ))
        })
        .await
    }

    /// `sql` prepared on this connection: once, the first time it is asked for. The adapters
    /// pass their constants, so a few string comparisons find it (deadpool-postgres hashed
    /// the whole text on every call).
    pub async fn prepare_cached(
        &mut self,
        sql: &'static str,
    ) -> Result<Statement, tokio_postgres::Error> {
        if let Some((_, statement)) = self.statements.iter().find(|(known, _)| *known == sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql).await?;
        self.statements.push((sql, statement.clone()));
        Ok(statement)
    }
}

impl Deref for PgConn {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Reusable for PgConn {
    /// Not closed, as far as its task has seen. A request abandoned half-way leaves the
    /// connection in step: its task reads and drops the replies nobody waits for.
    fn usable(&self) -> bool {
        !self.client.is_closed()
    }
}

/// A connection taken from the pool for one operation.
pub type Conn = Lease<PgConn>;

/// A pool of connections to one PostgreSQL server, and what it said about itself.
pub struct Pg {
    /// Hands out connections; statements are prepared once per connection.
    pool: Arc<Pool<PgConn>>,
    config: Arc<tokio_postgres::Config>,
    /// The user the server says the session is for: the URL's, or the one tokio-postgres
    /// chose when the URL names none (the operating system's).
    pub user: String,
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
        let pool = Pool::new(connections);
        let config = Arc::new(config);
        let client = within(
            CONNECT_TIMEOUT * 2,
            async {
                pool.get(async || PgConn::open::<String>(&config).await)
                    .await
            },
            || StoreError::Timeout("no connection in time".to_owned()),
        )
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
            let user: String = client.query_one("SELECT session_user", &[]).await?.get(0);
            let mut limits = [0_usize; 2];
            for (limit, name) in limits
                .iter_mut()
                .zip(["max_connections", "superuser_reserved_connections"])
            {
                let row = client.query_one(&format!("SHOW {name}"), &[]).await?;
                *limit = row.get::<_, String>(0).parse().unwrap_or(0);
            }
            Ok::<_, tokio_postgres::Error>((settings, user, limits))
        };
        let (mut settings, user, [max, reserved]) = within(
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
        pool.close_idle();
        Ok(Self {
            pool,
            config,
            user,
            version,
            settings,
        })
    }

    /// A connection for one operation: the most recently used idle one, or a new one while
    /// fewer than the pool's size are in use; else waits for one to come back (the caller
    /// bounds the wait: every operation runs within a timeout).
    pub async fn conn<T: fmt::Debug + fmt::Display>(&self) -> Result<Conn, StoreError<T>> {
        self.pool
            .get(async || PgConn::open(&self.config).await)
            .await
    }

    /// The connection settings the URL gave, for connections of another kind
    /// ([`crate::pg_wire::Wire`]).
    pub fn config(&self) -> &Arc<tokio_postgres::Config> {
        &self.config
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

/// Classifies a PostgreSQL error for the contract.
pub fn classify<T: fmt::Debug + fmt::Display>(e: &tokio_postgres::Error) -> StoreError<T> {
    classify_code(e.as_db_error().map(|db| db.code().code()), e.to_string())
}

/// Classifies an error for the contract by its SQLSTATE `code`: `None` when the server sent
/// no error (the connection broke, maybe after the request was sent).
pub fn classify_code<T: fmt::Debug + fmt::Display>(
    code: Option<&str>,
    message: String,
) -> StoreError<T> {
    match code {
        // Serialization failure, deadlock: the transaction was rolled back.
        Some("40001" | "40P01") => StoreError::Conflict { actual: None },
        // Connection exceptions, operator intervention, too many connections.
        Some(code) if code.starts_with("08") || code.starts_with("57") || code == "53300" => {
            StoreError::Unavailable(message)
        }
        Some(_) => StoreError::Fatal(message),
        None => StoreError::Unavailable(message),
    }
}

/// Runs one database interaction within the operation timeout.
pub async fn timed<R, T: fmt::Debug + fmt::Display>(
    future: impl Future<Output = Result<R, StoreError<T>>>,
) -> Result<R, StoreError<T>> {
    crate::connect::timed("PostgreSQL", future).await
}
