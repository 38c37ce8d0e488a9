//! The pieces pages share: event labels, value cells, change lists, point forms, plan facts and the plan tree.

use std::collections::BTreeMap;

use maud::{Markup, html};

use super::super::layout::enc;
use crate::core::domain::NodeId;
use crate::core::domain::state::Plan;
use crate::core::domain::time::jst;
use crate::core::domain::value::{Comparator, Target};
use crate::core::projection::view::{target_with_unit, value_with_unit};
use crate::core::projection::{HistoryEntry, IndicatorView, NodeView, SeriesRow};

pub(super) fn comparator_label(c: Comparator) -> &'static str {
    match c {
        Comparator::Eq => "目標値（plain figure）",
        Comparator::AtLeast => "以上（at least）",
        Comparator::AtMost => "以下（at most）",
        Comparator::MoreThan => "超（more than）",
        Comparator::LessThan => "未満（less than）",
    }
}

pub(super) fn target_cell(t: Option<&Target>, unit: &str) -> String {
    match t {
        None => "（記載なし not stated）".into(),
        Some(Target::None) => "—（目標なし no target）".into(),
        Some(t) => target_with_unit(t, unit),
    }
}

pub(super) fn comparator_cell(t: Option<&Target>) -> &'static str {
    match t {
        Some(Target::Value { comparator, .. }) => comparator_label(*comparator),
        _ => "",
    }
}

pub(super) fn latest_actual(series: &[SeriesRow], unit: &str) -> String {
    match series.iter().rev().find_map(|r| r.actual.as_ref().map(|a| (r.fiscal_year, a))) {
        Some((fy, a)) => format!("{}（{}）", value_with_unit(&a.value, unit), fy.label()),
        None => "実績の報告なし（no actual reported）".into(),
    }
}

/// Japanese names of the event types, with the type itself for reference.
pub fn event_label(type_name: &str) -> &'static str {
    match type_name {
        "PlanCreated" => "計画の登録",
        "PlanRevised" => "計画の改定",
        "PlanStatusChanged" => "計画の状態変更",
        "NodeAdded" => "項目の追加",
        "NodeRenamed" => "番号・名称の変更",
        "NodeTextRevised" => "本文の改定",
        "NodeDetailsRevised" => "詳細の改定",
        "NodeMoved" => "項目の移動",
        "NodeRetired" => "項目の廃止",
        "NodeCrossListed" => "再掲の追加",
        "NodeCrossListingRemoved" => "再掲の削除",
        "NodeCrossReferenced" => "再掲元の記載",
        "DepartmentsAssigned" => "実施課の変更",
        "MilestoneSet" => "年度別計画内容の設定",
        "MilestoneWithdrawn" => "年度別計画内容の取下げ",
        "IndicatorDefined" => "指標の設定",
        "IndicatorRevised" => "指標の改定",
        "IndicatorRetired" => "指標の廃止",
        "BaselineSet" => "基準値の設定",
        "BaselineWithdrawn" => "基準値の取下げ",
        "TargetSet" => "目標値の設定",
        "TargetRevised" => "目標値の改定",
        "TargetWithdrawn" => "目標値の取下げ",
        "ProgressReported" => "実績の報告",
        "ProgressCorrected" => "実績の訂正",
        "VersionNamed" => "版の命名",
        "NodeReinstated" => "項目の復活",
        "IndicatorReinstated" => "指標の復活",
        "Restored" => "過去の時点への復元",
        _ => "変更",
    }
}

pub(super) fn old_new(old: &Option<String>, new: &Option<String>) -> Markup {
    html! {
        @match (old, new) {
            (Some(o), Some(n)) => { del { (o) } " → " ins { (n) } }
            (None, Some(n)) => { span.mark { "追加 added: " } ins { (n) } }
            (Some(o), None) => { span.mark { "削除 removed: " } del { (o) } }
            (None, None) => { "—" }
        }
    }
}

/// One change as a list item: date, what, old → new, who, on what authority, why, and its permalink.
pub(super) fn change_item(e: &HistoryEntry) -> Markup {
    let s = &e.source;
    html! {
        li {
            p {
                strong { (event_label(s.event)) } " "
                span.muted { "(" (s.event) ")" } " — "
                "記録 recorded " time datetime=(s.recorded_at.to_rfc3339()) { (jst(s.recorded_at).format("%Y-%m-%d %H:%M JST")) }
                "、効力発生 effective " time datetime=(s.effective.to_string()) { (s.effective) }
            }
            @if !e.changes.is_empty() {
                ul {
                    @for c in &e.changes { li { (c.what) "：" (old_new(&c.old, &c.new)) } }
                }
            }
            dl.facts {
                dt { "記録者 actor" } dd { (s.actor.name) }
                dt { "部署 department" } dd { (s.actor.department) }
                dt { "根拠 authority" } dd { (s.authority.as_deref().unwrap_or("（記載なし）")) }
                dt { "理由 reason" } dd { (s.reason.as_deref().unwrap_or("（記載なし）")) }
            }
            p { a href={ "/events/" (s.seq) } { "固定リンク permalink: 変更 seq " (s.seq) } }
        }
    }
}

pub(super) fn timeline(entries: &[HistoryEntry]) -> Markup {
    html! {
        @if entries.is_empty() {
            p { "この時点までに記録された変更はありません（no changes recorded）。" }
        } @else {
            ol.timeline { @for e in entries { (change_item(e)) } }
        }
    }
}

pub(super) fn point_forms(action: &str, versions: &[&String]) -> Markup {
    html! {
        details {
            summary { "表示時点を変える（view another point in time）" }
            @if !versions.is_empty() {
                form.inline method="get" action=(action) {
                    label for="pt-version" { "版 version" }
                    select #pt-version name="version" {
                        @for name in versions { option value=(name) { (name) } }
                    }
                    button type="submit" { "表示 show" }
                }
            }
            form.inline method="get" action=(action) {
                label for="pt-effective" { "効力のある日・年度 in force on (YYYY-MM-DD / 2017 / 令和3)" }
                input #pt-effective name="effective" type="text" size="12";
                button type="submit" { "表示 show" }
            }
            form.inline method="get" action=(action) {
                label for="pt-asof" { "記録時点 as recorded at (RFC 3339)" }
                input #pt-asof name="as_of" type="text" size="24";
                button type="submit" { "表示 show" }
            }
            form.inline method="get" action=(action) {
                label for="pt-at" { "変更番号 after event seq" }
                input #pt-at name="at" type="number" min="0" size="8";
                button type="submit" { "表示 show" }
            }
        }
    }
}

pub(super) fn plan_facts(p: &Plan) -> Markup {
    html! {
        dl.facts {
            dt { "団体 municipality" } dd { (p.municipality.name) "（団体コード " (p.municipality.code.to_string()) "）" }
            dt { "計画ID plan id" } dd { code { (p.id) } }
            dt { "種別 kind" } dd { (p.kind) }
            dt { "計画期間 period" } dd { (p.period.map(|x| x.label()).unwrap_or_else(|| "記載なし（not stated）".into())) }
            dt { "状態 status" } dd { (p.status.label()) }
            dt { "階層 levels" } dd { (p.levels.join(" ＞ ")) }
            dt { "変更数 events" } dd { (p.version) }
            @if let Some(pre) = &p.predecessor {
                dt { "前計画 predecessor" } dd { a href={ "/plans/" (enc(pre.as_str())) } { (pre) } }
            }
        }
    }
}

pub(super) fn indicator_table(i: &IndicatorView, q: &str) -> Markup {
    html! {
        div.wide { table {
            caption {
                "指標 indicator: " a href={ "/indicators/" (enc(i.id.as_str())) (q) } { (i.name) }
                @if !i.unit.is_empty() { "（単位 unit: " (i.unit) "）" }
            }
            thead { tr {
                th scope="col" { "年度 fiscal year" }
                th scope="col" { "目標 target" }
                th scope="col" { "比較 comparator" }
                th scope="col" { "実績 actual" }
                th scope="col" { "評価 evaluation" }
            } }
            tbody {
                @for r in &i.series {
                    tr {
                        th scope="row" { (r.fiscal_year.label()) }
                        td.num { (target_cell(r.target.as_ref(), &i.unit)) }
                        td { (comparator_cell(r.target.as_ref())) }
                        td.num { @if let Some(a) = &r.actual { (value_with_unit(&a.value, &i.unit)) } @else { "—" } }
                        td { (r.evaluation.label()) }
                    }
                }
            }
        } }
        p {
            "最新実績 latest actual: " (latest_actual(&i.series, &i.unit))
            @if let Some(b) = &i.baseline {
                " ／ 基準値 baseline: " (value_with_unit(&b.value, &i.unit)) "（" (b.fiscal_year.label()) "）" (b.note)
            }
        }
    }
}

/// Departments, each linking to its changes (and from there its feed).
pub(super) fn departments(ds: &[String]) -> Markup {
    html! {
        @for (k, d) in ds.iter().enumerate() {
            @if k > 0 { "、" }
            a href={ "/changes?department=" (enc(d)) } { (d) }
        }
    }
}

pub(super) fn collect_labels(nodes: &[NodeView], out: &mut BTreeMap<NodeId, String>) {
    for n in nodes {
        out.insert(n.id.clone(), format!("{} {}", n.code, n.title).trim().to_string());
        collect_labels(&n.children, out);
    }
}

pub(super) fn tree(nodes: &[NodeView], q: &str, labels: &BTreeMap<NodeId, String>) -> Markup {
    html! {
        ul {
            @for n in nodes {
                li.node #{ "n-" (n.id) } {
                    @if let Some(l) = &n.level { span.level { (l) } }
                    a href={ "/nodes/" (enc(n.id.as_str())) (q) } { (n.code) " " (n.title) }
                    @if !n.departments.is_empty() { " " span.muted { "実施課 " (departments(&n.departments)) } }
                    @for u in &n.cross_listed_under {
                        br; "再掲 cross-listed under: "
                        a href={ "#n-" (u) } { (labels.get(u).map(String::as_str).unwrap_or(u.as_str())) }
                    }
                    @if let Some(r) = &n.cross_reference { br; "再掲元 cross-reference: " (r) }
                    @for i in &n.indicators { (indicator_table(i, q)) }
                    @if !n.children.is_empty() { (tree(&n.children, q, labels)) }
                }
            }
        }
    }
}
