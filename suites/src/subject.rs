//! A subject is one adapter driven through one interface; its runner maps workload
//! operations onto that interface.

use crate::check::Verdict;
use crate::domain::{Account, Command, Event, INITIAL_BALANCE, Payload};
use crate::executor::{Executor, Snapshotting, load};
use crate::generate::{KeySpace, Op};
use crate::ledger::{Ledger, Settled};
use crate::outcome::{Executed, Outcome};
use crate::results::Interface;
use crate::workload::{OpKind, Workload};
use statebench_adapters::fault::{FaultPlan, Faulty};
use statebench_adapters::{
    Descriptor, EventStore, Expect, ExpectRevision, Layered, Snapshots, StateStore,
};
use std::sync::Arc;

/// The contract a subject is driven through.
#[derive(Clone)]
pub enum Target {
    /// Keys with versioned values.
    State(Arc<dyn StateStore>),
    /// Streams of events.
    Events(Arc<dyn EventStore>),
}

/// One adapter driven through one interface, under the name reports use.
#[derive(Clone)]
pub struct Subject {
    /// `memory:state`, `postgres`, …
    pub name: String,
    /// The adapter, through its interface.
    pub target: Target,
    /// How its backend was provided (`embedded`, `docker`, …).
    pub provisioning: String,
    /// Where an event subject keeps snapshots, if its adapter offers them.
    pub snapshots: Option<Arc<dyn Snapshots>>,
    /// Both sides of a cached store (cache-aside), for the checks that tell a stale cache
    /// entry from a lost write.
    pub layers: Option<Arc<dyn Layered>>,
    /// The store without the faults injected in front of `target`: trials load their keys
    /// and read their books through it, so injected faults touch only measured operations.
    pub unfaulted: Option<Target>,
}

impl std::fmt::Debug for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subject")
            .field("name", &self.name)
            .field("interface", &self.interface())
            .field("provisioning", &self.provisioning)
            .field("snapshots", &self.snapshots.is_some())
            .field("layers", &self.layers.is_some())
            .finish()
    }
}

impl Subject {
    /// A subject with neither snapshots nor layers.
    pub fn new(name: impl Into<String>, target: Target, provisioning: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            target,
            provisioning: provisioning.into(),
            snapshots: None,
            layers: None,
            unfaulted: None,
        }
    }

    /// A cached state store, driven as a state store and inspectable on both sides.
    pub fn layered(
        name: impl Into<String>,
        store: Arc<dyn Layered>,
        provisioning: impl Into<String>,
    ) -> Self {
        Self {
            layers: Some(store.clone()),
            ..Self::new(name, Target::State(store), provisioning)
        }
    }

    /// The same subject, loading and saving snapshots in `snapshots`.
    pub fn with_snapshots(self, snapshots: Arc<dyn Snapshots>) -> Self {
        Self {
            snapshots: Some(snapshots),
            ..self
        }
    }

    /// The same subject behind a fault wrapper that injects `plan` into every call of its
    /// contract. Loading a trial's keys, reading its books, snapshots and cache layers go
    /// around it. Its descriptor says so: the adapter is named `…+faults` and the setting
    /// `faults` describes the plan.
    pub fn with_faults(self, plan: FaultPlan) -> Self {
        let target = match &self.target {
            Target::State(s) => Target::State(Arc::new(Faulty::new(s.clone(), plan))),
            Target::Events(e) => Target::Events(Arc::new(Faulty::new(e.clone(), plan))),
        };
        let unfaulted = self.unfaulted.clone().unwrap_or(self.target.clone());
        Self {
            target,
            unfaulted: Some(unfaulted),
            ..self
        }
    }

    /// What the adapter declares.
    pub fn descriptor(&self) -> &Descriptor {
        match &self.target {
            Target::State(s) => s.descriptor(),
            Target::Events(e) => e.descriptor(),
        }
    }

    /// The contract used.
    pub fn interface(&self) -> Interface {
        match self.target {
            Target::State(_) => Interface::State,
            Target::Events(_) => Interface::Events,
        }
    }

    /// Why `workload` cannot run on this subject, if it cannot.
    pub fn unfit_for(&self, workload: &Workload) -> Option<String> {
        let needs_events = !workload.fits_state_store();
        (needs_events && self.interface() == Interface::State).then(|| {
            format!(
                "workload `{}` appends events; a state store has no streams",
                workload.name
            )
        })
    }
}

/// What an operation does to an account's balance.
enum Change {
    None,
    By(i64),
    Overwrite,
}

/// Whether the workload's operations change balances on this subject: then books are kept.
fn changes_balances(subject: &Subject, workload: &Workload) -> bool {
    let events = subject.interface() == Interface::Events;
    workload.mix.command > 0 || (events && (workload.mix.write > 0 || workload.mix.append > 0))
}

/// Runs operations of one workload on one subject.
pub struct Runner {
    target: Target,
    /// Where keys are loaded and books read: `target` without injected faults.
    setup: Target,
    snapshots: Option<(Arc<dyn Snapshots>, u32)>,
    keys: Arc<KeySpace>,
    payload: Payload,
    load_size: usize,
    executor: Executor,
    ledger: Option<Arc<Ledger>>,
    truth: Option<Arc<dyn Layered>>,
}

impl Runner {
    /// A runner over `keys`, padding values to the workload's sizes.
    pub fn new(subject: &Subject, workload: &Workload, keys: Arc<KeySpace>) -> Self {
        let max = workload.value_size_max.unwrap_or(workload.value_size) as usize;
        let snapshots = subject.snapshots.clone().zip(workload.snapshot_every);
        let keys_loaded = keys.loaded();
        Self {
            target: subject.target.clone(),
            setup: subject.unfaulted.clone().unwrap_or(subject.target.clone()),
            snapshots,
            keys,
            payload: Payload::new(max, workload.seed),
            load_size: workload.value_size as usize,
            executor: Executor {
                max_retries: workload.max_retries,
            },
            ledger: changes_balances(subject, workload)
                .then(|| Ledger::new(keys_loaded))
                .flatten()
                .map(Arc::new),
            truth: subject.layers.clone(),
        }
    }

    /// Checks each touched account's balance against the books kept while operations ran;
    /// `None` when the workload changes no balance (or has too many keys for books).
    pub async fn verify_books(&self) -> Option<Verdict> {
        let ledger = self.ledger.clone()?;
        let keys = self.keys.clone();
        let name = move |k: u64| {
            let mut name = String::new();
            keys.name(k, &mut name);
            name
        };
        Some(ledger.verify(&self.setup, self.truth.as_ref(), name).await)
    }

    /// The change `op` makes to an account's balance, as the books count it.
    fn change(&self, op: &Op) -> Change {
        let amount = i64::from(op.amount);
        match (op.kind, &self.target) {
            (OpKind::Command, _) if op.deposit => Change::By(amount),
            (OpKind::Command, _) => Change::By(-amount),
            (OpKind::Write | OpKind::Append, Target::Events(_)) => Change::By(amount),
            (OpKind::Write, Target::State(_)) => Change::Overwrite,
            _ => Change::None,
        }
    }

    /// Runs one operation, keeping the books; `name` is scratch space for the key's name.
    pub async fn execute(&self, op: &Op, name: &mut String) -> Executed {
        let Some(ledger) = &self.ledger else {
            return self.run(op, name).await;
        };
        match self.change(op) {
            Change::None => self.run(op, name).await,
            Change::Overwrite => {
                ledger.overwrite(op.key);
                self.run(op, name).await
            }
            Change::By(delta) => {
                ledger.begin(op.key, delta);
                let done = self.run(op, name).await;
                ledger.end(op.key, delta, Settled::of(&done));
                done
            }
        }
    }

    /// The key space operations are drawn from.
    pub fn keys(&self) -> &KeySpace {
        &self.keys
    }

    async fn run(&self, op: &Op, name: &mut String) -> Executed {
        let key = if op.kind == OpKind::Insert {
            self.keys.allocate()
        } else {
            op.key
        };
        self.keys.name(key, name);
        let size = op.size as usize;
        let command = if op.deposit {
            Command::Deposit(op.amount)
        } else {
            Command::Withdraw(op.amount)
        };
        match &self.target {
            Target::State(store) => {
                let store = store.as_ref();
                let account = |balance| self.payload.state(Account { balance }, size);
                match op.kind {
                    OpKind::Read => Executed::from_result(store.get(name).await),
                    OpKind::Write => {
                        let value = account(INITIAL_BALANCE + i64::from(op.amount));
                        Executed::from_result(store.put(name, value, Expect::Any).await)
                    }
                    OpKind::Insert => {
                        let value = account(INITIAL_BALANCE);
                        Executed::from_result(store.put(name, value, Expect::Absent).await)
                    }
                    OpKind::Command => {
                        self.executor
                            .on_state(store, name, command, &self.payload, size)
                            .await
                    }
                    OpKind::Append => {
                        Executed::failure(Outcome::Fatal, "append needs an event store".to_owned())
                    }
                }
            }
            Target::Events(store) => {
                let store = store.as_ref();
                let append = |event, expect| {
                    store.append(name, vec![self.payload.event(event, size)], expect)
                };
                let snapshots = self.snapshots.as_ref().map(|(s, every)| Snapshotting {
                    store: s.as_ref(),
                    every: *every,
                });
                match op.kind {
                    OpKind::Read => load(store, snapshots.as_ref(), name)
                        .await
                        .map_or_else(|e| e, |_| Executed::OK),
                    OpKind::Write | OpKind::Append => Executed::from_result(
                        append(Event::Deposited(op.amount), ExpectRevision::Any).await,
                    ),
                    OpKind::Insert => Executed::from_result(
                        append(Event::Opened(INITIAL_BALANCE), ExpectRevision::NoStream).await,
                    ),
                    OpKind::Command => {
                        self.executor
                            .on_events(
                                store,
                                snapshots.as_ref(),
                                name,
                                command,
                                &self.payload,
                                size,
                            )
                            .await
                    }
                }
            }
        }
    }

    /// Writes the initial state of key `index`: an account with the initial balance.
    pub async fn load_one(&self, index: u64, name: &mut String) -> Executed {
        self.keys.name(index, name);
        let size = self.load_size;
        match &self.setup {
            Target::State(store) => {
                let value = self.payload.state(
                    Account {
                        balance: INITIAL_BALANCE,
                    },
                    size,
                );
                Executed::from_result(store.put(name, value, Expect::Any).await)
            }
            Target::Events(store) => {
                let opened = self.payload.event(Event::Opened(INITIAL_BALANCE), size);
                Executed::from_result(store.append(name, vec![opened], ExpectRevision::Any).await)
            }
        }
    }
}
