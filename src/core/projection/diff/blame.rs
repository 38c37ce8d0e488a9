//! Blame: for every current value of a plan, the event that last set it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Aspect, EventRef, actual, aspects, baseline, definition, details, node_label};
use crate::core::domain::NodeId;
use crate::core::domain::{PlanId, State};
use crate::core::projection::Point;
use crate::core::projection::view::target_with_unit;
use crate::core::record::Record;

/// One current value and the event that last set it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
pub struct BlameEntry {
    pub subject: String,
    pub label: String,
    pub what: String,
    pub value: String,
    pub set_by: EventRef,
}

/// For every value of `plan` at `point` (now for `None`): the event that last set it. Records in seq order; on the
/// effective axis they are folded in the same in-force order as `replay`, so the blamed event is the one in force.
pub fn blame(records: &[Record], plan: &PlanId, point: Option<Point>) -> Vec<BlameEntry> {
    let mut state = State::default();
    let mut last: BTreeMap<Aspect, EventRef> = BTreeMap::new();
    let mut included: Vec<&Record> = records.iter().filter(|r| point.as_ref().is_none_or(|p| p.includes(r))).collect();
    if let Some(Point::Effective(_)) = point {
        included.sort_by_key(|r| r.effective);
    }
    for r in included {
        state.apply(r.seq.0, &r.event);
        for a in aspects(&r.event) {
            last.insert(a, EventRef::of(r));
        }
    }
    let mut out = Vec::new();
    let mut row = |subject: &str, label: &str, what: &str, value: String, aspect: Aspect| {
        // Every value of a live entity was set by some event; a missing cause would be a bug in `aspects`.
        if let Some(e) = last.get(&aspect) {
            out.push(BlameEntry {
                subject: subject.into(),
                label: label.into(),
                what: what.into(),
                value,
                set_by: e.clone(),
            });
        }
    };
    use Aspect as A;
    let Some(p) = state.plans.get(plan) else { return Vec::new() };
    let pid = plan.to_string();
    let period = p.period.map(|x| x.label()).unwrap_or_else(|| "—".into());
    row(
        &pid,
        &p.title,
        "計画 plan",
        format!("{} / {} / {} / {}", p.title, p.kind, period, p.levels.join("・")),
        A::PlanHeader,
    );
    row(&pid, &p.title, "状態 status", p.status.label().to_string(), A::PlanStatus);
    for (name, seq) in &p.versions {
        row(&pid, &p.title, &format!("版 version {name}"), format!("seq {seq}"), A::Version(name.clone()));
    }
    let view = crate::core::projection::view_plan(&state, plan);
    // Document order: walk the tree as the plan view lays it out.
    let mut order = Vec::new();
    fn walk(nodes: &[crate::core::projection::NodeView], out: &mut Vec<NodeId>) {
        for n in nodes {
            out.push(n.id.clone());
            walk(&n.children, out);
        }
    }
    if let Some(v) = &view {
        walk(&v.nodes, &mut order);
    }
    for id in order {
        let Some(n) = state.nodes.get(&id) else { continue };
        let (sid, label) = (id.to_string(), node_label(n));
        row(&sid, &label, "番号・名称 code and title", node_label(n), A::NodeName(id.clone()));
        // Empty texts and department lists are not values a reader sees; they are left out.
        if !n.text.is_empty() {
            row(&sid, &label, "本文 text", n.text.clone(), A::NodeText(id.clone()));
        }
        if !n.details.is_empty() {
            row(&sid, &label, "詳細 details", details(n), A::NodeDetails(id.clone()));
        }
        if !n.departments.is_empty() {
            row(&sid, &label, "実施課 departments", n.departments.join("、"), A::NodeDepartments(id.clone()));
        }
        if !n.cross_listed_under.is_empty() {
            let v = n.cross_listed_under.iter().map(|u| u.to_string()).collect::<Vec<_>>().join("、");
            row(&sid, &label, "再掲 cross-listed under", v, A::NodeCrossListings(id.clone()));
        }
        if let Some(r) = &n.cross_reference {
            row(&sid, &label, "再掲（外部）cross-reference", r.clone(), A::NodeCrossReference(id.clone()));
        }
        for (fy, text) in &n.milestones {
            row(&sid, &label, &format!("計画内容 {}", fy.label()), text.clone(), A::Milestone(id.clone(), *fy));
        }
        for i in state.indicators_of(&id) {
            let (iid, ilabel) = (i.id.to_string(), format!("【{}】", i.name));
            row(&iid, &ilabel, "定義 definition", definition(i), A::IndicatorDefinition(i.id.clone()));
            if let Some(b) = baseline(i) {
                row(&iid, &ilabel, "現状値 baseline", b, A::Baseline(i.id.clone()));
            }
            for (fy, t) in &i.targets {
                row(
                    &iid,
                    &ilabel,
                    &format!("目標 {}", fy.label()),
                    target_with_unit(t, &i.unit),
                    A::Target(i.id.clone(), *fy),
                );
            }
            for fy in i.actuals.keys() {
                if let Some(v) = actual(i, fy) {
                    row(&iid, &ilabel, &format!("実績 {}", fy.label()), v, A::Actual(i.id.clone(), *fy));
                }
            }
        }
    }
    out
}
