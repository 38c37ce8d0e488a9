//! Plan tables (docs/PLAN-TABLE.md): a TOML outline of an existing plan, checked whole, turned into commands.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use toml::Spanned;

use crate::core::domain::model::{Actor, Detail, Meta};
use crate::core::domain::{Command, DomainError, EventHash, Seq, State, decide};
use crate::core::record::Record;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    format: u32,
    plan: Spanned<PlanRow>,
    #[serde(default)]
    record: Option<Spanned<RecordRow>>,
    #[serde(default)]
    node: Vec<Spanned<NodeRow>>,
    #[serde(default)]
    indicator: Vec<Spanned<IndicatorRow>>,
    #[serde(default)]
    version: Vec<Spanned<VersionRow>>,
}

/// A name for the plan as it stands at the end of the table (a `VersionNamed` of the table's last event).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionRow {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanRow {
    id: String,
    municipality: String,
    municipality_code: String,
    title: String,
    kind: String,
    #[serde(default)]
    period: Option<[u16; 2]>,
    status: String,
    #[serde(default)]
    levels: Vec<String>,
    #[serde(default)]
    predecessor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordRow {
    #[serde(default)]
    actor: Option<Actor>,
    #[serde(default)]
    authority: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    effective: Option<String>,
    #[serde(default)]
    recorded_at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeRow {
    id: String,
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    code: String,
    title: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    departments: Vec<String>,
    #[serde(default)]
    details: Vec<Detail>,
    #[serde(default)]
    milestones: BTreeMap<String, String>,
    #[serde(default)]
    cross_listed_under: Vec<String>,
    #[serde(default)]
    cross_reference: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineRow {
    value: String,
    year: u16,
    #[serde(default)]
    note: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActualRow {
    year: u16,
    value: String,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    note: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndicatorRow {
    id: String,
    node: String,
    name: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    direction: String,
    #[serde(default)]
    cumulative: bool,
    #[serde(default)]
    note: String,
    #[serde(default)]
    baseline: Option<BaselineRow>,
    #[serde(default)]
    targets: BTreeMap<String, String>,
    #[serde(default)]
    actuals: Vec<ActualRow>,
}

/// One problem in a plan table: where, which field, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableError {
    pub file: String,
    pub line: usize,
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for TableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}: {}", self.file, self.line, self.field, self.reason)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{} error(s) in the plan table:\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
pub struct TableErrors(pub Vec<TableError>);

/// The recording details a table may carry in its `[record]` section.
#[derive(Debug, Clone, Default)]
pub struct RecordDefaults {
    pub actor: Option<Actor>,
    pub authority: Option<String>,
    pub reason: Option<String>,
    pub effective: Option<NaiveDate>,
    pub recorded_at: Option<DateTime<Utc>>,
}

/// A checked plan table: its commands (with the line each came from) and its `[record]` defaults.
#[derive(Debug, Clone)]
pub struct PlanTable {
    pub plan_id: String,
    pub commands: Vec<(usize, Command)>,
    pub record: RecordDefaults,
}

fn line_of(src: &str, span: &Range<usize>) -> usize {
    src[..span.start.min(src.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

/// Parses a plan table into commands. Only the form is checked here; `check` decides them against a state.
pub fn parse(file_name: &str, src: &str) -> Result<PlanTable, TableErrors> {
    let e = |line: usize, field: &str, reason: String| TableError {
        file: file_name.into(),
        line,
        field: field.into(),
        reason,
    };
    let f: File = toml::from_str(src).map_err(|err| {
        let line = err.span().map(|s| line_of(src, &s)).unwrap_or(1);
        TableErrors(vec![e(line, "toml", err.message().to_string())])
    })?;
    let mut errs = Vec::new();
    if f.format != 1 {
        errs.push(e(1, "format", format!("format {} is not supported (expected 1)", f.format)));
    }
    let plan_line = line_of(src, &f.plan.span());
    let plan = f.plan.into_inner();
    let pid = plan.id.clone();
    let full = |local: &str| format!("{pid}.{local}");
    let mut commands: Vec<(usize, Command)> = vec![(
        plan_line,
        Command::CreatePlan {
            plan: plan.id.clone(),
            municipality: plan.municipality,
            municipality_code: plan.municipality_code,
            title: plan.title,
            kind: plan.kind,
            period_from: plan.period.map(|p| p[0].to_string()),
            period_to: plan.period.map(|p| p[1].to_string()),
            status: plan.status,
            levels: plan.levels,
            predecessor: plan.predecessor,
        },
    )];
    let mut record = RecordDefaults::default();
    if let Some(r) = f.record {
        let line = line_of(src, &r.span());
        let r = r.into_inner();
        record.actor = r.actor;
        record.authority = r.authority;
        record.reason = r.reason;
        if let Some(d) = r.effective {
            match crate::core::domain::time::parse_date(&d) {
                Some(d) => record.effective = Some(d),
                None => errs.push(e(
                    line,
                    "record.effective",
                    format!("{d:?} is not a date (YYYY-MM-DD with a four-digit year)"),
                )),
            }
        }
        if let Some(t) = r.recorded_at {
            match crate::core::domain::time::parse_instant(&t) {
                Ok(t) => record.recorded_at = Some(t),
                Err(why) => errs.push(e(line, "record.recorded_at", format!("{t:?} {why}"))),
            }
        }
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut later: Vec<(usize, Command)> = Vec::new();
    for (i, n) in f.node.into_iter().enumerate() {
        let line = line_of(src, &n.span());
        let n = n.into_inner();
        if let Some(prev) = seen.insert(n.id.clone(), line) {
            errs.push(e(line, &format!("node[{i}].id"), format!("{} is already used at line {prev}", n.id)));
        }
        if let Some(p) = &n.parent
            && (!seen.contains_key(p) || p == &n.id)
        {
            errs.push(e(line, &format!("node[{i}].parent"), format!("{p} is not a node defined earlier in the file")));
        }
        let node = full(&n.id);
        commands.push((
            line,
            Command::AddNode {
                plan: pid.clone(),
                node: node.clone(),
                parent: n.parent.as_deref().map(full),
                order: None,
                code: n.code,
                title: n.title,
                text: n.text,
                details: n.details,
                departments: n.departments,
            },
        ));
        for (y, t) in n.milestones {
            commands.push((line, Command::SetMilestone { node: node.clone(), fiscal_year: y, text: t }));
        }
        for u in n.cross_listed_under {
            later.push((line, Command::CrossListNode { node: node.clone(), under: full(&u) }));
        }
        if let Some(r) = n.cross_reference {
            commands.push((line, Command::CrossReferenceNode { node: node.clone(), reference: r }));
        }
    }
    commands.extend(later);
    let mut seen_ind: HashMap<String, usize> = HashMap::new();
    for (i, ind) in f.indicator.into_iter().enumerate() {
        let line = line_of(src, &ind.span());
        let ind = ind.into_inner();
        if let Some(prev) = seen_ind.insert(ind.id.clone(), line) {
            errs.push(e(line, &format!("indicator[{i}].id"), format!("{} is already used at line {prev}", ind.id)));
        }
        if !seen.contains_key(&ind.node) {
            errs.push(e(line, &format!("indicator[{i}].node"), format!("{} is not a node of this file", ind.node)));
        }
        let id = full(&ind.id);
        commands.push((
            line,
            Command::DefineIndicator {
                indicator: id.clone(),
                node: full(&ind.node),
                name: ind.name,
                unit: ind.unit,
                direction: ind.direction,
                cumulative: ind.cumulative,
                note: ind.note,
            },
        ));
        if let Some(b) = ind.baseline {
            commands.push((
                line,
                Command::SetBaseline {
                    indicator: id.clone(),
                    value: b.value,
                    fiscal_year: b.year.to_string(),
                    note: b.note,
                },
            ));
        }
        for (y, t) in ind.targets {
            commands.push((line, Command::SetTarget { indicator: id.clone(), fiscal_year: y, target: t }));
        }
        for a in ind.actuals {
            commands.push((
                line,
                Command::ReportProgress {
                    indicator: id.clone(),
                    fiscal_year: a.year.to_string(),
                    value: a.value,
                    as_of: a.date,
                    note: a.note,
                },
            ));
        }
    }
    // Versions come last: each names the plan as the whole table builds it. `last` is resolved when the command is
    // decided, so the name points at the table's own last event wherever the ledger's head happens to be; the k-th
    // name steps back over the k names before it, so that every name points at that same event.
    for (k, v) in f.version.into_iter().enumerate() {
        let line = line_of(src, &v.span());
        let seq = if k == 0 { "last".to_string() } else { format!("last-{k}") };
        commands.push((line, Command::NameVersion { plan: pid.clone(), name: v.into_inner().name, seq }));
    }
    if !errs.is_empty() {
        return Err(TableErrors(errs));
    }
    Ok(PlanTable { plan_id: pid, commands, record })
}

/// Decides every command against a scratch copy of `state`, collecting every refusal with its line.
pub fn check(file_name: &str, table: &PlanTable, state: &State, meta: &Meta) -> Result<(), TableErrors> {
    let mut scratch = state.clone();
    let mut errs = Vec::new();
    for (line, cmd) in &table.commands {
        match decide(&scratch, cmd, meta) {
            Ok(evs) => evs.iter().for_each(|e| scratch.evolve(e)),
            Err(DomainError { field, reason, .. }) => errs.push(TableError {
                file: file_name.into(),
                line: *line,
                field: format!("{}.{field}", cmd.name()),
                reason,
            }),
        }
    }
    if errs.is_empty() { Ok(()) } else { Err(TableErrors(errs)) }
}

/// The meta a table's `[record]` section gives, for building reproducible seed ledgers.
pub fn record_meta(file: &str, table: &PlanTable) -> Result<(Meta, DateTime<Utc>), TableErrors> {
    let missing = |field: &str| {
        TableErrors(vec![TableError {
            file: file.into(),
            line: 1,
            field: format!("record.{field}"),
            reason: "is required to build a seed ledger".into(),
        }])
    };
    let r = &table.record;
    let actor = r.actor.clone().ok_or_else(|| missing("actor"))?;
    let recorded_at = r.recorded_at.ok_or_else(|| missing("recorded_at"))?;
    // A document without a date of its own takes effect, in the ledger, on the date in Japan it was recorded: the
    // record codec fills that in from `recorded_at`, as the writer does.
    Ok((Meta { actor, authority: r.authority.clone(), reason: r.reason.clone(), effective: r.effective }, recorded_at))
}

/// One plan's part of a built ledger: its plan id and its stored lines.
pub type BuiltLedger = (String, Vec<Vec<u8>>);

/// Builds ledger lines for `tables` from scratch, with no storage: each table's commands are decided in order and
/// recorded with its `[record]` details. The result is byte-for-byte reproducible.
pub fn build_ledger(tables: &[(String, PlanTable)]) -> Result<Vec<BuiltLedger>, TableErrors> {
    let mut state = State::default();
    let (mut seq, mut prev) = (Seq(0), EventHash::ZERO);
    let mut out = Vec::new();
    for (file, table) in tables {
        let (meta, recorded_at) = record_meta(file, table)?;
        check(file, table, &state, &meta)?;
        let mut lines = Vec::new();
        for (_, cmd) in &table.commands {
            // Invariant: `check` just decided these same commands against this same state successfully.
            let evs = decide(&state, cmd, &meta).expect("checked above");
            for ev in evs {
                state.evolve(&ev);
                let rec = Record::new(seq, prev, recorded_at, &meta, ev);
                let bytes = rec.encode();
                prev = EventHash::of(&bytes);
                seq = seq.next();
                lines.push(bytes);
            }
        }
        out.push((table.plan_id.clone(), lines));
    }
    Ok(out)
}
