//! A NATS server for the adapter tests: the one `STATEBENCH_NATS_URL` names, else a native
//! `nats-server` with JetStream started here on a free loopback port (stopped on drop).
//! Without either the tests skip, loudly; under `CI=true` that is a failure.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server to test against.
pub struct Nats {
    /// `nats://host:port`.
    pub url: String,
    /// The server's process, when it runs on this machine and its id is known: started here,
    /// or named by `STATEBENCH_NATS_PID`. Its CPU time is what the measurements read.
    pub pid: Option<u32>,
    started: Option<(Child, PathBuf)>,
}

impl Drop for Nats {
    fn drop(&mut self) {
        if let Some((child, dir)) = &mut self.started {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The server, or `None` after saying why there is none (a failure under `CI=true`).
pub fn nats() -> Option<Nats> {
    if let Ok(url) = std::env::var("STATEBENCH_NATS_URL") {
        let pid = std::env::var("STATEBENCH_NATS_PID")
            .ok()
            .and_then(|p| p.parse().ok());
        return Some(Nats {
            url,
            pid,
            started: None,
        });
    }
    match start() {
        Ok(server) => Some(server),
        Err(why) if in_ci() => panic!("CI=true, and there is no NATS server: {why}"),
        Err(why) => {
            eprintln!(
                "SKIPPED: no NATS server ({why}); set STATEBENCH_NATS_URL or install nats-server"
            );
            None
        }
    }
}

fn program() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/bin"].map(Into::into))
        .map(|dir| dir.join("nats-server"))
        .find(|p| p.is_file())
}

fn start() -> Result<Nats, String> {
    let program = program().ok_or("nats-server is not installed")?;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let dir = std::env::temp_dir().join(format!("statebench-nats-{}-{port}", std::process::id()));
    let mut child = Command::new(program)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting nats-server: {e}"))?;
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&address, Duration::from_millis(100)).is_err() {
        if Instant::now() > deadline || child.try_wait().is_ok_and(|s| s.is_some()) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("nats-server did not answer within 10 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(Nats {
        url: format!("nats://127.0.0.1:{port}"),
        pid: Some(child.id()),
        started: Some((child, dir)),
    })
}

/// CPU time (user + system) the process `pid` has used so far, from /proc.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // /proc reports in USER_HZ, 100 per second on Linux.
    Some(Duration::from_millis(ticks * 10))
}
