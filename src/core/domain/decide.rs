//! `decide`: checks a command against the current state and returns the events it causes. Pure; no I/O.

use chrono::NaiveDate;

use super::command::Command;
use super::error::DomainError;
use super::event::PlanEvent;
use super::fiscal_year::FiscalYear;
use super::ids::{IndicatorId, NodeId, PlanId, id_problem};
use super::model::{Baseline, Detail, Meta, Period, PlanStatus, RestorePoint, RestoreScope};
use super::municipality::{Municipality, MunicipalityCode};
use super::state::{Indicator, Node, Plan, State};
use super::value::{Direction, PlanValue, Target};

type R<T> = Result<T, DomainError>;

/// Longest single-line text (titles, names, codes) and longest multi-line text accepted.
const MAX_LINE: usize = 1_000;
const MAX_TEXT: usize = 100_000;

fn line(field: &str, s: &str) -> R<String> {
    if s.trim().is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    optional_line(field, s)
}

fn optional_line(field: &str, s: &str) -> R<String> {
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

fn text(field: &str, s: &str) -> R<String> {
    if s.chars().count() > MAX_TEXT {
        return Err(DomainError::invalid(field, format!("must be at most {MAX_TEXT} characters")));
    }
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(DomainError::invalid(field, "must not contain control characters other than line breaks"));
    }
    Ok(s.to_string())
}

fn required_text(field: &str, s: &str) -> R<String> {
    if s.trim().is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    text(field, s)
}

fn details(field: &str, ds: &[Detail]) -> R<Vec<Detail>> {
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

fn departments(field: &str, ds: &[String]) -> R<Vec<String>> {
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

fn plan_id(field: &str, s: &str) -> R<PlanId> {
    PlanId::new(s).map_err(|p| DomainError::invalid(field, format!("plan id {s:?} {p}")))
}

fn node_id(field: &str, s: &str) -> R<NodeId> {
    NodeId::new(s).map_err(|p| DomainError::invalid(field, format!("node id {s:?} {p}")))
}

fn indicator_id(field: &str, s: &str) -> R<IndicatorId> {
    IndicatorId::new(s).map_err(|p| DomainError::invalid(field, format!("indicator id {s:?} {p}")))
}

fn fiscal_year(field: &str, s: &str) -> R<FiscalYear> {
    s.parse().map_err(|e: super::fiscal_year::FiscalYearError| DomainError::invalid(field, e.reason))
}

fn value(field: &str, s: &str) -> R<PlanValue> {
    s.parse().map_err(|e: super::value::ValueError| DomainError::invalid(field, e.reason))
}

fn date(field: &str, s: &str) -> R<NaiveDate> {
    super::time::parse_date(s.trim())
        .ok_or_else(|| DomainError::invalid(field, format!("{s:?} is not a date (YYYY-MM-DD with a four-digit year)")))
}

fn direction(field: &str, s: &str) -> R<Direction> {
    Direction::parse(s).ok_or_else(|| DomainError::invalid(field, "must be higher, lower or unspecified"))
}

fn status(field: &str, s: &str) -> R<PlanStatus> {
    PlanStatus::parse(s).ok_or_else(|| DomainError::invalid(field, "must be draft, adopted or superseded"))
}

fn plan<'a>(state: &'a State, field: &str, s: &str) -> R<&'a Plan> {
    let id = plan_id(field, s)?;
    state.plans.get(&id).ok_or_else(|| DomainError::not_found(field, format!("plan {id} does not exist")))
}

fn live_node<'a>(state: &'a State, field: &str, s: &str) -> R<&'a Node> {
    let id = node_id(field, s)?;
    let n = state.nodes.get(&id).ok_or_else(|| DomainError::not_found(field, format!("node {id} does not exist")))?;
    if n.retired {
        return Err(DomainError::conflict(field, format!("node {id} is retired")));
    }
    Ok(n)
}

fn live_indicator<'a>(state: &'a State, field: &str, s: &str) -> R<&'a Indicator> {
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

fn in_period(state: &State, plan: &PlanId, field: &str, fy: FiscalYear) -> R<()> {
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
fn period_holds(state: &State, plan: &PlanId, fy: FiscalYear) -> bool {
    state.plans.get(plan).and_then(|p| p.period).is_some_and(|p| p.contains(fy))
}

fn require_reason(meta: &Meta, what: &str) -> R<()> {
    match &meta.reason {
        Some(r) if !r.trim().is_empty() => Ok(()),
        _ => Err(DomainError::invalid("reason", format!("{what} needs a reason"))),
    }
}

fn unchanged(field: &str) -> DomainError {
    DomainError::conflict(field, "is unchanged: nothing to record")
}

fn period(from: &Option<String>, to: &Option<String>) -> R<Option<Period>> {
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
        CreatePlan {
            plan,
            municipality,
            municipality_code,
            title,
            kind,
            period_from,
            period_to,
            status: st,
            levels,
            predecessor,
        } => {
            let id = plan_id("plan", plan)?;
            if state.plans.contains_key(&id) {
                return Err(DomainError::conflict("plan", format!("plan {id} already exists")));
            }
            let code: MunicipalityCode = municipality_code
                .parse()
                .map_err(|e: super::municipality::CodeError| DomainError::invalid("municipality_code", e.reason))?;
            let predecessor = match predecessor {
                Some(p) => Some(self::plan(state, "predecessor", p)?.id.clone()),
                None => None,
            };
            PlanEvent::PlanCreated {
                plan: id,
                municipality: Municipality { name: line("municipality", municipality)?, code },
                title: line("title", title)?,
                kind: line("kind", kind)?,
                period: period(period_from, period_to)?,
                status: status("status", st)?,
                levels: levels.iter().enumerate().map(|(i, l)| line(&format!("levels[{i}]"), l)).collect::<R<_>>()?,
                predecessor,
            }
        }
        RevisePlan { plan: p, title, kind, period_from, period_to, levels, clear_period } => {
            let cur = plan(state, "plan", p)?;
            if *clear_period && (period_from.is_some() || period_to.is_some()) {
                return Err(DomainError::invalid("clear_period", "cannot be given with period_from or period_to"));
            }
            let new_period = if *clear_period {
                None
            } else if period_from.is_none() && period_to.is_none() {
                cur.period
            } else {
                let f = period_from.clone().or_else(|| cur.period.map(|x| x.from.to_string()));
                let t = period_to.clone().or_else(|| cur.period.map(|x| x.to.to_string()));
                period(&f, &t)?
            };
            let ev = PlanEvent::PlanRevised {
                plan: cur.id.clone(),
                title: match title {
                    Some(t) => line("title", t)?,
                    None => cur.title.clone(),
                },
                kind: match kind {
                    Some(k) => line("kind", k)?,
                    None => cur.kind.clone(),
                },
                period: new_period,
                levels: match levels {
                    Some(ls) => {
                        ls.iter().enumerate().map(|(i, l)| line(&format!("levels[{i}]"), l)).collect::<R<_>>()?
                    }
                    None => cur.levels.clone(),
                },
            };
            if let PlanEvent::PlanRevised { title, kind, period, levels, .. } = &ev {
                if *title == cur.title && *kind == cur.kind && *period == cur.period && *levels == cur.levels {
                    return Err(unchanged("plan"));
                }
                // A plan without a stated period holds no targets or milestones (they are refused outside it).
                if period.is_none() && cur.period.is_some() {
                    for i in state.indicators.values().filter(|i| i.plan == cur.id && !i.retired) {
                        if let Some(fy) = i.targets.keys().next() {
                            return Err(DomainError::conflict(
                                "clear_period",
                                format!("indicator {} has a target for {}; withdraw it first", i.id, fy.label()),
                            ));
                        }
                    }
                    for n in state.nodes.values().filter(|n| n.plan == cur.id && !n.retired) {
                        if let Some(fy) = n.milestones.keys().next() {
                            return Err(DomainError::conflict(
                                "clear_period",
                                format!("node {} has a milestone for {}; withdraw it first", n.id, fy.label()),
                            ));
                        }
                    }
                }
                // Narrowing the period must not strand targets or milestones outside it.
                if let Some(np) = period {
                    for i in state.indicators.values().filter(|i| i.plan == cur.id && !i.retired) {
                        if let Some(fy) = i.targets.keys().find(|fy| !np.contains(**fy)) {
                            return Err(DomainError::conflict(
                                "period_from",
                                format!("indicator {} has a target for {} outside the new period", i.id, fy.label()),
                            ));
                        }
                    }
                    for n in state.nodes.values().filter(|n| n.plan == cur.id && !n.retired) {
                        if let Some(fy) = n.milestones.keys().find(|fy| !np.contains(**fy)) {
                            return Err(DomainError::conflict(
                                "period_from",
                                format!("node {} has a milestone for {} outside the new period", n.id, fy.label()),
                            ));
                        }
                    }
                }
            }
            ev
        }
        ChangePlanStatus { plan: p, status: st } => {
            let cur = plan(state, "plan", p)?;
            let st = status("status", st)?;
            if st == cur.status {
                return Err(unchanged("status"));
            }
            require_reason(meta, "a change of plan status")?;
            PlanEvent::PlanStatusChanged { plan: cur.id.clone(), previous: cur.status, status: st }
        }
        AddNode { plan: p, node, parent, order, code, title, text: t, details: ds, departments: deps } => {
            let p = plan(state, "plan", p)?;
            let id = node_id("node", node)?;
            if state.nodes.contains_key(&id) {
                return Err(DomainError::conflict(
                    "node",
                    format!("node id {id} is already used (ids are never reused)"),
                ));
            }
            let parent = match parent {
                Some(s) => {
                    let par = live_node(state, "parent", s)?;
                    if par.plan != p.id {
                        return Err(DomainError::invalid(
                            "parent",
                            format!("node {} belongs to plan {}", par.id, par.plan),
                        ));
                    }
                    Some(par.id.clone())
                }
                None => None,
            };
            let order = match order {
                Some(o) => *o,
                None => state
                    .nodes
                    .values()
                    .filter(|n| n.plan == p.id && n.parent == parent)
                    .map(|n| n.order + 1)
                    .max()
                    .unwrap_or(0),
            };
            PlanEvent::NodeAdded {
                plan: p.id.clone(),
                node: id,
                parent,
                order,
                code: optional_line("code", code)?,
                title: line("title", title)?,
                text: text("text", t)?,
                details: details("details", ds)?,
                departments: departments("departments", deps)?,
            }
        }
        RenameNode { node, code, title } => {
            let n = live_node(state, "node", node)?;
            let code = match code {
                Some(c) => optional_line("code", c)?,
                None => n.code.clone(),
            };
            let title = match title {
                Some(t) => line("title", t)?,
                None => n.title.clone(),
            };
            if code == n.code && title == n.title {
                return Err(unchanged("title"));
            }
            PlanEvent::NodeRenamed { plan: n.plan.clone(), node: n.id.clone(), code, title }
        }
        ReviseNodeText { node, text: t } => {
            let n = live_node(state, "node", node)?;
            let t = text("text", t)?;
            if t == n.text {
                return Err(unchanged("text"));
            }
            PlanEvent::NodeTextRevised { plan: n.plan.clone(), node: n.id.clone(), text: t }
        }
        ReviseNodeDetails { node, details: ds } => {
            let n = live_node(state, "node", node)?;
            let ds = details("details", ds)?;
            if ds == n.details {
                return Err(unchanged("details"));
            }
            PlanEvent::NodeDetailsRevised { plan: n.plan.clone(), node: n.id.clone(), details: ds }
        }
        MoveNode { node, parent, order } => {
            let n = live_node(state, "node", node)?;
            let parent = match parent {
                Some(s) => {
                    let par = live_node(state, "parent", s)?;
                    if par.plan != n.plan {
                        return Err(DomainError::invalid(
                            "parent",
                            format!("node {} belongs to plan {}", par.id, par.plan),
                        ));
                    }
                    if state.is_ancestor_or_self(&n.id, &par.id) {
                        return Err(DomainError::invalid(
                            "parent",
                            format!("node {} lies under {}: that would make a cycle", par.id, n.id),
                        ));
                    }
                    Some(par.id.clone())
                }
                None => None,
            };
            let order = match order {
                Some(o) => *o,
                None if parent == n.parent => n.order,
                None => state
                    .nodes
                    .values()
                    .filter(|m| m.plan == n.plan && m.parent == parent)
                    .map(|m| m.order + 1)
                    .max()
                    .unwrap_or(0),
            };
            if parent == n.parent && order == n.order {
                return Err(unchanged("parent"));
            }
            PlanEvent::NodeMoved { plan: n.plan.clone(), node: n.id.clone(), parent, order }
        }
        RetireNode { node } => {
            let n = live_node(state, "node", node)?;
            require_reason(meta, "retiring a node")?;
            if let Some(c) = state.nodes.values().find(|c| !c.retired && c.parent.as_ref() == Some(&n.id)) {
                return Err(DomainError::conflict(
                    "node",
                    format!("node {} still has child {}; retire or move it first", n.id, c.id),
                ));
            }
            if let Some(i) = state.indicators.values().find(|i| !i.retired && i.node == n.id) {
                return Err(DomainError::conflict(
                    "node",
                    format!("node {} still has indicator {}; retire it first", n.id, i.id),
                ));
            }
            if let Some(c) = state.nodes.values().find(|c| !c.retired && c.cross_listed_under.contains(&n.id)) {
                return Err(DomainError::conflict(
                    "node",
                    format!("node {} is cross-listed under {}; remove that listing first", c.id, n.id),
                ));
            }
            PlanEvent::NodeRetired { plan: n.plan.clone(), node: n.id.clone() }
        }
        CrossListNode { node, under } => {
            let n = live_node(state, "node", node)?;
            let u = live_node(state, "under", under)?;
            if u.plan != n.plan {
                return Err(DomainError::invalid("under", format!("node {} belongs to plan {}", u.id, u.plan)));
            }
            if u.id == n.id || n.parent.as_ref() == Some(&u.id) {
                return Err(DomainError::invalid("under", format!("node {} is already listed under {}", n.id, u.id)));
            }
            if state.is_ancestor_or_self(&n.id, &u.id) {
                return Err(DomainError::invalid(
                    "under",
                    format!("node {} lies under {}: a cross-listing there would make a cycle", u.id, n.id),
                ));
            }
            if n.cross_listed_under.contains(&u.id) {
                return Err(DomainError::conflict(
                    "under",
                    format!("node {} is already cross-listed under {}", n.id, u.id),
                ));
            }
            PlanEvent::NodeCrossListed { plan: n.plan.clone(), node: n.id.clone(), under: u.id.clone() }
        }
        RemoveCrossListing { node, under } => {
            let n = live_node(state, "node", node)?;
            let u = node_id("under", under)?;
            if !n.cross_listed_under.contains(&u) {
                return Err(DomainError::not_found("under", format!("node {} is not cross-listed under {u}", n.id)));
            }
            PlanEvent::NodeCrossListingRemoved { plan: n.plan.clone(), node: n.id.clone(), under: u }
        }
        CrossReferenceNode { node, reference } => {
            let n = live_node(state, "node", node)?;
            let r = optional_line("reference", reference)?;
            if n.cross_reference.as_deref().unwrap_or("") == r {
                return Err(unchanged("reference"));
            }
            PlanEvent::NodeCrossReferenced { plan: n.plan.clone(), node: n.id.clone(), reference: r }
        }
        AssignDepartments { node, departments: deps } => {
            let n = live_node(state, "node", node)?;
            let deps = departments("departments", deps)?;
            if deps == n.departments {
                return Err(unchanged("departments"));
            }
            PlanEvent::DepartmentsAssigned { plan: n.plan.clone(), node: n.id.clone(), departments: deps }
        }
        SetMilestone { node, fiscal_year: fy, text: t } => {
            let n = live_node(state, "node", node)?;
            let fy = fiscal_year("fiscal_year", fy)?;
            in_period(state, &n.plan, "fiscal_year", fy)?;
            let t = required_text("text", t)?;
            if n.milestones.get(&fy) == Some(&t) {
                return Err(unchanged("text"));
            }
            PlanEvent::MilestoneSet { plan: n.plan.clone(), node: n.id.clone(), fiscal_year: fy, text: t }
        }
        WithdrawMilestone { node, fiscal_year: fy } => {
            let n = live_node(state, "node", node)?;
            let fy = fiscal_year("fiscal_year", fy)?;
            if !n.milestones.contains_key(&fy) {
                return Err(DomainError::not_found(
                    "fiscal_year",
                    format!("node {} has no milestone for {}", n.id, fy.label()),
                ));
            }
            require_reason(meta, "withdrawing a milestone")?;
            PlanEvent::MilestoneWithdrawn { plan: n.plan.clone(), node: n.id.clone(), fiscal_year: fy }
        }
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
            if let PlanEvent::IndicatorRevised { name, unit, direction, cumulative, note, .. } = &ev {
                if *name == i.name
                    && *unit == i.unit
                    && *direction == i.direction
                    && *cumulative == i.cumulative
                    && *note == i.note
                {
                    return Err(unchanged("indicator"));
                }
            }
            ev
        }
        RetireIndicator { indicator } => {
            let i = live_indicator(state, "indicator", indicator)?;
            require_reason(meta, "retiring an indicator")?;
            PlanEvent::IndicatorRetired { plan: i.plan.clone(), indicator: i.id.clone() }
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
        SetTarget { indicator, fiscal_year: fy, target } => {
            let i = live_indicator(state, "indicator", indicator)?;
            let fy = fiscal_year("fiscal_year", fy)?;
            in_period(state, &i.plan, "fiscal_year", fy)?;
            let t: Target =
                target.parse().map_err(|e: super::value::ValueError| DomainError::invalid("target", e.reason))?;
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
        NameVersion { plan: p, name, seq } => {
            let p = plan(state, "plan", p)?;
            let name = line("name", name)?;
            if name.chars().count() > 200 {
                return Err(DomainError::invalid("name", "must be at most 200 characters"));
            }
            if let Some(at) = p.versions.get(&name) {
                return Err(DomainError::conflict("name", format!("already names plan {} at seq {at}", p.id)));
            }
            // `last` (or `last-N`, N events before it) resolves against the state the command is decided on, so a
            // plan table (or any multi-command request) can name the plan as it stands after its own events
            // without knowing their seqs beforehand.
            let bad = || DomainError::invalid("seq", "must be a whole number, `last` (the latest event) or `last-N`");
            let seq: u64 = match seq.trim().strip_prefix("last") {
                Some(back) => {
                    let back: u64 = match back.strip_prefix('-') {
                        None if back.is_empty() => 0,
                        Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                            n.parse().map_err(|_| bad())?
                        }
                        _ => return Err(bad()),
                    };
                    state.events.checked_sub(1).and_then(|l| l.checked_sub(back)).ok_or_else(|| {
                        DomainError::invalid("seq", format!("{seq} lies before the first event of the ledger"))
                    })?
                }
                None => seq.trim().parse().map_err(|_| bad())?,
            };
            if seq >= state.events {
                return Err(DomainError::invalid(
                    "seq",
                    format!("must name an event already in the ledger (below {})", state.events),
                ));
            }
            if seq < p.created_seq {
                return Err(DomainError::invalid(
                    "seq",
                    format!("is before plan {} was created (seq {})", p.id, p.created_seq),
                ));
            }
            PlanEvent::VersionNamed { plan: p.id.clone(), name, seq }
        }
        ReinstateNode { node } => {
            let id = node_id("node", node)?;
            let n = state
                .nodes
                .get(&id)
                .ok_or_else(|| DomainError::not_found("node", format!("node {id} does not exist")))?;
            if !n.retired {
                return Err(DomainError::conflict("node", format!("node {id} is not retired")));
            }
            require_reason(meta, "reinstating a node")?;
            // A live node hangs under live nodes only, and is cross-listed under live nodes only (retiring keeps
            // both true; reinstating must too).
            if let Some(p) = &n.parent {
                if state.nodes.get(p).is_none_or(|p| p.retired) {
                    return Err(DomainError::conflict(
                        "node",
                        format!("node {id} stands under node {p}, which is retired; reinstate {p} first"),
                    ));
                }
            }
            if let Some(u) = n.cross_listed_under.iter().find(|u| state.nodes.get(*u).is_none_or(|u| u.retired)) {
                return Err(DomainError::conflict(
                    "node",
                    format!("node {id} is cross-listed under node {u}, which is retired; reinstate {u} first"),
                ));
            }
            if let Some(fy) = n.milestones.keys().find(|fy| !period_holds(state, &n.plan, **fy)) {
                return Err(DomainError::conflict(
                    "node",
                    format!("node {id} has a milestone for {}, outside the plan period; widen it first", fy.label()),
                ));
            }
            PlanEvent::NodeReinstated { plan: n.plan.clone(), node: id }
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
        WithdrawBaseline { indicator } => {
            let i = live_indicator(state, "indicator", indicator)?;
            let previous = i
                .baseline
                .clone()
                .ok_or_else(|| DomainError::not_found("indicator", format!("indicator {} has no baseline", i.id)))?;
            require_reason(meta, "withdrawing a baseline")?;
            PlanEvent::BaselineWithdrawn { plan: i.plan.clone(), indicator: i.id.clone(), previous }
        }
        RecordRestore { plan: p, node, indicator, to, compensating } => {
            let p = plan(state, "plan", p)?;
            let scope = match (node, indicator) {
                (Some(_), Some(_)) => {
                    return Err(DomainError::invalid("indicator", "a restore names a node or an indicator, not both"));
                }
                (Some(n), None) => {
                    let id = node_id("node", n)?;
                    match state.nodes.get(&id) {
                        Some(n) if n.plan == p.id => RestoreScope::Node { node: id },
                        Some(n) => {
                            return Err(DomainError::invalid("node", format!("node {id} belongs to plan {}", n.plan)));
                        }
                        None => return Err(DomainError::not_found("node", format!("node {id} does not exist"))),
                    }
                }
                (None, Some(i)) => {
                    let id = indicator_id("indicator", i)?;
                    match state.indicators.get(&id) {
                        Some(i) if i.plan == p.id => RestoreScope::Indicator { indicator: id },
                        Some(i) => {
                            return Err(DomainError::invalid(
                                "indicator",
                                format!("indicator {id} belongs to plan {}", i.plan),
                            ));
                        }
                        None => {
                            return Err(DomainError::not_found("indicator", format!("indicator {id} does not exist")));
                        }
                    }
                }
                (None, None) => RestoreScope::Plan,
            };
            let to = restore_point(p, to)?;
            if *compensating == 0 {
                return Err(DomainError::conflict(
                    "compensating",
                    "nothing to restore: a restore records at least one compensating event",
                ));
            }
            // The compensating events are the plan's, appended right before this record.
            if *compensating >= p.version {
                return Err(DomainError::invalid(
                    "compensating",
                    format!("plan {} has only {} events after its creation", p.id, p.version - 1),
                ));
            }
            if let RestorePoint::Seq { seq } | RestorePoint::Version { seq, .. } = &to {
                if *seq < p.created_seq {
                    return Err(DomainError::invalid(
                        "to",
                        format!("seq {seq} is before plan {} was created (seq {})", p.id, p.created_seq),
                    ));
                }
                if seq.saturating_add(*compensating) >= state.events {
                    return Err(DomainError::invalid(
                        "to",
                        format!("seq {seq} is not before the {compensating} compensating events"),
                    ));
                }
            }
            require_reason(meta, "a restore")?;
            if meta.authority.is_none() {
                return Err(DomainError::invalid("authority", "a restore needs an authority"));
            }
            PlanEvent::Restored { plan: p.id.clone(), scope, to, compensating: *compensating }
        }
    };
    Ok(vec![ev])
}

/// Reads the point of a restore in its one-string form with an explicit axis; a version name is resolved to the
/// seq it names in the plan.
fn restore_point(p: &Plan, s: &str) -> R<RestorePoint> {
    if let Some(v) = s.strip_prefix("seq:") {
        let seq = v.parse().map_err(|_| DomainError::invalid("to", format!("{v:?} is not a seq")))?;
        return Ok(RestorePoint::Seq { seq });
    }
    if let Some(v) = s.strip_prefix("as-of:") {
        let t = super::time::parse_instant(v).map_err(|why| DomainError::invalid("to", format!("{v:?} {why}")))?;
        return Ok(RestorePoint::as_of(t));
    }
    if let Some(v) = s.strip_prefix("effective:") {
        return Ok(RestorePoint::Effective { effective: date("to", v)? });
    }
    if let Some(name) = s.strip_prefix("version:") {
        let seq = p
            .versions
            .get(name)
            .copied()
            .ok_or_else(|| DomainError::not_found("to", format!("plan {} has no version {name:?}", p.id)))?;
        return Ok(RestorePoint::Version { name: name.to_string(), seq });
    }
    Err(DomainError::invalid("to", format!("{s:?} must be seq:N, as-of:INSTANT, effective:DATE or version:NAME")))
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
