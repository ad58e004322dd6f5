//! Linearizability of a compare-and-set register per key: the Wing–Gong–Lowe search with
//! memoisation of (operations linearized, register value), keys checked in parallel, under a
//! time and memory budget whose exhaustion says unknown.
//!
//! Definite failures (`fail`) did not happen and are left out, as are reads that did not
//! complete. An indefinite write or cas (`info`, or never completed) may take effect at any
//! point after its invoke, or never: the search may leave it out.

use super::{Budget, Evidence, Validity, Verdict};
use crate::history::{BadLine, Key, Op, OpOutcome, Ops};
use foldhash::HashMap;
use serde_json::Value;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

/// The register's value: an interned JSON value; 0 is null (absent, the initial value).
type Val = u32;
const NULL: Val = 0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Read(Val),
    Write(Val),
    Cas(Val, Val),
}

impl Step {
    /// The register after this operation, or `None` when it cannot happen from `state`.
    fn apply(self, state: Val) -> Option<Val> {
        match self {
            Self::Read(v) => (v == state).then_some(state),
            Self::Write(v) => Some(v),
            Self::Cas(expected, new) => (expected == state).then_some(new),
        }
    }
}

/// One operation of one key, ready for the search.
struct RegOp<'a> {
    step: Step,
    start: u64,
    end: u64,
    definite: bool,
    op: &'a Op,
}

/// JSON values as small numbers, and back.
#[derive(Default)]
struct Values {
    ids: HashMap<String, Val>,
    texts: Vec<String>,
}

impl Values {
    fn new() -> Self {
        Self {
            ids: HashMap::default(),
            texts: vec!["null".to_owned()],
        }
    }

    fn id(&mut self, value: &Value) -> Val {
        if value.is_null() {
            return NULL;
        }
        let text = value.to_string();
        if let Some(&id) = self.ids.get(&text) {
            return id;
        }
        let id = self.texts.len() as Val;
        self.texts.push(text.clone());
        self.ids.insert(text, id);
        id
    }

    fn text(&self, id: Val) -> &str {
        self.texts.get(id as usize).map_or("?", String::as_str)
    }
}

/// Turns one operation into a search step; `None` when it has no effect to check.
fn step_of(op: &Op, values: &mut Values) -> Result<Option<Step>, BadLine> {
    if op.outcome == OpOutcome::Fail {
        return Ok(None);
    }
    let line = op.invoke_line;
    match op.f.as_str() {
        "read" if op.outcome == OpOutcome::Ok => Ok(Some(Step::Read(values.id(&op.result)))),
        "read" => Ok(None),
        "write" => Ok(Some(Step::Write(values.id(&op.argument)))),
        "cas" => match op.argument.as_array().map(Vec::as_slice) {
            Some([expected, new]) => Ok(Some(Step::Cas(values.id(expected), values.id(new)))),
            _ => Err(BadLine::at(
                line,
                format!("cas needs the value [expected, new], got {}", op.argument),
            )),
        },
        other => Err(BadLine::at(
            line,
            format!("the cas-register model knows read, write and cas, not `{other}`"),
        )),
    }
}

/// Leaves out indefinite writes and cas whose value no operation reads or expects. Whether
/// one happened cannot matter: until the next write, nothing could tell its value from the
/// one before, so any order that places it works without it too. Under a crash most
/// indefinite writes are of this kind, and each would otherwise multiply the search.
fn drop_unobserved(steps: &mut Vec<RegOp<'_>>) {
    let observed: foldhash::HashSet<Val> = steps
        .iter()
        .filter_map(|s| match s.step {
            Step::Read(v) => Some(v),
            Step::Cas(expected, _) => Some(expected),
            Step::Write(_) => None,
        })
        .collect();
    steps.retain(|s| match s.step {
        _ if s.definite => true,
        Step::Write(v) | Step::Cas(_, v) => observed.contains(&v),
        Step::Read(_) => true,
    });
}

/// How one key came out.
enum Outcome {
    Valid,
    Invalid(Evidence),
    Unknown(String),
}

/// Checks every key of `ops` for linearizability.
pub fn check(ops: &Ops, budget: Budget) -> Result<Verdict, BadLine> {
    let mut values = Values::new();
    let mut keys: Vec<(Option<Key>, Vec<RegOp<'_>>)> = Vec::new();
    let mut counted = 0u64;
    for (key, key_ops) in ops.by_key() {
        let mut steps = Vec::with_capacity(key_ops.len());
        for op in key_ops {
            if let Some(step) = step_of(op, &mut values)? {
                steps.push(RegOp {
                    step,
                    start: op.start,
                    end: op.end,
                    definite: op.outcome == OpOutcome::Ok,
                    op,
                });
            }
        }
        counted += steps.len() as u64;
        drop_unobserved(&mut steps);
        keys.push((key, steps));
    }
    let outcomes = search_all(&keys, &values, budget);
    Ok(verdict(&keys, outcomes, counted))
}

fn verdict(keys: &[(Option<Key>, Vec<RegOp<'_>>)], outcomes: Vec<Outcome>, ops: u64) -> Verdict {
    let mut evidence = Vec::new();
    let (mut invalid, mut unknown) = (0, 0);
    for ((key, _), outcome) in keys.iter().zip(outcomes) {
        match outcome {
            Outcome::Valid => {}
            Outcome::Invalid(e) => {
                invalid += 1;
                evidence.push(e);
            }
            Outcome::Unknown(why) => {
                unknown += 1;
                evidence.push(Evidence {
                    key: key.as_ref().map(ToString::to_string),
                    message: why,
                    ops: Vec::new(),
                });
            }
        }
    }
    let n = keys.len();
    let (validity, summary) = if invalid > 0 {
        evidence.retain(|e| !e.ops.is_empty());
        (
            Validity::Invalid,
            format!(
                "{ops} operations on {}: not linearizable on {invalid} of them",
                super::plural(n as u64, "key")
            ),
        )
    } else if n == 0 {
        // Not even a failed operation: nothing was checked, which is no pass.
        (
            Validity::Unknown,
            "no register operation to check".to_owned(),
        )
    } else if unknown > 0 {
        (
            Validity::Unknown,
            format!(
                "{ops} operations on {}: undecided on {unknown} (budget exhausted)",
                super::plural(n as u64, "key")
            ),
        )
    } else {
        (
            Validity::Valid,
            format!(
                "{ops} operations on {}: linearizable",
                super::plural(n as u64, "key")
            ),
        )
    };
    Verdict {
        check: "linearizable".into(),
        validity,
        ops,
        keys: n as u64,
        violations: invalid,
        summary,
        evidence,
    }
    .trim_evidence()
}

/// Searches every key, the longest first, on as many threads as there are CPUs.
fn search_all(
    keys: &[(Option<Key>, Vec<RegOp<'_>>)],
    values: &Values,
    budget: Budget,
) -> Vec<Outcome> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(keys[i].1.len()));
    let shared = Shared {
        deadline: Instant::now() + budget.time,
        memory_left: AtomicU64::new(budget.memory_bytes),
        exhausted: AtomicBool::new(false),
    };
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new((0..keys.len()).map(|_| None).collect());
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(keys.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let at = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = order.get(at) else { break };
                    let (key, ops) = &keys[i];
                    let outcome = Search::new(ops, &shared).run(key.as_ref(), values);
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(outcome);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::Unknown("not searched".into())))
        .collect()
}

/// The budget, shared by the threads.
struct Shared {
    deadline: Instant,
    memory_left: AtomicU64,
    exhausted: AtomicBool,
}

impl Shared {
    /// Takes `bytes` of the memory budget; false when it is spent.
    fn take(&self, bytes: u64) -> bool {
        self.memory_left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(bytes)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: u64) {
        self.memory_left.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// The call and return entries of one key's operations, as a doubly linked list in real-time
/// order (Lowe's formulation of the WGL search).
struct Search<'s, 'a> {
    ops: &'s [RegOp<'a>],
    /// Entry `2i` is the call of op `i`, `2i + 1` its return; `HEAD` is the list's head.
    next: Vec<usize>,
    prev: Vec<usize>,
    shared: &'s Shared,
    words: usize,
}

const NONE: usize = usize::MAX;

/// One placement on the search's path.
struct Frame {
    op: usize,
    before: Val,
    /// Placed because it had to be (see `run`): backing out goes past it.
    forced: bool,
}

/// The set of operations placed so far, with a hash kept as it changes.
struct Linearized {
    bits: Vec<u64>,
    hash: u128,
}

/// A fixed random 128-bit number per operation (splitmix64 of its index).
fn zobrist(op: usize) -> u128 {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let a = mix(op as u64);
    (u128::from(a) << 64) | u128::from(mix(a ^ 0x5eed))
}

impl Linearized {
    fn new(ops: usize) -> Self {
        Self {
            bits: vec![0; ops.div_ceil(64).max(1)],
            hash: 0,
        }
    }

    fn set(&mut self, op: usize) {
        self.bits[op / 64] |= 1 << (op % 64);
        self.hash ^= zobrist(op);
    }

    fn clear(&mut self, op: usize) {
        self.bits[op / 64] &= !(1 << (op % 64));
        self.hash ^= zobrist(op);
    }
}

/// Configurations (operations placed, register value) already explored. Looked up by hash;
/// the sets themselves are kept and compared, so a hash collision can never prune a path.
#[derive(Default)]
struct Memo {
    seen: HashMap<(u128, Val), Vec<Box<[u64]>>>,
    len: usize,
}

impl Memo {
    fn seen(&self, placed: &Linearized, state: Val) -> bool {
        self.seen
            .get(&(placed.hash, state))
            .is_some_and(|sets| sets.iter().any(|s| **s == *placed.bits))
    }

    fn insert(&mut self, placed: &Linearized, state: Val) {
        self.seen
            .entry((placed.hash, state))
            .or_default()
            .push(placed.bits.clone().into_boxed_slice());
        self.len += 1;
    }
}

/// Where the search got furthest before it had to back out: for the evidence.
struct Furthest {
    depth: usize,
    state: Val,
    stuck: usize,
    candidates: Vec<usize>,
    recent: Vec<usize>,
}

impl<'s, 'a> Search<'s, 'a> {
    fn new(ops: &'s [RegOp<'a>], shared: &'s Shared) -> Self {
        let n = ops.len();
        let head = 2 * n;
        let mut entries: Vec<(u64, usize)> = Vec::with_capacity(2 * n);
        for (i, op) in ops.iter().enumerate() {
            entries.push((op.start, 2 * i));
            entries.push((op.end, 2 * i + 1));
        }
        // Positions are distinct except the end of indefinite operations (all at infinity),
        // whose order does not matter; a call always precedes its own return.
        entries.sort_by_key(|&(t, e)| (t, e % 2, e));
        let mut next = vec![NONE; 2 * n + 1];
        let mut prev = vec![NONE; 2 * n + 1];
        let mut last = head;
        for &(_, e) in &entries {
            next[last] = e;
            prev[e] = last;
            last = e;
        }
        Self {
            ops,
            next,
            prev,
            shared,
            words: n.div_ceil(64).max(1),
        }
    }

    fn head(&self) -> usize {
        2 * self.ops.len()
    }

    fn lift(&mut self, op: usize) {
        for e in [2 * op, 2 * op + 1] {
            let (p, n) = (self.prev[e], self.next[e]);
            self.next[p] = n;
            if n != NONE {
                self.prev[n] = p;
            }
        }
    }

    fn unlift(&mut self, op: usize) {
        for e in [2 * op + 1, 2 * op] {
            let (p, n) = (self.prev[e], self.next[e]);
            self.next[p] = e;
            if n != NONE {
                self.prev[n] = e;
            }
        }
    }

    fn run(mut self, key: Option<&Key>, values: &Values) -> Outcome {
        let head = self.head();
        let mut remaining = self.ops.iter().filter(|o| o.definite).count();
        let mut state = NULL;
        let mut linearized = Linearized::new(self.ops.len());
        let mut memo = Memo::default();
        let entry_bytes = (self.words * 8 + 64) as u64;
        let mut taken = 0u64;
        let mut stack: Vec<Frame> = Vec::new();
        let mut furthest: Option<Furthest> = None;
        let mut entry = self.next[head];
        let mut steps = 0u64;
        let outcome = loop {
            if remaining == 0 {
                // Every operation that surely happened is placed; the indefinite ones left
                // may never have happened.
                break Outcome::Valid;
            }
            steps += 1;
            if steps.is_multiple_of(4096) {
                if self.shared.exhausted.load(Ordering::Relaxed) {
                    break Outcome::Unknown("the budget ran out on another key".into());
                }
                if Instant::now() > self.shared.deadline {
                    self.shared.exhausted.store(true, Ordering::Relaxed);
                    break Outcome::Unknown(format!(
                        "time budget exhausted after {steps} search steps and {} remembered states",
                        memo.len
                    ));
                }
            }
            let op = entry / 2;
            let blocked = if entry == NONE {
                // Only returns of indefinite operations are left beyond here.
                true
            } else if entry.is_multiple_of(2) {
                let step = self.ops[op].step;
                let Some(after) = step.apply(state) else {
                    entry = self.next[entry];
                    continue;
                };
                // A read of the current value changes nothing: if any order works from here,
                // one that places it now works too, so it is placed now and never skipped.
                let forced = matches!(step, Step::Read(_));
                linearized.set(op);
                if memo.seen(&linearized, after) {
                    linearized.clear(op);
                    if !forced {
                        entry = self.next[entry];
                        continue;
                    }
                    // Placing it led nowhere before, so nothing from here leads anywhere.
                    true
                } else {
                    if !self.shared.take(entry_bytes) {
                        self.shared.exhausted.store(true, Ordering::Relaxed);
                        break Outcome::Unknown(format!(
                            "memory budget exhausted at {} remembered states",
                            memo.len
                        ));
                    }
                    taken += entry_bytes;
                    memo.insert(&linearized, after);
                    stack.push(Frame {
                        op,
                        before: state,
                        forced,
                    });
                    state = after;
                    if self.ops[op].definite {
                        remaining -= 1;
                    }
                    self.lift(op);
                    entry = self.next[head];
                    continue;
                }
            } else {
                // A return whose operation is not yet placed: this path cannot go on.
                if furthest.as_ref().is_none_or(|f| stack.len() > f.depth) {
                    furthest = Some(self.note(&stack, state, op));
                }
                true
            };
            debug_assert!(blocked);
            match self.back_out(&mut stack, &mut linearized, &mut state, &mut remaining) {
                Some(e) => entry = self.next[e],
                None => break self.invalid(key, values, furthest.take()),
            }
        };
        self.shared.give_back(taken);
        outcome
    }

    /// Undoes placements back to the last one that had an alternative; returns the call
    /// entry to continue after, or `None` when nothing is left to undo.
    fn back_out(
        &mut self,
        stack: &mut Vec<Frame>,
        linearized: &mut Linearized,
        state: &mut Val,
        remaining: &mut usize,
    ) -> Option<usize> {
        loop {
            let frame = stack.pop()?;
            *state = frame.before;
            linearized.clear(frame.op);
            if self.ops[frame.op].definite {
                *remaining += 1;
            }
            self.unlift(frame.op);
            if !frame.forced {
                return Some(2 * frame.op);
            }
        }
    }

    /// What the search knew where it got stuck: the operations that could have gone next.
    fn note(&self, stack: &[Frame], state: Val, stuck: usize) -> Furthest {
        let mut candidates = Vec::new();
        let mut e = self.next[self.head()];
        while e != NONE && e != 2 * stuck + 1 {
            if e.is_multiple_of(2) {
                candidates.push(e / 2);
            }
            e = self.next[e];
        }
        let recent = stack
            .iter()
            .rev()
            .take(3)
            .rev()
            .map(|frame| frame.op)
            .collect();
        Furthest {
            depth: stack.len(),
            state,
            stuck,
            candidates,
            recent,
        }
    }

    fn invalid(&self, key: Option<&Key>, values: &Values, furthest: Option<Furthest>) -> Outcome {
        let Some(f) = furthest else {
            return Outcome::Invalid(Evidence {
                key: key.map(ToString::to_string),
                message: "no operation can go first".into(),
                ops: Vec::new(),
            });
        };
        let stuck = self.ops[f.stuck].op;
        let mut ops: Vec<String> = f
            .recent
            .iter()
            .map(|&i| format!("placed: {}", self.ops[i].op.describe()))
            .collect();
        ops.extend(
            f.candidates
                .iter()
                .filter(|&&i| i != f.stuck)
                .map(|&i| format!("could go next: {}", self.ops[i].op.describe())),
        );
        ops.push(format!("must go by its completion: {}", stuck.describe()));
        let message = format!(
            "not linearizable: after {} operations the register holds {}; {} must take effect \
             before it completes, but neither it nor any operation concurrent with it can go next",
            f.depth,
            values.text(f.state),
            stuck.describe()
        );
        Outcome::Invalid(Evidence {
            key: key.map(ToString::to_string),
            message,
            ops,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{pair, parse};
    use std::time::Duration;

    fn verdict(text: &str) -> Verdict {
        let ops = pair(&parse(text.as_bytes()).unwrap()).unwrap();
        check(&ops, Budget::default()).unwrap()
    }

    fn lines(ops: &[(u64, &str, &str, &str)]) -> String {
        ops.iter()
            .map(|(p, t, f, v)| {
                format!("{{\"process\":{p},\"type\":\"{t}\",\"f\":\"{f}\",\"value\":{v}}}\n")
            })
            .collect()
    }

    #[test]
    fn a_read_of_a_concurrent_write_is_linearizable() {
        let h = lines(&[
            (0, "invoke", "write", "1"),
            (1, "invoke", "read", "null"),
            (1, "ok", "read", "1"),
            (0, "ok", "write", "1"),
            (1, "invoke", "read", "null"),
            (1, "ok", "read", "1"),
        ]);
        assert_eq!(verdict(&h).validity, Validity::Valid);
    }

    #[test]
    fn a_read_of_an_overwritten_value_is_not() {
        let h = lines(&[
            (0, "invoke", "write", "1"),
            (0, "ok", "write", "1"),
            (0, "invoke", "write", "2"),
            (0, "ok", "write", "2"),
            (1, "invoke", "read", "null"),
            (1, "ok", "read", "1"),
        ]);
        let v = verdict(&h);
        assert_eq!(v.validity, Validity::Invalid, "{v:?}");
        let e = &v.evidence[0];
        assert!(e.message.contains("holds 2"), "{}", e.message);
        assert!(e.ops.iter().any(|o| o.contains("read -> 1")), "{:?}", e.ops);
    }

    #[test]
    fn two_cas_from_one_value_cannot_both_win() {
        let h = lines(&[
            (0, "invoke", "write", "0"),
            (0, "ok", "write", "0"),
            (1, "invoke", "cas", "[0,1]"),
            (2, "invoke", "cas", "[0,2]"),
            (1, "ok", "cas", "[0,1]"),
            (2, "ok", "cas", "[0,2]"),
        ]);
        assert_eq!(verdict(&h).validity, Validity::Invalid);
    }

    #[test]
    fn failed_operations_did_not_happen_and_indefinite_ones_may_have() {
        let failed_then_read = lines(&[
            (0, "invoke", "write", "1"),
            (0, "fail", "write", "1"),
            (1, "invoke", "read", "null"),
            (1, "ok", "read", "1"),
        ]);
        assert_eq!(verdict(&failed_then_read).validity, Validity::Invalid);
        // An indefinite write that took effect later: seen by a read after its info.
        let took_effect_later = lines(&[
            (0, "invoke", "write", "1"),
            (0, "info", "write", "1"),
            (1, "invoke", "read", "null"),
            (1, "ok", "read", "null"),
            (1, "invoke", "read", "null"),
            (1, "ok", "read", "1"),
        ]);
        assert_eq!(verdict(&took_effect_later).validity, Validity::Valid);
        // An indefinite cas that never happened.
        let never = lines(&[
            (0, "invoke", "cas", "[5,6]"),
            (0, "info", "cas", "[5,6]"),
            (1, "invoke", "read", "null"),
            (1, "ok", "read", "null"),
        ]);
        assert_eq!(verdict(&never).validity, Validity::Valid);
    }

    #[test]
    fn keys_are_checked_apart_and_repeated_values_are_fine() {
        let h = r#"{"process":0,"type":"invoke","f":"write","key":"a","value":1}
{"process":0,"type":"ok","f":"write","key":"a","value":1}
{"process":1,"type":"invoke","f":"write","key":"b","value":1}
{"process":1,"type":"ok","f":"write","key":"b","value":1}
{"process":0,"type":"invoke","f":"write","key":"a","value":2}
{"process":0,"type":"ok","f":"write","key":"a","value":2}
{"process":0,"type":"invoke","f":"write","key":"a","value":1}
{"process":0,"type":"ok","f":"write","key":"a","value":1}
{"process":1,"type":"invoke","f":"read","key":"b"}
{"process":1,"type":"ok","f":"read","key":"b","value":1}
{"process":1,"type":"invoke","f":"read","key":"a"}
{"process":1,"type":"ok","f":"read","key":"a","value":1}
"#;
        let v = verdict(h);
        assert_eq!((v.validity, v.keys, v.ops), (Validity::Valid, 2, 6));
    }

    #[test]
    fn bad_values_name_their_line() {
        let ops = pair(
            &parse(lines(&[(0, "invoke", "cas", "3"), (0, "ok", "cas", "3")]).as_bytes()).unwrap(),
        )
        .unwrap();
        let e = check(&ops, Budget::default()).unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("[expected, new]"));
        let ops = pair(&parse(lines(&[(0, "invoke", "add", "3")]).as_bytes()).unwrap()).unwrap();
        assert!(
            check(&ops, Budget::default())
                .unwrap_err()
                .message
                .contains("not `add`")
        );
    }

    #[test]
    fn an_exhausted_budget_says_unknown_never_valid() {
        // Many concurrent indefinite writes, each value read once in turn, then the first
        // again: impossible, but the search must try subsets of the writes to know it.
        let mut h = String::new();
        for p in 1..=40 {
            h +=
                &format!("{{\"process\":{p},\"type\":\"invoke\",\"f\":\"write\",\"value\":{p}}}\n");
        }
        for p in 1..=40 {
            h += &format!("{{\"process\":{p},\"type\":\"info\",\"f\":\"write\",\"value\":{p}}}\n");
        }
        for v in (1..=40).chain([1]) {
            h += &lines(&[
                (99, "invoke", "read", "null"),
                (99, "ok", "read", &v.to_string()),
            ]);
        }
        let parsed = pair(&parse(h.as_bytes()).unwrap()).unwrap();
        let tiny = Budget {
            time: Duration::from_secs(5),
            memory_bytes: 64 * 1024,
        };
        let v = check(&parsed, tiny).unwrap();
        assert_eq!(v.validity, Validity::Unknown, "{v:?}");
        assert!(v.evidence[0].message.contains("budget exhausted"));
    }

    #[test]
    fn unobserved_indefinite_writes_do_not_blow_up_the_search() {
        // A crash leaves many writes indefinite; nobody reads their values. Without leaving
        // them out the search would try every subset of them.
        let mut ops = vec![(0, "invoke", "write", "0"), (0, "ok", "write", "0")];
        for p in 1..60 {
            ops.push((p, "invoke", "write", "1000"));
        }
        let mut text = lines(&ops);
        for p in 1..60 {
            text += &format!(
                "{{\"process\":{p},\"type\":\"info\",\"f\":\"write\",\"value\":{}}}\n",
                1000 + p
            );
        }
        text = text.replace("\"value\":1000}", "\"value\":\"x\"}");
        text += &lines(&[(99, "invoke", "read", "null"), (99, "ok", "read", "0")]);
        let parsed = pair(&parse(text.as_bytes()).unwrap()).unwrap();
        let tiny = Budget {
            time: Duration::from_secs(5),
            memory_bytes: 64 * 1024,
        };
        assert_eq!(check(&parsed, tiny).unwrap().validity, Validity::Valid);
    }
}
