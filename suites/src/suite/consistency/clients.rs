//! The clients of a consistency run: each runs one operation at a time on a few hot keys,
//! paced to the run's rate, and records every operation before and after it runs.

use crate::domain::{Account, Command, INITIAL_BALANCE, Payload, decode_state};
use crate::executor::Executor;
use crate::history::{Entry, Key, Kind, Process, Recorder};
use crate::outcome::Outcome;
use bytes::Bytes;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use statebench_adapters::{
    EventData, EventStore, Expect, ExpectRevision, Layered, ReadFrom, RecordedEvent, StateStore,
    StoreError, Version,
};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A store call that takes longer than this is recorded as indefinite.
pub const OP_TIMEOUT: Duration = Duration::from_secs(15);
/// Events read per request when a client reads a whole stream.
const PAGE: usize = 1_000;

/// What every client of one run shares.
#[derive(Clone)]
pub struct Plan {
    /// Store keys are `{prefix}{name}`; histories use the names.
    pub prefix: String,
    /// Keys per history.
    pub keys: u32,
    /// Each client's time between operation starts.
    pub gap: Duration,
    /// When the clients stop starting operations.
    pub deadline: Instant,
    /// Stops early.
    pub cancel: CancellationToken,
    /// Retries of a command after a conflict.
    pub max_retries: u32,
}

/// How a store call ended, as a history says it.
pub enum Ended {
    /// Took effect, with the value to record and the version.
    Ok(Value, Option<u64>),
    /// Certainly did not (a conflict, a rejected command).
    Fail(String),
    /// May have (a timeout, a lost connection, an unexpected error).
    Info(String),
}

impl Ended {
    fn failed<T: fmt::Debug + fmt::Display>(e: &StoreError<T>) -> Self {
        match e {
            StoreError::Conflict { .. } => Self::Fail(e.to_string()),
            // Jepsen's rule: when in doubt, indefinite. A fatal error may come after the
            // request was sent.
            _ => Self::Info(e.to_string()),
        }
    }
}

/// Records one operation around `call`: the invoke, then how it ended.
pub async fn recorded<F>(
    recorder: &Recorder,
    process: Process,
    f: &str,
    key: &str,
    argument: Value,
    call: F,
) -> Ended
where
    F: Future<Output = Ended>,
{
    let entry = |kind, value, version, error| Entry {
        index: None,
        time: None,
        process: process.clone(),
        kind,
        f: f.to_owned(),
        key: Some(Key::Text(key.to_owned())),
        value,
        version,
        error,
    };
    recorder.push(entry(Kind::Invoke, argument.clone(), None, None));
    let ended = match tokio::time::timeout(OP_TIMEOUT, call).await {
        Ok(ended) => ended,
        Err(_) => Ended::Info(format!("no answer within {OP_TIMEOUT:?}")),
    };
    match &ended {
        Ended::Ok(value, version) => recorder.push(entry(Kind::Ok, value.clone(), *version, None)),
        Ended::Fail(error) => recorder.push(entry(Kind::Fail, argument, None, Some(error.clone()))),
        Ended::Info(error) => recorder.push(entry(Kind::Info, argument, None, Some(error.clone()))),
    }
    ended
}

/// Waits for the client's next turn; false when the run is over.
async fn pace(plan: &Plan, next: &mut Instant, rng: &mut SmallRng) -> bool {
    let jitter = plan.gap.mul_f64(rng.random_range(0.5..1.5));
    *next = (*next + jitter).max(Instant::now());
    if *next >= plan.deadline {
        return false;
    }
    tokio::select! {
        () = tokio::time::sleep_until((*next).into()) => !plan.cancel.is_cancelled(),
        () = plan.cancel.cancelled() => false,
    }
}

/// A register's value as text: statebench writes UTF-8 names.
fn text_of(bytes: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(bytes).into_owned())
}

/// Reads a register.
pub async fn read_register(store: &dyn StateStore, key: &str) -> Ended {
    match store.get(key).await {
        Ok(Some(found)) => Ended::Ok(text_of(&found.value), Some(found.version.raw())),
        Ok(None) => Ended::Ok(Value::Null, Some(0)),
        Err(e) => Ended::failed(&e),
    }
}

/// Reads a register from the truth behind a cache.
pub async fn read_truth(layers: &dyn Layered, key: &str) -> Ended {
    match layers.truth(key).await {
        Ok(Some(found)) => Ended::Ok(text_of(&found.value), Some(found.version.raw())),
        Ok(None) => Ended::Ok(Value::Null, Some(0)),
        Err(e) => Ended::failed(&e),
    }
}

/// A client of registers: reads, blind writes of unique values, and compare-and-set from the
/// version it last read (recorded as `cas [value read, new value]`).
pub async fn register_client(
    store: Arc<dyn StateStore>,
    recorder: Arc<Recorder>,
    plan: Plan,
    client: u64,
    seed: u64,
) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut known: HashMap<String, (Value, Option<Version>)> = HashMap::new();
    let mut next = Instant::now();
    let mut seq = 0u64;
    while pace(&plan, &mut next, &mut rng).await {
        let name = format!("reg-{}", rng.random_range(0..plan.keys));
        let key = format!("{}{name}", plan.prefix);
        let roll: f64 = rng.random();
        let process = Process::Number(client);
        seq += 1;
        let value = format!("{client}-{seq}");
        let bytes = Bytes::from(value.clone().into_bytes());
        match known.get(&name).cloned() {
            Some((seen, version)) if roll < 0.4 => {
                let expect = version.map_or(Expect::Absent, Expect::Version);
                let argument = json!([seen, value]);
                let ended = recorded(&recorder, process, "cas", &name, argument, async {
                    match store.put(&key, bytes, expect).await {
                        Ok(v) => Ended::Ok(json!([seen, value]), Some(v.raw())),
                        Err(e) => Ended::failed(&e),
                    }
                })
                .await;
                match ended {
                    Ended::Ok(_, v) => {
                        known.insert(
                            name,
                            (Value::String(value.clone()), v.map(Version::from_raw)),
                        );
                    }
                    _ => {
                        known.remove(&name);
                    }
                }
            }
            _ if roll < 0.6 => {
                let ended = recorded(&recorder, process, "write", &name, json!(value), async {
                    match store.put(&key, bytes, Expect::Any).await {
                        Ok(v) => Ended::Ok(json!(value), Some(v.raw())),
                        Err(e) => Ended::failed(&e),
                    }
                })
                .await;
                known.remove(&name);
                drop(ended);
            }
            _ => {
                let ended = recorded(
                    &recorder,
                    process,
                    "read",
                    &name,
                    Value::Null,
                    read_register(store.as_ref(), &key),
                )
                .await;
                if let Ended::Ok(seen, version) = ended {
                    let version = if seen.is_null() {
                        None
                    } else {
                        version.map(Version::from_raw)
                    };
                    known.insert(name, (seen, version));
                }
            }
        }
    }
}

/// Reads an account's balance, from the truth when the store has a cache in front of it.
pub async fn read_balance(store: &dyn StateStore, truth: Option<&dyn Layered>, key: &str) -> Ended {
    let found = match truth {
        Some(layers) => layers.truth(key).await,
        None => store.get(key).await,
    };
    match found {
        Ok(Some(found)) => match decode_state(&found.value) {
            Ok(account) => Ended::Ok(json!(account.balance), Some(found.version.raw())),
            Err(e) => Ended::Info(format!("not an account: {e}")),
        },
        Ok(None) => Ended::Ok(Value::Null, None),
        Err(e) => Ended::failed(&e),
    }
}

/// Tries `attempt` until it reports the key set up (`Ok(Some(_))`), at most 5 times.
async fn settle<T, F, Fut>(name: &str, mut attempt: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, String>>,
{
    let mut last = String::new();
    for _ in 0..5 {
        match tokio::time::timeout(OP_TIMEOUT, attempt()).await {
            Ok(Ok(Some(done))) => return Ok(done),
            Ok(Ok(None)) => last = "not there after the write".into(),
            Ok(Err(e)) => last = e,
            Err(_) => last = format!("no answer within {OP_TIMEOUT:?}"),
        }
    }
    Err(format!("setting up {name} failed: {last}"))
}

/// Records a setup step that is known to have taken effect.
fn record_setup(recorder: &Recorder, f: &str, name: &str, argument: Value, result: Value) {
    let entry = |kind, value| Entry {
        index: None,
        time: None,
        process: Process::Name("setup".into()),
        kind,
        f: f.to_owned(),
        key: Some(Key::Text(name.to_owned())),
        value,
        version: None,
        error: None,
    };
    recorder.push(entry(Kind::Invoke, argument));
    recorder.push(entry(Kind::Ok, result));
}

/// Opens each account with the initial balance (checked by reading it back where a write's
/// reply was lost), recorded as an `add` of it by `setup`.
pub async fn open_accounts(
    store: &dyn StateStore,
    recorder: &Recorder,
    plan: &Plan,
    payload: &Payload,
) -> Result<(), String> {
    for i in 0..plan.keys {
        let name = format!("acct-{i}");
        let key = format!("{}{name}", plan.prefix);
        settle(&name, || async {
            let value = payload.state(
                Account {
                    balance: INITIAL_BALANCE,
                },
                16,
            );
            match store.put(&key, value, Expect::Absent).await {
                Ok(_) => Ok(Some(())),
                Err(
                    StoreError::Conflict { .. }
                    | StoreError::Timeout(_)
                    | StoreError::Unavailable(_),
                ) => match store.get(&key).await.map_err(|e| e.to_string())? {
                    Some(found) => {
                        Ok((decode_state(&found.value)?.balance == INITIAL_BALANCE).then_some(()))
                    }
                    None => Ok(None),
                },
                Err(e) => Err(e.to_string()),
            }
        })
        .await?;
        record_setup(
            recorder,
            "add",
            &name,
            json!(INITIAL_BALANCE),
            json!(INITIAL_BALANCE),
        );
    }
    Ok(())
}

/// A client of accounts: deposits and withdrawals through the aggregate executor (recorded as
/// `add` of the change), and reads of the balance.
pub async fn counter_client(
    store: Arc<dyn StateStore>,
    truth: Option<Arc<dyn Layered>>,
    recorder: Arc<Recorder>,
    plan: Plan,
    client: u64,
    seed: u64,
) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let payload = Payload::new(16, seed);
    let executor = Executor {
        max_retries: plan.max_retries,
    };
    let mut next = Instant::now();
    while pace(&plan, &mut next, &mut rng).await {
        let name = format!("acct-{}", rng.random_range(0..plan.keys));
        let key = format!("{}{name}", plan.prefix);
        let process = Process::Number(client);
        if rng.random_bool(0.3) {
            let read = read_balance(store.as_ref(), truth.as_deref(), &key);
            recorded(&recorder, process, "read", &name, Value::Null, read).await;
            continue;
        }
        let amount: u32 = rng.random_range(1..=10);
        let (command, delta) = if rng.random_bool(0.8) {
            (Command::Deposit(amount), i64::from(amount))
        } else {
            (Command::Withdraw(amount), -i64::from(amount))
        };
        recorded(&recorder, process, "add", &name, json!(delta), async {
            let done = executor
                .on_state(store.as_ref(), &key, command, &payload, 16)
                .await;
            let error = done.error.unwrap_or_default();
            match done.outcome {
                Outcome::Ok if done.rejected => {
                    Ended::Fail("rejected: the balance would go negative".into())
                }
                Outcome::Ok => Ended::Ok(json!(delta), None),
                Outcome::Conflict => Ended::Fail(error),
                Outcome::Indefinite | Outcome::Fatal => Ended::Info(error),
            }
        })
        .await;
    }
}

/// An event whose payload carries the history's id after the 8-byte amount the domain reads.
fn event(amount: i64, id: &str) -> EventData {
    let mut data = amount.to_le_bytes().to_vec();
    data.extend_from_slice(id.as_bytes());
    EventData {
        id: None,
        event_type: if id.starts_with("open") {
            "Opened"
        } else {
            "Deposited"
        }
        .to_owned(),
        data: data.into(),
    }
}

fn id_of(event: &RecordedEvent) -> Value {
    Value::String(String::from_utf8_lossy(event.data.get(8..).unwrap_or_default()).into_owned())
}

/// Reads a whole stream, page by page, as `[[revision, id], …]`, and its last revision.
pub async fn read_stream(
    store: &dyn EventStore,
    stream: &str,
    after: Option<statebench_adapters::Revision>,
) -> Result<(Vec<Value>, Option<statebench_adapters::Revision>), String> {
    let mut events = Vec::new();
    let mut last = after;
    for _ in 0..1_000 {
        let from = last.map_or(ReadFrom::Start, ReadFrom::After);
        let page = store
            .read(stream, from, PAGE)
            .await
            .map_err(|e| e.to_string())?;
        for e in &page {
            events.push(json!([e.revision.raw(), id_of(e)]));
            last = Some(e.revision);
        }
        if page.len() < PAGE {
            return Ok((events, last));
        }
    }
    Err("a stream of over a million events".into())
}

/// Opens each stream with one event (checked by reading it back where an append's reply was
/// lost), recorded as an `append` expecting no stream by `setup`.
pub async fn open_streams(
    store: &dyn EventStore,
    recorder: &Recorder,
    plan: &Plan,
) -> Result<(), String> {
    for i in 0..plan.keys {
        let name = format!("stream-{i}");
        let key = format!("{}{name}", plan.prefix);
        let id = format!("open-{i}");
        let revision = settle(&name, || async {
            match store
                .append(
                    &key,
                    vec![event(INITIAL_BALANCE, &id)],
                    ExpectRevision::NoStream,
                )
                .await
            {
                Ok(a) => Ok(Some(a.last.raw())),
                Err(
                    StoreError::Conflict { .. }
                    | StoreError::Timeout(_)
                    | StoreError::Unavailable(_),
                ) => {
                    let (events, last) = read_stream(store, &key, None).await?;
                    let opened = events.len() == 1 && events[0][1] == json!(id);
                    Ok(last
                        .map(statebench_adapters::Revision::raw)
                        .filter(|_| opened))
                }
                Err(e) => Err(e.to_string()),
            }
        })
        .await?;
        record_setup(recorder, "append", &name, json!([-1, id]), json!(revision));
    }
    Ok(())
}

/// A client of streams: appends that expect the last revision it has seen (after catching
/// up), appends that expect nothing, and reads of the whole stream.
pub async fn stream_client(
    store: Arc<dyn EventStore>,
    recorder: Arc<Recorder>,
    plan: Plan,
    client: u64,
    seed: u64,
) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut next = Instant::now();
    let mut seq = 0u64;
    let mut seen: HashMap<String, Option<statebench_adapters::Revision>> = HashMap::new();
    while pace(&plan, &mut next, &mut rng).await {
        let name = format!("stream-{}", rng.random_range(0..plan.keys));
        let key = format!("{}{name}", plan.prefix);
        let process = Process::Number(client);
        let roll: f64 = rng.random();
        if roll < 0.3 {
            let read = async {
                match read_stream(store.as_ref(), &key, None).await {
                    Ok((events, _)) => Ended::Ok(Value::Array(events), None),
                    Err(e) => Ended::Info(e),
                }
            };
            recorded(&recorder, process, "read", &name, Value::Null, read).await;
            continue;
        }
        seq += 1;
        let id = format!("{client}-{seq}");
        let expect = if roll < 0.8 {
            // Catch up from what this client saw last; the catch-up is not recorded as a read.
            let after = seen.get(&name).copied().flatten();
            match tokio::time::timeout(OP_TIMEOUT, read_stream(store.as_ref(), &key, after)).await {
                Ok(Ok((_, last))) => {
                    seen.insert(name.clone(), last);
                    last.map_or(ExpectRevision::NoStream, ExpectRevision::Exact)
                }
                _ => continue,
            }
        } else {
            ExpectRevision::Any
        };
        let expected = match expect {
            ExpectRevision::Any => Value::Null,
            ExpectRevision::NoStream => json!(-1),
            ExpectRevision::Exact(r) => json!(r.raw()),
        };
        let ended = recorded(
            &recorder,
            process,
            "append",
            &name,
            json!([expected, id]),
            async {
                match store.append(&key, vec![event(1, &id)], expect).await {
                    Ok(a) => Ended::Ok(json!(a.last.raw()), Some(a.last.raw())),
                    Err(e) => Ended::failed(&e),
                }
            },
        )
        .await;
        match ended {
            Ended::Ok(_, Some(last)) if expect != ExpectRevision::Any => {
                seen.insert(name, Some(statebench_adapters::Revision::from_raw(last)));
            }
            // After a conflict the catch-up finds what came in between.
            Ended::Ok(..) | Ended::Fail(_) => {}
            Ended::Info(_) => {
                seen.remove(&name);
            }
        }
    }
}
