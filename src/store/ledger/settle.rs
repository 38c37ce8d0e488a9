//! Settling failed commits: before the writer decides a batch after a failed commit, it takes the failed batches
//! durably back out of the store (sled's trees and the record file's partial tail) and reloads the tree's right
//! edge, so the next batch is decided against what is really stored. While the disk still refuses writes this
//! fails and the caller's request is refused (503 with `Retry-After`); once the disk takes writes again it
//! succeeds, without a restart. sled keeps an I/O error for the life of its handle, so a failure inside sled is
//! followed by a reopen of sled in place, once a probe write shows the disk takes writes.

use super::writer::Writer;
use crate::store::log::{Head, LogError};

/// Whether an error may pass when the disk is fixed (an I/O error, a refusal, a reopen under way), rather than
/// showing that the store is not what the writer thinks it is.
pub(super) fn transient(e: &LogError) -> bool {
    matches!(e, LogError::Io { .. } | LogError::Storage(sled::Error::Io(_)) | LogError::Reopening { .. })
}

impl Writer {
    /// Takes every unsettled batch back out of the store, durably, and returns the writer to the durable state.
    /// Stops the writer (`broken`) only if the store cannot be brought back to a state it can trust.
    pub(super) fn settle(&mut self) -> Result<(), LogError> {
        let r = self.try_settle();
        match &r {
            Ok(()) => {
                tracing::info!("the failed commit is taken back out of the store; writes are taken again");
                self.unsettled.clear();
                self.uncut_import = false;
                self.shared().log.set_refusing(false);
            }
            Err(e) if transient(e) => {
                tracing::warn!(error = %e, "the failed commit cannot be taken back out of the store yet");
            }
            Err(e) => {
                // The trees may still hold a failed batch, or do not end at the durable head: appending on top of
                // them could store what was never acknowledged. Stop writing; reopening checks the store.
                tracing::error!(error = %e, "the store cannot be brought back to the durable state; the writer stops");
                self.broken = true;
            }
        }
        r
    }

    fn try_settle(&mut self) -> Result<(), LogError> {
        let (head, checkpoint) = {
            let p = self.shared().durable.read().unwrap_or_else(|e| e.into_inner());
            (p.head, p.checkpoint.clone())
        };
        let log = &self.shared().log;
        // Nothing is tried on a disk that still refuses: the probe fails at once with the refusal.
        log.probe()?;
        let mut r = self.roll_back_all(head, &checkpoint);
        if let Err(e) = &r
            && e.failed_in_sled()
        {
            tracing::info!(error = %e, "reopening sled, which keeps the error it met");
            log.reopen()?;
            r = self.roll_back_all(head, &checkpoint);
        }
        r?;
        let stored = log.head()?;
        if stored != head {
            return Err(LogError::corrupt(
                stored.len.checked_sub(1),
                format!("after the roll-back the store ends at {} events, not at the durable {}", stored.len, head.len),
            ));
        }
        self.reload_frontier(head)
    }

    /// Rolls the unsettled batches back, the last first, each made durable before the next; then cuts back an
    /// import that came before them, to the durable head it began at.
    fn roll_back_all(&self, head: Head, checkpoint: &str) -> Result<(), LogError> {
        for batch in self.unsettled.iter().rev() {
            self.shared().log.roll_back(batch, head, checkpoint)?;
        }
        if self.uncut_import {
            self.shared().log.cut_back_to(head, checkpoint)?;
        }
        Ok(())
    }
}
