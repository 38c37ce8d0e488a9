//! Verification of a sequence of stored records: canonical bytes, contiguous seq, the blake3 chain, monotonic
//! recorded_at, and that every event obeys the domain rules when re-decided against the state before it.

use chrono::{DateTime, Utc};

use crate::core::domain::{EventHash, Seq, State, command_for, decide};

use super::codec::Record;

/// The first bad event and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("seq {seq}: {what}")]
pub struct VerifyError {
    pub seq: u64,
    pub what: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifySummary {
    /// Seq of the first record checked.
    pub first: u64,
    /// Number of records checked.
    pub count: u64,
    /// Hash of the last record (or the starting `prev` when there were none).
    pub head: EventHash,
}

/// Checks records one by one. Keeps the folded state so each event is re-decided under the domain rules.
pub struct ChainVerifier {
    next: Seq,
    prev: EventHash,
    last_recorded: Option<DateTime<Utc>>,
    state: State,
    first: u64,
    count: u64,
    /// Whether events are re-decided under the domain rules; off only for a segment whose earlier state is unknown.
    rules: bool,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    /// A verifier for a ledger from its beginning.
    pub fn new() -> Self {
        Self::continuing(Seq(0), EventHash::ZERO, None, State::default())
    }

    /// A verifier for records that continue a ledger whose next seq, head hash, last instant and state are given.
    pub fn continuing(next: Seq, prev: EventHash, last_recorded: Option<DateTime<Utc>>, state: State) -> Self {
        Self { next, prev, last_recorded, state, first: next.0, count: 0, rules: true }
    }

    /// A verifier for a segment of a ledger read on its own (a file that continues another file): encoding,
    /// seq, chain and instants are checked; the domain rules cannot be, because the state before it is unknown.
    pub fn segment(next: Seq, prev: EventHash) -> Self {
        Self { rules: false, ..Self::continuing(next, prev, None, State::default()) }
    }

    pub fn checks_rules(&self) -> bool {
        self.rules
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn into_state(self) -> State {
        self.state
    }

    /// The instant of the last record checked (or the one it continues from).
    pub fn last_recorded(&self) -> Option<DateTime<Utc>> {
        self.last_recorded
    }

    pub fn summary(&self) -> VerifySummary {
        VerifySummary { first: self.first, count: self.count, head: self.prev }
    }

    /// Checks everything about one record: canonical bytes, link, seq, instant and the domain rules.
    /// Returns the record and its hash. On error nothing is changed.
    pub fn check(&self, bytes: &[u8]) -> Result<(Record, EventHash), VerifyError> {
        let seq = self.next.0;
        let bad = |what: String| VerifyError { seq, what };
        let r = Record::decode(bytes).map_err(|e| bad(e.to_string()))?;
        if r.prev != self.prev {
            return Err(bad(format!("prev is {} but the previous event hashes to {}", r.prev, self.prev)));
        }
        if r.seq != self.next {
            return Err(bad(format!("the record says seq {} where seq {} was expected", r.seq, self.next)));
        }
        if let Some(last) = self.last_recorded
            && r.recorded_at < last
        {
            return Err(bad(format!("recorded_at {} is earlier than its predecessor's", r.recorded_at)));
        }
        if self.rules {
            let cmd = command_for(&r.event);
            match decide(&self.state, &cmd, &r.meta()) {
                Ok(evs) if evs.len() == 1 && evs[0] == r.event => {}
                Ok(_) => return Err(bad(format!("{} does not follow from the state before it", r.event.type_name()))),
                Err(e) => return Err(bad(format!("{} breaks a rule: {e}", r.event.type_name()))),
            }
        }
        Ok((r, EventHash::of(bytes)))
    }

    /// Accepts a record checked by [`check`](Self::check).
    pub fn accept(&mut self, record: &Record, hash: EventHash) {
        if self.rules {
            self.state.evolve(&record.event);
        }
        self.prev = hash;
        self.next = self.next.next();
        self.last_recorded = Some(record.recorded_at);
        self.count += 1;
    }

    /// Checks and accepts one record.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(Record, EventHash), VerifyError> {
        let (r, h) = self.check(bytes)?;
        self.accept(&r, h);
        Ok((r, h))
    }
}

/// Verifies records given as byte lines. A line that does not carry the next seq is blamed where it stands (a line
/// before it is missing, or it is repeated or out of order). When a link breaks between records k-1 and k, the one
/// to blame is k-1 (its bytes changed) unless record k's own hash also fails to match record k+1's `prev` — then k
/// itself changed.
pub fn verify_lines<'a, I>(mut verifier: ChainVerifier, lines: I) -> Result<(VerifySummary, State), VerifyError>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let lines: Vec<&[u8]> = lines.into_iter().collect();
    for (i, bytes) in lines.iter().enumerate() {
        let seq = verifier.next.0;
        let r = Record::decode(bytes).map_err(|e| VerifyError { seq, what: e.to_string() })?;
        // A line whose seq is not the next one was removed, repeated or moved: the place it stands in is to blame,
        // not the line before it.
        if r.seq.0 != seq {
            return Err(VerifyError {
                seq,
                what: format!(
                    "the line in seq {seq}'s place is seq {}: a line is missing, repeated or out of order",
                    r.seq
                ),
            });
        }
        if r.prev != verifier.prev && i > 0 {
            let h = EventHash::of(bytes);
            let next_links_to_this = match lines.get(i + 1).map(|b| Record::decode(b)) {
                Some(Ok(next)) => next.prev == h,
                _ => true,
            };
            let blamed = if next_links_to_this { seq - 1 } else { seq };
            return Err(VerifyError {
                seq: blamed,
                what: format!(
                    "the chain breaks between seq {} and seq {seq}: the stored bytes of event {blamed} were changed",
                    seq - 1
                ),
            });
        }
        verifier.push(bytes)?;
    }
    Ok((verifier.summary(), verifier.into_state()))
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
