//! Pins report.md, index.html and results.json for a deterministic run through the memory adapter: one worker, counted
//! phases, a fixed seed. Timings vary from run to run, so they are replaced by fixed values
//! before rendering; everything else (counts, retries, rejections, conformance, layout) is
//! what the run produced.

use statebench::cli::RunArgs;
use statebench::options::RunOptions;
use statebench::run;
use statebench_reports::{html, json, markdown};
use statebench_suites::Silent;
use statebench_suites::results::{Latency, Results};
use statebench_suites::workload::{Phase, Seconds};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn options() -> RunOptions {
    let mut o = RunOptions::from_args(RunArgs {
        adapters: vec!["memory".into()],
        ..RunArgs::default()
    })
    .expect("valid options");
    let w = &mut o.workload;
    w.keys.count = 100;
    w.warmup = Phase {
        duration: None,
        ops: Some(0),
    };
    w.measure = Phase {
        duration: None,
        ops: Some(2_000),
    };
    w.open.rates = vec![100_000.0];
    w.open.max_in_flight = 1;
    w.closed.concurrency = vec![1];
    w.consistency.duration = Seconds(Duration::from_millis(300));
    w.consistency.quiet = Seconds(Duration::from_millis(10));
    o
}

/// Replaces the counts of a verdict, which depend on scheduling.
fn fixed_verdict(v: &mut statebench_suites::check::Verdict) {
    (v.ops, v.keys) = (100, 5);
    v.summary = format!("{} over 100 operations", v.validity);
}

fn fixed(l: &mut Latency, base: f64) {
    *l = Latency {
        count: l.count,
        min_us: base,
        mean_us: base * 2.0,
        p50_us: base * 2.0,
        p90_us: base * 3.0,
        p99_us: base * 5.0,
        p999_us: base * 8.0,
        p9999_us: base * 9.0,
        max_us: base * 10.0,
    };
}

/// Replaces everything that depends on time or the machine.
fn normalize(r: &mut Results) {
    r.started_at = "2026-01-01T00:00:00Z".into();
    r.finished_at = "2026-01-01T00:01:00Z".into();
    r.tool.git_sha = Some("0123456789ab".into());
    r.machine.kernel = Some("6.1.0".into());
    r.machine.cpu_model = Some("Example CPU".into());
    r.machine.logical_cpus = 2;
    r.machine.memory_bytes = Some(8 << 30);
    for run in &mut r.consistency {
        (run.duration_ms, run.ops_per_s) = (300.0, 1_000.0);
        run.ops.ok = 300;
        run.ops.fail = 0;
        for c in &mut run.checks {
            fixed_verdict(&mut c.verdict);
        }
        if let Some(s) = &mut run.staleness {
            s.reads = 100;
        }
    }
    for s in &mut r.subjects {
        if let Some(c) = &mut s.correctness {
            c.checks = 10;
        }
    }
    for t in &mut r.trials {
        for c in &mut t.checks {
            fixed_verdict(&mut c.verdict);
        }
        if let Some(load) = &mut t.load {
            (load.duration_ms, load.keys_per_s) = (10.0, 10_000.0);
        }
        let m = &mut t.measured;
        (m.duration_ms, m.ops_per_s, m.ok_per_s, m.late) = (1_000.0, 2_000.0, 2_000.0, 0);
        m.timeline.clear();
        m.window_ms = 1_000.0;
        m.started_unix_ns = None;
        (t.warmup.duration_ms, t.warmup.ops_per_s) = (0.0, 0.0);
        fixed(&mut m.response, 1.0);
        fixed(&mut m.service, 1.0);
        fixed(&mut m.ok_response, 1.0);
        fixed(&mut m.ok_service, 1.0);
        if let Some(lag) = &mut m.start_lag {
            fixed(lag, 0.5);
        }
        for o in &mut m.operations {
            o.ops_per_s = 1_000.0;
            fixed(&mut o.response, 1.0);
            fixed(&mut o.service, 0.5);
            for outcome in &mut o.outcomes {
                fixed(&mut outcome.response, 1.0);
                fixed(&mut outcome.service, 0.5);
                outcome.response_histogram.clear();
                outcome.service_histogram.clear();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_md_of_a_deterministic_memory_run() {
    let options = options();
    let mut results = run::execute(&options, &Silent, &CancellationToken::new(), None).await;
    normalize(&mut results);
    insta::assert_snapshot!(markdown::render(&results));
    insta::assert_snapshot!("index.html", html::render(&results));
    insta::assert_snapshot!("results.json", json::render(&results));
}
