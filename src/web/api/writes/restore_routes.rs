//! The restore endpoints: a plan, a node or an indicator brought back to its content at a past point, as
//! compensating events plus one `Restored` event, appended as one request at the version the restore was planned
//! on. Each endpoint restores only the kind its path names.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{IDEMPOTENCY_KEY, effective};
use crate::store::restore::{RestoreKind, RestoreRequest};
use crate::web::api::bodies::{RestoreBody, WriteBody, parse_body};
use crate::web::auth::Caller;
use crate::web::conditional::{current_plan_etag, if_match};
use crate::web::{AppState, Problem};

/// Restores `target` (of the kind the path names) for the caller: 201 with what was appended, 200 for a dry run.
async fn restore(
    s: AppState,
    caller: Caller,
    kind: RestoreKind,
    target: String,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let principal = caller.writer()?;
    let mut b: RestoreBody = parse_body(&headers, &body)?;
    let meta = b.meta();
    // A rule of this interface, not of the ledger: a restore that went through leaves nothing to restore, so a
    // retry is refused (409) and changes nothing; If-Match is what makes a retry safe.
    if headers.contains_key(IDEMPOTENCY_KEY) {
        return Err(Problem::bad(
            "Idempotency-Key",
            "not taken by restore: a restore that went through leaves nothing to restore, so a retry is refused \
             (409) and changes nothing; send If-Match to make a retry safe",
        ));
    }
    let effective = effective(&meta)?;
    let req = RestoreRequest {
        target,
        kind: Some(kind),
        to: b.to,
        meta: principal.meta(meta.authority, meta.reason, effective),
        precondition: if_match(&headers),
        dry_run: b.dry_run,
        principal: Some(principal),
    };
    let out = s.ledger.restore(req).await?;
    if out.dry_run {
        return Ok(Json(out).into_response());
    }
    let tag = current_plan_etag(out.plan.as_str(), out.version);
    Ok((StatusCode::CREATED, [(header::ETAG, tag)], Json(out)).into_response())
}

/// Restore the whole plan's content to a past point (admin), keeping every event in between.
#[utoipa::path(
    post,
    path = "/api/plans/{plan}/restore",
    tag = "writes",
    params(("plan" = String, Path, description = "The plan restored")),
    request_body(content = RestoreBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Restored: the compensating events and the `restored` event, each described old → new", body = Object, content_type = "application/json"),
        (status = 200, description = "A dry run: what would be appended", body = Object, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn restore_plan(
    State(s): State<AppState>,
    caller: Caller,
    Path(target): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    restore(s, caller, RestoreKind::Plan, target, headers, body).await
}

/// Restore one node's own content to a past point.
#[utoipa::path(
    post,
    path = "/api/nodes/{id}/restore",
    tag = "writes",
    params(("id" = String, Path, description = "The node restored")),
    request_body(content = RestoreBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Restored: the compensating events and the `restored` event, each described old → new", body = Object, content_type = "application/json"),
        (status = 200, description = "A dry run: what would be appended", body = Object, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn restore_node(
    State(s): State<AppState>,
    caller: Caller,
    Path(target): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    restore(s, caller, RestoreKind::Node, target, headers, body).await
}

/// Restore one indicator's own content (definition, baseline, targets) to a past point.
#[utoipa::path(
    post,
    path = "/api/indicators/{id}/restore",
    tag = "writes",
    params(("id" = String, Path, description = "The indicator restored")),
    request_body(content = RestoreBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Restored: the compensating events and the `restored` event, each described old → new", body = Object, content_type = "application/json"),
        (status = 200, description = "A dry run: what would be appended", body = Object, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn restore_indicator(
    State(s): State<AppState>,
    caller: Caller,
    Path(target): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    restore(s, caller, RestoreKind::Indicator, target, headers, body).await
}
