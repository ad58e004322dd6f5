//! Backends as local server processes: installed binaries (PATH, the Debian
//! `/usr/lib/postgresql/*/bin` layout, Homebrew), a fresh temporary directory, a free loopback
//! port, each in its own process group, stopped and deleted afterwards. PostgreSQL refuses to
//! run as root, so as root it runs as the `postgres` user (or `nobody`).

use super::backend::Backend;
use super::backend::fresh_password;
use super::{Guard, READY_TIMEOUT, Server, log_tail};
use crate::cleanup::{Resource, Token, register};
use rustix::process::{Pid, Signal, kill_process_group};
use statebench_suites::results::ServerInfo;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// How long a server may take to stop before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A server process the harness started, with its directory.
pub struct Process {
    child: Child,
    stop_signal: Signal,
    dir: tempfile::TempDir,
    _token: Token,
}

impl Process {
    fn group(&self) -> Option<Pid> {
        self.child
            .id()
            .and_then(|id| Pid::from_raw(i32::try_from(id).ok()?))
    }

    /// Asks the server to stop, kills it if it does not, and deletes its directory.
    pub async fn stop(mut self) {
        if let Some(group) = self.group() {
            let _ = kill_process_group(group, self.stop_signal);
            if tokio::time::timeout(STOP_TIMEOUT, self.child.wait())
                .await
                .is_err()
            {
                let _ = kill_process_group(group, Signal::KILL);
                let _ = self.child.wait().await;
            }
        }
        let _ = self.dir.close();
    }

    /// Returns (with the end of its log) once the server process has ended.
    async fn exited(&mut self) -> String {
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return format!("exited ({status}): {}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn log_tail(&self) -> String {
        log_tail(&std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default())
    }
}

/// Directories that may hold server binaries, most preferred first.
fn search_dirs(backend: Backend) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if backend == Backend::Postgres {
        // Debian keeps each major version apart; prefer the newest.
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
            .collect();
        versions.sort_by_key(|v| std::cmp::Reverse(v.0));
        dirs.extend(versions.into_iter().map(|(_, dir)| dir));
        for brew in ["/opt/homebrew/opt", "/usr/local/opt"] {
            let mut found: Vec<PathBuf> = std::fs::read_dir(brew)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("postgresql"))
                .map(|e| e.path().join("bin"))
                .collect();
            found.sort();
            dirs.extend(found.into_iter().rev());
        }
    }
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

/// The first directory that holds every one of `names`.
fn find(backend: Backend, names: &[&str]) -> Result<PathBuf, String> {
    search_dirs(backend)
        .into_iter()
        .find(|dir| names.iter().all(|n| dir.join(n).is_file()))
        .ok_or_else(|| {
            format!(
                "{} not found (PATH, /usr/lib/postgresql/*/bin, Homebrew)",
                names.join(" and ")
            )
        })
}

fn free_port() -> Result<u16, String> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// The user a server runs as when the harness runs as root: (uid, gid).
fn unprivileged_user() -> Option<(u32, u32)> {
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
pub async fn start(backend: Backend) -> Result<Server, String> {
    let (program, setup, args, stop_signal, user) = plan(backend)?;
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
    if let Some((setup_program, setup_args)) = &setup {
        let output = command(setup_program, &fill(setup_args), dir.path(), user)?
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output();
        let output = tokio::time::timeout(Duration::from_secs(120), output)
            .await
            .map_err(|_| format!("{} took over 2 minutes", setup_program.display()))?
            .map_err(|e| format!("cannot run {}: {e}", setup_program.display()))?;
        let _ = std::fs::remove_file(dir.path().join("socket/password"));
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(format!(
                "{} failed: {}",
                setup_program.display(),
                log_tail(&stderr)
            ));
        }
    }
    let child = command(&program, &fill(&args), dir.path(), user)?
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    let token = register(Resource::Process {
        pid: child.id().unwrap_or_default(),
        dir: dir.path().to_owned(),
    });
    let mut process = Process {
        child,
        stop_signal,
        dir,
        _token: token,
    };
    let url = backend.local_url(
        port,
        (backend == Backend::Postgres).then_some(password.as_str()),
    );
    let ready = tokio::select! {
        ready = backend.wait_ready(&url, READY_TIMEOUT) => ready,
        why = process.exited() => Err(format!("{backend} {why}")),
    };
    if let Err(e) = ready {
        process.stop().await;
        return Err(e);
    }
    let info = ServerInfo {
        backend: backend.to_string(),
        provisioning: "native".into(),
        url: super::backend::redact(&url),
        image: None,
        image_id: None,
        binary: Some(program.display().to_string()),
    };
    Ok(Server {
        backend,
        url,
        info,
        guard: Guard::Process(Box::new(process)),
    })
}

type Plan = (
    PathBuf,
    Option<(PathBuf, Vec<String>)>,
    Vec<String>,
    Signal,
    Option<(u32, u32)>,
);

/// The program, its setup step, its arguments (`{dir}` and `{port}` filled in later), the
/// signal that stops it cleanly, and the user it runs as.
fn plan(backend: Backend) -> Result<Plan, String> {
    let owned = |args: &[&str]| args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
    match backend {
        Backend::Postgres => {
            let bin = find(backend, &["initdb", "postgres"])?;
            let initdb = owned(&[
                "-D", "{dir}/data", "-U", "postgres", "--pwfile={dir}/socket/password",
                "--auth=scram-sha-256", "--no-sync", "-E", "UTF8",
            ]);
            let args = owned(&[
                "-D", "{dir}/data", "-p", "{port}", "-k", "{dir}/socket", "-c", "listen_addresses=127.0.0.1",
                "-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "full_page_writes=on",
                "-c", "max_connections=300",
            ]);
            Ok((bin.join("postgres"), Some((bin.join("initdb"), initdb)), args, Signal::INT, unprivileged_user()))
        }
        Backend::Redis => {
            let bin = find(backend, &["redis-server"])?;
            let args = owned(&[
                "--port", "{port}", "--bind", "127.0.0.1", "--dir", "{dir}/data", "--appendonly", "yes",
                "--appendfsync", "everysec", "--save", "", "--protected-mode", "no", "--daemonize", "no",
            ]);
            Ok((bin.join("redis-server"), None, args, Signal::TERM, None))
        }
        Backend::Nats => {
            let bin = find(backend, &["nats-server"])?;
            let args = owned(&["-a", "127.0.0.1", "-p", "{port}", "-js", "-sd", "{dir}/data"]);
            Ok((bin.join("nats-server"), None, args, Signal::TERM, None))
        }
        Backend::KurrentDb => Err(
            "KurrentDB is not packaged for native runs: use docker, or give STATEBENCH_KURRENTDB_URL".into(),
        ),
    }
}
