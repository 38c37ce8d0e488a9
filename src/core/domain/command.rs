//! Commands: requests to change a plan, in the imperative, carrying raw input that `decide` parses and checks.
//!
//! Fields are plain strings on purpose: every boundary (CLI flags, HTTP JSON, plan tables) hands the same raw
//! text to the same rules, so every refusal names the field and the reason in the same words.

use serde::{Deserialize, Serialize};

use super::model::Detail;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    CreatePlan {
        plan: String,
        municipality: String,
        municipality_code: String,
        title: String,
        kind: String,
        #[serde(default)]
        period_from: Option<String>,
        #[serde(default)]
        period_to: Option<String>,
        status: String,
        #[serde(default)]
        levels: Vec<String>,
        #[serde(default)]
        predecessor: Option<String>,
    },
    RevisePlan {
        plan: String,
        #[serde(default)]
        title: Option<String>,
        #[serde(default)]
        kind: Option<String>,
        #[serde(default)]
        period_from: Option<String>,
        #[serde(default)]
        period_to: Option<String>,
        #[serde(default)]
        levels: Option<Vec<String>>,
        /// Removes the plan's period (it then holds no targets or milestones). Left out of the JSON form when
        /// false, so requests written before it existed keep their digest.
        #[serde(default, skip_serializing_if = "is_false")]
        clear_period: bool,
    },
    ChangePlanStatus {
        plan: String,
        status: String,
    },
    AddNode {
        plan: String,
        node: String,
        #[serde(default)]
        parent: Option<String>,
        #[serde(default)]
        order: Option<u64>,
        #[serde(default)]
        code: String,
        title: String,
        #[serde(default)]
        text: String,
        #[serde(default)]
        details: Vec<Detail>,
        #[serde(default)]
        departments: Vec<String>,
    },
    RenameNode {
        node: String,
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        title: Option<String>,
    },
    ReviseNodeText {
        node: String,
        text: String,
    },
    ReviseNodeDetails {
        node: String,
        details: Vec<Detail>,
    },
    MoveNode {
        node: String,
        #[serde(default)]
        parent: Option<String>,
        #[serde(default)]
        order: Option<u64>,
    },
    RetireNode {
        node: String,
    },
    CrossListNode {
        node: String,
        under: String,
    },
    RemoveCrossListing {
        node: String,
        under: String,
    },
    CrossReferenceNode {
        node: String,
        reference: String,
    },
    AssignDepartments {
        node: String,
        departments: Vec<String>,
    },
    SetMilestone {
        node: String,
        fiscal_year: String,
        text: String,
    },
    WithdrawMilestone {
        node: String,
        fiscal_year: String,
    },
    DefineIndicator {
        indicator: String,
        node: String,
        name: String,
        #[serde(default)]
        unit: String,
        #[serde(default)]
        direction: String,
        #[serde(default)]
        cumulative: bool,
        #[serde(default)]
        note: String,
    },
    ReviseIndicator {
        indicator: String,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        unit: Option<String>,
        #[serde(default)]
        direction: Option<String>,
        #[serde(default)]
        cumulative: Option<bool>,
        #[serde(default)]
        note: Option<String>,
    },
    RetireIndicator {
        indicator: String,
    },
    SetBaseline {
        indicator: String,
        value: String,
        fiscal_year: String,
        #[serde(default)]
        note: String,
    },
    SetTarget {
        indicator: String,
        fiscal_year: String,
        target: String,
    },
    WithdrawTarget {
        indicator: String,
        fiscal_year: String,
    },
    ReportProgress {
        indicator: String,
        fiscal_year: String,
        value: String,
        #[serde(default)]
        as_of: Option<String>,
        #[serde(default)]
        note: String,
    },
    CorrectProgress {
        indicator: String,
        fiscal_year: String,
        value: String,
        #[serde(default)]
        as_of: Option<String>,
        #[serde(default)]
        note: String,
    },
    /// Names the plan as it stood right after event `seq`: a seq, or `last` for the latest event in the state the
    /// command is decided against (in a request of several commands, the last event of the commands before it), or
    /// `last-N` for the event N before that one.
    NameVersion {
        plan: String,
        name: String,
        seq: String,
    },
    /// Makes a retired node live again where it stood.
    ReinstateNode {
        node: String,
    },
    /// Makes a retired indicator live again.
    ReinstateIndicator {
        indicator: String,
    },
    /// Removes an indicator's baseline.
    WithdrawBaseline {
        indicator: String,
    },
    /// Records that the commands right before it, in the same request, brought the plan (or the node or indicator
    /// named) back to the point `to`: `seq:N`, `as-of:RFC3339`, `effective:YYYY-MM-DD` or `version:NAME`.
    RecordRestore {
        plan: String,
        #[serde(default)]
        node: Option<String>,
        #[serde(default)]
        indicator: Option<String>,
        to: String,
        compensating: u64,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Command {
    pub fn name(&self) -> &'static str {
        use Command::*;
        match self {
            CreatePlan { .. } => "create_plan",
            RevisePlan { .. } => "revise_plan",
            ChangePlanStatus { .. } => "change_plan_status",
            AddNode { .. } => "add_node",
            RenameNode { .. } => "rename_node",
            ReviseNodeText { .. } => "revise_node_text",
            ReviseNodeDetails { .. } => "revise_node_details",
            MoveNode { .. } => "move_node",
            RetireNode { .. } => "retire_node",
            CrossListNode { .. } => "cross_list_node",
            RemoveCrossListing { .. } => "remove_cross_listing",
            CrossReferenceNode { .. } => "cross_reference_node",
            AssignDepartments { .. } => "assign_departments",
            SetMilestone { .. } => "set_milestone",
            WithdrawMilestone { .. } => "withdraw_milestone",
            DefineIndicator { .. } => "define_indicator",
            ReviseIndicator { .. } => "revise_indicator",
            RetireIndicator { .. } => "retire_indicator",
            SetBaseline { .. } => "set_baseline",
            SetTarget { .. } => "set_target",
            WithdrawTarget { .. } => "withdraw_target",
            ReportProgress { .. } => "report_progress",
            CorrectProgress { .. } => "correct_progress",
            NameVersion { .. } => "name_version",
            ReinstateNode { .. } => "reinstate_node",
            ReinstateIndicator { .. } => "reinstate_indicator",
            WithdrawBaseline { .. } => "withdraw_baseline",
            RecordRestore { .. } => "record_restore",
        }
    }

    /// The plan a command concerns, if the names it carries resolve in `state`.
    pub fn target_plan(&self, state: &super::state::State) -> Option<super::ids::PlanId> {
        use Command::*;
        match self {
            CreatePlan { plan, .. }
            | RevisePlan { plan, .. }
            | ChangePlanStatus { plan, .. }
            | AddNode { plan, .. }
            | NameVersion { plan, .. }
            | RecordRestore { plan, .. } => super::ids::PlanId::new(plan.as_str()).ok(),
            RenameNode { node, .. }
            | ReviseNodeText { node, .. }
            | ReviseNodeDetails { node, .. }
            | MoveNode { node, .. }
            | RetireNode { node, .. }
            | CrossListNode { node, .. }
            | RemoveCrossListing { node, .. }
            | CrossReferenceNode { node, .. }
            | AssignDepartments { node, .. }
            | SetMilestone { node, .. }
            | WithdrawMilestone { node, .. }
            | DefineIndicator { node, .. }
            | ReinstateNode { node } => {
                let id = super::ids::NodeId::new(node.as_str()).ok()?;
                state.nodes.get(&id).map(|n| n.plan.clone())
            }
            ReviseIndicator { indicator, .. }
            | RetireIndicator { indicator, .. }
            | SetBaseline { indicator, .. }
            | SetTarget { indicator, .. }
            | WithdrawTarget { indicator, .. }
            | ReportProgress { indicator, .. }
            | CorrectProgress { indicator, .. }
            | ReinstateIndicator { indicator }
            | WithdrawBaseline { indicator } => {
                let id = super::ids::IndicatorId::new(indicator.as_str()).ok()?;
                state.indicators.get(&id).map(|i| i.plan.clone())
            }
        }
    }

    /// Whether the command only reports or corrects progress (the reporter role's whole permission).
    pub fn is_progress(&self) -> bool {
        matches!(self, Command::ReportProgress { .. } | Command::CorrectProgress { .. })
    }
}
