//! index.html as a reader's browser shows it: a real run's report opened in headless
//! Chromium must load without a console error, hold its charts and the red banner of a
//! broken promise, and be saved as screenshots at 1400 and 800 px (kept in
//! target/ci-artifacts/ for CI to publish). Without Chromium this skips loudly, and fails
//! under CI=true (`ci/setup` installs Debian's `chromium`).

mod support;

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|p| support::which(p))
}

fn usable() -> Option<&'static str> {
    match chromium() {
        Some(program) => Some(program),
        None if support::in_ci() => panic!("CI=true, and no chromium is installed (ci/setup)"),
        None => {
            eprintln!("SKIPPED: no chromium on this machine; run ci/setup to install it");
            None
        }
    }
}

/// What headless Chromium printed: the page's DOM (with `--dump-dom`) and its log.
struct Shown {
    dom: String,
    log: String,
}

/// Runs headless Chromium on `page` with `args`, bounded in time. Its output goes to files,
/// so that a large DOM cannot fill a pipe nobody reads.
fn headless(program: &str, page: &Path, args: &[&str]) -> Shown {
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let (dom, log) = (scratch.path().join("dom"), scratch.path().join("log"));
    let mut child = std::process::Command::new(program)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!(
            "--user-data-dir={}",
            scratch.path().join("profile").display()
        ))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(std::fs::File::create(&dom).expect("the DOM file"))
        .stderr(std::fs::File::create(&log).expect("the log file"))
        .spawn()
        .expect("chromium starts");
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("chromium can be waited for") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    let shown = Shown {
        dom: read(&dom),
        log: read(&log),
    };
    assert!(
        status.success(),
        "chromium failed ({status}): {}",
        shown.log
    );
    shown
}

/// Messages the page wrote to the console (Chromium logs every level as `CONSOLE`), uncaught
/// exceptions, and resources that failed to load. The report has no script, so any of these
/// is a fault.
fn console_errors(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            l.contains(":CONSOLE")
                || l.contains("Uncaught")
                || l.contains("Failed to load resource")
        })
        .collect()
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/ci-artifacts");
    std::fs::create_dir_all(&dir).expect("the artifacts directory");
    dir
}

#[test]
fn the_console_check_catches_a_page_that_logs_an_error() {
    let Some(program) = usable() else { return };
    let dir = tempfile::tempdir().expect("a directory");
    let page = dir.path().join("broken.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><script>console.error('deliberate')</script></body></html>",
    )
    .expect("the page is written");
    let shown = headless(program, &page, &["--dump-dom"]);
    assert!(
        !console_errors(&shown.log).is_empty(),
        "a console.error went unnoticed; chromium said:\n{}",
        shown.log
    );
}

#[test]
fn index_html_loads_cleanly_with_its_charts_in_headless_chromium() {
    let Some(program) = usable() else { return };
    let dir = tempfile::tempdir().expect("a directory");
    let run = dir.path().join("run");
    // A store that breaks its promises beside the reference: the report must show both the
    // charts and the failure.
    let status = Command::cargo_bin("statebench")
        .expect("the binary is built")
        .args([
            "run",
            "--adapters",
            "memory,broken-cas",
            "--duration",
            "0.3",
            "--out",
        ])
        .arg(&run)
        .timeout(Duration::from_secs(300))
        .output()
        .expect("statebench runs");
    assert_eq!(
        status.status.code(),
        Some(3),
        "broken-cas fails its checks: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let page = run.join("index.html");
    let shown = headless(
        program,
        &page,
        &["--dump-dom", "--virtual-time-budget=2000"],
    );
    let dom = &shown.dom;
    let errors = console_errors(&shown.log);
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    // The browser parsed the charts as SVG elements: the latency distribution, the two
    // closed- and open-loop charts, the correctness grid, and the timelines.
    let svgs = dom.matches("<svg").count();
    assert!(svgs >= 5, "{svgs} <svg> elements in the rendered page");
    for title in [
        "Latency distribution at",
        "Throughput and p99 against workers",
        "Achieved rate and p99 against offered rate",
        "Correctness at a glance",
    ] {
        assert!(dom.contains(title), "no chart titled {title:?}");
    }
    let alert = dom
        .find("class=\"alert\"")
        .expect("the broken promise's banner");
    let charts = dom.find("<svg").expect("a chart");
    assert!(alert < charts, "the failure must come before the charts");
    for remote in ["src=\"http", "href=\"http", "url(http", "<script"] {
        assert!(
            !dom.contains(remote),
            "the page must be self-contained: {remote}"
        );
    }
    for width in [1400, 800] {
        let shot = artifacts().join(format!("index-{width}px.png"));
        let _ = std::fs::remove_file(&shot);
        let shown = headless(
            program,
            &page,
            &[
                &format!("--window-size={width},2400"),
                &format!("--screenshot={}", shot.display()),
            ],
        );
        let size = std::fs::metadata(&shot).map_or(0, |m| m.len());
        assert!(
            size > 10_000,
            "no screenshot at {width} px ({size} bytes): {}",
            shown.log
        );
    }
}
