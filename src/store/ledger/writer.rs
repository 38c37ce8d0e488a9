//! The writer thread: decides every request against its own state (which runs ahead of the durable one by the
//! batch being committed), judges idempotency, the plan a request is addressed to, its precondition and each
//! command's authorization in that order, seals each batch with the tree nodes it completes and a signed
//! checkpoint, commits it, and only then publishes it to readers.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::{AppendRequest, Appended, AppendedEvent, Job, LedgerError, LedgerOptions, MAX_BATCH, Monotonic, Shared};
use crate::core::audit::LedgerHasher;
use crate::core::audit::merkle::Frontier;
use crate::core::domain::clock::{ClockBehind, ClockNote, Reading, RecordingClock, stored};
use crate::core::domain::{Command, DomainError, EventHash, PlanEvent, Principal, Seq, State, authorize, decide};
use crate::core::record::{Record, to_micros_pub};
use crate::store::log::{Batch, Entry, Head, LogError};

mod import;

/// The writer's private view: the state including decided but not yet durable events.
pub(super) struct Writer {
    shared: Arc<Shared>,
    state: State,
    head: Head,
    last_recorded: Option<DateTime<Utc>>,
    /// The tree's right edge including decided but not yet durable events.
    frontier: Frontier<LedgerHasher>,
    /// Batches whose commit failed and that are not yet durably taken back out of the store (see `settle.rs`): no
    /// batch is decided while one is left.
    pub(super) unsettled: Vec<Batch>,
    /// Set when a refused import could not be cut back out of the store (the disk refused that too): the import's
    /// mark stays in `meta`, and the cut-back is retried with the other settling before anything is decided.
    pub(super) uncut_import: bool,
    /// Set when the writer cannot go on safely; it then stops and every later request gets `Closed`.
    pub(super) broken: bool,
    stamping: Stamping,
    /// The event count of the last resume point stored (or folded from at open).
    resumed_at: u64,
}

/// Events between two resume points: at most this many are folded at an open after a crash. Storing one serializes
/// the whole state on the writer thread (tens of milliseconds for a large ledger), so it is not done often. An open
/// that folded this many events stores one at once; a clean close stores one too.
pub(super) const RESUME_EVERY: u64 = 20_000;

/// How the writer dates a batch: its monotonic clock and the rule (`core::domain::clock`) it reads both clocks by.
pub(super) struct Stamping {
    monotonic: Monotonic,
    rule: RecordingClock,
}

impl Stamping {
    pub(super) fn new(options: &LedgerOptions) -> Self {
        let monotonic = options.monotonic.clone().unwrap_or_else(|| {
            let origin = std::time::Instant::now();
            Arc::new(move || origin.elapsed())
        });
        Self { monotonic, rule: RecordingClock::new(options.accept_clock_ahead) }
    }
}

/// The instant a batch is dated at, once a request of it has events to stage: read at most once per batch (and
/// again after an import in it, so nothing is dated before the imported lines).
type BatchStamp = Option<Result<DateTime<Utc>, ClockBehind>>;

/// Tells the operator what the clock rule noticed, with both readings: a jump not followed means records are dated
/// by the monotonic estimate, not by the system clock, until the two agree again.
fn log_note(note: &ClockNote) {
    match note {
        ClockNote::JumpNotFollowed { wall, estimate } => tracing::warn!(
            wall = %stored(wall),
            estimate = %stored(estimate),
            "the system clock jumped ahead of the writer's monotonic estimate; records are dated at the estimate \
             until the clock agrees with it again or holds the jump for ten minutes"
        ),
        ClockNote::JumpFollowed { wall, estimate } => tracing::warn!(
            wall = %stored(wall),
            estimate = %stored(estimate),
            "the system clock held its jump ahead for ten minutes; the writer follows it from now on"
        ),
        ClockNote::SteppedBack { wall, estimate } => tracing::warn!(
            wall = %stored(wall),
            estimate = %stored(estimate),
            "the system clock went back; recorded_at holds at the last recorded instant until the clock passes it"
        ),
        ClockNote::AheadOnWord { last, wall } => tracing::warn!(
            last = %stored(last),
            wall = %stored(wall),
            "dating records at the last recorded instant, ahead of the system clock, on the operator's word"
        ),
    }
}

/// An append waiting in the writer's queue, with where its outcome goes.
type AppendJob = (Box<(AppendRequest, Option<Principal>)>, oneshot::Sender<Result<Appended, LedgerError>>);

/// What an idempotency record stores: a digest of the request and its outcome.
#[derive(Serialize, Deserialize)]
struct IdemRecord {
    digest: String,
    outcome: Appended,
}

/// One batch in the making: what it will store and the outcomes of its keyed requests.
#[derive(Default)]
struct Pending {
    batch: Batch,
    keyed: Vec<(String, IdemRecord)>,
}

fn digest(req: &AppendRequest) -> String {
    // Invariant: commands, meta and the request's address and precondition always serialize.
    let bytes = serde_json::to_vec(&(&req.commands, &req.meta, &req.plan, &req.precondition, req.restore))
        .expect("requests serialize");
    blake3::hash(&bytes).to_hex().to_string()
}

impl Writer {
    pub(super) fn new(shared: Arc<Shared>, stamping: Stamping, resumed_at: u64) -> Result<Self, LogError> {
        let (state, head, last_recorded) = {
            let p = shared.durable.read().unwrap_or_else(|e| e.into_inner());
            (p.state.clone(), p.head, p.last_recorded)
        };
        let frontier = Frontier::load(&shared.log, head.len)?;
        // Said at open, not only at the first append, so that the operator reads it where the service starts.
        if let Some(last) = last_recorded
            && let Some(e) = stamping.rule.refusal(to_micros_pub((shared.clock)()), last)
        {
            tracing::warn!(last = %stored(&e.last), wall = %stored(&e.wall), "{e}; appends are refused until \
                    the clock reaches it or the operator accepts dating changes at it");
        }
        Ok(Self {
            shared,
            state,
            head,
            last_recorded,
            frontier,
            unsettled: Vec::new(),
            uncut_import: false,
            broken: false,
            stamping,
            resumed_at,
        })
    }

    pub(super) fn run(mut self, mut rx: mpsc::Receiver<Job>) {
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
            if !self.needs_settle() && self.head.len >= self.resumed_at + RESUME_EVERY {
                self.store_resume_point();
            }
        }
        if self.needs_settle() && !self.broken {
            // Closing with a failed batch still in sled's memory: one more try, so that closing does not flush it.
            let _ = self.settle();
        }
        if !self.broken && !self.needs_settle() && self.head.len > self.resumed_at {
            self.store_resume_point();
        }
    }

    /// Whether the store may hold something not durable or refused (a failed batch, an import not cut back), to
    /// take back out before the next batch is decided.
    pub(super) fn needs_settle(&self) -> bool {
        !self.unsettled.is_empty() || self.uncut_import
    }

    /// Stores the durable state as the resume point (between batches, so the writer's state is the durable one).
    fn store_resume_point(&mut self) {
        match self.shared.log.save_resume_point(self.head, self.last_recorded, &self.state) {
            Ok(()) => self.resumed_at = self.head.len,
            // Only a longer fold at the next open: the ledger goes on.
            Err(e) => tracing::warn!(error = %e, "cannot store the resume point"),
        }
    }

    /// The instant a batch is recorded at, by the clock rule: never before the last recorded instant, never more
    /// than the bound ahead of the system clock without the operator's word, and a jump of the system clock is
    /// followed only once it is consistent with the monotonic clock (see `core::domain::clock`).
    fn now(&mut self) -> Result<DateTime<Utc>, ClockBehind> {
        let reading = Reading { wall: to_micros_pub((self.shared.clock)()), mono: (self.stamping.monotonic)() };
        match self.stamping.rule.stamp(reading, self.last_recorded) {
            Ok(stamp) => {
                stamp.notes.iter().for_each(log_note);
                Ok(stamp.at)
            }
            Err(e) => {
                tracing::warn!(last = %stored(&e.last), wall = %stored(&e.wall), "{e}; the batch is refused");
                Err(e)
            }
        }
    }

    /// Runs a burst of jobs: appends are committed together; an import runs alone, after the appends before it.
    fn process(&mut self, jobs: Vec<Job>) {
        // A failed batch not yet taken back out: nothing is decided until the store is back at the durable state.
        if self.needs_settle()
            && let Err(e) = self.settle()
        {
            for job in jobs {
                match job {
                    Job::Append(_, tx) => drop(tx.send(Err(self.failure(&e)))),
                    Job::Import(_, tx) => drop(tx.send(Err(self.failure(&e)))),
                }
            }
            return;
        }
        let mut group = Vec::with_capacity(jobs.len());
        for job in jobs {
            match job {
                Job::Append(job, reply) => group.push((job, reply)),
                Job::Import(lines, reply) => {
                    self.process_appends(std::mem::take(&mut group));
                    // A stopped writer drops the reply: the caller learns `Closed`. An append of the burst that failed
                    // is settled first, as at the start of a burst.
                    if self.broken {
                        continue;
                    }
                    let settled = if self.needs_settle() { self.settle() } else { Ok(()) };
                    drop(reply.send(match settled {
                        Ok(()) => self.import(lines),
                        Err(e) => Err(self.failure(&e)),
                    }));
                }
            }
        }
        self.process_appends(group);
    }

    fn process_appends(&mut self, jobs: Vec<AppendJob>) {
        if jobs.is_empty() || self.broken {
            return;
        }
        let mut pending = Pending::default();
        let mut replies = Vec::with_capacity(jobs.len());
        let first_new = self.head.len;
        let mut now: BatchStamp = None;
        for (job, reply) in jobs {
            let (req, principal) = *job;
            let r = self.append(&req, principal.as_ref(), &mut now, &mut pending);
            replies.push((reply, r));
        }
        let Pending { mut batch, keyed } = pending;
        for (k, rec) in &keyed {
            // Invariant: IdemRecord always serializes.
            batch.idempotency.push((k.clone(), serde_json::to_vec(rec).expect("idempotency records serialize")));
        }
        if !batch.entries.is_empty() || !batch.idempotency.is_empty() {
            let bytes = batch.entries.iter().map(|e| e.bytes.len()).chain(batch.idempotency.iter().map(|i| i.1.len()));
            if let Err(e) = self.shared.log.room_for(bytes.map(|n| n as u64).sum()) {
                // Refused before anything was written: back to the durable state, with nothing to settle.
                tracing::warn!(error = %e, "a batch is refused: the disk would not take it");
                self.back_to_durable();
                self.shared.log.set_refusing(true);
                for (tx, _) in replies {
                    drop(tx.send(Err(self.failure(&e))));
                }
                return;
            }
            let committed = self.seal(&mut batch).and_then(|()| self.shared.log.commit(&batch, self.head));
            if let Err(e) = committed {
                self.failed(batch, &e);
                // Every request of the batch was judged against a state that now never was (a refusal too may have
                // met an earlier request's staged change): all are told to retry, and a retry is judged afresh.
                for (tx, _) in replies {
                    drop(tx.send(Err(self.failure(&e))));
                }
                return;
            }
            self.shared.log.set_refusing(false);
            self.publish(batch.checkpoint.take());
            tracing::debug!(from = first_new, to = self.head.len, "committed");
        }
        for (tx, res) in replies {
            drop(tx.send(res));
        }
    }

    /// Makes a durable batch (or import) visible: the writer's state, which is exactly the durable one once a batch
    /// is committed, becomes the readers', with its head and checkpoint together. The copy shares every entry with
    /// the writer's (`Table`), so the ledger keeps one state in memory, not two, and folds each event once.
    fn publish(&self, checkpoint: Option<String>) {
        let mut p = self.shared.durable.write().unwrap_or_else(|e| e.into_inner());
        p.state = self.state.clone();
        p.head = self.head;
        p.last_recorded = self.last_recorded;
        if let Some(note) = checkpoint {
            p.checkpoint = note;
        }
        drop(p);
        self.shared.visible.send_replace(self.head.len);
    }

    /// After a failed commit (a full or failing disk): returns the writer to the durable state, so the next batch is
    /// decided against what is really stored, and keeps the batch to take back out of the store's trees (where
    /// part of it may sit undurable) before anything else is decided. Nothing of the batch was acknowledged.
    fn failed(&mut self, batch: Batch, e: &LogError) {
        tracing::error!(error = %e, "commit failed; the batch is refused and the writer returns to the durable state");
        self.back_to_durable();
        self.shared.log.set_refusing(true);
        self.unsettled.push(batch);
        // At once, so that a lone failure leaves nothing undurable behind even if no request follows.
        let _ = self.settle();
    }

    /// Sets the writer's state, head and last instant back to the durable ones.
    fn back_to_durable(&mut self) {
        let p = self.shared.durable.read().unwrap_or_else(|e| e.into_inner());
        (self.state, self.head, self.last_recorded) = (p.state.clone(), p.head, p.last_recorded);
    }

    /// What the callers of a batch that could not be committed are told.
    pub(super) fn failure(&self, e: &LogError) -> LedgerError {
        match e.disk_refusal() {
            Some(refusal) => LedgerError::DiskRefused { refusal, path: self.shared.log.dir().to_path_buf() },
            None => LedgerError::CommitFailed { cause: e.to_string() },
        }
    }

    /// The log, the writer's durable head and the tree's right edge reloaded at it, for `settle`.
    pub(super) fn reload_frontier(&mut self, head: Head) -> Result<(), LogError> {
        self.frontier = Frontier::load(&self.shared.log, head.len)?;
        Ok(())
    }

    pub(super) fn shared(&self) -> &Shared {
        &self.shared
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

    /// The stored form of the request's idempotency key and the request's digest, when it carries a key; refuses a
    /// key the ledger does not take.
    fn key_of(req: &AppendRequest) -> Result<Option<(String, String)>, LedgerError> {
        let Some(key) = &req.idempotency_key else { return Ok(None) };
        if let Some(reason) = key.problem() {
            return Err(LedgerError::BadIdempotencyKey { reason });
        }
        Ok(Some((key.stored(), digest(req))))
    }

    fn earlier(&self, stored: &str, pending: &Pending) -> Result<Option<IdemRecord>, LedgerError> {
        if let Some((_, rec)) = pending.keyed.iter().find(|(k, _)| k == stored) {
            return Ok(Some(IdemRecord { digest: rec.digest.clone(), outcome: rec.outcome.clone() }));
        }
        match self.shared.log.idempotency(stored)? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes).map_err(|e| LogError::Corruption {
                seq: None,
                what: format!("idempotency record {stored:?}: {e}"),
            })?)),
            None => Ok(None),
        }
    }

    fn append(
        &mut self,
        req: &AppendRequest,
        principal: Option<&Principal>,
        now: &mut BatchStamp,
        pending: &mut Pending,
    ) -> Result<Appended, LedgerError> {
        // Idempotency first: an exact retry of a write that went through learns its outcome, whatever the plan's
        // version is now.
        let keyed = Self::key_of(req)?;
        if let Some((stored, dg)) = &keyed
            && let Some(rec) = self.earlier(stored, pending)?
        {
            if &rec.digest != dg {
                let key = req.idempotency_key.as_ref().map(|k| k.key.clone()).unwrap_or_default();
                return Err(LedgerError::IdempotencyMismatch { key });
            }
            return Ok(Appended { replayed: true, ..rec.outcome });
        }
        let events = self.decide_request(req, principal)?;
        // Dated only now: a replay or a refusal needs no instant, so neither is refused for the clock's sake.
        let at = match *now {
            Some(stamp) => stamp,
            None => *now.insert(self.now()),
        }?;
        let outcome = self.stage(events, req, at, pending);
        if let Some((stored, dg)) = keyed {
            pending.keyed.push((stored, IdemRecord { digest: dg, outcome: outcome.clone() }));
        }
        Ok(outcome)
    }

    /// Judges a request against the writer's state and decides its commands: the plan it is addressed to, its
    /// precondition, then every command's authorization and rules against the state it meets (a scratch state for
    /// the later commands of a batch, so a refusal leaves nothing behind).
    fn decide_request(
        &self,
        req: &AppendRequest,
        principal: Option<&Principal>,
    ) -> Result<Vec<PlanEvent>, LedgerError> {
        // Refusals inside a batch (several commands, or a request addressed to a plan) name the command they are
        // about.
        let batch = req.plan.is_some() || req.commands.len() > 1;
        let at = |i: usize| batch.then_some(i);
        let refused = |i: usize, error: DomainError| LedgerError::Refused { command: at(i), error };
        let Some(first) = req.commands.first() else {
            return Err(LedgerError::Refused {
                command: None,
                error: DomainError::invalid("commands", "must not be empty"),
            });
        };
        if let Some(p) = &req.plan
            && !self.state.plans.contains_key(p)
            && !matches!(first, Command::CreatePlan { .. })
        {
            return Err(LedgerError::Refused {
                command: None,
                error: DomainError::not_found("plan", format!("no plan {:?}", p.as_str())),
            });
        }
        // A command whose target names nothing is refused by `decide` as not found, which says more than a failed
        // precondition would.
        if let Some(plan) = req.plan.clone().or_else(|| first.target_plan(&self.state)) {
            let current = self.state.plans.get(&plan).map(|p| p.version);
            if !req.precondition.admits(&plan, current) {
                return Err(LedgerError::VersionConflict { plan, expected: req.precondition.clone(), current });
            }
        }
        let mut scratch: Option<State> = None;
        let mut all = Vec::new();
        let last = req.commands.len() - 1;
        for (i, c) in req.commands.iter().enumerate() {
            let state = scratch.as_ref().unwrap_or(&self.state);
            if matches!(c, Command::RecordRestore { .. }) && !req.restore {
                return Err(refused(i, DomainError::invalid("command", "record_restore is appended by restore only")));
            }
            if let (Some(p), Some(other)) = (&req.plan, c.target_plan(state))
                && &other != p
            {
                return Err(refused(
                    i,
                    DomainError::invalid("", format!("concerns plan {other}, not {p}; one request changes one plan")),
                ));
            }
            if let Some(p) = principal {
                authorize(state, p, c).map_err(|denied| LedgerError::Forbidden { command: at(i), denied })?;
            }
            let evs = decide(state, c, &req.meta).map_err(|error| refused(i, error))?;
            if i < last {
                let s = scratch.get_or_insert_with(|| self.state.clone());
                for e in &evs {
                    s.evolve(e);
                }
            }
            all.extend(evs);
        }
        let plan = all[0].plan().clone();
        if all.iter().any(|e| e.plan() != &plan) {
            return Err(LedgerError::Refused {
                command: None,
                error: DomainError::invalid("commands", "one request may change one plan only"),
            });
        }
        Ok(all)
    }

    /// Adds decided events to the batch as records, and to the writer's state.
    fn stage(
        &mut self,
        events: Vec<PlanEvent>,
        req: &AppendRequest,
        now: DateTime<Utc>,
        pending: &mut Pending,
    ) -> Appended {
        let plan = events[0].plan().clone();
        let mut appended = Vec::with_capacity(events.len());
        for ev in events {
            let record = Record::new(Seq(self.head.len), self.head.hash, now, &req.meta, ev);
            let bytes = record.encode();
            let hash = EventHash::of(&bytes);
            pending.batch.entries.push(Entry {
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
        Appended { plan, events: appended, version, replayed: false }
    }
}
