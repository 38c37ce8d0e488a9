//! The ledger service: one writer thread that decides commands, assigns contiguous seqs, commits concurrent
//! requests together (group commit), and publishes them to readers only once they are durable.

use std::path::Path;
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::thread::JoinHandle;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};

use crate::domain::{Command, DomainError, EventHash, Meta, PlanEvent, PlanId, Seq, State, decide};
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
    #[error("version conflict on plan {plan}: expected version {expected}, current version is {current}")]
    VersionConflict { plan: String, expected: u64, current: u64 },
    #[error("idempotency key {key:?} was already used for a different request")]
    IdempotencyMismatch { key: String },
    #[error("import refused at {0}")]
    Import(VerifyError),
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
}

enum Job {
    Append(AppendRequest, oneshot::Sender<Result<Appended, LedgerError>>),
    Import(Vec<Vec<u8>>, oneshot::Sender<Result<Head, LedgerError>>),
}

struct Shared {
    log: Log,
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
    /// Opens the data dir: checks the stored head, folds every event into the current state, starts the writer.
    pub fn open(dir: &Path) -> Result<Self, LedgerError> {
        let log = Log::open(dir)?;
        let head = log.head()?;
        let mut state = State::default();
        let mut last_recorded = None;
        for item in log.range(0, head.len) {
            let (seq, bytes) = item?;
            let r = Record::decode(&bytes).map_err(|e| LogError::Corruption { seq: Some(seq), what: e.to_string() })?;
            state.evolve(&r.event);
            last_recorded = Some(r.recorded_at);
        }
        let (visible, _) = watch::channel(head.len);
        let shared =
            Arc::new(Shared { log, published: RwLock::new(Published { state, head, last_recorded }), visible });
        let (tx, rx) = mpsc::channel(MAX_BATCH);
        let w = Writer::new(shared.clone());
        let handle = std::thread::Builder::new()
            .name("planledger-writer".into())
            .spawn(move || w.run(rx))
            .map_err(|e| LogError::Io { path: dir.to_path_buf(), source: e })?;
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

    /// A receiver of the visible length (number of durable events), for feeds that follow the ledger.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.visible.subscribe()
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
        let (tx, rx) = oneshot::channel();
        self.tx.send(Job::Append(req, tx)).await.map_err(|_| LedgerError::Closed)?;
        rx.await.map_err(|_| LedgerError::Closed)?
    }

    /// For callers outside an async runtime (the CLI).
    pub fn append_blocking(&self, req: AppendRequest) -> Result<Appended, LedgerError> {
        let (tx, rx) = oneshot::channel();
        self.tx.blocking_send(Job::Append(req, tx)).map_err(|_| LedgerError::Closed)?;
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
    fn new(shared: Arc<Shared>) -> Self {
        let p = shared.published.read().unwrap_or_else(|e| e.into_inner());
        let (state, head, last_recorded) = (p.state.clone(), p.head, p.last_recorded);
        drop(p);
        Self { shared, state, head, last_recorded }
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
                Job::Append(req, reply) => {
                    let r = self.append(&req, now, &mut batch, &mut batch_idem);
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
            if let Err(e) = self.shared.log.commit(&batch, self.head) {
                tracing::error!(error = %e, "commit failed; the batch is refused and the writer reloads its state");
                let msg = e.to_string();
                let p = self.shared.published.read().unwrap_or_else(|e| e.into_inner());
                self.state = p.state.clone();
                self.head = p.head;
                self.last_recorded = p.last_recorded;
                drop(p);
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

    fn append(
        &mut self,
        req: &AppendRequest,
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
        let events: Vec<PlanEvent> = if req.commands.len() == 1 {
            decide(&self.state, &req.commands[0], &req.meta)
                .map_err(|error| LedgerError::Refused { command: 0, error })?
        } else {
            // Several commands are decided in sequence on a scratch copy, so a refusal leaves nothing behind.
            let mut scratch = self.state.clone();
            let mut all = Vec::new();
            for (i, c) in req.commands.iter().enumerate() {
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
            batch.entries.push(Entry { seq: self.head.len, bytes, hash, index_keys: record.event.index_keys() });
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
            entries.push(Entry { seq: r.seq.0, hash: h, index_keys: r.event.index_keys(), bytes });
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
}

impl VerifyFailure {
    /// The seq the failure names, when it names one.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Self::Bad(e) => Some(e.seq),
            Self::Log(LogError::Corruption { seq, .. }) => *seq,
            Self::Log(_) => None,
        }
    }
}

/// Verifies a data dir from its stored bytes alone: each event's bytes against the hash recorded at append, the
/// canonical encoding, contiguous seq, the chain, instants and the domain rules; then the recorded head.
pub fn verify_dir(dir: &Path) -> Result<crate::events::VerifySummary, VerifyFailure> {
    let log = Log::open(dir).map_err(VerifyFailure::Log)?;
    verify_log(&log)
}

/// [`verify_dir`] on an open ledger (the durable events at the moment of the call's start).
pub fn verify_dir_open(ledger: &Ledger) -> Result<crate::events::VerifySummary, VerifyFailure> {
    verify_log(ledger.log())
}

fn verify_log(log: &Log) -> Result<crate::events::VerifySummary, VerifyFailure> {
    let head = log.head().map_err(VerifyFailure::Log)?;
    let mut v = ChainVerifier::new();
    for item in log.range(0, u64::MAX) {
        let (seq, bytes) = item.map_err(VerifyFailure::Log)?;
        let stored = log.stored_hash(seq).map_err(VerifyFailure::Log)?;
        if stored != Some(EventHash::of(&bytes)) {
            return Err(VerifyFailure::Bad(VerifyError {
                seq,
                what: "the stored bytes do not hash to the hash recorded when the event was appended".into(),
            }));
        }
        v.push(&bytes).map_err(VerifyFailure::Bad)?;
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
    Ok(s)
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
