//! Every adapter's primitives against real servers, provided as a run provides them (the
//! same registry, `auto` provisioning, `STATEBENCH_<BACKEND>_IMAGE` and `_URL`, and
//! `STATEBENCH_PROVISION` for `--provision`): per subject, criterion group `adapter/<subject>`
//! with `get`, `put` (blind), `cas` (put expecting the last version) and `command` (load,
//! decide, write through the aggregate executor) on state subjects; `append` (one event at
//! the expected revision), `read-10` (a stream of 10 events) and `command` (replay a stream
//! of 10 to 19 events, decide, append) on event subjects. One operation at a time: this is
//! the latency of one call, the engine's overhead is `--bench engine`.
//!
//! `cargo bench -p statebench --bench adapters` (`-- --save-baseline main`, then
//! `-- --baseline main`); `STATEBENCH_BENCH_QUICK=1` or `-- --quick` for a short run. A
//! backend with no server is skipped with one line on stderr; under `CI=true` a missing
//! PostgreSQL, Redis or NATS fails the bench (KurrentDB only where its image or URL is
//! given).

use criterion::{BenchmarkGroup, Criterion, measurement::WallTime};
use statebench::provision::{self, Backend, Server};
use statebench::registry::{self, Provided};
use statebench_adapters::{EventStore, Expect, ExpectRevision, ReadFrom, StateStore};
use statebench_suites::domain::{Account, Command, Event, INITIAL_BALANCE, Payload};
use statebench_suites::executor::Executor;
use statebench_suites::outcome::Outcome;
use statebench_suites::subject::Target;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// The adapters benched: those a default run measures, in the registry's order.
fn benched() -> impl Iterator<Item = &'static registry::Entry> {
    registry::ADAPTERS.iter().filter(|e| e.default)
}
const VALUE_SIZE: usize = 256;
/// Backends CI provides (from the images ci/images/build makes, or natively).
const IN_CI: [Backend; 4] = [
    Backend::Postgres,
    Backend::Redis,
    Backend::Valkey,
    Backend::Nats,
];

fn quick() -> bool {
    std::env::var("STATEBENCH_BENCH_QUICK").is_ok_and(|v| v == "1" || v == "true")
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Keys of this run, apart from other runs' on a shared server.
fn prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("sb-bench-{}-{nanos:x}/", std::process::id())
}

/// The servers the adapters need, each provided once; why the others are missing.
async fn servers(settings: &provision::Settings) -> (Vec<Server>, BTreeMap<Backend, String>) {
    let needed: std::collections::BTreeSet<Backend> = benched()
        .flat_map(|e| e.needs(None).iter().copied())
        .collect();
    let (mut up, mut missing) = (Vec::new(), BTreeMap::new());
    for backend in needed {
        let note = |line: &str| eprintln!("{line}");
        match provision::provide(backend, settings, &note).await {
            Ok(server) => up.push(server),
            Err(why) => {
                missing.insert(backend, why);
            }
        }
    }
    (up, missing)
}

fn skip(adapter: &str, backend: Backend, why: &str) {
    let line = format!("SKIPPED: adapter bench {adapter}: no {backend} server: {why}");
    if in_ci() && IN_CI.contains(&backend) {
        panic!("CI=true, and {line}");
    }
    eprintln!("{line}");
}

/// Checks an operation's outcome: a bench of failing calls measures nothing.
fn ok<T, E: std::fmt::Display>(what: &str, result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("{what} failed: {e}"))
}

fn bench_state(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    store: Arc<dyn StateStore>,
    keys: &str,
) {
    let payload = Arc::new(Payload::new(VALUE_SIZE, 1));
    let value = payload.state(
        Account {
            balance: INITIAL_BALANCE,
        },
        VALUE_SIZE,
    );
    let key = format!("{keys}existing");
    rt.block_on(async { ok("put", store.put(&key, value.clone(), Expect::Any).await) });
    group.bench_function("get", |b| {
        b.to_async(rt).iter(|| async {
            ok("get", store.get(&key).await).expect("the key exists");
        })
    });
    let n = AtomicU64::new(0);
    group.bench_function("put", |b| {
        b.to_async(rt).iter(|| async {
            let key = format!("{keys}blind-{}", n.fetch_add(1, Ordering::Relaxed) % 1000);
            ok("put", store.put(&key, value.clone(), Expect::Any).await);
        })
    });
    let cas_key = format!("{keys}cas");
    let last =
        rt.block_on(async { ok("put", store.put(&cas_key, value.clone(), Expect::Any).await) });
    let last = parking_lot::Mutex::new(last);
    group.bench_function("cas", |b| {
        b.to_async(rt).iter(|| async {
            let expect = Expect::Version(*last.lock());
            let version = ok("cas", store.put(&cas_key, value.clone(), expect).await);
            *last.lock() = version;
        })
    });
    let executor = Executor { max_retries: 20 };
    group.bench_function("command", |b| {
        b.to_async(rt).iter(|| async {
            let command = Command::Deposit(1);
            let done = executor
                .on_state(store.as_ref(), &key, command, &payload, VALUE_SIZE)
                .await;
            assert_eq!(done.outcome, Outcome::Ok, "command: {:?}", done.error);
        })
    });
}

fn bench_events(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    store: Arc<dyn EventStore>,
    keys: &str,
) {
    let payload = Arc::new(Payload::new(VALUE_SIZE, 1));
    let event = |e| payload.event(e, VALUE_SIZE);
    let streams = AtomicU64::new(0);
    // A fresh stream of 10 events: an opening and 9 deposits.
    let stream_of_10 = || async {
        let stream = format!("{keys}s-{}", streams.fetch_add(1, Ordering::Relaxed));
        let mut events = vec![event(Event::Opened(INITIAL_BALANCE))];
        events.extend((0..9).map(|_| event(Event::Deposited(1))));
        let expect = ExpectRevision::NoStream;
        let appended = ok("append", store.append(&stream, events, expect).await);
        (stream, appended.last)
    };
    let (appending, last) = rt.block_on(stream_of_10());
    let last = parking_lot::Mutex::new(last);
    group.bench_function("append", |b| {
        b.to_async(rt).iter(|| async {
            let expect = ExpectRevision::Exact(*last.lock());
            let one = vec![event(Event::Deposited(1))];
            let appended = ok("append", store.append(&appending, one, expect).await);
            *last.lock() = appended.last;
        })
    });
    let (reading, _) = rt.block_on(stream_of_10());
    group.bench_function("read-10", |b| {
        b.to_async(rt).iter(|| async {
            let events = ok("read", store.read(&reading, ReadFrom::Start, 100).await);
            assert_eq!(events.len(), 10);
        })
    });
    let executor = Executor { max_retries: 20 };
    group.bench_function("command", |b| {
        b.to_async(rt).iter_custom(|iters| {
            let (executor, payload, stream_of_10) = (&executor, &payload, &stream_of_10);
            let store = &store;
            async move {
                let mut took = Duration::ZERO;
                let mut stream = String::new();
                for i in 0..iters {
                    // A new stream every 10 commands, so replays stay 10 to 19 events long.
                    if i % 10 == 0 {
                        stream = stream_of_10().await.0;
                    }
                    let start = Instant::now();
                    let done = executor
                        .on_events(
                            store.as_ref(),
                            None,
                            &stream,
                            Command::Deposit(1),
                            payload,
                            VALUE_SIZE,
                        )
                        .await;
                    took += start.elapsed();
                    assert_eq!(done.outcome, Outcome::Ok, "command: {:?}", done.error);
                }
                took
            }
        })
    });
}

fn adapters(c: &mut Criterion) {
    let rt = Runtime::new().expect("a runtime");
    let provision = std::env::var("STATEBENCH_PROVISION").ok();
    let resolved = statebench::config::resolve(None, provision.as_deref())
        .unwrap_or_else(|e| panic!("STATEBENCH_PROVISION: {e}"));
    let (servers, missing) = rt.block_on(servers(&resolved.provision));
    let provided = Provided {
        servers: servers
            .iter()
            .map(|s| (s.backend, (s.url.clone(), s.info.provisioning.clone())))
            .collect(),
        http_url: resolved.http_url.clone(),
        ..Provided::default()
    };
    let keys = prefix();
    for entry in benched() {
        let name = entry.name;
        let needs = entry.needs(provided.http_url.as_deref());
        if let Some((backend, why)) = needs
            .iter()
            .find_map(|b| missing.get(b).map(|why| (*b, why)))
        {
            skip(name, backend, why);
            continue;
        }
        let made = rt
            .block_on((entry.make)(&provided))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for subject in &made.subjects {
            let mut group = c.benchmark_group(format!("adapter/{}", subject.name));
            if quick() {
                group
                    .sample_size(10)
                    .warm_up_time(Duration::from_millis(100))
                    .measurement_time(Duration::from_millis(200));
            }
            let keys = format!("{keys}{}/", subject.name.replace(':', "-"));
            match &subject.target {
                Target::State(s) => bench_state(&mut group, &rt, s.clone(), &keys),
                Target::Events(e) => bench_events(&mut group, &rt, e.clone(), &keys),
            }
            group.finish();
        }
        made.tasks.iter().for_each(tokio::task::JoinHandle::abort);
    }
    rt.block_on(async {
        for server in servers {
            server.shutdown().await;
        }
        tokio::task::spawn_blocking(statebench::cleanup::remove_labelled_containers)
            .await
            .ok();
    });
}

/// Criterion, without its plots in quick mode (drawing them takes longer than the samples).
fn config() -> Criterion {
    match quick() {
        true => Criterion::default().without_plots(),
        false => Criterion::default(),
    }
}

criterion::criterion_group! {
    name = benches;
    config = config();
    targets = adapters
}
criterion::criterion_main!(benches);
