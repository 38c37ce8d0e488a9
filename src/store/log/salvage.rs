//! Reading what can still be read of a damaged store, for `repair`: sled opened without the open's checks, and the
//! record file read segment by segment, each side's events taken only as far as they verify. Nothing here writes.

use std::path::Path;

use super::file::{self, RECORDS_DIR, SEGMENT_LEN};
use super::{KEY_FILE, LogError, TokenEntry, io, open_with_retry};
use crate::core::record::{ChainVerifier, VerifyError};
use crate::store::bounded::Progress;

/// One side's events, as far as they verify from seq 0 (encoding, seq, chain, instants and the domain rules), and
/// why it stops there when it stops short of what it holds.
#[derive(Debug, Default)]
pub struct Verified {
    pub lines: Vec<Vec<u8>>,
    pub problem: Option<String>,
}

/// What sled still gives: its checkpoint, its verified events, and the trees beside the record.
#[derive(Debug, Default)]
pub struct SledSalvage {
    pub checkpoint: Option<String>,
    pub events: Verified,
    pub tokens: Vec<TokenEntry>,
    pub idempotency: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Takes records while they verify.
fn take_verified(lines: impl Iterator<Item = Result<Vec<u8>, String>>, progress: &Progress) -> Verified {
    let mut v = ChainVerifier::new();
    let mut out = Verified::default();
    for line in lines {
        progress.step();
        match line {
            Err(e) => {
                out.problem = Some(e);
                break;
            }
            Ok(bytes) => match v.push(&bytes) {
                Ok(_) => out.lines.push(bytes),
                Err(VerifyError { seq, what }) => {
                    out.problem = Some(format!("seq {seq}: {what}"));
                    break;
                }
            },
        }
    }
    out
}

/// The record file's events, as far as they verify.
pub fn record_file(dir: &Path, progress: &Progress) -> Verified {
    let folder = dir.join(RECORDS_DIR);
    let mut index = 0u64;
    let mut pending: std::collections::VecDeque<Result<Vec<u8>, String>> = Default::default();
    let mut ended = false;
    let lines = std::iter::from_fn(move || {
        loop {
            if let Some(x) = pending.pop_front() {
                return Some(x);
            }
            if ended {
                return None;
            }
            let path = folder.join(file::segment_name(index));
            match std::fs::read(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => ended = true,
                Err(e) => {
                    pending.push_back(Err(format!("{}: {e}", path.display())));
                    ended = true;
                }
                Ok(bytes) => {
                    let mut n = 0u64;
                    let mut rest = bytes.as_slice();
                    while let Some(p) = rest.iter().position(|b| *b == b'\n') {
                        pending.push_back(Ok(rest[..p].to_vec()));
                        rest = &rest[p + 1..];
                        n += 1;
                    }
                    if !rest.is_empty() {
                        pending.push_back(Err(format!("{}: its last line is cut short", path.display())));
                        ended = true;
                    } else if n != SEGMENT_LEN {
                        // A segment short of full is the last one.
                        ended = true;
                    }
                    index += 1;
                }
            }
        }
    });
    take_verified(lines, progress)
}

/// Opens sled without the open's checks and reads what it gives. Run it bounded: damaged files can make sled loop.
pub fn sled(dir: &Path, progress: &Progress) -> Result<SledSalvage, LogError> {
    let db = open_with_retry(&dir.join("sled"))?;
    let meta = db.open_tree("meta")?;
    let events = db.open_tree("events")?;
    let mut out = SledSalvage {
        checkpoint: meta.get("checkpoint")?.and_then(|v| String::from_utf8(v.to_vec()).ok()),
        ..SledSalvage::default()
    };
    let mut next = 0u64;
    let lines = events.iter().map(|r| {
        let (k, v) = r.map_err(|e| format!("sled: {e}"))?;
        if k.as_ref() != next.to_be_bytes() {
            return Err(format!("sled: event {next} is missing"));
        }
        next += 1;
        Ok(v.to_vec())
    });
    out.events = take_verified(lines, progress);
    for r in db.open_tree("tokens")?.iter() {
        let Ok((k, v)) = r else { break };
        if let Ok(hash) = <[u8; 32]>::try_from(k.as_ref()) {
            out.tokens.push((hash, v.to_vec()));
        }
        progress.step();
    }
    for r in db.open_tree("idempotency")?.iter() {
        let Ok((k, v)) = r else { break };
        out.idempotency.push((k.to_vec(), v.to_vec()));
        progress.step();
    }
    Ok(out)
}

/// The ledger's signing key, as stored.
pub fn key_text(dir: &Path) -> Result<String, LogError> {
    let path = dir.join(KEY_FILE);
    std::fs::read_to_string(&path).map_err(io(&path))
}
