//! The writes on one node of a plan's tree: texts, structure, cross-listings, departments, milestones, and
//! the indicators defined on it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::{WriteOutcome, write_on};
use crate::web::api::bodies::{
    CrossListBody, CrossReferenceBody, DefineIndicatorBody, DepartmentsBody, MilestoneBody, MoveNodeBody,
    NodeDetailsBody, NodeTextBody, ReinstateNodeBody, RenameNodeBody, RetireNodeBody, UncrossBody,
    WithdrawMilestoneBody,
};
use crate::web::auth::Caller;
use crate::web::{AppState, Problem};

/// Change a node's code or title.
#[utoipa::path(
    post,
    path = "/api/nodes/{id}/rename",
    tag = "writes",
    params(("id" = String, Path, description = "The node written to")),
    request_body(content = RenameNodeBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn rename_node(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<RenameNodeBody>(s, caller, id, headers, body).await
}

/// Replace a node's text.
#[utoipa::path(
    post,
    path = "/api/nodes/{id}/text",
    tag = "writes",
    params(("id" = String, Path, description = "The node written to")),
    request_body(content = NodeTextBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn revise_node_text(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<NodeTextBody>(s, caller, id, headers, body).await
}

/// Replace a node's labelled texts.
#[utoipa::path(
    post,
    path = "/api/nodes/{id}/details",
    tag = "writes",
    params(("id" = String, Path, description = "The node written to")),
    request_body(content = NodeDetailsBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn revise_node_details(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<NodeDetailsBody>(s, caller, id, headers, body).await
}

/// Move a node under another parent or to another place among its siblings.
#[utoipa::path(
    post,
    path = "/api/nodes/{id}/move",
    tag = "writes",
    params(("id" = String, Path, description = "The node written to")),
    request_body(content = MoveNodeBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn move_node(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<MoveNodeBody>(s, caller, id, headers, body).await
}

/// Retire a node (it stays in the history).
#[utoipa::path(
    post,
    path = "/api/nodes/{id}/retire",
    tag = "writes",
    params(("id" = String, Path, description = "The node written to")),
    request_body(content = RetireNodeBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn retire_node(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<RetireNodeBody>(s, caller, id, headers, body).await
}

/// Make a retired node live again where it stood.
#[utoipa::path(
    post,
    path = "/api/nodes/{id}/reinstate",
    tag = "writes",
    params(("id" = String, Path, description = "The node written to")),
    request_body(content = ReinstateNodeBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn reinstate_node(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<ReinstateNodeBody>(s, caller, id, headers, body).await
}

/// List the node under another node as well (再掲).
#[utoipa::path(
    post,
    path = "/api/nodes/{id}/cross-list",
    tag = "writes",
    params(("id" = String, Path, description = "The node written to")),
    request_body(content = CrossListBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn cross_list_node(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<CrossListBody>(s, caller, id, headers, body).await
}

/// Remove one of the node's 再掲 listings.
#[utoipa::path(
    post,
    path = "/api/nodes/{id}/uncross",
    tag = "writes",
    params(("id" = String, Path, description = "The node written to")),
    request_body(content = UncrossBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn remove_cross_listing(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<UncrossBody>(s, caller, id, headers, body).await
}

/// Record that the node is a 再掲 of an item outside the ledger.
#[utoipa::path(
    post,
    path = "/api/nodes/{id}/cross-reference",
    tag = "writes",
    params(("id" = String, Path, description = "The node written to")),
    request_body(content = CrossReferenceBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn cross_reference_node(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<CrossReferenceBody>(s, caller, id, headers, body).await
}

/// Replace the node's departments (担当課).
#[utoipa::path(
    post,
    path = "/api/nodes/{id}/departments",
    tag = "writes",
    params(("id" = String, Path, description = "The node written to")),
    request_body(content = DepartmentsBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn assign_departments(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<DepartmentsBody>(s, caller, id, headers, body).await
}

/// Set the node's milestone for a fiscal year.
#[utoipa::path(
    post,
    path = "/api/nodes/{id}/milestones",
    tag = "writes",
    params(("id" = String, Path, description = "The node written to")),
    request_body(content = MilestoneBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn set_milestone(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<MilestoneBody>(s, caller, id, headers, body).await
}

/// Withdraw the node's milestone for a fiscal year.
#[utoipa::path(
    post,
    path = "/api/nodes/{id}/milestones/withdraw",
    tag = "writes",
    params(("id" = String, Path, description = "The node written to")),
    request_body(content = WithdrawMilestoneBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn withdraw_milestone(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<WithdrawMilestoneBody>(s, caller, id, headers, body).await
}

/// Define an indicator of the node.
#[utoipa::path(
    post,
    path = "/api/nodes/{id}/indicators",
    tag = "writes",
    params(("id" = String, Path, description = "The node written to")),
    request_body(content = DefineIndicatorBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn define_indicator(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<DefineIndicatorBody>(s, caller, id, headers, body).await
}
