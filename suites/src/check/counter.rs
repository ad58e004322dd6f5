//! Counters changed by `add` (a signed delta): every read lies between what surely and what
//! possibly took effect before it. A read below that range lost acknowledged updates; one
//! above it saw changes that nobody made (or that failed).
//!
//! An `add` surely took effect before a read when it was acknowledged before the read began;
//! it possibly did when it began before the read ended and did not fail. Reads of an absent
//! counter (`null`) read 0.

use super::{Evidence, Validity, Verdict};
use crate::history::{BadLine, Key, Op, OpOutcome, Ops};
use serde::{Deserialize, Serialize};

/// The range a counter's value must lie in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounds {
    /// The sum of changes that surely took effect, plus every possible decrease.
    pub low: i64,
    /// The sum of changes that surely took effect, plus every possible increase.
    pub high: i64,
}

impl Bounds {
    /// Where `value` falls: below (lost updates), inside, or above (phantom changes).
    pub fn place(&self, value: i64) -> std::cmp::Ordering {
        if value < self.low {
            std::cmp::Ordering::Less
        } else if value > self.high {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    }
}

/// Keeps the books of one counter as changes are attempted and acknowledged: the same
/// bounds, kept live rather than read from a history.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Books {
    /// Sum of acknowledged changes.
    pub acknowledged: i64,
    /// Sum of the increases that may or may not have taken effect.
    pub maybe_up: i64,
    /// Sum of the decreases that may or may not have taken effect (zero or less).
    pub maybe_down: i64,
}

impl Books {
    /// The range the counter may hold, starting from `initial`.
    pub fn bounds(&self, initial: i64) -> Bounds {
        Bounds {
            low: initial + self.acknowledged + self.maybe_down,
            high: initial + self.acknowledged + self.maybe_up,
        }
    }
}

struct Add<'a> {
    delta: i64,
    start: u64,
    end: u64,
    ok: bool,
    op: &'a Op,
}

fn number(value: &serde_json::Value, line: usize, what: &str) -> Result<i64, BadLine> {
    match value {
        serde_json::Value::Null => Ok(0),
        v => v
            .as_i64()
            .ok_or_else(|| BadLine::at(line, format!("{what} must be a whole number, got {v}"))),
    }
}

/// An add's change: a whole number, never missing.
fn delta(value: &serde_json::Value, line: usize) -> Result<i64, BadLine> {
    match value {
        serde_json::Value::Null => Err(BadLine::at(
            line,
            "an add needs a value: the change, a whole number",
        )),
        v => number(v, line, "an add's value"),
    }
}

/// Checks every read of every counter in `ops`.
pub fn check(ops: &Ops) -> Result<Verdict, BadLine> {
    let mut evidence = Vec::new();
    let (mut reads, mut bad_reads, mut bad_keys, mut keys, mut counted) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut lost = 0u64;
    let mut unread_keys = 0u64;
    let mut unread_example: Option<String> = None;
    for (key, key_ops) in ops.by_key() {
        keys += 1;
        let mut adds = Vec::new();
        let mut key_reads = Vec::new();
        for op in key_ops {
            match (op.f.as_str(), op.outcome) {
                ("add" | "increment", OpOutcome::Fail) => {}
                ("add" | "increment", outcome) => adds.push(Add {
                    delta: delta(&op.argument, op.invoke_line)?,
                    start: op.start,
                    end: op.end,
                    ok: outcome == OpOutcome::Ok,
                    op,
                }),
                ("read", OpOutcome::Ok) => key_reads.push((
                    number(
                        &op.result,
                        op.complete_line.unwrap_or(op.invoke_line),
                        "a read's value",
                    )?,
                    op,
                )),
                ("read", _) => {}
                (other, _) => {
                    return Err(BadLine::at(
                        op.invoke_line,
                        format!("the counter model knows add and read, not `{other}`"),
                    ));
                }
            }
        }
        counted += (adds.len() + key_reads.len()) as u64;
        reads += key_reads.len() as u64;
        // An acknowledged add is only checked by a read that began after it ended: a counter
        // without one could have lost it unseen.
        let last_ack = adds.iter().filter(|a| a.ok).map(|a| a.end).max();
        if let Some(last) = last_ack
            && !key_reads.iter().any(|(_, r)| r.start > last)
        {
            unread_keys += 1;
            if unread_example.is_none() {
                unread_example = Some(
                    key.as_ref()
                        .map_or("the single counter".into(), |k| k.to_string()),
                );
            }
        }
        let index = Index::new(&adds);
        let mut first_bad: Option<Evidence> = None;
        let mut key_bad = 0;
        for (value, read) in &key_reads {
            let bounds = index.bounds(read.start, read.end);
            let place = bounds.place(*value);
            if place == std::cmp::Ordering::Equal {
                continue;
            }
            key_bad += 1;
            if place == std::cmp::Ordering::Less {
                lost += 1;
            }
            if first_bad.is_none() {
                first_bad = Some(explain(key.as_ref(), *value, bounds, read, &adds));
            }
        }
        bad_reads += key_bad;
        if let Some(e) = first_bad {
            bad_keys += 1;
            evidence.push(e);
        }
    }
    let (validity, summary) = if bad_reads > 0 {
        (
            Validity::Invalid,
            format!(
                "{bad_reads} of {reads} reads on {bad_keys} of {} outside what the adds allow ({lost} below: lost updates)",
                super::plural(keys, "counter")
            ),
        )
    } else if reads == 0 {
        (
            Validity::Unknown,
            format!("{keys} counters, but no read to check"),
        )
    } else if unread_keys > 0 {
        (
            Validity::Unknown,
            format!(
                "{reads} reads within what the adds allow, but {unread_keys} of {} not read after their last acknowledged add (first: {}): an update lost there would go unseen",
                super::plural(keys, "counter"),
                unread_example.unwrap_or_default()
            ),
        )
    } else {
        (
            Validity::Valid,
            format!(
                "{reads} reads on {}, each within what the adds allow",
                super::plural(keys, "counter")
            ),
        )
    };
    Ok(Verdict {
        check: "lost-updates".into(),
        validity,
        ops: counted,
        keys,
        violations: bad_reads,
        summary,
        evidence,
    }
    .trim_evidence())
}

/// Prefix sums over the adds, to bound a read in logarithmic time.
struct Index {
    /// Acknowledged adds by end: (end, delta, max(0, delta), min(0, delta)) prefix sums.
    by_end: Vec<(u64, i64, i64, i64)>,
    /// Every add that did not fail, by start: prefix sums of max(0, d) and min(0, d).
    by_start: Vec<(u64, i64, i64)>,
}

impl Index {
    fn new(adds: &[Add<'_>]) -> Self {
        let mut ends: Vec<(u64, i64)> = adds
            .iter()
            .filter(|a| a.ok)
            .map(|a| (a.end, a.delta))
            .collect();
        ends.sort_unstable();
        let mut starts: Vec<(u64, i64)> = adds.iter().map(|a| (a.start, a.delta)).collect();
        starts.sort_unstable();
        let mut by_end = Vec::with_capacity(ends.len());
        let (mut sum, mut up, mut down) = (0, 0, 0);
        for (end, d) in ends {
            sum += d;
            up += d.max(0);
            down += d.min(0);
            by_end.push((end, sum, up, down));
        }
        let mut by_start = Vec::with_capacity(starts.len());
        let (mut up, mut down) = (0, 0);
        for (start, d) in starts {
            up += d.max(0);
            down += d.min(0);
            by_start.push((start, up, down));
        }
        Self { by_end, by_start }
    }

    fn bounds(&self, start: u64, end: u64) -> Bounds {
        let surely = self.by_end.partition_point(|e| e.0 < start);
        let (sum, sure_up, sure_down) = surely.checked_sub(1).map_or((0, 0, 0), |i| {
            (self.by_end[i].1, self.by_end[i].2, self.by_end[i].3)
        });
        let possibly = self.by_start.partition_point(|s| s.0 < end);
        let (up, down) = possibly
            .checked_sub(1)
            .map_or((0, 0), |i| (self.by_start[i].1, self.by_start[i].2));
        Bounds {
            low: sum + (down - sure_down),
            high: sum + (up - sure_up),
        }
    }
}

fn explain(key: Option<&Key>, value: i64, bounds: Bounds, read: &Op, adds: &[Add<'_>]) -> Evidence {
    let what = if value < bounds.low {
        format!(
            "lost updates: read {value}, but the adds acknowledged before it began put the counter at {} or more (at least {} missing)",
            bounds.low,
            bounds.low - value
        )
    } else {
        format!(
            "read {value}, above the {} that every add begun before it ended could make: a change nobody made, or one that failed, took effect",
            bounds.high
        )
    };
    // The shortest excerpt: the read and the adds concurrent with it or just before it.
    let mut near: Vec<&Add<'_>> = adds
        .iter()
        .filter(|a| a.start < read.end && (a.end > read.start || !a.ok))
        .collect();
    let mut before: Vec<&Add<'_>> = adds.iter().filter(|a| a.ok && a.end < read.start).collect();
    before.sort_by_key(|a| a.end);
    near.extend(before.iter().rev().take(3));
    near.sort_by_key(|a| a.start);
    near.truncate(12);
    let mut ops: Vec<String> = near.iter().map(|a| a.op.describe()).collect();
    ops.push(read.describe());
    Evidence {
        key: key.map(ToString::to_string),
        message: what,
        ops,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{pair, parse};

    fn verdict(ops: &[(u64, &str, &str, &str)]) -> Verdict {
        let text: String = ops
            .iter()
            .map(|(p, t, f, v)| {
                format!("{{\"process\":{p},\"type\":\"{t}\",\"f\":\"{f}\",\"value\":{v}}}\n")
            })
            .collect();
        check(&pair(&parse(text.as_bytes()).unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn reads_within_the_adds_are_valid() {
        let v = verdict(&[
            (0, "invoke", "add", "10"),
            (0, "ok", "add", "10"),
            (1, "invoke", "add", "-3"),
            (2, "invoke", "read", "null"),
            (2, "ok", "read", "10"),
            (1, "ok", "add", "-3"),
            (2, "invoke", "read", "null"),
            (2, "ok", "read", "7"),
        ]);
        assert_eq!(v.validity, Validity::Valid, "{v:?}");
    }

    #[test]
    fn a_lost_update_is_caught_with_the_adds_that_were_lost() {
        let v = verdict(&[
            (0, "invoke", "add", "5"),
            (1, "invoke", "add", "5"),
            (0, "ok", "add", "5"),
            (1, "ok", "add", "5"),
            (2, "invoke", "read", "null"),
            (2, "ok", "read", "5"),
        ]);
        assert_eq!(v.validity, Validity::Invalid);
        assert!(
            v.evidence[0].message.contains("lost updates"),
            "{:?}",
            v.evidence
        );
        assert!(v.summary.contains("1 below"), "{}", v.summary);
    }

    #[test]
    fn failed_adds_must_not_show_and_indefinite_ones_may() {
        let failed = verdict(&[
            (0, "invoke", "add", "5"),
            (0, "fail", "add", "5"),
            (2, "invoke", "read", "null"),
            (2, "ok", "read", "5"),
        ]);
        assert_eq!(failed.validity, Validity::Invalid);
        assert!(failed.evidence[0].message.contains("nobody made"));
        for seen in ["0", "5"] {
            let maybe = verdict(&[
                (0, "invoke", "add", "5"),
                (0, "info", "add", "5"),
                (2, "invoke", "read", "null"),
                (2, "ok", "read", seen),
            ]);
            assert_eq!(maybe.validity, Validity::Valid);
        }
    }

    #[test]
    fn books_bound_a_final_balance() {
        let books = Books {
            acknowledged: 30,
            maybe_up: 5,
            maybe_down: -2,
        };
        let b = books.bounds(1000);
        assert_eq!((b.low, b.high), (1028, 1035));
        assert_eq!(b.place(1027), std::cmp::Ordering::Less);
        assert_eq!(b.place(1035), std::cmp::Ordering::Equal);
    }

    #[test]
    fn an_acknowledged_add_with_no_read_after_it_leaves_the_counter_undecided() {
        // The read overlaps the add, so it may come before it: had the add been lost, no
        // read would show it.
        let v = verdict(&[
            (0, "invoke", "add", "5"),
            (2, "invoke", "read", "null"),
            (0, "ok", "add", "5"),
            (2, "ok", "read", "0"),
        ]);
        assert_eq!(v.validity, Validity::Unknown, "{v:?}");
        assert!(v.summary.contains("not read after"), "{}", v.summary);
    }

    #[test]
    fn an_add_without_a_value_is_bad_input() {
        let text = "{\"process\":0,\"type\":\"invoke\",\"f\":\"add\"}\n{\"process\":0,\"type\":\"ok\",\"f\":\"add\"}\n";
        let e = check(&pair(&parse(text.as_bytes()).unwrap()).unwrap()).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.to_string().contains("needs a value"), "{e}");
    }

    #[test]
    fn no_read_is_unknown() {
        let v = verdict(&[(0, "invoke", "add", "1"), (0, "ok", "add", "1")]);
        assert_eq!(v.validity, Validity::Unknown);
    }
}
