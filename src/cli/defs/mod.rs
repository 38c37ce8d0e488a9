//! The command line's definitions: every command, its options and their help, apart from what running them does
//! (in `mod.rs` and the command modules).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::{bench, tokens, ttbench};

mod content;
pub(crate) use content::*;

#[derive(Parser)]
#[command(
    name = "planledger",
    version,
    about = "Tamper-evident revision ledger for municipal comprehensive plans (総合計画)"
)]
pub(crate) struct Cli {
    /// The ledger's data directory.
    #[arg(long, global = true, env = "PLANLEDGER_DATA", default_value = "./data")]
    pub(crate) data: PathBuf,
    /// Plan events between two entries of the projection cache on each time axis; 0 turns the cache off. (The
    /// option and its variable keep their first names, which scripts use.)
    #[arg(
        long = "snapshot-every",
        global = true,
        env = "PLANLEDGER_SNAPSHOT_EVERY",
        default_value_t = planledger::store::cache::DEFAULT_CACHE_EVERY
    )]
    pub(crate) cache_every: u64,
    #[command(subcommand)]
    pub(crate) cmd: Cmd,
}

#[derive(Subcommand)]
pub(crate) enum Cmd {
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
        #[arg(long, conflicts_with = "from_backup")]
        origin: Option<String>,
        /// Bring back a backup made by `backup --out`: the data dir is rebuilt from it and verified to sign the
        /// backup's checkpoint.
        #[arg(long)]
        from_backup: Option<PathBuf>,
    },
    /// Write a consistent, verified copy of the ledger at one head (record lines, signed checkpoint, signing key)
    /// into a new folder; works while `serve` runs.
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a backup on its own: its lines against its signed checkpoint.
    VerifyBackup { dir: PathBuf },
    /// Append ledger files (the export format) verbatim; they must continue this ledger. All or nothing.
    Import { files: Vec<PathBuf> },
    /// Write the whole ledger in the export format (JSON Lines).
    Export {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Rebuild sled and the record file from the copy of the record that verifies to the latest checkpoint, after
    /// an open or `verify` reported damage; the old files are set aside, never deleted.
    Repair {
        /// A signed checkpoint kept outside the data dir (a backup's, a witness's, the portal's): the repaired ledger
        /// must reach it. Needed when sled's own checkpoint cannot be read.
        #[arg(long)]
        checkpoint: Vec<PathBuf>,
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
    /// `now`, a fiscal year (2018 — four digits 1868–2200 —, 2018年度, H30, 令和3: in force on its 1 April), a seq
    /// (any other whole number), a date (in force on), an RFC 3339 instant (as recorded), a version name, or one of
    /// those with a prefix: seq:, effective:, as-of:, version:.
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
pub(crate) enum CacheCmd {
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
pub(crate) enum ProveCmd {
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
pub(crate) struct PointArgs {
    /// The plan right after the event with this seq.
    #[arg(long, group = "point")]
    pub(crate) at: Option<u64>,
    /// The plan as recorded at this instant (RFC 3339).
    #[arg(long, group = "point")]
    pub(crate) as_of: Option<String>,
    /// The plan as in force on this date (YYYY-MM-DD, or a fiscal year for its 1 April).
    #[arg(long, group = "point")]
    pub(crate) effective: Option<String>,
    /// The plan at a named version (see `versions PLAN`).
    #[arg(long, group = "point")]
    pub(crate) version: Option<String>,
}

/// Who records a change and why. On the command line the operator states it; over HTTP it comes from the token.
#[derive(Args)]
pub(crate) struct Who {
    /// The actor's id.
    #[arg(long)]
    pub(crate) actor: String,
    /// The actor's name (defaults to the id).
    #[arg(long)]
    pub(crate) actor_name: Option<String>,
    /// The actor's department.
    #[arg(long, default_value = "")]
    pub(crate) department: String,
    /// On what authority (庁議, 議会議決, a document reference …).
    #[arg(long)]
    pub(crate) authority: Option<String>,
    /// Why.
    #[arg(long)]
    pub(crate) reason: Option<String>,
    /// When the change takes effect in the plan (YYYY-MM-DD or a fiscal year); default today.
    #[arg(long)]
    pub(crate) effective: Option<String>,
    /// Refuse unless the plan is at this version.
    #[arg(long)]
    pub(crate) expect_version: Option<u64>,
    /// A retry with the same key returns the original result instead of appending again.
    #[arg(long)]
    pub(crate) idempotency_key: Option<String>,
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Args)]
pub(crate) struct OptionalWho {
    #[arg(long)]
    pub(crate) actor: Option<String>,
    #[arg(long)]
    pub(crate) actor_name: Option<String>,
    #[arg(long)]
    pub(crate) department: Option<String>,
    #[arg(long)]
    pub(crate) authority: Option<String>,
    #[arg(long)]
    pub(crate) reason: Option<String>,
    #[arg(long)]
    pub(crate) effective: Option<String>,
}
