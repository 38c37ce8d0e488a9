//! Downloads of one plan at any point: CSV in the long format of the 機械可読性 rules (UTF-8 with a BOM, the
//! municipality code first, Western fiscal years, units in their own column, blank distinct from 0) and JSON.

use std::collections::BTreeMap;

use super::pages::At;
use crate::core::domain::PlanId;
use crate::core::domain::value::Target;
use crate::core::projection::{self, IndicatorView, NodeView, PlanView};
use crate::query::{PlanRead, Read};
use crate::store::ledger::Ledger;
use crate::web::Problem;

/// A file to send.
#[derive(Debug, Clone)]
pub struct Download {
    pub content_type: &'static str,
    pub file_name: String,
    pub body: Vec<u8>,
}

/// Written first: Excel, the tool most readers open CSV with, reads UTF-8 only with it.
pub const BOM: &str = "\u{feff}";

/// The CSV's columns, in order.
pub const COLUMNS: [&str; 16] = [
    "全国地方公共団体コード",
    "地方公共団体名",
    "計画ID",
    "計画名",
    "項目ID",
    "項目番号",
    "項目名",
    "指標ID",
    "指標名",
    "年度",
    "種別",
    "値",
    "単位",
    "比較",
    "目標区分",
    "時点",
];

/// The `目標区分` of a target row: a figure, explicitly none (the plan prints 「—」 for the year), or no target stated
/// for the year at all; empty on other rows.
pub const TARGET_KINDS: [&str; 3] = ["数値", "なし", "記載なし"];

/// A cell as a spreadsheet should show it: text that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is
/// prefixed with `'`, so that Excel or LibreOffice shows it as the text it is instead of evaluating it as a formula
/// (OWASP's rule against CSV injection). Editors write titles, names and units; a download must never run them.
/// Only cells of text pass through here: the numbers the ledger formats itself (a value such as `-1.5`, a year)
/// cannot be formulas and stay numbers.
pub fn text_cell(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}").into() } else { s.into() }
}

/// A CSV writer of the downloads' dialect: CRLF line ends, fields quoted only when they need it.
pub fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new())
}

/// The written bytes after the BOM: writing to memory cannot fail, so an error here is a bug worth a 500.
pub fn csv_bytes(w: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, Problem> {
    let mut out = BOM.as_bytes().to_vec();
    out.extend(w.into_inner().map_err(|e| Problem::internal(e.into_error()))?);
    Ok(out)
}

/// The plan at the download's point and the label of that point, from one read of the ledger.
fn view_at(ledger: &Ledger, plan: &str, q: &BTreeMap<String, String>) -> Result<(PlanId, String, PlanView), Problem> {
    let missing = || Problem::not_found("plan", format!("計画 {plan:?} はありません（no such plan）"));
    let (read, PlanRead { id, current }) = Read::plan(ledger, plan).map_err(|_| missing())?;
    let at = At::read(q, &read, &current)?;
    let view = read.with_state(&id, at.point, "plan", |s| projection::view_plan(s, &id)).map_err(|_| {
        let field = at.given.as_ref().map_or("plan", |(k, _)| k.as_str());
        Problem::not_found(
            field,
            format!("{} にはこの計画はまだありません（the plan did not exist then）", at.describe()),
        )
    })?;
    // The point a download reflects: the given parameter, or the seq of the head the view was read at.
    let label = match &at.given {
        Some((k, v)) => format!("{k}={v}"),
        None => format!("at={}", read.head().len.saturating_sub(1)),
    };
    Ok((id, label, view))
}

/// Every node in document order with its nearest printed code (its own, or when the document prints none, its
/// nearest ancestor's: the rows of a table such as Shinagawa's carry no number of their own).
fn collect<'a>(nodes: &'a [NodeView], inherited: &'a str, out: &mut Vec<(&'a NodeView, &'a str)>) {
    for n in nodes {
        let code = if n.code.is_empty() { inherited } else { n.code.as_str() };
        out.push((n, code));
        collect(&n.children, code, out);
    }
}

/// The CSV (with its BOM): per indicator, its baseline, then per fiscal year of its series a target row and an
/// actual row; a value that is absent is an empty cell. A node without indicators is one `項目` row, so that a plan
/// without figures still exports its structure.
pub fn csv_text(view: &PlanView, point: &str) -> Result<Vec<u8>, Problem> {
    let p = &view.plan;
    let mut w = csv_writer();
    let bad = |e: csv::Error| Problem::internal(e);
    w.write_record(COLUMNS).map_err(bad)?;
    let mut nodes = Vec::new();
    collect(&view.nodes, "", &mut nodes);
    for (n, code) in nodes {
        let mut row = |i: Option<&IndicatorView>, year: String, kind: &str, value: String, cmp: &str, tk: &str| {
            let t = text_cell;
            let cells: [std::borrow::Cow<'_, str>; 16] = [
                t(&p.municipality_code),
                t(&p.municipality),
                t(p.id.as_str()),
                t(&p.title),
                t(n.id.as_str()),
                t(code),
                t(&n.title),
                t(i.map_or("", |i| i.id.as_str())),
                t(i.map_or("", |i| i.name.as_str())),
                year.into(),
                kind.into(),
                value.into(),
                t(i.map_or("", |i| i.unit.as_str())),
                cmp.into(),
                tk.into(),
                t(point),
            ];
            w.write_record(cells.iter().map(|c| c.as_bytes()))
        };
        if n.indicators.is_empty() {
            row(None, String::new(), "項目", String::new(), "", "").map_err(bad)?;
        }
        for i in &n.indicators {
            if let Some(b) = &i.baseline {
                row(Some(i), b.fiscal_year.year().to_string(), "基準値", b.value.to_string(), "", "").map_err(bad)?;
            }
            for s in &i.series {
                let (value, cmp, tk) = match &s.target {
                    Some(Target::Value { value, comparator }) => {
                        (value.to_string(), comparator.suffix(), TARGET_KINDS[0])
                    }
                    Some(Target::None) => (String::new(), "", TARGET_KINDS[1]),
                    None => (String::new(), "", TARGET_KINDS[2]),
                };
                let year = s.fiscal_year.year().to_string();
                row(Some(i), year.clone(), "目標", value, cmp, tk).map_err(bad)?;
                let actual = s.actual.as_ref().map(|a| a.value.to_string()).unwrap_or_default();
                row(Some(i), year, "実績", actual, "", "").map_err(bad)?;
            }
        }
    }
    csv_bytes(w)
}

pub fn plan_csv(ledger: &Ledger, plan: &str, q: &BTreeMap<String, String>) -> Result<Download, Problem> {
    let (id, label, view) = view_at(ledger, plan, q)?;
    Ok(Download {
        content_type: "text/csv; charset=utf-8",
        file_name: format!("{id}.csv"),
        body: csv_text(&view, &label)?,
    })
}

/// The plan view as `/api/plans/{plan}` answers it, with the point it reflects.
pub fn plan_json(ledger: &Ledger, plan: &str, q: &BTreeMap<String, String>) -> Result<Download, Problem> {
    let (id, label, view) = view_at(ledger, plan, q)?;
    let doc = serde_json::json!({ "point": label, "plan": view });
    Ok(Download {
        content_type: "application/json",
        file_name: format!("{id}.json"),
        body: serde_json::to_vec_pretty(&doc).map_err(Problem::internal)?,
    })
}
