//! `statebench merge`: shards made from one real memory run (its results.json with
//! `config.shard` set), merged into one run that renders and compares; and the refusals.

mod support;

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One short real run through the memory adapter (one open and one closed step), kept for
/// the whole test binary.
fn real() -> &'static (tempfile::TempDir, PathBuf, Value) {
    static RUN: std::sync::OnceLock<(tempfile::TempDir, PathBuf, Value)> =
        std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let workload = tmp.path().join("tiny.yaml");
        std::fs::write(&workload, support::TINY).unwrap();
        let dir = tmp.path().join("run");
        let out = statebench()
            .args([
                "run",
                "--adapters",
                "memory",
                "--suites",
                "latency,throughput",
            ])
            .arg("--workload")
            .arg(&workload)
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
        (tmp, dir, serde_json::from_str(&text).unwrap())
    })
}

fn statebench() -> Command {
    Command::cargo_bin("statebench").unwrap()
}

/// A copy of the real run's directory (interval logs included) as `dir/name`, its
/// results.json changed by `edit`.
fn copy(dir: &Path, name: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let (_, from, results) = real();
    let to = dir.join(name);
    copy_dir(from, &to);
    let mut results = results.clone();
    edit(&mut results);
    std::fs::write(
        to.join("results.json"),
        serde_json::to_string(&results).unwrap(),
    )
    .unwrap();
    to
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of the real run as shard `index` of `count`.
fn shard(dir: &Path, index: u32, count: u32) -> PathBuf {
    copy(dir, &format!("shard-{index}-of-{count}"), |r| {
        r["config"]["shard"] = serde_json::json!({"index": index, "count": count});
    })
}

fn merge(runs: &[&Path], out: &Path) -> std::process::Output {
    statebench()
        .arg("merge")
        .args(runs)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn read(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
}

fn close(a: &Value, b: f64) -> bool {
    let a = a.as_f64().unwrap();
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn two_shards_merge_into_one_run_with_the_load_and_operations_of_both() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (shard(tmp.path(), 0, 2), shard(tmp.path(), 1, 2));
    let out = tmp.path().join("merged");
    let done = merge(&[&b, &a], &out);
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    for file in ["results.json", "report.md", "index.html"] {
        assert!(out.join(file).is_file(), "{file} not written");
    }
    let run = &real().2;
    let merged = read(&out);
    assert!(merged["config"].get("shard").is_none());
    let (before, after) = (
        run["trials"].as_array().unwrap(),
        merged["trials"].as_array().unwrap(),
    );
    assert_eq!(before.len(), after.len());
    assert!(before.len() >= 2, "an open and a closed step");
    for (t, m) in before.iter().zip(after) {
        let (tm, mm) = (&t["measured"], &m["measured"]);
        let twice = |field: &str| tm[field].as_u64().unwrap() * 2;
        assert_eq!(mm["ops"].as_u64().unwrap(), twice("ops"), "{}", t["id"]);
        assert_eq!(mm["late"].as_u64().unwrap(), twice("late"));
        assert_eq!(mm["stragglers"].as_u64().unwrap(), twice("stragglers"));
        for outcome in ["ok", "conflict", "indefinite", "fatal"] {
            assert_eq!(
                mm["counts"][outcome].as_u64().unwrap(),
                tm["counts"][outcome].as_u64().unwrap() * 2
            );
        }
        // The latencies are read from histograms holding every value twice.
        assert_eq!(
            mm["ok_response"]["count"].as_u64().unwrap(),
            tm["ok_response"]["count"].as_u64().unwrap() * 2
        );
        assert_eq!(mm["ok_response"]["p99_us"], tm["ok_response"]["p99_us"]);
        // Same windows, same starts: the rates of both.
        assert_eq!(mm["window_ms"], tm["window_ms"]);
        assert!(close(
            &mm["ops_per_s"],
            tm["ops_per_s"].as_f64().unwrap() * 2.0
        ));
        assert!(close(
            &mm["ok_per_s"],
            tm["ok_per_s"].as_f64().unwrap() * 2.0
        ));
        // The step is the whole load, and the id names it.
        match t["step"]["loop"].as_str().unwrap() {
            "closed" => {
                let n = t["step"]["concurrency"].as_u64().unwrap();
                assert_eq!(m["step"]["concurrency"].as_u64().unwrap(), 2 * n);
                assert!(
                    m["id"]
                        .as_str()
                        .unwrap()
                        .ends_with(&format!(".{}-workers", 2 * n))
                );
            }
            _ => assert!(close(
                &m["step"]["rate_per_s"],
                t["step"]["rate_per_s"].as_f64().unwrap() * 2.0
            )),
        }
    }
    // Each shard is kept, its interval logs copied beside the merged run.
    let shards = merged["merge"]["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 2);
    assert_eq!(shards[1]["index"], 1);
    for s in shards {
        for t in s["trials"].as_array().unwrap() {
            let log = t["interval_log"].as_str().unwrap();
            assert!(out.join(log).is_file(), "{log} not copied");
        }
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## Shards"), "{report}");
    // The merged run reads, renders and compares like any run.
    statebench().arg("report").arg(&out).assert().success();
    statebench()
        .args(["report", "--format", "csv", "--stdout"])
        .arg(&out)
        .assert()
        .success();
    statebench()
        .arg("compare")
        .arg(&out)
        .arg(&out)
        .assert()
        .code(0);
    statebench()
        .arg("site")
        .arg(&out)
        .arg("--out")
        .arg(tmp.path().join("site"))
        .assert()
        .success();
}

#[test]
fn a_merge_of_one_shard_has_the_runs_trials_and_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let only = shard(tmp.path(), 0, 1);
    let out = tmp.path().join("merged");
    let done = merge(&[&only], &out);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let (run, merged) = (&real().2, read(&out));
    let (before, after) = (
        run["trials"].as_array().unwrap(),
        merged["trials"].as_array().unwrap(),
    );
    assert_eq!(before.len(), after.len());
    for (t, m) in before.iter().zip(after) {
        for field in ["id", "step", "subject", "suite", "warmup", "load", "checks"] {
            assert_eq!(m[field], t[field], "{field} of {}", t["id"]);
        }
        assert_eq!(m["measured"], t["measured"], "{}", t["id"]);
    }
    assert_eq!(merged["subjects"], run["subjects"]);
}

/// Merges `runs` into a fresh directory and returns the refusal on stderr, after checking
/// that it exits 1 and writes nothing.
fn refused(runs: &[&Path]) -> String {
    let out = runs[0].parent().unwrap().join("refused");
    let done = merge(runs, &out);
    let stderr = String::from_utf8_lossy(&done.stderr).into_owned();
    assert_eq!(done.status.code(), Some(1), "{stderr}");
    assert!(!out.join("results.json").exists());
    stderr
}

#[test]
fn runs_that_are_not_every_shard_of_one_run_are_refused_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let plain = copy(dir, "plain", |_| {});
    assert!(refused(&[&plain]).contains("is not a shard"));
    let (zero, one) = (shard(dir, 0, 2), shard(dir, 1, 2));
    let again = copy(dir, "again", |r| {
        r["config"]["shard"] = serde_json::json!({"index": 1, "count": 2});
    });
    assert!(refused(&[&zero, &one, &again]).contains("shard 1/2 is given twice"));
    let first_of_three = shard(dir, 0, 3);
    let second_of_three = shard(dir, 1, 3);
    let stderr = refused(&[&first_of_three, &second_of_three]);
    assert!(stderr.contains("shard 2 of 3 missing"), "{stderr}");
    let seeded = copy(dir, "seeded", |r| {
        r["config"]["shard"] = serde_json::json!({"index": 1, "count": 2});
        r["config"]["seed"] = 12345.into();
    });
    let stderr = refused(&[&zero, &seeded]);
    assert!(stderr.contains("differ in their seed"), "{stderr}");
    let broken = dir.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("results.json"), "{ not json").unwrap();
    assert!(refused(&[&zero, &broken]).contains("is not a run"));
    // The merged run may not overwrite a shard.
    let done = merge(&[&zero, &one], &one);
    assert_eq!(done.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&done.stderr).contains("is the run directory"));
}

/// A check that failed on one shard fails the merged run: exit 3, as `run` exits, with the
/// shard named in the merged verdict; the merge is still written.
#[test]
fn a_check_failed_on_any_shard_makes_the_merge_exit_3() {
    let tmp = tempfile::tempdir().unwrap();
    let verdict = |status: &str, detail: &str| {
        serde_json::json!([{
            "subject": "memory:state",
            "check": "cas-exactly-one-winner",
            "capability": "cas",
            "status": status,
            "detail": detail,
        }])
    };
    let passed = copy(tmp.path(), "shard-0", |r| {
        r["config"]["shard"] = serde_json::json!({"index": 0, "count": 2});
        r["conformance"] = verdict("pass", "");
    });
    let failed = copy(tmp.path(), "shard-1", |r| {
        r["config"]["shard"] = serde_json::json!({"index": 1, "count": 2});
        r["conformance"] = verdict("fail", "two winners");
    });
    let out = tmp.path().join("merged");
    let done = merge(&[&passed, &failed], &out);
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("checks failed: memory:state"), "{stderr}");
    let merged = read(&out);
    assert_eq!(merged["conformance"][0]["status"], "fail");
    assert_eq!(merged["conformance"][0]["detail"], "shard 1: two winners");
    // Both shards passing: exit 0.
    let other = copy(tmp.path(), "shard-1-passed", |r| {
        r["config"]["shard"] = serde_json::json!({"index": 1, "count": 2});
        r["conformance"] = verdict("pass", "");
    });
    let done = merge(&[&passed, &other], &tmp.path().join("merged-ok"));
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
}
