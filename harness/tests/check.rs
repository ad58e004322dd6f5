//! `statebench check` on hand-written histories with known verdicts, and on bad input.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn statebench() -> Command {
    Command::cargo_bin("statebench").expect("the binary is built")
}

fn histories() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/histories");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/histories exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
}

/// `MODEL.VERDICT.what-it-shows.jsonl`
fn expectation(file: &Path) -> (String, String) {
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    let mut parts = name.splitn(3, '.');
    let model = parts.next().unwrap().to_owned();
    let verdict = parts.next().unwrap().to_owned();
    (model, verdict)
}

#[test]
fn every_known_answer_history_gets_its_verdict_and_exit_code() {
    let files = histories();
    assert!(files.len() >= 10, "{} histories", files.len());
    for file in files {
        let (model, verdict) = expectation(&file);
        let output = statebench()
            .args(["check", "--model", &model])
            .arg(&file)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let code = match verdict.as_str() {
            "valid" => 0,
            "invalid" => 3,
            "unknown" => 4,
            other => panic!("{}: unknown expectation {other}", file.display()),
        };
        assert_eq!(
            output.status.code(),
            Some(code),
            "{}:\n{stdout}{}",
            file.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        let shown = match verdict.as_str() {
            "valid" => ": valid:",
            "invalid" => ": INVALID:",
            _ => ": UNKNOWN:",
        };
        assert!(stdout.contains(shown), "{}:\n{stdout}", file.display());
        if verdict == "invalid" {
            assert!(
                stdout.contains("lines "),
                "evidence names the lines:\n{stdout}"
            );
        }
    }
}

#[test]
fn json_output_carries_the_verdicts_and_their_evidence() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/histories/cas-register.invalid.stale-read.jsonl");
    let output = statebench()
        .args(["check", "--json", "--model", "cas-register"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let verdicts: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(verdicts[0]["check"], "linearizable");
    assert_eq!(verdicts[0]["validity"], "invalid");
    let ops = verdicts[0]["evidence"][0]["ops"].as_array().unwrap();
    assert!(
        ops.iter()
            .any(|o| o.as_str().unwrap().contains("read -> \"v1\"")),
        "{ops:?}"
    );
}

#[test]
fn histories_come_from_standard_input_too() {
    statebench()
        .args(["check", "--model", "counter", "-"])
        .write_stdin(
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"add\",\"value\":2}\n\
             {\"process\":0,\"type\":\"ok\",\"f\":\"add\",\"value\":2}\n\
             {\"process\":1,\"type\":\"invoke\",\"f\":\"read\"}\n\
             {\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":2}\n",
        )
        .assert()
        .code(0);
}

#[test]
fn an_exhausted_budget_exits_4_never_0() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("hard.jsonl");
    // Indefinite writes of 1 to 40, each value read once in turn, then 1 again.
    let mut text = String::new();
    for p in 1..=40 {
        text += &format!("{{\"process\":{p},\"type\":\"invoke\",\"f\":\"write\",\"value\":{p}}}\n");
    }
    for p in 1..=40 {
        text += &format!("{{\"process\":{p},\"type\":\"info\",\"f\":\"write\",\"value\":{p}}}\n");
    }
    for v in (1..=40).chain([1]) {
        text += &format!(
            "{{\"process\":99,\"type\":\"invoke\",\"f\":\"read\"}}\n{{\"process\":99,\"type\":\"ok\",\"f\":\"read\",\"value\":{v}}}\n"
        );
    }
    std::fs::write(&file, text).unwrap();
    let output = statebench()
        .args([
            "check",
            "--model",
            "cas-register",
            "--memory-limit",
            "1",
            "--time-limit",
            "20",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(4), "{stdout}");
    assert!(stdout.contains("budget exhausted"), "{stdout}");
}

#[test]
fn bad_input_exits_1_with_the_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            "cas-register",
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n{oops\n",
            ":2: not a JSON object",
        ),
        (
            "cas-register",
            "{\"process\":0,\"type\":\"ok\",\"f\":\"read\"}\n",
            ":1: `ok` of process 0 has no invoke",
        ),
        (
            "cas-register",
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"cas\",\"value\":5}\n",
            ":1: cas needs the value [expected, new]",
        ),
        (
            "counter",
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"add\",\"value\":\"x\"}\n",
            ":1: an add's value must be a whole number",
        ),
        (
            "stream",
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"append\",\"value\":3}\n",
            ":1: an append needs the value",
        ),
        ("stream", "", " the history holds no entries"),
    ];
    for (i, (model, text, says)) in cases.iter().enumerate() {
        let file = tmp.path().join(format!("bad-{i}.jsonl"));
        std::fs::write(&file, text).unwrap();
        let output = statebench()
            .args(["check", "--model", model])
            .arg(&file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(says) && stderr.contains(&format!("bad-{i}.jsonl")),
            "`{stderr}` should say `{says}`"
        );
    }
    let unknown = statebench()
        .args(["check", "--model", "queue", "x.jsonl"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&unknown.stderr)
            .contains("unknown model `queue` (known: cas-register, counter, stream)")
    );
    let missing = statebench()
        .args(["check", "--model", "stream", "/nonexistent/h.jsonl"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot open /nonexistent/h.jsonl"));
}
