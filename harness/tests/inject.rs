//! `run --inject`: the faults reach the subjects they name, and only those, and the results
//! say what was injected.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

const WORKLOAD: &str = "name: inject-test
keys: {count: 100, distribution: uniform}
mix: {read: 80, command: 20}
value_size: 64
warmup: {ops: 0}
measure: {duration: 400ms}
open: {rates: [200], max_in_flight: 16}
closed: {concurrency: [2]}
";

/// Runs the latency suite on `memory` with `inject`; returns results.json.
fn run(dir: &Path, name: &str, inject: &[&str]) -> Value {
    let workload = dir.join("workload.yaml");
    std::fs::write(&workload, WORKLOAD).unwrap();
    let out = dir.join(name);
    let mut cmd = Command::cargo_bin("statebench").unwrap();
    cmd.args(["run", "--adapters", "memory", "--suites", "latency"])
        .arg("--workload")
        .arg(&workload)
        .arg("--out")
        .arg(&out);
    for i in inject {
        cmd.args(["--inject", i]);
    }
    cmd.assert().success();
    let text = std::fs::read_to_string(out.join("results.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The one trial of `subject`.
fn trial<'a>(r: &'a Value, subject: &str) -> &'a Value {
    let trials = r["trials"].as_array().unwrap();
    let mut of = trials.iter().filter(|t| t["subject"] == subject);
    let one = of.next().unwrap_or_else(|| panic!("no trial of {subject}"));
    assert!(of.next().is_none(), "one trial of {subject}");
    one
}

/// `subject`'s reads' `time` (`response` or `service`) at `stat` (`p50_us`, `min_us`).
fn reads_us(r: &Value, subject: &str, time: &str, stat: &str) -> f64 {
    let operations = trial(r, subject)["measured"]["operations"]
        .as_array()
        .unwrap();
    let read = operations.iter().find(|o| o["op"] == "read").unwrap();
    read[time][stat].as_f64().unwrap()
}

/// The median response time of `subject`'s reads, in µs.
fn read_p50_us(r: &Value, subject: &str) -> f64 {
    reads_us(r, subject, "response", "p50_us")
}

fn subject<'a>(r: &'a Value, name: &str) -> &'a Value {
    let subjects = r["subjects"].as_array().unwrap();
    subjects.iter().find(|s| s["name"] == name).unwrap()
}

#[test]
fn injected_latency_adds_to_every_subject_and_is_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = run(tmp.path(), "plain", &[]);
    let slow = run(tmp.path(), "slow", &["latency=2ms"]);
    assert!(plain["config"].get("inject").is_none(), "absent when empty");
    assert_eq!(slow["config"]["inject"], serde_json::json!(["latency=2ms"]));
    for name in ["memory:state", "memory:events"] {
        // Service time (from the actual start): the dispatcher's lag on this shared
        // machine, which moves response times by hundreds of µs, stays out of it.
        let service_p50 = |r| reads_us(r, name, "service", "p50_us");
        let (before, after) = (service_p50(&plain), service_p50(&slow));
        assert!(
            after >= before + 2_000.0,
            "{name}: p50 {before} µs without, {after} µs with 2 ms injected"
        );
        // Histograms keep 3 significant digits: 2 ms reads back as up to 1 µs less.
        let fastest = reads_us(&slow, name, "service", "min_us");
        assert!(fastest >= 1_999.0, "{name}: a read took {fastest} µs");
        assert!(read_p50_us(&slow, name) >= 2_000.0);
        let descriptor = &subject(&slow, name)["descriptor"];
        assert_eq!(descriptor["adapter"], "memory+faults");
        assert_eq!(descriptor["settings"]["faults"], "latency 2 ms");
        assert!(subject(&plain, name)["descriptor"]["settings"]["faults"].is_null());
    }
    let report = std::fs::read_to_string(tmp.path().join("slow/report.md")).unwrap();
    assert!(report.contains("`latency=2ms`"), "{report}");
    assert!(report.contains("faults=latency 2 ms"), "{report}");
}

#[test]
fn injected_latency_for_one_subject_leaves_the_other_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let r = run(tmp.path(), "one", &["memory:state:latency=2ms"]);
    assert_eq!(
        r["config"]["inject"],
        serde_json::json!(["memory:state:latency=2ms"])
    );
    assert!(read_p50_us(&r, "memory:state") >= 2_000.0);
    let events = read_p50_us(&r, "memory:events");
    assert!(events < 1_000.0, "memory:events p50 {events} µs");
    assert_eq!(
        subject(&r, "memory:events")["descriptor"]["adapter"],
        "memory"
    );
}

#[test]
fn injected_errors_show_in_the_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let r = run(tmp.path(), "errors", &["errors=50%"]);
    assert_eq!(r["config"]["inject"], serde_json::json!(["errors=50%"]));
    for name in ["memory:state", "memory:events"] {
        let operations = trial(&r, name)["measured"]["operations"]
            .as_array()
            .unwrap();
        let (mut ok, mut indefinite) = (0, 0);
        for o in operations {
            ok += o["counts"]["ok"].as_u64().unwrap();
            indefinite += o["counts"]["indefinite"].as_u64().unwrap();
        }
        assert!(
            indefinite > 0 && ok > 0,
            "{name}: {ok} ok, {indefinite} indefinite"
        );
        let settings = &subject(&r, name)["descriptor"]["settings"];
        assert!(
            settings["faults"]
                .as_str()
                .unwrap()
                .starts_with("error rate 50 %"),
            "{settings}"
        );
    }
}

#[test]
fn bad_injections_exit_1_with_one_line_naming_the_flag() {
    let cases = [
        "latency=200",
        "latency=soon",
        "errors=120%",
        "jitter=1ms",
        "postgres:latency=1ms",
        "memory:stat:errors=1%",
        "latency=1ms,latency=2ms",
    ];
    for inject in cases {
        let output = Command::cargo_bin("statebench")
            .unwrap()
            .args(["run", "--adapters", "memory", "--inject", inject])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{inject}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{inject}: {stderr}");
        assert!(stderr.contains("--inject"), "{inject}: {stderr}");
    }
}
