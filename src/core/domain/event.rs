//! Domain events: every change to a plan, named in the past tense. Field order here is the stored byte order.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::entity::Entity;
use super::fiscal_year::FiscalYear;
use super::ids::{IndicatorId, NodeId, PlanId};
use super::model::{Baseline, Detail, Period, PlanStatus, RestorePoint, RestoreScope};
use super::municipality::Municipality;
use super::value::{Direction, PlanValue, Target};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum PlanEvent {
    PlanCreated {
        plan: PlanId,
        municipality: Municipality,
        title: String,
        kind: String,
        period: Option<Period>,
        status: PlanStatus,
        levels: Vec<String>,
        predecessor: Option<PlanId>,
    },
    PlanRevised {
        plan: PlanId,
        title: String,
        kind: String,
        period: Option<Period>,
        levels: Vec<String>,
    },
    PlanStatusChanged {
        plan: PlanId,
        previous: PlanStatus,
        status: PlanStatus,
    },
    NodeAdded {
        plan: PlanId,
        node: NodeId,
        parent: Option<NodeId>,
        order: u64,
        code: String,
        title: String,
        text: String,
        details: Vec<Detail>,
        departments: Vec<String>,
    },
    NodeRenamed {
        plan: PlanId,
        node: NodeId,
        code: String,
        title: String,
    },
    NodeTextRevised {
        plan: PlanId,
        node: NodeId,
        text: String,
    },
    NodeDetailsRevised {
        plan: PlanId,
        node: NodeId,
        details: Vec<Detail>,
    },
    NodeMoved {
        plan: PlanId,
        node: NodeId,
        parent: Option<NodeId>,
        order: u64,
    },
    NodeRetired {
        plan: PlanId,
        node: NodeId,
    },
    NodeCrossListed {
        plan: PlanId,
        node: NodeId,
        under: NodeId,
    },
    NodeCrossListingRemoved {
        plan: PlanId,
        node: NodeId,
        under: NodeId,
    },
    NodeCrossReferenced {
        plan: PlanId,
        node: NodeId,
        reference: String,
    },
    DepartmentsAssigned {
        plan: PlanId,
        node: NodeId,
        departments: Vec<String>,
    },
    MilestoneSet {
        plan: PlanId,
        node: NodeId,
        fiscal_year: FiscalYear,
        text: String,
    },
    MilestoneWithdrawn {
        plan: PlanId,
        node: NodeId,
        fiscal_year: FiscalYear,
    },
    IndicatorDefined {
        plan: PlanId,
        indicator: IndicatorId,
        node: NodeId,
        name: String,
        unit: String,
        direction: Direction,
        cumulative: bool,
        note: String,
    },
    IndicatorRevised {
        plan: PlanId,
        indicator: IndicatorId,
        name: String,
        unit: String,
        direction: Direction,
        cumulative: bool,
        note: String,
    },
    IndicatorRetired {
        plan: PlanId,
        indicator: IndicatorId,
    },
    BaselineSet {
        plan: PlanId,
        indicator: IndicatorId,
        baseline: Baseline,
    },
    TargetSet {
        plan: PlanId,
        indicator: IndicatorId,
        fiscal_year: FiscalYear,
        target: Target,
    },
    TargetRevised {
        plan: PlanId,
        indicator: IndicatorId,
        fiscal_year: FiscalYear,
        previous: Target,
        target: Target,
    },
    TargetWithdrawn {
        plan: PlanId,
        indicator: IndicatorId,
        fiscal_year: FiscalYear,
        previous: Target,
    },
    ProgressReported {
        plan: PlanId,
        indicator: IndicatorId,
        fiscal_year: FiscalYear,
        value: PlanValue,
        #[serde(with = "crate::core::domain::model::opt_date")]
        as_of: Option<NaiveDate>,
        note: String,
    },
    /// A name for the plan as it stood right after event `seq` ("adopted 2016-04-01", "mid-term revision 2017").
    VersionNamed {
        plan: PlanId,
        name: String,
        seq: u64,
    },
    ProgressCorrected {
        plan: PlanId,
        indicator: IndicatorId,
        fiscal_year: FiscalYear,
        previous: PlanValue,
        value: PlanValue,
        #[serde(with = "crate::core::domain::model::opt_date")]
        as_of: Option<NaiveDate>,
        note: String,
    },
    /// A retired node is live again, where it stood when it was retired.
    NodeReinstated {
        plan: PlanId,
        node: NodeId,
    },
    /// A retired indicator is live again, with the definition, baseline and targets it had when it was retired.
    IndicatorReinstated {
        plan: PlanId,
        indicator: IndicatorId,
    },
    /// The indicator's baseline is removed; it has none again.
    BaselineWithdrawn {
        plan: PlanId,
        indicator: IndicatorId,
        previous: Baseline,
    },
    /// The plan, a node or an indicator was brought back to its content at a past point by the `compensating`
    /// events appended right before this one, in the same append.
    Restored {
        plan: PlanId,
        scope: RestoreScope,
        to: RestorePoint,
        compensating: u64,
    },
}

/// Which entity an event concerns, for indexes and history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject<'a> {
    Plan,
    Node(&'a NodeId),
    Indicator(&'a IndicatorId),
}

impl PlanEvent {
    pub fn plan(&self) -> &PlanId {
        use PlanEvent::*;
        match self {
            PlanCreated { plan, .. }
            | PlanRevised { plan, .. }
            | PlanStatusChanged { plan, .. }
            | NodeAdded { plan, .. }
            | NodeRenamed { plan, .. }
            | NodeTextRevised { plan, .. }
            | NodeDetailsRevised { plan, .. }
            | NodeMoved { plan, .. }
            | NodeRetired { plan, .. }
            | NodeCrossListed { plan, .. }
            | NodeCrossListingRemoved { plan, .. }
            | NodeCrossReferenced { plan, .. }
            | DepartmentsAssigned { plan, .. }
            | MilestoneSet { plan, .. }
            | MilestoneWithdrawn { plan, .. }
            | IndicatorDefined { plan, .. }
            | IndicatorRevised { plan, .. }
            | IndicatorRetired { plan, .. }
            | BaselineSet { plan, .. }
            | TargetSet { plan, .. }
            | TargetRevised { plan, .. }
            | TargetWithdrawn { plan, .. }
            | ProgressReported { plan, .. }
            | ProgressCorrected { plan, .. }
            | VersionNamed { plan, .. }
            | NodeReinstated { plan, .. }
            | IndicatorReinstated { plan, .. }
            | BaselineWithdrawn { plan, .. }
            | Restored { plan, .. } => plan,
        }
    }

    /// The node or indicator the event changes (the plan itself for plan-level events).
    pub fn subject(&self) -> Subject<'_> {
        use PlanEvent::*;
        match self {
            PlanCreated { .. } | PlanRevised { .. } | PlanStatusChanged { .. } | VersionNamed { .. } => Subject::Plan,
            // A restore of one node or indicator belongs to that entity's history as well as to the plan's.
            Restored { scope, .. } => match scope {
                RestoreScope::Plan => Subject::Plan,
                RestoreScope::Node { node } => Subject::Node(node),
                RestoreScope::Indicator { indicator } => Subject::Indicator(indicator),
            },
            NodeAdded { node, .. }
            | NodeReinstated { node, .. }
            | NodeRenamed { node, .. }
            | NodeTextRevised { node, .. }
            | NodeDetailsRevised { node, .. }
            | NodeMoved { node, .. }
            | NodeRetired { node, .. }
            | NodeCrossListed { node, .. }
            | NodeCrossListingRemoved { node, .. }
            | NodeCrossReferenced { node, .. }
            | DepartmentsAssigned { node, .. }
            | MilestoneSet { node, .. }
            | MilestoneWithdrawn { node, .. } => Subject::Node(node),
            IndicatorDefined { indicator, .. }
            | IndicatorRevised { indicator, .. }
            | IndicatorRetired { indicator, .. }
            | IndicatorReinstated { indicator, .. }
            | BaselineSet { indicator, .. }
            | BaselineWithdrawn { indicator, .. }
            | TargetSet { indicator, .. }
            | TargetRevised { indicator, .. }
            | TargetWithdrawn { indicator, .. }
            | ProgressReported { indicator, .. }
            | ProgressCorrected { indicator, .. } => Subject::Indicator(indicator),
        }
    }

    /// Every entity id the event should be indexed under: its plan, its subject, and any second node it names.
    /// The entities the index files this event under: its plan, its subject, and the nodes it names (the node a
    /// cross-listing is under, the node an indicator is defined on).
    pub fn entities(&self) -> Vec<Entity> {
        let mut keys = vec![Entity::Plan(self.plan().clone())];
        match self.subject() {
            Subject::Plan => {}
            Subject::Node(n) => keys.push(Entity::Node(n.clone())),
            Subject::Indicator(i) => keys.push(Entity::Indicator(i.clone())),
        }
        match self {
            PlanEvent::NodeCrossListed { under, .. } | PlanEvent::NodeCrossListingRemoved { under, .. } => {
                keys.push(Entity::Node(under.clone()))
            }
            PlanEvent::IndicatorDefined { node, .. } => keys.push(Entity::Node(node.clone())),
            _ => {}
        }
        keys
    }

    /// [`entities`](Self::entities) as the stored index keys.
    pub fn index_keys(&self) -> Vec<String> {
        self.entities().iter().map(Entity::key).collect()
    }

    /// The entity this event is about: its node, its indicator, or else its plan.
    pub fn subject_entity(&self) -> Entity {
        match self.subject() {
            Subject::Plan => Entity::Plan(self.plan().clone()),
            Subject::Node(n) => Entity::Node(n.clone()),
            Subject::Indicator(i) => Entity::Indicator(i.clone()),
        }
    }

    pub fn type_name(&self) -> &'static str {
        use PlanEvent::*;
        match self {
            PlanCreated { .. } => "PlanCreated",
            PlanRevised { .. } => "PlanRevised",
            PlanStatusChanged { .. } => "PlanStatusChanged",
            NodeAdded { .. } => "NodeAdded",
            NodeRenamed { .. } => "NodeRenamed",
            NodeTextRevised { .. } => "NodeTextRevised",
            NodeDetailsRevised { .. } => "NodeDetailsRevised",
            NodeMoved { .. } => "NodeMoved",
            NodeRetired { .. } => "NodeRetired",
            NodeCrossListed { .. } => "NodeCrossListed",
            NodeCrossListingRemoved { .. } => "NodeCrossListingRemoved",
            NodeCrossReferenced { .. } => "NodeCrossReferenced",
            DepartmentsAssigned { .. } => "DepartmentsAssigned",
            MilestoneSet { .. } => "MilestoneSet",
            MilestoneWithdrawn { .. } => "MilestoneWithdrawn",
            IndicatorDefined { .. } => "IndicatorDefined",
            IndicatorRevised { .. } => "IndicatorRevised",
            IndicatorRetired { .. } => "IndicatorRetired",
            BaselineSet { .. } => "BaselineSet",
            TargetSet { .. } => "TargetSet",
            TargetRevised { .. } => "TargetRevised",
            TargetWithdrawn { .. } => "TargetWithdrawn",
            ProgressReported { .. } => "ProgressReported",
            ProgressCorrected { .. } => "ProgressCorrected",
            VersionNamed { .. } => "VersionNamed",
            NodeReinstated { .. } => "NodeReinstated",
            IndicatorReinstated { .. } => "IndicatorReinstated",
            BaselineWithdrawn { .. } => "BaselineWithdrawn",
            Restored { .. } => "Restored",
        }
    }
}
