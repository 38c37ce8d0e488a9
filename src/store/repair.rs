//! `repair`: rebuilds sled and the record file from whichever copy of the record verifies to the latest
//! checkpoint, beside the data dir, then swaps the rebuilt files in and sets the old ones aside. It refuses when
//! neither copy reaches the checkpoint, so it never makes a shorter or different history than one the ledger signed.

use std::path::{Path, PathBuf};

use crate::core::audit::LedgerHasher;
use crate::core::audit::merkle::Frontier;
use crate::core::audit::note::{Checkpoint, NoteSigner};
use crate::core::domain::EventHash;
use crate::store::bounded;
use crate::store::ledger::{Ledger, LedgerError, verify_dir};
use crate::store::log::file::{RECORDS_DIR, sync_dir};
use crate::store::log::salvage::{self, SledSalvage, Verified};
use crate::store::log::{KEY_FILE, LogError, lock_dir};

#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    /// Repair cannot be done safely; nothing was changed.
    #[error("repair refused, nothing was changed: {0}")]
    Refused(String),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// What repair found and did, line by line, for the operator.
#[derive(Debug, Default)]
pub struct RepairReport {
    pub lines: Vec<String>,
    /// Events in the repaired ledger.
    pub events: u64,
    /// Whether anything was rebuilt.
    pub rebuilt: bool,
}

/// One copy of the record: its name, its verified events and the tree root over its first `size` of them.
struct Side {
    name: &'static str,
    verified: Verified,
}

impl Side {
    fn root_at(&self, size: u64) -> Option<[u8; 32]> {
        if (self.verified.lines.len() as u64) < size {
            return None;
        }
        let mut f = Frontier::<LedgerHasher>::default();
        for l in self.verified.lines.iter().take(usize::try_from(size).ok()?) {
            f.push(&EventHash::of(l).0, |_, _| {});
        }
        Some(f.root())
    }

    fn describe(&self) -> String {
        let n = self.verified.lines.len();
        match &self.verified.problem {
            None => format!("{}: {n} events, all verify", self.name),
            Some(p) => format!("{}: {n} events verify, then {p}", self.name),
        }
    }
}

/// Repairs the data dir in `dir`. `checkpoints` are signed checkpoint notes kept outside it (a backup's, a
/// witness's, the portal's): the ledger must reach the latest of them and of sled's own.
pub fn repair(dir: &Path, checkpoints: &[String]) -> Result<RepairReport, RepairError> {
    let mut report = RepairReport::default();
    let lock = lock_dir(dir)?;
    let key = salvage::key_text(dir)?;
    let signer = NoteSigner::parse(&key).map_err(|source| LogError::Key { path: dir.join(KEY_FILE), source })?;
    let verifier = signer.verifier();
    let d = dir.to_path_buf();
    let file = bounded::run("reading the record file", move |p| Ok(salvage::record_file(&d, &p)))?;
    let d = dir.to_path_buf();
    let sled = bounded::run(&format!("reading sled in {}", dir.display()), move |p| salvage::sled(&d, &p))
        .unwrap_or_else(|e| SledSalvage {
            events: Verified { lines: vec![], problem: Some(e.to_string()) },
            ..SledSalvage::default()
        });
    let mut anchors: Vec<(String, Checkpoint)> = Vec::new();
    match sled.checkpoint.as_deref().map(|n| Checkpoint::open(n, &verifier)) {
        Some(Ok(cp)) => anchors.push(("sled's latest checkpoint".into(), cp)),
        Some(Err(e)) => report.lines.push(format!("sled's checkpoint does not verify ({e}); it is not used")),
        None => report.lines.push("sled's checkpoint cannot be read".into()),
    }
    match crate::store::log::file::read_checkpoint(dir).map(|n| Checkpoint::open(&n, &verifier)) {
        Some(Ok(cp)) => anchors.push(("the record folder's checkpoint copy".into(), cp)),
        Some(Err(e)) => {
            report.lines.push(format!("the record folder's checkpoint copy does not verify ({e}); it is not used"))
        }
        None => report.lines.push("the record folder holds no checkpoint copy".into()),
    }
    for (i, note) in checkpoints.iter().enumerate() {
        let cp = Checkpoint::open(note, &verifier).map_err(|e| {
            RepairError::Refused(format!("checkpoint {} given does not verify with this ledger's key: {e}", i + 1))
        })?;
        anchors.push((format!("the checkpoint given ({} events)", cp.size), cp));
    }
    let Some((anchor_name, anchor)) = anchors.iter().max_by_key(|(_, cp)| cp.size) else {
        return Err(RepairError::Refused(
            "neither sled's checkpoint nor the record folder's copy can be read, so the size the ledger last signed \
             is unknown: give the latest checkpoint you hold (a backup's, a witness's or the portal's) with \
             --checkpoint FILE"
                .into(),
        ));
    };
    let sides = [Side { name: "the record file", verified: file }, Side { name: "sled", verified: sled.events }];
    for s in &sides {
        report.lines.push(s.describe());
    }
    report.lines.push(format!("the ledger must reach {anchor_name}: {} events", anchor.size));
    let reaching: Vec<&Side> = sides.iter().filter(|s| s.root_at(anchor.size) == Some(anchor.root)).collect();
    let Some(best) = reaching.iter().max_by_key(|s| s.verified.lines.len()) else {
        return Err(RepairError::Refused(format!(
            "neither copy verifies to {anchor_name} ({} events): {}; {}",
            anchor.size,
            sides[0].describe(),
            sides[1].describe()
        )));
    };
    let n = best.verified.lines.len() as u64;
    report.events = n;
    let agree = sides.iter().all(|s| s.verified.problem.is_none() && s.verified.lines.len() as u64 == n);
    drop(lock);
    if agree && verify_dir(dir).is_ok() {
        report.lines.push(format!("nothing to repair: both copies hold the same {n} verified events"));
        return Ok(report);
    }
    let lock = lock_dir(dir)?;
    let tmp = dir.join("repair.tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(crate::store::log::io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(crate::store::log::io(&tmp))?;
    copy_key(dir, &tmp)?;
    let ledger = Ledger::open(&tmp)?;
    for chunk in best.verified.lines.chunks(4096) {
        ledger.import_blocking(chunk.to_vec())?;
    }
    ledger.log().put_carried(&sled.tokens, &sled.idempotency)?;
    ledger.close();
    report.lines.push(format!("rebuilt sled and the record file from {}: {n} events", best.name));
    report.lines.push(format!(
        "carried over {} API tokens and {} idempotency records from sled",
        sled.tokens.len(),
        sled.idempotency.len()
    ));
    let aside = swap_in(dir, &tmp)?;
    report.lines.push(format!("the old files are set aside in {}", aside.display()));
    drop(lock);
    verify_dir(dir).map_err(|e| RepairError::Refused(format!("the rebuilt ledger does not verify: {e}")))?;
    report.lines.push(format!("the rebuilt ledger verifies: {n} events"));
    report.rebuilt = true;
    Ok(report)
}

fn copy_key(dir: &Path, tmp: &Path) -> Result<(), LogError> {
    let (from, to) = (dir.join(KEY_FILE), tmp.join(KEY_FILE));
    std::fs::copy(&from, &to).map_err(crate::store::log::io(&to))?;
    Ok(())
}

/// Moves the old `sled` and `records` into `set-aside/` and the rebuilt ones in, and removes what is left of `tmp`.
fn swap_in(dir: &Path, tmp: &Path) -> Result<PathBuf, LogError> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ").to_string();
    let aside = dir.join("set-aside").join(format!("repair-{stamp}"));
    std::fs::create_dir_all(&aside).map_err(crate::store::log::io(&aside))?;
    for name in ["sled", RECORDS_DIR] {
        let (old, new) = (dir.join(name), tmp.join(name));
        if old.exists() {
            std::fs::rename(&old, aside.join(name)).map_err(crate::store::log::io(&old))?;
        }
        std::fs::rename(&new, &old).map_err(crate::store::log::io(&new))?;
    }
    sync_dir(dir)?;
    std::fs::remove_dir_all(tmp).map_err(crate::store::log::io(tmp))?;
    Ok(aside)
}
