//! The commit of a batch in one transaction over every tree, the roll-back of a batch that failed to become
//! durable, and the derived entries (entity index, in-force timeline, late arrivals) that commit writes and
//! verification checks.

use chrono::NaiveDate;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::file::SEGMENT_LEN;
use super::keys::{day_bytes, day_of, in_force_key, index_key, late_key, node_key, seq_of, timeline_prefix};
use super::twin::{seal_key, seal_value, window_value};
use super::{Batch, Head, Log, LogError};

impl Log {
    /// Writes a batch in one transaction over all trees and makes it durable, then appends its records to the
    /// record file and makes them durable there too. Returns only once both are durable; on failure the file is cut
    /// back and the caller takes the batch back out of sled (`roll_back`).
    pub fn commit(&self, batch: &Batch, new_head: Head) -> Result<(), LogError> {
        let mut rf = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let lines: Vec<&[u8]> = batch.entries.iter().map(|e| e.bytes.as_slice()).collect();
        if batch.entries.first().is_some_and(|e| e.seq != rf.len()) {
            return Err(LogError::corrupt(
                batch.entries.first().map(|e| e.seq),
                "the record file is not at the batch's first seq",
            ));
        }
        let seals = rf.seals_after(&lines);
        let window = window_value(rf.len(), new_head.len);
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
        let t = self.t()?;
        let r: Result<(), TransactionError<()>> =
            (&t.events, &t.hashes, &t.meta, &t.idem, &t.index, &t.merkle, &t.timeline).transaction(
                |(events, hashes, meta, idem, index, merkle, tl)| {
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
                    for s in &seals {
                        meta.insert(seal_key(s.index), seal_value(s))?;
                    }
                    meta.insert("window", &window)?;
                    meta.insert("head", head_bytes.as_slice())?;
                    Ok::<(), ConflictableTransactionError<()>>(())
                },
            );
        match r {
            Ok(()) => {}
            Err(TransactionError::Storage(e)) => return Err(e.into()),
            Err(TransactionError::Abort(())) => return Err(LogError::corrupt(None, "the commit transaction aborted")),
        }
        if self.injected_failure() {
            return Err(self.injected_full_disk());
        }
        self.sync()?;
        rf.append(&lines)?;
        if let Some(note) = &batch.checkpoint
            && let Err(e) = super::file::write_checkpoint(&self.dir, note, false)
        {
            tracing::warn!(error = %e, "cannot update the checkpoint copy in the record folder");
        }
        Ok(())
    }

    /// Takes a batch whose commit failed back out of every tree, restores the durable head and checkpoint, makes
    /// that durable, and cuts the record file back to the durable head, so that nothing of the batch can later
    /// become durable under another batch's fsync. Until this has succeeded the trees on disk may still hold the
    /// batch (it was never acknowledged), which the open's check of the two copies tolerates: one commit's
    /// difference.
    pub fn roll_back(&self, batch: &Batch, head: Head, checkpoint: &str) -> Result<(), LogError> {
        // The file may still hold lines of the batch where cutting it back failed: the window says so, and the next
        // open cuts them.
        let end = batch.entries.last().map_or(head.len, |e| e.seq + 1);
        let window = window_value(head.len, end);
        let filled: Vec<u64> =
            batch.entries.iter().filter(|e| (e.seq + 1) % SEGMENT_LEN == 0).map(|e| e.seq / SEGMENT_LEN).collect();
        let mut head_bytes = head.len.to_be_bytes().to_vec();
        head_bytes.extend_from_slice(&head.hash.0);
        let t = self.t()?;
        let r: Result<(), TransactionError<()>> =
            (&t.events, &t.hashes, &t.meta, &t.idem, &t.index, &t.merkle, &t.timeline).transaction(
                |(events, hashes, meta, idem, index, merkle, tl)| {
                    for e in &batch.entries {
                        events.remove(&e.seq.to_be_bytes())?;
                        hashes.remove(&e.seq.to_be_bytes())?;
                        for k in &e.index_keys {
                            index.remove(index_key(k, e.seq))?;
                        }
                        tl.remove(in_force_key(&e.plan, e.effective, e.seq))?;
                        tl.remove(late_key(&e.plan, e.seq))?;
                    }
                    for (k, _) in &batch.idempotency {
                        idem.remove(k.as_bytes())?;
                    }
                    for (id, _) in &batch.nodes {
                        merkle.remove(&node_key(*id))?;
                    }
                    for index in &filled {
                        meta.remove(seal_key(*index))?;
                    }
                    meta.insert("window", &window)?;
                    meta.insert("checkpoint", checkpoint.as_bytes())?;
                    meta.insert("head", head_bytes.as_slice())?;
                    Ok::<(), ConflictableTransactionError<()>>(())
                },
            );
        match r {
            Ok(()) => {}
            Err(TransactionError::Storage(e)) => return Err(e.into()),
            Err(TransactionError::Abort(())) => {
                return Err(LogError::corrupt(None, "the roll-back transaction aborted"));
            }
        }
        drop(t);
        self.sync()?;
        self.file.lock().unwrap_or_else(|e| e.into_inner()).cut_back()
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
            if !self.t()?.index.contains_key(index_key(k, seq))? {
                return Ok(Some(format!("the entity index lacks {k}")));
            }
        }
        if !self.t()?.timeline.contains_key(in_force_key(plan, effective, seq))? {
            return Ok(Some(format!("the in-force timeline of plan {plan} lacks it at {effective}")));
        }
        match (self.t()?.timeline.get(late_key(plan, seq))?, late) {
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
        for r in self.t()?.index.iter() {
            index += u64::from(below(&r?.0)?);
        }
        let (mut in_force, mut late) = (0, 0);
        for r in self.t()?.timeline.iter() {
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
        match self.t()?.timeline.scan_prefix(&prefix).next_back() {
            None => Ok(None),
            Some(r) => {
                let (k, _) = r?;
                day_of(k.get(prefix.len()..prefix.len() + 4).unwrap_or_default()).map(Some)
            }
        }
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
        super::entries(self.t().map(|t| t.timeline.range(lo..hi))).map(move |r| {
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
        self.t()?
            .timeline
            .range(late_key(plan, from)..hi)
            .map(|r| {
                let (k, v) = r?;
                Ok((seq_of(&k[prefix.len()..])?, day_of(&v)?))
            })
            .collect()
    }

    /// Builds the in-force timeline of a store written before it existed, from the stored events. Idempotent: the
    /// mark is set only once every event is on it.
    pub(super) fn build_timeline(&self) -> Result<(), LogError> {
        let len = self.head()?.len;
        tracing::info!(events = len, "building the in-force timeline of an older store");
        let mut max: std::collections::HashMap<String, NaiveDate> = std::collections::HashMap::new();
        let mut batch = sled::Batch::default();
        for item in self.range(0, len) {
            let (seq, bytes) = item?;
            let r = super::decode(seq, &bytes)?;
            let plan = r.event.plan().to_string();
            batch.insert(in_force_key(&plan, r.effective, seq), &[] as &[u8]);
            let m = max.entry(plan.clone()).or_insert(r.effective);
            if r.effective < *m {
                batch.insert(late_key(&plan, seq), &day_bytes(r.effective));
            }
            *m = (*m).max(r.effective);
        }
        self.t()?.timeline.apply_batch(batch)?;
        self.t()?.meta.insert("timeline", super::TIMELINE_MARK)?;
        self.sync()
    }
}
