//! Imports on the writer thread: lines are read as the import goes, verified against the chain and the rules that
//! made them, and committed a chunk at a time, so a large file never sits whole in memory or in one transaction.
//! Readers see nothing of an import until its last chunk is durable; a refused or failed import is cut back to
//! where it started (`Log::cut_back_to`), and one a crash interrupts is cut back at the next open.

use super::Writer;
use crate::core::audit::merkle::Frontier;
use crate::core::domain::Seq;
use crate::core::record::ChainVerifier;
use crate::store::ledger::settle::transient;
use crate::store::ledger::{ImportLines, LedgerError};
use crate::store::log::{Batch, Entry, Head};

/// Events per commit of an import: sled's transaction holds a chunk's writes in memory (tens of KB per event with
/// its index, timeline and tree entries), so this bounds an import's memory whatever the file's size.
pub(crate) const IMPORT_CHUNK: usize = 1024;

/// Where an import began, to cut back to.
struct Start {
    head: Head,
    checkpoint: String,
}

impl Writer {
    /// Appends the stored lines `lines` verbatim, whole or not at all, and publishes them together.
    pub(super) fn import(&mut self, mut lines: ImportLines) -> Result<Head, LedgerError> {
        let start = Start {
            head: self.head,
            checkpoint: self.shared.durable.read().unwrap_or_else(|e| e.into_inner()).checkpoint.clone(),
        };
        let mut v =
            ChainVerifier::continuing(Seq(self.head.len), self.head.hash, self.last_recorded, self.state.clone());
        let mut marked = false;
        let mut checkpoint = None;
        let r = self.import_chunks(&mut lines, &mut v, &start, &mut marked, &mut checkpoint);
        let r =
            r.and_then(|()| if marked { self.shared.log.end_import().map_err(|e| self.failure(&e)) } else { Ok(()) });
        if let Err(e) = r {
            if marked {
                self.cut_back(&start);
            }
            return Err(e);
        }
        let summary = v.summary();
        if summary.count > 0 {
            self.last_recorded = v.last_recorded();
            self.state = v.into_state();
            self.publish(checkpoint);
        }
        tracing::info!(events = summary.count, to = self.head.len, "imported");
        Ok(self.head)
    }

    fn import_chunks(
        &mut self,
        lines: &mut ImportLines,
        v: &mut ChainVerifier,
        start: &Start,
        marked: &mut bool,
        checkpoint: &mut Option<String>,
    ) -> Result<(), LedgerError> {
        loop {
            let mut batch = Batch::default();
            for item in lines.by_ref().take(IMPORT_CHUNK) {
                // A line that could not be read is refused at the seq it would have had.
                let bytes = item.map_err(|mut e| {
                    let at = v.summary();
                    e.seq = at.first + at.count;
                    LedgerError::Import(e)
                })?;
                let (r, hash) = v.push(&bytes).map_err(LedgerError::Import)?;
                batch.entries.push(Entry {
                    seq: r.seq.0,
                    hash,
                    index_keys: r.event.index_keys(),
                    plan: r.event.plan().to_string(),
                    effective: r.effective,
                    bytes,
                });
            }
            let Some(last) = batch.entries.last() else { return Ok(()) };
            // A disk without room refuses the chunk before anything of it is written, so that cutting the import
            // back still has room to write.
            let bytes = batch.entries.iter().map(|e| e.bytes.len() as u64).sum();
            self.shared.log.room_for(bytes).map_err(|e| self.failure(&e))?;
            if !*marked {
                self.shared.log.begin_import(start.head, &start.checkpoint).map_err(|e| self.failure(&e))?;
                *marked = true;
            }
            self.head = Head { len: last.seq + 1, hash: last.hash };
            let committed = self.seal(&mut batch).and_then(|()| self.shared.log.commit(&batch, self.head));
            committed.map_err(|e| self.failure(&e))?;
            *checkpoint = batch.checkpoint.take();
        }
    }

    /// Takes a refused or failed import back out of the store and returns the writer to where it began. A disk that
    /// refuses the cut-back too leaves it to the settling before the next batch (the durable head is still where the
    /// import began: nothing of it was published); anything else stops the writer, since the store cannot then be
    /// brought back to a state it can trust.
    fn cut_back(&mut self, start: &Start) {
        self.head = start.head;
        if let Err(e) = self.shared.log.cut_back_to(start.head, &start.checkpoint) {
            if transient(&e) {
                tracing::warn!(error = %e, "the refused import cannot be taken back out of the store yet; writes are \
                    refused until it is");
                self.uncut_import = true;
                self.shared.log.set_refusing(true);
            } else {
                tracing::error!(error = %e, "cannot take a refused import back out of the store; the writer stops");
                self.broken = true;
            }
            return;
        }
        match Frontier::load(&self.shared.log, start.head.len) {
            Ok(f) => self.frontier = f,
            Err(e) => {
                tracing::error!(error = %e, "cannot reload the tree after a refused import; the writer stops");
                self.broken = true;
            }
        }
    }
}
