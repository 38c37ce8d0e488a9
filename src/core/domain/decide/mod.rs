//! `decide`: checks a command against the current state and returns the events it causes. Pure; no I/O. One file
//! per entity (`plan.rs`, `node.rs`, `indicator.rs`); the field readers they share are in `fields.rs`.

mod fields;
mod indicator;
mod node;
mod plan;

use super::command::Command;
use super::error::DomainError;
use super::event::PlanEvent;
use super::ids::id_problem;
use super::model::{Meta, RestoreScope};
use super::state::State;
use super::value::{Direction, Target};

use fields::*;

/// Checks who, on what authority and why: the envelope's own rules.
pub fn check_meta(meta: &Meta) -> R<()> {
    if let Some(p) = id_problem(&meta.actor.id) {
        return Err(DomainError::invalid("actor.id", p));
    }
    line("actor.name", &meta.actor.name)?;
    optional_line("actor.department", &meta.actor.department)?;
    if let Some(a) = &meta.authority {
        line("authority", a)?;
    }
    if let Some(r) = &meta.reason {
        required_text("reason", r)?;
    }
    Ok(())
}

/// Decides a command against `state`: the events it causes, or why it is refused.
pub fn decide(state: &State, cmd: &Command, meta: &Meta) -> R<Vec<PlanEvent>> {
    check_meta(meta)?;
    use Command::*;
    let ev = match cmd {
        CreatePlan { .. } | RevisePlan { .. } | ChangePlanStatus { .. } => plan::decide_plan(state, cmd, meta)?,
        NameVersion { .. } | RecordRestore { .. } => plan::decide_record(state, cmd, meta)?,
        AddNode { .. }
        | MoveNode { .. }
        | RetireNode { .. }
        | ReinstateNode { .. }
        | CrossListNode { .. }
        | RemoveCrossListing { .. } => node::decide_structure(state, cmd, meta)?,
        RenameNode { .. }
        | ReviseNodeText { .. }
        | ReviseNodeDetails { .. }
        | CrossReferenceNode { .. }
        | AssignDepartments { .. }
        | SetMilestone { .. }
        | WithdrawMilestone { .. } => node::decide_content(state, cmd, meta)?,
        DefineIndicator { .. }
        | ReviseIndicator { .. }
        | RetireIndicator { .. }
        | ReinstateIndicator { .. }
        | SetBaseline { .. }
        | WithdrawBaseline { .. } => indicator::decide_definition(state, cmd, meta)?,
        SetTarget { .. } | WithdrawTarget { .. } | ReportProgress { .. } | CorrectProgress { .. } => {
            indicator::decide_figures(state, cmd, meta)?
        }
    };
    Ok(vec![ev])
}

/// A command handed to the wrong entity's decisions: cannot happen through `decide`, which dispatches by kind; a
/// refusal rather than a panic all the same.
fn not_here(cmd: &Command) -> DomainError {
    DomainError::invalid("command", format!("{} is not decided here", cmd.name()))
}

/// The command that, decided against the state before `event`, produces exactly `event`. Importing and verifying
/// a ledger re-decide every event through it, so a stored event obeys the same rules as a new one.
pub fn command_for(event: &PlanEvent) -> Command {
    use PlanEvent::*;
    let s = |x: &dyn ToString| x.to_string();
    match event {
        PlanCreated { plan, municipality, title, kind, period, status, levels, predecessor } => Command::CreatePlan {
            plan: s(plan),
            municipality: municipality.name.clone(),
            municipality_code: s(&municipality.code),
            title: title.clone(),
            kind: kind.clone(),
            period_from: period.map(|p| s(&p.from)),
            period_to: period.map(|p| s(&p.to)),
            status: status.code().to_string(),
            levels: levels.clone(),
            predecessor: predecessor.as_ref().map(|p| s(p)),
        },
        PlanRevised { plan, title, kind, period, levels } => Command::RevisePlan {
            plan: s(plan),
            title: Some(title.clone()),
            kind: Some(kind.clone()),
            period_from: period.map(|p| s(&p.from)),
            period_to: period.map(|p| s(&p.to)),
            levels: Some(levels.clone()),
            clear_period: period.is_none(),
        },
        PlanStatusChanged { plan, status, .. } => {
            Command::ChangePlanStatus { plan: s(plan), status: status.code().to_string() }
        }
        NodeAdded { plan, node, parent, order, code, title, text, details, departments } => Command::AddNode {
            plan: s(plan),
            node: s(node),
            parent: parent.as_ref().map(|p| s(p)),
            order: Some(*order),
            code: code.clone(),
            title: title.clone(),
            text: text.clone(),
            details: details.clone(),
            departments: departments.clone(),
        },
        NodeRenamed { node, code, title, .. } => {
            Command::RenameNode { node: s(node), code: Some(code.clone()), title: Some(title.clone()) }
        }
        NodeTextRevised { node, text, .. } => Command::ReviseNodeText { node: s(node), text: text.clone() },
        NodeDetailsRevised { node, details, .. } => {
            Command::ReviseNodeDetails { node: s(node), details: details.clone() }
        }
        NodeMoved { node, parent, order, .. } => {
            Command::MoveNode { node: s(node), parent: parent.as_ref().map(|p| s(p)), order: Some(*order) }
        }
        NodeRetired { node, .. } => Command::RetireNode { node: s(node) },
        NodeCrossListed { node, under, .. } => Command::CrossListNode { node: s(node), under: s(under) },
        NodeCrossListingRemoved { node, under, .. } => Command::RemoveCrossListing { node: s(node), under: s(under) },
        NodeCrossReferenced { node, reference, .. } => {
            Command::CrossReferenceNode { node: s(node), reference: reference.clone() }
        }
        DepartmentsAssigned { node, departments, .. } => {
            Command::AssignDepartments { node: s(node), departments: departments.clone() }
        }
        MilestoneSet { node, fiscal_year, text, .. } => {
            Command::SetMilestone { node: s(node), fiscal_year: s(fiscal_year), text: text.clone() }
        }
        MilestoneWithdrawn { node, fiscal_year, .. } => {
            Command::WithdrawMilestone { node: s(node), fiscal_year: s(fiscal_year) }
        }
        IndicatorDefined { indicator, node, name, unit, direction, cumulative, note, .. } => Command::DefineIndicator {
            indicator: s(indicator),
            node: s(node),
            name: name.clone(),
            unit: unit.clone(),
            direction: direction_code(*direction).to_string(),
            cumulative: *cumulative,
            note: note.clone(),
        },
        IndicatorRevised { indicator, name, unit, direction, cumulative, note, .. } => Command::ReviseIndicator {
            indicator: s(indicator),
            name: Some(name.clone()),
            unit: Some(unit.clone()),
            direction: Some(direction_code(*direction).to_string()),
            cumulative: Some(*cumulative),
            note: Some(note.clone()),
        },
        IndicatorRetired { indicator, .. } => Command::RetireIndicator { indicator: s(indicator) },
        BaselineSet { indicator, baseline, .. } => Command::SetBaseline {
            indicator: s(indicator),
            value: s(&baseline.value),
            fiscal_year: s(&baseline.fiscal_year),
            note: baseline.note.clone(),
        },
        TargetSet { indicator, fiscal_year, target, .. } | TargetRevised { indicator, fiscal_year, target, .. } => {
            Command::SetTarget { indicator: s(indicator), fiscal_year: s(fiscal_year), target: target_code(target) }
        }
        TargetWithdrawn { indicator, fiscal_year, .. } => {
            Command::WithdrawTarget { indicator: s(indicator), fiscal_year: s(fiscal_year) }
        }
        ProgressReported { indicator, fiscal_year, value, as_of, note, .. } => Command::ReportProgress {
            indicator: s(indicator),
            fiscal_year: s(fiscal_year),
            value: s(value),
            as_of: as_of.map(|d| s(&d)),
            note: note.clone(),
        },
        ProgressCorrected { indicator, fiscal_year, value, as_of, note, .. } => Command::CorrectProgress {
            indicator: s(indicator),
            fiscal_year: s(fiscal_year),
            value: s(value),
            as_of: as_of.map(|d| s(&d)),
            note: note.clone(),
        },
        VersionNamed { plan, name, seq } => Command::NameVersion { plan: s(plan), name: name.clone(), seq: s(seq) },
        NodeReinstated { node, .. } => Command::ReinstateNode { node: s(node) },
        IndicatorReinstated { indicator, .. } => Command::ReinstateIndicator { indicator: s(indicator) },
        BaselineWithdrawn { indicator, .. } => Command::WithdrawBaseline { indicator: s(indicator) },
        Restored { plan, scope, to, compensating } => Command::RecordRestore {
            plan: s(plan),
            node: match scope {
                RestoreScope::Node { node } => Some(s(node)),
                _ => None,
            },
            indicator: match scope {
                RestoreScope::Indicator { indicator } => Some(s(indicator)),
                _ => None,
            },
            to: to.code(),
            compensating: *compensating,
        },
    }
}

/// A direction in the command syntax.
pub fn direction_code(d: Direction) -> &'static str {
    match d {
        Direction::Higher => "higher",
        Direction::Lower => "lower",
        Direction::Unspecified => "unspecified",
    }
}

/// A target in the command syntax that parses back to the same target.
pub fn target_code(t: &Target) -> String {
    match t {
        Target::None => "—".to_string(),
        Target::Value { value, comparator } => format!("{value}{}", comparator.suffix()),
    }
}
