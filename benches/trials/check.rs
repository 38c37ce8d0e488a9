//! The driver's own copy of what the ledger holds, read back through `/api/events`: every line's hash (BLAKE3 of
//! its stored bytes), the chain from line to line, and which trial request's key each event carries. Acknowledged
//! and retried requests are judged against it.

use std::collections::HashMap;

use serde_json::Value;

use crate::Fail;
use crate::http::Client;
use crate::work::{Ack, key_of};

/// Events per page asked of `/api/events` (its most).
const PAGE: u64 = 10_000;

#[derive(Default)]
pub struct Mirror {
    hashes: Vec<blake3::Hash>,
    keys: HashMap<String, Vec<u64>>,
    /// Lines that were not records in seq order or whose `prev` was not the hash of the line before.
    pub unverifiable: u64,
    pub notes: Vec<String>,
}

/// How an acknowledgement compared with the ledger.
#[derive(Default, Debug, Clone, Copy)]
pub struct Judged {
    pub lost: u64,
    pub changed: u64,
}

impl Mirror {
    /// Events read so far: seqs `0..len`.
    pub fn len(&self) -> u64 {
        self.hashes.len() as u64
    }

    pub fn note(&mut self, n: String) {
        if self.notes.len() < 50 {
            eprintln!("  ! {n}");
            self.notes.push(n);
        }
    }

    /// Reads every event after the ones already read.
    pub fn scan(&mut self, c: &mut Client) -> Result<u64, Fail> {
        let before = self.len();
        loop {
            let path = match self.len() {
                0 => format!("/api/events?limit={PAGE}"),
                n => format!("/api/events?after={}&limit={PAGE}", n - 1),
            };
            let r = c.get(&path, &[])?;
            if r.status != 200 {
                return Err(format!("GET {path}: {}", r.status).into());
            }
            let mut got = 0;
            for line in r.body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                self.take(line);
                got += 1;
            }
            if got < PAGE {
                return Ok(self.len() - before);
            }
        }
    }

    /// Takes one stored line as the next event.
    pub fn take(&mut self, line: &[u8]) {
        let seq = self.len();
        let hash = blake3::hash(line);
        match serde_json::from_slice::<Value>(line) {
            Ok(v) => {
                if v["seq"].as_u64() != Some(seq) {
                    self.unverifiable += 1;
                    self.note(format!("line {seq} carries seq {}", v["seq"]));
                }
                if seq > 0 && v["prev"].as_str() != Some(self.hashes[self.hashes.len() - 1].to_hex().as_str()) {
                    self.unverifiable += 1;
                    self.note(format!("seq {seq}: prev {} is not the hash of seq {}", v["prev"], seq - 1));
                }
                if let Some(k) = v["reason"].as_str().and_then(key_of) {
                    self.keys.entry(k.to_string()).or_default().push(seq);
                }
            }
            Err(e) => {
                self.unverifiable += 1;
                self.note(format!("seq {seq} is not JSON: {e}"));
            }
        }
        self.hashes.push(hash);
    }

    /// The seqs of the events that carry `key`.
    pub fn seqs_of(&self, key: &str) -> &[u64] {
        self.keys.get(key).map(Vec::as_slice).unwrap_or_default()
    }

    pub fn keys(&self) -> impl Iterator<Item = (&String, &Vec<u64>)> {
        self.keys.iter()
    }

    /// Checks an acknowledgement: each event at its seq with its hash, and the key on exactly those events.
    pub fn judge(&mut self, ack: &Ack) -> Judged {
        let mut j = Judged::default();
        for (seq, hash) in &ack.events {
            match usize::try_from(*seq).ok().and_then(|i| self.hashes.get(i)) {
                None => {
                    j.lost += 1;
                    self.note(format!(
                        "{}: acknowledged seq {seq} is not in the ledger (head {})",
                        ack.key,
                        self.len()
                    ));
                }
                Some(h) if h.to_hex().as_str() != hash => {
                    j.changed += 1;
                    let h = h.to_hex();
                    self.note(format!("{}: seq {seq} acknowledged as {hash}, stored as {h}", ack.key));
                }
                Some(_) => {}
            }
        }
        let acked: Vec<u64> = ack.events.iter().map(|(s, _)| *s).collect();
        let stored = self.seqs_of(&ack.key).to_vec();
        if j.lost == 0 && j.changed == 0 && stored != acked {
            j.changed += 1;
            self.note(format!("{}: acknowledged seqs {acked:?}, the key is on seqs {stored:?}", ack.key));
        }
        j
    }

    /// Compares a whole ledger file (the CLI's `export`) with what was read: the number of lines that differ.
    pub fn compare(&mut self, export: &[u8]) -> u64 {
        let mut differ = 0;
        let lines = export.split(|b| *b == b'\n').filter(|l| !l.is_empty());
        for (seq, line) in lines.enumerate().take(self.hashes.len()) {
            if blake3::hash(line) != self.hashes[seq] {
                differ += 1;
                self.note(format!("export: seq {seq} differs from what the API served before"));
            }
        }
        differ
    }
}
