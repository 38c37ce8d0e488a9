//! The writes on one plan: creating it, changing its header, naming versions, adding nodes, and the batch of
//! several commands appended all or none.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::{WriteOutcome, append, write_on};
use crate::core::domain::PlanId;
use crate::web::api::bodies::{
    AddNodeBody, CommandsBody, CreatePlanBody, NameVersionBody, PlanStatusBody, RevisePlanBody, WriteBody, parse_body,
};
use crate::web::auth::Caller;
use crate::web::{AppState, Problem};

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
    append(&s, &caller, &headers, meta, vec![b.command()], None).await
}

/// `POST /api/plans/{plan}/commands`: several commands at once, all or none. The writer checks that every command
/// concerns the plan in the path and that the plan exists (unless the first command creates it).
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
    let plan = PlanId::new(&plan).map_err(|_| Problem::not_found("plan", format!("no plan {plan:?}")))?;
    append(&s, &caller, &headers, meta, b.commands, Some(plan)).await
}

/// Revise the plan's title, kind, period or level names.
#[utoipa::path(
    post,
    path = "/api/plans/{plan}/revise",
    tag = "writes",
    params(("plan" = String, Path, description = "The plan written to")),
    request_body(content = RevisePlanBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn revise_plan(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<RevisePlanBody>(s, caller, id, headers, body).await
}

/// Change the plan's status (draft, adopted, superseded).
#[utoipa::path(
    post,
    path = "/api/plans/{plan}/status",
    tag = "writes",
    params(("plan" = String, Path, description = "The plan written to")),
    request_body(content = PlanStatusBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn change_plan_status(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<PlanStatusBody>(s, caller, id, headers, body).await
}

/// Name the plan as it stood right after an event (a named version).
#[utoipa::path(
    post,
    path = "/api/plans/{plan}/versions",
    tag = "writes",
    params(("plan" = String, Path, description = "The plan written to")),
    request_body(content = NameVersionBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn name_version(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<NameVersionBody>(s, caller, id, headers, body).await
}

/// Add a node to the plan.
#[utoipa::path(
    post,
    path = "/api/plans/{plan}/nodes",
    tag = "writes",
    params(("plan" = String, Path, description = "The plan written to")),
    request_body(content = AddNodeBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn add_node(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<AddNodeBody>(s, caller, id, headers, body).await
}
