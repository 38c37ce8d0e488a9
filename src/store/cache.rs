//! Time travel served from the projection cache: one plan as it stood at any point on the three axes, computed as
//! a cached state of the plan plus a short replay of the plan's own events after it.
//!
//! Cached states are a cache. Each carries the projection format it was made with, the hash of the event it was taken
//! after, the ledger length it was built at and a checksum of its payload; a cached state that fails any check is
//! dropped and the answer comes from the log. They are filled as queries replay (one every `cache_every` plan
//! events along each axis) and by `warm`, never written by the append path, so a lost or stale cache costs time,
//! never correctness.
//!
//! The seq axis folds the plan's events in seq order. The recorded-at axis is the seq axis at the last event
//! recorded at or before the instant (recorded-at never decreases along the log). The effective axis folds the
//! plan's events in (effective, seq) order, the in-force order of `projection::replay`: cached states on it sit at
//! positions of that order, and an event that arrives late (recorded after one of the same plan that takes effect
//! later) makes every in-force cached state after its position stale.

use std::sync::atomic::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::core::domain::{PlanId, State};
use crate::core::projection::Point;
use crate::core::record::Record;
use crate::store::ledger::{Ledger, LedgerError};
use crate::store::log::{CachePos, LogError};

/// The projection format of stored cached states. Bump it whenever `State` or `State::evolve` changes what a fold
/// produces: cached states of another format are ignored and refilled. `tests::format_is_pinned` fails when the fold of
/// a fixed workload changes without this being bumped.
pub const CACHE_FORMAT: u32 = 1;

pub use super::ledger::DEFAULT_CACHE_EVERY;

const MAGIC: &[u8; 4] = b"PLSN";
/// magic, format, built_len, seq, event hash, payload checksum; then the payload: the plan's `State` as JSON,
/// LZ4-compressed with its length prepended.
const HEADER: usize = 4 + 4 + 8 + 8 + 32 + 32;

/// One plan at a point, and how the answer was obtained.
#[derive(Debug, Clone)]
pub struct PlanAt {
    /// The fold of the plan's events the point includes; it holds this plan's entries only, and `events` counts
    /// the plan events folded.
    pub state: State,
    /// The cached state the answer started from, if any.
    pub from_cache: Option<CachePos>,
    /// Events replayed after the cached state (or from the start).
    pub replayed: u64,
}

/// What `warm` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WarmReport {
    pub plans: u64,
    pub seq_entries: u64,
    pub in_force_entries: u64,
    pub events_replayed: u64,
}

/// What `verify_cache` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CacheCheck {
    /// Cached states looked at.
    pub checked: u64,
    /// Dropped as stale or damaged by the checks made before every use.
    pub dropped: u64,
    /// Passed those checks but differed from the log (plan and position): dropped too.
    pub differed: Vec<String>,
}

/// Why a stored cached state was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Unusable {
    /// Made by another projection format, for another ledger, or before a late arrival: dropped.
    Stale(&'static str),
    /// Not a readable cached state: dropped, and logged.
    Damaged(String),
}

struct Header {
    format: u32,
    built_len: u64,
    seq: u64,
    hash: [u8; 32],
}

fn encode(state: &State, built_len: u64, seq: u64, hash: [u8; 32]) -> Vec<u8> {
    // Invariant: `State` holds only maps, strings, numbers and decimals, which always serialize.
    let json = serde_json::to_vec(state).expect("states serialize");
    // Plan states are repetitive JSON: LZ4 shrinks them several times over and decompresses far faster than the
    // JSON parses, so the cache costs less disk at almost no time.
    let payload = lz4_flex::compress_prepend_size(&json);
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&CACHE_FORMAT.to_be_bytes());
    out.extend_from_slice(&built_len.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&hash);
    out.extend_from_slice(blake3::hash(&payload).as_bytes());
    out.extend_from_slice(&payload);
    out
}

fn header(bytes: &[u8]) -> Result<Header, Unusable> {
    if bytes.len() < HEADER || &bytes[..4] != MAGIC {
        return Err(Unusable::Damaged("not a cached state".into()));
    }
    let u64_at = |i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&bytes[i..i + 8]);
        u64::from_be_bytes(a)
    };
    let mut f = [0u8; 4];
    f.copy_from_slice(&bytes[4..8]);
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&bytes[24..56]);
    Ok(Header { format: u32::from_be_bytes(f), built_len: u64_at(8), seq: u64_at(16), hash })
}

/// Whether a cache entry's header and checksum hold (without decoding its payload): what `warm` checks of the
/// entries it keeps.
fn intact(bytes: &[u8]) -> bool {
    header(bytes).is_ok_and(|h| h.format == CACHE_FORMAT)
        && blake3::hash(&bytes[HEADER..]).as_bytes()[..] == bytes[HEADER - 32..HEADER]
}

fn payload(bytes: &[u8]) -> Result<State, Unusable> {
    let (sum, body) = bytes[56..].split_at(32);
    if blake3::hash(body).as_bytes() != sum {
        return Err(Unusable::Damaged("the payload does not match its checksum".into()));
    }
    let json = lz4_flex::decompress_size_prepended(body)
        .map_err(|e| Unusable::Damaged(format!("the payload does not decompress: {e}")))?;
    serde_json::from_slice(&json).map_err(|e| Unusable::Damaged(format!("the payload does not decode: {e}")))
}

/// This plan's entries of a full state, with `events` set to the plan's event count (what a plan-scoped fold
/// counts).
pub fn plan_slice(state: &State, plan: &PlanId) -> State {
    State {
        events: state.plans.get(plan).map(|p| p.version).unwrap_or(0),
        plans: state.plans.filtered(|p| &p.id == plan),
        nodes: state.nodes.filtered(|n| &n.plan == plan),
        indicators: state.indicators.filtered(|i| &i.plan == plan),
    }
}

impl Ledger {
    /// `plan` as it stood at `point` (now for `None`), from the nearest usable cached state and the plan's events
    /// after it. Fills the projection cache on the way.
    pub fn plan_at(&self, plan: &PlanId, point: Option<Point>) -> Result<PlanAt, LedgerError> {
        if point.is_none() {
            let p = self.read();
            return Ok(PlanAt { state: plan_slice(&p.state, plan), from_cache: None, replayed: 0 });
        }
        self.plan_within(plan, point, self.head().len)
    }

    /// [`plan_at`](Self::plan_at) among the first `len` events only (`None`: right after event `len - 1`), so that
    /// a response read at one head is computed from that head even while later events are committed.
    pub fn plan_within(&self, plan: &PlanId, point: Option<Point>, len: u64) -> Result<PlanAt, LedgerError> {
        // The current state is read (and the plan's part copied) only when it is the answer.
        let now = |len: u64| {
            let p = self.read();
            (p.head.len == len).then(|| plan_slice(&p.state, plan))
        };
        let len = len.min(self.head().len);
        let through = match point {
            None => len.checked_sub(1),
            Some(Point::Seq(s)) => Some(s),
            Some(Point::AsOf(t)) => self.last_recorded_by(t, len)?,
            Some(Point::Effective(d)) => return self.in_force_on(plan, d, len),
        };
        let Some(through) = through else {
            return Ok(PlanAt { state: State::default(), from_cache: None, replayed: 0 });
        };
        if len > 0 && through >= len - 1 {
            // The published state is the answer unless a commit was published in between.
            if let Some(state) = now(len) {
                return Ok(PlanAt { state, from_cache: None, replayed: 0 });
            }
        }
        self.at_seq(plan, through, len)
    }

    /// The last seq recorded at or before `t`, among the first `len` events: a binary search, since recorded-at
    /// never decreases along the log.
    fn last_recorded_by(&self, t: DateTime<Utc>, len: u64) -> Result<Option<u64>, LedgerError> {
        let (mut lo, mut hi) = (0u64, len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.record(mid)?.recorded_at <= t {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo.checked_sub(1))
    }

    /// How many events of the published ledger were recorded at or before `t` (the length of that prefix).
    pub fn recorded_by(&self, t: DateTime<Utc>) -> Result<u64, LedgerError> {
        Ok(self.last_recorded_by(t, self.head().len)?.map_or(0, |s| s + 1))
    }

    fn record(&self, seq: u64) -> Result<Record, LedgerError> {
        Ok(self.log().record(seq)?)
    }

    /// Number of plan events between two cached states on one axis; 0 turns the cache off (every answer is a replay
    /// of the plan's events from its start).
    /// Drops every cached state (they are refilled from the log on demand).
    pub fn cache_clear(&self) -> Result<(), LedgerError> {
        Ok(self.log().cache_clear()?)
    }

    /// Number of cached states and their total size in bytes.
    pub fn cache_stats(&self) -> Result<(u64, u64), LedgerError> {
        Ok(self.log().cache_stats()?)
    }

    pub fn cache_every(&self) -> u64 {
        self.cache_every_cell().load(Ordering::Relaxed)
    }

    pub fn set_cache_every(&self, n: u64) {
        self.cache_every_cell().store(n, Ordering::Relaxed);
    }

    /// Checks a stored cached state against the log; drops it when it cannot be used.
    fn usable(&self, plan: &PlanId, pos: CachePos, bytes: &[u8], len: u64) -> Result<Option<State>, LedgerError> {
        let verdict = (|| {
            let h = header(bytes)?;
            if h.format != CACHE_FORMAT {
                return Err(Unusable::Stale("made by another projection format"));
            }
            let seq = match pos {
                CachePos::Seq(s) | CachePos::InForce(_, s) => s,
            };
            if h.seq != seq {
                return Err(Unusable::Damaged(format!("stored under seq {seq} but taken after seq {}", h.seq)));
            }
            Ok(h)
        })();
        let verdict = match verdict {
            Ok(h) if h.seq >= len || h.built_len > len => {
                // Taken after events this reader does not see yet (a commit not published): usable later.
                return Ok(None);
            }
            Ok(h) => match self.log().stored_hash(h.seq)? {
                Some(stored) if stored.0 == h.hash => match pos {
                    CachePos::InForce(d, _) => {
                        let late = self.log().late_since(plan.as_str(), h.built_len)?;
                        if late.iter().any(|(s, e)| *s < len && *e < d) {
                            Err(Unusable::Stale("an event that takes effect earlier arrived after it"))
                        } else {
                            payload(bytes)
                        }
                    }
                    CachePos::Seq(_) => payload(bytes),
                },
                _ => Err(Unusable::Stale("taken after an event that is not this ledger's")),
            },
            Err(e) => Err(e),
        };
        match verdict {
            Ok(state) => Ok(Some(state)),
            Err(why) => {
                match &why {
                    Unusable::Stale(w) => tracing::debug!(%plan, ?pos, why = w, "dropping a stale cached state"),
                    Unusable::Damaged(w) => tracing::warn!(%plan, ?pos, why = %w, "dropping a damaged cached state"),
                }
                // Reads go on while the disk refuses writes: the entry is dropped at a later read.
                if let Err(e) = self.log().cache_remove(plan.as_str(), pos) {
                    tracing::debug!(error = %e, "cannot drop a cached state now");
                }
                Ok(None)
            }
        }
    }

    /// The nearest usable cached state at or before `pos`, dropping unusable ones on the way.
    fn floor(&self, plan: &PlanId, pos: CachePos, len: u64) -> Result<Option<(CachePos, State)>, LedgerError> {
        let mut upto = pos;
        loop {
            // A cache that cannot be read now (sled after a disk refused a write) is a miss: the answer is replayed.
            let floor = self.log().cache_floor(plan.as_str(), upto).unwrap_or_else(|e| {
                tracing::debug!(error = %e, "cannot read the projection cache now");
                None
            });
            let Some((at, bytes)) = floor else { return Ok(None) };
            if let Some(state) = self.usable(plan, at, &bytes, len)? {
                return Ok(Some((at, state)));
            }
            // Step below the rejected position.
            upto = match at {
                CachePos::Seq(s) => match s.checked_sub(1) {
                    Some(s) => CachePos::Seq(s),
                    None => return Ok(None),
                },
                CachePos::InForce(d, s) => match (s.checked_sub(1), d.pred_opt()) {
                    (Some(s), _) => CachePos::InForce(d, s),
                    (None, Some(d)) => CachePos::InForce(d, u64::MAX),
                    (None, None) => return Ok(None),
                },
            };
        }
    }

    fn store(&self, plan: &PlanId, pos: CachePos, state: &State, len: u64) -> Result<(), LedgerError> {
        let seq = match pos {
            CachePos::Seq(s) | CachePos::InForce(_, s) => s,
        };
        let hash =
            self.log().stored_hash(seq)?.ok_or(LogError::Corruption { seq: Some(seq), what: "no hash".into() })?;
        // The cache is filled by readers, and a read is answered whether or not its state could be stored (a full
        // disk refuses the write; the entry is made at a later read).
        if let Err(e) = self.log().cache_put(plan.as_str(), pos, &encode(state, len, seq, hash.0)) {
            tracing::debug!(error = %e, "cannot store a cached state now");
        }
        Ok(())
    }

    /// The plan after its events with seq <= `through`, among the first `len` events.
    fn at_seq(&self, plan: &PlanId, through: u64, len: u64) -> Result<PlanAt, LedgerError> {
        let every = self.cache_every();
        let start = if every > 0 { self.floor(plan, CachePos::Seq(through), len)? } else { None };
        let (from_cache, mut state, from) = match start {
            Some((pos @ CachePos::Seq(s), st)) => (Some(pos), st, s + 1),
            _ => (None, State::default(), 0),
        };
        let mut replayed = 0;
        for seq in self.log().plan_seqs(plan, from, through.saturating_add(1).min(len)) {
            let seq = seq?;
            state.apply(seq, &self.record(seq)?.event);
            replayed += 1;
            if every > 0 && state.events % every == 0 {
                self.store(plan, CachePos::Seq(seq), &state, len)?;
            }
        }
        Ok(PlanAt { state, from_cache, replayed })
    }

    /// The plan as in force on `date`: its events effective on or before it, in (effective, seq) order.
    fn in_force_on(&self, plan: &PlanId, date: NaiveDate, len: u64) -> Result<PlanAt, LedgerError> {
        let every = self.cache_every();
        let start = if every > 0 { self.floor(plan, CachePos::InForce(date, u64::MAX), len)? } else { None };
        let (from_cache, mut state, after) = match start {
            Some((pos @ CachePos::InForce(d, s), st)) => (Some(pos), st, Some((d, s))),
            _ => (None, State::default(), None),
        };
        let mut replayed = 0;
        for item in self.log().in_force(plan.as_str(), after, date) {
            let (effective, seq) = item?;
            if seq >= len {
                // Committed but not yet published: not part of what this reader sees.
                continue;
            }
            state.apply(seq, &self.record(seq)?.event);
            replayed += 1;
            if every > 0 && state.events % every == 0 {
                self.store(plan, CachePos::InForce(effective, seq), &state, len)?;
            }
        }
        Ok(PlanAt { state, from_cache, replayed })
    }

    /// Fills the projection cache of every plan on both axes, so that every answer is a cached state plus fewer than
    /// `cache_every` replayed events: what a server does at start so that the first queries are as fast as
    /// later ones.
    pub fn warm(&self) -> Result<WarmReport, LedgerError> {
        let (len, plans) = {
            let p = self.read();
            (p.head.len, p.state.plans.keys().cloned().collect::<Vec<_>>())
        };
        let mut report = WarmReport::default();
        if self.cache_every() == 0 || len == 0 {
            return Ok(report);
        }
        for plan in plans {
            report.plans += 1;
            // Seq cached states never go stale, but one may be damaged: then the axis is rebuilt whole, so that no
            // answer has to step around a hole.
            if !self.log().cache_all(plan.as_str(), CachePos::Seq(0), intact)? {
                tracing::warn!(%plan, "a damaged cached state: rebuilding the plan's seq axis");
                self.log().cache_clear_axis(plan.as_str(), CachePos::Seq(0))?;
            }
            let before = self.cache_count(&plan)?;
            // Seq cached states never go stale: continue from the last one. In-force cached states before the last
            // one may have been made stale by late arrivals, and a late arrival shifts the positions of all after
            // it: they are rebuilt whole.
            let a = self.at_seq(&plan, len - 1, len)?;
            self.log().cache_clear_axis(plan.as_str(), CachePos::InForce(NaiveDate::MIN, 0))?;
            let before = (before.0, 0);
            let b = self.in_force_on(&plan, NaiveDate::MAX, len)?;
            let after = self.cache_count(&plan)?;
            report.seq_entries += after.0 - before.0.min(after.0);
            report.in_force_entries += after.1 - before.1.min(after.1);
            report.events_replayed += a.replayed + b.replayed;
        }
        Ok(report)
    }

    /// Recomputes every cached state from the log and drops the ones that differ or cannot be used. The
    /// checks made before each use (format, event hash, checksum, late arrivals) catch damage and staleness; a
    /// cached state written by someone who can write the data dir could still pass them, and this is the check that
    /// does not trust the cache at all. One replay of each plan per axis.
    pub fn verify_cache(&self) -> Result<CacheCheck, LedgerError> {
        let (len, plans) = {
            let p = self.read();
            (p.head.len, p.state.plans.keys().cloned().collect::<Vec<_>>())
        };
        let mut check = CacheCheck::default();
        for plan in &plans {
            let seq_axis = self.log().cache_positions(plan.as_str(), CachePos::Seq(0))?;
            let mut wanted = seq_axis.iter().copied().peekable();
            let mut state = State::default();
            for seq in self.log().plan_seqs(plan, 0, len) {
                let seq = seq?;
                state.apply(seq, &self.record(seq)?.event);
                while let Some(pos) = wanted.next_if(|p| *p <= CachePos::Seq(seq)) {
                    self.check_one(plan, pos, (pos == CachePos::Seq(seq)).then_some(&state), len, &mut check)?;
                }
            }
            for pos in wanted {
                self.check_one(plan, pos, None, len, &mut check)?;
            }
            let in_force = self.log().cache_positions(plan.as_str(), CachePos::InForce(NaiveDate::MIN, 0))?;
            let mut wanted = in_force.iter().copied().peekable();
            let mut state = State::default();
            for item in self.log().in_force(plan.as_str(), None, NaiveDate::MAX) {
                let (effective, seq) = item?;
                if seq >= len {
                    continue;
                }
                state.apply(seq, &self.record(seq)?.event);
                let here = CachePos::InForce(effective, seq);
                while let Some(pos) = wanted.next_if(|p| *p <= here) {
                    self.check_one(plan, pos, (pos == here).then_some(&state), len, &mut check)?;
                }
            }
            for pos in wanted {
                self.check_one(plan, pos, None, len, &mut check)?;
            }
        }
        Ok(check)
    }

    /// Compares one cached state with the state replayed to its position (`None`: no event of the plan is at
    /// that position, so the cached state cannot be right).
    fn check_one(
        &self,
        plan: &PlanId,
        pos: CachePos,
        expected: Option<&State>,
        len: u64,
        check: &mut CacheCheck,
    ) -> Result<(), LedgerError> {
        let Some(bytes) = self.log().cache_at(plan.as_str(), pos)? else { return Ok(()) };
        check.checked += 1;
        let Some(cached) = self.usable(plan, pos, &bytes, len)? else {
            check.dropped += 1;
            return Ok(());
        };
        if expected != Some(&cached) {
            tracing::warn!(%plan, ?pos, "a cached state differs from the log; dropping it");
            self.log().cache_remove(plan.as_str(), pos)?;
            check.differed.push(format!("{plan} {pos:?}"));
        }
        Ok(())
    }

    fn cache_count(&self, plan: &PlanId) -> Result<(u64, u64), LedgerError> {
        Ok((
            self.log().cache_count(plan.as_str(), CachePos::Seq(0))?,
            self.log().cache_count(plan.as_str(), CachePos::InForce(NaiveDate::MIN, 0))?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::domain::decide;

    /// The fold of a fixed workload, hashed. If this fails because `State` or `evolve` changed, bump
    /// `CACHE_FORMAT` (so stored cached states of the old fold are ignored) and re-pin format and hash together; if
    /// only `synth::workload` changed, re-pin the hash alone.
    #[test]
    fn format_is_pinned() {
        let mut state = State::default();
        for c in crate::core::synth::workload("pin", 400) {
            for e in decide(&state, &c, &crate::core::synth::meta()).unwrap() {
                state.evolve(&e);
            }
        }
        let hash = blake3::hash(&serde_json::to_vec(&state).unwrap()).to_hex().to_string();
        assert_eq!(
            (CACHE_FORMAT, hash.as_str()),
            (1, "0dc146cc525b4239572b27143c7d3f90421df7ae63b696d68d7f714154f72121"),
            "the projection changed: bump CACHE_FORMAT and re-pin"
        );
    }

    #[test]
    fn a_cached_state_round_trips_and_damage_is_detected() {
        let mut state = State::default();
        for c in crate::core::synth::workload("rt", 60) {
            for e in decide(&state, &c, &crate::core::synth::meta()).unwrap() {
                state.evolve(&e);
            }
        }
        let bytes = encode(&state, 60, 59, [7; 32]);
        let h = header(&bytes).unwrap();
        assert_eq!((h.format, h.built_len, h.seq, h.hash), (CACHE_FORMAT, 60, 59, [7; 32]));
        assert_eq!(payload(&bytes).unwrap(), state);
        for i in [HEADER - 1, HEADER, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            assert!(matches!(payload(&bad), Err(Unusable::Damaged(_))), "flipped byte {i}");
        }
        assert!(matches!(header(&bytes[..10]), Err(Unusable::Damaged(_))));
    }
}
