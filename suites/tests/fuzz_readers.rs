//! Bad input never crashes the readers: the history reader (and the checkers behind it) and
//! the workload loader, fed random and mutated input. Every error names a line that exists.
//!
//! CI runs the default number of cases; a longer run: `PROPTEST_CASES=20000 cargo test -p
//! statebench-suites --release --test fuzz_readers`.

use proptest::prelude::*;
use statebench_suites::Workload;
use statebench_suites::check::{Budget, Model};
use statebench_suites::history::{self, BadLine};
use std::time::Duration;

const GOOD_HISTORY: &str = r#"{"index":0,"time":10,"process":0,"type":"invoke","f":"write","key":"a","value":1}
{"index":1,"time":20,"process":1,"type":"invoke","f":"cas","key":"a","value":[1,2]}
{"index":2,"time":30,"process":0,"type":"ok","f":"write","key":"a","value":1}
{"index":3,"time":40,"process":1,"type":"fail","f":"cas","key":"a","value":[1,2]}
{"index":4,"time":50,"process":"nemesis","type":"info","f":"kill","value":"redis"}
{"index":5,"time":60,"process":2,"type":"invoke","f":"append","key":"s","value":[-1,"e"]}
{"index":6,"time":70,"process":2,"type":"ok","f":"append","key":"s","value":0}
{"index":7,"time":80,"process":3,"type":"invoke","f":"add","key":"c","value":5}
{"index":8,"time":90,"process":3,"type":"info","f":"add","key":"c","value":5}
{"index":9,"time":95,"process":1,"type":"invoke","f":"read","key":"s"}
{"index":10,"time":99,"process":1,"type":"ok","f":"read","key":"s","value":[[0,"e"]]}
"#;

const GOOD_WORKLOAD: &str = "name: fuzz\ndescription: x\nkeys:\n  count: 100\n  distribution: zipfian\n  theta: 0.9\nmix:\n  read: 5\n  command: 5\nvalue_size: 64\nwarmup: {duration: 1s}\nmeasure: {ops: 100}\nopen: {rates: [100], arrivals: poisson, max_in_flight: 4}\nclosed: {concurrency: [1, 2]}\nmax_retries: 3\nseed: 4\n";

fn lines_in(text: &[u8]) -> usize {
    text.split(|b| *b == b'\n').count()
}

fn tiny_budget() -> Budget {
    Budget {
        time: Duration::from_millis(200),
        memory_bytes: 1 << 20,
    }
}

/// Reads, pairs and checks `text` under every model; any error must name a real line.
fn read_and_check(text: &[u8]) {
    let lines = lines_in(text);
    let in_range = |e: &BadLine| assert!(e.line <= lines, "line {} of {lines}: {e}", e.line);
    let entries = match history::parse(text) {
        Ok(entries) => entries,
        Err(e) => return in_range(&e),
    };
    let ops = match history::pair(&entries) {
        Ok(ops) => ops,
        Err(e) => return in_range(&e),
    };
    for (model, _) in Model::ALL {
        if let Err(e) = model.check(&ops, tiny_budget()) {
            in_range(&e);
        }
    }
}

/// A mutation of a text: delete, insert or replace a byte, or swap two lines.
#[derive(Clone, Debug)]
enum Mutation {
    Delete(usize),
    Insert(usize, u8),
    Replace(usize, u8),
    SwapLines(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (
            any::<usize>(),
            prop::sample::select(b"{}[]\",:0123456789-nulltrue \n\xff".to_vec())
        )
            .prop_map(|(i, b)| Mutation::Replace(i, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for m in mutations {
        let n = bytes.len().max(1);
        match *m {
            Mutation::Delete(i) => {
                if !bytes.is_empty() {
                    bytes.remove(i % n);
                }
            }
            Mutation::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Mutation::Replace(i, b) => {
                if !bytes.is_empty() {
                    bytes[i % n] = b;
                }
            }
            Mutation::SwapLines(a, b) => {
                let mut lines: Vec<Vec<u8>> =
                    bytes.split(|c| *c == b'\n').map(<[u8]>::to_vec).collect();
                let len = lines.len();
                lines.swap(a % len, b % len);
                bytes = lines.join(&b'\n');
            }
            Mutation::Truncate(i) => bytes.truncate(i % n),
        }
    }
    bytes
}

/// A syntactically valid entry with random fields, so that the pairing and the models see
/// every combination of types, functions and values.
fn entry() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        Just("null".to_owned()),
        (-3i64..5).prop_map(|n| n.to_string()),
        Just("\"x\"".to_owned()),
        (-2i64..4, 0u8..3).prop_map(|(e, n)| format!("[{e},{n}]")),
        Just("[null,\"e\"]".to_owned()),
        Just("[[0,\"e\"],[1,\"f\"]]".to_owned()),
        Just("[[0]]".to_owned()),
        Just("{\"a\":1}".to_owned()),
        Just("1e400".to_owned()),
    ];
    (
        0u8..4,
        prop::sample::select(vec!["invoke", "ok", "fail", "info"]),
        prop::sample::select(vec!["read", "write", "cas", "add", "append", "kill"]),
        prop::option::of(prop::sample::select(vec!["\"a\"", "\"b\"", "7"])),
        value,
        prop::option::of(0u64..50),
    )
        .prop_map(|(p, t, f, key, value, time)| {
            let process = if p == 3 { "\"nemesis\"".to_owned() } else { p.to_string() };
            let key = key.map(|k| format!(",\"key\":{k}")).unwrap_or_default();
            let time = time.map(|t| format!(",\"time\":{t}")).unwrap_or_default();
            format!("{{\"process\":{process},\"type\":\"{t}\",\"f\":\"{f}\",\"value\":{value}{key}{time}}}")
        })
}

proptest! {
    #[test]
    fn random_bytes_never_crash_the_history_reader(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        read_and_check(&bytes);
    }

    #[test]
    fn mutated_histories_never_crash_and_errors_name_real_lines(mutations in prop::collection::vec(mutation(), 1..6)) {
        read_and_check(&mutate(GOOD_HISTORY, &mutations));
    }

    #[test]
    fn random_entries_never_crash_the_pairing_or_the_checkers(entries in prop::collection::vec(entry(), 1..40)) {
        read_and_check(entries.join("\n").as_bytes());
    }

    #[test]
    fn mutated_workloads_never_crash_and_errors_name_real_lines(mutations in prop::collection::vec(mutation(), 1..6)) {
        let bytes = mutate(GOOD_WORKLOAD, &mutations);
        let lines = lines_in(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = Workload::parse("fuzz.yaml", &text) {
            prop_assert!(e.line.is_none_or(|l| l >= 1 && l <= lines + 1), "{e}");
            prop_assert!(e.to_string().starts_with("fuzz.yaml"), "{e}");
        }
    }

    #[test]
    fn random_text_never_crashes_the_workload_loader(text in "[a-z_:{}\\[\\], \\n0-9.-]{0,300}") {
        let _ = Workload::parse("fuzz.yaml", &text);
    }
}

#[test]
fn the_good_inputs_are_good() {
    let entries = history::parse(GOOD_HISTORY.as_bytes()).unwrap();
    assert!(history::pair(&entries).is_ok());
    assert!(Workload::parse("w.yaml", GOOD_WORKLOAD).is_ok());
}
