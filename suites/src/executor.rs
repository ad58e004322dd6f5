//! The aggregate executor: one domain command run over either contract. Load the state (or
//! replay the stream), decide, persist with the expected version, retry on conflict.

use crate::domain::{Account, Command, Payload, decode_event, decode_state};
use crate::outcome::{Executed, Outcome};
use statebench_adapters::{
    EventError, EventStore, Expect, ExpectRevision, ReadFrom, Revision, Snapshot, Snapshots,
    StateStore, StoreError,
};

/// Events read per request while replaying a stream.
const PAGE: usize = 1024;

/// Runs commands, retrying conflicts up to a bound (like pgbench's `--max-tries`).
#[derive(Clone, Copy, Debug)]
pub struct Executor {
    /// Retries after a conflict before the command gives up as a conflict.
    pub max_retries: u32,
}

/// One attempt: done, or conflicted and worth another try (with what it learned).
enum Attempt<S> {
    Done(Executed),
    Conflicted(S),
}

impl Executor {
    /// Runs `attempt` until it is done or has conflicted `max_retries + 1` times; each
    /// attempt gets what the one before it learned, starting from `state`.
    async fn retrying<S, F, Fut>(&self, mut state: S, mut attempt: F) -> Executed
    where
        F: FnMut(S) -> Fut,
        Fut: Future<Output = Attempt<S>>,
    {
        let mut retries = 0;
        loop {
            match attempt(state).await {
                Attempt::Done(mut done) => {
                    done.retries = retries;
                    return done;
                }
                Attempt::Conflicted(_) if retries >= self.max_retries => {
                    let message = format!("gave up after {retries} retries on conflicts");
                    let mut gave_up = Executed::failure(Outcome::Conflict, message);
                    gave_up.retries = retries;
                    return gave_up;
                }
                Attempt::Conflicted(learned) => {
                    state = learned;
                    retries += 1;
                }
            }
        }
    }

    /// Runs `command` on the account stored under `key`.
    pub async fn on_state(
        &self,
        store: &dyn StateStore,
        key: &str,
        command: Command,
        payload: &Payload,
        size: usize,
    ) -> Executed {
        self.retrying((), |()| async move {
            let (account, expect) = match store.get(key).await {
                Ok(Some(found)) => match decode_state(&found.value) {
                    Ok(account) => (account, Expect::Version(found.version)),
                    Err(e) => return Attempt::Done(Executed::failure(Outcome::Fatal, e)),
                },
                Ok(None) => (Account::default(), Expect::Absent),
                Err(e) => return Attempt::Done(Executed::failed(&e)),
            };
            let Some(event) = account.decide(command) else {
                return Attempt::Done(Executed {
                    rejected: true,
                    ..Executed::OK
                });
            };
            let value = payload.state(account.apply(event), size);
            match store.put(key, value, expect).await {
                Ok(_) => Attempt::Done(Executed::OK),
                Err(StoreError::Conflict { .. }) => Attempt::Conflicted(()),
                Err(e) => Attempt::Done(Executed::failed(&e)),
            }
        })
        .await
    }

    /// Runs `command` on the account whose events are in `stream`, starting from its newest
    /// snapshot when `snapshots` is given (and saving a new one every `every` events). After
    /// a conflict, the retry reads only the events appended since the last one it saw.
    pub async fn on_events(
        &self,
        store: &dyn EventStore,
        snapshots: Option<&Snapshotting<'_>>,
        stream: &str,
        command: Command,
        payload: &Payload,
        size: usize,
    ) -> Executed {
        let start = match start(snapshots, stream).await {
            Ok(start) => start,
            Err(done) => return done,
        };
        self.retrying(start, |known| async move {
            let loaded = match catch_up(store, stream, known).await {
                Ok(loaded) => loaded,
                Err(done) => return Attempt::Done(done),
            };
            let Some(event) = loaded.account.decide(command) else {
                return Attempt::Done(Executed {
                    rejected: true,
                    ..Executed::OK
                });
            };
            let expect = loaded
                .last
                .map_or(ExpectRevision::NoStream, ExpectRevision::Exact);
            match store
                .append(stream, vec![payload.event(event, size)], expect)
                .await
            {
                Ok(appended) => {
                    if let Some(s) = snapshots.filter(|s| loaded.unsnapshotted + 1 >= s.every) {
                        let state = payload.state(loaded.account.apply(event), 8);
                        let snapshot = Snapshot {
                            revision: appended.last,
                            state,
                        };
                        // A snapshot that could not be saved only makes later loads longer.
                        let _ = s.store.save_snapshot(stream, snapshot).await;
                    }
                    Attempt::Done(Executed::OK)
                }
                Err(StoreError::Conflict { .. }) => Attempt::Conflicted(loaded),
                Err(e) => Attempt::Done(Executed::failed(&e)),
            }
        })
        .await
    }
}

/// Where snapshots are kept, and how often a command saves one.
pub struct Snapshotting<'a> {
    /// The store of snapshots.
    pub store: &'a dyn Snapshots,
    /// Save a snapshot once this many events came after the last one.
    pub every: u32,
}

/// An account as of revision `last`, and how many of its events came after its snapshot.
#[derive(Clone, Copy, Debug, Default)]
struct Loaded {
    account: Account,
    last: Option<Revision>,
    unsnapshotted: u32,
}

/// The newest snapshot of `stream` as a starting point, or the empty account.
async fn start(snapshots: Option<&Snapshotting<'_>>, stream: &str) -> Result<Loaded, Executed> {
    let Some(snapshots) = snapshots else {
        return Ok(Loaded::default());
    };
    match snapshots.store.load_snapshot(stream).await {
        Ok(Some(snapshot)) => {
            let account =
                decode_state(&snapshot.state).map_err(|e| Executed::failure(Outcome::Fatal, e))?;
            Ok(Loaded {
                account,
                last: Some(snapshot.revision),
                unsnapshotted: 0,
            })
        }
        Ok(None) => Ok(Loaded::default()),
        Err(e) => Err(Executed::failed(&e)),
    }
}

/// Rebuilds an account from its whole stream; also returns the last revision read.
pub async fn replay(
    store: &dyn EventStore,
    stream: &str,
) -> Result<(Account, Option<Revision>), Executed> {
    load(store, None, stream).await
}

/// Rebuilds an account from its newest snapshot (when given) and the events after it.
pub async fn load(
    store: &dyn EventStore,
    snapshots: Option<&Snapshotting<'_>>,
    stream: &str,
) -> Result<(Account, Option<Revision>), Executed> {
    let loaded = catch_up(store, stream, start(snapshots, stream).await?).await?;
    Ok((loaded.account, loaded.last))
}

/// Applies to `known` the events after its revision. A page shorter than asked for ends the
/// stream, as the contract says.
async fn catch_up(
    store: &dyn EventStore,
    stream: &str,
    mut known: Loaded,
) -> Result<Loaded, Executed> {
    loop {
        let from = known.last.map_or(ReadFrom::Start, ReadFrom::After);
        let page = store
            .read(stream, from, PAGE)
            .await
            .map_err(|e: EventError| Executed::failed(&e))?;
        for recorded in &page {
            let event = decode_event(recorded).map_err(|e| Executed::failure(Outcome::Fatal, e))?;
            known.account = known.account.apply(event);
            known.last = Some(recorded.revision);
            known.unsnapshotted += 1;
        }
        if page.len() < PAGE {
            return Ok(known);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Event;
    use statebench_adapters::memory::Memory;
    use std::sync::Arc;

    const SIZE: usize = 16;

    /// 8 tasks deposit 1 into one account 50 times each, on 4 threads; returns the balance.
    async fn contend(store: Arc<dyn StateStore>) -> i64 {
        let payload = Payload::new(SIZE, 1);
        let exec = Executor { max_retries: 1_000 };
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (store, payload) = (store.clone(), payload.clone());
                tokio::spawn(async move {
                    for _ in 0..50 {
                        let done = exec
                            .on_state(store.as_ref(), "acct", Command::Deposit(1), &payload, SIZE)
                            .await;
                        assert_eq!(done.outcome, Outcome::Ok);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let stored = store.get("acct").await.unwrap().unwrap();
        decode_state(&stored.value).unwrap().balance
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn state_commands_keep_the_books_under_contention() {
        for _ in 0..10 {
            assert_eq!(
                contend(Arc::new(Memory::new())).await,
                400,
                "no lost update"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_same_contention_loses_updates_on_a_racy_cas() {
        // The test above can fail: over a compare-and-set done as a read and a write, the same
        // commands lose updates.
        let racy = statebench_adapters::broken::RacyCas::new(3);
        assert!(contend(Arc::new(racy)).await < 400);
    }

    #[tokio::test]
    async fn event_commands_replay_decide_and_append() {
        let store = Memory::new();
        let payload = Payload::new(SIZE, 1);
        let exec = Executor { max_retries: 3 };
        let open = payload.event(Event::Opened(5), SIZE);
        store
            .append("s", vec![open], ExpectRevision::NoStream)
            .await
            .unwrap();
        let done = exec
            .on_events(&store, None, "s", Command::Withdraw(5), &payload, SIZE)
            .await;
        assert_eq!(done, Executed::OK);
        let rejected = exec
            .on_events(&store, None, "s", Command::Withdraw(1), &payload, SIZE)
            .await;
        assert!(rejected.rejected && rejected.outcome == Outcome::Ok);
        let (account, last) = replay(&store, "s").await.unwrap();
        assert_eq!((account.balance, last.map(Revision::raw)), (0, Some(1)));
    }

    #[tokio::test]
    async fn snapshots_are_saved_every_n_events_and_loads_start_from_them() {
        let store = Memory::new();
        let payload = Payload::new(SIZE, 1);
        let exec = Executor { max_retries: 3 };
        let snapshots = Snapshotting {
            store: &store,
            every: 3,
        };
        for _ in 0..10 {
            let done = exec
                .on_events(
                    &store,
                    Some(&snapshots),
                    "s",
                    Command::Deposit(2),
                    &payload,
                    SIZE,
                )
                .await;
            assert_eq!(done, Executed::OK);
        }
        let saved = store.load_snapshot("s").await.unwrap().expect("a snapshot");
        assert_eq!(
            saved.revision.raw(),
            8,
            "saved after the 3rd, 6th and 9th event"
        );
        assert_eq!(decode_state(&saved.state).unwrap().balance, 18);
        let (from_snapshot, last) = load(&store, Some(&snapshots), "s").await.unwrap();
        let (replayed, _) = replay(&store, "s").await.unwrap();
        assert_eq!(
            (from_snapshot, last.map(Revision::raw)),
            (replayed, Some(9))
        );
        assert_eq!(replayed.balance, 20);
    }

    #[tokio::test]
    async fn a_command_gives_up_after_its_retries() {
        struct AlwaysConflicts(Memory);
        impl statebench_adapters::Adapter for AlwaysConflicts {
            fn descriptor(&self) -> &statebench_adapters::Descriptor {
                statebench_adapters::Adapter::descriptor(&self.0)
            }
        }
        #[async_trait::async_trait]
        impl StateStore for AlwaysConflicts {
            async fn get(
                &self,
                key: &str,
            ) -> Result<Option<statebench_adapters::Versioned>, statebench_adapters::StateError>
            {
                self.0.get(key).await
            }
            async fn put(
                &self,
                _: &str,
                _: bytes::Bytes,
                _: Expect,
            ) -> Result<statebench_adapters::Version, statebench_adapters::StateError> {
                Err(StoreError::Conflict { actual: None })
            }
        }
        let store = AlwaysConflicts(Memory::new());
        let exec = Executor { max_retries: 3 };
        let payload = Payload::new(SIZE, 1);
        let done = exec
            .on_state(&store, "k", Command::Deposit(1), &payload, SIZE)
            .await;
        assert_eq!((done.outcome, done.retries), (Outcome::Conflict, 3));
    }
}
