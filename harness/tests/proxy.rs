//! The fault proxy on loopback, in front of an echo server of the test's own: bytes flow
//! unchanged and in order, latency delays them, a stall holds them, a reset breaks the
//! connections and no later one, and stopping leaves nothing open.

use statebench::faults::{FaultState, Proxy, ProxyStats};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// No step of a test may take longer.
const STEP: Duration = Duration::from_secs(20);

/// An echo server: sends back every byte, and counts the connections that ended.
struct Echo {
    addr: SocketAddr,
    closed: Arc<AtomicUsize>,
    _task: tokio::task::JoinHandle<()>,
}

impl Echo {
    /// Returns once `n` connections to the echo server have ended.
    async fn closed(&self, n: usize) {
        within("the upstream connections to end", async {
            while self.closed.load(Ordering::SeqCst) < n {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self._task.abort();
    }
}

async fn echo() -> Echo {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let closed = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&closed);
    let task = tokio::spawn(async move {
        let mut conns = JoinSet::new();
        while let Ok((mut conn, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            conns.spawn(async move {
                let (mut r, mut w) = conn.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
                counter.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    Echo {
        addr,
        closed,
        _task: task,
    }
}

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took over {STEP:?}"))
}

/// The proxy's counters once `done` holds: a counter moves just after the bytes it counts
/// went out, so the test may have read them a moment earlier.
async fn counted(proxy: &Proxy, done: impl Fn(&ProxyStats) -> bool) -> ProxyStats {
    within("the counters", async {
        loop {
            let stats = proxy.stats();
            if done(&stats) {
                return stats;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
}

/// Bytes that show any reordering, loss or duplication.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

async fn round_trip(conn: &mut TcpStream, message: &[u8]) -> Vec<u8> {
    conn.write_all(message).await.unwrap();
    let mut back = vec![0; message.len()];
    conn.read_exact(&mut back).await.unwrap();
    back
}

/// Sends `payload` and reads as much back, concurrently (so neither side's buffers fill).
async fn exchange(conn: TcpStream, payload: Vec<u8>) -> Vec<u8> {
    let (mut r, mut w) = conn.into_split();
    let len = payload.len();
    let writer = tokio::spawn(async move { w.write_all(&payload).await.map(|()| w) });
    let mut back = vec![0; len];
    r.read_exact(&mut back).await.unwrap();
    writer.await.unwrap().unwrap();
    back
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mebibyte_flows_both_ways_unchanged_on_several_connections() {
    let echo = echo().await;
    let proxy = Proxy::start(echo.addr).await.unwrap();
    let mut exchanges = JoinSet::new();
    for seed in 1..=3 {
        let conn = TcpStream::connect(proxy.addr()).await.unwrap();
        let payload = pattern(1 << 20, seed);
        exchanges.spawn(async move { (exchange(conn, payload.clone()).await, payload) });
    }
    for (back, sent) in within("three 1 MiB echoes", exchanges.join_all()).await {
        assert!(back == sent, "the echo differs from what was sent");
    }
    let stats = counted(&proxy, |s| s.to_client_bytes == 3 << 20).await;
    assert_eq!(stats.accepted, 3);
    assert_eq!(stats.to_upstream_bytes, 3 << 20);
    assert!(proxy.state().is_healthy());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_trip_takes_at_least_the_latency_each_way() {
    let echo = echo().await;
    let proxy = Proxy::start(echo.addr).await.unwrap();
    let mut conn = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(round_trip(&mut conn, b"warm").await, b"warm");
    let latency = Duration::from_millis(100);
    proxy.set_latency(latency);
    assert_eq!(proxy.state().to_string(), "latency 100ms");
    let start = Instant::now();
    assert_eq!(
        within("a delayed round trip", round_trip(&mut conn, b"ping")).await,
        b"ping"
    );
    let took = start.elapsed();
    assert!(
        took >= 2 * latency,
        "a round trip took {took:?} under {latency:?} each way"
    );
    proxy.set_latency(Duration::ZERO);
    assert!(proxy.state().is_healthy());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_chunk_overtakes_an_earlier_one_when_the_latency_drops() {
    let echo = echo().await;
    let proxy = Proxy::start(echo.addr).await.unwrap();
    proxy.set_latency(Duration::from_millis(300));
    let conn = TcpStream::connect(proxy.addr()).await.unwrap();
    let (mut r, mut w) = conn.into_split();
    let sent = pattern(64 * 1024, 7);
    let message = sent.clone();
    let writer = tokio::spawn(async move {
        for (i, piece) in message.chunks(1024).enumerate() {
            w.write_all(piece).await.unwrap();
            if i == 32 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        w
    });
    // Pieces sent later now wait less than those ahead of them: they must still queue.
    tokio::time::sleep(Duration::from_millis(100)).await;
    proxy.set_latency(Duration::ZERO);
    let mut back = vec![0; sent.len()];
    within("the echo", r.read_exact(&mut back)).await.unwrap();
    let _w = writer.await.unwrap();
    assert!(back == sent, "the echo came back out of order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_holds_every_byte_until_heal_and_loses_none() {
    let echo = echo().await;
    let proxy = Proxy::start(echo.addr).await.unwrap();
    let mut open = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(round_trip(&mut open, b"before").await, b"before");
    proxy.stall();
    assert_eq!(
        proxy.state(),
        FaultState {
            latency: Duration::ZERO,
            stalled: true
        }
    );
    let payload = pattern(256 * 1024, 3);
    let (mut r, mut w) = open.into_split();
    let sent = payload.clone();
    let writer = tokio::spawn(async move { w.write_all(&sent).await.map(|()| w) });
    let mut back = vec![0; payload.len()];
    let stalled = tokio::time::timeout(Duration::from_millis(300), r.read_exact(&mut back)).await;
    assert!(stalled.is_err(), "bytes came back through a stalled proxy");
    let mut new = TcpStream::connect(proxy.addr()).await.unwrap();
    new.write_all(b"new").await.unwrap();
    let mut three = [0; 3];
    let stalled =
        tokio::time::timeout(Duration::from_millis(300), new.read_exact(&mut three)).await;
    assert!(stalled.is_err(), "a new connection was not stalled");
    proxy.heal();
    within("the held echo", r.read_exact(&mut back))
        .await
        .unwrap();
    assert!(
        back == payload,
        "bytes held in the stall were lost or reordered"
    );
    within("the new connection's echo", new.read_exact(&mut three))
        .await
        .unwrap();
    assert_eq!(&three, b"new");
    let _w = writer.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_breaks_open_connections_with_rst_and_new_ones_work() {
    let echo = echo().await;
    let proxy = Proxy::start(echo.addr).await.unwrap();
    let mut old = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(round_trip(&mut old, b"hello").await, b"hello");
    proxy.reset();
    let mut byte = [0; 1];
    let read = within("the reset to arrive", old.read(&mut byte)).await;
    // Linux reports an RST to a blocked read as ECONNRESET, not as end of stream.
    assert_eq!(read.map_err(|e| e.kind()), Err(ErrorKind::ConnectionReset));
    echo.closed(1).await;
    let mut new = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(
        within("an echo after the reset", round_trip(&mut new, b"again")).await,
        b"again"
    );
    let stats = proxy.stats();
    assert_eq!((stats.accepted, stats.reset), (2, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_closes_the_listener_and_every_connection() {
    let echo = echo().await;
    let proxy = Proxy::start(echo.addr).await.unwrap();
    let addr = proxy.addr();
    let mut conn = TcpStream::connect(addr).await.unwrap();
    assert_eq!(round_trip(&mut conn, b"hi").await, b"hi");
    within("stop", proxy.stop()).await;
    let mut byte = [0; 1];
    assert_eq!(within("the close", conn.read(&mut byte)).await.unwrap(), 0);
    let refused = TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_proxy_closes_its_connections_too() {
    let echo = echo().await;
    let proxy = Proxy::start(echo.addr).await.unwrap();
    let addr = proxy.addr();
    let mut conn = TcpStream::connect(addr).await.unwrap();
    assert_eq!(round_trip(&mut conn, b"hi").await, b"hi");
    drop(proxy);
    let mut byte = [0; 1];
    assert_eq!(within("the close", conn.read(&mut byte)).await.unwrap(), 0);
    echo.closed(1).await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener outlived the proxy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_closes_the_client_and_is_counted() {
    let gone = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = gone.local_addr().unwrap();
    // Dropped only now, so that the proxy cannot be given the same port.
    let proxy = Proxy::start(upstream).await.unwrap();
    drop(gone);
    // The reset may come before tokio's connect reads SO_ERROR: then connect reports it.
    let outcome = within("the close", async {
        let mut conn = TcpStream::connect(proxy.addr()).await?;
        conn.read(&mut [0; 1]).await
    })
    .await;
    assert_eq!(
        outcome.map_err(|e| e.kind()),
        Err(ErrorKind::ConnectionReset)
    );
    assert_eq!(proxy.stats().upstream_errors, 1);
}

async fn median_round_trip_us(conn: &mut TcpStream) -> u128 {
    let mut times = Vec::new();
    for i in 0..500_u32 {
        let message = i.to_le_bytes();
        let start = Instant::now();
        assert_eq!(round_trip(conn, &message).await, message);
        times.push(start.elapsed().as_micros());
    }
    times.sort_unstable();
    times[times.len() / 2]
}

/// Not a bound, a measurement: the median small round trip, direct and through the proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_round_trips_through_the_proxy_are_measured_against_direct_ones() {
    let echo = echo().await;
    let proxy = Proxy::start(echo.addr).await.unwrap();
    let mut direct = TcpStream::connect(echo.addr).await.unwrap();
    direct.set_nodelay(true).unwrap();
    let mut proxied = TcpStream::connect(proxy.addr()).await.unwrap();
    proxied.set_nodelay(true).unwrap();
    let direct_us = within("direct round trips", median_round_trip_us(&mut direct)).await;
    let proxied_us = within("proxied round trips", median_round_trip_us(&mut proxied)).await;
    eprintln!(
        "median round trip of 4 bytes: direct {direct_us} us, through the proxy {proxied_us} us"
    );
    counted(&proxy, |s| s.to_client_bytes == 500 * 4).await;
}
