//! The portal's pages: each a function from the ledger's reads (the published state, the entity index, the
//! time-travel cache) and "today" to HTML. None replays the log: current views read the published state, past
//! views `Ledger::plan_at`, histories the entity's own records.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use maud::{Markup, html};

use super::layout::{self, Banner, Head};
use super::{chart, enc};
use crate::domain::event::Subject;
use crate::domain::model::RestorePoint;
use crate::domain::state::Plan;
use crate::domain::value::{Comparator, Target};
use crate::domain::{FiscalYear, IndicatorId, NodeId, PlanEvent, PlanId, State};
use crate::events::Record;
use crate::http::Problem;
use crate::http::reads::point_param;
use crate::ledger::Ledger;
use crate::projection::diff::DiffKind;
use crate::projection::view::{Phase, phase, target_with_unit, value_with_unit};
use crate::projection::{self, HistoryEntry, IndicatorView, NodeView, Point, SeriesRow};

type Query = BTreeMap<String, String>;

/// Most changes a list or feed shows.
pub const CHANGES_LIMIT: usize = 100;

/// A point parameter as given, kept so that links carry it along.
#[derive(Debug, Clone, Default)]
pub struct At {
    pub point: Option<Point>,
    pub given: Option<(String, String)>,
}

impl At {
    /// Reads `at`, `as_of`, `effective` or `version` (at most one) against `plan`.
    pub fn read(q: &Query, plan: &Plan) -> Result<Self, Problem> {
        let point = point_param(q, plan)?;
        let given = ["at", "as_of", "effective", "version"]
            .into_iter()
            .find_map(|k| q.get(k).map(|v| (k.to_string(), v.clone())));
        Ok(Self { point, given })
    }

    /// A point on a page about no one plan (the list of plans, the changes): `at`, `as_of` or `effective`; a
    /// version name belongs to one plan, so it is refused here.
    pub fn read_global(q: &Query) -> Result<Self, Problem> {
        let given: Vec<&str> =
            ["at", "as_of", "effective", "version"].into_iter().filter(|k| q.contains_key(*k)).collect();
        if given.len() > 1 {
            return Err(Problem::bad(
                &given.join(","),
                "時点は1つだけ指定してください（give at most one of at, as_of, effective and version）",
            ));
        }
        let Some(k) = given.first().copied() else { return Ok(Self::default()) };
        let v = &q[k];
        let point = match k {
            "at" => Point::Seq(
                v.parse()
                    .map_err(|_| Problem::bad("at", format!("{v:?} は変更番号ではありません（not a whole number）")))?,
            ),
            "as_of" => Point::AsOf(projection::parse_instant("as_of", v)?),
            "effective" => Point::Effective(projection::parse_effective("effective", v)?),
            _ => {
                return Err(Problem::bad(
                    "version",
                    "版の名前は計画ごとに付いています。計画のページで指定してください（version names belong to one plan; use the plan's page）",
                ));
            }
        };
        Ok(Self { point: Some(point), given: Some((k.to_string(), v.clone())) })
    }

    /// `?at=5`, or nothing for now.
    pub fn query(&self) -> String {
        self.given.as_ref().map(|(k, v)| format!("?{k}={}", enc(v))).unwrap_or_default()
    }

    pub fn describe(&self) -> String {
        match (&self.given, self.point) {
            (Some((k, v)), Some(Point::Seq(s))) if k == "version" => {
                format!("版「{v}」（seq {s} の直後 after seq {s}）")
            }
            (_, Some(p)) => describe_point(p),
            (_, None) => "現在（now）".into(),
        }
    }

    /// The date the plan's phase is judged on at this point.
    fn date(&self, today: NaiveDate) -> NaiveDate {
        match self.point {
            Some(Point::Effective(d)) => d,
            Some(Point::AsOf(t)) => t.date_naive(),
            _ => today,
        }
    }
}

fn describe_point(p: Point) -> String {
    match p {
        Point::Seq(s) => format!("seq {s} の直後の記録（as recorded right after event seq {s}）"),
        Point::AsOf(t) => format!("{} 時点で記録されていた内容（as recorded at that instant）", t.to_rfc3339()),
        Point::Effective(d) => format!("{d} に効力を持つ内容（as in force on that date）"),
    }
}

fn head(ledger: &Ledger) -> Head {
    let h = ledger.head();
    Head { events: h.len, hash: h.hash.to_string() }
}

fn status_note(plan: &Plan, on: NaiveDate) -> Option<String> {
    let period = plan.period.map(|p| p.label()).unwrap_or_else(|| "記載なし".into());
    match phase(plan, on) {
        Phase::InForce => None,
        Phase::Draft => Some("この計画は案（draft）です。策定（議決・決定）されたものではありません。".into()),
        Phase::Superseded => {
            Some("この計画は改定により失効しています（superseded）。現行の計画ではありません。".into())
        }
        Phase::Prospective => {
            Some(format!("策定済ですが、計画期間 {period} はまだ始まっていません（prospective: not yet in force）。"))
        }
        Phase::Ended => Some(format!("計画期間 {period} は終了しています（period ended）。")),
        Phase::PeriodUnstated => Some("策定済。計画期間は記載されていません（adopted, no period stated）。".into()),
    }
}

/// The banner for a page about `shown` (the plan at the point) whose current form is `current`.
pub fn banner(at: &At, current: &Plan, shown: &Plan, today: NaiveDate, current_href: &str) -> Banner {
    let Some(point) = at.point else { return Banner::Current { note: status_note(current, today) } };
    let mut what = format!("表示時点 showing: {}", at.describe());
    if shown.version == current.version {
        what.push_str("。この時点以降、この計画に変更は記録されていません（no change recorded since）。");
    } else {
        what.push_str(&format!(
            "。この時点の後に {} 件の変更が記録されています（{} later changes）。",
            current.version.saturating_sub(shown.version),
            current.version.saturating_sub(shown.version)
        ));
    }
    let note = status_note(shown, at.date(today));
    let current = current_href.to_string();
    match point {
        Point::Effective(d) if d > today => Banner::Prospective { what, current, note },
        _ => Banner::Past { what, current, note },
    }
}

/// The banner of a page about every plan: current, past or prospective, without a plan's phase.
fn global_banner(at: &At, today: NaiveDate, current_href: &str) -> Banner {
    let Some(point) = at.point else { return Banner::Current { note: None } };
    let what = format!("表示時点 showing: {}", at.describe());
    let current = current_href.to_string();
    let note = Some("各計画の状態は、この時点のものです（each plan as it stood at that point）。".to_string());
    match point {
        Point::Effective(d) if d > today => Banner::Prospective { what, current, note },
        _ => Banner::Past { what, current, note },
    }
}

fn current_plan(ledger: &Ledger, plan: &str) -> Result<(PlanId, Plan), Problem> {
    let missing = || Problem::not_found("plan", format!("計画 {plan:?} はありません（no such plan）"));
    let id = PlanId::new(plan).map_err(|_| missing())?;
    let p = ledger.read();
    let pl = p.state.plans.get(&id).cloned().ok_or_else(missing)?;
    Ok((id, pl))
}

/// Calls `f` on the state holding `plan` at `point`: the published state for now, the time-travel cache for a
/// past point. `None` from `f` means the subject did not exist then.
fn with_state<T>(
    ledger: &Ledger,
    plan: &PlanId,
    at: &At,
    field: &str,
    f: impl FnOnce(&State) -> Option<T>,
) -> Result<T, Problem> {
    let found = match at.point {
        None => f(&ledger.read().state),
        Some(p) => f(&ledger.plan_at(plan, Some(p))?.state),
    };
    found.ok_or_else(|| {
        let field = at.given.as_ref().map_or(field, |(k, _)| k.as_str());
        Problem::not_found(field, format!("{} にはまだ存在しません（did not exist at that point）", at.describe()))
    })
}

fn comparator_label(c: Comparator) -> &'static str {
    match c {
        Comparator::Eq => "目標値（plain figure）",
        Comparator::AtLeast => "以上（at least）",
        Comparator::AtMost => "以下（at most）",
        Comparator::MoreThan => "超（more than）",
        Comparator::LessThan => "未満（less than）",
    }
}

fn target_cell(t: Option<&Target>, unit: &str) -> String {
    match t {
        None => "（記載なし not stated）".into(),
        Some(Target::None) => "—（目標なし no target）".into(),
        Some(t) => target_with_unit(t, unit),
    }
}

fn comparator_cell(t: Option<&Target>) -> &'static str {
    match t {
        Some(Target::Value { comparator, .. }) => comparator_label(*comparator),
        _ => "",
    }
}

fn latest_actual(series: &[SeriesRow], unit: &str) -> String {
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

fn old_new(old: &Option<String>, new: &Option<String>) -> Markup {
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
fn change_item(e: &HistoryEntry) -> Markup {
    let s = &e.source;
    html! {
        li {
            p {
                strong { (event_label(s.event)) } " "
                span.muted { "(" (s.event) ")" } " — "
                "記録 recorded " time datetime=(s.recorded_at.to_rfc3339()) { (s.recorded_at.format("%Y-%m-%d %H:%M UTC")) }
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

fn timeline(entries: &[HistoryEntry]) -> Markup {
    html! {
        @if entries.is_empty() {
            p { "この時点までに記録された変更はありません（no changes recorded）。" }
        } @else {
            ol.timeline { @for e in entries { (change_item(e)) } }
        }
    }
}

/// `/`: the plans, by municipality, with status, period and last change; at a point, as they stood then.
pub fn index(ledger: &Ledger, q: &Query, today: NaiveDate) -> Result<Markup, Problem> {
    let at = At::read_global(q)?;
    let ids: Vec<PlanId> = ledger.read().state.plans.keys().cloned().collect();
    type Listed = Vec<(Plan, Option<Record>)>;
    let mut by_city: BTreeMap<(String, String), Listed> = BTreeMap::new();
    for id in ids {
        let p = match at.point {
            None => ledger.read().state.plans.get(&id).cloned(),
            Some(pt) => ledger.plan_at(&id, Some(pt))?.state.plans.get(&id).cloned(),
        };
        let Some(p) = p else { continue };
        let last = records_at(ledger, &format!("plan:{id}"), &at)?.pop();
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
                                        a href={ "/events/" (r.seq.0) } { (r.recorded_at.format("%Y-%m-%d")) }
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
    Ok(layout::page("計画一覧（Plans）", Some(&b), &head(ledger), body))
}

fn point_forms(action: &str, versions: &[&String]) -> Markup {
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

fn plan_facts(p: &Plan) -> Markup {
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

fn indicator_table(i: &IndicatorView, q: &str) -> Markup {
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
fn departments(ds: &[String]) -> Markup {
    html! {
        @for (k, d) in ds.iter().enumerate() {
            @if k > 0 { "、" }
            a href={ "/changes?department=" (enc(d)) } { (d) }
        }
    }
}

fn collect_labels(nodes: &[NodeView], out: &mut BTreeMap<NodeId, String>) {
    for n in nodes {
        out.insert(n.id.clone(), format!("{} {}", n.code, n.title).trim().to_string());
        collect_labels(&n.children, out);
    }
}

fn tree(nodes: &[NodeView], q: &str, labels: &BTreeMap<NodeId, String>) -> Markup {
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

/// `/plans/{plan}`: the tree with codes, titles, departments, 再掲, and each indicator's targets and actuals.
pub fn plan(ledger: &Ledger, plan: &str, q: &Query, today: NaiveDate) -> Result<Markup, Problem> {
    let (id, current) = current_plan(ledger, plan)?;
    let at = At::read(q, &current)?;
    let view =
        with_state(ledger, &id, &at, "plan", |s| Some((projection::view_plan(s, &id)?, s.plans.get(&id)?.clone())))?;
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
    Ok(layout::page(&shown.title, Some(&b), &head(ledger), body))
}

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
                recorded: r.recorded_at.date_naive(),
            }),
            PlanEvent::TargetWithdrawn { fiscal_year, previous, .. } => Some(Revision {
                seq: r.seq.0,
                fiscal_year: *fiscal_year,
                previous: *previous,
                target: None,
                recorded: r.recorded_at.date_naive(),
            }),
            _ => None,
        })
        .collect()
}

/// The records of `key` that `at` includes.
fn records_at(ledger: &Ledger, key: &str, at: &At) -> Result<Vec<Record>, Problem> {
    let mut r = ledger.records_for(key)?;
    if let Some(p) = at.point {
        r.retain(|x| p.includes(x));
    }
    Ok(r)
}

/// `/indicators/{id}`: the revision timeline and the chart of target against actual.
pub fn indicator(ledger: &Ledger, id: &str, q: &Query, today: NaiveDate) -> Result<Markup, Problem> {
    let missing = || Problem::not_found("id", format!("指標 {id:?} はありません（no such indicator）"));
    let iid = IndicatorId::new(id).map_err(|_| missing())?;
    let plan_id = ledger.read().state.indicators.get(&iid).map(|i| i.plan.clone()).ok_or_else(missing)?;
    let (pid, current) = current_plan(ledger, plan_id.as_str())?;
    let at = At::read(q, &current)?;
    let (view, shown, node) = with_state(ledger, &pid, &at, "id", |s| {
        let ind = s.indicators.get(&iid)?;
        let node = s.nodes.get(&ind.node).map(|n| format!("{} {}", n.code, n.title).trim().to_string());
        Some((projection::view::indicator_view(s, ind), s.plans.get(&pid)?.clone(), node))
    })?;
    let records = records_at(ledger, &format!("indicator:{iid}"), &at)?;
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
    Ok(layout::page(&format!("指標：{}", view.name), Some(&b), &head(ledger), body))
}

/// `/nodes/{id}`: the node's texts, milestones, children, indicators and history.
pub fn node(ledger: &Ledger, id: &str, q: &Query, today: NaiveDate) -> Result<Markup, Problem> {
    let missing = || Problem::not_found("id", format!("項目 {id:?} はありません（no such item）"));
    let nid = NodeId::new(id).map_err(|_| missing())?;
    let plan_id = ledger.read().state.nodes.get(&nid).map(|n| n.plan.clone()).ok_or_else(missing)?;
    let (pid, current) = current_plan(ledger, plan_id.as_str())?;
    let at = At::read(q, &current)?;
    type Link = (NodeId, String);
    let (n, shown, level, parent, children, indicators, under) = with_state(ledger, &pid, &at, "id", |s| {
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
    let history = projection::history(&records_at(ledger, &format!("node:{nid}"), &at)?);
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
    Ok(layout::page(&title, Some(&b), &head(ledger), body))
}

/// What an event is about, for filters and links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum About {
    Plan,
    Node(NodeId),
    Indicator(IndicatorId),
}

/// One change of a list or feed: its plan, its subject, and the event with what it changed.
#[derive(Debug, Clone)]
pub struct ChangeRow {
    pub plan: PlanId,
    pub about: About,
    pub entry: HistoryEntry,
}

/// Which changes to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub plan: Option<PlanId>,
    pub department: Option<String>,
    pub indicator: Option<IndicatorId>,
    /// Only the changes this point includes.
    pub point: Option<Point>,
}

fn rows_of(ledger: &Ledger, key: &str) -> Result<Vec<ChangeRow>, Problem> {
    let records = ledger.records_for(key)?;
    let entries = projection::history(&records);
    Ok(records
        .iter()
        .zip(entries)
        .map(|(r, entry)| ChangeRow {
            plan: r.event.plan().clone(),
            about: match r.event.subject() {
                Subject::Plan => About::Plan,
                Subject::Node(n) => About::Node(n.clone()),
                Subject::Indicator(i) => About::Indicator(i.clone()),
            },
            entry,
        })
        .collect())
}

/// The departments a change answers to: those of the item it is about (an indicator's item for an indicator), or,
/// where the item names none, its nearest ancestor's — the rule that decides who may write it.
fn departments_of(state: &State, about: &About) -> Vec<String> {
    let node = match about {
        About::Plan => None,
        About::Node(n) => Some(n.clone()),
        About::Indicator(i) => state.indicators.get(i).map(|i| i.node.clone()),
    };
    node.map(|n| crate::domain::authz::departments_of(state, &n)).unwrap_or_default()
}

/// The most recent changes (newest first, at most `limit`) that match `f`. Each entity's changes are described by
/// folding that entity's own records (as its history does); the department is that of the item (実施課) the change
/// is about, as it stands now.
pub fn recent_changes(ledger: &Ledger, f: &Filter, limit: usize) -> Result<Vec<ChangeRow>, Problem> {
    let mut rows = if let Some(i) = &f.indicator {
        rows_of(ledger, &format!("indicator:{i}"))?
    } else if let Some(d) = &f.department {
        let keys: Vec<String> = {
            let p = ledger.read();
            let nodes: BTreeSet<&NodeId> = p
                .state
                .nodes
                .keys()
                .filter(|n| crate::domain::authz::departments_of(&p.state, n).iter().any(|x| x == d))
                .collect();
            let mut keys: Vec<String> = nodes.iter().map(|n| format!("node:{n}")).collect();
            keys.extend(
                p.state.indicators.values().filter(|i| nodes.contains(&i.node)).map(|i| format!("indicator:{}", i.id)),
            );
            keys
        };
        let mut all = Vec::new();
        for k in keys {
            all.extend(rows_of(ledger, &k)?);
        }
        let mut seen = BTreeSet::new();
        all.retain(|r| seen.insert(r.entry.source.seq));
        all
    } else if let Some(p) = &f.plan {
        rows_of(ledger, &format!("plan:{p}"))?
    } else {
        // The window: the last `limit` events the point includes. On the effective axis those are not a prefix of
        // the log, so every plan's changes are read.
        let len = ledger.head().len;
        let (from, len) = match f.point {
            None => (len.saturating_sub(limit as u64), len),
            Some(Point::Seq(s)) => {
                let end = s.saturating_add(1).min(len);
                (end.saturating_sub(limit as u64), end)
            }
            Some(Point::AsOf(t)) => {
                let end = ledger.recorded_by(t)?;
                (end.saturating_sub(limit as u64), end)
            }
            Some(Point::Effective(_)) => (0, len),
        };
        let plans: BTreeSet<PlanId> = ledger.records(from, len)?.iter().map(|r| r.event.plan().clone()).collect();
        let mut all = Vec::new();
        for p in plans {
            all.extend(rows_of(ledger, &format!("plan:{p}"))?.into_iter().filter(|r| r.entry.source.seq >= from));
        }
        all
    };
    if let Some(p) = &f.plan {
        rows.retain(|r| &r.plan == p);
    }
    if let Some(p) = f.point {
        rows.retain(|r| p.includes_event(r.entry.source.seq, r.entry.source.recorded_at, r.entry.source.effective));
    }
    if let Some(d) = &f.department {
        let state = &ledger.read().state;
        rows.retain(|r| departments_of(state, &r.about).iter().any(|x| x == d));
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.entry.source.seq));
    rows.truncate(limit);
    Ok(rows)
}

fn about_link(r: &ChangeRow, labels: &BTreeMap<String, String>) -> Markup {
    let (href, key) = match &r.about {
        About::Plan => (format!("/plans/{}", enc(r.plan.as_str())), r.plan.to_string()),
        About::Node(n) => (format!("/nodes/{}", enc(n.as_str())), n.to_string()),
        About::Indicator(i) => (format!("/indicators/{}", enc(i.as_str())), i.to_string()),
    };
    html! { a href=(href) { (labels.get(&key).cloned().unwrap_or(key)) } }
}

/// `/changes`: recent changes across plans, filterable by plan, department and indicator.
pub fn changes(ledger: &Ledger, q: &Query, today: NaiveDate) -> Result<Markup, Problem> {
    let at = At::read_global(q)?;
    let nonempty = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let (plans, departments, labels) = {
        let p = ledger.read();
        let plans: Vec<(PlanId, String)> = p.state.plans.values().map(|x| (x.id.clone(), x.title.clone())).collect();
        let departments: BTreeSet<String> =
            p.state.nodes.values().flat_map(|n| n.departments.iter().cloned()).collect();
        let mut labels: BTreeMap<String, String> = plans.iter().map(|(i, t)| (i.to_string(), t.clone())).collect();
        labels.extend(
            p.state.nodes.values().map(|n| (n.id.to_string(), format!("{} {}", n.code, n.title).trim().to_string())),
        );
        labels.extend(p.state.indicators.values().map(|i| (i.id.to_string(), i.name.clone())));
        (plans, departments, labels)
    };
    let mut f = Filter { point: at.point, ..Filter::default() };
    if let Some(p) = nonempty("plan") {
        let id = PlanId::new(p).ok().filter(|id| plans.iter().any(|(x, _)| x == id));
        f.plan =
            Some(id.ok_or_else(|| Problem::not_found("plan", format!("計画 {p:?} はありません（no such plan）")))?);
    }
    if let Some(d) = nonempty("department") {
        if !departments.contains(d) {
            return Err(Problem::not_found(
                "department",
                format!("部署 {d:?} の項目はありません（no item of that department）"),
            ));
        }
        f.department = Some(d.to_string());
    }
    if let Some(i) = nonempty("indicator") {
        let id = IndicatorId::new(i).ok().filter(|id| ledger.read().state.indicators.contains_key(id));
        f.indicator =
            Some(id.ok_or_else(|| {
                Problem::not_found("indicator", format!("指標 {i:?} はありません（no such indicator）"))
            })?);
    }
    let rows = recent_changes(ledger, &f, CHANGES_LIMIT)?;
    let body = html! {
        form method="get" action="/changes" {
            p {
                label for="f-plan" { "計画 plan " }
                select #f-plan name="plan" {
                    option value="" { "すべて all" }
                    @for (id, t) in &plans { option value=(id) selected[f.plan.as_ref() == Some(id)] { (t) } }
                }
                " "
                label for="f-dept" { "部署（実施課） department " }
                select #f-dept name="department" {
                    option value="" { "すべて all" }
                    @for d in &departments { option value=(d) selected[f.department.as_deref() == Some(d.as_str())] { (d) } }
                }
                " "
                label for="f-ind" { "指標ID indicator id " }
                input #f-ind name="indicator" type="text" value=(f.indicator.as_ref().map(|i| i.to_string()).unwrap_or_default());
                @if let Some((k, v)) = &at.given { input type="hidden" name=(k) value=(v); }
                " "
                button type="submit" { "絞り込む filter" }
            }
        }
        @if let Some(d) = &f.department {
            p { a href={ "/feeds/departments/" (enc(d)) } { "Atom フィード（" (d) " の変更 changes of this department）" } }
        }
        div.wide { table {
            caption { "最近の変更（recent changes, newest first, at most " (CHANGES_LIMIT) "）" }
            thead { tr {
                th scope="col" { "変更 seq" }
                th scope="col" { "記録日時 recorded" }
                th scope="col" { "計画 plan" }
                th scope="col" { "対象 subject" }
                th scope="col" { "内容 change" }
                th scope="col" { "記録者・根拠・理由 who, authority, why" }
            } }
            tbody {
                @for r in &rows {
                    @let s = &r.entry.source;
                    tr {
                        th scope="row" { a href={ "/events/" (s.seq) } { (s.seq) } }
                        td { (s.recorded_at.format("%Y-%m-%d %H:%M")) }
                        td { a href={ "/plans/" (enc(r.plan.as_str())) } { (labels.get(r.plan.as_str()).map(String::as_str).unwrap_or(r.plan.as_str())) } }
                        td { (about_link(r, &labels)) }
                        td {
                            (event_label(s.event))
                            @for c in &r.entry.changes { br; (c.what) "：" (old_new(&c.old, &c.new)) }
                        }
                        td { (s.actor.name) "（" (s.actor.department) "）" br; (s.authority.as_deref().unwrap_or("—")) br; (s.reason.as_deref().unwrap_or("—")) }
                    }
                }
            }
        } }
        @if rows.is_empty() { p { "該当する変更はありません（no matching changes）。" } }
    };
    let b = global_banner(&at, today, "/changes");
    Ok(layout::page("変更履歴（Changes）", Some(&b), &head(ledger), body))
}

/// `/events/{seq}`: one event, its hash, its predecessor's hash and the proof that the ledger holds it.
pub fn event(ledger: &Ledger, seq: &str, _today: NaiveDate) -> Result<Markup, Problem> {
    let n: u64 =
        seq.parse().map_err(|_| Problem::bad("seq", format!("{seq:?} は変更番号ではありません（not a seq）")))?;
    let r = ledger
        .records(n, n.saturating_add(1))?
        .pop()
        .ok_or_else(|| Problem::not_found("seq", format!("変更 seq {n} はありません（no such event）")))?;
    let key = match r.event.subject() {
        Subject::Plan => format!("plan:{}", r.event.plan()),
        Subject::Node(x) => format!("node:{x}"),
        Subject::Indicator(x) => format!("indicator:{x}"),
    };
    let entry = projection::history(&ledger.records_for(&key)?).into_iter().find(|e| e.source.seq == n);
    let plan = r.event.plan();
    let (subject, subject_href) = match r.event.subject() {
        Subject::Plan => (plan.to_string(), format!("/plans/{}", enc(plan.as_str()))),
        Subject::Node(x) => (x.to_string(), format!("/nodes/{}?at={n}", enc(x.as_str()))),
        Subject::Indicator(x) => (x.to_string(), format!("/indicators/{}?at={n}", enc(x.as_str()))),
    };
    let line = String::from_utf8_lossy(&r.encode()).into_owned();
    let body = html! {
        dl.facts {
            dt { "種類 kind" } dd { (event_label(r.event.type_name())) "（" (r.event.type_name()) "）" }
            dt { "計画 plan" } dd { a href={ "/plans/" (enc(plan.as_str())) "?at=" (n) } { (plan) } }
            dt { "対象 subject" } dd { a href=(subject_href) { (subject) } }
            dt { "記録日時 recorded at" } dd { time datetime=(r.recorded_at.to_rfc3339()) { (r.recorded_at.to_rfc3339()) } }
            dt { "効力発生日 effective" } dd { (r.effective) }
            dt { "記録者 actor" } dd { (r.actor.name) "（" code { (r.actor.id) } "）" }
            dt { "部署 department" } dd { (r.actor.department) }
            dt { "根拠 authority" } dd { (r.authority.as_deref().unwrap_or("（記載なし）")) }
            dt { "理由 reason" } dd { (r.reason.as_deref().unwrap_or("（記載なし）")) }
            dt { "ハッシュ hash (BLAKE3)" } dd { code { (r.hash()) } }
            dt { "直前のハッシュ prev" } dd {
                code { (r.prev) }
                @if n > 0 { " " a href={ "/events/" (n - 1) } { "直前の変更 previous event" } }
            }
        }
        section {
            h2 { "変更内容 What changed" }
            @match &entry {
                Some(e) if !e.changes.is_empty() => {
                    div.wide { table {
                        caption { "変更 seq " (n) " の内容（old → new）" }
                        thead { tr { th scope="col" { "項目 what" } th scope="col" { "変更前 old" } th scope="col" { "変更後 new" } } }
                        tbody { @for c in &e.changes { tr {
                            th scope="row" { (c.what) }
                            td { @if let Some(o) = &c.old { del { (o) } } @else { "（なし none）" } }
                            td { @if let Some(x) = &c.new { ins { (x) } } @else { "（なし none）" } }
                        } } }
                    } }
                }
                _ => { p { "値の変更はありません（no value changed）。" } }
            }
            p {
                a href={ "/plans/" (enc(plan.as_str())) "/compare?from=" (n.saturating_sub(1)) "&to=" (n) } { "この変更の前後を比較（compare before and after）" }
                " · "
                a href={ "/plans/" (enc(plan.as_str())) "?at=" (n) } { "この変更の直後の計画（the plan right after it）" }
            }
        }
        section {
            h2 { "検証 Verification" }
            p { "この変更が台帳に含まれていることの証明（RFC 6962 inclusion proof）: "
                a href={ "/api/proof/inclusion?seq=" (n) } { "/api/proof/inclusion?seq=" (n) } }
            p { a href="/verify" { "検証の方法 how to verify" } }
            details {
                summary { "記録そのもの（the stored line, whose BLAKE3 hash is above）" }
                pre { (line) }
            }
        }
    };
    Ok(layout::page(&format!("変更 seq {n}：{}", event_label(r.event.type_name())), None, &head(ledger), body))
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
    let (id, current) = current_plan(ledger, plan)?;
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
                p.muted { "時点の書き方: now、変更番号（seq、例 120）、日付 YYYY-MM-DD（その日に効力のある内容）、RFC 3339 の日時（その時点の記録）、版の名前（version:名前）。"
                    " Points: now, a seq, a date (in force), an RFC 3339 instant (as recorded), or version:NAME." }
            }
        }
    };
    let title = format!("{}：2時点の比較（compare）", current.title);
    let (from_s, to_s) = match given {
        (None, None) => {
            let first = current.versions.iter().min_by_key(|(_, s)| **s).map(|(n, _)| format!("version:{n}"));
            let body =
                html! { p { a href=(href) { (current.title) } } (form(&first.unwrap_or_else(|| "0".into()), "now")) };
            return Ok(layout::page(&title, None, &head(ledger), body));
        }
        (Some(_), None) => return Err(Problem::bad("to", "比較先 to を指定してください（required）")),
        (None, Some(_)) => return Err(Problem::bad("from", "比較元 from を指定してください（required）")),
        (Some(f), Some(t)) => (f.clone(), t.clone()),
    };
    let from = projection::resolve_point("from", &from_s, &current)?;
    let to = projection::resolve_point("to", &to_s, &current)?;
    let records = ledger.records_for(&format!("plan:{id}"))?;
    let d = projection::diff(&records, &id, from.as_ref().map(|p| p.point()), to.as_ref().map(|p| p.point()));
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
    Ok(layout::page(&title, None, &head(ledger), body))
}

/// `/verify`: the latest checkpoint, the public key, the ledger file, and how to check them.
pub fn verify(ledger: &Ledger, _today: NaiveDate) -> Markup {
    let note = ledger.checkpoint();
    let key = ledger.log().verifier().encode();
    let body = html! {
        p { "この台帳の変更はすべてハッシュの鎖（BLAKE3）とマークル木（RFC 6962, SHA-256）で結ばれ、最新の状態は台帳の鍵（Ed25519）で署名されたチェックポイントに記されています。"
            "誰でも、台帳ファイルとこの公開鍵だけで、記録が書き換えられていないことを確かめられます。"
            " Every change is chained by hash and committed to a Merkle tree whose latest root is signed; anyone can check the ledger file against the signed checkpoint with the public key below." }
        section {
            h2 { "最新のチェックポイント Latest checkpoint" }
            p { "C2SP tlog-checkpoint の署名付きノート（" a href="/api/checkpoint" { "/api/checkpoint" } "）:" }
            pre { (note) }
        }
        section {
            h2 { "公開鍵 Public key" }
            pre { (key) }
        }
        section {
            h2 { "台帳ファイル Ledger file" }
            p { a href="/api/export" download="planledger.jsonl" { "台帳ファイル全体（JSON Lines）をダウンロード（download the whole ledger）" } }
        }
        section {
            h2 { "確かめ方 How to verify" }
            ol {
                li { "台帳ファイル、チェックポイント、公開鍵を保存します（save the three above as "
                    code { "planledger.jsonl" } ", " code { "checkpoint.txt" } ", " code { "key.txt" } "）。" }
                li { "次を実行します（run）: " pre { "planledger verify --file planledger.jsonl --checkpoint checkpoint.txt --pubkey key.txt" }
                    "鎖、各記録の形式、木の根がチェックポイントと一致すること、署名がこの鍵によることを確かめます（checks the chain, every record, that the tree root matches the checkpoint, and the signature）。" }
                li { "後日、保存しておいたチェックポイントから台帳が追記だけで育ったこと（書き換えがないこと）を確かめるには（later, to check that the ledger only grew since）: "
                    pre { "planledger verify --since checkpoint.txt" }
                    "または " a href="/api/proof/consistency?from=1&to=2" { "/api/proof/consistency?from=&to=" } " の一貫性証明を使います。" }
                li { "1件の変更については、各変更のページにある包含証明（inclusion proof）で、その変更が署名された木に含まれることを確かめられます。" }
            }
        }
    };
    layout::page("検証（Verify the record）", None, &head(ledger), body)
}
