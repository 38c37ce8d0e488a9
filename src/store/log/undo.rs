//! Imports that commit in chunks yet land whole or not at all. Before the first chunk a mark names the head and
//! checkpoint the import started from; it is removed once the last chunk is durable. A refused import is cut back
//! to the mark at once, and one a crash interrupted is cut back at the next open, before anything is checked,
//! served or signed. Cutting back is safe to repeat: a crash part way leaves the mark, and the next open finishes.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader};
use std::path::Path;

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::file::{self, RECORDS_DIR, RecordFile, SEGMENT_LEN};
use super::keys::{in_force_key, index_key, late_key, node_key, seq_of};
use super::twin::{seal_key, window_value};
use super::{Head, Log, LogError, decode, io};
use crate::core::audit::merkle::NodeId;
use crate::core::domain::EventHash;

/// The meta key of the mark: the head before the import (len, hash) followed by its signed checkpoint.
const IMPORT_MARK: &str = "import";
/// Events taken back out per transaction, so that cutting back a large import stays small in memory.
const CUT_CHUNK: usize = 4096;

impl Log {
    /// Marks the start of an import from `head`, whose signed checkpoint is `checkpoint`; durable before any chunk
    /// of the import is committed.
    pub fn begin_import(&self, head: Head, checkpoint: &str) -> Result<(), LogError> {
        let mut v = head.len.to_be_bytes().to_vec();
        v.extend_from_slice(&head.hash.0);
        v.extend_from_slice(checkpoint.as_bytes());
        self.t()?.meta.insert(IMPORT_MARK, v)?;
        self.sync()
    }

    /// The import landed whole: its mark goes, durably, before the import is acknowledged.
    pub fn end_import(&self) -> Result<(), LogError> {
        self.t()?.meta.remove(IMPORT_MARK)?;
        self.sync()
    }

    /// The head and checkpoint an unfinished import started from, if one is marked.
    fn import_mark(&self) -> Result<Option<(Head, String)>, LogError> {
        let Some(v) = self.t()?.meta.get(IMPORT_MARK)? else { return Ok(None) };
        let bad = || LogError::corrupt(None, "the mark of an unfinished import is damaged");
        if v.len() < 40 {
            return Err(bad());
        }
        let len = u64::from_be_bytes(v[..8].try_into().map_err(|_| bad())?);
        let mut h = [0u8; 32];
        h.copy_from_slice(&v[8..40]);
        let note = String::from_utf8(v[40..].to_vec()).map_err(|_| bad())?;
        Ok(Some((Head { len, hash: EventHash(h) }, note)))
    }

    /// At open: cuts an import that a crash interrupted back to where it started. Its events were never
    /// acknowledged, so nothing acknowledged is removed.
    pub(super) fn finish_interrupted_import(&self) -> Result<(), LogError> {
        let Some((head, checkpoint)) = self.import_mark()? else { return Ok(()) };
        tracing::warn!(
            to = head.len,
            "an import was interrupted before it completed; its events, never acknowledged, are taken back out"
        );
        self.cut_back_to(head, &checkpoint)?;
        Ok(())
    }

    /// Takes every event from `to.len` on back out of sled (events, hashes, derived entries, tree nodes, seals)
    /// and the record file, restores `to` as the head with its `checkpoint`, and removes the import mark.
    pub fn cut_back_to(&self, to: Head, checkpoint: &str) -> Result<(), LogError> {
        if self.injected_cut_back_failure() {
            return Err(self.injected_full_disk());
        }
        let end = match self.t()?.events.last()? {
            Some((k, _)) => (seq_of(&k)? + 1).max(self.head()?.len),
            None => self.head()?.len,
        };
        self.remove_events_from(to.len)?;
        let mut nodes = sled::Batch::default();
        for level in 0..64u8 {
            let (lo, hi) = (to.len >> level, end >> level);
            for index in lo..hi {
                nodes.remove(&node_key(NodeId { level, index }));
            }
        }
        self.t()?.merkle.apply_batch(nodes)?;
        let mut meta = sled::Batch::default();
        for index in to.len / SEGMENT_LEN..=end / SEGMENT_LEN {
            meta.remove(seal_key(index));
        }
        let mut head_bytes = to.len.to_be_bytes().to_vec();
        head_bytes.extend_from_slice(&to.hash.0);
        meta.insert(&b"window"[..], &window_value(to.len, to.len)[..]);
        meta.insert(&b"checkpoint"[..], checkpoint.as_bytes());
        meta.insert(&b"head"[..], head_bytes);
        self.t()?.meta.apply_batch(meta)?;
        self.sync()?;
        // The copy of the checkpoint beside the segments may be signed for the import's events: it goes back too,
        // or the next open would take the cut for lost events.
        file::write_checkpoint(&self.dir, checkpoint, true)?;
        *self.file.lock().unwrap_or_else(|e| e.into_inner()) = cut_file(&self.dir, to.len)?;
        self.end_import()
    }

    /// Removes the events from `from` on with their hashes and derived entries, a chunk per transaction.
    fn remove_events_from(&self, from: u64) -> Result<(), LogError> {
        loop {
            let t = self.t()?;
            let mut chunk = Vec::with_capacity(CUT_CHUNK);
            for item in t.events.range(from.to_be_bytes()..).take(CUT_CHUNK) {
                let (k, bytes) = item?;
                let seq = seq_of(&k)?;
                let r = decode(seq, &bytes)?;
                chunk.push((seq, r.event.index_keys(), r.event.plan().to_string(), r.effective));
            }
            if chunk.is_empty() {
                return Ok(());
            }
            let r: Result<(), TransactionError<()>> =
                (&t.events, &t.hashes, &t.index, &t.timeline).transaction(|(events, hashes, index, tl)| {
                    for (seq, keys, plan, effective) in &chunk {
                        for k in keys {
                            index.remove(index_key(k, *seq))?;
                        }
                        tl.remove(in_force_key(plan, *effective, *seq))?;
                        tl.remove(late_key(plan, *seq))?;
                        hashes.remove(&seq.to_be_bytes())?;
                        events.remove(&seq.to_be_bytes())?;
                    }
                    Ok::<(), ConflictableTransactionError<()>>(())
                });
            match r {
                Ok(()) => {}
                Err(TransactionError::Storage(e)) => return Err(e.into()),
                Err(TransactionError::Abort(())) => {
                    return Err(LogError::corrupt(None, "taking an unfinished import back out aborted"));
                }
            }
        }
    }
}

/// Cuts the record file back to its first `n` records: later segments go, the segment holding record `n` keeps
/// only the lines before it. Durable before it returns.
fn cut_file(dir: &Path, n: u64) -> Result<RecordFile, LogError> {
    let folder = dir.join(RECORDS_DIR);
    let keep_index = n / SEGMENT_LEN;
    let keep_lines = n % SEGMENT_LEN;
    let mut index = keep_index + u64::from(keep_lines > 0);
    loop {
        let path = folder.join(file::segment_name(index));
        match std::fs::remove_file(&path) {
            Ok(()) => index += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(io(&path)(e)),
        }
    }
    if keep_lines > 0 {
        let path = folder.join(file::segment_name(keep_index));
        let mut r = BufReader::new(std::fs::File::open(&path).map_err(io(&path))?);
        let mut bytes = 0u64;
        let mut line = Vec::new();
        for k in 0..keep_lines {
            line.clear();
            let got = r.read_until(b'\n', &mut line).map_err(io(&path))?;
            if got == 0 || !line.ends_with(b"\n") {
                return Err(LogError::Mismatch {
                    what: format!("{}: ends after {k} lines, before the import began", path.display()),
                });
            }
            bytes += got as u64;
        }
        let f = OpenOptions::new().write(true).open(&path).map_err(io(&path))?;
        f.set_len(bytes).map_err(io(&path))?;
        f.sync_all().map_err(io(&path))?;
    }
    file::sync_dir(&folder)?;
    let scan = file::scan(dir)?;
    if scan.len() != n || scan.torn > 0 {
        return Err(LogError::Mismatch {
            what: format!("the record file holds {} records after cutting back to {n}", scan.len()),
        });
    }
    Ok(RecordFile::from_scan(dir, &scan))
}
