//! Real clients through the fault proxy, on native servers the harness starts: the redis
//! adapter reports a stall as indefinite within its operation timeout and works again after
//! heal and after a reset; the postgres adapter does too, never reusing the connection of a
//! request it gave up on, and its pool recovers from a reset.
//!
//! Without the server binaries these tests skip, loudly; under `CI=true` that is a failure.

mod support;

use bytes::Bytes;
use statebench::faults::{Proxy, upstream_of, via_proxy};
use statebench::provision::{Backend, Mode, Server, Settings, provide};
use statebench_adapters::connect::OPERATION_TIMEOUT;
use statebench_adapters::postgres::Postgres;
use statebench_adapters::redis::RedisStore;
use statebench_adapters::{ErrorKind, Expect, StateError, StateStore};
use std::time::{Duration, Instant};

/// A server may take this long to start (PostgreSQL runs initdb first).
const START_LIMIT: Duration = Duration::from_secs(180);
/// An adapter must work again within this after heal or reset.
const RECOVERY_LIMIT: Duration = Duration::from_secs(30);

/// A native server of `backend`, or `None` (said loudly) where it is not installed.
async fn native(backend: Backend) -> Option<Server> {
    let program = match backend {
        Backend::Postgres => "postgres",
        Backend::Redis => "redis-server",
        other => panic!("these tests do not use {other}"),
    };
    if !support::usable_native(&[program]) {
        return None;
    }
    let settings = Settings {
        default_mode: Some(Mode::Native),
        ..Settings::default()
    };
    let started = tokio::time::timeout(START_LIMIT, provide(backend, &settings, &|_| {})).await;
    match started {
        Ok(Ok(server)) => Some(server),
        Ok(Err(e)) => panic!("cannot start a native {backend}: {e}"),
        Err(_) => panic!("{backend} did not start within {START_LIMIT:?}"),
    }
}

/// A proxy in front of `server`, and the server's URL through it.
async fn proxied(server: &Server) -> (Proxy, String) {
    let proxy = Proxy::start(upstream_of(&server.url).unwrap())
        .await
        .unwrap();
    let url = via_proxy(&server.url, proxy.addr()).unwrap();
    (proxy, url)
}

async fn put(store: &dyn StateStore, key: &str, value: &'static str) -> Result<(), StateError> {
    store
        .put(key, Bytes::from_static(value.as_bytes()), Expect::Any)
        .await
        .map(drop)
}

async fn value(store: &dyn StateStore, key: &str) -> Option<Bytes> {
    let read = tokio::time::timeout(RECOVERY_LIMIT, store.get(key)).await;
    read.expect("a read hung")
        .expect("a read failed")
        .map(|v| v.value)
}

/// Retries `op` until it succeeds, for at most [`RECOVERY_LIMIT`]; every failure on the way
/// must be indefinite. Returns how many failed and how long it took.
async fn until_ok<F: Future<Output = Result<(), StateError>>>(
    what: &str,
    mut op: impl FnMut() -> F,
) -> (u32, Duration) {
    let start = Instant::now();
    let mut failures = 0;
    while start.elapsed() < RECOVERY_LIMIT {
        match tokio::time::timeout(RECOVERY_LIMIT, op()).await {
            Ok(Ok(())) => return (failures, start.elapsed()),
            Ok(Err(e)) => {
                assert_eq!(e.kind(), ErrorKind::Indefinite, "{what}: {e}");
                eprintln!("{what}: failed after {:?}: {e}", start.elapsed());
                failures += 1;
            }
            Err(_) => failures += 1,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what}: still failing after {RECOVERY_LIMIT:?} ({failures} failures)");
}

/// The median time of a small read, in microseconds.
async fn median_get_us(store: &dyn StateStore) -> u128 {
    let mut times = Vec::new();
    for _ in 0..200 {
        let start = Instant::now();
        store.get("k").await.unwrap();
        times.push(start.elapsed().as_micros());
    }
    times.sort_unstable();
    times[times.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_adapter_rides_out_latency_a_stall_and_a_reset_through_the_proxy() {
    let Some(server) = native(Backend::Redis).await else {
        return;
    };
    let (proxy, url) = proxied(&server).await;
    let store = RedisStore::connect(&url, 16).await.unwrap();
    put(&store, "k", "v1").await.unwrap();
    assert_eq!(value(&store, "k").await.as_deref(), Some(&b"v1"[..]));
    let direct = RedisStore::connect(&server.url, 16).await.unwrap();
    let (direct_us, proxied_us) = (median_get_us(&direct).await, median_get_us(&store).await);
    eprintln!("redis get, median: direct {direct_us} us, through the proxy {proxied_us} us");

    a_get_feels_the_latency(&proxy, &store).await;

    stalled_write_is_indefinite_and_lands_after_heal(&proxy, &store).await;

    proxy.reset();
    let (failures, took) = until_ok("a put after a reset", || put(&store, "k", "v3")).await;
    eprintln!("redis after reset: a put succeeded after {failures} failures in {took:?}");
    assert_eq!(value(&store, "k").await.as_deref(), Some(&b"v3"[..]));
    let stats = proxy.stats();
    assert!(stats.reset >= 1 && stats.accepted >= 2, "{stats:?}");
    drop((store, direct));
    proxy.stop().await;
    server.shutdown().await;
}

/// With 50 ms of latency each way, a get of `k` (`v1`) takes at least 100 ms.
async fn a_get_feels_the_latency(proxy: &Proxy, store: &dyn StateStore) {
    let latency = Duration::from_millis(50);
    proxy.set_latency(latency);
    let start = Instant::now();
    assert_eq!(value(store, "k").await.as_deref(), Some(&b"v1"[..]));
    assert!(
        start.elapsed() >= 2 * latency,
        "a get took {:?}",
        start.elapsed()
    );
    proxy.heal();
}

/// Under a stall a put fails as indefinite within the operation timeout; the request was
/// held in the proxy, not lost, so after heal it reaches the server before the next read.
async fn stalled_write_is_indefinite_and_lands_after_heal(proxy: &Proxy, store: &RedisStore) {
    stalled_put_is_indefinite(proxy, store, "redis").await;
    proxy.heal();
    let start = Instant::now();
    assert_eq!(value(store, "k").await.as_deref(), Some(&b"v2"[..]));
    eprintln!("redis after heal: a get answered in {:?}", start.elapsed());
}

/// Under a stall a put of `v2` to `k` fails as indefinite within the operation timeout.
async fn stalled_put_is_indefinite(proxy: &Proxy, store: &dyn StateStore, name: &str) {
    proxy.stall();
    let start = Instant::now();
    let limit = OPERATION_TIMEOUT * 2;
    let stalled = tokio::time::timeout(limit, put(store, "k", "v2")).await;
    let took = start.elapsed();
    let error = stalled
        .unwrap_or_else(|_| panic!("a put under a stall did not fail within {limit:?}"))
        .expect_err("a put succeeded through a stalled proxy");
    assert_eq!(error.kind(), ErrorKind::Indefinite, "{error}");
    eprintln!("{name} under stall: indefinite after {took:?}: {error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_adapter_rides_out_latency_and_a_stall_through_the_proxy() {
    let Some(server) = native(Backend::Postgres).await else {
        return;
    };
    let (proxy, url) = proxied(&server).await;
    let store = Postgres::connect(&url).await.unwrap();
    put(&store, "k", "v1").await.unwrap();
    assert_eq!(value(&store, "k").await.as_deref(), Some(&b"v1"[..]));

    a_get_feels_the_latency(&proxy, &store).await;

    // The stalled put's connection is never handed out again: its reply is still due, and
    // read as the next operation's it would answer the wrong question.
    stalled_put_is_indefinite(&proxy, &store, "postgres").await;
    let accepted = proxy.stats().accepted;
    proxy.heal();
    let start = Instant::now();
    let landed = loop {
        let seen = value(&store, "k").await;
        if seen.as_deref() == Some(&b"v2"[..]) || start.elapsed() > RECOVERY_LIMIT {
            break seen;
        }
        assert_eq!(seen.as_deref(), Some(&b"v1"[..]), "neither v1 nor v2");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        landed.as_deref(),
        Some(&b"v2"[..]),
        "the stalled put never landed after heal"
    );
    eprintln!(
        "postgres after heal: the stalled put seen in {:?}",
        start.elapsed()
    );
    put(&store, "k", "v3").await.unwrap();
    assert_eq!(value(&store, "k").await.as_deref(), Some(&b"v3"[..]));
    let after = proxy.stats();
    assert!(
        after.accepted > accepted,
        "no new connection after the stall: {after:?}"
    );
    drop(store);
    proxy.stop().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_pool_recovers_from_a_reset_through_the_proxy() {
    let Some(server) = native(Backend::Postgres).await else {
        return;
    };
    let (proxy, url) = proxied(&server).await;
    let store = Postgres::connect(&url).await.unwrap();
    // Several at once, so that the pool holds more than one connection when they break.
    let (a, b, c, d) = tokio::join!(
        put(&store, "a", "v1"),
        put(&store, "b", "v1"),
        put(&store, "c", "v1"),
        put(&store, "d", "v1"),
    );
    for done in [a, b, c, d] {
        done.unwrap();
    }
    let before = proxy.stats();
    proxy.reset();
    let (failures, took) = until_ok("a put after a reset", || put(&store, "a", "v2")).await;
    eprintln!("postgres after reset: a put succeeded after {failures} failures in {took:?}");
    for key in ["a", "b", "c", "d"] {
        until_ok("a read after a reset", || async {
            store.get(key).await.map(drop)
        })
        .await;
    }
    assert_eq!(value(&store, "a").await.as_deref(), Some(&b"v2"[..]));
    let after = proxy.stats();
    assert!(after.reset >= 1, "{after:?}");
    assert!(
        after.accepted > before.accepted,
        "the pool opened no new connection: {after:?}"
    );
    drop(store);
    proxy.stop().await;
    server.shutdown().await;
}
