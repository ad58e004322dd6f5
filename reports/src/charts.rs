//! The report's charts, as SVG rendered here with plotters: no script, no font file, nothing
//! from the network; the browser draws the text.
//!
//! Every figure a chart shows comes from `results.json`: latency curves from the recorded
//! histograms of successful operations, rates and percentiles from each step's figures, the
//! timelines from the per-second points of each measured phase.

use crate::format::{latency_us, rate};
use hdrhistogram::Histogram;
use plotters::coord::Shift;
use plotters::prelude::*;
use statebench_suites::Outcome;
use statebench_suites::check::Validity;
use statebench_suites::results::{CheckStatus, OpStats, Results, Step, Trial, decode_histogram};

/// One chart: a title, the SVG, and what it shows and how it was measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// Above the chart.
    pub title: String,
    /// The chart, an `<svg>` element.
    pub svg: String,
    /// Below the chart: what is drawn and where the figures come from.
    pub caption: String,
}

type Drawn<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// Ten colours that stay apart from each other (Tableau 10), one per subject.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

const FONT: &str = "sans-serif";
/// Width of the charts with several subjects, and of their key at the right.
const WIDTH: u32 = 1000;
const KEY: u32 = 180;

/// One line of colour and a name per subject, beside the plot rather than over its lines.
fn legend(area: &DrawingArea<SVGBackend, Shift>, entries: &[(String, RGBColor)]) -> Drawn {
    for (k, (name, c)) in entries.iter().enumerate() {
        let y = 24 + 18 * k as i32;
        area.draw(&PathElement::new(vec![(4, y), (24, y)], c.stroke_width(3)))?;
        area.draw(&Text::new(
            name.clone(),
            (30, y - 6),
            (FONT, 12).into_font().color(&BLACK),
        ))?;
    }
    Ok(())
}

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Every chart the results allow, in reading order.
pub fn all(r: &Results) -> Vec<Chart> {
    let mut charts = Vec::new();
    charts.extend(distribution(r));
    charts.extend(against_workers(r));
    charts.extend(against_rate(r));
    charts.extend(matrix(r));
    charts
}

/// Per-second charts of every subject's steps, one chart per (subject, suite).
pub fn timelines(r: &Results) -> Vec<Chart> {
    let mut charts = Vec::new();
    for suite in ["throughput", "latency"] {
        for subject in subjects_of(r, suite) {
            let trials: Vec<&Trial> = r
                .trials
                .iter()
                .filter(|t| t.suite == suite && t.subject == subject)
                .collect();
            if let Some(chart) =
                render(|area| timeline(area, &trials), (900, 360)).map(|svg| Chart {
                    title: format!("{subject}, {suite} steps over time"),
                    svg,
                    caption: format!(
                        "Completed operations per second (top) and the 99th percentile of \
                         response time (bottom, log scale) in each 1 s interval of every {suite} \
                         step, one after another. Shaded: the step's warm-up, recorded apart \
                         and excluded from every figure (its mean rate is drawn dashed); the \
                         interval points are of the measured phase only. Red: errors per \
                         second."
                    ),
                })
            {
                charts.push(chart);
            }
        }
    }
    charts
}

/// Renders into an SVG string of `size` pixels; `None` when there was nothing to draw.
fn render(
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Drawn<bool>,
    size: (u32, u32),
) -> Option<String> {
    let mut svg = String::new();
    let drawn = {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(Into::into)
            .and_then(|()| draw(&root));
        let presented = root.present();
        drawn.and_then(|d| presented.map(|()| d).map_err(Into::into))
    };
    match drawn {
        Ok(true) => Some(responsive(svg, size)),
        _ => None,
    }
}

/// Scales with its box: a viewBox, and the fixed size left to CSS.
fn responsive(svg: String, (w, h): (u32, u32)) -> String {
    let fixed = format!("<svg width=\"{w}\" height=\"{h}\"");
    if svg.contains(&fixed) {
        svg.replacen(
            &fixed,
            &format!("<svg role=\"img\" width=\"{w}\" height=\"{h}\" preserveAspectRatio=\"xMinYMin meet\""),
            1,
        )
    } else {
        svg
    }
}

fn subjects_of<'a>(r: &'a Results, suite: &str) -> Vec<&'a str> {
    let mut names: Vec<&str> = Vec::new();
    for t in r.trials.iter().filter(|t| t.suite == suite) {
        if !names.contains(&t.subject.as_str()) {
            names.push(&t.subject);
        }
    }
    names
}

/// Every subject's index, so that one subject keeps its colour in every chart.
fn index_of(r: &Results, subject: &str) -> usize {
    r.subjects
        .iter()
        .position(|s| s.name == subject)
        .unwrap_or(r.subjects.len())
}

/// The highest offered rate every subject of the latency suite ran at.
pub fn common_rate(r: &Results) -> Option<f64> {
    let subjects = subjects_of(r, "latency");
    let rates_of = |s: &str| -> Vec<f64> {
        r.trials
            .iter()
            .filter(|t| t.suite == "latency" && t.subject == s)
            .filter_map(|t| match t.step {
                Step::Open { rate_per_s, .. } => Some(rate_per_s),
                Step::Closed { .. } => None,
            })
            .collect()
    };
    let first = rates_of(subjects.first()?);
    first
        .into_iter()
        .filter(|rate| subjects.iter().all(|s| rates_of(s).contains(rate)))
        .max_by(f64::total_cmp)
}

/// The response and service times of the successful operations of a trial, every operation
/// kind together, from the histograms in the results.
fn ok_histograms(ops: &[OpStats]) -> Option<(Histogram<u64>, Histogram<u64>)> {
    // Auto-resizing, so that histograms of different ranges add up.
    let mut response = Histogram::<u64>::new(3).ok()?;
    let mut service = Histogram::<u64>::new(3).ok()?;
    for o in ops {
        for outcome in o.outcomes.iter().filter(|o| o.outcome == Outcome::Ok) {
            response
                .add(decode_histogram(&outcome.response_histogram).ok()?)
                .ok()?;
            service
                .add(decode_histogram(&outcome.service_histogram).ok()?)
                .ok()?;
        }
    }
    (!response.is_empty()).then_some((response, service))
}

/// `(log10(1/(1-p)), µs)` points of a histogram, up to the last percentile its samples
/// support (one sample beyond it).
fn curve(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    let n = h.len();
    if n == 0 {
        return Vec::new();
    }
    let end = (n as f64).log10();
    let mut points = Vec::new();
    let mut x = 0.0;
    while x <= end + 1e-9 {
        let q = 1.0 - 10f64.powf(-x);
        points.push((x, (h.value_at_quantile(q) as f64 / 1_000.0).max(0.1)));
        x += 0.05;
    }
    points.push((end, (h.max() as f64 / 1_000.0).max(0.1)));
    points
}

fn percentile_label(x: f64) -> String {
    match x.round() as i64 {
        0 => "0%".into(),
        1 => "90%".into(),
        2 => "99%".into(),
        3 => "99.9%".into(),
        4 => "99.99%".into(),
        5 => "99.999%".into(),
        n => format!("1-1e-{n}"),
    }
}

fn log_bounds(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::MAX, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    (hi > 0.0).then(|| {
        let lo = 10f64.powf(lo.log10().floor());
        let hi = 10f64.powf(hi.log10().ceil()).max(lo * 10.0);
        (lo, hi)
    })
}

/// The latency distribution of every subject at the common offered rate.
fn distribution(r: &Results) -> Option<Chart> {
    let rate_s = common_rate(r)?;
    let mut curves = Vec::new();
    for t in r.trials.iter().filter(|t| t.suite == "latency") {
        if !matches!(t.step, Step::Open { rate_per_s, .. } if rate_per_s == rate_s) {
            continue;
        }
        let Some((response, service)) = ok_histograms(&t.measured.operations) else {
            continue;
        };
        curves.push((
            t.subject.clone(),
            index_of(r, &t.subject),
            curve(&response),
            curve(&service),
        ));
    }
    if curves.is_empty() {
        return None;
    }
    let x_end = curves
        .iter()
        .flat_map(|(_, _, a, _)| a.last().map(|p| p.0))
        .fold(1.0f64, f64::max)
        .ceil();
    let (lo, hi) = log_bounds(
        curves
            .iter()
            .flat_map(|(_, _, a, b)| a.iter().chain(b).map(|p| p.1)),
    )?;
    let entries: Vec<(String, RGBColor)> = curves
        .iter()
        .map(|(name, i, _, _)| (name.clone(), colour(*i)))
        .collect();
    let svg = render(
        |area| {
            let (area, key) = area.split_horizontally(WIDTH - KEY);
            legend(&key, &entries)?;
            let mut chart = ChartBuilder::on(&area)
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(70)
                .build_cartesian_2d(0f64..x_end, (lo..hi).log_scale())?;
            chart
                .configure_mesh()
                .x_labels(x_end as usize + 1)
                .x_label_formatter(&|x| percentile_label(*x))
                .y_label_formatter(&|y| latency_us(*y))
                .x_desc("percentile (log scale of 1/(1-p))")
                .y_desc("latency of successful operations")
                .label_style((FONT, 13))
                .draw()?;
            for (_, i, response, service) in &curves {
                let c = colour(*i);
                chart.draw_series(LineSeries::new(response.clone(), c.stroke_width(2)))?;
                chart.draw_series(DashedLineSeries::new(
                    service.clone(),
                    4,
                    3,
                    c.stroke_width(1),
                ))?;
            }
            Ok(true)
        },
        (WIDTH, 440),
    )?;
    Some(Chart {
        title: format!("Latency distribution at {}/s offered", rate(rate_s)),
        svg,
        caption: format!(
            "Each subject's successful operations at the highest offered rate every subject ran \
             ({}/s), from the recorded histograms: response time (solid, from the scheduled start, \
             so queueing counts) and service time (dashed, from the actual start). The x axis \
             stretches the tail: each step right is ten times rarer. A curve ends where its \
             samples end.",
            rate(rate_s)
        ),
    })
}

/// Goodput and p99 (successes) against workers, closed loop.
fn against_workers(r: &Results) -> Option<Chart> {
    let series = per_step(r, "throughput", |step| match step {
        Step::Closed { concurrency } => Some(*concurrency as f64),
        Step::Open { .. } => None,
    })?;
    let svg = two_panels(
        &series,
        "workers (log scale)",
        "goodput (successful ops/s)",
        "p99 of successful operations",
        xs(&series),
        false,
    )?;
    Some(Chart {
        title: "Throughput and p99 against workers (closed loop)".into(),
        svg,
        caption: "Left: successful operations per second over each step's measured window. \
                  Right: the 99th percentile of the successful operations' latency (service \
                  time: in a closed loop each worker waits for its last answer). One point per \
                  step."
            .into(),
    })
}

/// p99 and achieved rate against the offered rate, open loop.
fn against_rate(r: &Results) -> Option<Chart> {
    let series = per_step(r, "latency", |step| match step {
        Step::Open { rate_per_s, .. } => Some(*rate_per_s),
        Step::Closed { .. } => None,
    })?;
    let svg = two_panels(
        &series,
        "offered operations per second (log scale)",
        "achieved goodput (ops/s)",
        "p99 response time of successes",
        xs(&series),
        true,
    )?;
    Some(Chart {
        title: "Achieved rate and p99 against offered rate (open loop)".into(),
        svg,
        caption: "Left: successful operations per second against the rate offered; the grey \
                  diagonal is keeping up. Right: the 99th percentile of response time of the \
                  successful operations (from the scheduled start). A subject that falls below \
                  the diagonal is queueing, and its response time climbs."
            .into(),
    })
}

type Series = (String, usize, Vec<(f64, f64, f64)>);

/// Each subject of `suite` with one `(x, goodput, p99 of successes)` point per step, `x`
/// read from the step; `None` when no step has one.
fn per_step(r: &Results, suite: &str, x: fn(&Step) -> Option<f64>) -> Option<Vec<Series>> {
    let mut series = Vec::new();
    for name in subjects_of(r, suite) {
        let mut points: Vec<(f64, f64, f64)> = r
            .trials
            .iter()
            .filter(|t| t.suite == suite && t.subject == name)
            .filter_map(|t| {
                let m = &t.measured;
                Some((x(&t.step)?, m.ok_per_s, m.ok_response.p99_us))
            })
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        series.push((name.to_owned(), index_of(r, name), points));
    }
    series.iter().any(|s| !s.2.is_empty()).then_some(series)
}

/// Every x of every series.
fn xs(series: &[Series]) -> impl Iterator<Item = f64> + Clone + '_ {
    series.iter().flat_map(|s| s.2.iter().map(|p| p.0))
}

fn two_panels(
    series: &[Series],
    x_desc: &str,
    left: &str,
    right: &str,
    xs: impl Iterator<Item = f64> + Clone,
    diagonal: bool,
) -> Option<String> {
    let (x_lo, x_hi) = log_bounds(xs)?;
    let rates = series.iter().flat_map(|s| s.2.iter().map(|p| p.1));
    let y_hi = rates.fold(if diagonal { x_hi } else { 1.0 }, f64::max) * 1.1;
    let (p_lo, p_hi) =
        log_bounds(series.iter().flat_map(|s| s.2.iter().map(|p| p.2))).unwrap_or((1.0, 1_000.0));
    render(
        |area| {
            let entries: Vec<(String, RGBColor)> = series
                .iter()
                .map(|(name, i, _)| (name.clone(), colour(*i)))
                .collect();
            let (panels, key) = area.split_horizontally(WIDTH - KEY);
            legend(&key, &entries)?;
            let (a, b) = panels.split_horizontally((WIDTH - KEY) / 2);
            let mut chart = ChartBuilder::on(&a)
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d((x_lo..x_hi).log_scale(), 0f64..y_hi)?;
            chart
                .configure_mesh()
                .x_desc(x_desc)
                .y_desc(left)
                .x_label_formatter(&|x| rate(*x))
                .y_label_formatter(&|y| rate(*y))
                .label_style((FONT, 12))
                .draw()?;
            if diagonal {
                chart.draw_series(LineSeries::new(
                    vec![(x_lo, x_lo), (x_hi, x_hi)],
                    BLACK.mix(0.25),
                ))?;
            }
            for (_, i, points) in series {
                let c = colour(*i);
                chart.draw_series(
                    LineSeries::new(points.iter().map(|p| (p.0, p.1)), c.stroke_width(2))
                        .point_size(3),
                )?;
            }
            let mut chart = ChartBuilder::on(&b)
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(70)
                .build_cartesian_2d((x_lo..x_hi).log_scale(), (p_lo..p_hi).log_scale())?;
            chart
                .configure_mesh()
                .x_desc(x_desc)
                .y_desc(right)
                .x_label_formatter(&|x| rate(*x))
                .y_label_formatter(&|y| latency_us(*y))
                .label_style((FONT, 12))
                .draw()?;
            for (_, i, points) in series {
                let c = colour(*i);
                chart.draw_series(
                    LineSeries::new(
                        points.iter().filter(|p| p.2 > 0.0).map(|p| (p.0, p.2)),
                        c.stroke_width(2),
                    )
                    .point_size(3),
                )?;
            }
            Ok(true)
        },
        (WIDTH, 380),
    )
}

/// One subject's steps of one suite, one after another: ops/s and p99 per interval.
fn timeline(area: &DrawingArea<SVGBackend, Shift>, trials: &[&Trial]) -> Drawn<bool> {
    // (start, warm-up end, end) of each step along one axis, in seconds.
    let mut spans = Vec::new();
    let mut at = 0.0;
    for t in trials {
        let warm = t.warmup.duration_ms / 1e3;
        let measured = t
            .measured
            .timeline
            .last()
            .map_or(t.measured.duration_ms, |p| {
                p.end_ms.max(t.measured.duration_ms)
            })
            / 1e3;
        spans.push((at, at + warm, at + warm + measured));
        at += warm + measured;
    }
    if at <= 0.0 || trials.iter().all(|t| t.measured.timeline.is_empty()) {
        return Ok(false);
    }
    let rate_hi = trials
        .iter()
        .flat_map(|t| t.measured.timeline.iter().map(|p| p.ops_per_s))
        .chain(trials.iter().map(|t| t.warmup.ops_per_s))
        .fold(1.0, f64::max)
        * 1.1;
    let (p_lo, p_hi) = log_bounds(
        trials
            .iter()
            .flat_map(|t| t.measured.timeline.iter().filter_map(|p| p.response_p99_us)),
    )
    .unwrap_or((1.0, 1_000.0));
    let (top, bottom) = area.split_vertically(190);
    let mut ops = ChartBuilder::on(&top)
        .margin(10)
        .x_label_area_size(20)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..at, 0f64..rate_hi)?;
    ops.configure_mesh()
        .y_desc("ops/s")
        .y_label_formatter(&|y| rate(*y))
        .x_label_formatter(&|x| format!("{x:.0} s"))
        .label_style((FONT, 12))
        .draw()?;
    let mut p99 = ChartBuilder::on(&bottom)
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..at, (p_lo..p_hi).log_scale())?;
    p99.configure_mesh()
        .x_desc("seconds since the suite's first warm-up")
        .y_desc("p99 response")
        .y_label_formatter(&|y| latency_us(*y))
        .x_label_formatter(&|x| format!("{x:.0} s"))
        .label_style((FONT, 12))
        .draw()?;
    let shade = RGBColor(210, 210, 210).mix(0.5).filled();
    for (t, (start, warm_end, _)) in trials.iter().zip(&spans) {
        if warm_end > start {
            ops.draw_series(std::iter::once(Rectangle::new(
                [(*start, 0.0), (*warm_end, rate_hi)],
                shade,
            )))?;
            ops.draw_series(DashedLineSeries::new(
                vec![
                    (*start, t.warmup.ops_per_s),
                    (*warm_end, t.warmup.ops_per_s),
                ],
                4,
                3,
                colour(0).stroke_width(1),
            ))?;
            p99.draw_series(std::iter::once(Rectangle::new(
                [(*start, p_lo), (*warm_end, p_hi)],
                shade,
            )))?;
        }
        let points = &t.measured.timeline;
        let mid = |p: &statebench_suites::results::TimelinePoint| {
            warm_end + (p.start_ms + p.end_ms) / 2e3
        };
        ops.draw_series(LineSeries::new(
            points.iter().map(|p| (mid(p), p.ops_per_s)),
            colour(0).stroke_width(2),
        ))?;
        ops.draw_series(LineSeries::new(
            points.iter().map(|p| {
                let secs = (p.end_ms - p.start_ms) / 1e3;
                (
                    mid(p),
                    if secs > 0.0 {
                        p.errors as f64 / secs
                    } else {
                        0.0
                    },
                )
            }),
            RED.stroke_width(1),
        ))?;
        p99.draw_series(LineSeries::new(
            points
                .iter()
                .filter_map(|p| p.response_p99_us.map(|v| (mid(p), v.max(p_lo)))),
            colour(1).stroke_width(2),
        ))?;
        ops.draw_series(std::iter::once(Text::new(
            crate::document::step_words(&t.step),
            (*start, rate_hi * 0.97),
            (FONT, 11).into_font().color(&BLACK.mix(0.7)),
        )))?;
    }
    Ok(true)
}

/// A cell of the correctness grid.
#[derive(Clone, Copy, PartialEq)]
enum Mark {
    Pass,
    Fail,
    NotPromised,
    Unknown,
    Absent,
}

impl Mark {
    fn colour(self) -> RGBColor {
        match self {
            Mark::Pass => RGBColor(116, 196, 118),
            Mark::Fail => RGBColor(215, 48, 39),
            Mark::NotPromised => RGBColor(190, 160, 220),
            Mark::Unknown => RGBColor(253, 190, 80),
            Mark::Absent => RGBColor(235, 235, 235),
        }
    }

    fn word(self) -> &'static str {
        match self {
            Mark::Pass => "pass",
            Mark::Fail => "FAIL",
            Mark::NotPromised => "seen",
            Mark::Unknown => "unknown",
            Mark::Absent => "",
        }
    }

    /// The worse of two marks, for a check over several faults.
    fn worst(self, other: Mark) -> Mark {
        let rank = |m: Mark| match m {
            Mark::Absent => 0,
            Mark::Pass => 1,
            Mark::NotPromised => 2,
            Mark::Unknown => 3,
            Mark::Fail => 4,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// The conformance and consistency verdicts as a coloured grid: checks by subjects.
fn matrix(r: &Results) -> Option<Chart> {
    let mut subjects: Vec<&str> = Vec::new();
    for name in r
        .conformance
        .iter()
        .map(|c| c.subject.as_str())
        .chain(r.consistency.iter().map(|c| c.subject.as_str()))
    {
        if !subjects.contains(&name) {
            subjects.push(name);
        }
    }
    let mut rows: Vec<(String, Vec<Mark>)> = Vec::new();
    let mut set = |row: String, col: usize, mark: Mark| {
        let i = match rows.iter().position(|(name, _)| *name == row) {
            Some(i) => i,
            None => {
                rows.push((row, vec![Mark::Absent; subjects.len()]));
                rows.len() - 1
            }
        };
        rows[i].1[col] = rows[i].1[col].worst(mark);
    };
    for c in &r.conformance {
        let col = subjects.iter().position(|s| *s == c.subject)?;
        let mark = match c.status {
            CheckStatus::Pass => Mark::Pass,
            CheckStatus::Fail => Mark::Fail,
            CheckStatus::Unsupported => Mark::Absent,
        };
        set(format!("conformance: {}", c.check), col, mark);
    }
    for run in &r.consistency {
        let col = subjects.iter().position(|s| *s == run.subject)?;
        for c in &run.checks {
            let mark = match (c.verdict.validity, c.promised) {
                (Validity::Valid, _) => Mark::Pass,
                (Validity::Invalid, true) => Mark::Fail,
                (Validity::Invalid, false) => Mark::NotPromised,
                (Validity::Unknown, _) => Mark::Unknown,
            };
            set(format!("consistency: {}", c.verdict.check), col, mark);
        }
    }
    if rows.is_empty() {
        return None;
    }
    let label_w = 300i32;
    let cell_w = 96i32;
    let cell_h = 20i32;
    let head_h = 70i32;
    let width = (label_w + cell_w * subjects.len() as i32 + 10) as u32;
    let height = (head_h + cell_h * rows.len() as i32 + 10) as u32;
    let svg = render(
        |area| {
            for (j, name) in subjects.iter().enumerate() {
                let x = label_w + cell_w * j as i32 + 4;
                area.draw(&Text::new(
                    (*name).to_owned(),
                    (x, head_h - 8),
                    (FONT, 12).into_font().transform(FontTransform::Rotate270),
                ))?;
            }
            for (i, (row, marks)) in rows.iter().enumerate() {
                let y = head_h + cell_h * i as i32;
                area.draw(&Text::new(row.clone(), (4, y + 4), (FONT, 12)))?;
                for (j, mark) in marks.iter().enumerate() {
                    let x = label_w + cell_w * j as i32;
                    area.draw(&Rectangle::new(
                        [(x + 1, y + 1), (x + cell_w - 1, y + cell_h - 1)],
                        mark.colour().filled(),
                    ))?;
                    let style = if *mark == Mark::Fail {
                        (FONT, 12).into_font().color(&WHITE)
                    } else {
                        (FONT, 12).into_font().color(&BLACK)
                    };
                    area.draw(&Text::new(mark.word(), (x + 6, y + 4), style))?;
                }
            }
            Ok(true)
        },
        (width, height),
    )?;
    Some(Chart {
        title: "Correctness at a glance".into(),
        svg,
        caption: "Every check by subject: green pass, red FAIL (a promised property broken), \
                  violet seen but not promised, amber undecided, grey not run (unsupported, or \
                  the other contract). A consistency row shows the worst verdict over the \
                  fault scenarios; the tables below give each."
            .into(),
    })
}
