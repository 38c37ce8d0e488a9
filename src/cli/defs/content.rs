//! The definitions of the write commands on plan content: plans, nodes, milestones, indicators, targets and
//! progress, each with the options a clerk gives.

use clap::{Args, Subcommand};

use super::Who;

#[derive(Subcommand)]
pub(crate) enum PlanCmd {
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
pub(crate) enum NodeCmd {
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
pub(crate) enum MilestoneCmd {
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
pub(crate) enum IndicatorCmd {
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
pub(crate) enum TargetCmd {
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
pub(crate) struct ProgressArgs {
    pub(crate) indicator: String,
    pub(crate) year: String,
    pub(crate) value: String,
    #[arg(long)]
    pub(crate) as_of: Option<String>,
    #[arg(long, default_value = "")]
    pub(crate) note: String,
    #[command(flatten)]
    pub(crate) who: Who,
}

#[derive(Subcommand)]
pub(crate) enum ProgressCmd {
    /// Report an actual (実績) for a fiscal year.
    Report(ProgressArgs),
    /// Correct a reported actual; needs --reason.
    Correct(ProgressArgs),
}
