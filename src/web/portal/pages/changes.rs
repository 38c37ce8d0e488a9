//! The pages about changes: the change list with its filters, one event with its proof, and how to verify.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use maud::{Markup, html};

use super::parts::{event_label, old_new};
use super::{At, CHANGES_LIMIT, Query, global_banner, head};
use crate::core::domain::authz::departments_of;
use crate::core::domain::event::Subject;
use crate::core::domain::time::jst;
use crate::core::domain::{Entity, IndicatorId, NodeId, PlanId, State};
use crate::core::projection::{self, HistoryEntry, Point};
use crate::core::record::Record;
use crate::query::Read;
use crate::store::Ledger;
use crate::web::Problem;
use crate::web::portal::layout::{self, Head, enc};

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
    pub department: Option<Department>,
    pub indicator: Option<IndicatorId>,
    /// Only the changes this point includes.
    pub point: Option<Point>,
}

/// A department (実施課) and the subjects whose changes answer to it: its items and their indicators, by the rule
/// that decides who may write them (an item naming no department answers to its nearest ancestor's).
#[derive(Debug, Clone)]
pub struct Department {
    pub name: String,
    pub subjects: BTreeSet<Entity>,
}

impl Department {
    /// The department as it stands in `state`.
    pub fn of(state: &State, name: &str) -> Self {
        let nodes: BTreeSet<&NodeId> =
            state.nodes.keys().filter(|n| departments_of(state, n).iter().any(|x| x == name)).collect();
        let mut subjects: BTreeSet<Entity> = nodes.iter().map(|n| Entity::Node((*n).clone())).collect();
        subjects.extend(
            state.indicators.values().filter(|i| nodes.contains(&i.node)).map(|i| Entity::Indicator(i.id.clone())),
        );
        Self { name: name.to_string(), subjects }
    }
}

impl About {
    fn entity(&self, plan: &PlanId) -> Entity {
        match self {
            About::Plan => Entity::Plan(plan.clone()),
            About::Node(n) => Entity::Node(n.clone()),
            About::Indicator(i) => Entity::Indicator(i.clone()),
        }
    }
}

fn row(r: &Record, entry: HistoryEntry) -> ChangeRow {
    ChangeRow {
        plan: r.event.plan().clone(),
        about: match r.event.subject() {
            Subject::Plan => About::Plan,
            Subject::Node(n) => About::Node(n.clone()),
            Subject::Indicator(i) => About::Indicator(i.clone()),
        },
        entry,
    }
}

fn rows_of(read: &Read, entity: &Entity) -> Result<Vec<ChangeRow>, Problem> {
    let records = read.records_for(entity)?;
    let entries = projection::history(&records);
    Ok(records.iter().zip(entries).map(|(r, entry)| row(r, entry)).collect())
}

/// The newest changes of `plan` with `from <= seq < to` that `point` includes, at most `limit`.
fn plan_rows(
    read: &Read,
    plan: &PlanId,
    window: (u64, u64),
    point: Option<Point>,
    limit: usize,
) -> Result<Vec<ChangeRow>, Problem> {
    let keep = |r: &Record| point.is_none_or(|p| p.includes(r));
    Ok(read.plan_changes(plan, window, limit, keep)?.into_iter().map(|(r, entry)| row(&r, entry)).collect())
}

/// The most recent changes (newest first, at most `limit`) that match `f`, up to the read's head. A plan's changes
/// are described as its history describes them, read newest first from the end of the window; an indicator's or a
/// department's by folding those subjects' own records (as their histories do).
pub fn recent_changes(read: &Read, f: &Filter, limit: usize) -> Result<Vec<ChangeRow>, Problem> {
    // The end of the window: past it no event is part of the point. On the effective axis any event may be.
    let len = read.head().len;
    let end = match f.point {
        None | Some(Point::Effective(_)) => len,
        Some(Point::Seq(s)) => s.saturating_add(1).min(len),
        Some(Point::AsOf(t)) => read.ledger().recorded_by(t)?.min(len),
    };
    let mut rows = if let Some(i) = &f.indicator {
        rows_of(read, &Entity::Indicator(i.clone()))?
    } else if let Some(d) = &f.department {
        let mut all = Vec::new();
        for e in &d.subjects {
            all.extend(rows_of(read, e)?);
        }
        let mut seen = BTreeSet::new();
        all.retain(|r| seen.insert(r.entry.source.seq));
        all
    } else if let Some(p) = &f.plan {
        plan_rows(read, p, (0, end), f.point, limit)?
    } else {
        // The window: the last `limit` events the point includes. On the effective axis those are not a suffix of
        // the log, so every plan's changes are read.
        let from = match f.point {
            Some(Point::Effective(_)) => 0,
            _ => end.saturating_sub(limit as u64),
        };
        let plans: BTreeSet<PlanId> = read.records(from, end)?.iter().map(|r| r.event.plan().clone()).collect();
        let mut all = Vec::new();
        for p in plans {
            all.extend(plan_rows(read, &p, (from, end), f.point, limit)?);
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
        rows.retain(|r| d.subjects.contains(&r.about.entity(&r.plan)));
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
    let nonempty = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let dept_given = nonempty("department");
    let ind_given = nonempty("indicator").map(|i| (i, IndicatorId::new(i).ok()));
    let (read, (plans, departments, labels, department, indicator_known)) = Read::capture(ledger, |s| {
        let plans: Vec<(PlanId, String)> = s.plans.values().map(|x| (x.id.clone(), x.title.clone())).collect();
        let departments: BTreeSet<String> = s.nodes.values().flat_map(|n| n.departments.iter().cloned()).collect();
        let mut labels: BTreeMap<String, String> = plans.iter().map(|(i, t)| (i.to_string(), t.clone())).collect();
        labels
            .extend(s.nodes.values().map(|n| (n.id.to_string(), format!("{} {}", n.code, n.title).trim().to_string())));
        labels.extend(s.indicators.values().map(|i| (i.id.to_string(), i.name.clone())));
        let department = dept_given.filter(|d| departments.contains(*d)).map(|d| Department::of(s, d));
        let known = matches!(&ind_given, Some((_, Some(id))) if s.indicators.contains_key(id));
        (plans, departments, labels, department, known)
    });
    let at = At::read_global(q, &read)?;
    let mut f = Filter { point: at.point, ..Filter::default() };
    if let Some(p) = nonempty("plan") {
        let id = PlanId::new(p).ok().filter(|id| plans.iter().any(|(x, _)| x == id));
        f.plan =
            Some(id.ok_or_else(|| Problem::not_found("plan", format!("計画 {p:?} はありません（no such plan）")))?);
    }
    if let Some(d) = dept_given {
        if department.is_none() {
            return Err(Problem::not_found(
                "department",
                format!("部署 {d:?} の項目はありません（no item of that department）"),
            ));
        }
        f.department = department;
    }
    if let Some((i, id)) = ind_given {
        f.indicator =
            Some(id.filter(|_| indicator_known).ok_or_else(|| {
                Problem::not_found("indicator", format!("指標 {i:?} はありません（no such indicator）"))
            })?);
    }
    let rows = recent_changes(&read, &f, CHANGES_LIMIT)?;
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
                    @for d in &departments { option value=(d) selected[f.department.as_ref().map(|x| x.name.as_str()) == Some(d.as_str())] { (d) } }
                }
                " "
                label for="f-ind" { "指標ID indicator id " }
                input #f-ind name="indicator" type="text" value=(f.indicator.as_ref().map(|i| i.to_string()).unwrap_or_default());
                @if let Some((k, v)) = &at.given { input type="hidden" name=(k) value=(v); }
                " "
                button type="submit" { "絞り込む filter" }
            }
        }
        @if let Some(d) = f.department.as_ref().map(|d| &d.name) {
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
                        td { (jst(s.recorded_at).format("%Y-%m-%d %H:%M")) }
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
    let feed = match (&f.department, &f.indicator, &f.plan) {
        (Some(d), _, _) => Some((format!("/feeds/departments/{}", enc(&d.name)), format!("{} の変更（Atom）", d.name))),
        (None, Some(i), _) => Some((format!("/feeds/indicators/{}", enc(i.as_str())), "この指標の変更（Atom）".into())),
        (None, None, Some(p)) => Some((format!("/feeds/plans/{}", enc(p.as_str())), "この計画の変更（Atom）".into())),
        _ => None,
    };
    let head = Head { feed, ..head(&read) };
    Ok(layout::page("変更履歴（Changes）", Some(&b), &head, body))
}

/// `/events/{seq}`: one event, its hash, its predecessor's hash and the proof that the ledger holds it.
pub fn event(ledger: &Ledger, seq: &str, _today: NaiveDate) -> Result<Markup, Problem> {
    let n: u64 =
        seq.parse().map_err(|_| Problem::bad("seq", format!("{seq:?} は変更番号ではありません（not a seq）")))?;
    let read = Read::new(ledger);
    let r = read
        .records(n, n.saturating_add(1))?
        .pop()
        .ok_or_else(|| Problem::not_found("seq", format!("変更 seq {n} はありません（no such event）")))?;
    // Described as the change list describes it, against the plan just before it: the projection cache serves that
    // state, where the subject's whole history would be folded otherwise.
    let entry = read.plan_changes(r.event.plan(), (n, n.saturating_add(1)), 1, |_| true)?.pop().map(|(_, e)| e);
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
    Ok(layout::page(&format!("変更 seq {n}：{}", event_label(r.event.type_name())), None, &head(&read), body))
}

/// `/verify`: the latest checkpoint, the public key, the ledger file, and how to check them.
pub fn verify(ledger: &Ledger, _today: NaiveDate) -> Markup {
    let read = Read::new(ledger);
    let note = read.checkpoint();
    let key = ledger.verifier().encode();
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
    layout::page("検証（Verify the record）", None, &head(&read), body)
}
