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

mod blame;
pub use blame::{BlameEntry, blame};

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

    node_changes(&mut c, &a, &b, plan);
    indicator_changes(&mut c, &a, &b, plan);
    PlanDiff { plan: plan.clone(), from, to, changes: c.out }
}

/// The differences of the plan's live nodes between states `a` and `b`.
fn node_changes(c: &mut Collector<'_>, a: &State, b: &State, plan: &PlanId) {
    use Aspect as A;
    use DiffKind as K;
    let (na, nb) = (live_nodes(a, plan), live_nodes(b, plan));
    for id in na.keys().chain(nb.keys()).collect::<BTreeSet<_>>() {
        let (x, y) = (na.get(id).copied(), nb.get(id).copied());
        let sid = id.to_string();
        let label = y.or(x).map(node_label).unwrap_or_default();
        match (x, y) {
            (None, Some(n)) => {
                c.push(K::NodeAdded, &sid, &label, "追加 added", None, Some(place(b, n)), A::NodeExists((*id).clone()))
            }
            (Some(n), None) => c.push(
                K::NodeRemoved,
                &sid,
                &label,
                "廃止 removed",
                Some(place(a, n)),
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
                    Some(place(a, x)),
                    Some(place(b, y)),
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
}

/// The differences of the plan's live indicators between states `a` and `b`.
fn indicator_changes(c: &mut Collector<'_>, a: &State, b: &State, plan: &PlanId) {
    use Aspect as A;
    use DiffKind as K;
    let (ia, ib) = (live_indicators(a, plan), live_indicators(b, plan));
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
}
