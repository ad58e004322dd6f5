//! Sharded runs as the command line asks for them (`--shard I/N`, `--shards N` with
//! `JOB_COMPLETION_INDEX`, `--start-at`, `--load-allowance`, `--shard-checks`), checked
//! against the workload they slice.

use crate::cli::RunArgs;
use crate::options::{InvalidInput, Suite};
use statebench_suites::Workload;
use statebench_suites::results::Step;
use statebench_suites::shard::Slice;
use statebench_suites::suite::trial::{part_of, whole_steps};
use statebench_suites::workload::Phase;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The variable that gives the shard count when `--shards` does not.
pub const SHARDS_VAR: &str = "STATEBENCH_SHARDS";
/// The variable a Kubernetes Indexed Job sets to each pod's index: the slice of `--shards`.
pub const INDEX_VAR: &str = "JOB_COMPLETION_INDEX";
/// The time between one step's measured end and the next step's warm-up unless
/// `--load-allowance` says otherwise: the grace for the last operations (10 s) and as long
/// again for the books check and the next keys.
pub const DEFAULT_LOAD_ALLOWANCE: Duration = Duration::from_secs(20);
/// How far in the past `--start-at` may be before the agent says it starts late.
pub const PAST_TOLERANCE: Duration = Duration::from_secs(1);

/// Where a sharded run's conformance and consistency suites run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checks {
    /// On shard 0 only; the other shards record them as skipped.
    First,
    /// On every shard, each on keys of its own.
    All,
}

/// One agent's part of a sharded run, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sharding {
    /// Which slice of the run this agent offers.
    pub slice: Slice,
    /// When the first timed step warms up on every agent, when agreed.
    pub start_at: Option<SystemTime>,
    /// The time from one step's measured end to the next step's warm-up, on the timeline.
    pub load_allowance: Duration,
    /// Where the checks run.
    pub checks: Checks,
}

impl Sharding {
    /// The sharding `args` ask for, with the shard count and index from `env` where the
    /// flags do not give them; `None` for a run without shards. Checked against `workload`
    /// and the `suites` that run.
    pub fn resolve(
        args: &RunArgs,
        env: impl Fn(&str) -> Option<String>,
        workload: &Workload,
        suites: &[Suite],
    ) -> Result<Option<Self>, InvalidInput> {
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let shards = match &args.shards {
            Some(text) => Some(("--shards", text.clone())),
            None => env(SHARDS_VAR).map(|v| (SHARDS_VAR, v)),
        };
        let shards = shards.as_ref().map(|(from, text)| (*from, text.as_str()));
        let Some(slice) = slice(args.shard.as_deref(), shards, env(INDEX_VAR).as_deref())? else {
            let unused = [
                ("--start-at", args.start_at.is_some()),
                ("--load-allowance", args.load_allowance.is_some()),
                ("--shard-checks", args.shard_checks.is_some()),
            ];
            if let Some((flag, _)) = unused.iter().find(|(_, given)| *given) {
                return Err(InvalidInput(format!(
                    "{flag} is for sharded runs: give --shard I/N, or --shards N with \
                     {INDEX_VAR} set"
                )));
            }
            return Ok(None);
        };
        let start_at = args.start_at.as_deref().map(start_time).transpose()?;
        if let Some(at) = start_at
            && at > SystemTime::now() + MAX_AHEAD
        {
            // Milliseconds typed for seconds land tens of thousands of years ahead: the agent
            // would wait for ever, with nothing to say why but a progress note.
            return Err(InvalidInput(format!(
                "--start-at {} is more than a day ahead (milliseconds given for seconds?)",
                args.start_at.as_deref().unwrap_or_default().trim()
            )));
        }
        let load_allowance = match &args.load_allowance {
            Some(text) => allowance(text)?,
            None => DEFAULT_LOAD_ALLOWANCE,
        };
        let checks = match args.shard_checks.as_deref().map(str::trim) {
            None | Some("first") => Checks::First,
            Some("all") => Checks::All,
            Some(other) => {
                return Err(InvalidInput(format!(
                    "--shard-checks must be first (shard 0 only) or all, got `{other}`"
                )));
            }
        };
        let sharding = Self {
            slice,
            start_at,
            load_allowance,
            checks,
        };
        sharding.fits(workload, suites)?;
        Ok(Some(sharding))
    }

    /// Whether this agent runs the conformance and consistency suites.
    pub fn runs_checks(&self) -> bool {
        self.checks == Checks::All || self.slice.index() == 0
    }

    /// Refuses a workload this sharding cannot slice or put on a timeline, naming the step.
    fn fits(&self, workload: &Workload, suites: &[Suite]) -> Result<(), InvalidInput> {
        let timed: Vec<&str> = suites
            .iter()
            .filter(|s| matches!(s, Suite::Latency | Suite::Throughput))
            .map(|s| s.name())
            .collect();
        let count = self.slice.count();
        if timed.is_empty() || (count == 1 && self.start_at.is_none()) {
            return Ok(());
        }
        for (name, phase) in [("warmup", &workload.warmup), ("measure", &workload.measure)] {
            if let (None, Some(ops)) = (phase.duration, phase.ops) {
                return Err(InvalidInput(format!(
                    "a sharded run needs phases measured in time, to split them and put them \
                     on a timeline: the workload's {name} phase is {ops} operations (give \
                     --duration SECS, or durations in the workload)"
                )));
            }
        }
        if workload.keys.count < u64::from(count) {
            return Err(InvalidInput(format!(
                "cannot slice {} keys over {count} shards: each shard needs keys of its own",
                workload.keys.count
            )));
        }
        for suite in timed {
            for step in whole_steps(workload, suite) {
                let parts: Vec<Slice> = (0..count).filter_map(|i| Slice::new(i, count)).collect();
                let empty: Vec<String> = parts
                    .iter()
                    .filter(|s| workers(&part_of(&step, **s)) == 0)
                    .map(|s| s.index().to_string())
                    .collect();
                if !empty.is_empty() {
                    return Err(InvalidInput(format!(
                        "cannot split the {suite} step `{}` ({}) over {count} shards: shard {} \
                         would have none; use at least {count} there, or fewer shards",
                        step.slug(),
                        match step {
                            Step::Open { max_in_flight, .. } =>
                                format!("{max_in_flight} in flight"),
                            Step::Closed { concurrency } => format!("{concurrency} workers"),
                        },
                        empty.join(", "),
                    )));
                }
            }
        }
        Ok(())
    }

    /// What this agent says of itself before it starts.
    pub fn describe(&self) -> String {
        let (i, n) = (self.slice.index(), self.slice.count());
        let checks = match (self.checks, self.runs_checks()) {
            (Checks::All, _) => "conformance and consistency run on every shard".to_owned(),
            (Checks::First, true) => format!(
                "conformance and consistency run here only{}",
                if self.start_at.is_some() {
                    ", after the timed steps"
                } else {
                    ""
                }
            ),
            (Checks::First, false) => {
                "conformance and consistency run on shard 0 only, not here".to_owned()
            }
        };
        let start = match self.start_at {
            Some(at) => format!("first warm-up at {}", shown(at)),
            None => "no --start-at: steps start as soon as their keys are loaded".to_owned(),
        };
        if self.slice.is_whole() {
            return format!("shard 0/1: the whole run; {start}");
        }
        format!(
            "shard {i}/{n}: loads and writes the keys k with k mod {n} = {i} (reads any), \
             offers 1/{n} of every rate and worker count; {checks}; {start}"
        )
    }
}

/// The workers of a closed-loop step, the operations in flight of an open-loop one.
fn workers(step: &Step) -> usize {
    match step {
        Step::Open { max_in_flight, .. } => *max_in_flight,
        Step::Closed { concurrency } => *concurrency,
    }
}

/// The slice named by `--shard I/N`, or by `shards` (`(source, N)`) and the index variable.
fn slice(
    shard: Option<&str>,
    shards: Option<(&str, &str)>,
    index: Option<&str>,
) -> Result<Option<Slice>, InvalidInput> {
    let count = shards.map(|(from, text)| count(from, text)).transpose()?;
    if let Some(text) = shard {
        let slice = explicit(text)?;
        if let (Some(n), Some((from, _))) = (count, shards)
            && n != slice.count()
        {
            return Err(InvalidInput(format!(
                "--shard {slice} contradicts {from} {n}: give one shard count"
            )));
        }
        return Ok(Some(slice));
    }
    let (Some(n), Some((from, _))) = (count, shards) else {
        return Ok(None);
    };
    let Some(text) = index else {
        return Err(InvalidInput(format!(
            "{from} {n} needs {INDEX_VAR} (a Kubernetes Indexed Job sets it) for this agent's \
             index, or give --shard I/{n}"
        )));
    };
    let i: u32 = text.trim().parse().map_err(|_| {
        InvalidInput(format!(
            "{INDEX_VAR} must be a whole number from 0, got `{text}`"
        ))
    })?;
    Slice::new(i, n).map(Some).ok_or_else(|| {
        InvalidInput(format!(
            "{INDEX_VAR}={i} is not below {from} {n}: the indexes of {n} shards are 0 to {}",
            n - 1
        ))
    })
}

/// `I/N` with `0 <= I < N`.
fn explicit(text: &str) -> Result<Slice, InvalidInput> {
    let bad = |why: &str| InvalidInput(format!("--shard must be I/N {why}, got `{text}`"));
    let (i, n) = text
        .trim()
        .split_once('/')
        .ok_or_else(|| bad("(this agent's index, a slash, the shard count)"))?;
    let number = |t: &str| t.trim().parse::<u32>().ok();
    let (Some(i), Some(n)) = (number(i), number(n)) else {
        return Err(bad("with whole numbers"));
    };
    if n == 0 {
        return Err(bad("with N at least 1"));
    }
    Slice::new(i, n).ok_or_else(|| bad("with I from 0 to N - 1"))
}

fn count(from: &str, text: &str) -> Result<u32, InvalidInput> {
    match text.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(InvalidInput(format!(
            "{from} must be a whole number from 1, got `{text}`"
        ))),
    }
}

/// Most seconds `--load-allowance` takes: a day, far more than any load needs.
const MAX_ALLOWANCE_S: f64 = 86_400.0;

fn allowance(text: &str) -> Result<Duration, InvalidInput> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && (0.0..=MAX_ALLOWANCE_S).contains(&s) => {
            Ok(Duration::from_secs_f64(s))
        }
        _ => Err(InvalidInput(format!(
            "--load-allowance must be a number of seconds from 0 to {MAX_ALLOWANCE_S}, got \
             `{text}`"
        ))),
    }
}

/// How far ahead `--start-at` may be.
const MAX_AHEAD: Duration = Duration::from_secs(24 * 3600);

/// `--start-at`: Unix time in seconds, whole or fractional, or an RFC 3339 time with `Z` or
/// an offset.
pub fn start_time(text: &str) -> Result<SystemTime, InvalidInput> {
    let text = text.trim();
    let bad = || {
        InvalidInput(format!(
            "--start-at must be a Unix time in seconds (1767225600 or 1767225600.25) or an \
             RFC 3339 time (2026-01-01T00:00:00Z), got `{text}`"
        ))
    };
    if text.starts_with(|c: char| c.is_ascii_digit()) && !text.contains(['-', ':']) {
        return unix_seconds(text).ok_or_else(bad);
    }
    let (utc, offset) = split_offset(text).ok_or_else(bad)?;
    let at = humantime::parse_rfc3339(&utc).map_err(|_| bad())?;
    let shifted = if offset >= 0 {
        at.checked_sub(Duration::from_secs(offset.unsigned_abs()))
    } else {
        at.checked_add(Duration::from_secs(offset.unsigned_abs()))
    };
    shifted.ok_or_else(bad)
}

/// `SECONDS[.FRACTION]`, read exactly (to the nanosecond), not through a float.
fn unix_seconds(text: &str) -> Option<SystemTime> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) || fraction.len() > 9 {
        return None;
    }
    let seconds: u64 = whole.parse().ok()?;
    let nanos: u32 = format!("{fraction:0<9}").parse().ok()?;
    UNIX_EPOCH.checked_add(Duration::new(seconds, nanos))
}

/// An RFC 3339 time as a UTC one (`…Z`) and its offset east of UTC in seconds; humantime
/// reads only the UTC form.
fn split_offset(text: &str) -> Option<(String, i64)> {
    if let Some(utc) = text.strip_suffix(['Z', 'z']) {
        return Some((format!("{utc}Z"), 0));
    }
    let at = text.len().checked_sub(6)?;
    let (time, offset) = (text.get(..at)?, text.get(at..)?);
    let sign = match offset.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (hours, minutes) = offset[1..].split_once(':')?;
    let hours: i64 = hours.parse().ok()?;
    let minutes: i64 = minutes.parse().ok()?;
    if hours > 23 || minutes > 59 || !time.contains('T') && !time.contains('t') {
        return None;
    }
    Some((format!("{time}Z"), sign * (hours * 3_600 + minutes * 60)))
}

/// `at` as RFC 3339 in UTC, with as many fractional digits as it needs.
pub fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339(at).to_string()
}

/// `at` as RFC 3339 in UTC to the millisecond, as progress lines show it.
pub fn shown(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// Nanoseconds since the Unix epoch.
pub fn unix_ns(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The length of `phase` on the timeline (phases measured in operations are refused
/// before).
pub fn planned(phase: &Phase) -> Duration {
    phase.duration.map_or(Duration::ZERO, |d| d.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload() -> Workload {
        Workload::resolve("read-heavy").unwrap()
    }

    fn resolve(
        edit: impl FnOnce(&mut RunArgs),
        env: &[(&str, &str)],
    ) -> Result<Option<Sharding>, String> {
        let mut args = RunArgs::default();
        edit(&mut args);
        let mut w = workload();
        w.closed.concurrency = vec![4, 16];
        let env = |name: &str| {
            env.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        };
        Sharding::resolve(&args, env, &w, &Suite::ALL).map_err(|e| e.0)
    }

    fn slice_of(result: Result<Option<Sharding>, String>) -> Option<(u32, u32)> {
        result.unwrap().map(|s| (s.slice.index(), s.slice.count()))
    }

    #[test]
    fn a_shard_comes_from_the_flag_or_from_the_count_and_the_job_index() {
        assert_eq!(slice_of(resolve(|_| {}, &[])), None);
        assert_eq!(
            slice_of(resolve(|a| a.shard = Some("1/4".into()), &[])),
            Some((1, 4))
        );
        assert_eq!(
            slice_of(resolve(|a| a.shard = Some(" 0/1 ".into()), &[])),
            Some((0, 1))
        );
        let indexed = [(INDEX_VAR, "2")];
        assert_eq!(
            slice_of(resolve(|a| a.shards = Some("3".into()), &indexed)),
            Some((2, 3))
        );
        assert_eq!(
            slice_of(resolve(|_| {}, &[(SHARDS_VAR, "4"), (INDEX_VAR, "3")])),
            Some((3, 4))
        );
        // The explicit flag wins over the job's index, and agrees with the count.
        assert_eq!(
            slice_of(resolve(
                |a| {
                    a.shard = Some("0/3".into());
                    a.shards = Some("3".into());
                },
                &indexed
            )),
            Some((0, 3))
        );
        // The job's index alone, without a count, is not a sharded run.
        assert_eq!(slice_of(resolve(|_| {}, &indexed)), None);
    }

    #[test]
    fn bad_or_contradictory_shards_are_refused_with_the_reason() {
        let sharded = |text: &str| {
            let text = text.to_owned();
            move |a: &mut RunArgs| a.shard = Some(text)
        };
        let cases: Vec<(Result<Option<Sharding>, String>, &str)> = vec![
            (
                resolve(sharded("2/2"), &[]),
                "with I from 0 to N - 1, got `2/2`",
            ),
            (resolve(sharded("0/0"), &[]), "with N at least 1"),
            (resolve(sharded("1"), &[]), "--shard must be I/N"),
            (resolve(sharded("a/2"), &[]), "with whole numbers"),
            (resolve(sharded("-1/2"), &[]), "with whole numbers"),
            (
                resolve(|a| a.shards = Some("4".into()), &[]),
                "--shards 4 needs JOB_COMPLETION_INDEX",
            ),
            (
                resolve(|_| {}, &[(SHARDS_VAR, "4")]),
                "STATEBENCH_SHARDS 4 needs JOB_COMPLETION_INDEX",
            ),
            (
                resolve(|a| a.shards = Some("4".into()), &[(INDEX_VAR, "4")]),
                "JOB_COMPLETION_INDEX=4 is not below --shards 4",
            ),
            (
                resolve(|a| a.shards = Some("4".into()), &[(INDEX_VAR, "x")]),
                "JOB_COMPLETION_INDEX must be a whole number",
            ),
            (
                resolve(|a| a.shards = Some("0".into()), &[(INDEX_VAR, "0")]),
                "--shards must be a whole number from 1, got `0`",
            ),
            (
                resolve(
                    |a| {
                        a.shard = Some("1/4".into());
                        a.shards = Some("2".into());
                    },
                    &[],
                ),
                "--shard 1/4 contradicts --shards 2",
            ),
            (
                resolve(sharded("1/4"), &[(SHARDS_VAR, "2")]),
                "--shard 1/4 contradicts STATEBENCH_SHARDS 2",
            ),
            (
                resolve(|a| a.start_at = Some("0".into()), &[]),
                "--start-at is for sharded runs",
            ),
            (
                resolve(|a| a.shard_checks = Some("all".into()), &[]),
                "--shard-checks is for sharded runs",
            ),
            (
                resolve(
                    |a| {
                        a.shard = Some("0/2".into());
                        a.shard_checks = Some("some".into());
                    },
                    &[],
                ),
                "--shard-checks must be first (shard 0 only) or all, got `some`",
            ),
            (
                resolve(
                    |a| {
                        a.shard = Some("0/2".into());
                        a.load_allowance = Some("-1".into());
                    },
                    &[],
                ),
                "--load-allowance must be a number of seconds",
            ),
            (
                resolve(
                    |a| {
                        a.shard = Some("0/2".into());
                        a.start_at = Some("tomorrow".into());
                    },
                    &[],
                ),
                "--start-at must be a Unix time in seconds",
            ),
            (
                resolve(
                    |a| {
                        a.shard = Some("0/2".into());
                        // Milliseconds for seconds: the year 57970.
                        a.start_at = Some("1767225600000".into());
                    },
                    &[],
                ),
                "is more than a day ahead (milliseconds given for seconds?)",
            ),
        ];
        for (result, message) in cases {
            let error = result.unwrap_err();
            assert!(error.contains(message), "`{error}` should say `{message}`");
        }
    }

    #[test]
    fn a_step_that_leaves_a_shard_without_workers_is_refused_by_name() {
        let mut w = workload();
        w.closed.concurrency = vec![8, 3];
        let args = RunArgs {
            shard: Some("0/4".into()),
            ..RunArgs::default()
        };
        let error = Sharding::resolve(&args, |_| None, &w, &Suite::ALL)
            .unwrap_err()
            .0;
        assert!(
            error.contains("cannot split the throughput step `3-workers` (3 workers) over 4 shards: shard 3 would have none"),
            "{error}"
        );
        // Without the throughput suite the step does not run, so nothing is refused.
        let latency = Sharding::resolve(&args, |_| None, &w, &[Suite::Latency]);
        assert!(latency.unwrap().is_some());
        w.open.max_in_flight = 2;
        let error = Sharding::resolve(&args, |_| None, &w, &[Suite::Latency])
            .unwrap_err()
            .0;
        assert!(
            error.contains("cannot split the latency step `1000-per-s` (2 in flight) over 4 shards: shard 2, 3 would have none"),
            "{error}"
        );
    }

    #[test]
    fn phases_in_operations_and_too_few_keys_cannot_be_sharded() {
        let args = RunArgs {
            shard: Some("1/2".into()),
            ..RunArgs::default()
        };
        let mut w = workload();
        w.closed.concurrency = vec![2];
        w.measure = Phase {
            duration: None,
            ops: Some(500),
        };
        let error = Sharding::resolve(&args, |_| None, &w, &Suite::ALL)
            .unwrap_err()
            .0;
        assert!(
            error.contains("the workload's measure phase is 500 operations"),
            "{error}"
        );
        let mut w = workload();
        w.closed.concurrency = vec![2];
        w.keys.count = 1;
        let error = Sharding::resolve(&args, |_| None, &w, &Suite::ALL)
            .unwrap_err()
            .0;
        assert!(
            error.contains("cannot slice 1 keys over 2 shards"),
            "{error}"
        );
    }

    #[test]
    fn start_times_read_as_unix_seconds_or_rfc_3339() {
        let at = |s: u64, ms: u64| UNIX_EPOCH + Duration::from_secs(s) + Duration::from_millis(ms);
        let cases = [
            ("1767225600", at(1_767_225_600, 0)),
            ("1767225600.25", at(1_767_225_600, 250)),
            ("2026-01-01T00:00:00Z", at(1_767_225_600, 0)),
            ("2026-01-01T00:00:00.5Z", at(1_767_225_600, 500)),
            ("2026-01-01T01:30:00+01:30", at(1_767_225_600, 0)),
            ("2025-12-31T19:00:00-05:00", at(1_767_225_600, 0)),
        ];
        for (text, expected) in cases {
            assert_eq!(start_time(text).unwrap(), expected, "{text}");
        }
        for bad in [
            "",
            "soon",
            "-5",
            "inf",
            "2026-01-01",
            "2026-01-01T00:00:00+25:00",
        ] {
            assert!(start_time(bad).is_err(), "`{bad}` should be refused");
        }
        assert_eq!(
            rfc3339(at(1_767_225_600, 250)),
            "2026-01-01T00:00:00.250000000Z"
        );
    }
}
