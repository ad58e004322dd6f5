//! How fast the checkers decide. The target: a 100,000-operation register history over 100
//! keys and 10 processes checks in under one second on the CI machine (2 cores). The other
//! shapes probe what makes the search expensive: one hot key, many processes, indefinite
//! operations that may take effect at any later time.
//!
//! `cargo bench -p statebench-suites --bench checkers`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use statebench_suites::check::synth::{Shape, register_history};
use statebench_suites::check::{Budget, Validity, counter, register};
use statebench_suites::history::{Entry, Ops, pair};
use std::time::Duration;

fn ops_of(entries: Vec<Entry>) -> Ops {
    let numbered: Vec<(usize, Entry)> = entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| (i + 1, e))
        .collect();
    pair(&numbered).expect("synthetic histories pair")
}

fn shapes() -> Vec<(&'static str, Shape)> {
    let base = Shape {
        ops: 100_000,
        keys: 100,
        processes: 10,
        indefinite: 0.0,
        seed: 1,
    };
    vec![
        ("100k-ops-100-keys-10-procs", base),
        (
            "100k-ops-100-keys-10-procs-1pct-info",
            Shape {
                indefinite: 0.01,
                ..base
            },
        ),
        (
            "20k-ops-1-key-10-procs",
            Shape {
                ops: 20_000,
                keys: 1,
                ..base
            },
        ),
        (
            "5k-ops-1-key-20-procs-5pct-info",
            Shape {
                ops: 5_000,
                keys: 1,
                processes: 20,
                indefinite: 0.05,
                ..base
            },
        ),
    ]
}

fn linearizability(c: &mut Criterion) {
    let mut group = c.benchmark_group("linearizable");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for (name, shape) in shapes() {
        let ops = ops_of(register_history(shape));
        let budget = Budget {
            time: Duration::from_secs(120),
            memory_bytes: 4 << 30,
        };
        let verdict = register::check(&ops, budget).unwrap();
        assert_eq!(
            verdict.validity,
            Validity::Valid,
            "{name}: {}",
            verdict.summary
        );
        group.throughput(Throughput::Elements(shape.ops as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &ops, |b, ops| {
            b.iter(|| register::check(ops, budget).unwrap())
        });
    }
    group.finish();
}

fn counters(c: &mut Criterion) {
    // The counter checker reads the same shape: writes as adds of their value, reads as
    // reads (verdicts differ; the cost is what is measured).
    let mut group = c.benchmark_group("counter");
    group.sample_size(10);
    let entries: Vec<Entry> = register_history(shapes()[0].1)
        .into_iter()
        .filter(|e| e.f != "cas")
        .map(|mut e| {
            if e.f == "write" {
                e.f = "add".into();
                e.value = serde_json::json!(1);
            } else if e.kind == statebench_suites::history::Kind::Ok {
                e.value = serde_json::json!(0);
            }
            e
        })
        .collect();
    let ops = ops_of(entries);
    group.throughput(Throughput::Elements(ops.ops.len() as u64));
    group.bench_function("100k-ops-100-keys", |b| {
        b.iter(|| counter::check(&ops).unwrap())
    });
    group.finish();
}

criterion_group!(benches, linearizability, counters);
criterion_main!(benches);
