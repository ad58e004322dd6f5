//! statebench's checks as ordinary tests: they pass for `VersionedMap`, and catch the
//! deliberately broken one by the check that matches its bug.

use custom_adapter::{VersionedMap, subject};
use statebench_suites::testing::{self, ConsistencyOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_store_keeps_the_contract() {
    let subject = subject("versioned-map", VersionedMap::new());
    testing::conformance(&subject).await.assert_pass();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_store_stays_consistent_under_concurrent_clients() {
    let subject = subject("versioned-map", VersionedMap::new());
    testing::consistency(&subject, &ConsistencyOptions::default())
        .await
        .assert_pass();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_catches_the_racy_compare_and_set() {
    let report = testing::conformance(&subject("broken", VersionedMap::broken())).await;
    assert!(report.failed("cas-exactly-one-winner"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn consistency_catches_the_updates_the_racy_compare_and_set_loses() {
    let subject = subject("broken", VersionedMap::broken());
    let report = testing::consistency(&subject, &ConsistencyOptions::default()).await;
    assert!(report.failed("lost-updates"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[should_panic(expected = "cas-exactly-one-winner FAILED")]
async fn a_failed_check_fails_the_test_with_its_evidence() {
    let subject = subject("broken", VersionedMap::broken());
    testing::conformance(&subject).await.assert_pass();
}
