//! The proxy: a listener on `127.0.0.1`, one [link](super::link) per client connection, and
//! the faults in force, shared by every link and switched from any task.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

/// Connections one proxy keeps open at most; more are reset at once (a bound on memory: each
/// link holds up to 512 KiB per direction).
pub const MAX_CONNECTIONS: usize = 1024;

/// How long the accept loop pauses after a failed accept (out of file descriptors, say).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Why a proxy could not start, or a backend URL cannot go through one.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// No loopback port to listen on.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Listen(#[source] std::io::Error),
    /// The URL does not name a host and port the proxy can stand in for.
    #[error("backend URL `{url}` cannot go through a proxy: {reason}")]
    BadUrl {
        /// The URL, with its password hidden.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The URL's host name does not resolve.
    #[error("cannot resolve `{host}`: {reason}")]
    Resolve {
        /// The host name.
        host: String,
        /// What the resolver said.
        reason: String,
    },
}

/// The faults in force, as the history records them (`healthy`, `latency 50ms`, `stalled`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultState {
    /// Added to every chunk in each direction.
    pub latency: Duration,
    /// No byte moves in either direction.
    pub stalled: bool,
}

impl FaultState {
    /// No fault in force.
    pub fn is_healthy(&self) -> bool {
        *self == Self::default()
    }
}

impl fmt::Display for FaultState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.latency.is_zero(), self.stalled) {
            (true, false) => f.write_str("healthy"),
            (true, true) => f.write_str("stalled"),
            (false, false) => write!(f, "latency {:?}", self.latency),
            (false, true) => write!(f, "latency {:?}, stalled", self.latency),
        }
    }
}

/// What a proxy has done since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Client connections accepted.
    pub accepted: u64,
    /// Connections closed by [`Proxy::reset`].
    pub reset: u64,
    /// Client connections closed because the upstream could not be reached.
    pub upstream_errors: u64,
    /// Bytes delivered from clients to the upstream.
    pub to_upstream_bytes: u64,
    /// Bytes delivered from the upstream to clients.
    pub to_client_bytes: u64,
}

/// The faults every link obeys; `resets` counts [`Proxy::reset`] calls, so a link knows that
/// one came after it was accepted.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Control {
    pub(super) faults: FaultState,
    pub(super) resets: u64,
}

/// What the proxy handle, its accept loop and its links share.
#[derive(Default)]
pub(super) struct Shared {
    pub(super) control: watch::Sender<Control>,
    pub(super) accepted: AtomicU64,
    pub(super) reset: AtomicU64,
    pub(super) upstream_errors: AtomicU64,
    pub(super) to_upstream_bytes: AtomicU64,
    pub(super) to_client_bytes: AtomicU64,
}

impl Shared {
    pub(super) fn count(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// A TCP proxy on loopback in front of one upstream server, with faults switched at run time.
/// Dropping it (or [`stop`](Self::stop)) closes the listener and every connection.
pub struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
    accept: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on a free port of `127.0.0.1` and forwards every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Result<Self, ProxyError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(ProxyError::Listen)?;
        let addr = listener.local_addr().map_err(ProxyError::Listen)?;
        let shared = Arc::new(Shared::default());
        let stop = CancellationToken::new();
        let accept = tokio::spawn(accept_loop(
            listener,
            upstream,
            Arc::clone(&shared),
            stop.clone(),
        ));
        Ok(Self {
            addr,
            upstream,
            shared,
            stop,
            accept: Some(accept),
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the proxy forwards to.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// Delays every chunk in each direction by `latency` after it arrived, in order;
    /// `Duration::ZERO` removes the delay.
    pub fn set_latency(&self, latency: Duration) {
        self.shared
            .control
            .send_modify(|c| c.faults.latency = latency);
    }

    /// Holds every byte in either direction, on open and new connections, until
    /// [`heal`](Self::heal); nothing held is lost.
    pub fn stall(&self) {
        self.shared.control.send_modify(|c| c.faults.stalled = true);
    }

    /// Removes latency and stall.
    pub fn heal(&self) {
        self.shared
            .control
            .send_modify(|c| c.faults = FaultState::default());
    }

    /// Closes every open connection abruptly: a TCP RST to the client, a close to the
    /// upstream. Later connections work as before.
    pub fn reset(&self) {
        self.shared.control.send_modify(|c| c.resets += 1);
    }

    /// The faults in force.
    pub fn state(&self) -> FaultState {
        self.shared.control.borrow().faults
    }

    /// What the proxy has done so far.
    pub fn stats(&self) -> ProxyStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ProxyStats {
            accepted: read(&self.shared.accepted),
            reset: read(&self.shared.reset),
            upstream_errors: read(&self.shared.upstream_errors),
            to_upstream_bytes: read(&self.shared.to_upstream_bytes),
            to_client_bytes: read(&self.shared.to_client_bytes),
        }
    }

    /// Closes the listener and every connection, and returns once they are closed.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(accept) = self.accept.take() {
            let _ = accept.await;
        }
    }
}

impl Drop for Proxy {
    /// Aborting the accept loop drops its set of links, which aborts each of them.
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
    }
}

/// Accepts clients until `stop`, one link task each; on `stop`, ends every link and closes
/// the listener.
async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    let mut links = JoinSet::new();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            Some(_) = links.join_next(), if !links.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => admit(&mut links, client, upstream, &shared),
                Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
            },
        }
    }
    drop(listener);
    links.shutdown().await;
}

/// Starts a link for `client`, or resets it when the proxy is full.
fn admit(links: &mut JoinSet<()>, client: TcpStream, upstream: SocketAddr, shared: &Arc<Shared>) {
    if links.len() >= MAX_CONNECTIONS {
        let _ = client.set_zero_linger();
        return;
    }
    Shared::count(&shared.accepted, 1);
    // Read now, not in the task: a reset ordered after this accept must reach this link.
    let epoch = shared.control.borrow().resets;
    links.spawn(super::link::serve(
        client,
        upstream,
        Arc::clone(shared),
        epoch,
    ));
}
