//! The adapters the harness can run, by name: which servers each needs, and how to make its
//! subjects once they are up.

use crate::provision::Backend;
use statebench_adapters::broken::{DoubleAppend, Forgetful, RacyCas, StaleCache};
use statebench_adapters::cache_aside::{CacheAside, Policy};
use statebench_adapters::connect::ConnectError;
use statebench_adapters::http::Http;
use statebench_adapters::jetstream::JetStream;
use statebench_adapters::kurrentdb::KurrentDb;
use statebench_adapters::memory::Memory;
use statebench_adapters::noop::Noop;
use statebench_adapters::pg_eventlog::PgEventLog;
use statebench_adapters::postgres::Postgres;
use statebench_adapters::redis::RedisStore;
use statebench_adapters::redis_conn::Redis;
use statebench_adapters::{Adapter, StateStore};
use statebench_suites::subject::{Subject, Target};
use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;

/// Where each provided server is, and how the results name its provisioning.
#[derive(Clone, Debug, Default)]
pub struct Provided {
    /// URL and a short provisioning label (`docker`, `native`, `external`) per backend.
    pub servers: BTreeMap<Backend, (String, String)>,
    /// An external service for `http`, when given.
    pub http_url: Option<String>,
    /// The most operations a subject has in flight at once in this run (its busiest step's
    /// workers): each PostgreSQL pool opens that many connections at most, and at least
    /// [`FEWEST_CONNECTIONS`].
    pub clients: usize,
}

/// Connections a PostgreSQL pool may open whatever the run's steps: loading the keys and the
/// conformance suite's racing writers run 16 operations at once.
pub const FEWEST_CONNECTIONS: usize = 16;

impl Provided {
    fn url(&self, backend: Backend) -> Result<&str, String> {
        self.servers
            .get(&backend)
            .map(|(url, _)| url.as_str())
            .ok_or_else(|| format!("no {backend} server"))
    }

    /// The size of each PostgreSQL pool.
    fn connections(&self) -> usize {
        self.clients.max(FEWEST_CONNECTIONS)
    }

    fn label(&self, backends: &[Backend]) -> String {
        let labels: Vec<String> = backends
            .iter()
            .filter_map(|b| self.servers.get(b).map(|(_, how)| format!("{b}: {how}")))
            .collect();
        labels.join(", ")
    }
}

/// Subjects, and the background tasks (an in-process service) they need while they run.
#[derive(Default)]
pub struct Made {
    /// The subjects.
    pub subjects: Vec<Subject>,
    /// Tasks to abort when the subjects are done.
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

type Making<'a> = Pin<Box<dyn Future<Output = Result<Made, String>> + Send + 'a>>;

/// An adapter the CLI can name.
pub struct Entry {
    /// The name on the command line.
    pub name: &'static str,
    /// One line for `statebench list`.
    pub about: &'static str,
    /// Whether a run without `--adapters` includes it.
    pub default: bool,
    /// The servers it needs.
    pub needs: &'static [Backend],
    /// The names of the subjects it makes.
    pub subjects: &'static [&'static str],
    /// Makes its subjects (one per interface or policy).
    pub make: for<'a> fn(&'a Provided) -> Making<'a>,
}

/// Every adapter, in report order.
pub const ADAPTERS: &[Entry] = &[
    Entry {
        name: "memory",
        about: "in-process reference, linearizable by construction; the embedded default",
        default: true,
        needs: &[],
        subjects: &["memory:state", "memory:events"],
        make: |_| Box::pin(async { Ok(memory()) }),
    },
    Entry {
        name: "postgres",
        about: "external data store: a PostgreSQL row per key, CAS by UPDATE … WHERE version",
        default: true,
        needs: &[Backend::Postgres],
        subjects: &["postgres"],
        make: |p| Box::pin(postgres(p)),
    },
    Entry {
        name: "redis",
        about: "distributed cache as the primary store: Redis hashes, CAS by a Lua script",
        default: true,
        needs: &[Backend::Redis],
        subjects: &["redis"],
        make: |p| Box::pin(redis_on(p, "redis", Backend::Redis)),
    },
    Entry {
        name: "cache-aside",
        about: "Redis in front of PostgreSQL; policies delete-after-write and version-gated",
        default: true,
        needs: &[Backend::Postgres, Backend::Redis],
        subjects: &["cache-aside", "cache-aside-gated"],
        make: |p| {
            Box::pin(cache_aside_on(
                p,
                "cache-aside",
                Backend::Redis,
                &[
                    ("cache-aside", Policy::DeleteAfterWrite),
                    ("cache-aside-gated", Policy::VersionGated),
                ],
            ))
        },
    },
    Entry {
        name: "valkey",
        about: "distributed cache as the primary store on Valkey: the redis adapter over valkey-server",
        default: true,
        needs: &[Backend::Valkey],
        subjects: &["valkey"],
        make: |p| Box::pin(redis_on(p, "valkey", Backend::Valkey)),
    },
    Entry {
        name: "cache-aside-valkey",
        about: "Valkey in front of PostgreSQL; policy delete-after-write, as cache-aside",
        default: true,
        needs: &[Backend::Postgres, Backend::Valkey],
        subjects: &["cache-aside-valkey"],
        make: |p| {
            Box::pin(cache_aside_on(
                p,
                "cache-aside-valkey",
                Backend::Valkey,
                &[("cache-aside-valkey", Policy::DeleteAfterWrite)],
            ))
        },
    },
    Entry {
        name: "pg-eventlog",
        about: "event sourcing on a PostgreSQL events table, UNIQUE (stream, revision)",
        default: true,
        needs: &[Backend::Postgres],
        subjects: &["pg-eventlog"],
        make: |p| Box::pin(pg_eventlog(p)),
    },
    Entry {
        name: "jetstream",
        about: "event sourcing on NATS JetStream, Nats-Expected-Last-Subject-Sequence",
        default: true,
        needs: &[Backend::Nats],
        subjects: &["jetstream"],
        make: |p| Box::pin(jetstream(p)),
    },
    Entry {
        name: "kurrentdb",
        about: "event sourcing on KurrentDB, expected stream revision",
        default: true,
        needs: &[Backend::KurrentDb],
        subjects: &["kurrentdb"],
        make: |p| Box::pin(kurrentdb(p)),
    },
    Entry {
        name: "http",
        about: "a stateless service over HTTP (statebench-service over postgres, or STATEBENCH_HTTP_URL)",
        default: true,
        needs: &[Backend::Postgres],
        subjects: &["http"],
        make: |p| Box::pin(http(p)),
    },
    Entry {
        name: "broken-cas",
        about: "deliberately broken, to test the checks: CAS as get, compare, yield, blind put",
        default: false,
        needs: &[],
        subjects: &["broken-cas"],
        make: |_| Box::pin(async { Ok(broken_cas()) }),
    },
    Entry {
        name: "broken-append",
        about: "deliberately broken, to test the checks: two appends can win one revision",
        default: false,
        needs: &[],
        subjects: &["broken-append"],
        make: |_| Box::pin(async { Ok(broken_append()) }),
    },
    Entry {
        name: "broken-forgetful",
        about: "deliberately broken, to test the checks: drops 1 in 20 acknowledged writes",
        default: false,
        needs: &[],
        subjects: &["broken-forgetful:state", "broken-forgetful:events"],
        make: |_| Box::pin(async { Ok(broken_forgetful()) }),
    },
    Entry {
        name: "broken-cache",
        about: "deliberately broken, to test the checks: a cache writes never invalidate",
        default: false,
        needs: &[],
        subjects: &["broken-cache"],
        make: |_| Box::pin(async { Ok(broken_cache()) }),
    },
    Entry {
        name: "noop",
        about: "stores nothing and answers at once: measures the harness's own ceiling",
        default: false,
        needs: &[],
        subjects: &["noop:state", "noop:events"],
        make: |_| Box::pin(async { Ok(noop()) }),
    },
];

/// The adapter of that name.
pub fn find(name: &str) -> Option<&'static Entry> {
    ADAPTERS.iter().find(|a| a.name == name)
}

impl Entry {
    /// The servers this adapter needs under `http_url` (an external service needs none).
    pub fn needs(&self, http_url: Option<&str>) -> &'static [Backend] {
        if self.name == "http" && http_url.is_some() {
            &[]
        } else {
            self.needs
        }
    }
}

fn subject(name: &str, target: Target, provisioning: String) -> Subject {
    Subject::new(name, target, provisioning)
}

fn one(subject: Subject) -> Made {
    Made {
        subjects: vec![subject],
        tasks: Vec::new(),
    }
}

fn failed(adapter: &str) -> impl Fn(ConnectError) -> String {
    move |e| format!("{adapter}: {e}")
}

fn memory() -> Made {
    let embedded = || "embedded".to_owned();
    let events = Arc::new(Memory::new());
    Made {
        subjects: vec![
            subject(
                "memory:state",
                Target::State(Arc::new(Memory::new())),
                embedded(),
            ),
            subject("memory:events", Target::Events(events.clone()), embedded())
                .with_snapshots(events),
        ],
        tasks: Vec::new(),
    }
}

fn noop() -> Made {
    let embedded = || "embedded".to_owned();
    Made {
        subjects: vec![
            subject(
                "noop:state",
                Target::State(Arc::new(Noop::default())),
                embedded(),
            ),
            subject(
                "noop:events",
                Target::Events(Arc::new(Noop::default())),
                embedded(),
            ),
        ],
        tasks: Vec::new(),
    }
}

/// Seeds the chance in the broken adapters, so that their runs can be repeated.
const BROKEN_SEED: u64 = 0x5eed;

fn broken_cas() -> Made {
    let store = Arc::new(RacyCas::new(BROKEN_SEED));
    one(subject(
        "broken-cas",
        Target::State(store),
        "embedded".into(),
    ))
}

fn broken_append() -> Made {
    let store = Arc::new(DoubleAppend::new(BROKEN_SEED));
    let subject = subject(
        "broken-append",
        Target::Events(store.clone()),
        "embedded".into(),
    );
    one(subject.with_snapshots(store))
}

fn broken_forgetful() -> Made {
    let embedded = || "embedded".to_owned();
    let state = Arc::new(Forgetful::new(BROKEN_SEED));
    let events = Arc::new(Forgetful::new(BROKEN_SEED));
    Made {
        subjects: vec![
            subject("broken-forgetful:state", Target::State(state), embedded()),
            subject(
                "broken-forgetful:events",
                Target::Events(events.clone()),
                embedded(),
            )
            .with_snapshots(events),
        ],
        tasks: Vec::new(),
    }
}

fn broken_cache() -> Made {
    let store = Arc::new(StaleCache::new());
    one(Subject::layered("broken-cache", store, "embedded"))
}

async fn postgres(p: &Provided) -> Result<Made, String> {
    let store = Postgres::connect_with(p.url(Backend::Postgres)?, p.connections())
        .await
        .map_err(failed("postgres"))?;
    Ok(one(subject(
        "postgres",
        Target::State(Arc::new(store)),
        p.label(&[Backend::Postgres]),
    )))
}

/// The redis adapter on a server of the Redis family (`redis`, `valkey`).
async fn redis_on(p: &Provided, name: &str, backend: Backend) -> Result<Made, String> {
    let store = RedisStore::connect(p.url(backend)?, p.connections())
        .await
        .map_err(failed(name))?;
    Ok(one(subject(
        name,
        Target::State(Arc::new(store)),
        p.label(&[backend]),
    )))
}

/// Cache-aside subjects, one per (subject, policy), over one PostgreSQL pool and one cache of
/// the Redis family.
async fn cache_aside_on(
    p: &Provided,
    adapter: &str,
    cache: Backend,
    policies: &[(&str, Policy)],
) -> Result<Made, String> {
    let truth = Arc::new(
        Postgres::connect_with(p.url(Backend::Postgres)?, p.connections())
            .await
            .map_err(failed(adapter))?,
    );
    let redis = Redis::connect(p.url(cache)?, p.connections())
        .await
        .map_err(failed(adapter))?;
    let label = p.label(&[Backend::Postgres, cache]);
    Ok(Made {
        subjects: policies
            .iter()
            .map(|&(name, policy)| {
                let store = CacheAside::new(truth.clone(), redis.clone(), policy);
                Subject::layered(name, Arc::new(store), label.clone())
            })
            .collect(),
        tasks: Vec::new(),
    })
}

async fn pg_eventlog(p: &Provided) -> Result<Made, String> {
    let url = p.url(Backend::Postgres)?;
    let store = Arc::new(
        PgEventLog::connect_with(url, p.connections())
            .await
            .map_err(failed("pg-eventlog"))?,
    );
    let label = p.label(&[Backend::Postgres]);
    Ok(one(subject(
        "pg-eventlog",
        Target::Events(store.clone()),
        label,
    )
    .with_snapshots(store)))
}

async fn jetstream(p: &Provided) -> Result<Made, String> {
    let store = JetStream::connect(p.url(Backend::Nats)?)
        .await
        .map_err(failed("jetstream"))?;
    Ok(one(subject(
        "jetstream",
        Target::Events(Arc::new(store)),
        p.label(&[Backend::Nats]),
    )))
}

async fn kurrentdb(p: &Provided) -> Result<Made, String> {
    let store = KurrentDb::connect(p.url(Backend::KurrentDb)?)
        .await
        .map_err(failed("kurrentdb"))?;
    Ok(one(subject(
        "kurrentdb",
        Target::Events(Arc::new(store)),
        p.label(&[Backend::KurrentDb]),
    )))
}

async fn http(p: &Provided) -> Result<Made, String> {
    if let Some(url) = &p.http_url {
        let store = Http::connect(url, None).await.map_err(failed("http"))?;
        return Ok(one(subject(
            "http",
            Target::State(Arc::new(store)),
            "external".into(),
        )));
    }
    // The service runs on a runtime (and worker threads) of its own, as a service would run in
    // its own process; its PostgreSQL connections live there too. It still shares this
    // machine's cores with the load generator, and the label says so.
    let url = p.url(Backend::Postgres)?.to_owned();
    let connections = p.connections();
    let (described_tx, described_rx) = tokio::sync::oneshot::channel();
    let service = statebench_service::spawn_dedicated(
        statebench_suites::engine::available_cpus(),
        move || {
            Box::pin(async move {
                let behind = Postgres::connect_with(&url, connections)
                    .await
                    .map_err(|e| format!("its PostgreSQL: {e}"))?;
                let _ = described_tx.send(behind.descriptor().clone());
                Ok(Arc::new(behind) as Arc<dyn StateStore>)
            })
        },
    )
    .await
    .map_err(|e| format!("http: cannot start statebench-service: {e}"))?;
    let described = described_rx
        .await
        .map_err(|_| "http: statebench-service did not describe its store".to_owned())?;
    let store = Http::connect(&service.base, Some(&described))
        .await
        .map_err(failed("http"))?;
    let label = format!(
        "statebench-service in process on its own tokio runtime ({} worker threads), sharing \
         this machine's {} cores with the load generator; {}",
        service.threads,
        statebench_suites::engine::available_cpus(),
        p.label(&[Backend::Postgres])
    );
    // Aborting the task (when the subjects are done) drops the service, which stops it.
    let task = tokio::spawn(async move {
        let _service = service;
        std::future::pending::<()>().await;
    });
    Ok(Made {
        subjects: vec![subject("http", Target::State(Arc::new(store)), label)],
        tasks: vec![task],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn adapters_without_servers_make_the_subjects_they_declare() {
        let provided = Provided::default();
        for entry in ADAPTERS.iter().filter(|e| e.needs.is_empty()) {
            let made = (entry.make)(&provided).await.unwrap();
            let names: Vec<&str> = made.subjects.iter().map(|s| s.name.as_str()).collect();
            assert_eq!(names, entry.subjects, "{}", entry.name);
        }
    }
}
