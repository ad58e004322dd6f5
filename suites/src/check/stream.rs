//! Event streams: `append [expected, id]` (expected: a revision, `-1` for no stream yet, or
//! `null` for any; `ok` value: the revision it got) and `read` (`ok` value: the stream as
//! `[[revision, id], …]`).
//!
//! The final read of a stream is the last read that began after every append on it ended
//! (appends that never ended aside). Two verdicts come out:
//! - `stream-integrity`: at most one append took effect per expected revision; the final read
//!   has no duplicate, its revisions increase, every event follows the revision its append
//!   expected (no gap, no reorder), acknowledged revisions agree with it, no failed append
//!   and nothing nobody appended is in it, and every earlier read is a prefix of it;
//! - `durability`: every acknowledged append is in the final read.

use super::{Evidence, Validity, Verdict};
use crate::history::{BadLine, Key, Op, OpOutcome, Ops};
use serde_json::Value;
use std::collections::HashMap;

/// What an append expected of its stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Expected {
    Any,
    NoStream,
    Revision(i64),
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Any => f.write_str("any revision"),
            Self::NoStream => f.write_str("no stream"),
            Self::Revision(r) => write!(f, "revision {r}"),
        }
    }
}

struct Append<'a> {
    expected: Expected,
    id: String,
    acked_revision: Option<i64>,
    op: &'a Op,
}

struct Read<'a> {
    events: Vec<(i64, String)>,
    op: &'a Op,
}

fn parse_append(op: &Op) -> Result<(Expected, String), BadLine> {
    let bad = || {
        BadLine::at(
            op.invoke_line,
            format!(
                "an append needs the value [expected revision or -1 or null, event id], got {}",
                op.argument
            ),
        )
    };
    let [expected, id] = op.argument.as_array().map(Vec::as_slice).ok_or_else(bad)? else {
        return Err(bad());
    };
    let expected = match expected {
        Value::Null => Expected::Any,
        Value::String(s) if s == "no-stream" => Expected::NoStream,
        v => match v.as_i64().ok_or_else(bad)? {
            -1 => Expected::NoStream,
            r if r >= 0 => Expected::Revision(r),
            _ => return Err(bad()),
        },
    };
    Ok((expected, id.to_string()))
}

fn parse_read(op: &Op) -> Result<Vec<(i64, String)>, BadLine> {
    let line = op.complete_line.unwrap_or(op.invoke_line);
    let bad = || {
        BadLine::at(
            line,
            format!(
                "a read returns the stream as [[revision, id], …], got {}",
                op.result
            ),
        )
    };
    match &op.result {
        Value::Null => Ok(Vec::new()),
        Value::Array(events) => events
            .iter()
            .map(|e| match e.as_array().map(Vec::as_slice) {
                Some([revision, id]) => Ok((revision.as_i64().ok_or_else(bad)?, id.to_string())),
                _ => Err(bad()),
            })
            .collect(),
        _ => Err(bad()),
    }
}

/// Findings of one kind, over every stream.
#[derive(Default)]
struct Tally {
    violations: u64,
    evidence: Vec<Evidence>,
}

impl Tally {
    fn add(&mut self, key: Option<&Key>, message: String, ops: &[&Op]) {
        self.violations += 1;
        if self.evidence.len() < 2 * super::MAX_EVIDENCE {
            self.evidence.push(Evidence {
                key: key.map(ToString::to_string),
                message,
                ops: ops.iter().map(|o| o.describe()).collect(),
            });
        }
    }
}

/// Checks every stream in `ops`.
pub fn check(ops: &Ops) -> Result<Vec<Verdict>, BadLine> {
    let (mut integrity, mut durability) = (Tally::default(), Tally::default());
    let (mut keys, mut counted, mut acked, mut unfinished) = (0u64, 0u64, 0u64, 0u64);
    for (key, key_ops) in ops.by_key() {
        keys += 1;
        let mut appends = Vec::new();
        let mut failed = Vec::new();
        let mut reads = Vec::new();
        for op in key_ops {
            match (op.f.as_str(), op.outcome) {
                ("append", outcome) => {
                    let (expected, id) = parse_append(op)?;
                    let acked_revision = match (&op.result, outcome) {
                        (Value::Array(pair), OpOutcome::Ok) => pair.first().and_then(Value::as_i64),
                        (v, OpOutcome::Ok) => v.as_i64(),
                        _ => None,
                    };
                    let append = Append {
                        expected,
                        id,
                        acked_revision,
                        op,
                    };
                    if outcome == OpOutcome::Fail {
                        failed.push(append);
                    } else {
                        appends.push(append);
                    }
                }
                ("read", OpOutcome::Ok) => reads.push(Read {
                    events: parse_read(op)?,
                    op,
                }),
                ("read", _) => {}
                (other, _) => {
                    return Err(BadLine::at(
                        op.invoke_line,
                        format!("the stream model knows append and read, not `{other}`"),
                    ));
                }
            }
        }
        counted += (appends.len() + failed.len() + reads.len()) as u64;
        acked += appends
            .iter()
            .filter(|a| a.op.outcome == OpOutcome::Ok)
            .count() as u64;
        let settled = appends
            .iter()
            .chain(&failed)
            .filter(|a| a.op.end != u64::MAX)
            .map(|a| a.op.end)
            .max()
            .unwrap_or(0);
        let Some(last) = reads
            .iter()
            .filter(|r| r.op.start > settled)
            .max_by_key(|r| r.op.start)
        else {
            if !appends.is_empty() {
                unfinished += 1;
            }
            continue;
        };
        let stream = Stream::new(key.as_ref(), &appends, &failed, last);
        stream.check(&mut integrity, &mut durability);
        for read in &reads {
            let ids: Vec<&String> = read.events.iter().map(|(_, id)| id).collect();
            let prefix: Vec<&String> = last
                .events
                .iter()
                .take(ids.len())
                .map(|(_, id)| id)
                .collect();
            if read.op.start < last.op.start && ids != prefix {
                integrity.add(
                    key.as_ref(),
                    "a read is not a prefix of the final read: events were reordered, or lost and found".into(),
                    &[read.op, last.op],
                );
            }
        }
    }
    let verdict = |check: &str, tally: Tally, what: &str| {
        let validity = if tally.violations > 0 {
            Validity::Invalid
        } else if unfinished > 0 || counted == 0 {
            // Nothing read after the appends, or nothing at all: nothing is shown kept.
            Validity::Unknown
        } else {
            Validity::Valid
        };
        let tail = if counted == 0 {
            "; no append or read to check".to_owned()
        } else if unfinished > 0 {
            format!("; {unfinished} streams have no read after their last append")
        } else {
            String::new()
        };
        Verdict {
            check: check.into(),
            validity,
            ops: counted,
            keys,
            violations: tally.violations,
            summary: format!(
                "{} {what} on {}{tail}",
                tally.violations,
                super::plural(keys, "stream")
            ),
            evidence: tally.evidence,
        }
        .trim_evidence()
    };
    Ok(vec![
        verdict("stream-integrity", integrity, "integrity violations"),
        verdict(
            "durability",
            durability,
            &format!("of {acked} acknowledged appends missing from the final reads"),
        ),
    ])
}

/// One stream's appends against its final read.
struct Stream<'s, 'a> {
    key: Option<&'s Key>,
    appends: &'s [Append<'a>],
    failed: &'s [Append<'a>],
    last: &'s Read<'a>,
    /// Where each id sits in the final read (its first place).
    place: HashMap<&'s str, usize>,
    /// Who appended each id.
    by_id: HashMap<&'s str, &'s Append<'a>>,
}

impl<'s, 'a> Stream<'s, 'a> {
    fn new(
        key: Option<&'s Key>,
        appends: &'s [Append<'a>],
        failed: &'s [Append<'a>],
        last: &'s Read<'a>,
    ) -> Self {
        let mut place = HashMap::new();
        for (i, (_, id)) in last.events.iter().enumerate() {
            place.entry(id.as_str()).or_insert(i);
        }
        let by_id = appends.iter().map(|a| (a.id.as_str(), a)).collect();
        Self {
            key,
            appends,
            failed,
            last,
            place,
            by_id,
        }
    }

    fn check(&self, integrity: &mut Tally, durability: &mut Tally) {
        let (key, last) = (self.key, self.last.op);
        let mut winners: HashMap<Expected, Vec<&Append<'_>>> = HashMap::new();
        for a in self.appends {
            let took_effect =
                a.op.outcome == OpOutcome::Ok || self.place.contains_key(a.id.as_str());
            if took_effect && a.expected != Expected::Any {
                winners.entry(a.expected).or_default().push(a);
            }
            match self.place.get(a.id.as_str()) {
                None if a.op.outcome == OpOutcome::Ok => durability.add(
                    key,
                    format!(
                        "the acknowledged append of {} is not in the final read",
                        a.id
                    ),
                    &[a.op, last],
                ),
                Some(&i) => match a.acked_revision {
                    Some(r) if self.last.events[i].0 != r => integrity.add(
                        key,
                        format!(
                            "{} was acknowledged at revision {r}, but the final read has it at {}",
                            a.id, self.last.events[i].0
                        ),
                        &[a.op, last],
                    ),
                    _ => {}
                },
                None => {}
            }
        }
        for (expected, won) in winners.into_iter().filter(|(_, w)| w.len() > 1) {
            let ops: Vec<&Op> = won.iter().map(|a| a.op).collect();
            integrity.add(
                key,
                format!(
                    "{} appends expecting {expected:?} all took effect; at most one may",
                    won.len()
                ),
                &ops,
            );
        }
        for a in self.failed {
            if self.place.contains_key(a.id.as_str()) {
                integrity.add(
                    key,
                    format!("the failed append of {} took effect", a.id),
                    &[a.op, last],
                );
            }
        }
        self.check_order(integrity);
    }

    fn check_order(&self, integrity: &mut Tally) {
        let (key, last) = (self.key, self.last.op);
        let events = &self.last.events;
        let mut seen = HashMap::new();
        for (i, (revision, id)) in events.iter().enumerate() {
            if let Some(first) = seen.insert(id.as_str(), i) {
                integrity.add(
                    key,
                    format!("{id} is in the final read twice (at {first} and {i})"),
                    &[last],
                );
            }
            if i > 0 && *revision <= events[i - 1].0 {
                integrity.add(
                    key,
                    format!(
                        "revision {revision} follows revision {} in the final read",
                        events[i - 1].0
                    ),
                    &[last],
                );
            }
            let Some(append) = self.by_id.get(id.as_str()) else {
                integrity.add(
                    key,
                    format!("{id} is in the final read, but nobody appended it"),
                    &[last],
                );
                continue;
            };
            let before = i.checked_sub(1).map(|p| events[p].0);
            let fits = match append.expected {
                Expected::Any => true,
                Expected::NoStream => before.is_none(),
                Expected::Revision(r) => before == Some(r),
            };
            if !fits {
                let after = before.map_or("the start of the stream".to_owned(), |b| {
                    format!("revision {b}")
                });
                integrity.add(
                    key,
                    format!("the append of {id} expected {} but took effect after {after}: a gap, or a second winner", append.expected),
                    &[append.op, last],
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{pair, parse};

    fn verdicts(ops: &[(u64, &str, &str, &str)]) -> (Verdict, Verdict) {
        let text: String = ops
            .iter()
            .map(|(p, t, f, v)| format!("{{\"process\":{p},\"type\":\"{t}\",\"f\":\"{f}\",\"key\":\"s\",\"value\":{v}}}\n"))
            .collect();
        let mut v = check(&pair(&parse(text.as_bytes()).unwrap()).unwrap()).unwrap();
        let durability = v.pop().unwrap();
        (v.pop().unwrap(), durability)
    }

    const OPEN: [(u64, &str, &str, &str); 2] = [
        (0, "invoke", "append", "[-1,\"a\"]"),
        (0, "ok", "append", "0"),
    ];

    #[test]
    fn a_clean_stream_is_valid() {
        let mut h = OPEN.to_vec();
        h.extend([
            (1, "invoke", "append", "[0,\"b\"]"),
            (2, "invoke", "append", "[0,\"c\"]"),
            (1, "ok", "append", "1"),
            (2, "fail", "append", "[0,\"c\"]"),
            (3, "invoke", "read", "null"),
            (3, "ok", "read", "[[0,\"a\"],[1,\"b\"]]"),
        ]);
        let (integrity, durability) = verdicts(&h);
        assert_eq!(integrity.validity, Validity::Valid, "{integrity:?}");
        assert_eq!(durability.validity, Validity::Valid, "{durability:?}");
    }

    #[test]
    fn two_appends_winning_one_revision_are_caught() {
        let mut h = OPEN.to_vec();
        h.extend([
            (1, "invoke", "append", "[0,\"b\"]"),
            (2, "invoke", "append", "[0,\"c\"]"),
            (1, "ok", "append", "1"),
            (2, "ok", "append", "2"),
            (3, "invoke", "read", "null"),
            (3, "ok", "read", "[[0,\"a\"],[1,\"b\"],[2,\"c\"]]"),
        ]);
        let (integrity, _) = verdicts(&h);
        assert_eq!(integrity.validity, Validity::Invalid);
        assert!(
            integrity
                .evidence
                .iter()
                .any(|e| e.message.contains("all took effect")),
            "{integrity:?}"
        );
    }

    #[test]
    fn duplicates_gaps_and_lost_acknowledged_appends_are_caught() {
        let mut dup = OPEN.to_vec();
        dup.extend([
            (1, "invoke", "append", "[null,\"b\"]"),
            (1, "ok", "append", "1"),
            (3, "invoke", "read", "null"),
            (3, "ok", "read", "[[0,\"a\"],[1,\"b\"],[2,\"b\"]]"),
        ]);
        let (integrity, _) = verdicts(&dup);
        assert!(
            integrity
                .evidence
                .iter()
                .any(|e| e.message.contains("twice")),
            "{integrity:?}"
        );
        let mut lost = OPEN.to_vec();
        lost.extend([
            (1, "invoke", "append", "[0,\"b\"]"),
            (1, "ok", "append", "1"),
            (3, "invoke", "read", "null"),
            (3, "ok", "read", "[[0,\"a\"]]"),
        ]);
        let (_, durability) = verdicts(&lost);
        assert_eq!(
            (durability.validity, durability.violations),
            (Validity::Invalid, 1)
        );
        let mut gap = OPEN.to_vec();
        gap.extend([
            (1, "invoke", "append", "[0,\"b\"]"),
            (1, "info", "append", "[0,\"b\"]"),
            (1, "invoke", "append", "[5,\"c\"]"),
            (1, "ok", "append", "6"),
            (3, "invoke", "read", "null"),
            (3, "ok", "read", "[[0,\"a\"],[6,\"c\"]]"),
        ]);
        let (integrity, _) = verdicts(&gap);
        assert!(
            integrity
                .evidence
                .iter()
                .any(|e| e.message.contains("a gap")),
            "{integrity:?}"
        );
    }

    #[test]
    fn an_indefinite_append_may_take_effect_once() {
        let mut h = OPEN.to_vec();
        h.extend([
            (1, "invoke", "append", "[0,\"b\"]"),
            (1, "info", "append", "[0,\"b\"]"),
            (3, "invoke", "read", "null"),
            (3, "ok", "read", "[[0,\"a\"],[1,\"b\"]]"),
        ]);
        let (integrity, durability) = verdicts(&h);
        assert_eq!(
            (integrity.validity, durability.validity),
            (Validity::Valid, Validity::Valid)
        );
    }

    #[test]
    fn without_a_final_read_the_verdict_is_unknown() {
        let (integrity, durability) = verdicts(&OPEN);
        assert_eq!(
            (integrity.validity, durability.validity),
            (Validity::Unknown, Validity::Unknown)
        );
    }
}
