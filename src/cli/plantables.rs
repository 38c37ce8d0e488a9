//! Plan tables at the command line: `import-plan` (a table's events appended, or previewed) and `build-seeds` (the
//! seed ledger files made, or checked, from the tables a manifest lists).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use planledger::core::domain::model::{Actor, Meta};
use planledger::core::plantable;
use planledger::store::ledger::{AppendRequest, Ledger};

use super::defs::OptionalWho;
use super::{Exit, ledger_error, ledger_exists, open_existing, options, parse_effective, published, refused};

/// Reads and parses a plan table file; the core parses text and does no I/O.
fn load_table(path: &Path) -> Result<plantable::PlanTable> {
    let src = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    plantable::parse(&path.display().to_string(), &src).map_err(|e| refused(e.to_string()))
}

pub(super) fn import_plan(data: &Path, file: &Path, who: &OptionalWho, dry_run: bool) -> Result<ExitCode> {
    let name = file.display().to_string();
    let table = load_table(file)?;
    let r = &table.record;
    let actor_id = who.actor.clone().or_else(|| r.actor.as_ref().map(|a| a.id.clone()));
    let Some(actor_id) = actor_id else {
        return Err(refused("--actor: required (or an actor in the table's [record] section)"));
    };
    let from_table = r.actor.as_ref().filter(|a| a.id == actor_id);
    let meta = Meta {
        actor: Actor {
            name: who
                .actor_name
                .clone()
                .or_else(|| from_table.map(|a| a.name.clone()))
                .unwrap_or_else(|| actor_id.clone()),
            department: who.department.clone().or_else(|| from_table.map(|a| a.department.clone())).unwrap_or_default(),
            id: actor_id,
        },
        authority: who.authority.clone().or_else(|| r.authority.clone()),
        reason: who.reason.clone().or_else(|| r.reason.clone()),
        // Without a date of its own the writer takes today in Japan from the clock that stamps the events.
        effective: who.effective.as_deref().map(|s| parse_effective("--effective", s)).transpose()?.or(r.effective),
    };
    let ledger = if ledger_exists(data) { open_existing(data)? } else { Ledger::open_with(data, options()?)? };
    {
        let p = ledger.read();
        plantable::check(&name, &table, &p.state, &meta).map_err(|e| refused(e.to_string()))?;
    }
    if dry_run {
        outln!("{name}: {} commands check out against the ledger; nothing appended (--dry-run)", table.commands.len());
        return Ok(ExitCode::SUCCESS);
    }
    let req = AppendRequest::new(table.commands.into_iter().map(|(_, c)| c).collect(), meta);
    let out = ledger.append_blocking(req).map_err(ledger_error)?;
    ledger.close();
    let (first, last) =
        (out.events.first().map(|e| e.seq.0).unwrap_or(0), out.events.last().map(|e| e.seq.0).unwrap_or(0));
    outln!("{name}: appended {} events (seq {first}..={last}) creating plan {}", out.events.len(), out.plan);
    Ok(ExitCode::SUCCESS)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Manifest {
    /// The directory, relative to the manifest, of the seed snapshots; none are built without it.
    #[serde(default)]
    snapshots: Option<String>,
    pub(super) seed: Vec<ManifestEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ManifestEntry {
    pub(super) source: String,
    pub(super) ledger: String,
}

pub(super) fn build_seeds(manifest: &Path, check: bool) -> Result<ExitCode> {
    let base = manifest.parent().unwrap_or(Path::new("."));
    let m: Manifest =
        toml::from_str(&std::fs::read_to_string(manifest).with_context(|| format!("reading {}", manifest.display()))?)
            .map_err(|e| refused(format!("{}: {e}", manifest.display())))?;
    let mut tables = Vec::new();
    for e in &m.seed {
        let p = base.join(&e.source);
        tables.push((p.display().to_string(), load_table(&p)?));
    }
    let built = plantable::build_ledger(&tables).map_err(|e| refused(e.to_string()))?;
    let mut differ = 0;
    let all: Vec<Vec<u8>> = built.iter().flat_map(|(_, lines)| lines.iter().cloned()).collect();
    for (entry, (plan, lines)) in m.seed.iter().zip(built) {
        let path = base.join(&entry.ledger);
        let mut bytes = Vec::new();
        for l in &lines {
            bytes.extend_from_slice(l);
            bytes.push(b'\n');
        }
        if check {
            let same = std::fs::read(&path).map(|b| b == bytes).unwrap_or(false);
            outln!(
                "{} {} ({} events, plan {plan})",
                if same { "same" } else { "DIFFERS" },
                path.display(),
                lines.len()
            );
            differ += usize::from(!same);
        } else {
            std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            outln!("wrote {} ({} events, plan {plan})", path.display(), lines.len());
        }
    }
    if let Some(dir) = &m.snapshots {
        // `../snapshots` beside events/ reads better without the detour through events/ in what is printed.
        let mut root = base.to_path_buf();
        for c in Path::new(dir).components() {
            match c {
                std::path::Component::ParentDir if root.file_name().is_some() => {
                    root.pop();
                }
                other => root.push(other),
            }
        }
        differ += published::seed_snapshots(&all, &root, check)?;
    }
    if differ > 0 {
        return Err(Exit::VerifyFailed(format!("{differ} seed file(s) differ from their sources")).into());
    }
    Ok(ExitCode::SUCCESS)
}
