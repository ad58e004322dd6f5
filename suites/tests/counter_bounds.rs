//! The counter checker's bounds are sound and still tell. Histories made by running adds on
//! a counter, each at an instant inside its interval (an indefinite one perhaps never),
//! with reads returning what they find, are always valid; a final read pushed below (or
//! above) everything the adds in doubt could explain is always caught.
//!
//! CI runs 5,000 cases; a longer run: `PROPTEST_CASES=200000 cargo test -p statebench-suites
//! --release --test counter_bounds`.

#[path = "support/interleave.rs"]
mod interleave;

use interleave::{End, Layout, cases, line};
use proptest::prelude::*;
use proptest::test_runner::Config;
use statebench_suites::check::{Model, Validity, Verdict};
use statebench_suites::history::{pair, parse};

/// One operation: an add of a delta, or a read (`None`).
#[derive(Clone, Debug)]
struct Operation {
    process: usize,
    add: Option<i64>,
    end: End,
    /// What an ok read returned.
    read: i64,
}

/// A history whose last operation is an ok read that begins after every other line.
#[derive(Clone, Debug)]
struct History {
    ops: Vec<Operation>,
    layout: Layout,
}

impl History {
    fn final_read(&mut self) -> &mut i64 {
        let last = self.ops.len() - 1;
        &mut self.ops[last].read
    }

    /// The sum of the absolute deltas of the adds that may or may not have happened.
    fn in_doubt(&self) -> i64 {
        self.ops
            .iter()
            .filter(|o| o.end.indefinite())
            .filter_map(|o| o.add)
            .map(i64::abs)
            .sum()
    }
}

/// An operation's draw: process, add or read, end, when it takes effect, and whether an
/// indefinite one does.
type Draw = (usize, Option<i64>, End, u8, bool);

fn history() -> impl Strategy<Value = History> {
    let draw = (
        0usize..3,
        prop::option::weighted(0.6, -3i64..=5),
        End::strategy(),
        any::<u8>(),
        any::<bool>(),
    );
    (
        1usize..=3,
        prop::collection::vec(draw, 1..=8),
        prop::collection::vec(any::<usize>(), 16),
        any::<u8>(),
    )
        .prop_map(|(processes, draws, picks, last)| build(processes, &draws, &picks, last))
}

fn build(processes: usize, draws: &[Draw], picks: &[usize], last: u8) -> History {
    let mut ops: Vec<Operation> = draws
        .iter()
        .map(|&(p, add, end, _, _)| Operation {
            process: p % processes,
            add,
            end,
            read: 0,
        })
        .collect();
    let process: Vec<usize> = ops.iter().map(|o| o.process).collect();
    let ends: Vec<End> = ops.iter().map(|o| o.end).collect();
    let mut layout = Layout::new(&process, &ends, picks);
    for (op, end) in ops.iter_mut().zip(layout.ends()) {
        op.end = *end;
    }
    layout.append(End::Ok);
    ops.push(Operation {
        process: processes,
        add: None,
        end: End::Ok,
        read: 0,
    });
    let mut effects: Vec<(u8, bool)> = draws.iter().map(|d| (d.3, d.4)).collect();
    effects.push((last, true));
    simulate(&mut ops, &layout, &effects);
    History { ops, layout }
}

/// Runs the adds on a counter from 0, each at an instant inside its interval (an indefinite
/// one only if `effects` says it happens, a failed one never); reads return what they find.
fn simulate(ops: &mut [Operation], layout: &Layout, effects: &[(u8, bool)]) {
    let mut counter = 0;
    for i in layout.effect_order(effects) {
        let op = &mut ops[i];
        match op.add {
            None => op.read = counter,
            Some(_) if op.end == End::Fail => {}
            Some(delta) => counter += delta,
        }
    }
}

/// The history as JSON Lines.
fn render(h: &History) -> String {
    let lines: Vec<String> = h
        .layout
        .lines
        .iter()
        .map(|&(i, invoke)| {
            let op = &h.ops[i];
            let (f, value) = match (op.add, op.end, invoke) {
                (Some(delta), _, _) => ("add", delta.to_string()),
                (None, End::Ok, false) => ("read", op.read.to_string()),
                (None, _, _) => ("read", "null".to_owned()),
            };
            line(op.process, op.end.kind(invoke), f, None, &value)
        })
        .collect();
    lines.join("\n") + "\n"
}

fn checked(text: &str) -> Verdict {
    let ops = pair(&parse(text.as_bytes()).expect("parses")).expect("pairs");
    let mut verdicts = Model::Counter
        .check(&ops, statebench_suites::check::Budget::default())
        .expect("well formed");
    verdicts.pop().expect("one verdict")
}

proptest! {
    #![proptest_config(Config { cases: cases(5_000), ..Config::default() })]

    #[test]
    fn a_history_of_real_adds_is_always_valid(h in history()) {
        let text = render(&h);
        let v = checked(&text);
        prop_assert_eq!(v.validity, Validity::Valid, "{:?}\nhistory:\n{}", v, text);
    }

    #[test]
    fn a_final_read_beyond_every_add_in_doubt_is_caught(h in history(), up in any::<bool>()) {
        let mut h = h;
        let beyond = h.in_doubt() + 1;
        *h.final_read() += if up { beyond } else { -beyond };
        let text = render(&h);
        let v = checked(&text);
        prop_assert_eq!((v.validity, v.violations), (Validity::Invalid, 1), "{:?}\nhistory:\n{}", v, text);
        let says = if up { "nobody made" } else { "lost updates" };
        prop_assert!(v.evidence[0].message.contains(says), "{:?}", v.evidence);
    }
}
