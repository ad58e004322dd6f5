//! `postgres`'s own connection to PostgreSQL: the extended query protocol spoken directly on
//! a socket, one operation at a time, as libpq (pgbench) does.
//!
//! Each statement is parsed once per connection, in the same write as its first execution;
//! after that an operation is one write (Bind, Execute, Sync) and one read up to
//! ReadyForQuery, on the operation's own task. tokio-postgres, which the other PostgreSQL
//! adapters and the setup queries use, sends each request through a channel to a
//! connection task and back, and builds a response stream per statement: a 1-worker read
//! cost the whole process about 20,000 instructions that way, and 10,650 this way (README,
//! "Peer parity"). The messages are encoded and decoded by `postgres-protocol`,
//! tokio-postgres's own codec crate.

use crate::connect::{CONNECT_TIMEOUT, within};
use crate::pool::Reusable;
use crate::{StoreError, pg};
use bytes::{Bytes, BytesMut};
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::{md5_hash, sasl};
use postgres_protocol::message::{backend, frontend};
use std::fmt;
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_postgres::config::Host;

/// Room made in the read buffer before each read.
const READ_ROOM: usize = 8 * 1024;
/// Binary format, for every parameter and every result column.
const BINARY: i16 = 1;

/// A parameter of one of the types the `postgres` adapter's statements take, sent in
/// binary.
#[derive(Clone, Copy, Debug)]
pub enum Param<'a> {
    /// `text`.
    Text(&'a str),
    /// `bytea`.
    Bytea(&'a [u8]),
    /// `bigint`.
    Int8(i64),
}

impl Param<'_> {
    /// The type's OID, given in Parse so that the server does not infer it.
    fn oid(self) -> u32 {
        match self {
            Self::Text(_) => 25,
            Self::Bytea(_) => 17,
            Self::Int8(_) => 20,
        }
    }
}

/// Why a request failed.
#[derive(Debug)]
pub enum WireError {
    /// The server answered with an error: the SQLSTATE and the message.
    Db { code: String, message: String },
    /// The connection failed, or the server sent what the protocol does not allow here.
    Io(io::Error),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Db { code, message } => write!(f, "db error: {message} (SQLSTATE {code})"),
            Self::Io(e) => write!(f, "PostgreSQL connection: {e}"),
        }
    }
}

impl From<io::Error> for WireError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

fn protocol(what: impl Into<String>) -> WireError {
    WireError::Io(io::Error::new(io::ErrorKind::InvalidData, what.into()))
}

impl WireError {
    /// Classified for the contract as [`pg::classify`] classifies tokio-postgres's errors.
    pub fn classify<T: fmt::Debug + fmt::Display>(&self) -> StoreError<T> {
        let code = match self {
            Self::Db { code, .. } => Some(code.as_str()),
            Self::Io(_) => None,
        };
        pg::classify_code(code, self.to_string())
    }
}

/// The one row a statement returned, its columns in binary, read where they came.
pub struct Row(backend::DataRowBody);

impl Row {
    fn column(&self, i: usize) -> Result<&[u8], WireError> {
        match self.0.ranges().nth(i)? {
            Some(Some(range)) => Ok(&self.0.buffer()[range]),
            Some(None) => Err(protocol(format!("column {i} is NULL"))),
            None => Err(protocol(format!("no column {i}"))),
        }
    }

    /// Column `i`, a `bytea`, copied: a slice would keep the whole read buffer it came in
    /// alive for as long as the value is kept.
    pub fn bytea(&self, i: usize) -> Result<Bytes, WireError> {
        self.column(i).map(Bytes::copy_from_slice)
    }

    /// Column `i`, a `bigint`.
    pub fn int8(&self, i: usize) -> Result<i64, WireError> {
        let bytes: [u8; 8] = self
            .column(i)?
            .try_into()
            .map_err(|_| protocol(format!("column {i} is not a bigint")))?;
        Ok(i64::from_be_bytes(bytes))
    }

    /// Column `i`, a `boolean`.
    pub fn bool(&self, i: usize) -> Result<bool, WireError> {
        match self.column(i)? {
            [b] => Ok(*b != 0),
            _ => Err(protocol(format!("column {i} is not a boolean"))),
        }
    }
}

/// One connection to a PostgreSQL server, used by one operation at a time.
pub struct Wire {
    stream: TcpStream,
    /// Bytes read and not yet decoded.
    read: BytesMut,
    /// The request being written, kept for the next.
    write: BytesMut,
    /// The statements prepared on this connection: the one at index `i` is named `sb{i}`.
    prepared: Vec<&'static str>,
    /// A request went out whose reply was not read to its end (the caller gave up, or the
    /// connection failed): the next reply on it would be someone else's.
    pending: bool,
}

impl Wire {
    /// Connects to the first of `config`'s hosts that accepts a session, over TCP with
    /// `TCP_NODELAY` (as libpq sets it), authenticating (password, md5 or SCRAM-SHA-256) and
    /// naming the connection `statebench`, within [`CONNECT_TIMEOUT`]. A host that refuses
    /// the connection or the session (starting up, too many connections) is passed over
    /// for the next, as libpq does. `config` names the user ([`supported`]).
    pub async fn open(config: &tokio_postgres::Config) -> Result<Self, WireError> {
        within(CONNECT_TIMEOUT, Self::open_any(config), || {
            WireError::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no connection to PostgreSQL in {CONNECT_TIMEOUT:?}"),
            ))
        })
        .await
    }

    async fn open_any(config: &tokio_postgres::Config) -> Result<Self, WireError> {
        let (ports, addrs) = (config.get_ports(), config.get_hostaddrs());
        let mut last = None;
        for (i, host) in config.get_hosts().iter().enumerate() {
            // As libpq: one port for all hosts, or one per host; 5432 when none is given.
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            let reached = match (addrs.get(i), host) {
                (Some(addr), _) => TcpStream::connect((*addr, port)).await,
                (None, Host::Tcp(name)) => TcpStream::connect((name.as_str(), port)).await,
                #[cfg(unix)]
                (None, Host::Unix(path)) => Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("a socket in {} (TCP only)", path.display()),
                )),
            };
            match reached {
                Ok(stream) => match Self::start(stream, config).await {
                    Ok(conn) => return Ok(conn),
                    Err(e) => last = Some(e),
                },
                Err(e) => last = Some(WireError::Io(e)),
            }
        }
        Err(last.unwrap_or_else(|| protocol("the PostgreSQL URL names no host")))
    }

    /// Starts a session on `stream`: the startup message, authentication, and the server's
    /// parameters up to ReadyForQuery.
    async fn start(stream: TcpStream, config: &tokio_postgres::Config) -> Result<Self, WireError> {
        stream.set_nodelay(true)?;
        let mut conn = Self {
            stream,
            read: BytesMut::with_capacity(READ_ROOM),
            write: BytesMut::with_capacity(1024),
            prepared: Vec::new(),
            pending: true,
        };
        let user = config
            .get_user()
            .ok_or_else(|| protocol("the PostgreSQL URL names no user"))?;
        let mut parameters = vec![
            ("user", user),
            ("database", config.get_dbname().unwrap_or(user)),
            ("application_name", "statebench"),
            ("client_encoding", "UTF8"),
        ];
        if let Some(options) = config.get_options() {
            parameters.push(("options", options));
        }
        frontend::startup_message(parameters, &mut conn.write)?;
        conn.flush().await?;
        let password = || {
            config
                .get_password()
                .ok_or_else(|| protocol("the server asks for a password and the URL has none"))
        };
        // A SCRAM exchange, and whether the server proved it knows the password.
        let mut scram = None;
        let mut verified = false;
        loop {
            match conn.message().await? {
                backend::Message::AuthenticationOk => {
                    if scram.is_some() && !verified {
                        return Err(protocol(
                            "the server ended SCRAM authentication without its proof",
                        ));
                    }
                }
                backend::Message::ParameterStatus(_)
                | backend::Message::BackendKeyData(_)
                | backend::Message::NoticeResponse(_) => {}
                backend::Message::AuthenticationCleartextPassword => {
                    frontend::password_message(password()?, &mut conn.write)?;
                    conn.flush().await?;
                }
                backend::Message::AuthenticationMd5Password(body) => {
                    let hash = md5_hash(user.as_bytes(), password()?, body.salt());
                    frontend::password_message(hash.as_bytes(), &mut conn.write)?;
                    conn.flush().await?;
                }
                backend::Message::AuthenticationSasl(body) => {
                    let offered: Vec<&str> = body.mechanisms().collect()?;
                    if !offered.contains(&sasl::SCRAM_SHA_256) {
                        return Err(protocol(format!(
                            "the server offers SASL {offered:?}; statebench speaks {}",
                            sasl::SCRAM_SHA_256
                        )));
                    }
                    let exchange =
                        sasl::ScramSha256::new(password()?, sasl::ChannelBinding::unsupported());
                    frontend::sasl_initial_response(
                        sasl::SCRAM_SHA_256,
                        exchange.message(),
                        &mut conn.write,
                    )?;
                    conn.flush().await?;
                    scram = Some(exchange);
                }
                backend::Message::AuthenticationSaslContinue(body) => {
                    let exchange = scram
                        .as_mut()
                        .ok_or_else(|| protocol("SASL continue before SASL start"))?;
                    exchange.update(body.data())?;
                    frontend::sasl_response(exchange.message(), &mut conn.write)?;
                    conn.flush().await?;
                }
                backend::Message::AuthenticationSaslFinal(body) => {
                    scram
                        .as_mut()
                        .ok_or_else(|| protocol("SASL final before SASL start"))?
                        .finish(body.data())?;
                    verified = true;
                }
                backend::Message::ErrorResponse(body) => return Err(db_error(&body).0),
                backend::Message::ReadyForQuery(_) => break,
                _ => {
                    return Err(protocol(
                        "the server asks for an authentication statebench does not speak \
                         (it speaks password, md5 and SCRAM-SHA-256)",
                    ));
                }
            }
        }
        conn.pending = false;
        Ok(conn)
    }

    /// Runs `sql` with `params` and returns its row, if it returned one; more than one is
    /// an error. The statement is prepared on this connection the first time, in the same
    /// write.
    pub async fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[Param<'_>],
    ) -> Result<Option<Row>, WireError> {
        self.in_step()?;
        let (index, parse) = match self.prepared.iter().position(|known| *known == sql) {
            Some(i) => (i, false),
            None => (self.prepared.len(), true),
        };
        let mut name = [0u8; 8];
        let name = statement_name(index, &mut name);
        self.write.clear();
        if parse {
            frontend::parse(name, sql, params.iter().map(|p| p.oid()), &mut self.write)?;
        }
        frontend::bind(
            "",
            name,
            params.iter().map(|_| BINARY),
            params,
            |param, buf| {
                match param {
                    Param::Text(s) => buf.extend_from_slice(s.as_bytes()),
                    Param::Bytea(b) => buf.extend_from_slice(b),
                    Param::Int8(n) => buf.extend_from_slice(&n.to_be_bytes()),
                }
                Ok(postgres_protocol::IsNull::No)
            },
            [BINARY],
            &mut self.write,
        )
        .map_err(|e| match e {
            frontend::BindError::Conversion(e) => protocol(e.to_string()),
            frontend::BindError::Serialization(e) => WireError::Io(e),
        })?;
        frontend::execute("", 0, &mut self.write)?;
        frontend::sync(&mut self.write);
        self.pending = true;
        self.flush().await?;
        let mut row = None;
        let mut rows = 0_usize;
        let mut failed = None;
        loop {
            // A server that ends the session sends its error and closes: the error is the
            // answer, not the close.
            let message = match self.message().await {
                Ok(message) => message,
                Err(e) => return Err(failed.unwrap_or(e)),
            };
            match message {
                backend::Message::ParseComplete => self.prepared.push(sql),
                backend::Message::DataRow(body) => {
                    rows += 1;
                    if row.is_none() {
                        row = Some(Row(body));
                    }
                }
                backend::Message::ErrorResponse(body) => {
                    let (error, ends_session) = db_error(&body);
                    if ends_session {
                        // No ReadyForQuery follows; the connection stays out of use.
                        return Err(error);
                    }
                    failed = Some(error);
                }
                backend::Message::ReadyForQuery(_) => break,
                backend::Message::BindComplete
                | backend::Message::CommandComplete(_)
                | backend::Message::EmptyQueryResponse
                | backend::Message::NoData
                | backend::Message::NoticeResponse(_)
                | backend::Message::ParameterStatus(_)
                | backend::Message::NotificationResponse(_) => {}
                _ => return Err(protocol("an unexpected message in a query's reply")),
            }
        }
        self.pending = false;
        match (failed, rows) {
            (Some(e), _) => Err(e),
            (None, 0 | 1) => Ok(row),
            (None, n) => Err(protocol(format!("{n} rows where at most one was expected"))),
        }
    }

    /// Writes what is in the write buffer.
    async fn flush(&mut self) -> io::Result<()> {
        self.stream.write_all(&self.write).await?;
        self.write.clear();
        Ok(())
    }

    /// Reads the next whole message.
    async fn message(&mut self) -> Result<backend::Message, WireError> {
        loop {
            if let Some(message) = backend::Message::parse(&mut self.read)? {
                return Ok(message);
            }
            // Each message parsed is split off the front, so the buffer's room shrinks;
            // make room again (reusing the space when no message still holds it) rather
            // than read a reply in small pieces.
            if self.read.capacity() - self.read.len() < READ_ROOM / 2 {
                self.read.reserve(READ_ROOM);
            }
            if self.stream.read_buf(&mut self.read).await? == 0 {
                return Err(WireError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection",
                )));
            }
        }
    }

    /// Refuses a request on a connection whose last request was abandoned: its reply would
    /// be read as this one's.
    fn in_step(&self) -> Result<(), WireError> {
        if self.out_of_step() {
            return Err(WireError::Io(io::Error::other(
                "the connection's last request was abandoned; its reply is still due",
            )));
        }
        Ok(())
    }

    /// A request went out whose reply was not read to its end, or bytes came unasked for.
    fn out_of_step(&self) -> bool {
        self.pending || !self.read.is_empty()
    }
}

impl Reusable for Wire {
    /// Every reply was read, nothing unasked-for arrived (a server shutting down sends an
    /// error before it closes), and the server has not closed the connection as far as the
    /// runtime has seen. Costs no system call unless the socket was reported readable.
    fn usable(&self) -> bool {
        if self.out_of_step() {
            return false;
        }
        let mut byte = [0u8; 1];
        matches!(self.stream.try_read(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

/// `sb{index}` written into `buf`, without allocating.
fn statement_name(index: usize, buf: &mut [u8; 8]) -> &str {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(index).as_bytes();
    let len = 2 + digits.len().min(6);
    buf[..2].copy_from_slice(b"sb");
    buf[2..len].copy_from_slice(&digits[..len - 2]);
    std::str::from_utf8(&buf[..len]).unwrap_or("sb")
}

/// The SQLSTATE and the message of an ErrorResponse (with its detail and hint), and
/// whether it ends the session (FATAL, PANIC).
fn db_error(body: &backend::ErrorResponseBody) -> (WireError, bool) {
    let (mut code, mut severity, mut untranslated) = (String::new(), String::new(), None);
    let (mut message, mut detail, mut hint) = (String::new(), None, None);
    let mut fields = body.fields();
    while let Ok(Some(field)) = fields.next() {
        let value = String::from_utf8_lossy(field.value_bytes()).into_owned();
        match field.type_() {
            b'C' => code = value,
            b'S' => severity = value,
            b'V' => untranslated = Some(value),
            b'M' => message = value,
            b'D' => detail = Some(value),
            b'H' => hint = Some(value),
            _ => {}
        }
    }
    let ends_session = matches!(
        untranslated.as_deref().unwrap_or(&severity),
        "FATAL" | "PANIC"
    );
    let mut text = format!("{severity}: {message}");
    for (label, part) in [("DETAIL", detail), ("HINT", hint)] {
        if let Some(part) = part {
            text.push_str(&format!("; {label}: {part}"));
        }
    }
    (
        WireError::Db {
            code,
            message: text,
        },
        ends_session,
    )
}

/// Why `config` cannot be served by [`Wire`] connections, if it cannot: a socket instead of
/// TCP, or a choice of server by its state (`target_session_attrs`) or at random
/// (`load_balance_hosts`), which tokio-postgres makes for the setup connection and these
/// connections would not.
pub fn supported(config: &tokio_postgres::Config) -> Result<(), String> {
    #[cfg(unix)]
    if let Some(Host::Unix(path)) = (config.get_hosts().iter()).find(|h| matches!(h, Host::Unix(_)))
    {
        return Err(format!(
            "the postgres adapter connects over TCP only, not to the socket in {}",
            path.display()
        ));
    }
    if config.get_target_session_attrs() != tokio_postgres::config::TargetSessionAttrs::Any {
        return Err(
            "the postgres adapter does not choose a server by target_session_attrs: \
                    name the one to use"
                .to_owned(),
        );
    }
    if config.get_load_balance_hosts() != tokio_postgres::config::LoadBalanceHosts::Disable {
        return Err("the postgres adapter does not balance between hosts \
                    (load_balance_hosts): name the one to use"
            .to_owned());
    }
    if config.get_user().is_none() {
        return Err("the postgres adapter's connections need the user named".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use bytes::BufMut;
    use std::time::Duration;
    use tokio::net::TcpListener;

    #[test]
    fn statement_names_are_sb_and_the_index() {
        let mut buf = [0u8; 8];
        assert_eq!(statement_name(0, &mut buf), "sb0");
        assert_eq!(statement_name(3, &mut buf), "sb3");
        assert_eq!(statement_name(123_456, &mut buf), "sb123456");
    }

    /// A backend message: its tag, then its length and `body`.
    fn message(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        out.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    fn auth(code: u32, extra: &[u8]) -> Vec<u8> {
        let mut body = code.to_be_bytes().to_vec();
        body.extend_from_slice(extra);
        message(b'R', &body)
    }

    fn ready() -> Vec<u8> {
        message(b'Z', b"I")
    }

    fn error(code: &str, text: &str) -> Vec<u8> {
        error_of("ERROR", code, text)
    }

    fn error_of(severity: &str, code: &str, text: &str) -> Vec<u8> {
        let mut body = Vec::new();
        for (field, value) in [
            (b'S', severity),
            (b'V', severity),
            (b'C', code),
            (b'M', text),
        ] {
            body.push(field);
            body.extend_from_slice(value.as_bytes());
            body.push(0);
        }
        body.push(0);
        message(b'E', &body)
    }

    /// A DataRow of `bytea`, `bigint`.
    fn row(value: &[u8], version: i64) -> Vec<u8> {
        let mut body = BytesMut::new();
        body.put_u16(2);
        body.put_i32(i32::try_from(value.len()).unwrap());
        body.put_slice(value);
        body.put_i32(8);
        body.put_i64(version);
        message(b'D', &body)
    }

    /// Reads one frontend message (the startup message has no tag): its tag and body.
    async fn read_message(stream: &mut TcpStream, tagged: bool) -> (u8, Vec<u8>) {
        let tag = if tagged {
            stream.read_u8().await.unwrap()
        } else {
            0
        };
        let len = stream.read_u32().await.unwrap() as usize;
        let mut body = vec![0; len - 4];
        stream.read_exact(&mut body).await.unwrap();
        (tag, body)
    }

    /// Reads frontend messages up to and including Sync; their tags.
    async fn read_to_sync(stream: &mut TcpStream) -> Vec<u8> {
        let mut tags = Vec::new();
        loop {
            let (tag, _) = read_message(stream, true).await;
            tags.push(tag);
            if tag == b'S' {
                return tags;
            }
        }
    }

    /// A server on loopback that runs `script` on the first connection; and a config for
    /// it with `password`.
    async fn fake<F, Fut>(password: Option<&str>, script: F) -> tokio_postgres::Config
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            script(stream).await;
        });
        let mut config = tokio_postgres::Config::new();
        config.host("127.0.0.1").port(port).user("md5_user");
        if let Some(password) = password {
            config.password(password);
        }
        config
    }

    #[tokio::test]
    async fn md5_and_cleartext_passwords_are_answered_as_the_protocol_says() {
        // The md5 vector from postgres-protocol's own test.
        let config = fake(Some("password"), async |mut s| {
            let (_, startup) = read_message(&mut s, false).await;
            assert!(
                startup
                    .windows(b"application_name\0statebench\0".len())
                    .any(|w| w == b"application_name\0statebench\0")
            );
            s.write_all(&auth(5, &[0x2a, 0x3d, 0x8f, 0xe0]))
                .await
                .unwrap();
            let (tag, body) = read_message(&mut s, true).await;
            assert_eq!(
                (tag, body.as_slice()),
                (b'p', &b"md562af4dd09bbb41884907a838a3233294\0"[..])
            );
            s.write_all(&[auth(0, &[]), ready()].concat())
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        })
        .await;
        let conn = Wire::open(&config).await.unwrap();
        assert!(conn.usable());

        let config = fake(Some("sesame"), async |mut s| {
            read_message(&mut s, false).await;
            s.write_all(&auth(3, &[])).await.unwrap();
            let (tag, body) = read_message(&mut s, true).await;
            assert_eq!((tag, body.as_slice()), (b'p', &b"sesame\0"[..]));
            s.write_all(&[auth(0, &[]), ready()].concat())
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        })
        .await;
        Wire::open(&config).await.unwrap();
    }

    #[tokio::test]
    async fn a_missing_password_or_an_unknown_authentication_is_a_clear_error() {
        let config = fake(None, async |mut s| {
            read_message(&mut s, false).await;
            s.write_all(&auth(3, &[])).await.unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        })
        .await;
        let e = Wire::open(&config).await.err().unwrap().to_string();
        assert!(
            e.contains("asks for a password and the URL has none"),
            "{e}"
        );

        // GSSAPI.
        let config = fake(Some("x"), async |mut s| {
            read_message(&mut s, false).await;
            s.write_all(&auth(7, &[])).await.unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        })
        .await;
        let e = Wire::open(&config).await.err().unwrap().to_string();
        assert!(e.contains("password, md5 and SCRAM-SHA-256"), "{e}");

        // Refused with a server error: its SQLSTATE decides the class.
        let config = fake(Some("x"), async |mut s| {
            read_message(&mut s, false).await;
            s.write_all(&error("28P01", "password authentication failed"))
                .await
                .unwrap();
        })
        .await;
        let e = Wire::open(&config).await.err().unwrap();
        assert!(
            e.to_string()
                .contains("password authentication failed (SQLSTATE 28P01)"),
            "{e}"
        );
        assert_eq!(e.classify::<String>().kind(), ErrorKind::Fatal);
    }

    /// A connection to a fake server that accepts it and then answers each request (up to
    /// Sync) with the next of `replies`, sending back each request's message tags; after
    /// the last it keeps the connection open for `then` and closes it.
    async fn scripted_for(
        replies: Vec<Vec<u8>>,
        then: Duration,
    ) -> (Wire, tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) {
        let (tags, seen) = tokio::sync::mpsc::unbounded_channel();
        let config = fake(Some("x"), async move |mut s| {
            read_message(&mut s, false).await;
            s.write_all(&[auth(0, &[]), ready()].concat())
                .await
                .unwrap();
            for reply in replies {
                tags.send(read_to_sync(&mut s).await).unwrap();
                s.write_all(&reply).await.unwrap();
            }
            tokio::time::sleep(then).await;
        })
        .await;
        (Wire::open(&config).await.unwrap(), seen)
    }

    /// [`scripted_for`] 5 s.
    async fn scripted(
        replies: Vec<Vec<u8>>,
    ) -> (Wire, tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) {
        scripted_for(replies, Duration::from_secs(5)).await
    }

    #[tokio::test]
    async fn a_statement_is_parsed_once_and_errors_keep_their_class_and_the_connection() {
        let bind = [b'2'].map(|t| message(t, b"")).concat();
        let parsed = [message(b'1', b""), bind.clone()].concat();
        let done = message(b'C', b"SELECT 1\0");
        let (mut conn, mut seen) = scripted(vec![
            // A Parse that fails: the statement is not prepared.
            [error("42P01", "relation does not exist"), ready()].concat(),
            [parsed.clone(), row(b"v", 7), done.clone(), ready()].concat(),
            [bind.clone(), row(b"w", 8), done.clone(), ready()].concat(),
            [bind.clone(), error("40001", "could not serialize"), ready()].concat(),
            [bind.clone(), error("57014", "canceling statement"), ready()].concat(),
            [bind.clone(), message(b'C', b"SELECT 0\0"), ready()].concat(),
            [bind.clone(), row(b"a", 1), row(b"b", 2), done, ready()].concat(),
        ])
        .await;
        let get = async |conn: &mut Wire| conn.query_opt("SELECT", &[Param::Text("k")]).await;

        let e = get(&mut conn).await.err().unwrap();
        assert_eq!(e.classify::<String>().kind(), ErrorKind::Fatal, "{e}");
        assert_eq!(seen.recv().await.unwrap(), b"PBES");
        let row = get(&mut conn).await.unwrap().unwrap();
        assert_eq!(
            (&row.bytea(0).unwrap()[..], row.int8(1).unwrap()),
            (&b"v"[..], 7)
        );
        assert_eq!(
            seen.recv().await.unwrap(),
            b"PBES",
            "parsed again after a failed Parse"
        );
        let row = get(&mut conn).await.unwrap().unwrap();
        assert_eq!(
            (&row.bytea(0).unwrap()[..], row.int8(1).unwrap()),
            (&b"w"[..], 8)
        );
        assert_eq!(seen.recv().await.unwrap(), b"BES", "no second Parse");
        assert!(row.bool(1).is_err(), "a bigint is not a boolean");

        let e = get(&mut conn).await.err().unwrap();
        assert!(
            matches!(
                e.classify::<String>(),
                StoreError::Conflict { actual: None }
            ),
            "{e}"
        );
        let e = get(&mut conn).await.err().unwrap();
        assert_eq!(e.classify::<String>().kind(), ErrorKind::Indefinite, "{e}");
        assert!(e.to_string().contains("(SQLSTATE 57014)"), "{e}");
        assert!(
            conn.usable(),
            "a server error leaves the connection in step"
        );
        assert!(get(&mut conn).await.unwrap().is_none());
        let e = get(&mut conn).await.err().unwrap();
        assert!(e.to_string().contains("2 rows where at most one"), "{e}");
        assert!(conn.usable());
    }

    #[tokio::test]
    async fn an_abandoned_request_takes_its_connection_out_of_use() {
        // The server never answers the request.
        let (mut conn, mut seen) = scripted(vec![Vec::new()]).await;
        let gave_up = tokio::time::timeout(
            Duration::from_millis(200),
            conn.query_opt("SELECT", &[Param::Int8(1)]),
        )
        .await;
        assert!(gave_up.is_err());
        assert_eq!(seen.recv().await.unwrap(), b"PBES");
        assert!(!conn.usable());
        let e = conn.query_opt("SELECT", &[]).await.err().unwrap();
        assert!(e.to_string().contains("abandoned"), "{e}");
        assert_eq!(e.classify::<String>().kind(), ErrorKind::Indefinite);
    }

    #[tokio::test]
    async fn a_close_by_the_server_is_seen_before_reuse() {
        let (conn, _seen) = scripted(Vec::new()).await;
        // The script ends after 5 s; wait for the close within that bound.
        let start = std::time::Instant::now();
        while conn.usable() && start.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(!conn.usable());
    }

    #[tokio::test]
    async fn an_error_that_ends_the_session_is_the_answer_not_the_close() {
        for (code, kind) in [
            ("57P01", ErrorKind::Indefinite),
            ("40001", ErrorKind::Definite),
        ] {
            // FATAL, then the server closes: no ReadyForQuery.
            let reply = [message(b'2', b""), error_of("FATAL", code, "terminating")].concat();
            let (mut conn, _seen) = scripted_for(vec![reply], Duration::ZERO).await;
            let e = conn.query_opt("SELECT", &[]).await.err().unwrap();
            assert!(e.to_string().contains(&format!("(SQLSTATE {code})")), "{e}");
            assert_eq!(e.classify::<String>().kind(), kind, "{e}");
            assert!(!conn.usable(), "a session the server ended");
        }
    }

    #[tokio::test]
    async fn scram_that_ends_without_the_servers_proof_is_refused() {
        let config = fake(Some("x"), async |mut s| {
            read_message(&mut s, false).await;
            s.write_all(&auth(10, b"SCRAM-SHA-256\0\0")).await.unwrap();
            let (tag, _) = read_message(&mut s, true).await;
            assert_eq!(tag, b'p');
            s.write_all(&[auth(0, &[]), ready()].concat())
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        })
        .await;
        let e = Wire::open(&config).await.err().unwrap().to_string();
        assert!(e.contains("without its proof"), "{e}");
    }

    #[tokio::test]
    async fn a_host_that_refuses_the_session_is_passed_over_for_the_next() {
        let refusing = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let refusing_port = refusing.local_addr().unwrap().port();
        tokio::spawn(async move {
            for _ in 0..2 {
                let (mut s, _) = refusing.accept().await.unwrap();
                read_message(&mut s, false).await;
                let starting = error_of("FATAL", "57P03", "the database system is starting up");
                s.write_all(&starting).await.unwrap();
            }
        });
        let accepting = fake(Some("x"), async |mut s| {
            read_message(&mut s, false).await;
            s.write_all(&[auth(0, &[]), ready()].concat())
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        })
        .await;
        let mut config = tokio_postgres::Config::new();
        config.user("u").password("x");
        config.host("127.0.0.1").port(refusing_port);
        config.host("127.0.0.1").port(accepting.get_ports()[0]);
        assert!(Wire::open(&config).await.unwrap().usable());
        // Only the refusing one: its error, with its SQLSTATE.
        let mut only = tokio_postgres::Config::new();
        only.user("u").host("127.0.0.1").port(refusing_port);
        let e = Wire::open(&only).await.err().unwrap().to_string();
        assert!(e.contains("(SQLSTATE 57P03)"), "{e}");
    }

    #[test]
    fn settings_these_connections_cannot_honour_are_refused() {
        let parse = |url: &str| url.parse::<tokio_postgres::Config>().unwrap();
        assert_eq!(supported(&parse("postgres://u@h:5432/db")), Ok(()));
        for (url, says) in [
            ("postgres://u@%2Ftmp/db", "TCP only"),
            (
                "postgres://u@a,b/db?target_session_attrs=read-write",
                "target_session_attrs",
            ),
            (
                "postgres://u@a,b/db?load_balance_hosts=random",
                "load_balance_hosts",
            ),
            ("postgres://h/db", "user"),
        ] {
            let refused = supported(&parse(url)).unwrap_err();
            assert!(refused.contains(says), "{url}: {refused}");
        }
    }
}
