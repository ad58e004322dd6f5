//! `run --trials N`: every timed step N times, in rounds that take every subject in turn,
//! each trial kept in results.json and pooled in the reports.

use assert_cmd::Command;

mod support;

use support::TINY;

#[test]
fn repeated_trials_run_in_rounds_and_are_each_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let workload = tmp.path().join("tiny.yaml");
    std::fs::write(&workload, TINY).unwrap();
    let out = tmp.path().join("run");
    let assert = Command::cargo_bin("statebench")
        .unwrap()
        .args([
            "run",
            "--adapters",
            "memory",
            "--suites",
            "latency,throughput",
        ])
        .args(["--trials", "3", "--workload"])
        .arg(&workload)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(stderr.contains("trial 3 of 3"), "{stderr}");
    let text = std::fs::read_to_string(out.join("results.json")).unwrap();
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["config"]["trials"], 3);
    let trials = r["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 12, "2 steps x 2 subjects x 3 trials");
    // Round by round, and within a round every subject in turn: never all trials of one
    // subject back to back.
    let order: Vec<(u64, &str)> = trials
        .iter()
        .map(|t| (t["round"].as_u64().unwrap(), t["subject"].as_str().unwrap()))
        .collect();
    let expected: Vec<(u64, &str)> = (0..3)
        .flat_map(|round| {
            [
                "memory:state",
                "memory:state",
                "memory:events",
                "memory:events",
            ]
            .map(|s| (round, s))
        })
        .collect();
    assert_eq!(order, expected);
    let mut ids: Vec<&str> = trials.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert!(
        ids.iter()
            .all(|id| id.ends_with(".r0") || id.ends_with(".r1") || id.ends_with(".r2"))
    );
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 12, "ids are unique");
    for t in trials {
        assert!(
            t["measured"]["counts"]["ok"].as_u64().unwrap() > 0,
            "{}",
            t["id"]
        );
    }
    // The reports pool a step's trials into one row and show their spread apart.
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Repeated trials"), "{md}");
    assert!(md.contains("Every step ran 3 times"), "{md}");
    let rows = stdout
        .lines()
        .filter(|l| l.starts_with("memory:") && (l.contains("latency") || l.contains("throughput")))
        .count();
    assert_eq!(rows, 4, "one summary row per step:\n{stdout}");
}

#[test]
fn a_bad_trial_count_is_refused() {
    for bad in ["0", "-2", "three", "1001"] {
        let assert = Command::cargo_bin("statebench")
            .unwrap()
            .args(["run", "--adapters", "memory", "--trials", bad])
            .assert()
            .code(1);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
        assert!(
            stderr.contains("--trials must be a whole number from 1 to 1000"),
            "{stderr}"
        );
    }
}
