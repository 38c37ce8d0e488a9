//! The ledger service: one writer thread that decides commands, assigns contiguous seqs, commits concurrent
//! requests together (group commit), and publishes them to readers only once they are durable.

use std::path::Path;
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::thread::JoinHandle;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot, watch};

use crate::core::audit::merkle::{self, ProofError};
use crate::core::audit::{BUNDLE_FORMAT, Bundle, ConsistencyProof, InclusionProof, LedgerHasher, b64, leaf_of};
use crate::core::domain::{Denied, DomainError, Entity, EventHash, PlanId, Principal, State};
use crate::core::record::{Record, VerifyError};
use crate::store::log::{DiskRefusal, Head, Log, LogError};

mod request;
mod settle;
mod verify;
mod writer;

pub use request::{AppendRequest, Appended, AppendedEvent, IDEMPOTENCY_KEY_MAX, IdempotencyKey, Precondition};

pub use verify::{VerifyFailure, VerifyReport, verify_dir, verify_dir_open, verify_dir_with, verify_open_with};
use writer::Writer;

/// Default distance, in plan events, between two cached states of a plan on one time axis (see `cache`). Here, with
/// the ledger that holds the setting, so that the writer does not depend on the cache that reads through it.
pub const DEFAULT_CACHE_EVERY: u64 = 1000;

/// Most requests folded into one commit.
pub(super) const MAX_BATCH: usize = 4096;

/// Why the ledger refused or failed a request. Each variant says the HTTP status the API answers it with; the
/// mapping in `web::problem` is exhaustive.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// A command breaks a rule (400 invalid, 404 not found, 409 conflict, by the error's kind). `command` is the
    /// command's index in a batch (several commands, or a request addressed to a plan), whose refusals name
    /// `commands[i].field`.
    #[error("refused: {error}")]
    Refused { command: Option<usize>, error: DomainError },
    /// The principal the request was made for may not append this command (403).
    #[error("forbidden: {denied}")]
    Forbidden { command: Option<usize>, denied: Denied },
    /// The precondition does not hold (412, with the plan's current version and its ETag).
    #[error("{}", conflict_text(.plan, .expected, .current))]
    VersionConflict { plan: PlanId, expected: Precondition, current: Option<u64> },
    /// The idempotency key was used before for a different request (422).
    #[error("idempotency key {key:?} was already used for a different request")]
    IdempotencyMismatch { key: String },
    /// The idempotency key is not one the ledger takes (400 on `Idempotency-Key`).
    #[error("the idempotency key {reason}")]
    BadIdempotencyKey { reason: String },
    /// Imported lines do not continue this ledger or fail verification (400; not offered over HTTP).
    #[error("import refused at {0}")]
    Import(VerifyError),
    /// A proof was asked for sizes or seqs the tree does not have (400 on the parameter at fault).
    #[error("{0}")]
    Proof(#[from] ProofError),
    /// The store could not make the batch durable (a full or failing disk): nothing of it was appended, the writer
    /// went back to the last durable state, and a retry may succeed (503 with `Retry-After`).
    #[error("the ledger could not commit (nothing was appended; retry later): {cause}")]
    CommitFailed { cause: String },
    /// The disk refused the write: it is full, read-only or over quota (503 with `Retry-After`). Nothing of the
    /// request was appended, and the writer takes writes again by itself once the disk does, without a restart.
    #[error("{}", .refusal.explain(.path))]
    DiskRefused { refusal: DiskRefusal, path: std::path::PathBuf },
    /// Storage failed or the stored data is damaged (500; `Exists` is 409).
    #[error(transparent)]
    Store(#[from] LogError),
    /// The writer has stopped: the ledger is closing (503).
    #[error("the ledger's writer has stopped")]
    Closed,
    /// The last record lies more than the clock bound ahead of the system clock and the operator has not accepted
    /// dating changes there (`LedgerOptions::accept_clock_ahead`): nothing was appended (503).
    #[error(transparent)]
    ClockBehind(#[from] crate::core::domain::clock::ClockBehind),
}

fn conflict_text(plan: &PlanId, expected: &Precondition, current: &Option<u64>) -> String {
    let want = match expected {
        Precondition::None => "nothing".to_string(),
        Precondition::Exists => "that it exists".to_string(),
        Precondition::Versions(vs) if vs.is_empty() => "a version no tag names".to_string(),
        Precondition::Versions(vs) => {
            format!("version {}", vs.iter().map(u64::to_string).collect::<Vec<_>>().join(" or "))
        }
        Precondition::Tagged(tags) => {
            let vs: Vec<String> = tags.iter().filter(|(p, _)| p == plan.as_str()).map(|(_, v)| v.to_string()).collect();
            if vs.is_empty() { "a version no tag names".to_string() } else { format!("version {}", vs.join(" or ")) }
        }
    };
    match current {
        Some(c) => format!("version conflict on plan {plan}: it is at version {c}, the request expected {want}"),
        None => format!("version conflict on plan {plan}: expected {want}, but there is no such plan"),
    }
}

/// A clock: the writer stamps `recorded_at` with it and takes the default effective date from it.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// A monotonic clock: time elapsed since an arbitrary origin, never going back and never stepped.
pub type Monotonic = Arc<dyn Fn() -> std::time::Duration + Send + Sync>;

/// How a ledger is opened; `Default` is the system clock and no injected faults.
#[derive(Clone, Default)]
pub struct LedgerOptions {
    /// The writer's clock (default: the system clock), dated by the rule of `core::domain::clock`.
    pub clock: Option<Clock>,
    /// The monotonic clock that rule measures the wall clock against (default: `std::time::Instant`).
    pub monotonic: Option<Monotonic>,
    /// The operator's word: changes may be dated up to this instant even when it lies more than the clock bound
    /// ahead of the system clock (`PLANLEDGER_ACCEPT_CLOCK_AHEAD`).
    pub accept_clock_ahead: Option<DateTime<Utc>>,
    /// Storage faults to inject, for fault drills and tests.
    pub faults: Option<Arc<crate::store::log::Faults>>,
}

/// The state every stored event folds into, the last one's instant, and the event count of the resume point the
/// fold began at (0 when it began at seq 0).
#[derive(Default)]
struct Folded {
    state: State,
    last_recorded: Option<DateTime<Utc>>,
    resumed_at: u64,
}

/// Folds sled's events into the state, from the resume point when one is usable (`log::resume`), checking the chain
/// as it goes (each record's seq, and its `prev` against the hash of the bytes before it, up to the recorded
/// head): a damaged byte in a stored event folded stops the open with the seq where the chain breaks, instead of
/// being folded in or served. `verify` reads every event; opening reads only those after the resume point.
fn fold(log: &Log, progress: &crate::store::bounded::Progress) -> Result<Folded, LogError> {
    let head = log.head()?;
    let mut out = Folded::default();
    let (mut prev, mut next) = (EventHash::ZERO, 0u64);
    if let Some(r) = log.resume_point(head)? {
        (prev, next) = (r.at.hash, r.at.len);
        out = Folded { state: r.state, last_recorded: r.last_recorded, resumed_at: r.at.len };
        tracing::debug!(from = next, to = head.len, "folding from the resume point");
    }
    for item in log.range(next, head.len) {
        let (seq, bytes) = item?;
        let r = crate::store::log::decode(seq, &bytes)?;
        if seq != next || r.seq.0 != seq {
            return Err(LogError::corrupt(Some(next), "an event is missing or out of place in sled"));
        }
        if r.prev != prev {
            return Err(LogError::corrupt(
                Some(seq),
                format!("the chain breaks between seq {} and {seq} in sled", seq.saturating_sub(1)),
            ));
        }
        prev = EventHash::of(&bytes);
        next += 1;
        out.state.evolve(&r.event);
        out.last_recorded = Some(r.recorded_at);
        progress.step();
    }
    if next != head.len || prev != head.hash {
        return Err(LogError::corrupt(head.len.checked_sub(1), "sled's events do not end at the recorded head"));
    }
    Ok(out)
}

/// What readers see: the state and head as of the last durable commit.
pub struct Durable {
    pub state: State,
    pub head: Head,
    pub last_recorded: Option<DateTime<Utc>>,
    /// The signed checkpoint of the tree of `head.len` events.
    pub checkpoint: String,
}

/// Lines to import, each a stored record without its newline, or why it could not be read.
pub type ImportLines = Box<dyn Iterator<Item = Result<Vec<u8>, VerifyError>> + Send>;

pub(super) enum Job {
    Append(Box<(AppendRequest, Option<Principal>)>, oneshot::Sender<Result<Appended, LedgerError>>),
    Import(ImportLines, oneshot::Sender<Result<Head, LedgerError>>),
}

pub(super) struct Shared {
    pub(super) log: Log,
    /// Plan events between two projection snapshots on one axis (see `timetravel`).
    cache_every: std::sync::atomic::AtomicU64,
    pub(super) durable: RwLock<Durable>,
    pub(super) visible: watch::Sender<u64>,
    /// The clock that stamps `recorded_at`; "today" everywhere is the date in Japan by this clock.
    pub(super) clock: Clock,
}

/// The open ledger. Cheap to clone; all clones share one writer.
#[derive(Clone)]
pub struct Ledger {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Job>,
    writer: Arc<std::sync::Mutex<Option<JoinHandle<()>>>>,
}

impl Ledger {
    /// Today's date in Japan by the ledger's clock: the day a change recorded now takes effect by default, and the
    /// day against which a plan's phase (in force, prospective) is judged.
    pub fn today(&self) -> chrono::NaiveDate {
        crate::core::domain::time::jst_date((self.shared.clock)())
    }

    /// Creates a new ledger whose checkpoints carry `origin` (a generated one when `None`).
    pub fn create(dir: &Path, origin: Option<&str>) -> Result<Self, LedgerError> {
        Self::start(Log::create(dir, origin)?, Folded::default(), LedgerOptions::default())
    }

    /// Opens the data dir: checks the stored head and checkpoint, folds every event into the current state, starts
    /// the writer.
    pub fn open(dir: &Path) -> Result<Self, LedgerError> {
        Self::open_with(dir, LedgerOptions::default())
    }

    /// [`open`](Self::open) with a clock and injected faults. The open and the fold of every event run bounded
    /// (`bounded`): damage that makes sled loop or panic ends in `LogError::Unreadable`.
    pub fn open_with(dir: &Path, options: LedgerOptions) -> Result<Self, LedgerError> {
        let d = dir.to_path_buf();
        let (mut log, folded) = crate::store::bounded::run(&format!("opening {}", dir.display()), move |p| {
            let log = Log::open(&d)?;
            let folded = fold(&log, &p)?;
            Ok((log, folded))
        })?;
        log.set_faults(options.faults.clone());
        Self::start(log, folded, options)
    }

    fn start(log: Log, folded: Folded, options: LedgerOptions) -> Result<Self, LedgerError> {
        let dir = log.dir().to_path_buf();
        let head = log.head()?;
        let checkpoint = log.checkpoint()?;
        let Folded { state, last_recorded, mut resumed_at } = folded;
        if head.len >= resumed_at + writer::RESUME_EVERY {
            // The fold was long (a store without a usable resume point, or a crash long after the last one): keep
            // the next open from repeating it. Synchronous and flushed, as a short command may exit at once.
            match log.save_resume_point(head, last_recorded, &state).and_then(|()| log.sync()) {
                Ok(()) => resumed_at = head.len,
                Err(e) => tracing::warn!(error = %e, "cannot store the resume point"),
            }
        }
        let (visible, _) = watch::channel(head.len);
        let stamping = writer::Stamping::new(&options);
        let shared = Arc::new(Shared {
            log,
            cache_every: std::sync::atomic::AtomicU64::new(DEFAULT_CACHE_EVERY),
            durable: RwLock::new(Durable { state, head, last_recorded, checkpoint }),
            visible,
            clock: options.clock.unwrap_or_else(|| Arc::new(Utc::now)),
        });
        let (tx, rx) = mpsc::channel(MAX_BATCH);
        let w = Writer::new(shared.clone(), stamping, resumed_at)?;
        let handle = std::thread::Builder::new()
            .name("planledger-writer".into())
            .spawn(move || w.run(rx))
            .map_err(|e| LogError::Io { path: dir.clone(), source: e })?;
        Ok(Self { shared, tx, writer: Arc::new(std::sync::Mutex::new(Some(handle))) })
    }

    /// The state and head as of the last durable commit.
    pub fn read(&self) -> RwLockReadGuard<'_, Durable> {
        // A poisoned lock means the writer panicked mid-publish; readers still get the last consistent value,
        // because publishing replaces fields only after the commit succeeded.
        self.shared.durable.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn head(&self) -> Head {
        self.read().head
    }

    /// The ledger's public key: the signed-note verifier of its checkpoints.
    pub fn verifier(&self) -> crate::core::audit::note::NoteVerifier {
        self.shared.log.verifier()
    }

    pub(crate) fn log(&self) -> &Log {
        &self.shared.log
    }

    pub(crate) fn cache_every_cell(&self) -> &std::sync::atomic::AtomicU64 {
        &self.shared.cache_every
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
        let bytes = self.shared.log.get(seq)?.ok_or_else(|| LogError::corrupt(Some(seq), "the event is missing"))?;
        let event = String::from_utf8(bytes).map_err(|_| LogError::corrupt(Some(seq), "the event is not UTF-8"))?;
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
        self.shared.log.records(from, to).map(|r| Ok(r?.1)).collect()
    }

    /// Decoded durable events filed under `entity`.
    pub fn records_for(&self, entity: &Entity) -> Result<Vec<Record>, LedgerError> {
        self.records_within(entity, self.head().len)
    }

    /// Decoded events filed under `entity` among the first `len` (bounded by the durable head too).
    pub fn records_within(&self, entity: &Entity, len: u64) -> Result<Vec<Record>, LedgerError> {
        let len = len.min(self.head().len);
        let mut out = Vec::new();
        for seq in self.shared.log.indexed(entity)? {
            if seq >= len {
                break;
            }
            out.push(self.shared.log.record(seq)?);
        }
        Ok(out)
    }

    /// The newest record of `entity` below `len` that `keep` accepts, read newest first, so that it costs the records
    /// it skips rather than the entity's whole history.
    pub fn last_record_within(
        &self,
        entity: &Entity,
        len: u64,
        keep: impl Fn(&Record) -> bool,
    ) -> Result<Option<Record>, LedgerError> {
        let len = len.min(self.head().len);
        for seq in self.shared.log.indexed_back(entity, len) {
            let r = self.shared.log.record(seq?)?;
            if keep(&r) {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    /// The records of `entity` below `len`, newest first, for as long as `more` accepts the next one: the first
    /// record it refuses ends the read and is not returned. The read costs the records returned, not the entity's
    /// whole history.
    pub fn records_back_within(
        &self,
        entity: &Entity,
        len: u64,
        mut more: impl FnMut(&Record) -> bool,
    ) -> Result<Vec<Record>, LedgerError> {
        let len = len.min(self.head().len);
        let mut out = Vec::new();
        for seq in self.shared.log.indexed_back(entity, len) {
            let r = self.shared.log.record(seq?)?;
            if !more(&r) {
                break;
            }
            out.push(r);
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
        self.import_from_blocking(Box::new(lines.into_iter().map(Ok)))
    }

    /// [`import_blocking`](Self::import_blocking) of lines read as the import goes (from a file, say): the writer
    /// commits them a chunk at a time, and readers see them only once the last is durable. A line that cannot be
    /// read refuses the import whole, as a line that does not verify does.
    pub fn import_from_blocking(&self, lines: ImportLines) -> Result<Head, LedgerError> {
        let (tx, rx) = oneshot::channel();
        self.tx.blocking_send(Job::Import(lines, tx)).map_err(|_| LedgerError::Closed)?;
        rx.blocking_recv().map_err(|_| LedgerError::Closed)?
    }

    pub async fn import(&self, lines: Vec<Vec<u8>>) -> Result<Head, LedgerError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Job::Import(Box::new(lines.into_iter().map(Ok)), tx)).await.map_err(|_| LedgerError::Closed)?;
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
