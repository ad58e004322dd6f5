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
use statebench::cleanup::{self, Resource};
use statebench::provision::{self, Backend, FaultError, FaultTarget, Server, ServerState};
use statebench_adapters::connect::OPERATION_TIMEOUT;
use statebench_adapters::jetstream::JetStream;
use statebench_adapters::postgres::Postgres;
use statebench_adapters::redis::RedisStore;
use statebench_adapters::{
    Adapter, ErrorKind, EventData, EventError, EventStore, Expect, ExpectRevision, ReadFrom,
    Revision, StateError, StateStore, StoreError,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Writers that run while a server is killed.
const WRITERS: usize = 4;
/// Writes each writer makes at most.
const WRITES_PER_WRITER: usize = 20_000;
/// Acknowledged writes before the kill.
const BEFORE_KILL: usize = 300;
/// How long an adapter may take to come back after a restart or a resume.
const RECONNECT: Duration = Duration::from_secs(30);
/// An operation on a paused or dead server ends within this, instead of hanging.
const GIVE_UP: Duration = Duration::from_secs(OPERATION_TIMEOUT.as_secs() + 5);

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `test` against a `backend` server provided as `mode`, when that can run here.
fn with_server<F: Future<Output = ()>>(
    backend: Backend,
    mode: &str,
    test: impl FnOnce(Server) -> F,
) {
    if !support::usable(mode) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    // A failing test still removes its server.
    let _cleanup = cleanup::OnPanic;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let settings = statebench::config::resolve(None, Some(mode))
            .unwrap()
            .provision;
        let server = provision::provide(backend, &settings, &|_| {})
            .await
            .unwrap_or_else(|e| panic!("{backend} ({mode}) did not start: {e}"));
        assert_eq!(server.info.provisioning, mode);
        test(server).await;
    });
}

/// What the harness registered for one server over its restarts: process groups and
/// directories, or containers.
#[derive(Default)]
struct Traces {
    groups: BTreeSet<u32>,
    dirs: BTreeSet<PathBuf>,
    containers: BTreeSet<String>,
}

impl Traces {
    /// Notes what is registered now, and that it is the live server.
    fn note(&mut self) {
        let live = cleanup::live();
        assert_eq!(live.len(), 1, "one server registered: {live:?}");
        for resource in live {
            match resource {
                Resource::Process { pid, dir } => {
                    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                        .unwrap_or_else(|e| panic!("the registered pid {pid} is not alive: {e}"));
                    let group = stat.rsplit(')').next().unwrap().split_whitespace().nth(2);
                    assert_eq!(
                        group,
                        Some(pid.to_string().as_str()),
                        "{pid} leads its group"
                    );
                    self.groups.insert(pid);
                    self.dirs.insert(dir);
                }
                Resource::Container(id) => {
                    self.containers.insert(id);
                }
            }
        }
    }

    /// Nothing the server ever was remains: no registration, no container with this
    /// process's label, no process in its groups or naming its directory, no directory.
    fn assert_gone(&self) {
        assert_eq!(cleanup::live(), Vec::new(), "still registered");
        support::no_containers_left(std::process::id());
        let left = support::processes_in_groups(&self.groups);
        assert!(left.is_empty(), "server processes left behind: {left:?}");
        for dir in &self.dirs {
            assert!(!dir.exists(), "{} left behind", dir.display());
            let naming = support::processes_naming(&dir.to_string_lossy());
            assert!(naming.is_empty(), "processes left behind: {naming:?}");
        }
    }
}

fn bytes(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}

/// Runs `op`, which must fail within [`GIVE_UP`]; returns its error and how long it took.
async fn failing<T: Debug, E>(op: impl Future<Output = Result<T, E>>) -> (E, Duration) {
    let start = Instant::now();
    match tokio::time::timeout(GIVE_UP, op).await {
        Ok(Ok(v)) => panic!("expected a failure, got {v:?}"),
        Ok(Err(e)) => (e, start.elapsed()),
        Err(_) => panic!("hung for over {GIVE_UP:?}"),
    }
}

/// Retries `op` until it succeeds (an adapter reconnecting), for at most [`RECONNECT`].
async fn eventually<T, E: Debug, F: Future<Output = Result<T, E>>>(
    what: &str,
    mut op: impl FnMut() -> F,
) -> T {
    let start = Instant::now();
    for attempt in 1.. {
        match tokio::time::timeout(GIVE_UP, op()).await {
            Ok(Ok(v)) => return v,
            Ok(Err(e)) if start.elapsed() > RECONNECT => {
                panic!("{what}: still failing after {attempt} attempts: {e:?}")
            }
            Err(_) => panic!("{what}: hung for over {GIVE_UP:?}"),
            Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    unreachable!("the loop returns or panics")
}

/// Writes from [`WRITERS`] tasks (`write(writer, n)`), each until its first error; kills
/// the server once [`BEFORE_KILL`] writes are acknowledged. Returns what was acknowledged
/// and the errors.
async fn write_until_killed<A, E, F, Fut>(faults: &FaultTarget, write: F) -> (Vec<A>, Vec<E>)
where
    A: Send + 'static,
    E: Send + 'static,
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<A, E>> + Send,
{
    let acked = Arc::new(AtomicUsize::new(0));
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let (write, acked) = (write.clone(), acked.clone());
        writers.spawn(async move {
            let mut done = Vec::new();
            for n in 0..WRITES_PER_WRITER {
                match write(w, n).await {
                    Ok(a) => done.push(a),
                    Err(e) => return (done, Some(e)),
                }
                acked.fetch_add(1, Ordering::Relaxed);
            }
            (done, None)
        });
    }
    let start = Instant::now();
    while acked.load(Ordering::Relaxed) < BEFORE_KILL {
        assert!(start.elapsed() < Duration::from_secs(60), "writes too slow");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    faults.kill().await.unwrap();
    assert_eq!(faults.state().await, ServerState::Down);
    let (mut all, mut errors) = (Vec::new(), Vec::new());
    while let Some(joined) = tokio::time::timeout(GIVE_UP, writers.join_next())
        .await
        .expect("writers end once the server is down")
    {
        let (done, error) = joined.unwrap();
        all.extend(done);
        errors.extend(error);
    }
    (all, errors)
}

fn assert_indefinite<T: Debug + std::fmt::Display>(errors: &[StoreError<T>]) {
    assert!(
        !errors.is_empty(),
        "writes failed once the server was killed"
    );
    for e in errors {
        assert_eq!(e.kind(), ErrorKind::Indefinite, "{e:?}");
    }
}

async fn redis_pause_kill_restart(server: Server) {
    let faults = server.faults();
    let mut traces = Traces::default();
    traces.note();
    let store = RedisStore::connect(&server.url).await.unwrap();
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
    with_server(Backend::Redis, "docker", redis_pause_kill_restart);
}

#[test]
fn redis_native_times_out_when_paused_and_reconnects_after_a_restart() {
    with_server(Backend::Redis, "native", redis_pause_kill_restart);
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
    let (acked, errors) = write_until_killed(&faults, move |w, n| {
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
    with_server(Backend::Postgres, "docker", postgres_kill_restart);
}

#[test]
fn postgres_native_keeps_every_acknowledged_write_through_a_kill() {
    with_server(Backend::Postgres, "native", postgres_kill_restart);
}

async fn jetstream_kill_restart(server: Server) {
    let faults = server.faults();
    let mut traces = Traces::default();
    traces.note();
    let js = Arc::new(JetStream::connect(&server.url).await.unwrap());
    let store = js.clone();
    let (acked, errors) = write_until_killed(&faults, move |w, n| {
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
    with_server(Backend::Nats, "docker", jetstream_kill_restart);
}

#[test]
fn jetstream_native_keeps_acknowledged_appends_through_a_kill() {
    with_server(Backend::Nats, "native", jetstream_kill_restart);
}
