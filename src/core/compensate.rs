//! Planning a restore: the commands that bring a plan, a node or an indicator from its current content back to its
//! content at a past point, in an order `decide` accepts one after another. Pure; no I/O.
//!
//! What a restore brings back ("plan content"): the plan header (title, kind, period, levels); for every node
//! whether it is live, its code and title, parent and order, text, details, departments, cross-listings,
//! cross-reference and milestones; for every indicator whether it is live, its definition, baseline and targets.
//! It never touches the plan status, named versions or progress actuals. A retired entity and one not yet added
//! are alike: neither is part of the plan's content, so neither's hidden values are compared or brought back.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::core::domain::decide::{direction_code, target_code};
use crate::core::domain::model::{Baseline, Detail, Meta, Period, RestoreScope};
use crate::core::domain::state::{Indicator, Node};
use crate::core::domain::value::{Direction, Target};
use crate::core::domain::{Command, DomainError, FiscalYear, IndicatorId, NodeId, PlanId, State, decide};

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

/// Steps of a restore, in the order they are tried. Reinstatements come first so that everything after them finds
/// live nodes; cross-listings are tried early because a later move can make them impossible (and are tried again
/// after every step); withdrawals and retirements come before the plan header, so a narrower or removed period
/// strands nothing; values are set last, inside the period they need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    ReinstateNode,
    ReinstateIndicator,
    CrossList,
    Move,
    Withdraw,
    RetireIndicator,
    RetireNode,
    Header,
    Edit,
    Set,
    /// Nodes reinstated only so that a node under them could come back; retired again at the end.
    RetireHelper,
}

#[derive(Debug, Clone)]
struct Op {
    phase: Phase,
    /// Order inside a phase: depth, so parents come back before children and leaves go before parents.
    rank: i64,
    cmd: Command,
}

struct Ops(Vec<Op>);

impl Ops {
    fn push(&mut self, phase: Phase, rank: i64, cmd: Command) {
        self.0.push(Op { phase, rank, cmd });
    }
}

fn in_period(s: &State, plan: &PlanId, fy: FiscalYear) -> bool {
    s.plans.get(plan).and_then(|p| p.period).is_some_and(|p| p.contains(fy))
}

fn depth(s: &State, n: &NodeId) -> i64 {
    i64::try_from(s.depth(n)).unwrap_or(i64::MAX)
}

/// The commands for one node that live in `now` as `cur` and is `want` at the point (`None`: retired or absent).
fn node_ops(now: &State, past: &State, cur: &Node, want: Option<&Node>, ops: &mut Ops) {
    let id = cur.id.to_string();
    let Some(p) = want else {
        if !cur.retired {
            ops.push(Phase::RetireNode, -depth(now, &cur.id), Command::RetireNode { node: id });
        }
        return;
    };
    if cur.retired {
        ops.push(Phase::ReinstateNode, depth(now, &cur.id), Command::ReinstateNode { node: id.clone() });
    }
    if (&cur.parent, cur.order) != (&p.parent, p.order) {
        ops.push(
            Phase::Move,
            depth(past, &p.id),
            Command::MoveNode {
                node: id.clone(),
                parent: p.parent.as_ref().map(|x| x.to_string()),
                order: Some(p.order),
            },
        );
    }
    for u in cur.cross_listed_under.difference(&p.cross_listed_under) {
        ops.push(Phase::Withdraw, 0, Command::RemoveCrossListing { node: id.clone(), under: u.to_string() });
    }
    for u in p.cross_listed_under.difference(&cur.cross_listed_under) {
        ops.push(Phase::CrossList, 0, Command::CrossListNode { node: id.clone(), under: u.to_string() });
    }
    if (&cur.code, &cur.title) != (&p.code, &p.title) {
        ops.push(
            Phase::Edit,
            0,
            Command::RenameNode { node: id.clone(), code: Some(p.code.clone()), title: Some(p.title.clone()) },
        );
    }
    if cur.text != p.text {
        ops.push(Phase::Edit, 0, Command::ReviseNodeText { node: id.clone(), text: p.text.clone() });
    }
    if cur.details != p.details {
        ops.push(Phase::Edit, 0, Command::ReviseNodeDetails { node: id.clone(), details: p.details.clone() });
    }
    if cur.departments != p.departments {
        ops.push(Phase::Edit, 0, Command::AssignDepartments { node: id.clone(), departments: p.departments.clone() });
    }
    if cur.cross_reference != p.cross_reference {
        ops.push(
            Phase::Edit,
            0,
            Command::CrossReferenceNode { node: id.clone(), reference: p.cross_reference.clone().unwrap_or_default() },
        );
    }
    for fy in cur.milestones.keys().filter(|fy| !p.milestones.contains_key(fy)) {
        ops.push(Phase::Withdraw, 0, Command::WithdrawMilestone { node: id.clone(), fiscal_year: fy.to_string() });
    }
    for (fy, text) in p.milestones.iter().filter(|(fy, t)| cur.milestones.get(fy) != Some(t)) {
        ops.push(
            Phase::Set,
            0,
            Command::SetMilestone { node: id.clone(), fiscal_year: fy.to_string(), text: text.clone() },
        );
    }
}

/// The commands for one indicator that lives in `now` as `cur` and is `want` at the point.
fn indicator_ops(cur: &Indicator, want: Option<&Indicator>, ops: &mut Ops) {
    let id = cur.id.to_string();
    let Some(p) = want else {
        if !cur.retired {
            ops.push(Phase::RetireIndicator, 0, Command::RetireIndicator { indicator: id });
        }
        return;
    };
    if cur.retired {
        ops.push(Phase::ReinstateIndicator, 0, Command::ReinstateIndicator { indicator: id.clone() });
    }
    if (&cur.name, &cur.unit, cur.direction, cur.cumulative, &cur.note)
        != (&p.name, &p.unit, p.direction, p.cumulative, &p.note)
    {
        ops.push(
            Phase::Edit,
            0,
            Command::ReviseIndicator {
                indicator: id.clone(),
                name: Some(p.name.clone()),
                unit: Some(p.unit.clone()),
                direction: Some(direction_code(p.direction).to_string()),
                cumulative: Some(p.cumulative),
                note: Some(p.note.clone()),
            },
        );
    }
    match (&cur.baseline, &p.baseline) {
        (Some(_), None) => ops.push(Phase::Withdraw, 0, Command::WithdrawBaseline { indicator: id.clone() }),
        (c, Some(b)) if c.as_ref() != Some(b) => ops.push(
            Phase::Edit,
            0,
            Command::SetBaseline {
                indicator: id.clone(),
                value: b.value.to_string(),
                fiscal_year: b.fiscal_year.to_string(),
                note: b.note.clone(),
            },
        ),
        _ => {}
    }
    for fy in cur.targets.keys().filter(|fy| !p.targets.contains_key(fy)) {
        ops.push(Phase::Withdraw, 0, Command::WithdrawTarget { indicator: id.clone(), fiscal_year: fy.to_string() });
    }
    for (fy, t) in p.targets.iter().filter(|(fy, t)| cur.targets.get(fy) != Some(t)) {
        ops.push(
            Phase::Set,
            0,
            Command::SetTarget { indicator: id.clone(), fiscal_year: fy.to_string(), target: target_code(t) },
        );
    }
}

/// Retired nodes that must be live for a moment so that `back` (nodes coming back) can be reinstated: a retired
/// node's parent and the nodes it is cross-listed under must be live when it is reinstated. They are retired again
/// at the end, unchanged.
fn helpers(now: &State, back: &BTreeSet<NodeId>) -> BTreeSet<NodeId> {
    let mut helpers = BTreeSet::new();
    let mut todo: Vec<&NodeId> = back.iter().collect();
    while let Some(id) = todo.pop() {
        let Some(n) = now.nodes.get(id) else { continue };
        for d in n.parent.iter().chain(n.cross_listed_under.iter()) {
            if now.nodes.get(d).is_some_and(|d| d.retired) && !back.contains(d) && helpers.insert(d.clone()) {
                todo.push(d);
            }
        }
    }
    helpers
}

fn subject(cmd: &Command) -> String {
    use Command::*;
    match cmd {
        RevisePlan { plan, .. } => plan.clone(),
        ReinstateNode { node }
        | MoveNode { node, .. }
        | RetireNode { node }
        | CrossListNode { node, .. }
        | RemoveCrossListing { node, .. }
        | RenameNode { node, .. }
        | ReviseNodeText { node, .. }
        | ReviseNodeDetails { node, .. }
        | AssignDepartments { node, .. }
        | CrossReferenceNode { node, .. }
        | SetMilestone { node, .. }
        | WithdrawMilestone { node, .. } => node.clone(),
        ReinstateIndicator { indicator }
        | RetireIndicator { indicator }
        | ReviseIndicator { indicator, .. }
        | SetBaseline { indicator, .. }
        | WithdrawBaseline { indicator }
        | SetTarget { indicator, .. }
        | WithdrawTarget { indicator, .. } => indicator.clone(),
        other => other.name().to_string(),
    }
}

/// When no pending step is accepted, a step that would unblock one: a cross-listing between two nodes that both
/// go away (each blocks the other's retirement) is removed; a cross-listing that the tree forbids as it stands now
/// (the node hangs under the node it is to be listed under, or that node hangs under it) is made with the node in
/// the way stepped aside to the top level, and it returns afterwards; a node or indicator that cannot be reinstated
/// because it holds milestones or targets outside the plan's period now has the period widened for a moment, and
/// the period returns (or becomes the past one) afterwards.
fn unblock(sim: &State, pending: &[Op], tried: &mut BTreeSet<String>) -> Vec<Op> {
    let retiring: BTreeSet<&str> = pending
        .iter()
        .filter_map(|o| match &o.cmd {
            Command::RetireNode { node } => Some(node.as_str()),
            _ => None,
        })
        .collect();
    for o in pending {
        match &o.cmd {
            Command::RetireNode { node } => {
                let Ok(x) = NodeId::new(node.as_str()) else { continue };
                let lister = sim
                    .nodes
                    .values()
                    .find(|y| !y.retired && y.cross_listed_under.contains(&x) && retiring.contains(y.id.as_str()));
                if let Some(y) = lister {
                    let cmd = Command::RemoveCrossListing { node: y.id.to_string(), under: node.clone() };
                    if tried.insert(format!("{cmd:?}")) {
                        return vec![Op { phase: Phase::Withdraw, rank: 0, cmd }];
                    }
                }
            }
            Command::CrossListNode { node, under } => {
                let (Ok(c), Ok(u)) = (NodeId::new(node.as_str()), NodeId::new(under.as_str())) else { continue };
                let (Some(cn), Some(un)) = (sim.nodes.get(&c), sim.nodes.get(&u)) else { continue };
                if cn.retired || un.retired {
                    continue;
                }
                let aside = if cn.parent.as_ref() == Some(&u) {
                    cn
                } else if sim.is_ancestor_or_self(&c, &u) && u != c {
                    un
                } else {
                    continue;
                };
                let step = Command::MoveNode { node: aside.id.to_string(), parent: None, order: None };
                if !tried.insert(format!("{step:?}")) {
                    continue;
                }
                let mut out = vec![Op { phase: Phase::ReinstateNode, rank: 0, cmd: step }];
                let returns = pending
                    .iter()
                    .any(|p| matches!(&p.cmd, Command::MoveNode { node, .. } if node == aside.id.as_str()));
                if !returns {
                    out.push(Op {
                        phase: Phase::Move,
                        rank: depth(sim, &aside.id),
                        cmd: Command::MoveNode {
                            node: aside.id.to_string(),
                            parent: aside.parent.as_ref().map(|p| p.to_string()),
                            order: Some(aside.order),
                        },
                    });
                }
                return out;
            }
            Command::ReinstateNode { .. } | Command::ReinstateIndicator { .. } => {
                let (plan, years): (&PlanId, Vec<FiscalYear>) = match &o.cmd {
                    Command::ReinstateNode { node } => {
                        let Some(n) = NodeId::new(node.as_str()).ok().and_then(|n| sim.nodes.get(&n)) else { continue };
                        (&n.plan, n.milestones.keys().copied().collect())
                    }
                    Command::ReinstateIndicator { indicator } => {
                        let Some(i) = IndicatorId::new(indicator.as_str()).ok().and_then(|i| sim.indicators.get(&i))
                        else {
                            continue;
                        };
                        (&i.plan, i.targets.keys().copied().collect())
                    }
                    _ => continue,
                };
                let Some(p) = sim.plans.get(plan) else { continue };
                let outside: Vec<FiscalYear> =
                    years.into_iter().filter(|fy| !p.period.is_some_and(|x| x.contains(*fy))).collect();
                let (Some(lo), Some(hi)) = (outside.iter().min(), outside.iter().max()) else { continue };
                let (lo, hi) = match p.period {
                    Some(x) => (x.from.min(*lo), x.to.max(*hi)),
                    None => (*lo, *hi),
                };
                let widen = Command::RevisePlan {
                    plan: plan.to_string(),
                    title: None,
                    kind: None,
                    period_from: Some(lo.to_string()),
                    period_to: Some(hi.to_string()),
                    levels: None,
                    clear_period: false,
                };
                if !tried.insert(format!("{widen:?}")) {
                    continue;
                }
                let mut out = vec![Op { phase: Phase::ReinstateNode, rank: i64::MIN, cmd: widen }];
                if !pending.iter().any(|p| matches!(p.cmd, Command::RevisePlan { .. })) {
                    out.push(Op {
                        phase: Phase::Header,
                        rank: 0,
                        cmd: Command::RevisePlan {
                            plan: plan.to_string(),
                            title: Some(p.title.clone()),
                            kind: Some(p.kind.clone()),
                            period_from: p.period.map(|x| x.from.to_string()),
                            period_to: p.period.map(|x| x.to.to_string()),
                            levels: Some(p.levels.clone()),
                            clear_period: p.period.is_none(),
                        },
                    });
                }
                return out;
            }
            _ => {}
        }
    }
    Vec::new()
}

/// Decides the steps against a state that evolves as they are taken, always taking the first step (in phase order)
/// that `decide` accepts. Returns the commands in the order taken and the state they lead to.
fn schedule(now: &State, ops: Ops, meta: &Meta, field: &str) -> Result<(Vec<Command>, State), DomainError> {
    let mut pending = ops.0;
    pending.sort_by_key(|o| (o.phase, o.rank));
    let mut sim = now.clone();
    let mut out = Vec::with_capacity(pending.len());
    let mut tried = BTreeSet::new();
    'steps: while !pending.is_empty() {
        for i in 0..pending.len() {
            if let Ok(events) = decide(&sim, &pending[i].cmd, meta) {
                for e in &events {
                    sim.evolve(e);
                }
                out.push(pending.remove(i).cmd);
                continue 'steps;
            }
        }
        let extra = unblock(&sim, &pending, &mut tried);
        if extra.is_empty() {
            let first = &pending[0].cmd;
            let why = match decide(&sim, first, meta) {
                Err(e) => e.to_string(),
                Ok(_) => "it cannot be ordered".to_string(),
            };
            return Err(DomainError::conflict(
                field,
                format!("cannot be brought back to that point: {} {} is refused: {why}", first.name(), subject(first)),
            ));
        }
        pending.extend(extra);
        pending.sort_by_key(|o| (o.phase, o.rank));
    }
    Ok((out, sim))
}

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
            if let (Some(c), Some(p)) = (now.plans.get(plan), past.plans.get(plan)) {
                if (&c.title, &c.kind, c.period, &c.levels) != (&p.title, &p.kind, p.period, &p.levels) {
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

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::core::domain::model::Actor;
    use crate::core::domain::{ErrorKind, PlanEvent};

    fn meta() -> Meta {
        Meta {
            actor: Actor { id: "clerk".into(), name: "担当".into(), department: "企画課".into() },
            authority: Some("庁議".into()),
            reason: Some("復元".into()),
            effective: NaiveDate::from_ymd_opt(2016, 4, 1),
        }
    }

    /// A state and the states after each command, so tests can restore to any of them.
    struct Story {
        states: Vec<State>,
    }

    impl Story {
        fn new() -> Self {
            Self { states: vec![State::default()] }
        }

        fn now(&self) -> &State {
            self.states.last().unwrap()
        }

        fn run(&mut self, cmd: Command) -> &mut Self {
            let mut s = self.now().clone();
            for e in decide(&s, &cmd, &meta()).unwrap_or_else(|e| panic!("{cmd:?}: {e}")) {
                s.evolve(&e);
            }
            self.states.push(s);
            self
        }

        /// Plans the restore of `scope` to state `k`, applies it, and returns the commands.
        fn restore(&mut self, k: usize, scope: RestoreScope) -> Result<Vec<Command>, DomainError> {
            let cmds = plan_restore(self.now(), &self.states[k], &pid(), &scope, &meta())?;
            for c in cmds.clone() {
                self.run(c);
            }
            assert_eq!(content(self.now(), &pid(), &scope), content(&self.states[k], &pid(), &scope));
            Ok(cmds)
        }
    }

    fn pid() -> PlanId {
        PlanId::new("p").unwrap()
    }

    fn plan(period: Option<(&str, &str)>) -> Command {
        Command::CreatePlan {
            plan: "p".into(),
            municipality: "品川区".into(),
            municipality_code: "131091".into(),
            title: "計画".into(),
            kind: "実施計画".into(),
            period_from: period.map(|p| p.0.into()),
            period_to: period.map(|p| p.1.into()),
            status: "adopted".into(),
            levels: vec![],
            predecessor: None,
        }
    }

    fn node(id: &str, parent: Option<&str>) -> Command {
        Command::AddNode {
            plan: "p".into(),
            node: id.into(),
            parent: parent.map(str::to_string),
            order: None,
            code: String::new(),
            title: format!("施策 {id}"),
            text: String::new(),
            details: vec![],
            departments: vec![],
        }
    }

    fn mv(id: &str, parent: Option<&str>) -> Command {
        Command::MoveNode { node: id.into(), parent: parent.map(str::to_string), order: None }
    }

    fn retire(id: &str) -> Command {
        Command::RetireNode { node: id.into() }
    }

    fn list(id: &str, under: &str) -> Command {
        Command::CrossListNode { node: id.into(), under: under.into() }
    }

    fn nid(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    #[test]
    fn a_tree_turned_upside_down_comes_back() {
        let mut s = Story::new();
        s.run(plan(Some(("2016", "2018")))).run(node("a", None)).run(node("b", Some("a"))).run(node("c", Some("b")));
        let k = s.states.len() - 1;
        s.run(mv("b", None)).run(mv("a", Some("c"))).run(node("d", Some("a"))).run(list("d", "b"));
        s.run(Command::RemoveCrossListing { node: "d".into(), under: "b".into() }).run(retire("d"));
        let cmds = s.restore(k, RestoreScope::Plan).unwrap();
        assert!(cmds.iter().all(|c| matches!(c, Command::MoveNode { .. })), "{cmds:?}");
    }

    #[test]
    fn a_retired_subtree_comes_back_parents_first_and_new_nodes_go_leaves_first() {
        let mut s = Story::new();
        s.run(plan(Some(("2016", "2018")))).run(node("a", None)).run(node("b", Some("a")));
        let k = s.states.len() - 1;
        s.run(retire("b")).run(retire("a")).run(node("x", None)).run(node("y", Some("x"))).run(node("z", None));
        s.run(list("z", "y"));
        // v and w are each listed under the other: neither can go first until one listing is removed.
        s.run(node("v", None)).run(node("w", None)).run(list("v", "w")).run(list("w", "v"));
        let cmds = s.restore(k, RestoreScope::Plan).unwrap();
        let names: Vec<String> = cmds.iter().map(|c| format!("{} {}", c.name(), subject(c))).collect();
        let pos = |n: &str| names.iter().position(|x| x == n).unwrap_or_else(|| panic!("{n} in {names:?}"));
        assert!(pos("reinstate_node a") < pos("reinstate_node b"));
        assert!(pos("retire_node y") < pos("retire_node x"), "{names:?}");
        assert!(pos("retire_node z") < pos("retire_node y"), "{names:?}");
        assert_eq!(names.iter().filter(|n| n.starts_with("remove_cross_listing")).count(), 1, "{names:?}");
    }

    #[test]
    fn a_node_brought_back_under_a_retired_parent_borrows_it_for_a_moment() {
        // At k, b stood at the top level. Then it moved under a, and both were retired.
        let mut s = Story::new();
        s.run(plan(None)).run(node("a", None)).run(node("b", None));
        s.run(Command::ReviseNodeText { node: "a".into(), text: "本文".into() });
        let k = s.states.len() - 1;
        s.run(mv("b", Some("a"))).run(retire("b")).run(retire("a"));
        let a_before = s.now().nodes[&nid("a")].clone();
        let cmds = s.restore(k, RestoreScope::Node { node: nid("b") }).unwrap();
        assert_eq!(cmds.first(), Some(&Command::ReinstateNode { node: "a".into() }));
        assert_eq!(cmds.last(), Some(&Command::RetireNode { node: "a".into() }));
        assert_eq!(s.now().nodes[&nid("a")], a_before, "the helper is unchanged");
        assert!(!s.now().nodes[&nid("b")].retired);
    }

    #[test]
    fn a_cross_listing_the_tree_now_forbids_is_made_with_the_node_aside() {
        // At k, b was both under a and cross-listed under a (listed first, moved later): legal history, no
        // longer a legal single step.
        let mut s = Story::new();
        s.run(plan(None)).run(node("a", None)).run(node("b", None)).run(list("b", "a")).run(mv("b", Some("a")));
        let k = s.states.len() - 1;
        s.run(Command::RemoveCrossListing { node: "b".into(), under: "a".into() });
        s.restore(k, RestoreScope::Plan).unwrap();
        assert!(s.now().nodes[&nid("b")].cross_listed_under.contains(&nid("a")));
        assert_eq!(s.now().nodes[&nid("b")].parent, Some(nid("a")));
    }

    #[test]
    fn a_removed_period_and_a_withdrawn_baseline_are_reversible() {
        let mut s = Story::new();
        s.run(plan(None)).run(node("a", None));
        s.run(Command::DefineIndicator {
            indicator: "i".into(),
            node: "a".into(),
            name: "指標".into(),
            unit: "件".into(),
            direction: "higher".into(),
            cumulative: false,
            note: String::new(),
        });
        let k = s.states.len() - 1;
        s.run(Command::RevisePlan {
            plan: "p".into(),
            title: None,
            kind: None,
            period_from: Some("2016".into()),
            period_to: Some("2018".into()),
            levels: None,
            clear_period: false,
        });
        s.run(Command::SetTarget { indicator: "i".into(), fiscal_year: "2017".into(), target: "5".into() });
        s.run(Command::SetMilestone { node: "a".into(), fiscal_year: "2017".into(), text: "実施".into() });
        s.run(Command::SetBaseline {
            indicator: "i".into(),
            value: "3".into(),
            fiscal_year: "2015".into(),
            note: String::new(),
        });
        let cmds = s.restore(k, RestoreScope::Plan).unwrap();
        assert!(cmds.contains(&Command::WithdrawBaseline { indicator: "i".into() }), "{cmds:?}");
        assert_eq!(s.now().plans[&pid()].period, None);
    }

    fn revise_period(from: &str, to: &str) -> Command {
        Command::RevisePlan {
            plan: "p".into(),
            title: None,
            kind: None,
            period_from: Some(from.into()),
            period_to: Some(to.into()),
            levels: None,
            clear_period: false,
        }
    }

    fn define(id: &str, node: &str) -> Command {
        Command::DefineIndicator {
            indicator: id.into(),
            node: node.into(),
            name: "指標".into(),
            unit: "件".into(),
            direction: "higher".into(),
            cumulative: false,
            note: String::new(),
        }
    }

    fn set_target(fy: &str) -> Command {
        Command::SetTarget { indicator: "i".into(), fiscal_year: fy.into(), target: "5".into() }
    }

    #[test]
    fn an_indicator_holding_targets_outside_todays_period_comes_back_through_a_wider_period() {
        let mut s = Story::new();
        s.run(plan(Some(("2016", "2018")))).run(node("a", None)).run(define("i", "a")).run(set_target("2017"));
        let k = s.states.len() - 1;
        s.run(revise_period("2016", "2020")).run(set_target("2020"));
        s.run(Command::RetireIndicator { indicator: "i".into() }).run(revise_period("2016", "2018"));
        // Alone, the indicator comes back and the period returns to what it is now.
        let mut alone = Story { states: s.states.clone() };
        let cmds = alone.restore(k, RestoreScope::Indicator { indicator: IndicatorId::new("i").unwrap() }).unwrap();
        let names: Vec<&str> = cmds.iter().map(Command::name).collect();
        assert_eq!(names, ["revise_plan", "reinstate_indicator", "withdraw_target", "revise_plan"]);
        assert_eq!(alone.now().plans[&pid()].period, s.now().plans[&pid()].period);
        // With the plan, the same.
        s.restore(k, RestoreScope::Plan).unwrap();
    }

    #[test]
    fn refusals_name_the_field() {
        let mut s = Story::new();
        s.run(plan(None)).run(node("a", None));
        let k = s.states.len() - 1;
        let err = plan_restore(s.now(), &s.states[0], &pid(), &RestoreScope::Plan, &meta()).unwrap_err();
        assert_eq!((err.kind, err.field.as_str()), (ErrorKind::Invalid, "to"));
        s.run(node("b", None));
        let err =
            plan_restore(s.now(), &s.states[k], &pid(), &RestoreScope::Node { node: nid("b") }, &meta()).unwrap_err();
        assert_eq!((err.kind, err.field.as_str()), (ErrorKind::NotFound, "target"));
        let err =
            plan_restore(s.now(), &s.states[k], &pid(), &RestoreScope::Node { node: nid("a") }, &meta()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Conflict);
        assert!(err.reason.starts_with("nothing to restore"), "{err}");
        // Retiring b alone is refused while a node outside the scope hangs under it.
        s.run(node("c", Some("b"))).run(retire("c")).run(retire("b"));
        let j = s.states.len() - 1;
        s.run(Command::ReinstateNode { node: "b".into() }).run(Command::ReinstateNode { node: "c".into() });
        let before = s.now().clone();
        let err =
            plan_restore(s.now(), &s.states[j], &pid(), &RestoreScope::Node { node: nid("b") }, &meta()).unwrap_err();
        assert_eq!(s.now(), &before);
        assert_eq!((err.kind, err.field.as_str()), (ErrorKind::Conflict, "target"));
        assert!(err.reason.contains("retire_node b is refused") && err.reason.contains("child c"), "{err}");
        // An indicator whose node is retired now cannot come back alone.
        s.run(define("i", "c")).run(Command::RetireIndicator { indicator: "i".into() }).run(retire("c"));
        let err = plan_restore(
            s.now(),
            &s.states[s.states.len() - 3],
            &pid(),
            &RestoreScope::Indicator { indicator: IndicatorId::new("i").unwrap() },
            &meta(),
        )
        .unwrap_err();
        assert_eq!((err.kind, err.field.as_str()), (ErrorKind::Conflict, "target"));
        assert!(err.reason.contains("belongs to node c, which is retired now"), "{err}");
    }

    #[test]
    fn restored_events_follow_from_their_commands() {
        // Every command a plan yields is decided into exactly the events `command_for` maps back to it.
        let mut s = Story::new();
        s.run(plan(Some(("2016", "2018")))).run(node("a", None)).run(node("b", Some("a")));
        let k = s.states.len() - 1;
        s.run(retire("b")).run(node("z", None)).run(mv("a", Some("z")));
        let cmds = plan_restore(s.now(), &s.states[k], &pid(), &RestoreScope::Plan, &meta()).unwrap();
        let mut st = s.now().clone();
        for c in &cmds {
            let evs: Vec<PlanEvent> = decide(&st, c, &meta()).unwrap();
            for e in &evs {
                assert_eq!(decide(&st, &crate::core::domain::command_for(e), &meta()).unwrap(), vec![e.clone()]);
                st.evolve(e);
            }
        }
    }
}
