//! A delay precise to microseconds, for injected latency.
//!
//! tokio's timer rounds every sleep up to whole milliseconds, so `sleep(200 µs)` takes
//! about 1 ms: useless for injecting the few percent of slowdown the regression gate must
//! see. Here one timer thread keeps a heap of deadlines. It parks on a condition variable
//! until shortly before the earliest (with 1 ns timer slack, so the kernel wakes it on
//! time), spins through only the last [`SPIN`], and wakes each waiting task at or after its
//! deadline. Long delays sleep on tokio's timer first and hand the last milliseconds over,
//! so no thread spins for more than a few microseconds per deadline.

use parking_lot::{Condvar, Mutex};
use std::cmp::Ordering as Order;
use std::collections::BinaryHeap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Delays longer than this sleep on tokio's timer until [`HANDOVER`] is left.
const PRECISE_UP_TO: Duration = Duration::from_millis(4);
/// What is left of a long delay when tokio's timer (late by up to a millisecond) hands it
/// to the timer thread.
const HANDOVER: Duration = Duration::from_millis(2);
/// The timer thread spins through this much before a deadline instead of parking: a parked
/// thread wakes some microseconds late, a spinning one on time.
const SPIN: Duration = Duration::from_micros(8);

/// Waits `delay` from now, never less.
pub async fn sleep(delay: Duration) {
    sleep_until(Instant::now() + delay).await;
}

/// Waits until `deadline`, never returning before it.
pub async fn sleep_until(deadline: Instant) {
    let left = deadline.saturating_duration_since(Instant::now());
    if left > PRECISE_UP_TO {
        tokio::time::sleep(left - HANDOVER).await;
    }
    Delay {
        deadline,
        slot: None,
    }
    .await;
}

/// A waiting task's side of a deadline: whether it passed, and whom to wake.
#[derive(Default)]
struct Slot {
    state: Mutex<(bool, Option<Waker>)>,
}

impl Slot {
    fn fire(&self) {
        let waker = {
            let mut state = self.state.lock();
            state.0 = true;
            state.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// A future that is ready once its deadline has passed.
struct Delay {
    deadline: Instant,
    slot: Option<Arc<Slot>>,
}

impl Future for Delay {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        let slot = match &self.slot {
            Some(slot) => slot.clone(),
            None => {
                let slot = Arc::new(Slot::default());
                slot.state.lock().1 = Some(cx.waker().clone());
                timer().add(self.deadline, slot.clone());
                self.slot = Some(slot);
                return Poll::Pending;
            }
        };
        let mut state = slot.state.lock();
        if state.0 {
            return Poll::Ready(());
        }
        match &mut state.1 {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            other => *other = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

/// A deadline in the heap, earliest first.
struct Entry {
    deadline: Instant,
    slot: Arc<Slot>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.deadline == other.deadline
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Order> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Order {
        other.deadline.cmp(&self.deadline)
    }
}

/// The timer thread's state.
struct Timer {
    heap: Mutex<BinaryHeap<Entry>>,
    changed: Condvar,
    /// The earliest deadline, in ns after `base`, so a spinning thread sees an earlier one
    /// arrive without taking the lock.
    earliest_ns: AtomicU64,
    base: Instant,
}

fn timer() -> &'static Timer {
    static TIMER: OnceLock<&'static Timer> = OnceLock::new();
    TIMER.get_or_init(|| {
        let timer: &'static Timer = Box::leak(Box::new(Timer {
            heap: Mutex::new(BinaryHeap::new()),
            changed: Condvar::new(),
            earliest_ns: AtomicU64::new(u64::MAX),
            base: Instant::now(),
        }));
        std::thread::Builder::new()
            .name("statebench-delay".into())
            .spawn(move || timer.run())
            .expect("the delay timer thread starts");
        timer
    })
}

impl Timer {
    fn since_base(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.base).as_nanos() as u64
    }

    fn add(&self, deadline: Instant, slot: Arc<Slot>) {
        let mut heap = self.heap.lock();
        let earlier = heap.peek().is_none_or(|first| deadline < first.deadline);
        heap.push(Entry { deadline, slot });
        if earlier {
            self.earliest_ns
                .store(self.since_base(deadline), Ordering::Release);
            drop(heap);
            self.changed.notify_one();
        }
    }

    fn run(&self) {
        precise_sleeps();
        let mut due = Vec::new();
        let mut heap = self.heap.lock();
        loop {
            let Some(next) = heap.peek().map(|e| e.deadline) else {
                self.earliest_ns.store(u64::MAX, Ordering::Release);
                self.changed.wait(&mut heap);
                continue;
            };
            self.earliest_ns
                .store(self.since_base(next), Ordering::Release);
            let left = next.saturating_duration_since(Instant::now());
            if left > SPIN {
                self.changed.wait_for(&mut heap, left - SPIN);
                continue;
            }
            if !left.is_zero() {
                parking_lot::MutexGuard::unlocked(&mut heap, || self.spin_until(next));
                continue;
            }
            let now = Instant::now();
            while heap.peek().is_some_and(|e| e.deadline <= now) {
                due.extend(heap.pop().map(|e| e.slot));
            }
            parking_lot::MutexGuard::unlocked(&mut heap, || due.drain(..).for_each(|s| s.fire()));
        }
    }

    /// Spins until `next`, or until an earlier deadline arrives.
    fn spin_until(&self, next: Instant) {
        let next_ns = self.since_base(next);
        while Instant::now() < next && self.earliest_ns.load(Ordering::Acquire) >= next_ns {
            std::hint::spin_loop();
        }
    }
}

/// Asks Linux to wake the timer thread on time: the default timer slack lets a timed wait
/// overrun by 50 µs.
fn precise_sleeps() {
    #[cfg(target_os = "linux")]
    {
        // Best effort: on failure waits are merely less precise.
        let _ = rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_delay_is_never_shorter_than_asked() {
        let asked = [0, 1, 5, 20, 60, 200, 900, 3_000, 4_500, 6_000];
        let mut tasks = Vec::new();
        for (i, us) in asked.iter().cycle().take(200).enumerate() {
            let delay = Duration::from_micros(*us);
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_micros(i as u64 * 37 % 500)).await;
                let start = Instant::now();
                sleep(delay).await;
                (delay, start.elapsed())
            }));
        }
        for task in tasks {
            let (asked, took) = task.await.unwrap();
            assert!(took >= asked, "asked {asked:?}, woke after {took:?}");
        }
    }

    #[tokio::test]
    async fn a_dropped_delay_does_not_stop_the_others() {
        let dropped =
            tokio::time::timeout(Duration::from_micros(50), sleep(Duration::from_secs(3)));
        assert!(dropped.await.is_err());
        let start = Instant::now();
        sleep(Duration::from_micros(300)).await;
        let took = start.elapsed();
        assert!(took >= Duration::from_micros(300));
        assert!(took < Duration::from_secs(1), "woke after {took:?}");
    }
}
