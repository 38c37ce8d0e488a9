//! The write commands on plan content: each builds one command from its options and appends it for the operator
//! named by `--actor` (see `write_one`).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use planledger::core::domain::Command;

use super::defs::{IndicatorCmd, MilestoneCmd, NodeCmd, PlanCmd, ProgressArgs, ProgressCmd, TargetCmd};
use super::{parse_details, write_one};

pub fn plan(data: &Path, c: PlanCmd) -> Result<ExitCode> {
    match c {
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
    }
}

pub fn node(data: &Path, c: NodeCmd) -> Result<ExitCode> {
    match c {
        NodeCmd::Add { plan, node, parent, order, code, title, text, departments, who } => write_one(
            data,
            Command::AddNode { plan, node, parent, order, code, title, text, details: vec![], departments },
            &who,
        ),
        NodeCmd::Rename { node, code, title, who } => write_one(data, Command::RenameNode { node, code, title }, &who),
        NodeCmd::Text { node, text, who } => write_one(data, Command::ReviseNodeText { node, text }, &who),
        NodeCmd::Details { node, details, who } => {
            write_one(data, Command::ReviseNodeDetails { node, details: parse_details(&details)? }, &who)
        }
        NodeCmd::Move { node, parent, order, who } => write_one(data, Command::MoveNode { node, parent, order }, &who),
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
    }
}

pub fn milestone(data: &Path, c: MilestoneCmd) -> Result<ExitCode> {
    match c {
        MilestoneCmd::Set { node, year, text, who } => {
            write_one(data, Command::SetMilestone { node, fiscal_year: year, text }, &who)
        }
        MilestoneCmd::Withdraw { node, year, who } => {
            write_one(data, Command::WithdrawMilestone { node, fiscal_year: year }, &who)
        }
    }
}

pub fn indicator(data: &Path, c: IndicatorCmd) -> Result<ExitCode> {
    match c {
        IndicatorCmd::Define { indicator, node, name, unit, direction, cumulative, note, who } => {
            write_one(data, Command::DefineIndicator { indicator, node, name, unit, direction, cumulative, note }, &who)
        }
        IndicatorCmd::Revise { indicator, name, unit, direction, cumulative, note, who } => {
            write_one(data, Command::ReviseIndicator { indicator, name, unit, direction, cumulative, note }, &who)
        }
        IndicatorCmd::Retire { indicator, who } => write_one(data, Command::RetireIndicator { indicator }, &who),
        IndicatorCmd::Reinstate { indicator, who } => write_one(data, Command::ReinstateIndicator { indicator }, &who),
        IndicatorCmd::WithdrawBaseline { indicator, who } => {
            write_one(data, Command::WithdrawBaseline { indicator }, &who)
        }
        IndicatorCmd::Baseline { indicator, value, year, note, who } => {
            write_one(data, Command::SetBaseline { indicator, value, fiscal_year: year, note }, &who)
        }
    }
}

pub fn target(data: &Path, c: TargetCmd) -> Result<ExitCode> {
    match c {
        TargetCmd::Set { indicator, year, target, who } => {
            write_one(data, Command::SetTarget { indicator, fiscal_year: year, target }, &who)
        }
        TargetCmd::Withdraw { indicator, year, who } => {
            write_one(data, Command::WithdrawTarget { indicator, fiscal_year: year }, &who)
        }
    }
}

pub fn progress(data: &Path, c: ProgressCmd) -> Result<ExitCode> {
    match c {
        ProgressCmd::Report(ProgressArgs { indicator, year, value, as_of, note, who }) => {
            write_one(data, Command::ReportProgress { indicator, fiscal_year: year, value, as_of, note }, &who)
        }
        ProgressCmd::Correct(ProgressArgs { indicator, year, value, as_of, note, who }) => {
            write_one(data, Command::CorrectProgress { indicator, fiscal_year: year, value, as_of, note }, &who)
        }
    }
}
