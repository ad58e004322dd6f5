//! Records the git commit (HEAD) the binary is built from, where there is one.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
}

fn main() {
    // Watch the files HEAD lives in, where git says they are: in a worktree `.git` is a file
    // and HEAD is under the main repository's `.git/worktrees/NAME`; a path that does not
    // exist would make cargo run this script, and rebuild the crate, every time.
    println!("cargo:rerun-if-changed=build.rs");
    let head = git(&["rev-parse", "--git-path", "HEAD"]);
    let refs = git(&["rev-parse", "--git-path", "refs/heads"]);
    let packed = git(&["rev-parse", "--git-path", "packed-refs"]);
    for path in [head, refs, packed].into_iter().flatten() {
        if Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let sha = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_default();
    println!("cargo:rustc-env=STATEBENCH_GIT_SHA={sha}");
}
