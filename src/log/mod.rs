//! The event log on sled: the only module that touches storage. One `Log` type: atomic multi-tree commits made
//! durable with a flush and a real fsync, reads by seq, the entity index, durable idempotency records, the Merkle
//! tree's perfect-subtree nodes, the latest signed checkpoint, the ledger's signing key file, the in-force
//! timeline of each plan (its events in (effective, seq) order, and the ones that arrived late), and a cache tree
//! for projection snapshots.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::audit::merkle::{Frontier, NodeId, NodeSource};
use crate::audit::note::{Checkpoint, NoteError, NoteSigner, NoteVerifier};
use crate::audit::{LedgerHasher, TreeHash, leaf_of};
use crate::domain::EventHash;

/// The key file in the data dir: the signed-note private key, readable by its owner only.
const KEY_FILE: &str = "checkpoint.key";
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
    #[error("a ledger already exists in {0}")]
    Exists(PathBuf),
}

impl LogError {
    fn corrupt(seq: Option<u64>, what: impl Into<String>) -> Self {
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

pub struct Log {
    db: sled::Db,
    events: sled::Tree,
    hashes: sled::Tree,
    meta: sled::Tree,
    idem: sled::Tree,
    index: sled::Tree,
    merkle: sled::Tree,
    timeline: sled::Tree,
    cache: sled::Tree,
    /// API tokens: the BLAKE3 hash of the secret → the token's record. Not part of the hashed log: who may write is
    /// access control, while what was written names its actor in every event.
    tokens: sled::Tree,
    signer: NoteSigner,
    /// The sled data file, kept open to fsync it: sled's own flush uses sync_file_range, which does not survive
    /// power loss on all hardware.
    data_file: File,
    dir: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LogError + '_ {
    move |source| LogError::Io { path: path.to_path_buf(), source }
}

fn index_key(entity: &str, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(entity.len() + 9);
    k.extend_from_slice(entity.as_bytes());
    k.push(0);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// A date as 4 bytes that sort as the dates do.
fn day_bytes(d: NaiveDate) -> [u8; 4] {
    ((d.num_days_from_ce() as u32) ^ 0x8000_0000).to_be_bytes()
}

fn day_of(b: &[u8]) -> Result<NaiveDate, LogError> {
    let arr: [u8; 4] = b.try_into().map_err(|_| LogError::corrupt(None, "a timeline date is not 4 bytes"))?;
    NaiveDate::from_num_days_from_ce_opt((u32::from_be_bytes(arr) ^ 0x8000_0000) as i32)
        .ok_or_else(|| LogError::corrupt(None, "a timeline date is out of range"))
}

/// `tag ‖ plan ‖ 0`: the start of one plan's part of the timeline tree.
fn timeline_prefix(tag: u8, plan: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(plan.len() + 14);
    k.push(tag);
    k.extend_from_slice(plan.as_bytes());
    k.push(0);
    k
}

/// Key of an event on its plan's in-force timeline: `E ‖ plan ‖ 0 ‖ effective ‖ seq`.
fn in_force_key(plan: &str, effective: NaiveDate, seq: u64) -> Vec<u8> {
    let mut k = timeline_prefix(b'E', plan);
    k.extend_from_slice(&day_bytes(effective));
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// A snapshot's position: after the plan's event `seq` in seq order, or after the event at (effective, seq) on the
/// plan's in-force timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SnapshotPos {
    Seq(u64),
    InForce(NaiveDate, u64),
}

fn snapshot_prefix(plan: &str, pos: SnapshotPos) -> Vec<u8> {
    timeline_prefix(if matches!(pos, SnapshotPos::Seq(_)) { b'S' } else { b'E' }, plan)
}

/// `S ‖ plan ‖ 0 ‖ seq` or `E ‖ plan ‖ 0 ‖ effective ‖ seq`.
fn snapshot_key(plan: &str, pos: SnapshotPos) -> Vec<u8> {
    let mut k = snapshot_prefix(plan, pos);
    match pos {
        SnapshotPos::Seq(s) => k.extend_from_slice(&s.to_be_bytes()),
        SnapshotPos::InForce(d, s) => {
            k.extend_from_slice(&day_bytes(d));
            k.extend_from_slice(&s.to_be_bytes());
        }
    }
    k
}

/// Key of a late arrival: `L ‖ plan ‖ 0 ‖ seq`, valued with its effective date.
fn late_key(plan: &str, seq: u64) -> Vec<u8> {
    let mut k = timeline_prefix(b'L', plan);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn node_key(id: NodeId) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = id.level;
    k[1..].copy_from_slice(&id.index.to_be_bytes());
    k
}

fn seq_of(key: &[u8]) -> Result<u64, LogError> {
    let arr: [u8; 8] = key.try_into().map_err(|_| LogError::corrupt(None, "an event key is not 8 bytes"))?;
    Ok(u64::from_be_bytes(arr))
}

/// Opens sled, waiting up to ten seconds for its file lock: a handle closed a moment ago (by this process or a
/// command that just exited) can hold the lock while sled finishes shutting down.
fn open_with_retry(path: &Path) -> Result<sled::Db, LogError> {
    let mut tries = 0;
    loop {
        // Every commit flushes and fsyncs itself, so sled's periodic background flusher is not needed.
        match sled::Config::new().path(path).flush_every_ms(None).open() {
            // sled reports a held lock as an `Other` error carrying this text.
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") && tries < 200 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return Ok(other?),
        }
    }
}

/// Writes a new signing key whose name is `origin` (or a generated one) with owner-only permissions.
fn create_key(path: &Path, origin: Option<&str>) -> Result<NoteSigner, LogError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed)
        .map_err(|e| LogError::Io { path: path.to_path_buf(), source: std::io::Error::other(e.to_string()) })?;
    let name = match origin {
        Some(o) => o.to_string(),
        None => {
            // Unique per ledger, so that two test ledgers are never mistaken for one another; a municipality sets
            // its own origin with `init --origin`.
            let provisional =
                NoteSigner::from_seed("x", seed).map_err(|source| LogError::Key { path: path.into(), source })?;
            format!("localhost/planledger-{:08x}", provisional.verifier().id)
        }
    };
    let signer = NoteSigner::from_seed(&name, seed).map_err(|source| LogError::Key { path: path.into(), source })?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io(path))?;
    f.write_all(format!("{}\n", signer.encode_private()).as_bytes()).map_err(io(path))?;
    f.sync_all().map_err(io(path))?;
    Ok(signer)
}

fn load_key(path: &Path) -> Result<NoteSigner, LogError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    NoteSigner::parse(&text).map_err(|source| LogError::Key { path: path.into(), source })
}

impl Log {
    /// Creates a new, empty ledger in `dir` whose checkpoints carry `origin`; refuses a dir that holds one.
    pub fn create(dir: &Path, origin: Option<&str>) -> Result<Self, LogError> {
        if dir.join("sled").exists() || dir.join(KEY_FILE).exists() {
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
        let db = open_with_retry(&dir.join("sled"))?;
        let data_path = dir.join("sled").join("db");
        let data_file = File::open(&data_path).map_err(io(&data_path))?;
        let log = Self {
            events: db.open_tree("events")?,
            hashes: db.open_tree("hashes")?,
            meta: db.open_tree("meta")?,
            idem: db.open_tree("idempotency")?,
            index: db.open_tree("index")?,
            merkle: db.open_tree("merkle")?,
            timeline: db.open_tree("timeline")?,
            cache: db.open_tree("snapshots")?,
            tokens: db.open_tree("tokens")?,
            signer,
            db,
            data_file,
            dir: dir.to_path_buf(),
        };
        match log.meta.get("store")? {
            Some(v) if v.as_ref() == STORE_VERSION => {}
            Some(v) => {
                return Err(LogError::corrupt(
                    None,
                    format!("unknown store version {:?}", String::from_utf8_lossy(&v)),
                ));
            }
            None if log.events.is_empty() => {
                log.meta.insert("store", STORE_VERSION)?;
                log.meta.insert("merkle", MERKLE_MARK)?;
                log.meta.insert("timeline", TIMELINE_MARK)?;
                log.sync()?;
            }
            None => return Err(LogError::corrupt(None, "events are stored but the store version is missing")),
        }
        log.check_head()?;
        if log.meta.get("merkle")?.is_none() {
            log.build_tree()?;
        }
        log.check_tree()?;
        if log.meta.get("timeline")?.is_none() {
            log.build_timeline()?;
        }
        Ok(log)
    }

    /// Builds the in-force timeline of a store written before it existed, from the stored events. Idempotent: the
    /// mark is set only once every event is on it.
    fn build_timeline(&self) -> Result<(), LogError> {
        let len = self.head()?.len;
        tracing::info!(events = len, "building the in-force timeline of an older store");
        let mut max: std::collections::HashMap<String, NaiveDate> = std::collections::HashMap::new();
        let mut batch = sled::Batch::default();
        for item in self.range(0, len) {
            let (seq, bytes) = item?;
            let r = crate::events::Record::decode(&bytes).map_err(|e| LogError::corrupt(Some(seq), e.to_string()))?;
            let plan = r.event.plan().to_string();
            batch.insert(in_force_key(&plan, r.effective, seq), &[] as &[u8]);
            let m = max.entry(plan.clone()).or_insert(r.effective);
            if r.effective < *m {
                batch.insert(late_key(&plan, seq), &day_bytes(r.effective));
            }
            *m = (*m).max(r.effective);
        }
        self.timeline.apply_batch(batch)?;
        self.meta.insert("timeline", TIMELINE_MARK)?;
        self.sync()
    }

    /// Builds the tree of a store written before the tree existed, from the recorded event hashes. Idempotent:
    /// the mark is set only once every node is stored.
    fn build_tree(&self) -> Result<(), LogError> {
        let len = self.head()?.len;
        tracing::info!(events = len, "building the Merkle tree of an older store");
        let mut frontier = Frontier::<LedgerHasher>::default();
        let mut batch = sled::Batch::default();
        let mut pending = 0usize;
        for seq in 0..len {
            let h = self.stored_hash(seq)?.ok_or_else(|| LogError::corrupt(Some(seq), "no recorded hash"))?;
            frontier.push(&h.0, |id, hash| {
                batch.insert(&node_key(id), &hash);
                pending += 1;
            });
            if pending >= 65_536 {
                self.merkle.apply_batch(std::mem::take(&mut batch))?;
                pending = 0;
            }
        }
        self.merkle.apply_batch(batch)?;
        self.meta.insert("merkle", MERKLE_MARK)?;
        self.meta.remove("checkpoint")?;
        self.sync()
    }

    /// Checks the tree's right edge against the head, and the latest checkpoint against the tree; writes the first
    /// checkpoint of a store that has none.
    fn check_tree(&self) -> Result<(), LogError> {
        let head = self.head()?;
        if head.len > 0 && self.node(NodeId { level: 0, index: head.len - 1 })? != leaf_of(&head.hash) {
            return Err(LogError::corrupt(Some(head.len - 1), "the tree's last leaf is not the leaf of the head"));
        }
        let root = Frontier::<LedgerHasher>::load(self, head.len)?.root();
        match self.meta.get("checkpoint")? {
            None => {
                let note = self.sign_checkpoint(head.len, root)?;
                self.meta.insert("checkpoint", note.as_bytes())?;
                self.sync()
            }
            Some(note) => {
                let note = std::str::from_utf8(&note)
                    .map_err(|_| LogError::corrupt(None, "the stored checkpoint is not UTF-8"))?;
                let cp = Checkpoint::open(note, &self.verifier())
                    .map_err(|e| LogError::corrupt(None, format!("the stored checkpoint: {e}")))?;
                if cp.size != head.len || cp.root != root {
                    return Err(LogError::corrupt(
                        None,
                        format!(
                            "the stored checkpoint (size {}) does not match the stored tree (size {})",
                            cp.size, head.len
                        ),
                    ));
                }
                Ok(())
            }
        }
    }

    /// Signs the checkpoint of the tree of `size` events with root `root`.
    pub fn sign_checkpoint(&self, size: u64, root: TreeHash) -> Result<String, LogError> {
        let cp = Checkpoint { origin: self.signer.name().to_string(), size, root };
        self.signer.sign(&cp.text()).map_err(|source| LogError::Key { path: self.dir.join(KEY_FILE), source })
    }

    /// The ledger's public key (the signed-note verifier key).
    pub fn verifier(&self) -> NoteVerifier {
        self.signer.verifier()
    }

    /// The latest stored checkpoint note.
    pub fn checkpoint(&self) -> Result<String, LogError> {
        let v = self.meta.get("checkpoint")?.ok_or_else(|| LogError::corrupt(None, "no checkpoint is stored"))?;
        String::from_utf8(v.to_vec()).map_err(|_| LogError::corrupt(None, "the stored checkpoint is not UTF-8"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn check_head(&self) -> Result<(), LogError> {
        let head = self.head()?;
        let last = self.events.last()?;
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
                if self.events.len() as u64 != n {
                    return Err(LogError::corrupt(
                        None,
                        format!("{} events stored but the head says {n}", self.events.len()),
                    ));
                }
                Ok(())
            }
        }
    }

    /// The recorded head.
    pub fn head(&self) -> Result<Head, LogError> {
        match self.meta.get("head")? {
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

    pub fn get(&self, seq: u64) -> Result<Option<Vec<u8>>, LogError> {
        Ok(self.events.get(seq.to_be_bytes())?.map(|v| v.to_vec()))
    }

    /// The hash recorded for `seq` when it was appended.
    pub fn stored_hash(&self, seq: u64) -> Result<Option<EventHash>, LogError> {
        match self.hashes.get(seq.to_be_bytes())? {
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
        self.events.range(from.to_be_bytes()..to.to_be_bytes()).map(|r| {
            let (k, v) = r?;
            Ok((seq_of(&k)?, v))
        })
    }

    /// Seqs of the events indexed under `entity` (e.g. `indicator:…`), in order.
    pub fn indexed(&self, entity: &str) -> Result<Vec<u64>, LogError> {
        let mut prefix = entity.as_bytes().to_vec();
        prefix.push(0);
        self.index
            .scan_prefix(&prefix)
            .map(|r| {
                let (k, _) = r?;
                seq_of(&k[prefix.len()..])
            })
            .collect()
    }

    /// Seqs of the events of `plan` with `from <= seq < to`, in order (the plan's part of the entity index).
    pub fn plan_seqs(&self, plan: &str, from: u64, to: u64) -> impl Iterator<Item = Result<u64, LogError>> + '_ {
        let entity = format!("plan:{plan}");
        let prefix_len = entity.len() + 1;
        let (lo, hi) = (index_key(&entity, from), index_key(&entity, to));
        self.index.range(lo..hi).map(move |r| {
            let (k, _) = r?;
            seq_of(&k[prefix_len..])
        })
    }

    /// The events of `plan` in force on `through` (effective on or before it), in (effective, seq) order, starting
    /// after position `after` when given. Yields (effective, seq).
    pub fn in_force(
        &self,
        plan: &str,
        after: Option<(NaiveDate, u64)>,
        through: NaiveDate,
    ) -> impl Iterator<Item = Result<(NaiveDate, u64), LogError>> + '_ {
        let prefix = timeline_prefix(b'E', plan);
        let lo = match after {
            Some((d, s)) => {
                let mut k = in_force_key(plan, d, s);
                // The smallest key greater than the position itself.
                k.push(0);
                k
            }
            None => prefix.clone(),
        };
        let mut hi = prefix.clone();
        match through.succ_opt() {
            Some(next) => hi.extend_from_slice(&day_bytes(next)),
            None => hi.extend_from_slice(&[0xff; 5]),
        }
        let n = prefix.len();
        self.timeline.range(lo..hi).map(move |r| {
            let (k, _) = r?;
            if k.len() != n + 12 {
                return Err(LogError::corrupt(None, "a timeline key has the wrong length"));
            }
            Ok((day_of(&k[n..n + 4])?, seq_of(&k[n + 4..])?))
        })
    }

    /// The late arrivals of `plan` with seq >= `from`: events recorded after an event of the same plan that takes
    /// effect later. Yields (seq, effective).
    pub fn late_since(&self, plan: &str, from: u64) -> Result<Vec<(u64, NaiveDate)>, LogError> {
        let prefix = timeline_prefix(b'L', plan);
        let mut hi = prefix.clone();
        hi.extend_from_slice(&[0xff; 9]);
        self.timeline
            .range(late_key(plan, from)..hi)
            .map(|r| {
                let (k, v) = r?;
                Ok((seq_of(&k[prefix.len()..])?, day_of(&v)?))
            })
            .collect()
    }

    /// The cached snapshot of `plan` at the greatest position on `pos`'s axis that is not after `pos`.
    pub fn snapshot_floor(&self, plan: &str, pos: SnapshotPos) -> Result<Option<(SnapshotPos, Vec<u8>)>, LogError> {
        let prefix = snapshot_prefix(plan, pos);
        let upto = snapshot_key(plan, pos);
        match self.cache.range(prefix.as_slice()..=upto.as_slice()).next_back() {
            None => Ok(None),
            Some(r) => {
                let (k, v) = r?;
                let rest = &k[prefix.len()..];
                let at = match pos {
                    SnapshotPos::Seq(_) => SnapshotPos::Seq(seq_of(rest)?),
                    SnapshotPos::InForce(..) if rest.len() == 12 => {
                        SnapshotPos::InForce(day_of(&rest[..4])?, seq_of(&rest[4..])?)
                    }
                    SnapshotPos::InForce(..) => {
                        return Err(LogError::corrupt(None, "a snapshot key has the wrong length"));
                    }
                };
                Ok(Some((at, v.to_vec())))
            }
        }
    }

    /// Stores a snapshot. Not made durable on its own: the cache may lose recent entries in a crash, and is
    /// refilled from the log when it does.
    pub fn snapshot_put(&self, plan: &str, pos: SnapshotPos, bytes: &[u8]) -> Result<(), LogError> {
        self.cache.insert(snapshot_key(plan, pos), bytes)?;
        Ok(())
    }

    /// Number of cached snapshots of `plan` on `axis`'s axis.
    pub fn snapshot_count(&self, plan: &str, axis: SnapshotPos) -> Result<u64, LogError> {
        let mut n = 0;
        for r in self.cache.scan_prefix(snapshot_prefix(plan, axis)) {
            r?;
            n += 1;
        }
        Ok(n)
    }

    /// Positions of the cached snapshots of `plan` on `axis`'s axis, in order.
    pub fn snapshot_positions(&self, plan: &str, axis: SnapshotPos) -> Result<Vec<SnapshotPos>, LogError> {
        let prefix = snapshot_prefix(plan, axis);
        self.cache
            .scan_prefix(&prefix)
            .map(|r| {
                let (k, _) = r?;
                let rest = &k[prefix.len()..];
                match axis {
                    SnapshotPos::Seq(_) => Ok(SnapshotPos::Seq(seq_of(rest)?)),
                    SnapshotPos::InForce(..) if rest.len() == 12 => {
                        Ok(SnapshotPos::InForce(day_of(&rest[..4])?, seq_of(&rest[4..])?))
                    }
                    SnapshotPos::InForce(..) => Err(LogError::corrupt(None, "a snapshot key has the wrong length")),
                }
            })
            .collect()
    }

    /// The cached snapshot of `plan` at exactly `pos`.
    pub fn snapshot_at(&self, plan: &str, pos: SnapshotPos) -> Result<Option<Vec<u8>>, LogError> {
        Ok(self.cache.get(snapshot_key(plan, pos))?.map(|v| v.to_vec()))
    }

    /// Drops every cached snapshot of `plan` on `axis`'s axis.
    pub fn snapshot_clear(&self, plan: &str, axis: SnapshotPos) -> Result<(), LogError> {
        let mut batch = sled::Batch::default();
        for r in self.cache.scan_prefix(snapshot_prefix(plan, axis)) {
            batch.remove(r?.0);
        }
        self.cache.apply_batch(batch)?;
        Ok(())
    }

    pub fn snapshot_remove(&self, plan: &str, pos: SnapshotPos) -> Result<(), LogError> {
        self.cache.remove(snapshot_key(plan, pos))?;
        Ok(())
    }

    /// Drops every cache entry.
    pub fn cache_clear(&self) -> Result<(), LogError> {
        self.cache.clear()?;
        self.sync()
    }

    /// Number of cache entries and their total size in bytes.
    pub fn cache_stats(&self) -> Result<(u64, u64), LogError> {
        let mut n = 0u64;
        let mut bytes = 0u64;
        for r in self.cache.iter() {
            let (k, v) = r?;
            n += 1;
            bytes += (k.len() + v.len()) as u64;
        }
        Ok((n, bytes))
    }

    /// The token record stored under a secret's hash.
    pub fn token(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, LogError> {
        Ok(self.tokens.get(hash)?.map(|v| v.to_vec()))
    }

    /// Every token record, by hash.
    pub fn tokens(&self) -> Result<Vec<TokenEntry>, LogError> {
        let mut out = Vec::new();
        for r in self.tokens.iter() {
            let (k, v) = r?;
            let hash: [u8; 32] =
                k.as_ref().try_into().map_err(|_| LogError::corrupt(None, "a token key is not a 32-byte hash"))?;
            out.push((hash, v.to_vec()));
        }
        Ok(out)
    }

    /// Stores a token record under its hash and makes it durable. `expected` is the record the caller read (`None`:
    /// no record yet); another one refuses the write with `Ok(false)`, so two concurrent changes cannot both win.
    pub fn token_put(&self, hash: &[u8; 32], expected: Option<&[u8]>, record: &[u8]) -> Result<bool, LogError> {
        if self.tokens.compare_and_swap(hash, expected, Some(record))?.is_err() {
            return Ok(false);
        }
        self.sync()?;
        Ok(true)
    }

    pub fn idempotency(&self, key: &str) -> Result<Option<Vec<u8>>, LogError> {
        Ok(self.idem.get(key.as_bytes())?.map(|v| v.to_vec()))
    }

    /// Writes a batch in one transaction over all trees, then makes it durable. Returns only once durable.
    pub fn commit(&self, batch: &Batch, new_head: Head) -> Result<(), LogError> {
        let mut head_bytes = new_head.len.to_be_bytes().to_vec();
        head_bytes.extend_from_slice(&new_head.hash.0);
        // Timeline entries are worked out before the transaction, which cannot scan: only the one writer commits,
        // so the latest effective date of each plan cannot change in between.
        let mut latest: std::collections::HashMap<&str, Option<NaiveDate>> = std::collections::HashMap::new();
        let mut timeline: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(batch.entries.len());
        for e in &batch.entries {
            let m = match latest.get(e.plan.as_str()) {
                Some(m) => *m,
                None => self.latest_effective(&e.plan)?,
            };
            timeline.push((in_force_key(&e.plan, e.effective, e.seq), Vec::new()));
            if m.is_some_and(|m| e.effective < m) {
                timeline.push((late_key(&e.plan, e.seq), day_bytes(e.effective).to_vec()));
            }
            latest.insert(e.plan.as_str(), Some(m.map_or(e.effective, |m| m.max(e.effective))));
        }
        let r: Result<(), TransactionError<()>> =
            (&self.events, &self.hashes, &self.meta, &self.idem, &self.index, &self.merkle, &self.timeline)
                .transaction(|(events, hashes, meta, idem, index, merkle, tl)| {
                    for e in &batch.entries {
                        events.insert(&e.seq.to_be_bytes(), e.bytes.as_slice())?;
                        hashes.insert(&e.seq.to_be_bytes(), &e.hash.0)?;
                        for k in &e.index_keys {
                            index.insert(index_key(k, e.seq), &[] as &[u8])?;
                        }
                    }
                    for (k, v) in &timeline {
                        tl.insert(k.as_slice(), v.as_slice())?;
                    }
                    for (k, v) in &batch.idempotency {
                        idem.insert(k.as_bytes(), v.as_slice())?;
                    }
                    for (id, h) in &batch.nodes {
                        merkle.insert(&node_key(*id), h)?;
                    }
                    if let Some(note) = &batch.checkpoint {
                        meta.insert("checkpoint", note.as_bytes())?;
                    }
                    meta.insert("head", head_bytes.as_slice())?;
                    Ok::<(), ConflictableTransactionError<()>>(())
                });
        match r {
            Ok(()) => {}
            Err(TransactionError::Storage(e)) => return Err(e.into()),
            Err(TransactionError::Abort(())) => return Err(LogError::corrupt(None, "the commit transaction aborted")),
        }
        self.sync()
    }

    /// What is wrong with the derived entries of event `seq` (its entity-index keys, its place on the plan's
    /// in-force timeline, and its late-arrival mark iff `late`), if anything. `verify` asks this of every event.
    pub fn derived_problem(
        &self,
        seq: u64,
        plan: &str,
        effective: NaiveDate,
        index_keys: &[String],
        late: bool,
    ) -> Result<Option<String>, LogError> {
        for k in index_keys {
            if !self.index.contains_key(index_key(k, seq))? {
                return Ok(Some(format!("the entity index lacks {k}")));
            }
        }
        if !self.timeline.contains_key(in_force_key(plan, effective, seq))? {
            return Ok(Some(format!("the in-force timeline of plan {plan} lacks it at {effective}")));
        }
        match (self.timeline.get(late_key(plan, seq))?, late) {
            (None, false) => {}
            (Some(v), true) if v.as_ref() == day_bytes(effective) => {}
            (None, true) => return Ok(Some("it arrived late but is not marked late".into())),
            (Some(_), _) => return Ok(Some("its late-arrival mark is wrong".into())),
        }
        Ok(None)
    }

    /// Numbers of entity-index entries, in-force entries and late marks of the events with seq < `len` (entries of
    /// later events, committed while a verifier runs, are not counted). Every such key ends with its seq.
    pub fn derived_counts(&self, len: u64) -> Result<(u64, u64, u64), LogError> {
        let below = |k: &[u8]| -> Result<bool, LogError> {
            let at = k.len().checked_sub(8).ok_or_else(|| LogError::corrupt(None, "a derived key is too short"))?;
            Ok(seq_of(&k[at..])? < len)
        };
        let mut index = 0;
        for r in self.index.iter() {
            index += u64::from(below(&r?.0)?);
        }
        let (mut in_force, mut late) = (0, 0);
        for r in self.timeline.iter() {
            let (k, _) = r?;
            if below(&k)? {
                match k.first() {
                    Some(b'E') => in_force += 1,
                    Some(b'L') => late += 1,
                    _ => return Err(LogError::corrupt(None, "a timeline key has an unknown tag")),
                }
            }
        }
        Ok((index, in_force, late))
    }

    /// The latest effective date among the stored events of `plan`.
    fn latest_effective(&self, plan: &str) -> Result<Option<NaiveDate>, LogError> {
        let prefix = timeline_prefix(b'E', plan);
        match self.timeline.scan_prefix(&prefix).next_back() {
            None => Ok(None),
            Some(r) => {
                let (k, _) = r?;
                day_of(k.get(prefix.len()..prefix.len() + 4).unwrap_or_default()).map(Some)
            }
        }
    }

    fn sync(&self) -> Result<(), LogError> {
        self.db.flush()?;
        let p = self.dir.join("sled").join("db");
        self.data_file.sync_all().map_err(io(&p))
    }
}

impl NodeSource<TreeHash> for Log {
    type Error = LogError;
    fn node(&self, id: NodeId) -> Result<TreeHash, LogError> {
        match self.merkle.get(node_key(id))? {
            Some(v) => v.as_ref().try_into().map_err(|_| {
                LogError::corrupt(None, format!("tree node ({}, {}) is not 32 bytes", id.level, id.index))
            }),
            None => Err(LogError::corrupt(None, format!("tree node ({}, {}) is missing", id.level, id.index))),
        }
    }
}
