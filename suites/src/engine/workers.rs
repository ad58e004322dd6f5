//! The workers of a phase: closed-loop workers, open-loop workers, and the open loop's
//! dispatcher thread that issues operations on schedule.

use super::schedule::Schedule;
use super::tally::{Sample, Tally};
use crate::generate::{Generator, Op};
use crate::subject::Runner;
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Closed-loop workers yield to the runtime this often, so that a store that never waits
/// (like `memory`) cannot starve the phase's monitor.
const YIELD_EVERY: u32 = 256;
/// How long the dispatcher waits before trying again when every worker is busy.
const FULL_BACKOFF: Duration = Duration::from_micros(100);
/// The longest the dispatcher sleeps before looking at the stop flag again.
const SLEEP_SLICE: Duration = Duration::from_millis(20);
/// The dispatcher spins (instead of sleeping) through at most this much of the time before
/// an intended start, and at most a tenth of the mean gap between starts: a sleeping thread
/// wakes tens of microseconds late, a spinning one within a microsecond.
const MAX_SPIN: Duration = Duration::from_micros(50);

/// A counter on its own cache line, so workers do not slow each other down.
#[derive(Default)]
#[repr(align(128))]
pub struct Counter(AtomicU64);

impl Counter {
    /// The count so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn bump(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// What every worker of a phase shares.
pub struct Shared {
    /// Runs the operations.
    pub runner: Arc<Runner>,
    /// Where workers record; worker `w` uses shard `w % shards.len()`.
    pub shards: Box<[Mutex<Tally>]>,
    /// Operations started, per worker.
    pub started: Box<[Counter]>,
    /// Set to stop starting operations (cancellation or grace).
    pub stop: AtomicBool,
    /// The end of a timed phase.
    pub deadline: Option<Instant>,
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn record(&self, worker: usize, op: &Op, done: &crate::outcome::Executed, sample: &Sample) {
        self.shards[worker % self.shards.len()]
            .lock()
            .record(op.kind, done, sample);
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A closed-loop worker: starts its next operation when the last one ends, until the deadline
/// or its `quota` of operations.
pub async fn closed(shared: Arc<Shared>, worker: usize, quota: Option<u64>, mut ops: Generator) {
    let runner = shared.runner.clone();
    let mut name = String::new();
    let mut done = 0u64;
    let mut since_yield = 0;
    while !shared.stopped() && quota.is_none_or(|q| done < q) {
        let op = ops.next(runner.keys());
        let start = Instant::now();
        if shared.deadline.is_some_and(|d| start >= d) {
            break;
        }
        shared.started[worker].bump();
        let executed = runner.execute(&op, &mut name).await;
        let end = Instant::now();
        let took = nanos(end - start);
        let sample = Sample {
            response_ns: took,
            service_ns: took,
            lag_ns: None,
            end,
            straggler: shared.deadline.is_some_and(|d| end > d),
        };
        shared.record(worker, &op, &executed, &sample);
        done += 1;
        since_yield += 1;
        if since_yield == YIELD_EVERY {
            since_yield = 0;
            tokio::task::yield_now().await;
        }
    }
}

/// An operation issued by the dispatcher, with the time it was meant to start.
pub struct Ticket {
    intended: Instant,
    op: Op,
}

/// An open-loop worker: runs tickets as they come. Response time counts from the ticket's
/// intended start, so waiting for a free worker is part of it.
pub async fn open(shared: Arc<Shared>, worker: usize, tickets: async_channel::Receiver<Ticket>) {
    let runner = shared.runner.clone();
    let mut name = String::new();
    while let Ok(ticket) = tickets.recv().await {
        if shared.stopped() {
            break;
        }
        let start = Instant::now();
        shared.started[worker].bump();
        let executed = runner.execute(&ticket.op, &mut name).await;
        let end = Instant::now();
        let sample = Sample {
            response_ns: nanos(end - ticket.intended),
            service_ns: nanos(end - start),
            lag_ns: Some(nanos(start.saturating_duration_since(ticket.intended))),
            end,
            straggler: shared.deadline.is_some_and(|d| end > d),
        };
        shared.record(worker, &ticket.op, &executed, &sample);
    }
}

/// What the dispatcher needs.
pub struct Dispatch {
    /// The phase's start.
    pub origin: Instant,
    /// Operations to issue, for a counted phase.
    pub limit: Option<u64>,
    /// When operations are meant to start.
    pub schedule: Schedule,
    /// What they are.
    pub ops: Generator,
    /// The mean time between intended starts.
    pub mean_gap: Duration,
}

/// Issues tickets on schedule until the deadline or the limit; returns how many operations
/// were scheduled, including those it could not hand to a worker before the deadline.
/// Runs on its own thread: `std::thread::sleep` wakes within tens of microseconds, where
/// tokio's timer rounds to milliseconds.
pub fn dispatch(
    shared: &Shared,
    mut plan: Dispatch,
    tickets: async_channel::Sender<Ticket>,
) -> u64 {
    precise_sleeps();
    let spin = MAX_SPIN.min(plan.mean_gap / 10);
    let mut scheduled = 0;
    while plan.limit.is_none_or(|limit| scheduled < limit) && !shared.stopped() {
        let offset = plan.schedule.next_offset();
        let intended = plan.origin + offset;
        if shared.deadline.is_some_and(|d| intended >= d) {
            break;
        }
        if !sleep_until(shared, intended, spin) {
            break;
        }
        let mut ticket = Ticket {
            intended,
            op: plan.ops.next(shared.runner.keys()),
        };
        scheduled += 1;
        loop {
            match tickets.try_send(ticket) {
                Ok(()) => break,
                Err(async_channel::TrySendError::Closed(_)) => return scheduled,
                Err(async_channel::TrySendError::Full(back)) => {
                    let now = Instant::now();
                    if let Some(deadline) = shared.deadline.filter(|d| now >= *d) {
                        let rest = plan.schedule.count_until(deadline - plan.origin);
                        return scheduled + rest;
                    }
                    if shared.stopped() {
                        return scheduled;
                    }
                    ticket = back;
                    std::thread::sleep(FULL_BACKOFF);
                }
            }
        }
    }
    scheduled
}

/// Waits until `at`: sleeps in slices (so a stop is seen within a slice), then spins through
/// the last `spin`. False when stopped.
fn sleep_until(shared: &Shared, at: Instant, spin: Duration) -> bool {
    loop {
        if shared.stopped() {
            return false;
        }
        let now = Instant::now();
        if now >= at {
            return true;
        }
        let left = at - now;
        if left <= spin {
            std::hint::spin_loop();
        } else {
            std::thread::sleep((left - spin).min(SLEEP_SLICE));
        }
    }
}

/// Asks Linux to wake this thread's sleeps on time: the default timer slack lets a sleep
/// overrun by 50 µs, which would show as start lag. Elsewhere the spin covers it.
fn precise_sleeps() {
    #[cfg(target_os = "linux")]
    {
        // Best effort: on failure sleeps are merely less precise, and start lag shows it.
        let _ = rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1));
    }
}
