//! Faults through the provisioner, on real servers started both ways (containers of the
//! locally built images, native processes): pause, kill and restart a server under an
//! adapter, see what the adapter reports and what survived, and that shutdown leaves
//! nothing behind, also while the server is paused or down.
//!
//! Without Docker images or server binaries these tests skip, loudly; under `CI=true` a
//! missing server is a failure. They run one at a time: they time faults, and each checks
//! what this test process left behind.

mod support;

use bytes::Bytes;
use statebench::provision::{Backend, FaultError, Persistence, Server, ServerState};
use statebench_adapters::jetstream::JetStream;
use statebench_adapters::postgres::Postgres;
use statebench_adapters::redis::RedisStore;
use statebench_adapters::{
    Adapter, ErrorKind, EventData, EventError, EventStore, Expect, ExpectRevision, ReadFrom,
    Revision, StateError, StateStore,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use support::faults::{
    Traces, WRITERS, WRITES_PER_WRITER, assert_indefinite, bytes, eventually, failing, with_server,
    write_until_killed,
};

/// Acknowledged writes before the kill.
const BEFORE_KILL: usize = 300;

async fn redis_pause_kill_restart(server: Server) {
    let faults = server.faults();
    let mut traces = Traces::default();
    traces.note();
    let store = RedisStore::connect(&server.url, 16).await.unwrap();
    store
        .put("before", bytes("kept"), Expect::Any)
        .await
        .unwrap();

    faults.pause().await.unwrap();
    assert_eq!(faults.state().await, ServerState::Paused);
    let (e, took) = failing(store.put("while-paused", bytes("maybe"), Expect::Any)).await;
    assert!(
        matches!(e, StateError::Timeout(_)),
        "a paused server times out: {e:?}"
    );
    eprintln!("redis paused: a write timed out after {took:?}");
    faults.resume().await.unwrap();
    let kept = eventually("a read after resume", || store.get("before")).await;
    assert_eq!(kept.map(|v| v.value), Some(bytes("kept")));

    faults.kill().await.unwrap();
    assert_eq!(faults.state().await, ServerState::Down);
    let (e, took) = failing(store.put("while-down", bytes("lost"), Expect::Any)).await;
    assert_eq!(e.kind(), ErrorKind::Indefinite, "{e:?}");
    eprintln!("redis killed: a write failed after {took:?}: {e}");
    faults
        .kill()
        .await
        .expect("killing a server that is down does nothing");
    let refused = faults.pause().await.unwrap_err();
    assert!(matches!(refused, FaultError::Refused(_)), "{refused:?}");

    faults.restart().await.unwrap();
    assert_eq!(faults.state().await, ServerState::Running);
    traces.note();
    // The same connection manager reconnects to the same URL; the append-only file kept
    // the write acknowledged before the pause.
    let kept = eventually("a read after restart", || store.get("before")).await;
    assert_eq!(kept.map(|v| v.value), Some(bytes("kept")));
    store.put("after", bytes("new"), Expect::Any).await.unwrap();
    let refused = faults.restart().await.unwrap_err();
    assert!(matches!(refused, FaultError::Refused(_)), "{refused:?}");

    // Shut down while paused.
    faults.pause().await.unwrap();
    let start = Instant::now();
    server.shutdown().await;
    eprintln!("redis removed while paused in {:?}", start.elapsed());
    assert_eq!(faults.state().await, ServerState::Removed);
    assert!(matches!(faults.resume().await, Err(FaultError::Refused(_))));
    traces.assert_gone();
}

#[test]
fn redis_on_docker_times_out_when_paused_and_reconnects_after_a_restart() {
    with_server(
        Backend::Redis,
        "docker",
        Persistence::Durable,
        redis_pause_kill_restart,
    );
}

#[test]
fn redis_native_times_out_when_paused_and_reconnects_after_a_restart() {
    with_server(
        Backend::Redis,
        "native",
        Persistence::Durable,
        redis_pause_kill_restart,
    );
}

async fn postgres_kill_restart(server: Server) {
    let faults = server.faults();
    let mut traces = Traces::default();
    traces.note();
    let pg = Arc::new(Postgres::connect(&server.url).await.unwrap());
    let settings = &pg.descriptor().settings;
    for (name, value) in [("fsync", "on"), ("synchronous_commit", "on")] {
        assert_eq!(
            settings.get(name).map(String::as_str),
            Some(value),
            "{name}"
        );
    }
    let store = pg.clone();
    let (acked, errors) = write_until_killed(&faults, BEFORE_KILL, move |w, n| {
        let store = store.clone();
        async move {
            let (key, value) = (format!("w{w}-{n}"), format!("v{w}-{n}"));
            store.put(&key, bytes(&value), Expect::Absent).await?;
            Ok::<_, StateError>((key, value))
        }
    })
    .await;
    assert_indefinite(&errors);

    faults.restart().await.unwrap();
    traces.note();
    let (first, _) = &acked[0];
    eventually("the pool after a restart", || pg.get(first)).await;
    let mut lost = Vec::new();
    for (key, value) in &acked {
        let found = pg.get(key).await.unwrap().map(|v| v.value);
        if found != Some(bytes(value)) {
            lost.push(key);
        }
    }
    eprintln!(
        "postgres: {} writes acknowledged before SIGKILL, {} lost",
        acked.len(),
        lost.len()
    );
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");

    // A clean stop keeps the data for a restart too.
    faults.stop().await.unwrap();
    faults.restart().await.unwrap();
    traces.note();
    let found = eventually("a read after a clean restart", || pg.get(first)).await;
    assert!(found.is_some());
    server.shutdown().await;
    traces.assert_gone();
}

#[test]
fn postgres_on_docker_keeps_every_acknowledged_write_through_a_kill() {
    with_server(
        Backend::Postgres,
        "docker",
        Persistence::Durable,
        postgres_kill_restart,
    );
}

#[test]
fn postgres_native_keeps_every_acknowledged_write_through_a_kill() {
    with_server(
        Backend::Postgres,
        "native",
        Persistence::Durable,
        postgres_kill_restart,
    );
}

async fn jetstream_kill_restart(server: Server) {
    let faults = server.faults();
    let mut traces = Traces::default();
    traces.note();
    let js = Arc::new(JetStream::connect(&server.url).await.unwrap());
    let store = js.clone();
    let (acked, errors) = write_until_killed(&faults, BEFORE_KILL, move |w, n| {
        let store = store.clone();
        async move {
            let event = EventData {
                id: None,
                event_type: "Written".into(),
                data: bytes(&format!("e{w}-{n}")),
            };
            let stream = format!("s{w}");
            let done = store.append(&stream, vec![event.clone()], ExpectRevision::Any);
            Ok::<_, EventError>((w, done.await?.last, event.data))
        }
    })
    .await;
    assert_indefinite(&errors);

    faults.restart().await.unwrap();
    traces.note();
    let mut lost = 0;
    for w in 0..WRITERS {
        let stream = format!("s{w}");
        let read = eventually("a read after restart", || {
            js.read(&stream, ReadFrom::Start, WRITES_PER_WRITER * 2)
        })
        .await;
        let found: BTreeMap<Revision, Bytes> =
            read.into_iter().map(|e| (e.revision, e.data)).collect();
        lost += acked
            .iter()
            .filter(|(writer, revision, data)| *writer == w && found.get(revision) != Some(data))
            .count();
    }
    eprintln!(
        "jetstream: {} appends acknowledged before SIGKILL, {lost} lost",
        acked.len()
    );
    assert_eq!(lost, 0, "acknowledged appends lost");

    // Shut down while down.
    faults.kill().await.unwrap();
    server.shutdown().await;
    traces.assert_gone();
}

#[test]
fn jetstream_on_docker_keeps_acknowledged_appends_through_a_kill() {
    with_server(
        Backend::Nats,
        "docker",
        Persistence::Durable,
        jetstream_kill_restart,
    );
}

#[test]
fn jetstream_native_keeps_acknowledged_appends_through_a_kill() {
    with_server(
        Backend::Nats,
        "native",
        Persistence::Durable,
        jetstream_kill_restart,
    );
}
