//! The `jetstream` adapter against a real NATS server (see `support`): reads of long streams,
//! which the conformance suite's short streams do not reach, and, ignored by default, what
//! each operation costs: wall time, messages the client sends and server CPU time per call
//! (`cargo test -p statebench-adapters --release --test jetstream -- --ignored --nocapture`).

mod support;

use bytes::Bytes;
use statebench_adapters::jetstream::JetStream;
use statebench_adapters::{EventData, EventStore, ExpectRevision, ReadFrom, Revision};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Stream names of this test run, apart from other runs' on a shared server.
fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("js-test-{}-{nanos:x}/{name}", std::process::id())
}

fn event(n: usize, size: usize) -> EventData {
    let mut data = format!("event {n} ").into_bytes();
    data.resize(size.max(data.len()), b'.');
    EventData {
        id: Some(uuid::Uuid::new_v4()),
        event_type: "Deposited".into(),
        data: Bytes::from(data),
    }
}

/// Appends `n` events to `stream` one at a time, each at the expected revision.
async fn fill(store: &JetStream, stream: &str, n: usize, size: usize) -> Option<Revision> {
    let mut last = None;
    for i in 0..n {
        let expect = last.map_or(ExpectRevision::NoStream, ExpectRevision::Exact);
        last = Some(
            store
                .append(stream, vec![event(i, size)], expect)
                .await
                .unwrap()
                .last,
        );
    }
    last
}

fn numbers(events: &[statebench_adapters::RecordedEvent]) -> Vec<usize> {
    events
        .iter()
        .map(|e| {
            let text = String::from_utf8_lossy(&e.data);
            text.split(' ').nth(1).unwrap().parse().unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_stream_reads_whole_in_order_from_anywhere_and_up_to_max() {
    let Some(server) = support::nats() else {
        return;
    };
    let store = JetStream::connect(&server.url).await.unwrap();
    let (long, other) = (unique("long"), unique("other"));
    // Interleaved with another stream, so the long one's revisions are not consecutive.
    let mut last = None;
    for i in 0..60 {
        let expect = last.map_or(ExpectRevision::NoStream, ExpectRevision::Exact);
        last = Some(
            store
                .append(&long, vec![event(i, 16)], expect)
                .await
                .unwrap()
                .last,
        );
        store
            .append(&other, vec![event(i, 16)], ExpectRevision::Any)
            .await
            .unwrap();
    }
    let all = store.read(&long, ReadFrom::Start, 1024).await.unwrap();
    assert_eq!(numbers(&all), (0..60).collect::<Vec<_>>());
    assert!(all.windows(2).all(|w| w[0].revision < w[1].revision));
    assert_eq!(all.last().map(|e| e.revision), last);
    assert!(
        all.iter()
            .all(|e| e.event_type == "Deposited" && e.id.is_some())
    );
    let first_25 = store.read(&long, ReadFrom::Start, 25).await.unwrap();
    assert_eq!(first_25, all[..25]);
    let after_3 = store
        .read(&long, ReadFrom::After(all[2].revision), 1024)
        .await
        .unwrap();
    assert_eq!(after_3, all[3..]);
    let middle = store
        .read(&long, ReadFrom::After(all[9].revision), 30)
        .await
        .unwrap();
    assert_eq!(middle, all[10..40]);
    let none = store
        .read(&long, ReadFrom::After(all[59].revision), 1024)
        .await
        .unwrap();
    assert!(none.is_empty());
    let missing = store
        .read(&unique("missing"), ReadFrom::Start, 1024)
        .await
        .unwrap();
    assert!(missing.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_with_appends_without_expectation_reads_whole_in_order() {
    let Some(server) = support::nats() else {
        return;
    };
    let store = JetStream::connect(&server.url).await.unwrap();
    let mixed = unique("mixed");
    // Runs of appends at the expected revision, with and without a multi-event batch,
    // between appends that expect nothing.
    let mut last = None;
    let mut n = 0;
    for run in 0..6 {
        for _ in 0..5 {
            let (expect, size) = match (run % 2, last) {
                (0, _) => (ExpectRevision::Any, 1),
                (_, None) => (ExpectRevision::NoStream, 2),
                (_, Some(r)) => (ExpectRevision::Exact(r), 2),
            };
            let events = (n..n + size).map(|i| event(i, 16)).collect();
            n += size;
            last = Some(store.append(&mixed, events, expect).await.unwrap().last);
        }
    }
    let all = store.read(&mixed, ReadFrom::Start, 1024).await.unwrap();
    assert_eq!(numbers(&all), (0..n).collect::<Vec<_>>());
    for (from, max) in [(0, 1024), (3, 7), (12, 4), (20, 1024), (30, 2)] {
        let after = store.read(&mixed, ReadFrom::After(all[from].revision), max);
        let expected: Vec<_> = all[from + 1..].iter().take(max).cloned().collect();
        assert_eq!(after.await.unwrap(), expected, "after #{from}, max {max}");
    }
    for max in [1, 5, 14, 44] {
        let first = store.read(&mixed, ReadFrom::Start, max).await.unwrap();
        assert_eq!(first, all[..max], "max {max}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_leave_no_consumer_behind() {
    let Some(server) = support::nats() else {
        return;
    };
    let store = JetStream::connect(&server.url).await.unwrap();
    let long = unique("consumers");
    // Appended without expectations, so read forwards: 32 direct gets, then a consumer.
    for i in 0..40 {
        store
            .append(&long, vec![event(i, 16)], ExpectRevision::Any)
            .await
            .unwrap();
    }
    for _ in 0..20 {
        assert_eq!(
            store
                .read(&long, ReadFrom::Start, 1024)
                .await
                .unwrap()
                .len(),
            40
        );
    }
    let client = async_nats::connect(&server.url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mine = consumers_on(&client, &long).await;
        if mine == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{mine} consumers left on {long}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many consumers of the adapter's stream filter on the subject of stream `name`
/// (`name` needs no escaping), from the server's consumer list.
async fn consumers_on(client: &async_nats::Client, name: &str) -> usize {
    let subject = format!(
        "$JS.API.CONSUMER.LIST.{}",
        statebench_adapters::jetstream::STREAM
    );
    let reply = client.request(subject, "{}".into()).await.unwrap();
    let listed = String::from_utf8_lossy(&reply.payload);
    assert!(listed.contains("consumer_list_response"), "{listed}");
    listed
        .matches(&format!("\"filter_subject\":\"sb.{name}\""))
        .count()
}

/// What a run of `n` calls cost: wall time, messages sent and server CPU, each per call.
struct Cost {
    wall_us: f64,
    sent: f64,
    server_cpu_us: Option<f64>,
}

async fn cost<F, Fut>(store: &JetStream, pid: Option<u32>, n: usize, mut call: F) -> Cost
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let stats = store.statistics();
    let (sent, cpu, start) = (
        stats.out_messages.load(Ordering::Relaxed),
        pid.and_then(support::cpu_time),
        Instant::now(),
    );
    for i in 0..n {
        call(i).await;
    }
    let wall = start.elapsed();
    let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
    Cost {
        wall_us: per(wall),
        sent: (stats.out_messages.load(Ordering::Relaxed) - sent) as f64 / n as f64,
        server_cpu_us: cpu
            .zip(pid.and_then(support::cpu_time))
            .map(|(before, after)| per(after - before)),
    }
}

fn show(what: &str, c: &Cost) {
    let cpu = c
        .server_cpu_us
        .map_or("?".to_owned(), |us| format!("{us:.0}"));
    println!("| {what} | {:.0} | {:.1} | {cpu} |", c.wall_us, c.sent);
}

/// The cost of each operation, one call at a time, on a stream that holds many subjects
/// (2,000 streams of one event, as a loaded key space), then commands 16 at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run it with --release --ignored --nocapture"]
async fn cost_per_operation() {
    let Some(server) = support::nats() else {
        return;
    };
    let store = Arc::new(JetStream::connect(&server.url).await.unwrap());
    let pid = server.pid;
    let size = 256;
    for i in 0..2_000 {
        fill(&store, &unique(&format!("loaded-{i}")), 1, size).await;
    }
    println!("| operation (one at a time) | wall µs | messages sent | server CPU µs |");
    println!("|---|---:|---:|---:|");
    let n = 2_000;
    let s = unique("append");
    let last = std::cell::Cell::new(fill(&store, &s, 1, size).await.unwrap());
    let c = cost(&store, pid, n, |i| {
        let (store, s, last) = (&store, &s, &last);
        async move {
            let expect = ExpectRevision::Exact(last.get());
            let appended = store.append(s, vec![event(i, size)], expect).await;
            last.set(appended.unwrap().last);
        }
    })
    .await;
    show("append at the expected revision", &c);
    let s = unique("append-any");
    let c = cost(&store, pid, n, |i| {
        let (store, s) = (&store, &s);
        async move {
            store
                .append(s, vec![event(i, size)], ExpectRevision::Any)
                .await
                .unwrap();
        }
    })
    .await;
    show("append, any revision", &c);
    for len in [1, 2, 5, 10, 15, 20, 30, 50, 100, 1000] {
        let s = unique(&format!("read-{len}"));
        fill(&store, &s, len, size).await;
        let calls = (20_000 / len).clamp(50, 2_000);
        let c = cost(&store, pid, calls, |_| {
            let (store, s) = (&store, &s);
            async move {
                let events = store.read(s, ReadFrom::Start, 1024).await.unwrap();
                assert_eq!(events.len(), len);
            }
        })
        .await;
        show(&format!("read a stream of {len}"), &c);
    }
    // Commands as the executor runs them: replay, then append at the last revision read;
    // 100 streams of 10 events, each grown to 20.
    let streams: Vec<String> = (0..100).map(|i| unique(&format!("command-{i}"))).collect();
    for s in &streams {
        fill(&store, s, 10, size).await;
    }
    let c = cost(&store, pid, 1_000, |i| {
        command(&store, &streams[i % 100], i, size)
    })
    .await;
    show("command on a stream of 10 to 19", &c);
    // 16 commands at a time, as a throughput step runs them.
    let streams: Vec<String> = (0..160).map(|i| unique(&format!("busy-{i}"))).collect();
    for s in &streams {
        fill(&store, s, 10, size).await;
    }
    let (cpu, start) = (pid.and_then(support::cpu_time), Instant::now());
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..16 {
        let (store, streams) = (store.clone(), streams.clone());
        tasks.spawn(async move {
            for i in 0..100 {
                command(&store, &streams[worker * 10 + i % 10], i, size).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let took = start.elapsed();
    let cpu = cpu.zip(pid.and_then(support::cpu_time));
    println!(
        "\n16 workers, 1,600 commands on streams of 10 to 19: {:.0} commands/s; server CPU {}",
        1_600.0 / took.as_secs_f64(),
        cpu.map_or("?".to_owned(), |(a, b)| format!(
            "{:.0} µs per command, {:.0} % of one core",
            (b - a).as_secs_f64() * 1e6 / 1_600.0,
            (b - a).as_secs_f64() * 100.0 / took.as_secs_f64()
        ))
    );
}

/// One command: replay the stream, append one event at the last revision read.
async fn command(store: &JetStream, stream: &str, i: usize, size: usize) {
    let events = store.read(stream, ReadFrom::Start, 1024).await.unwrap();
    let last = events.last().expect("a loaded stream").revision;
    store
        .append(stream, vec![event(i, size)], ExpectRevision::Exact(last))
        .await
        .unwrap();
}
