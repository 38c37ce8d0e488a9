//! The field readers every decision shares: texts and lines with their limits, ids, fiscal years, values, dates,
//! and the lookups of a live plan, node or indicator, each refusing with the field's name and the reason.

use chrono::NaiveDate;

use super::super::error::DomainError;
use super::super::fiscal_year::FiscalYear;
use super::super::ids::{IndicatorId, NodeId, PlanId};
use super::super::model::{Detail, Meta, Period, PlanStatus};
use super::super::state::{Indicator, Node, Plan, State};
use super::super::value::{Direction, PlanValue};

pub(super) type R<T> = Result<T, DomainError>;

/// Longest single-line text (titles, names, codes) and longest multi-line text accepted.
pub(super) const MAX_LINE: usize = 1_000;
pub(super) const MAX_TEXT: usize = 100_000;

pub(super) fn line(field: &str, s: &str) -> R<String> {
    if s.trim().is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    optional_line(field, s)
}

pub(super) fn optional_line(field: &str, s: &str) -> R<String> {
    if s.chars().count() > MAX_LINE {
        return Err(DomainError::invalid(field, format!("must be at most {MAX_LINE} characters")));
    }
    if s.chars().any(char::is_control) {
        return Err(DomainError::invalid(field, "must be a single line without control characters"));
    }
    if s != s.trim() {
        return Err(DomainError::invalid(field, "must not begin or end with white space"));
    }
    Ok(s.to_string())
}

pub(super) fn text(field: &str, s: &str) -> R<String> {
    if s.chars().count() > MAX_TEXT {
        return Err(DomainError::invalid(field, format!("must be at most {MAX_TEXT} characters")));
    }
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(DomainError::invalid(field, "must not contain control characters other than line breaks"));
    }
    Ok(s.to_string())
}

pub(super) fn required_text(field: &str, s: &str) -> R<String> {
    if s.trim().is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    text(field, s)
}

pub(super) fn details(field: &str, ds: &[Detail]) -> R<Vec<Detail>> {
    ds.iter()
        .enumerate()
        .map(|(i, d)| {
            Ok(Detail {
                label: line(&format!("{field}[{i}].label"), &d.label)?,
                text: text(&format!("{field}[{i}].text"), &d.text)?,
            })
        })
        .collect()
}

pub(super) fn departments(field: &str, ds: &[String]) -> R<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(ds.len());
    for (i, d) in ds.iter().enumerate() {
        let d = line(&format!("{field}[{i}]"), d)?;
        if out.contains(&d) {
            return Err(DomainError::invalid(format!("{field}[{i}]"), format!("{d} is listed twice")));
        }
        out.push(d);
    }
    Ok(out)
}

pub(super) fn plan_id(field: &str, s: &str) -> R<PlanId> {
    PlanId::new(s).map_err(|p| DomainError::invalid(field, format!("plan id {s:?} {p}")))
}

pub(super) fn node_id(field: &str, s: &str) -> R<NodeId> {
    NodeId::new(s).map_err(|p| DomainError::invalid(field, format!("node id {s:?} {p}")))
}

pub(super) fn indicator_id(field: &str, s: &str) -> R<IndicatorId> {
    IndicatorId::new(s).map_err(|p| DomainError::invalid(field, format!("indicator id {s:?} {p}")))
}

pub(super) fn fiscal_year(field: &str, s: &str) -> R<FiscalYear> {
    s.parse().map_err(|e: super::super::fiscal_year::FiscalYearError| DomainError::invalid(field, e.reason))
}

pub(super) fn value(field: &str, s: &str) -> R<PlanValue> {
    s.parse().map_err(|e: super::super::value::ValueError| DomainError::invalid(field, e.reason))
}

pub(super) fn date(field: &str, s: &str) -> R<NaiveDate> {
    super::super::time::parse_date(s.trim())
        .ok_or_else(|| DomainError::invalid(field, format!("{s:?} is not a date (YYYY-MM-DD with a four-digit year)")))
}

pub(super) fn direction(field: &str, s: &str) -> R<Direction> {
    Direction::parse(s).ok_or_else(|| DomainError::invalid(field, "must be higher, lower or unspecified"))
}

pub(super) fn status(field: &str, s: &str) -> R<PlanStatus> {
    PlanStatus::parse(s).ok_or_else(|| DomainError::invalid(field, "must be draft, adopted or superseded"))
}

pub(super) fn plan<'a>(state: &'a State, field: &str, s: &str) -> R<&'a Plan> {
    let id = plan_id(field, s)?;
    state.plans.get(&id).ok_or_else(|| DomainError::not_found(field, format!("plan {id} does not exist")))
}

pub(super) fn live_node<'a>(state: &'a State, field: &str, s: &str) -> R<&'a Node> {
    let id = node_id(field, s)?;
    let n = state.nodes.get(&id).ok_or_else(|| DomainError::not_found(field, format!("node {id} does not exist")))?;
    if n.retired {
        return Err(DomainError::conflict(field, format!("node {id} is retired")));
    }
    Ok(n)
}

pub(super) fn live_indicator<'a>(state: &'a State, field: &str, s: &str) -> R<&'a Indicator> {
    let id = indicator_id(field, s)?;
    let i = state
        .indicators
        .get(&id)
        .ok_or_else(|| DomainError::not_found(field, format!("indicator {id} does not exist")))?;
    if i.retired {
        return Err(DomainError::conflict(field, format!("indicator {id} is retired")));
    }
    Ok(i)
}

pub(super) fn in_period(state: &State, plan: &PlanId, field: &str, fy: FiscalYear) -> R<()> {
    let p =
        state.plans.get(plan).ok_or_else(|| DomainError::not_found("plan", format!("plan {plan} does not exist")))?;
    match p.period {
        None => Err(DomainError::invalid(field, format!("plan {plan} has no period; set one before planning years"))),
        Some(period) if !period.contains(fy) => {
            Err(DomainError::invalid(field, format!("{} lies outside the plan period {}", fy.label(), period.label())))
        }
        Some(_) => Ok(()),
    }
}

/// Whether the plan's period holds a year: what every live target and milestone must satisfy.
pub(super) fn period_holds(state: &State, plan: &PlanId, fy: FiscalYear) -> bool {
    state.plans.get(plan).and_then(|p| p.period).is_some_and(|p| p.contains(fy))
}

pub(super) fn require_reason(meta: &Meta, what: &str) -> R<()> {
    match &meta.reason {
        Some(r) if !r.trim().is_empty() => Ok(()),
        _ => Err(DomainError::invalid("reason", format!("{what} needs a reason"))),
    }
}

pub(super) fn unchanged(field: &str) -> DomainError {
    DomainError::conflict(field, "is unchanged: nothing to record")
}

pub(super) fn period(from: &Option<String>, to: &Option<String>) -> R<Option<Period>> {
    match (from, to) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(DomainError::invalid("period_to", "must be given with period_from")),
        (None, Some(_)) => Err(DomainError::invalid("period_from", "must be given with period_to")),
        (Some(f), Some(t)) => {
            let (from, to) = (fiscal_year("period_from", f)?, fiscal_year("period_to", t)?);
            if to < from {
                return Err(DomainError::invalid(
                    "period_to",
                    format!("{} is before period_from {}", to.label(), from.label()),
                ));
            }
            Ok(Some(Period { from, to }))
        }
    }
}
