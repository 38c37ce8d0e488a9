//! The plan state and `evolve`: folding events into the current (or any past) plan. Pure; no I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::event::PlanEvent;
use super::fiscal_year::FiscalYear;
use super::ids::{IndicatorId, NodeId, PlanId};
use super::model::{Actual, Baseline, Detail, Period, PlanStatus};
use super::municipality::Municipality;
use super::table::Table;
use super::value::{Direction, Target};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub id: PlanId,
    pub municipality: Municipality,
    pub title: String,
    pub kind: String,
    pub period: Option<Period>,
    pub status: PlanStatus,
    pub levels: Vec<String>,
    pub predecessor: Option<PlanId>,
    /// Number of events that concern this plan: the plan's version for optimistic concurrency.
    pub version: u64,
    /// Seq of the event that created the plan.
    pub created_seq: u64,
    /// Named versions: name → the seq the plan is named at.
    pub versions: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub id: NodeId,
    pub plan: PlanId,
    pub parent: Option<NodeId>,
    pub order: u64,
    pub code: String,
    pub title: String,
    pub text: String,
    pub details: Vec<Detail>,
    pub departments: Vec<String>,
    /// 再掲: other nodes of the ledger this node is also listed under.
    pub cross_listed_under: BTreeSet<NodeId>,
    /// 再掲 of an item outside the ledger, as the document names it.
    pub cross_reference: Option<String>,
    pub milestones: BTreeMap<FiscalYear, String>,
    pub retired: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicator {
    pub id: IndicatorId,
    pub plan: PlanId,
    pub node: NodeId,
    pub name: String,
    pub unit: String,
    pub direction: Direction,
    pub cumulative: bool,
    pub note: String,
    pub baseline: Option<Baseline>,
    pub targets: BTreeMap<FiscalYear, Target>,
    pub actuals: BTreeMap<FiscalYear, Actual>,
    pub retired: bool,
}

/// Everything the ledger knows, folded from its events. Retired nodes and indicators stay, flagged, so that
/// their ids are never reused and their history stays reachable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub plans: Table<PlanId, Plan>,
    pub nodes: Table<NodeId, Node>,
    pub indicators: Table<IndicatorId, Indicator>,
    /// Number of events folded.
    pub events: u64,
}

impl State {
    /// Live children of a node (or the roots of a plan for `None`), in display order.
    pub fn children(&self, plan: &PlanId, parent: Option<&NodeId>) -> Vec<&Node> {
        let mut v: Vec<&Node> =
            self.nodes.values().filter(|n| !n.retired && &n.plan == plan && n.parent.as_ref() == parent).collect();
        v.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.id.cmp(&b.id)));
        v
    }

    /// Children of every node of a plan in one pass: what the tree views use.
    pub fn child_index(&self, plan: &PlanId) -> BTreeMap<Option<NodeId>, Vec<&Node>> {
        let mut idx: BTreeMap<Option<NodeId>, Vec<&Node>> = BTreeMap::new();
        for n in self.nodes.values().filter(|n| !n.retired && &n.plan == plan) {
            idx.entry(n.parent.clone()).or_default().push(n);
        }
        for v in idx.values_mut() {
            v.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.id.cmp(&b.id)));
        }
        idx
    }

    /// Depth of a node: 0 for a root. Bounded by the number of nodes, so a corrupt cycle cannot loop forever.
    pub fn depth(&self, node: &NodeId) -> usize {
        let mut d = 0;
        let mut cur = self.nodes.get(node).and_then(|n| n.parent.clone());
        while let Some(p) = cur {
            d += 1;
            if d > self.nodes.len() {
                break;
            }
            cur = self.nodes.get(&p).and_then(|n| n.parent.clone());
        }
        d
    }

    /// The level name the plan gives this node's depth, if it names one.
    pub fn level_name(&self, node: &NodeId) -> Option<&str> {
        let n = self.nodes.get(node)?;
        let plan = self.plans.get(&n.plan)?;
        plan.levels.get(self.depth(node)).map(String::as_str)
    }

    pub fn indicators_of(&self, node: &NodeId) -> Vec<&Indicator> {
        self.indicators.values().filter(|i| !i.retired && &i.node == node).collect()
    }

    /// Whether `ancestor` is `node` or lies above it.
    pub fn is_ancestor_or_self(&self, ancestor: &NodeId, node: &NodeId) -> bool {
        let mut cur = Some(node.clone());
        let mut steps = 0;
        while let Some(c) = cur {
            if &c == ancestor {
                return true;
            }
            steps += 1;
            if steps > self.nodes.len() {
                return false;
            }
            cur = self.nodes.get(&c).and_then(|n| n.parent.clone());
        }
        false
    }

    /// Folds one event. Total on purpose: a replay filtered by effective date may meet an event whose subject is
    /// not in force yet, and such an event simply has nothing to change. `decide` guarantees that the full log
    /// never contains one.
    pub fn evolve(&mut self, event: &PlanEvent) {
        self.apply(self.events, event)
    }

    /// Folds one event stored at `seq`. `evolve` is this with `seq` = the number of events folded so far, which
    /// is right for a fold of the whole log in seq order; folds of a part of the log (one plan's events, or the
    /// in-force order) pass the stored seq, which is what a plan's `created_seq` records.
    pub fn apply(&mut self, seq: u64, event: &PlanEvent) {
        use PlanEvent::*;
        self.events += 1;
        if let Some(p) = self.plans.get_mut(event.plan()) {
            p.version += 1;
        }
        match event {
            PlanCreated { plan, municipality, title, kind, period, status, levels, predecessor } => {
                self.plans.insert(
                    plan.clone(),
                    Plan {
                        id: plan.clone(),
                        municipality: municipality.clone(),
                        title: title.clone(),
                        kind: kind.clone(),
                        period: *period,
                        status: *status,
                        levels: levels.clone(),
                        predecessor: predecessor.clone(),
                        version: 1,
                        created_seq: seq,
                        versions: BTreeMap::new(),
                    },
                );
            }
            PlanRevised { plan, title, kind, period, levels } => {
                if let Some(p) = self.plans.get_mut(plan) {
                    p.title = title.clone();
                    p.kind = kind.clone();
                    p.period = *period;
                    p.levels = levels.clone();
                }
            }
            PlanStatusChanged { plan, status, .. } => {
                if let Some(p) = self.plans.get_mut(plan) {
                    p.status = *status;
                }
            }
            NodeAdded { plan, node, parent, order, code, title, text, details, departments } => {
                self.nodes.insert(
                    node.clone(),
                    Node {
                        id: node.clone(),
                        plan: plan.clone(),
                        parent: parent.clone(),
                        order: *order,
                        code: code.clone(),
                        title: title.clone(),
                        text: text.clone(),
                        details: details.clone(),
                        departments: departments.clone(),
                        cross_listed_under: BTreeSet::new(),
                        cross_reference: None,
                        milestones: BTreeMap::new(),
                        retired: false,
                    },
                );
            }
            NodeRenamed { node, code, title, .. } => {
                if let Some(n) = self.nodes.get_mut(node) {
                    n.code = code.clone();
                    n.title = title.clone();
                }
            }
            NodeTextRevised { node, text, .. } => {
                if let Some(n) = self.nodes.get_mut(node) {
                    n.text = text.clone();
                }
            }
            NodeDetailsRevised { node, details, .. } => {
                if let Some(n) = self.nodes.get_mut(node) {
                    n.details = details.clone();
                }
            }
            NodeMoved { node, parent, order, .. } => {
                if let Some(n) = self.nodes.get_mut(node) {
                    n.parent = parent.clone();
                    n.order = *order;
                }
            }
            NodeRetired { node, .. } => {
                if let Some(n) = self.nodes.get_mut(node) {
                    n.retired = true;
                }
            }
            NodeCrossListed { node, under, .. } => {
                if let Some(n) = self.nodes.get_mut(node) {
                    n.cross_listed_under.insert(under.clone());
                }
            }
            NodeCrossListingRemoved { node, under, .. } => {
                if let Some(n) = self.nodes.get_mut(node) {
                    n.cross_listed_under.remove(under);
                }
            }
            NodeCrossReferenced { node, reference, .. } => {
                if let Some(n) = self.nodes.get_mut(node) {
                    n.cross_reference = if reference.is_empty() { None } else { Some(reference.clone()) };
                }
            }
            DepartmentsAssigned { node, departments, .. } => {
                if let Some(n) = self.nodes.get_mut(node) {
                    n.departments = departments.clone();
                }
            }
            MilestoneSet { node, fiscal_year, text, .. } => {
                if let Some(n) = self.nodes.get_mut(node) {
                    n.milestones.insert(*fiscal_year, text.clone());
                }
            }
            MilestoneWithdrawn { node, fiscal_year, .. } => {
                if let Some(n) = self.nodes.get_mut(node) {
                    n.milestones.remove(fiscal_year);
                }
            }
            IndicatorDefined { plan, indicator, node, name, unit, direction, cumulative, note } => {
                self.indicators.insert(
                    indicator.clone(),
                    Indicator {
                        id: indicator.clone(),
                        plan: plan.clone(),
                        node: node.clone(),
                        name: name.clone(),
                        unit: unit.clone(),
                        direction: *direction,
                        cumulative: *cumulative,
                        note: note.clone(),
                        baseline: None,
                        targets: BTreeMap::new(),
                        actuals: BTreeMap::new(),
                        retired: false,
                    },
                );
            }
            IndicatorRevised { indicator, name, unit, direction, cumulative, note, .. } => {
                if let Some(i) = self.indicators.get_mut(indicator) {
                    i.name = name.clone();
                    i.unit = unit.clone();
                    i.direction = *direction;
                    i.cumulative = *cumulative;
                    i.note = note.clone();
                }
            }
            IndicatorRetired { indicator, .. } => {
                if let Some(i) = self.indicators.get_mut(indicator) {
                    i.retired = true;
                }
            }
            BaselineSet { indicator, baseline, .. } => {
                if let Some(i) = self.indicators.get_mut(indicator) {
                    i.baseline = Some(baseline.clone());
                }
            }
            TargetSet { indicator, fiscal_year, target, .. } | TargetRevised { indicator, fiscal_year, target, .. } => {
                if let Some(i) = self.indicators.get_mut(indicator) {
                    i.targets.insert(*fiscal_year, *target);
                }
            }
            TargetWithdrawn { indicator, fiscal_year, .. } => {
                if let Some(i) = self.indicators.get_mut(indicator) {
                    i.targets.remove(fiscal_year);
                }
            }
            NodeReinstated { node, .. } => {
                if let Some(n) = self.nodes.get_mut(node) {
                    n.retired = false;
                }
            }
            IndicatorReinstated { indicator, .. } => {
                if let Some(i) = self.indicators.get_mut(indicator) {
                    i.retired = false;
                }
            }
            BaselineWithdrawn { indicator, .. } => {
                if let Some(i) = self.indicators.get_mut(indicator) {
                    i.baseline = None;
                }
            }
            // A statement about the events before it: the plan's version counts it, nothing else changes.
            Restored { .. } => {}
            VersionNamed { plan, name, seq } => {
                if let Some(p) = self.plans.get_mut(plan) {
                    p.versions.insert(name.clone(), *seq);
                }
            }
            ProgressReported { indicator, fiscal_year, value, as_of, note, .. }
            | ProgressCorrected { indicator, fiscal_year, value, as_of, note, .. } => {
                if let Some(i) = self.indicators.get_mut(indicator) {
                    i.actuals.insert(*fiscal_year, Actual { value: *value, as_of: *as_of, note: note.clone() });
                }
            }
        }
    }
}
