//! Command definitions (clap) and their execution against the library.

#[macro_use]
mod out;

mod admin;
mod audit;
mod bench;
mod defs;
mod lines;
mod plantables;
mod print;
mod published;
mod reads;
#[cfg(feature = "web")]
mod serve;
mod tokens;
mod ttbench;
mod writes;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use chrono::NaiveDate;
use clap::Parser;

use defs::{CacheCmd, Cli, Cmd, Who};

use planledger::core::domain::model::{Actor, Detail, Meta};
use planledger::core::domain::{Command, EventHash, Seq};
use planledger::core::projection::{self};
use planledger::store::ledger::{AppendRequest, IdempotencyKey, Ledger, LedgerError, LedgerOptions, Precondition};
use planledger::store::restore::{RestoreError, RestoreRequest};

/// A failure with a specific exit code: 1 verification failed, 2 bad usage or refused input, 74 (EX_IOERR) the
/// store cannot be read or its two copies disagree (run `repair`), 75 (EX_TEMPFAIL) the ledger could not store the
/// change now and nothing was appended (a retry may succeed).
#[derive(Debug, thiserror::Error)]
pub enum Exit {
    #[error("{0}")]
    VerifyFailed(String),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Unreadable(String),
    #[error("{0}")]
    Unavailable(String),
}

impl Exit {
    pub fn code(&self) -> u8 {
        match self {
            Exit::VerifyFailed(_) => 1,
            Exit::Refused(_) => 2,
            Exit::Unreadable(_) => 74,
            Exit::Unavailable(_) => 75,
        }
    }
}

/// The exit code of a failed command: its `Exit`, 74 when the store could not be read (whatever the command), or 2.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    use planledger::store::LogError;
    for cause in e.chain() {
        if let Some(x) = cause.downcast_ref::<Exit>() {
            return x.code();
        }
        let log = match cause.downcast_ref::<LedgerError>() {
            Some(LedgerError::Store(l)) => Some(l),
            _ => cause.downcast_ref::<LogError>(),
        };
        // A disk that refuses writes is not damage: the command may succeed once it takes them again.
        if let Some(l) = log
            && (l.disk_refusal().is_some() || matches!(l, LogError::Reopening { .. }))
        {
            return 75;
        }
        if let Some(l) = log
            && unreadable(l)
        {
            return 74;
        }
    }
    2
}

/// Whether a store error means the store cannot be used as it is (damaged, disagreeing copies, failing disk).
pub(crate) fn unreadable(e: &planledger::store::LogError) -> bool {
    use planledger::store::LogError;
    matches!(
        e,
        LogError::Unreadable { .. }
            | LogError::Mismatch { .. }
            | LogError::Corruption { .. }
            | LogError::Storage(_)
            | LogError::Io { .. }
    )
}

pub(crate) fn refused(msg: impl Into<String>) -> anyhow::Error {
    Exit::Refused(msg.into()).into()
}

/// A date, or a fiscal year meaning its 1 April.
fn domain_refused(e: planledger::core::domain::DomainError) -> anyhow::Error {
    refused(format!("{}: {}", e.field, e.reason))
}

fn parse_effective(field: &str, s: &str) -> Result<NaiveDate> {
    projection::parse_effective(field, s).map_err(domain_refused)
}

/// The id and current state of a plan named on the command line.
fn ledger_exists(dir: &Path) -> bool {
    planledger::store::holds_ledger(dir)
}

/// `--snapshot-every`, set once from the command line before any ledger is opened.
static CACHE_EVERY: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

/// How the command line opens a ledger. `PLANLEDGER_FAIL_COMMITS=N` is a fault drill: the first N commits fail as
/// a full disk does, so that an operator (or a test) sees what a client is told and that nothing is lost.
/// `PLANLEDGER_ACCEPT_CLOCK_AHEAD=INSTANT` is the operator's word that changes may be dated up to that instant
/// although it lies ahead of the system clock: it names an instant, not a yes, so that it never covers a later jump.
pub(crate) fn options() -> Result<LedgerOptions> {
    let mut options = LedgerOptions::default();
    if let Ok(v) = std::env::var("PLANLEDGER_ACCEPT_CLOCK_AHEAD") {
        let t = planledger::core::domain::time::parse_instant(&v)
            .map_err(|why| refused(format!("PLANLEDGER_ACCEPT_CLOCK_AHEAD: {v:?} {why}")))?;
        options.accept_clock_ahead = Some(t);
    }
    if let Ok(v) = std::env::var("PLANLEDGER_FAIL_COMMITS") {
        let n: u64 = v.parse().map_err(|_| refused(format!("PLANLEDGER_FAIL_COMMITS: {v:?} is not a whole number")))?;
        let faults = std::sync::Arc::new(planledger::store::Faults::default());
        faults.fail_next_commits(n);
        options.faults = Some(faults);
    }
    Ok(options)
}

/// A private copy of a read-only data dir, for commands that only read; `None` when the dir is writable.
pub(crate) fn read_only_copy(dir: &Path) -> Result<Option<planledger::store::copy::TempCopy>> {
    if !ledger_exists(dir) || planledger::store::copy::writable(dir) {
        return Ok(None);
    }
    eprintln!("note: {} is read-only; reading a private copy of it", dir.display());
    let copy = planledger::store::copy::private_copy(dir)
        .map_err(|e| Exit::Unreadable(format!("cannot copy the read-only store: {e}")))?;
    Ok(Some(copy))
}

pub(crate) fn open_existing(dir: &Path) -> Result<Ledger> {
    if let Some(ledger) = admin::serving() {
        return Ok(ledger);
    }
    if !ledger_exists(dir) {
        return Err(refused(format!("no ledger in {} (run `planledger init` first, or pass --data)", dir.display())));
    }
    let ledger =
        Ledger::open_with(dir, options()?).with_context(|| format!("opening the ledger in {}", dir.display()))?;
    if let Some(n) = CACHE_EVERY.get() {
        ledger.set_cache_every(*n);
    }
    Ok(ledger)
}

pub(crate) fn ledger_error(e: LedgerError) -> anyhow::Error {
    match e {
        LedgerError::Refused { error, .. } => refused(format!("refused: {}: {}", error.field, error.reason)),
        LedgerError::VersionConflict { .. }
        | LedgerError::IdempotencyMismatch { .. }
        | LedgerError::Forbidden { .. } => refused(e.to_string()),
        LedgerError::Import(v) => refused(format!("import refused: seq {}: {}", v.seq, v.what)),
        LedgerError::Proof(p) => refused(p.to_string()),
        LedgerError::BadIdempotencyKey { reason } => refused(format!("--idempotency-key: {reason}")),
        LedgerError::CommitFailed { .. } | LedgerError::DiskRefused { .. } | LedgerError::Closed => {
            Exit::Unavailable(e.to_string()).into()
        }
        LedgerError::ClockBehind(c) => Exit::Unavailable(format!(
            "{c}; nothing was appended. If the system clock is wrong, correct it; if it is right, the ledger recorded \
             a future instant earlier: run again with PLANLEDGER_ACCEPT_CLOCK_AHEAD={} to date changes at that \
             instant until the clock reaches it",
            planledger::core::domain::clock::stored(&c.last)
        ))
        .into(),
        LedgerError::Store(planledger::store::LogError::Exists(d)) => {
            refused(format!("a ledger already exists in {}", d.display()))
        }
        other => anyhow!(other),
    }
}

impl Who {
    fn meta(&self) -> Result<Meta> {
        Ok(Meta {
            actor: Actor {
                id: self.actor.clone(),
                name: self.actor_name.clone().unwrap_or_else(|| self.actor.clone()),
                department: self.department.clone(),
            },
            authority: self.authority.clone(),
            reason: self.reason.clone(),
            // Without --effective the writer takes today in Japan from the clock that stamps the event.
            effective: self.effective.as_deref().map(|s| parse_effective("--effective", s)).transpose()?,
        })
    }
}

fn write_one(data: &Path, cmd: Command, who: &Who) -> Result<ExitCode> {
    let ledger = open_existing(data)?;
    let req = AppendRequest::new(vec![cmd], who.meta()?)
        .expecting(who.expect_version)
        .with_key(who.idempotency_key.clone().map(|k| IdempotencyKey::new("", k)));
    let out = ledger.append_blocking(req).map_err(ledger_error)?;
    ledger.close();
    if who.json {
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for e in &out.events {
            outln!("appended seq {} {}", e.seq, e.hash);
        }
        if out.replayed {
            outln!("(a retry: these events were appended by the first request with this idempotency key)");
        }
        outln!("plan {} is now at version {}", out.plan, out.version);
    }
    Ok(ExitCode::SUCCESS)
}

fn restore(data: &Path, target: String, to: String, dry_run: bool, who: &Who) -> Result<ExitCode> {
    if who.idempotency_key.is_some() {
        return Err(refused(
            "--idempotency-key: not taken by restore; a repeated restore is refused with \"nothing to restore\"",
        ));
    }
    let ledger = open_existing(data)?;
    let req = RestoreRequest {
        target,
        kind: None,
        to,
        meta: who.meta()?,
        precondition: who.expect_version.map_or(Precondition::None, |v| Precondition::Versions(vec![v])),
        dry_run,
        principal: None,
    };
    let out = planledger::store::restore::restore_blocking(&ledger, &req).map_err(|e| match e {
        RestoreError::Refused(e) => domain_refused(e),
        RestoreError::Forbidden(d) => refused(format!("forbidden: {d}")),
        RestoreError::Ledger(e) => ledger_error(e),
    })?;
    ledger.close();
    if who.json {
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print::restore(&out);
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_details(ds: &[String]) -> Result<Vec<Detail>> {
    ds.iter()
        .enumerate()
        .map(|(i, d)| {
            d.split_once('=')
                .map(|(l, t)| Detail { label: l.to_string(), text: t.to_string() })
                .ok_or_else(|| refused(format!("--detail[{i}]: expected LABEL=TEXT")))
        })
        .collect()
}

pub fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    if let Ok(v) = std::env::var("PLANLEDGER_STALL_SECONDS") {
        let n: u64 =
            v.parse().map_err(|_| refused(format!("PLANLEDGER_STALL_SECONDS: {v:?} is not a whole number")))?;
        planledger::store::bounded::set_stall_limit(n);
    }
    if let Ok(v) = std::env::var("PLANLEDGER_CACHE_MB") {
        let n: u64 = v
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| refused(format!("PLANLEDGER_CACHE_MB: {v:?} is not a whole number of MiB above 0")))?;
        planledger::store::set_cache_mb(n);
    }
    let _ = CACHE_EVERY.set(cli.cache_every);
    // A running server holds the store: it runs the command on its own ledger.
    if let Some(code) = admin::forward(&cli)? {
        return Ok(code);
    }
    execute(cli)
}

/// Runs one parsed command (here, or in a server for its admin socket).
fn execute(cli: Cli) -> Result<ExitCode> {
    let data = cli.data.as_path();
    match cli.cmd {
        #[cfg(feature = "web")]
        Cmd::Serve { addr, seeds } => serve::run(data, addr, &seeds),
        Cmd::BenchTimetravel(a) => ttbench::run(a),
        Cmd::Token { cmd } => tokens::run(data, cmd),
        Cmd::Cache { cmd } => {
            let ledger = open_existing(data)?;
            match cmd {
                CacheCmd::Warm => {
                    let t = std::time::Instant::now();
                    let r = ledger.warm().map_err(ledger_error)?;
                    outln!(
                        "warmed {} plans: {} seq and {} in-force cached states written, {} events replayed, \
                         in {:.2} s",
                        r.plans,
                        r.seq_entries,
                        r.in_force_entries,
                        r.events_replayed,
                        t.elapsed().as_secs_f64()
                    );
                }
                CacheCmd::Clear => {
                    ledger.cache_clear().map_err(anyhow::Error::from)?;
                    outln!("dropped every cached snapshot");
                }
                CacheCmd::Verify => {
                    let c = ledger.verify_cache().map_err(ledger_error)?;
                    outln!(
                        "checked {} cached states against the log: {} stale or damaged dropped, {} differing",
                        c.checked,
                        c.dropped,
                        c.differed.len()
                    );
                    for d in &c.differed {
                        outln!("differed from the log (dropped): {d}");
                    }
                    if !c.differed.is_empty() {
                        ledger.close();
                        return Ok(ExitCode::from(1));
                    }
                }
                CacheCmd::Status => {
                    let (n, bytes) = ledger.cache_stats().map_err(anyhow::Error::from)?;
                    outln!("{n} cached states, {bytes} bytes; one every {} plan events per axis", ledger.cache_every());
                }
            }
            ledger.close();
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Init { from_backup: Some(from), .. } => audit::restore_backup(&from, data),
        Cmd::Backup { out } => audit::backup(data, &out),
        Cmd::VerifyBackup { dir } => audit::verify_backup(&dir),
        Cmd::Init { origin, from_backup: None } => {
            if ledger_exists(data) {
                return Err(refused(format!("a ledger already exists in {}", data.display())));
            }
            let ledger = Ledger::create(data, origin.as_deref()).map_err(ledger_error)?;
            let key = ledger.verifier().encode();
            ledger.close();
            outln!("initialised an empty ledger in {}", data.display());
            outln!("public key: {key}");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Checkpoint => {
            let ledger = open_existing(data)?;
            out!("{}", ledger.checkpoint());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Pubkey => {
            let ledger = open_existing(data)?;
            outln!("{}", ledger.verifier().encode());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Prove(p) => audit::prove(&open_existing(data)?, p),
        Cmd::Bundle { seq, out } => {
            let ledger = open_existing(data)?;
            let b = ledger.bundle(seq).map_err(ledger_error)?;
            std::fs::write(&out, b.to_json()).with_context(|| format!("writing {}", out.display()))?;
            outln!("wrote the proof bundle of seq {seq} (tree size {}) to {}", b.tree_size, out.display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::VerifyBundle { file, pubkey } => audit::verify_bundle(&file, &pubkey),
        Cmd::Snapshot { plan, version, out } => published::snapshot(data, &plan, &version, out.as_deref()),
        Cmd::VerifySnapshot { file, ledger, pubkey } => {
            published::verify_snapshot(data, &file, &ledger, pubkey.as_deref())
        }
        Cmd::Import { files } => {
            if files.is_empty() {
                return Err(refused("import: name at least one ledger file"));
            }
            let ledger = if ledger_exists(data) { open_existing(data)? } else { Ledger::open_with(data, options()?)? };
            let before = ledger.head().len;
            let head = ledger.import_from_blocking(Box::new(lines::lines_of(files))).map_err(ledger_error)?;
            let n = head.len - before;
            ledger.close();
            outln!("imported {n} events; the ledger has {} events, head {}", head.len, head.hash);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Repair { checkpoint } => audit::repair(data, &checkpoint),
        Cmd::Export { out } => {
            // A read-only data dir (a backup, an auditor's mount) is read through a private copy.
            let copy = read_only_copy(data)?;
            let ledger = open_existing(copy.as_ref().map_or(data, |c| c.path.as_path()))?;
            let len = ledger.head().len;
            let mut w: Box<dyn Write> = match &out {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
                )),
                None => out::stdout(),
            };
            let mut from = 0;
            while from < len {
                for (_, bytes) in ledger.read_events(from, 10_000).map_err(ledger_error)? {
                    w.write_all(&bytes)?;
                    w.write_all(b"\n")?;
                    from += 1;
                }
            }
            w.flush()?;
            if let Some(p) = out {
                outln!("exported {len} events to {}", p.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Verify { file, since, checkpoint, pubkey, segment, from, prev } => {
            let key = pubkey.as_deref().map(audit::load_pubkey).transpose()?;
            if file.is_empty() {
                if checkpoint.is_some() {
                    return Err(refused("--checkpoint: only with --file; for the data dir use --since"));
                }
                audit::verify_data(data, since.as_deref(), key.as_ref())
            } else {
                if since.is_some() {
                    return Err(refused("--since: only for the data dir; for files use --checkpoint"));
                }
                let start = match (segment, from, prev) {
                    (true, _, _) => audit::Start::Segment,
                    (false, Some(seq), Some(prev)) => audit::Start::After(
                        Seq(seq),
                        EventHash::from_hex(&prev)
                            .ok_or_else(|| refused("--prev: not 64 lowercase hex digits (an event hash)"))?,
                    ),
                    _ => audit::Start::Beginning,
                };
                audit::verify_files(&file, start, checkpoint.as_deref(), key.as_ref())
            }
        }
        Cmd::Plans { json } => reads::plans(data, json),
        Cmd::Show { plan, point, json } => reads::show(data, &plan, &point, json),
        Cmd::Diff { plan, from, to, json } => reads::diff(data, &plan, &from, &to, json),
        Cmd::Blame { plan, point, json } => reads::blame(data, &plan, &point, json),
        Cmd::Versions { plan, json } => reads::versions(data, &plan, json),
        Cmd::History { id, json } => reads::history(data, &id, json),
        Cmd::ImportPlan { file, who, dry_run } => plantables::import_plan(data, &file, &who, dry_run),
        Cmd::BuildSeeds { manifest, check } => plantables::build_seeds(&manifest, check),
        Cmd::Bench(args) => bench::run(data, args),
        Cmd::BenchProofs(args) => bench::proofs(args),
        Cmd::Plan(c) => writes::plan(data, c),
        Cmd::Node(c) => writes::node(data, c),
        Cmd::Milestone(c) => writes::milestone(data, c),
        Cmd::Indicator(c) => writes::indicator(data, c),
        Cmd::Target(c) => writes::target(data, c),
        Cmd::Restore { target, to, dry_run, who } => restore(data, target, to, dry_run, &who),
        Cmd::Progress(c) => writes::progress(data, c),
    }
}
