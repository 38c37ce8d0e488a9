//! Backups: a consistent copy of the ledger at one head, taken from the record file alone, so it works while a
//! server holds the store (the file is append-only, and every line up to the checkpoint copy is durable and final).
//! A backup is verified before it is reported, and `init --from-backup` rebuilds a data dir from one and verifies
//! that it signs the same checkpoint.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::core::audit::LedgerHasher;
use crate::core::audit::merkle::Frontier;
use crate::core::audit::note::{Checkpoint, NoteSigner};
use crate::core::domain::EventHash;
use crate::core::record::ChainVerifier;
use crate::store::ledger::{Ledger, LedgerError, verify_dir};
use crate::store::log::file::{self, CHECKPOINT_FILE, RECORDS_DIR, SEGMENT_LEN};
use crate::store::log::{KEY_FILE, LogError, io};

/// The file in a backup that says what it holds.
pub const MANIFEST: &str = "BACKUP";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The backup cannot be taken or restored as asked; nothing was changed.
    #[error("{0}")]
    Refused(String),
    /// The copy does not verify (it is left in place, marked by the missing manifest).
    #[error("the backup does not verify: {0}")]
    Bad(String),
    #[error(transparent)]
    Store(#[from] LogError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// What a backup holds.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub dir: PathBuf,
    pub checkpoint: Checkpoint,
    pub note: String,
    pub head: EventHash,
}

fn key_signer(dir: &Path) -> Result<NoteSigner, BackupError> {
    let path = dir.join(KEY_FILE);
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    NoteSigner::parse(&text).map_err(|source| LogError::Key { path, source }.into())
}

/// Takes a backup of the ledger in `data` into `out` (which must not exist or be empty): the record lines up to the
/// latest checkpoint copy, that checkpoint, and the signing key (owner-only, as in the data dir). The copy is read
/// back and verified (chain, rules, the tree root against the signed checkpoint) before the manifest is written.
pub fn backup(data: &Path, out: &Path) -> Result<BackupReport, BackupError> {
    if out.exists() && std::fs::read_dir(out).map_err(io(out))?.next().is_some() {
        return Err(BackupError::Refused(format!("--out: {} is not empty", out.display())));
    }
    let signer = key_signer(data)?;
    if file::read_checkpoint(data).is_none() {
        // Every open writes the copy (a server holding the store wrote it when it opened): only a store last opened
        // by an older version lacks it.
        Ledger::open(data)?.close();
    }
    let note = file::read_checkpoint(data).ok_or_else(|| {
        BackupError::Refused(format!("{} has no checkpoint copy in its record folder", data.display()))
    })?;
    let cp = Checkpoint::open(&note, &signer.verifier())
        .map_err(|e| BackupError::Refused(format!("the record folder's checkpoint copy does not verify: {e}")))?;
    let folder = out.join(RECORDS_DIR);
    std::fs::create_dir_all(&folder).map_err(io(&folder))?;
    let mut writer: Option<(PathBuf, std::io::BufWriter<std::fs::File>)> = None;
    for item in file::lines(data, 0, cp.size) {
        let (seq, line) = item?;
        if seq % SEGMENT_LEN == 0 || writer.is_none() {
            finish(writer.take())?;
            let path = folder.join(file::segment_name(seq / SEGMENT_LEN));
            let f = std::fs::File::create(&path).map_err(io(&path))?;
            writer = Some((path, std::io::BufWriter::new(f)));
        }
        if let Some((path, w)) = writer.as_mut() {
            w.write_all(&line).and_then(|()| w.write_all(b"\n")).map_err(io(path))?;
        }
    }
    finish(writer)?;
    let key_to = out.join(KEY_FILE);
    std::fs::copy(data.join(KEY_FILE), &key_to).map_err(io(&key_to))?;
    file::write_checkpoint(out, &note, true)?;
    let head = check(out, &cp)?;
    let manifest = format!(
        "planledger backup\norigin {}\nsize {}\nhead {head}\ntaken {}\n",
        cp.origin,
        cp.size,
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let path = out.join(MANIFEST);
    let mut f = std::fs::File::create(&path).map_err(io(&path))?;
    f.write_all(manifest.as_bytes()).and_then(|()| f.sync_all()).map_err(io(&path))?;
    file::sync_dir(out)?;
    Ok(BackupReport { dir: out.to_path_buf(), checkpoint: cp, note, head })
}

fn finish(w: Option<(PathBuf, std::io::BufWriter<std::fs::File>)>) -> Result<(), LogError> {
    if let Some((path, w)) = w {
        let f = w.into_inner().map_err(|e| io(&path)(e.into_error()))?;
        f.sync_all().map_err(io(&path))?;
    }
    Ok(())
}

/// Verifies the record lines of a backup against checkpoint `cp`: every rule, and the tree root. Returns the head.
fn check(dir: &Path, cp: &Checkpoint) -> Result<EventHash, BackupError> {
    let mut v = ChainVerifier::new();
    let mut tree = Frontier::<LedgerHasher>::default();
    for item in file::lines(dir, 0, cp.size) {
        let (_, line) = item.map_err(|e| BackupError::Bad(e.to_string()))?;
        let (_, h) = v.push(&line).map_err(|e| BackupError::Bad(e.to_string()))?;
        tree.push(&h.0, |_, _| {});
    }
    if tree.root() != cp.root {
        return Err(BackupError::Bad(format!("its {} events do not have the signed checkpoint's root", cp.size)));
    }
    Ok(v.summary().head)
}

/// Checks a backup: its checkpoint signed by its key, and its lines against the checkpoint.
pub fn verify_backup(dir: &Path) -> Result<BackupReport, BackupError> {
    if !dir.join(MANIFEST).exists() {
        return Err(BackupError::Bad(format!(
            "{} has no {MANIFEST} manifest: it is not a finished backup",
            dir.display()
        )));
    }
    let signer = key_signer(dir)?;
    let note = std::fs::read_to_string(dir.join(RECORDS_DIR).join(CHECKPOINT_FILE)).map_err(io(dir))?;
    let cp =
        Checkpoint::open(&note, &signer.verifier()).map_err(|e| BackupError::Bad(format!("its checkpoint: {e}")))?;
    let head = check(dir, &cp)?;
    Ok(BackupReport { dir: dir.to_path_buf(), checkpoint: cp, note, head })
}

/// Creates a data dir in `data` (which must hold no ledger) from the backup in `from`, and verifies that it is the
/// backed-up ledger: the same events, and a checkpoint of the same size and root signed by the same key.
pub fn restore_backup(from: &Path, data: &Path) -> Result<BackupReport, BackupError> {
    if crate::store::holds_ledger(data) || data.join(KEY_FILE).exists() {
        return Err(BackupError::Refused(format!("{} already holds a ledger", data.display())));
    }
    let report = verify_backup(from)?;
    std::fs::create_dir_all(data).map_err(io(data))?;
    let key_to = data.join(KEY_FILE);
    std::fs::copy(from.join(KEY_FILE), &key_to).map_err(io(&key_to))?;
    let ledger = Ledger::open(data)?;
    let mut chunk = Vec::with_capacity(4096);
    for item in file::lines(from, 0, report.checkpoint.size) {
        chunk.push(item?.1);
        if chunk.len() == 4096 {
            ledger.import_blocking(std::mem::take(&mut chunk))?;
        }
    }
    if !chunk.is_empty() {
        ledger.import_blocking(chunk)?;
    }
    ledger.close();
    let v = verify_dir(data).map_err(|e| BackupError::Bad(format!("the restored ledger: {e}")))?;
    if v.checkpoint.size != report.checkpoint.size || v.checkpoint.root != report.checkpoint.root {
        return Err(BackupError::Bad("the restored ledger does not sign the backup's checkpoint".into()));
    }
    Ok(report)
}
