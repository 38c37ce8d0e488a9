//! The storage side of the benchmarks: the raw-sled reference that durable append is compared against, and a store
//! of many synthetic entries with its tree for timing proofs. Here so that the command line never names sled or
//! the log.

use std::path::Path;
use std::time::Instant;

use super::log::{Batch, Entry, Head, Log, LogError, io};
use crate::core::audit::merkle::{self, Frontier, ProofError};
use crate::core::audit::{LedgerHasher, TreeHash};
use crate::core::domain::EventHash;

/// Whether `dir` holds a ledger's store.
pub fn holds_ledger(dir: &Path) -> bool {
    dir.join("sled").exists() || dir.join(super::log::file::RECORDS_DIR).exists()
}

/// Inserts `lines` into a bare sled tree in `dir` (emptied first and removed after) in batches of `batch`, each made
/// durable with the same flush and fsync as a ledger commit; returns the seconds taken. The reference for what the
/// machine's storage allows a durable append.
pub fn raw_sled_reference(dir: &Path, lines: &[Vec<u8>], batch: usize) -> Result<f64, LogError> {
    let _ = std::fs::remove_dir_all(dir);
    let db = sled::Config::new().path(dir).open()?;
    let tree = db.open_tree("events")?;
    let data = dir.join("db");
    let dbfile = std::fs::File::open(&data).map_err(io(&data))?;
    let batch = batch.max(1);
    let t = Instant::now();
    for (chunk_i, chunk) in lines.chunks(batch).enumerate() {
        for (i, b) in chunk.iter().enumerate() {
            tree.insert(((chunk_i * batch + i) as u64).to_be_bytes(), b.as_slice())?;
        }
        db.flush()?;
        dbfile.sync_all().map_err(io(&data))?;
    }
    let secs = t.elapsed().as_secs_f64();
    drop(tree);
    drop(db);
    let _ = std::fs::remove_dir_all(dir);
    Ok(secs)
}

/// A store of synthetic entries with its Merkle tree, built through the log's own commit.
pub struct ProofStore {
    log: Log,
    /// The entries' hashes, by seq.
    pub hashes: Vec<EventHash>,
}

impl ProofStore {
    /// Builds a store of `entries` synthetic entries in `dir` (which must not hold one) in commits of 10,000, as
    /// group commit would, and reopens it so that proofs are read from storage.
    pub fn build(dir: &Path, entries: u64) -> Result<Self, LogError> {
        if holds_ledger(dir) {
            return Err(LogError::Exists(dir.to_path_buf()));
        }
        let log = Log::open(dir)?;
        let mut frontier = Frontier::<LedgerHasher>::default();
        let mut head = Head { len: 0, hash: EventHash::ZERO };
        let mut hashes = Vec::with_capacity(usize::try_from(entries).unwrap_or(0));
        let effective = chrono::NaiveDate::from_ymd_opt(2020, 4, 1).unwrap_or_default();
        while head.len < entries {
            let mut batch = Batch::default();
            let end = (head.len + 10_000).min(entries);
            for seq in head.len..end {
                let bytes = format!("{{\"seq\":{seq},\"prev\":\"{}\"}}", head.hash).into_bytes();
                let hash = EventHash::of(&bytes);
                frontier.push(&hash.0, |id, h| batch.nodes.push((id, h)));
                batch.entries.push(Entry { seq, bytes, hash, index_keys: vec![], plan: "bench".into(), effective });
                hashes.push(hash);
                head = Head { len: seq + 1, hash };
            }
            batch.checkpoint = Some(log.sign_checkpoint(head.len, frontier.root())?);
            log.commit(&batch, head)?;
        }
        drop(log);
        Ok(Self { log: Log::open(dir)?, hashes })
    }

    /// The root of the first `n` entries, from the stored nodes.
    pub fn root(&self, n: u64) -> Result<TreeHash, LogError> {
        merkle::root::<LedgerHasher, _>(&self.log, n)
    }

    pub fn inclusion(&self, seq: u64, n: u64) -> Result<Result<Vec<TreeHash>, ProofError>, LogError> {
        merkle::inclusion_proof::<LedgerHasher, _>(&self.log, seq, n)
    }

    pub fn consistency(&self, m: u64, n: u64) -> Result<Result<Vec<TreeHash>, ProofError>, LogError> {
        merkle::consistency_proof::<LedgerHasher, _>(&self.log, m, n)
    }
}
