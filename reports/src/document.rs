//! The report's content, independent of its format: headings, paragraphs, lists, tables.

use crate::format::{bytes, latency_us, rate};
use statebench_adapters::{Capabilities, Capability};
use statebench_suites::Outcome;
use statebench_suites::results::{
    CheckStatus, Interface, Latency, Results, Step, SubjectInfo, Trial,
};
use statebench_suites::standing::Standing;
use std::collections::BTreeSet;

/// One block of a report.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// A heading of level 1 to 3.
    Heading(u8, String),
    /// A paragraph of plain text.
    Paragraph(String),
    /// A warning that must not be missed: its heading line and the items it is about, kept
    /// together in one box.
    Warning(String, Vec<String>),
    /// A broken promise: shown first, in red, impossible to miss.
    Alert(String),
    /// Content folded under a one-line summary (`<details>`).
    Details(String, Vec<Block>),
    /// A chart (HTML only; the Markdown points to index.html).
    Chart(crate::charts::Chart),
    /// A bulleted list.
    List(Vec<String>),
    /// A table; numeric columns are right-aligned.
    Table(Table),
}

/// A table with a header row.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Column names.
    pub headers: Vec<String>,
    /// Whether each column holds numbers.
    pub numeric: Vec<bool>,
    /// The cells, row by row.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these (name, numeric) columns.
    pub fn new(columns: &[(&str, bool)]) -> Self {
        Self {
            headers: columns.iter().map(|(h, _)| (*h).to_owned()).collect(),
            numeric: columns.iter().map(|(_, n)| *n).collect(),
            rows: Vec::new(),
        }
    }
}

/// The whole report: the answer first (a ranking per workload with each subject's
/// correctness beside it), then the charts, then the tables and how they were measured.
/// Repeated trials of a step are pooled into one (see [`crate::pooled`]), their spread shown
/// in a section of its own.
pub fn build(results: &Results) -> Vec<Block> {
    let raw = results;
    let results = &crate::pooled::pooled(raw);
    let mut blocks = vec![Block::Heading(1, title(results))];
    if results.interrupted {
        blocks.push(Block::Warning(
            "This run was interrupted: the numbers below cover only what ran before the stop."
                .into(),
            Vec::new(),
        ));
    }
    blocks.extend(crate::shards::warnings(results));
    blocks.extend(crate::summary::alert(results));
    blocks.extend(crate::summary::ranking(results));
    blocks.extend(skipped(results));
    blocks.extend(charts(results));
    blocks.extend(crate::correctness::verdicts(results));
    blocks.extend(throughput(results));
    blocks.extend(latency(results));
    blocks.extend(crate::spread::section(raw));
    blocks.extend(errors(results));
    blocks.extend(crate::correctness::consistency(results));
    blocks.extend(conformance(results));
    blocks.extend(subjects(results));
    blocks.extend(run_facts(results));
    blocks.extend(crate::shards::section(raw));
    blocks.extend(method());
    blocks
}

fn charts(r: &Results) -> Vec<Block> {
    let charts = crate::charts::all(r);
    let timelines = crate::charts::timelines(r);
    if charts.is_empty() && timelines.is_empty() {
        return Vec::new();
    }
    let mut blocks = vec![Block::Heading(2, "Charts".into())];
    blocks.extend(charts.into_iter().map(Block::Chart));
    if !timelines.is_empty() {
        blocks.push(Block::Details(
            format!(
                "Over time: every step second by second ({} charts, warm-up marked)",
                timelines.len()
            ),
            timelines.into_iter().map(Block::Chart).collect(),
        ));
    }
    blocks
}

/// Subjects and suites that did not run: one short line each, the full reason folded.
fn skipped(r: &Results) -> Vec<Block> {
    if r.skipped.is_empty() {
        return Vec::new();
    }
    let mut blocks = vec![Block::Paragraph(format!(
        "Not run ({}), each with the reason:",
        r.skipped.len()
    ))];
    for s in &r.skipped {
        let name = match &s.suite {
            Some(suite) => format!("{} / {suite}", s.name),
            None => s.name.clone(),
        };
        blocks.push(Block::Details(
            format!("{name}: {}", short(&s.reason)),
            vec![Block::Paragraph(s.reason.clone())],
        ));
    }
    blocks
}

/// The first clause of a long reason, at most about 90 characters.
pub fn short(reason: &str) -> String {
    let first = reason.lines().next().unwrap_or(reason);
    let cut = first
        .char_indices()
        .find(|(i, c)| *i > 20 && matches!(c, ':' | ';' | '('))
        .map_or(first.len(), |(i, _)| i);
    let clause = first[..cut].trim_end();
    if clause.chars().count() > 90 {
        let shown: String = clause.chars().take(88).collect();
        format!("{shown}…")
    } else if clause.len() < reason.len() {
        format!("{clause} …")
    } else {
        clause.to_owned()
    }
}

fn title(results: &Results) -> String {
    format!("statebench: {}", results.config.workload.name)
}

/// ` (git SHA)` after a tool's version, where the commit is known.
pub(crate) fn git_suffix(tool: &statebench_suites::results::Tool) -> String {
    tool.git_sha
        .as_deref()
        .map(|s| format!(" (git {s})"))
        .unwrap_or_default()
}

fn run_facts(r: &Results) -> Vec<Block> {
    let mut blocks = vec![Block::Heading(2, "The run".into())];
    let sha = git_suffix(&r.tool);
    let m = &r.machine;
    let cpu = m
        .cpu_model
        .as_deref()
        .map(|c| format!(", {c}"))
        .unwrap_or_default();
    let memory = m
        .memory_bytes
        .map(|b| format!(", {} memory", bytes(b)))
        .unwrap_or_default();
    let w = &r.config.workload;
    let mut lines = vec![
        format!(
            "Run: {} to {}, {} {}{sha}.",
            r.started_at, r.finished_at, r.tool.name, r.tool.version
        ),
        format!(
            "Workload: `{}` ({}), seed {}: {}",
            w.name, r.config.workload_source, r.config.seed, w.description
        ),
        format!(
            "Machine: {} {}, {} logical CPUs{memory}{cpu}.",
            m.os, m.arch, m.logical_cpus
        ),
    ];
    if !r.config.inject.is_empty() {
        let injected: Vec<String> = r.config.inject.iter().map(|i| format!("`{i}`")).collect();
        lines.push(format!(
            "Injected faults (`--inject`): {}; each subject's `faults` setting says what it got.",
            injected.join(", ")
        ));
    }
    blocks.push(Block::List(lines));
    blocks
}

fn subjects(r: &Results) -> Vec<Block> {
    let mut table = Table::new(&[
        ("subject", false),
        ("technique", false),
        ("contract", false),
        ("backend", false),
        ("provisioning", false),
        ("settings", false),
    ]);
    for s in &r.subjects {
        let d = &s.descriptor;
        let settings: Vec<String> = d.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let technique = serde_json::to_value(d.technique).ok();
        table.rows.push(vec![
            s.name.clone(),
            technique
                .as_ref()
                .and_then(|t| t.as_str())
                .unwrap_or("?")
                .to_owned(),
            match s.interface {
                Interface::State => "state store".to_owned(),
                Interface::Events => "event store".to_owned(),
            },
            d.backend.clone(),
            s.provisioning.clone(),
            settings.join(", "),
        ]);
    }
    let mut blocks = vec![Block::Heading(2, "Subjects".into()), Block::Table(table)];
    if !r.servers.is_empty() {
        let mut servers = Table::new(&[
            ("server", false),
            ("version", false),
            ("provisioning", false),
            ("image or binary", false),
            ("image id", false),
            ("reached at", false),
        ]);
        for s in &r.servers {
            let id = s
                .image_id
                .as_deref()
                .map(|id| id.chars().take(19).collect::<String>());
            servers.rows.push(vec![
                s.backend.clone(),
                s.version.clone().unwrap_or_else(|| "not stated".into()),
                s.provisioning.clone(),
                s.image
                    .clone()
                    .or_else(|| s.binary.clone())
                    .unwrap_or_else(|| "-".into()),
                id.unwrap_or_else(|| "-".into()),
                s.url.clone(),
            ]);
        }
        blocks.push(Block::Heading(3, "Servers".into()));
        blocks.push(Block::Table(servers));
    }
    blocks.push(Block::Heading(3, "Declared capabilities".into()));
    blocks.push(Block::Table(capabilities(r)));
    blocks
}

/// One row of the capabilities table.
struct CapabilityRow<'a> {
    /// As the table shows it.
    label: &'static str,
    /// As checks and disproofs name it.
    key: &'static str,
    /// Whether it concerns event stores only.
    events_only: bool,
    declared: &'a Capability,
}

fn capability_rows(c: &Capabilities) -> [CapabilityRow<'_>; 6] {
    let row = |label, key, events_only, declared| CapabilityRow {
        label,
        key,
        events_only,
        declared,
    };
    [
        row("cas", "cas", false, &c.cas),
        row(
            "read your writes",
            "read_your_writes",
            false,
            &c.read_your_writes,
        ),
        row("kill-durable", "kill_durable", false, &c.kill_durable),
        row(
            "dense revisions",
            "dense_revisions",
            true,
            &c.dense_revisions,
        ),
        row(
            "atomic multi-event append",
            "atomic_multi_event_append",
            true,
            &c.atomic_multi_event_append,
        ),
        row(
            "idempotent append",
            "idempotent_append",
            true,
            &c.idempotent_append,
        ),
    ]
}

fn capabilities(r: &Results) -> Table {
    let mut columns = vec![("capability", false)];
    columns.extend(r.subjects.iter().map(|s| (s.name.as_str(), false)));
    let mut table = Table::new(&columns);
    let Some(first) = r.subjects.first() else {
        return table;
    };
    for (i, first_row) in capability_rows(&first.descriptor.capabilities)
        .iter()
        .enumerate()
    {
        let mut row = vec![first_row.label.to_owned()];
        for s in &r.subjects {
            let cap = &capability_rows(&s.descriptor.capabilities)[i];
            row.push(declared(s, cap));
        }
        table.rows.push(row);
    }
    table
}

/// What `s` declares of one capability, and whether a check disproved it.
fn declared(s: &SubjectInfo, cap: &CapabilityRow<'_>) -> String {
    let by: Vec<&str> = unique(
        s.disproved
            .iter()
            .filter(|d| d.capability == cap.key)
            .map(|d| d.check.as_str()),
    );
    match cap.declared {
        _ if cap.events_only && s.interface == Interface::State => "n/a".to_owned(),
        _ if !by.is_empty() => format!("DISPROVED by {}", by.join(", ")),
        Capability::Supported => "yes".to_owned(),
        Capability::Unsupported(why) => format!("no ({why})"),
    }
}

fn conformance(r: &Results) -> Vec<Block> {
    if r.conformance.is_empty() {
        return Vec::new();
    }
    let names: Vec<&str> = unique(r.conformance.iter().map(|c| c.subject.as_str()));
    let checks: Vec<&str> = unique(r.conformance.iter().map(|c| c.check.as_str()));
    let mut columns = vec![("check", false)];
    columns.extend(names.iter().map(|n| (*n, false)));
    let mut table = Table::new(&columns);
    for check in &checks {
        let mut row = vec![(*check).to_owned()];
        for name in &names {
            let found = r
                .conformance
                .iter()
                .find(|c| c.subject == *name && c.check == *check);
            row.push(found.map_or("n/a", |c| status(c.status)).to_owned());
        }
        table.rows.push(row);
    }
    let failed = r
        .conformance
        .iter()
        .filter(|c| c.status == CheckStatus::Fail)
        .count();
    let mut blocks = vec![
        Block::Heading(2, "Conformance".into()),
        Block::Paragraph(format!(
            "{} checks, {failed} failed. `unsupported`: the adapter declares it does not offer \
             this, so the check did not run; `n/a`: the check belongs to the other contract.",
            r.conformance.len()
        )),
        Block::Table(table),
    ];
    let notes: Vec<String> = r
        .conformance
        .iter()
        .filter(|c| c.status != CheckStatus::Pass)
        .map(|c| {
            format!(
                "{} / {} ({}): {}",
                c.subject,
                c.check,
                status(c.status),
                c.detail
            )
        })
        .collect();
    if !notes.is_empty() {
        blocks.push(Block::List(notes));
    }
    blocks
}

fn status(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Pass => "pass",
        CheckStatus::Fail => "FAIL",
        CheckStatus::Unsupported => "unsupported",
    }
}

fn unique<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = BTreeSet::new();
    items.filter(|i| seen.insert(*i)).collect()
}

fn trials<'a>(r: &'a Results, suite: &'a str) -> impl Iterator<Item = &'a Trial> {
    r.trials.iter().filter(move |t| t.suite == suite)
}

/// Fewest samples that must lie beyond a percentile for it to be shown: below this, the
/// figure rests on a handful of operations.
pub const BEYOND: f64 = 5.0;

/// A percentile of successful operations, or `–` when too few samples lie beyond it (a
/// p99 needs 500 samples, a p99.9 5,000).
pub fn pct(l: &Latency, q: f64) -> String {
    if supported(l, q) {
        let v = match q {
            q if q <= 0.5 => l.p50_us,
            q if q <= 0.9 => l.p90_us,
            q if q <= 0.99 => l.p99_us,
            q if q <= 0.999 => l.p999_us,
            _ => l.p9999_us,
        };
        latency_us(v)
    } else {
        "–".to_owned()
    }
}

/// Whether enough samples lie beyond the `q` quantile of `l` for it to be shown.
pub fn supported(l: &Latency, q: f64) -> bool {
    l.count > 0 && l.count as f64 * (1.0 - q) >= BEYOND - 1e-9
}

/// The largest value seen, or `–` when nothing succeeded.
fn max(l: &Latency) -> String {
    if l.count == 0 {
        "–".to_owned()
    } else {
        latency_us(l.max_us)
    }
}

/// `n (x.y%)` of `total`, or `0`.
fn share(n: u64, total: u64) -> String {
    if n == 0 || total == 0 {
        n.to_string()
    } else {
        format!("{n} ({:.1}%)", 100.0 * n as f64 / total as f64)
    }
}

/// `1 worker`, `16 workers`.
pub fn workers(n: usize) -> String {
    if n == 1 {
        "1 worker".to_owned()
    } else {
        format!("{n} workers")
    }
}

/// A step in words: `8 workers`, `1.0 k/s`.
pub fn step_words(step: &Step) -> String {
    match step {
        Step::Closed { concurrency } => workers(*concurrency),
        Step::Open { rate_per_s, .. } => format!("{}/s", rate(*rate_per_s)),
    }
}

/// How a step is named in tables and warnings: `memory:state, 8 workers`,
/// `postgres at 1.0 k/s`.
pub fn step_label(t: &Trial) -> String {
    match t.step {
        Step::Closed { .. } => format!("{}, {}", t.subject, step_words(&t.step)),
        Step::Open { .. } => format!("{} at {}", t.subject, step_words(&t.step)),
    }
}

fn throughput(r: &Results) -> Vec<Block> {
    let mut table = Table::new(&[
        ("subject", false),
        ("workers", true),
        ("ok/s", true),
        ("ops/s", true),
        ("ok ops", true),
        ("p50", true),
        ("p99", true),
        ("p99.9", true),
        ("max", true),
        ("conflicts", true),
        ("other errors", true),
        ("retries", true),
        ("rejected", true),
        ("stragglers", true),
    ]);
    for t in trials(r, "throughput") {
        let Step::Closed { concurrency } = t.step else {
            continue;
        };
        let m = &t.measured;
        let ok = &m.ok_response;
        let retries: u64 = m.operations.iter().map(|o| o.retries).sum();
        let rejected: u64 = m.operations.iter().map(|o| o.rejected).sum();
        table.rows.push(vec![
            subject_cell(t),
            concurrency.to_string(),
            rate(m.ok_per_s),
            rate(m.ops_per_s),
            m.counts.ok.to_string(),
            pct(ok, 0.5),
            pct(ok, 0.99),
            pct(ok, 0.999),
            max(ok),
            share(m.counts.conflict, m.ops),
            share(m.counts.indefinite + m.counts.fatal, m.ops),
            retries.to_string(),
            rejected.to_string(),
            m.stragglers.to_string(),
        ]);
    }
    if table.rows.is_empty() {
        return Vec::new();
    }
    let mut blocks = vec![
        Block::Heading(2, "Throughput (closed loop)".into()),
        Block::Paragraph(format!(
            "Each worker starts its next operation when the last one ends. ok/s (goodput) counts \
             the operations that succeeded within the step's measured window, per second of it; \
             ops/s counts every outcome. Latency columns are of the successful operations only \
             (in a closed loop, service time), so a store that fails fast does not look fast; \
             errors have their own columns. A percentile is shown only where at least {BEYOND} \
             samples lie beyond it (a p99 needs 500 successful operations, a p99.9 5,000), \
             else `–`; `ok ops` says how many there were. Stragglers ended after the window: in \
             the latencies, not in the rates."
        )),
        Block::Table(table),
    ];
    let cautions = cautions(r, "throughput");
    if !cautions.is_empty() {
        blocks.push(Block::Warning(
            "Read these steps with care:".into(),
            cautions,
        ));
    }
    blocks
}

fn subject_cell(t: &Trial) -> String {
    let mut cell = t.subject.clone();
    if t.standing == Some(Standing::Fail) {
        cell += " (FAILED checks)";
    }
    if t.interrupted {
        cell += " (interrupted)";
    }
    cell
}

fn latency(r: &Results) -> Vec<Block> {
    let mut table = Table::new(&[
        ("subject", false),
        ("offered/s", true),
        ("achieved ok/s", true),
        ("op", false),
        ("ok ops", true),
        ("p50", true),
        ("p90", true),
        ("p99", true),
        ("p99.9", true),
        ("max", true),
        ("service p99", true),
        ("start lag p50/p99", true),
        ("late", true),
        ("unstarted", true),
        ("errors", true),
    ]);
    for t in trials(r, "latency") {
        let Step::Open {
            rate_per_s,
            arrivals,
            ..
        } = t.step
        else {
            continue;
        };
        let arrivals = serde_json::to_value(arrivals).ok();
        let arrivals = arrivals.as_ref().and_then(|a| a.as_str()).unwrap_or("?");
        let m = &t.measured;
        for o in &m.operations {
            let ok = o.outcomes.iter().find(|x| x.outcome == Outcome::Ok);
            let empty = Latency::default();
            let (l, service) = ok.map_or((&empty, &empty), |x| (&x.response, &x.service));
            table.rows.push(vec![
                subject_cell(t),
                format!("{} {arrivals}", rate(rate_per_s)),
                rate(m.ok_per_s),
                o.op.as_str().to_owned(),
                o.counts.ok.to_string(),
                pct(l, 0.5),
                pct(l, 0.9),
                pct(l, 0.99),
                pct(l, 0.999),
                max(l),
                pct(service, 0.99),
                m.start_lag.as_ref().map_or_else(
                    || "-".to_owned(),
                    |l| format!("{} / {}", latency_us(l.p50_us), latency_us(l.p99_us)),
                ),
                m.late.to_string(),
                m.unstarted.to_string(),
                share(o.counts.errors(), o.ops),
            ]);
        }
    }
    if table.rows.is_empty() {
        return Vec::new();
    }
    let mut blocks = vec![
        Block::Heading(2, "Latency (open loop)".into()),
        Block::Paragraph(format!(
            "Operations arrive on a schedule (constant or Poisson) at the offered rate, whether \
             or not earlier ones have finished. Percentiles are of the response time of the \
             successful operations (from the scheduled start), so time spent waiting behind a \
             slow operation counts; `service p99` leaves that wait out. A percentile is shown \
             only where at least {BEYOND} samples lie beyond it, else `–`. `achieved ok/s`: \
             successful operations within the measured window per second of it. `start lag`: \
             how far behind schedule operations started, the harness's own timing error plus \
             any queueing; `late`: started over 1 ms behind schedule; `unstarted`: scheduled but \
             never started before the phase ended (the store could not keep up). The start \
             lag, late and unstarted columns are per step, shared by its operations."
        )),
        Block::Table(table),
    ];
    let cautions = cautions(r, "latency");
    if !cautions.is_empty() {
        blocks.push(Block::Warning(
            "Read these steps with care:".into(),
            cautions,
        ));
    }
    blocks
}

/// Steps whose figures say less than they seem to.
fn cautions(r: &Results, suite: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for t in trials(r, suite) {
        let m = &t.measured;
        let label = step_label(t);
        let (response, service) = (m.response.p99_us, m.service.p99_us);
        // Harness-bound: operations started late although the store kept up (nothing was
        // left unstarted) and answered quickly. Late starts of a store that did not keep up
        // are queueing, reported below.
        if let Some(lag) = &m.start_lag
            && m.unstarted == 0
            && lag.p99_us >= 0.5 * response
            && service < 0.25 * lag.p99_us
        {
            lines.push(format!(
                "{label}: start lag (p99 {}) is most of response time (p99 {}) while service \
                 time is p99 {}: the store answered faster than the harness started operations \
                 on schedule, so response time here measures the harness",
                latency_us(lag.p99_us),
                latency_us(response),
                latency_us(service)
            ));
        }
        if m.unstarted + m.abandoned > 0 {
            lines.push(format!(
                "{label}: {} operations never started and {} never finished; they are not in \
                 the percentiles, which are therefore lower bounds",
                m.unstarted, m.abandoned
            ));
        }
        if m.stragglers > 0 && statebench_suites::results::overran(m.window_ms, m.duration_ms) {
            lines.push(format!(
                "{label}: {} operations ended after the {:.1} s window (slowest {}); they count \
                 in the latencies but not in the rates, and the phase ran {:.1} s in all",
                m.stragglers,
                m.window_ms / 1e3,
                latency_us(m.response.max_us),
                m.duration_ms / 1e3
            ));
        }
        let errors = m.counts.errors();
        if m.ops > 0 && errors * 100 >= m.ops {
            lines.push(format!(
                "{label}: {} of {} operations failed; the latencies above are of the {} that \
                 succeeded",
                errors, m.ops, m.counts.ok
            ));
        }
    }
    lines
}

fn errors(r: &Results) -> Vec<Block> {
    let mut lines = Vec::new();
    let mut seen = BTreeSet::new();
    for t in &r.trials {
        for o in &t.measured.operations {
            for outcome in &o.outcomes {
                let Some(example) = &outcome.example_error else {
                    continue;
                };
                if seen.insert((t.subject.as_str(), o.op, example.as_str())) {
                    lines.push(format!(
                        "{} / {}: {} {}, e.g. `{example}`",
                        t.subject,
                        o.op.as_str(),
                        outcome.response.count,
                        outcome.outcome.as_str(),
                    ));
                }
            }
        }
        if t.measured.abandoned > 0 {
            lines.push(format!(
                "{}: {} operations still in flight after the grace period were abandoned",
                t.id, t.measured.abandoned
            ));
        }
    }
    if lines.is_empty() {
        return Vec::new();
    }
    vec![Block::Heading(2, "Errors".into()), Block::List(lines)]
}

fn method() -> Vec<Block> {
    vec![
        Block::Heading(2, "How these numbers were measured".into()),
        Block::List(vec![
            "Response time runs from an operation's intended start to its end, service time \
             from its actual start; in an open loop the intended start is its slot in the \
             schedule, so queueing is counted (no coordinated omission)."
                .into(),
            "Latencies are recorded in nanoseconds into HdrHistograms with 3 significant \
             digits; a percentile is the upper bound of its bucket. Histograms merge by \
             addition, never by averaging percentiles; results.json holds them (V2+DEFLATE, \
             base64)."
                .into(),
            "Throughput is completed operations over the wall-clock time from the phase's start \
             to its last completion. Warm-up phases are recorded apart and excluded."
                .into(),
            "A command loads the account, decides, and writes with the expected version, \
             retrying on conflict; its latency includes its retries."
                .into(),
            "The harness, its load generator and any local servers share this machine's CPUs."
                .into(),
        ]),
    ]
}
