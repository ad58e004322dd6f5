//! Checks of the EventStore contract.

use super::{Check, Needs, RACERS, Verdict, ensure, step};
use bytes::Bytes;
use statebench_adapters::{
    EventData, EventStore, ExpectRevision, ReadFrom, RecordedEvent, Revision, StoreError,
};
use std::sync::Arc;
use uuid::Uuid;

type Store = Arc<dyn EventStore>;

pub(super) const CHECKS: &[Check<dyn EventStore>] = &[
    Check {
        name: "read-missing-stream-is-empty",
        needs: None,
        run: missing_is_empty,
    },
    Check {
        name: "append-no-stream-creates-once",
        needs: None,
        run: no_stream_once,
    },
    Check {
        name: "append-exact-revision",
        needs: None,
        run: exact_revision,
    },
    Check {
        name: "read-in-order",
        needs: None,
        run: read_in_order,
    },
    Check {
        name: "ack-matches-read",
        needs: None,
        run: ack_matches_read,
    },
    Check {
        name: "dense-revisions",
        needs: Some(Needs::DenseRevisions),
        run: dense,
    },
    Check {
        name: "read-after-and-max",
        needs: None,
        run: read_after_and_max,
    },
    Check {
        name: "append-exactly-one-winner",
        needs: None,
        run: one_winner,
    },
    Check {
        name: "append-any-never-conflicts",
        needs: None,
        run: any_never_conflicts,
    },
    Check {
        name: "multi-event-append-is-atomic",
        needs: Some(Needs::AtomicMultiEventAppend),
        run: atomic_batches,
    },
    Check {
        name: "idempotent-append",
        needs: Some(Needs::IdempotentAppend),
        run: idempotent,
    },
];

fn event(kind: &str, data: &str) -> EventData {
    EventData {
        id: None,
        event_type: kind.to_owned(),
        data: Bytes::copy_from_slice(data.as_bytes()),
    }
}

async fn read_all(s: &Store, stream: &str) -> Result<Vec<RecordedEvent>, String> {
    step("read", s.read(stream, ReadFrom::Start, usize::MAX).await)
}

fn missing_is_empty(s: Store, k: String) -> Verdict {
    Box::pin(async move {
        let events = read_all(&s, &k).await?;
        ensure(events.is_empty(), || {
            format!("a stream never written has {} events", events.len())
        })
    })
}

fn no_stream_once(s: Store, k: String) -> Verdict {
    Box::pin(async move {
        let first = step(
            "append(no stream)",
            s.append(&k, vec![event("A", "1")], ExpectRevision::NoStream)
                .await,
        )?;
        match s
            .append(&k, vec![event("B", "2")], ExpectRevision::NoStream)
            .await
        {
            Err(StoreError::Conflict { actual }) => {
                ensure(actual.is_none_or(|a| a == first.last), || {
                    format!(
                        "the conflict reported revision {actual:?}, the stream is at {}",
                        first.last
                    )
                })
            }
            Ok(a) => Err(format!(
                "a second append(no stream) succeeded at revision {}",
                a.last
            )),
            Err(e) => Err(format!("second append(no stream): {e}")),
        }
    })
}

fn exact_revision(s: Store, k: String) -> Verdict {
    Box::pin(async move {
        let first = step(
            "append",
            s.append(&k, vec![event("A", "1")], ExpectRevision::Any)
                .await,
        )?;
        let exact = ExpectRevision::Exact(first.last);
        let second = step(
            "append(exact)",
            s.append(&k, vec![event("B", "2")], exact).await,
        )?;
        ensure(second.last > first.last, || {
            format!(
                "revision {} after {} is not greater",
                second.last, first.last
            )
        })?;
        match s.append(&k, vec![event("C", "stale")], exact).await {
            Err(StoreError::Conflict { actual }) => {
                ensure(actual.is_none_or(|a| a == second.last), || {
                    format!(
                        "the conflict reported revision {actual:?}, the stream is at {}",
                        second.last
                    )
                })?
            }
            Ok(a) => {
                return Err(format!(
                    "an append expecting stale revision {} succeeded at {}",
                    first.last, a.last
                ));
            }
            Err(e) => return Err(format!("append(stale revision): {e}")),
        }
        let events = read_all(&s, &k).await?;
        ensure(events.len() == 2, || {
            format!("{} events after a rejected append, not 2", events.len())
        })
    })
}

fn read_in_order(s: Store, k: String) -> Verdict {
    Box::pin(async move {
        let written = [("A", "first"), ("B", "second"), ("C", "")];
        for (kind, data) in written {
            step(
                "append",
                s.append(&k, vec![event(kind, data)], ExpectRevision::Any)
                    .await,
            )?;
        }
        let events = read_all(&s, &k).await?;
        let read: Vec<(&str, &[u8])> = events
            .iter()
            .map(|e| (e.event_type.as_str(), e.data.as_ref()))
            .collect();
        let expected: Vec<(&str, &[u8])> =
            written.iter().map(|(t, d)| (*t, d.as_bytes())).collect();
        ensure(read == expected, || {
            format!("read {read:?}, wrote {expected:?}")
        })?;
        increasing(&events)
    })
}

fn increasing(events: &[RecordedEvent]) -> Result<(), String> {
    for pair in events.windows(2) {
        ensure(pair[1].revision > pair[0].revision, || {
            format!("revision {} follows {}", pair[1].revision, pair[0].revision)
        })?;
        if let (Some(a), Some(b)) = (pair[0].position, pair[1].position) {
            ensure(b > a, || format!("position {b} follows {a} in one stream"))?;
        }
    }
    Ok(())
}

fn ack_matches_read(s: Store, k: String) -> Verdict {
    Box::pin(async move {
        let mut acks = Vec::new();
        for i in 0..3 {
            acks.push(step(
                "append",
                s.append(&k, vec![event("A", &i.to_string())], ExpectRevision::Any)
                    .await,
            )?);
        }
        let events = read_all(&s, &k).await?;
        ensure(events.len() == acks.len(), || {
            format!("{} events read, {} acknowledged", events.len(), acks.len())
        })?;
        for (ack, read) in acks.iter().zip(&events) {
            ensure(ack.last == read.revision, || {
                format!("acknowledged revision {}, read {}", ack.last, read.revision)
            })?;
            ensure(
                ack.position.is_none() || ack.position == read.position,
                || {
                    format!(
                        "acknowledged position {:?}, read {:?}",
                        ack.position, read.position
                    )
                },
            )?;
        }
        Ok(())
    })
}

fn dense(s: Store, k: String) -> Verdict {
    Box::pin(async move {
        for i in 0..4 {
            step(
                "append",
                s.append(&k, vec![event("A", &i.to_string())], ExpectRevision::Any)
                    .await,
            )?;
        }
        let revisions: Vec<u64> = read_all(&s, &k)
            .await?
            .iter()
            .map(|e| e.revision.raw())
            .collect();
        ensure(revisions == [0, 1, 2, 3], || {
            format!("revisions {revisions:?}, not [0, 1, 2, 3]")
        })
    })
}

fn read_after_and_max(s: Store, k: String) -> Verdict {
    Box::pin(async move {
        let batch = (0..5).map(|i| event("A", &i.to_string())).collect();
        step("append", s.append(&k, batch, ExpectRevision::Any).await)?;
        let all = read_all(&s, &k).await?;
        let after: Revision = all.get(1).ok_or("fewer than 2 events read back")?.revision;
        let page = step(
            "read(after, 2)",
            s.read(&k, ReadFrom::After(after), 2).await,
        )?;
        let data: Vec<&[u8]> = page.iter().map(|e| e.data.as_ref()).collect();
        ensure(data == [b"2".as_slice(), b"3"], || {
            format!("read after the 2nd event, max 2: {data:?}")
        })
    })
}

fn one_winner(s: Store, k: String) -> Verdict {
    Box::pin(async move {
        let start = step(
            "append",
            s.append(&k, vec![event("Start", "")], ExpectRevision::Any)
                .await,
        )?;
        let mut racers = tokio::task::JoinSet::new();
        for i in 0..RACERS {
            let (s, k) = (s.clone(), k.clone());
            racers.spawn(async move {
                s.append(
                    &k,
                    vec![event("Race", &i.to_string())],
                    ExpectRevision::Exact(start.last),
                )
                .await
            });
        }
        let mut winners = 0;
        while let Some(joined) = racers.join_next().await {
            match joined.map_err(|e| format!("an appender task failed: {e}"))? {
                Ok(_) => winners += 1,
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => return Err(format!("a racing append: {e}")),
            }
        }
        ensure(winners == 1, || {
            format!(
                "{winners} of {RACERS} appends expecting revision {} succeeded",
                start.last
            )
        })?;
        let events = read_all(&s, &k).await?;
        ensure(events.len() == 2, || {
            format!("{} events after the race, not 2", events.len())
        })
    })
}

fn any_never_conflicts(s: Store, k: String) -> Verdict {
    Box::pin(async move {
        let mut racers = tokio::task::JoinSet::new();
        for i in 0..RACERS {
            let (s, k) = (s.clone(), k.clone());
            racers.spawn(async move {
                s.append(&k, vec![event("Any", &i.to_string())], ExpectRevision::Any)
                    .await
            });
        }
        while let Some(joined) = racers.join_next().await {
            step(
                "append(any)",
                joined.map_err(|e| format!("an appender task failed: {e}"))?,
            )?;
        }
        let events = read_all(&s, &k).await?;
        ensure(events.len() == RACERS, || {
            format!("{} events after {RACERS} appends", events.len())
        })?;
        increasing(&events)
    })
}

fn atomic_batches(s: Store, k: String) -> Verdict {
    Box::pin(async move {
        const BATCHES: usize = 20;
        let writer = {
            let (s, k) = (s.clone(), k.clone());
            tokio::spawn(async move {
                for b in 0..BATCHES {
                    let batch = (0..3).map(|i| event("Part", &format!("{b}.{i}"))).collect();
                    s.append(&k, batch, ExpectRevision::Any).await?;
                    tokio::task::yield_now().await;
                }
                Ok::<_, StoreError<Revision>>(())
            })
        };
        let mut reads = 0;
        while !writer.is_finished() && reads < 10_000 {
            let seen = read_all(&s, &k).await?.len();
            ensure(seen % 3 == 0, || {
                format!("a reader saw {seen} events: part of a 3-event append")
            })?;
            reads += 1;
            tokio::task::yield_now().await;
        }
        step(
            "append(batch)",
            writer
                .await
                .map_err(|e| format!("the writer task failed: {e}"))?,
        )?;
        let events = read_all(&s, &k).await?;
        ensure(events.len() == 3 * BATCHES, || {
            format!("{} events after {BATCHES} batches of 3", events.len())
        })
    })
}

fn idempotent(s: Store, k: String) -> Verdict {
    Box::pin(async move {
        let batch: Vec<EventData> = (1..=2u128)
            .map(|i| EventData {
                id: Some(Uuid::from_u128(i)),
                ..event("Once", &i.to_string())
            })
            .collect();
        let first = step(
            "append",
            s.append(&k, batch.clone(), ExpectRevision::NoStream).await,
        )?;
        let again = step(
            "the same append again",
            s.append(&k, batch, ExpectRevision::NoStream).await,
        )?;
        ensure(again.last == first.last, || {
            format!(
                "the repeat acknowledged {}, the first {}",
                again.last, first.last
            )
        })?;
        let events = read_all(&s, &k).await?;
        ensure(events.len() == 2, || {
            format!("{} events after repeating a 2-event append", events.len())
        })
    })
}
