use super::*;
use crate::testing::sample;
use hdrhistogram::Histogram;
use proptest::prelude::*;
use statebench_suites::engine::tally;
use statebench_suites::outcome::Outcome;
use statebench_suites::results::{
    Counts, Latency, OpStats, OutcomeStats, PhaseStats, Shard as ShardConfig, Step, Summary,
    TimelinePoint, Trial, decode_histogram, encode_histogram,
};
use statebench_suites::workload::OpKind;

/// When every shard's measured phase starts, give or take its own offset.
const T0_NS: u64 = 1_800_000_000_000_000_000;

/// One recorded operation: its kind, outcome, response and service time (ns).
type Value = (OpKind, Outcome, u64, u64);

fn histogram_of(values: impl Iterator<Item = u64>) -> Histogram<u64> {
    let mut h = tally::histogram();
    for v in values {
        h.record(v).unwrap();
    }
    h
}

/// A measured phase that recorded `values` over a window of `window_ms`, starting
/// `offset_ms` after [`T0_NS`].
fn phase(values: &[Value], window_ms: f64, offset_ms: f64) -> PhaseStats {
    let mut operations = Vec::new();
    for op in OpKind::ALL {
        let mut counts = Counts::default();
        let mut outcomes = Vec::new();
        for outcome in Outcome::ALL {
            let mine: Vec<&Value> = values
                .iter()
                .filter(|v| v.0 == op && v.1 == outcome)
                .collect();
            if mine.is_empty() {
                continue;
            }
            counts.add(outcome, mine.len() as u64);
            let response = histogram_of(mine.iter().map(|v| v.2));
            let service = histogram_of(mine.iter().map(|v| v.3));
            outcomes.push(OutcomeStats {
                outcome,
                response: Latency::of(&response),
                service: Latency::of(&service),
                response_histogram: encode_histogram(&response),
                service_histogram: encode_histogram(&service),
                example_error: None,
            });
        }
        if counts.total() > 0 {
            operations.push(OpStats {
                op,
                ops: counts.total(),
                ops_per_s: counts.total() as f64 * 1_000.0 / window_ms,
                counts,
                retries: counts.conflict,
                rejected: counts.ok / 3,
                response: Latency::default(),
                service: Latency::default(),
                outcomes,
            });
        }
    }
    let n = values.len() as u64;
    let ok = values.iter().filter(|v| v.1 == Outcome::Ok).count() as u64;
    let mut counts = Counts::default();
    for v in values {
        counts.add(v.1, 1);
    }
    let all = histogram_of(values.iter().map(|v| v.2));
    PhaseStats {
        duration_ms: window_ms + 3.0,
        ops: n,
        ops_per_s: n as f64 * 1_000.0 / window_ms,
        ok_per_s: ok as f64 * 1_000.0 / window_ms,
        counts,
        late: n / 7,
        unstarted: n / 11,
        abandoned: n / 13,
        start_lag: None,
        response: Latency::of(&all),
        service: Latency::default(),
        operations,
        timeline: vec![TimelinePoint {
            start_ms: 0.0,
            end_ms: window_ms,
            ops: n,
            errors: n - ok,
            ops_per_s: n as f64 * 1_000.0 / window_ms,
            response_p50_us: None,
            response_p99_us: Some(Latency::of(&all).p99_us),
            response_max_us: Some(Latency::of(&all).max_us),
        }],
        window_ms,
        stragglers: n / 17,
        ok_response: Latency::default(),
        ok_service: Latency::default(),
        started_unix_ns: Some(T0_NS + (offset_ms * 1e6) as u64),
    }
}

/// Shard `index` of `count`: one throughput trial at 8 workers that recorded `values`.
fn shard(index: u32, count: u32, values: &[Value], offset_ms: f64) -> Input {
    let mut results = sample();
    results.config.shard = Some(ShardConfig {
        index,
        count,
        start_at: Some("2027-01-15T08:00:00Z".into()),
    });
    let mut trial: Trial = results.trials[0].clone();
    trial.id = "memory-state.throughput.8-workers".into();
    trial.subject = "memory:state".into();
    trial.step = Step::Closed { concurrency: 8 };
    trial.warmup = Summary::default();
    trial.measured = phase(values, 1_000.0, offset_ms);
    results.trials = vec![trial];
    Input {
        source: format!("shard-{index}"),
        results,
    }
}

fn value() -> impl Strategy<Value = Value> {
    (
        0..OpKind::ALL.len(),
        0..Outcome::ALL.len(),
        1u64..10_000_000_000,
        0u64..100,
    )
        .prop_map(|(op, outcome, response, share)| {
            (
                OpKind::ALL[op],
                Outcome::ALL[outcome],
                response,
                (response * share / 100).max(1),
            )
        })
}

/// Every bucket of `h` that holds a value, with its count: two histograms of the same
/// precision are equal bucket for bucket when these are.
fn buckets(h: &Histogram<u64>) -> Vec<(u64, u64)> {
    h.iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_at_value()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The exactness the issue asks for: values recorded on N shards, split at random,
    /// merge into the histogram of all of them taken together, bucket for bucket.
    #[test]
    fn merged_histograms_are_those_of_all_values_together_bucket_for_bucket(
        count in 1u32..=6,
        recorded in prop::collection::vec((value(), any::<u32>()), 1..400),
    ) {
        let mut split: Vec<Vec<Value>> = vec![Vec::new(); count as usize];
        for (v, to) in &recorded {
            split[(*to % count) as usize].push(*v);
        }
        // Given in reverse: the merge orders shards by index.
        let inputs = (0..count)
            .rev()
            .map(|i| shard(i, count, &split[i as usize], f64::from(i)))
            .collect();
        let merged = merge(inputs).unwrap();
        prop_assert_eq!(merged.trials.len(), 1);
        let m = &merged.trials[0].measured;
        let all: Vec<Value> = recorded.iter().map(|(v, _)| *v).collect();
        for op in OpKind::ALL {
            for outcome in Outcome::ALL {
                let mine: Vec<&Value> =
                    all.iter().filter(|v| v.0 == op && v.1 == outcome).collect();
                let got = m
                    .operations
                    .iter()
                    .find(|o| o.op == op)
                    .and_then(|o| o.outcomes.iter().find(|x| x.outcome == outcome));
                let Some(got) = got else {
                    prop_assert!(mine.is_empty(), "{op:?} {outcome:?} lost");
                    continue;
                };
                let response = histogram_of(mine.iter().map(|v| v.2));
                let service = histogram_of(mine.iter().map(|v| v.3));
                let got_response = decode_histogram(&got.response_histogram).unwrap();
                let got_service = decode_histogram(&got.service_histogram).unwrap();
                prop_assert_eq!(buckets(&got_response), buckets(&response));
                prop_assert_eq!(buckets(&got_service), buckets(&service));
                prop_assert_eq!(got_response.len(), mine.len() as u64);
                prop_assert_eq!(&got.response, &Latency::of(&response));
            }
        }
        // Latencies over every operation, and over the successful ones, from all values.
        let ok = histogram_of(all.iter().filter(|v| v.1 == Outcome::Ok).map(|v| v.2));
        prop_assert_eq!(&m.response, &Latency::of(&histogram_of(all.iter().map(|v| v.2))));
        prop_assert_eq!(&m.ok_response, &Latency::of(&ok));
        // Counts are the sums of the shards'.
        let shards: Vec<PhaseStats> =
            split.iter().enumerate().map(|(i, v)| phase(v, 1_000.0, i as f64)).collect();
        let sum = |f: fn(&PhaseStats) -> u64| shards.iter().map(f).sum::<u64>();
        prop_assert_eq!(m.ops, all.len() as u64);
        prop_assert_eq!(m.counts, crate::pooled::sum_counts(shards.iter().map(|p| &p.counts)));
        prop_assert_eq!(
            (m.late, m.unstarted, m.abandoned, m.stragglers),
            (sum(|p| p.late), sum(|p| p.unstarted), sum(|p| p.abandoned), sum(|p| p.stragglers))
        );
        for op in &m.operations {
            let parts = shards.iter().flat_map(|p| &p.operations).filter(|o| o.op == op.op);
            let (ops, retries, rejected) = parts.fold((0, 0, 0), |(a, b, c), o| {
                (a + o.ops, b + o.retries, c + o.rejected)
            });
            prop_assert_eq!((op.ops, op.retries, op.rejected), (ops, retries, rejected));
        }
        // Windows started within a few ms: throughput is the sum of the shards'.
        prop_assert_eq!(m.window_ms, 1_000.0);
        let rate: f64 = shards.iter().map(|p| p.ops_per_s).sum();
        prop_assert!((m.ops_per_s - rate).abs() < 1e-9 * rate.max(1.0));
        prop_assert_eq!(m.timeline.iter().map(|p| p.ops).sum::<u64>(), all.len() as u64);
        prop_assert!(merged.merge.as_ref().unwrap().warnings.is_empty());
    }
}

fn values(n: u64, outcome: Outcome) -> Vec<Value> {
    (1..=n)
        .map(|i| (OpKind::Read, outcome, i * 1_000, i * 500))
        .collect()
}

#[test]
fn the_merged_step_is_the_whole_load_and_each_shard_is_kept() {
    let merged = merge(vec![
        shard(0, 2, &values(100, Outcome::Ok), 0.0),
        shard(1, 2, &values(50, Outcome::Conflict), 2.0),
    ])
    .unwrap();
    let t = &merged.trials[0];
    assert_eq!(t.step, Step::Closed { concurrency: 16 });
    assert_eq!(t.id, "memory-state.throughput.16-workers");
    assert_eq!(merged.config.shard, None);
    let m = merged.merge.as_ref().unwrap();
    assert_eq!(m.shards.len(), 2);
    assert_eq!(m.shards[1].trials[0].id, t.id);
    assert_eq!(m.shards[1].trials[0].ops, 50);
    assert_eq!(m.shards[1].source, "shard-1");
    assert_eq!(t.measured.ops_per_s, 150.0);
    assert_eq!(t.measured.ok_per_s, 100.0);
    assert_eq!(t.measured.started_unix_ns, Some(T0_NS));
}

#[test]
fn a_merge_of_one_shard_is_that_run() {
    let input = shard(0, 1, &values(100, Outcome::Ok), 0.0);
    let mut expected = input.results.trials.clone();
    let merged = merge(vec![input]).unwrap();
    // The standing is settled again over the merged run, as a run settles it.
    for t in &mut expected {
        t.standing = merged.trials[0].standing;
    }
    // Latencies are read from the histograms, as the run read them.
    let m = &mut expected[0].measured;
    (m.response, m.service) =
        crate::pooled::merged(m.operations.iter().flat_map(|o| &o.outcomes), |_| true);
    (m.ok_response, m.ok_service) =
        crate::pooled::merged(m.operations.iter().flat_map(|o| &o.outcomes), |o| {
            o.outcome == Outcome::Ok
        });
    for op in &mut m.operations {
        (op.response, op.service) = crate::pooled::merged(&op.outcomes, |_| true);
    }
    assert_eq!(merged.trials, expected);
}

#[test]
fn windows_that_do_not_line_up_are_merged_over_their_union_with_a_warning() {
    let merged = merge(vec![
        shard(0, 2, &values(100, Outcome::Ok), 0.0),
        shard(1, 2, &values(100, Outcome::Ok), 500.0),
    ])
    .unwrap();
    let m = &merged.trials[0].measured;
    assert_eq!(m.window_ms, 1_500.0);
    assert!((m.ops_per_s - 200.0 / 1.5).abs() < 1e-9, "{}", m.ops_per_s);
    let warnings = &merged.merge.as_ref().unwrap().warnings;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("started 500.00 ms apart"),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].contains("union, 1.50 s"), "{}", warnings[0]);
    // The timelines are on one clock: the second shard's second starts half-way.
    assert_eq!(m.timeline.len(), 2);
    assert_eq!(m.timeline[1].start_ms, 500.0);
}

#[test]
fn builds_machines_missing_trials_and_stops_are_warned_about() {
    let mut a = shard(0, 2, &values(10, Outcome::Ok), 0.0);
    let mut b = shard(1, 2, &values(10, Outcome::Ok), 0.0);
    b.results.tool.version = "9.9.9".into();
    b.results.machine.logical_cpus = 64;
    b.results.interrupted = true;
    let mut extra = a.results.trials[0].clone();
    extra.id = "memory-state.latency.500-per-s".into();
    a.results.trials.push(extra);
    let merged = merge(vec![a, b]).unwrap();
    let warnings = merged.merge.unwrap().warnings;
    let said = |part: &str| warnings.iter().any(|w| w.contains(part));
    assert!(
        said("different statebench builds: shard 0 0.0.0; shard 1 9.9.9"),
        "{warnings:?}"
    );
    assert!(
        said("shard 0 2 logical CPUs; shard 1 64 logical CPUs"),
        "{warnings:?}"
    );
    assert!(said("shard 1 (shard-1) was interrupted"), "{warnings:?}");
    assert!(
        said("trial memory-state.latency.500-per-s is missing on shard 1"),
        "{warnings:?}"
    );
    assert_eq!(warnings.len(), 4, "{warnings:?}");
    assert!(merged.interrupted);
}

fn refusal(inputs: Vec<Input>) -> String {
    merge(inputs).unwrap_err().to_string()
}

#[test]
fn runs_that_are_not_the_shards_of_one_run_are_refused_with_the_reason() {
    let ok = || values(3, Outcome::Ok);
    let mut plain = shard(0, 1, &ok(), 0.0);
    plain.results.config.shard = None;
    assert!(refusal(vec![plain]).contains("shard-0 is not a shard"));
    assert!(
        refusal(vec![shard(0, 2, &ok(), 0.0), shard(1, 3, &ok(), 0.0)])
            .contains("shard-1 is a shard of 3 but shard-0 is a shard of 2")
    );
    assert!(
        refusal(vec![shard(1, 2, &ok(), 0.0), shard(1, 2, &ok(), 0.0)])
            .contains("shard 1/2 is given twice")
    );
    assert!(
        refusal(vec![shard(0, 4, &ok(), 0.0), shard(2, 4, &ok(), 0.0)])
            .contains("shard 1, 3 of 4 missing")
    );
    assert!(refusal(vec![shard(2, 2, &ok(), 0.0)]).contains("indexes of 2 shards run from 0 to 1"));
    let mut other_seed = shard(1, 2, &ok(), 0.0);
    other_seed.results.config.seed = 99;
    assert!(
        refusal(vec![shard(0, 2, &ok(), 0.0), other_seed])
            .contains("shard-1 and shard-0 differ in their seed")
    );
    let mut other_suites = shard(1, 2, &ok(), 0.0);
    other_suites.results.config.suites.pop();
    assert!(refusal(vec![shard(0, 2, &ok(), 0.0), other_suites]).contains("their suites"));
    assert_eq!(refusal(Vec::new()), "no runs to merge");
}

#[test]
fn checks_that_ran_on_one_shard_are_taken_from_it_and_servers_once() {
    use statebench_suites::results::{CheckResult, CheckStatus, ServerInfo, Skipped};
    let mut a = shard(0, 2, &values(3, Outcome::Ok), 0.0);
    let mut b = shard(1, 2, &values(3, Outcome::Ok), 0.0);
    a.results.conformance.push(CheckResult {
        subject: "memory:state".into(),
        check: "cas-exactly-one-winner".into(),
        capability: Some("cas".into()),
        status: CheckStatus::Fail,
        detail: "two winners".into(),
    });
    b.results.skipped.push(Skipped {
        name: "memory".into(),
        suite: Some("conformance".into()),
        reason: "runs on shard 0".into(),
    });
    let server = ServerInfo {
        backend: "postgres".into(),
        version: Some("PostgreSQL 17.2".into()),
        provisioning: "external".into(),
        url: "postgres://db".into(),
        image: None,
        image_id: None,
        binary: None,
    };
    a.results.servers.push(server.clone());
    b.results.servers.push(server.clone());
    let merged = merge(vec![a, b]).unwrap();
    assert_eq!(merged.conformance.len(), 1);
    assert!(merged.skipped.is_empty(), "{:?}", merged.skipped);
    assert_eq!(merged.servers, [server]);
    // The failed check counts against the subject in the merged run.
    let subject = merged
        .subjects
        .iter()
        .find(|s| s.name == "memory:state")
        .unwrap();
    assert_eq!(
        subject.correctness.as_ref().unwrap().standing,
        statebench_suites::standing::Standing::Fail
    );
    assert!(merged.merge.unwrap().warnings.is_empty());
}

#[test]
fn the_report_shows_the_shards_and_what_they_disagreed_on() {
    let mut b = shard(1, 2, &values(50, Outcome::Ok), 500.0);
    b.results.tool.version = "9.9.9".into();
    let merged = merge(vec![shard(0, 2, &values(100, Outcome::Ok), 0.0), b]).unwrap();
    let md = crate::markdown::render(&merged);
    assert!(md.contains("## Shards"), "{md}");
    assert!(
        md.contains("merged by `statebench merge` from 2 shards"),
        "{md}"
    );
    assert!(
        md.contains("> [!WARNING]\n> This run was merged from 2 shards that did not all agree"),
        "{md}"
    );
    assert!(md.contains("different statebench builds"), "{md}");
    assert!(
        md.contains("| `memory-state.throughput.16-workers` | 1 | 8 workers | +500.00 ms |"),
        "{md}"
    );
    assert!(
        md.contains("| `memory-state.throughput.16-workers` | merged | 16 workers |"),
        "{md}"
    );
    let html = crate::html::render(&merged);
    assert!(html.contains("<h2>Shards</h2>"));
    // A run that was not merged has no such section.
    assert!(!crate::markdown::render(&sample()).contains("Shards"));
}

#[test]
fn a_check_failed_on_a_later_shard_stands_over_an_earlier_pass() {
    use statebench_suites::results::{CheckResult, CheckStatus};
    let check = |status, detail: &str| CheckResult {
        subject: "memory:state".into(),
        check: "cas-exactly-one-winner".into(),
        capability: Some("cas".into()),
        status,
        detail: detail.into(),
    };
    let mut a = shard(0, 3, &values(3, Outcome::Ok), 0.0);
    let mut b = shard(1, 3, &values(3, Outcome::Ok), 0.0);
    let mut c = shard(2, 3, &values(3, Outcome::Ok), 0.0);
    a.results.conformance.push(check(CheckStatus::Pass, ""));
    b.results
        .conformance
        .push(check(CheckStatus::Fail, "two winners"));
    c.results.conformance.push(check(CheckStatus::Pass, ""));
    let merged = merge(vec![a, b, c]).unwrap();
    assert_eq!(merged.conformance.len(), 1);
    assert_eq!(merged.conformance[0].status, CheckStatus::Fail);
    assert_eq!(merged.conformance[0].detail, "shard 1: two winners");
    let subject = merged
        .subjects
        .iter()
        .find(|s| s.name == "memory:state")
        .unwrap();
    assert_eq!(
        subject.correctness.as_ref().unwrap().standing,
        statebench_suites::standing::Standing::Fail
    );
}
