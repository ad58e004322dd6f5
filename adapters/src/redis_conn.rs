//! Redis plumbing shared by `redis` and `cache-aside`: a pool of connections that each serve
//! one operation at a time, error classification, and the persistence settings in force.
//!
//! Each operation takes a connection from the pool, writes its request and reads its reply
//! on its own task, as hiredis (redis-benchmark), go-redis or Jedis do, and gives the
//! connection back. The socket, the pool, the adapters' own commands ([`Dedicated::call`])
//! and the reply decoder ([`crate::resp`]) are ours; redis-rs encodes the other commands
//! (`cache-aside`'s fill script, the setup queries) and its `Value` carries the replies.
//! redis-rs's own async connection is multiplexed: every request goes through a driver task
//! and back, which cost a single client 15–20 % of its reads against redis-benchmark on the
//! same server (README, "Peer parity").

use crate::connect::{CONNECT_TIMEOUT, ConnectError, OPERATION_TIMEOUT, redact, within};
use crate::pool::{Lease, Pool, Reusable};
use crate::{Capability, StoreError};
use bytes::{Buf, BytesMut};
use redis::aio::ConnectionLike;
use redis::{
    Cmd, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisError, RedisFuture, Value,
};
use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One TCP connection to a Redis server, used by one caller at a time.
pub struct Dedicated {
    stream: TcpStream,
    /// Bytes read and not yet decoded.
    read: BytesMut,
    /// The request [`Dedicated::call`] encodes, kept for the next.
    write: Vec<u8>,
    /// A request went out whose replies were not all read (the caller gave up, or the
    /// connection failed): the next reply on it would be someone else's.
    pending: bool,
    /// The database selected.
    db: i64,
}

impl Dedicated {
    /// Connects, with `TCP_NODELAY` as hiredis sets it, authenticates, names the connection
    /// `statebench` and selects the database the URL names.
    async fn open(info: &ConnectionInfo) -> Result<Self, RedisError> {
        let ConnectionAddr::Tcp(host, port) = info.addr() else {
            return Err(RedisError::from(io::Error::new(
                io::ErrorKind::Unsupported,
                "statebench connects to Redis over TCP only (redis://host:port/db)",
            )));
        };
        let stream = TcpStream::connect((host.as_str(), *port)).await?;
        stream.set_nodelay(true)?;
        let mut conn = Self {
            stream,
            read: BytesMut::with_capacity(16 * 1024),
            write: Vec::with_capacity(1024),
            pending: false,
            db: 0,
        };
        let settings = info.redis_settings();
        if let Some(password) = settings.password() {
            let mut auth = redis::cmd("AUTH");
            if let Some(user) = settings.username() {
                auth.arg(user);
            }
            auth.arg(password).query_async::<()>(&mut conn).await?;
        }
        // Named, as the PostgreSQL connections are (`application_name`): CLIENT LIST shows
        // which connections are the harness's.
        redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg("statebench")
            .query_async::<()>(&mut conn)
            .await?;
        if settings.db() != 0 {
            redis::cmd("SELECT")
                .arg(settings.db())
                .query_async::<()>(&mut conn)
                .await?;
            conn.db = settings.db();
        }
        Ok(conn)
    }

    /// Reads the next whole reply.
    async fn reply(&mut self) -> Result<Value, RedisError> {
        loop {
            if let Some((value, used)) = crate::resp::decode(&self.read)? {
                self.read.advance(used);
                return Ok(value);
            }
            if self.stream.read_buf(&mut self.read).await? == 0 {
                return Err(RedisError::from(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                )));
            }
        }
    }

    /// Writes `request` and reads `skip + keep` replies, returning the last `keep`.
    async fn exchange(
        &mut self,
        request: &[u8],
        skip: usize,
        keep: usize,
    ) -> Result<Vec<Value>, RedisError> {
        self.in_step()?;
        self.pending = true;
        self.stream.write_all(request).await?;
        let mut kept = Vec::with_capacity(keep);
        for i in 0..skip + keep {
            let value = self.reply().await?;
            if i >= skip {
                kept.push(value);
            }
        }
        self.pending = false;
        Ok(kept)
    }

    /// Sends the command made of `args` and reads its reply (a server's error reply is a
    /// [`Value::ServerError`]). The adapters' own commands go this way: no `Cmd` to build, and
    /// the request is encoded into a buffer the connection keeps.
    pub async fn call(&mut self, args: &[&[u8]]) -> Result<Value, RedisError> {
        self.in_step()?;
        let mut count = itoa::Buffer::new();
        self.write.clear();
        self.write.push(b'*');
        self.write
            .extend_from_slice(count.format(args.len()).as_bytes());
        self.write.extend_from_slice(b"\r\n");
        for arg in args {
            self.write.push(b'$');
            self.write
                .extend_from_slice(count.format(arg.len()).as_bytes());
            self.write.extend_from_slice(b"\r\n");
            self.write.extend_from_slice(arg);
            self.write.extend_from_slice(b"\r\n");
        }
        self.pending = true;
        self.stream.write_all(&self.write).await?;
        let value = self.reply().await?;
        self.pending = false;
        Ok(value)
    }

    /// Refuses a request on a connection whose last request was abandoned: its reply would
    /// be read as this one's.
    fn in_step(&self) -> Result<(), RedisError> {
        if self.out_of_step() {
            return Err(RedisError::from(io::Error::other(
                "the connection's last request was abandoned; its reply is still due",
            )));
        }
        Ok(())
    }

    /// A request went out whose replies were not all read, or bytes came unasked for.
    fn out_of_step(&self) -> bool {
        self.pending || !self.read.is_empty()
    }
}

impl ConnectionLike for Dedicated {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let mut replies = self.exchange(&cmd.get_packed_command(), 0, 1).await?;
            Ok(replies.pop().unwrap_or(Value::Nil))
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            self.exchange(&pipeline.get_packed_pipeline(), offset, count)
                .await
        })
    }

    fn get_db(&self) -> i64 {
        self.db
    }
}

impl Reusable for Dedicated {
    /// Every reply was read, nothing unasked-for arrived, and the server has not closed the
    /// connection as far as the runtime has seen (a close the runtime has not yet polled is
    /// found by the next request, which fails). Costs no system call unless the socket was
    /// reported readable.
    fn usable(&self) -> bool {
        if self.out_of_step() {
            return false;
        }
        let mut byte = [0u8; 1];
        matches!(self.stream.try_read(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

/// A connection taken from the pool for one operation; it goes back when dropped, unless it
/// is out of step or closed.
pub type Conn = Lease<Dedicated>;

/// A pool of connections to one Redis server, and what the server said about itself. Clones
/// share the pool.
#[derive(Clone)]
pub struct Redis {
    pool: Arc<Pool<Dedicated>>,
    info: Arc<ConnectionInfo>,
    /// `Redis 7.0.15`, …
    pub version: String,
    /// Persistence settings read from the server.
    pub settings: BTreeMap<String, String>,
}

impl Redis {
    /// Connects to `url` (`redis://[user:password@]host:port[/db]`) with a pool of at most
    /// `connections` (one per operation that runs at once), and reads the server's version
    /// and settings.
    pub async fn connect(url: &str, connections: usize) -> Result<Self, ConnectError> {
        let info = url
            .into_connection_info()
            .map_err(|e| ConnectError::Invalid(format!("Redis URL `{}`: {e}", redact(url))))?;
        if !matches!(info.addr(), ConnectionAddr::Tcp(..)) {
            return Err(ConnectError::Invalid(format!(
                "Redis URL `{}`: statebench connects over TCP only (redis://host:port/db)",
                redact(url)
            )));
        }
        let redis = Self {
            pool: Pool::new(connections),
            info: Arc::new(info),
            version: String::new(),
            settings: BTreeMap::new(),
        };
        let setup = async {
            let mut conn = redis
                .conn::<String>()
                .await
                .map_err(|e| ConnectError::Unreachable(format!("{}: {e}", redact(url))))?;
            let info: String = redis::cmd("INFO")
                .arg("server")
                .query_async(&mut *conn)
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
                    .query_async(&mut *conn)
                    .await
                    .map_err(|e| ConnectError::Unusable(format!("CONFIG GET {name}: {e}")))?;
                if let [_, value] = pair.as_slice() {
                    settings.insert(name.to_owned(), value.clone());
                }
            }
            Ok::<_, ConnectError>((version, settings))
        };
        // Connecting, and every setup query, within one limit: a server that accepts the
        // connection and then stops answering must not hang the run.
        let (version, settings) = within(CONNECT_TIMEOUT * 2, setup, || {
            ConnectError::Unreachable(format!(
                "{}: no answer in {:?}",
                redact(url),
                CONNECT_TIMEOUT * 2
            ))
        })
        .await?;
        redis.pool.close_idle();
        Ok(Self {
            version,
            settings,
            ..redis
        })
    }

    /// A connection for one operation: the most recently used idle one, or a new one while
    /// fewer than the pool's size are in use; else waits for one to come back. The caller
    /// bounds the wait (every operation runs within a timeout).
    pub async fn conn<T: fmt::Debug + fmt::Display>(&self) -> Result<Conn, StoreError<T>> {
        self.pool
            .get(async || Dedicated::open(&self.info).await.map_err(|e| classify(&e)))
            .await
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
