//! Each write body's command: the one conversion of a body (and the id its path names) into the command the writer
//! decides.

use super::*;

impl CreatePlanBody {
    pub fn command(self) -> Command {
        Command::CreatePlan {
            plan: self.plan,
            municipality: self.municipality,
            municipality_code: self.municipality_code,
            title: self.title,
            kind: self.kind,
            period_from: self.period_from,
            period_to: self.period_to,
            status: self.status,
            levels: self.levels,
            predecessor: self.predecessor,
        }
    }
}

impl OnId for RevisePlanBody {
    fn command(self, plan: String) -> Command {
        Command::RevisePlan {
            plan,
            title: self.title,
            kind: self.kind,
            period_from: self.period_from,
            period_to: self.period_to,
            levels: self.levels,
            clear_period: self.clear_period,
        }
    }
}

impl OnId for PlanStatusBody {
    fn command(self, plan: String) -> Command {
        Command::ChangePlanStatus { plan, status: self.status }
    }
}

impl OnId for NameVersionBody {
    fn command(self, plan: String) -> Command {
        Command::NameVersion { plan, name: self.name, seq: self.seq.0 }
    }
}

impl OnId for AddNodeBody {
    fn command(self, plan: String) -> Command {
        Command::AddNode {
            plan,
            node: self.node,
            parent: self.parent,
            order: self.order,
            code: self.code,
            title: self.title,
            text: self.text,
            details: self.details,
            departments: self.departments,
        }
    }
}

impl OnId for RenameNodeBody {
    fn command(self, node: String) -> Command {
        Command::RenameNode { node, code: self.code, title: self.title }
    }
}

impl OnId for NodeTextBody {
    fn command(self, node: String) -> Command {
        Command::ReviseNodeText { node, text: self.text }
    }
}

impl OnId for NodeDetailsBody {
    fn command(self, node: String) -> Command {
        Command::ReviseNodeDetails { node, details: self.details }
    }
}

impl OnId for MoveNodeBody {
    fn command(self, node: String) -> Command {
        Command::MoveNode { node, parent: self.parent, order: self.order }
    }
}

impl OnId for RetireNodeBody {
    fn command(self, node: String) -> Command {
        Command::RetireNode { node }
    }
}

impl OnId for ReinstateNodeBody {
    fn command(self, node: String) -> Command {
        Command::ReinstateNode { node }
    }
}

impl OnId for CrossListBody {
    fn command(self, node: String) -> Command {
        Command::CrossListNode { node, under: self.under }
    }
}

impl OnId for UncrossBody {
    fn command(self, node: String) -> Command {
        Command::RemoveCrossListing { node, under: self.under }
    }
}

impl OnId for CrossReferenceBody {
    fn command(self, node: String) -> Command {
        Command::CrossReferenceNode { node, reference: self.reference }
    }
}

impl OnId for DepartmentsBody {
    fn command(self, node: String) -> Command {
        Command::AssignDepartments { node, departments: self.departments }
    }
}

impl OnId for MilestoneBody {
    fn command(self, node: String) -> Command {
        Command::SetMilestone { node, fiscal_year: self.fiscal_year, text: self.text }
    }
}

impl OnId for WithdrawMilestoneBody {
    fn command(self, node: String) -> Command {
        Command::WithdrawMilestone { node, fiscal_year: self.fiscal_year }
    }
}

impl OnId for DefineIndicatorBody {
    fn command(self, node: String) -> Command {
        Command::DefineIndicator {
            indicator: self.indicator,
            node,
            name: self.name,
            unit: self.unit,
            direction: self.direction,
            cumulative: self.cumulative,
            note: self.note,
        }
    }
}

impl OnId for ReviseIndicatorBody {
    fn command(self, indicator: String) -> Command {
        Command::ReviseIndicator {
            indicator,
            name: self.name,
            unit: self.unit,
            direction: self.direction,
            cumulative: self.cumulative,
            note: self.note,
        }
    }
}

impl OnId for RetireIndicatorBody {
    fn command(self, indicator: String) -> Command {
        Command::RetireIndicator { indicator }
    }
}

impl OnId for ReinstateIndicatorBody {
    fn command(self, indicator: String) -> Command {
        Command::ReinstateIndicator { indicator }
    }
}

impl OnId for BaselineBody {
    fn command(self, indicator: String) -> Command {
        Command::SetBaseline { indicator, value: self.value, fiscal_year: self.fiscal_year, note: self.note }
    }
}

impl OnId for WithdrawBaselineBody {
    fn command(self, indicator: String) -> Command {
        Command::WithdrawBaseline { indicator }
    }
}

impl OnId for TargetBody {
    fn command(self, indicator: String) -> Command {
        Command::SetTarget { indicator, fiscal_year: self.fiscal_year, target: self.target }
    }
}

impl OnId for WithdrawTargetBody {
    fn command(self, indicator: String) -> Command {
        Command::WithdrawTarget { indicator, fiscal_year: self.fiscal_year }
    }
}

impl OnId for ProgressBody {
    fn command(self, indicator: String) -> Command {
        Command::ReportProgress {
            indicator,
            fiscal_year: self.fiscal_year,
            value: self.value,
            as_of: self.as_of,
            note: self.note,
        }
    }
}

impl OnId for CorrectionBody {
    fn command(self, indicator: String) -> Command {
        Command::CorrectProgress {
            indicator,
            fiscal_year: self.fiscal_year,
            value: self.value,
            as_of: self.as_of,
            note: self.note,
        }
    }
}
