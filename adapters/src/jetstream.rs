//! `jetstream`: event sourcing on NATS JetStream. One stream holds every aggregate; each
//! aggregate is one subject. An append with an expectation carries
//! `Nats-Expected-Last-Subject-Sequence`; revisions are stream sequences (not dense).
//!
//! Reads go backwards: the subject's last message, then each message's predecessor by its
//! sequence, which the append wrote in a header (the server checked it against the
//! expectation). NATS 2.9 and 2.10 answer "the next message of this subject after sequence
//! n" by looking at every message after n until one matches, so reading forwards costs the
//! server in proportion to everything appended between two events of one aggregate; a get
//! by sequence is a lookup. Events appended without an expectation carry no link, and what
//! precedes them is read forwards.

use crate::connect::{CONNECT_TIMEOUT, ConnectError, OPERATION_TIMEOUT, redact, within};
use crate::{
    Adapter, Appended, Capabilities, Capability, Descriptor, EventData, EventError, EventStore,
    ExpectRevision, ReadFrom, RecordedEvent, Revision, StoreError, Technique,
};
use async_nats::HeaderMap;
use async_nats::jetstream::message::{PublishMessage, StreamMessage};
use async_nats::jetstream::{self, consumer, context::PublishErrorKind, stream};
use async_trait::async_trait;
use bytes::Bytes;
use futures_core::Stream as _;
use std::time::Duration;

/// The JetStream stream that holds every aggregate.
pub const STREAM: &str = "STATEBENCH";
/// Subjects are `sb.<escaped aggregate name>`.
const SUBJECT_PREFIX: &str = "sb.";
/// Repeated message ids within this window are dropped: idempotent appends.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
const EVENT_TYPE: &str = "Statebench-Event-Type";
/// The stream sequence of the event before this one in its stream (0: none), written when
/// the append had an expectation, so the server checked it.
const PREVIOUS: &str = "Statebench-Previous";

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
            message = message
                .expected_last_subject_sequence(sequence)
                .header(PREVIOUS, sequence.to_string().as_str());
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
        let next = match from {
            ReadFrom::Start => 1,
            ReadFrom::After(r) => r.raw() + 1,
        };
        timed(async {
            if max == 0 {
                return Ok(Vec::new());
            }
            let last = self.stream.direct_get_last_for_subject(subject.as_str());
            let Some(last) = found(last.await)? else {
                return Ok(Vec::new());
            };
            if last.sequence < next {
                return Ok(Vec::new());
            }
            // Back from the last event along the sequences of their predecessors: a get by
            // sequence costs the server a lookup, where "the next message of this subject
            // after sequence n" makes it look at every message after n until one matches.
            let mut back = vec![last];
            loop {
                let oldest = &back[back.len() - 1];
                let at = oldest.sequence;
                let before = match previous(oldest) {
                    Some(before) if before < next => return Ok(newest_last(Vec::new(), back, max)),
                    Some(before) if back.len() < max => before,
                    // More events than asked for: the first `max`, forwards.
                    Some(_) => return self.forward(&subject, next, u64::MAX, max).await,
                    // Appended without an expectation: what came before it, forwards.
                    None => {
                        let start = self.forward(&subject, next, at - 1, max).await?;
                        return Ok(newest_last(start, back, max));
                    }
                };
                match found(self.stream.direct_get(before).await)? {
                    Some(message) if message.subject.as_str() == subject => back.push(message),
                    // Not what the link promised: read what the server has instead.
                    _ => {
                        let start = self.forward(&subject, next, at - 1, max).await?;
                        return Ok(newest_last(start, back, max));
                    }
                }
            }
        })
        .await
    }
}

/// `start` (read forwards) then `back` (read backwards), the first `max` of them.
fn newest_last(
    mut start: Vec<RecordedEvent>,
    back: Vec<StreamMessage>,
    max: usize,
) -> Vec<RecordedEvent> {
    start.extend(back.into_iter().rev().map(recorded));
    start.truncate(max);
    start
}

/// The sequence of the event before `message` in its stream, 0 for none, as its append
/// recorded it; `None` when it was appended without an expectation.
fn previous(message: &StreamMessage) -> Option<u64> {
    message.headers.get(PREVIOUS)?.as_str().parse().ok()
}

impl JetStream {
    /// Up to `max` events of `subject` from sequence `next` to `until`, forwards: one direct
    /// get each for the first few, then a consumer.
    async fn forward(
        &self,
        subject: &str,
        mut next: u64,
        until: u64,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, EventError> {
        let mut events = Vec::new();
        while events.len() < max && next <= until {
            let mut more = if events.len() < DIRECT_READS {
                let message = self
                    .stream
                    .direct_get_next_for_subject(subject, Some(next))
                    .await;
                found(message)?.map(recorded).into_iter().collect()
            } else {
                self.fetch(subject, next, max - events.len()).await?
            };
            more.retain(|e| e.revision.raw() <= until);
            let Some(newest) = more.last() else { break };
            next = newest.revision.raw() + 1;
            events.extend(more);
        }
        Ok(events)
    }
}

/// Events read forwards with one direct get each, at most; the rest comes through a
/// consumer. Creating and deleting one costs the server as much CPU as 10 to 30 direct gets
/// (NATS 2.9 and 2.10 on 2 cores; more when many are created at once), then each event
/// costs a fraction of one.
const DIRECT_READS: usize = 32;
/// A read's consumer is deleted after the read; should that request be lost, the server
/// removes the consumer after this long unused.
const CONSUMER_INACTIVE: Duration = Duration::from_secs(30);

impl JetStream {
    /// Up to `max` events of `subject` from sequence `from` on, in one batch: an ephemeral
    /// pull consumer, one fetch that ends where the stream does, and the consumer's
    /// deletion, not waited for.
    async fn fetch(
        &self,
        subject: &str,
        from: u64,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, EventError> {
        let config = consumer::pull::Config {
            deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                start_sequence: from,
            },
            ack_policy: consumer::AckPolicy::None,
            filter_subject: subject.to_owned(),
            memory_storage: true,
            inactive_threshold: CONSUMER_INACTIVE,
            ..Default::default()
        };
        let consumer = self
            .stream
            .create_consumer(config)
            .await
            .map_err(|e| unavailable("creating a consumer", e))?;
        let fetched = self.take(&consumer, max).await;
        let name = consumer.cached_info().name.clone();
        let deletion = format!("$JS.API.CONSUMER.DELETE.{STREAM}.{name}");
        // Not waited for: the read is done, and a lost deletion only leaves the consumer
        // until it has been unused for CONSUMER_INACTIVE.
        let _ = self.context.client().publish(deletion, Bytes::new()).await;
        fetched
    }

    async fn take(
        &self,
        consumer: &consumer::PullConsumer,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, EventError> {
        let mut batch = consumer
            .fetch()
            .max_messages(max)
            .messages()
            .await
            .map_err(|e| unavailable("fetching", e))?;
        let mut events = Vec::new();
        while let Some(message) =
            std::future::poll_fn(|cx| std::pin::Pin::new(&mut batch).poll_next(cx)).await
        {
            let message = message.map_err(|e| unavailable("fetching", e))?;
            let sequence = message
                .info()
                .map_err(|e| unavailable("reading a fetched message", e))?
                .stream_sequence;
            let message = message.message;
            let headers = message.headers.unwrap_or_default();
            events.push(event_at(sequence, &headers, message.payload));
        }
        Ok(events)
    }
}

fn unavailable(doing: &str, e: impl std::fmt::Display) -> EventError {
    StoreError::Unavailable(format!("{doing}: {e}"))
}

/// The message, `None` for "no such message", or the error's classification.
fn found(
    got: Result<StreamMessage, stream::DirectGetError>,
) -> Result<Option<StreamMessage>, EventError> {
    match got {
        Ok(message) => Ok(Some(message)),
        Err(e) => missing_or_error(e.kind(), e.to_string()).map(|()| None),
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

fn recorded(message: StreamMessage) -> RecordedEvent {
    event_at(message.sequence, &message.headers, message.payload)
}

/// The event stored at stream sequence `sequence`.
fn event_at(sequence: u64, headers: &HeaderMap, data: Bytes) -> RecordedEvent {
    let header = |name: &str| headers.get(name).map(|v| v.as_str().to_owned());
    RecordedEvent {
        revision: Revision::from_raw(sequence),
        position: Some(sequence),
        id: header(async_nats::header::NATS_MESSAGE_ID.as_ref())
            .and_then(|v| uuid::Uuid::parse_str(&v).ok()),
        event_type: header(EVENT_TYPE).unwrap_or_default(),
        data,
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
