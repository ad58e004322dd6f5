//! How much the repeated trials of each step differed (`run --trials N`): the tables above
//! pool them, this section shows their spread, so a reader can tell a steady figure from a
//! lucky one.

use crate::document::{Block, Table, step_words};
use crate::format::{latency_us, rate};
use crate::pooled::{Spread, median, spreads, variation};
use statebench_suites::results::Results;

/// The section, when some step ran more than once.
pub fn section(results: &Results) -> Vec<Block> {
    let spreads = spreads(results);
    if spreads.is_empty() {
        return Vec::new();
    }
    let mut table = Table::new(&[
        ("subject", false),
        ("step", false),
        ("trials", true),
        ("ok/s median", true),
        ("ok/s range", true),
        ("ok/s CV", true),
        ("p50 median", true),
        ("p99 median", true),
        ("p99 range", true),
        ("p99 CV", true),
    ]);
    table.rows = spreads.iter().map(row).collect();
    vec![
        Block::Heading(2, "Repeated trials".into()),
        Block::Paragraph(format!(
            "Every step ran {} times, each on freshly loaded keys with its own warm-up and \
             operations, in rounds that took every subject in turn. The tables above pool the \
             trials of a step (histograms added, counts summed, rates over the sum of the \
             windows); here is how far apart they were. CV is the standard deviation over the \
             mean. `statebench compare` decides on these per-trial figures.",
            results.config.trials
        )),
        Block::Table(table),
    ]
}

fn row(s: &Spread) -> Vec<String> {
    let range = |v: &[f64], show: fn(f64) -> String| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!("{} – {}", show(lo), show(hi))
    };
    let cv = |v: &[f64]| variation(v).map_or("–".to_owned(), |c| format!("{:.1}%", c * 100.0));
    vec![
        s.subject.clone(),
        format!("{} {}", s.suite, step_words(&s.step)),
        s.trials.to_string(),
        rate(median(&s.ok_per_s)),
        range(&s.ok_per_s, rate),
        cv(&s.ok_per_s),
        latency_us(median(&s.p50_us)),
        latency_us(median(&s.p99_us)),
        range(&s.p99_us, latency_us),
        cv(&s.p99_us),
    ]
}
