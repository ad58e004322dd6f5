//! Connection pools sized to the run's busiest step, on a real PostgreSQL and a real Redis: a
//! 64-worker step gets 64 connections (no fewer, so that the pool is not what is measured; no
//! more), and a PostgreSQL step that asks more than the server takes is refused with the
//! reason. Redis connections serve one operation at a time: one whose reply was not read
//! (its caller timed out) is never handed out again, and ones the server closed are replaced
//! before an operation fails on them once the client's runtime has seen the close.
//!
//! Without the server binaries these tests skip, loudly; under `CI=true` a missing server
//! is a failure.

mod support;

use statebench::cli::RunArgs;
use statebench::options::RunOptions;
use statebench::provision::{Backend, Persistence, Server};
use statebench_adapters::redis_conn::Redis;
use statebench_suites::Silent;
use statebench_suites::results::{Results, Step};
use statebench_suites::workload::{Phase, Seconds};
use std::time::Duration;
use support::faults::with_server;
use tokio_util::sync::CancellationToken;

/// A throughput run of `postgres` at `workers` against `server`.
fn options(server: &Server, workers: usize) -> RunOptions {
    options_for("postgres", Backend::Postgres, server, workers)
}

/// A throughput run of `adapter` at `workers` against `server`, a `backend` server.
fn options_for(adapter: &str, backend: Backend, server: &Server, workers: usize) -> RunOptions {
    let mut options = RunOptions::from_args(RunArgs {
        adapters: vec![adapter.into()],
        suites: vec!["throughput".into()],
        provision: Some(format!("{backend}=external")),
        ..RunArgs::default()
    })
    .expect("valid options");
    options
        .servers
        .provision
        .urls
        .insert(backend, server.url.clone());
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

/// The `workers`-worker trial of `results` ran, and every operation in it succeeded.
fn assert_all_ok(results: &Results, workers: usize) {
    let trial = results
        .trials
        .iter()
        .find(|t| {
            t.step
                == Step::Closed {
                    concurrency: workers,
                }
        })
        .unwrap_or_else(|| panic!("no {workers}-worker trial; skipped: {:?}", results.skipped));
    let counts = trial.measured.counts;
    // What failed, if anything: one message per operation and outcome.
    let examples: Vec<_> = trial
        .measured
        .operations
        .iter()
        .flat_map(|op| op.outcomes.iter().map(move |o| (op.op, o)))
        .filter_map(|(op, o)| Some((op, o.outcome, o.example_error.as_ref()?)))
        .collect();
    assert!(counts.ok > 0, "{counts:?} {examples:?}");
    assert_eq!(counts.total(), counts.ok, "{counts:?} {examples:?}");
}

async fn sized_to_the_step(server: Server) {
    let (most, results) = most_connections(&server, options(&server, 64)).await;
    assert_all_ok(&results, 64);
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

/// The connections named `statebench` on the Redis server `conn` talks to.
async fn redis_connections(conn: &mut redis::aio::MultiplexedConnection) -> usize {
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(conn)
        .await
        .expect("CLIENT LIST");
    list.lines()
        .filter(|l| l.contains(" name=statebench "))
        .count()
}

async fn redis_sized_to_the_step(server: Server) {
    let client = redis::Client::open(server.url.as_str()).unwrap();
    let mut counter = client
        .get_multiplexed_async_connection()
        .await
        .expect("a connection to count with");
    let options = options_for("redis", Backend::Redis, &server, 64);
    let run = tokio::spawn(async move {
        statebench::run::execute(&options, &Silent, &CancellationToken::new(), None).await
    });
    let mut most = 0;
    while !run.is_finished() {
        most = most.max(redis_connections(&mut counter).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let results = run.await.expect("the run");
    assert_all_ok(&results, 64);
    assert_eq!(most, 64, "connections open during a 64-worker step");
}

#[test]
fn a_redis_step_of_64_workers_gets_64_connections() {
    with_server(
        Backend::Redis,
        "native",
        Persistence::Durable,
        redis_sized_to_the_step,
    );
}

/// Reads `key`'s hash through `redis`'s pool, as the adapter does.
async fn value_of(redis: &Redis, key: &str) -> Option<Vec<u8>> {
    let mut conn = redis.conn::<String>().await.expect("a connection");
    let (value, _version): (Option<Vec<u8>>, Option<u64>) = redis::cmd("HMGET")
        .arg(key)
        .arg("value")
        .arg("version")
        .query_async(&mut *conn)
        .await
        .expect("HMGET");
    value
}

async fn redis_never_out_of_step(server: Server) {
    let redis = Redis::connect(&server.url, 1).await.unwrap();
    let mut conn = redis.conn::<String>().await.unwrap();
    redis::cmd("HSET")
        .arg("pools:kept")
        .arg("value")
        .arg("kept")
        .arg("version")
        .arg(1)
        .query_async::<()>(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    for round in 0..20 {
        // A caller that gives up before its reply arrives (BLPOP answers nil after 1 s) leaves
        // the reply on the connection; whoever got the connection next would read it.
        let mut conn = redis.conn::<String>().await.unwrap();
        let blocked = redis::cmd("BLPOP").arg("pools:empty").arg(1).clone();
        let gave_up = tokio::time::timeout(
            Duration::from_millis(20),
            blocked.query_async::<redis::Value>(&mut *conn),
        )
        .await;
        assert!(gave_up.is_err(), "round {round}: BLPOP answered at once");
        drop(conn);
        assert_eq!(
            value_of(&redis, "pools:kept").await.as_deref(),
            Some(&b"kept"[..]),
            "round {round}: the read after an abandoned one got its own reply"
        );
    }
}

#[test]
fn a_redis_connection_whose_reply_was_not_read_is_not_handed_out_again() {
    with_server(
        Backend::Redis,
        "native",
        Persistence::Durable,
        redis_never_out_of_step,
    );
}

async fn redis_closed_connections_replaced(server: Server) {
    let redis = Redis::connect(&server.url, 8).await.unwrap();
    let killer = redis::Client::open(server.url.as_str()).unwrap();
    let mut killer = killer.get_multiplexed_async_connection().await.unwrap();
    for round in 0..10 {
        // Eight held at once: the pool opens eight.
        let mut held = Vec::new();
        for _ in 0..8 {
            held.push(redis.conn::<String>().await.expect("a connection"));
        }
        drop(held);
        assert_eq!(redis_connections(&mut killer).await, 8, "round {round}");
        // The server closes them (as after a restart, or its client timeout).
        let killed: i64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("normal")
            .arg("SKIPME")
            .arg("yes")
            .query_async(&mut killer)
            .await
            .unwrap();
        assert_eq!(killed, 8, "round {round}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut held = Vec::new();
        for _ in 0..8 {
            held.push(redis.conn::<String>().await.expect("a connection"));
        }
        for conn in &mut held {
            let answer = redis::cmd("PING").query_async::<String>(&mut **conn).await;
            assert_eq!(
                answer.expect("no operation fails on a closed connection"),
                "PONG",
                "round {round}"
            );
        }
    }
}

#[test]
fn redis_connections_the_server_closed_are_replaced_before_an_operation_fails() {
    with_server(
        Backend::Redis,
        "native",
        Persistence::Durable,
        redis_closed_connections_replaced,
    );
}
