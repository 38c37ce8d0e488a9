//! The target for HTTP bodies: `<body type>` on the first line, the JSON body after it, read by the handlers' own
//! `parse_body` and turned into commands as the handlers turn them (the id from the path is a seed entity's), then
//! decided against the seed ledger's state for an admin and authorized for an editor, as the writer judges them. A
//! refusal must name a field.

use axum::http::{HeaderMap, HeaderValue, header};
use planledger::core::domain::{Command, Meta, Principal, Role, State, authorize, decide};
use planledger::core::projection;
use planledger::store::tokens::TokenSpec;
use planledger::web::Problem;
use planledger::web::api::bodies::*;

use super::{Fixture, Shape, Target, field_label};

const DICT: &[&str] = &[
    "authority",
    "reason",
    "effective",
    "plan",
    "node",
    "indicator",
    "parent",
    "order",
    "code",
    "title",
    "text",
    "details",
    "departments",
    "fiscal_year",
    "value",
    "target",
    "as_of",
    "note",
    "to",
    "dry_run",
    "commands",
    "command",
    "set_target",
    "add_node",
    "create_plan",
    "name",
    "seq",
    "last",
    "last-1",
    "status",
    "adopted",
    "",
    "actor",
    "role",
    "expires",
    "令和6年度",
    "≥ 80",
    "12.5",
    "2024-04-01",
];

pub fn targets() -> Vec<Target> {
    vec![Target { name: "body", shape: Shape::PrefixedJson, dict: DICT, seeds, run }]
}

fn seeds(_: &Fixture) -> Vec<Vec<u8>> {
    [
        ("CreatePlanBody", r#"{"plan":"fuzz-plan","municipality":"新潟市","municipality_code":"151009","title":"t","kind":"総合計画","status":"draft","levels":["基本目標"],"period_from":"2024","period_to":"2031"}"#),
        ("RevisePlanBody", r#"{"title":"新しい題","clear_period":true,"reason":"r"}"#),
        ("PlanStatusBody", r#"{"status":"adopted","authority":"議会議決","effective":"2024-04-01"}"#),
        ("NameVersionBody", r#"{"name":"v2","seq":"last-1"}"#),
        ("AddNodeBody", r#"{"node":"new","title":"施策","order":2,"details":[{"label":"現況と課題","text":"x"}],"departments":["企画課"]}"#),
        ("RenameNodeBody", r#"{"code":"1-2","title":"改称"}"#),
        ("NodeTextBody", r#"{"text":"本文"}"#),
        ("NodeDetailsBody", r#"{"details":[{"label":"a","text":"b"}]}"#),
        ("MoveNodeBody", r#"{"order":0}"#),
        ("RetireNodeBody", r#"{"reason":"廃止"}"#),
        ("ReinstateNodeBody", ""),
        ("CrossListBody", r#"{"under":"niigata-sogo.1"}"#),
        ("UncrossBody", r#"{"under":"niigata-sogo.1"}"#),
        ("CrossReferenceBody", r#"{"reference":"第2章"}"#),
        ("DepartmentsBody", r#"{"departments":["企画課","財政課"]}"#),
        ("MilestoneBody", r#"{"fiscal_year":"令和6年度","text":"着手"}"#),
        ("WithdrawMilestoneBody", r#"{"fiscal_year":"2024"}"#),
        ("DefineIndicatorBody", r#"{"indicator":"new-kpi","name":"率","unit":"%","direction":"increase"}"#),
        ("ReviseIndicatorBody", r#"{"unit":"人","cumulative":true}"#),
        ("RetireIndicatorBody", "{}"),
        ("ReinstateIndicatorBody", "{}"),
        ("BaselineBody", r#"{"value":"54,000","fiscal_year":"R5"}"#),
        ("WithdrawBaselineBody", "{}"),
        ("TargetBody", r#"{"fiscal_year":"2026","target":"≥ 80"}"#),
        ("WithdrawTargetBody", r#"{"fiscal_year":"2026"}"#),
        ("ProgressBody", r#"{"fiscal_year":"2024","value":"38.0","as_of":"2025-03-31"}"#),
        ("CorrectionBody", r#"{"fiscal_year":"2024","value":"39","note":"訂正"}"#),
        ("RestoreBody", r#"{"to":"seq:3","dry_run":true,"authority":"a","reason":"r"}"#),
        ("CommandsBody", r#"{"commands":[{"command":"rename_node","node":"niigata-sogo.1","title":"x"}]}"#),
        ("TokenSpec", r#"{"name":"reporter-1","role":"reporter","departments":["企画課"]}"#),
    ]
    .iter()
    .map(|(n, b)| format!("{n}\n{b}").into_bytes())
    .collect()
}

fn headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h
}

/// Ids from the seed state for the path: its first plan, node and indicator.
fn ids(s: &State) -> (String, String, String) {
    let first = |k: Option<String>| k.unwrap_or_else(|| "none".into());
    (
        first(s.plans.keys().next().map(|k| k.to_string())),
        first(s.nodes.keys().next().map(|k| k.to_string())),
        first(s.indicators.keys().next().map(|k| k.to_string())),
    )
}

enum Read {
    Commands(MetaFields, Vec<Command>),
    Other(&'static str),
}

fn on<B: OnId>(body: &[u8], id: &str) -> Result<Read, Problem> {
    let mut b: B = parse_body(&headers(), body)?;
    Ok(Read::Commands(b.meta(), vec![b.command(id.to_string())]))
}

fn read(f: &Fixture, name: &str, body: &[u8]) -> Result<Read, Problem> {
    let (plan, node, indicator) = ids(f.state());
    match name {
        "CreatePlanBody" => {
            let mut b: CreatePlanBody = parse_body(&headers(), body)?;
            Ok(Read::Commands(b.meta(), vec![b.command()]))
        }
        "CommandsBody" => {
            let mut b: CommandsBody = parse_body(&headers(), body)?;
            Ok(Read::Commands(b.meta(), b.commands))
        }
        "RestoreBody" => {
            let b: RestoreBody = parse_body(&headers(), body)?;
            let p = f.state().plans.values().next().ok_or_else(|| Problem::bad("to", "no plan"))?;
            projection::resolve_point("to", &b.to, p)?;
            Ok(Read::Other("restore"))
        }
        "TokenSpec" => parse_body::<TokenSpec>(&headers(), body).map(|_| Read::Other("token")),
        "RevisePlanBody" => on::<RevisePlanBody>(body, &plan),
        "PlanStatusBody" => on::<PlanStatusBody>(body, &plan),
        "NameVersionBody" => on::<NameVersionBody>(body, &plan),
        "AddNodeBody" => on::<AddNodeBody>(body, &plan),
        "RenameNodeBody" => on::<RenameNodeBody>(body, &node),
        "NodeTextBody" => on::<NodeTextBody>(body, &node),
        "NodeDetailsBody" => on::<NodeDetailsBody>(body, &node),
        "MoveNodeBody" => on::<MoveNodeBody>(body, &node),
        "RetireNodeBody" => on::<RetireNodeBody>(body, &node),
        "ReinstateNodeBody" => on::<ReinstateNodeBody>(body, &node),
        "CrossListBody" => on::<CrossListBody>(body, &node),
        "UncrossBody" => on::<UncrossBody>(body, &node),
        "CrossReferenceBody" => on::<CrossReferenceBody>(body, &node),
        "DepartmentsBody" => on::<DepartmentsBody>(body, &node),
        "MilestoneBody" => on::<MilestoneBody>(body, &node),
        "WithdrawMilestoneBody" => on::<WithdrawMilestoneBody>(body, &node),
        "DefineIndicatorBody" => on::<DefineIndicatorBody>(body, &node),
        "ReviseIndicatorBody" => on::<ReviseIndicatorBody>(body, &indicator),
        "RetireIndicatorBody" => on::<RetireIndicatorBody>(body, &indicator),
        "ReinstateIndicatorBody" => on::<ReinstateIndicatorBody>(body, &indicator),
        "BaselineBody" => on::<BaselineBody>(body, &indicator),
        "WithdrawBaselineBody" => on::<WithdrawBaselineBody>(body, &indicator),
        "TargetBody" => on::<TargetBody>(body, &indicator),
        "WithdrawTargetBody" => on::<WithdrawTargetBody>(body, &indicator),
        "ProgressBody" => on::<ProgressBody>(body, &indicator),
        "CorrectionBody" => on::<CorrectionBody>(body, &indicator),
        _ => Ok(Read::Other("unknown body type")),
    }
}

fn run(f: &Fixture, input: &[u8]) -> String {
    let (name, body) = match input.iter().position(|b| *b == b'\n') {
        Some(i) => (String::from_utf8_lossy(&input[..i]).into_owned(), &input[i + 1..]),
        None => return "err:no body type".into(),
    };
    let refused = |p: Problem| {
        let field = p.field.clone().unwrap_or_default();
        assert!(!field.is_empty(), "a refused body names no field: {}", p.detail);
        // Unknown keys are the input's own words: one label for all of them keeps the outcomes few.
        let words: Vec<&str> =
            field.split(|c: char| !(c.is_ascii_lowercase() || c == '_')).filter(|w| !w.is_empty()).collect();
        let known = !words.is_empty() && words.iter().all(|w| *w == "body" || DICT.contains(w));
        field_label("err:body", if known { words.last().copied().unwrap_or("") } else { "(other)" })
    };
    let (meta, commands) = match read(f, &name, body) {
        Ok(Read::Commands(m, c)) => (m, c),
        Ok(Read::Other(what)) => return format!("ok:{what}"),
        Err(p) => return refused(p),
    };
    let effective = match meta.effective.as_deref().map(|e| projection::parse_effective("effective", e)).transpose() {
        Ok(e) => e,
        Err(e) => return refused(e.into()),
    };
    let admin = Principal { name: "fuzz".into(), display_name: "fuzz".into(), role: Role::Admin, departments: vec![] };
    let editor = Principal { role: Role::Editor, departments: vec!["企画課".into()], ..admin.clone() };
    let meta: Meta = admin.meta(meta.authority, meta.reason, effective);
    let mut state = f.state().clone();
    for cmd in &commands {
        let denied = authorize(&state, &editor, cmd).is_err();
        match decide(&state, cmd, &meta) {
            Ok(evs) => evs.iter().for_each(|e| state.evolve(e)),
            Err(e) => {
                assert!(!e.field.is_empty(), "a refused command names no field: {}", e.reason);
                return format!("{}:{}", field_label("err:decide", &e.field), if denied { "denied" } else { "" });
            }
        }
    }
    format!("ok:{}", commands.len().min(3))
}
