//! The pages about plans: the list of plans, one plan's tree, and the comparison of two points.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use maud::{Markup, html};

use super::parts::{collect_labels, event_label, plan_facts, point_forms, tree};
use super::{At, Query, banner, describe_point, global_banner, head, head_with_feed, status_note, with_state};
use crate::core::domain::Entity;
use crate::core::domain::model::RestorePoint;
use crate::core::domain::state::Plan;
use crate::core::domain::time::jst_date;
use crate::core::projection;
use crate::core::projection::diff::DiffKind;
use crate::core::record::Record;
use crate::query::{PlanRead, Read};
use crate::store::Ledger;
use crate::web::Problem;
use crate::web::portal::layout::{self, enc};

/// `/`: the plans, by municipality, with status, period and last change; at a point, as they stood then.
pub fn index(ledger: &Ledger, q: &Query, today: NaiveDate) -> Result<Markup, Problem> {
    let (read, now) = Read::capture(ledger, |s| s.plans.values().cloned().collect::<Vec<Plan>>());
    let at = At::read_global(q, &read)?;
    type Listed = Vec<(Plan, Option<Record>)>;
    let mut by_city: BTreeMap<(String, String), Listed> = BTreeMap::new();
    for current in now {
        let id = current.id.clone();
        let p = match at.point {
            None => Some(current),
            Some(pt) => read.on_state(&id, Some(pt), |s| s.plans.get(&id).cloned())?,
        };
        let Some(p) = p else { continue };
        // The newest included record only: reading the plan's whole history here made the front page as slow as
        // the whole ledger is long.
        let last = read.last_record_for(&Entity::Plan(id), |x| at.point.is_none_or(|p| p.includes(x)))?;
        by_city.entry((p.municipality.code.to_string(), p.municipality.name.clone())).or_default().push((p, last));
    }
    let qs = at.query();
    let body = html! {
        p { "市区町村の総合計画（基本構想・基本計画・実施計画）の記録です。すべての変更は台帳に記録され、過去のどの版もたどれます。"
            " Every change to these plans is recorded in a tamper-evident ledger; any past version is one click away." }
        (point_forms("/", &[]))
        @for ((code, name), plans) in &by_city {
            section {
                h2 { (name) " " span.muted { "（全国地方公共団体コード " (code) "）" } }
                div.wide { table {
                    caption { (name) "の計画（plans of " (name) "）" }
                    thead { tr {
                        th scope="col" { "計画 plan" }
                        th scope="col" { "種別 kind" }
                        th scope="col" { "状態 status" }
                        th scope="col" { "計画期間 period" }
                        th scope="col" { "最終変更 last change" }
                    } }
                    tbody {
                        @for (p, last) in plans {
                            tr {
                                th scope="row" { a href={ "/plans/" (enc(p.id.as_str())) (qs) } { (p.title) } }
                                td { (p.kind) }
                                td { (p.status.label()) @if let Some(n) = status_note(p, at.date(today)) { br; span.muted { (n) } } }
                                td { (p.period.map(|x| x.label()).unwrap_or_else(|| "記載なし（not stated）".into())) }
                                td {
                                    @if let Some(r) = last {
                                        a href={ "/events/" (r.seq.0) } { (jst_date(r.recorded_at)) }
                                        " " (event_label(r.event.type_name()))
                                    }
                                }
                            }
                        }
                    }
                } }
            }
        }
    };
    let b = global_banner(&at, today, "/");
    Ok(layout::page("計画一覧（Plans）", Some(&b), &head(&read), body))
}

/// `/plans/{plan}`: the tree with codes, titles, departments, 再掲, and each indicator's targets and actuals.
pub fn plan(ledger: &Ledger, plan: &str, q: &Query, today: NaiveDate) -> Result<Markup, Problem> {
    let (read, PlanRead { id, current }) = Read::plan(ledger, plan)?;
    let at = At::read(q, &read, &current)?;
    let view =
        with_state(&read, &id, &at, "plan", |s| Some((projection::view_plan(s, &id)?, s.plans.get(&id)?.clone())))?;
    let (view, shown) = view;
    let href = format!("/plans/{}", enc(id.as_str()));
    let b = banner(&at, &current, &shown, today, &href);
    let qs = at.query();
    let mut labels = BTreeMap::new();
    collect_labels(&view.nodes, &mut labels);
    let mut versions: Vec<(&String, &u64)> = current.versions.iter().collect();
    versions.sort_by_key(|(n, s)| (**s, (*n).clone()));
    let body = html! {
        (plan_facts(&shown))
        section {
            h2 { "版と比較 Versions and comparison" }
            @if versions.is_empty() { p { "名前の付いた版はありません（no named versions）。" } }
            ul {
                @for (name, seq) in &versions {
                    li {
                        a href={ (href) "?version=" (enc(name)) } { (name) } " （seq " (seq) "） "
                        a href={ (href) "/compare?from=" (enc(&format!("version:{name}"))) "&to=now" } { "この版と現在を比較（compare with now）" }
                    }
                }
                li { a href={ (href) "/compare" } { "任意の2時点を比較（compare any two points）" } }
            }
            (point_forms(&href, &versions.iter().map(|(n, _)| *n).collect::<Vec<_>>()))
        }
        section {
            h2 { "ダウンロードとフィード Downloads and feeds" }
            ul {
                li { a href={ (href) "/download.csv" (qs) } { "CSV（機械可読・縦持ち long format）" } }
                li { a href={ (href) "/download.json" (qs) } { "JSON" } }
                li { a href={ "/feeds/plans/" (enc(id.as_str())) } { "Atom フィード（この計画の変更 changes of this plan）" } }
                li { a href={ "/changes?plan=" (enc(id.as_str())) } { "この計画の変更履歴（changes of this plan）" } }
            }
            p { "CSV は UTF-8（BOM 付き。Excel で文字化けしないため）で、表示中の時点の内容です。先頭列は全国地方公共団体コード、年度は西暦、単位は別の列、値のない欄は空欄（0 とは区別）。"
                " The CSV is UTF-8 with a byte order mark (so that Excel reads it correctly), for the point shown; blank means no value, distinct from 0." }
        }
        section {
            h2 { "計画の体系 Plan structure" }
            @if view.nodes.is_empty() { p { "項目はありません（no items）。" } }
            div.tree-wrap { (tree(&view.nodes, &qs, &labels)) }
        }
    };
    let feed = head_with_feed(&read, format!("/feeds/plans/{}", enc(id.as_str())), "この計画の変更（Atom）");
    Ok(layout::page(&shown.title, Some(&b), &feed, body))
}

/// The query that shows a resolved point on a plan page.
fn point_query(p: &Option<RestorePoint>) -> String {
    match p {
        None => String::new(),
        Some(RestorePoint::Seq { seq }) => format!("?at={seq}"),
        Some(RestorePoint::Version { name, .. }) => format!("?version={}", enc(name)),
        Some(RestorePoint::AsOf { as_of }) => format!("?as_of={}", enc(&as_of.to_rfc3339())),
        Some(RestorePoint::Effective { effective }) => format!("?effective={effective}"),
    }
}

fn point_words(p: &Option<RestorePoint>) -> String {
    match p {
        None => "現在 now".into(),
        Some(RestorePoint::Version { name, seq }) => format!("版「{name}」（seq {seq}）"),
        Some(other) => describe_point(other.point()),
    }
}

fn diff_href(kind: DiffKind, subject: &str) -> Option<String> {
    use DiffKind as K;
    match kind {
        K::PlanChanged | K::StatusChanged | K::VersionNamed => None,
        K::NodeAdded
        | K::NodeRemoved
        | K::NodeRenamed
        | K::NodeMoved
        | K::TextChanged
        | K::DetailsChanged
        | K::DepartmentsChanged
        | K::CrossListingsChanged
        | K::CrossReferenceChanged
        | K::MilestoneChanged => Some(format!("/nodes/{}", enc(subject))),
        K::IndicatorAdded
        | K::IndicatorRemoved
        | K::IndicatorRevised
        | K::BaselineChanged
        | K::TargetChanged
        | K::ProgressChanged => Some(format!("/indicators/{}", enc(subject))),
    }
}

/// `/plans/{plan}/compare?from=&to=`: two points side by side, the differences marked, each with its events.
pub fn compare(ledger: &Ledger, plan: &str, q: &Query, _today: NaiveDate) -> Result<Markup, Problem> {
    let (read, plan) = Read::plan(ledger, plan)?;
    let (id, current) = (plan.id.clone(), plan.current.clone());
    let href = format!("/plans/{}", enc(id.as_str()));
    let given = (q.get("from"), q.get("to"));
    let form = |from: &str, to: &str| {
        html! {
            form method="get" action={ (href) "/compare" } {
                p {
                    label for="c-from" { "比較元 from " }
                    input #c-from name="from" type="text" size="40" value=(from) list="c-versions";
                    " "
                    label for="c-to" { "比較先 to " }
                    input #c-to name="to" type="text" size="40" value=(to) list="c-versions";
                    " " button type="submit" { "比較 compare" }
                }
                datalist #c-versions {
                    option value="now";
                    @for name in current.versions.keys() { option value={ "version:" (name) }; }
                }
                p.muted { "時点の書き方: now、年度（2017、2017年度、平成29年度、H29、令和3、FY2017：その年度の4月1日に効力のある内容）、日付 YYYY-MM-DD（その日に効力のある内容）、変更番号（seq、例 120。1868〜2200 の4桁は年度と読むので seq:2018 のように書く）、RFC 3339 の日時（その時点の記録）、版の名前（version:名前）。"
                    " Points: now, a fiscal year (in force on its 1 April), a date (in force), a seq (write seq:N when it looks like a year), an RFC 3339 instant (as recorded), or version:NAME." }
            }
        }
    };
    let title = format!("{}：2時点の比較（compare）", current.title);
    let (from_s, to_s) = match given {
        (None, None) => {
            let first = current.versions.iter().min_by_key(|(_, s)| **s).map(|(n, _)| format!("version:{n}"));
            let body =
                html! { p { a href=(href) { (current.title) } } (form(&first.unwrap_or_else(|| "0".into()), "now")) };
            return Ok(layout::page(&title, None, &head(&read), body));
        }
        (Some(_), None) => return Err(Problem::bad("to", "比較先 to を指定してください（required）")),
        (None, Some(_)) => return Err(Problem::bad("from", "比較元 from を指定してください（required）")),
        (Some(f), Some(t)) => (f.clone(), t.clone()),
    };
    let from = read.resolve_point("from", &from_s, &current)?;
    let to = read.resolve_point("to", &to_s, &current)?;
    let d = read.diff(&plan, from.as_ref().map(|p| p.point()), to.as_ref().map(|p| p.point()))?;
    let body = html! {
        p { a href=(href) { (current.title) } }
        (form(&from_s, &to_s))
        div.wide { table {
            caption { "比較する2時点 the two points" }
            thead { tr { th scope="col" { "" } th scope="col" { "比較元 from" } th scope="col" { "比較先 to" } } }
            tbody {
                tr {
                    th scope="row" { "時点 point" }
                    td { a href={ (href) (point_query(&from)) } { (point_words(&from)) } }
                    td { a href={ (href) (point_query(&to)) } { (point_words(&to)) } }
                }
            }
        } }
        @for note in [projection::reading(&from_s), projection::reading(&to_s)].into_iter().flatten() {
            p.note { (note) }
        }
        @if d.changes.is_empty() {
            p { "2つの時点の間に違いはありません（no differences）。" }
        } @else {
            div.wide { table {
                caption { "違い differences（" (d.changes.len()) " 件）。削除は取り消し線、追加は下線で示します（removed struck through, added underlined）。" }
                thead { tr {
                    th scope="col" { "区分 kind" }
                    th scope="col" { "対象 subject" }
                    th scope="col" { "項目 what" }
                    th scope="col" { "比較元 from" }
                    th scope="col" { "比較先 to" }
                    th scope="col" { "原因の変更 events" }
                } }
                tbody {
                    @for c in &d.changes {
                        tr {
                            td.mark { @match (&c.old, &c.new) {
                                (None, _) => "追加 added",
                                (_, None) => "削除 removed",
                                _ => "変更 changed",
                            } }
                            th scope="row" {
                                @if let Some(h) = diff_href(c.kind, &c.subject) { a href=(h) { (c.label) } } @else { (c.label) }
                            }
                            td { (c.what) }
                            td { @if let Some(o) = &c.old { del { (o) } } @else { "（なし none）" } }
                            td { @if let Some(x) = &c.new { ins { (x) } } @else { "（なし none）" } }
                            td { @for e in &c.events { a href={ "/events/" (e.seq) } { "seq " (e.seq) } " " } }
                        }
                    }
                }
            } }
        }
    };
    Ok(layout::page(&title, None, &head(&read), body))
}
