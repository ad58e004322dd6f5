//! Faults on real servers: starting one for a test, writing while it is killed, waiting
//! for an adapter to reconnect, and checking that nothing of it remains.

use bytes::Bytes;
use statebench::cleanup::{self, Resource};
use statebench::provision::{self, Backend, FaultTarget, Persistence, Server, ServerState};
use statebench_adapters::connect::OPERATION_TIMEOUT;
use statebench_adapters::{ErrorKind, StoreError};
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Writers that run while a server is killed.
pub const WRITERS: usize = 4;
/// Writes each writer makes at most.
pub const WRITES_PER_WRITER: usize = 20_000;
/// The server is killed after this long at the latest, however few writes were acknowledged.
pub const KILL_BY: Duration = Duration::from_secs(20);
/// How long an adapter may take to come back after a restart or a resume.
pub const RECONNECT: Duration = Duration::from_secs(30);
/// An operation on a paused or dead server ends within this, instead of hanging.
pub const GIVE_UP: Duration = Duration::from_secs(OPERATION_TIMEOUT.as_secs() + 5);

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `test` against a `backend` server provided as `mode` with `persistence`, when
/// that can run here (`None` when skipped). Tests run one at a time, each on its own
/// runtime; a failing one still removes its server.
pub fn with_server<T, F: Future<Output = T>>(
    backend: Backend,
    mode: &str,
    persistence: Persistence,
    test: impl FnOnce(Server) -> F,
) -> Option<T> {
    if !super::usable(mode) {
        return None;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let _cleanup = cleanup::OnPanic;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let done = runtime.block_on(async {
        let mut settings = statebench::config::resolve(None, Some(mode))
            .unwrap()
            .provision;
        settings.persistence.insert(backend, persistence);
        let server = provision::provide(backend, &settings, &|_| {})
            .await
            .unwrap_or_else(|e| panic!("{backend} ({mode}) did not start: {e}"));
        assert_eq!(server.info.provisioning, mode);
        test(server).await
    });
    Some(done)
}

/// What the harness registered for one server over its restarts: process groups and
/// directories, or containers.
#[derive(Default)]
pub struct Traces {
    groups: BTreeSet<u32>,
    dirs: BTreeSet<PathBuf>,
    containers: BTreeSet<String>,
}

impl Traces {
    /// Notes what is registered now, and that it is the live server.
    pub fn note(&mut self) {
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
    pub fn assert_gone(&self) {
        assert_eq!(cleanup::live(), Vec::new(), "still registered");
        super::no_containers_left(std::process::id());
        let left = super::processes_in_groups(&self.groups);
        assert!(left.is_empty(), "server processes left behind: {left:?}");
        for dir in &self.dirs {
            assert!(!dir.exists(), "{} left behind", dir.display());
            let naming = super::processes_naming(&dir.to_string_lossy());
            assert!(naming.is_empty(), "processes left behind: {naming:?}");
        }
    }
}

pub fn bytes(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}

/// Runs `op`, which must fail within [`GIVE_UP`]; returns its error and how long it took.
pub async fn failing<T: Debug, E>(op: impl Future<Output = Result<T, E>>) -> (E, Duration) {
    let start = Instant::now();
    match tokio::time::timeout(GIVE_UP, op).await {
        Ok(Ok(v)) => panic!("expected a failure, got {v:?}"),
        Ok(Err(e)) => (e, start.elapsed()),
        Err(_) => panic!("hung for over {GIVE_UP:?}"),
    }
}

/// Retries `op` until it succeeds (an adapter reconnecting), for at most [`RECONNECT`].
pub async fn eventually<T, E: Debug, F: Future<Output = Result<T, E>>>(
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
/// the server once `before_kill` writes are acknowledged (or after [`KILL_BY`], on a slow
/// machine). Returns what was acknowledged
/// and the errors.
pub async fn write_until_killed<A, E, F, Fut>(
    faults: &FaultTarget,
    before_kill: usize,
    write: F,
) -> (Vec<A>, Vec<E>)
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
    while acked.load(Ordering::Relaxed) < before_kill && start.elapsed() < KILL_BY {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        acked.load(Ordering::Relaxed) > 0,
        "no write acknowledged in {KILL_BY:?}"
    );
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

pub fn assert_indefinite<T: Debug + std::fmt::Display>(errors: &[StoreError<T>]) {
    assert!(
        !errors.is_empty(),
        "writes failed once the server was killed"
    );
    for e in errors {
        assert_eq!(e.kind(), ErrorKind::Indefinite, "{e:?}");
    }
}
