//! Everything the harness started, so that nothing outlives it: normally each resource is
//! stopped by its owner; on a second Ctrl-C (an immediate exit, no destructors) or a panic,
//! [`emergency`] removes what is left.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Something that must not outlive the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resource {
    /// A Docker container, by id.
    Container(String),
    /// A server process and its process group, by leader pid, and its directory.
    Process {
        /// The process group's leader.
        pid: u32,
        /// The server's temporary directory.
        dir: std::path::PathBuf,
    },
}

static LIVE: Mutex<Vec<(u64, Resource)>> = Mutex::new(Vec::new());
static NEXT: AtomicU64 = AtomicU64::new(0);

/// Keeps a resource registered until dropped.
#[derive(Debug)]
pub struct Token(u64);

impl Drop for Token {
    fn drop(&mut self) {
        let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
        live.retain(|(id, _)| *id != self.0);
    }
}

/// Registers `resource` until the returned token is dropped.
pub fn register(resource: Resource) -> Token {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    LIVE.lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((id, resource));
    Token(id)
}

/// What is registered now.
pub fn live() -> Vec<Resource> {
    LIVE.lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(_, r)| r.clone())
        .collect()
}

/// The label on every container this process starts; [`emergency`] also removes containers
/// by it, so that one created but not yet registered does not survive either.
pub fn container_label() -> String {
    format!("org.statebench.pid={}", std::process::id())
}

/// Runs [`emergency`] when dropped during a panic: put one at the top of `main`.
pub struct OnPanic;

impl Drop for OnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            emergency();
        }
    }
}

/// Kills every registered process group and force-removes every registered (or labelled)
/// container, without waiting for anything else. Safe to call from any thread.
pub fn emergency() {
    remove_labelled_containers();
    for resource in live() {
        match resource {
            Resource::Process { pid, dir } => {
                if let Some(pid) = i32::try_from(pid)
                    .ok()
                    .and_then(rustix::process::Pid::from_raw)
                {
                    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
                }
                let _ = std::fs::remove_dir_all(dir);
            }
            Resource::Container(id) => docker(&["rm", "-f", "-v", &id]),
        }
    }
}

/// Removes every container that carries this process's label.
pub fn remove_labelled_containers() {
    let listed = std::process::Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label={}", container_label()),
        ])
        .stderr(std::process::Stdio::null())
        .output();
    let Ok(listed) = listed else { return };
    for id in String::from_utf8_lossy(&listed.stdout).split_whitespace() {
        docker(&["rm", "-f", "-v", id]);
    }
}

fn docker(args: &[&str]) {
    let _ = std::process::Command::new("docker")
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}
