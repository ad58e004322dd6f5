//! The binary as a user meets it: the default run writes its files, bad input gets a one-line
//! error and a non-zero exit, Ctrl-C keeps what was measured.

use assert_cmd::Command;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn statebench() -> Command {
    Command::cargo_bin("statebench").expect("the binary is built")
}

fn results(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("results.json")).expect("results.json exists");
    serde_json::from_str(&text).expect("results.json is JSON")
}

#[test]
fn a_memory_run_writes_results_and_both_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let assert = statebench()
        .args(["run", "--adapters", "memory", "--duration", "0.3", "--out"])
        .arg(&out)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(
        stdout.contains("memory:state") && stdout.contains("report:"),
        "{stdout}"
    );
    let r = results(&out);
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["interrupted"], false);
    assert_eq!(r["config"]["workload"]["name"], "read-heavy");
    let subjects: Vec<&str> = r["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["memory:state", "memory:events"]);
    let trials = r["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 10, "2 rates + 3 concurrencies, on 2 subjects");
    for t in trials {
        assert!(t["measured"]["ops"].as_u64().unwrap() > 0, "{}", t["id"]);
        assert!(
            t["measured"]["operations"][0]["response"]["p99_us"]
                .as_f64()
                .unwrap()
                > 0.0
        );
        let log = t["interval_log"].as_str().expect("an interval log");
        assert!(
            std::fs::read_to_string(out.join(log))
                .unwrap()
                .contains("read:response")
        );
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Latency (open loop)") && md.contains("## Conformance"));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<table>"));
}

#[test]
fn report_renders_the_same_reports_again_from_results_json() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    statebench()
        .args([
            "run",
            "--adapters",
            "memory",
            "--suites",
            "conformance,throughput",
            "--duration",
            "0.2",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    std::fs::remove_file(out.join("report.md")).unwrap();
    std::fs::remove_file(out.join("index.html")).unwrap();
    statebench().arg("report").arg(&out).assert().success();
    assert_eq!(std::fs::read_to_string(out.join("report.md")).unwrap(), md);
    assert_eq!(
        std::fs::read_to_string(out.join("index.html")).unwrap(),
        html
    );
    // The path to results.json itself: the reports go next to it, wherever it is.
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::copy(out.join("results.json"), elsewhere.join("results.json")).unwrap();
    statebench()
        .arg("report")
        .arg(elsewhere.join("results.json"))
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(elsewhere.join("report.md")).unwrap(),
        md
    );
    assert_eq!(
        std::fs::read_to_string(elsewhere.join("index.html")).unwrap(),
        html
    );
}

#[test]
fn report_refuses_a_missing_or_invalid_results_file() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing.json");
    let (code, stderr) = refused(&["report", missing.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("cannot read") && stderr.contains("missing.json"),
        "{stderr}"
    );
    let invalid = tmp.path().join("results.json");
    std::fs::write(&invalid, "not json").unwrap();
    let (code, stderr) = refused(&["report", invalid.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("not statebench results"), "{stderr}");
    assert!(!tmp.path().join("report.md").exists());
}

/// Runs `args` and returns the exit code and stderr, asserting it failed with one line.
fn refused(args: &[&str]) -> (i32, String) {
    let output = statebench().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let code = output.status.code().unwrap_or(-1);
    assert_ne!(code, 0, "{args:?} should fail");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{args:?}: one line, got: {stderr}"
    );
    assert!(stderr.starts_with("error"), "{stderr}");
    (code, stderr)
}

#[test]
fn bad_input_gets_one_line_and_a_non_zero_exit() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, "name: bad\nkeys:\n  count: -4\nmix: {read: 1}\n").unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, "").unwrap();
    let out = tmp.path().join("out").display().to_string();
    let under_a_file = file.join("out").display().to_string();
    let bad = bad.display().to_string();
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["run", "--workload", &bad, "--out", &out],
            format!("{bad}:3: field `keys.count`"),
        ),
        (
            vec!["run", "--workload", "nope", "--out", &out],
            "no such workload".into(),
        ),
        (
            vec!["run", "--adapters", "mongo", "--out", &out],
            "unknown adapter `mongo`".into(),
        ),
        (
            vec!["run", "--suites", "speed", "--out", &out],
            "unknown suite `speed`".into(),
        ),
        (
            vec!["run", "--duration", "0", "--out", &out],
            "--duration must be a positive".into(),
        ),
        (
            vec!["run", "--duration", "-1", "--out", &out],
            "got `-1`".into(),
        ),
        (
            vec!["run", "--out", &under_a_file],
            "cannot write to output directory".into(),
        ),
        (
            vec!["report", tmp.path().to_str().unwrap()],
            "cannot read".into(),
        ),
        (vec!["run", "--frobnicate"], "unexpected argument".into()),
    ];
    for (args, message) in cases {
        let (_, stderr) = refused(&args);
        assert!(
            stderr.contains(&message),
            "{args:?}: `{stderr}` should say `{message}`"
        );
    }
    assert!(
        !Path::new(&out).join("results.json").exists(),
        "nothing ran"
    );
}

#[test]
fn an_earlier_run_is_never_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("results.json"), "{}").unwrap();
    let (_, stderr) = refused(&["run", "--out", tmp.path().to_str().unwrap()]);
    assert!(stderr.contains("already holds a run"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("results.json")).unwrap(),
        "{}"
    );
}

#[test]
fn list_names_every_adapter_workload_and_suite() {
    let assert = statebench().arg("list").assert().success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    for name in [
        "memory",
        "noop",
        "read-heavy",
        "update-heavy",
        "hot-key-commands",
        "event-sourced",
        "gate",
        "conformance",
        "latency",
        "throughput",
    ] {
        assert!(stdout.contains(name), "`{name}` missing from:\n{stdout}");
    }
}

#[test]
fn list_shows_each_workloads_settings_in_100_columns() {
    let assert = statebench().arg("list").assert().success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    for detail in [
        "10000 (zipfian, theta 0.99)",
        "95% read, 5% command",
        "warm-up 500ms, measured 2s per step",
        "1000/s, 5000/s offered; constant arrivals, at most 64 in flight",
        "1, 4, 16 workers,",
        "1, 4, 16, 64 workers,",
        "1000 (hotspot, 80% of operations on 10% of keys)",
    ] {
        assert!(
            stdout.contains(detail),
            "`{detail}` missing from:\n{stdout}"
        );
    }
    for line in stdout.lines() {
        assert!(line.chars().count() <= 100, "too wide: {line}");
    }
}

#[test]
fn workload_show_prints_yaml_that_workload_reads_back_unchanged() {
    use statebench_suites::workload::{BUILTIN, Workload, builtin};
    let tmp = tempfile::tempdir().unwrap();
    for (name, _) in BUILTIN {
        let assert = statebench()
            .args(["workload", "show", name])
            .assert()
            .success();
        let file = tmp.path().join(format!("{name}.yaml"));
        std::fs::write(&file, &assert.get_output().stdout).unwrap();
        // `--workload FILE` resolves its argument with this loader.
        let back = Workload::resolve(file.to_str().unwrap()).unwrap();
        assert_eq!(back, builtin(name).unwrap().unwrap(), "{name}");
    }
    let (code, stderr) = refused(&["workload", "show", "nope"]);
    assert_eq!(code, 1);
    for (name, _) in BUILTIN {
        assert!(stderr.contains(name), "{stderr}");
    }
}

#[test]
fn progress_prints_one_line_per_step_with_the_summarys_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let assert = statebench()
        .args([
            "run",
            "--adapters",
            "memory",
            "--suites",
            "conformance,latency",
            "--duration",
            "0.1",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let output = assert.get_output();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    // Two subjects, each: conformance, then one trial per rate (two): six steps, a line
    // each, counted against the plan; loads and warm-ups print no line of their own.
    let steps: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('['))
        .collect();
    assert_eq!(steps.len(), 6, "{stderr}");
    for (i, line) in steps.iter().enumerate() {
        assert!(line.starts_with(&format!("[{}/6] ", i + 1)), "{stderr}");
    }
    assert!(
        !stderr.contains("(load)") && !stderr.contains("(warm-up)"),
        "{stderr}"
    );
    let r = results(&out);
    for subject in ["memory:state", "memory:events"] {
        let summary = stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("conformance {subject}: ")))
            .unwrap_or_else(|| panic!("no conformance line for {subject}:\n{stdout}"));
        let progress = format!("{subject}: conformance: {summary}");
        assert!(
            steps.iter().any(|l| l.ends_with(&progress)),
            "`{progress}` missing from:\n{stderr}"
        );
        let count = |status: &str| {
            r["conformance"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["subject"] == subject && c["status"] == status)
                .count()
        };
        assert_eq!(
            summary,
            format!(
                "{} pass, {} FAIL, {} unsupported",
                count("pass"),
                count("fail"),
                count("unsupported")
            )
        );
    }
}

#[test]
fn ctrl_c_writes_what_was_measured_and_exits_130() {
    use std::io::BufRead;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("statebench"))
        .args([
            "run",
            "--adapters",
            "memory",
            "--suites",
            "conformance,latency",
            "--duration",
            "60",
            "--out",
        ])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the conformance step is over, then past the first trial's load and 0.5 s
    // warm-up, so its measured phase is under way.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let checked = stderr
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("memory:state: conformance:"));
    assert!(checked, "the run never finished its conformance step");
    std::thread::sleep(Duration::from_secs(3));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    assert!(killed.unwrap().success());
    std::thread::spawn(move || stderr.for_each(drop));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "statebench did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    let r = results(&out);
    assert_eq!(r["interrupted"], true);
    let trial = &r["trials"][0];
    assert_eq!(trial["interrupted"], true);
    assert!(
        trial["measured"]["ops"].as_u64().unwrap() > 0,
        "what ran before the stop is kept"
    );
    assert!(out.join("report.md").exists() && out.join("index.html").exists());
}

#[test]
fn bad_provisioning_input_is_refused_or_skipped_with_its_reason() {
    let (code, stderr) = refused(&["run", "--provision", "sometimes"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("unknown provisioning mode `sometimes`"),
        "{stderr}"
    );
    let (_, stderr) = refused(&["run", "--provision", "mongo=docker"]);
    assert!(stderr.contains("unknown backend `mongo`"), "{stderr}");

    // A malformed URL and an unreachable one: those adapters are skipped with the reason,
    // within seconds, and the rest of the run goes on; named, they make it exit 5.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let started = Instant::now();
    statebench()
        .args([
            "run",
            "--provision",
            "external",
            "--adapters",
            "memory,redis,jetstream",
            "--suites",
            "conformance",
            "--out",
        ])
        .arg(&out)
        .env("STATEBENCH_REDIS_URL", "redis//no-scheme")
        .env("STATEBENCH_NATS_URL", "nats://127.0.0.1:1")
        .assert()
        .code(5);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    let r = results(&out);
    let reason = |name: &str| {
        let skipped = r["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name);
        skipped
            .and_then(|s| s["reason"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        reason("redis").contains("malformed URL"),
        "{}",
        reason("redis")
    );
    assert!(
        reason("jetstream").contains("cannot reach"),
        "{}",
        reason("jetstream")
    );
    let memory = r["conformance"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["subject"] == "memory:state");
    assert_eq!(memory.count(), 9, "memory still ran");
}

#[test]
fn a_store_that_breaks_its_promises_fails_the_run_and_never_passes_for_the_fastest() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let output = statebench()
        .args([
            "run",
            "--adapters",
            "memory,broken-cas",
            "--workload",
            "hot-key-commands",
            "--suites",
            "throughput,consistency",
            "--duration",
            "0.3",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stdout}{stderr}");
    assert!(stderr.contains("checks failed: broken-cas"), "{stderr}");
    assert!(
        stdout.contains("fastest that passed every check: memory:state"),
        "{stdout}"
    );
    let mut r = results(&out);
    let standing = |r: &serde_json::Value, name: &str| {
        r["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["correctness"]["standing"]
            .clone()
    };
    assert_eq!(standing(&r, "broken-cas"), "fail");
    assert_eq!(standing(&r, "memory:state"), "pass");
    for t in r["trials"].as_array().unwrap() {
        let expected = if t["subject"] == "broken-cas" {
            "fail"
        } else {
            "pass"
        };
        assert_eq!(t["standing"], expected, "{}", t["id"]);
    }
    let histories = std::fs::read_dir(out.join("histories")).unwrap().count();
    assert_eq!(
        histories, 5,
        "registers and accounts for 2 state subjects, streams for 1"
    );
    // Make the broken store the fastest, as a store that skips its work often is: the
    // report must say it is not comparable and name the fastest correct one.
    for t in r["trials"].as_array_mut().unwrap() {
        if t["subject"] == "broken-cas" {
            t["measured"]["ok_per_s"] = serde_json::json!(1.0e9);
        }
    }
    std::fs::write(out.join("results.json"), serde_json::to_string(&r).unwrap()).unwrap();
    statebench().arg("report").arg(&out).assert().success();
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("Faster, but not comparable"), "{md}");
    assert!(
        md.contains("broken-cas: 1.00 G ok/s, FAIL")
            || md.contains("broken-cas: 1000.00 M ok/s, FAIL"),
        "{md}"
    );
    assert!(md.contains("Fastest that passed every check: memory:state"));
    assert!(md.contains("broken-cas (FAILED checks)"));
    // The answer first: the banner, then the ranking, where the broken store ranks first by
    // goodput but carries its failure and the not-comparable mark on its own line.
    let banner = md
        .find("[!CAUTION]")
        .expect("a banner for the broken promise");
    let ranking = md.find("## Summary: ").expect("the ranking");
    assert!(banner < ranking, "{md}");
    let first = md[ranking..]
        .lines()
        .find(|l| l.starts_with("| 1 |"))
        .expect("a first-ranked row");
    assert!(
        first.contains("broken-cas") && first.contains("ok/s*") && first.contains("FAIL"),
        "{first}"
    );
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("Faster, but not comparable"));
}

#[test]
fn a_run_appends_its_report_to_the_github_step_summary() {
    let dir = tempfile::tempdir().expect("a directory");
    let summary = dir.path().join("step-summary.md");
    std::fs::write(&summary, "earlier step\n").expect("the summary file");
    statebench()
        .args([
            "run",
            "--adapters",
            "memory",
            "--suites",
            "conformance",
            "--out",
        ])
        .arg(dir.path().join("run"))
        .env("GITHUB_STEP_SUMMARY", &summary)
        .assert()
        .success();
    let text = std::fs::read_to_string(&summary).expect("the summary is readable");
    let report =
        std::fs::read_to_string(dir.path().join("run/report.md")).expect("report.md is written");
    assert_eq!(text, format!("earlier step\n{report}\n"));
}
