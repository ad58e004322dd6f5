//! Faults the consistency suite injects while its clients run, and the nemesis that injects
//! them. Suites only schedule faults; the harness, which owns the servers and the network
//! between them and the clients, carries them out.
//!
//! A fault is written `KIND[=ARG][:TARGET][@START[+LENGTH]]`:
//! - `none`: no fault, the baseline;
//! - `kill`: SIGKILL the target server at START, restart it on its data after LENGTH;
//! - `pause`: SIGSTOP it at START, SIGCONT after LENGTH;
//! - `restart`: kill it and start it again at once, on its data;
//! - `latency=20ms`: add latency between the clients and the target for LENGTH;
//! - `stall`: hold every byte between the clients and the target for LENGTH;
//! - `reset`: reset every connection to the target at START.
//!
//! TARGET is a backend (`postgres`, `redis`, `nats`); by default the first the subject uses.
//! START and LENGTH default to a third of the run each.

use async_trait::async_trait;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::Duration;

/// The servers a fault may name as its target.
pub const TARGETS: [&str; 4] = ["postgres", "redis", "nats", "kurrentdb"];

/// What a fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// No fault: the baseline.
    None,
    /// SIGKILL the server, restart it on its data when the fault ends.
    Kill,
    /// SIGSTOP the server, SIGCONT when the fault ends.
    Pause,
    /// Kill the server and start it again at once, on its data.
    Restart,
    /// Delay every byte between the clients and the server.
    Latency(Duration),
    /// Hold every byte between the clients and the server until the fault ends.
    Stall,
    /// Reset every connection between the clients and the server.
    Reset,
}

impl FaultKind {
    /// Whether the fault acts on the network (through a proxy) rather than on the server.
    pub fn is_network(self) -> bool {
        matches!(self, Self::Latency(_) | Self::Stall | Self::Reset)
    }

    /// Whether the fault lasts (has an end) rather than happening at an instant.
    pub fn lasts(self) -> bool {
        matches!(
            self,
            Self::Kill | Self::Pause | Self::Latency(_) | Self::Stall
        )
    }

    /// Whether the server itself goes down, so that what it acknowledged is put to the test.
    pub fn crashes(self) -> bool {
        matches!(self, Self::Kill | Self::Restart)
    }

    /// The kind's name, as written.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Kill => "kill",
            Self::Pause => "pause",
            Self::Restart => "restart",
            Self::Latency(_) => "latency",
            Self::Stall => "stall",
            Self::Reset => "reset",
        }
    }
}

/// One fault scenario: a kind, a target and a window.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FaultSpec {
    /// What happens.
    pub kind: FaultKind,
    /// The backend it happens to; `None`: the first one the subject uses.
    pub target: Option<String>,
    /// When it starts, from the clients' start; `None`: a third of the run.
    pub start: Option<Duration>,
    /// How long it lasts; `None`: a third of the run.
    pub length: Option<Duration>,
}

impl FaultSpec {
    /// The baseline: no fault.
    pub const NONE: Self = Self {
        kind: FaultKind::None,
        target: None,
        start: None,
        length: None,
    };

    /// Parses `KIND[=ARG][:TARGET][@START[+LENGTH]]`; TARGET is one of [`TARGETS`].
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad = |why: &str| {
            format!(
                "fault `{text}`: {why} (write KIND[=ARG][:TARGET][@START[+LENGTH]], KIND one of none, kill, pause, restart, latency=20ms, stall, reset)"
            )
        };
        let (head, window) = match text.split_once('@') {
            Some((head, window)) => (head, Some(window)),
            None => (text, None),
        };
        let (kind, target) = match head.split_once(':') {
            Some((kind, target)) if !target.trim().is_empty() => {
                (kind, Some(target.trim().to_owned()))
            }
            Some(_) => return Err(bad("the target after `:` is empty")),
            None => (head, None),
        };
        let (name, argument) = match kind.split_once('=') {
            Some((name, argument)) => (name.trim(), Some(argument.trim())),
            None => (kind.trim(), None),
        };
        let duration = |t: &str| {
            humantime::parse_duration(t.trim())
                .or_else(|_| {
                    t.trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e6)
                        .map(Duration::from_secs_f64)
                        .ok_or(())
                })
                .map_err(|()| bad(&format!("`{t}` is not a duration (5s, 250ms, or seconds)")))
        };
        let kind = match (name, argument) {
            ("none", None) => FaultKind::None,
            ("kill", None) => FaultKind::Kill,
            ("pause", None) => FaultKind::Pause,
            ("restart", None) => FaultKind::Restart,
            ("stall", None) => FaultKind::Stall,
            ("reset", None) => FaultKind::Reset,
            ("latency", Some(arg)) => FaultKind::Latency(duration(arg)?),
            ("latency", None) => return Err(bad("latency needs an amount, e.g. latency=20ms")),
            (other, Some(_)) if !other.is_empty() && other != "latency" => {
                return Err(bad(&format!("`{other}` takes no argument")));
            }
            (other, _) => return Err(bad(&format!("unknown kind `{other}`"))),
        };
        let (start, length) = match window {
            None => (None, None),
            Some(w) => match w.split_once('+') {
                Some((s, l)) => (Some(duration(s)?), Some(duration(l)?)),
                None => (Some(duration(w)?), None),
            },
        };
        if kind == FaultKind::None && (target.is_some() || window.is_some()) {
            return Err(bad("`none` takes no target or window"));
        }
        if let Some(t) = &target
            && !TARGETS.contains(&t.as_str())
        {
            return Err(bad(&format!(
                "unknown target `{t}`: one of {}",
                TARGETS.join(", ")
            )));
        }
        Ok(Self {
            kind,
            target,
            start,
            length,
        })
    }

    /// The window in a run of `run` length: (start, end); an instant fault ends when it
    /// starts.
    pub fn window(&self, run: Duration) -> (Duration, Duration) {
        let start = self.start.unwrap_or(run / 3);
        let end = if self.kind.lasts() {
            start + self.length.unwrap_or(run / 3)
        } else {
            start
        };
        (start, end)
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        if let FaultKind::Latency(d) = self.kind {
            write!(f, "={}", humantime::format_duration(d))?;
        }
        if let Some(t) = &self.target {
            write!(f, ":{t}")?;
        }
        if let Some(s) = self.start {
            write!(f, "@{}", humantime::format_duration(s))?;
            if let Some(l) = self.length {
                write!(f, "+{}", humantime::format_duration(l))?;
            }
        }
        Ok(())
    }
}

impl Serialize for FaultSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for FaultSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Injects faults into the servers behind one subject. The harness implements it; a subject
/// with no server of its own (an embedded store) has no targets.
#[async_trait]
pub trait Nemesis: Send + Sync {
    /// The backends faults can target, in the order the subject uses them.
    fn targets(&self) -> Vec<String>;

    /// Starts `kind` on `target`; says what was done, in a few words.
    async fn start(&self, kind: FaultKind, target: &str) -> Result<String, String>;

    /// Ends `kind` on `target` (restarts a killed server, resumes a paused one, clears the
    /// network fault); says what was done.
    async fn end(&self, kind: FaultKind, target: &str) -> Result<String, String>;
}

/// A nemesis with nothing to fault.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoNemesis;

#[async_trait]
impl Nemesis for NoNemesis {
    fn targets(&self) -> Vec<String> {
        Vec::new()
    }

    async fn start(&self, kind: FaultKind, target: &str) -> Result<String, String> {
        Err(format!(
            "cannot {} {target}: no server to fault",
            kind.name()
        ))
    }

    async fn end(&self, kind: FaultKind, target: &str) -> Result<String, String> {
        Err(format!(
            "cannot end {} on {target}: no server to fault",
            kind.name()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_and_print_back() {
        for text in [
            "none",
            "kill",
            "pause:postgres",
            "kill:redis@1s+2s",
            "latency=20ms:postgres@500ms+1s",
            "reset@1s",
            "restart:nats",
        ] {
            let spec = FaultSpec::parse(text).unwrap();
            assert_eq!(FaultSpec::parse(&spec.to_string()).unwrap(), spec, "{text}");
        }
        let spec = FaultSpec::parse("latency=20ms:postgres@0.5+1").unwrap();
        assert_eq!(spec.kind, FaultKind::Latency(Duration::from_millis(20)));
        assert_eq!(spec.target.as_deref(), Some("postgres"));
        assert_eq!(
            spec.window(Duration::from_secs(9)),
            (Duration::from_millis(500), Duration::from_millis(1500))
        );
        let kill = FaultSpec::parse("kill").unwrap();
        assert_eq!(
            kill.window(Duration::from_secs(9)),
            (Duration::from_secs(3), Duration::from_secs(6))
        );
        let reset = FaultSpec::parse("reset").unwrap();
        assert_eq!(
            reset.window(Duration::from_secs(9)),
            (Duration::from_secs(3), Duration::from_secs(3))
        );
    }

    #[test]
    fn bad_faults_say_what_is_wrong() {
        for (text, says) in [
            ("explode", "unknown kind `explode`"),
            ("latency", "needs an amount"),
            ("latency=soon", "`soon` is not a duration"),
            ("kill:", "target after `:` is empty"),
            ("kill=3", "takes no argument"),
            ("none:redis", "takes no target"),
            (
                "kill:rediss",
                "unknown target `rediss`: one of postgres, redis",
            ),
            ("pause@1s+x", "`x` is not a duration"),
        ] {
            let e = FaultSpec::parse(text).unwrap_err();
            assert!(e.contains(says), "`{e}` should say `{says}`");
        }
    }
}
