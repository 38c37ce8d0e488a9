//! The snapshot commands: `snapshot` (a plan at a named version, attested by the data dir's checkpoint),
//! `verify-snapshot`, and the seed snapshots that `build-seeds` writes and checks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};

use planledger::core::domain::PlanId;
use planledger::core::published::{self, Attestation, CheckedLedger, SnapshotError};
use planledger::core::record::Record;
use planledger::core::record::split_lines;
use planledger::store::ledger::Ledger;

use super::audit::load_pubkey;
use super::{Exit, domain_refused, ledger_error, open_existing, refused};

/// The stored bytes of the first `n` events of an open ledger.
fn data_lines(ledger: &Ledger, n: u64) -> Result<Vec<Vec<u8>>> {
    let mut lines = Vec::new();
    while (lines.len() as u64) < n {
        let from = lines.len() as u64;
        let batch = ledger.read_events(from, (n - from).min(10_000)).map_err(ledger_error)?;
        if batch.is_empty() {
            return Err(anyhow!("the ledger ends at seq {from}, before its head of {n} events"));
        }
        lines.extend(batch.into_iter().map(|(_, b)| b));
    }
    Ok(lines)
}

fn checked(lines: &[Vec<u8>], source: &str) -> Result<CheckedLedger> {
    CheckedLedger::verify(lines).map_err(|e| {
        Exit::VerifyFailed(format!("verification FAILED: {source}: first bad event seq {}: {}", e.seq, e.what)).into()
    })
}

pub fn snapshot(data: &Path, plan: &str, version: &str, out: Option<&Path>) -> Result<ExitCode> {
    let id = PlanId::new(plan).map_err(|p| refused(format!("plan: {p}")))?;
    let ledger = open_existing(data)?;
    // The checkpoint and the head it signs are published together; the snapshot is taken from exactly those events.
    let (checkpoint, n) = {
        let p = ledger.read();
        (p.checkpoint.clone(), p.head.len)
    };
    let lines = data_lines(&ledger, n)?;
    let ledger_checked = checked(&lines, &format!("the ledger in {}", data.display()))?;
    let mut snap = ledger_checked.snapshot(&id, version, "--version").map_err(domain_refused)?;
    let consistency = ledger.consistency_proof(snap.tree_size, n).map_err(ledger_error)?;
    snap.attestation = Some(Attestation { checkpoint, consistency });
    let json = snap.to_json();
    // Never hand out a snapshot that does not verify: check it as a reader would, with the ledger's own key.
    let key = ledger.verifier();
    ledger.close();
    published::verify(json.as_bytes(), &ledger_checked, Some(&key))
        .map_err(|e| anyhow!("the snapshot just taken does not verify: {e}"))?;
    match out {
        Some(p) => {
            std::fs::write(p, &json).with_context(|| format!("writing {}", p.display()))?;
            eprintln!(
                "wrote the snapshot of {id} version {version:?} (seq {}, tree size {}, attested by the checkpoint \
                 of {n} events) to {}",
                snap.seq,
                snap.tree_size,
                p.display()
            );
        }
        None => out!("{json}"),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn verify_snapshot(data: &Path, file: &Path, ledger_files: &[PathBuf], pubkey: Option<&str>) -> Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let mut key = pubkey.map(load_pubkey).transpose()?;
    let (lines, source) = if ledger_files.is_empty() {
        let ledger = open_existing(data)?;
        let n = ledger.head().len;
        let lines = data_lines(&ledger, n)?;
        if key.is_none() {
            key = Some(ledger.verifier());
        }
        ledger.close();
        (lines, format!("the ledger in {}", data.display()))
    } else {
        let mut all = Vec::new();
        for f in ledger_files {
            let b = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
            all.extend(split_lines(&b).map_err(|e| refused(format!("--ledger: {}: {}", f.display(), e.what)))?);
        }
        if let Some(Ok(r)) = all.first().map(|l| Record::decode(l))
            && r.seq.0 > 0
        {
            return Err(refused(format!(
                "--ledger: the files start at seq {}; give every file of the ledger from seq 0, in order",
                r.seq
            )));
        }
        let files = if ledger_files.len() == 1 { "file" } else { "files" };
        let source = format!("the ledger files ({} {files}, {} events)", ledger_files.len(), all.len());
        (all, source)
    };
    let ledger_checked = checked(&lines, &source)?;
    let v = match published::verify(&bytes, &ledger_checked, key.as_ref()) {
        Ok(v) => v,
        Err(SnapshotError::KeyNeeded) => {
            return Err(refused(
                "--pubkey: the snapshot carries an attestation; give the ledger's public key (or a file holding it) \
                 to check its checkpoint's signature",
            ));
        }
        Err(SnapshotError::Mismatch(ms)) => {
            let lines: Vec<String> = ms.iter().map(|m| format!("  {m}")).collect();
            return Err(Exit::VerifyFailed(format!(
                "verification FAILED: {} does not match {source}:\n{}",
                file.display(),
                lines.join("\n")
            ))
            .into());
        }
        Err(e) => return Err(Exit::VerifyFailed(format!("verification FAILED: {}: {e}", file.display())).into()),
    };
    let s = &v.snapshot;
    outln!(
        "ok: snapshot of plan {} version {:?} matches {source}: the document at seq {}, head hash {}, root {} of {} \
         events",
        s.plan,
        s.version,
        s.seq,
        s.head_hash,
        s.root,
        s.tree_size
    );
    match &v.checkpoint {
        Some(cp) => outln!(
            "attested: the root is a prefix of the checkpoint of {} events signed by {} (consistency proof checked){}",
            cp.size,
            cp.origin,
            if v.checkpoint_root_compared {
                "; the ledger reproduces the checkpoint's root"
            } else {
                "; the ledger given is shorter than the checkpoint, so its root was not recomputed"
            }
        ),
        None => outln!(
            "no attestation: the snapshot is pinned to the ledger by its head hash and root only (as the seed \
             snapshots are)"
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// The `.json` files under a snapshots directory, as `plan/file.json`.
fn existing_snapshots(root: &Path) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    if !root.exists() {
        return Ok(out);
    }
    for d in std::fs::read_dir(root).with_context(|| format!("reading {}", root.display()))? {
        let d = d?;
        if !d.file_type()?.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(d.path()).with_context(|| format!("reading {}", d.path().display()))? {
            let f = f?;
            let name = f.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") {
                out.insert(format!("{}/{name}", d.file_name().to_string_lossy()));
            }
        }
    }
    Ok(out)
}

/// Writes (or, with `check`, compares byte for byte) the snapshot of every named version of every plan in the seed
/// lines under `root`. Returns the number of files that differ, are missing or should not be there.
pub fn seed_snapshots(lines: &[Vec<u8>], root: &Path, check: bool) -> Result<usize> {
    let ledger_checked = checked(lines, "the seed ledger")?;
    let snaps = ledger_checked.snapshots().map_err(domain_refused)?;
    let before = existing_snapshots(root)?;
    let mut expected = BTreeSet::new();
    let mut differ = 0;
    for s in &snaps {
        let rel = s.relative_path().map_err(domain_refused)?;
        let path = root.join(&rel);
        let json = s.to_json();
        let what = format!("(plan {}, version {:?}, seq {})", s.plan, s.version, s.seq);
        if check {
            let same = std::fs::read(&path).map(|b| b == json.as_bytes()).unwrap_or(false);
            outln!("{} {} {what}", if same { "same" } else { "DIFFERS" }, path.display());
            differ += usize::from(!same);
        } else {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(&path, &json).with_context(|| format!("writing {}", path.display()))?;
            outln!("wrote {} {what}", path.display());
        }
        expected.insert(rel);
    }
    for stale in before.difference(&expected) {
        let path = root.join(stale);
        if check {
            outln!("EXTRA {} (no named version gives this file)", path.display());
            differ += 1;
        } else {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            outln!("removed {} (no named version gives this file)", path.display());
        }
    }
    Ok(differ)
}
