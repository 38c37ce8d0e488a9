//! The ledger service: one writer thread that decides commands, assigns contiguous seqs, commits concurrent
//! requests together (group commit), and publishes them to readers only once they are durable.

use std::path::Path;
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::thread::JoinHandle;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};

use crate::audit::merkle::{self, Frontier, NodeSource, ProofError};
use crate::audit::note::{Checkpoint, NoteVerifier};
use crate::audit::{BUNDLE_FORMAT, Bundle, ConsistencyProof, InclusionProof, LedgerHasher, b64, leaf_of};
use crate::domain::{
    Command, Denied, DomainError, EventHash, Meta, PlanEvent, PlanId, Principal, Seq, State, authorize, decide,
};
use crate::events::{ChainVerifier, Record, VerifyError};
use crate::log::{Batch, Entry, Head, Log, LogError};

/// Most requests folded into one commit.
const MAX_BATCH: usize = 4096;

/// A request to append the events of one or more commands on one plan, atomically.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppendRequest {
    pub commands: Vec<Command>,
    pub meta: Meta,
    /// The plan version the caller last saw; a different current version refuses the request.
    pub expected_version: Option<u64>,
    /// A retry with the same key returns the original outcome instead of appending again.
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendedEvent {
    pub seq: Seq,
    pub hash: EventHash,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appended {
    pub plan: PlanId,
    pub events: Vec<AppendedEvent>,
    /// The plan's version after the append.
    pub version: u64,
    /// True when this is the stored outcome of an earlier request with the same idempotency key.
    #[serde(default)]
    pub replayed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("refused: {error}")]
    Refused { command: usize, error: DomainError },
    /// The principal the request was made for may not append command `command`.
    #[error("forbidden: {denied}")]
    Forbidden { command: usize, denied: Denied },
    #[error("version conflict on plan {plan}: expected version {expected}, current version is {current}")]
    VersionConflict { plan: String, expected: u64, current: u64 },
    #[error("idempotency key {key:?} was already used for a different request")]
    IdempotencyMismatch { key: String },
    #[error("import refused at {0}")]
    Import(VerifyError),
    #[error("{0}")]
    Proof(#[from] ProofError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("the ledger's writer has stopped")]
    Closed,
}

/// What readers see: the state and head as of the last durable commit.
pub struct Published {
    pub state: State,
    pub head: Head,
    pub last_recorded: Option<DateTime<Utc>>,
    /// The signed checkpoint of the tree of `head.len` events.
    pub checkpoint: String,
}

enum Job {
    Append(Box<(AppendRequest, Option<Principal>)>, oneshot::Sender<Result<Appended, LedgerError>>),
    Import(Vec<Vec<u8>>, oneshot::Sender<Result<Head, LedgerError>>),
}

struct Shared {
    log: Log,
    /// Plan events between two projection snapshots on one axis (see `timetravel`).
    snapshot_every: std::sync::atomic::AtomicU64,
    published: RwLock<Published>,
    visible: watch::Sender<u64>,
}

/// The open ledger. Cheap to clone; all clones share one writer.
#[derive(Clone)]
pub struct Ledger {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Job>,
    writer: Arc<std::sync::Mutex<Option<JoinHandle<()>>>>,
}

impl Ledger {
    /// Creates a new ledger whose checkpoints carry `origin` (a generated one when `None`).
    pub fn create(dir: &Path, origin: Option<&str>) -> Result<Self, LedgerError> {
        Self::start(Log::create(dir, origin)?)
    }

    /// Opens the data dir: checks the stored head and checkpoint, folds every event into the current state, starts
    /// the writer.
    pub fn open(dir: &Path) -> Result<Self, LedgerError> {
        Self::start(Log::open(dir)?)
    }

    fn start(log: Log) -> Result<Self, LedgerError> {
        let dir = log.dir().to_path_buf();
        let head = log.head()?;
        let checkpoint = log.checkpoint()?;
        let mut state = State::default();
        let mut last_recorded = None;
        for item in log.range(0, head.len) {
            let (seq, bytes) = item?;
            let r = Record::decode(&bytes).map_err(|e| LogError::Corruption { seq: Some(seq), what: e.to_string() })?;
            state.evolve(&r.event);
            last_recorded = Some(r.recorded_at);
        }
        let (visible, _) = watch::channel(head.len);
        let shared = Arc::new(Shared {
            log,
            snapshot_every: std::sync::atomic::AtomicU64::new(crate::timetravel::DEFAULT_SNAPSHOT_EVERY),
            published: RwLock::new(Published { state, head, last_recorded, checkpoint }),
            visible,
        });
        let (tx, rx) = mpsc::channel(MAX_BATCH);
        let w = Writer::new(shared.clone())?;
        let handle = std::thread::Builder::new()
            .name("planledger-writer".into())
            .spawn(move || w.run(rx))
            .map_err(|e| LogError::Io { path: dir.clone(), source: e })?;
        Ok(Self { shared, tx, writer: Arc::new(std::sync::Mutex::new(Some(handle))) })
    }

    /// The state and head as of the last durable commit.
    pub fn read(&self) -> RwLockReadGuard<'_, Published> {
        // A poisoned lock means the writer panicked mid-publish; readers still get the last consistent value,
        // because publishing replaces fields only after the commit succeeded.
        self.shared.published.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn head(&self) -> Head {
        self.read().head
    }

    pub fn log(&self) -> &Log {
        &self.shared.log
    }

    pub(crate) fn snapshot_every_cell(&self) -> &std::sync::atomic::AtomicU64 {
        &self.shared.snapshot_every
    }

    /// A receiver of the visible length (number of durable events), for feeds that follow the ledger.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.visible.subscribe()
    }

    /// The latest signed checkpoint (of the durable events).
    pub fn checkpoint(&self) -> String {
        self.read().checkpoint.clone()
    }

    /// The tree root over the first `size` durable events.
    pub fn root(&self, size: u64) -> Result<[u8; 32], LedgerError> {
        let available = self.head().len;
        if size > available {
            return Err(ProofError::SizeBeyondLedger { size, available }.into());
        }
        Ok(merkle::root::<LedgerHasher, _>(&self.shared.log, size)?)
    }

    /// The inclusion proof of event `seq` in the tree of `size` events (default: all durable events).
    pub fn inclusion_proof(&self, seq: u64, size: Option<u64>) -> Result<InclusionProof, LedgerError> {
        let size = size.unwrap_or_else(|| self.head().len);
        let root = self.root(size)?;
        let proof = merkle::inclusion_proof::<LedgerHasher, _>(&self.shared.log, seq, size)??;
        let entry = self
            .shared
            .log
            .stored_hash(seq)?
            .ok_or(LogError::Corruption { seq: Some(seq), what: "no recorded hash".into() })?;
        Ok(InclusionProof {
            leaf_index: seq,
            tree_size: size,
            entry: entry.to_hex(),
            leaf_hash: b64(&leaf_of(&entry)),
            root: b64(&root),
            proof: proof.iter().map(|h| b64(h)).collect(),
        })
    }

    /// The consistency proof from the tree of `size1` events to the tree of `size2` events.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<ConsistencyProof, LedgerError> {
        let root2 = self.root(size2)?;
        let proof = merkle::consistency_proof::<LedgerHasher, _>(&self.shared.log, size1, size2)??;
        Ok(ConsistencyProof {
            size1,
            size2,
            root1: b64(&self.root(size1)?),
            root2: b64(&root2),
            proof: proof.iter().map(|h| b64(h)).collect(),
        })
    }

    /// An offline proof bundle for event `seq` against the latest checkpoint.
    pub fn bundle(&self, seq: u64) -> Result<Bundle, LedgerError> {
        let (checkpoint, size) = {
            let p = self.read();
            (p.checkpoint.clone(), p.head.len)
        };
        if seq >= size {
            return Err(ProofError::IndexOutOfRange { index: seq, size }.into());
        }
        let bytes = self.shared.log.get(seq)?.ok_or(LogError::Corruption { seq: Some(seq), what: "missing".into() })?;
        let event = String::from_utf8(bytes)
            .map_err(|_| LogError::Corruption { seq: Some(seq), what: "the event is not UTF-8".into() })?;
        let proof = merkle::inclusion_proof::<LedgerHasher, _>(&self.shared.log, seq, size)??;
        Ok(Bundle {
            format: BUNDLE_FORMAT.into(),
            event,
            leaf_index: seq,
            tree_size: size,
            proof: proof.iter().map(|h| b64(h)).collect(),
            checkpoint,
        })
    }

    /// Stored bytes of durable events `from..to` (bounded by the visible head).
    pub fn read_events(&self, from: u64, limit: u64) -> Result<Vec<(u64, Vec<u8>)>, LedgerError> {
        let to = self.head().len.min(from.saturating_add(limit));
        self.shared.log.range(from, to).map(|r| r.map(|(s, b)| (s, b.to_vec())).map_err(LedgerError::from)).collect()
    }

    /// Decoded durable events `from..to`.
    pub fn records(&self, from: u64, to: u64) -> Result<Vec<Record>, LedgerError> {
        let to = to.min(self.head().len);
        self.shared
            .log
            .range(from, to)
            .map(|r| {
                let (seq, bytes) = r?;
                Record::decode(&bytes)
                    .map_err(|e| LedgerError::Log(LogError::Corruption { seq: Some(seq), what: e.to_string() }))
            })
            .collect()
    }

    /// Decoded events indexed under an entity key (`plan:…`, `node:…`, `indicator:…`), durable ones only.
    pub fn records_for(&self, entity: &str) -> Result<Vec<Record>, LedgerError> {
        let len = self.head().len;
        let mut out = Vec::new();
        for seq in self.shared.log.indexed(entity)? {
            if seq >= len {
                break;
            }
            let bytes = self
                .shared
                .log
                .get(seq)?
                .ok_or(LogError::Corruption { seq: Some(seq), what: "indexed but not stored".into() })?;
            out.push(Record::decode(&bytes).map_err(|e| LogError::Corruption { seq: Some(seq), what: e.to_string() })?);
        }
        Ok(out)
    }

    pub async fn append(&self, req: AppendRequest) -> Result<Appended, LedgerError> {
        self.append_as(req, None).await
    }

    /// Appends on behalf of `principal`: the writer authorizes every command against the state it decides it
    /// against, in the same step, so a change of a node's departments cannot slip between the check and the append.
    /// `None` is the operator at the console, who may do everything.
    pub async fn append_as(&self, req: AppendRequest, principal: Option<Principal>) -> Result<Appended, LedgerError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Job::Append(Box::new((req, principal)), tx)).await.map_err(|_| LedgerError::Closed)?;
        rx.await.map_err(|_| LedgerError::Closed)?
    }

    /// For callers outside an async runtime (the CLI).
    pub fn append_blocking(&self, req: AppendRequest) -> Result<Appended, LedgerError> {
        self.append_blocking_as(req, None)
    }

    /// [`Ledger::append_as`] for callers outside an async runtime.
    pub fn append_blocking_as(
        &self,
        req: AppendRequest,
        principal: Option<Principal>,
    ) -> Result<Appended, LedgerError> {
        let (tx, rx) = oneshot::channel();
        self.tx.blocking_send(Job::Append(Box::new((req, principal)), tx)).map_err(|_| LedgerError::Closed)?;
        rx.blocking_recv().map_err(|_| LedgerError::Closed)?
    }

    /// Appends stored lines from a ledger file verbatim: they must continue this ledger (seq and prev) and pass
    /// verification. All or nothing.
    pub fn import_blocking(&self, lines: Vec<Vec<u8>>) -> Result<Head, LedgerError> {
        let (tx, rx) = oneshot::channel();
        self.tx.blocking_send(Job::Import(lines, tx)).map_err(|_| LedgerError::Closed)?;
        rx.blocking_recv().map_err(|_| LedgerError::Closed)?
    }

    pub async fn import(&self, lines: Vec<Vec<u8>>) -> Result<Head, LedgerError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Job::Import(lines, tx)).await.map_err(|_| LedgerError::Closed)?;
        rx.await.map_err(|_| LedgerError::Closed)?
    }

    /// Stops accepting requests, lets the writer finish what it holds, and waits for it.
    pub fn close(self) {
        let Self { shared: _, tx, writer } = self;
        drop(tx);
        let handle = writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = handle {
            // Other clones may still hold senders; the writer stops when the last one is dropped.
            if Arc::strong_count(&writer) == 1 {
                let _ = h.join();
            }
        }
    }
}

/// The writer's private view: the state including decided but not yet durable events.
struct Writer {
    shared: Arc<Shared>,
    state: State,
    head: Head,
    last_recorded: Option<DateTime<Utc>>,
    /// The tree's right edge including decided but not yet durable events.
    frontier: Frontier<LedgerHasher>,
    /// Set when the writer cannot go on safely; it then stops and every later request gets `Closed`.
    broken: bool,
}

enum Reply {
    Append(oneshot::Sender<Result<Appended, LedgerError>>, Result<Appended, LedgerError>),
    Import(oneshot::Sender<Result<Head, LedgerError>>, Result<Head, LedgerError>),
}

/// What an idempotency record stores: a digest of the request and its outcome.
#[derive(Serialize, Deserialize)]
struct IdemRecord {
    digest: String,
    outcome: Appended,
}

fn digest(req: &AppendRequest) -> String {
    // Invariant: commands and meta always serialize.
    let bytes = serde_json::to_vec(&(&req.commands, &req.meta, req.expected_version)).expect("requests serialize");
    blake3::hash(&bytes).to_hex().to_string()
}

impl Writer {
    fn new(shared: Arc<Shared>) -> Result<Self, LogError> {
        let p = shared.published.read().unwrap_or_else(|e| e.into_inner());
        let (state, head, last_recorded) = (p.state.clone(), p.head, p.last_recorded);
        drop(p);
        let frontier = Frontier::load(&shared.log, head.len)?;
        Ok(Self { shared, state, head, last_recorded, frontier, broken: false })
    }

    fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        while let Some(first) = rx.blocking_recv() {
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
            self.process(jobs);
            if self.broken {
                break;
            }
        }
    }

    fn now(&self) -> DateTime<Utc> {
        let now = crate::events::to_micros_pub(Utc::now());
        match self.last_recorded {
            Some(last) if last > now => last,
            _ => now,
        }
    }

    fn process(&mut self, jobs: Vec<Job>) {
        let mut batch = Batch::default();
        let mut replies = Vec::with_capacity(jobs.len());
        let mut batch_idem: Vec<(String, IdemRecord)> = Vec::new();
        let first_new = self.head.len;
        let now = self.now();
        for job in jobs {
            match job {
                Job::Append(job, reply) => {
                    let (req, principal) = *job;
                    let r = self.append(&req, principal.as_ref(), now, &mut batch, &mut batch_idem);
                    replies.push(Reply::Append(reply, r));
                }
                Job::Import(lines, reply) => {
                    let r = self.import(lines, &mut batch);
                    replies.push(Reply::Import(reply, r));
                }
            }
        }
        for (k, rec) in &batch_idem {
            // Invariant: IdemRecord always serializes.
            batch.idempotency.push((k.clone(), serde_json::to_vec(rec).expect("idempotency records serialize")));
        }
        if !batch.entries.is_empty() || !batch.idempotency.is_empty() {
            let committed = self.seal(&mut batch).and_then(|()| self.shared.log.commit(&batch, self.head));
            if let Err(e) = committed {
                tracing::error!(error = %e, "commit failed; the batch is refused and the writer reloads its state");
                let msg = e.to_string();
                let p = self.shared.published.read().unwrap_or_else(|e| e.into_inner());
                self.state = p.state.clone();
                self.head = p.head;
                self.last_recorded = p.last_recorded;
                drop(p);
                match Frontier::load(&self.shared.log, self.head.len) {
                    Ok(f) => self.frontier = f,
                    Err(e) => {
                        // Without a trustworthy right edge no later checkpoint would be right: stop writing.
                        tracing::error!(error = %e, "cannot reload the tree after a failed commit; the writer stops");
                        self.broken = true;
                    }
                }
                for r in replies {
                    let err =
                        || LedgerError::Log(LogError::Corruption { seq: None, what: format!("commit failed: {msg}") });
                    match r {
                        Reply::Append(tx, Ok(_)) => drop(tx.send(Err(err()))),
                        Reply::Append(tx, Err(e)) => drop(tx.send(Err(e))),
                        Reply::Import(tx, Ok(_)) => drop(tx.send(Err(err()))),
                        Reply::Import(tx, Err(e)) => drop(tx.send(Err(e))),
                    }
                }
                return;
            }
            let mut p = self.shared.published.write().unwrap_or_else(|e| e.into_inner());
            for e in &batch.entries {
                // Invariant: these bytes were encoded or verified by this writer moments ago.
                let r = Record::decode(&e.bytes).expect("just-committed records decode");
                p.state.evolve(&r.event);
                p.last_recorded = Some(r.recorded_at);
            }
            p.head = self.head;
            if let Some(note) = batch.checkpoint.take() {
                p.checkpoint = note;
            }
            drop(p);
            self.shared.visible.send_replace(self.head.len);
            tracing::debug!(from = first_new, to = self.head.len, "committed");
        }
        for r in replies {
            match r {
                Reply::Append(tx, res) => drop(tx.send(res)),
                Reply::Import(tx, res) => drop(tx.send(res)),
            }
        }
    }

    /// Adds the tree nodes the batch completes and the signed checkpoint after it.
    fn seal(&mut self, batch: &mut Batch) -> Result<(), LogError> {
        let nodes = &mut batch.nodes;
        for e in &batch.entries {
            self.frontier.push(&e.hash.0, |id, h| nodes.push((id, h)));
        }
        debug_assert_eq!(self.frontier.size(), self.head.len);
        batch.checkpoint = Some(self.shared.log.sign_checkpoint(self.head.len, self.frontier.root())?);
        Ok(())
    }

    fn append(
        &mut self,
        req: &AppendRequest,
        principal: Option<&Principal>,
        now: DateTime<Utc>,
        batch: &mut Batch,
        batch_idem: &mut Vec<(String, IdemRecord)>,
    ) -> Result<Appended, LedgerError> {
        let dg = req.idempotency_key.as_ref().map(|_| digest(req));
        if let (Some(key), Some(dg)) = (&req.idempotency_key, &dg) {
            if key.is_empty() || key.len() > 200 {
                return Err(LedgerError::Refused {
                    command: 0,
                    error: DomainError::invalid("idempotency_key", "must be 1 to 200 bytes"),
                });
            }
            let earlier = match batch_idem.iter().find(|(k, _)| k == key) {
                Some((_, rec)) => Some((rec.digest.clone(), rec.outcome.clone())),
                None => match self.shared.log.idempotency(key)? {
                    Some(bytes) => {
                        let rec: IdemRecord = serde_json::from_slice(&bytes).map_err(|e| LogError::Corruption {
                            seq: None,
                            what: format!("idempotency record {key:?}: {e}"),
                        })?;
                        Some((rec.digest, rec.outcome))
                    }
                    None => None,
                },
            };
            if let Some((d, mut outcome)) = earlier {
                if &d != dg {
                    return Err(LedgerError::IdempotencyMismatch { key: key.clone() });
                }
                outcome.replayed = true;
                return Ok(outcome);
            }
        }
        if req.commands.is_empty() {
            return Err(LedgerError::Refused {
                command: 0,
                error: DomainError::invalid("commands", "must not be empty"),
            });
        }
        let plan = req.commands[0].target_plan(&self.state);
        if let (Some(expected), Some(plan)) = (req.expected_version, &plan) {
            let current = self.state.plans.get(plan).map(|p| p.version).unwrap_or(0);
            if current != expected {
                return Err(LedgerError::VersionConflict { plan: plan.to_string(), expected, current });
            }
        }
        let allowed = |state: &State, i: usize, c: &Command| match principal {
            Some(p) => authorize(state, p, c).map_err(|denied| LedgerError::Forbidden { command: i, denied }),
            None => Ok(()),
        };
        let events: Vec<PlanEvent> = if req.commands.len() == 1 {
            allowed(&self.state, 0, &req.commands[0])?;
            decide(&self.state, &req.commands[0], &req.meta)
                .map_err(|error| LedgerError::Refused { command: 0, error })?
        } else {
            // Several commands are decided in sequence on a scratch copy, so a refusal leaves nothing behind.
            let mut scratch = self.state.clone();
            let mut all = Vec::new();
            for (i, c) in req.commands.iter().enumerate() {
                allowed(&scratch, i, c)?;
                let evs = decide(&scratch, c, &req.meta).map_err(|error| LedgerError::Refused { command: i, error })?;
                for e in &evs {
                    scratch.evolve(e);
                }
                all.extend(evs);
            }
            all
        };
        let plan = events[0].plan().clone();
        if let Some((i, _)) = events.iter().enumerate().find(|(_, e)| e.plan() != &plan) {
            return Err(LedgerError::Refused {
                command: i,
                error: DomainError::invalid("commands", "one request may change one plan only"),
            });
        }
        let mut appended = Vec::with_capacity(events.len());
        for ev in events {
            let record = Record::new(Seq(self.head.len), self.head.hash, now, &req.meta, ev);
            let bytes = record.encode();
            let hash = EventHash::of(&bytes);
            batch.entries.push(Entry {
                seq: self.head.len,
                bytes,
                hash,
                index_keys: record.event.index_keys(),
                plan: record.event.plan().to_string(),
                effective: record.effective,
            });
            self.state.evolve(&record.event);
            appended.push(AppendedEvent { seq: Seq(self.head.len), hash });
            self.head = Head { len: self.head.len + 1, hash };
            self.last_recorded = Some(record.recorded_at);
        }
        let version = self.state.plans.get(&plan).map(|p| p.version).unwrap_or(0);
        let outcome = Appended { plan, events: appended, version, replayed: false };
        if let (Some(key), Some(dg)) = (&req.idempotency_key, dg) {
            batch_idem.push((key.clone(), IdemRecord { digest: dg, outcome: outcome.clone() }));
        }
        Ok(outcome)
    }

    fn import(&mut self, lines: Vec<Vec<u8>>, batch: &mut Batch) -> Result<Head, LedgerError> {
        let mut v =
            ChainVerifier::continuing(Seq(self.head.len), self.head.hash, self.last_recorded, self.state.clone());
        let mut entries = Vec::with_capacity(lines.len());
        let mut last = self.last_recorded;
        for bytes in lines {
            let (r, h) = v.push(&bytes).map_err(LedgerError::Import)?;
            last = Some(r.recorded_at);
            entries.push(Entry {
                seq: r.seq.0,
                hash: h,
                index_keys: r.event.index_keys(),
                plan: r.event.plan().to_string(),
                effective: r.effective,
                bytes,
            });
        }
        let summary = v.summary();
        self.state = v.into_state();
        self.head = Head { len: summary.first + summary.count, hash: summary.head };
        self.last_recorded = last;
        batch.entries.extend(entries);
        Ok(self.head)
    }
}

/// Why a stored ledger failed verification.
#[derive(Debug, thiserror::Error)]
pub enum VerifyFailure {
    #[error("{0}")]
    Bad(VerifyError),
    #[error("{0}")]
    Log(LogError),
    #[error("the Merkle tree: {0}")]
    Tree(String),
    #[error("the checkpoint: {0}")]
    Checkpoint(String),
    #[error("not consistent with the earlier checkpoint: {0}")]
    Inconsistent(String),
}

impl VerifyFailure {
    /// The seq the failure names, when it names one.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Self::Bad(e) => Some(e.seq),
            Self::Log(LogError::Corruption { seq, .. }) => *seq,
            _ => None,
        }
    }
}

/// What a full verification established.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub summary: crate::events::VerifySummary,
    /// The tree root recomputed from the events.
    pub root: [u8; 32],
    /// The latest checkpoint, whose signature and root were checked.
    pub checkpoint: Checkpoint,
    /// The earlier checkpoint the ledger was shown to extend, when one was given.
    pub since: Option<Checkpoint>,
}

/// Verifies a data dir from its stored bytes alone: each event's bytes against the hash recorded at append, the
/// canonical encoding, contiguous seq, the chain, instants and the domain rules; the recorded head; every stored
/// tree node against the tree recomputed from the events; and the latest checkpoint's signature (by `key`, or the
/// ledger's own key) and root.
pub fn verify_dir(dir: &Path) -> Result<VerifyReport, VerifyFailure> {
    verify_dir_with(dir, None, None)
}

/// [`verify_dir`] with the public key an auditor holds (instead of the one in the data dir), and with an earlier
/// checkpoint the ledger must be consistent with (see [`verify_since`]).
pub fn verify_dir_with(
    dir: &Path,
    key: Option<&NoteVerifier>,
    since: Option<&str>,
) -> Result<VerifyReport, VerifyFailure> {
    let log = Log::open(dir).map_err(VerifyFailure::Log)?;
    let mut report = verify_log(&log, key)?;
    if let Some(note) = since {
        report.since = Some(verify_since(&log, &report, note, key)?);
    }
    Ok(report)
}

/// [`verify_dir`] on an open ledger (the durable events at the moment of the call's start).
pub fn verify_dir_open(ledger: &Ledger) -> Result<VerifyReport, VerifyFailure> {
    verify_log(ledger.log(), None)
}

fn verify_log(log: &Log, key: Option<&NoteVerifier>) -> Result<VerifyReport, VerifyFailure> {
    // Head and checkpoint change together in one transaction but are read one after the other: read until the head
    // is the same on both sides, so a commit in between cannot pair one head with another's checkpoint.
    let (head, note) = loop {
        let head = log.head().map_err(VerifyFailure::Log)?;
        let note = log.checkpoint().map_err(VerifyFailure::Log)?;
        if log.head().map_err(VerifyFailure::Log)? == head {
            break (head, note);
        }
    };
    let mut v = ChainVerifier::new();
    let mut frontier = Frontier::<LedgerHasher>::default();
    let mut bad_node = None;
    // The derived entries (entity index, in-force timeline, late marks) are stored bytes too: each event's must be
    // there, and (by the counts after the loop) nothing else.
    let mut latest: std::collections::HashMap<String, chrono::NaiveDate> = std::collections::HashMap::new();
    let mut expected = (0u64, 0u64, 0u64);
    // Events beyond the head read above may be committed while this runs; they are not part of what is verified.
    for item in log.range(0, head.len) {
        let (seq, bytes) = item.map_err(VerifyFailure::Log)?;
        let stored = log.stored_hash(seq).map_err(VerifyFailure::Log)?;
        let hash = EventHash::of(&bytes);
        if stored != Some(hash) {
            return Err(VerifyFailure::Bad(VerifyError {
                seq,
                what: "the stored bytes do not hash to the hash recorded when the event was appended".into(),
            }));
        }
        let (r, _) = v.push(&bytes).map_err(VerifyFailure::Bad)?;
        let plan = r.event.plan().to_string();
        let late = latest.get(&plan).is_some_and(|m| r.effective < *m);
        let mut keys = r.event.index_keys();
        keys.sort();
        keys.dedup();
        if let Some(what) = log.derived_problem(seq, &plan, r.effective, &keys, late).map_err(VerifyFailure::Log)? {
            return Err(VerifyFailure::Log(LogError::Corruption { seq: Some(seq), what }));
        }
        expected = (expected.0 + keys.len() as u64, expected.1 + 1, expected.2 + u64::from(late));
        let m = latest.entry(plan).or_insert(r.effective);
        *m = (*m).max(r.effective);
        frontier.push(&hash.0, |id, h| {
            if bad_node.is_none() && log.node(id).ok() != Some(h) {
                bad_node = Some(id);
            }
        });
        if let Some(id) = bad_node {
            let first = id.index << id.level;
            return Err(VerifyFailure::Tree(format!(
                "stored node (level {}, index {}) over seq {}..={} is not the hash of those events",
                id.level,
                id.index,
                first,
                first + (1u64 << id.level) - 1
            )));
        }
    }
    let s = v.summary();
    if s.count != head.len || s.head != head.hash {
        return Err(VerifyFailure::Log(LogError::Corruption {
            seq: head.len.checked_sub(1),
            what: format!(
                "the recorded head ({} events, {}) does not match the events ({} events, {})",
                head.len, head.hash, s.count, s.head
            ),
        }));
    }
    let found = log.derived_counts(head.len).map_err(VerifyFailure::Log)?;
    if found != expected {
        return Err(VerifyFailure::Log(LogError::Corruption {
            seq: None,
            what: format!(
                "the derived entries (entity index, in-force timeline, late marks) number {found:?}; the events give \
                 {expected:?}"
            ),
        }));
    }
    let root = frontier.root();
    let own = log.verifier();
    let checkpoint =
        Checkpoint::open(&note, key.unwrap_or(&own)).map_err(|e| VerifyFailure::Checkpoint(e.to_string()))?;
    if checkpoint.size != s.count || checkpoint.root != root {
        return Err(VerifyFailure::Checkpoint(format!(
            "the latest checkpoint (size {}, root {}) is not the tree of the events (size {}, root {})",
            checkpoint.size,
            b64(&checkpoint.root),
            s.count,
            b64(&root)
        )));
    }
    Ok(VerifyReport { summary: s, root, checkpoint, since: None })
}

/// The split-view defence: checks that the verified ledger extends the tree of an earlier checkpoint an auditor
/// kept, by a consistency proof from the stored tree checked against both roots.
fn verify_since(
    log: &Log,
    report: &VerifyReport,
    earlier_note: &str,
    key: Option<&NoteVerifier>,
) -> Result<Checkpoint, VerifyFailure> {
    let own = log.verifier();
    let earlier = Checkpoint::open(earlier_note, key.unwrap_or(&own))
        .map_err(|e| VerifyFailure::Inconsistent(format!("the earlier checkpoint does not verify: {e}")))?;
    if earlier.origin != report.checkpoint.origin {
        return Err(VerifyFailure::Inconsistent(format!(
            "the earlier checkpoint is of log {:?}, this ledger is {:?}",
            earlier.origin, report.checkpoint.origin
        )));
    }
    let n = report.summary.count;
    if earlier.size > n {
        return Err(VerifyFailure::Inconsistent(format!(
            "the earlier checkpoint has {} events; this ledger has only {n}: events were removed",
            earlier.size
        )));
    }
    if earlier.size == 0 {
        return Ok(earlier);
    }
    let proof = merkle::consistency_proof::<LedgerHasher, _>(log, earlier.size, n)
        .map_err(VerifyFailure::Log)?
        .map_err(|e| VerifyFailure::Inconsistent(e.to_string()))?;
    merkle::verify_consistency::<LedgerHasher, _>(earlier.size, n, &proof, &earlier.root, &report.root).map_err(
        |e| {
            VerifyFailure::Inconsistent(format!(
                "the first {} events are not the ones the earlier checkpoint signed: {e}",
                earlier.size
            ))
        },
    )?;
    Ok(earlier)
}

/// Splits a ledger file into its lines (without the newline). Every line, the last included, ends with `\n`.
pub fn split_lines(bytes: &[u8]) -> Result<Vec<Vec<u8>>, VerifyError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    if !bytes.ends_with(b"\n") {
        return Err(VerifyError { seq: 0, what: "the file does not end with a newline (truncated?)".into() });
    }
    Ok(bytes[..bytes.len() - 1].split(|b| *b == b'\n').map(<[u8]>::to_vec).collect())
}
