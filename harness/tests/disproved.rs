//! A capability that a check disproves shows as disproved, in results.json and in the
//! reports, never as "yes"; the deliberately broken adapters run only when named.

use statebench::cli::RunArgs;
use statebench::options::RunOptions;
use statebench::run;
use statebench_reports::{html, markdown};
use statebench_suites::Silent;
use statebench_suites::results::{CheckStatus, Results, SubjectInfo};
use tokio_util::sync::CancellationToken;

async fn conformance_of(adapters: &[&str]) -> Results {
    let options = RunOptions::from_args(RunArgs {
        adapters: adapters.iter().map(|a| (*a).to_owned()).collect(),
        suites: vec!["conformance".into()],
        ..RunArgs::default()
    })
    .expect("valid options");
    run::execute(&options, &Silent, &CancellationToken::new(), None).await
}

fn subject<'a>(results: &'a Results, name: &str) -> &'a SubjectInfo {
    let found = results.subjects.iter().find(|s| s.name == name);
    found.unwrap_or_else(|| panic!("no subject {name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_disproved_capability_shows_as_disproved_in_results_and_reports() {
    let results = conformance_of(&["broken-cas", "memory"]).await;
    let broken = subject(&results, "broken-cas");
    let cas: Vec<_> = broken
        .disproved
        .iter()
        .map(|d| (d.capability.as_str(), d.check.as_str()))
        .collect();
    assert_eq!(cas, [("cas", "cas-exactly-one-winner")]);
    assert!(broken.disproved[0].detail.starts_with("round "));
    assert!(subject(&results, "memory:state").disproved.is_empty());
    assert!(subject(&results, "memory:events").disproved.is_empty());

    let json = serde_json::to_string(&results).unwrap();
    let back: Results = serde_json::from_str(&json).unwrap();
    assert_eq!(
        back.subjects, results.subjects,
        "disproofs survive results.json"
    );

    let md = markdown::render(&results);
    let row = md
        .lines()
        .find(|l| l.starts_with("| cas "))
        .expect("a cas row in the capabilities table");
    assert!(row.contains("DISPROVED by cas-exactly-one-winner"), "{row}");
    assert!(row.contains("| yes"), "memory's cas stays yes: {row}");
    assert!(html::render(&results).contains("DISPROVED by cas-exactly-one-winner"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn broken_adapters_run_when_named_and_a_passing_cache_disproves_nothing() {
    let results = conformance_of(&["broken-cache", "broken-forgetful"]).await;
    let names: Vec<&str> = results.subjects.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "broken-cache",
            "broken-forgetful:state",
            "broken-forgetful:events"
        ]
    );
    let cache = subject(&results, "broken-cache");
    assert!(cache.disproved.is_empty(), "{:?}", cache.disproved);
    let ran_cas = results.conformance.iter().filter(|c| {
        c.subject == "broken-cache"
            && c.capability.as_deref() == Some("cas")
            && c.status == CheckStatus::Pass
    });
    assert_eq!(ran_cas.count(), 4, "its CAS checks run without read-back");
    let md = markdown::render(&results);
    let row = md
        .lines()
        .find(|l| l.starts_with("| cas "))
        .expect("a cas row");
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(cells[2], "yes", "broken-cache's column: {row}");

    let defaults = RunOptions::from_args(RunArgs::default()).unwrap().adapters;
    assert!(
        defaults.iter().all(|a| !a.starts_with("broken-")),
        "{defaults:?}"
    );
}
