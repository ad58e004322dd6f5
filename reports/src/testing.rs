//! Small hand-built results with known answers, for the exporters' tests.

use statebench_suites::outcome::Outcome;
use statebench_suites::results::{
    Counts, Interface, Latency, Machine, OpStats, OutcomeStats, PhaseStats, Results, RunConfig,
    Step, SubjectInfo, Summary, Tool, Trial,
};
use statebench_suites::standing::{Correctness, Standing};
use statebench_suites::workload::{Arrivals, OpKind, builtin};

/// A latency of known percentiles, in microseconds.
pub fn latency(count: u64, min: f64, p50: f64, p90: f64, p99: f64, p999: f64, max: f64) -> Latency {
    Latency {
        count,
        min_us: min,
        mean_us: p50,
        p50_us: p50,
        p90_us: p90,
        p99_us: p99,
        p999_us: p999,
        p9999_us: max,
        max_us: max,
    }
}

fn counts(ok: u64, conflict: u64, indefinite: u64, fatal: u64) -> Counts {
    Counts {
        ok,
        conflict,
        indefinite,
        fatal,
    }
}

fn outcome(outcome: Outcome, response: Latency) -> OutcomeStats {
    OutcomeStats {
        outcome,
        service: response.clone(),
        response,
        response_histogram: String::new(),
        service_histogram: String::new(),
        example_error: None,
    }
}

fn op(op: OpKind, ops: u64, ops_per_s: f64, c: Counts, outcomes: Vec<OutcomeStats>) -> OpStats {
    OpStats {
        op,
        ops,
        ops_per_s,
        counts: c,
        retries: 0,
        rejected: 0,
        response: Latency::default(),
        service: Latency::default(),
        outcomes,
    }
}

#[allow(clippy::too_many_arguments)]
fn trial(
    id: &str,
    subject: &str,
    suite: &str,
    step: Step,
    ok_per_s: f64,
    ops_per_s: f64,
    c: Counts,
    ok_response: Latency,
    operations: Vec<OpStats>,
    stragglers: u64,
    window_ms: f64,
    standing: Standing,
) -> Trial {
    Trial {
        id: id.into(),
        subject: subject.into(),
        suite: suite.into(),
        workload: "read-heavy".into(),
        step,
        round: 0,
        interrupted: false,
        load: None,
        warmup: Summary::default(),
        measured: PhaseStats {
            duration_ms: window_ms,
            ops: c.total(),
            ops_per_s,
            ok_per_s,
            counts: c,
            late: 0,
            unstarted: 0,
            abandoned: 0,
            start_lag: None,
            response: ok_response.clone(),
            service: ok_response.clone(),
            operations,
            timeline: Vec::new(),
            window_ms,
            stragglers,
            ok_service: ok_response.clone(),
            started_unix_ns: None,
            ok_response,
        },
        interval_log: None,
        checks: Vec::new(),
        standing: Some(standing),
    }
}

fn subject(name: &str, standing: Standing) -> SubjectInfo {
    SubjectInfo {
        name: name.into(),
        interface: Interface::State,
        descriptor: statebench_adapters::memory::descriptor(),
        provisioning: "embedded".into(),
        disproved: Vec::new(),
        correctness: Some(Correctness {
            standing,
            broken: if standing == Standing::Fail {
                vec!["conformance: cas-exactly-one-winner".into()]
            } else {
                Vec::new()
            },
            undecided: Vec::new(),
            checks: 3,
        }),
    }
}

/// Two subjects: `pg,x` (a comma in its name, to test quoting) failed a check and ran one
/// throughput step at 16 workers, reads and writes; `memory:state` passed and ran one latency
/// step at 1000/s, reads only.
pub fn sample() -> Results {
    let workload = builtin("read-heavy")
        .expect("a built-in workload")
        .expect("it parses");
    Results {
        schema_version: statebench_suites::results::SCHEMA_VERSION,
        tool: Tool {
            name: "statebench".into(),
            version: "0.0.0".into(),
            git_sha: None,
        },
        started_at: "2026-01-01T00:00:00Z".into(),
        finished_at: "2026-01-01T00:01:00Z".into(),
        interrupted: false,
        config: RunConfig {
            adapters: vec!["memory".into()],
            suites: vec!["throughput".into(), "latency".into()],
            workload_source: "builtin:read-heavy".into(),
            workload,
            seed: 1,
            trials: 1,
            inject: Vec::new(),
            threads: None,
            shard: None,
        },
        machine: Machine {
            os: "linux".into(),
            arch: "x86_64".into(),
            kernel: None,
            cpu_model: None,
            logical_cpus: 2,
            memory_bytes: None,
        },
        servers: Vec::new(),
        subjects: vec![
            subject("pg,x", Standing::Fail),
            subject("memory:state", Standing::Pass),
        ],
        skipped: Vec::new(),
        conformance: Vec::new(),
        trials: vec![
            trial(
                "t1",
                "pg,x",
                "throughput",
                Step::Closed { concurrency: 16 },
                900.0,
                1100.0,
                counts(90, 16, 3, 1),
                latency(90, 40.0, 50.0, 70.0, 90.0, 95.0, 120.0),
                vec![
                    op(
                        OpKind::Read,
                        100,
                        1000.0,
                        counts(90, 6, 3, 1),
                        vec![
                            outcome(
                                Outcome::Ok,
                                latency(90, 40.0, 50.0, 70.0, 90.0, 95.0, 120.0),
                            ),
                            outcome(Outcome::Conflict, latency(6, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0)),
                        ],
                    ),
                    op(
                        OpKind::Write,
                        10,
                        100.0,
                        counts(0, 10, 0, 0),
                        vec![outcome(
                            Outcome::Conflict,
                            latency(10, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0),
                        )],
                    ),
                ],
                2,
                100.0,
                Standing::Fail,
            ),
            trial(
                "t2",
                "memory:state",
                "latency",
                Step::Open {
                    rate_per_s: 1000.0,
                    arrivals: Arrivals::Constant,
                    max_in_flight: 64,
                },
                1000.0,
                1000.0,
                counts(1000, 0, 0, 0),
                latency(1000, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0),
                vec![op(
                    OpKind::Read,
                    1000,
                    1000.0,
                    counts(1000, 0, 0, 0),
                    vec![outcome(
                        Outcome::Ok,
                        latency(1000, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0),
                    )],
                )],
                0,
                1000.0,
                Standing::Pass,
            ),
        ],
        consistency: Vec::new(),
        merge: None,
    }
}

/// Fixed multipliers in [−1, 1], in two orders, for deterministic noise.
pub const WIGGLE: [[f64; 10]; 2] = [
    [0.3, -0.8, 0.5, -0.1, 0.9, -0.6, 0.2, -0.4, 0.7, -1.0],
    [-0.5, 0.1, 0.8, -0.9, 0.4, -0.2, 1.0, -0.7, 0.0, 0.6],
];

/// `n` rounds of `subject`'s throughput step at 16 workers, goodput `ok_per_s`, p50 `p50_us`
/// and p99 five times it, each scaled by 1 + `noise`·[`WIGGLE`]\[`order`\]\[round\].
pub fn rounds(
    subject: &str,
    n: usize,
    ok_per_s: f64,
    p50_us: f64,
    noise: f64,
    order: usize,
) -> Vec<Trial> {
    (0..n)
        .map(|i| {
            let k = 1.0 + noise * WIGGLE[order][i % 10];
            let mut t = trial(
                &format!("{subject}-16-workers-{i}"),
                subject,
                "throughput",
                Step::Closed { concurrency: 16 },
                ok_per_s * k,
                ok_per_s * k,
                counts(1000, 0, 0, 0),
                latency(
                    1000,
                    1.0,
                    p50_us * k,
                    p50_us * k,
                    5.0 * p50_us * k,
                    6.0 * p50_us,
                    9.0 * p50_us,
                ),
                Vec::new(),
                0,
                1000.0,
                Standing::Pass,
            );
            t.round = i as u32;
            t
        })
        .collect()
}

/// [`sample`] with `trials` in place of its own, and `n` trials per step in its config.
pub fn with_trials(trials: Vec<Trial>, n: u32) -> Results {
    let mut r = sample();
    r.trials = trials;
    r.config.trials = n;
    r
}
