//! Crash test: a child process appends concurrently and is killed with SIGKILL at random moments. After each
//! kill the ledger reopens, every acknowledged event is present with its acknowledged hash, and verify passes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use planledger::store::ledger::{Ledger, verify_dir};
use rand::{Rng, SeedableRng};

use crate::support::bin;

#[test]
fn acknowledged_appends_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let seed: u64 = rand::random();
    println!("crash test seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut total_acked = 0usize;
    for round in 0..24 {
        let mut child = Command::new(bin())
            .args(["--data", dir.path().to_str().unwrap(), "bench", "--append-only", "--print-acks"])
            .args(["--events", "1000000", "--writers", "8"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Kill at a random moment: sometimes during startup, mostly while appends are flowing.
        let wait = Duration::from_millis(rng.gen_range(20..600));
        let start = Instant::now();
        let mut acks = Vec::new();
        while start.elapsed() < wait {
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(5)) {
                acks.push(l);
            }
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        reader.join().unwrap();
        acks.extend(rx.try_iter());
        let ledger = Ledger::open(dir.path()).unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
        for a in &acks {
            let mut parts = a.split_whitespace();
            assert_eq!(parts.next(), Some("ack"), "{a}");
            let seq: u64 = parts.next().unwrap().parse().unwrap();
            let hash = parts.next().unwrap();
            let stored = ledger.stored_hash(seq).unwrap();
            assert_eq!(stored.map(|h| h.to_hex()).as_deref(), Some(hash), "round {round}: acknowledged seq {seq} lost");
        }
        total_acked += acks.len();
        ledger.close();
        let s = verify_dir(dir.path()).unwrap_or_else(|e| panic!("round {round}: verify failed: {e}"));
        assert!(s.summary.count as usize >= acks.len());
    }
    assert!(total_acked > 0, "the child acknowledged nothing in any round: the test proved nothing");
    println!("crash test: {total_acked} acknowledged events checked over 24 kills");
}
