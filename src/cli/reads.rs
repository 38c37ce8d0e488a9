//! The read commands (`plans`, `show`, `diff`, `blame`, `versions`, `history`): each one consistent read through the
//! query layer, as the API and the portal make theirs, then printed as text or JSON.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use planledger::core::domain::state::Plan;
use planledger::core::domain::{DomainError, Entity, IndicatorId, NodeId, PlanId};
use planledger::core::projection::{self, Point};
use planledger::query::{PlanRead, PointSpec, QueryError, Read};
use planledger::store::Ledger;

use super::defs::PointArgs;
use super::{domain_refused, ledger_error, open_existing, print, refused};

/// A refusal of the query layer, with the command line's option names.
fn query_error(e: QueryError) -> anyhow::Error {
    match e {
        QueryError::Refused(d) => domain(d),
        QueryError::Ledger(l) => ledger_error(l),
    }
}

/// A refusal of a point parameter, named by the option that gave it.
fn domain(mut e: DomainError) -> anyhow::Error {
    let flag = match e.field.as_str() {
        "at" => Some("--at"),
        "as_of" => Some("--as-of"),
        "effective" => Some("--effective"),
        "version" => Some("--version"),
        _ => None,
    };
    if let Some(flag) = flag {
        e.field = flag.to_string();
    }
    domain_refused(e)
}

fn json_or<T: serde::Serialize>(json: bool, value: &T, text: impl FnOnce(&T)) -> Result<ExitCode> {
    if json {
        outln!("{}", serde_json::to_string_pretty(value)?);
    } else {
        text(value);
    }
    Ok(ExitCode::SUCCESS)
}

/// The point options as the query layer reads them: at most one, resolved against `plan`.
fn point(p: &PointArgs, read: &Read, plan: &Plan) -> Result<Option<Point>> {
    let at = p.at.map(|s| s.to_string());
    let given = [("at", at.as_deref()), ("as_of", p.as_of.as_deref()), ("effective", p.effective.as_deref())];
    let pairs = given.into_iter().chain([("version", p.version.as_deref())]).filter_map(|(k, v)| v.map(|v| (k, v)));
    let spec = PointSpec::from_pairs(pairs).map_err(domain)?;
    spec.resolve(plan, read.head().len).map_err(domain)
}

fn plan<'a>(ledger: &'a Ledger, plan: &str) -> Result<(Read<'a>, PlanRead)> {
    Read::plan(ledger, plan).map_err(query_error)
}

pub fn plans(data: &Path, json: bool) -> Result<ExitCode> {
    let ledger = open_existing(data)?;
    let (_, plans) = Read::summaries(&ledger);
    json_or(json, &plans, |p| print::plans(p))
}

pub fn show(data: &Path, name: &str, pa: &PointArgs, json: bool) -> Result<ExitCode> {
    let ledger = open_existing(data)?;
    let (read, r) = plan(&ledger, name)?;
    let pt = point(pa, &read, &r.current)?;
    let (view, shown) = read
        .with_state(&r.id, pt, "plan", |s| Some((projection::view_plan(s, &r.id)?, s.plans.get(&r.id)?.clone())))
        .map_err(query_error)?;
    if json {
        return json_or(true, &view, |_| ());
    }
    // The phase on the day the view stands for: the date itself, or the date in Japan of the instant.
    let on = match pt {
        None => ledger.today(),
        Some(Point::Effective(d)) => d,
        Some(Point::AsOf(t)) => projection::jst_date(t),
        Some(Point::Seq(s)) => projection::jst_date(
            read.records(s, s + 1).map_err(query_error)?.first().map(|r| r.recorded_at).unwrap_or_default(),
        ),
    };
    print::plan(&view, pt, (on, projection::view::phase(&shown, on)));
    Ok(ExitCode::SUCCESS)
}

pub fn diff(data: &Path, name: &str, from: &str, to: &str, json: bool) -> Result<ExitCode> {
    let ledger = open_existing(data)?;
    let (read, r) = plan(&ledger, name)?;
    let from = read.parse_point("from", from, &r.current).map_err(query_error)?;
    let to = read.parse_point("to", to, &r.current).map_err(query_error)?;
    let d = read.diff(&r, from, to).map_err(query_error)?;
    json_or(json, &d, print::diff)
}

pub fn blame(data: &Path, name: &str, pa: &PointArgs, json: bool) -> Result<ExitCode> {
    let ledger = open_existing(data)?;
    let (read, r) = plan(&ledger, name)?;
    let pt = point(pa, &read, &r.current)?;
    let rows = read.blame(&r, pt).map_err(query_error)?;
    json_or(json, &rows, |rows| print::blame(rows))
}

pub fn versions(data: &Path, name: &str, json: bool) -> Result<ExitCode> {
    let ledger = open_existing(data)?;
    let (_, r) = plan(&ledger, name)?;
    let mut rows: Vec<(&String, &u64)> = r.current.versions.iter().collect();
    rows.sort_by_key(|(name, seq)| (**seq, (*name).clone()));
    if json {
        let v: Vec<_> = rows.iter().map(|(n, s)| serde_json::json!({"name": n, "seq": s})).collect();
        return json_or(true, &v, |_| ());
    }
    if rows.is_empty() {
        outln!("plan {} has no named versions", r.id);
    }
    for (name, seq) in rows {
        outln!("seq {seq:>8}  {name}");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn history(data: &Path, id: &str, json: bool) -> Result<ExitCode> {
    let ledger = open_existing(data)?;
    let (read, found) = Read::capture(&ledger, |s| {
        if let Some(i) = IndicatorId::new(id).ok().and_then(|i| s.indicators.get(&i)) {
            Some((Entity::Indicator(i.id.clone()), format!("指標 indicator {} 【{}】（{}）", i.id, i.name, i.unit)))
        } else if let Some(n) = NodeId::new(id).ok().and_then(|n| s.nodes.get(&n)) {
            Some((Entity::Node(n.id.clone()), format!("ノード node {} {} {}", n.id, n.code, n.title)))
        } else {
            let p = PlanId::new(id).ok().and_then(|i| s.plans.get(&i))?;
            Some((Entity::Plan(p.id.clone()), format!("計画 plan {} {}", p.id, p.title)))
        }
    });
    let Some((entity, title)) = found else {
        return Err(refused(format!("id: no indicator, node or plan {id:?}")));
    };
    let h = read.history(&entity).map_err(query_error)?;
    json_or(json, &h, |h| print::history(&title, h))
}
