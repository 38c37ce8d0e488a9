//! Verification of a data dir from its stored bytes alone: the chain, the rules, the derived entries, the tree and
//! the latest checkpoint, and consistency with an earlier checkpoint an auditor kept.

use crate::core::audit::merkle::NodeSource;
use std::path::Path;

use super::Ledger;
use crate::core::audit::merkle::{self, Frontier};
use crate::core::audit::note::{Checkpoint, NoteVerifier};
use crate::core::audit::{LedgerHasher, b64};
use crate::core::domain::EventHash;
use crate::core::record::{ChainVerifier, VerifyError, VerifySummary};
use crate::store::log::{Log, LogError};

/// Why a stored ledger failed verification.
#[derive(Debug, thiserror::Error)]
pub enum VerifyFailure {
    #[error("{0}")]
    Bad(VerifyError),
    #[error("{0}")]
    Store(LogError),
    #[error("the Merkle tree: {0}")]
    Tree(String),
    #[error("the checkpoint: {0}")]
    Checkpoint(String),
    #[error("not consistent with the earlier checkpoint: {0}")]
    Inconsistent(String),
    /// The record file's copy differs from sled's, or is damaged.
    #[error("the record file{}: {what}", seq.map(|s| format!(" at seq {s}")).unwrap_or_default())]
    File { seq: Option<u64>, what: String },
}

impl VerifyFailure {
    /// The seq the failure names, when it names one.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Self::Bad(e) => Some(e.seq),
            Self::Store(LogError::Corruption { seq, .. }) | Self::File { seq, .. } => *seq,
            _ => None,
        }
    }
}

/// What a full verification established.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub summary: VerifySummary,
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
    let (dir, key, since) = (dir.to_path_buf(), key.cloned(), since.map(str::to_string));
    let what = format!("verifying {}", dir.display());
    let r = crate::store::bounded::run(&what, move |p| {
        let log = Log::open(&dir)?;
        let r = verify_log(&log, key.as_ref(), &p).and_then(|mut report| {
            if let Some(note) = since {
                report.since = Some(verify_since(&log, &report, &note, key.as_ref())?);
            }
            Ok(report)
        });
        Ok(r)
    });
    r.map_err(VerifyFailure::Store)?
}

/// [`verify_dir`] on an open ledger (the durable events at the moment of the call's start).
pub fn verify_dir_open(ledger: &Ledger) -> Result<VerifyReport, VerifyFailure> {
    verify_open_with(ledger, None, None)
}

/// [`verify_dir_with`] on an open ledger: what a running server checks for the command line.
pub fn verify_open_with(
    ledger: &Ledger,
    key: Option<&NoteVerifier>,
    since: Option<&str>,
) -> Result<VerifyReport, VerifyFailure> {
    let log = ledger.log();
    let mut report = verify_log(log, key, &crate::store::bounded::Progress::default())?;
    if let Some(note) = since {
        report.since = Some(verify_since(log, &report, note, key)?);
    }
    Ok(report)
}

fn verify_log(
    log: &Log,
    key: Option<&NoteVerifier>,
    progress: &crate::store::bounded::Progress,
) -> Result<VerifyReport, VerifyFailure> {
    // Head and checkpoint change together in one transaction but are read one after the other: read until the head
    // is the same on both sides, so a commit in between cannot pair one head with another's checkpoint.
    let (head, note) = loop {
        let head = log.head().map_err(VerifyFailure::Store)?;
        let note = log.checkpoint().map_err(VerifyFailure::Store)?;
        if log.head().map_err(VerifyFailure::Store)? == head {
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
    // The record file must hold the same bytes, line for line.
    let mut lines = log.file_lines(0, head.len);
    // Events beyond the head read above may be committed while this runs; they are not part of what is verified.
    for item in log.range(0, head.len) {
        let (seq, bytes) = item.map_err(VerifyFailure::Store)?;
        progress.step();
        match lines.next() {
            Some(Ok((_, line))) if line == bytes.as_ref() => {}
            Some(Ok(_)) => {
                return Err(VerifyFailure::File { seq: Some(seq), what: "its line differs from sled's copy".into() });
            }
            Some(Err(e)) => return Err(VerifyFailure::File { seq: Some(seq), what: e.to_string() }),
            None => return Err(VerifyFailure::File { seq: Some(seq), what: "it ends before this event".into() }),
        }
        let stored = log.stored_hash(seq).map_err(VerifyFailure::Store)?;
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
        if let Some(what) = log.derived_problem(seq, &plan, r.effective, &keys, late).map_err(VerifyFailure::Store)? {
            return Err(VerifyFailure::Store(LogError::Corruption { seq: Some(seq), what }));
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
        return Err(VerifyFailure::Store(LogError::Corruption {
            seq: head.len.checked_sub(1),
            what: format!(
                "the recorded head ({} events, {}) does not match the events ({} events, {})",
                head.len, head.hash, s.count, s.head
            ),
        }));
    }
    for index in 0..head.len / crate::store::log::file::SEGMENT_LEN {
        if let Some(what) = log.seal_problem(index).map_err(VerifyFailure::Store)? {
            return Err(VerifyFailure::File { seq: None, what });
        }
    }
    let found = log.derived_counts(head.len).map_err(VerifyFailure::Store)?;
    if found != expected {
        return Err(VerifyFailure::Store(LogError::Corruption {
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
        .map_err(VerifyFailure::Store)?
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
