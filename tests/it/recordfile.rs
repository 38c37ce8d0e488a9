//! The record file beside sled: it holds every record's line, the open checks it against sled and refuses any other
//! history, a crash between the two fsyncs is finished at the next open, `repair` rebuilds the damaged side, and
//! backups come from it while a server runs.

use std::path::Path;

use planledger::store::LogError;
use planledger::store::ledger::{Ledger, LedgerError, verify_dir};

use crate::support::{add_node, cli, create_plan, define, req, serve, set_target, stop};

/// A ledger of `n` events or a few more, in batches of one request each.
fn ledger_with(dir: &Path, n: usize) -> Ledger {
    let l = Ledger::create(dir, None).unwrap();
    l.append_blocking(req(vec![create_plan("p"), add_node("p", "p.1"), define("p.1.k", "p.1")])).unwrap();
    let mut made = 3;
    let mut i = 0u64;
    while made < n {
        let cmds: Vec<_> = (0..(n - made).min(500))
            .map(|_| {
                i += 1;
                set_target("p.1.k", "2017", &i.to_string())
            })
            .collect();
        made += cmds.len();
        l.append_blocking(req(cmds)).unwrap();
    }
    l
}

fn segments(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("records"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    v.sort();
    v
}

fn file_bytes(dir: &Path) -> Vec<u8> {
    segments(dir).iter().flat_map(|p| std::fs::read(p).unwrap()).collect()
}

fn export(l: &Ledger) -> Vec<u8> {
    let mut out = Vec::new();
    for (_, b) in l.read_events(0, u64::MAX).unwrap() {
        out.extend_from_slice(&b);
        out.push(b'\n');
    }
    out
}

fn mismatch(r: Result<Ledger, LedgerError>) -> String {
    match r {
        Err(LedgerError::Store(LogError::Mismatch { what })) => what,
        Err(e) => panic!("expected a disagreement, got {e}"),
        Ok(_) => panic!("expected a disagreement, the ledger opened"),
    }
}

#[test]
fn every_record_is_in_the_record_file_in_segments_of_4096_lines() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger_with(dir.path(), 4100);
    let len = l.head().len;
    assert!(len > 4096);
    assert_eq!(file_bytes(dir.path()), export(&l), "cat records/*.jsonl is the export");
    l.close();
    let segs = segments(dir.path());
    let names: Vec<_> = segs.iter().map(|p| p.file_name().unwrap().to_str().unwrap().to_string()).collect();
    assert_eq!(names, ["000000000000.jsonl", "000000004096.jsonl"]);
    assert_eq!(std::fs::read(&segs[0]).unwrap().iter().filter(|b| **b == b'\n').count(), 4096);
    assert_eq!(verify_dir(dir.path()).unwrap().summary.count, len);
    // The checkpoint copy beside the segments is the latest checkpoint.
    let copy = std::fs::read_to_string(dir.path().join("records/checkpoint")).unwrap();
    assert_eq!(copy, Ledger::open(dir.path()).unwrap().checkpoint());
}

#[test]
fn regression_sled_coming_back_shorter_is_refused_and_repair_brings_every_event_back() {
    // Postmortem: sled replays its log at open, and one damaged byte could make it come back with a shorter but self-consistent ledger, which was then served and signed; the record file now outvotes it.
    let dir = tempfile::tempdir().unwrap();
    let l = ledger_with(dir.path(), 300);
    l.close();
    let old = tempfile::tempdir().unwrap();
    crate::support::copy_tree(&dir.path().join("sled"), old.path());
    let l = Ledger::open(dir.path()).unwrap();
    l.append_blocking(req(vec![set_target("p.1.k", "2018", "7")])).unwrap();
    let full = export(&l);
    let want = l.head();
    l.close();
    std::fs::remove_dir_all(dir.path().join("sled")).unwrap();
    crate::support::copy_tree(old.path(), &dir.path().join("sled"));
    let what = mismatch(Ledger::open(dir.path()));
    assert!(what.contains("sled lost acknowledged events"), "{what}");
    let report = planledger::store::repair::repair(dir.path(), &[]).unwrap();
    assert!(report.rebuilt, "{:?}", report.lines);
    assert!(report.lines.iter().any(|l| l.contains("from the record file")), "{:?}", report.lines);
    let l = Ledger::open(dir.path()).unwrap();
    assert_eq!(l.head(), want);
    assert_eq!(export(&l), full);
    l.close();
    assert!(dir.path().join("set-aside").read_dir().unwrap().next().is_some(), "the old files are kept");
}

#[test]
fn a_crash_between_sleds_fsync_and_the_files_is_finished_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger_with(dir.path(), 50);
    l.append_blocking(req(vec![set_target("p.1.k", "2018", "1")])).unwrap();
    let full = export(&l);
    l.close();
    // The last commit's line is half written: sled has it, the file has a torn tail.
    let seg = segments(dir.path()).pop().unwrap();
    let bytes = std::fs::read(&seg).unwrap();
    let last_start = bytes[..bytes.len() - 1].iter().rposition(|b| *b == b'\n').unwrap() + 1;
    std::fs::write(&seg, &bytes[..last_start + (bytes.len() - last_start) / 2]).unwrap();
    let l = Ledger::open(dir.path()).unwrap();
    assert_eq!(file_bytes(dir.path()), full, "the torn line is cut and the event brought from sled");
    l.close();
    verify_dir(dir.path()).unwrap();
}

#[test]
fn a_record_file_that_lost_lines_or_changed_is_refused_then_repaired_from_sled() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger_with(dir.path(), 40);
    // The last commit holds one event; a crash could leave the file short by that one, not by two.
    l.append_blocking(req(vec![set_target("p.1.k", "2018", "2")])).unwrap();
    let full = export(&l);
    let want = l.head();
    l.close();
    let seg = segments(dir.path()).pop().unwrap();
    let bytes = std::fs::read(&seg).unwrap();
    // Two whole lines gone: more than the last commit could explain.
    let mut cut = bytes.len() - 1;
    for _ in 0..2 {
        cut = bytes[..cut].iter().rposition(|b| *b == b'\n').unwrap();
    }
    std::fs::write(&seg, &bytes[..=cut]).unwrap();
    let what = mismatch(Ledger::open(dir.path()));
    assert!(what.contains("the record file lost events"), "{what}");
    planledger::store::repair::repair(dir.path(), &[]).unwrap();
    let l = Ledger::open(dir.path()).unwrap();
    assert_eq!((l.head(), export(&l)), (want, full.clone()));
    l.close();

    // One changed byte in an earlier line: the open's line-by-line check of the last segment finds it.
    let seg = segments(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = bytes.iter().position(|b| *b == b'p').unwrap();
    bytes[at] = b'q';
    std::fs::write(&seg, &bytes).unwrap();
    let what = mismatch(Ledger::open(dir.path()));
    assert!(what.contains("does not hash to the hash sled recorded"), "{what}");
    let report = planledger::store::repair::repair(dir.path(), &[]).unwrap();
    assert!(report.lines.iter().any(|l| l.contains("from sled")), "{:?}", report.lines);
    assert_eq!(file_bytes(dir.path()), full);
}

#[test]
fn repair_refuses_when_no_copy_reaches_the_checkpoint_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger_with(dir.path(), 40);
    let note = l.checkpoint();
    l.close();
    // Both copies lose their last event the same way: the signed checkpoint outvotes them.
    let bigger = tempfile::tempdir().unwrap();
    let l2 = {
        crate::support::copy_tree(dir.path(), bigger.path());
        Ledger::open(bigger.path()).unwrap()
    };
    l2.append_blocking(req(vec![set_target("p.1.k", "2018", "9")])).unwrap();
    let later = l2.checkpoint();
    l2.close();
    let before = file_bytes(dir.path());
    let err = planledger::store::repair::repair(dir.path(), &[later]).unwrap_err();
    assert!(err.to_string().contains("neither copy verifies to the checkpoint given"), "{err}");
    assert_eq!(file_bytes(dir.path()), before, "nothing changed");
    // A checkpoint of another ledger's key is refused outright.
    let other = tempfile::tempdir().unwrap();
    let foreign = Ledger::create(other.path(), None).unwrap();
    let foreign_note = foreign.checkpoint();
    foreign.close();
    let err = planledger::store::repair::repair(dir.path(), &[foreign_note]).unwrap_err();
    assert!(err.to_string().contains("does not verify with this ledger's key"), "{err}");
    let r = planledger::store::repair::repair(dir.path(), &[note]).unwrap();
    assert!(r.lines.iter().any(|l| l.contains("nothing to repair")), "{:?}", r.lines);
}

#[test]
fn regression_an_unfinished_sled_snapshot_no_longer_bricks_the_store() {
    // Postmortem: an open cut short while sled wrote its snapshot left an empty `snap.<lsn>.generating`, which sled 0.34.7 took for the snapshot ("Read corrupted data") although every event was intact.
    let dir = tempfile::tempdir().unwrap();
    let l = ledger_with(dir.path(), 20);
    let want = l.head();
    l.close();
    let torn = dir.path().join("sled").join("snap.00000000000F0000.generating");
    std::fs::write(&torn, b"").unwrap();
    let l = Ledger::open(dir.path()).unwrap();
    assert_eq!(l.head(), want);
    l.close();
    assert!(!torn.exists());
    let aside: Vec<_> = std::fs::read_dir(dir.path().join("set-aside")).unwrap().collect();
    assert_eq!(aside.len(), 1, "set aside, not deleted");
}

#[test]
fn a_store_without_a_record_file_gets_one_from_sleds_verified_events() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger_with(dir.path(), 30);
    let full = export(&l);
    l.close();
    // As a store written before the record file existed: no folder, and no mark.
    std::fs::remove_dir_all(dir.path().join("records")).unwrap();
    {
        let db = crate::support::open_sled(dir.path());
        let meta = db.open_tree("meta").unwrap();
        meta.remove("records").unwrap();
        meta.remove("window").unwrap();
        db.flush().unwrap();
    }
    let l = Ledger::open(dir.path()).unwrap();
    assert_eq!(file_bytes(dir.path()), full);
    l.close();
    verify_dir(dir.path()).unwrap();
}

#[test]
fn a_backup_taken_while_the_server_writes_is_consistent_verified_and_restores() {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (child, _) = serve(&data);
    stop(child);
    let made = cli(&data, &["token", "create", "--name", "office", "--role", "admin"]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let secret = String::from_utf8(made.stdout).unwrap().trim().to_string();
    let (child, host) = serve(&data);
    let stopping = std::sync::Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|i| {
            let (host, secret, stopping) = (host.clone(), secret.clone(), stopping.clone());
            std::thread::spawn(move || {
                let mut acked = 0u64;
                let mut j = 0;
                while !stopping.load(Ordering::Relaxed) {
                    j += 1;
                    let body =
                        format!("{{\"text\":\"本文 {i}-{j}\",\"reason\":\"控え\",\"effective\":\"2017-04-01\"}}");
                    let mut s = std::net::TcpStream::connect(&host).unwrap();
                    write!(
                        s,
                        "POST /api/nodes/shinagawa-jisshi-4.6-1-1-2-r3/text HTTP/1.1\r\nHost: {host}\r\n\
                         Authorization: Bearer {secret}\r\nContent-Type: application/json\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .unwrap();
                    let mut resp = String::new();
                    s.read_to_string(&mut resp).unwrap();
                    assert!(resp.starts_with("HTTP/1.1 201"), "{resp}");
                    acked += 1;
                }
                acked
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (b1, b2) = (dir.path().join("b1"), dir.path().join("b2"));
    let taken = cli(&data, &["backup", "--out", b1.to_str().unwrap()]);
    assert!(taken.status.success(), "backup beside a running server: {}", String::from_utf8_lossy(&taken.stderr));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(cli(&data, &["backup", "--out", b2.to_str().unwrap()]).status.success());
    // A second backup into a folder that holds one is refused.
    let again = cli(&data, &["backup", "--out", b1.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2), "{}", String::from_utf8_lossy(&again.stderr));
    stopping.store(true, Ordering::Relaxed);
    let acked: u64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    stop(child);
    let count = |out: &std::process::Output| -> u64 {
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let line = text.lines().find(|l| l.contains(" events, head ")).unwrap_or_else(|| panic!("{text}"));
        line.split_whitespace().find_map(|w| w.parse().ok()).unwrap()
    };
    let (n1, n2) = (
        count(&cli(&data, &["verify-backup", b1.to_str().unwrap()])),
        count(&cli(&data, &["verify-backup", b2.to_str().unwrap()])),
    );
    assert!(577 < n1 && n1 <= n2 && n2 <= 577 + acked, "{n1} {n2} {acked}");
    let restored = dir.path().join("restored");
    let r = cli(&restored, &["init", "--from-backup", b1.to_str().unwrap()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let full = cli(&data, &["export"]).stdout;
    let back = cli(&restored, &["export"]).stdout;
    assert_eq!(back.iter().filter(|b| **b == b'\n').count() as u64, n1);
    assert!(full.starts_with(&back), "the backup is a prefix of the ledger");
    assert_eq!(verify_dir(&data).unwrap().summary.count, 577 + acked);
    // A damaged backup fails its check and is not restored.
    let seg = b2.join("records").join("000000000000.jsonl");
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[100] ^= 0x20;
    std::fs::write(&seg, bytes).unwrap();
    assert_eq!(cli(&data, &["verify-backup", b2.to_str().unwrap()]).status.code(), Some(1));
    let r = cli(&dir.path().join("r2"), &["init", "--from-backup", b2.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(1), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(!dir.path().join("r2").join("sled").exists(), "nothing was made from a bad backup");
}
