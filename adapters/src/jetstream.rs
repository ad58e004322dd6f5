//! `jetstream`: event sourcing on NATS JetStream. One stream holds every aggregate; each
//! aggregate is one subject. An append with an expectation carries
//! `Nats-Expected-Last-Subject-Sequence`; revisions are stream sequences (not dense).

use crate::connect::{CONNECT_TIMEOUT, ConnectError, OPERATION_TIMEOUT, redact, within};
use crate::{
    Adapter, Appended, Capabilities, Capability, Descriptor, EventData, EventError, EventStore,
    ExpectRevision, ReadFrom, RecordedEvent, Revision, StoreError, Technique,
};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, context::PublishErrorKind, stream};
use async_trait::async_trait;
use std::time::Duration;

/// The JetStream stream that holds every aggregate.
pub const STREAM: &str = "STATEBENCH";
/// Subjects are `sb.<escaped aggregate name>`.
const SUBJECT_PREFIX: &str = "sb.";
/// Repeated message ids within this window are dropped: idempotent appends.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
const EVENT_TYPE: &str = "Statebench-Event-Type";

/// What `jetstream` is and promises on this server.
pub fn descriptor(version: &str) -> Descriptor {
    Descriptor {
        adapter: "jetstream".into(),
        technique: Technique::EventSourcing,
        backend: format!("NATS {version} (JetStream)"),
        capabilities: Capabilities {
            cas: Capability::Supported,
            read_your_writes: Capability::Supported,
            dense_revisions: Capability::unsupported(
                "revisions are stream sequences, shared by every subject",
            ),
            kill_durable: Capability::Supported,
            atomic_multi_event_append: Capability::unsupported(
                "events are published one message at a time (atomic batches need NATS 2.12)",
            ),
            idempotent_append: Capability::Supported,
        },
        settings: [
            ("storage", "file"),
            ("replicas", "1"),
            ("duplicate_window", "2m"),
            (
                "sync",
                "server default: written to the OS at once, fsync every 2 min",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
    }
}

/// Aggregates as subjects of one JetStream stream.
pub struct JetStream {
    context: jetstream::Context,
    stream: jetstream::stream::Stream,
    descriptor: Descriptor,
}

impl JetStream {
    /// Connects to `url` (`nats://host:port`) and creates the stream if needed.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        if !url.starts_with("nats://") && !url.starts_with("tls://") {
            let shown = redact(url);
            return Err(ConnectError::Invalid(format!(
                "NATS URL `{shown}`: expected nats://host:port"
            )));
        }
        let connecting = async_nats::ConnectOptions::new()
            .connection_timeout(CONNECT_TIMEOUT)
            .request_timeout(Some(OPERATION_TIMEOUT));
        let client = within(
            CONNECT_TIMEOUT,
            async { connecting.connect(url).await.map_err(|e| e.to_string()) },
            || format!("no answer from {} in {CONNECT_TIMEOUT:?}", redact(url)),
        )
        .await
        .map_err(ConnectError::Unreachable)?;
        let version = client.server_info().version;
        let context = jetstream::new(client);
        let config = stream::Config {
            name: STREAM.into(),
            subjects: vec![format!("{SUBJECT_PREFIX}>")],
            storage: stream::StorageType::File,
            num_replicas: 1,
            duplicate_window: DUPLICATE_WINDOW,
            allow_direct: true,
            ..Default::default()
        };
        let creating = async {
            context
                .get_or_create_stream(config)
                .await
                .map_err(|e| e.to_string())
        };
        let stream = within(CONNECT_TIMEOUT, creating, || {
            "no answer from JetStream".to_owned()
        })
        .await
        .map_err(|e| {
            ConnectError::Unusable(format!(
                "creating the JetStream stream (is JetStream on?): {e}"
            ))
        })?;
        Ok(Self {
            context,
            stream,
            descriptor: descriptor(&version),
        })
    }

    /// The connection's counters (messages and bytes sent and received), for measuring
    /// what an operation costs in round trips.
    pub fn statistics(&self) -> std::sync::Arc<async_nats::Statistics> {
        self.context.client().statistics()
    }
}

impl Adapter for JetStream {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
}

/// The subject of an aggregate: characters NATS gives meaning to (and `%`) are escaped.
fn subject(stream: &str) -> String {
    let mut out = String::with_capacity(SUBJECT_PREFIX.len() + stream.len());
    out.push_str(SUBJECT_PREFIX);
    for byte in stream.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_/:=+~@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The sequence a "wrong last sequence: N" error reports.
fn reported_sequence(e: &impl std::fmt::Display) -> Option<Revision> {
    let text = e.to_string();
    let digits: String = text
        .rsplit(':')
        .next()?
        .trim()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .map(Revision::from_raw)
}

async fn timed<R>(future: impl Future<Output = Result<R, EventError>>) -> Result<R, EventError> {
    crate::connect::timed("JetStream", future).await
}

impl JetStream {
    async fn publish(
        &self,
        subject: &str,
        event: EventData,
        expected: Option<u64>,
    ) -> Result<u64, EventError> {
        let mut message = PublishMessage::build()
            .payload(event.data)
            .header(EVENT_TYPE, event.event_type.as_str());
        if let Some(id) = event.id {
            message = message.message_id(id.to_string());
        }
        if let Some(sequence) = expected {
            message = message.expected_last_subject_sequence(sequence);
        }
        let ack = match self.context.send_publish(subject.to_owned(), message).await {
            Ok(pending) => pending.await,
            Err(e) => Err(e),
        };
        match ack {
            Ok(ack) => Ok(ack.sequence),
            Err(e) => Err(match e.kind() {
                PublishErrorKind::WrongLastSequence => StoreError::Conflict {
                    actual: reported_sequence(&e),
                },
                PublishErrorKind::TimedOut => StoreError::Timeout(e.to_string()),
                PublishErrorKind::StreamNotFound | PublishErrorKind::MaxPayloadExceeded => {
                    StoreError::Fatal(e.to_string())
                }
                _ => StoreError::Unavailable(e.to_string()),
            }),
        }
    }
}

#[async_trait]
impl EventStore for JetStream {
    async fn append(
        &self,
        stream: &str,
        events: Vec<EventData>,
        expect: ExpectRevision,
    ) -> Result<Appended, EventError> {
        EventData::require_some(&events)?;
        let subject = subject(stream);
        let mut expected = match expect {
            ExpectRevision::Any => None,
            ExpectRevision::NoStream => Some(0),
            ExpectRevision::Exact(r) => Some(r.raw()),
        };
        timed(async {
            let mut last = 0;
            for (i, event) in events.into_iter().enumerate() {
                last = match self.publish(&subject, event, expected).await {
                    Ok(sequence) => sequence,
                    // Once part of the batch is stored, no failure of the rest is definite:
                    // the append happened in part.
                    Err(e) if i > 0 => {
                        return Err(StoreError::Unavailable(format!(
                            "{i} events stored, then: {e}"
                        )));
                    }
                    Err(e) => return Err(e),
                };
                // Later events of the batch follow the earlier ones directly.
                expected = expected.map(|_| last);
            }
            Ok(Appended {
                last: Revision::from_raw(last),
                position: Some(last),
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
        let subject = subject(stream);
        let mut next = match from {
            ReadFrom::Start => 1,
            ReadFrom::After(r) => r.raw() + 1,
        };
        timed(async {
            // The subject's last message first: asking for "the next message after the last
            // one" makes the server look through the rest of the stream, so never ask that.
            let last = match self
                .stream
                .direct_get_last_for_subject(subject.as_str())
                .await
            {
                Ok(message) => message.sequence,
                Err(e) => return missing_or_error(e.kind(), e.to_string()).map(|()| Vec::new()),
            };
            let mut events = Vec::new();
            while events.len() < max && next <= last {
                let message = match self
                    .stream
                    .direct_get_next_for_subject(subject.as_str(), Some(next))
                    .await
                {
                    Ok(message) => message,
                    Err(e) => {
                        missing_or_error(e.kind(), e.to_string())?;
                        break;
                    }
                };
                next = message.sequence + 1;
                events.push(recorded(message));
            }
            Ok(events)
        })
        .await
    }
}

/// `Ok` for "no such message", the error's classification otherwise.
fn missing_or_error(kind: stream::DirectGetErrorKind, message: String) -> Result<(), EventError> {
    match kind {
        stream::DirectGetErrorKind::NotFound => Ok(()),
        stream::DirectGetErrorKind::TimedOut => Err(StoreError::Timeout(message)),
        _ => Err(StoreError::Unavailable(message)),
    }
}

fn recorded(message: async_nats::jetstream::message::StreamMessage) -> RecordedEvent {
    let header = |name: &str| message.headers.get(name).map(|v| v.as_str().to_owned());
    RecordedEvent {
        revision: Revision::from_raw(message.sequence),
        position: Some(message.sequence),
        id: header(async_nats::header::NATS_MESSAGE_ID.as_ref())
            .and_then(|v| uuid::Uuid::parse_str(&v).ok()),
        event_type: header(EVENT_TYPE).unwrap_or_default(),
        data: message.payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_escape_what_nats_gives_meaning_to() {
        assert_eq!(subject("sb-1/acct-7"), "sb.sb-1/acct-7");
        assert_eq!(subject("a.b c*>%"), "sb.a%2Eb%20c%2A%3E%25");
    }

    #[test]
    fn the_actual_sequence_is_read_from_the_error() {
        assert_eq!(
            reported_sequence(&"wrong last sequence: 42"),
            Some(Revision::from_raw(42))
        );
        assert_eq!(reported_sequence(&"wrong last sequence"), None);
    }
}
