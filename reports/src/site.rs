//! A static site of published runs: an index of every run, each run's own report with its
//! raw `results.json` to download, and one page per workload comparing its runs.
//!
//! Pure: [`build`] returns the files as (path relative to the site, contents); the caller
//! writes them. Pages are self-contained, with no script and no resource from the network;
//! every link is relative, so the site works from a file system, a bucket or a CI artifact.

use crate::format::rate;
use crate::html::{escape, page, render_with};
use crate::markdown;
use statebench_suites::results::Results;
use statebench_suites::standing::Standing;

/// One run to publish.
pub struct Run {
    /// Its name in the site, safe in a path and a URL (see [`unique_names`]).
    pub name: String,
    /// Its results.
    pub results: Results,
    /// Its `results.json` as read, copied unchanged.
    pub results_json: String,
}

/// Names for runs from their directories' names: characters other than letters, digits,
/// `.`, `_` and `-` become `-`, and a name taken already gets `-2`, `-3`, ….
pub fn unique_names<S: AsRef<str>>(names: &[S]) -> Vec<String> {
    let mut taken: Vec<String> = Vec::new();
    for name in names {
        let base = safe(name.as_ref(), "run");
        let mut candidate = base.clone();
        let mut n = 2;
        while taken.contains(&candidate) {
            candidate = format!("{base}-{n}");
            n += 1;
        }
        taken.push(candidate);
    }
    taken
}

/// `text` with only letters, digits, `.`, `_` and `-`; `fallback` when nothing (or only
/// dots) is left.
fn safe(text: &str, fallback: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if cleaned.chars().all(|c| c == '.') {
        fallback.to_owned()
    } else {
        cleaned
    }
}

/// The workload a run measured, as its page is named.
fn workload_of(r: &Results) -> &str {
    &r.config.workload.name
}

fn workload_file(workload: &str) -> String {
    format!("{}.html", safe(workload, "workload"))
}

/// A subject's standing in a run.
fn standing(r: &Results, subject: &str) -> Standing {
    r.subjects
        .iter()
        .find(|s| s.name == subject)
        .and_then(|s| s.correctness.as_ref().map(|c| c.standing))
        .unwrap_or_else(|| r.correctness(subject).standing)
}

/// A standing as a marked-up word; a FAIL in red.
fn standing_html(s: Standing) -> String {
    match s {
        Standing::Fail => "<span class=\"fail\">FAIL</span>".to_owned(),
        other => other.as_str().to_owned(),
    }
}

/// The best goodput of `subject` in the throughput suite of `r`.
fn best_goodput(r: &Results, subject: &str) -> Option<f64> {
    r.trials
        .iter()
        .filter(|t| t.suite == "throughput" && t.subject == subject)
        .map(|t| t.measured.ok_per_s)
        .max_by(f64::total_cmp)
}

/// Every file of the site, index first.
pub fn build(runs: &[Run]) -> Vec<(String, String)> {
    // Newest first; runs that started together stay in the order given.
    let mut order: Vec<&Run> = runs.iter().collect();
    order.sort_by(|a, b| b.results.started_at.cmp(&a.results.started_at));
    let mut files = vec![("index.html".to_owned(), index(&order))];
    for run in &order {
        let dir = format!("runs/{}", run.name);
        let nav = format!(
            "<nav><a href=\"../../index.html\">All runs</a> · <a href=\"../../workloads/{}\">\
             Workload {}</a> · <a href=\"results.json\" download>download results.json</a> · \
             <a href=\"report.md\">report.md</a></nav>\n",
            escape(&workload_file(workload_of(&run.results))),
            escape(workload_of(&run.results)),
        );
        files.push((format!("{dir}/index.html"), render_with(&run.results, &nav)));
        files.push((format!("{dir}/results.json"), run.results_json.clone()));
        files.push((format!("{dir}/report.md"), markdown::render(&run.results)));
    }
    let mut workloads: Vec<&str> = Vec::new();
    for run in &order {
        let w = workload_of(&run.results);
        if !workloads.contains(&w) {
            workloads.push(w);
        }
    }
    workloads.sort_unstable();
    for w in workloads {
        let of: Vec<&Run> = order
            .iter()
            .copied()
            .filter(|r| workload_of(&r.results) == w)
            .collect();
        files.push((format!("workloads/{}", workload_file(w)), workload(w, &of)));
    }
    files
}

fn index(runs: &[&Run]) -> String {
    let mut body = String::from("<h1>statebench runs</h1>\n");
    body += &format!(
        "<p>{} run{}, newest first. Each run's report holds its charts and tables; its raw \
         <code>results.json</code> is there to download. A subject that broke a promise is \
         marked <span class=\"fail\">FAIL</span>: its speed is not comparable.</p>\n",
        runs.len(),
        if runs.len() == 1 { "" } else { "s" }
    );
    body += "<div class=\"scroll\"><table>\n<thead><tr><th>run</th><th>started</th>\
             <th>workload</th><th>subjects</th><th>fastest passing</th><th>data</th>\
             </tr></thead>\n<tbody>\n";
    for run in runs {
        let r = &run.results;
        let name = escape(&run.name);
        let subjects: Vec<String> = r
            .subjects
            .iter()
            .map(|s| {
                format!(
                    "{} {}",
                    escape(&s.name),
                    standing_html(standing(r, &s.name))
                )
            })
            .collect();
        let fastest = match r.fastest_passing().0 {
            Some((subject, ok)) => format!("{} ({} ok/s)", escape(&subject), rate(ok)),
            None => "–".to_owned(),
        };
        body += &format!(
            "<tr><td><a href=\"runs/{name}/index.html\">{name}</a>{}</td><td>{}</td>\
             <td><a href=\"workloads/{}\">{}</a></td><td>{}</td><td>{fastest}</td>\
             <td><a href=\"runs/{name}/results.json\" download>results.json</a></td></tr>\n",
            if r.interrupted { " (interrupted)" } else { "" },
            escape(&r.started_at),
            escape(&workload_file(workload_of(r))),
            escape(workload_of(r)),
            if subjects.is_empty() {
                "–".to_owned()
            } else {
                subjects.join("<br>")
            },
        );
    }
    body += "</tbody>\n</table></div>\n";
    page("statebench runs", &body)
}

fn workload(name: &str, runs: &[&Run]) -> String {
    let mut subjects: Vec<&str> = Vec::new();
    for run in runs {
        for s in &run.results.subjects {
            if !subjects.contains(&s.name.as_str()) {
                subjects.push(&s.name);
            }
        }
    }
    let mut body = format!(
        "<nav><a href=\"../index.html\">All runs</a></nav>\n<h1>Workload {}</h1>\n\
         <p>{} run{} of this workload, newest first: each subject's best goodput in the \
         throughput suite (operations that succeeded per second) and its correctness in that \
         run. A FAIL is not comparable.</p>\n",
        escape(name),
        runs.len(),
        if runs.len() == 1 { "" } else { "s" }
    );
    body += "<div class=\"scroll\"><table>\n<thead><tr><th>run</th><th>started</th>";
    for s in &subjects {
        body += &format!("<th>{}</th>", escape(s));
    }
    body += "</tr></thead>\n<tbody>\n";
    for run in runs {
        let r = &run.results;
        let run_name = escape(&run.name);
        body += &format!(
            "<tr><td><a href=\"../runs/{run_name}/index.html\">{run_name}</a></td><td>{}</td>",
            escape(&r.started_at)
        );
        for s in &subjects {
            if !r.subjects.iter().any(|x| x.name == *s) {
                body += "<td>–</td>";
                continue;
            }
            let st = standing(r, s);
            let goodput = best_goodput(r, s)
                .map_or_else(|| "–".to_owned(), |ok| format!("{} ok/s", rate(ok)));
            let class = match st {
                Standing::Fail => "fail",
                Standing::Pass => "pass",
                Standing::Unknown => "unknown",
                Standing::Unchecked => "n",
            };
            body += &format!(
                "<td class=\"{class}\">{goodput}<br>{}</td>",
                standing_html(st)
            );
        }
        body += "</tr>\n";
    }
    body += "</tbody>\n</table></div>\n";
    page(&format!("statebench: workload {name}"), &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample;

    #[test]
    fn names_are_safe_and_unique() {
        assert_eq!(
            unique_names(&["a", "a", "b c", "..", "a-2", "ü"]),
            ["a", "a-2", "b-c", "run", "a-2-2", "-"]
        );
    }

    fn site() -> Vec<(String, String)> {
        let mut older = sample();
        older.started_at = "2025-12-31T00:00:00Z".into();
        build(&[
            Run {
                name: "old".into(),
                results: older,
                results_json: "{\"old\":1}\n".into(),
            },
            Run {
                name: "new".into(),
                results: sample(),
                results_json: "{\"new\":1}\n".into(),
            },
        ])
    }

    #[test]
    fn every_run_is_listed_and_published_with_its_data() {
        let files = site();
        let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "index.html",
                "runs/new/index.html",
                "runs/new/results.json",
                "runs/new/report.md",
                "runs/old/index.html",
                "runs/old/results.json",
                "runs/old/report.md",
                "workloads/read-heavy.html",
            ]
        );
        let index = &files[0].1;
        assert!(index.find("runs/new/index.html") < index.find("runs/old/index.html"));
        // The only throughput figure is of a subject that failed: none passing is fastest.
        assert!(index.contains("<td>–</td><td><a href=\"runs/new/results.json\""));
        assert!(index.contains("pg,x <span class=\"fail\">FAIL</span>"));
        assert_eq!(files[2].1, "{\"new\":1}\n");
        assert!(!index.contains("<script"));
        let workload = &files[7].1;
        assert!(workload.contains("../runs/old/index.html"));
        assert!(workload.contains("<td class=\"fail\">900 ok/s<br><span class=\"fail\">FAIL"));
    }
}
