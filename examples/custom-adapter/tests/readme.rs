//! The README's "Your own adapter" section shows this crate's real code: every Rust block
//! in it is a run of lines of one of the crate's files.

use std::path::Path;

#[test]
fn the_readme_snippets_are_the_crate_s_own_lines() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(crate_dir.join("../../README.md")).expect("README.md");
    let section = readme
        .split("\n## Your own adapter\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a section `Your own adapter`");
    let sources: Vec<String> = [
        "src/lib.rs",
        "src/main.rs",
        "tests/checks.rs",
        "benches/store.rs",
    ]
    .iter()
    .map(|f| std::fs::read_to_string(crate_dir.join(f)).expect("a source file"))
    .collect();
    let blocks: Vec<&str> = section
        .split("```rust\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert!(
        blocks.len() >= 3,
        "the section shows the store, the tests and the bench"
    );
    for block in blocks {
        // Blocks may join two excerpts of a file with a blank line.
        for excerpt in block.split("\n\n\n").flat_map(|b| b.split("\n\n/// ")) {
            let excerpt = excerpt.trim();
            assert!(
                sources.iter().any(|s| s.contains(excerpt)),
                "README shows lines no file of the example has:\n{excerpt}"
            );
        }
    }
}
