//! What the server tests share: whether servers can run here (and what to do when they
//! cannot), and what the harness may have left behind.
#![allow(dead_code)] // each test file uses its own part

pub mod faults;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

/// A workload of two short steps (one rate, one worker count) on 100 keys, for tests that
/// run many trials.
pub const TINY: &str = "\
name: tiny
keys: {count: 100}
mix: {read: 80, command: 20}
warmup: {duration: 0.1s}
measure: {duration: 0.2s}
open: {rates: [500]}
closed: {concurrency: [2]}
";

/// Whether this runs in CI, where a missing server is a failure rather than a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The native servers, as their programs are named.
pub const NATIVE_SERVERS: [&str; 4] = ["postgres", "redis-server", "valkey-server", "nats-server"];

/// True when `mode` (`docker` or `native`) can run here; otherwise skips loudly, or fails
/// in CI.
pub fn usable(mode: &str) -> bool {
    match mode {
        "docker" => present_or_skip(mode, docker_missing()),
        _ => usable_native(&NATIVE_SERVERS),
    }
}

/// True when the native `servers` (of [`NATIVE_SERVERS`]) can run here; otherwise skips
/// loudly, or fails in CI.
pub fn usable_native(servers: &[&str]) -> bool {
    present_or_skip("native", native_missing(servers))
}

fn present_or_skip(mode: &str, missing: Option<String>) -> bool {
    match missing {
        None => true,
        Some(why) if in_ci() => panic!("CI=true, and the {mode} servers are missing: {why}"),
        Some(why) => {
            eprintln!(
                "SKIPPED: no {mode} servers on this machine ({why}); run ci/test to set them up"
            );
            false
        }
    }
}

/// Why the locally built images cannot run here, if they cannot.
pub fn docker_missing() -> Option<String> {
    let engine = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output();
    if !engine.is_ok_and(|o| o.status.success()) {
        return Some("no Docker engine answers".into());
    }
    for backend in ["POSTGRES", "REDIS", "VALKEY", "NATS"] {
        let variable = format!("STATEBENCH_{backend}_IMAGE");
        let Ok(image) = std::env::var(&variable) else {
            return Some(format!("{variable} is not set (ci/images/build prints it)"));
        };
        let present = Command::new("docker")
            .args(["image", "inspect", &image])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !present.is_ok_and(|s| s.success()) {
            return Some(format!("image {image} is not built"));
        }
    }
    None
}

/// Why the native `servers` cannot run here, if they cannot.
pub fn native_missing(servers: &[&str]) -> Option<String> {
    let installed = |server: &str| match server {
        "postgres" => {
            std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|mut d| d.next().is_some())
                || which("postgres")
        }
        program => which(program),
    };
    servers
        .iter()
        .find(|server| !installed(server))
        .map(|server| format!("{server} is not installed"))
}

/// Whether `program` is on the PATH (or in /usr/sbin, /usr/bin).
pub fn which(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin"].map(Into::into))
        .any(|dir| dir.join(program).is_file())
}

/// The ids of the containers that carry the label of the harness process `pid`.
pub fn labelled_containers(pid: u32) -> String {
    let listed = Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=org.statebench.pid={pid}"),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&listed.stdout).trim().to_owned()
}

/// Nothing of the run's containers remains.
pub fn no_containers_left(pid: u32) {
    let left = labelled_containers(pid);
    assert!(left.is_empty(), "containers left behind: {left}");
}

/// The server directories in the temporary directory, by name.
pub fn server_dirs() -> BTreeSet<String> {
    std::fs::read_dir(std::env::temp_dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("statebench-"))
        .collect()
}

/// Processes whose command line contains `needle`, as `pid args` lines.
pub fn processes_naming(needle: &str) -> BTreeSet<String> {
    let out = Command::new("ps")
        .args(["-eo", "pid=,args="])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(needle) && !l.contains("ps -eo"))
        .map(|l| l.trim().to_owned())
        .collect()
}

/// Processes whose command line names a statebench server directory.
pub fn server_processes() -> BTreeSet<String> {
    processes_naming("/statebench-")
}

/// Processes in any of the process groups `groups`, as `pid pgid comm` lines.
pub fn processes_in_groups(groups: &BTreeSet<u32>) -> Vec<String> {
    let out = Command::new("ps")
        .args(["-eo", "pid=,pgid=,comm="])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|g| g.parse().ok())
                .is_some_and(|g: u32| groups.contains(&g))
        })
        .map(|l| l.trim().to_owned())
        .collect()
}

/// The children of `pid`, as `pid comm` lines.
pub fn processes_with_parent(pid: u32) -> Vec<String> {
    let out = Command::new("ps")
        .args(["-o", "pid=,comm=", "--ppid", &pid.to_string()])
        .output();
    out.map(|o| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}
