//! `pg-eventlog`: event sourcing on PostgreSQL. One append-only table of events with
//! UNIQUE (stream, revision): of two appends expecting the same revision, the second one's
//! insert collides and is a conflict.

use crate::connect::ConnectError;
use crate::pg::{DEFAULT_CONNECTIONS, Pg, classify, timed};
use crate::{
    Adapter, Appended, Capabilities, Capability, Descriptor, EventData, EventError, EventStore,
    ExpectRevision, ReadFrom, RecordedEvent, Revision, Snapshot, Snapshots, StoreError, Technique,
};
use async_trait::async_trait;
use bytes::Bytes;
use uuid::Uuid;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS statebench_events (
    position bigserial PRIMARY KEY,
    stream text NOT NULL,
    revision bigint NOT NULL,
    event_id uuid,
    event_type text NOT NULL,
    data bytea NOT NULL,
    UNIQUE (stream, revision)
);
CREATE TABLE IF NOT EXISTS statebench_snapshots (
    stream text PRIMARY KEY,
    revision bigint NOT NULL,
    state bytea NOT NULL
)";

/// Appends the events as revisions `$2 + 1 …` if the stream's last revision is `$2` (-1: the
/// stream must not exist; NULL: whatever it is). One statement, so all or none are written.
const APPEND: &str = "WITH last AS (
        SELECT coalesce(max(revision), -1) AS revision FROM statebench_events WHERE stream = $1)
    INSERT INTO statebench_events (stream, revision, event_id, event_type, data)
    SELECT $1, last.revision + e.n, e.id, e.kind, e.data
    FROM last, unnest($3::uuid[], $4::text[], $5::bytea[]) WITH ORDINALITY AS e(id, kind, data, n)
    WHERE $2::bigint IS NULL OR last.revision = $2
    RETURNING revision, position";
const LAST: &str = "SELECT max(revision) FROM statebench_events WHERE stream = $1";
const READ: &str = "SELECT revision, position, event_id, event_type, data FROM statebench_events
    WHERE stream = $1 AND revision > $2 ORDER BY revision LIMIT $3";

const LOAD_SNAPSHOT: &str = "SELECT revision, state FROM statebench_snapshots WHERE stream = $1";
/// Keeps the snapshot of the later revision.
const SAVE_SNAPSHOT: &str =
    "INSERT INTO statebench_snapshots (stream, revision, state) VALUES ($1, $2, $3)
    ON CONFLICT (stream) DO UPDATE SET revision = excluded.revision, state = excluded.state
    WHERE statebench_snapshots.revision < excluded.revision";

/// Appends without expectation retry this often when another append takes the same revision.
const ANY_RETRIES: u32 = 100;

/// What `pg-eventlog` is and promises on this server.
pub fn descriptor(pg: &Pg) -> Descriptor {
    Descriptor {
        adapter: "pg-eventlog".into(),
        technique: Technique::EventSourcing,
        backend: pg.version.clone(),
        capabilities: Capabilities {
            cas: Capability::Supported,
            read_your_writes: Capability::Supported,
            dense_revisions: Capability::Supported,
            kill_durable: pg.kill_durable(),
            atomic_multi_event_append: Capability::Supported,
            idempotent_append: Capability::unsupported("event ids are stored, not deduplicated"),
        },
        settings: pg.settings.clone(),
    }
}

/// An event log table in PostgreSQL.
pub struct PgEventLog {
    pg: Pg,
    descriptor: Descriptor,
}

impl PgEventLog {
    /// Connects to `url` with a pool of [`DEFAULT_CONNECTIONS`] and creates the events table
    /// if needed.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::connect_with(url, DEFAULT_CONNECTIONS).await
    }

    /// Connects to `url` with a pool of at most `connections`, one per client that runs at
    /// once, and creates the events table if needed.
    pub async fn connect_with(url: &str, connections: usize) -> Result<Self, ConnectError> {
        let pg = Pg::connect(url, SCHEMA, connections).await?;
        Ok(Self {
            descriptor: descriptor(&pg),
            pg,
        })
    }

    async fn last(
        &self,
        client: &mut crate::pg::Conn,
        stream: &str,
    ) -> Result<Option<Revision>, EventError> {
        let statement = client
            .prepare_cached(LAST)
            .await
            .map_err(|e| classify(&e))?;
        let row = client
            .query_one(&statement, &[&stream])
            .await
            .map_err(|e| classify(&e))?;
        Ok(row.get::<_, Option<i64>>(0).map(revision))
    }
}

impl Adapter for PgEventLog {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
}

fn revision(raw: i64) -> Revision {
    Revision::from_raw(u64::try_from(raw).unwrap_or(0))
}

fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|db| db.code().code() == "23505")
}

#[async_trait]
impl Snapshots for PgEventLog {
    async fn load_snapshot(&self, stream: &str) -> Result<Option<Snapshot>, EventError> {
        timed(async {
            let mut client = self.pg.conn().await?;
            let statement = client
                .prepare_cached(LOAD_SNAPSHOT)
                .await
                .map_err(|e| classify(&e))?;
            let row = client
                .query_opt(&statement, &[&stream])
                .await
                .map_err(|e| classify(&e))?;
            Ok(row.map(|row| Snapshot {
                revision: revision(row.get(0)),
                state: Bytes::from(row.get::<_, Vec<u8>>(1)),
            }))
        })
        .await
    }

    async fn save_snapshot(&self, stream: &str, snapshot: Snapshot) -> Result<(), EventError> {
        let at = i64::try_from(snapshot.revision.raw()).unwrap_or(i64::MAX);
        let state: &[u8] = &snapshot.state;
        timed(async {
            let mut client = self.pg.conn().await?;
            let statement = client
                .prepare_cached(SAVE_SNAPSHOT)
                .await
                .map_err(|e| classify(&e))?;
            client
                .execute(&statement, &[&stream, &at, &state])
                .await
                .map_err(|e| classify(&e))?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl EventStore for PgEventLog {
    async fn append(
        &self,
        stream: &str,
        events: Vec<EventData>,
        expect: ExpectRevision,
    ) -> Result<Appended, EventError> {
        EventData::require_some(&events)?;
        let ids: Vec<Option<Uuid>> = events.iter().map(|e| e.id).collect();
        let kinds: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        let data: Vec<&[u8]> = events.iter().map(|e| e.data.as_ref()).collect();
        let expected: Option<i64> = match expect {
            ExpectRevision::Any => None,
            ExpectRevision::NoStream => Some(-1),
            ExpectRevision::Exact(r) => Some(i64::try_from(r.raw()).unwrap_or(i64::MAX)),
        };
        timed(async {
            let mut client = self.pg.conn().await?;
            let statement = client
                .prepare_cached(APPEND)
                .await
                .map_err(|e| classify(&e))?;
            let mut tries = 0;
            loop {
                match client
                    .query(&statement, &[&stream, &expected, &ids, &kinds, &data])
                    .await
                {
                    Ok(rows) if rows.is_empty() => {
                        return Err(StoreError::Conflict {
                            actual: self.last(&mut client, stream).await?,
                        });
                    }
                    Ok(rows) => {
                        let (last, position) = rows
                            .iter()
                            .map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1)))
                            .max()
                            .expect("rows is not empty");
                        let position = u64::try_from(position).ok();
                        return Ok(Appended {
                            last: revision(last),
                            position,
                        });
                    }
                    // A concurrent append took the revision first.
                    Err(e)
                        if is_unique_violation(&e) && expected.is_none() && tries < ANY_RETRIES =>
                    {
                        tries += 1;
                    }
                    Err(e) if is_unique_violation(&e) => {
                        return Err(StoreError::Conflict {
                            actual: self.last(&mut client, stream).await?,
                        });
                    }
                    Err(e) => return Err(classify(&e)),
                }
            }
        })
        .await
    }

    async fn read(
        &self,
        stream: &str,
        from: ReadFrom,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, EventError> {
        let after: i64 = match from {
            ReadFrom::Start => -1,
            ReadFrom::After(r) => i64::try_from(r.raw()).unwrap_or(i64::MAX),
        };
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        timed(async {
            let mut client = self.pg.conn().await?;
            let statement = client
                .prepare_cached(READ)
                .await
                .map_err(|e| classify(&e))?;
            let rows = client
                .query(&statement, &[&stream, &after, &limit])
                .await
                .map_err(|e| classify(&e))?;
            Ok(rows
                .iter()
                .map(|row| RecordedEvent {
                    revision: revision(row.get(0)),
                    position: u64::try_from(row.get::<_, i64>(1)).ok(),
                    id: row.get(2),
                    event_type: row.get(3),
                    data: Bytes::from(row.get::<_, Vec<u8>>(4)),
                })
                .collect())
        })
        .await
    }
}
