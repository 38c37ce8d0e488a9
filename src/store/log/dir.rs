//! The data dir itself: its lock file, taken before anything else is touched, and the sled snapshot files a cut-short
//! write left behind.

use std::fs::File;
use std::path::Path;

use super::{LogError, io};

/// Takes the data dir's lock file, waiting up to ten seconds as `open_with_retry` does for sled's.
pub(crate) fn lock_dir(dir: &Path) -> Result<File, LogError> {
    let path = dir.join("lock");
    let f = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io(&path))?;
    let mut tries = 0;
    loop {
        match f.try_lock() {
            Ok(()) => return Ok(f),
            Err(std::fs::TryLockError::WouldBlock) if tries < 200 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                // The same words as sled's, which callers (and the CLI's "the server holds the store") look for.
                return Err(LogError::Io {
                    path,
                    source: std::io::Error::other("could not acquire lock: another process has the data dir open"),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(&path)(e)),
        }
    }
}

/// Moves sled snapshot files that were still being written (`snap.*.generating`) out of sled's folder: sled renames a
/// snapshot when it is complete, so such a file is a write a crash or a full disk cut short, and sled 0.34 would
/// take it for its snapshot and no longer open.
pub(super) fn set_aside_unfinished_snapshots(dir: &Path) -> Result<(), LogError> {
    let sled_dir = dir.join("sled");
    let Ok(entries) = std::fs::read_dir(&sled_dir) else { return Ok(()) };
    for entry in entries {
        let entry = entry.map_err(io(&sled_dir))?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            let aside = dir.join("set-aside");
            std::fs::create_dir_all(&aside).map_err(io(&aside))?;
            let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
            let to = aside.join(format!("{name}.{stamp}"));
            std::fs::rename(entry.path(), &to).map_err(io(&to))?;
            tracing::warn!(file = %entry.path().display(), moved_to = %to.display(), "set aside an unfinished sled snapshot");
        }
    }
    Ok(())
}
