//! Resident memory over a long run: the real `statebench run` (progress, trials, results,
//! reports and interval logs included) drives 10 million closed-loop operations against
//! `noop`, while this bench reads the child's `VmRSS` and `VmHWM` from `/proc` every 100 ms.
//! It prints the resident memory at each tenth of the run, to show that it stays flat, and
//! fails when the peak reaches 50 MB.
//!
//! `cargo bench -p statebench --bench memory`; `STATEBENCH_BENCH_QUICK=1` runs 1 million
//! operations; `STATEBENCH_MEMORY_OPS=N` any other number. Linux only (it reads `/proc`).

use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// The bound of issue 9: a 10-million-operation run stays under 50 MB resident.
const LIMIT_KB: u64 = 50 * 1024;
const POLL: Duration = Duration::from_millis(100);
/// However slow the machine, the bench ends: 10 M operations at 50 k/s.
const TIMEOUT: Duration = Duration::from_secs(200);

fn workload(ops: u64) -> String {
    format!(
        "name: memory-over-time
description: read-heavy on a fixed key space, one long closed-loop phase
keys: {{count: 10000, distribution: zipfian, theta: 0.99}}
mix: {{read: 95, command: 5}}
value_size: 256
warmup: {{ops: 10000}}
measure: {{ops: {ops}}}
closed: {{concurrency: [8]}}
seed: 1
"
    )
}

/// `VmRSS` and `VmHWM` of process `pid`, in kB.
fn resident_kb(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench` and maybe a filter; this bench has nothing to filter.
    let quick = std::env::var("STATEBENCH_BENCH_QUICK").is_ok_and(|v| v == "1" || v == "true");
    let ops: u64 = std::env::var("STATEBENCH_MEMORY_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 1_000_000 } else { 10_000_000 });
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("memory.yaml");
    std::fs::write(&file, workload(ops)).expect("the workload file is written");
    let mut child = Command::new(env!("CARGO_BIN_EXE_statebench"))
        .args([
            "run",
            "--adapters",
            "noop",
            "--suites",
            "throughput",
            "--workload",
        ])
        .arg(&file)
        .arg("--out")
        .arg(dir.path().join("out"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("statebench starts");
    let start = Instant::now();
    let mut samples = Vec::new();
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            eprintln!("memory: statebench ran longer than {TIMEOUT:?}; killed");
            return ExitCode::FAILURE;
        }
        // A process still starting (before `exec`) or already gone reads as nothing.
        if let Some(kb) = resident_kb(child.id()).filter(|&(rss, _)| rss > 0) {
            samples.push((start.elapsed(), kb));
        }
        std::thread::sleep(POLL);
    };
    let elapsed = start.elapsed();
    let Some(&(_, (_, peak))) = samples.last() else {
        eprintln!("memory: no sample of /proc/<pid>/status (not Linux?)");
        return ExitCode::FAILURE;
    };
    println!(
        "memory: statebench run, noop, {ops} operations (8 workers), {:.1} s, exit {status}",
        elapsed.as_secs_f64()
    );
    println!("memory: resident (VmRSS) at each tenth of the run, MB:");
    let tenths: Vec<String> = (1..=10)
        .filter_map(|t| samples.get((samples.len() * t / 10).saturating_sub(1)))
        .map(|(at, (rss, _))| format!("{:.1}s {:.1}", at.as_secs_f64(), *rss as f64 / 1024.0))
        .collect();
    println!("memory:   {}", tenths.join(" | "));
    println!(
        "memory: peak (VmHWM) {:.1} MB; limit {} MB",
        peak as f64 / 1024.0,
        LIMIT_KB / 1024
    );
    if !status.success() {
        eprintln!("memory: statebench failed: {status}");
        return ExitCode::FAILURE;
    }
    if peak >= LIMIT_KB {
        eprintln!("memory: peak resident memory {peak} kB is over the limit");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
