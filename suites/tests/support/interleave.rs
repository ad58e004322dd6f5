//! Laying out the operations of a few processes as the lines of a history, for the checkers'
//! property tests: each process invokes, completes, invokes again, and an operation that
//! never completes is its process's last. Included by path (`#[path]`), apart from
//! `support/mod.rs`.
#![allow(dead_code)]

use proptest::prelude::*;

/// Cases per property: `PROPTEST_CASES` when set, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// How an operation ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// It took effect (`ok`).
    Ok,
    /// It certainly did not (`fail`).
    Fail,
    /// It may have (`info`).
    Info,
    /// Its invoke is the last line of it.
    Never,
}

impl End {
    /// Mostly `ok`, some of each other end.
    pub fn strategy() -> impl Strategy<Value = Self> {
        prop_oneof![
            4 => Just(Self::Ok),
            1 => Just(Self::Fail),
            2 => Just(Self::Info),
            1 => Just(Self::Never),
        ]
    }

    /// The `type` of the operation's invoke line, or of its completion line (an operation
    /// that never completes has none).
    pub fn kind(self, invoke: bool) -> &'static str {
        match self {
            _ if invoke => "invoke",
            Self::Ok => "ok",
            Self::Fail => "fail",
            Self::Info | Self::Never => "info",
        }
    }

    /// Whether the operation may or may not have taken effect.
    pub fn indefinite(self) -> bool {
        matches!(self, Self::Info | Self::Never)
    }
}

/// Makes every `Never` that is not its process's last operation an `Info`: a process
/// cannot invoke again before its operation completed.
fn only_last_never_ends(process: &[usize], ends: &mut [End]) {
    for i in 0..ends.len() {
        let later = process[i + 1..].contains(&process[i]);
        if later && ends[i] == End::Never {
            ends[i] = End::Info;
        }
    }
}

/// Where each operation's lines fall in real-time order.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// The lines in real-time order: (operation, whether it is the invoke).
    pub lines: Vec<(usize, bool)>,
    /// The position of each operation's invoke.
    pub invoke: Vec<usize>,
    /// The position of each operation's `ok` or `fail`; `None` when it may take effect at
    /// any time after its invoke (`info`, or never completed).
    pub complete: Vec<Option<usize>>,
    /// How each operation ends.
    ends: Vec<End>,
}

impl Layout {
    /// Interleaves the operations: operation `i` is run by `process[i]`, each process's in
    /// order, and ends as `ends[i]` says, except that only a process's last may never end
    /// (the others end `Info`: see [`Layout::ends`]); `picks` choose, in turn, which process
    /// with lines left writes the next one.
    pub fn new(process: &[usize], ends: &[End], picks: &[usize]) -> Self {
        let n = process.len();
        let mut ends = ends.to_vec();
        only_last_never_ends(process, &mut ends);
        let mut layout = Self {
            lines: Vec::with_capacity(2 * n),
            invoke: vec![usize::MAX; n],
            complete: vec![None; n],
            ends,
        };
        let ends = &layout.ends;
        // Each process's lines left to write, as (operation, invoke) in order.
        let mut processes: Vec<usize> = process.to_vec();
        processes.sort_unstable();
        processes.dedup();
        let mut queues: Vec<std::collections::VecDeque<(usize, bool)>> = processes
            .iter()
            .map(|&p| {
                (0..n)
                    .filter(|&i| process[i] == p)
                    .flat_map(|i| {
                        let completion = (ends[i] != End::Never).then_some((i, false));
                        std::iter::once((i, true)).chain(completion)
                    })
                    .collect()
            })
            .collect();
        let total: usize = queues.iter().map(|q| q.len()).sum();
        for step in 0..total {
            queues.retain(|q| !q.is_empty());
            let pick = picks.get(step % picks.len().max(1)).copied().unwrap_or(0);
            let at = pick % queues.len();
            let Some(line) = queues[at].pop_front() else {
                break;
            };
            layout.push(line);
        }
        layout
    }

    /// How each operation ends.
    pub fn ends(&self) -> &[End] {
        &self.ends
    }

    /// The operations that take effect, in the order they do: each at the instant
    /// `effects[i].0` picks inside its interval (see [`Layout::effect`]), an indefinite one
    /// only when `effects[i].1` says it happens.
    pub fn effect_order(&self, effects: &[(u8, bool)]) -> Vec<usize> {
        let mut order: Vec<(f64, usize)> = (0..self.ends.len())
            .filter(|&i| !self.ends[i].indefinite() || effects[i].1)
            .map(|i| (self.effect(i, effects[i].0), i))
            .collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0));
        order.into_iter().map(|(_, i)| i).collect()
    }

    /// Adds an operation that begins after every line so far and ends as `end`; returns its
    /// index.
    pub fn append(&mut self, end: End) -> usize {
        let op = self.ends.len();
        self.ends.push(end);
        self.invoke.push(usize::MAX);
        self.complete.push(None);
        self.push((op, true));
        if end != End::Never {
            self.push((op, false));
        }
        op
    }

    fn push(&mut self, (op, invoke): (usize, bool)) {
        let position = self.lines.len();
        if invoke {
            self.invoke[op] = position;
        } else if !self.ends[op].indefinite() {
            self.complete[op] = Some(position);
        }
        self.lines.push((op, invoke));
    }

    /// The instant operation `i` takes effect, if it does: `fraction` of the way through its
    /// interval, which for an indefinite operation runs past the last line.
    pub fn effect(&self, i: usize, fraction: u8) -> f64 {
        let start = self.invoke[i] as f64;
        let end = self.complete[i].map_or(self.lines.len() as f64 + 1.0, |c| c as f64);
        start + (end - start) * (f64::from(fraction) + 0.5) / 256.0
    }

    /// Whether operation `a` completed before operation `b` was invoked.
    pub fn precedes(&self, a: usize, b: usize) -> bool {
        self.complete[a].is_some_and(|c| c < self.invoke[b])
    }
}

/// One history line as JSON.
pub fn line(process: usize, kind: &str, f: &str, key: Option<String>, value: &str) -> String {
    let key = key.map(|k| format!(",\"key\":\"{k}\"")).unwrap_or_default();
    format!("{{\"process\":{process},\"type\":\"{kind}\",\"f\":\"{f}\"{key},\"value\":{value}}}")
}
