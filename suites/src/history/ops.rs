//! Pairing a history's lines into operations: each `invoke` with the `ok`, `fail` or `info`
//! of the same process that follows it, on a real-time axis.

use super::{BadLine, Entry, Key, Kind, Process};
use serde_json::Value;
use std::collections::HashMap;

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpOutcome {
    /// It took effect.
    Ok,
    /// It certainly did not.
    Fail,
    /// It may have; it may take effect at any time after its invoke (an `info`, or an invoke
    /// that never completed).
    Info,
}

/// One operation: an invoke and its completion.
#[derive(Clone, Debug, PartialEq)]
pub struct Op {
    /// Who ran it.
    pub process: Process,
    /// `read`, `write`, `cas`, …
    pub f: String,
    /// Its key, `None` for a single register.
    pub key: Option<Key>,
    /// The invoke's value.
    pub argument: Value,
    /// The completion's value (null unless `ok`).
    pub result: Value,
    /// How it ended.
    pub outcome: OpOutcome,
    /// Real-time position of the invoke (an order, not a duration).
    pub start: u64,
    /// Real-time position of the completion; `u64::MAX` when it may take effect at any time.
    pub end: u64,
    /// Nanoseconds of the invoke, where the history has times.
    pub start_ns: Option<u64>,
    /// Nanoseconds of the completion, where known.
    pub end_ns: Option<u64>,
    /// The invoke's line (1-based).
    pub invoke_line: usize,
    /// The completion's line.
    pub complete_line: Option<usize>,
    /// The store's version of what it read or wrote, where recorded.
    pub version: Option<u64>,
}

impl Op {
    /// Where it is in the file, for messages: `line 12` or `lines 12-15`.
    pub fn lines(&self) -> String {
        match self.complete_line {
            Some(end) => format!("lines {}-{end}", self.invoke_line),
            None => format!("line {} (never completed)", self.invoke_line),
        }
    }

    /// A short description: `process 3 cas [1,2] ok (lines 12-15)`.
    pub fn describe(&self) -> String {
        let outcome = match self.outcome {
            OpOutcome::Ok => "ok",
            OpOutcome::Fail => "fail",
            OpOutcome::Info => "info",
        };
        let shown = if self.f == "read" && self.outcome == OpOutcome::Ok {
            format!("-> {}", self.result)
        } else {
            self.argument.to_string()
        };
        let key = self
            .key
            .as_ref()
            .map(|k| format!(" key {k}"))
            .unwrap_or_default();
        format!(
            "process {} {} {shown}{key} {outcome} ({})",
            self.process,
            self.f,
            self.lines()
        )
    }
}

/// A history as operations, with its fault actions apart.
#[derive(Clone, Debug, Default)]
pub struct Ops {
    /// Every client operation, in invoke order.
    pub ops: Vec<Op>,
    /// The nemesis's entries (fault actions), with their lines.
    pub faults: Vec<(usize, Entry)>,
    /// Whether real time came from `time` (else from the line order).
    pub timed: bool,
}

impl Ops {
    /// The operations grouped by key, keys in their order of first appearance.
    pub fn by_key(&self) -> Vec<(Option<Key>, Vec<&Op>)> {
        let mut index: HashMap<Option<&Key>, usize> = HashMap::new();
        let mut groups: Vec<(Option<Key>, Vec<&Op>)> = Vec::new();
        for op in &self.ops {
            let slot = *index.entry(op.key.as_ref()).or_insert_with(|| {
                groups.push((op.key.clone(), Vec::new()));
                groups.len() - 1
            });
            groups[slot].1.push(op);
        }
        groups
    }
}

/// Pairs `entries` (with their line numbers) into operations. Real time is the `time` field
/// when every line has one, else the line order.
pub fn pair(entries: &[(usize, Entry)]) -> Result<Ops, BadLine> {
    let timed = entries.iter().all(|(_, e)| e.time.is_some());
    let mut order: Vec<usize> = (0..entries.len()).collect();
    if timed {
        order.sort_by_key(|&i| (entries[i].1.time, entries[i].0));
    }
    let mut ops: Vec<Op> = Vec::new();
    let mut faults = Vec::new();
    let mut open: HashMap<&Process, usize> = HashMap::new();
    for (position, &i) in order.iter().enumerate() {
        let (line, entry) = (entries[i].0, &entries[i].1);
        let position = position as u64;
        if entry.process.is_nemesis() {
            faults.push((line, entry.clone()));
            continue;
        }
        match entry.kind {
            Kind::Invoke => {
                if let Some(&pending) = open.get(&entry.process) {
                    return Err(BadLine::at(
                        line,
                        format!(
                            "process {} invokes again before its operation at line {} completed",
                            entry.process, ops[pending].invoke_line
                        ),
                    ));
                }
                open.insert(&entry.process, ops.len());
                ops.push(Op {
                    process: entry.process.clone(),
                    f: entry.f.clone(),
                    key: entry.key.clone(),
                    argument: entry.value.clone(),
                    result: Value::Null,
                    outcome: OpOutcome::Info,
                    start: position,
                    end: u64::MAX,
                    start_ns: entry.time,
                    end_ns: None,
                    invoke_line: line,
                    complete_line: None,
                    version: entry.version,
                });
            }
            kind => {
                let Some(pending) = open.remove(&entry.process) else {
                    return Err(BadLine::at(
                        line,
                        format!(
                            "`{}` of process {} has no invoke before it",
                            kind.as_str(),
                            entry.process
                        ),
                    ));
                };
                complete(&mut ops[pending], line, position, entry)?;
            }
        }
    }
    Ok(Ops { ops, faults, timed })
}

fn complete(op: &mut Op, line: usize, position: u64, entry: &Entry) -> Result<(), BadLine> {
    if entry.f != op.f {
        return Err(BadLine::at(
            line,
            format!(
                "completes `{}` but process {} invoked `{}` at line {}",
                entry.f, op.process, op.f, op.invoke_line
            ),
        ));
    }
    if entry.key.is_some() && entry.key != op.key {
        return Err(BadLine::at(
            line,
            format!(
                "completes key {} but the invoke at line {} was for key {}",
                entry
                    .key
                    .as_ref()
                    .map_or("none".into(), ToString::to_string),
                op.invoke_line,
                op.key.as_ref().map_or("none".into(), ToString::to_string)
            ),
        ));
    }
    op.complete_line = Some(line);
    op.end_ns = entry.time;
    if entry.version.is_some() {
        op.version = entry.version;
    }
    match entry.kind {
        Kind::Ok => {
            op.outcome = OpOutcome::Ok;
            op.end = position;
            op.result = entry.value.clone();
        }
        Kind::Fail => {
            op.outcome = OpOutcome::Fail;
            op.end = position;
        }
        // An indefinite operation may take effect at any time after its invoke.
        Kind::Info | Kind::Invoke => op.outcome = OpOutcome::Info,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::parse;

    fn ops(text: &str) -> Result<Ops, BadLine> {
        pair(&parse(text.as_bytes()).unwrap())
    }

    #[test]
    fn invokes_pair_with_the_next_completion_of_their_process() {
        let h = ops(r#"{"process":0,"type":"invoke","f":"write","value":1}
{"process":1,"type":"invoke","f":"read","value":null}
{"process":0,"type":"ok","f":"write","value":1}
{"process":"nemesis","type":"info","f":"kill","value":"redis"}
{"process":1,"type":"ok","f":"read","value":1}
{"process":0,"type":"invoke","f":"cas","value":[1,2]}
{"process":0,"type":"info","f":"cas","value":[1,2]}
{"process":2,"type":"invoke","f":"write","value":3}
"#)
        .unwrap();
        assert!(!h.timed);
        assert_eq!(h.faults.len(), 1);
        let summary: Vec<_> = h
            .ops
            .iter()
            .map(|o| (o.f.as_str(), o.outcome, o.start, o.end))
            .collect();
        assert_eq!(
            summary,
            [
                ("write", OpOutcome::Ok, 0, 2),
                ("read", OpOutcome::Ok, 1, 4),
                ("cas", OpOutcome::Info, 5, u64::MAX),
                ("write", OpOutcome::Info, 7, u64::MAX),
            ]
        );
        assert_eq!(h.ops[1].result, serde_json::json!(1));
        assert_eq!(h.ops[0].describe(), "process 0 write 1 ok (lines 1-3)");
    }

    #[test]
    fn times_order_the_history_when_every_line_has_one() {
        let h = ops(r#"{"process":1,"type":"invoke","f":"read","time":20}
{"process":0,"type":"invoke","f":"write","value":1,"time":10}
{"process":0,"type":"ok","f":"write","value":1,"time":30}
{"process":1,"type":"ok","f":"read","value":1,"time":40}
"#)
        .unwrap();
        assert!(h.timed);
        assert_eq!((h.ops[0].f.as_str(), h.ops[0].start), ("write", 0));
        assert_eq!((h.ops[1].start, h.ops[1].end), (1, 3));
    }

    #[test]
    fn histories_that_do_not_hang_together_are_refused_with_the_line() {
        let cases = [
            (
                "{\"process\":0,\"type\":\"ok\",\"f\":\"read\"}\n",
                1,
                "has no invoke before it",
            ),
            (
                "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n",
                2,
                "invokes again before its operation at line 1",
            ),
            (
                "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n{\"process\":0,\"type\":\"ok\",\"f\":\"write\"}\n",
                2,
                "completes `write` but process 0 invoked `read`",
            ),
            (
                "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"a\"}\n{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"key\":\"b\"}\n",
                2,
                "completes key b",
            ),
            (
                "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"time\":9}\n{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"time\":3}\n",
                2,
                "has no invoke before it",
            ),
        ];
        for (text, line, says) in cases {
            let e = ops(text).unwrap_err();
            assert_eq!(e.line, line, "{e}");
            assert!(e.message.contains(says), "`{e}` should say `{says}`");
        }
    }

    #[test]
    fn a_process_may_go_on_after_an_indefinite_operation() {
        let h = ops(r#"{"process":0,"type":"invoke","f":"write","value":1}
{"process":0,"type":"info","f":"write","value":1}
{"process":0,"type":"invoke","f":"write","value":2}
{"process":0,"type":"ok","f":"write","value":2}
"#)
        .unwrap();
        assert_eq!(h.ops.len(), 2);
        assert_eq!(h.ops[0].end, u64::MAX);
    }
}
