//! `VersionedMap` under criterion: closed loops of the read-heavy workload's operations.
//!
//! `cargo bench -p custom-adapter`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use custom_adapter::{VersionedMap, subject};
use statebench_suites::Workload;
use statebench_suites::bench::ClosedLoop;

fn read_heavy(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let subject = subject("versioned-map", VersionedMap::new());
    let workload = Workload::resolve("read-heavy").expect("a built-in workload");
    let closed = runtime
        .block_on(ClosedLoop::new(&subject, workload))
        .expect("the keys load");
    let mut group = c.benchmark_group("versioned-map");
    group.throughput(Throughput::Elements(1));
    for workers in [1, 4] {
        group.bench_function(BenchmarkId::new("read-heavy", workers), |b| {
            b.to_async(&runtime)
                .iter_custom(|ops| closed.run(ops, workers));
        });
    }
    group.finish();
}

criterion_group!(benches, read_heavy);
criterion_main!(benches);
