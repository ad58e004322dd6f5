//! The run directory: checked before the run, written atomically after it.

use crate::options::InvalidInput;
use statebench_reports::{html, json, markdown};
use statebench_suites::results::Results;
use std::io::Write;
use std::path::Path;

/// The files a run writes, besides interval logs.
pub const RESULTS: &str = "results.json";
/// The Markdown report.
pub const MARKDOWN: &str = "report.md";
/// The HTML report.
pub const HTML: &str = "index.html";
/// The CSV export (`statebench report --format csv`).
pub const CSV: &str = "results.csv";
/// The Bencher Metric Format export (`statebench report --format bmf`).
pub const BMF: &str = "bmf.json";

/// A run directory, or its results.json: the directory and the file.
pub fn run_paths(path: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    if path.is_dir() {
        (path.to_path_buf(), path.join(RESULTS))
    } else {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        (dir.to_path_buf(), path.to_path_buf())
    }
}

/// Creates `dir` and proves it writable before any measuring starts; refuses a directory
/// that already holds results, so that no earlier run is overwritten.
pub fn prepare(dir: &Path) -> Result<(), InvalidInput> {
    let shown = dir.display();
    let fail =
        |e: std::io::Error| InvalidInput(format!("cannot write to output directory {shown}: {e}"));
    std::fs::create_dir_all(dir).map_err(fail)?;
    tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    if dir.join(RESULTS).exists() {
        return Err(InvalidInput(format!(
            "{shown} already holds a run ({RESULTS}); choose another --out or remove it"
        )));
    }
    Ok(())
}

/// Writes `contents` to `path` so that readers see the old file or the new one, never a part.
pub fn write_atomic(path: &Path, contents: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(contents.as_bytes())?;
    // Temporary files are private; reports are for reading, like any file written plainly.
    set_readable(file.as_file())?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(unix)]
fn set_readable(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_readable(_: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

/// Writes results.json, then the reports rendered from it.
pub fn write_run(dir: &Path, results: &Results) -> std::io::Result<()> {
    write_atomic(&dir.join(RESULTS), &json::render(results))?;
    write_reports(dir, results)
}

/// Writes report.md and index.html.
pub fn write_reports(dir: &Path, results: &Results) -> std::io::Result<()> {
    write_atomic(&dir.join(MARKDOWN), &markdown::render(results))?;
    write_atomic(&dir.join(HTML), &html::render(results))
}

/// The variable GitHub Actions sets to the file a job's summary page is read from.
pub const STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";

/// Appends `dir`'s report.md (written to fit a pull-request comment) to the step summary
/// file, creating it if needed.
pub fn append_step_summary(summary: &Path, dir: &Path) -> std::io::Result<()> {
    append_file(summary, &dir.join(MARKDOWN))
}

/// Appends the text of `from` to `summary`, with a line break after it.
pub fn append_file(summary: &Path, from: &Path) -> std::io::Result<()> {
    let report = std::fs::read_to_string(from)?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(summary)?;
    file.write_all(report.as_bytes())?;
    file.write_all(b"\n")
}

/// Writes a site's files (paths relative to `dir`, as
/// [`statebench_reports::site::build`] returns them) under `dir`, creating directories.
pub fn write_site(dir: &Path, files: &[(String, String)]) -> std::io::Result<()> {
    for (relative, contents) in files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        write_atomic(&path, contents)?;
    }
    Ok(())
}
