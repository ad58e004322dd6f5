//! Real servers, both ways the harness provides them: containers of locally built images
//! (ci/images) and native server processes. Every adapter but kurrentdb is checked for
//! conformance and measured; afterwards nothing the run started may remain.
//!
//! Without Docker images or server binaries these tests skip, loudly; under `CI=true` a
//! missing server is a failure.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{no_containers_left, processes_with_parent, server_dirs, server_processes, usable};

const REAL: &str =
    "postgres,redis,valkey,cache-aside,cache-aside-valkey,pg-eventlog,jetstream,http,kurrentdb";
const SUBJECTS: [&str; 9] = [
    "postgres",
    "redis",
    "valkey",
    "cache-aside",
    "cache-aside-gated",
    "cache-aside-valkey",
    "pg-eventlog",
    "jetstream",
    "http",
];

const WORKLOAD: &str = "name: servers-test
keys: {count: 200, distribution: zipfian, theta: 0.99}
mix: {read: 70, command: 20, write: 10}
value_size: 64
warmup: {ops: 0}
measure: {duration: 500ms}
open: {rates: [400], max_in_flight: 8}
closed: {concurrency: [2]}
snapshot_every: 20
consistency: {duration: 1500ms, quiet: 200ms, faults: [none, kill, pause, reset]}
";

struct Run {
    code: Option<i32>,
    results: serde_json::Value,
    stderr: String,
    pid: u32,
}

/// Runs `statebench run` with `args` and the test workload, within `limit`.
fn statebench(dir: &Path, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Run {
    let workload = dir.join("workload.yaml");
    std::fs::write(&workload, WORKLOAD).unwrap();
    let out = dir.join("run");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("statebench"))
        .arg("run")
        .args(args)
        .arg("--workload")
        .arg(&workload)
        .arg("--out")
        .arg(&out)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let status = wait(&mut child, limit, &format!("with {args:?}"));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let text = std::fs::read_to_string(out.join("results.json"))
        .unwrap_or_else(|e| panic!("no results.json ({e}); stderr:\n{stderr}"));
    Run {
        code: status.code(),
        results: serde_json::from_str(&text).unwrap(),
        stderr,
        pid,
    }
}

fn skipped<'a>(results: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    results["skipped"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == name)
        .and_then(|s| s["reason"].as_str())
}

/// Everything the issue asks of a provisioned run: conformance passes for every subject,
/// latency and throughput trials measured something, kurrentdb is skipped with its reason.
fn check_full_run(run: &Run, mode: &str) {
    let r = &run.results;
    // Named with --adapters, kurrentdb not provided is an error (exit 5), and the only one.
    let unprovided: Vec<&str> = r["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["suite"].is_null())
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let expected = match unprovided[..] {
        [] => 0,
        ["kurrentdb"] => 5,
        _ => panic!("not provided: {unprovided:?}; stderr:\n{}", run.stderr),
    };
    assert_eq!(
        run.code,
        Some(expected),
        "exit code; stderr:\n{}",
        run.stderr
    );
    let servers: BTreeSet<&str> = r["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["backend"].as_str().unwrap())
        .collect();
    assert_eq!(
        servers,
        BTreeSet::from(["nats", "postgres", "redis", "valkey"]),
        "stderr:\n{}",
        run.stderr
    );
    for server in r["servers"].as_array().unwrap() {
        assert_eq!(server["provisioning"], mode, "{server}");
        // The version as the server states it: Valkey is not Redis under another name.
        let stated = match server["backend"].as_str().unwrap() {
            "postgres" => "PostgreSQL ",
            "redis" => "Redis ",
            "valkey" => "Valkey ",
            "nats" => "NATS ",
            other => panic!("unexpected server {other}"),
        };
        assert!(
            server["version"]
                .as_str()
                .is_some_and(|v| v.starts_with(stated)),
            "{server}"
        );
        if mode == "docker" {
            assert!(
                server["image_id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("sha256:")),
                "{server}"
            );
        }
    }
    for subject in SUBJECTS {
        let checks: Vec<&serde_json::Value> = r["conformance"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["subject"] == subject)
            .collect();
        assert!(
            checks.len() >= 9,
            "{subject}: {} checks; stderr:\n{}",
            checks.len(),
            run.stderr
        );
        for c in checks {
            assert_ne!(c["status"], "fail", "{subject}: {c}");
        }
        for suite in ["latency", "throughput"] {
            let trial = r["trials"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["subject"] == subject && t["suite"] == suite);
            let trial = trial.unwrap_or_else(|| {
                panic!("no {suite} trial for {subject}; stderr:\n{}", run.stderr)
            });
            let m = &trial["measured"];
            assert!(m["ops"].as_u64().unwrap() > 0, "{subject} {suite}: {m}");
            assert!(
                m["response"]["p99_us"].as_f64().unwrap() > 0.0,
                "{subject} {suite}"
            );
            assert_eq!(m["counts"]["fatal"], 0, "{subject} {suite}: {m}");
        }
    }
    check_consistency(r, &run.stderr);
    let subject = |name: &str| {
        r["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
    };
    let snapshots =
        |name: &str| subject(name).map(|s| s["descriptor"]["settings"]["snapshots"].clone());
    assert_eq!(
        snapshots("pg-eventlog"),
        Some(serde_json::json!("every 20 events"))
    );
    assert!(
        snapshots("jetstream").is_some_and(|s| s.as_str().is_some_and(|s| s.starts_with("none")))
    );
    // KurrentDB runs where its image can be pulled; elsewhere it is skipped, with a reason.
    let ran = r["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "kurrentdb");
    assert!(
        ran || skipped(r, "kurrentdb").is_some_and(|why| !why.is_empty()),
        "kurrentdb neither ran nor was skipped"
    );
}

/// Every subject ran the consistency suite under every fault, and kept every promise.
fn check_consistency(r: &serde_json::Value, stderr: &str) {
    let runs = r["consistency"].as_array().unwrap();
    for subject in SUBJECTS {
        let mine: Vec<&serde_json::Value> =
            runs.iter().filter(|c| c["subject"] == subject).collect();
        assert_eq!(
            mine.len(),
            4,
            "{subject}: consistency runs; stderr:\n{stderr}"
        );
        for run in mine {
            assert!(run["skipped"].is_null(), "{subject}: {run}");
            assert!(
                run["ops"]["ok"].as_u64().unwrap() > 100,
                "{subject} under {}: {} in {} ms; nemesis {}",
                run["fault"],
                run["ops"],
                run["duration_ms"],
                run["nemesis"]
            );
            if run["fault"] != "none" {
                let nemesis = run["nemesis"].as_array().unwrap();
                assert!(
                    !nemesis.is_empty() && nemesis.iter().all(|e| e["ok"] == true),
                    "{subject}: {nemesis:?}"
                );
            }
            for c in run["checks"].as_array().unwrap() {
                let broken = c["promised"] == true && c["validity"] == "invalid";
                assert!(!broken, "{subject} under {}: {c}", run["fault"]);
            }
        }
        let standing = &r["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == subject)
            .unwrap()["correctness"]["standing"];
        assert_eq!(standing, "pass", "{subject}");
    }
}

/// The run's server directories (and so its servers' data) are gone.
fn no_server_dirs_left(before: &BTreeSet<String>) {
    let now = server_dirs();
    let left: Vec<&String> = now.difference(before).collect();
    assert!(left.is_empty(), "server directories left behind: {left:?}");
}

#[test]
fn every_adapter_runs_on_docker_servers_and_leaves_nothing() {
    if !usable("docker") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = statebench(
        dir.path(),
        &["--provision", "docker", "--adapters", REAL],
        &[],
        Duration::from_secs(600),
    );
    check_full_run(&run, "docker");
    no_containers_left(run.pid);
}

#[test]
fn every_adapter_runs_on_native_servers_and_leaves_nothing() {
    if !usable("native") {
        return;
    }
    let before = server_dirs();
    let dir = tempfile::tempdir().unwrap();
    let run = statebench(
        dir.path(),
        &["--provision", "native", "--adapters", REAL],
        &[],
        Duration::from_secs(600),
    );
    check_full_run(&run, "native");
    no_server_dirs_left(&before);
    assert!(processes_with_parent(run.pid).is_empty());
}

#[test]
fn an_image_that_does_not_exist_is_a_clear_reason() {
    if !usable("docker") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let env = [("STATEBENCH_REDIS_IMAGE", "statebench/does-not-exist:1")];
    let args = [
        "--provision",
        "docker",
        "--adapters",
        "redis,postgres",
        "--suites",
        "conformance",
    ];
    let run = statebench(dir.path(), &args, &env, Duration::from_secs(300));
    assert_eq!(run.code, Some(5), "named, so an error; {}", run.stderr);
    let reason = skipped(&run.results, "redis").expect("redis is skipped");
    assert!(
        reason.contains("statebench/does-not-exist:1") && reason.contains("not present"),
        "{reason}"
    );
    let postgres = run.results["conformance"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["subject"] == "postgres")
        .count();
    assert!(postgres >= 9, "the other backend still ran");
    no_containers_left(run.pid);
}

#[test]
fn a_server_that_dies_mid_run_gives_errors_not_a_hang() {
    if !usable("native") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut child, out) = spawn_long(dir.path(), "redis", "8s");
    // Wait for the measured phase, then kill the server the run started.
    std::thread::sleep(Duration::from_secs(4));
    let server = processes_with_parent(child.id())
        .into_iter()
        .find(|p| p.contains("redis-server"));
    let server = server
        .expect("the run started redis-server")
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert!(
        Command::new("kill")
            .args(["-KILL", &server])
            .status()
            .unwrap()
            .success()
    );
    let status = wait(
        &mut child,
        Duration::from_secs(120),
        "after its server died",
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    // The books after the trial cannot be read from a dead server: the lost-update check is
    // undecided (exit 4), unless blind writes had set every account the commands touched,
    // when there was nothing to check (exit 0). Never a pass, never a hang.
    let books = &results["trials"][0]["checks"][0];
    assert_eq!(books["check"], "lost-updates", "{books}");
    let correctness = &results["subjects"][0]["correctness"];
    if books["keys"].as_u64().unwrap() > 0 {
        assert_eq!(books["validity"], "unknown", "{books}");
        assert!(
            books["summary"]
                .as_str()
                .unwrap()
                .contains("could not be read back"),
            "{books}"
        );
        assert_eq!(status.code(), Some(4));
        assert_eq!(correctness["standing"], "unknown", "{correctness}");
    } else {
        assert_eq!(books["promised"], false, "{books}");
        assert_eq!(status.code(), Some(0));
    }
    let counts = &results["trials"][0]["measured"]["counts"];
    assert!(
        counts["ok"].as_u64().unwrap() > 0,
        "it ran before the kill: {counts}"
    );
    assert!(
        counts["indefinite"].as_u64().unwrap() > 0,
        "the dead server shows as indefinite errors: {counts}"
    );
}

/// Stops a run that is measuring on native servers with `signals` (in order, 300 ms apart)
/// and checks that it wrote what it measured and left nothing behind.
fn stop_with(signals: &[&str]) {
    let (dirs, processes) = (server_dirs(), server_processes());
    let dir = tempfile::tempdir().unwrap();
    let (mut child, out) = spawn_long(dir.path(), "postgres,redis", "60s");
    let start = Instant::now();
    while processes_with_parent(child.id()).len() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the servers never started"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(3));
    for signal in signals {
        let pid = child.id().to_string();
        assert!(
            Command::new("kill")
                .args([*signal, pid.as_str()])
                .status()
                .unwrap()
                .success()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let status = wait(
        &mut child,
        Duration::from_secs(90),
        &format!("on {signals:?}"),
    );
    assert_eq!(status.code(), Some(130), "{signals:?}");
    if signals.len() == 1 {
        let text = std::fs::read_to_string(out.join("results.json")).unwrap();
        let results: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(results["interrupted"], true);
    }
    no_server_dirs_left(&dirs);
    let left: Vec<String> = server_processes().difference(&processes).cloned().collect();
    assert!(
        left.is_empty(),
        "server processes left behind after {signals:?}: {left:?}"
    );
}

/// Starts a throughput run on native servers for `adapters`, measuring `measure` per step.
fn spawn_long(
    dir: &Path,
    adapters: &str,
    measure: &str,
) -> (std::process::Child, std::path::PathBuf) {
    let workload = dir.join("long.yaml");
    std::fs::write(
        &workload,
        WORKLOAD.replace("duration: 500ms", &format!("duration: {measure}")),
    )
    .unwrap();
    let out = dir.join("run");
    let child = Command::new(assert_cmd::cargo::cargo_bin("statebench"))
        .args([
            "run",
            "--provision",
            "native",
            "--adapters",
            adapters,
            "--suites",
            "throughput",
            "--workload",
        ])
        .arg(&workload)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (child, out)
}

/// Waits for `child` to exit, failing the test after `limit`.
fn wait(child: &mut std::process::Child, limit: Duration, what: &str) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("statebench did not stop {what} within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn sigterm_stops_a_run_cleanly() {
    if usable("native") {
        stop_with(&["-TERM"]);
    }
}

#[test]
fn a_second_ctrl_c_quits_at_once_and_still_removes_the_servers() {
    if usable("native") {
        stop_with(&["-INT", "-INT"]);
    }
}
