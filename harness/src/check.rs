//! `statebench check`: checks a history file offline against a model and says valid (exit
//! 0), invalid (3), unknown (4), or what is wrong with the file (1, with the line).

use statebench_suites::check::{Budget, Model, Validity, Verdict, overall};
use statebench_suites::history::{self, BadLine};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// What `check` was asked to do, checked.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// The model the history's operations act on.
    pub model: Model,
    /// The history (`-` for standard input).
    pub file: std::path::PathBuf,
    /// The search's budget.
    pub budget: Budget,
    /// Print the verdicts as JSON instead of text.
    pub json: bool,
}

/// A history that cannot be checked, with its file and line.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{}", where_and_what(.bad))]
pub struct BadHistory {
    /// The file.
    pub file: String,
    /// What is wrong, and where.
    pub bad: BadLine,
}

fn where_and_what(bad: &BadLine) -> String {
    if bad.line == 0 {
        format!(" {}", bad.message)
    } else {
        format!("{}: {}", bad.line, bad.message)
    }
}

/// The outcome of a check: the verdicts and the text to print.
pub struct Checked {
    /// Invalid beats unknown beats valid.
    pub validity: Validity,
    /// What to print on stdout.
    pub output: String,
}

/// Reads, pairs and checks the history.
pub fn run(options: &CheckOptions) -> Result<Checked, BadHistory> {
    let shown = options.file.display().to_string();
    let bad = |bad: BadLine| BadHistory {
        file: shown.clone(),
        bad,
    };
    let entries = if options.file == Path::new("-") {
        history::parse(std::io::stdin().lock()).map_err(bad)?
    } else {
        history::read_file(&options.file).map_err(bad)?
    };
    let ops = history::pair(&entries).map_err(bad)?;
    let verdicts = options.model.check(&ops, options.budget).map_err(bad)?;
    let validity = overall(&verdicts);
    let output = if options.json {
        serde_json::to_string_pretty(&verdicts).unwrap_or_default() + "\n"
    } else {
        let order = if ops.timed {
            "real time from `time`"
        } else {
            "real time from the line order (some lines have no `time`)"
        };
        let mut out = format!(
            "{shown}: {} operations, {} fault actions; {order}\n",
            ops.ops.len(),
            ops.faults.len()
        );
        for v in &verdicts {
            out += &render(v);
        }
        out
    };
    Ok(Checked { validity, output })
}

/// One verdict with its evidence, as text.
pub fn render(v: &Verdict) -> String {
    let shown = match v.validity {
        Validity::Valid => "valid",
        Validity::Invalid => "INVALID",
        Validity::Unknown => "UNKNOWN",
    };
    let mut out = format!("{}: {shown}: {}\n", v.check, v.summary);
    for e in &v.evidence {
        let key = e
            .key
            .as_deref()
            .map(|k| format!("key {k}: "))
            .unwrap_or_default();
        let _ = writeln!(out, "  {key}{}", e.message);
        for op in &e.ops {
            let _ = writeln!(out, "    {op}");
        }
    }
    out
}

/// Parses `--time-limit` seconds.
pub fn seconds(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 1e6)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("--time-limit must be a positive number of seconds, got `{text}`"))
}
