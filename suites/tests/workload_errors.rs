//! A bad workload file gets an error naming the file, the line and the field; never a panic.

use statebench_suites::Workload;
use std::io::Write;

fn load(text: &str) -> (String, String) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    let path = file.path().display().to_string();
    let error = Workload::from_file(file.path()).expect_err("the workload is bad");
    (path, error.to_string())
}

const GOOD: &str =
    "name: t\nkeys:\n  count: 100\n  distribution: zipfian\n  theta: 0.9\nmix:\n  read: 1\n";

#[test]
fn a_good_file_loads_with_defaults_filled_in() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(GOOD.as_bytes()).unwrap();
    let w = Workload::from_file(file.path()).unwrap();
    assert_eq!((w.keys.count, w.value_size, w.max_retries), (100, 128, 20));
}

#[test]
fn each_kind_of_mistake_names_file_line_and_field() {
    let cases = [
        (
            GOOD.replace("theta: 0.9", "theta: -2"),
            ":5: field `keys.theta`",
            "above 0",
        ),
        (
            GOOD.replace("count: 100", "count: lots"),
            ":3: field `keys.count`",
            "invalid type",
        ),
        (
            GOOD.replace("  read: 1", "  reed: 1"),
            ":7: field `mix.reed`",
            "unknown field",
        ),
        (
            GOOD.replace("  read: 1", "  read: 0"),
            ":6: field `mix`",
            "every weight is zero",
        ),
        (
            GOOD.replace("zipfian", "normal"),
            ":4: field `keys.distribution`",
            "unknown variant",
        ),
        (
            format!("{GOOD}measure:\n  duration: soon\n"),
            ":9: field `measure.duration`",
            "invalid duration",
        ),
        (
            format!("{GOOD}measure:\n  duration: 0s\n"),
            ":9: field `measure.duration`",
            "above zero",
        ),
        (
            format!("{GOOD}open:\n  rates: [100, -5]\n"),
            ":9: field `open.rates[1]`",
            "above 0",
        ),
        (
            format!("{GOOD}closed:\n  concurrency: [0]\n"),
            ":9: field `closed.concurrency[0]`",
            "1 to",
        ),
        (
            format!("{GOOD}snapshot_every: 0\n"),
            ":8: field `snapshot_every`",
            "at least 1",
        ),
        ("name: [unclosed\n".to_owned(), ":1", "name"),
        ("- just\n- a list\n".to_owned(), ":1", "invalid type"),
        (String::new(), "", "missing field"),
    ];
    for (text, place, message) in cases {
        let (path, error) = load(&text);
        assert!(
            error.starts_with(&format!("{path}{place}")),
            "`{error}` should start with `{path}{place}`"
        );
        assert!(error.contains(message), "`{error}` should say `{message}`");
        assert!(!error.contains('\n'), "`{error}` is one line");
        assert!(
            !error.contains(": mix:") && !error.contains(": keys:"),
            "`{error}` says it once"
        );
    }
}

#[test]
fn an_unknown_name_lists_the_built_in_workloads() {
    let error = Workload::resolve("no-such-workload")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("read-heavy") && error.contains("event-sourced"),
        "{error}"
    );
}

#[test]
fn a_file_cut_off_mid_key_names_its_last_line_not_one_past_it() {
    // Found by the fuzzer: the YAML parser pointed two lines past the end of this text.
    let text = "name: fuzz\ndescription: x\nkeys:\n  count: 100\n  distributio";
    let error = statebench_suites::Workload::parse("cut.yaml", text).unwrap_err();
    assert_eq!(error.line, Some(5), "{error}");
}
