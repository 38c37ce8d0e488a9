//! The event log on sled: the only code that opens the data dir. One crate-private `Log` type: atomic multi-tree
//! commits made durable with a flush and a real fsync, decoded reads by seq (so a `Corruption` is built here and
//! nowhere else), the entity index, durable idempotency records, the Merkle tree's perfect-subtree nodes, the latest
//! signed checkpoint, the signing key file, each plan's in-force timeline, and the trees beside the record (the
//! projection cache and the API tokens).

mod commit;
mod dir;
pub mod file;
mod keys;
mod resume;
pub mod salvage;
mod side;
mod signed;
mod trees;
mod twin;
mod undo;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDate;

use crate::core::audit::TreeHash;
use crate::core::audit::merkle::NodeId;
use crate::core::audit::note::{NoteError, NoteSigner};
use crate::core::domain::{Entity, EventHash, PlanId};
use crate::core::record::Record;

pub(crate) use dir::lock_dir;
use dir::set_aside_unfinished_snapshots;
pub use keys::CachePos;
use keys::{index_key, seq_of};
use signed::{create_key, load_key};
pub use trees::DiskRefusal;

/// The key file in the data dir: the signed-note private key, readable by its owner only.
pub(crate) const KEY_FILE: &str = "checkpoint.key";
/// Marks a store whose `merkle` tree holds every node of the tree over its events.
const MERKLE_MARK: &[u8] = b"rfc6962-sha256";
/// Marks a store whose `timeline` tree covers every event.
const TIMELINE_MARK: &[u8] = b"timeline-1";

/// Layout version of the trees below; a data dir of another version is refused rather than misread.
const STORE_VERSION: &[u8] = b"planledger-store-1";

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("storage error: {0}")]
    Storage(#[from] sled::Error),
    #[error("I/O error on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the stored ledger is corrupt{}: {what}", seq.map(|s| format!(" at seq {s}")).unwrap_or_default())]
    Corruption { seq: Option<u64>, what: String },
    #[error("the signing key in {path}: {source}")]
    Key { path: PathBuf, source: NoteError },
    /// sled is being opened again after a write failed, or the last try failed (the disk still refused): a read
    /// or write tried again in a moment may succeed.
    #[error("the store in {path} is being reopened after a failed write; retry in a moment")]
    Reopening { path: PathBuf, refusal: Option<DiskRefusal> },
    #[error("a ledger already exists in {0}")]
    Exists(PathBuf),
    /// The record file and sled disagree, or the record file is damaged: nothing is served or signed until
    /// `repair` has rebuilt the damaged side from the one that verifies.
    #[error(
        "the record file and the store disagree: {what}; nothing was changed; run `planledger repair` to rebuild the damaged side from the one that verifies"
    )]
    Mismatch { what: String },
    /// sled could not read its own files: it failed, panicked or stopped making progress on damaged data.
    #[error(
        "the store cannot be read: {what}; nothing was changed; run `planledger repair` to rebuild it from the record file"
    )]
    Unreadable { what: String },
}

impl LogError {
    pub(crate) fn corrupt(seq: Option<u64>, what: impl Into<String>) -> Self {
        Self::Corruption { seq, what: what.into() }
    }
}

/// Position and hash of the last event; `len` is the number of events (the next seq).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub len: u64,
    pub hash: EventHash,
}

/// One event to store with its index entries.
#[derive(Debug, Clone)]
pub struct Entry {
    pub seq: u64,
    pub bytes: Vec<u8>,
    pub hash: EventHash,
    pub index_keys: Vec<String>,
    /// The plan the event belongs to and the date it takes effect: its place on the plan's in-force timeline.
    pub plan: String,
    pub effective: NaiveDate,
}

/// Everything one commit writes, atomically.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub entries: Vec<Entry>,
    /// Idempotency key → the stored outcome of the request.
    pub idempotency: Vec<(String, Vec<u8>)>,
    /// Merkle tree nodes completed by these entries.
    pub nodes: Vec<(NodeId, TreeHash)>,
    /// The signed checkpoint of the tree after these entries.
    pub checkpoint: Option<String>,
}

/// A stored token: the hash of its secret and its record's bytes.
pub type TokenEntry = ([u8; 32], Vec<u8>);

/// Storage faults to inject, for fault drills and tests: the next `n` commits write their transaction and then
/// fail as a full disk does, before the batch is made durable.
#[derive(Debug, Default)]
pub struct Faults {
    fail_commits: AtomicU64,
    /// Commits to let through before the failures begin.
    pass_commits: AtomicU64,
    /// Commits go ahead whatever the free space, so that sled itself meets a full disk.
    ignore_room: std::sync::atomic::AtomicBool,
    /// Cut-backs of an import to fail, as a full disk fails them, before they change anything.
    fail_cut_backs: AtomicU64,
}

impl Faults {
    pub fn fail_next_commits(&self, n: u64) {
        self.fail_commits.store(n, Ordering::SeqCst);
    }

    /// Lets `pass` commits through, then fails the next `n`.
    pub fn fail_commits_after(&self, pass: u64, n: u64) {
        self.pass_commits.store(pass, Ordering::SeqCst);
        self.fail_commits.store(n, Ordering::SeqCst);
    }

    /// Lets commits go ahead on a disk without the room the writer keeps, so that sled itself meets it being full.
    pub fn ignore_room(&self) {
        self.ignore_room.store(true, Ordering::SeqCst);
    }

    /// Fails the next `n` cut-backs of a refused import, before they change anything.
    pub fn fail_next_cut_backs(&self, n: u64) {
        self.fail_cut_backs.store(n, Ordering::SeqCst);
    }

    /// Whether this cut-back is to fail; counts one failure off.
    fn take_cut_back(&self) -> bool {
        self.fail_cut_backs.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }

    /// Whether this commit is to fail; counts one failure off.
    fn take(&self) -> bool {
        if self.pass_commits.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
            return false;
        }
        self.fail_commits.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }
}

pub struct Log {
    /// sled's handle and trees, swapped whole when sled is reopened after an I/O error (`trees.rs`).
    slot: trees::Slot,
    signer: NoteSigner,
    /// The second copy of every record, appended by the writer's commits only.
    file: std::sync::Mutex<file::RecordFile>,
    /// Held for the log's lifetime: one process at a time opens the data dir (sled's own lock comes too late to
    /// guard what the open does before sled's).
    _lock: File,
    dir: PathBuf,
    faults: Option<Arc<Faults>>,
}

/// Maps an I/O error on `path` to the log's error, naming the path.
pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LogError + '_ {
    move |source| LogError::Io { path: path.to_path_buf(), source }
}

/// The default of sled's page cache, in MiB (`PLANLEDGER_CACHE_MB`). sled's own default is 1 GiB, which it fills
/// with every page a fold or an export touches and keeps: the server's RSS then grows by the size of the events it
/// has read, past a gigabyte. 64 MiB holds the hot top of every tree; colder pages come back from the OS page cache,
/// at a cost to append throughput on a large store that docs/DECISIONS.md measures.
pub const DEFAULT_CACHE_MB: u64 = 64;

static CACHE_MB: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(DEFAULT_CACHE_MB);

/// Sets the size of sled's page cache for stores opened from now on (`PLANLEDGER_CACHE_MB` in the binary).
pub fn set_cache_mb(mb: u64) {
    CACHE_MB.store(mb.max(1), std::sync::atomic::Ordering::Relaxed);
}

/// How the log opens sled in `path`: with the page cache set (`set_cache_mb`), and without sled's periodic
/// background flusher, since every commit flushes and fsyncs itself.
pub(super) fn sled_config(path: &Path) -> sled::Config {
    let cache = CACHE_MB.load(std::sync::atomic::Ordering::Relaxed).saturating_mul(1 << 20);
    sled::Config::new().path(path).flush_every_ms(None).cache_capacity(cache)
}

/// Opens sled, waiting up to ten seconds for its file lock: a handle closed a moment ago (by this process or a
/// command that just exited) can hold the lock while sled finishes shutting down.
pub(crate) fn open_with_retry(path: &Path) -> Result<sled::Db, LogError> {
    let mut tries = 0;
    loop {
        match sled_config(path).open() {
            // sled reports a held lock as an `Other` error carrying this text.
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") && tries < 200 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return Ok(other?),
        }
    }
}

impl Log {
    /// Creates a new, empty ledger in `dir` whose checkpoints carry `origin`; refuses a dir that holds one.
    pub fn create(dir: &Path, origin: Option<&str>) -> Result<Self, LogError> {
        if dir.join("sled").exists() || dir.join(KEY_FILE).exists() || dir.join(file::RECORDS_DIR).exists() {
            return Err(LogError::Exists(dir.to_path_buf()));
        }
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        create_key(&dir.join(KEY_FILE), origin)?;
        Self::open(dir)
    }

    /// Opens (or creates) the log in `dir` and checks that the stored head matches the last event's bytes and
    /// that the latest checkpoint is signed by the ledger's key over the stored tree.
    pub fn open(dir: &Path) -> Result<Self, LogError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let key_path = dir.join(KEY_FILE);
        let signer = if key_path.exists() { load_key(&key_path)? } else { create_key(&key_path, None)? };
        let lock = lock_dir(dir)?;
        set_aside_unfinished_snapshots(dir)?;
        let log = Self {
            slot: trees::Slot::new(trees::Trees::open(dir, true)?),
            signer,
            file: std::sync::Mutex::new(file::RecordFile::unopened(dir)),
            _lock: lock,
            dir: dir.to_path_buf(),
            faults: None,
        };
        match log.t()?.meta.get("store")? {
            Some(v) if v.as_ref() == STORE_VERSION => {}
            Some(v) => {
                return Err(LogError::corrupt(
                    None,
                    format!("unknown store version {:?}", String::from_utf8_lossy(&v)),
                ));
            }
            None if log.t()?.events.is_empty() => {
                if dir.join(file::RECORDS_DIR).exists() && file::scan(dir)?.len() > 0 {
                    return Err(LogError::Mismatch {
                        what: "sled holds no events but the record file does: sled was lost".into(),
                    });
                }
                file::RecordFile::create(dir)?;
                log.t()?.meta.insert("store", STORE_VERSION)?;
                log.t()?.meta.insert("merkle", MERKLE_MARK)?;
                log.t()?.meta.insert("timeline", TIMELINE_MARK)?;
                log.t()?.meta.insert("records", twin::RECORDS_MARK)?;
                log.sync()?;
            }
            None => return Err(LogError::corrupt(None, "events are stored but the store version is missing")),
        }
        log.finish_interrupted_import()?;
        log.check_head()?;
        if log.t()?.meta.get("merkle")?.is_none() {
            log.build_tree()?;
        }
        log.check_tree()?;
        if log.t()?.meta.get("timeline")?.is_none() {
            log.build_timeline()?;
        }
        let rf = log.reconcile()?;
        *log.file.lock().unwrap_or_else(|e| e.into_inner()) = rf;
        Ok(log)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn set_faults(&mut self, faults: Option<Arc<Faults>>) {
        self.faults = faults;
    }

    /// Whether an injected fault fails this commit.
    fn injected_failure(&self) -> bool {
        self.faults.as_ref().is_some_and(|f| f.take())
    }

    /// Whether an injected fault fails this cut-back.
    fn injected_cut_back_failure(&self) -> bool {
        self.faults.as_ref().is_some_and(|f| f.take_cut_back())
    }

    /// The error an injected fault fails with: sled's disk full.
    fn injected_full_disk(&self) -> LogError {
        LogError::Io {
            path: self.dir().join("sled"),
            source: std::io::Error::new(std::io::ErrorKind::StorageFull, "injected fault: no space left on device"),
        }
    }

    fn check_head(&self) -> Result<(), LogError> {
        let head = self.head()?;
        let last = self.t()?.events.last()?;
        match (head.len, last) {
            (0, None) => Ok(()),
            (0, Some((k, _))) => {
                Err(LogError::corrupt(Some(seq_of(&k)?), "events are stored beyond the recorded head"))
            }
            (n, None) => Err(LogError::corrupt(Some(n - 1), "the recorded head names an event that is not stored")),
            (n, Some((k, bytes))) => {
                let seq = seq_of(&k)?;
                if seq != n - 1 {
                    return Err(LogError::corrupt(
                        Some(seq),
                        format!("the last stored event is {seq} but the head says {}", n - 1),
                    ));
                }
                if EventHash::of(&bytes) != head.hash {
                    return Err(LogError::corrupt(
                        Some(seq),
                        "the last event's bytes do not hash to the recorded head",
                    ));
                }
                // Counting sled's events would walk the whole tree at every open; the record file's count is checked
                // against the head instead (`reconcile`), and `verify` reads every event.
                Ok(())
            }
        }
    }

    /// The recorded head.
    pub fn head(&self) -> Result<Head, LogError> {
        match self.t()?.meta.get("head")? {
            None => Ok(Head { len: 0, hash: EventHash::ZERO }),
            Some(v) if v.len() == 40 => {
                let len = u64::from_be_bytes(v[..8].try_into().map_err(|_| LogError::corrupt(None, "bad head"))?);
                let mut h = [0u8; 32];
                h.copy_from_slice(&v[8..]);
                Ok(Head { len, hash: EventHash(h) })
            }
            Some(_) => Err(LogError::corrupt(None, "the recorded head is not 40 bytes")),
        }
    }

    /// The stored bytes of event `seq`.
    pub fn get(&self, seq: u64) -> Result<Option<Vec<u8>>, LogError> {
        Ok(self.t()?.events.get(seq.to_be_bytes())?.map(|v| v.to_vec()))
    }

    /// Event `seq`, decoded; a stored event that is missing or does not decode is corruption.
    pub fn record(&self, seq: u64) -> Result<Record, LogError> {
        let bytes = self.get(seq)?.ok_or_else(|| LogError::corrupt(Some(seq), "the event is missing"))?;
        decode(seq, &bytes)
    }

    /// Events with `from <= seq < to`, decoded, in order.
    pub fn records(&self, from: u64, to: u64) -> impl Iterator<Item = Result<(u64, Record), LogError>> + '_ {
        self.range(from, to).map(|r| {
            let (seq, bytes) = r?;
            Ok((seq, decode(seq, &bytes)?))
        })
    }

    /// The hash recorded for `seq` when it was appended.
    pub fn stored_hash(&self, seq: u64) -> Result<Option<EventHash>, LogError> {
        match self.t()?.hashes.get(seq.to_be_bytes())? {
            None => Ok(None),
            Some(v) => {
                let arr: [u8; 32] =
                    v.as_ref().try_into().map_err(|_| LogError::corrupt(Some(seq), "a stored hash is not 32 bytes"))?;
                Ok(Some(EventHash(arr)))
            }
        }
    }

    /// Events with `from <= seq < to`, in order.
    pub fn range(&self, from: u64, to: u64) -> impl Iterator<Item = Result<(u64, sled::IVec), LogError>> + '_ {
        entries(self.t().map(|t| t.events.range(from.to_be_bytes()..to.to_be_bytes()))).map(|r| {
            let (k, v) = r?;
            Ok((seq_of(&k)?, v))
        })
    }

    /// Seqs of the events indexed under `entity` (e.g. `indicator:…`), in order.
    pub fn indexed(&self, entity: &Entity) -> Result<Vec<u64>, LogError> {
        let mut prefix = entity.key().into_bytes();
        prefix.push(0);
        self.t()?
            .index
            .scan_prefix(&prefix)
            .map(|r| {
                let (k, _) = r?;
                seq_of(&k[prefix.len()..])
            })
            .collect()
    }

    /// Seqs of the events indexed under `entity` below `to`, newest first: a listing of each plan's last change
    /// reads one entry per plan, not the plan's history.
    pub fn indexed_back(&self, entity: &Entity, to: u64) -> impl Iterator<Item = Result<u64, LogError>> + '_ {
        let key = entity.key();
        let prefix_len = key.len() + 1;
        let (lo, hi) = (index_key(&key, 0), index_key(&key, to));
        entries(self.t().map(|t| t.index.range(lo..hi).rev())).map(move |r| {
            let (k, _) = r?;
            seq_of(&k[prefix_len..])
        })
    }

    /// Seqs of the events of `plan` with `from <= seq < to`, in order (the plan's part of the entity index).
    pub fn plan_seqs(&self, plan: &PlanId, from: u64, to: u64) -> impl Iterator<Item = Result<u64, LogError>> + '_ {
        let entity = Entity::Plan(plan.clone()).key();
        let prefix_len = entity.len() + 1;
        let (lo, hi) = (index_key(&entity, from), index_key(&entity, to));
        entries(self.t().map(|t| t.index.range(lo..hi))).map(move |r| {
            let (k, _) = r?;
            seq_of(&k[prefix_len..])
        })
    }

    pub fn idempotency(&self, key: &str) -> Result<Option<Vec<u8>>, LogError> {
        Ok(self.t()?.idem.get(key.as_bytes())?.map(|v| v.to_vec()))
    }

    pub(crate) fn sync(&self) -> Result<(), LogError> {
        let t = self.t()?;
        t.db.flush()?;
        let p = self.dir.join("sled").join("db");
        t.data_file.sync_all().map_err(io(&p))
    }
}

/// The entries a read of one tree walks, or the one error that kept it from starting.
fn entries<I: Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>>(
    iter: Result<I, LogError>,
) -> impl Iterator<Item = Result<(sled::IVec, sled::IVec), LogError>> + use<I> {
    let (iter, failed) = match iter {
        Ok(i) => (Some(i), None),
        Err(e) => (None, Some(e)),
    };
    failed.map(Err).into_iter().chain(iter.into_iter().flatten().map(|r| r.map_err(LogError::from)))
}

/// Decodes stored event `seq`: the one place a stored record that does not decode becomes a `Corruption`.
pub(crate) fn decode(seq: u64, bytes: &[u8]) -> Result<Record, LogError> {
    Record::decode(bytes).map_err(|e| LogError::corrupt(Some(seq), e.to_string()))
}
