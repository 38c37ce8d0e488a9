//! Damage campaign: one flipped byte anywhere in sled's files or the record file, on a store killed under load and
//! on a cleanly closed one. Every `verify` ends within a bound, either proving the record unchanged (the same count
//! and head as before the flip) or reporting the damage with exit 1 or 74; `repair` then brings back every event the
//! store held, acknowledged ones included. `DAMAGE_FLIPS` sets the flips per store (default 30);
//! benches/damage.sh runs a long campaign.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use crate::support::{bin, copy_tree, record_file_lines};

/// Longest a command may take before it counts as hung (the store's own stall bound is set far below it).
const HANG: Duration = Duration::from_secs(90);

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

fn run(dir: &Path, args: &[&str]) -> Run {
    let start = Instant::now();
    let mut child = Command::new(bin())
        .arg("--data")
        .arg(dir)
        .args(args)
        .env("PLANLEDGER_STALL_SECONDS", "5")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let o = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).ok();
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).ok();
        s
    });
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() > HANG {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("`planledger {}` on {} hung for {} s", args.join(" "), dir.display(), HANG.as_secs());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run { code, stdout: o.join().unwrap(), stderr: e.join().unwrap(), took: start.elapsed() }
}

/// A store to damage, with what it holds: its export (as the store reads after recovery) and the hashes of the
/// events its writer was told were appended.
struct Pristine {
    dir: tempfile::TempDir,
    export: Vec<String>,
    acked: Vec<(u64, String)>,
    /// Complete lines in the record file as the store was left (before the open that completes it from sled).
    in_record_file: usize,
    what: &'static str,
}

fn export_of(dir: &Path) -> Vec<String> {
    let r = run(dir, &["export"]);
    assert_eq!(r.code, Some(0), "export failed: {}", r.stderr);
    r.stdout.lines().map(str::to_string).collect()
}

fn clean_store() -> Pristine {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir("events")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut args = vec!["import".to_string()];
    args.extend(files.iter().map(|p| p.display().to_string()));
    let r = run(dir.path(), &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let export = export_of(dir.path());
    let in_record_file = record_file_lines(dir.path());
    Pristine { dir, export, acked: vec![], in_record_file, what: "closed" }
}

/// A store left by SIGKILL while eight writers append: sled's log since its last snapshot is what the next open
/// replays.
fn killed_store() -> Pristine {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin())
        .args(["--data", dir.path().to_str().unwrap(), "bench", "--append-only", "--print-acks"])
        .args(["--events", "1000000", "--writers", "8"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = Vec::new();
    let start = Instant::now();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let Ok(line) = line else { break };
        let mut parts = line.split_whitespace();
        if parts.next() == Some("ack") {
            acked.push((parts.next().unwrap().parse().unwrap(), parts.next().unwrap().to_string()));
        }
        if acked.len() >= 400 || start.elapsed() > Duration::from_secs(20) {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!acked.is_empty(), "the writers acknowledged nothing before the kill");
    // What the store holds is what a copy of it reads after recovery; the store itself stays as the kill left it.
    let probe = tempfile::tempdir().unwrap();
    copy_tree(dir.path(), probe.path());
    let export = export_of(probe.path());
    let in_record_file = record_file_lines(dir.path());
    Pristine { dir, export, acked, in_record_file, what: "killed" }
}

/// Every file of the store, with its length.
fn store_files(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    for sub in ["sled", "records"] {
        let mut stack = vec![dir.join(sub)];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let e = e.unwrap();
                let meta = e.metadata().unwrap();
                if meta.is_dir() {
                    stack.push(e.path());
                } else if meta.len() > 0 {
                    out.push((e.path(), meta.len()));
                }
            }
        }
    }
    out.sort();
    out
}

/// How one flip ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// `verify` proved the record unchanged.
    Harmless,
    /// `verify` (exit 1) or the open (exit 74) reported the damage.
    Reported(i32),
}

fn flip(p: &Pristine, rng: &mut rand::rngs::StdRng, figures: &mut BTreeMap<String, u64>, longest: &mut Duration) {
    let trial = tempfile::tempdir().unwrap();
    copy_tree(p.dir.path(), trial.path());
    let files = store_files(trial.path());
    // Half the flips land in sled's files, half in the record file's, each weighted by size.
    let in_records = rng.gen_bool(0.5);
    let pool: Vec<&(PathBuf, u64)> =
        files.iter().filter(|(f, _)| f.starts_with(trial.path().join("records")) == in_records).collect();
    let total: u64 = pool.iter().map(|(_, n)| n).sum();
    let mut at = rng.gen_range(0..total);
    let (file, offset) = pool
        .iter()
        .find_map(|(f, n)| {
            if at < *n {
                Some((f.clone(), at))
            } else {
                at -= n;
                None
            }
        })
        .unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[offset as usize] ^= rng.gen_range(1..=255u8);
    std::fs::write(&file, &bytes).unwrap();
    let name = file.strip_prefix(trial.path()).unwrap().display().to_string();
    let context = format!("{} store, byte {offset} of {name}", p.what);

    let v = run(trial.path(), &["verify"]);
    *longest = (*longest).max(v.took);
    let outcome = match v.code {
        Some(0) => {
            let want = format!("ok: {} events", p.export.len());
            assert!(v.stdout.starts_with(&want), "{context}: verify passed on different content: {}", v.stdout);
            Outcome::Harmless
        }
        Some(c @ (1 | 74)) => {
            assert!(v.stderr.contains("error: "), "{context}: exit {c} without a message: {}", v.stderr);
            assert!(!v.stderr.contains("panicked at"), "{context}: a panic reached the operator: {}", v.stderr);
            Outcome::Reported(c)
        }
        other => panic!("{context}: verify ended with {other:?}: {}", v.stderr),
    };
    let kind = if in_records { "records" } else { "sled" };
    *figures.entry(format!("{} {kind} {outcome:?}", p.what)).or_default() += 1;
    if v.stderr.contains("no progress for") {
        *figures.entry(format!("{} {kind} stalled (bounded)", p.what)).or_default() += 1;
        if let Ok(keep) = std::env::var("DAMAGE_KEEP") {
            let to = Path::new(&keep).join(format!("stall-{}", figures.values().sum::<u64>()));
            copy_tree(p.dir.path(), &to);
            std::fs::write(to.join("FLIP"), format!("{name} {offset}\n")).unwrap();
        }
    }

    let r = run(trial.path(), &["repair"]);
    *longest = (*longest).max(r.took);
    assert_eq!(r.code, Some(0), "{context}: repair failed: {}{}", r.stdout, r.stderr);
    let v = run(trial.path(), &["verify"]);
    assert_eq!(v.code, Some(0), "{context}: the repaired store does not verify: {}{}", r.stdout, v.stderr);
    let after = export_of(trial.path());
    // A kill between a commit's sled half and its record-file half leaves that commit's events in one copy only,
    // never acknowledged: when the flip lands in that copy, repair rebuilds from the other, without them. Every
    // event both copies held must come back, and nothing may differ where the two exports overlap.
    let both = p.export.len().min(p.in_record_file);
    let overlap = after.len().min(p.export.len());
    assert!(
        after.len() >= both && after[..overlap] == p.export[..overlap],
        "{context}: the repaired ledger lost or changed events ({} before, {both} in both copies, {} after): {}",
        p.export.len(),
        after.len(),
        r.stdout
    );
    for (seq, hash) in &p.acked {
        let line = after.get(*seq as usize).unwrap_or_else(|| panic!("{context}: acknowledged seq {seq} is gone"));
        assert_eq!(&planledger::core::domain::EventHash::of(line.as_bytes()).to_hex(), hash, "{context}: seq {seq}");
    }
}

#[test]
fn one_flipped_byte_is_harmless_or_reported_and_repair_brings_every_event_back() {
    let flips: u64 = std::env::var("DAMAGE_FLIPS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    let seed: u64 = std::env::var("DAMAGE_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(rand::random);
    println!("damage campaign seed {seed}, {flips} flips per store");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut figures = BTreeMap::new();
    let mut longest = Duration::ZERO;
    for p in [killed_store(), clean_store()] {
        for _ in 0..flips {
            flip(&p, &mut rng, &mut figures, &mut longest);
        }
    }
    for (k, n) in &figures {
        println!("damage: {k}: {n}");
    }
    println!("damage: longest command {:.2} s", longest.as_secs_f64());
    let reported: u64 = figures.iter().filter(|(k, _)| k.contains("Reported")).map(|(_, n)| n).sum();
    assert!(reported > 0, "no flip was reported: the campaign proved nothing");
}
