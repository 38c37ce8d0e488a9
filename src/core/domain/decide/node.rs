//! Decisions on the nodes of a plan's tree (施策, 事業 …): structure and content.

use super::super::command::Command;
use super::super::error::DomainError;
use super::super::event::PlanEvent;
use super::super::model::Meta;
use super::super::state::State;

use super::fields::*;
use super::not_here;

/// The plan's tree: adding, moving, retiring and reinstating nodes, and cross-listing (再掲).
pub(super) fn decide_structure(state: &State, cmd: &Command, meta: &Meta) -> R<PlanEvent> {
    use Command::*;
    let ev = match cmd {
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
            if let Some(p) = &n.parent
                && state.nodes.get(p).is_none_or(|p| p.retired)
            {
                return Err(DomainError::conflict(
                    "node",
                    format!("node {id} stands under node {p}, which is retired; reinstate {p} first"),
                ));
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
        other => return Err(not_here(other)),
    };
    Ok(ev)
}

/// A node's own content: its code and title, texts, details, cross-reference, departments and milestones.
pub(super) fn decide_content(state: &State, cmd: &Command, meta: &Meta) -> R<PlanEvent> {
    use Command::*;
    let ev = match cmd {
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
        other => return Err(not_here(other)),
    };
    Ok(ev)
}
