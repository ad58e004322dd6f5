//! The linearizability checker against a brute force. Small random histories of a
//! compare-and-set register (one to three processes, up to eight operations on one or two
//! keys, values that repeat, every end: ok, fail, info, never completed) are checked by
//! `register::check` and by an oracle that tries every subset of the indefinite operations
//! in every order real time allows. The two must agree on every history.
//!
//! The oracle knows nothing of the checker's shortcuts (forced reads, unobserved indefinite
//! writes left out, memoisation, the search per key): it simulates the registers from null.
//!
//! CI runs 5,000 cases; a longer run: `PROPTEST_CASES=200000 cargo test -p statebench-suites
//! --release --test linearizability_oracle`. A deeper one raises `PROCESSES`, `KEYS` and
//! `OPS` below (4, 3 and 11 are still quick for the brute force).

#[path = "support/interleave.rs"]
mod interleave;

use interleave::{End, Layout, cases, line};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use statebench_suites::check::{Budget, Model, Validity, overall};
use statebench_suites::history::{pair, parse};

// Histories are small enough for the brute force, large enough for every shortcut of the
// checker to matter.
/// At most this many processes in a history.
const PROCESSES: usize = 3;
/// At most this many keys.
const KEYS: usize = 2;
/// At most this many operations.
const OPS: usize = 8;

/// A register's value: `None` is null, the initial value.
type Val = Option<u8>;

/// What an operation asks of the register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Read,
    Write(Val),
    Cas(Val, Val),
}

/// One operation of a generated history.
#[derive(Clone, Debug)]
struct Operation {
    process: usize,
    key: usize,
    call: Call,
    end: End,
    /// What an ok read returned.
    read: Val,
}

/// How a history's values are chosen.
#[derive(Clone, Copy, Debug)]
enum Values {
    /// At random: mostly not linearizable.
    Random,
    /// By running the operations on a register, each at an instant inside its interval:
    /// always linearizable.
    Simulated,
    /// Simulated, then one value or outcome changed: often not linearizable, barely.
    Mutated,
}

/// A generated history.
#[derive(Clone, Debug)]
struct History {
    ops: Vec<Operation>,
    layout: Layout,
    keyed: bool,
    /// Lines carry `time` and are written out of order (sorted by these keys).
    shuffled: Option<Vec<u32>>,
}

fn value() -> impl Strategy<Value = Val> {
    prop_oneof![1 => Just(None), 4 => (1u8..=3).prop_map(Some)]
}

fn call() -> impl Strategy<Value = Call> {
    prop_oneof![
        Just(Call::Read),
        value().prop_map(Call::Write),
        (value(), value()).prop_map(|(e, n)| Call::Cas(e, n)),
    ]
}

/// An operation's draw: process, key, call, end, value read, when it takes effect, and
/// whether an indefinite one does.
type Draw = (usize, usize, Call, End, Val, u8, bool);

fn history() -> impl Strategy<Value = History> {
    let draw = (
        0..PROCESSES,
        0..KEYS,
        call(),
        End::strategy(),
        value(),
        any::<u8>(),
        any::<bool>(),
    );
    (
        1..=PROCESSES,
        1..=KEYS,
        prop::collection::vec(draw, 1..=OPS),
        prop::collection::vec(any::<usize>(), 2 * OPS),
        prop_oneof![
            Just(Values::Random),
            Just(Values::Simulated),
            Just(Values::Mutated)
        ],
        (any::<usize>(), value()),
        prop::option::weighted(0.25, prop::collection::vec(any::<u32>(), 2 * OPS)),
    )
        .prop_map(
            |(processes, keys, draws, picks, values, mutation, shuffled)| {
                build(processes, keys, &draws, &picks, values, mutation, shuffled)
            },
        )
}

fn build(
    processes: usize,
    keys: usize,
    draws: &[Draw],
    picks: &[usize],
    values: Values,
    (at, new): (usize, Val),
    shuffled: Option<Vec<u32>>,
) -> History {
    let mut ops: Vec<Operation> = draws
        .iter()
        .map(|&(p, k, call, end, read, _, _)| Operation {
            process: p % processes,
            key: k % keys,
            call,
            end,
            read,
        })
        .collect();
    let process: Vec<usize> = ops.iter().map(|o| o.process).collect();
    let ends: Vec<End> = ops.iter().map(|o| o.end).collect();
    let layout = Layout::new(&process, &ends, picks);
    for (op, end) in ops.iter_mut().zip(layout.ends()) {
        op.end = *end;
    }
    if !matches!(values, Values::Random) {
        let effects: Vec<(u8, bool)> = draws.iter().map(|d| (d.5, d.6)).collect();
        simulate(&mut ops, &layout, &effects);
    }
    if matches!(values, Values::Mutated) {
        // An ok read, or a write or cas that completed, where there is one: changing
        // anything else is often harmless.
        let telling: Vec<usize> = (0..ops.len())
            .filter(|&i| ops[i].end == End::Ok || !matches!(ops[i].call, Call::Read))
            .filter(|&i| !ops[i].end.indefinite())
            .collect();
        let i = telling.get(at % telling.len().max(1)).copied();
        let i = i.unwrap_or(at % ops.len());
        mutate(&mut ops[i], new);
    }
    History {
        ops,
        layout,
        keyed: keys > 1,
        shuffled,
    }
}

/// Runs the operations on registers, each at an instant inside its interval (an indefinite
/// one only if `effects` says it happens): reads return what they find, a completed cas is
/// ok when it finds its expected value and fails otherwise, a failed write never happens.
fn simulate(ops: &mut [Operation], layout: &Layout, effects: &[(u8, bool)]) {
    let mut registers: [Val; KEYS] = [None; KEYS];
    for i in layout.effect_order(effects) {
        let op = &mut ops[i];
        let state = &mut registers[op.key];
        match op.call {
            Call::Read => op.read = *state,
            Call::Write(_) if op.end == End::Fail => {}
            Call::Write(v) => *state = v,
            Call::Cas(expected, new) => {
                let found = *state == expected;
                if !op.end.indefinite() {
                    op.end = if found { End::Ok } else { End::Fail };
                }
                if found {
                    *state = new;
                }
            }
        }
    }
}

/// Changes one thing: a value read, a cas's outcome, a value written.
fn mutate(op: &mut Operation, new: Val) {
    let other = |old: Val| {
        if new == old {
            old.map_or(Some(1), |_| None)
        } else {
            new
        }
    };
    match (op.call, op.end) {
        (Call::Read, _) => op.read = other(op.read),
        (Call::Cas(..), End::Ok) => op.end = End::Fail,
        (Call::Cas(..), End::Fail) => op.end = End::Ok,
        (Call::Cas(e, n), _) => op.call = Call::Cas(other(e), n),
        (Call::Write(v), _) => op.call = Call::Write(other(v)),
    }
}

fn json(v: Val) -> String {
    v.map_or("null".to_owned(), |v| v.to_string())
}

/// The history as JSON Lines.
fn render(h: &History) -> String {
    let mut lines: Vec<String> = h
        .layout
        .lines
        .iter()
        .enumerate()
        .map(|(position, &(i, invoke))| {
            let op = &h.ops[i];
            let (f, argument) = match op.call {
                Call::Read => ("read", "null".to_owned()),
                Call::Write(v) => ("write", json(v)),
                Call::Cas(e, n) => ("cas", format!("[{},{}]", json(e), json(n))),
            };
            let value = match (op.call, op.end, invoke) {
                (Call::Read, End::Ok, false) => json(op.read),
                _ => argument,
            };
            let key = h.keyed.then(|| format!("k{}", op.key));
            let text = line(op.process, op.end.kind(invoke), f, key, &value);
            match &h.shuffled {
                Some(_) => format!("{},\"time\":{}}}", &text[..text.len() - 1], 10 * position),
                None => text,
            }
        })
        .collect();
    if let Some(keys) = &h.shuffled {
        let mut order: Vec<usize> = (0..lines.len()).collect();
        order.sort_by_key(|&i| (keys[i % keys.len()], i));
        lines = order.into_iter().map(|i| lines[i].clone()).collect();
    }
    lines.join("\n") + "\n"
}

/// The brute force: some subset of the indefinite writes and cas, with every operation that
/// surely happened, in some order real time allows, takes the registers from null through
/// every ok read and ok cas.
fn linearizable(h: &History) -> bool {
    let counted = |op: &Operation| match (op.call, op.end) {
        (_, End::Fail) => false,
        (Call::Read, end) => !end.indefinite(),
        _ => true,
    };
    let ops: Vec<usize> = (0..h.ops.len()).filter(|&i| counted(&h.ops[i])).collect();
    let (indefinite, definite): (Vec<usize>, Vec<usize>) =
        ops.into_iter().partition(|&i| h.ops[i].end.indefinite());
    (0u32..1 << indefinite.len()).any(|subset| {
        let mut chosen = definite.clone();
        chosen.extend(
            (0..indefinite.len())
                .filter(|b| subset & (1 << b) != 0)
                .map(|b| indefinite[b]),
        );
        some_order(h, &chosen, &mut vec![false; chosen.len()], [None; KEYS])
    })
}

/// Whether the operations of `chosen` not yet `placed` go in some order from `registers`.
fn some_order(h: &History, chosen: &[usize], placed: &mut [bool], registers: [Val; KEYS]) -> bool {
    if placed.iter().all(|&p| p) {
        return true;
    }
    (0..chosen.len()).any(|a| {
        let waits =
            (0..chosen.len()).any(|b| !placed[b] && h.layout.precedes(chosen[b], chosen[a]));
        if placed[a] || waits {
            return false;
        }
        let op = &h.ops[chosen[a]];
        let mut after = registers;
        let state = &mut after[op.key];
        let possible = match op.call {
            Call::Read => *state == op.read,
            Call::Write(v) => {
                *state = v;
                true
            }
            Call::Cas(expected, new) => {
                let found = *state == expected;
                *state = new;
                found
            }
        };
        if !possible {
            return false;
        }
        placed[a] = true;
        let rest = some_order(h, chosen, placed, after);
        placed[a] = false;
        rest
    })
}

/// The checker's verdict on `text`.
fn checked(text: &str) -> Validity {
    let ops = pair(&parse(text.as_bytes()).expect("parses")).expect("pairs");
    let verdicts = Model::CasRegister
        .check(&ops, Budget::default())
        .expect("well formed");
    overall(&verdicts)
}

proptest! {
    #![proptest_config(Config { cases: cases(5_000), ..Config::default() })]

    #[test]
    fn the_checker_agrees_with_the_brute_force(h in history()) {
        let text = render(&h);
        let want = if linearizable(&h) { Validity::Valid } else { Validity::Invalid };
        prop_assert_eq!(checked(&text), want, "history:\n{}", text);
    }
}

#[test]
fn the_generated_histories_are_both_valid_and_invalid_often() {
    let mut runner = TestRunner::deterministic();
    let strategy = history();
    let mut valid = 0;
    let draws = 600;
    for _ in 0..draws {
        let h = strategy.new_tree(&mut runner).expect("draws").current();
        valid += usize::from(linearizable(&h));
    }
    assert!(
        (draws / 4..=3 * draws / 4).contains(&valid),
        "{valid} of {draws} linearizable"
    );
}

/// A history from `(process, type, f, value)` lines, one register, real time in line order.
fn lines(entries: &[(usize, &str, &str, &str)]) -> String {
    let lines: Vec<String> = entries
        .iter()
        .map(|&(p, kind, f, value)| line(p, kind, f, None, value))
        .collect();
    lines.join("\n") + "\n"
}

/// The smallest histories that told unsound variants of the checker's shortcuts from the
/// brute force (each variant was tried and caught); kept so that they stay told apart.
#[test]
fn the_shortcuts_hold_at_their_edges() {
    let cases = [
        (
            "an indefinite write that a read sees is not left out, even of null",
            lines(&[
                (0, "invoke", "write", "1"),
                (0, "ok", "write", "1"),
                (0, "invoke", "write", "null"),
                (0, "info", "write", "null"),
                (0, "invoke", "read", "null"),
                (0, "ok", "read", "null"),
            ]),
            Validity::Valid,
        ),
        (
            "an indefinite write whose value a cas expects is not left out",
            lines(&[
                (0, "invoke", "write", "1"),
                (0, "ok", "write", "1"),
                (0, "invoke", "write", "null"),
                (0, "info", "write", "null"),
                (0, "invoke", "cas", "[null,null]"),
                (0, "ok", "cas", "[null,null]"),
            ]),
            Validity::Valid,
        ),
        (
            "an indefinite write that nobody sees cannot bring back an old value",
            lines(&[
                (0, "invoke", "write", "1"),
                (0, "ok", "write", "1"),
                (1, "invoke", "write", "2"),
                (1, "info", "write", "2"),
                (0, "invoke", "write", "3"),
                (0, "ok", "write", "3"),
                (0, "invoke", "read", "null"),
                (0, "ok", "read", "1"),
            ]),
            Validity::Invalid,
        ),
        (
            "a write is not placed as soon as it can be: the one concurrent with the rest goes last",
            lines(&[
                (0, "invoke", "cas", "[null,2]"),
                (0, "info", "cas", "[null,2]"),
                (0, "invoke", "write", "null"),
                (1, "invoke", "write", "1"),
                (0, "ok", "write", "null"),
                (0, "invoke", "read", "null"),
                (0, "ok", "read", "null"),
                (0, "invoke", "read", "null"),
                (0, "ok", "read", "2"),
                (1, "ok", "write", "1"),
            ]),
            Validity::Valid,
        ),
        (
            "a cas is not placed as soon as it can be: a later one from the same value goes first",
            lines(&[
                (0, "invoke", "write", "1"),
                (2, "invoke", "cas", "[1,null]"),
                (0, "ok", "write", "1"),
                (0, "invoke", "cas", "[1,1]"),
                (0, "ok", "cas", "[1,1]"),
                (2, "ok", "cas", "[1,null]"),
            ]),
            Validity::Valid,
        ),
        (
            "indefinite operations may never happen",
            lines(&[
                (0, "invoke", "write", "1"),
                (0, "info", "write", "1"),
                (0, "invoke", "write", "null"),
                (0, "ok", "write", "null"),
                (0, "invoke", "cas", "[1,null]"),
                (0, "info", "cas", "[1,null]"),
            ]),
            Validity::Valid,
        ),
    ];
    for (what, text, want) in cases {
        assert_eq!(checked(&text), want, "{what}:\n{text}");
    }
}
