//! Connection pools sized to the run's busiest step, on a real PostgreSQL: a 64-worker step
//! gets 64 connections (no fewer, so that the pool is not what is measured; no more), and a
//! step that asks more than the server takes is refused with the reason.
//!
//! Without the server binaries these tests skip, loudly; under `CI=true` a missing server
//! is a failure.

mod support;

use statebench::cli::RunArgs;
use statebench::options::RunOptions;
use statebench::provision::{Backend, Persistence, Server};
use statebench_suites::Silent;
use statebench_suites::results::{Results, Step};
use statebench_suites::workload::{Phase, Seconds};
use std::time::Duration;
use support::faults::with_server;
use tokio_util::sync::CancellationToken;

/// A throughput run of `postgres` at `workers` against `server`.
fn options(server: &Server, workers: usize) -> RunOptions {
    let mut options = RunOptions::from_args(RunArgs {
        adapters: vec!["postgres".into()],
        suites: vec!["throughput".into()],
        provision: Some("postgres=external".into()),
        ..RunArgs::default()
    })
    .expect("valid options");
    options
        .servers
        .provision
        .urls
        .insert(Backend::Postgres, server.url.clone());
    let w = &mut options.workload;
    w.keys.count = 1_000;
    w.closed.concurrency = vec![workers];
    w.warmup = Phase {
        duration: Some(Seconds(Duration::from_millis(500))),
        ops: None,
    };
    w.measure = Phase {
        duration: Some(Seconds(Duration::from_secs(2))),
        ops: None,
    };
    options
}

/// The most connections named `statebench` seen while `run` ran, polled every 50 ms.
async fn most_connections(server: &Server, options: RunOptions) -> (i64, Results) {
    let (client, connection) = tokio_postgres::connect(&server.url, tokio_postgres::NoTls)
        .await
        .expect("a connection to count with");
    let connection = tokio::spawn(connection);
    let run = tokio::spawn(async move {
        statebench::run::execute(&options, &Silent, &CancellationToken::new(), None).await
    });
    let mut most = 0;
    while !run.is_finished() {
        let row = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'statebench'",
                &[],
            )
            .await
            .expect("pg_stat_activity");
        most = most.max(row.get::<_, i64>(0));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    connection.abort();
    (most, run.await.expect("the run"))
}

async fn sized_to_the_step(server: Server) {
    let (most, results) = most_connections(&server, options(&server, 64)).await;
    let trial = results
        .trials
        .iter()
        .find(|t| t.step == Step::Closed { concurrency: 64 })
        .unwrap_or_else(|| panic!("no 64-worker trial; skipped: {:?}", results.skipped));
    let counts = trial.measured.counts;
    assert!(counts.ok > 0, "{counts:?}");
    assert_eq!(counts.total(), counts.ok, "{counts:?}");
    assert_eq!(most, 64, "connections open during a 64-worker step");

    let results = statebench::run::execute(
        &options(&server, 400),
        &Silent,
        &CancellationToken::new(),
        None,
    )
    .await;
    let reasons = statebench::run::unprovided(&results);
    assert!(
        reasons.iter().any(|r| r.starts_with("postgres: ")
            && r.contains("400 clients at once need 400 connections")
            && r.contains("max_connections=300")),
        "{reasons:?}"
    );
    assert!(results.trials.is_empty());
}

#[test]
fn a_step_of_64_workers_gets_64_connections_and_one_of_400_is_refused() {
    with_server(
        Backend::Postgres,
        "native",
        Persistence::Durable,
        sized_to_the_step,
    );
}
