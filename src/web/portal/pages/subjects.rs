//! The pages about one subject of a plan: an indicator (target against actual, its revisions) and a node.

use chrono::NaiveDate;
use maud::{Markup, html};

use super::parts::{departments, latest_actual, timeline};
use super::{At, Query, banner, head, head_with_feed, with_state};
use crate::core::domain::time::jst_date;
use crate::core::domain::value::Target;
use crate::core::domain::{Entity, FiscalYear, IndicatorId, NodeId, PlanEvent};
use crate::core::projection;
use crate::core::projection::view::value_with_unit;
use crate::core::record::Record;
use crate::query::Read;
use crate::store::Ledger;
use crate::web::Problem;
use crate::web::portal::chart;
use crate::web::portal::layout::{self, enc};

/// A target revision for the chart: the year, the value before and after, and the event.
#[derive(Debug, Clone)]
pub struct Revision {
    pub seq: u64,
    pub fiscal_year: FiscalYear,
    pub previous: Target,
    pub target: Option<Target>,
    pub recorded: NaiveDate,
}

fn revisions(records: &[Record]) -> Vec<Revision> {
    records
        .iter()
        .filter_map(|r| match &r.event {
            PlanEvent::TargetRevised { fiscal_year, previous, target, .. } => Some(Revision {
                seq: r.seq.0,
                fiscal_year: *fiscal_year,
                previous: *previous,
                target: Some(*target),
                recorded: jst_date(r.recorded_at),
            }),
            PlanEvent::TargetWithdrawn { fiscal_year, previous, .. } => Some(Revision {
                seq: r.seq.0,
                fiscal_year: *fiscal_year,
                previous: *previous,
                target: None,
                recorded: jst_date(r.recorded_at),
            }),
            _ => None,
        })
        .collect()
}

/// The records of `entity` that `at` includes, up to the read's head.
pub(super) fn records_at(read: &Read, entity: &Entity, at: &At) -> Result<Vec<Record>, Problem> {
    let mut r = read.records_for(entity)?;
    if let Some(p) = at.point {
        r.retain(|x| p.includes(x));
    }
    Ok(r)
}

/// `/indicators/{id}`: the revision timeline and the chart of target against actual.
pub fn indicator(ledger: &Ledger, id: &str, q: &Query, today: NaiveDate) -> Result<Markup, Problem> {
    let missing = || Problem::not_found("id", format!("指標 {id:?} はありません（no such indicator）"));
    let iid = IndicatorId::new(id).map_err(|_| missing())?;
    let (read, current) = Read::capture(ledger, |s| s.indicators.get(&iid).and_then(|i| s.plans.get(&i.plan)).cloned());
    let current = current.ok_or_else(missing)?;
    let pid = current.id.clone();
    let at = At::read(q, &read, &current)?;
    let (view, shown, node) = with_state(&read, &pid, &at, "id", |s| {
        let ind = s.indicators.get(&iid)?;
        let node = s.nodes.get(&ind.node).map(|n| format!("{} {}", n.code, n.title).trim().to_string());
        Some((projection::view::indicator_view(s, ind), s.plans.get(&pid)?.clone(), node))
    })?;
    let records = records_at(&read, &Entity::Indicator(iid.clone()), &at)?;
    let history = projection::history(&records);
    let revs = revisions(&records);
    let href = format!("/indicators/{}", enc(iid.as_str()));
    let b = banner(&at, &current, &shown, today, &href);
    let qs = at.query();
    let body = html! {
        dl.facts {
            dt { "計画 plan" } dd { a href={ "/plans/" (enc(pid.as_str())) (qs) } { (shown.title) } }
            dt { "項目 item" } dd { a href={ "/nodes/" (enc(view.node.as_str())) (qs) } { (node.unwrap_or_else(|| view.node.to_string())) } }
            dt { "指標ID indicator id" } dd { code { (view.id) } }
            dt { "単位 unit" } dd { (if view.unit.is_empty() { "（なし none）" } else { &view.unit }) }
            dt { "方向 direction" } dd { (view.direction.label()) }
            @if view.cumulative { dt { "累計 cumulative" } dd { "累計値（cumulative）" } }
            @if !view.note.is_empty() { dt { "備考 note" } dd { (view.note) } }
            dt { "最新実績 latest actual" } dd { (latest_actual(&view.series, &view.unit)) }
            @if let Some(bl) = &view.baseline {
                dt { "基準値 baseline" } dd { (value_with_unit(&bl.value, &view.unit)) "（" (bl.fiscal_year.label()) "）" (bl.note) }
            }
        }
        section {
            h2 { "目標と実績 Target against actual" }
            (chart::figure(&view, &revs))
        }
        section {
            h2 { "改定の履歴 Revision timeline" }
            p { a href={ "/feeds/indicators/" (enc(iid.as_str())) } { "Atom フィード（この指標の変更 changes of this indicator）" } }
            (timeline(&history))
        }
    };
    let feed = head_with_feed(&read, format!("/feeds/indicators/{}", enc(iid.as_str())), "この指標の変更（Atom）");
    Ok(layout::page(&format!("指標：{}", view.name), Some(&b), &feed, body))
}

/// `/nodes/{id}`: the node's texts, milestones, children, indicators and history.
pub fn node(ledger: &Ledger, id: &str, q: &Query, today: NaiveDate) -> Result<Markup, Problem> {
    let missing = || Problem::not_found("id", format!("項目 {id:?} はありません（no such item）"));
    let nid = NodeId::new(id).map_err(|_| missing())?;
    let (read, current) = Read::capture(ledger, |s| s.nodes.get(&nid).and_then(|n| s.plans.get(&n.plan)).cloned());
    let current = current.ok_or_else(missing)?;
    let pid = current.id.clone();
    let at = At::read(q, &read, &current)?;
    type Link = (NodeId, String);
    let (n, shown, level, parent, children, indicators, under) = with_state(&read, &pid, &at, "id", |s| {
        let n = s.nodes.get(&nid)?.clone();
        let label = |x: &NodeId| -> Option<Link> {
            s.nodes.get(x).map(|m| (x.clone(), format!("{} {}", m.code, m.title).trim().to_string()))
        };
        let parent = n.parent.as_ref().and_then(label);
        let children: Vec<Link> = s.children(&pid, Some(&nid)).iter().filter_map(|c| label(&c.id)).collect();
        let inds: Vec<(IndicatorId, String)> =
            s.indicators_of(&nid).iter().map(|i| (i.id.clone(), i.name.clone())).collect();
        let under: Vec<Link> = n.cross_listed_under.iter().filter_map(label).collect();
        let level = s.level_name(&nid).map(str::to_string);
        Some((n, s.plans.get(&pid)?.clone(), level, parent, children, inds, under))
    })?;
    let history = projection::history(&records_at(&read, &Entity::Node(nid.clone()), &at)?);
    let href = format!("/nodes/{}", enc(nid.as_str()));
    let b = banner(&at, &current, &shown, today, &href);
    let qs = at.query();
    let title = format!("{} {}", n.code, n.title).trim().to_string();
    let body = html! {
        @if n.retired { p { strong { "この項目は廃止されています（retired）。" } } }
        dl.facts {
            dt { "計画 plan" } dd { a href={ "/plans/" (enc(pid.as_str())) (qs) "#n-" (nid) } { (shown.title) } }
            @if let Some(l) = &level { dt { "階層 level" } dd { (l) } }
            @if let Some((pid_, pl)) = &parent { dt { "上位 parent" } dd { a href={ "/nodes/" (enc(pid_.as_str())) (qs) } { (pl) } } }
            dt { "実施課 departments" } dd { @if n.departments.is_empty() { "（記載なし）" } @else { (departments(&n.departments)) } }
            @for (u, l) in &under { dt { "再掲 cross-listed under" } dd { a href={ "/nodes/" (enc(u.as_str())) (qs) } { (l) } } }
            @if let Some(r) = &n.cross_reference { dt { "再掲元 cross-reference" } dd { (r) } }
        }
        section {
            h2 { "本文 Text" }
            @if n.text.is_empty() && n.details.is_empty() { p { "（本文の記載なし no text）" } }
            @if !n.text.is_empty() { p.text { (n.text) } }
            @if !n.details.is_empty() {
                dl.facts { @for d in &n.details { dt { (d.label) } dd.text { (d.text) } } }
            }
        }
        section {
            h2 { "年度別計画内容 Milestones" }
            @if n.milestones.is_empty() { p { "（記載なし none）" } } @else {
                div.wide { table {
                    caption { (title) "の年度別計画内容（milestones by fiscal year）" }
                    thead { tr { th scope="col" { "年度 fiscal year" } th scope="col" { "計画内容 milestone" } } }
                    tbody { @for (fy, t) in &n.milestones { tr { th scope="row" { (fy.label()) } td.text { (t) } } } }
                } }
            }
        }
        @if !children.is_empty() {
            section {
                h2 { "下位の項目 Items below" }
                ul { @for (c, l) in &children { li { a href={ "/nodes/" (enc(c.as_str())) (qs) } { (l) } } } }
            }
        }
        @if !indicators.is_empty() {
            section {
                h2 { "指標 Indicators" }
                ul { @for (i, name) in &indicators { li { a href={ "/indicators/" (enc(i.as_str())) (qs) } { (name) } } } }
            }
        }
        section {
            h2 { "履歴 History" }
            (timeline(&history))
        }
    };
    Ok(layout::page(&title, Some(&b), &head(&read), body))
}
