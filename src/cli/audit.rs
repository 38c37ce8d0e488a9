//! The audit commands: proofs, bundles, and verification of the data dir or of ledger files against checkpoints.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use planledger::core::audit::merkle::{MemoryTree, Rfc6962Sha256};
use planledger::core::audit::note::{Checkpoint, NoteVerifier};
use planledger::core::audit::{Bundle, b64};
use planledger::core::domain::{EventHash, Seq};
use planledger::core::record::{ChainVerifier, split_lines, verify_lines};
use planledger::store::LogError;
use planledger::store::ledger::{Ledger, VerifyFailure, verify_dir_with};

use super::defs::ProveCmd;
use super::{Exit, ledger_error, refused};

/// A public key given inline or as a file holding it.
pub fn load_pubkey(arg: &str) -> Result<NoteVerifier> {
    let text = if Path::new(arg).is_file() {
        std::fs::read_to_string(arg).with_context(|| format!("reading {arg}"))?
    } else {
        arg.to_string()
    };
    NoteVerifier::parse(&text).map_err(|e| refused(format!("--pubkey: {e}")))
}

fn failed(msg: String) -> anyhow::Error {
    Exit::VerifyFailed(format!("verification FAILED: {msg}")).into()
}

pub fn prove(ledger: &Ledger, cmd: ProveCmd) -> Result<ExitCode> {
    match cmd {
        ProveCmd::Inclusion { seq, size, json } => {
            let p = ledger.inclusion_proof(seq, size).map_err(ledger_error)?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&p)?);
            } else {
                outln!("inclusion of seq {} in the tree of {} events", p.leaf_index, p.tree_size);
                outln!("entry (blake3 of the event): {}", p.entry);
                outln!("leaf hash: {}", p.leaf_hash);
                outln!("root:      {}", p.root);
                outln!("proof ({} hashes, leaf side first):", p.proof.len());
                for h in &p.proof {
                    outln!("  {h}");
                }
            }
        }
        ProveCmd::Consistency { m, n, json } => {
            let p = ledger.consistency_proof(m, n).map_err(ledger_error)?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&p)?);
            } else {
                outln!("consistency of the tree of {} events with the tree of {} events", p.size1, p.size2);
                outln!("root of {}: {}", p.size1, p.root1);
                outln!("root of {}: {}", p.size2, p.root2);
                outln!("proof ({} hashes):", p.proof.len());
                for h in &p.proof {
                    outln!("  {h}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn verify_bundle(file: &Path, pubkey: &str) -> Result<ExitCode> {
    let key = load_pubkey(pubkey)?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    match Bundle::verify(&bytes, &key) {
        Ok(v) => {
            outln!(
                "ok: event seq {} ({}) is in the ledger {} of {} events, checkpoint signed by {}",
                v.record.seq,
                v.event_hash,
                v.checkpoint.origin,
                v.checkpoint.size,
                key.name
            );
            let r = &v.record;
            outln!(
                "{} on plan {}, recorded {} by {}, effective {}",
                r.event.type_name(),
                r.event.plan(),
                r.recorded_at.to_rfc3339(),
                r.actor.id,
                r.effective
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(failed(format!("{}: {e}", file.display()))),
    }
}

pub fn verify_data(data: &Path, since: Option<&Path>, key: Option<&NoteVerifier>) -> Result<ExitCode> {
    if !planledger::store::holds_ledger(data) {
        return Err(refused(format!("no ledger in {}", data.display())));
    }
    let earlier =
        since.map(|p| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))).transpose()?;
    let copy = crate::cli::read_only_copy(data)?;
    let dir = copy.as_ref().map_or(data, |c| c.path.as_path());
    let verified = match crate::cli::admin::serving() {
        Some(ledger) => planledger::store::ledger::verify_open_with(&ledger, key, earlier.as_deref()),
        None => verify_dir_with(dir, key, earlier.as_deref()),
    };
    let report = verified.map_err(|e| match &e {
        VerifyFailure::Store(l)
            if crate::cli::unreadable(l) && !matches!(l, LogError::Corruption { .. } | LogError::Mismatch { .. }) =>
        {
            crate::cli::Exit::Unreadable(format!("cannot read the store: {e}")).into()
        }
        _ => failed(match e.seq() {
            Some(seq) => format!("first bad event seq {seq}: {e}"),
            None => e.to_string(),
        }),
    })?;
    let s = &report.summary;
    outln!("ok: {} events, head {}", s.count, s.head);
    outln!(
        "tree root {} matches the checkpoint of {} signed by {}",
        b64(&report.root),
        report.checkpoint.size,
        report.checkpoint.origin
    );
    if let Some(cp) = &report.since {
        outln!("consistent with the earlier checkpoint of {} events: the ledger only grew since", cp.size);
    }
    Ok(ExitCode::SUCCESS)
}

fn backup_error(e: planledger::store::backup::BackupError) -> anyhow::Error {
    use planledger::store::backup::BackupError;
    match e {
        BackupError::Refused(why) => refused(why),
        BackupError::Bad(why) => failed(why),
        BackupError::Store(l) => Exit::Unreadable(l.to_string()).into(),
        BackupError::Ledger(l) => ledger_error(l),
    }
}

fn print_backup(r: &planledger::store::backup::BackupReport) {
    outln!("{} events, head {}", r.checkpoint.size, r.head);
    outln!("tree root {} matches the checkpoint signed by {}", b64(&r.checkpoint.root), r.checkpoint.origin);
}

/// `backup --out DIR`.
pub fn backup(data: &Path, out: &Path) -> Result<ExitCode> {
    if !planledger::store::holds_ledger(data) {
        return Err(refused(format!("no ledger in {}", data.display())));
    }
    let r = planledger::store::backup::backup(data, out).map_err(backup_error)?;
    outln!("backed up and verified into {}:", r.dir.display());
    print_backup(&r);
    Ok(ExitCode::SUCCESS)
}

/// `verify-backup DIR`.
pub fn verify_backup(dir: &Path) -> Result<ExitCode> {
    let r = planledger::store::backup::verify_backup(dir).map_err(backup_error)?;
    outln!("ok: the backup in {} verifies:", dir.display());
    print_backup(&r);
    Ok(ExitCode::SUCCESS)
}

/// `init --from-backup DIR`.
pub fn restore_backup(from: &Path, data: &Path) -> Result<ExitCode> {
    let r = planledger::store::backup::restore_backup(from, data).map_err(backup_error)?;
    outln!("restored {} from the backup in {} and verified it:", data.display(), from.display());
    print_backup(&r);
    Ok(ExitCode::SUCCESS)
}

/// `repair`: rebuilds the store from the copy of the record that verifies to the latest checkpoint.
pub fn repair(data: &Path, checkpoints: &[std::path::PathBuf]) -> Result<ExitCode> {
    if !planledger::store::holds_ledger(data) {
        return Err(refused(format!("no ledger in {}", data.display())));
    }
    let notes = checkpoints
        .iter()
        .map(|p| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display())))
        .collect::<Result<Vec<_>>>()?;
    match planledger::store::repair::repair(data, &notes) {
        Ok(report) => {
            for l in &report.lines {
                outln!("{l}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(planledger::store::repair::RepairError::Refused(why)) => Err(failed_repair(why)),
        Err(e) => Err(crate::cli::Exit::Unreadable(format!("repair: {e}")).into()),
    }
}

fn failed_repair(why: String) -> anyhow::Error {
    crate::cli::Exit::VerifyFailed(format!("repair refused, nothing was changed: {why}")).into()
}

/// Checks that ledger files reproduce a signed checkpoint: the root of their first `size` events.
pub fn files_match_checkpoint(lines: &[Vec<u8>], checkpoint: &Path, key: &NoteVerifier) -> Result<()> {
    let note = std::fs::read_to_string(checkpoint).with_context(|| format!("reading {}", checkpoint.display()))?;
    let cp = Checkpoint::open(&note, key).map_err(|e| failed(format!("{}: {e}", checkpoint.display())))?;
    let size = usize::try_from(cp.size).unwrap_or(usize::MAX);
    if size == 0 && !lines.is_empty() {
        return Err(failed(format!(
            "the checkpoint is of the empty ledger (size 0): it attests none of the files' {} events",
            lines.len()
        )));
    }
    if size > lines.len() {
        return Err(failed(format!(
            "the checkpoint has {} events but the files hold only {}: events are missing",
            cp.size,
            lines.len()
        )));
    }
    let mut tree = MemoryTree::<Rfc6962Sha256>::default();
    for l in &lines[..size] {
        tree.push(&EventHash::of(l).0);
    }
    if tree.root() != cp.root {
        return Err(failed(format!(
            "the first {} events of the files do not have the checkpoint's root {}",
            cp.size,
            b64(&cp.root)
        )));
    }
    outln!("the first {} events reproduce the checkpoint signed by {}", cp.size, cp.origin);
    if size < lines.len() {
        outln!(
            "note: the files' last {} events (seq {} on) are later than this checkpoint and not attested by it",
            lines.len() - size,
            cp.size
        );
    }
    Ok(())
}

/// Where the files given to `verify --file` start.
pub enum Start {
    /// At seq 0: the whole ledger.
    Beginning,
    /// Wherever their first line says: a segment, checked for encoding, seq and chain.
    Segment,
    /// At this seq, continuing this event hash.
    After(Seq, EventHash),
}

pub fn verify_files(
    files: &[PathBuf],
    start: Start,
    checkpoint: Option<&Path>,
    key: Option<&NoteVerifier>,
) -> Result<ExitCode> {
    let mut all = Vec::new();
    for f in files {
        let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
        let lines = split_lines(&bytes)
            .map_err(|e| Exit::VerifyFailed(format!("verification FAILED: {}: {}", f.display(), e.what)))?;
        all.extend(lines);
    }
    let first = all.first().map(|l| planledger::core::record::Record::decode(l));
    let verifier = match (start, first) {
        (Start::Beginning, Some(Ok(r))) if r.seq.0 > 0 => {
            return Err(Exit::VerifyFailed(format!(
                "verification FAILED: the files start at seq {}, not 0: the events before it are missing (to check \
                 a segment, say so with --segment, or with --from {} --prev HASH)",
                r.seq, r.seq
            ))
            .into());
        }
        (Start::Segment, Some(Ok(r))) => ChainVerifier::segment(r.seq, r.prev),
        (Start::After(seq, prev), _) => ChainVerifier::segment(seq, prev),
        _ => ChainVerifier::new(),
    };
    let rules = verifier.checks_rules();
    let refs: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
    match verify_lines(verifier, refs) {
        Ok((s, _)) => {
            if let Some(cp) = checkpoint {
                if s.first != 0 {
                    return Err(refused("--checkpoint: the files must start at seq 0 to rebuild the tree"));
                }
                let Some(key) = key else {
                    return Err(refused("--checkpoint: give the ledger's public key with --pubkey"));
                };
                files_match_checkpoint(&all, cp, key)?;
            }
            if rules {
                outln!("ok: {} events, head {}", s.count, s.head);
            } else {
                outln!(
                    "ok: {} events (seq {}..={}), head {}; a segment continuing an earlier file: encoding, seq and chain \
                     verified; give the earlier files too to check the plan rules",
                    s.count,
                    s.first,
                    s.first + s.count.saturating_sub(1),
                    s.head
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            Err(Exit::VerifyFailed(format!("verification FAILED: first bad event seq {}: {}", e.seq, e.what)).into())
        }
    }
}
