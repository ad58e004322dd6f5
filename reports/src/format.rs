//! Numbers as people read them: short, with units, deterministic.

pub use statebench_suites::units::{latency_us, rate};

/// Bytes in binary units: `512 B`, `23.4 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A duration given in milliseconds: `850 ms`, `2.0 s`.
pub fn duration_ms(ms: f64) -> String {
    if ms < 1_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_naturally() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(25_125_558_272), "23.4 GiB");
        assert_eq!(duration_ms(850.0), "850 ms");
        assert_eq!(duration_ms(2_000.0), "2.0 s");
    }
}
