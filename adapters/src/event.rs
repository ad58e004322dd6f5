//! The event contract: one append-only stream per aggregate.

use crate::{Adapter, EventError, Revision};
use async_trait::async_trait;
use bytes::Bytes;
use uuid::Uuid;

/// What an [`EventStore::append`] expects of the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectRevision {
    /// No expectation.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream's last event must be at exactly this revision.
    Exact(Revision),
}

/// Where a read starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadFrom {
    /// The first event of the stream.
    Start,
    /// The first event after this revision (for example after a snapshot).
    After(Revision),
}

/// An event to append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventData {
    /// An id for idempotent appends; adapters that need one make one up when absent.
    pub id: Option<Uuid>,
    /// The event's type name, for example `Deposited`.
    pub event_type: String,
    /// The payload.
    pub data: Bytes,
}

impl EventData {
    /// Refuses an append of no events, as every event store must.
    pub fn require_some(events: &[EventData]) -> Result<(), EventError> {
        if events.is_empty() {
            return Err(crate::StoreError::Fatal(
                "an append needs at least one event".into(),
            ));
        }
        Ok(())
    }
}

/// An event as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    /// Its revision in its stream.
    pub revision: Revision,
    /// Its position in the whole store, where the backend has one.
    pub position: Option<u64>,
    /// The id it was appended with, where the backend keeps one.
    pub id: Option<Uuid>,
    /// The event's type name.
    pub event_type: String,
    /// The payload.
    pub data: Bytes,
}

/// What an acknowledged append reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The revision of the last event appended.
    pub last: Revision,
    /// Its position in the whole store, where the backend has one.
    pub position: Option<u64>,
}

/// One append-only stream per aggregate.
///
/// Of N concurrent appends with the same `ExpectRevision::Exact(r)`, exactly one succeeds and
/// the others get [`StoreError::Conflict`](crate::StoreError::Conflict).
#[async_trait]
pub trait EventStore: Adapter {
    /// Appends `events` (at least one) if `expect` holds.
    async fn append(
        &self,
        stream: &str,
        events: Vec<EventData>,
        expect: ExpectRevision,
    ) -> Result<Appended, EventError>;

    /// The events of `stream` in stream order, starting at `from`: `max` of them, or fewer
    /// only when the stream has no more. Empty when the stream does not exist.
    async fn read(
        &self,
        stream: &str,
        from: ReadFrom,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, EventError>;
}

/// An aggregate's state as of one revision, so that loading it reads only later events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The revision of the last event the state includes.
    pub revision: Revision,
    /// The state, encoded by the domain.
    pub state: Bytes,
}

/// Snapshots of streams, kept beside an [`EventStore`] by adapters that offer them.
#[async_trait]
pub trait Snapshots: Adapter {
    /// The newest snapshot of `stream`, if one was saved.
    async fn load_snapshot(&self, stream: &str) -> Result<Option<Snapshot>, EventError>;

    /// Saves `snapshot`, unless one of a later revision is saved already.
    async fn save_snapshot(&self, stream: &str, snapshot: Snapshot) -> Result<(), EventError>;
}
