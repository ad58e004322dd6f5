//! A measurement, not run by default: do acknowledged writes survive SIGKILL of the server?
//! Native PostgreSQL (fsync on), Redis (append-only file synced every second, and with
//! persistence off) and NATS JetStream (file storage) are killed under four concurrent
//! writers, restarted on their data, and every acknowledged write is looked for. The
//! adapter's declared `kill_durable` is checked against what was measured.
//!
//! ```text
//! cargo test -p statebench --test kill_durability -- --ignored --nocapture
//! STATEBENCH_KILLS=50 cargo test -p statebench --test kill_durability -- --ignored --nocapture
//! ```

mod support;

use bytes::Bytes;
use statebench::provision::{Backend, Persistence, Server};
use statebench_adapters::jetstream::JetStream;
use statebench_adapters::postgres::Postgres;
use statebench_adapters::redis::RedisStore;
use statebench_adapters::{
    Adapter, Capability, Descriptor, EventData, EventStore, Expect, ExpectRevision, ReadFrom,
    Revision, StateStore,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use support::faults::{
    WRITERS, WRITES_PER_WRITER, bytes, eventually, with_server, write_until_killed,
};

/// Kills per configuration, unless `STATEBENCH_KILLS` says otherwise.
const KILLS: usize = 10;

/// What the kills of one configuration found.
#[derive(Debug, Default)]
struct Tally {
    settings: String,
    declared: String,
    acked: usize,
    found: usize,
    lost_per_kill: Vec<usize>,
    /// Writes that failed (indefinitely) and were found after the restart anyway.
    failed_but_found: usize,
    failed: usize,
}

impl Tally {
    fn new(descriptor: &Descriptor) -> Self {
        Self {
            settings: format!("{:?}", descriptor.settings),
            declared: match &descriptor.capabilities.kill_durable {
                Capability::Supported => "kill-durable".into(),
                other => format!("{other:?}"),
            },
            ..Self::default()
        }
    }

    /// Adds one kill: writes acknowledged, of them found, failed, of them found.
    fn add(&mut self, acked: usize, found: usize, failed: usize, failed_but_found: usize) {
        self.acked += acked;
        self.found += found;
        self.lost_per_kill.push(acked - found);
        self.failed += failed;
        self.failed_but_found += failed_but_found;
    }

    fn lost(&self) -> usize {
        self.acked - self.found
    }
}

/// Kills at a different moment of the server's sync cycle each round.
fn before_kill(round: usize) -> usize {
    500 + (round * 733) % 4000
}

fn kills() -> usize {
    std::env::var("STATEBENCH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| (1..=1000).contains(n))
        .unwrap_or(KILLS)
}

/// Kills `server` `rounds` times under writes through `store`, restarting it each time.
async fn measure(server: Server, store: Arc<dyn StateStore>, rounds: usize) -> Tally {
    let faults = server.faults();
    let mut tally = Tally::new(store.descriptor());
    for round in 0..rounds {
        let writer = store.clone();
        let (acked, failed) = write_until_killed(&faults, before_kill(round), move |w, n| {
            let store = writer.clone();
            async move {
                let key = format!("r{round}-w{w}-{n}");
                match store.put(&key, bytes(&key), Expect::Absent).await {
                    Ok(_) => Ok(key),
                    Err(e) => Err((key, e)),
                }
            }
        })
        .await;
        faults.restart().await.unwrap();
        eventually("a read after restart", || store.get("probe")).await;
        let found = count_found(&*store, acked.iter()).await;
        let failed_but_found = count_found(&*store, failed.iter().map(|(k, _)| k)).await;
        tally.add(acked.len(), found, failed.len(), failed_but_found);
    }
    server.shutdown().await;
    tally
}

/// How many of `keys` hold their own name as value.
async fn count_found<'a>(store: &dyn StateStore, keys: impl Iterator<Item = &'a String>) -> usize {
    let mut found = 0;
    for key in keys {
        let value = store.get(key).await.unwrap().map(|v| v.value);
        found += usize::from(value == Some(bytes(key)));
    }
    found
}

async fn redis(server: Server, rounds: usize) -> Tally {
    let store = RedisStore::connect(&server.url, 16).await.unwrap();
    measure(server, Arc::new(store), rounds).await
}

async fn postgres(server: Server, rounds: usize) -> Tally {
    let store = Postgres::connect(&server.url).await.unwrap();
    measure(server, Arc::new(store), rounds).await
}

/// Kills `server` `rounds` times under appends to one stream per writer and round.
async fn jetstream(server: Server, rounds: usize) -> Tally {
    let faults = server.faults();
    let js = Arc::new(JetStream::connect(&server.url).await.unwrap());
    let mut tally = Tally::new(js.descriptor());
    for round in 0..rounds {
        let writer = js.clone();
        let (acked, failed) = write_until_killed(&faults, before_kill(round), move |w, n| {
            let js = writer.clone();
            async move {
                let data = bytes(&n.to_string());
                let event = EventData {
                    id: None,
                    event_type: "Written".into(),
                    data: data.clone(),
                };
                let stream = format!("r{round}-w{w}");
                let done = js.append(&stream, vec![event], ExpectRevision::Any).await?;
                Ok::<_, statebench_adapters::EventError>((w, done.last, data))
            }
        })
        .await;
        faults.restart().await.unwrap();
        let (mut found, mut unacknowledged) = (0, 0);
        for w in 0..WRITERS {
            let stream = format!("r{round}-w{w}");
            let read = eventually("a read after restart", || {
                js.read(&stream, ReadFrom::Start, WRITES_PER_WRITER * 2)
            })
            .await;
            let events: BTreeMap<Revision, Bytes> =
                read.into_iter().map(|e| (e.revision, e.data)).collect();
            let kept = acked
                .iter()
                .filter(|(by, revision, data)| *by == w && events.get(revision) == Some(data))
                .count();
            found += kept;
            unacknowledged += events.len() - kept;
        }
        tally.add(acked.len(), found, failed.len(), unacknowledged);
    }
    server.shutdown().await;
    tally
}

fn report(name: &str, tally: &Tally) {
    eprintln!(
        "{name}: {} kills, {} writes acknowledged, {} found after restart, {} lost \
         (per kill {:?}); {} failed as indefinite, {} of them found; declared {}; settings {}",
        tally.lost_per_kill.len(),
        tally.acked,
        tally.found,
        tally.lost(),
        tally.lost_per_kill,
        tally.failed,
        tally.failed_but_found,
        tally.declared,
        tally.settings,
    );
}

#[test]
#[ignore = "a measurement of about a minute; run with --ignored --nocapture"]
fn acknowledged_writes_through_sigkill_on_native_servers() {
    let rounds = kills();
    let runs = [
        (
            "postgres, fsync on",
            Backend::Postgres,
            Persistence::Durable,
        ),
        (
            "redis, appendfsync everysec",
            Backend::Redis,
            Persistence::Durable,
        ),
        ("redis, persistence off", Backend::Redis, Persistence::Off),
        (
            "valkey, appendfsync everysec",
            Backend::Valkey,
            Persistence::Durable,
        ),
        (
            "jetstream, file storage",
            Backend::Nats,
            Persistence::Durable,
        ),
    ];
    for (name, backend, persistence) in runs {
        let measured = with_server(backend, "native", persistence, |server| async move {
            match backend {
                Backend::Postgres => postgres(server, rounds).await,
                Backend::Redis | Backend::Valkey => redis(server, rounds).await,
                _ => jetstream(server, rounds).await,
            }
        });
        let Some(tally) = measured else { return };
        report(name, &tally);
        assert!(tally.acked > 0, "{name}: nothing was acknowledged");
        if tally.declared == "kill-durable" {
            assert_eq!(
                tally.lost(),
                0,
                "{name} declares kill-durable and lost writes"
            );
        } else {
            // Not a durable store: losses are expected; none would mean the kill did not
            // take the server's memory with it.
            assert!(tally.lost() > 0, "{name}: nothing lost without persistence");
        }
    }
}
