//! Starting, stopping and killing the release `planledger` binary: `serve` on a data dir (its address read from
//! what it prints), the console commands the trials need, and the data dir every run starts from.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::Fail;

/// The binary under trial: the release build cargo made beside this driver.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_planledger")
}

/// Runs `planledger --data DIR ARGS…` to its end.
pub fn cli(dir: &Path, args: &[&str]) -> Result<Output, Fail> {
    Ok(Command::new(bin()).arg("--data").arg(dir).args(args).stdin(Stdio::null()).output()?)
}

fn ok(out: Output, what: &str) -> Result<String, Fail> {
    if !out.status.success() {
        return Err(format!("{what}: {} — {}", out.status, String::from_utf8_lossy(&out.stderr).trim()).into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A new ledger in `dir` holding the seed plans, and the secret of an admin token on it.
pub fn init(dir: &Path) -> Result<String, Fail> {
    ok(cli(dir, &["init", "--origin", "planledger.bench/trials"])?, "init")?;
    let mut files: Vec<PathBuf> = std::fs::read_dir("events")?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            name.starts_with('0') && name.ends_with(".jsonl")
        })
        .collect();
    files.sort();
    let mut import = Command::new(bin());
    import.arg("--data").arg(dir).arg("import").args(&files);
    ok(import.output()?, "import of the seed ledger")?;
    ok(cli(dir, &["token", "create", "--name", "trials-admin", "--role", "admin"])?, "token create")
}

/// A running `serve`. The child sits behind a lock so that a killer thread can SIGKILL it at any moment.
pub struct Server {
    pub child: Arc<Mutex<Child>>,
    pub pid: u32,
    pub started: Instant,
    addr: mpsc::Receiver<String>,
}

/// What became of a server asked for its address.
pub enum Listening {
    At(String),
    /// It exited (or closed its stdout) without printing an address.
    Exited,
    TimedOut,
}

impl Server {
    /// Starts `serve --addr 127.0.0.1:0` on `dir`; its stderr goes to `err`.
    pub fn spawn(dir: &Path, err: &Path) -> Result<Server, Fail> {
        let mut child = Command::new(bin())
            .arg("--data")
            .arg(dir)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(File::create(err)?))
            .spawn()?;
        let started = Instant::now();
        let out = child.stdout.take().ok_or("serve's stdout was not piped")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Keep reading after the address too, so that the server never blocks on a full pipe.
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Some(u) = line.split_whitespace().find_map(|w| w.strip_prefix("http://")) {
                    let _ = tx.send(u.split('/').next().unwrap_or_default().to_string());
                }
            }
        });
        let pid = child.id();
        Ok(Server { child: Arc::new(Mutex::new(child)), pid, started, addr: rx })
    }

    pub fn listening(&self, timeout: Duration) -> Listening {
        match self.addr.recv_timeout(timeout) {
            Ok(a) => Listening::At(a),
            Err(mpsc::RecvTimeoutError::Disconnected) => Listening::Exited,
            Err(mpsc::RecvTimeoutError::Timeout) => Listening::TimedOut,
        }
    }

    /// SIGKILL, then reap.
    pub fn kill(&self) {
        kill(&self.child);
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(self) -> Result<(), Fail> {
        let st = Command::new("kill").args(["-TERM", &self.pid.to_string()]).status()?;
        if !st.success() {
            return Err("kill -TERM failed".into());
        }
        let mut c = self.child.lock().map_err(|_| "the server's lock was poisoned")?;
        let status = c.wait()?;
        if !status.success() {
            return Err(format!("serve exited with {status} after SIGTERM").into());
        }
        Ok(())
    }
}

/// SIGKILL (what `Child::kill` sends on Unix) and reap; a child already gone is left as it is.
pub fn kill(child: &Mutex<Child>) {
    if let Ok(mut c) = child.lock() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// The last lines of a file, for a failure report.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
