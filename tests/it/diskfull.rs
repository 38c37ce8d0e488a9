//! Full and read-only disks under a running `planledger serve`, on a small loop-mounted ext4 image (a tmpfs where
//! loop devices are missing): writes get 503 with `Retry-After`, the server stays up and reads keep working,
//! nothing acknowledged is lost, and once the disk has room again writes resume without a restart. Mounting needs
//! root, as CI has; without it these tests fail and say why.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use planledger::core::domain::EventHash;
use planledger::store::ledger::Ledger;

use crate::support::{Served, cli, serve, stop};

const NODE: &str = "shinagawa-jisshi-4.6-1-1-2-r3";

/// A small file system mounted under a temporary folder, unmounted when dropped.
pub(crate) struct Disk {
    _dir: tempfile::TempDir,
    image: PathBuf,
    mnt: PathBuf,
    /// Whether it is the ext4 image (loop-mounted) rather than the tmpfs fallback.
    ext4: bool,
}

fn run(cmd: &mut Process) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?}: {} {}", out.status, String::from_utf8_lossy(&out.stderr).trim()))
    }
}

impl Disk {
    /// A 48 MB ext4 image, or a 48 MB tmpfs where the image cannot be loop-mounted.
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (image, mnt) = (dir.path().join("disk.img"), dir.path().join("mnt"));
        std::fs::create_dir(&mnt).unwrap();
        std::fs::File::create(&image).unwrap().set_len(48 << 20).unwrap();
        let ext4 = run(Process::new("mkfs.ext4").args(["-q", "-F"]).arg(&image))
            .and_then(|()| run(Process::new("mount").args(["-o", "loop,errors=remount-ro"]).arg(&image).arg(&mnt)));
        let ext4 = match ext4 {
            Ok(()) => true,
            Err(loop_error) => {
                let tmpfs = run(Process::new("mount").args(["-t", "tmpfs", "-o", "size=48m", "tmpfs"]).arg(&mnt));
                if let Err(tmpfs_error) = tmpfs {
                    panic!(
                        "these tests need a small file system of their own, and mounting one failed (they run as \
                         root in CI): loop-mounted ext4: {loop_error}; tmpfs: {tmpfs_error}"
                    );
                }
                eprintln!("no loop mount ({loop_error}); testing on a tmpfs");
                false
            }
        };
        Self { _dir: dir, image, mnt, ext4 }
    }

    pub(crate) fn data(&self) -> PathBuf {
        self.mnt.join("data")
    }

    pub(crate) fn filler(&self) -> PathBuf {
        self.mnt.join("filler")
    }

    /// Fills the disk with a file, to the last byte it takes.
    pub(crate) fn fill(&self) {
        let mut f = std::fs::File::create(self.filler()).unwrap();
        for chunk in [1 << 20, 4096, 1] {
            let buf = vec![0u8; chunk];
            while f.write_all(&buf).is_ok() {}
        }
        let _ = f.sync_all();
    }

    fn remount(&self, how: &str) {
        run(Process::new("mount").args(["-o", &format!("remount,{how}")]).arg(&self.mnt)).unwrap();
    }

    /// Every file under `dir` with its bytes, in order: what "nothing changed" compares.
    fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.is_file() {
                    out.push((p.clone(), std::fs::read(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }
}

impl Drop for Disk {
    fn drop(&mut self) {
        for _ in 0..50 {
            if run(Process::new("umount").arg(&self.mnt)).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = run(Process::new("umount").arg("-l").arg(&self.mnt));
    }
}

/// An answer: status, headers (names in lower case) and body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

fn http(host: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> Answer {
    let mut s = std::net::TcpStream::connect(host).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let resp = String::from_utf8_lossy(&resp).into_owned();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer { status, headers, body: body.to_string() }
}

/// One change of a node's text; on 201, the acknowledged event's seq and hash.
fn write_text(host: &str, token: &str, n: u64) -> (Answer, Option<(u64, String)>) {
    let body = format!("{{\"text\":\"本文 {n}\",\"reason\":\"ディスク試験\",\"effective\":\"2017-04-01\"}}");
    let a = http(host, "POST", &format!("/api/nodes/{NODE}/text"), Some(token), &body);
    let acked = (a.status == 201).then(|| {
        let v: serde_json::Value = serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body));
        let ev = &v["events"][0];
        (ev["seq"].as_u64().unwrap(), ev["hash"].as_str().unwrap().to_string())
    });
    (a, acked)
}

/// Starts the server on the disk's data dir (seeding it) and makes an admin token.
fn start(disk: &Disk) -> (Served, String, String) {
    let (served, host) = serve(&disk.data());
    static STARTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = format!("disk-test-{}", STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let out = cli(&disk.data(), &["token", "create", "--name", &name, "--role", "admin"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (served, host, String::from_utf8(out.stdout).unwrap().trim().to_string())
}

/// Reads answer while writes cannot be stored: the API and a portal page.
fn reads_work(host: &str) {
    for path in ["/api/plans", "/api/events?from=0&limit=5", "/"] {
        let a = http(host, "GET", path, None, "");
        assert_eq!(a.status, 200, "GET {path}: {}", a.body);
    }
}

/// A write refused because of the disk: 503, `Retry-After`, a problem document that says what to do.
fn assert_refused(a: &Answer, words: &str) {
    assert_eq!(a.status, 503, "{}", a.body);
    assert!(a.header("retry-after").is_some_and(|v| v.parse::<u64>().is_ok()), "no Retry-After: {:?}", a.headers);
    assert_eq!(a.header("content-type"), Some("application/problem+json"));
    let p: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains(words) && detail.contains("nothing was appended"), "{detail}");
    assert!(!detail.contains("corrupt") && !detail.contains("shutting down"), "{detail}");
}

/// Every acknowledged event is stored with the hash it was acknowledged with, and `verify` passes.
fn nothing_lost(data: &Path, acked: &[(u64, String)]) {
    let out = cli(data, &["verify"]);
    assert!(out.status.success(), "verify: {}", String::from_utf8_lossy(&out.stderr));
    let l = Ledger::open(data).unwrap();
    for (seq, hash) in acked {
        let bytes = l.read_events(*seq, 1).unwrap();
        assert_eq!(bytes.len(), 1, "acknowledged event {seq} is missing");
        assert_eq!(&EventHash::of(&bytes[0].1).to_hex(), hash, "event {seq} is not the one acknowledged");
    }
    l.close();
}

#[test]
fn a_full_disk_refuses_writes_with_503_keeps_reads_and_resumes_without_restart() {
    let disk = Disk::new();
    let (served, host, token) = start(&disk);
    let mut acked = Vec::new();
    for n in 0..10 {
        let (a, ack) = write_text(&host, &token, n);
        assert_eq!(a.status, 201, "{}", a.body);
        acked.extend(ack);
    }

    disk.fill();
    // Writes go on until the disk refuses one; none of those is lost.
    let mut refused = None;
    for n in 10..5000 {
        let (a, ack) = write_text(&host, &token, n);
        match ack {
            Some(ack) => acked.push(ack),
            None => {
                refused = Some(a);
                break;
            }
        }
    }
    let refused = refused.expect("the full disk refused no write");
    assert_refused(&refused, "is full");
    // Refused again while the disk is full, and the server answers reads.
    for n in 0..3 {
        assert_refused(&write_text(&host, &token, 10_000 + n).0, "is full");
        reads_work(&host);
    }

    std::fs::remove_file(disk.filler()).unwrap();
    for n in 0..5 {
        let (a, ack) = write_text(&host, &token, 20_000 + n);
        assert_eq!(a.status, 201, "a write after space was freed: {}", a.body);
        acked.extend(ack);
    }
    reads_work(&host);
    stop(served);
    nothing_lost(&disk.data(), &acked);
}

#[test]
fn a_disk_that_turns_read_only_refuses_writes_with_503_and_keeps_reads() {
    let disk = Disk::new();
    // Linux refuses `mount -o remount,ro` while the server holds files open for writing (EBUSY); what makes a disk
    // read-only under a running server is the kernel, after an error (ext4's errors=remount-ro), as here.
    assert!(disk.ext4, "this test needs the loop-mounted ext4 image: only ext4 turns read-only under open files");
    let (served, host, token) = start(&disk);
    let mut acked = Vec::new();
    for n in 0..10 {
        let (a, ack) = write_text(&host, &token, n);
        assert_eq!(a.status, 201, "{}", a.body);
        acked.extend(ack);
    }
    let busy = run(Process::new("mount").args(["-o", "remount,ro"]).arg(&disk.mnt));
    assert!(busy.is_err(), "the kernel let a disk with files open for writing be remounted read-only");
    let source =
        String::from_utf8(Process::new("findmnt").args(["-n", "-o", "SOURCE"]).arg(&disk.mnt).output().unwrap().stdout)
            .unwrap();
    let dev = Path::new(source.trim()).file_name().unwrap().to_string_lossy().to_string();
    std::fs::write(format!("/sys/fs/ext4/{dev}/trigger_fs_error"), "planledger read-only test").unwrap();

    let (a, ack) = write_text(&host, &token, 100);
    assert!(ack.is_none(), "a write was acknowledged on a read-only disk");
    assert_refused(&a, "is read-only");
    for n in 0..3 {
        assert_refused(&write_text(&host, &token, 200 + n).0, "is read-only");
        reads_work(&host);
    }
    stop(served);

    // The kernel keeps an ext4 that failed read-only until it is checked: unmount, check, mount again.
    run(Process::new("umount").arg(&disk.mnt)).unwrap();
    run(Process::new("e2fsck").args(["-f", "-y"]).arg(&disk.image)).ok();
    run(Process::new("mount").args(["-o", "loop"]).arg(&disk.image).arg(&disk.mnt)).unwrap();
    nothing_lost(&disk.data(), &acked);
    let (served, host, token) = start(&disk);
    let (a, _) = write_text(&host, &token, 300);
    assert_eq!(a.status, 201, "{}", a.body);
    stop(served);
}

#[test]
fn serve_refuses_a_read_only_data_dir_at_start_and_changes_nothing() {
    let disk = Disk::new();
    let (served, _host, _token) = start(&disk);
    stop(served);
    let before = Disk::contents(&disk.data());
    disk.remount("ro");

    let out = Process::new(crate::support::bin())
        .args(["serve", "--addr", "127.0.0.1:0", "--seeds", "events/seeds.toml", "--data"])
        .arg(disk.data())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    assert!(stderr.contains("read-only disk") && stderr.contains("Nothing was changed"), "{stderr}");
    assert!(!stderr.contains("repair") && !stderr.contains("corrupt"), "{stderr}");
    // Commands that only read work on it as it is.
    let verify = cli(&disk.data(), &["verify"]);
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    assert!(Disk::contents(&disk.data()) == before, "the read-only data dir changed");

    disk.remount("rw");
    let (served, host, token) = start(&disk);
    let (a, _) = write_text(&host, &token, 0);
    assert_eq!(a.status, 201, "{}", a.body);
    stop(served);
}
