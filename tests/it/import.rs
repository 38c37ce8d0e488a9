//! Imports that commit in chunks: a large file lands whole or not at all — refused at its last line, failing on
//! the disk part way, or killed with SIGKILL part way — and the ledger is left exactly as it was.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use planledger::core::record::split_lines;
use planledger::store::Faults;
use planledger::store::ledger::{Ledger, LedgerError, LedgerOptions, verify_dir};

use crate::support::{bin, cli, record_file_lines};

/// Events in the file imported: several chunks of the writer's import and more than one record segment.
const EVENTS: u64 = 5000;

/// A valid ledger file of `EVENTS` synthetic events, exported from a ledger built by the bench.
fn ledger_file(dir: &Path) -> std::path::PathBuf {
    let src = dir.join("source");
    let out = cli(&src, &["bench", "--append-only", "--events", &EVENTS.to_string(), "--writers", "4"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let file = dir.join("all.jsonl");
    let out = cli(&src, &["export", "--out", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    file
}

#[test]
fn an_import_refused_at_its_last_line_leaves_the_ledger_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let file = ledger_file(dir.path());
    let mut lines = split_lines(&std::fs::read(&file).unwrap()).unwrap();
    let good = lines.clone();
    // The last line's bytes change: every chunk before it verifies and is committed before the refusal.
    let last = lines.last_mut().unwrap();
    let at = last.iter().position(|b| *b == b'"').unwrap();
    last.insert(at, b' ');
    let data = dir.path().join("data");
    let l = Ledger::open(&data).unwrap();
    let before = l.head();
    let e = l.import_blocking(lines).unwrap_err();
    assert!(matches!(&e, LedgerError::Import(v) if v.seq == EVENTS - 1), "{e:?}");
    assert_eq!(l.head(), before, "nothing of the refused import is visible");
    assert_eq!(record_file_lines(&data), 0, "the record file was cut back");
    let head = l.import_blocking(good).unwrap();
    assert_eq!(head.len, EVENTS);
    l.close();
    assert_eq!(verify_dir(&data).unwrap().summary.count, EVENTS);
    assert_eq!(record_file_lines(&data), EVENTS as usize);
}

/// A ledger in a temporary dir with faults to inject, and the lines of a valid ledger file to import into it.
fn with_faults() -> (tempfile::TempDir, Vec<Vec<u8>>, Arc<Faults>, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let file = ledger_file(dir.path());
    let lines = split_lines(&std::fs::read(&file).unwrap()).unwrap();
    let faults = Arc::new(Faults::default());
    let options = LedgerOptions { faults: Some(faults.clone()), ..LedgerOptions::default() };
    let l = Ledger::open_with(&dir.path().join("data"), options).unwrap();
    (dir, lines, faults, l)
}

#[test]
fn an_import_whose_commit_fails_part_way_leaves_the_ledger_as_it_was() {
    let (dir, lines, faults, l) = with_faults();
    let data = dir.path().join("data");
    // Two chunks are committed, the third fails as a full disk does (the injected fault is a full disk).
    faults.fail_commits_after(2, 1);
    let e = l.import_blocking(lines.clone()).unwrap_err();
    assert!(matches!(e, LedgerError::DiskRefused { .. }), "{e:?}");
    assert_eq!(l.head().len, 0);
    assert!(l.read().state.plans.is_empty(), "the writer went back to where the import began");
    assert_eq!(l.import_blocking(lines).unwrap().len, EVENTS, "a retry lands whole");
    l.close();
    assert_eq!(verify_dir(&data).unwrap().summary.count, EVENTS);
}

/// Regression: an import refused part way whose cut-back the disk refused too stopped the writer, so every later
/// write was refused until a restart. Now the cut-back waits for the disk like a failed append: writes are refused
/// (503 over HTTP) while it refuses, and go through again, with the import taken back out, once it takes writes.
#[test]
fn an_import_whose_cut_back_the_disk_refused_stopped_the_writer() {
    let (dir, lines, faults, l) = with_faults();
    let data = dir.path().join("data");
    // Two chunks are committed, the third fails, and so do the first two tries to cut the import back.
    faults.fail_commits_after(2, 1);
    faults.fail_next_cut_backs(2);
    let e = l.import_blocking(lines.clone()).unwrap_err();
    assert!(matches!(e, LedgerError::DiskRefused { .. }), "{e:?}");
    assert_eq!(l.head().len, 0, "nothing of the refused import is visible");
    assert_eq!(record_file_lines(&data), 2048, "the two committed chunks wait in the store to be cut back");
    // The next request first retries the cut-back, which the disk still refuses: refused too, not `Closed`.
    let e = l.import_blocking(lines.clone()).unwrap_err();
    assert!(matches!(e, LedgerError::DiskRefused { .. }), "the writer keeps going: {e:?}");
    assert_eq!(l.head().len, 0);
    // The disk takes writes again: the cut-back goes through first, then the import lands whole.
    assert_eq!(l.import_blocking(lines).unwrap().len, EVENTS, "writes resume without a restart");
    l.close();
    assert_eq!(verify_dir(&data).unwrap().summary.count, EVENTS);
    assert_eq!(record_file_lines(&data), EVENTS as usize);
}

/// Bytes in the data dir's record segments.
fn record_file_bytes(data: &Path) -> u64 {
    let Ok(dir) = std::fs::read_dir(data.join("records")) else { return 0 };
    dir.filter_map(|e| e.ok()?.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum()
}

#[test]
fn an_import_killed_part_way_is_taken_back_out_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let file = ledger_file(dir.path());
    let size = std::fs::metadata(&file).unwrap().len();
    let data = dir.path().join("data");
    let out = cli(&data, &["init"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let checkpoint = record_file_bytes(&data);
    let mut part_way = 0;
    // Each kill comes once the import's chunks have put this share of the file in the record file: after some of
    // it is committed, never before.
    for (round, share) in [5u64, 30, 60, 90].into_iter().enumerate() {
        let mut child = Command::new(bin())
            .arg("--data")
            .arg(&data)
            .arg("import")
            .arg(&file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut exited = None;
        while exited.is_none() && record_file_bytes(&data) < checkpoint + size * share / 100 {
            exited = child.try_wait().unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
        child.kill().unwrap();
        let finished = exited.or_else(|| child.try_wait().unwrap()).is_some_and(|s| s.success());
        child.wait().unwrap();
        let l = Ledger::open(&data).unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
        let n = l.head().len;
        l.close();
        assert!(n == 0 || n == EVENTS, "round {round}: {n} of {EVENTS} events after a kill: not all or nothing");
        assert!(!finished || n == EVENTS, "round {round}: an import that finished is not stored");
        assert_eq!(record_file_lines(&data), n as usize, "round {round}: the record file holds the same");
        let report = verify_dir(&data).unwrap_or_else(|e| panic!("round {round}: verify failed: {e}"));
        assert_eq!(report.summary.count, n);
        if n == EVENTS {
            break;
        }
        part_way += 1;
    }
    println!("imports killed part way and taken back out: {part_way}");
    assert!(part_way > 0, "no kill came during the import: the test proved nothing");
}
