//! Checks of the EventStore contract.

use super::{Check, Needs, Plan, RACERS, Verdict, ensure, expect_conflict, race, shown, step};
use bytes::Bytes;
use statebench_adapters::{
    EventData, EventStore, ExpectRevision, ReadFrom, RecordedEvent, Revision, StoreError,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use uuid::Uuid;

type Store = Arc<dyn EventStore>;

/// Streams written by a check stay below this length, so one read gets them whole.
const READ_ALL: usize = 1_000;

const RYW: &[Needs] = &[Needs::ReadYourWrites];
/// Expected-revision checks verify what the append results prove, and read back only where
/// the subject declares read-your-writes.
const CAS: &[Needs] = &[Needs::Cas];

pub(super) const CHECKS: &[Check<dyn EventStore>] = &[
    Check {
        name: "read-missing-stream-is-empty",
        needs: &[],
        run: missing_is_empty,
    },
    Check {
        name: "append-no-stream-creates-once",
        needs: CAS,
        run: no_stream_once,
    },
    Check {
        name: "append-exact-revision",
        needs: CAS,
        run: exact_revision,
    },
    Check {
        name: "read-in-order",
        needs: RYW,
        run: read_in_order,
    },
    Check {
        name: "ack-matches-read",
        needs: RYW,
        run: ack_matches_read,
    },
    Check {
        name: "dense-revisions",
        needs: &[Needs::DenseRevisions, Needs::ReadYourWrites],
        run: dense,
    },
    Check {
        name: "read-after-and-max",
        needs: RYW,
        run: read_after_and_max,
    },
    Check {
        name: "append-exactly-one-winner",
        needs: CAS,
        run: one_winner,
    },
    Check {
        name: "append-any-never-conflicts",
        needs: RYW,
        run: any_never_conflicts,
    },
    Check {
        name: "multi-event-append-is-atomic",
        needs: &[Needs::AtomicMultiEventAppend, Needs::ReadYourWrites],
        run: atomic_batches,
    },
    Check {
        name: "idempotent-append",
        needs: &[Needs::IdempotentAppend, Needs::ReadYourWrites],
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
    let events = step("read", s.read(stream, ReadFrom::Start, READ_ALL).await)?;
    ensure(events.len() < READ_ALL, || {
        format!("more than {READ_ALL} events in a check's stream")
    })?;
    Ok(events)
}

/// Requires the stream to hold exactly `count` events.
async fn has(
    s: &Store,
    stream: &str,
    count: usize,
    after: &str,
) -> Result<Vec<RecordedEvent>, String> {
    let events = read_all(s, stream).await?;
    ensure(events.len() == count, || {
        format!("{} events after {after}, not {count}", events.len())
    })?;
    Ok(events)
}

/// [`has`], for checks that need only the count.
async fn has_n(s: &Store, stream: &str, count: usize, after: &str) -> Result<(), String> {
    has(s, stream, count, after).await.map(drop)
}

fn missing_is_empty(s: Store, k: String, _: Plan) -> Verdict {
    Box::pin(async move { has(&s, &k, 0, "nothing was written").await.map(drop) })
}

fn no_stream_once(s: Store, k: String, plan: Plan) -> Verdict {
    Box::pin(async move {
        let first = step(
            "append(no stream)",
            s.append(&k, vec![event("A", "1")], ExpectRevision::NoStream)
                .await,
        )?;
        let second = s
            .append(&k, vec![event("B", "2")], ExpectRevision::NoStream)
            .await;
        expect_conflict("a second append(no stream)", second, first.last)?;
        plan.read_back(has_n(&s, &k, 1, "a refused append(no stream)"))
            .await
    })
}

fn exact_revision(s: Store, k: String, plan: Plan) -> Verdict {
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
        let stale = s.append(&k, vec![event("C", "stale")], exact).await;
        expect_conflict(
            &format!("an append expecting stale revision {}", first.last),
            stale,
            second.last,
        )?;
        plan.read_back(has_n(&s, &k, 2, "a refused stale append"))
            .await
    })
}

fn read_in_order(s: Store, k: String, _: Plan) -> Verdict {
    Box::pin(async move {
        let written = [("A", "first"), ("B", "second"), ("C", "")];
        for (kind, data) in written {
            step(
                "append",
                s.append(&k, vec![event(kind, data)], ExpectRevision::Any)
                    .await,
            )?;
        }
        let events = has(&s, &k, written.len(), "3 appends").await?;
        for (read, (kind, data)) in events.iter().zip(written) {
            ensure(
                read.event_type == kind && read.data.as_ref() == data.as_bytes(),
                || {
                    format!(
                        "read {} {}, wrote {kind} {data:?}",
                        read.event_type,
                        shown(&read.data)
                    )
                },
            )?;
        }
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

fn ack_matches_read(s: Store, k: String, _: Plan) -> Verdict {
    Box::pin(async move {
        let mut acks = Vec::new();
        for i in 0..3 {
            let one = vec![event("A", &i.to_string())];
            acks.push(step(
                "append",
                s.append(&k, one, ExpectRevision::Any).await,
            )?);
        }
        let events = has(&s, &k, acks.len(), "3 acknowledged appends").await?;
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

fn dense(s: Store, k: String, _: Plan) -> Verdict {
    Box::pin(async move {
        for i in 0..4 {
            let one = vec![event("A", &i.to_string())];
            step("append", s.append(&k, one, ExpectRevision::Any).await)?;
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

fn read_after_and_max(s: Store, k: String, _: Plan) -> Verdict {
    Box::pin(async move {
        let batch = (0..5).map(|i| event("A", &i.to_string())).collect();
        step("append", s.append(&k, batch, ExpectRevision::Any).await)?;
        let first = step("read(start, 3)", s.read(&k, ReadFrom::Start, 3).await)?;
        ensure(first.len() == 3, || {
            format!("read(start, max 3) of 5 events gave {}", first.len())
        })?;
        let after: Revision = first[1].revision;
        let page = step(
            "read(after, 2)",
            s.read(&k, ReadFrom::After(after), 2).await,
        )?;
        let data: Vec<String> = page.iter().map(|e| shown(&e.data)).collect();
        ensure(data == ["\"2\"", "\"3\""], || {
            format!("read after the 2nd event, max 2: {data:?}")
        })?;
        let last = page.last().map_or(after, |e| e.revision);
        let tail = step(
            "read(after 4th, 10)",
            s.read(&k, ReadFrom::After(last), 10).await,
        )?;
        ensure(tail.len() == 1, || {
            format!("read after the 4th of 5 events gave {}", tail.len())
        })
    })
}

fn one_winner(s: Store, k: String, plan: Plan) -> Verdict {
    Box::pin(async move { plan.rounds(&k, |k| one_winner_round(&s, k, plan)).await })
}

/// Races `RACERS` appends expecting one revision: exactly one may win.
async fn one_winner_round(s: &Store, k: String, plan: Plan) -> Result<(), String> {
    let start = vec![event("Start", "")];
    let start = step("append", s.append(&k, start, ExpectRevision::Any).await)?;
    let results = race(|i| {
        let (s, k) = (s.clone(), k.clone());
        async move {
            let one = vec![event("Race", &i.to_string())];
            s.append(&k, one, ExpectRevision::Exact(start.last)).await
        }
    })
    .await?;
    let mut winners = 0;
    for result in results {
        match result {
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
    plan.read_back(has_n(s, &k, 2, "the race")).await
}

fn any_never_conflicts(s: Store, k: String, plan: Plan) -> Verdict {
    Box::pin(async move { plan.rounds(&k, |k| any_round(&s, k)).await })
}

/// Races `RACERS` appends without expectation: every one is appended.
async fn any_round(s: &Store, k: String) -> Result<(), String> {
    let results = race(|i| {
        let (s, k) = (s.clone(), k.clone());
        async move {
            s.append(&k, vec![event("Any", &i.to_string())], ExpectRevision::Any)
                .await
        }
    })
    .await?;
    for result in results {
        step("append(any)", result)?;
    }
    let events = has(s, &k, RACERS, &format!("{RACERS} appends")).await?;
    increasing(&events)
}

fn atomic_batches(s: Store, k: String, plan: Plan) -> Verdict {
    Box::pin(async move { plan.rounds(&k, |k| atomic_round(&s, k)).await })
}

/// Appends batches while readers watch the stream: no reader may see part of a batch.
async fn atomic_round(s: &Store, k: String) -> Result<(), String> {
    const SIZE: u64 = 8;
    const READERS: usize = 3;
    const MIN_BATCHES: u64 = 20;
    const MAX_BATCHES: u64 = READ_ALL as u64 / SIZE - 1;
    // Readers count the reads that saw the stream while it was being written; the writer
    // goes on until enough did (or one saw part of a batch), so that the check has
    // watched the store mid-write.
    const ENOUGH_OVERLAPS: u64 = 30;
    let overlaps = Arc::new(AtomicU64::new(0));
    let partial = Arc::new(AtomicU64::new(0));
    let writing = Arc::new(AtomicBool::new(true));
    let ready = Arc::new(tokio::sync::Barrier::new(READERS + 1));
    let mut readers = tokio::task::JoinSet::new();
    for _ in 0..READERS {
        let (s, k, ready) = (s.clone(), k.clone(), ready.clone());
        let (overlaps, partial, writing) = (overlaps.clone(), partial.clone(), writing.clone());
        readers.spawn(async move {
            ready.wait().await;
            while writing.load(Ordering::Acquire) {
                let read = s.read(&k, ReadFrom::Start, READ_ALL).await;
                let seen = read.map_err(|e| e.to_string())?.len() as u64;
                if !seen.is_multiple_of(SIZE) {
                    partial.store(seen, Ordering::Release);
                } else if seen > 0 {
                    overlaps.fetch_add(1, Ordering::Relaxed);
                }
                tokio::task::yield_now().await;
            }
            Ok::<_, String>(())
        });
    }
    ready.wait().await;
    let (mut written, mut failure) = (0, None);
    let go_on = |written| {
        partial.load(Ordering::Acquire) == 0
            && written < MAX_BATCHES
            && (written < MIN_BATCHES || overlaps.load(Ordering::Relaxed) < ENOUGH_OVERLAPS)
    };
    while failure.is_none() && go_on(written) {
        let batch = (0..SIZE)
            .map(|i| event("Part", &format!("{written}.{i}")))
            .collect();
        if let Err(e) = s.append(&k, batch, ExpectRevision::Any).await {
            failure = Some(format!("append(batch): {e}"));
        }
        written += 1;
        // Give the readers a chance to look before the next batch (bounded: 20 ms).
        let before = overlaps.load(Ordering::Relaxed);
        for _ in 0..20 {
            if overlaps.load(Ordering::Relaxed) > before || partial.load(Ordering::Acquire) > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    writing.store(false, Ordering::Release);
    while let Some(joined) = readers.join_next().await {
        joined.map_err(|e| format!("a reader task failed: {e}"))??;
    }
    if let Some(failure) = failure {
        return Err(failure);
    }
    let seen = partial.load(Ordering::Acquire);
    ensure(seen == 0, || {
        format!("a reader saw {seen} events: part of an {SIZE}-event append")
    })?;
    let overlaps = overlaps.load(Ordering::Relaxed);
    ensure(overlaps >= ENOUGH_OVERLAPS, || {
        format!("inconclusive: only {overlaps} reads overlapped {written} appends")
    })?;
    has(
        s,
        &k,
        (written * SIZE) as usize,
        &format!("{written} batches of {SIZE}"),
    )
    .await
    .map(drop)
}

/// Event ids unique to this run (derived from the check's key prefix), so that stores that
/// remember ids across streams or for a while do not see them as repeats of an earlier run.
fn ids(prefix: &str, n: u64) -> Vec<Uuid> {
    let seed = prefix.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    (1..=n).map(|i| Uuid::from_u64_pair(seed, i)).collect()
}

fn idempotent(s: Store, k: String, _: Plan) -> Verdict {
    Box::pin(async move {
        let batch: Vec<EventData> = ids(&k, 2)
            .into_iter()
            .map(|id| EventData {
                id: Some(id),
                ..event("Once", &id.to_string())
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
                "the repeat acknowledged revision {}, the first {}",
                again.last, first.last
            )
        })?;
        has(&s, &k, 2, "repeating a 2-event append").await.map(drop)
    })
}
