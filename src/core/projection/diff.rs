//! Diff and blame of one plan: what differs between two points (each difference with the events that caused it),
//! and which event last set every current value. Both work from the plan's own records and the aspects each
//! event sets.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::core::domain::model::Actor;
use crate::core::domain::state::{Indicator, Node};
use crate::core::domain::{FiscalYear, IndicatorId, NodeId, PlanEvent, PlanId, State};
use crate::core::record::Record;

use super::view::{target_with_unit, value_with_unit};
use super::{Point, replay};

/// One settable part of a plan. An event sets one or more aspects; a difference or a blamed value is about one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Aspect {
    PlanHeader,
    PlanStatus,
    Version(String),
    NodeExists(NodeId),
    NodeName(NodeId),
    NodePlace(NodeId),
    NodeText(NodeId),
    NodeDetails(NodeId),
    NodeDepartments(NodeId),
    NodeCrossListings(NodeId),
    NodeCrossReference(NodeId),
    Milestone(NodeId, FiscalYear),
    IndicatorExists(IndicatorId),
    IndicatorDefinition(IndicatorId),
    Baseline(IndicatorId),
    Target(IndicatorId, FiscalYear),
    Actual(IndicatorId, FiscalYear),
}

/// The aspects an event sets.
pub fn aspects(event: &PlanEvent) -> Vec<Aspect> {
    use Aspect as A;
    use PlanEvent::*;
    match event {
        PlanCreated { .. } => vec![A::PlanHeader, A::PlanStatus],
        PlanRevised { .. } => vec![A::PlanHeader],
        PlanStatusChanged { .. } => vec![A::PlanStatus],
        VersionNamed { name, .. } => vec![A::Version(name.clone())],
        NodeAdded { node, .. } => vec![
            A::NodeExists(node.clone()),
            A::NodeName(node.clone()),
            A::NodePlace(node.clone()),
            A::NodeText(node.clone()),
            A::NodeDetails(node.clone()),
            A::NodeDepartments(node.clone()),
        ],
        NodeRenamed { node, .. } => vec![A::NodeName(node.clone())],
        NodeTextRevised { node, .. } => vec![A::NodeText(node.clone())],
        NodeDetailsRevised { node, .. } => vec![A::NodeDetails(node.clone())],
        NodeMoved { node, .. } => vec![A::NodePlace(node.clone())],
        NodeRetired { node, .. } => vec![A::NodeExists(node.clone())],
        NodeCrossListed { node, .. } | NodeCrossListingRemoved { node, .. } => {
            vec![A::NodeCrossListings(node.clone())]
        }
        NodeCrossReferenced { node, .. } => vec![A::NodeCrossReference(node.clone())],
        DepartmentsAssigned { node, .. } => vec![A::NodeDepartments(node.clone())],
        MilestoneSet { node, fiscal_year, .. } | MilestoneWithdrawn { node, fiscal_year, .. } => {
            vec![A::Milestone(node.clone(), *fiscal_year)]
        }
        IndicatorDefined { indicator, .. } => {
            vec![A::IndicatorExists(indicator.clone()), A::IndicatorDefinition(indicator.clone())]
        }
        IndicatorRevised { indicator, .. } => vec![A::IndicatorDefinition(indicator.clone())],
        IndicatorRetired { indicator, .. } => vec![A::IndicatorExists(indicator.clone())],
        BaselineSet { indicator, .. } => vec![A::Baseline(indicator.clone())],
        TargetSet { indicator, fiscal_year, .. }
        | TargetRevised { indicator, fiscal_year, .. }
        | TargetWithdrawn { indicator, fiscal_year, .. } => vec![A::Target(indicator.clone(), *fiscal_year)],
        ProgressReported { indicator, fiscal_year, .. } | ProgressCorrected { indicator, fiscal_year, .. } => {
            vec![A::Actual(indicator.clone(), *fiscal_year)]
        }
        NodeReinstated { node, .. } => vec![A::NodeExists(node.clone())],
        IndicatorReinstated { indicator, .. } => vec![A::IndicatorExists(indicator.clone())],
        BaselineWithdrawn { indicator, .. } => vec![A::Baseline(indicator.clone())],
        // The compensating events before it set the values; the record of the restore itself sets none.
        Restored { .. } => vec![],
    }
}

/// An event as cited by a diff or blame: where it is, what it was, who recorded it, when, on what authority, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
pub struct EventRef {
    pub seq: u64,
    #[cfg_attr(feature = "web", schema(value_type = String))]
    pub event: &'static str,
    pub recorded_at: DateTime<Utc>,
    pub effective: NaiveDate,
    pub actor: Actor,
    pub authority: Option<String>,
    pub reason: Option<String>,
}

impl EventRef {
    pub fn of(r: &Record) -> Self {
        Self {
            seq: r.seq.0,
            event: r.event.type_name(),
            recorded_at: r.recorded_at,
            effective: r.effective,
            actor: r.actor.clone(),
            authority: r.authority.clone(),
            reason: r.reason.clone(),
        }
    }
}

/// What kind of difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    PlanChanged,
    StatusChanged,
    VersionNamed,
    NodeAdded,
    NodeRemoved,
    NodeRenamed,
    NodeMoved,
    TextChanged,
    DetailsChanged,
    DepartmentsChanged,
    CrossListingsChanged,
    CrossReferenceChanged,
    MilestoneChanged,
    IndicatorAdded,
    IndicatorRemoved,
    IndicatorRevised,
    BaselineChanged,
    TargetChanged,
    ProgressChanged,
}

/// One difference between the two points, old → new, with the events between them that set it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
pub struct DiffEntry {
    pub kind: DiffKind,
    /// The node or indicator id (the plan id for plan-level differences).
    pub subject: String,
    /// The subject as a reader knows it: code and title, or the indicator's name.
    pub label: String,
    pub what: String,
    pub old: Option<String>,
    pub new: Option<String>,
    pub events: Vec<EventRef>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
pub struct PlanDiff {
    #[cfg_attr(feature = "web", schema(value_type = String))]
    pub plan: PlanId,
    pub from: Option<Point>,
    pub to: Option<Point>,
    pub changes: Vec<DiffEntry>,
}

fn node_label(n: &Node) -> String {
    format!("{} {}", n.code, n.title).trim().to_string()
}

fn live_nodes<'a>(s: &'a State, plan: &PlanId) -> BTreeMap<&'a NodeId, &'a Node> {
    s.nodes.iter().filter(|(_, n)| &n.plan == plan && !n.retired).collect()
}

fn live_indicators<'a>(s: &'a State, plan: &PlanId) -> BTreeMap<&'a IndicatorId, &'a Indicator> {
    s.indicators.iter().filter(|(_, i)| &i.plan == plan && !i.retired).collect()
}

fn place(s: &State, n: &Node) -> String {
    let parent = match &n.parent {
        None => "（最上位 top level）".to_string(),
        Some(p) => s.nodes.get(p).map(node_label).unwrap_or_else(|| p.to_string()),
    };
    format!("{parent} / 順 order {}", n.order)
}

fn details(n: &Node) -> String {
    n.details.iter().map(|d| format!("{}: {}", d.label, d.text)).collect::<Vec<_>>().join("\n")
}

fn definition(i: &Indicator) -> String {
    let mut s = format!("【{}】 単位 {} / {:?}", i.name, i.unit, i.direction);
    if i.cumulative {
        s.push_str(" / 累計");
    }
    if !i.note.is_empty() {
        s.push_str(&format!(" / {}", i.note));
    }
    s
}

fn baseline(i: &Indicator) -> Option<String> {
    i.baseline.as_ref().map(|b| {
        let mut s = format!("{} {}", b.fiscal_year.label(), value_with_unit(&b.value, &i.unit));
        if !b.note.is_empty() {
            s.push_str(&format!("（{}）", b.note));
        }
        s
    })
}

fn actual(i: &Indicator, fy: &FiscalYear) -> Option<String> {
    i.actuals.get(fy).map(|a| {
        let mut s = value_with_unit(&a.value, &i.unit);
        if let Some(d) = a.as_of {
            s.push_str(&format!("（{d}時点）"));
        }
        if !a.note.is_empty() {
            s.push_str(&format!(" {}", a.note));
        }
        s
    })
}

struct Collector<'a> {
    out: Vec<DiffEntry>,
    causes: &'a BTreeMap<Aspect, Vec<EventRef>>,
}

impl Collector<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: DiffKind,
        subject: &str,
        label: &str,
        what: &str,
        old: Option<String>,
        new: Option<String>,
        aspect: Aspect,
    ) {
        if old == new {
            return;
        }
        self.out.push(DiffEntry {
            kind,
            subject: subject.to_string(),
            label: label.to_string(),
            what: what.to_string(),
            old,
            new,
            events: self.causes.get(&aspect).cloned().unwrap_or_default(),
        });
    }
}

/// The differences of `plan` between two points, from the plan's records (in seq order). `None` is now. Each
/// difference lists the events included at one point and not at the other that set its aspect.
pub fn diff(records: &[Record], plan: &PlanId, from: Option<Point>, to: Option<Point>) -> PlanDiff {
    let a = replay(records, from);
    let b = replay(records, to);
    let included = |p: &Option<Point>, r: &Record| p.as_ref().is_none_or(|p| p.includes(r));
    let mut causes: BTreeMap<Aspect, Vec<EventRef>> = BTreeMap::new();
    for r in records.iter().filter(|r| included(&from, r) != included(&to, r)) {
        for asp in aspects(&r.event) {
            causes.entry(asp).or_default().push(EventRef::of(r));
        }
    }
    let mut c = Collector { out: Vec::new(), causes: &causes };
    let pid = plan.to_string();
    use Aspect as A;
    use DiffKind as K;

    let (pa, pb) = (a.plans.get(plan), b.plans.get(plan));
    let header = |p: Option<&crate::core::domain::state::Plan>| {
        p.map(|p| {
            let period = p.period.map(|x| x.label()).unwrap_or_else(|| "—".into());
            format!("{} / {} / {} / {}", p.title, p.kind, period, p.levels.join("・"))
        })
    };
    let title = pb.or(pa).map(|p| p.title.clone()).unwrap_or_default();
    c.push(K::PlanChanged, &pid, &title, "計画 plan", header(pa), header(pb), A::PlanHeader);
    c.push(
        K::StatusChanged,
        &pid,
        &title,
        "状態 status",
        pa.map(|p| p.status.label().to_string()),
        pb.map(|p| p.status.label().to_string()),
        A::PlanStatus,
    );
    let versions = |p: Option<&crate::core::domain::state::Plan>| p.map(|p| p.versions.clone()).unwrap_or_default();
    let (va, vb) = (versions(pa), versions(pb));
    for name in va.keys().chain(vb.keys()).collect::<BTreeSet<_>>() {
        let show = |v: &BTreeMap<String, u64>| v.get(name).map(|s| format!("seq {s}"));
        c.push(
            K::VersionNamed,
            &pid,
            &title,
            &format!("版 version {name}"),
            show(&va),
            show(&vb),
            A::Version(name.clone()),
        );
    }

    let (na, nb) = (live_nodes(&a, plan), live_nodes(&b, plan));
    for id in na.keys().chain(nb.keys()).collect::<BTreeSet<_>>() {
        let (x, y) = (na.get(id).copied(), nb.get(id).copied());
        let sid = id.to_string();
        let label = y.or(x).map(node_label).unwrap_or_default();
        match (x, y) {
            (None, Some(n)) => {
                c.push(K::NodeAdded, &sid, &label, "追加 added", None, Some(place(&b, n)), A::NodeExists((*id).clone()))
            }
            (Some(n), None) => c.push(
                K::NodeRemoved,
                &sid,
                &label,
                "廃止 removed",
                Some(place(&a, n)),
                None,
                A::NodeExists((*id).clone()),
            ),
            (Some(x), Some(y)) => {
                let id = (*id).clone();
                c.push(
                    K::NodeRenamed,
                    &sid,
                    &label,
                    "番号・名称 code and title",
                    Some(node_label(x)),
                    Some(node_label(y)),
                    A::NodeName(id.clone()),
                );
                c.push(
                    K::NodeMoved,
                    &sid,
                    &label,
                    "位置 place",
                    Some(place(&a, x)),
                    Some(place(&b, y)),
                    A::NodePlace(id.clone()),
                );
                c.push(
                    K::TextChanged,
                    &sid,
                    &label,
                    "本文 text",
                    Some(x.text.clone()),
                    Some(y.text.clone()),
                    A::NodeText(id.clone()),
                );
                c.push(
                    K::DetailsChanged,
                    &sid,
                    &label,
                    "詳細 details",
                    Some(details(x)),
                    Some(details(y)),
                    A::NodeDetails(id.clone()),
                );
                c.push(
                    K::DepartmentsChanged,
                    &sid,
                    &label,
                    "実施課 departments",
                    Some(x.departments.join("、")),
                    Some(y.departments.join("、")),
                    A::NodeDepartments(id.clone()),
                );
                let xl = |n: &Node| n.cross_listed_under.iter().map(|u| u.to_string()).collect::<Vec<_>>().join("、");
                c.push(
                    K::CrossListingsChanged,
                    &sid,
                    &label,
                    "再掲 cross-listed under",
                    Some(xl(x)),
                    Some(xl(y)),
                    A::NodeCrossListings(id.clone()),
                );
                c.push(
                    K::CrossReferenceChanged,
                    &sid,
                    &label,
                    "再掲（外部）cross-reference",
                    x.cross_reference.clone(),
                    y.cross_reference.clone(),
                    A::NodeCrossReference(id.clone()),
                );
                for fy in x.milestones.keys().chain(y.milestones.keys()).collect::<BTreeSet<_>>() {
                    c.push(
                        K::MilestoneChanged,
                        &sid,
                        &label,
                        &format!("計画内容 {}", fy.label()),
                        x.milestones.get(fy).cloned(),
                        y.milestones.get(fy).cloned(),
                        A::Milestone(id.clone(), *fy),
                    );
                }
            }
            (None, None) => {}
        }
    }

    let (ia, ib) = (live_indicators(&a, plan), live_indicators(&b, plan));
    for id in ia.keys().chain(ib.keys()).collect::<BTreeSet<_>>() {
        let (x, y) = (ia.get(id).copied(), ib.get(id).copied());
        let sid = id.to_string();
        let label = y.or(x).map(|i| format!("【{}】", i.name)).unwrap_or_default();
        let iid = (*id).clone();
        match (x, y) {
            (None, Some(i)) => c.push(
                K::IndicatorAdded,
                &sid,
                &label,
                "追加 added",
                None,
                Some(definition(i)),
                A::IndicatorExists(iid.clone()),
            ),
            (Some(i), None) => c.push(
                K::IndicatorRemoved,
                &sid,
                &label,
                "廃止 removed",
                Some(definition(i)),
                None,
                A::IndicatorExists(iid.clone()),
            ),
            (Some(x), Some(y)) => {
                c.push(
                    K::IndicatorRevised,
                    &sid,
                    &label,
                    "定義 definition",
                    Some(definition(x)),
                    Some(definition(y)),
                    A::IndicatorDefinition(iid.clone()),
                );
            }
            (None, None) => {}
        }
        // Values of an indicator that exists at one point only are differences too: the reader sees them appear.
        let none = BTreeMap::new();
        let tx = x.map(|i| &i.targets).unwrap_or(&none);
        let ty = y.map(|i| &i.targets).unwrap_or(&none);
        for fy in tx.keys().chain(ty.keys()).collect::<BTreeSet<_>>() {
            let show = |i: Option<&Indicator>| i.and_then(|i| i.targets.get(fy).map(|t| target_with_unit(t, &i.unit)));
            c.push(
                K::TargetChanged,
                &sid,
                &label,
                &format!("目標 {}", fy.label()),
                show(x),
                show(y),
                A::Target(iid.clone(), *fy),
            );
        }
        c.push(
            K::BaselineChanged,
            &sid,
            &label,
            "現状値 baseline",
            x.and_then(baseline),
            y.and_then(baseline),
            A::Baseline(iid.clone()),
        );
        let nx = BTreeMap::new();
        let ax = x.map(|i| &i.actuals).unwrap_or(&nx);
        let ay = y.map(|i| &i.actuals).unwrap_or(&nx);
        for fy in ax.keys().chain(ay.keys()).collect::<BTreeSet<_>>() {
            c.push(
                K::ProgressChanged,
                &sid,
                &label,
                &format!("実績 {}", fy.label()),
                x.and_then(|i| actual(i, fy)),
                y.and_then(|i| actual(i, fy)),
                A::Actual(iid.clone(), *fy),
            );
        }
    }
    PlanDiff { plan: plan.clone(), from, to, changes: c.out }
}

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
    let view = super::view_plan(&state, plan);
    // Document order: walk the tree as the plan view lays it out.
    let mut order = Vec::new();
    fn walk(nodes: &[super::NodeView], out: &mut Vec<NodeId>) {
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
