//! The record file: every event's canonical line (exactly its hashed bytes, the export format) appended to segment
//! files in `records/` and fsynced in the same commit as sled, so the hashed record exists twice and sled is never
//! its only witness. Our own code reads it, with bounds we set, so damage here is always found and named.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{LogError, io};
use crate::core::domain::EventHash;

/// Records per segment file. A power of two, so a segment is one perfect subtree of the Merkle tree.
pub const SEGMENT_LEN: u64 = 4096;
/// The folder of segment files in the data dir.
pub const RECORDS_DIR: &str = "records";
/// Longest record line read back (a record is a few KB; a larger "line" is damage, not a record).
const MAX_LINE: usize = 16 * 1024 * 1024;

/// The file name of segment `index`: the seq of its first record, zero-padded so names sort as seqs do.
pub fn segment_name(index: u64) -> String {
    format!("{:012}.jsonl", index.saturating_mul(SEGMENT_LEN))
}

/// A sealed segment's length and BLAKE3 digest of its bytes, stored in sled when the segment fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seal {
    pub index: u64,
    pub bytes: u64,
    pub digest: [u8; 32],
}

/// What a scan of the record folder found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Byte length of every segment file, by index.
    pub segments: Vec<u64>,
    /// The complete lines of the last segment file.
    pub tail: Vec<Vec<u8>>,
    /// Bytes after the last newline of the last segment file: an append that a crash cut short.
    pub torn: u64,
}

impl Scan {
    /// Records in the file: full segments before the last, plus the last one's complete lines.
    pub fn len(&self) -> u64 {
        match self.segments.len() {
            0 => 0,
            n => (n as u64 - 1) * SEGMENT_LEN + self.tail.len() as u64,
        }
    }

    /// The seq of the last segment's first record.
    pub fn tail_first(&self) -> u64 {
        (self.segments.len().saturating_sub(1) as u64) * SEGMENT_LEN
    }
}

fn bad(path: &Path, what: impl std::fmt::Display) -> LogError {
    LogError::Mismatch { what: format!("{}: {what}", path.display()) }
}

/// Index of a segment file name, or `None` for a name that is not one.
fn index_of(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".jsonl")?;
    if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let first: u64 = digits.parse().ok()?;
    first.is_multiple_of(SEGMENT_LEN).then_some(first / SEGMENT_LEN)
}

/// Scans `records/` in `dir`: every segment is named in order from seq 0, and the last one is read whole (at most
/// `SEGMENT_LEN` lines). A missing folder is an empty scan.
pub fn scan(dir: &Path) -> Result<Scan, LogError> {
    let folder = dir.join(RECORDS_DIR);
    let entries = match std::fs::read_dir(&folder) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Scan::default()),
        Err(e) => return Err(io(&folder)(e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io(&folder))?;
        if let Some(i) = entry.file_name().to_str().and_then(index_of) {
            found.push((i, entry.metadata().map_err(io(&entry.path()))?.len()));
        }
    }
    found.sort_unstable();
    let mut scan = Scan::default();
    for (want, (i, len)) in found.into_iter().enumerate() {
        if i != want as u64 {
            return Err(bad(&folder, format!("segment {} is missing", segment_name(want as u64))));
        }
        scan.segments.push(len);
    }
    if let Some(last) = scan.segments.len().checked_sub(1) {
        let path = folder.join(segment_name(last as u64));
        let mut bytes = Vec::new();
        File::open(&path).map_err(io(&path))?.read_to_end(&mut bytes).map_err(io(&path))?;
        let end = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
        scan.torn = (bytes.len() - end) as u64;
        scan.tail = bytes[..end].split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
        // `split` yields an empty piece after the final newline.
        scan.tail.pop();
        if scan.tail.len() as u64 > SEGMENT_LEN {
            return Err(bad(&path, format!("holds {} lines, more than a segment's {SEGMENT_LEN}", scan.tail.len())));
        }
        if let Some(k) = scan.tail.iter().position(Vec::is_empty) {
            return Err(bad(&path, format!("line {} is empty", k + 1)));
        }
    }
    Ok(scan)
}

/// The BLAKE3 digest and length of a whole segment file.
pub fn digest_of(dir: &Path, index: u64) -> Result<(u64, [u8; 32]), LogError> {
    let path = dir.join(RECORDS_DIR).join(segment_name(index));
    let mut f = File::open(&path).map_err(io(&path))?;
    let mut h = blake3::Hasher::new();
    let n = std::io::copy(&mut f, &mut h).map_err(io(&path))?;
    Ok((n, *h.finalize().as_bytes()))
}

/// The lines of records `from..to`, read in order from the segment files.
pub fn lines(dir: &Path, from: u64, to: u64) -> impl Iterator<Item = Result<(u64, Vec<u8>), LogError>> + use<> {
    let folder = dir.join(RECORDS_DIR);
    let mut seq = from;
    let mut reader: Option<(PathBuf, BufReader<File>)> = None;
    std::iter::from_fn(move || {
        if seq >= to {
            return None;
        }
        let item = (|| {
            if reader.is_none() || seq.is_multiple_of(SEGMENT_LEN) {
                let index = seq / SEGMENT_LEN;
                let path = folder.join(segment_name(index));
                let mut r = BufReader::new(File::open(&path).map_err(io(&path))?);
                for k in 0..seq % SEGMENT_LEN {
                    if read_line(&path, &mut r)?.is_none() {
                        return Err(bad(&path, format!("ends after {k} lines")));
                    }
                }
                reader = Some((path, r));
            }
            let Some((path, r)) = reader.as_mut() else { return Err(bad(&folder, "no segment is open")) };
            match read_line(path, r)? {
                Some(line) => Ok((seq, line)),
                None => Err(bad(path, format!("ends before seq {seq}"))),
            }
        })();
        seq += 1;
        if item.is_err() {
            seq = to;
        }
        Some(item)
    })
}

/// One line without its newline; `None` at the end of the file. A last line without a newline is damage here.
fn read_line(path: &Path, r: &mut BufReader<File>) -> Result<Option<Vec<u8>>, LogError> {
    let mut line = Vec::new();
    let n = r.by_ref().take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line).map_err(io(path))?;
    if n == 0 {
        return Ok(None);
    }
    if line.pop() != Some(b'\n') {
        return Err(bad(path, "its last line is cut short or too long"));
    }
    Ok(Some(line))
}

/// The writer's handle on the record file: appends a commit's lines to the active segment (opening the next
/// segment as each fills), fsyncs them, and on failure takes them back off, so the file never holds a line that is
/// neither durable in sled nor about to be.
pub struct RecordFile {
    dir: PathBuf,
    /// Records the file holds, durably.
    len: u64,
    /// The segment appends go to (or, when it is full, the one before the next).
    active: u64,
    /// Durable byte length of the active segment.
    bytes: u64,
    /// Digest state over the active segment's durable bytes.
    hasher: blake3::Hasher,
}

impl RecordFile {
    /// The handle on a record file whose scan showed `len` complete records and an active segment of `bytes` bytes
    /// hashing (so far) as `hasher`.
    fn at(dir: &Path, len: u64, active: u64, bytes: u64, hasher: blake3::Hasher) -> Self {
        Self { dir: dir.join(RECORDS_DIR), len, active, bytes, hasher }
    }

    /// The handle on an existing file, after its torn tail (if any) has been cut.
    pub fn from_scan(dir: &Path, scan: &Scan) -> Self {
        let mut hasher = blake3::Hasher::new();
        let mut bytes = 0u64;
        for line in &scan.tail {
            hasher.update(line);
            hasher.update(b"\n");
            bytes += line.len() as u64 + 1;
        }
        Self::at(dir, scan.len(), scan.segments.len().saturating_sub(1) as u64, bytes, hasher)
    }

    /// A handle that holds nothing yet, until the open has checked the file.
    pub(super) fn unopened(dir: &Path) -> Self {
        Self::at(dir, 0, 0, 0, blake3::Hasher::new())
    }

    /// Creates an empty record folder.
    pub fn create(dir: &Path) -> Result<Self, LogError> {
        let folder = dir.join(RECORDS_DIR);
        std::fs::create_dir_all(&folder).map_err(io(&folder))?;
        sync_dir(dir)?;
        Ok(Self::at(dir, 0, 0, 0, blake3::Hasher::new()))
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// The seals of the segments that appending `lines` (seqs from `self.len()`) would fill.
    pub fn seals_after(&self, lines: &[&[u8]]) -> Vec<Seal> {
        let mut out = Vec::new();
        let (mut hasher, mut bytes) = (self.hasher.clone(), self.bytes);
        for (k, line) in lines.iter().enumerate() {
            let seq = self.len + k as u64;
            if seq.is_multiple_of(SEGMENT_LEN) {
                (hasher, bytes) = (blake3::Hasher::new(), 0);
            }
            hasher.update(line);
            hasher.update(b"\n");
            bytes += line.len() as u64 + 1;
            if (seq + 1).is_multiple_of(SEGMENT_LEN) {
                out.push(Seal { index: seq / SEGMENT_LEN, bytes, digest: *hasher.finalize().as_bytes() });
            }
        }
        out
    }

    /// Appends `lines` (the records from seq `self.len()` on) and fsyncs them. On failure the file is cut back to
    /// what it held, as far as the disk allows; the next append cuts it again before writing.
    pub fn append(&mut self, lines: &[&[u8]]) -> Result<(), LogError> {
        let start = (self.len, self.active, self.bytes, self.hasher.clone());
        let r = self.write(lines);
        if r.is_err() {
            (self.len, self.active, self.bytes, self.hasher) = start;
            if let Err(e) = self.cut_back() {
                tracing::warn!(error = %e, "cannot yet cut the record file back after a failed append");
            }
        }
        r
    }

    fn active_path(&self, index: u64) -> PathBuf {
        self.dir.join(segment_name(index))
    }

    /// Cuts the active segment back to its durable length and empties a segment begun after it (which can only
    /// hold the lines of a failed append).
    pub(super) fn cut_back(&self) -> Result<(), LogError> {
        let path = self.active_path(self.active);
        match OpenOptions::new().write(true).open(&path) {
            Ok(f) => {
                if f.metadata().map_err(io(&path))?.len() != self.bytes {
                    f.set_len(self.bytes).map_err(io(&path))?;
                    f.sync_all().map_err(io(&path))?;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.bytes == 0 => {}
            Err(e) => return Err(io(&path)(e)),
        }
        let next = self.active_path(self.active + 1);
        if next.exists() {
            let f = OpenOptions::new().write(true).open(&next).map_err(io(&next))?;
            if f.metadata().map_err(io(&next))?.len() != 0 {
                f.set_len(0).map_err(io(&next))?;
                f.sync_all().map_err(io(&next))?;
            }
        }
        Ok(())
    }

    fn write(&mut self, lines: &[&[u8]]) -> Result<(), LogError> {
        if lines.is_empty() {
            return Ok(());
        }
        self.cut_back()?;
        let mut open: Option<(PathBuf, File)> = None;
        let mut touched: Vec<(PathBuf, File)> = Vec::new();
        let mut created = false;
        for line in lines {
            let seq = self.len;
            if seq.is_multiple_of(SEGMENT_LEN) || open.is_none() {
                if let Some(f) = open.take() {
                    touched.push(f);
                }
                let index = seq / SEGMENT_LEN;
                let path = self.active_path(index);
                if seq.is_multiple_of(SEGMENT_LEN) {
                    created |= !path.exists();
                    (self.active, self.hasher, self.bytes) = (index, blake3::Hasher::new(), 0);
                }
                let mut f =
                    OpenOptions::new().create(true).write(true).truncate(false).open(&path).map_err(io(&path))?;
                f.seek(SeekFrom::Start(self.bytes)).map_err(io(&path))?;
                open = Some((path, f));
            }
            let Some((path, f)) = open.as_mut() else { continue };
            let mut buf = Vec::with_capacity(line.len() + 1);
            buf.extend_from_slice(line);
            buf.push(b'\n');
            f.write_all(&buf).map_err(io(path))?;
            self.hasher.update(&buf);
            self.bytes += buf.len() as u64;
            self.len += 1;
        }
        touched.extend(open);
        for (path, f) in &touched {
            f.sync_data().map_err(io(path))?;
        }
        if created {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }
}

/// The copy of the latest signed checkpoint kept beside the segments.
pub const CHECKPOINT_FILE: &str = "checkpoint";

/// Replaces the checkpoint copy in the record folder. It is written after every commit but made durable only when
/// `durable` (at open): after a power loss it may be an older checkpoint, which is still a true lower bound of what
/// the ledger signed, and that is all `repair` and the open take it for.
pub fn write_checkpoint(dir: &Path, note: &str, durable: bool) -> Result<(), LogError> {
    let folder = dir.join(RECORDS_DIR);
    let (tmp, path) = (folder.join("checkpoint.tmp"), folder.join(CHECKPOINT_FILE));
    let mut f = File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(note.as_bytes()).map_err(io(&tmp))?;
    if durable {
        f.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    if durable {
        sync_dir(&folder)?;
    }
    Ok(())
}

/// The checkpoint copy in the record folder, if there is one.
pub fn read_checkpoint(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join(RECORDS_DIR).join(CHECKPOINT_FILE)).ok()
}

/// Makes a folder's entries (a new file's name) durable.
pub fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// The line of each record must hash to the hash sled recorded for it; the first seq where they differ.
pub fn first_difference(
    scan: &Scan,
    stored: impl Fn(u64) -> Result<Option<EventHash>, LogError>,
) -> Result<Option<u64>, LogError> {
    let base = scan.tail_first();
    for (k, line) in scan.tail.iter().enumerate() {
        let seq = base + k as u64;
        if stored(seq)? != Some(EventHash::of(line)) {
            return Ok(Some(seq));
        }
    }
    Ok(None)
}
