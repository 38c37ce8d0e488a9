//! One event as stored: the envelope fields and the domain event, encoded as one canonical JSON line.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::core::domain::model::{Actor, Meta};
use crate::core::domain::{EventHash, PlanEvent, Seq};

/// The value of the `v` field: the version of the record layout.
pub const FORMAT_VERSION: u64 = 1;

/// A stored event. Field order is the byte order of the stored line (docs/FORMAT.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub v: u64,
    pub seq: Seq,
    pub prev: EventHash,
    /// Always written with microseconds and `Z`, so every instant has exactly one spelling.
    #[serde(with = "crate::core::domain::model::micros")]
    pub recorded_at: DateTime<Utc>,
    #[serde(with = "crate::core::domain::model::date")]
    pub effective: NaiveDate,
    pub actor: Actor,
    pub authority: Option<String>,
    pub reason: Option<String>,
    pub event: PlanEvent,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("not a valid record: {0}")]
    Malformed(String),
    #[error("not in canonical form (the stored bytes must equal the record's canonical encoding)")]
    NotCanonical,
    #[error("unsupported record version {0}")]
    Version(u64),
}

/// Truncates an instant to the stored precision (microseconds), so a record built in memory equals its decoding.
pub fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

impl Record {
    /// A record of `event` recorded at `recorded_at`. A change that names no effective date takes effect on the day
    /// it is recorded, in Japan: the date comes from the same instant as `recorded_at`, so the two cannot disagree.
    pub fn new(seq: Seq, prev: EventHash, recorded_at: DateTime<Utc>, meta: &Meta, event: PlanEvent) -> Self {
        Self {
            v: FORMAT_VERSION,
            seq,
            prev,
            recorded_at: to_micros(recorded_at),
            effective: meta.effective.unwrap_or_else(|| crate::core::domain::time::jst_date(recorded_at)),
            actor: meta.actor.clone(),
            authority: meta.authority.clone(),
            reason: meta.reason.clone(),
            event,
        }
    }

    /// The canonical bytes: compact JSON in declaration order, UTF-8 unescaped, no trailing newline.
    pub fn encode(&self) -> Vec<u8> {
        // Invariant: every field serializes to JSON without error (strings, integers, and maps with string keys).
        serde_json::to_vec(self).expect("records always serialize")
    }

    pub fn hash(&self) -> EventHash {
        EventHash::of(&self.encode())
    }

    /// Parses stored bytes and checks that they are the canonical encoding of what they parse to.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let r: Record = serde_json::from_slice(bytes).map_err(|e| RecordError::Malformed(e.to_string()))?;
        if r.v != FORMAT_VERSION {
            return Err(RecordError::Version(r.v));
        }
        if r.encode() != bytes {
            return Err(RecordError::NotCanonical);
        }
        Ok(r)
    }

    pub fn meta(&self) -> Meta {
        Meta {
            actor: self.actor.clone(),
            authority: self.authority.clone(),
            reason: self.reason.clone(),
            effective: Some(self.effective),
        }
    }
}
