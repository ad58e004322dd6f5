//! Published reports: `statebench site` over two real runs through the memory adapter, and
//! `statebench report --format csv|bmf` checked against the run's results.json.

use assert_cmd::Command;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One short run through the memory adapter into `dir`.
fn run_into(dir: &Path) {
    let out = Command::cargo_bin("statebench")
        .unwrap()
        .args(["run", "--adapters", "memory"])
        .args(["--suites", "conformance,throughput", "--duration", "0.3"])
        .arg("--out")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "run failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two runs, made side by side; kept for the whole test binary.
fn runs() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static RUNS: std::sync::OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> =
        std::sync::OnceLock::new();
    RUNS.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("run-a"), tmp.path().join("run-b"));
        std::thread::scope(|s| {
            s.spawn(|| run_into(&a));
            s.spawn(|| run_into(&b));
        });
        (tmp, a, b)
    })
}

fn statebench(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::cargo_bin("statebench")
        .unwrap()
        .args(args)
        .output()
        .unwrap()
}

fn files_under(root: &Path) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.insert(path);
            }
        }
    }
    found
}

/// `a` and `b` agree to a few ulps: serde_json reads floats to within one.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

/// Every `href="…"` of a page.
fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().replace("&amp;", "&"))
        .collect()
}

#[test]
fn a_site_publishes_every_run_with_its_data_and_links_that_resolve() {
    let (tmp, a, b) = runs();
    let site = tmp.path().join("site");
    let out = statebench(&[
        "site".as_ref(),
        a.as_os_str(),
        b.as_os_str(),
        "--out".as_ref(),
        site.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    for name in ["run-a", "run-b"] {
        assert!(index.contains(&format!("href=\"runs/{name}/index.html\"")));
        assert!(site.join("runs").join(name).join("index.html").is_file());
        assert!(site.join("runs").join(name).join("report.md").is_file());
    }
    for (name, dir) in [("run-a", a), ("run-b", b)] {
        assert_eq!(
            std::fs::read(site.join("runs").join(name).join("results.json")).unwrap(),
            std::fs::read(dir.join("results.json")).unwrap(),
            "the copy of {name}'s results.json differs"
        );
    }
    let workload = std::fs::read_to_string(site.join("workloads/read-heavy.html")).unwrap();
    assert!(workload.contains("../runs/run-a/index.html"));
    assert!(workload.contains("../runs/run-b/index.html"));
    assert!(workload.contains("memory:state"));

    let files = files_under(&site);
    let mut checked = 0;
    for page in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
    {
        let html = std::fs::read_to_string(page).unwrap();
        assert!(!html.contains("<script"), "{} has a script", page.display());
        for href in hrefs(&html) {
            assert!(
                !href.contains("://") && !href.starts_with('/'),
                "{} links outside the site: {href}",
                page.display()
            );
            let target = page.parent().unwrap().join(&href).canonicalize();
            assert!(
                target
                    .as_ref()
                    .is_ok_and(|t| t.starts_with(site.canonicalize().unwrap()) && t.is_file()),
                "{} links to {href}, which is not in the site",
                page.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} links checked");
}

#[test]
fn a_site_refuses_what_is_not_a_run_and_an_out_that_is_a_run() {
    let (tmp, a, _) = runs();
    let empty = tempfile::tempdir().unwrap();
    let out = statebench(&[
        "site".as_ref(),
        a.as_os_str(),
        empty.path().as_os_str(),
        "--out".as_ref(),
        tmp.path().join("never").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&empty.path().display().to_string()) && stderr.contains("results.json"),
        "{stderr}"
    );
    assert!(!tmp.path().join("never").exists());

    let out = statebench(&[
        "site".as_ref(),
        a.as_os_str(),
        "--out".as_ref(),
        a.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is the run directory"));
}

#[test]
fn csv_has_a_row_per_trial_and_operation_with_the_results_numbers() {
    let (_, a, _) = runs();
    let out = statebench(&["report".as_ref(), a.as_os_str(), "--format=csv".as_ref()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(a.join("results.csv")).unwrap();
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("results.json")).unwrap()).unwrap();
    let mut lines = text.split("\r\n");
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').collect())
        .collect();
    let trials = results["trials"].as_array().unwrap();
    let expected: usize = trials
        .iter()
        .map(|t| t["measured"]["operations"].as_array().unwrap().len())
        .sum();
    assert!(expected > 0);
    assert_eq!(rows.len(), expected);
    for row in &rows {
        assert_eq!(row.len(), header.len(), "{row:?}");
        let trial = trials
            .iter()
            .find(|t| t["id"] == row[col("trial")])
            .unwrap();
        let op = trial["measured"]["operations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["op"] == row[col("op")])
            .unwrap();
        assert_eq!(row[col("ops")], op["ops"].to_string());
        assert_eq!(row[col("ok")], op["counts"]["ok"].to_string());
        assert!(close(
            row[col("trial_ok_per_s")].parse::<f64>().unwrap(),
            trial["measured"]["ok_per_s"].as_f64().unwrap()
        ));
        assert_eq!(row[col("subject")], trial["subject"]);
        assert_eq!(row[col("correctness")], "pass");
    }
    // The file is not printed, and --stdout prints it without writing.
    std::fs::remove_file(a.join("results.csv")).unwrap();
    let out = statebench(&[
        "report".as_ref(),
        a.join("results.json").as_os_str(),
        "--format".as_ref(),
        "csv".as_ref(),
        "--stdout".as_ref(),
    ]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), text);
    assert!(!a.join("results.csv").exists());
}

#[test]
fn bmf_holds_each_trials_goodput_latency_and_error_rate() {
    let (_, _, b) = runs();
    let out = statebench(&["report".as_ref(), b.as_os_str(), "--format=bmf".as_ref()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bmf: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(b.join("bmf.json")).unwrap()).unwrap();
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(b.join("results.json")).unwrap()).unwrap();
    let trial = results["trials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["subject"] == "memory:state" && t["step"]["concurrency"] == 4)
        .expect("a 4-worker throughput trial of memory:state");
    let m = &bmf["memory:state/throughput/4-workers"];
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    assert!(close(
        f(&m["throughput"]["value"]),
        f(&trial["measured"]["ok_per_s"])
    ));
    let ok = &trial["measured"]["ok_response"];
    assert!(ok["count"].as_u64().unwrap() > 0);
    let ns = |v: &serde_json::Value| f(v) * 1_000.0;
    assert!(close(f(&m["latency"]["value"]), ns(&ok["p50_us"])));
    assert!(close(f(&m["latency"]["lower_value"]), ns(&ok["min_us"])));
    assert!(close(f(&m["latency"]["upper_value"]), ns(&ok["p99_us"])));
    assert_eq!(m["error-rate"]["value"].as_f64(), Some(0.0));
    assert_eq!(
        bmf.as_object().unwrap().len(),
        results["trials"].as_array().unwrap().len()
    );
}

#[test]
fn report_refuses_an_unknown_format_and_stdout_of_several() {
    let (_, a, _) = runs();
    let out = statebench(&["report".as_ref(), a.as_os_str(), "--format=pdf".as_ref()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("unknown format `pdf` (known: html, md, csv, bmf)")
    );
    let out = statebench(&[
        "report".as_ref(),
        a.as_os_str(),
        "--format=csv,bmf".as_ref(),
        "--stdout".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(1));
}
