//! sled's handle and its trees, held so that the log can reopen sled in place: sled 0.34 keeps the first I/O error
//! it meets for the life of its handle (every later write and flush returns it, even once the disk has room
//! again), so after a full or read-only disk the writer drops the handle and opens a new one, and readers pick the
//! new one up at their next read. Also what tells a disk that refuses writes from a damaged store.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use super::{Log, LogError, io, open_with_retry, sled_config};

/// One open sled handle and the trees the log reads and writes through it.
pub(super) struct Trees {
    pub(super) db: sled::Db,
    pub(super) events: sled::Tree,
    pub(super) hashes: sled::Tree,
    pub(super) meta: sled::Tree,
    pub(super) idem: sled::Tree,
    pub(super) index: sled::Tree,
    pub(super) merkle: sled::Tree,
    pub(super) timeline: sled::Tree,
    pub(super) cache: sled::Tree,
    /// API tokens: the BLAKE3 hash of the secret → the token's record. Not part of the hashed log: who may write is
    /// access control, while what was written names its actor in every event.
    pub(super) tokens: sled::Tree,
    /// The sled data file, kept open to fsync it: sled's own flush uses sync_file_range, which does not survive
    /// power loss on all hardware.
    pub(super) data_file: File,
}

impl Trees {
    /// Opens sled in `dir` (waiting for its lock when `wait`) and every tree the log uses.
    pub(super) fn open(dir: &Path, wait: bool) -> Result<Self, LogError> {
        let path = dir.join("sled");
        let db = if wait { open_with_retry(&path)? } else { sled_config(&path).open()? };
        let data_path = path.join("db");
        let data_file = File::open(&data_path).map_err(io(&data_path))?;
        Ok(Self {
            events: db.open_tree("events")?,
            hashes: db.open_tree("hashes")?,
            meta: db.open_tree("meta")?,
            idem: db.open_tree("idempotency")?,
            index: db.open_tree("index")?,
            merkle: db.open_tree("merkle")?,
            timeline: db.open_tree("timeline")?,
            // The tree keeps its first name so that existing data dirs open unchanged.
            cache: db.open_tree("snapshots")?,
            tokens: db.open_tree("tokens")?,
            db,
            data_file,
        })
    }
}

/// The slot the log's trees live in: swapped whole by a reopen.
pub(super) struct Slot {
    trees: RwLock<Option<Arc<Trees>>>,
    /// Held by whoever opens sled again, so that two never try at once.
    reopening: Mutex<()>,
    /// Set while a failed commit is not settled: readers write nothing to sled then.
    refusing: std::sync::atomic::AtomicBool,
}

impl Slot {
    pub(super) fn new(trees: Trees) -> Self {
        Self { trees: RwLock::new(Some(Arc::new(trees))), reopening: Mutex::new(()), refusing: Default::default() }
    }
}

/// How a disk refused a write. None of these is damage: the store is as it was before the write, and writes
/// resume by themselves once the disk takes them again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskRefusal {
    /// No space left on the device (ENOSPC).
    Full,
    /// The file system is read-only (EROFS).
    ReadOnly,
    /// The disk quota of the user running planledger is used up (EDQUOT).
    Quota,
}

impl DiskRefusal {
    /// What the operator is told: what happened to the disk holding `path` and what to do.
    pub fn explain(self, path: &Path) -> String {
        let p = path.display();
        match self {
            DiskRefusal::Full => format!(
                "the disk holding {p} is full: free space on it; nothing was appended, and writes resume by \
                 themselves once there is room"
            ),
            DiskRefusal::ReadOnly => format!(
                "the disk holding {p} is read-only: make it writable again (e.g. `mount -o remount,rw`); nothing \
                 was appended, and writes resume by themselves once it takes writes"
            ),
            DiskRefusal::Quota => format!(
                "the disk quota of the user running planledger is used up on {p}: free space or raise the quota; \
                 nothing was appended, and writes resume by themselves once there is room"
            ),
        }
    }

    /// The refusal an I/O error is, if it is one.
    pub fn of(e: &std::io::Error) -> Option<Self> {
        use std::io::ErrorKind;
        match e.kind() {
            ErrorKind::StorageFull => return Some(DiskRefusal::Full),
            ErrorKind::ReadOnlyFilesystem => return Some(DiskRefusal::ReadOnly),
            ErrorKind::QuotaExceeded => return Some(DiskRefusal::Quota),
            _ => {}
        }
        // sled passes some errors on as text ("Os { code: 28, … }") under another kind.
        let text = format!("{e:?}");
        [("code: 28,", DiskRefusal::Full), ("code: 30,", DiskRefusal::ReadOnly), ("code: 122,", DiskRefusal::Quota)]
            .into_iter()
            .find_map(|(code, r)| text.contains(code).then_some(r))
    }
}

impl LogError {
    /// Whether this is the disk refusing a write (full, read-only, over quota) rather than damage, and which.
    pub fn disk_refusal(&self) -> Option<DiskRefusal> {
        match self {
            LogError::Storage(sled::Error::Io(e)) | LogError::Io { source: e, .. } => DiskRefusal::of(e),
            LogError::Reopening { refusal, .. } => *refusal,
            _ => None,
        }
    }

    /// Whether sled itself failed (an I/O error inside sled), after which its handle refuses every write.
    pub(crate) fn failed_in_sled(&self) -> bool {
        matches!(self, LogError::Storage(_))
    }
}

/// Free space the writer keeps on the data dir's disk, besides four times the batch: sled writes in 512 KiB segments
/// and rewrites pages, and a roll-back and a reopen need room too. A commit refused for lack of room writes
/// nothing, so sled never meets the full disk itself (after which even its reads can fail, see `reopen`).
const ROOM: u64 = 16 << 20;

/// Bytes the probe writes: a few of sled's segments (512 KiB each), what a reopen and a roll-back need.
const PROBE_BYTES: usize = 2 << 20;

impl Log {
    /// sled's trees, through the handle open now.
    pub(super) fn t(&self) -> Result<Arc<Trees>, LogError> {
        if let Some(t) = self.slot.trees.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            return Ok(t.clone());
        }
        // A reopen failed (the disk refused again): whoever reads next tries once more, unless one is under way.
        let sled_dir = self.dir.join("sled");
        let Ok(_g) = self.slot.reopening.try_lock() else {
            return Err(LogError::Reopening { path: sled_dir, refusal: None });
        };
        let mut slot = self.slot.trees.write().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = slot.as_ref() {
            return Ok(t.clone());
        }
        match Trees::open(&self.dir, false) {
            Ok(t) => {
                tracing::info!("sled reopened");
                let t = Arc::new(t);
                *slot = Some(t.clone());
                Ok(t)
            }
            Err(e) => Err(LogError::Reopening { path: sled_dir, refusal: e.disk_refusal() }),
        }
    }

    /// Drops sled's handle and opens a new one in its place, so that writes work again after sled met an I/O
    /// error. Reads in flight finish on the old handle; sled's lock waits for them.
    pub(crate) fn reopen(&self) -> Result<(), LogError> {
        let _g = self.slot.reopening.lock().unwrap_or_else(|e| e.into_inner());
        let old = self.slot.trees.write().unwrap_or_else(|e| e.into_inner()).take();
        let weak = old.as_ref().map(Arc::downgrade);
        drop(old);
        match Trees::open(&self.dir, true) {
            Ok(t) => {
                *self.slot.trees.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(t));
                tracing::info!("sled reopened after a failed write");
                Ok(())
            }
            Err(e) => {
                // A reader that still holds the old handle keeps it usable for reads until the next try.
                *self.slot.trees.write().unwrap_or_else(|e| e.into_inner()) = weak.and_then(|w| w.upgrade());
                Err(e)
            }
        }
    }

    /// Refuses a batch of `bytes` bytes, before anything is written, when the data dir's disk is read-only or has
    /// less free space than the batch needs with `ROOM` to spare (as a full disk would refuse it).
    pub(crate) fn room_for(&self, bytes: u64) -> Result<(), LogError> {
        if self.faults.as_ref().is_some_and(|f| f.ignore_room.load(std::sync::atomic::Ordering::SeqCst)) {
            return Ok(());
        }
        #[cfg(unix)]
        {
            use std::io::{Error, ErrorKind};
            let st = rustix::fs::statvfs(&self.dir).map_err(|e| io(&self.dir)(Error::from(e)))?;
            if st.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY) {
                return Err(io(&self.dir)(Error::new(ErrorKind::ReadOnlyFilesystem, "the file system is read-only")));
            }
            // A file system the kernel turned read-only after an error (ext4's errors=remount-ro) need not say so
            // in statvfs; opening a file for writing asks the file system itself, without writing.
            let probe = self.dir.join(".write-probe");
            std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(&probe).map_err(io(&probe))?;
            let free = st.f_bavail.saturating_mul(st.f_frsize);
            let need = ROOM.saturating_add(bytes.saturating_mul(4));
            if free < need {
                return Err(io(&self.dir)(Error::new(
                    ErrorKind::StorageFull,
                    format!("{free} bytes free, and a commit keeps {need} free"),
                )));
            }
        }
        #[cfg(not(unix))]
        let _ = bytes;
        Ok(())
    }

    /// Whether a reader may write to sled now (the projection cache): not while a commit failed and is not settled,
    /// nor on a disk without the room the writer keeps, so that no reader's write makes sled meet the disk's
    /// refusal (after which its reads can fail too).
    pub(crate) fn readers_may_write(&self, bytes: u64) -> Result<(), LogError> {
        if self.slot.refusing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(LogError::Reopening { path: self.dir.join("sled"), refusal: None });
        }
        self.room_for(bytes)
    }

    /// Marks the disk as refusing writes (a commit failed) or as taking them again (it was settled).
    pub(crate) fn set_refusing(&self, refusing: bool) {
        self.slot.refusing.store(refusing, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether the disk takes writes now: writes, fsyncs and removes a file of a few MiB in the data dir. Fails
    /// with the disk's refusal while it is still full or read-only.
    pub(crate) fn probe(&self) -> Result<(), LogError> {
        let path: PathBuf = self.dir.join(".write-probe");
        let r = (|| {
            let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(&path)?;
            f.write_all(&vec![0u8; PROBE_BYTES])?;
            f.sync_all()
        })();
        let removed = std::fs::remove_file(&path);
        r.map_err(io(&path))?;
        removed.map_err(io(&path))
    }
}
