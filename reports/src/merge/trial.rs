//! One trial from the shards' trials of the same id.
//!
//! Throughput is over the common window. The shards of one run measure windows of the same
//! length W that start together (`--start-at`); each shard's `ops_per_s` is its in-window
//! operations over W, so the merged `ops_per_s` = Σ in-window operations / W = the sum of the
//! shards' rates (likewise `ok_per_s`). When the windows do not line up — they started more
//! than 1 % of W or 100 ms apart (whichever is larger), or differ in length — the merged
//! window is their union, from the earliest start to the latest end, the rates are
//! Σ (rate × own window) / union, and a warning says so. A shard without a recorded start
//! (results written before `started_unix_ns`) cannot be lined up: the windows are taken as
//! aligned and a warning says so.
//!
//! Start lag has no histogram in the results, so it cannot be added: the shard whose lag was
//! worst at p99 stands for all. A merged figure of one shard is that shard's own.

use super::{Shard, relocated, timeline};
use crate::format::latency_us;
use crate::pooled::{add_operations, merged, sum_counts, worst_start_lag};
use statebench_suites::outcome::Outcome;
use statebench_suites::results::{LoadSummary, PhaseStats, Step, Summary, Trial};
use std::collections::BTreeMap;

/// The merged trials, what each shard trial id became, and what did not line up.
pub(super) struct Merged {
    /// One per trial id, in the order the shards ran them.
    pub trials: Vec<Trial>,
    /// A shard's trial id → the merged trial's (they differ when the id names the step).
    pub ids: BTreeMap<String, String>,
    /// Trials missing on a shard, windows that did not line up.
    pub warnings: Vec<String>,
}

/// Every trial id of the shards, merged.
pub(super) fn all(shards: &[Shard]) -> Merged {
    let mut order: Vec<&str> = Vec::new();
    for t in shards.iter().flat_map(|s| &s.results.trials) {
        if !order.contains(&t.id.as_str()) {
            order.push(&t.id);
        }
    }
    let mut out = Merged {
        trials: Vec::new(),
        ids: BTreeMap::new(),
        warnings: Vec::new(),
    };
    for id in order {
        let parts: Vec<(u32, &Trial)> = shards
            .iter()
            .filter_map(|s| {
                let t = s.results.trials.iter().find(|t| t.id == id)?;
                Some((s.index, t))
            })
            .collect();
        let (trial, warning) = one(&parts);
        if parts.len() < shards.len() {
            let missing: Vec<String> = shards
                .iter()
                .filter(|s| !parts.iter().any(|(i, _)| *i == s.index))
                .map(|s| s.index.to_string())
                .collect();
            out.warnings.push(format!(
                "trial {} is missing on shard {}: merged from the others, so its load is \
                 not the whole run's",
                trial.id,
                missing.join(", ")
            ));
        }
        out.warnings.extend(warning);
        out.ids.insert(id.to_owned(), trial.id.clone());
        out.trials.push(trial);
    }
    out
}

/// The trial `parts` (shard index, its trial) make together, and a warning when their
/// windows did not line up.
fn one(parts: &[(u32, &Trial)]) -> (Trial, Option<String>) {
    let (index, first) = parts[0];
    let step = whole_step(parts.iter().map(|(_, t)| &t.step));
    let phases: Vec<(u32, &PhaseStats)> = parts.iter().map(|(i, t)| (*i, &t.measured)).collect();
    let window = Window::of(&phases);
    let id = renamed(&first.id, &first.step, &step);
    let warning = window.warning(&id);
    let trial = Trial {
        id,
        step,
        interrupted: parts.iter().any(|(_, t)| t.interrupted),
        load: load(parts),
        warmup: warmup(parts),
        measured: phase(&phases, &window),
        // The shards' logs are copied beside the merged run; a lone shard's is the run's.
        interval_log: match parts {
            [(_, t)] => t.interval_log.as_deref().map(|p| relocated(index, p)),
            _ => None,
        },
        checks: checks(parts),
        // Settled again over the merged run.
        standing: None,
        ..first.clone()
    };
    (trial, warning)
}

/// The whole load of a step the shards each offered a part of: workers, rates and in-flight
/// limits summed.
fn whole_step<'a>(mut steps: impl Iterator<Item = &'a Step>) -> Step {
    let Some(first) = steps.next() else {
        return Step::Closed { concurrency: 0 };
    };
    let whole = steps.fold(first.clone(), |whole, part| match (whole, part) {
        (Step::Closed { concurrency: a }, Step::Closed { concurrency: b }) => {
            Step::Closed { concurrency: a + b }
        }
        (
            Step::Open {
                rate_per_s,
                arrivals,
                max_in_flight,
            },
            Step::Open {
                rate_per_s: r,
                max_in_flight: m,
                ..
            },
        ) => Step::Open {
            rate_per_s: rate_per_s + r,
            arrivals,
            max_in_flight: max_in_flight + m,
        },
        // A latency trial is open and a throughput trial closed on every shard; a mixed id
        // cannot come from one run, so the first's kind stands.
        (whole, _) => whole,
    });
    match whole {
        // The parts are the whole divided: their float sum can miss it in the last bit
        // (1000/6 six times is 999.9999999999999), and the step's slug must be the whole's
        // for compare to match it with a run of another shard count: to the micro-op/s.
        Step::Open {
            rate_per_s,
            arrivals,
            max_in_flight,
        } => Step::Open {
            rate_per_s: (rate_per_s * 1e6).round() / 1e6,
            arrivals,
            max_in_flight,
        },
        closed => closed,
    }
}

/// The shard's trial id with its step's slug replaced by the whole step's, where the id
/// names the step (`memory-state.throughput.8-workers[.r1]`).
fn renamed(id: &str, part: &Step, whole: &Step) -> String {
    let (old, new) = (format!(".{}", part.slug()), format!(".{}", whole.slug()));
    match id.rfind(&old) {
        Some(at) if matches!(&id[at + old.len()..], rest if rest.is_empty() || rest.starts_with(".r")) =>
        {
            format!("{}{new}{}", &id[..at], &id[at + old.len()..])
        }
        _ => id.to_owned(),
    }
}

/// The window a merged phase's rates are over.
struct Window {
    /// Each shard's phase start after the earliest, milliseconds.
    offsets_ms: Vec<f64>,
    /// Each shard's own window.
    lengths_ms: Vec<f64>,
    /// The merged window.
    window_ms: f64,
    /// The shards' windows line up: the merged rates are the sums of theirs.
    aligned: bool,
    /// How far apart the starts were.
    spread_ms: f64,
    /// Some shard has no recorded start.
    unknown_start: bool,
}

impl Window {
    fn of(phases: &[(u32, &PhaseStats)]) -> Self {
        let starts: Option<Vec<u64>> = phases.iter().map(|(_, p)| p.started_unix_ns).collect();
        let offsets_ms: Vec<f64> = match &starts {
            Some(starts) => {
                let t0 = starts.iter().copied().min().unwrap_or(0);
                starts.iter().map(|s| (s - t0) as f64 / 1e6).collect()
            }
            None => vec![0.0; phases.len()],
        };
        // Results written before the window was recorded: the phase's length.
        let lengths_ms: Vec<f64> = phases
            .iter()
            .map(|(_, p)| {
                if p.window_ms > 0.0 {
                    p.window_ms
                } else {
                    p.duration_ms
                }
            })
            .collect();
        let spread_ms = offsets_ms.iter().copied().fold(0.0, f64::max);
        let longest = lengths_ms.iter().copied().fold(0.0, f64::max);
        let same_length = lengths_ms.iter().all(|l| (l - lengths_ms[0]).abs() <= 1e-6);
        let tolerance_ms = tolerance_ms(lengths_ms[0]);
        let aligned = starts.is_none() || (same_length && spread_ms <= tolerance_ms);
        let window_ms = if aligned && same_length {
            lengths_ms[0]
        } else if aligned {
            longest
        } else {
            offsets_ms
                .iter()
                .zip(&lengths_ms)
                .map(|(o, l)| o + l)
                .fold(0.0, f64::max)
        };
        Self {
            offsets_ms,
            lengths_ms,
            window_ms,
            // Unknown starts of different lengths: rates over the longest, as for a union.
            aligned: aligned && same_length,
            spread_ms,
            unknown_start: starts.is_none(),
        }
    }

    fn tolerance_ms(&self) -> f64 {
        tolerance_ms(self.lengths_ms[0])
    }

    /// The rate of the shards together, from each one's `rates`.
    fn rate(&self, rates: impl Iterator<Item = f64>) -> f64 {
        if self.aligned {
            return rates.sum();
        }
        if self.window_ms <= 0.0 {
            return 0.0;
        }
        rates.zip(&self.lengths_ms).map(|(r, l)| r * l).sum::<f64>() / self.window_ms
    }

    fn warning(&self, id: &str) -> Option<String> {
        let window = latency_us(self.window_ms * 1_000.0);
        if self.lengths_ms.len() < 2 {
            None
        } else if self.unknown_start {
            Some(format!(
                "trial {id}: a shard's results have no measured-phase start (written before \
                 started_unix_ns), so the windows could not be lined up and are taken as \
                 aligned; throughput is over {window}"
            ))
        } else if !self.aligned && self.spread_ms > self.tolerance_ms() {
            Some(format!(
                "trial {id}: the shards' measured windows started {} apart (more than 1 % of \
                 the window or 100 ms, whichever is larger), so throughput is over their \
                 union, {window}",
                latency_us(self.spread_ms * 1_000.0)
            ))
        } else if !self.aligned {
            let own: Vec<String> = self
                .lengths_ms
                .iter()
                .map(|l| latency_us(l * 1_000.0))
                .collect();
            Some(format!(
                "trial {id}: the shards' measured windows differ in length ({}), so \
                 throughput is over their union, {window}",
                own.join(", ")
            ))
        } else {
            None
        }
    }
}

/// How far apart the shards' windows may start and still count as one: 1 % of the window,
/// at least 100 ms (clocks synchronised by NTP agree to a few milliseconds; a phase's start
/// also waits for its workers).
fn tolerance_ms(window_ms: f64) -> f64 {
    (window_ms / 100.0).max(100.0)
}

/// The measured phase of the shards together.
fn phase(phases: &[(u32, &PhaseStats)], window: &Window) -> PhaseStats {
    let all: Vec<&PhaseStats> = phases.iter().map(|(_, p)| *p).collect();
    let sum = |f: fn(&PhaseStats) -> u64| all.iter().map(|p| f(p)).sum::<u64>();
    let duration_ms = all
        .iter()
        .zip(&window.offsets_ms)
        .map(|(p, o)| o + p.duration_ms)
        .fold(0.0, f64::max);
    let mut operations = add_operations(&all);
    if all.len() > 1 && duration_ms > 0.0 {
        // As a run has it: an operation's completions over the phase's whole length.
        for op in &mut operations {
            op.ops_per_s = op.ops as f64 * 1_000.0 / duration_ms;
        }
    }
    let outcomes = || operations.iter().flat_map(|o| &o.outcomes);
    let (response, service) = merged(outcomes(), |_| true);
    let (ok_response, ok_service) = merged(outcomes(), |o| o.outcome == Outcome::Ok);
    let timelines: Vec<(f64, &[_])> = window
        .offsets_ms
        .iter()
        .zip(&all)
        .map(|(o, p)| (*o, p.timeline.as_slice()))
        .collect();
    PhaseStats {
        duration_ms,
        ops: sum(|p| p.ops),
        ops_per_s: window.rate(all.iter().map(|p| p.ops_per_s)),
        ok_per_s: window.rate(all.iter().map(|p| p.ok_per_s)),
        counts: sum_counts(all.iter().map(|p| &p.counts)),
        late: sum(|p| p.late),
        unstarted: sum(|p| p.unstarted),
        abandoned: sum(|p| p.abandoned),
        start_lag: worst_start_lag(&all),
        response,
        service,
        timeline: timeline::add(&timelines),
        operations,
        window_ms: window.window_ms,
        stragglers: sum(|p| p.stragglers),
        ok_response,
        ok_service,
        started_unix_ns: all.iter().filter_map(|p| p.started_unix_ns).min(),
    }
}

/// The shards' loads together: keys summed, over the longest load.
fn load(parts: &[(u32, &Trial)]) -> Option<LoadSummary> {
    let loads: Vec<&LoadSummary> = parts.iter().filter_map(|(_, t)| t.load.as_ref()).collect();
    match loads.as_slice() {
        [] => None,
        [one] => Some((*one).clone()),
        _ => {
            let keys = loads.iter().map(|l| l.keys).sum::<u64>();
            let duration_ms = loads.iter().map(|l| l.duration_ms).fold(0.0, f64::max);
            Some(LoadSummary {
                keys,
                duration_ms,
                keys_per_s: if duration_ms > 0.0 {
                    keys as f64 * 1_000.0 / duration_ms
                } else {
                    0.0
                },
            })
        }
    }
}

/// The shards' warm-ups, side by side: counts and rates summed, over the longest.
fn warmup(parts: &[(u32, &Trial)]) -> Summary {
    let all: Vec<&Summary> = parts.iter().map(|(_, t)| &t.warmup).collect();
    Summary {
        duration_ms: all.iter().map(|w| w.duration_ms).fold(0.0, f64::max),
        ops: all.iter().map(|w| w.ops).sum(),
        ops_per_s: all.iter().map(|w| w.ops_per_s).sum(),
        counts: sum_counts(all.iter().map(|w| &w.counts)),
    }
}

/// Every shard's checks of what its operations left behind (each shard writes its own keys),
/// each marked with its shard when there are several.
fn checks(parts: &[(u32, &Trial)]) -> Vec<statebench_suites::results::ConsistencyCheck> {
    if let [(_, t)] = parts {
        return t.checks.clone();
    }
    parts
        .iter()
        .flat_map(|(i, t)| {
            t.checks.iter().map(move |c| {
                let mut c = c.clone();
                c.note = if c.note.is_empty() {
                    format!("shard {i}")
                } else {
                    format!("{} (shard {i})", c.note)
                };
                c
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use statebench_suites::workload::Arrivals;

    #[test]
    fn the_whole_step_sums_the_shards_parts_and_the_id_names_it() {
        let part = Step::Closed { concurrency: 8 };
        let whole = whole_step([&part, &part].into_iter());
        assert_eq!(whole, Step::Closed { concurrency: 16 });
        assert_eq!(
            renamed("memory-state.throughput.8-workers", &part, &whole),
            "memory-state.throughput.16-workers"
        );
        assert_eq!(
            renamed("memory-state.throughput.8-workers.r2", &part, &whole),
            "memory-state.throughput.16-workers.r2"
        );
        // An id that does not name the step is kept.
        assert_eq!(renamed("t1", &part, &whole), "t1");
        let open = Step::Open {
            rate_per_s: 250.0,
            arrivals: Arrivals::Constant,
            max_in_flight: 32,
        };
        assert_eq!(
            whole_step([&open, &open, &open, &open].into_iter()),
            Step::Open {
                rate_per_s: 1000.0,
                arrivals: Arrivals::Constant,
                max_in_flight: 128,
            }
        );
        // Six or seven parts of 1000/s add up to 1000/s, not 999.9999999999999.
        for n in [6, 7] {
            let part = Step::Open {
                rate_per_s: 1000.0 / f64::from(n),
                arrivals: Arrivals::Constant,
                max_in_flight: 1,
            };
            let whole = whole_step(std::iter::repeat_n(&part, n as usize));
            assert_eq!(whole.slug(), "1000-per-s", "{n} parts");
        }
    }
}
