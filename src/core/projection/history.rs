//! The history of one node or indicator: every event that changed it, with old → new values and its envelope.

use serde::Serialize;

use crate::core::domain::{PlanEvent, State};
use crate::core::record::Record;

use super::diff::EventRef;
use super::view::{target_with_unit, value_with_unit};

/// One changed value: what, before, after (`None` where it did not exist).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
pub struct Change {
    pub what: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// One event of an entity's history: the event as cited (its fields flattened into the JSON form) and what it
/// changed.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    #[serde(flatten)]
    pub source: EventRef,
    pub changes: Vec<Change>,
}

fn ch(what: impl Into<String>, old: Option<String>, new: Option<String>) -> Change {
    Change { what: what.into(), old, new }
}

fn opt_if_changed(changes: &mut Vec<Change>, what: &str, old: &str, new: &str) {
    if old != new {
        changes.push(ch(what, Some(old.to_string()), Some(new.to_string())));
    }
}

/// Describes `event` as changes, given the state just before it.
pub fn describe(before: &State, event: &PlanEvent) -> Vec<Change> {
    use PlanEvent::*;
    let unit =
        |i: &crate::core::domain::IndicatorId| before.indicators.get(i).map(|x| x.unit.clone()).unwrap_or_default();
    let mut out = Vec::new();
    match event {
        PlanCreated { title, status, .. } => {
            out.push(ch("計画 plan", None, Some(title.clone())));
            out.push(ch("状態 status", None, Some(status.label().into())));
        }
        PlanRevised { plan, title, kind, period, levels } => {
            if let Some(p) = before.plans.get(plan) {
                opt_if_changed(&mut out, "名称 title", &p.title, title);
                opt_if_changed(&mut out, "種別 kind", &p.kind, kind);
                let lbl =
                    |x: &Option<crate::core::domain::model::Period>| x.map(|p| p.label()).unwrap_or_else(|| "—".into());
                opt_if_changed(&mut out, "計画期間 period", &lbl(&p.period), &lbl(period));
                opt_if_changed(&mut out, "階層 levels", &p.levels.join(" / "), &levels.join(" / "));
            }
        }
        PlanStatusChanged { previous, status, .. } => {
            out.push(ch("状態 status", Some(previous.label().into()), Some(status.label().into())))
        }
        NodeAdded { code, title, departments, .. } => {
            out.push(ch("追加 added", None, Some(format!("{code} {title}").trim().to_string())));
            if !departments.is_empty() {
                out.push(ch("実施課 departments", None, Some(departments.join("、"))));
            }
        }
        NodeRenamed { node, code, title, .. } => {
            if let Some(n) = before.nodes.get(node) {
                opt_if_changed(&mut out, "番号 code", &n.code, code);
                opt_if_changed(&mut out, "名称 title", &n.title, title);
            }
        }
        NodeTextRevised { node, text, .. } => {
            out.push(ch("本文 text", before.nodes.get(node).map(|n| n.text.clone()), Some(text.clone())))
        }
        NodeDetailsRevised { node, details, .. } => {
            let fmt = |d: &[crate::core::domain::model::Detail]| {
                d.iter().map(|d| format!("{}：{}", d.label, d.text)).collect::<Vec<_>>().join("\n")
            };
            out.push(ch("詳細 details", before.nodes.get(node).map(|n| fmt(&n.details)), Some(fmt(details))))
        }
        NodeMoved { node, parent, order, .. } => {
            let name = |id: &Option<crate::core::domain::NodeId>| match id {
                None => "（最上位）".to_string(),
                Some(p) => before
                    .nodes
                    .get(p)
                    .map(|n| format!("{} {}", n.code, n.title).trim().to_string())
                    .unwrap_or_else(|| p.to_string()),
            };
            if let Some(n) = before.nodes.get(node) {
                out.push(ch(
                    "位置 position",
                    Some(format!("{} #{}", name(&n.parent), n.order)),
                    Some(format!("{} #{order}", name(parent))),
                ))
            }
        }
        NodeRetired { .. } => out.push(ch("廃止 retired", None, Some("廃止".into()))),
        NodeCrossListed { under, .. } => out.push(ch("再掲 cross-listed under", None, Some(label_node(before, under)))),
        NodeCrossListingRemoved { under, .. } => {
            out.push(ch("再掲 cross-listed under", Some(label_node(before, under)), None))
        }
        NodeCrossReferenced { node, reference, .. } => out.push(ch(
            "再掲元 cross-reference",
            before.nodes.get(node).and_then(|n| n.cross_reference.clone()),
            if reference.is_empty() { None } else { Some(reference.clone()) },
        )),
        DepartmentsAssigned { node, departments, .. } => out.push(ch(
            "実施課 departments",
            before.nodes.get(node).map(|n| n.departments.join("、")),
            Some(departments.join("、")),
        )),
        MilestoneSet { node, fiscal_year, text, .. } => out.push(ch(
            format!("計画内容 {}", fiscal_year.label()),
            before.nodes.get(node).and_then(|n| n.milestones.get(fiscal_year).cloned()),
            Some(text.clone()),
        )),
        MilestoneWithdrawn { node, fiscal_year, .. } => out.push(ch(
            format!("計画内容 {}", fiscal_year.label()),
            before.nodes.get(node).and_then(|n| n.milestones.get(fiscal_year).cloned()),
            None,
        )),
        IndicatorDefined { name, unit, cumulative, note, .. } => {
            out.push(ch("指標 indicator", None, Some(name.clone())));
            if !unit.is_empty() {
                out.push(ch("単位 unit", None, Some(unit.clone())));
            }
            if *cumulative {
                out.push(ch("累計 cumulative", None, Some("累計".into())));
            }
            if !note.is_empty() {
                out.push(ch("備考 note", None, Some(note.clone())));
            }
        }
        IndicatorRevised { indicator, name, unit, direction, cumulative, note, .. } => {
            if let Some(i) = before.indicators.get(indicator) {
                opt_if_changed(&mut out, "名称 name", &i.name, name);
                opt_if_changed(&mut out, "単位 unit", &i.unit, unit);
                opt_if_changed(&mut out, "方向 direction", i.direction.label(), direction.label());
                opt_if_changed(&mut out, "累計 cumulative", &i.cumulative.to_string(), &cumulative.to_string());
                opt_if_changed(&mut out, "備考 note", &i.note, note);
            }
        }
        IndicatorRetired { .. } => out.push(ch("廃止 retired", None, Some("廃止".into()))),
        BaselineSet { indicator, baseline, .. } => {
            let u = unit(indicator);
            let fmt = |b: &crate::core::domain::model::Baseline| {
                format!("{}（{}）{}", value_with_unit(&b.value, &u), b.fiscal_year.label(), b.note)
            };
            out.push(ch(
                "現況値 baseline",
                before.indicators.get(indicator).and_then(|i| i.baseline.as_ref()).map(fmt),
                Some(fmt(baseline)),
            ))
        }
        TargetSet { indicator, fiscal_year, target, .. } => out.push(ch(
            format!("目標 {}", fiscal_year.label()),
            None,
            Some(target_with_unit(target, &unit(indicator))),
        )),
        TargetRevised { indicator, fiscal_year, previous, target, .. } => {
            let u = unit(indicator);
            out.push(ch(
                format!("目標 {}", fiscal_year.label()),
                Some(target_with_unit(previous, &u)),
                Some(target_with_unit(target, &u)),
            ))
        }
        TargetWithdrawn { indicator, fiscal_year, previous, .. } => out.push(ch(
            format!("目標 {}", fiscal_year.label()),
            Some(target_with_unit(previous, &unit(indicator))),
            None,
        )),
        ProgressReported { indicator, fiscal_year, value, .. } => {
            out.push(ch(format!("実績 {}", fiscal_year.label()), None, Some(value_with_unit(value, &unit(indicator)))))
        }
        ProgressCorrected { indicator, fiscal_year, previous, value, .. } => {
            let u = unit(indicator);
            out.push(ch(
                format!("実績 {}（訂正 correction）", fiscal_year.label()),
                Some(value_with_unit(previous, &u)),
                Some(value_with_unit(value, &u)),
            ))
        }
        VersionNamed { name, seq, .. } => out.push(ch("版 version", None, Some(format!("{name} = seq {seq}")))),
        NodeReinstated { .. } | IndicatorReinstated { .. } => out.push(ch("廃止 retired", Some("廃止".into()), None)),
        BaselineWithdrawn { indicator, previous, .. } => {
            let u = unit(indicator);
            out.push(ch(
                "現況値 baseline",
                Some(format!(
                    "{}（{}）{}",
                    value_with_unit(&previous.value, &u),
                    previous.fiscal_year.label(),
                    previous.note
                )),
                None,
            ))
        }
        Restored { plan, scope, to, compensating } => out.push(ch(
            "復元 restored",
            None,
            Some(format!(
                "{} to {}（{compensating} compensating event{}）",
                scope.describe(plan),
                to.describe(),
                if *compensating == 1 { "" } else { "s" }
            )),
        )),
    }
    out
}

fn label_node(state: &State, id: &crate::core::domain::NodeId) -> String {
    state.nodes.get(id).map(|n| format!("{} {}", n.code, n.title).trim().to_string()).unwrap_or_else(|| id.to_string())
}

/// History from the records that concern one entity, in order. Only these records are folded: every earlier
/// value of the entity is set by one of them, so old → new needs nothing else.
pub fn history(records: &[Record]) -> Vec<HistoryEntry> {
    history_after(State::default(), records)
}

/// [`history`] of records that follow `before`: each is described against `before` with the records ahead of it
/// folded in. With `before` the fold of everything earlier, the entries are those `history` gives for the whole
/// sequence, so a window of a long history costs the window.
pub fn history_after(before: State, records: &[Record]) -> Vec<HistoryEntry> {
    let mut state = before;
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        let changes = describe(&state, &r.event);
        state.apply(r.seq.0, &r.event);
        out.push(HistoryEntry { source: EventRef::of(r), changes });
    }
    out
}
