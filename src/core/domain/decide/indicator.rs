//! Decisions on indicators (KPI): definition, baseline, targets and actuals.

use super::super::command::Command;
use super::super::error::DomainError;
use super::super::event::PlanEvent;
use super::super::model::{Baseline, Meta};
use super::super::state::State;
use super::super::value::Target;

use super::fields::*;
use super::not_here;

/// An indicator's definition: defining, revising, retiring and reinstating it, and its baseline.
pub(super) fn decide_definition(state: &State, cmd: &Command, meta: &Meta) -> R<PlanEvent> {
    use Command::*;
    let ev = match cmd {
        DefineIndicator { indicator, node, name, unit, direction: d, cumulative, note } => {
            let id = indicator_id("indicator", indicator)?;
            if state.indicators.contains_key(&id) {
                return Err(DomainError::conflict(
                    "indicator",
                    format!("indicator id {id} is already used (ids are never reused)"),
                ));
            }
            let n = live_node(state, "node", node)?;
            PlanEvent::IndicatorDefined {
                plan: n.plan.clone(),
                indicator: id,
                node: n.id.clone(),
                name: line("name", name)?,
                unit: optional_line("unit", unit)?,
                direction: direction("direction", d)?,
                cumulative: *cumulative,
                note: text("note", note)?,
            }
        }
        ReviseIndicator { indicator, name, unit, direction: d, cumulative, note } => {
            let i = live_indicator(state, "indicator", indicator)?;
            let ev = PlanEvent::IndicatorRevised {
                plan: i.plan.clone(),
                indicator: i.id.clone(),
                name: match name {
                    Some(n) => line("name", n)?,
                    None => i.name.clone(),
                },
                unit: match unit {
                    Some(u) => optional_line("unit", u)?,
                    None => i.unit.clone(),
                },
                direction: match d {
                    Some(d) => direction("direction", d)?,
                    None => i.direction,
                },
                cumulative: cumulative.unwrap_or(i.cumulative),
                note: match note {
                    Some(n) => text("note", n)?,
                    None => i.note.clone(),
                },
            };
            if let PlanEvent::IndicatorRevised { name, unit, direction, cumulative, note, .. } = &ev
                && *name == i.name
                && *unit == i.unit
                && *direction == i.direction
                && *cumulative == i.cumulative
                && *note == i.note
            {
                return Err(unchanged("indicator"));
            }
            ev
        }
        RetireIndicator { indicator } => {
            let i = live_indicator(state, "indicator", indicator)?;
            require_reason(meta, "retiring an indicator")?;
            PlanEvent::IndicatorRetired { plan: i.plan.clone(), indicator: i.id.clone() }
        }
        ReinstateIndicator { indicator } => {
            let id = indicator_id("indicator", indicator)?;
            let i = state
                .indicators
                .get(&id)
                .ok_or_else(|| DomainError::not_found("indicator", format!("indicator {id} does not exist")))?;
            if !i.retired {
                return Err(DomainError::conflict("indicator", format!("indicator {id} is not retired")));
            }
            require_reason(meta, "reinstating an indicator")?;
            if state.nodes.get(&i.node).is_none_or(|n| n.retired) {
                return Err(DomainError::conflict(
                    "indicator",
                    format!("indicator {id} belongs to node {}, which is retired; reinstate it first", i.node),
                ));
            }
            if let Some(fy) = i.targets.keys().find(|fy| !period_holds(state, &i.plan, **fy)) {
                return Err(DomainError::conflict(
                    "indicator",
                    format!("indicator {id} has a target for {}, outside the plan period; widen it first", fy.label()),
                ));
            }
            PlanEvent::IndicatorReinstated { plan: i.plan.clone(), indicator: id }
        }
        SetBaseline { indicator, value: v, fiscal_year: fy, note } => {
            let i = live_indicator(state, "indicator", indicator)?;
            let b = Baseline {
                value: value("value", v)?,
                fiscal_year: fiscal_year("fiscal_year", fy)?,
                note: text("note", note)?,
            };
            if i.baseline.as_ref() == Some(&b) {
                return Err(unchanged("value"));
            }
            PlanEvent::BaselineSet { plan: i.plan.clone(), indicator: i.id.clone(), baseline: b }
        }
        WithdrawBaseline { indicator } => {
            let i = live_indicator(state, "indicator", indicator)?;
            let previous = i
                .baseline
                .clone()
                .ok_or_else(|| DomainError::not_found("indicator", format!("indicator {} has no baseline", i.id)))?;
            require_reason(meta, "withdrawing a baseline")?;
            PlanEvent::BaselineWithdrawn { plan: i.plan.clone(), indicator: i.id.clone(), previous }
        }
        other => return Err(not_here(other)),
    };
    Ok(ev)
}

/// An indicator's figures: targets per fiscal year and reported actuals.
pub(super) fn decide_figures(state: &State, cmd: &Command, meta: &Meta) -> R<PlanEvent> {
    use Command::*;
    let ev = match cmd {
        SetTarget { indicator, fiscal_year: fy, target } => {
            let i = live_indicator(state, "indicator", indicator)?;
            let fy = fiscal_year("fiscal_year", fy)?;
            in_period(state, &i.plan, "fiscal_year", fy)?;
            let t: Target = target
                .parse()
                .map_err(|e: super::super::value::ValueError| DomainError::invalid("target", e.reason))?;
            match i.targets.get(&fy) {
                None => {
                    PlanEvent::TargetSet { plan: i.plan.clone(), indicator: i.id.clone(), fiscal_year: fy, target: t }
                }
                Some(prev) if *prev == t => return Err(unchanged("target")),
                Some(prev) => {
                    require_reason(meta, "a target revision")?;
                    PlanEvent::TargetRevised {
                        plan: i.plan.clone(),
                        indicator: i.id.clone(),
                        fiscal_year: fy,
                        previous: *prev,
                        target: t,
                    }
                }
            }
        }
        WithdrawTarget { indicator, fiscal_year: fy } => {
            let i = live_indicator(state, "indicator", indicator)?;
            let fy = fiscal_year("fiscal_year", fy)?;
            let prev = i.targets.get(&fy).ok_or_else(|| {
                DomainError::not_found("fiscal_year", format!("indicator {} has no target for {}", i.id, fy.label()))
            })?;
            require_reason(meta, "withdrawing a target")?;
            PlanEvent::TargetWithdrawn {
                plan: i.plan.clone(),
                indicator: i.id.clone(),
                fiscal_year: fy,
                previous: *prev,
            }
        }
        ReportProgress { indicator, fiscal_year: fy, value: v, as_of, note } => {
            let i = live_indicator(state, "indicator", indicator)?;
            let fy = fiscal_year("fiscal_year", fy)?;
            if i.actuals.contains_key(&fy) {
                return Err(DomainError::conflict(
                    "fiscal_year",
                    format!("indicator {} already has an actual for {}; correct it instead", i.id, fy.label()),
                ));
            }
            PlanEvent::ProgressReported {
                plan: i.plan.clone(),
                indicator: i.id.clone(),
                fiscal_year: fy,
                value: value("value", v)?,
                as_of: as_of.as_deref().map(|d| date("as_of", d)).transpose()?,
                note: text("note", note)?,
            }
        }
        CorrectProgress { indicator, fiscal_year: fy, value: v, as_of, note } => {
            let i = live_indicator(state, "indicator", indicator)?;
            let fy = fiscal_year("fiscal_year", fy)?;
            let prev = i.actuals.get(&fy).ok_or_else(|| {
                DomainError::not_found(
                    "fiscal_year",
                    format!("indicator {} has no actual for {} to correct", i.id, fy.label()),
                )
            })?;
            let (v, as_of, note) =
                (value("value", v)?, as_of.as_deref().map(|d| date("as_of", d)).transpose()?, text("note", note)?);
            if v == prev.value && as_of == prev.as_of && note == prev.note {
                return Err(unchanged("value"));
            }
            require_reason(meta, "a correction of progress")?;
            PlanEvent::ProgressCorrected {
                plan: i.plan.clone(),
                indicator: i.id.clone(),
                fiscal_year: fy,
                previous: prev.value,
                value: v,
                as_of,
                note,
            }
        }
        other => return Err(not_here(other)),
    };
    Ok(ev)
}
