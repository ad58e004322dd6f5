//! Backends as local server processes: installed binaries (PATH, the Debian
//! `/usr/lib/postgresql/*/bin` layout, Homebrew; what to run is the backend's
//! [`Kind::native`](super::backend::Kind::native)), a fresh temporary directory, a free loopback
//! port, each in its own process group, stopped and deleted afterwards. PostgreSQL refuses to
//! run as root, so as root it runs as the `postgres` user (or `nobody`).

use super::backend::{Backend, Persistence, fresh_password};
use super::fault::{FaultTarget, Lifecycle, Step};
use super::{READY_TIMEOUT, Server, free_port, log_tail};
use crate::cleanup::{Resource, Token, register};
use async_trait::async_trait;
use rustix::process::{Pid, Signal, kill_process_group};
use statebench_suites::results::ServerInfo;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// How long a server may take to stop before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// How a server process is started, the first time and after a fault.
struct Launch {
    program: PathBuf,
    /// With `{dir}` and `{port}` filled in.
    args: Vec<String>,
    user: Option<(u32, u32)>,
    stop_signal: Signal,
}

/// A server process the harness started, with its directory.
pub struct Process {
    child: Child,
    launch: Launch,
    dir: tempfile::TempDir,
    token: Token,
}

impl Process {
    /// Starts the server in `dir` and registers it for the emergency cleanup.
    fn spawn(launch: Launch, dir: tempfile::TempDir) -> Result<Self, String> {
        let (child, token) = spawn(&launch, dir.path())?;
        Ok(Self {
            child,
            launch,
            dir,
            token,
        })
    }

    /// The process group, while its leader has not been reaped: only then is the group
    /// certainly still the server's.
    fn group(&self) -> Option<Pid> {
        self.child
            .id()
            .and_then(|id| Pid::from_raw(i32::try_from(id).ok()?))
    }

    /// Sends `signal` to the server's process group; `false` when the server is gone.
    fn signal(&self, signal: Signal) -> Result<bool, String> {
        let Some(group) = self.group() else {
            return Ok(false);
        };
        match kill_process_group(group, signal) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::SRCH) => Ok(false),
            Err(e) => Err(format!("cannot signal process group {group:?}: {e}")),
        }
    }

    /// Sends `signal` and waits until the server has exited, killing it after `limit`.
    async fn end(&mut self, signal: Signal, limit: Duration) -> Result<(), String> {
        let group = self.group();
        if self.signal(signal)?
            && tokio::time::timeout(limit, self.child.wait())
                .await
                .is_err()
        {
            self.signal(Signal::KILL)?;
        }
        // After SIGKILL the exit is prompt; the caller bounds the wait anyway.
        self.child.wait().await.map_err(|e| e.to_string())?;
        // The leader is gone; its children (PostgreSQL's backends) may linger a moment, and
        // a server started again while they hold its shared memory refuses to run.
        if let Some(group) = group {
            for _ in 0..500 {
                if rustix::process::test_kill_process_group(group).is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(())
    }

    /// Starts the server again in its directory, once the old one has exited.
    fn start_again(&mut self) -> Result<(), String> {
        if let Ok(None) = self.child.try_wait() {
            return Err("the server is still running".into());
        }
        let (child, token) = spawn(&self.launch, self.dir.path())?;
        self.child = child;
        // Registered under the new pid; the old registration goes with its token.
        self.token = token;
        Ok(())
    }

    /// Asks the server to stop, kills it if it does not, and deletes its directory.
    pub async fn stop(mut self) {
        let _ = self.end(self.launch.stop_signal, STOP_TIMEOUT).await;
        let _ = self.dir.close();
    }

    fn log_tail(&self) -> String {
        log_tail(&std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default())
    }
}

#[async_trait]
impl Lifecycle for Process {
    async fn apply(&mut self, step: Step) -> Result<(), String> {
        match step {
            Step::Kill => self.end(Signal::KILL, STOP_TIMEOUT).await,
            Step::Stop => self.end(self.launch.stop_signal, STOP_TIMEOUT).await,
            Step::Pause | Step::Resume => {
                let signal = if step == Step::Pause {
                    Signal::STOP
                } else {
                    Signal::CONT
                };
                match self.signal(signal)? {
                    true => Ok(()),
                    false => Err(format!("the server is not running: {}", self.log_tail())),
                }
            }
            Step::Start => self.start_again(),
        }
    }

    /// Polls every 200 ms; the caller races this against a bounded wait.
    async fn exited(&mut self) -> String {
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return format!("exited ({status}): {}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn remove(self: Box<Self>) {
        self.stop().await;
    }
}

/// Spawns the server process in `dir` and registers it with its directory.
fn spawn(launch: &Launch, dir: &Path) -> Result<(Child, Token), String> {
    let child = command(&launch.program, &launch.args, dir, launch.user)?
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", launch.program.display()))?;
    let token = register(Resource::Process {
        pid: child.id().unwrap_or_default(),
        dir: dir.to_owned(),
    });
    Ok((child, token))
}

/// Directories that may hold server binaries, `preferred` first, then PATH and the usual
/// places.
fn search_dirs(preferred: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut dirs = preferred;
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.extend(
        [
            "/usr/sbin",
            "/usr/bin",
            "/usr/local/bin",
            "/opt/homebrew/bin",
        ]
        .map(PathBuf::from),
    );
    dirs
}

/// The first directory (of `preferred`, then PATH and the usual places) that holds every
/// one of `names`.
pub(super) fn find(names: &[&str], preferred: Vec<PathBuf>) -> Result<PathBuf, String> {
    search_dirs(preferred)
        .into_iter()
        .find(|dir| names.iter().all(|n| dir.join(n).is_file()))
        .ok_or_else(|| {
            format!(
                "{} not found (PATH, /usr/lib/postgresql/*/bin, Homebrew)",
                names.join(" and ")
            )
        })
}

/// The user a server runs as when the harness runs as root: (uid, gid).
pub(super) fn unprivileged_user() -> Option<(u32, u32)> {
    if !rustix::process::geteuid().is_root() {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let ids = |name: &str| {
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&name))
                .then(|| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))?
        })
    };
    ids("postgres").or_else(|| ids("nobody"))
}

fn command(
    program: &Path,
    args: &[String],
    dir: &Path,
    user: Option<(u32, u32)>,
) -> Result<Command, String> {
    // The directory belongs to the harness, so no other user can put a link where the log
    // goes; the log must be new.
    let log = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join("server.log"))
        .or_else(|_| {
            std::fs::OpenOptions::new()
                .append(true)
                .open(dir.join("server.log"))
        })
        .map_err(|e| format!("cannot write a log: {e}"))?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .process_group(0)
        .kill_on_drop(true);
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
    Ok(command)
}

/// A fresh directory: the harness keeps it (mode 0711); `data` (and `socket` for
/// PostgreSQL) inside it belong to the server's user.
fn directory(user: Option<(u32, u32)>, password: &str) -> Result<tempfile::TempDir, String> {
    use std::os::unix::fs::{PermissionsExt, chown};
    let dir = tempfile::Builder::new()
        .prefix("statebench-")
        .tempdir()
        .map_err(|e| format!("no temporary directory: {e}"))?;
    let set = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("cannot set the mode of {}: {e}", path.display()))
    };
    set(dir.path(), 0o711)?;
    for sub in ["data", "socket"] {
        let path = dir.path().join(sub);
        std::fs::create_dir(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        set(&path, 0o700)?;
        if let Some((uid, gid)) = user {
            chown(&path, Some(uid), Some(gid))
                .map_err(|e| format!("cannot hand {sub} to uid {uid}: {e}"))?;
        }
    }
    // PostgreSQL's initdb reads the password from a file its user can read.
    let pwfile = dir.path().join("socket/password");
    std::fs::write(&pwfile, format!("{password}\n"))
        .map_err(|e| format!("cannot write the password file: {e}"))?;
    set(&pwfile, 0o600)?;
    if let Some((uid, gid)) = user {
        chown(&pwfile, Some(uid), Some(gid))
            .map_err(|e| format!("cannot hand the password file to uid {uid}: {e}"))?;
    }
    Ok(dir)
}

/// Starts `backend` from installed binaries and waits until it answers.
pub async fn start(backend: Backend, persistence: Persistence) -> Result<Server, String> {
    let plan = backend.kind().native()?;
    let mut args = plan.args;
    args.extend(backend.server_args(persistence)?);
    let user = plan.user;
    let password = fresh_password();
    let dir = directory(user, &password)?;
    let port = free_port()?;
    let fill = |args: &[String]| -> Vec<String> {
        let dir = dir.path().to_string_lossy();
        args.iter()
            .map(|a| {
                a.replace("{dir}", &dir)
                    .replace("{port}", &port.to_string())
            })
            .collect()
    };
    if let Some((setup_program, setup_args)) = &plan.setup {
        set_up(setup_program, &fill(setup_args), dir.path(), user).await?;
    }
    let launch = Launch {
        args: fill(&args),
        program: plan.program,
        user,
        stop_signal: backend.stop_signal(),
    };
    let mut process = Process::spawn(launch, dir)?;
    let url = backend.local_url(port, &password);
    let ready = tokio::select! {
        ready = backend.wait_ready(&url, READY_TIMEOUT) => ready,
        why = process.exited() => Err(format!("{backend} {why}")),
    };
    let version = match ready {
        Ok(version) => version,
        Err(e) => {
            process.stop().await;
            return Err(e);
        }
    };
    let info = ServerInfo {
        backend: backend.to_string(),
        version: Some(version),
        provisioning: "native".into(),
        url: super::backend::redact(&url),
        image: None,
        image_id: None,
        binary: Some(process.launch.program.display().to_string()),
    };
    let faults = FaultTarget::managed(backend, &url, "native", Box::new(process));
    Ok(Server {
        backend,
        url,
        info,
        faults,
    })
}

/// Runs the setup step (PostgreSQL's initdb) once, before the first start.
async fn set_up(
    program: &Path,
    args: &[String],
    dir: &Path,
    user: Option<(u32, u32)>,
) -> Result<(), String> {
    let output = command(program, args, dir, user)?
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), output)
        .await
        .map_err(|_| format!("{} took over 2 minutes", program.display()))?
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let _ = std::fs::remove_file(dir.join("socket/password"));
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "{} failed: {}",
            program.display(),
            log_tail(&stderr)
        ));
    }
    Ok(())
}
