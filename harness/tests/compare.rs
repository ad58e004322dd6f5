//! `statebench compare`: exit codes, Markdown and JSON, on runs made from one real memory
//! run whose trials are repeated with fixed multipliers.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Fixed multipliers in [−1, 1], two orders: deterministic noise.
const WIGGLE: [[f64; 10]; 2] = [
    [0.3, -0.8, 0.5, -0.1, 0.9, -0.6, 0.2, -0.4, 0.7, -1.0],
    [-0.5, 0.1, 0.8, -0.9, 0.4, -0.2, 1.0, -0.7, 0.0, 0.6],
];

/// One short real run through the memory adapter, kept for the whole test binary.
fn real() -> &'static (tempfile::TempDir, Value) {
    static RUN: std::sync::OnceLock<(tempfile::TempDir, Value)> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let out = Command::cargo_bin("statebench")
            .unwrap()
            .args([
                "run",
                "--adapters",
                "memory",
                "--suites",
                "conformance,throughput",
            ])
            .args(["--duration", "0.2"])
            .arg("--out")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(dir.join("results.json")).unwrap();
        (tmp, serde_json::from_str(&text).unwrap())
    })
}

/// The real run with every trial repeated `n` times, goodput times `speed` and latencies
/// divided by it, each round scaled by 1 + `noise`·WIGGLE[`order`][round].
fn repeated(n: usize, speed: f64, noise: f64, order: usize) -> Value {
    let mut run = real().1.clone();
    let trials = run["trials"].as_array().unwrap().clone();
    let mut rounds = Vec::new();
    for t in &trials {
        for i in 0..n {
            let k = speed * (1.0 + noise * WIGGLE[order][i % 10]);
            let mut r = t.clone();
            r["id"] = format!("{}-{i}", t["id"].as_str().unwrap()).into();
            r["round"] = i.into();
            let m = &mut r["measured"];
            m["ok_per_s"] = (m["ok_per_s"].as_f64().unwrap() * k).into();
            for p in ["p50_us", "p99_us"] {
                m["ok_response"][p] = (m["ok_response"][p].as_f64().unwrap() / k).into();
            }
            rounds.push(r);
        }
    }
    run["trials"] = rounds.into();
    run["config"]["trials"] = n.into();
    run
}

/// Writes `run` as `DIR/name/results.json`, and returns the directory.
fn write(dir: &Path, name: &str, run: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(
        path.join("results.json"),
        serde_json::to_string(run).unwrap(),
    )
    .unwrap();
    path
}

fn compare(base: &Path, head: &Path, extra: &[&str]) -> std::process::Output {
    Command::cargo_bin("statebench")
        .unwrap()
        .arg("compare")
        .arg(base)
        .arg(head)
        .args(extra)
        .output()
        .unwrap()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_same_speed_passes_with_no_change() {
    let tmp = tempfile::tempdir().unwrap();
    let base = write(tmp.path(), "base", &repeated(10, 1.0, 0.01, 0));
    let head = write(tmp.path(), "head", &repeated(10, 1.0, 0.01, 1));
    let out = compare(&base, &head, &["--strict"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let md = stdout(&out);
    assert!(
        md.starts_with("**statebench gate: NO CHANGE** — 0 regressions"),
        "{md}"
    );
    assert!(md.contains("| memory:state | throughput "), "{md}");
}

#[test]
fn a_thirty_percent_slower_head_fails_with_three_and_says_so_in_json() {
    let tmp = tempfile::tempdir().unwrap();
    let base = write(tmp.path(), "base", &repeated(10, 1.0, 0.01, 0));
    let head = write(tmp.path(), "head", &repeated(10, 0.7, 0.01, 1));
    let json = tmp.path().join("gate.json");
    let md = tmp.path().join("gate.md");
    let out = compare(
        &base,
        &head.join("results.json"),
        &[
            "--json",
            json.to_str().unwrap(),
            "--md",
            md.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("**statebench gate: REGRESSED** — "));
    assert_eq!(std::fs::read_to_string(&md).unwrap(), stdout(&out));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["verdict"], "regressed");
    assert_eq!(v["exit_code"], 3);
    let goodput = v["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "goodput")
        .unwrap();
    assert_eq!(goodput["verdict"], "regressed");
    assert!((goodput["change_pct"].as_f64().unwrap() + 30.0).abs() < 2.0);
}

#[test]
fn json_to_standard_output_replaces_the_markdown() {
    let tmp = tempfile::tempdir().unwrap();
    let base = write(tmp.path(), "base", &repeated(10, 1.0, 0.01, 0));
    let head = write(tmp.path(), "head", &repeated(10, 1.3, 0.01, 1));
    let out = compare(&base, &head, &["--json", "-"]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["verdict"], "improved");
}

#[test]
fn two_trials_each_are_inconclusive_and_fail_only_under_strict() {
    let tmp = tempfile::tempdir().unwrap();
    let base = write(tmp.path(), "base", &repeated(2, 1.0, 0.01, 0));
    let head = write(tmp.path(), "head", &repeated(2, 1.0, 0.01, 1));
    let out = compare(&base, &head, &[]);
    assert_eq!(out.status.code(), Some(0));
    let md = stdout(&out);
    assert!(md.starts_with("**statebench gate: INCONCLUSIVE**"), "{md}");
    assert!(md.contains("trials each would settle it"), "{md}");
    assert_eq!(compare(&base, &head, &["--strict"]).status.code(), Some(4));
}

#[test]
fn a_bad_gate_file_is_refused_naming_the_file_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let base = write(tmp.path(), "base", &repeated(5, 1.0, 0.0, 0));
    let gate = tmp.path().join("gate.yaml");
    std::fs::write(&gate, "alpha: 0.05\nmetrics:\n  p99: {delta: lots}\n").unwrap();
    let out = compare(&base, &base, &["--gate", gate.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("gate.yaml:3: field `metrics.p99.delta`"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_path_without_results_is_refused_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let base = write(tmp.path(), "base", &repeated(5, 1.0, 0.0, 0));
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = compare(&base, &empty, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("{}", empty.join("results.json").display())),
        "{err}"
    );
}
