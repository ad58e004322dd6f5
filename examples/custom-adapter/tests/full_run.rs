//! A full statebench run on `VersionedMap` writes the results and both reports.

use custom_adapter::{VersionedMap, subject};
use statebench::cli::RunArgs;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_writes_results_and_reports_for_the_store() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().join("run");
    let args = RunArgs {
        suites: vec!["conformance".into()],
        out: Some(out.clone()),
        ..RunArgs::default()
    };
    let results = statebench::run_with(vec![subject("versioned-map", VersionedMap::new())], args)
        .await
        .expect("the run is written");
    let names: Vec<&str> = results.subjects.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["versioned-map"], "only the store runs");
    for file in ["results.json", "report.md", "index.html"] {
        assert!(out.join(file).is_file(), "{file} is written");
    }
    let report = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(report.contains("versioned-map"), "{report}");
}
