//! Planning a restore: the commands that bring a plan, a node or an indicator from its current content back to its
//! content at a past point, in an order `decide` accepts one after another. Pure; no I/O.
//!
//! What a restore brings back ("plan content"): the plan header (title, kind, period, levels); for every node
//! whether it is live, its code and title, parent and order, text, details, departments, cross-listings,
//! cross-reference and milestones; for every indicator whether it is live, its definition, baseline and targets.
//! It never touches the plan status, named versions or progress actuals. A retired entity and one not yet added
//! are alike: neither is part of the plan's content, so neither's hidden values are compared or brought back.

mod ops;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::core::domain::model::{Baseline, Detail, Meta, Period, RestoreScope};
use crate::core::domain::state::{Indicator, Node};
use crate::core::domain::value::{Direction, Target};
use crate::core::domain::{Command, DomainError, FiscalYear, IndicatorId, NodeId, PlanId, State};

/// The plan header a restore brings back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeaderContent {
    pub title: String,
    pub kind: String,
    pub period: Option<Period>,
    pub levels: Vec<String>,
}

/// A live node's own aspects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeContent {
    pub parent: Option<NodeId>,
    pub order: u64,
    pub code: String,
    pub title: String,
    pub text: String,
    pub details: Vec<Detail>,
    pub departments: Vec<String>,
    pub cross_listed_under: BTreeSet<NodeId>,
    pub cross_reference: Option<String>,
    pub milestones: BTreeMap<FiscalYear, String>,
}

/// A live indicator's own aspects (its node is fixed when it is defined).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndicatorContent {
    pub node: NodeId,
    pub name: String,
    pub unit: String,
    pub direction: Direction,
    pub cumulative: bool,
    pub note: String,
    pub baseline: Option<Baseline>,
    pub targets: BTreeMap<FiscalYear, Target>,
}

/// The plan content within a scope: what a restore compares and brings back. Live entities only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Content {
    Plan {
        header: Option<HeaderContent>,
        nodes: BTreeMap<NodeId, NodeContent>,
        indicators: BTreeMap<IndicatorId, IndicatorContent>,
    },
    Node(Option<NodeContent>),
    Indicator(Option<IndicatorContent>),
}

fn node_content(n: &Node) -> NodeContent {
    NodeContent {
        parent: n.parent.clone(),
        order: n.order,
        code: n.code.clone(),
        title: n.title.clone(),
        text: n.text.clone(),
        details: n.details.clone(),
        departments: n.departments.clone(),
        cross_listed_under: n.cross_listed_under.clone(),
        cross_reference: n.cross_reference.clone(),
        milestones: n.milestones.clone(),
    }
}

fn indicator_content(i: &Indicator) -> IndicatorContent {
    IndicatorContent {
        node: i.node.clone(),
        name: i.name.clone(),
        unit: i.unit.clone(),
        direction: i.direction,
        cumulative: i.cumulative,
        note: i.note.clone(),
        baseline: i.baseline.clone(),
        targets: i.targets.clone(),
    }
}

fn live_node<'a>(s: &'a State, plan: &PlanId, id: &NodeId) -> Option<&'a Node> {
    s.nodes.get(id).filter(|n| &n.plan == plan && !n.retired)
}

fn live_indicator<'a>(s: &'a State, plan: &PlanId, id: &IndicatorId) -> Option<&'a Indicator> {
    s.indicators.get(id).filter(|i| &i.plan == plan && !i.retired)
}

/// The content of `plan` in `scope` as `state` holds it.
pub fn content(state: &State, plan: &PlanId, scope: &RestoreScope) -> Content {
    match scope {
        RestoreScope::Plan => Content::Plan {
            header: state.plans.get(plan).map(|p| HeaderContent {
                title: p.title.clone(),
                kind: p.kind.clone(),
                period: p.period,
                levels: p.levels.clone(),
            }),
            nodes: state
                .nodes
                .values()
                .filter(|n| &n.plan == plan && !n.retired)
                .map(|n| (n.id.clone(), node_content(n)))
                .collect(),
            indicators: state
                .indicators
                .values()
                .filter(|i| &i.plan == plan && !i.retired)
                .map(|i| (i.id.clone(), indicator_content(i)))
                .collect(),
        },
        RestoreScope::Node { node } => Content::Node(live_node(state, plan, node).map(node_content)),
        RestoreScope::Indicator { indicator } => {
            Content::Indicator(live_indicator(state, plan, indicator).map(indicator_content))
        }
    }
}

/// The plan content outside `scope`: the whole plan's content less the scope's own entry.
fn outside(state: &State, plan: &PlanId, scope: &RestoreScope) -> Content {
    let mut c = content(state, plan, &RestoreScope::Plan);
    if let Content::Plan { nodes, indicators, .. } = &mut c {
        match scope {
            RestoreScope::Plan => {}
            RestoreScope::Node { node } => {
                nodes.remove(node);
            }
            RestoreScope::Indicator { indicator } => {
                indicators.remove(indicator);
            }
        }
    }
    c
}

use ops::*;

/// The commands that bring `scope` of `plan` from its content in `now` back to its content in `past`, in an order
/// that `decide` accepts one after another under `meta` (which needs a reason: retirements, withdrawals and
/// revisions are among them). Refuses, naming the field, when the plan did not exist at the point (`to`), when the
/// node or indicator did not exist then (`target`), when there is nothing to restore (`to`), and when the point
/// cannot be reached by the rules without changing what lies outside the scope.
pub fn plan_restore(
    now: &State,
    past: &State,
    plan: &PlanId,
    scope: &RestoreScope,
    meta: &Meta,
) -> Result<Vec<Command>, DomainError> {
    if !now.plans.contains_key(plan) {
        return Err(DomainError::not_found("plan", format!("plan {plan} does not exist")));
    }
    if !past.plans.contains_key(plan) {
        return Err(DomainError::invalid("to", format!("plan {plan} did not exist yet at that point")));
    }
    match scope {
        RestoreScope::Plan => {}
        RestoreScope::Node { node } => {
            if now.nodes.get(node).is_none_or(|n| &n.plan != plan) {
                return Err(DomainError::not_found("target", format!("plan {plan} has no node {node}")));
            }
            if !past.nodes.contains_key(node) {
                return Err(DomainError::not_found("target", format!("node {node} did not exist yet at that point")));
            }
        }
        RestoreScope::Indicator { indicator } => {
            if now.indicators.get(indicator).is_none_or(|i| &i.plan != plan) {
                return Err(DomainError::not_found("target", format!("plan {plan} has no indicator {indicator}")));
            }
            if !past.indicators.contains_key(indicator) {
                return Err(DomainError::not_found(
                    "target",
                    format!("indicator {indicator} did not exist yet at that point"),
                ));
            }
        }
    }
    let want = content(past, plan, scope);
    if content(now, plan, scope) == want {
        return Err(DomainError::conflict(
            "to",
            format!("nothing to restore: {} is already as it was at that point", scope.describe(plan)),
        ));
    }

    let mut ops = Ops(Vec::new());
    let field = match scope {
        RestoreScope::Plan => "to",
        _ => "target",
    };
    let back: BTreeSet<NodeId> = match scope {
        RestoreScope::Plan => {
            if let (Some(c), Some(p)) = (now.plans.get(plan), past.plans.get(plan))
                && (&c.title, &c.kind, c.period, &c.levels) != (&p.title, &p.kind, p.period, &p.levels)
            {
                ops.push(
                    Phase::Header,
                    0,
                    Command::RevisePlan {
                        plan: plan.to_string(),
                        title: Some(p.title.clone()),
                        kind: Some(p.kind.clone()),
                        period_from: p.period.map(|x| x.from.to_string()),
                        period_to: p.period.map(|x| x.to.to_string()),
                        levels: Some(p.levels.clone()),
                        clear_period: p.period.is_none() && c.period.is_some(),
                    },
                );
            }
            for cur in now.nodes.values().filter(|n| &n.plan == plan) {
                node_ops(now, past, cur, live_node(past, plan, &cur.id), &mut ops);
            }
            for cur in now.indicators.values().filter(|i| &i.plan == plan) {
                indicator_ops(cur, live_indicator(past, plan, &cur.id), &mut ops);
            }
            now.nodes
                .values()
                .filter(|n| &n.plan == plan && n.retired && live_node(past, plan, &n.id).is_some())
                .map(|n| n.id.clone())
                .collect()
        }
        RestoreScope::Node { node } => {
            let want = live_node(past, plan, node);
            // The node's place and listings name other nodes; bringing those back is outside this scope.
            if let Some(p) = want {
                for other in p.parent.iter().chain(p.cross_listed_under.iter()) {
                    if live_node(now, plan, other).is_none() {
                        let how =
                            if p.parent.as_ref() == Some(other) { "stood under" } else { "was cross-listed under" };
                        return Err(DomainError::conflict(
                            "target",
                            format!(
                                "node {node} {how} node {other} at that point, and {other} is retired now; restore \
                                 {other} (or the whole plan) first"
                            ),
                        ));
                    }
                }
            }
            if let Some((fy, _)) = want.and_then(|p| p.milestones.iter().find(|(fy, _)| !in_period(now, plan, **fy))) {
                return Err(DomainError::conflict(
                    "target",
                    format!(
                        "node {node} had a milestone for {} at that point, outside the plan's period now; restore the \
                         whole plan instead",
                        fy.label()
                    ),
                ));
            }
            let cur = now
                .nodes
                .get(node)
                .ok_or_else(|| DomainError::not_found("target", format!("plan {plan} has no node {node}")))?;
            node_ops(now, past, cur, want, &mut ops);
            if cur.retired && want.is_some() { BTreeSet::from([node.clone()]) } else { BTreeSet::new() }
        }
        RestoreScope::Indicator { indicator } => {
            let want = live_indicator(past, plan, indicator);
            if let Some(p) = want {
                if live_node(now, plan, &p.node).is_none() {
                    return Err(DomainError::conflict(
                        "target",
                        format!(
                            "indicator {indicator} belongs to node {}, which is retired now; restore that node (or \
                             the whole plan) first",
                            p.node
                        ),
                    ));
                }
                if let Some(fy) = p.targets.keys().find(|fy| !in_period(now, plan, **fy)) {
                    return Err(DomainError::conflict(
                        "target",
                        format!(
                            "indicator {indicator} had a target for {} at that point, outside the plan's period now; \
                             restore the whole plan instead",
                            fy.label()
                        ),
                    ));
                }
            }
            let cur = now
                .indicators
                .get(indicator)
                .ok_or_else(|| DomainError::not_found("target", format!("plan {plan} has no indicator {indicator}")))?;
            indicator_ops(cur, want, &mut ops);
            BTreeSet::new()
        }
    };
    for h in helpers(now, &back) {
        let rank = depth(now, &h);
        ops.push(Phase::ReinstateNode, rank, Command::ReinstateNode { node: h.to_string() });
        ops.push(Phase::RetireHelper, -rank, Command::RetireNode { node: h.to_string() });
    }

    let (commands, reached) = schedule(now, ops, meta, field)?;
    if content(&reached, plan, scope) != want {
        return Err(DomainError::conflict(
            field,
            "cannot be brought back exactly: the content at that point is not one the plan rules can rebuild \
             (a view in force on a date can combine changes recorded in another order)",
        ));
    }
    if *scope != RestoreScope::Plan && outside(&reached, plan, scope) != outside(now, plan, scope) {
        return Err(DomainError::conflict(
            field,
            "cannot be brought back without changing what lies outside it; restore the whole plan instead",
        ));
    }
    Ok(commands)
}
