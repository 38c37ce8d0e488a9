//! Human-readable output: Japanese plan text as it is, fiscal years as 2016年度（平成28年度）.

use planledger::core::projection::view::PlanSummary;
use planledger::core::projection::{
    BlameEntry, Change, EventRef, HistoryEntry, NodeView, PlanDiff, PlanView, Point, view::target_with_unit,
};
use planledger::store::restore::RestoreOutcome;

fn period(p: &PlanSummary) -> String {
    p.period.map(|p| p.label()).unwrap_or_else(|| "計画期間の記載なし".into())
}

pub fn plans(plans: &[PlanSummary]) {
    if plans.is_empty() {
        outln!("(no plans)");
    }
    for p in plans {
        outln!("{}  {}（{}） {} 〔{}〕 {}", p.id, p.municipality, p.municipality_code, p.title, p.kind, p.status);
        outln!("    {}  nodes {}  indicators {}  version {}", period(p), p.nodes, p.indicators, p.version);
    }
}

pub fn plan(
    v: &PlanView,
    point: Option<Point>,
    (on, phase): (chrono::NaiveDate, planledger::core::projection::view::Phase),
) {
    let p = &v.plan;
    if let Some(pt) = point {
        outln!("*** past view: {} ***", pt.describe());
    }
    outln!("施行状況 phase on {on}: {}", phase.label());
    outln!("{}  [{}]", p.title, p.id);
    outln!(
        "{}（{}） {}  {}  状態 {}  version {}",
        p.municipality,
        p.municipality_code,
        p.kind,
        period(p),
        p.status,
        p.version
    );
    if let Some(pre) = &p.predecessor {
        outln!("前段階 predecessor: {pre}");
    }
    for n in &v.nodes {
        node(n, 0);
    }
}

fn node(n: &NodeView, depth: usize) {
    let pad = "  ".repeat(depth);
    let level = n.level.as_deref().map(|l| format!(" 〔{l}〕")).unwrap_or_default();
    outln!("{pad}{} {}{level}  ({})", n.code, n.title, n.id);
    if !n.departments.is_empty() {
        outln!("{pad}  実施課: {}", n.departments.join("、"));
    }
    if let Some(r) = &n.cross_reference {
        outln!("{pad}  再掲元: {r}");
    }
    for u in &n.cross_listed_under {
        outln!("{pad}  再掲先: {u}");
    }
    for d in &n.details {
        outln!("{pad}  {}: {}", d.label, d.text.replace('\n', " / "));
    }
    for m in &n.milestones {
        outln!("{pad}  {}: {}", m.fiscal_year.label(), m.text.replace('\n', " / "));
    }
    for i in &n.indicators {
        let mut flags = Vec::new();
        if i.cumulative {
            flags.push("累計".to_string());
        }
        if !i.note.is_empty() {
            flags.push(i.note.clone());
        }
        let flags = if flags.is_empty() { String::new() } else { format!(" ({})", flags.join("・")) };
        outln!("{pad}  【{}】{flags} 単位 {}  [{}]", i.name, if i.unit.is_empty() { "—" } else { &i.unit }, i.id);
        for r in &i.series {
            let target =
                r.target.as_ref().map(|t| target_with_unit(t, &i.unit)).unwrap_or_else(|| "（目標なし）".into());
            let actual =
                r.actual.as_ref().map(|a| format!("{}{}", a.value.grouped(), i.unit)).unwrap_or_else(|| "—".into());
            outln!("{pad}    {}  目標 {target}  実績 {actual}  {}", r.fiscal_year.label(), r.evaluation.label());
        }
    }
    for c in &n.children {
        node(c, depth + 1);
    }
}

pub fn history(title: &str, h: &[HistoryEntry]) {
    outln!("{title}");
    for entry in h {
        let e = &entry.source;
        outln!(
            "seq {}  {}  {}  記録 {}  施行 {}",
            e.seq,
            e.event,
            e.actor.name,
            e.recorded_at.format("%Y-%m-%d %H:%M:%S UTC"),
            e.effective
        );
        if !e.actor.department.is_empty() {
            outln!("    部署 department: {}", e.actor.department);
        }
        if let Some(a) = &e.authority {
            outln!("    根拠 authority: {a}");
        }
        if let Some(r) = &e.reason {
            outln!("    理由 reason: {r}");
        }
        changes(&entry.changes);
    }
}

fn changes(cs: &[Change]) {
    for c in cs {
        let old = c.old.as_deref().unwrap_or("—");
        let new = c.new.as_deref().unwrap_or("—");
        outln!("    {}: {} → {}", c.what, old.replace('\n', " / "), new.replace('\n', " / "));
    }
}

pub fn restore(o: &RestoreOutcome) {
    let n = o.compensating();
    let noun = if n == 1 { "event" } else { "events" };
    let what = format!("{} to {}", o.scope.describe(&o.plan), o.to.describe());
    if o.dry_run {
        outln!("dry run: restoring {what} would append {n} compensating {noun} and Restored; nothing appended");
    } else {
        outln!("restored {what}: appended {n} compensating {noun} and Restored");
    }
    for e in &o.events {
        let label = if e.label.is_empty() { String::new() } else { format!("{}  ", e.label) };
        let hash = e.hash.map(|h| format!("  {h}")).unwrap_or_default();
        outln!("seq {}  {}  {label}[{}]{hash}", e.seq, e.event.type_name(), e.subject);
        changes(&e.changes);
    }
    let verb = if o.dry_run { "would be" } else { "is now" };
    outln!("plan {} {verb} at version {}", o.plan, o.version);
}

fn point_label(p: &Option<Point>) -> String {
    p.map(|p| p.describe()).unwrap_or_else(|| "now".into())
}

fn cite(e: &EventRef) -> String {
    let mut s = format!(
        "seq {} {} {}（{}） 記録 {} 施行 {}",
        e.seq,
        e.event,
        e.actor.name,
        e.actor.department,
        e.recorded_at.format("%Y-%m-%d %H:%M"),
        e.effective
    );
    if let Some(a) = &e.authority {
        s.push_str(&format!(" 根拠 {a}"));
    }
    if let Some(r) = &e.reason {
        s.push_str(&format!(" 理由 {r}"));
    }
    s
}

fn value(v: &Option<String>) -> String {
    v.as_deref().map(|s| s.replace('\n', " ⏎ ")).unwrap_or_else(|| "—".into())
}

pub fn diff(d: &PlanDiff) {
    let n = d.changes.len();
    let noun = if n == 1 { "difference" } else { "differences" };
    outln!("{}: {} → {}  ({n} {noun})", d.plan, point_label(&d.from), point_label(&d.to));
    let mut subject = "";
    for c in &d.changes {
        if c.subject != subject {
            subject = &c.subject;
            outln!("{}  [{}]", c.label, c.subject);
        }
        outln!("    {}: {} → {}", c.what, value(&c.old), value(&c.new));
        for e in &c.events {
            outln!("        {}", cite(e));
        }
    }
}

pub fn blame(rows: &[BlameEntry]) {
    let mut subject = "";
    for r in rows {
        if r.subject != subject {
            subject = &r.subject;
            outln!("{}  [{}]", r.label, r.subject);
        }
        outln!("    {}: {}", r.what, value(&Some(r.value.clone())));
        outln!("        {}", cite(&r.set_by));
    }
}
