//! Decisions on a plan as a whole: its creation, header, status, named versions and restores.

use super::super::command::Command;
use super::super::error::DomainError;
use super::super::event::PlanEvent;
use super::super::model::{Meta, RestorePoint, RestoreScope};
use super::super::municipality::{Municipality, MunicipalityCode};
use super::super::state::{Plan, State};

use super::fields::*;
use super::not_here;

/// Creating a plan, revising its header (title, kind, period, levels) and changing its status.
pub(super) fn decide_plan(state: &State, cmd: &Command, meta: &Meta) -> R<PlanEvent> {
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
            let code: MunicipalityCode =
                municipality_code.parse().map_err(|e: super::super::municipality::CodeError| {
                    DomainError::invalid("municipality_code", e.reason)
                })?;
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
        other => return Err(not_here(other)),
    };
    Ok(ev)
}

/// Naming a version of the plan and recording a restore.
pub(super) fn decide_record(state: &State, cmd: &Command, meta: &Meta) -> R<PlanEvent> {
    use Command::*;
    let ev = match cmd {
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
        other => return Err(not_here(other)),
    };
    Ok(ev)
}

/// Reads the point of a restore in its one-string form with an explicit axis; a version name is resolved to the
/// seq it names in the plan.
fn restore_point(p: &Plan, s: &str) -> R<RestorePoint> {
    if let Some(v) = s.strip_prefix("seq:") {
        let seq = v.parse().map_err(|_| DomainError::invalid("to", format!("{v:?} is not a seq")))?;
        return Ok(RestorePoint::Seq { seq });
    }
    if let Some(v) = s.strip_prefix("as-of:") {
        let t =
            super::super::time::parse_instant(v).map_err(|why| DomainError::invalid("to", format!("{v:?} {why}")))?;
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
