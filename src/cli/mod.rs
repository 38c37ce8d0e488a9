//! Command definitions (clap) and their execution against the library.

mod audit;
mod bench;
mod print;
mod published;
#[cfg(feature = "web")]
mod serve;
mod tokens;
mod ttbench;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use planledger::core::audit::note::NoteVerifier;
use planledger::core::domain::model::{Actor, Detail, Meta};
use planledger::core::domain::{Command, Entity, EventHash, IndicatorId, NodeId, PlanId, Seq};
use planledger::core::plantable;
use planledger::core::projection::{self, Point};
use planledger::core::record::split_lines;
use planledger::core::record::{ChainVerifier, verify_lines};
use planledger::store::ledger::{AppendRequest, IdempotencyKey, Ledger, LedgerError, LedgerOptions, Precondition};
use planledger::store::restore::{RestoreError, RestoreRequest};

/// A failure with a specific exit code: 1 verification failed, 2 bad usage or refused input, 75 (EX_TEMPFAIL) the
/// ledger could not store the change now and nothing was appended (a retry may succeed).
#[derive(Debug, thiserror::Error)]
pub enum Exit {
    #[error("{0}")]
    VerifyFailed(String),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Unavailable(String),
}

impl Exit {
    pub fn code(&self) -> u8 {
        match self {
            Exit::VerifyFailed(_) => 1,
            Exit::Refused(_) => 2,
            Exit::Unavailable(_) => 75,
        }
    }
}

#[derive(Parser)]
#[command(
    name = "planledger",
    version,
    about = "Tamper-evident revision ledger for municipal comprehensive plans (総合計画)"
)]
struct Cli {
    /// The ledger's data directory.
    #[arg(long, global = true, env = "PLANLEDGER_DATA", default_value = "./data")]
    data: PathBuf,
    /// Plan events between two cached projection snapshots on each time axis; 0 turns the cache off.
    #[arg(long, global = true, env = "PLANLEDGER_SNAPSHOT_EVERY", default_value_t = planledger::store::cache::DEFAULT_SNAPSHOT_EVERY)]
    snapshot_every: u64,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    #[cfg(feature = "web")]
    /// Serve the HTTP API. With no ledger in the data directory, first create one and load the seed ledgers.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// The seed manifest whose ledger files a new data directory is loaded with.
        #[arg(long, default_value = "events/seeds.toml")]
        seeds: PathBuf,
    },
    /// Create an empty ledger in the data directory, with its checkpoint signing key.
    Init {
        /// The log's origin: the first line of every checkpoint and the signing key's name, e.g.
        /// planledger.city.shinagawa.lg.jp/sogo-keikaku. Generated when omitted.
        #[arg(long)]
        origin: Option<String>,
    },
    /// Append ledger files (the export format) verbatim; they must continue this ledger. All or nothing.
    Import { files: Vec<PathBuf> },
    /// Write the whole ledger in the export format (JSON Lines).
    Export {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify the data directory (chain, tree, latest checkpoint), or ledger files given in order with --file.
    Verify {
        #[arg(long, num_args = 1..)]
        file: Vec<PathBuf>,
        /// A checkpoint kept earlier: check that the ledger only grew since (the split-view defence).
        #[arg(long)]
        since: Option<PathBuf>,
        /// With --file: a signed checkpoint the files must reproduce (root of its first SIZE events).
        #[arg(long, conflicts_with = "since")]
        checkpoint: Option<PathBuf>,
        /// With --file: the files are a segment of a ledger, taken to start where their first line says; without
        /// this (or --from), files must start at seq 0, so that removed first lines cannot pass unnoticed.
        #[arg(long, requires = "file", conflicts_with_all = ["from", "checkpoint"])]
        segment: bool,
        /// With --file: the files are a segment that must start at this seq, continuing the event hash --prev.
        #[arg(long, requires_all = ["file", "prev"], conflicts_with = "checkpoint")]
        from: Option<u64>,
        /// With --from: the hash of the event before the segment (64 lowercase hex digits).
        #[arg(long, requires = "from")]
        prev: Option<String>,
        /// The ledger's public key (or a file holding it) to check checkpoints with, instead of the data dir's.
        #[arg(long)]
        pubkey: Option<String>,
    },
    /// Print the latest signed checkpoint (C2SP tlog-checkpoint signed note).
    Checkpoint,
    /// Print the ledger's public key (signed-note verifier key).
    Pubkey,
    /// Print an inclusion or consistency proof.
    #[command(subcommand)]
    Prove(ProveCmd),
    /// Write an offline proof bundle for one event: its bytes, its inclusion proof, the signed checkpoint.
    Bundle {
        seq: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a proof bundle with nothing but the file and the ledger's public key.
    VerifyBundle {
        file: PathBuf,
        /// The public key, or a file holding it.
        #[arg(long)]
        pubkey: String,
    },
    /// Write a published snapshot: the plan at a named version as deterministic JSON, pinned to the ledger by seq,
    /// head hash and tree root, and attested by the latest signed checkpoint with a consistency proof.
    Snapshot {
        plan: String,
        /// The version name (see `versions PLAN`).
        #[arg(long)]
        version: String,
        /// Where to write it (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a snapshot against a ledger (the data dir, or ledger files from seq 0 with --ledger): version, seq,
    /// head hash, root, the document, and the attestation's signature and consistency proof.
    VerifySnapshot {
        file: PathBuf,
        /// Ledger files (the export format), in order from seq 0, instead of the data dir.
        #[arg(long, num_args = 1..)]
        ledger: Vec<PathBuf>,
        /// The ledger's public key (or a file holding it) to check the attestation with, instead of the data dir's.
        #[arg(long)]
        pubkey: Option<String>,
    },
    /// List the plans.
    Plans {
        #[arg(long)]
        json: bool,
    },
    /// Show a plan, now or at a point in the past.
    Show {
        plan: String,
        #[command(flatten)]
        point: PointArgs,
        #[arg(long)]
        json: bool,
    },
    /// What differs in a plan between two points, each difference with the events that caused it. A point is
    /// `now`, a seq, a date (in force on), an RFC 3339 instant (as recorded), a version name, or one of those
    /// with a prefix: seq:, effective:, as-of:, version:.
    Diff {
        plan: String,
        from: String,
        to: String,
        #[arg(long)]
        json: bool,
    },
    /// For every value of a plan, the event that last set it: who, when, on what authority, why.
    Blame {
        plan: String,
        #[command(flatten)]
        point: PointArgs,
        #[arg(long)]
        json: bool,
    },
    /// The named versions of a plan.
    Versions {
        plan: String,
        #[arg(long)]
        json: bool,
    },
    /// Every change of an indicator or a node: old → new, who, when, on what authority, why.
    History {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Import a plan table (docs/PLAN-TABLE.md): the whole file is checked first; then all of it is appended.
    ImportPlan {
        file: PathBuf,
        #[command(flatten)]
        who: OptionalWho,
        /// Check only; append nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Rebuild the seed ledger files in events/ from their plan tables (events/seeds.toml lists them), and the
    /// seed snapshots (every named version of every seed plan) in the manifest's snapshots directory.
    BuildSeeds {
        #[arg(long, default_value = "events/seeds.toml")]
        manifest: PathBuf,
        /// Compare with the files on disk instead of writing them; exit 1 on any difference.
        #[arg(long)]
        check: bool,
    },
    /// Measure durable append and replay throughput on a synthetic ledger.
    Bench(bench::BenchArgs),
    /// Measure proof generation and verification on a sled-stored tree of many entries.
    BenchProofs(bench::ProofBenchArgs),
    /// Measure time-travel, diff and blame latency on a synthetic ledger, with and without projection snapshots.
    BenchTimetravel(ttbench::TimeTravelBenchArgs),
    /// API tokens for `serve`'s write endpoints: create (the secret is shown once), list, revoke.
    Token {
        #[command(subcommand)]
        cmd: tokens::TokenCmd,
    },
    /// The projection snapshot cache: fill it for every plan, drop it, or show its size.
    Cache {
        #[command(subcommand)]
        cmd: CacheCmd,
    },
    /// Plans: create, revise, change status.
    #[command(subcommand)]
    Plan(PlanCmd),
    /// Nodes of a plan's tree.
    #[command(subcommand)]
    Node(NodeCmd),
    /// Per-year milestones (計画内容) of a node.
    #[command(subcommand)]
    Milestone(MilestoneCmd),
    /// Indicators (指標).
    #[command(subcommand)]
    Indicator(IndicatorCmd),
    /// Per-year targets of an indicator.
    #[command(subcommand)]
    Target(TargetCmd),
    /// Progress reports (実績) and their corrections.
    #[command(subcommand)]
    Progress(ProgressCmd),
    /// Bring a plan, node or indicator back to its content at a past point: appends the compensating events and
    /// one Restored event naming the point; the history keeps everything in between. TARGET is a plan id, else a
    /// node id, else an indicator id. Plan status, named versions and progress actuals are never restored.
    Restore {
        target: String,
        /// The point, as `diff` takes it: a seq, a date (in force on), an RFC 3339 instant (as recorded), a
        /// version name, or one of those with a prefix: seq:, effective:, as-of:, version:.
        #[arg(long)]
        to: String,
        /// Print what would be appended; append nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        who: Who,
    },
}

#[derive(Subcommand)]
enum CacheCmd {
    /// Build the snapshots of every plan on every axis.
    Warm,
    /// Drop every cached snapshot (they are rebuilt from the log as needed).
    Clear,
    /// Number and size of the cached snapshots.
    Status,
    /// Recompute every cached snapshot from the log; drop (and report) any that differs. Exit 1 if one did.
    Verify,
}

#[derive(Subcommand)]
enum ProveCmd {
    /// That event SEQ is in the tree of SIZE events (default: the whole ledger).
    Inclusion {
        seq: u64,
        #[arg(long)]
        size: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// That the tree of M events is a prefix of the tree of N events.
    Consistency {
        m: u64,
        n: u64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Default)]
struct PointArgs {
    /// The plan right after the event with this seq.
    #[arg(long, group = "point")]
    at: Option<u64>,
    /// The plan as recorded at this instant (RFC 3339).
    #[arg(long, group = "point")]
    as_of: Option<String>,
    /// The plan as in force on this date (YYYY-MM-DD, or a fiscal year for its 1 April).
    #[arg(long, group = "point")]
    effective: Option<String>,
    /// The plan at a named version (see `versions PLAN`).
    #[arg(long, group = "point")]
    version: Option<String>,
}

/// Who records a change and why. On the command line the operator states it; over HTTP it comes from the token.
#[derive(Args)]
struct Who {
    /// The actor's id.
    #[arg(long)]
    actor: String,
    /// The actor's name (defaults to the id).
    #[arg(long)]
    actor_name: Option<String>,
    /// The actor's department.
    #[arg(long, default_value = "")]
    department: String,
    /// On what authority (庁議, 議会議決, a document reference …).
    #[arg(long)]
    authority: Option<String>,
    /// Why.
    #[arg(long)]
    reason: Option<String>,
    /// When the change takes effect in the plan (YYYY-MM-DD or a fiscal year); default today.
    #[arg(long)]
    effective: Option<String>,
    /// Refuse unless the plan is at this version.
    #[arg(long)]
    expect_version: Option<u64>,
    /// A retry with the same key returns the original result instead of appending again.
    #[arg(long)]
    idempotency_key: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct OptionalWho {
    #[arg(long)]
    actor: Option<String>,
    #[arg(long)]
    actor_name: Option<String>,
    #[arg(long)]
    department: Option<String>,
    #[arg(long)]
    authority: Option<String>,
    #[arg(long)]
    reason: Option<String>,
    #[arg(long)]
    effective: Option<String>,
}

#[derive(Subcommand)]
enum PlanCmd {
    Create {
        plan: String,
        #[arg(long)]
        municipality: String,
        #[arg(long)]
        code: String,
        #[arg(long)]
        title: String,
        #[arg(long)]
        kind: String,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long, default_value = "draft")]
        status: String,
        /// Level names from the top, e.g. --level 基本方針 --level 施策.
        #[arg(long = "level")]
        levels: Vec<String>,
        #[arg(long)]
        predecessor: Option<String>,
        #[command(flatten)]
        who: Who,
    },
    Revise {
        plan: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long = "level")]
        levels: Option<Vec<String>>,
        /// Remove the plan's period (refused while live targets or milestones remain).
        #[arg(long, conflicts_with_all = ["from", "to"])]
        clear_period: bool,
        #[command(flatten)]
        who: Who,
    },
    Status {
        plan: String,
        status: String,
        #[command(flatten)]
        who: Who,
    },
    /// Name the plan as it stood right after event SEQ (default: the latest event), e.g. "adopted 2016-04-01".
    Version {
        plan: String,
        name: String,
        #[arg(long)]
        at: Option<u64>,
        #[command(flatten)]
        who: Who,
    },
}

#[derive(Subcommand)]
enum NodeCmd {
    Add {
        plan: String,
        node: String,
        #[arg(long)]
        parent: Option<String>,
        #[arg(long)]
        order: Option<u64>,
        #[arg(long, default_value = "")]
        code: String,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        text: String,
        #[arg(long = "dept")]
        departments: Vec<String>,
        #[command(flatten)]
        who: Who,
    },
    Rename {
        node: String,
        #[arg(long)]
        code: Option<String>,
        #[arg(long)]
        title: Option<String>,
        #[command(flatten)]
        who: Who,
    },
    Text {
        node: String,
        text: String,
        #[command(flatten)]
        who: Who,
    },
    /// Replace the labelled texts: --detail "現況=…" --detail "必要事業量=…".
    Details {
        node: String,
        #[arg(long = "detail")]
        details: Vec<String>,
        #[command(flatten)]
        who: Who,
    },
    Move {
        node: String,
        #[arg(long)]
        parent: Option<String>,
        #[arg(long)]
        order: Option<u64>,
        #[command(flatten)]
        who: Who,
    },
    Retire {
        node: String,
        #[command(flatten)]
        who: Who,
    },
    /// Make a retired node live again where it stood; its parent and the nodes it is cross-listed under must be
    /// live. Needs --reason.
    Reinstate {
        node: String,
        #[command(flatten)]
        who: Who,
    },
    /// 再掲: list the node also under another node.
    CrossList {
        node: String,
        under: String,
        #[command(flatten)]
        who: Who,
    },
    Uncross {
        node: String,
        under: String,
        #[command(flatten)]
        who: Who,
    },
    /// 再掲 of an item outside the ledger, by its printed reference.
    CrossRef {
        node: String,
        reference: String,
        #[command(flatten)]
        who: Who,
    },
    Departments {
        node: String,
        #[arg(long = "dept")]
        departments: Vec<String>,
        #[command(flatten)]
        who: Who,
    },
}

#[derive(Subcommand)]
enum MilestoneCmd {
    Set {
        node: String,
        year: String,
        text: String,
        #[command(flatten)]
        who: Who,
    },
    Withdraw {
        node: String,
        year: String,
        #[command(flatten)]
        who: Who,
    },
}

#[derive(Subcommand)]
enum IndicatorCmd {
    Define {
        indicator: String,
        #[arg(long)]
        node: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        unit: String,
        #[arg(long, default_value = "unspecified")]
        direction: String,
        #[arg(long)]
        cumulative: bool,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        who: Who,
    },
    Revise {
        indicator: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        unit: Option<String>,
        #[arg(long)]
        direction: Option<String>,
        #[arg(long)]
        cumulative: Option<bool>,
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        who: Who,
    },
    Retire {
        indicator: String,
        #[command(flatten)]
        who: Who,
    },
    /// Make a retired indicator live again; its node must be live. Needs --reason.
    Reinstate {
        indicator: String,
        #[command(flatten)]
        who: Who,
    },
    /// Remove the indicator's baseline. Needs --reason.
    WithdrawBaseline {
        indicator: String,
        #[command(flatten)]
        who: Who,
    },
    Baseline {
        indicator: String,
        value: String,
        #[arg(long)]
        year: String,
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        who: Who,
    },
}

#[derive(Subcommand)]
enum TargetCmd {
    /// Set or revise a target: "2", "60以上", "—" for no target this year. A revision needs --reason.
    Set {
        indicator: String,
        year: String,
        target: String,
        #[command(flatten)]
        who: Who,
    },
    Withdraw {
        indicator: String,
        year: String,
        #[command(flatten)]
        who: Who,
    },
}

/// The arguments of a progress report and of its correction.
#[derive(Args)]
struct ProgressArgs {
    indicator: String,
    year: String,
    value: String,
    #[arg(long)]
    as_of: Option<String>,
    #[arg(long, default_value = "")]
    note: String,
    #[command(flatten)]
    who: Who,
}

#[derive(Subcommand)]
enum ProgressCmd {
    /// Report an actual (実績) for a fiscal year.
    Report(ProgressArgs),
    /// Correct a reported actual; needs --reason.
    Correct(ProgressArgs),
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
fn plan_named(ledger: &Ledger, plan: &str) -> Result<(PlanId, planledger::core::domain::state::Plan)> {
    let id = PlanId::new(plan).map_err(|p| refused(format!("plan: {p}")))?;
    let p = ledger.read();
    let pl = p.state.plans.get(&id).cloned().ok_or_else(|| refused(format!("plan: no plan {plan:?}")))?;
    Ok((id, pl))
}

fn point(p: &PointArgs, plan: Option<&planledger::core::domain::state::Plan>) -> Result<Option<Point>> {
    Ok(if let Some(s) = p.at {
        Some(Point::Seq(s))
    } else if let Some(t) = &p.as_of {
        Some(Point::AsOf(projection::parse_instant("--as-of", t).map_err(domain_refused)?))
    } else if let Some(d) = &p.effective {
        Some(Point::Effective(projection::parse_effective("--effective", d).map_err(domain_refused)?))
    } else if let Some(v) = &p.version {
        let Some(plan) = plan else {
            return Err(refused("--version: names a version of a plan; this command is not about one plan"));
        };
        Some(projection::version_point("--version", plan, v).map_err(domain_refused)?)
    } else {
        None
    })
}

fn ledger_exists(dir: &Path) -> bool {
    planledger::store::holds_ledger(dir)
}

/// `--snapshot-every`, set once from the command line before any ledger is opened.
static SNAPSHOT_EVERY: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

/// How the command line opens a ledger. `PLANLEDGER_FAIL_COMMITS=N` is a fault drill: the first N commits fail as
/// a full disk does, so that an operator (or a test) sees what a client is told and that nothing is lost.
pub(crate) fn options() -> Result<LedgerOptions> {
    let mut options = LedgerOptions::default();
    if let Ok(v) = std::env::var("PLANLEDGER_FAIL_COMMITS") {
        let n: u64 = v.parse().map_err(|_| refused(format!("PLANLEDGER_FAIL_COMMITS: {v:?} is not a whole number")))?;
        let faults = std::sync::Arc::new(planledger::store::Faults::default());
        faults.fail_next_commits(n);
        options.faults = Some(faults);
    }
    Ok(options)
}

pub(crate) fn open_existing(dir: &Path) -> Result<Ledger> {
    if !ledger_exists(dir) {
        return Err(refused(format!("no ledger in {} (run `planledger init` first, or pass --data)", dir.display())));
    }
    let ledger =
        Ledger::open_with(dir, options()?).with_context(|| format!("opening the ledger in {}", dir.display()))?;
    if let Some(n) = SNAPSHOT_EVERY.get() {
        ledger.set_snapshot_every(*n);
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
        LedgerError::CommitFailed { .. } | LedgerError::Closed => Exit::Unavailable(e.to_string()).into(),
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
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for e in &out.events {
            println!("appended seq {} {}", e.seq, e.hash);
        }
        if out.replayed {
            println!("(a retry: these events were appended by the first request with this idempotency key)");
        }
        println!("plan {} is now at version {}", out.plan, out.version);
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
        println!("{}", serde_json::to_string_pretty(&out)?);
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
    let data = cli.data.as_path();
    let _ = SNAPSHOT_EVERY.set(cli.snapshot_every);
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
                    println!(
                        "warmed {} plans: {} seq snapshots and {} in-force snapshots written, {} events replayed, \
                         in {:.2} s",
                        r.plans,
                        r.seq_snapshots,
                        r.in_force_snapshots,
                        r.events_replayed,
                        t.elapsed().as_secs_f64()
                    );
                }
                CacheCmd::Clear => {
                    ledger.cache_clear().map_err(anyhow::Error::from)?;
                    println!("dropped every cached snapshot");
                }
                CacheCmd::Verify => {
                    let c = ledger.verify_cache().map_err(ledger_error)?;
                    println!(
                        "checked {} cached snapshots against the log: {} stale or damaged dropped, {} differing",
                        c.checked,
                        c.dropped,
                        c.differed.len()
                    );
                    for d in &c.differed {
                        println!("differed from the log (dropped): {d}");
                    }
                    if !c.differed.is_empty() {
                        ledger.close();
                        return Ok(ExitCode::from(1));
                    }
                }
                CacheCmd::Status => {
                    let (n, bytes) = ledger.cache_stats().map_err(anyhow::Error::from)?;
                    println!(
                        "{n} cached snapshots, {bytes} bytes; one every {} plan events per axis",
                        ledger.snapshot_every()
                    );
                }
            }
            ledger.close();
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Init { origin } => {
            if ledger_exists(data) {
                return Err(refused(format!("a ledger already exists in {}", data.display())));
            }
            let ledger = Ledger::create(data, origin.as_deref()).map_err(ledger_error)?;
            let key = ledger.verifier().encode();
            ledger.close();
            println!("initialised an empty ledger in {}", data.display());
            println!("public key: {key}");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Checkpoint => {
            let ledger = open_existing(data)?;
            print!("{}", ledger.checkpoint());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Pubkey => {
            let ledger = open_existing(data)?;
            println!("{}", ledger.verifier().encode());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Prove(p) => audit::prove(&open_existing(data)?, p),
        Cmd::Bundle { seq, out } => {
            let ledger = open_existing(data)?;
            let b = ledger.bundle(seq).map_err(ledger_error)?;
            std::fs::write(&out, b.to_json()).with_context(|| format!("writing {}", out.display()))?;
            println!("wrote the proof bundle of seq {seq} (tree size {}) to {}", b.tree_size, out.display());
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
            let mut lines = Vec::new();
            for f in &files {
                let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
                lines.extend(split_lines(&bytes).map_err(|e| refused(format!("{}: {}", f.display(), e.what)))?);
            }
            let n = lines.len();
            let head = ledger.import_blocking(lines).map_err(ledger_error)?;
            ledger.close();
            println!("imported {n} events; the ledger has {} events, head {}", head.len, head.hash);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Export { out } => {
            let ledger = open_existing(data)?;
            let len = ledger.head().len;
            let mut w: Box<dyn Write> = match &out {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
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
                eprintln!("exported {len} events to {}", p.display());
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
                    (true, _, _) => Start::Segment,
                    (false, Some(seq), Some(prev)) => Start::After(
                        Seq(seq),
                        EventHash::from_hex(&prev)
                            .ok_or_else(|| refused("--prev: not 64 lowercase hex digits (an event hash)"))?,
                    ),
                    _ => Start::Beginning,
                };
                verify(&file, start, checkpoint.as_deref(), key.as_ref())
            }
        }
        Cmd::Plans { json } => {
            let ledger = open_existing(data)?;
            let p = ledger.read();
            let plans: Vec<_> = p.state.plans.keys().filter_map(|id| projection::view::summary(&p.state, id)).collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&plans)?);
            } else {
                print::plans(&plans);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Show { plan, point: pa, json } => {
            let ledger = open_existing(data)?;
            let id = PlanId::new(plan.as_str()).map_err(|p| refused(format!("plan: {p}")))?;
            let pt = point(&pa, ledger.read().state.plans.get(&id))?;
            let state = ledger.plan_at(&id, pt).map_err(ledger_error)?.state;
            let (Some(view), Some(current)) = (projection::view_plan(&state, &id), state.plans.get(&id)) else {
                return Err(refused(match pt {
                    Some(pt) => format!("plan: {id} did not exist at {}", pt.describe()),
                    None => format!("plan: {id} does not exist"),
                }));
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                // The phase on the day the view stands for: the date itself, or the Japan date of the instant.
                let jst = projection::jst_date;
                let on = match pt {
                    None => jst(chrono::Utc::now()),
                    Some(Point::Effective(d)) => d,
                    Some(Point::AsOf(t)) => jst(t),
                    Some(Point::Seq(s)) => jst(ledger
                        .records(s, s + 1)
                        .map_err(ledger_error)?
                        .first()
                        .map(|r| r.recorded_at)
                        .unwrap_or_default()),
                };
                print::plan(&view, pt, (on, projection::view::phase(current, on)));
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Diff { plan, from, to, json } => {
            let ledger = open_existing(data)?;
            let (id, pl) = plan_named(&ledger, &plan)?;
            let from = projection::parse_point("from", &from, &pl).map_err(domain_refused)?;
            let to = projection::parse_point("to", &to, &pl).map_err(domain_refused)?;
            let records = ledger.records_for(&Entity::Plan(id.clone())).map_err(ledger_error)?;
            let d = projection::diff(&records, &id, from, to);
            if json {
                println!("{}", serde_json::to_string_pretty(&d)?);
            } else {
                print::diff(&d);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Blame { plan, point: pa, json } => {
            let ledger = open_existing(data)?;
            let (id, pl) = plan_named(&ledger, &plan)?;
            let pt = point(&pa, Some(&pl))?;
            let records = ledger.records_for(&Entity::Plan(id.clone())).map_err(ledger_error)?;
            let rows = projection::blame(&records, &id, pt);
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                print::blame(&rows);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Versions { plan, json } => {
            let ledger = open_existing(data)?;
            let (id, pl) = plan_named(&ledger, &plan)?;
            let mut rows: Vec<(&String, &u64)> = pl.versions.iter().collect();
            rows.sort_by_key(|(name, seq)| (**seq, (*name).clone()));
            if json {
                let v: Vec<_> = rows.iter().map(|(n, s)| serde_json::json!({"name": n, "seq": s})).collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else if rows.is_empty() {
                println!("plan {id} has no named versions");
            } else {
                for (name, seq) in rows {
                    println!("seq {seq:>8}  {name}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::History { id, json } => {
            let ledger = open_existing(data)?;
            let (key, title) = {
                let p = ledger.read();
                if let Some(i) = IndicatorId::new(id.as_str()).ok().and_then(|i| p.state.indicators.get(&i)) {
                    (Entity::Indicator(i.id.clone()), format!("指標 indicator {} 【{}】（{}）", i.id, i.name, i.unit))
                } else if let Some(n) = NodeId::new(id.as_str()).ok().and_then(|n| p.state.nodes.get(&n)) {
                    (Entity::Node(n.id.clone()), format!("ノード node {} {} {}", n.id, n.code, n.title))
                } else if let Some(pl) = PlanId::new(id.as_str()).ok().and_then(|i| p.state.plans.get(&i)) {
                    (Entity::Plan(pl.id.clone()), format!("計画 plan {} {}", pl.id, pl.title))
                } else {
                    return Err(refused(format!("id: no indicator, node or plan {id:?}")));
                }
            };
            let records = ledger.records_for(&key).map_err(ledger_error)?;
            let h = projection::history(&records);
            if json {
                println!("{}", serde_json::to_string_pretty(&h)?);
            } else {
                print::history(&title, &h);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::ImportPlan { file, who, dry_run } => import_plan(data, &file, &who, dry_run),
        Cmd::BuildSeeds { manifest, check } => build_seeds(&manifest, check),
        Cmd::Bench(args) => bench::run(data, args),
        Cmd::BenchProofs(args) => bench::proofs(args),
        Cmd::Plan(c) => match c {
            PlanCmd::Create { plan, municipality, code, title, kind, from, to, status, levels, predecessor, who } => {
                write_one(
                    data,
                    Command::CreatePlan {
                        plan,
                        municipality,
                        municipality_code: code,
                        title,
                        kind,
                        period_from: from,
                        period_to: to,
                        status,
                        levels,
                        predecessor,
                    },
                    &who,
                )
            }
            PlanCmd::Revise { plan, title, kind, from, to, levels, clear_period, who } => write_one(
                data,
                Command::RevisePlan { plan, title, kind, period_from: from, period_to: to, levels, clear_period },
                &who,
            ),
            PlanCmd::Status { plan, status, who } => write_one(data, Command::ChangePlanStatus { plan, status }, &who),
            PlanCmd::Version { plan, name, at, who } => {
                // Without --at, `last` is resolved by the writer, so an append in between cannot shift the name.
                let seq = at.map_or_else(|| "last".to_string(), |s| s.to_string());
                write_one(data, Command::NameVersion { plan, name, seq }, &who)
            }
        },
        Cmd::Node(c) => match c {
            NodeCmd::Add { plan, node, parent, order, code, title, text, departments, who } => write_one(
                data,
                Command::AddNode { plan, node, parent, order, code, title, text, details: vec![], departments },
                &who,
            ),
            NodeCmd::Rename { node, code, title, who } => {
                write_one(data, Command::RenameNode { node, code, title }, &who)
            }
            NodeCmd::Text { node, text, who } => write_one(data, Command::ReviseNodeText { node, text }, &who),
            NodeCmd::Details { node, details, who } => {
                write_one(data, Command::ReviseNodeDetails { node, details: parse_details(&details)? }, &who)
            }
            NodeCmd::Move { node, parent, order, who } => {
                write_one(data, Command::MoveNode { node, parent, order }, &who)
            }
            NodeCmd::Retire { node, who } => write_one(data, Command::RetireNode { node }, &who),
            NodeCmd::Reinstate { node, who } => write_one(data, Command::ReinstateNode { node }, &who),
            NodeCmd::CrossList { node, under, who } => write_one(data, Command::CrossListNode { node, under }, &who),
            NodeCmd::Uncross { node, under, who } => write_one(data, Command::RemoveCrossListing { node, under }, &who),
            NodeCmd::CrossRef { node, reference, who } => {
                write_one(data, Command::CrossReferenceNode { node, reference }, &who)
            }
            NodeCmd::Departments { node, departments, who } => {
                write_one(data, Command::AssignDepartments { node, departments }, &who)
            }
        },
        Cmd::Milestone(c) => match c {
            MilestoneCmd::Set { node, year, text, who } => {
                write_one(data, Command::SetMilestone { node, fiscal_year: year, text }, &who)
            }
            MilestoneCmd::Withdraw { node, year, who } => {
                write_one(data, Command::WithdrawMilestone { node, fiscal_year: year }, &who)
            }
        },
        Cmd::Indicator(c) => match c {
            IndicatorCmd::Define { indicator, node, name, unit, direction, cumulative, note, who } => write_one(
                data,
                Command::DefineIndicator { indicator, node, name, unit, direction, cumulative, note },
                &who,
            ),
            IndicatorCmd::Revise { indicator, name, unit, direction, cumulative, note, who } => {
                write_one(data, Command::ReviseIndicator { indicator, name, unit, direction, cumulative, note }, &who)
            }
            IndicatorCmd::Retire { indicator, who } => write_one(data, Command::RetireIndicator { indicator }, &who),
            IndicatorCmd::Reinstate { indicator, who } => {
                write_one(data, Command::ReinstateIndicator { indicator }, &who)
            }
            IndicatorCmd::WithdrawBaseline { indicator, who } => {
                write_one(data, Command::WithdrawBaseline { indicator }, &who)
            }
            IndicatorCmd::Baseline { indicator, value, year, note, who } => {
                write_one(data, Command::SetBaseline { indicator, value, fiscal_year: year, note }, &who)
            }
        },
        Cmd::Target(c) => match c {
            TargetCmd::Set { indicator, year, target, who } => {
                write_one(data, Command::SetTarget { indicator, fiscal_year: year, target }, &who)
            }
            TargetCmd::Withdraw { indicator, year, who } => {
                write_one(data, Command::WithdrawTarget { indicator, fiscal_year: year }, &who)
            }
        },
        Cmd::Restore { target, to, dry_run, who } => restore(data, target, to, dry_run, &who),
        Cmd::Progress(c) => match c {
            ProgressCmd::Report(ProgressArgs { indicator, year, value, as_of, note, who }) => {
                write_one(data, Command::ReportProgress { indicator, fiscal_year: year, value, as_of, note }, &who)
            }
            ProgressCmd::Correct(ProgressArgs { indicator, year, value, as_of, note, who }) => {
                write_one(data, Command::CorrectProgress { indicator, fiscal_year: year, value, as_of, note }, &who)
            }
        },
    }
}

/// Where the files given to `verify --file` start.
enum Start {
    /// At seq 0: the whole ledger.
    Beginning,
    /// Wherever their first line says: a segment, checked for encoding, seq and chain.
    Segment,
    /// At this seq, continuing this event hash.
    After(Seq, EventHash),
}

fn verify(files: &[PathBuf], start: Start, checkpoint: Option<&Path>, key: Option<&NoteVerifier>) -> Result<ExitCode> {
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
                audit::files_match_checkpoint(&all, cp, key)?;
            }
            if rules {
                println!("ok: {} events, head {}", s.count, s.head);
            } else {
                println!(
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

fn import_plan(data: &Path, file: &Path, who: &OptionalWho, dry_run: bool) -> Result<ExitCode> {
    let name = file.display().to_string();
    let table = plantable::load(file).map_err(|e| refused(e.to_string()))?;
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
        println!(
            "{name}: {} commands check out against the ledger; nothing appended (--dry-run)",
            table.commands.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let req = AppendRequest::new(table.commands.into_iter().map(|(_, c)| c).collect(), meta);
    let out = ledger.append_blocking(req).map_err(ledger_error)?;
    ledger.close();
    let (first, last) =
        (out.events.first().map(|e| e.seq.0).unwrap_or(0), out.events.last().map(|e| e.seq.0).unwrap_or(0));
    println!("{name}: appended {} events (seq {first}..={last}) creating plan {}", out.events.len(), out.plan);
    Ok(ExitCode::SUCCESS)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    /// The directory, relative to the manifest, of the seed snapshots; none are built without it.
    #[serde(default)]
    snapshots: Option<String>,
    seed: Vec<ManifestEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestEntry {
    source: String,
    ledger: String,
}

fn build_seeds(manifest: &Path, check: bool) -> Result<ExitCode> {
    let base = manifest.parent().unwrap_or(Path::new("."));
    let m: Manifest =
        toml::from_str(&std::fs::read_to_string(manifest).with_context(|| format!("reading {}", manifest.display()))?)
            .map_err(|e| refused(format!("{}: {e}", manifest.display())))?;
    let mut tables = Vec::new();
    for e in &m.seed {
        let p = base.join(&e.source);
        tables.push((p.display().to_string(), plantable::load(&p).map_err(|e| refused(e.to_string()))?));
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
            println!(
                "{} {} ({} events, plan {plan})",
                if same { "same" } else { "DIFFERS" },
                path.display(),
                lines.len()
            );
            differ += usize::from(!same);
        } else {
            std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            println!("wrote {} ({} events, plan {plan})", path.display(), lines.len());
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
