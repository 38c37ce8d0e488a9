//! The plan as a tree, with indicators, targets, actuals and their evaluation: what `show` and the API print.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::core::domain::model::{Actual, Baseline, Detail, Period};
use crate::core::domain::state::{Indicator, Node};
use crate::core::domain::value::{Direction, Evaluation, PlanValue, Target, evaluate};
use crate::core::domain::{FiscalYear, NodeId, PlanId, State};

/// Where a plan stands on a date: what a reader must be told before trusting a view as "the plan".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Not adopted: a draft (案).
    Draft,
    /// Adopted, but its period has not begun: e.g. adopted in March for the next 年度.
    Prospective,
    /// Adopted and within its period.
    InForce,
    /// Adopted, and its period is over.
    Ended,
    /// Replaced by a later plan.
    Superseded,
    /// Adopted, with no period stated (the document gives none).
    PeriodUnstated,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Draft => "案（draft）",
            Phase::Prospective => "計画期間前（prospective: adopted, its period has not begun）",
            Phase::InForce => "計画期間中（in force）",
            Phase::Ended => "計画期間終了（period ended）",
            Phase::Superseded => "改定により失効（superseded）",
            Phase::PeriodUnstated => "策定済・計画期間の記載なし（adopted, no period stated）",
        }
    }
}

/// The phase of `plan` on `on`.
pub fn phase(plan: &crate::core::domain::state::Plan, on: chrono::NaiveDate) -> Phase {
    use crate::core::domain::model::PlanStatus;
    match (plan.status, plan.period) {
        (PlanStatus::Draft, _) => Phase::Draft,
        (PlanStatus::Superseded, _) => Phase::Superseded,
        (PlanStatus::Adopted, None) => Phase::PeriodUnstated,
        (PlanStatus::Adopted, Some(p)) if on < p.from.start() => Phase::Prospective,
        (PlanStatus::Adopted, Some(p)) if on > p.to.end() => Phase::Ended,
        (PlanStatus::Adopted, Some(_)) => Phase::InForce,
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
pub struct PlanSummary {
    #[cfg_attr(feature = "web", schema(value_type = String))]
    pub id: PlanId,
    pub municipality: String,
    pub municipality_code: String,
    pub title: String,
    pub kind: String,
    pub period: Option<Period>,
    pub status: String,
    pub levels: Vec<String>,
    #[cfg_attr(feature = "web", schema(value_type = Option<String>))]
    pub predecessor: Option<PlanId>,
    pub version: u64,
    pub nodes: usize,
    pub indicators: usize,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
pub struct PlanView {
    pub plan: PlanSummary,
    pub nodes: Vec<NodeView>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
pub struct MilestoneView {
    #[cfg_attr(feature = "web", schema(value_type = u16))]
    pub fiscal_year: FiscalYear,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
pub struct NodeView {
    #[cfg_attr(feature = "web", schema(value_type = String))]
    pub id: NodeId,
    pub code: String,
    pub title: String,
    pub level: Option<String>,
    pub text: String,
    pub details: Vec<Detail>,
    pub departments: Vec<String>,
    #[cfg_attr(feature = "web", schema(value_type = Vec<String>))]
    pub cross_listed_under: Vec<NodeId>,
    pub cross_reference: Option<String>,
    pub milestones: Vec<MilestoneView>,
    pub indicators: Vec<IndicatorView>,
    #[cfg_attr(feature = "web", schema(no_recursion))]
    pub children: Vec<NodeView>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
pub struct SeriesRow {
    #[cfg_attr(feature = "web", schema(value_type = u16))]
    pub fiscal_year: FiscalYear,
    pub target: Option<Target>,
    pub target_printed: Option<String>,
    pub actual: Option<Actual>,
    pub evaluation: Evaluation,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
pub struct IndicatorView {
    #[cfg_attr(feature = "web", schema(value_type = String))]
    pub id: crate::core::domain::IndicatorId,
    #[cfg_attr(feature = "web", schema(value_type = String))]
    pub node: NodeId,
    pub name: String,
    pub unit: String,
    pub direction: Direction,
    pub cumulative: bool,
    pub note: String,
    pub baseline: Option<Baseline>,
    pub series: Vec<SeriesRow>,
}

/// Target against actual for every year the plan covers or the indicator has a figure for.
pub fn series(state: &State, ind: &Indicator) -> Vec<SeriesRow> {
    let mut years: BTreeMap<FiscalYear, ()> = BTreeMap::new();
    if let Some(p) = state.plans.get(&ind.plan).and_then(|p| p.period) {
        for y in p.years() {
            years.insert(y, ());
        }
    }
    for y in ind.targets.keys().chain(ind.actuals.keys()) {
        years.insert(*y, ());
    }
    years
        .keys()
        .map(|fy| {
            let target = ind.targets.get(fy).copied();
            let actual = ind.actuals.get(fy).cloned();
            SeriesRow {
                fiscal_year: *fy,
                target,
                target_printed: target.map(|t| t.printed()),
                evaluation: evaluate(target.as_ref(), actual.as_ref().map(|a| a.value), ind.direction),
                actual,
            }
        })
        .collect()
}

pub fn indicator_view(state: &State, ind: &Indicator) -> IndicatorView {
    IndicatorView {
        id: ind.id.clone(),
        node: ind.node.clone(),
        name: ind.name.clone(),
        unit: ind.unit.clone(),
        direction: ind.direction,
        cumulative: ind.cumulative,
        note: ind.note.clone(),
        baseline: ind.baseline.clone(),
        series: series(state, ind),
    }
}

fn node_view(
    state: &State,
    idx: &BTreeMap<Option<NodeId>, Vec<&Node>>,
    inds: &BTreeMap<&NodeId, Vec<&Indicator>>,
    n: &Node,
    depth: usize,
) -> NodeView {
    let levels = state.plans.get(&n.plan).map(|p| p.levels.as_slice()).unwrap_or(&[]);
    NodeView {
        id: n.id.clone(),
        code: n.code.clone(),
        title: n.title.clone(),
        level: levels.get(depth).cloned(),
        text: n.text.clone(),
        details: n.details.clone(),
        departments: n.departments.clone(),
        cross_listed_under: n.cross_listed_under.iter().cloned().collect(),
        cross_reference: n.cross_reference.clone(),
        milestones: n.milestones.iter().map(|(fy, t)| MilestoneView { fiscal_year: *fy, text: t.clone() }).collect(),
        indicators: inds.get(&n.id).map(|v| v.iter().map(|i| indicator_view(state, i)).collect()).unwrap_or_default(),
        children: idx
            .get(&Some(n.id.clone()))
            .map(|cs| cs.iter().map(|c| node_view(state, idx, inds, c, depth + 1)).collect())
            .unwrap_or_default(),
    }
}

pub fn summary(state: &State, id: &PlanId) -> Option<PlanSummary> {
    let p = state.plans.get(id)?;
    Some(PlanSummary {
        id: p.id.clone(),
        municipality: p.municipality.name.clone(),
        municipality_code: p.municipality.code.to_string(),
        title: p.title.clone(),
        kind: p.kind.clone(),
        period: p.period,
        status: p.status.code().to_string(),
        levels: p.levels.clone(),
        predecessor: p.predecessor.clone(),
        version: p.version,
        nodes: state.nodes.values().filter(|n| &n.plan == id && !n.retired).count(),
        indicators: state.indicators.values().filter(|i| &i.plan == id && !i.retired).count(),
    })
}

/// The whole plan as a tree, or `None` if the plan does not exist in `state`.
pub fn view_plan(state: &State, id: &PlanId) -> Option<PlanView> {
    let plan = summary(state, id)?;
    let idx = state.child_index(id);
    let mut inds: BTreeMap<&NodeId, Vec<&Indicator>> = BTreeMap::new();
    for i in state.indicators.values().filter(|i| &i.plan == id && !i.retired) {
        inds.entry(&i.node).or_default().push(i);
    }
    let nodes = idx
        .get(&None)
        .map(|roots| roots.iter().map(|n| node_view(state, &idx, &inds, n, 0)).collect())
        .unwrap_or_default();
    Some(PlanView { plan, nodes })
}

/// `60%以上`, `54,000部`, `—`: a target as the documents print it with its unit.
pub fn target_with_unit(t: &Target, unit: &str) -> String {
    match t {
        Target::None => "—".into(),
        Target::Value { value, comparator } => format!("{}{unit}{}", value.grouped(), comparator.suffix()),
    }
}

pub fn value_with_unit(v: &PlanValue, unit: &str) -> String {
    format!("{}{unit}", v.grouped())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::core::domain::model::PlanStatus;
    use crate::core::domain::municipality::Municipality;
    use crate::core::domain::state::Plan;

    /// A plan header for tests of this module and its siblings.
    pub(in crate::core::projection) fn plan(status: PlanStatus, period: Option<(u16, u16)>) -> Plan {
        Plan {
            id: PlanId::new("p").unwrap(),
            municipality: Municipality { name: "品川区".into(), code: "131091".parse().unwrap() },
            title: "計画".into(),
            kind: "実施計画".into(),
            period: period.map(|(a, b)| Period { from: FiscalYear::new(a).unwrap(), to: FiscalYear::new(b).unwrap() }),
            status,
            levels: vec![],
            predecessor: None,
            version: 1,
            created_seq: 0,
            versions: BTreeMap::new(),
        }
    }

    #[test]
    fn a_plan_adopted_for_the_next_fiscal_year_is_prospective_until_it_begins() {
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let p = plan(PlanStatus::Adopted, Some((2016, 2018)));
        assert_eq!(phase(&p, d("2016-03-31")), Phase::Prospective);
        assert_eq!(phase(&p, d("2016-04-01")), Phase::InForce);
        assert_eq!(phase(&p, d("2019-03-31")), Phase::InForce);
        assert_eq!(phase(&p, d("2019-04-01")), Phase::Ended);
        assert_eq!(phase(&plan(PlanStatus::Draft, Some((2016, 2018))), d("2017-01-01")), Phase::Draft);
        assert_eq!(phase(&plan(PlanStatus::Superseded, Some((2016, 2018))), d("2017-01-01")), Phase::Superseded);
        assert_eq!(phase(&plan(PlanStatus::Adopted, None), d("2017-01-01")), Phase::PeriodUnstated);
    }
}
