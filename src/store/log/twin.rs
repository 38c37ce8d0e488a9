//! Keeping the two copies of the record in step: at open, the record file and sled are checked against each other
//! (count, head hash, the last segment line by line, the seals of full segments), the last commit's lines are
//! brought to the file where a crash came between sled's fsync and the file's, and any other disagreement stops
//! the open with what disagrees. A store written before the record file existed gets one, from verified bytes.

use super::file::{self, RecordFile, SEGMENT_LEN, Scan, Seal};
use super::{Log, LogError};
use crate::core::domain::EventHash;

/// Marks a store that keeps a record file beside sled, and its segment length.
pub(super) const RECORDS_MARK: &[u8] = b"segments-4096";

/// The meta key of segment `index`'s seal.
pub(super) fn seal_key(index: u64) -> Vec<u8> {
    let mut k = b"seal:".to_vec();
    k.extend_from_slice(&index.to_be_bytes());
    k
}

pub(super) fn seal_value(s: &Seal) -> Vec<u8> {
    let mut v = s.bytes.to_be_bytes().to_vec();
    v.extend_from_slice(&s.digest);
    v
}

/// The range of record counts the file may hold for the durable head: `lo` records were in the file before the
/// last commit, and up to `hi` may have been written by a commit that then failed (whose lines are not durable in
/// sled and were never acknowledged).
pub(super) fn window_value(lo: u64, hi: u64) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&lo.to_be_bytes());
    v[8..].copy_from_slice(&hi.to_be_bytes());
    v
}

fn mismatch(what: String) -> LogError {
    LogError::Mismatch { what }
}

impl Log {
    fn window(&self, len: u64) -> Result<(u64, u64), LogError> {
        match self.t()?.meta.get("window")? {
            None => Ok((len, len)),
            Some(v) if v.len() == 16 => {
                let (a, b) = v.split_at(8);
                let get = |x: &[u8]| x.try_into().map(u64::from_be_bytes);
                match (get(a), get(b)) {
                    (Ok(lo), Ok(hi)) => Ok((lo, hi)),
                    _ => Err(LogError::corrupt(None, "the record window is not 16 bytes")),
                }
            }
            Some(_) => Err(LogError::corrupt(None, "the record window is not 16 bytes")),
        }
    }

    pub(super) fn seal(&self, index: u64) -> Result<Option<(u64, [u8; 32])>, LogError> {
        match self.t()?.meta.get(seal_key(index))? {
            None => Ok(None),
            Some(v) if v.len() == 40 => {
                let mut d = [0u8; 32];
                d.copy_from_slice(&v[8..]);
                let n = v[..8].try_into().map(u64::from_be_bytes).map_err(|_| LogError::corrupt(None, "bad seal"))?;
                Ok(Some((n, d)))
            }
            Some(_) => Err(LogError::corrupt(None, format!("the seal of segment {index} is not 40 bytes"))),
        }
    }

    /// Record lines `from..to` from the record file.
    pub fn file_lines(&self, from: u64, to: u64) -> impl Iterator<Item = Result<(u64, Vec<u8>), LogError>> + use<> {
        file::lines(&self.dir, from, to)
    }

    /// What is wrong with full segment `index` against its seal (length and BLAKE3 digest), if anything.
    pub fn seal_problem(&self, index: u64) -> Result<Option<String>, LogError> {
        let name = file::segment_name(index);
        let Some((bytes, digest)) = self.seal(index)? else {
            return Ok(Some(format!("records/{name} is full but sled has no seal of it")));
        };
        let (n, d) = file::digest_of(&self.dir, index)?;
        if (n, d) != (bytes, digest) {
            return Ok(Some(format!("records/{name} ({n} bytes) is not the segment sealed ({bytes} bytes)")));
        }
        Ok(None)
    }

    /// Checks the record file against sled and returns the writer's handle on it (see the module comment).
    pub(super) fn reconcile(&self) -> Result<RecordFile, LogError> {
        let head = self.head()?;
        if self.t()?.meta.get("records")?.is_none() {
            return self.build_record_file(head.len);
        }
        let dir = self.dir.clone();
        let scan = file::scan(&dir)?;
        let (lo, hi) = self.window(head.len)?;
        let have = scan.len();
        let n = head.len;
        if have < lo {
            return Err(mismatch(format!(
                "the record file holds {have} events but sled holds {n}, of which {lo} were in the file already: the record file lost events {have}..{lo}"
            )));
        }
        if have > hi.max(n) {
            return Err(mismatch(format!(
                "the record file holds {have} events but sled only {n}: sled lost acknowledged events {n}..{have}"
            )));
        }
        self.check_seals(&scan)?;
        if let Some(seq) = file::first_difference(&scan, |s| if s < n { self.stored_hash(s) } else { Ok(None) })?
            && seq < n
        {
            return Err(mismatch(format!(
                "event {seq} in the record file does not hash to the hash sled recorded for it"
            )));
        }
        let mut rf = RecordFile::from_scan(&dir, &scan);
        if scan.torn > 0 || have > n {
            tracing::warn!(
                torn_bytes = scan.torn,
                unacknowledged = have.saturating_sub(n),
                "the record file ends with lines of a commit that never completed; they are cut"
            );
            rf = self.cut_to(&dir, &scan, n)?;
        }
        if rf.len() < n {
            tracing::info!(from = rf.len(), to = n, "bringing the last commit's events to the record file");
            self.copy_to_file(&mut rf, n)?;
        }
        if let Some(note) = file::read_checkpoint(&dir) {
            // A copy that does not verify (a torn write) says nothing; one that verifies is what the ledger signed.
            if let Ok(cp) = crate::core::audit::note::Checkpoint::open(&note, &self.verifier())
                && cp.size > n
            {
                return Err(mismatch(format!(
                    "records/checkpoint is signed for {} events but sled holds {n}: sled lost acknowledged events",
                    cp.size
                )));
            }
        }
        file::write_checkpoint(&dir, &self.checkpoint()?, true)?;
        if n > 0 {
            let last = file::lines(&dir, n - 1, n).next().transpose()?.map(|(_, l)| EventHash::of(&l));
            if last != Some(head.hash) {
                return Err(mismatch(format!(
                    "the record file's last event does not hash to sled's head (seq {})",
                    n - 1
                )));
            }
        }
        Ok(rf)
    }

    /// Every full segment but the last is as long as its seal says; the last, read whole, is checked line by line.
    fn check_seals(&self, scan: &Scan) -> Result<(), LogError> {
        let full = scan.segments.len().saturating_sub(1);
        for (index, bytes) in scan.segments.iter().take(full).enumerate() {
            let index = index as u64;
            match self.seal(index)? {
                Some((sealed, _)) if sealed == *bytes => {}
                Some((sealed, _)) => {
                    return Err(mismatch(format!(
                        "records/{} is {bytes} bytes but was sealed at {sealed}",
                        file::segment_name(index)
                    )));
                }
                None => {
                    return Err(mismatch(format!(
                        "records/{} is full but sled has no seal of it",
                        file::segment_name(index)
                    )));
                }
            }
        }
        Ok(())
    }

    /// The handle on the file cut back to its first `n` records (dropping a torn line and lines beyond `n`).
    fn cut_to(&self, dir: &std::path::Path, scan: &Scan, n: u64) -> Result<RecordFile, LogError> {
        let base = scan.tail_first();
        let keep = usize::try_from(n.saturating_sub(base)).unwrap_or(usize::MAX).min(scan.tail.len());
        let kept = Scan {
            segments: scan.segments.clone(),
            tail: scan.tail[..keep].to_vec(),
            torn: scan.torn + scan.tail[keep..].iter().map(|l| l.len() as u64 + 1).sum::<u64>(),
        };
        let rf = RecordFile::from_scan(dir, &kept);
        rf.cut_back()?;
        Ok(rf)
    }

    /// Appends sled's events from the file's end up to `n`, each checked against its recorded hash and the chain.
    fn copy_to_file(&self, rf: &mut RecordFile, n: u64) -> Result<(), LogError> {
        let mut prev = match rf.len() {
            0 => EventHash::ZERO,
            k => self.stored_hash(k - 1)?.ok_or_else(|| LogError::corrupt(Some(k - 1), "no recorded hash"))?,
        };
        let mut chunk: Vec<Vec<u8>> = Vec::new();
        let mut from = rf.len();
        while from < n {
            let to = n.min(from + SEGMENT_LEN - from % SEGMENT_LEN);
            chunk.clear();
            for item in self.range(from, to) {
                let (seq, bytes) = item?;
                let r = super::decode(seq, &bytes)?;
                let hash = EventHash::of(&bytes);
                if r.seq.0 != seq || r.prev != prev || self.stored_hash(seq)? != Some(hash) {
                    return Err(LogError::corrupt(Some(seq), "the event does not continue the chain"));
                }
                prev = hash;
                chunk.push(bytes.to_vec());
            }
            if chunk.len() as u64 != to - from {
                return Err(LogError::corrupt(Some(from), "events are missing from sled"));
            }
            let lines: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
            for s in rf.seals_after(&lines) {
                match self.seal(s.index)? {
                    Some((b, d)) if b == s.bytes && d == s.digest => {}
                    Some(_) => {
                        return Err(mismatch(format!(
                            "records/{} would not match its seal",
                            file::segment_name(s.index)
                        )));
                    }
                    None => {
                        self.t()?.meta.insert(seal_key(s.index), seal_value(&s))?;
                    }
                }
            }
            rf.append(&lines)?;
            from = to;
        }
        Ok(())
    }

    /// Writes the record file of a store that has none, from sled's events checked against the chain.
    fn build_record_file(&self, n: u64) -> Result<RecordFile, LogError> {
        let folder = self.dir.join(file::RECORDS_DIR);
        if folder.exists() {
            // Left by a build a crash cut short (the mark is set only at its end): it was never the record.
            std::fs::remove_dir_all(&folder).map_err(super::io(&folder))?;
        }
        tracing::info!(events = n, "writing the record file of an older store");
        let mut rf = RecordFile::create(&self.dir)?;
        self.copy_to_file(&mut rf, n)?;
        self.t()?.meta.insert("window", &window_value(n, n))?;
        self.t()?.meta.insert("records", RECORDS_MARK)?;
        self.sync()?;
        Ok(rf)
    }
}
