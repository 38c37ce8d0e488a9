//! The resume point: the whole current state as of one event, kept in sled so that opening folds only the events
//! after it instead of the whole ledger. It is a cache, never a record: it is used only when its format, its
//! build, its checksum and the hash of the event it was taken at all match; otherwise the open folds from seq 0.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Head, Log, LogError};
use crate::core::domain::{EventHash, State};

/// The meta key of the resume point.
const KEY: &str = "resume";
const MAGIC: &[u8; 4] = b"PLRP";
/// Magic, the build (below), the event count it was taken at and that event's hash, then the payload's checksum.
const HEADER: usize = 4 + 32 + 8 + 32 + 32;

/// What the state was folded by: a resume point written by another build of `evolve` is not used.
fn build() -> [u8; 32] {
    *blake3::hash(concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION"), " resume 1").as_bytes()).as_bytes()
}

#[derive(Serialize, Deserialize)]
struct Payload {
    last_recorded: Option<DateTime<Utc>>,
    state: State,
}

/// A usable resume point: the state after the first `at.len` events.
pub struct Resume {
    pub at: Head,
    pub last_recorded: Option<DateTime<Utc>>,
    pub state: State,
}

impl Log {
    /// Stores `state` (with `last_recorded`) as the resume point after the events up to `at`. Not fsynced: a resume
    /// point lost in a crash is an older one or none, and either only means a longer fold.
    pub fn save_resume_point(
        &self,
        at: Head,
        last_recorded: Option<DateTime<Utc>>,
        state: &State,
    ) -> Result<(), LogError> {
        let payload = Payload { last_recorded, state: state.clone() };
        // Invariant: `State` holds only maps, strings, numbers and decimals, which always serialize.
        let json = serde_json::to_vec(&payload).expect("states serialize");
        let body = lz4_flex::compress_prepend_size(&json);
        let mut out = Vec::with_capacity(HEADER + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&build());
        out.extend_from_slice(&at.len.to_be_bytes());
        out.extend_from_slice(&at.hash.0);
        out.extend_from_slice(blake3::hash(&body).as_bytes());
        out.extend_from_slice(&body);
        self.t()?.meta.insert(KEY, out)?;
        Ok(())
    }

    /// The resume point, if one is stored and usable for a ledger whose head is `head`: written by this build,
    /// intact, taken at an event the ledger still has, with the hash it has. Why one is not used is logged.
    pub fn resume_point(&self, head: Head) -> Result<Option<Resume>, LogError> {
        let Some(bytes) = self.t()?.meta.get(KEY)? else { return Ok(None) };
        match self.check_resume(&bytes, head)? {
            Ok(r) => Ok(Some(r)),
            Err(why) => {
                tracing::info!(why, "the resume point is not used; folding every event");
                Ok(None)
            }
        }
    }

    fn check_resume(&self, bytes: &[u8], head: Head) -> Result<Result<Resume, &'static str>, LogError> {
        if bytes.len() < HEADER || &bytes[..4] != MAGIC {
            return Ok(Err("it is damaged"));
        }
        if bytes[4..36] != build() {
            return Ok(Err("another build wrote it"));
        }
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[36..44]);
        let len = u64::from_be_bytes(len);
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&bytes[44..76]);
        let at = Head { len, hash: EventHash(hash) };
        if at.len == 0 || at.len > head.len {
            return Ok(Err("it lies beyond the head"));
        }
        if self.stored_hash(at.len - 1)? != Some(at.hash) {
            return Ok(Err("the event it was taken at is not the ledger's"));
        }
        let (sum, body) = bytes[76..].split_at(32);
        if blake3::hash(body).as_bytes() != sum {
            return Ok(Err("it does not match its checksum"));
        }
        let Ok(json) = lz4_flex::decompress_size_prepended(body) else { return Ok(Err("it does not decompress")) };
        let Ok(p) = serde_json::from_slice::<Payload>(&json) else { return Ok(Err("it does not decode")) };
        if p.state.events != at.len {
            return Ok(Err("its state is not of the events it names"));
        }
        Ok(Ok(Resume { at, last_recorded: p.last_recorded, state: p.state }))
    }
}
