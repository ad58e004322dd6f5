//! `kurrentdb`: event sourcing on KurrentDB, the event store, through its official client.
//! An append carries the expected stream revision; revisions are dense (0, 1, 2, …).

use crate::connect::{CONNECT_TIMEOUT, ConnectError, redact, within};
use crate::{
    Adapter, Appended, Capabilities, Capability, Descriptor, EventData, EventError, EventStore,
    ExpectRevision, ReadFrom, RecordedEvent, Revision, StoreError, Technique,
};
use async_trait::async_trait;
use kurrentdb::{
    AppendToStreamOptions, Client, ClientSettings, CurrentRevision, ReadStreamOptions,
    StreamPosition, StreamState,
};

/// What `kurrentdb` is and promises.
pub fn descriptor() -> Descriptor {
    Descriptor {
        adapter: "kurrentdb".into(),
        technique: Technique::EventSourcing,
        backend: "KurrentDB".into(),
        capabilities: Capabilities {
            cas: Capability::Supported,
            read_your_writes: Capability::Supported,
            dense_revisions: Capability::Supported,
            kill_durable: Capability::Supported,
            atomic_multi_event_append: Capability::Supported,
            idempotent_append: Capability::Supported,
        },
        settings: [("node", "single, insecure")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    }
}

/// Streams in KurrentDB.
pub struct KurrentDb {
    client: Client,
    descriptor: Descriptor,
}

impl KurrentDb {
    /// Connects to `url` (`kurrentdb://host:2113?tls=false`) and checks that it answers.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        let settings: ClientSettings = url
            .parse()
            .map_err(|e| ConnectError::Invalid(format!("KurrentDB URL `{}`: {e}", redact(url))))?;
        let client = Client::new(settings).map_err(|e| ConnectError::Invalid(e.to_string()))?;
        let store = Self {
            client,
            descriptor: descriptor(),
        };
        let probe = async {
            store
                .read("$statebench-probe", ReadFrom::Start, 1)
                .await
                .map_err(|e| e.to_string())
        };
        within(CONNECT_TIMEOUT, probe, || {
            format!("no answer from {} in {CONNECT_TIMEOUT:?}", redact(url))
        })
        .await
        .map_err(ConnectError::Unreachable)?;
        Ok(store)
    }
}

impl Adapter for KurrentDb {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
}

/// The stream state an expectation asks for.
fn stream_state(expect: ExpectRevision) -> StreamState {
    match expect {
        ExpectRevision::Any => StreamState::Any,
        ExpectRevision::NoStream => StreamState::NoStream,
        ExpectRevision::Exact(r) => StreamState::StreamRevision(r.raw()),
    }
}

/// Classifies a client error for the contract.
fn classify(e: kurrentdb::Error) -> EventError {
    match e {
        kurrentdb::Error::WrongExpectedVersion { current, .. } => StoreError::Conflict {
            actual: match current {
                CurrentRevision::Current(r) => Some(Revision::from_raw(r)),
                CurrentRevision::NoStream => None,
            },
        },
        kurrentdb::Error::DeadlineExceeded => StoreError::Timeout(e.to_string()),
        // Refusals that happen before anything is written.
        kurrentdb::Error::AccessDenied
        | kurrentdb::Error::UnsupportedFeature
        | kurrentdb::Error::InitializationError(_)
        | kurrentdb::Error::IllegalStateError(_) => StoreError::Fatal(e.to_string()),
        // Anything else may come after the append reached the server.
        other => StoreError::Unavailable(other.to_string()),
    }
}

async fn timed<R>(future: impl Future<Output = Result<R, EventError>>) -> Result<R, EventError> {
    crate::connect::timed("KurrentDB", future).await
}

#[async_trait]
impl EventStore for KurrentDb {
    async fn append(
        &self,
        stream: &str,
        events: Vec<EventData>,
        expect: ExpectRevision,
    ) -> Result<Appended, EventError> {
        EventData::require_some(&events)?;
        let events: Vec<kurrentdb::EventData> = events
            .into_iter()
            .map(|e| {
                let data = kurrentdb::EventData::binary(e.event_type, e.data);
                match e.id {
                    Some(id) => data.id(id),
                    None => data,
                }
            })
            .collect();
        let options = AppendToStreamOptions::default().stream_state(stream_state(expect));
        timed(async {
            let written = self
                .client
                .append_to_stream(stream, &options, events)
                .await
                .map_err(classify)?;
            Ok(Appended {
                last: Revision::from_raw(written.next_expected_version),
                position: Some(written.position.commit),
            })
        })
        .await
    }

    async fn read(
        &self,
        stream: &str,
        from: ReadFrom,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, EventError> {
        let position = match from {
            ReadFrom::Start => StreamPosition::Start,
            ReadFrom::After(r) => StreamPosition::Position(r.raw() + 1),
        };
        let options = ReadStreamOptions::default()
            .forwards()
            .position(position)
            .max_count(max);
        timed(async {
            let mut reading = match self.client.read_stream(stream, &options).await {
                Ok(reading) => reading,
                Err(kurrentdb::Error::ResourceNotFound) => return Ok(Vec::new()),
                Err(e) => return Err(classify(e)),
            };
            let mut events = Vec::new();
            loop {
                match reading.next().await {
                    Ok(Some(resolved)) => {
                        let e = resolved.get_original_event();
                        events.push(RecordedEvent {
                            revision: Revision::from_raw(e.revision),
                            position: Some(e.position.commit),
                            id: Some(e.id),
                            event_type: e.event_type.clone(),
                            data: e.data.clone(),
                        });
                    }
                    Ok(None) => return Ok(events),
                    Err(kurrentdb::Error::ResourceNotFound) => return Ok(Vec::new()),
                    Err(e) => return Err(classify(e)),
                }
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_map_to_stream_states() {
        assert_eq!(stream_state(ExpectRevision::Any), StreamState::Any);
        assert_eq!(
            stream_state(ExpectRevision::NoStream),
            StreamState::NoStream
        );
        let exact = ExpectRevision::Exact(Revision::from_raw(4));
        assert_eq!(stream_state(exact), StreamState::StreamRevision(4));
    }

    #[test]
    fn errors_map_to_their_kind() {
        let conflict = kurrentdb::Error::WrongExpectedVersion {
            current: CurrentRevision::Current(7),
            expected: StreamState::StreamRevision(6),
        };
        assert_eq!(
            classify(conflict),
            StoreError::Conflict {
                actual: Some(Revision::from_raw(7))
            }
        );
        let missing = kurrentdb::Error::WrongExpectedVersion {
            current: CurrentRevision::NoStream,
            expected: StreamState::StreamRevision(0),
        };
        assert_eq!(classify(missing), StoreError::Conflict { actual: None });
        assert!(matches!(
            classify(kurrentdb::Error::DeadlineExceeded),
            StoreError::Timeout(_)
        ));
        assert!(matches!(
            classify(kurrentdb::Error::AccessDenied),
            StoreError::Fatal(_)
        ));
    }

    #[tokio::test]
    async fn a_bad_url_is_invalid_and_a_silent_one_unreachable_within_seconds() {
        let bad = KurrentDb::connect("http://nope").await.err();
        assert!(matches!(bad, Some(ConnectError::Invalid(_))), "{bad:?}");
        let started = std::time::Instant::now();
        let silent = KurrentDb::connect("kurrentdb://127.0.0.1:1?tls=false")
            .await
            .err();
        assert!(
            matches!(silent, Some(ConnectError::Unreachable(_))),
            "{silent:?}"
        );
        assert!(started.elapsed() < CONNECT_TIMEOUT * 2);
    }
}
