//! Exit codes a script can trust: an adapter named with `--adapters` that cannot be provided
//! exits 5 (its results and reports still written, with the reason), whatever was wrong: no
//! URL, an empty, malformed or unreachable one, a web server that does not speak the HTTP
//! state contract. The default all-adapters run skips what it cannot provide and exits 0.
//!
//! Exit 4 of a run is tested in servers.rs (a server that dies mid-run) and of `check` in
//! check.rs; 130 in cli.rs and servers.rs.

mod support;

use assert_cmd::Command;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Every variable that points statebench at a server: removed, so that only a test's own
/// settings count.
const URL_VARIABLES: [&str; 5] = [
    "STATEBENCH_POSTGRES_URL",
    "STATEBENCH_REDIS_URL",
    "STATEBENCH_NATS_URL",
    "STATEBENCH_KURRENTDB_URL",
    "STATEBENCH_HTTP_URL",
];

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

impl Ran {
    fn results(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.out.join("results.json"))
            .unwrap_or_else(|e| panic!("no results.json ({e}); stderr:\n{}", self.stderr));
        serde_json::from_str(&text).unwrap()
    }

    /// The reason the adapter `name` was skipped, as results.json has it.
    fn skipped(&self, name: &str) -> String {
        let r = self.results();
        let found = r["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name && s["suite"].is_null())
            .and_then(|s| s["reason"].as_str().map(str::to_owned));
        found.unwrap_or_else(|| panic!("{name} is not skipped: {}", r["skipped"]))
    }

    /// Exit 5: the results and both reports are written, the skip is in them, and one
    /// stderr line names the adapter and says `why`.
    fn unprovided(&self, name: &str, why: &str) {
        assert_eq!(
            self.code, 5,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        let reason = self.skipped(name);
        assert!(reason.contains(why), "`{reason}` should say `{why}`");
        let line = self
            .stderr
            .lines()
            .find(|l| l.starts_with("error: cannot provide the adapters named with --adapters"))
            .unwrap_or_else(|| panic!("no error line; stderr:\n{}", self.stderr));
        assert!(
            line.contains(&format!("{name}: ")) && line.contains(why),
            "{line}"
        );
        for report in ["report.md", "index.html"] {
            let text = std::fs::read_to_string(self.out.join(report)).unwrap();
            assert!(text.contains(name), "{report} names {name}");
        }
    }
}

/// `statebench run ARGS --out DIR` with no server URLs but `env`.
fn run(args: &[&str], env: &[(&str, &str)]) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut command = Command::cargo_bin("statebench").unwrap();
    command.arg("run").args(args).arg("--out").arg(&out);
    for variable in URL_VARIABLES {
        command.env_remove(variable);
    }
    let output = command
        .envs(env.iter().copied())
        .timeout(Duration::from_secs(180))
        .output()
        .unwrap();
    Ran {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        out,
        _dir: dir,
    }
}

/// `--adapters http` and a quick suite; postgres only from a URL, so that the in-process
/// service cannot stand in for a missing `STATEBENCH_HTTP_URL`.
const HTTP: [&str; 6] = [
    "--adapters",
    "http",
    "--suites",
    "conformance",
    "--provision",
    "postgres=external",
];

#[test]
fn http_with_no_url_or_an_empty_one_exits_5() {
    for env in [&[][..], &[("STATEBENCH_HTTP_URL", "")][..]] {
        let ran = run(&HTTP, env);
        ran.unprovided("http", "no STATEBENCH_HTTP_URL given");
        assert!(
            ran.skipped("http").contains("STATEBENCH_POSTGRES_URL"),
            "says what would provide it"
        );
    }
}

#[test]
fn http_with_a_malformed_url_exits_5() {
    for url in ["not a url", "ftp://x", "http://"] {
        let ran = run(&HTTP, &[("STATEBENCH_HTTP_URL", url)]);
        ran.unprovided("http", "invalid configuration: HTTP URL");
    }
}

#[test]
fn http_with_an_unreachable_url_exits_5() {
    let ran = run(&HTTP, &[("STATEBENCH_HTTP_URL", "http://127.0.0.1:1")]);
    ran.unprovided("http", "cannot reach the server");
}

/// A web server that answers 404 to every request, as any server without the contract's
/// routes would.
fn not_the_contract() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                // Reads the request (head and body) before answering.
                let mut request = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&request[..end]).to_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|l| l.trim().parse().ok())
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break;
                        }
                    }
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&chunk[..n]),
                    }
                }
                let body = "<h1>Not Found</h1>";
                let answer = format!(
                    "HTTP/1.1 404 Not Found\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes());
            });
        }
    });
    base
}

#[test]
fn http_on_a_web_server_that_does_not_speak_the_contract_exits_5() {
    let base = not_the_contract();
    let ran = run(&HTTP, &[("STATEBENCH_HTTP_URL", &base)]);
    ran.unprovided("http", "does not speak the HTTP state contract");
    assert!(
        ran.skipped("http").contains("404 Not Found"),
        "says what it answered"
    );
}

#[test]
fn postgres_external_with_no_url_or_a_malformed_one_exits_5() {
    let args = [
        "--adapters",
        "postgres",
        "--provision",
        "postgres=external",
        "--suites",
        "conformance",
    ];
    run(&args, &[]).unprovided("postgres", "no URL given: set STATEBENCH_POSTGRES_URL");
    let ran = run(&args, &[("STATEBENCH_POSTGRES_URL", "not a url")]);
    ran.unprovided("postgres", "malformed URL");
}

#[test]
fn what_can_run_still_runs_and_is_written_beside_the_adapter_that_cannot() {
    let ran = run(
        &[
            "--adapters",
            "memory,http",
            "--suites",
            "conformance,throughput",
            "--duration",
            "0.2",
        ],
        &[("STATEBENCH_HTTP_URL", "http://127.0.0.1:1")],
    );
    ran.unprovided("http", "cannot reach the server");
    let r = ran.results();
    let subjects: Vec<&str> = r["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["memory:state", "memory:events"]);
    assert!(!r["trials"].as_array().unwrap().is_empty());
    assert!(ran.stdout.contains("memory:state"), "{}", ran.stdout);
}

#[test]
fn the_default_run_skips_what_it_cannot_provide_and_exits_0() {
    // Every backend external with no URL: only memory can run.
    let ran = run(&["--provision", "external", "--suites", "conformance"], &[]);
    assert_eq!(ran.code, 0, "stderr:\n{}", ran.stderr);
    for name in ["postgres", "redis", "jetstream", "kurrentdb", "http"] {
        assert!(ran.skipped(name).contains("no URL given"), "{name}");
    }
    assert!(!ran.stderr.contains("cannot provide"), "{}", ran.stderr);
}

#[test]
fn a_run_of_memory_exits_0() {
    let ran = run(
        &[
            "--adapters",
            "memory",
            "--suites",
            "conformance,latency",
            "--duration",
            "0.2",
        ],
        &[],
    );
    assert_eq!(ran.code, 0, "stderr:\n{}", ran.stderr);
    assert!(ran.results()["skipped"].as_array().unwrap().is_empty());
}

#[test]
fn bad_input_exits_1_and_an_unknown_flag_2_before_anything_runs() {
    for (args, code, says) in [
        (&["--adapters", "mongo"][..], 1, "unknown adapter `mongo`"),
        (&["--duration", "0"][..], 1, "--duration must be a positive"),
        (
            &["--provision", "sometimes"][..],
            1,
            "unknown provisioning mode",
        ),
        (&["--frobnicate"][..], 2, "unexpected argument"),
    ] {
        let ran = run(args, &[]);
        assert_eq!(ran.code, code, "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.contains(says), "{args:?}: {}", ran.stderr);
        assert!(
            !ran.out.join("results.json").exists(),
            "{args:?}: nothing ran"
        );
    }
}

#[test]
fn a_broken_promise_exits_3_and_outranks_an_adapter_not_provided() {
    let ran = run(
        &[
            "--adapters",
            "broken-cas,http",
            "--workload",
            "hot-key-commands",
            "--suites",
            "throughput",
            "--duration",
            "0.3",
        ],
        &[("STATEBENCH_HTTP_URL", "http://127.0.0.1:1")],
    );
    assert_eq!(ran.code, 3, "stderr:\n{}", ran.stderr);
    assert!(
        ran.stderr.contains("checks failed: broken-cas"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr
            .contains("cannot provide the adapters named with --adapters"),
        "both are said: {}",
        ran.stderr
    );
}

/// statebench-service, in this process, over the memory store: the probe accepts it.
#[test]
fn http_on_statebench_service_exits_0() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = Arc::new(statebench_adapters::memory::Memory::new());
    let (base, _task) = runtime.block_on(statebench_service::spawn(store)).unwrap();
    let ran = run(&HTTP, &[("STATEBENCH_HTTP_URL", &base)]);
    assert_eq!(ran.code, 0, "stderr:\n{}", ran.stderr);
    passes_conformance(&ran.results(), "http");
}

/// statebench-service in process over a native PostgreSQL, as the run provides it.
#[test]
fn http_on_statebench_service_over_native_postgres_exits_0() {
    if !support::usable_native(&["postgres"]) {
        return;
    }
    let args = [
        "--adapters",
        "http",
        "--suites",
        "conformance",
        "--provision",
        "postgres=native",
    ];
    let ran = run(&args, &[]);
    assert_eq!(ran.code, 0, "stderr:\n{}", ran.stderr);
    passes_conformance(&ran.results(), "http");
}

fn passes_conformance(r: &serde_json::Value, subject: &str) {
    let checks: Vec<&serde_json::Value> = r["conformance"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["subject"] == subject)
        .collect();
    assert!(checks.len() >= 9, "{}", r["conformance"]);
    for c in checks {
        assert_ne!(c["status"], "fail", "{c}");
    }
}
