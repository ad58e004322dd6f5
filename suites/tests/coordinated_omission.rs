//! The timing is free of coordinated omission: a one-second stall of the store shows in the
//! response time of every operation that was due during it, while service time (which a
//! closed-loop tool would report) stays at the store's normal latency.

mod support;

use statebench_adapters::fault::{FaultPlan, Faulty, Stall};
use statebench_adapters::memory::Memory;
use statebench_suites::engine::{Length, Mode};
use statebench_suites::results::Latency;
use statebench_suites::subject::Target;
use statebench_suites::workload::{Arrivals, OpKind};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_shows_in_response_time_and_not_in_service_time() {
    let workload = support::workload("read-heavy", |w| {
        w.mix.read = 1;
        w.mix.command = 0;
    });
    let plan = FaultPlan {
        latency_ns: 1_000_000,
        stall: Some(Stall {
            at_ms: 2_000,
            duration_ms: 1_000,
        }),
        ..FaultPlan::default()
    };
    let store = Arc::new(Faulty::new(Arc::new(Memory::new()), plan));
    let subject = support::subject("memory+faults", Target::State(store));
    let engine = support::engine(&subject, workload, Duration::from_secs(5));
    let mode = Mode::Open {
        rate: 1_000.0,
        arrivals: Arrivals::Constant,
        max_in_flight: 8,
    };
    let report = support::phase(&engine, Length::Duration(Duration::from_secs(5)), mode).await;

    let cell = report
        .total
        .cell(OpKind::Read, statebench_suites::Outcome::Ok)
        .expect("reads ran");
    let (response, service) = (Latency::of(&cell.response), Latency::of(&cell.service));
    eprintln!(
        "response {response:?}\nservice {service:?}\nlate {}",
        report.total.late()
    );

    assert!(
        report.total.count() >= 4_900,
        "every scheduled read ran: {}",
        report.total.count()
    );
    assert_eq!(report.unstarted(), 0);
    // About 1000 reads were due during the stall; they waited up to a second.
    assert!(
        response.p99_us >= 500_000.0,
        "response p99 {} µs hides the stall",
        response.p99_us
    );
    assert!(
        response.max_us >= 900_000.0,
        "response max {} µs hides the stall",
        response.max_us
    );
    assert!(
        report.total.late() >= 800,
        "{} reads started late",
        report.total.late()
    );
    // Only the few reads in flight when the stall began waited inside the store.
    assert!(
        service.p90_us < 20_000.0,
        "service p90 {} µs",
        service.p90_us
    );
    assert!(
        service.p99_us < 20_000.0,
        "service p99 {} µs",
        service.p99_us
    );
    assert!(
        service.max_us >= 900_000.0,
        "the in-flight reads did see the stall"
    );
}
