//! Private copies of a data dir: a command that only reads (`verify`) works on a read-only data dir (an auditor's
//! mount, a backup on write-once media) by reading a writable copy, because sled cannot open files it may not
//! write.

use std::path::{Path, PathBuf};

use crate::store::log::file::RECORDS_DIR;
use crate::store::log::{KEY_FILE, LogError, io};

/// Whether files can be created in `dir`.
pub fn writable(dir: &Path) -> bool {
    let probe = dir.join(format!(".write-check-{}", std::process::id()));
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => std::fs::remove_file(&probe).is_ok(),
        Err(_) => false,
    }
}

/// Whether the disk holding `dir` takes writes: creates, writes, fsyncs and removes a small file in it. The error
/// names the disk's refusal (`LogError::disk_refusal`) when it is read-only or full.
pub fn probe_writable(dir: &Path) -> Result<(), LogError> {
    use std::io::Write;
    let probe = dir.join(format!(".write-check-{}", std::process::id()));
    let r = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(&probe)?;
        f.write_all(b"planledger write check\n")?;
        f.sync_all()
    })();
    let removed = std::fs::remove_file(&probe);
    r.map_err(io(&probe))?;
    removed.map_err(io(&probe))
}

/// A copy removed when dropped.
#[derive(Debug)]
pub struct TempCopy {
    pub path: PathBuf,
}

impl Drop for TempCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Copies the store (sled's files, the record file and the key) of `dir` into a new private folder.
pub fn private_copy(dir: &Path) -> Result<TempCopy, LogError> {
    let stamp = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let path = std::env::temp_dir().join(format!("planledger-copy-{}-{stamp}", std::process::id()));
    std::fs::create_dir_all(&path).map_err(io(&path))?;
    let copy = TempCopy { path };
    for name in ["sled", RECORDS_DIR] {
        let from = dir.join(name);
        if from.exists() {
            copy_tree(&from, &copy.path.join(name))?;
        }
    }
    let key = dir.join(KEY_FILE);
    std::fs::copy(&key, copy.path.join(KEY_FILE)).map_err(io(&key))?;
    Ok(copy)
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), LogError> {
    std::fs::create_dir_all(to).map_err(io(to))?;
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().map_err(io(&src))?.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(io(&src))?;
        }
    }
    Ok(())
}
