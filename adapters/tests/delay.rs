//! How precise the injected latency is: 16 tasks wait at once, over and over, and each wait's
//! overshoot (how much longer than asked it took) is measured. Run with `--nocapture` to
//! see the figures (`cargo test -p statebench-adapters --release --test delay --
//! --nocapture`).

use statebench_adapters::fault::delay;
use std::time::{Duration, Instant};

const WAITERS: usize = 16;

/// Every wait's overshoot in ns when `WAITERS` tasks each wait `asked` `rounds` times.
async fn overshoots(asked: Duration, rounds: usize, tokio_timer: bool) -> Vec<u64> {
    let mut tasks = Vec::new();
    for waiter in 0..WAITERS {
        tasks.push(tokio::spawn(async move {
            // Spread the waiters over the delay, as operations would be.
            let offset = asked.mul_f64(waiter as f64 / WAITERS as f64);
            delay::sleep(offset).await;
            let mut seen = Vec::with_capacity(rounds);
            for _ in 0..rounds {
                let start = Instant::now();
                if tokio_timer {
                    tokio::time::sleep(asked).await;
                } else {
                    delay::sleep(asked).await;
                }
                let took = start.elapsed();
                assert!(took >= asked, "asked {asked:?}, woke after {took:?}");
                seen.push((took - asked).as_nanos() as u64);
            }
            seen
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort_unstable();
    all
}

fn quantile(sorted: &[u64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize] as f64 / 1e3
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delay_is_never_shorter_than_asked_and_overshoots_by_microseconds() {
    for (us, rounds) in [(20, 400), (200, 200), (2_000, 40), (7_000, 10)] {
        let asked = Duration::from_micros(us);
        let over = overshoots(asked, rounds, false).await;
        let (p50, p99) = (quantile(&over, 0.5), quantile(&over, 0.99));
        let max = quantile(&over, 1.0);
        println!(
            "delay {us} µs, {WAITERS} waiters, {} waits: overshoot p50 {p50:.1} µs, p99 {p99:.1} µs, max {max:.1} µs",
            over.len()
        );
        // tokio's timer overshoots by about half a millisecond at the median.
        assert!(p50 < 300.0, "median overshoot {p50} µs at {us} µs");
    }
    let over = overshoots(Duration::from_micros(200), 100, true).await;
    println!(
        "tokio::time::sleep 200 µs, {WAITERS} waiters: overshoot p50 {:.1} µs, p99 {:.1} µs",
        quantile(&over, 0.5),
        quantile(&over, 0.99)
    );
}
