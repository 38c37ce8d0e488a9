//! The steps of a restore and their order: the commands each node and indicator needs, in phases, scheduled so that
//! `decide` accepts them one after another (a step that is refused now is retried after the others).

use std::collections::BTreeSet;

use crate::core::domain::decide::{direction_code, target_code};
use crate::core::domain::model::Meta;
use crate::core::domain::state::{Indicator, Node};
use crate::core::domain::{Command, DomainError, FiscalYear, IndicatorId, NodeId, PlanId, State, decide};

/// Steps of a restore, in the order they are tried. Reinstatements come first so that everything after them finds
/// live nodes; cross-listings are tried early because a later move can make them impossible (and are tried again
/// after every step); withdrawals and retirements come before the plan header, so a narrower or removed period
/// strands nothing; values are set last, inside the period they need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Phase {
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
pub(super) struct Op {
    phase: Phase,
    /// Order inside a phase: depth, so parents come back before children and leaves go before parents.
    rank: i64,
    cmd: Command,
}

pub(super) struct Ops(pub(super) Vec<Op>);

impl Ops {
    pub(super) fn push(&mut self, phase: Phase, rank: i64, cmd: Command) {
        self.0.push(Op { phase, rank, cmd });
    }
}

pub(super) fn in_period(s: &State, plan: &PlanId, fy: FiscalYear) -> bool {
    s.plans.get(plan).and_then(|p| p.period).is_some_and(|p| p.contains(fy))
}

pub(super) fn depth(s: &State, n: &NodeId) -> i64 {
    i64::try_from(s.depth(n)).unwrap_or(i64::MAX)
}

/// The commands for one node that live in `now` as `cur` and is `want` at the point (`None`: retired or absent).
pub(super) fn node_ops(now: &State, past: &State, cur: &Node, want: Option<&Node>, ops: &mut Ops) {
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
pub(super) fn indicator_ops(cur: &Indicator, want: Option<&Indicator>, ops: &mut Ops) {
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
pub(super) fn helpers(now: &State, back: &BTreeSet<NodeId>) -> BTreeSet<NodeId> {
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

pub(super) fn subject(cmd: &Command) -> String {
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
pub(super) fn unblock(sim: &State, pending: &[Op], tried: &mut BTreeSet<String>) -> Vec<Op> {
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
pub(super) fn schedule(now: &State, ops: Ops, meta: &Meta, field: &str) -> Result<(Vec<Command>, State), DomainError> {
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
