//! What `statebench list` and `statebench workload show` print.

use crate::registry;
use statebench_suites::suite::SUITES;
use statebench_suites::workload::{
    Arrivals, BUILTIN, Distribution, Keys, OpKind, Phase, Workload, builtin,
};

/// Adapters, workloads (with their keys, mix, rates, concurrency and durations) and suites,
/// in lines that fit 100 columns.
pub fn list() -> String {
    let mut out = String::from("adapters:\n");
    for a in registry::ADAPTERS {
        let default = if a.default { "" } else { " (only when named)" };
        out += &row(
            format!("  {:<18} ", a.name),
            &format!("{}{default}", a.about),
        );
    }
    out += "workloads (`statebench workload show NAME` prints one as YAML):\n";
    for (name, _) in BUILTIN {
        match builtin(name) {
            Some(Ok(w)) => out += &details(&w),
            Some(Err(e)) => out += &row(format!("  {name:<18} "), &format!("invalid: {e}")),
            None => {}
        }
    }
    out += "suites:\n";
    for (name, about) in SUITES {
        out += &row(format!("  {name:<18} "), about);
    }
    out
}

/// A workload's name and description, then its settings, one aspect a line.
pub fn details(w: &Workload) -> String {
    let mut out = row(format!("  {:<18} ", w.name), &w.description);
    let field = |label: &str, value: String| row(format!("  {:<18}   {label:<12} ", ""), &value);
    out += &field("keys", keys(&w.keys));
    out += &field("mix", mix(w));
    let mut value = format!("{} bytes", w.value_size);
    if let Some(max) = w.value_size_max {
        value = format!("{}..={max} bytes", w.value_size);
    }
    out += &field("values", value);
    out += &field(
        "phases",
        format!(
            "warm-up {}, measured {} per step",
            phase(&w.warmup),
            phase(&w.measure)
        ),
    );
    let rates: Vec<String> = w.open.rates.iter().map(|r| format!("{r}/s")).collect();
    let arrivals = match w.open.arrivals {
        Arrivals::Constant => "constant",
        Arrivals::Poisson => "poisson",
    };
    out += &field(
        "latency",
        format!(
            "{} offered; {arrivals} arrivals, at most {} in flight",
            rates.join(", "),
            w.open.max_in_flight
        ),
    );
    let workers: Vec<String> = w.closed.concurrency.iter().map(usize::to_string).collect();
    out += &field(
        "throughput",
        format!(
            "{} workers, each starting when its last operation ends",
            workers.join(", ")
        ),
    );
    let c = &w.consistency;
    let faults: Vec<String> = c.faults.iter().map(ToString::to_string).collect();
    out += &field(
        "consistency",
        format!(
            "{} clients at {}/s on {} keys for {} per fault ({})",
            c.clients,
            c.rate,
            c.keys,
            humantime::format_duration(c.duration.0),
            faults.join(", ")
        ),
    );
    out
}

/// The widest line `list` prints.
const WIDTH: usize = 100;

/// `head` then `text`, wrapped at [`WIDTH`] columns under the text's first column.
fn row(head: String, text: &str) -> String {
    let indent = head.chars().count();
    let mut out = String::new();
    let mut line = head;
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out += line.trim_end();
            out.push('\n');
            line = " ".repeat(indent);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line += word;
        empty = false;
    }
    out += line.trim_end();
    out.push('\n');
    out
}

fn keys(k: &Keys) -> String {
    let how = match k.distribution {
        Distribution::Uniform => "uniform".to_owned(),
        Distribution::Zipfian => format!("zipfian, theta {}", k.theta.unwrap_or(0.99)),
        Distribution::Latest => format!("latest, theta {}", k.theta.unwrap_or(0.99)),
        Distribution::Hotspot => format!(
            "hotspot, {} of operations on {} of keys",
            percent(k.hot_ops.unwrap_or(0.0) * 100.0),
            percent(k.hot_fraction.unwrap_or(0.0) * 100.0)
        ),
    };
    format!("{} ({how})", k.count)
}

fn mix(w: &Workload) -> String {
    let total: u32 = OpKind::ALL.iter().map(|op| w.mix.weight(*op)).sum();
    let parts: Vec<String> = OpKind::ALL
        .iter()
        .filter(|op| w.mix.weight(**op) > 0)
        .map(|op| {
            let share = f64::from(w.mix.weight(*op)) * 100.0 / f64::from(total.max(1));
            format!("{} {}", percent(share), op.as_str())
        })
        .collect();
    parts.join(", ")
}

fn percent(share: f64) -> String {
    if (share - share.round()).abs() < 0.05 {
        format!("{share:.0}%")
    } else {
        format!("{share:.1}%")
    }
}

fn phase(p: &Phase) -> String {
    match (p.duration, p.ops) {
        (Some(d), _) if d.0.is_zero() => "none".to_owned(),
        (Some(d), _) => humantime::format_duration(d.0).to_string(),
        (None, Some(n)) => format!("{n} ops"),
        (None, None) => "none".to_owned(),
    }
}

/// A built-in workload as YAML that `--workload FILE` reads back as the same workload: every
/// field, defaults included. Unknown names are an error that lists the known ones.
pub fn workload_yaml(name: &str) -> Result<String, String> {
    let workload = match builtin(name) {
        Some(found) => found.map_err(|e| e.to_string())?,
        None => {
            let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "no built-in workload `{name}` (known: {})",
                names.join(", ")
            ));
        }
    };
    let yaml = serde_yaml::to_string(&workload).map_err(|e| e.to_string())?;
    Ok(format!(
        "# The built-in workload `{name}`, every field written out. Save it, edit it and run it\n\
         # with `statebench run --workload FILE`.\n{yaml}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_line_fits_100_columns() {
        for line in list().lines() {
            assert!(
                line.chars().count() <= 100,
                "{} columns: {line}",
                line.len()
            );
        }
    }

    #[test]
    fn every_builtin_shown_as_yaml_parses_back_to_itself() {
        for (name, _) in BUILTIN {
            let yaml = workload_yaml(name).unwrap();
            let back = Workload::parse("shown", &yaml).unwrap();
            assert_eq!(back, builtin(name).unwrap().unwrap(), "{name}");
        }
    }

    #[test]
    fn an_unknown_workload_names_the_known_ones() {
        let e = workload_yaml("nope").unwrap_err();
        assert!(
            e.contains("read-heavy") && e.contains("event-sourced"),
            "{e}"
        );
    }
}
