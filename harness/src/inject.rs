//! `run --inject`: faults put in front of subjects for what-ifs and for measuring the
//! regression gate's power, as `[SUBJECT:]latency=200us` and `[SUBJECT:]errors=1%`.

use crate::options::InvalidInput;
use crate::registry;
use statebench_adapters::fault::FaultPlan;
use statebench_suites::generate::derive_seed;
use statebench_suites::subject::Subject;
use std::time::Duration;

/// The longest latency that can be injected.
const MAX_LATENCY: Duration = Duration::from_secs(60);

/// One fault.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    /// Added before every call.
    Latency(Duration),
    /// The fraction of calls that fail indefinitely, 0 to 1.
    Errors(f64),
}

impl Fault {
    fn parse(text: &str) -> Result<Self, String> {
        let (kind, value) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}` is not KIND=VALUE (latency=200us, errors=1%)"))?;
        match kind.trim() {
            "latency" => latency(value.trim()).map(Self::Latency),
            "errors" => errors(value.trim()).map(Self::Errors),
            other => Err(format!("unknown fault `{other}` (known: latency, errors)")),
        }
    }

    fn same_kind(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }

    fn normalized(&self) -> String {
        match self {
            Self::Latency(d) => format!("latency={}", duration_text(*d)),
            Self::Errors(f) => format!("errors={}%", percent_text(*f)),
        }
    }

    fn apply(&self, plan: &mut FaultPlan) {
        match self {
            Self::Latency(d) => plan.latency_ns = d.as_nanos() as u64,
            Self::Errors(f) => plan.error_rate = *f,
        }
    }
}

/// One `--inject` item: a fault for every subject, or for one subject or adapter.
#[derive(Clone, Debug, PartialEq)]
struct Injection {
    /// A subject's name (`memory:state`) or an adapter's (`memory`: all its subjects).
    subject: Option<String>,
    fault: Fault,
}

impl Injection {
    fn applies_to(&self, adapter: &str, subject: &str) -> bool {
        self.subject
            .as_deref()
            .is_none_or(|name| name == subject || name == adapter)
    }
}

/// Every `--inject` item, checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Injections(Vec<Injection>);

impl Injections {
    /// Parses `items` (each `[SUBJECT:]KIND=VALUE`; the last `:`-separated part is the
    /// fault, the rest the subject) and checks each subject against the subjects of
    /// `adapters`, so a misspelt name is refused before anything starts.
    pub fn parse(items: &[String], adapters: &[String]) -> Result<Self, InvalidInput> {
        let mut parsed: Vec<Injection> = Vec::new();
        for item in items.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
            let bad = |why: String| InvalidInput(format!("--inject `{item}`: {why}"));
            let (subject, fault) = match item.rsplit_once(':') {
                Some((subject, fault)) => (Some(subject.trim().to_owned()), fault),
                None => (None, item),
            };
            let fault = Fault::parse(fault).map_err(bad)?;
            if let Some(name) = &subject {
                known_subject(name, adapters).map_err(bad)?;
            }
            let twice = parsed
                .iter()
                .any(|p| p.subject == subject && p.fault.same_kind(&fault));
            if twice {
                return Err(bad("that fault is given twice for the same subjects".into()));
            }
            parsed.push(Injection { subject, fault });
        }
        Ok(Self(parsed))
    }

    /// Whether nothing is injected.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each item in one spelling (`latency=200us`, `memory:state:errors=0.5%`), for the
    /// results.
    pub fn normalized(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|i| match &i.subject {
                Some(s) => format!("{s}:{}", i.fault.normalized()),
                None => i.fault.normalized(),
            })
            .collect()
    }

    /// What to inject into `subject` of `adapter`: the faults for every subject, overridden
    /// by those naming the adapter, overridden by those naming the subject. Errors are
    /// seeded by the run's seed and the subject's name.
    pub fn plan_for(&self, adapter: &str, subject: &str, seed: u64) -> Option<FaultPlan> {
        let mut plan = FaultPlan {
            seed: derive_seed(seed, fnv1a(subject.as_bytes())),
            ..FaultPlan::default()
        };
        let specificity = |i: &Injection| match i.subject.as_deref() {
            None => 0,
            Some(name) if name == adapter && name != subject => 1,
            Some(_) => 2,
        };
        let mut applying: Vec<&Injection> = self
            .0
            .iter()
            .filter(|i| i.applies_to(adapter, subject))
            .collect();
        applying.sort_by_key(|i| specificity(i));
        applying.iter().for_each(|i| i.fault.apply(&mut plan));
        (!applying.is_empty()).then_some(plan)
    }

    /// `subject` of `adapter`, with its faults in front of it when any are injected.
    pub fn wrap(&self, adapter: &str, subject: Subject, seed: u64) -> Subject {
        match self.plan_for(adapter, &subject.name, seed) {
            Some(plan) => subject.with_faults(plan),
            None => subject,
        }
    }
}

/// Whether `name` is a subject (or an adapter) that `adapters` run.
fn known_subject(name: &str, adapters: &[String]) -> Result<(), String> {
    let entries = adapters.iter().filter_map(|a| registry::find(a));
    let mut subjects = Vec::new();
    for entry in entries {
        if entry.name == name || entry.subjects.contains(&name) {
            return Ok(());
        }
        subjects.extend_from_slice(entry.subjects);
    }
    Err(format!(
        "no subject or adapter `{name}` in this run (subjects: {})",
        subjects.join(", ")
    ))
}

/// A duration with its unit: `200us`, `1.5ms`, `750ns`, `2s` (`µs` for `us` too).
fn latency(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        _ => {
            return Err(format!(
                "latency must be a duration with a unit (ns, us, µs, ms, s), got `{text}`"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("latency must be a number with a unit, got `{text}`"))?;
    let seconds = value * scale;
    if !(seconds.is_finite() && seconds <= MAX_LATENCY.as_secs_f64()) {
        return Err(format!(
            "latency must be at most {} s, got `{text}`",
            MAX_LATENCY.as_secs()
        ));
    }
    Ok(Duration::from_nanos((seconds * 1e9).round() as u64))
}

/// A share of calls: `1%` or `0.01`.
fn errors(text: &str) -> Result<f64, String> {
    let bad = || format!("errors must be a share from 0 to 1 or 0% to 100%, got `{text}`");
    let (number, scale) = match text.strip_suffix('%') {
        Some(number) => (number.trim(), 0.01),
        None => (text, 1.0),
    };
    let share = number.parse::<f64>().map_err(|_| bad())? * scale;
    if !(0.0..=1.0).contains(&share) {
        return Err(bad());
    }
    Ok(share)
}

/// The shortest exact spelling of `d`: `2ms`, `200us`, `1500ns`.
fn duration_text(d: Duration) -> String {
    let ns = d.as_nanos();
    let units = [(1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "us")];
    match units
        .iter()
        .find(|(size, _)| ns > 0 && ns.is_multiple_of(*size))
    {
        Some((size, unit)) => format!("{}{unit}", ns / size),
        None if ns == 0 => "0us".into(),
        None => format!("{ns}ns"),
    }
}

/// A share as a percentage, at most six decimals: `1`, `0.5`.
fn percent_text(share: f64) -> String {
    let text = format!("{:.6}", share * 100.0);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// FNV-1a: a hash of a subject's name that does not change between builds.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(items: &[&str]) -> Result<Injections, String> {
        let items: Vec<String> = items.iter().map(|s| (*s).to_owned()).collect();
        let adapters = vec!["memory".to_owned(), "postgres".to_owned()];
        Injections::parse(&items, &adapters).map_err(|e| e.0)
    }

    #[test]
    fn values_are_read_in_every_spelling_and_written_in_one() {
        let i = parse(&[
            "latency=200us",
            "memory:state:errors=0.5%",
            "postgres:latency=1.5ms",
            "memory:events:latency=750 ns",
            "memory:events:errors=0.07",
            "memory:latency=2µs",
        ])
        .unwrap();
        assert_eq!(
            i.normalized(),
            [
                "latency=200us",
                "memory:state:errors=0.5%",
                "postgres:latency=1500us",
                "memory:events:latency=750ns",
                "memory:events:errors=7%",
                "memory:latency=2us",
            ]
        );
    }

    #[test]
    fn the_most_specific_injection_wins() {
        let i = parse(&[
            "latency=1ms",
            "memory:latency=2ms",
            "memory:state:latency=3ms",
        ])
        .unwrap();
        let latency = |adapter, subject| i.plan_for(adapter, subject, 1).unwrap().latency_ns;
        assert_eq!(latency("memory", "memory:state"), 3_000_000);
        assert_eq!(latency("memory", "memory:events"), 2_000_000);
        assert_eq!(latency("postgres", "postgres"), 1_000_000);
        let only = parse(&["memory:state:errors=1%"]).unwrap();
        assert!(only.plan_for("memory", "memory:events", 1).is_none());
        assert_eq!(
            only.plan_for("memory", "memory:state", 1)
                .unwrap()
                .error_rate,
            0.01
        );
    }

    #[test]
    fn bad_values_are_refused_naming_the_flag() {
        let cases = [
            ("latency=200", "with a unit"),
            ("latency=fast", "with a unit"),
            ("latency=-1ms", "with a unit"),
            ("latency=2h", "with a unit"),
            ("latency=61s", "at most 60 s"),
            ("errors=150%", "from 0 to 1"),
            ("errors=-0.1", "from 0 to 1"),
            ("errors=lots", "from 0 to 1"),
            ("jitter=1ms", "unknown fault `jitter`"),
            ("latency", "not KIND=VALUE"),
            ("redis:latency=1ms", "no subject or adapter `redis`"),
            ("memory:stat:latency=1ms", "memory:state, memory:events"),
        ];
        for (item, says) in cases {
            let error = parse(&[item]).unwrap_err();
            assert!(error.starts_with("--inject `"), "{error}");
            assert!(error.contains(says), "`{error}` should say `{says}`");
        }
        let twice = parse(&["latency=1ms", "latency=2ms"]).unwrap_err();
        assert!(twice.contains("given twice"), "{twice}");
    }
}
