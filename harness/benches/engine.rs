//! The engine's own ceiling: closed-loop operations per second against `noop` (the harness
//! alone) and `memory` (the reference store), and what recording one operation costs.
//!
//! `cargo bench -p statebench --bench engine` (`STATEBENCH_BENCH_QUICK=1` for a short run).
//! Criterion reports time per operation; its throughput line is operations per second for the
//! whole engine (all workers together).

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use statebench_adapters::memory::Memory;
use statebench_adapters::noop::Noop;
use statebench_suites::engine::tally::{Sample, Tally};
use statebench_suites::engine::{Engine, Length, Mode, PhaseSpec};
use statebench_suites::generate::{Generator, KeySpace};
use statebench_suites::subject::{Runner, Subject, Target};
use statebench_suites::workload::{OpKind, builtin};
use statebench_suites::{Executed, Silent, Workload};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn workload() -> Arc<Workload> {
    Arc::new(builtin("read-heavy").expect("built in").expect("parses"))
}

fn engine(target: Target) -> Engine {
    let workload = workload();
    let subject = Subject::new("bench", target, "embedded");
    let keys = Arc::new(KeySpace::new("bench/", workload.keys.count));
    Engine {
        runner: Arc::new(Runner::new(&subject, &workload, keys)),
        workload,
        cancel: CancellationToken::new(),
        grace: Duration::from_secs(10),
    }
}

fn closed_loop(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let mut group = c.benchmark_group("closed_loop");
    group.throughput(Throughput::Elements(1));
    // Each sample is one phase of a million or so operations (flat sampling: every sample the
    // same length), as runs are: phases of seconds, not of the few thousand operations
    // criterion's linear sampling starts with, where starting the workers and waking the
    // runtime's threads (milliseconds on a loaded machine) swamped the engine's own cost.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    if std::env::var("STATEBENCH_BENCH_QUICK").is_ok_and(|v| v == "1" || v == "true") {
        group
            .warm_up_time(Duration::from_millis(100))
            .measurement_time(Duration::from_millis(500));
    }
    // Event subjects are left out on purpose: their reads replay streams that grow with
    // every sample, which measures replay cost (the store's), not the engine.
    type MakeTarget = fn() -> Target;
    let targets: [(&str, MakeTarget); 2] = [
        ("noop", || Target::State(Arc::new(Noop::default()))),
        ("memory-state", || Target::State(Arc::new(Memory::new()))),
    ];
    for (name, target) in targets {
        for workers in [1, 2, 8] {
            let engine = engine(target());
            group.bench_with_input(BenchmarkId::new(name, workers), &workers, |b, &workers| {
                b.to_async(&runtime).iter_custom(|iters| {
                    let engine = &engine;
                    async move {
                        let spec = PhaseSpec {
                            label: String::new(),
                            length: Length::Ops(iters),
                            mode: Mode::Closed {
                                concurrency: workers,
                            },
                            seed: 1,
                            stagger: 0.0,
                        };
                        engine.run(&spec, &Silent, None).await.elapsed
                    }
                });
            });
        }
    }
    group.finish();
}

fn per_operation(c: &mut Criterion) {
    let mut group = c.benchmark_group("per_operation");
    let mut tally = Tally::default();
    let mut n = 0u64;
    let sample = |n: u64| Sample {
        response_ns: black_box(20_000 + n % 5_000),
        service_ns: 15_000,
        lag_ns: None,
        end: std::time::Instant::now(),
        straggler: false,
    };
    group.bench_function("record", |b| {
        b.iter(|| {
            n = n.wrapping_add(7_919);
            tally.record(OpKind::Read, &Executed::OK, &sample(n));
        });
    });
    let shard = parking_lot::Mutex::new(Tally::default());
    group.bench_function("record_behind_lock", |b| {
        b.iter(|| {
            n = n.wrapping_add(7_919);
            shard.lock().record(OpKind::Read, &Executed::OK, &sample(n));
        });
    });
    let w = workload();
    let keys = KeySpace::new("bench/", w.keys.count);
    let mut generator = Generator::new(&w, &keys, 1);
    group.bench_function("generate", |b| b.iter(|| black_box(generator.next(&keys))));
    group.bench_function("clock_read", |b| {
        b.iter(|| black_box(std::time::Instant::now()))
    });
    group.finish();
}

criterion_group!(benches, closed_loop, per_operation);
criterion_main!(benches);
