//! A description of the machine the harness runs on, for the results.

use statebench_suites::results::Machine;

/// What can be learned about this machine without privileges.
pub fn describe() -> Machine {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let cpu_model = read("/proc/cpuinfo").and_then(|text| {
        text.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
    });
    let memory_bytes = read("/proc/meminfo").and_then(|text| {
        let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    });
    Machine {
        os: std::env::consts::OS.to_owned(),
        arch: std::env::consts::ARCH.to_owned(),
        kernel: read("/proc/sys/kernel/osrelease").map(|k| k.trim().to_owned()),
        cpu_model,
        logical_cpus: statebench_suites::engine::available_cpus(),
        memory_bytes,
    }
}
