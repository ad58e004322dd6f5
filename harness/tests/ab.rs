//! `statebench ab`: base and head in one job, their trials interleaved, then compared.

use assert_cmd::Command;

mod support;

use support::TINY;

fn json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn ab_runs_both_sides_interleaved_and_writes_two_runs_and_a_comparison() {
    let tmp = tempfile::tempdir().unwrap();
    let workload = tmp.path().join("tiny.yaml");
    std::fs::write(&workload, TINY).unwrap();
    let out = tmp.path().join("ab");
    let assert = Command::cargo_bin("statebench")
        .unwrap()
        .args([
            "ab",
            "--adapters",
            "memory",
            "--suites",
            "latency,throughput",
        ])
        .args(["--trials", "5", "--workload"])
        .arg(&workload)
        .arg("--out")
        .arg(&out)
        .assert();
    let output = assert.get_output();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    // Same configuration on both sides: no regression can be real, and the 5 trials are
    // too few for Holm over 12 metrics to call one.
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("statebench gate:"), "{stdout}");
    for side in ["base", "head"] {
        let r = json(&out.join(side).join("results.json"));
        let names: Vec<&str> = r["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["memory:state", "memory:events"],
            "{side}: plain names"
        );
        let trials = r["trials"].as_array().unwrap();
        assert_eq!(trials.len(), 20, "{side}: 2 steps x 2 subjects x 5 trials");
        assert!(
            trials
                .iter()
                .all(|t| t["subject"].as_str().unwrap().starts_with("memory:"))
        );
        assert!(out.join(side).join("index.html").exists());
        assert!(out.join(side).join("report.md").exists());
    }
    let compared = json(&out.join("compare.json"));
    assert_eq!(compared["exit_code"], 0, "{compared}");
    assert!(
        std::fs::read_to_string(out.join("compare.md"))
            .unwrap()
            .contains("statebench gate:")
    );
    // The sides alternate: in round 1 base goes first, in round 2 head does.
    let order: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("memory:state: latency"))
        .map(|l| if l.contains("base/") { "base" } else { "head" })
        .collect();
    assert_eq!(order[..4], ["base", "head", "head", "base"], "{stderr}");
}

#[test]
fn ab_refuses_an_existing_run_and_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("ab/base")).unwrap();
    std::fs::write(tmp.path().join("ab/base/results.json"), "{}").unwrap();
    let assert = Command::cargo_bin("statebench")
        .unwrap()
        .args(["ab", "--adapters", "memory", "--out"])
        .arg(tmp.path().join("ab"))
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(stderr.contains("already holds a run"), "{stderr}");
    let assert = Command::cargo_bin("statebench")
        .unwrap()
        .args(["ab", "--adapters", "memory", "--gate"])
        .arg(tmp.path().join("no-such-gate.yaml"))
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(stderr.contains("no-such-gate.yaml"), "{stderr}");
}

/// Runs `statebench ab` on memory with the tiny workload and `extra` flags; returns the exit
/// code, stdout and the comparison's JSON.
fn ab(extra: &[&str]) -> (i32, String, serde_json::Value) {
    let tmp = tempfile::tempdir().unwrap();
    let workload = tmp.path().join("tiny.yaml");
    std::fs::write(&workload, TINY).unwrap();
    let out = tmp.path().join("ab");
    let assert = Command::cargo_bin("statebench")
        .unwrap()
        .args(["ab", "--adapters", "memory", "--workload"])
        .arg(&workload)
        .args(extra)
        .arg("--out")
        .arg(&out)
        .assert();
    let output = assert.get_output();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    (
        output.status.code().unwrap_or(-1),
        stdout,
        json(&out.join("compare.json")),
    )
}

#[test]
fn a_head_slowed_by_an_injected_latency_is_a_regression() {
    let (code, stdout, compared) = ab(&[
        "--suites",
        "latency,throughput",
        "--trials",
        "8",
        "--head-inject",
        "latency=2ms",
    ]);
    assert_eq!(code, 3, "{stdout}");
    assert!(stdout.contains("REGRESSED"), "{stdout}");
    // Every p50 rose by far more than δ: each is a regression, not just one of them.
    let p50s: Vec<&serde_json::Value> = compared["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["metric"] == "p50")
        .collect();
    assert_eq!(p50s.len(), 4, "{compared}");
    assert!(
        p50s.iter().all(|c| c["verdict"] == "regressed"),
        "{compared}"
    );
}

#[test]
fn a_head_that_breaks_a_promise_is_a_regression_whatever_its_speed() {
    // Half of head's calls fail indefinitely: its conformance checks fail where base's pass.
    let (code, stdout, _) = ab(&[
        "--suites",
        "conformance",
        "--trials",
        "1",
        "--head-inject",
        "memory:state:errors=50%",
    ]);
    assert_eq!(code, 3, "{stdout}");
    assert!(stdout.contains("memory:state"), "{stdout}");
}
