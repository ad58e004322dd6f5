//! Numbers as people read them: short, with units, deterministic.

/// A latency given in microseconds: `0.42 µs`, `850 µs`, `3.02 ms`, `1.20 s`.
pub fn latency_us(us: f64) -> String {
    match us {
        us if us < 10.0 => format!("{us:.2} µs"),
        us if us < 1_000.0 => format!("{us:.0} µs"),
        us if us < 1_000_000.0 => format!("{:.2} ms", us / 1_000.0),
        us => format!("{:.2} s", us / 1_000_000.0),
    }
}

/// A rate per second: `950`, `12.3 k`, `1.25 M`.
pub fn rate(per_s: f64) -> String {
    match per_s {
        r if r < 1_000.0 => format!("{r:.0}"),
        r if r < 1_000_000.0 => format!("{:.1} k", r / 1_000.0),
        r => format!("{:.2} M", r / 1_000_000.0),
    }
}

/// Events per second over `elapsed`; zero when no time passed.
pub fn per_second(n: u64, elapsed: std::time::Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        n as f64 / seconds
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_step_up_at_a_thousand() {
        assert_eq!(latency_us(0.423), "0.42 µs");
        assert_eq!(latency_us(850.2), "850 µs");
        assert_eq!(latency_us(3_021.0), "3.02 ms");
        assert_eq!(latency_us(1_200_000.0), "1.20 s");
        assert_eq!(rate(950.4), "950");
        assert_eq!(rate(12_345.0), "12.3 k");
        assert_eq!(rate(1_250_000.0), "1.25 M");
    }
}
