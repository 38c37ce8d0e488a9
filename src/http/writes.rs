//! The write endpoints: every write command of the CLI as a `POST` with a JSON body, for a token's principal, with
//! `If-Match` (the plan version the client saw) and `Idempotency-Key` (a retry gets the original answer). Each
//! handler parses its body, builds the command and calls [`append`]; the ledger's writer authorizes and decides it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::{AppState, Precondition, Problem, current_plan_etag, if_match};
use crate::domain::model::{Detail, RestoreScope};
use crate::domain::{Command, DomainError, PlanId};
use crate::ledger::{AppendRequest, Appended, LedgerError};
use crate::projection;
use crate::restore::{RestoreError, RestoreOutcome, RestoreRequest};
use crate::tokens::{NewToken, TokenError, TokenRecord, TokenSpec};

/// Longest `Idempotency-Key` taken.
pub const IDEMPOTENCY_KEY_MAX: usize = 128;

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Set on the answer to a retry: the events were appended by the first request with the key.
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// One appended event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WrittenEvent {
    pub seq: u64,
    /// The BLAKE3 hash of the event's line, hex.
    pub hash: String,
}

/// What a write appended. A retry with the same `Idempotency-Key` answers the same body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WriteOutcome {
    pub plan: String,
    /// The plan's version after the append; the answer's `ETag` carries it for the next `If-Match`.
    pub version: u64,
    pub events: Vec<WrittenEvent>,
}

impl From<&Appended> for WriteOutcome {
    fn from(a: &Appended) -> Self {
        Self {
            plan: a.plan.to_string(),
            version: a.version,
            events: a.events.iter().map(|e| WrittenEvent { seq: e.seq.0, hash: e.hash.to_string() }).collect(),
        }
    }
}

/// The parts of every write body that say on what authority, why and from when.
pub struct MetaFields {
    pub authority: Option<String>,
    pub reason: Option<String>,
    pub effective: Option<String>,
}

/// A number or a string (`seq` of a named version: `12`, `"12"`, `"last"`, `"last-2"`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum NumberOrText {
    Number(u64),
    Text(String),
}

impl NumberOrText {
    fn into_text(self) -> String {
        match self {
            NumberOrText::Number(n) => n.to_string(),
            NumberOrText::Text(t) => t,
        }
    }
}

/// Reads a JSON body, refusing by name: the field at fault, or `body` when it is not JSON at all. An empty body
/// reads as `{}` (for the endpoints whose fields are all optional).
pub fn parse_body<T: DeserializeOwned>(headers: &HeaderMap, bytes: &[u8]) -> Result<T, Problem> {
    if !bytes.is_empty() {
        let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some("Content-Type"),
                format!("the body must be JSON (`Content-Type: application/json`), not {ct:?}"),
            ));
        }
    }
    let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { bytes };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return Problem::bad("body", format!("not valid JSON: {inner}"));
        }
        let msg = inner.to_string();
        // serde names a missing or unknown field only in its message; the path is where it was looked for.
        let named = ["missing field `", "unknown field `"]
            .iter()
            .find_map(|p| msg.split_once(p).and_then(|(_, rest)| rest.split_once('`')).map(|(f, _)| f.to_string()));
        let field = match (path.as_str(), named) {
            (".", Some(f)) => f,
            // An unknown field's path already ends in it; a missing one's is the object it is missing from.
            (p, Some(f)) if p == f || p.ends_with(&format!(".{f}")) => p.to_string(),
            (p, Some(f)) => format!("{p}.{f}"),
            (".", None) => "body".to_string(),
            (p, None) => p.to_string(),
        };
        let mut reason = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        if reason.contains("invalid type: floating point") || reason.contains("invalid type: integer") {
            reason.push_str(" (plan values are exact decimals: send them as strings, e.g. \"12.5\")");
        }
        Problem::bad(&field, reason)
    })?;
    de.end().map_err(|e| Problem::bad("body", format!("not valid JSON: {e}")))?;
    Ok(value)
}

/// `Idempotency-Key`, scoped to the caller's token so that two callers' keys never meet.
fn idempotency_key(headers: &HeaderMap, caller: &Caller) -> Result<Option<String>, Problem> {
    let Some(v) = headers.get(IDEMPOTENCY_KEY) else { return Ok(None) };
    let bad = |r: &str| Problem::bad("Idempotency-Key", r.to_string());
    let key = v.to_str().map_err(|_| bad("must be visible ASCII"))?.trim();
    if key.is_empty() || key.len() > IDEMPOTENCY_KEY_MAX {
        return Err(bad(&format!("must be 1 to {IDEMPOTENCY_KEY_MAX} characters")));
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad("must be visible ASCII without spaces"));
    }
    // Invariant: writes reach here only with a token (`Caller::writer` refused anonymous callers first).
    let token = caller.token_id().ok_or_else(|| bad("needs a token"))?;
    Ok(Some(format!("http:{token}:{key}")))
}

/// 412: the plan is not at a version the client's `If-Match` names.
fn precondition_failed(plan: &str, current: Option<u64>) -> Problem {
    let p = match current {
        Some(v) => Problem::new(
            StatusCode::PRECONDITION_FAILED,
            Some("If-Match"),
            format!("plan {plan} is at version {v}, which If-Match does not name; read it again and retry"),
        )
        .with_header(header::ETAG, current_plan_etag(plan, v)),
        None => Problem::new(
            StatusCode::PRECONDITION_FAILED,
            Some("If-Match"),
            format!("plan {plan} does not exist, so no tag can match"),
        ),
    };
    p.with_current_version(current)
}

/// The expected version a write's `If-Match` asks for on `plan` (`None`: no check).
fn expected_version(s: &AppState, headers: &HeaderMap, plan: Option<&PlanId>) -> Result<Option<u64>, Problem> {
    // A write whose target names nothing is refused by `decide` as not found, which says more than a 412.
    let Some(plan) = plan else { return Ok(None) };
    let current = s.ledger.read().state.plans.get(plan).map(|p| p.version);
    match (if_match(headers, plan.as_str()), current) {
        (Precondition::None, _) => Ok(None),
        (Precondition::Exists, Some(_)) => Ok(None),
        (Precondition::Versions(vs), Some(v)) if vs.contains(&v) => Ok(Some(v)),
        (_, current) => Err(precondition_failed(plan.as_str(), current)),
    }
}

fn refusal(e: LedgerError, batch: bool) -> Problem {
    let within = |i: usize, f: &str| if batch { format!("commands[{i}].{f}") } else { f.to_string() };
    match e {
        LedgerError::VersionConflict { plan, current, .. } => precondition_failed(&plan, Some(current)),
        LedgerError::Refused { command, error } => DomainError { field: within(command, &error.field), ..error }.into(),
        LedgerError::Forbidden { command, denied } => {
            Problem::forbidden(&within(command, &denied.field), denied.reason)
        }
        other => other.into(),
    }
}

/// Appends `commands` for the caller: authorization, `If-Match`, `Idempotency-Key`, then the ledger, which judges
/// and decides each command atomically. 201 with the events; a retry of a key answers the same, marked replayed.
pub async fn append(
    s: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    meta: MetaFields,
    commands: Vec<Command>,
    batch: bool,
) -> Result<Response, Problem> {
    let principal = caller.writer()?;
    let effective = match &meta.effective {
        Some(e) => projection::parse_effective("effective", e)?,
        None => projection::today_jst(),
    };
    let meta = principal.meta(meta.authority, meta.reason, effective);
    let key = idempotency_key(headers, caller)?;
    let Some(first) = commands.first() else {
        return Err(Problem::bad("commands", "must not be empty"));
    };
    let plan = first.target_plan(&s.ledger.read().state);
    let expected_version = expected_version(s, headers, plan.as_ref())?;
    let req = AppendRequest { commands, meta, expected_version, idempotency_key: key };
    let a = s.ledger.append_as(req, Some(principal)).await.map_err(|e| refusal(e, batch))?;
    let mut res = (StatusCode::CREATED, Json(WriteOutcome::from(&a))).into_response();
    let h = res.headers_mut();
    h.insert(header::ETAG, current_plan_etag(a.plan.as_str(), a.version));
    if let Ok(loc) = HeaderValue::from_str(&format!("/api/plans/{}", a.plan)) {
        h.insert(header::LOCATION, loc);
    }
    if a.replayed {
        h.insert(REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(res)
}

/// Declares write bodies: each gets the meta fields every write takes, refuses unknown fields, and can hand its
/// meta over.
macro_rules! bodies {
    ($($(#[doc = $doc:literal])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? })*) => {$(
        $(#[doc = $doc])*
        #[derive(Debug, Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fm])* pub $field: $ty,)*
            /// On what authority the change is made (庁議, 議会議決, a document reference …)
            #[serde(default)]
            pub authority: Option<String>,
            /// Why
            #[serde(default)]
            pub reason: Option<String>,
            /// When the change takes effect in the plan: YYYY-MM-DD or a fiscal year (its 1 April); default today
            /// in Japan
            #[serde(default)]
            pub effective: Option<String>,
        }

        impl $name {
            fn meta(&mut self) -> MetaFields {
                MetaFields { authority: self.authority.take(), reason: self.reason.take(), effective: self.effective.take() }
            }
        }
    )*};
}

bodies! {
    /// A new plan.
    CreatePlanBody {
        plan: String,
        municipality: String,
        /// 全国地方公共団体コード (5 or 6 digits)
        municipality_code: String,
        title: String,
        /// 基本構想, 基本計画, 実施計画 …
        kind: String,
        #[serde(default)] period_from: Option<String>,
        #[serde(default)] period_to: Option<String>,
        /// draft, adopted or superseded
        status: String,
        /// The names of the plan's levels, top first (e.g. 基本目標, 施策)
        #[serde(default)] levels: Vec<String>,
        #[serde(default)] predecessor: Option<String>,
    }
    /// What of the plan to change; fields left out stay.
    RevisePlanBody {
        #[serde(default)] title: Option<String>,
        #[serde(default)] kind: Option<String>,
        #[serde(default)] period_from: Option<String>,
        #[serde(default)] period_to: Option<String>,
        #[serde(default)] levels: Option<Vec<String>>,
        /// Remove the plan's period
        #[serde(default)] clear_period: bool,
    }
    /// The plan's new status.
    PlanStatusBody {
        /// draft, adopted or superseded
        status: String,
    }
    /// A name for the plan as it stood right after one event.
    NameVersionBody {
        name: String,
        /// A seq, or `last` / `last-N`
        seq: NumberOrText,
    }
    /// A new node of the plan.
    AddNodeBody {
        node: String,
        #[serde(default)] parent: Option<String>,
        #[serde(default)] order: Option<u64>,
        #[serde(default)] code: String,
        title: String,
        #[serde(default)] text: String,
        #[serde(default)] details: Vec<Detail>,
        /// 担当課
        #[serde(default)] departments: Vec<String>,
    }
    /// A node's new code or title.
    RenameNodeBody {
        #[serde(default)] code: Option<String>,
        #[serde(default)] title: Option<String>,
    }
    /// A node's new text.
    NodeTextBody { text: String }
    /// A node's new labelled texts (all of them).
    NodeDetailsBody { details: Vec<Detail> }
    /// Where the node goes.
    MoveNodeBody {
        #[serde(default)] parent: Option<String>,
        #[serde(default)] order: Option<u64>,
    }
    /// Only who, why and when.
    MetaOnlyBody {}
    /// The node it is (or is no longer) listed under as 再掲.
    UnderBody { under: String }
    /// 再掲 of an item outside the ledger, as the document names it.
    CrossReferenceBody { reference: String }
    /// The node's departments (担当課), all of them.
    DepartmentsBody { departments: Vec<String> }
    /// A milestone of a fiscal year.
    MilestoneBody {
        /// 2024, 令和6年度, R6 …
        fiscal_year: String,
        text: String,
    }
    /// A fiscal year.
    FiscalYearBody { fiscal_year: String }
    /// A new indicator of the node.
    DefineIndicatorBody {
        indicator: String,
        name: String,
        #[serde(default)] unit: String,
        /// increase, decrease, maintain or unstated
        #[serde(default)] direction: String,
        #[serde(default)] cumulative: bool,
        #[serde(default)] note: String,
    }
    /// What of the indicator to change; fields left out stay.
    ReviseIndicatorBody {
        #[serde(default)] name: Option<String>,
        #[serde(default)] unit: Option<String>,
        #[serde(default)] direction: Option<String>,
        #[serde(default)] cumulative: Option<bool>,
        #[serde(default)] note: Option<String>,
    }
    /// The indicator's baseline (基準値).
    BaselineBody {
        /// An exact decimal, as a string
        value: String,
        fiscal_year: String,
        #[serde(default)] note: String,
    }
    /// A target (目標値) for a fiscal year.
    TargetBody {
        fiscal_year: String,
        /// An exact decimal with an optional comparator: `12.5`, `≥ 80`, `以上 80` …
        target: String,
    }
    /// An actual (実績値) for a fiscal year.
    ProgressBody {
        fiscal_year: String,
        /// An exact decimal, as a string
        value: String,
        /// The date the actual was measured (YYYY-MM-DD)
        #[serde(default)] as_of: Option<String>,
        #[serde(default)] note: String,
    }
    /// Bring the plan, node or indicator in the path back to its content at a past point. Authority and reason
    /// are required.
    RestoreBody {
        /// A seq, a date, an RFC 3339 instant, a version name, or one of those with a `seq:`, `effective:`,
        /// `as-of:` or `version:` prefix
        to: String,
        /// Plan and check only; append nothing (answers 200)
        #[serde(default)] dry_run: bool,
    }
    /// Several commands on the plan in the path, appended atomically: all or none.
    CommandsBody {
        /// Commands as `{"command": "set_target", …}`; field names as in the single-command endpoints, the ids
        /// included
        #[schema(value_type = Vec<Object>)]
        commands: Vec<Command>,
    }
}

/// Declares a write endpoint on one id in the path: its OpenAPI entry and its handler.
macro_rules! endpoint {
    ($(#[doc = $doc:literal])* $name:ident, $path:tt, $param:tt, $body:ident, |$id:ident, $b:ident| $cmd:expr) => {
        $(#[doc = $doc])*
        #[utoipa::path(
            post,
            path = $path,
            tag = "writes",
            params(($param = String, Path, description = "The id of the plan, node or indicator written to")),
            request_body(content = $body, content_type = "application/json"),
            responses(
                (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
            ),
            security(("bearer" = []))
        )]
        pub async fn $name(
            State(s): State<AppState>,
            caller: Caller,
            Path($id): Path<String>,
            headers: HeaderMap,
            body: Bytes,
        ) -> Result<Response, Problem> {
            caller.writer()?;
            #[allow(unused_mut)]
            let mut $b: $body = parse_body(&headers, &body)?;
            let meta = $b.meta();
            let cmd = $cmd;
            append(&s, &caller, &headers, meta, vec![cmd], false).await
        }
    };
}

endpoint!(
    /// Revise the plan's title, kind, period or level names.
    revise_plan, "/api/plans/{plan}/revise", "plan", RevisePlanBody,
    |plan, b| Command::RevisePlan {
        plan, title: b.title, kind: b.kind, period_from: b.period_from, period_to: b.period_to, levels: b.levels,
        clear_period: b.clear_period,
    }
);
endpoint!(
    /// Change the plan's status (draft, adopted, superseded).
    change_plan_status, "/api/plans/{plan}/status", "plan", PlanStatusBody,
    |plan, b| Command::ChangePlanStatus { plan, status: b.status }
);
endpoint!(
    /// Name the plan as it stood right after an event (a named version).
    name_version, "/api/plans/{plan}/versions", "plan", NameVersionBody,
    |plan, b| Command::NameVersion { plan, name: b.name, seq: b.seq.into_text() }
);
endpoint!(
    /// Add a node to the plan.
    add_node, "/api/plans/{plan}/nodes", "plan", AddNodeBody,
    |plan, b| Command::AddNode {
        plan, node: b.node, parent: b.parent, order: b.order, code: b.code, title: b.title, text: b.text,
        details: b.details, departments: b.departments,
    }
);
endpoint!(
    /// Change a node's code or title.
    rename_node, "/api/nodes/{id}/rename", "id", RenameNodeBody,
    |node, b| Command::RenameNode { node, code: b.code, title: b.title }
);
endpoint!(
    /// Replace a node's text.
    revise_node_text, "/api/nodes/{id}/text", "id", NodeTextBody,
    |node, b| Command::ReviseNodeText { node, text: b.text }
);
endpoint!(
    /// Replace a node's labelled texts.
    revise_node_details, "/api/nodes/{id}/details", "id", NodeDetailsBody,
    |node, b| Command::ReviseNodeDetails { node, details: b.details }
);
endpoint!(
    /// Move a node under another parent or to another place among its siblings.
    move_node, "/api/nodes/{id}/move", "id", MoveNodeBody,
    |node, b| Command::MoveNode { node, parent: b.parent, order: b.order }
);
endpoint!(
    /// Retire a node (it stays in the history).
    retire_node, "/api/nodes/{id}/retire", "id", MetaOnlyBody,
    |node, b| { let _ = b; Command::RetireNode { node } }
);
endpoint!(
    /// Make a retired node live again where it stood.
    reinstate_node, "/api/nodes/{id}/reinstate", "id", MetaOnlyBody,
    |node, b| { let _ = b; Command::ReinstateNode { node } }
);
endpoint!(
    /// List the node under another node as well (再掲).
    cross_list_node, "/api/nodes/{id}/cross-list", "id", UnderBody,
    |node, b| Command::CrossListNode { node, under: b.under }
);
endpoint!(
    /// Remove one of the node's 再掲 listings.
    remove_cross_listing, "/api/nodes/{id}/uncross", "id", UnderBody,
    |node, b| Command::RemoveCrossListing { node, under: b.under }
);
endpoint!(
    /// Record that the node is a 再掲 of an item outside the ledger.
    cross_reference_node, "/api/nodes/{id}/cross-reference", "id", CrossReferenceBody,
    |node, b| Command::CrossReferenceNode { node, reference: b.reference }
);
endpoint!(
    /// Replace the node's departments (担当課).
    assign_departments, "/api/nodes/{id}/departments", "id", DepartmentsBody,
    |node, b| Command::AssignDepartments { node, departments: b.departments }
);
endpoint!(
    /// Set the node's milestone for a fiscal year.
    set_milestone, "/api/nodes/{id}/milestones", "id", MilestoneBody,
    |node, b| Command::SetMilestone { node, fiscal_year: b.fiscal_year, text: b.text }
);
endpoint!(
    /// Withdraw the node's milestone for a fiscal year.
    withdraw_milestone, "/api/nodes/{id}/milestones/withdraw", "id", FiscalYearBody,
    |node, b| Command::WithdrawMilestone { node, fiscal_year: b.fiscal_year }
);
endpoint!(
    /// Define an indicator of the node.
    define_indicator, "/api/nodes/{id}/indicators", "id", DefineIndicatorBody,
    |node, b| Command::DefineIndicator {
        indicator: b.indicator, node, name: b.name, unit: b.unit, direction: b.direction, cumulative: b.cumulative,
        note: b.note,
    }
);
endpoint!(
    /// Revise the indicator's name, unit, direction, cumulation or note.
    revise_indicator, "/api/indicators/{id}/revise", "id", ReviseIndicatorBody,
    |indicator, b| Command::ReviseIndicator {
        indicator, name: b.name, unit: b.unit, direction: b.direction, cumulative: b.cumulative, note: b.note,
    }
);
endpoint!(
    /// Retire the indicator (it stays in the history).
    retire_indicator, "/api/indicators/{id}/retire", "id", MetaOnlyBody,
    |indicator, b| { let _ = b; Command::RetireIndicator { indicator } }
);
endpoint!(
    /// Make a retired indicator live again.
    reinstate_indicator, "/api/indicators/{id}/reinstate", "id", MetaOnlyBody,
    |indicator, b| { let _ = b; Command::ReinstateIndicator { indicator } }
);
endpoint!(
    /// Set the indicator's baseline (基準値).
    set_baseline, "/api/indicators/{id}/baseline", "id", BaselineBody,
    |indicator, b| Command::SetBaseline { indicator, value: b.value, fiscal_year: b.fiscal_year, note: b.note }
);
endpoint!(
    /// Withdraw the indicator's baseline.
    withdraw_baseline, "/api/indicators/{id}/baseline/withdraw", "id", MetaOnlyBody,
    |indicator, b| { let _ = b; Command::WithdrawBaseline { indicator } }
);
endpoint!(
    /// Set (or revise) the indicator's target for a fiscal year.
    set_target, "/api/indicators/{id}/targets", "id", TargetBody,
    |indicator, b| Command::SetTarget { indicator, fiscal_year: b.fiscal_year, target: b.target }
);
endpoint!(
    /// Withdraw the indicator's target for a fiscal year.
    withdraw_target, "/api/indicators/{id}/targets/withdraw", "id", FiscalYearBody,
    |indicator, b| Command::WithdrawTarget { indicator, fiscal_year: b.fiscal_year }
);
endpoint!(
    /// Report the indicator's actual for a fiscal year.
    report_progress, "/api/indicators/{id}/progress", "id", ProgressBody,
    |indicator, b| Command::ReportProgress {
        indicator, fiscal_year: b.fiscal_year, value: b.value, as_of: b.as_of, note: b.note,
    }
);
endpoint!(
    /// Correct an actual already reported for a fiscal year.
    correct_progress, "/api/indicators/{id}/progress/correct", "id", ProgressBody,
    |indicator, b| Command::CorrectProgress {
        indicator, fiscal_year: b.fiscal_year, value: b.value, as_of: b.as_of, note: b.note,
    }
);

/// `POST /api/plans`: create a plan.
#[utoipa::path(
    post,
    path = "/api/plans",
    tag = "writes",
    request_body(content = CreatePlanBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the plan's creation event; the plan's ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn create_plan(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.writer()?;
    let mut b: CreatePlanBody = parse_body(&headers, &body)?;
    let meta = b.meta();
    let cmd = Command::CreatePlan {
        plan: b.plan,
        municipality: b.municipality,
        municipality_code: b.municipality_code,
        title: b.title,
        kind: b.kind,
        period_from: b.period_from,
        period_to: b.period_to,
        status: b.status,
        levels: b.levels,
        predecessor: b.predecessor,
    };
    append(&s, &caller, &headers, meta, vec![cmd], false).await
}

/// `POST /api/plans/{plan}/commands`: several commands at once, all or none.
#[utoipa::path(
    post,
    path = "/api/plans/{plan}/commands",
    tag = "writes",
    params(("plan" = String, Path, description = "The plan every command concerns")),
    request_body(content = CommandsBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: every command's events, in order", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn commands(
    State(s): State<AppState>,
    caller: Caller,
    Path(plan): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.writer()?;
    let mut b: CommandsBody = parse_body(&headers, &body)?;
    let meta = b.meta();
    if b.commands.is_empty() {
        return Err(Problem::bad("commands", "must not be empty"));
    }
    let plan_id = PlanId::new(&plan).map_err(|_| Problem::not_found("plan", format!("no plan {plan:?}")))?;
    {
        let p = s.ledger.read();
        if !p.state.plans.contains_key(&plan_id) && !matches!(b.commands[0], Command::CreatePlan { .. }) {
            return Err(Problem::not_found("plan", format!("no plan {plan:?}")));
        }
        for (i, c) in b.commands.iter().enumerate() {
            if matches!(c, Command::RecordRestore { .. }) {
                return Err(Problem::bad(
                    &format!("commands[{i}].command"),
                    "record_restore is appended by the restore endpoints only",
                ));
            }
            if let Some(other) = c.target_plan(&p.state).filter(|t| t != &plan_id) {
                return Err(Problem::bad(
                    &format!("commands[{i}]"),
                    format!("concerns plan {other}, not {plan}; one request changes one plan"),
                ));
            }
        }
    }
    append(&s, &caller, &headers, meta, b.commands, true).await
}

/// What a restore endpoint restores: the kind its path names, so that `/api/nodes/{id}/restore` never restores a
/// plan that happens to bear the id.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Restores {
    Plan,
    Node,
    Indicator,
}

async fn restore_endpoint(
    s: AppState,
    caller: Caller,
    kind: Restores,
    target: String,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let principal = caller.writer()?;
    let mut b: RestoreBody = parse_body(&headers, &body)?;
    let meta = b.meta();
    if headers.contains_key(IDEMPOTENCY_KEY) {
        return Err(Problem::bad(
            "Idempotency-Key",
            "not taken by restore: a restore that went through leaves nothing to restore, so a retry is refused \
             (409) and changes nothing; send If-Match to make a retry safe",
        ));
    }
    let effective = match &meta.effective {
        Some(e) => projection::parse_effective("effective", e)?,
        None => projection::today_jst(),
    };
    let state_plan = {
        let p = s.ledger.read();
        let found = crate::restore::resolve_target(&p.state, &target).ok();
        let (field, what) = match kind {
            Restores::Plan => ("plan", "plan"),
            Restores::Node => ("node", "node"),
            Restores::Indicator => ("indicator", "indicator"),
        };
        match found {
            Some((plan, scope))
                if matches!(
                    (kind, &scope),
                    (Restores::Plan, RestoreScope::Plan)
                        | (Restores::Node, RestoreScope::Node { .. })
                        | (Restores::Indicator, RestoreScope::Indicator { .. })
                ) =>
            {
                plan
            }
            _ => return Err(Problem::not_found(field, format!("there is no {what} {target:?}"))),
        }
    };
    let expected = expected_version(&s, &headers, Some(&state_plan))?;
    let req = RestoreRequest {
        target,
        to: b.to,
        meta: principal.meta(meta.authority, meta.reason, effective),
        expected_version: expected,
        dry_run: b.dry_run,
        principal: Some(principal),
    };
    let out: RestoreOutcome = crate::restore::restore(&s.ledger, &req).await.map_err(|e| match e {
        RestoreError::Refused(e) => e.into(),
        RestoreError::Forbidden(d) => Problem::forbidden(&d.field, d.reason),
        RestoreError::Ledger(e) => refusal(e, false),
    })?;
    if out.dry_run {
        return Ok(Json(out).into_response());
    }
    let tag = current_plan_etag(out.plan.as_str(), out.version);
    Ok((StatusCode::CREATED, [(header::ETAG, tag)], Json(out)).into_response())
}

/// Declares a restore endpoint for one kind of target.
macro_rules! restore_endpoint {
    ($(#[doc = $doc:literal])* $name:ident, $path:tt, $param:tt, $kind:expr) => {
        $(#[doc = $doc])*
        #[utoipa::path(
            post,
            path = $path,
            tag = "writes",
            params(($param = String, Path, description = "What is restored")),
            request_body(content = RestoreBody, content_type = "application/json"),
            responses(
                (status = 201, description = "Restored: the compensating events and the `restored` event, each described old → new", body = Object, content_type = "application/json"),
                (status = 200, description = "A dry run: what would be appended", body = Object, content_type = "application/json")
            ),
            security(("bearer" = []))
        )]
        pub async fn $name(
            State(s): State<AppState>,
            caller: Caller,
            Path(target): Path<String>,
            headers: HeaderMap,
            body: Bytes,
        ) -> Result<Response, Problem> {
            restore_endpoint(s, caller, $kind, target, headers, body).await
        }
    };
}

restore_endpoint!(
    /// Restore the whole plan's content to a past point (admin), keeping every event in between.
    restore_plan, "/api/plans/{plan}/restore", "plan", Restores::Plan
);
restore_endpoint!(
    /// Restore one node's own content to a past point.
    restore_node, "/api/nodes/{id}/restore", "id", Restores::Node
);
restore_endpoint!(
    /// Restore one indicator's own content (definition, baseline, targets) to a past point.
    restore_indicator, "/api/indicators/{id}/restore", "id", Restores::Indicator
);

fn token_problem(e: TokenError) -> Problem {
    match e {
        TokenError::Invalid(d) => d.into(),
        other => Problem::internal(other),
    }
}

fn no_idempotency(headers: &HeaderMap) -> Result<(), Problem> {
    if headers.contains_key(IDEMPOTENCY_KEY) {
        return Err(Problem::bad("Idempotency-Key", "not taken by token management"));
    }
    Ok(())
}

/// `GET /api/tokens`: every token (admin).
#[utoipa::path(
    get,
    path = "/api/tokens",
    tag = "tokens",
    responses((status = 200, description = "Every token, live and revoked, oldest first; never a secret", body = [TokenRecord], content_type = "application/json")),
    security(("bearer" = []))
)]
pub async fn list_tokens(State(s): State<AppState>, caller: Caller) -> Result<Response, Problem> {
    caller.admin()?;
    let ledger = s.ledger.clone();
    let all = super::blocking(move || ledger.tokens().map_err(token_problem)).await?;
    Ok(([(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], Json(all)).into_response())
}

/// `POST /api/tokens`: create a token (admin). The secret is in this answer only.
#[utoipa::path(
    post,
    path = "/api/tokens",
    tag = "tokens",
    request_body(content = TokenSpec, content_type = "application/json"),
    responses((status = 201, description = "The new token and its secret, shown this once", body = Object, content_type = "application/json")),
    security(("bearer" = []))
)]
pub async fn create_token(
    State(s): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let admin = caller.admin()?.clone();
    no_idempotency(&headers)?;
    let spec: TokenSpec = parse_body(&headers, &body)?;
    let ledger = s.ledger.clone();
    let t: NewToken = super::blocking(move || ledger.create_token(&spec).map_err(token_problem)).await?;
    tracing::info!(by = %admin.name, token = %t.token.id, name = %t.token.name, role = %t.token.role, "token created");
    Ok((StatusCode::CREATED, [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], Json(t)).into_response())
}

/// `POST /api/tokens/{token}/revoke`: revoke a token by id or live name (admin).
#[utoipa::path(
    post,
    path = "/api/tokens/{token}/revoke",
    tag = "tokens",
    params(("token" = String, Path, description = "The token's id, or the name of a live token")),
    responses((status = 200, description = "The revoked token", body = TokenRecord, content_type = "application/json")),
    security(("bearer" = []))
)]
pub async fn revoke_token(
    State(s): State<AppState>,
    caller: Caller,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let admin = caller.admin()?.clone();
    no_idempotency(&headers)?;
    let ledger = s.ledger.clone();
    let t = super::blocking(move || ledger.revoke_token(&token).map_err(token_problem)).await?;
    tracing::info!(by = %admin.name, token = %t.id, name = %t.name, "token revoked");
    Ok(Json(t).into_response())
}
