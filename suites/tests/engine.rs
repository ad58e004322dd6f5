//! The engine's accounting: every operation counted once, limits kept, stops honoured.

mod support;

use statebench_adapters::fault::{FaultPlan, Faulty, Stall};
use statebench_adapters::memory::Memory;
use statebench_suites::Outcome;
use statebench_suites::engine::{Length, Mode};
use statebench_suites::subject::Target;
use statebench_suites::workload::Arrivals;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn memory() -> Target {
    Target::State(Arc::new(Memory::new()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counted_closed_phase_runs_exactly_its_operations() {
    let subject = support::subject("memory", memory());
    let engine = support::engine(
        &subject,
        support::workload("update-heavy", |_| {}),
        Duration::from_secs(5),
    );
    let report = support::phase(
        &engine,
        Length::Ops(10_007),
        Mode::Closed { concurrency: 7 },
    )
    .await;
    assert_eq!(report.total.count(), 10_007);
    assert_eq!(
        (report.started, report.abandoned, report.unstarted()),
        (10_007, 0, 0)
    );
    assert_eq!(report.total.count_of(Outcome::Ok), 10_007);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_phase_meets_a_modest_rate_on_time() {
    let subject = support::subject("memory", memory());
    let engine = support::engine(
        &subject,
        support::workload("read-heavy", |_| {}),
        Duration::from_secs(5),
    );
    let mode = Mode::Open {
        rate: 2_000.0,
        arrivals: Arrivals::Poisson,
        max_in_flight: 16,
    };
    let report = support::phase(&engine, Length::Duration(Duration::from_secs(2)), mode).await;
    let n = report.total.count();
    assert!(
        (3_600..=4_400).contains(&n),
        "{n} operations in 2 s at 2000/s"
    );
    assert_eq!(report.unstarted(), 0);
    let lag = report.start_lag().expect("open loops record start lag");
    assert!(lag.p50_us < 1_000.0, "median start lag {} µs", lag.p50_us);
    assert!(!report.timeline.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offered_rate_beyond_the_store_is_counted_as_unstarted() {
    let slow = FaultPlan {
        latency_ns: 10_000_000,
        ..FaultPlan::default()
    };
    let store = Arc::new(Faulty::new(Arc::new(Memory::new()), slow));
    let subject = support::subject("slow", Target::State(store));
    let engine = support::engine(
        &subject,
        support::workload("read-heavy", |_| {}),
        Duration::from_secs(5),
    );
    // Two workers at about 10 ms each serve at most ~200/s of the 2000/s offered.
    let mode = Mode::Open {
        rate: 2_000.0,
        arrivals: Arrivals::Constant,
        max_in_flight: 2,
    };
    let report = support::phase(&engine, Length::Duration(Duration::from_secs(1)), mode).await;
    assert!(report.scheduled >= 1_990, "scheduled {}", report.scheduled);
    assert!(
        report.unstarted() > 1_500,
        "unstarted {}",
        report.unstarted()
    );
    assert_eq!(report.started, report.total.count() + report.abandoned);
    assert_eq!(report.scheduled, report.started + report.unstarted());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_stuck_past_the_grace_period_are_abandoned_not_awaited() {
    let stuck = FaultPlan {
        stall: Some(Stall {
            at_ms: 0,
            duration_ms: 60_000,
        }),
        ..FaultPlan::default()
    };
    let store = Arc::new(Faulty::new(Arc::new(Memory::new()), stuck));
    let subject = support::subject("stuck", Target::State(store));
    let engine = support::engine(
        &subject,
        support::workload("read-heavy", |_| {}),
        Duration::from_millis(300),
    );
    let started = Instant::now();
    let report = support::phase(
        &engine,
        Length::Duration(Duration::from_millis(500)),
        Mode::Closed { concurrency: 3 },
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(
        (report.started, report.abandoned, report.total.count()),
        (3, 3, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_stops_a_phase_and_marks_it_interrupted() {
    let subject = support::subject("memory", memory());
    let engine = support::engine(
        &subject,
        support::workload("read-heavy", |_| {}),
        Duration::from_secs(5),
    );
    let cancel = engine.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let mode = Mode::Open {
        rate: 1_000.0,
        arrivals: Arrivals::Constant,
        max_in_flight: 4,
    };
    let report = support::phase(&engine, Length::Duration(Duration::from_secs(30)), mode).await;
    assert!(report.interrupted);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        report.total.count() > 100,
        "what ran before the stop is kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_ending_after_a_timed_window_are_stragglers_not_a_longer_window() {
    // Every call from 300 ms to 1.3 s waits for the stall's end, so the operations in flight
    // at the 500 ms deadline end 800 ms after it. Throughput must be counted over the 500 ms
    // window, with the stragglers counted apart, not over 1.3 s.
    let stall = FaultPlan {
        stall: Some(Stall {
            at_ms: 300,
            duration_ms: 1_000,
        }),
        ..FaultPlan::default()
    };
    let store = Arc::new(Faulty::new(Arc::new(Memory::new()), stall));
    let subject = support::subject("stalls", Target::State(store));
    let engine = support::engine(
        &subject,
        support::workload("read-heavy", |_| {}),
        Duration::from_secs(5),
    );
    let report = support::phase(
        &engine,
        Length::Duration(Duration::from_millis(500)),
        Mode::Closed { concurrency: 2 },
    )
    .await;
    let stats = statebench_suites::suite::trial::stats(&report);
    assert_eq!(stats.stragglers, 2, "one stalled operation per worker");
    assert_eq!(stats.window_ms, 500.0);
    assert!(
        stats.duration_ms >= 1_250.0,
        "phase {} ms",
        stats.duration_ms
    );
    let in_window = (stats.ops - stats.stragglers) as f64;
    assert!(
        (stats.ops_per_s - in_window / 0.5).abs() < 1e-6 * in_window.max(1.0),
        "{} ops/s for {in_window} operations in 0.5 s",
        stats.ops_per_s
    );
    assert!(stats.ok_response.count == stats.counts.ok);
}
