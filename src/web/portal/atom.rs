//! Atom feeds (RFC 4287) of changes per plan, per department and per indicator: each entry is one event, with
//! `urn:planledger:event:{plan}:{seq}` as id and its permalink page as link.

use chrono::{DateTime, Utc};

use super::layout::enc;
use super::pages::{ChangeRow, Department, Filter, event_label, recent_changes};
use crate::core::domain::{IndicatorId, PlanId};
use crate::query::Read;
use crate::store::Ledger;
use crate::web::Problem;

pub const CONTENT_TYPE: &str = "application/atom+xml; charset=utf-8";

/// Entries per feed.
pub const FEED_LIMIT: usize = 50;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry are dropped rather than make the feed unparsable.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// The feed document. `id` is a URN naming what the feed follows; `self_path` is its own path.
pub fn render(id: &str, title: &str, self_path: &str, alternate: &str, base: &str, rows: &[ChangeRow]) -> String {
    // With no entries the feed was last updated when the ledger began for all a reader can tell: the epoch.
    let updated: DateTime<Utc> =
        rows.iter().map(|r| r.entry.source.recorded_at).max().unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let mut s = String::new();
    s.push_str(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"ja\">\n",
    );
    s.push_str(&format!("  <id>{}</id>\n  <title>{}</title>\n", esc(id), esc(title)));
    s.push_str(&format!("  <updated>{}</updated>\n", updated.to_rfc3339()));
    s.push_str(&format!(
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        esc(&format!("{base}{self_path}"))
    ));
    s.push_str(&format!(
        "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
        esc(&format!("{base}{alternate}"))
    ));
    s.push_str("  <author><name>planledger</name></author>\n  <generator>planledger</generator>\n");
    for r in rows {
        let e = &r.entry.source;
        let what: Vec<String> = r
            .entry
            .changes
            .iter()
            .map(|c| {
                format!(
                    "{}：{} → {}",
                    c.what,
                    c.old.as_deref().unwrap_or("（なし）"),
                    c.new.as_deref().unwrap_or("（なし）")
                )
            })
            .collect();
        let title = match what.first() {
            Some(w) => format!("{}：{}", event_label(e.event), w),
            None => event_label(e.event).to_string(),
        };
        let summary = format!(
            "{}\n記録者 actor: {}（{}）\n根拠 authority: {}\n理由 reason: {}\n効力発生 effective: {}",
            what.join("\n"),
            e.actor.name,
            e.actor.department,
            e.authority.as_deref().unwrap_or("—"),
            e.reason.as_deref().unwrap_or("—"),
            e.effective
        );
        s.push_str("  <entry>\n");
        s.push_str(&format!("    <id>urn:planledger:event:{}:{}</id>\n", esc(r.plan.as_str()), e.seq));
        s.push_str(&format!("    <title>{}</title>\n", esc(&title)));
        s.push_str(&format!("    <updated>{}</updated>\n", e.recorded_at.to_rfc3339()));
        s.push_str(&format!("    <link rel=\"alternate\" type=\"text/html\" href=\"{base}/events/{}\"/>\n", e.seq));
        s.push_str(&format!("    <author><name>{}</name></author>\n", esc(&e.actor.name)));
        s.push_str(&format!("    <summary type=\"text\">{}</summary>\n", esc(summary.trim_start())));
        s.push_str("  </entry>\n");
    }
    s.push_str("</feed>\n");
    s
}

/// The changes of one plan.
pub fn plan(ledger: &Ledger, plan: &str, base: &str) -> Result<String, Problem> {
    let missing = || Problem::not_found("plan", format!("計画 {plan:?} はありません（no such plan）"));
    let id = PlanId::new(plan).map_err(|_| missing())?;
    let (read, title) = Read::capture(ledger, |s| s.plans.get(&id).map(|p| p.title.clone()));
    let title = title.ok_or_else(missing)?;
    let rows = recent_changes(&read, &Filter { plan: Some(id.clone()), ..Filter::default() }, FEED_LIMIT)?;
    Ok(render(
        &format!("urn:planledger:feed:plan:{}", enc(id.as_str())),
        &format!("{title} の変更（changes）"),
        &format!("/feeds/plans/{}", enc(id.as_str())),
        &format!("/plans/{}", enc(id.as_str())),
        base,
        &rows,
    ))
}

/// The changes of one indicator.
pub fn indicator(ledger: &Ledger, id: &str, base: &str) -> Result<String, Problem> {
    let missing = || Problem::not_found("id", format!("指標 {id:?} はありません（no such indicator）"));
    let iid = IndicatorId::new(id).map_err(|_| missing())?;
    let (read, name) = Read::capture(ledger, |s| s.indicators.get(&iid).map(|i| i.name.clone()));
    let name = name.ok_or_else(missing)?;
    let rows = recent_changes(&read, &Filter { indicator: Some(iid.clone()), ..Filter::default() }, FEED_LIMIT)?;
    Ok(render(
        &format!("urn:planledger:feed:indicator:{}", enc(iid.as_str())),
        &format!("指標「{name}」の変更（changes）"),
        &format!("/feeds/indicators/{}", enc(iid.as_str())),
        &format!("/indicators/{}", enc(iid.as_str())),
        base,
        &rows,
    ))
}

/// The changes of the items a department is responsible for (実施課), and of their indicators.
pub fn department(ledger: &Ledger, dept: &str, base: &str) -> Result<String, Problem> {
    let (read, (known, department)) = Read::capture(ledger, |s| {
        (s.nodes.values().any(|n| n.departments.iter().any(|d| d == dept)), Department::of(s, dept))
    });
    if !known {
        return Err(Problem::not_found(
            "department",
            format!("部署 {dept:?} の項目はありません（no item of that department）"),
        ));
    }
    let rows = recent_changes(&read, &Filter { department: Some(department), ..Filter::default() }, FEED_LIMIT)?;
    Ok(render(
        &format!("urn:planledger:feed:department:{}", enc(dept)),
        &format!("{dept} の変更（changes）"),
        &format!("/feeds/departments/{}", enc(dept)),
        &format!("/changes?department={}", enc(dept)),
        base,
        &rows,
    ))
}
