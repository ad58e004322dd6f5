//! Sharded runs as load agents meet them: slices of one run on a shared timeline, the
//! shard taken from a Kubernetes Indexed Job's variables, and the refusals.

mod support;

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Two short steps on 100 keys whose worker count and operations in flight split over two
/// shards.
const SPLITTABLE: &str = "\
name: splittable
keys: {count: 100}
mix: {read: 80, command: 20}
warmup: {duration: 0.2s}
measure: {duration: 0.5s}
open: {rates: [400], max_in_flight: 8}
closed: {concurrency: [3]}
";

fn statebench() -> Command {
    Command::cargo_bin("statebench").expect("the binary is built")
}

fn results(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("results.json")).expect("results.json exists");
    serde_json::from_str(&text).expect("results.json is JSON")
}

fn trial_ids(r: &Value) -> Vec<String> {
    r["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

fn trial<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["trials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no trial {id}"))
}

fn unix_s(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

/// Milliseconds between two times in seconds.
fn ms_apart(a: f64, b: f64) -> f64 {
    (a - b).abs() * 1e3
}

#[test]
fn two_agents_with_a_common_start_measure_the_same_trials_in_the_same_windows() {
    let tmp = tempfile::tempdir().unwrap();
    let workload = tmp.path().join("splittable.yaml");
    std::fs::write(&workload, SPLITTABLE).unwrap();
    // Far enough ahead for two debug binaries to start on a busy machine.
    let start = SystemTime::now() + Duration::from_secs(5);
    let start_at = format!("{:.3}", unix_s(start));
    let binary = assert_cmd::cargo::cargo_bin("statebench");
    let agents: Vec<_> = (0..2)
        .map(|index| {
            let out = tmp.path().join(format!("shard-{index}"));
            let child = std::process::Command::new(&binary)
                .args(["run", "--adapters", "memory", "--workload"])
                .arg(&workload)
                .args(["--suites", "conformance,latency,throughput", "--seed", "7"])
                .args(["--shard", &format!("{index}/2"), "--start-at", &start_at])
                .args(["--load-allowance", "1.5", "--out"])
                .arg(&out)
                .env_remove("JOB_COMPLETION_INDEX")
                .env_remove("STATEBENCH_SHARDS")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (out, child)
        })
        .collect();
    let mut runs = Vec::new();
    for (index, (out, child)) in agents.into_iter().enumerate() {
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        assert!(output.status.success(), "shard {index}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "shard {index}/2: loads and writes the keys k with k mod 2 = {index}"
            )),
            "each agent says which shard it is: {stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "shard {index}/2: 4 timed steps on the shared timeline: the first warms up at"
            )),
            "and when it starts: {stderr}"
        );
        assert!(!stderr.contains("WARNING"), "nothing ran late: {stderr}");
        runs.push(results(&out));
    }
    let (zero, one) = (&runs[0], &runs[1]);
    for (index, r) in runs.iter().enumerate() {
        let shard = &r["config"]["shard"];
        assert_eq!(
            (shard["index"].as_u64(), shard["count"].as_u64()),
            (Some(index as u64), Some(2))
        );
        let recorded = humantime::parse_rfc3339(shard["start_at"].as_str().unwrap()).unwrap();
        assert!(ms_apart(unix_s(recorded), unix_s(start)) < 1.0, "{shard}");
    }
    let ids = trial_ids(zero);
    assert_eq!(
        ids.len(),
        4,
        "a rate and a worker count on memory:state and memory:events"
    );
    assert_eq!(
        ids,
        trial_ids(one),
        "merge matches the shards' trials by id"
    );
    assert!(
        ids.contains(&"memory-state.throughput.3-workers".to_owned()),
        "{ids:?}"
    );
    assert!(
        ids.contains(&"memory-events.latency.400-per-s".to_owned()),
        "{ids:?}"
    );
    let measured_start = |r: &Value, id: &str| {
        trial(r, id)["measured"]["started_unix_ns"]
            .as_u64()
            .unwrap() as f64
            / 1e9
    };
    for (slot, id) in ids.iter().enumerate() {
        let (a, b) = (measured_start(zero, id), measured_start(one, id));
        assert!(
            ms_apart(a, b) < 200.0,
            "{id}: measured from {a} and from {b}"
        );
        // Each trial warms up one slot (0.2 + 0.5 + 1.5 s) after the one before.
        let planned = unix_s(start) + slot as f64 * 2.2 + 0.2;
        assert!(
            ms_apart(a, planned) < 200.0,
            "{id}: measured from {a}, planned {planned}"
        );
    }
    let steps = |id: &str| [zero, one].map(|r| trial(r, id)["step"].clone());
    let [c0, c1] = steps("memory-state.throughput.3-workers");
    assert_eq!(
        (c0["concurrency"].as_u64(), c1["concurrency"].as_u64()),
        (Some(2), Some(1))
    );
    let [r0, r1] = steps("memory-state.latency.400-per-s");
    assert_eq!(
        (r0["rate_per_s"].as_f64(), r1["rate_per_s"].as_f64()),
        (Some(200.0), Some(200.0))
    );
    assert_eq!(
        (r0["max_in_flight"].as_u64(), r1["max_in_flight"].as_u64()),
        (Some(4), Some(4))
    );
    for r in &runs {
        let loaded = trial(r, "memory-state.latency.400-per-s")["load"]["keys"].as_u64();
        assert_eq!(
            loaded,
            Some(50),
            "each shard loads its half of the 100 keys"
        );
    }
    assert!(
        !zero["conformance"].as_array().unwrap().is_empty(),
        "shard 0 checks"
    );
    assert!(
        one["conformance"].as_array().unwrap().is_empty(),
        "shard 1 does not"
    );
    let skipped = one["skipped"].as_array().unwrap();
    for subject in ["memory:state", "memory:events"] {
        let why = skipped
            .iter()
            .find(|s| s["name"] == subject && s["suite"] == "conformance")
            .unwrap_or_else(|| {
                panic!("shard 1 says it skipped {subject}'s conformance: {skipped:?}")
            });
        assert!(
            why["reason"]
                .as_str()
                .unwrap()
                .contains("runs on shard 0 only"),
            "{why}"
        );
    }
}

#[test]
fn an_indexed_job_pod_takes_its_shard_from_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    statebench()
        .args([
            "run",
            "--adapters",
            "memory",
            "--suites",
            "conformance",
            "--out",
        ])
        .arg(&out)
        .env("STATEBENCH_SHARDS", "3")
        .env("JOB_COMPLETION_INDEX", "2")
        .assert()
        .success();
    let r = results(&out);
    assert_eq!(
        r["config"]["shard"],
        serde_json::json!({"index": 2, "count": 3})
    );
    assert!(r["conformance"].as_array().unwrap().is_empty());
    let skipped = r["skipped"].as_array().unwrap();
    assert!(
        skipped.iter().any(|s| s["suite"] == "conformance"
            && s["reason"].as_str().unwrap().contains("this is shard 2/3")),
        "{skipped:?}"
    );
}

#[test]
fn one_shard_of_one_is_a_plain_run() {
    let tmp = tempfile::tempdir().unwrap();
    let workload = tmp.path().join("tiny.yaml");
    std::fs::write(&workload, support::TINY).unwrap();
    let run = |out: &Path, extra: &[&str]| {
        statebench()
            .args(["run", "--adapters", "memory", "--seed", "3", "--workload"])
            .arg(&workload)
            .args(["--suites", "conformance,latency,throughput"])
            .args(extra)
            .arg("--out")
            .arg(out)
            .env_remove("STATEBENCH_SHARDS")
            .assert()
            .success();
        results(out)
    };
    let plain = run(&tmp.path().join("plain"), &[]);
    let sharded = run(&tmp.path().join("sharded"), &["--shard", "0/1"]);
    assert_eq!(plain["config"]["shard"], Value::Null);
    assert_eq!(
        sharded["config"]["shard"],
        serde_json::json!({"index": 0, "count": 1})
    );
    assert_eq!(trial_ids(&plain), trial_ids(&sharded));
    for id in trial_ids(&plain) {
        let (a, b) = (trial(&plain, &id), trial(&sharded, &id));
        assert_eq!(a["step"], b["step"], "{id}");
        assert_eq!(a["load"]["keys"], b["load"]["keys"], "{id}");
    }
    let checks = |r: &Value| r["conformance"].as_array().unwrap().len();
    assert!(checks(&plain) > 0);
    assert_eq!(checks(&plain), checks(&sharded));
}

#[test]
fn a_start_already_past_starts_at_once_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let workload = tmp.path().join("tiny.yaml");
    std::fs::write(&workload, support::TINY).unwrap();
    let past = format!("{:.0}", unix_s(SystemTime::now()) - 30.0);
    let began = SystemTime::now();
    let assert = statebench()
        .args([
            "run",
            "--adapters",
            "memory",
            "--suites",
            "latency",
            "--workload",
        ])
        .arg(&workload)
        .args(["--shard", "0/1", "--start-at", &past, "--out"])
        .arg(tmp.path().join("run"))
        .assert()
        .success();
    assert!(
        began.elapsed().unwrap() < Duration::from_secs(20),
        "it did not wait"
    );
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("WARNING: shard 0/1: --start-at"),
        "{stderr}"
    );
    assert!(stderr.contains("starting at once"), "{stderr}");
    assert!(
        stderr.contains("after its planned start"),
        "each late step says so: {stderr}"
    );
}

/// Arguments, variables, and what the error says.
type Refusal = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
    &'static str,
);

/// Runs `args` and returns the exit code and the first line of stderr.
fn refused(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut command = statebench();
    command
        .args(args)
        .env_remove("STATEBENCH_SHARDS")
        .env_remove("JOB_COMPLETION_INDEX");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    (output.status.code().unwrap_or(-1), stderr)
}

#[test]
fn shards_that_cannot_be_run_are_refused_with_exit_1_and_the_reason() {
    let cases: [Refusal; 7] = [
        (
            &["run", "--shard", "2/2"],
            &[],
            "--shard must be I/N with I from 0 to N - 1",
        ),
        (
            &["run", "--shards", "2"],
            &[],
            "--shards 2 needs JOB_COMPLETION_INDEX",
        ),
        (
            &["run", "--shards", "2"],
            &[("JOB_COMPLETION_INDEX", "2")],
            "JOB_COMPLETION_INDEX=2 is not below --shards 2",
        ),
        (
            &["run", "--shard", "1/4", "--shards", "2"],
            &[],
            "--shard 1/4 contradicts --shards 2",
        ),
        (
            &["run", "--shard", "0/2", "--adapters", "memory"],
            &[],
            "cannot split the throughput step `1-workers` (1 workers) over 2 shards: shard 1 would have none",
        ),
        (
            &["run", "--start-at", "1767225600"],
            &[],
            "--start-at is for sharded runs",
        ),
        (
            &[
                "ab",
                "--shard",
                "0/2",
                "--workload",
                "gate",
                "--adapters",
                "memory",
            ],
            &[],
            "statebench ab does not run sharded",
        ),
    ];
    for (args, env, message) in cases {
        let (code, stderr) = refused(args, env);
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(
            stderr.contains(message),
            "{args:?}: `{stderr}` should say `{message}`"
        );
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    }
}
