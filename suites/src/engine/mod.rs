//! The load engine: runs one phase of a workload on one subject, open or closed loop, and
//! records every operation without coordinated omission.
//!
//! Every operation has an intended start, an actual start and an end. Response time is end
//! minus intended start, service time is end minus actual start; in a closed loop the two
//! starts coincide. Operations scheduled but never started are counted, not dropped.

mod schedule;
pub mod tally;
pub mod timeline;
mod workers;

use crate::generate::{Generator, derive_seed};
use crate::progress::Progress;
use crate::results::{Latency, TimelinePoint};
use crate::subject::Runner;
use crate::units;
use crate::workload::{Arrivals, OpKind};
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use parking_lot::Mutex;
use schedule::Schedule;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};
use tally::Tally;
use timeline::Timeline;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use workers::{Counter, Dispatch, Shared};

/// How often histograms roll over into a new interval.
pub const INTERVAL: Duration = Duration::from_secs(1);
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// How long a phase lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Length {
    /// Wall-clock time.
    Duration(Duration),
    /// A number of operations.
    Ops(u64),
}

/// How a phase offers load.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// Operations arrive at `rate` per second, at most `max_in_flight` at once.
    Open {
        /// Offered operations per second.
        rate: f64,
        /// The arrival process.
        arrivals: Arrivals,
        /// Workers, each running one operation at a time.
        max_in_flight: usize,
    },
    /// `concurrency` workers run operations back to back.
    Closed {
        /// Workers.
        concurrency: usize,
    },
}

/// One phase to run.
#[derive(Clone, Debug)]
pub struct PhaseSpec {
    /// Shown in progress output.
    pub label: String,
    /// How long.
    pub length: Length,
    /// How load is offered.
    pub mode: Mode,
    /// Seeds this phase's generators.
    pub seed: u64,
    /// The fraction of a gap constant arrivals start late ([`Slice::stagger`]); 0 in a whole
    /// run.
    ///
    /// [`Slice::stagger`]: crate::shard::Slice::stagger
    pub stagger: f64,
}

/// What a phase recorded.
pub struct PhaseReport {
    /// Wall-clock time of the phase's start.
    pub started_at: std::time::SystemTime,
    /// From the phase's start to its last completion (not to the end of a grace period).
    pub elapsed: Duration,
    /// The measured window: a timed phase's set length (operations that end after it are
    /// stragglers), else `elapsed`.
    pub window: Duration,
    /// Everything recorded.
    pub total: Tally,
    /// Per-interval points.
    pub timeline: Vec<TimelinePoint>,
    /// Operations scheduled (open loop) or started (closed loop).
    pub scheduled: u64,
    /// Operations started.
    pub started: u64,
    /// Started but never finished within the grace period.
    pub abandoned: u64,
    /// Stopped by cancellation.
    pub interrupted: bool,
    /// What went wrong in the harness itself (an interval log that could not be written, a
    /// dispatcher that failed), if anything.
    pub log_error: Option<String>,
}

impl PhaseReport {
    /// Scheduled operations that never started.
    pub fn unstarted(&self) -> u64 {
        self.scheduled.saturating_sub(self.started)
    }

    /// How late operations started, when they had a schedule.
    pub fn start_lag(&self) -> Option<Latency> {
        self.total.lag().map(Latency::of)
    }
}

/// Runs phases on one subject.
pub struct Engine {
    /// Runs the operations.
    pub runner: Arc<Runner>,
    /// The workload the operations come from.
    pub workload: Arc<crate::workload::Workload>,
    /// Stops the phase early (Ctrl-C).
    pub cancel: CancellationToken,
    /// How long in-flight operations may take to finish after the phase ends or is
    /// cancelled, before they are abandoned.
    pub grace: Duration,
}

impl Engine {
    /// Runs one phase; writes its interval histograms to `log` when given.
    pub async fn run(
        &self,
        spec: &PhaseSpec,
        progress: &dyn Progress,
        log: Option<Box<dyn Write + Send>>,
    ) -> PhaseReport {
        let origin = Instant::now();
        let started_at = std::time::SystemTime::now();
        let deadline = match spec.length {
            Length::Duration(d) => Some(origin + d),
            Length::Ops(_) => None,
        };
        let workers = match spec.mode {
            Mode::Open { max_in_flight, .. } => max_in_flight,
            Mode::Closed { concurrency } => concurrency,
        };
        let shards = workers.min(2 * available_cpus()).max(1);
        let shared = Arc::new(Shared {
            runner: self.runner.clone(),
            shards: (0..shards).map(|_| Mutex::new(Tally::default())).collect(),
            started: (0..workers).map(|_| Counter::default()).collect(),
            stop: false.into(),
            deadline,
        });
        let mut set = JoinSet::new();
        let dispatcher = self.spawn(spec, &shared, &mut set, origin);
        let total = match spec.length {
            Length::Duration(d) => d.as_millis() as u64,
            Length::Ops(n) => n,
        };
        progress.begin(&spec.label, total);
        let mut monitor = Monitor::new(origin, log);
        let mut ticker = tokio::time::interval(PROGRESS_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut give_up_at = deadline.map(|d| d + self.grace);
        let mut interrupted = false;
        loop {
            tokio::select! {
                joined = set.join_next() => if joined.is_none() { break },
                _ = ticker.tick() => {
                    let now = Instant::now();
                    if self.cancel.is_cancelled() && !interrupted {
                        interrupted = true;
                        shared.stop.store(true, Ordering::Relaxed);
                        give_up_at = Some(now + self.grace.min(Duration::from_secs(2)));
                    }
                    if give_up_at.is_some_and(|t| now >= t) {
                        shared.stop.store(true, Ordering::Relaxed);
                        set.abort_all();
                    }
                    monitor.tick(&shared, now);
                    let position = match spec.length {
                        Length::Duration(_) => (now - origin).as_millis() as u64,
                        Length::Ops(_) => started(&shared),
                    };
                    progress.advance(position.min(total), &monitor.live);
                }
            }
        }
        monitor.roll(&shared, Instant::now());
        let started = started(&shared);
        let (scheduled, dispatch_error) = match dispatcher {
            None => (started, None),
            Some(thread) => match tokio::task::spawn_blocking(move || thread.join()).await {
                Ok(Ok(scheduled)) => (scheduled, None),
                _ => (
                    started,
                    Some(
                        "the dispatcher thread panicked; unstarted operations are not known"
                            .to_owned(),
                    ),
                ),
            },
        };
        let total = monitor.total;
        let end = total.last_end().unwrap_or(origin).max(origin);
        debug_assert!(
            scheduled >= started,
            "{scheduled} scheduled, {started} started"
        );
        let elapsed = end - origin;
        PhaseReport {
            started_at,
            elapsed,
            window: match spec.length {
                Length::Duration(d) if !interrupted => d,
                _ => elapsed,
            },
            abandoned: started.saturating_sub(total.count()),
            total,
            timeline: monitor.timeline.points(),
            scheduled,
            started,
            interrupted,
            log_error: monitor.log_error.or(dispatch_error),
        }
    }

    fn spawn(
        &self,
        spec: &PhaseSpec,
        shared: &Arc<Shared>,
        set: &mut JoinSet<()>,
        origin: Instant,
    ) -> Option<std::thread::JoinHandle<u64>> {
        let generator = |stream: u64| {
            Generator::new(
                &self.workload,
                self.runner.keys(),
                derive_seed(spec.seed, stream),
            )
        };
        match spec.mode {
            Mode::Closed { concurrency } => {
                let c = concurrency as u64;
                for w in 0..concurrency {
                    let quota = match spec.length {
                        Length::Ops(n) => Some(n / c + u64::from((w as u64) < n % c)),
                        Length::Duration(_) => None,
                    };
                    set.spawn(workers::closed(
                        shared.clone(),
                        w,
                        quota,
                        generator(w as u64),
                    ));
                }
                None
            }
            Mode::Open {
                rate,
                arrivals,
                max_in_flight,
            } => {
                let (tx, rx) = async_channel::bounded(max_in_flight);
                for w in 0..max_in_flight {
                    set.spawn(workers::open(shared.clone(), w, rx.clone()));
                }
                let plan = Dispatch {
                    origin,
                    limit: match spec.length {
                        Length::Ops(n) => Some(n),
                        Length::Duration(_) => None,
                    },
                    schedule: Schedule::new(rate, arrivals, derive_seed(spec.seed, u64::MAX))
                        .shifted(spec.stagger),
                    ops: generator(0),
                    mean_gap: Duration::from_secs_f64(1.0 / rate),
                };
                let shared = shared.clone();
                Some(std::thread::spawn(move || {
                    workers::dispatch(&shared, plan, tx)
                }))
            }
        }
    }
}

fn started(shared: &Shared) -> u64 {
    shared.started.iter().map(Counter::get).sum()
}

/// Logical CPUs available to this process.
pub fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Rolls shards into intervals, intervals into the total, the timeline and the log.
struct Monitor {
    origin: Instant,
    interval_start: Instant,
    /// One emptied tally per shard, swapped in at each roll so that workers keep recording
    /// into histograms that are already allocated.
    spares: Vec<Tally>,
    interval: Tally,
    total: Tally,
    timeline: Timeline,
    log: Option<Box<dyn Write + Send>>,
    log_started: bool,
    log_error: Option<String>,
    base_time: SystemTime,
    live: String,
}

impl Monitor {
    fn new(origin: Instant, log: Option<Box<dyn Write + Send>>) -> Self {
        Self {
            origin,
            interval_start: origin,
            spares: Vec::new(),
            interval: Tally::default(),
            total: Tally::default(),
            timeline: Timeline::default(),
            log,
            log_started: false,
            log_error: None,
            base_time: SystemTime::now(),
            live: String::new(),
        }
    }

    fn tick(&mut self, shared: &Shared, now: Instant) {
        if now - self.interval_start >= INTERVAL {
            self.roll(shared, now);
        }
    }

    fn roll(&mut self, shared: &Shared, now: Instant) {
        self.spares.resize_with(shared.shards.len(), Tally::default);
        self.interval.reset();
        for (shard, spare) in shared.shards.iter().zip(&mut self.spares) {
            std::mem::swap(&mut *shard.lock(), spare);
            self.interval.absorb(spare);
            spare.reset();
        }
        let (start, end) = (self.interval_start - self.origin, now - self.origin);
        self.timeline.push(start, end, &self.interval);
        if let Err(e) = self.write_log(start, end - start) {
            self.log = None;
            self.log_error = Some(e);
        }
        let rate = units::per_second(self.interval.count(), end - start);
        let p99 = tally::p99_us(&self.interval.all_responses());
        self.live = format!(
            "{} ops/s, p99 {}",
            units::rate(rate),
            units::latency_us(p99)
        );
        self.total.absorb(&self.interval);
        self.interval_start = now;
    }

    fn write_log(&mut self, start: Duration, length: Duration) -> Result<(), String> {
        let Some(sink) = self.log.as_mut() else {
            return Ok(());
        };
        let mut serializer = V2DeflateSerializer::new();
        let mut builder = IntervalLogWriterBuilder::new();
        if !self.log_started {
            builder
                .add_comment("statebench interval log: values in nanoseconds; tags are op:response or op:service")
                .with_base_time(self.base_time);
            self.log_started = true;
        }
        let mut writer = builder
            .begin_log_with(sink, &mut serializer)
            .map_err(|e| e.to_string())?;
        for op in OpKind::ALL {
            let (response, service) = self.interval.op_histograms(op);
            for (kind, histogram) in [("response", response), ("service", service)] {
                if histogram.is_empty() {
                    continue;
                }
                let tag = format!("{}:{kind}", op.as_str());
                writer
                    .write_histogram(&histogram, start, length, Tag::new(&tag))
                    .map_err(|e| format!("{e:?}"))?;
            }
        }
        Ok(())
    }
}
