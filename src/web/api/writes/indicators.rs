//! The writes on one indicator: its definition, baseline, targets and the actuals reported against them.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::{WriteOutcome, write_on};
use crate::web::api::bodies::{
    BaselineBody, CorrectionBody, ProgressBody, ReinstateIndicatorBody, RetireIndicatorBody, ReviseIndicatorBody,
    TargetBody, WithdrawBaselineBody, WithdrawTargetBody,
};
use crate::web::auth::Caller;
use crate::web::{AppState, Problem};

/// Revise the indicator's name, unit, direction, cumulation or note.
#[utoipa::path(
    post,
    path = "/api/indicators/{id}/revise",
    tag = "writes",
    params(("id" = String, Path, description = "The indicator written to")),
    request_body(content = ReviseIndicatorBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn revise_indicator(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<ReviseIndicatorBody>(s, caller, id, headers, body).await
}

/// Retire the indicator (it stays in the history).
#[utoipa::path(
    post,
    path = "/api/indicators/{id}/retire",
    tag = "writes",
    params(("id" = String, Path, description = "The indicator written to")),
    request_body(content = RetireIndicatorBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn retire_indicator(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<RetireIndicatorBody>(s, caller, id, headers, body).await
}

/// Make a retired indicator live again.
#[utoipa::path(
    post,
    path = "/api/indicators/{id}/reinstate",
    tag = "writes",
    params(("id" = String, Path, description = "The indicator written to")),
    request_body(content = ReinstateIndicatorBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn reinstate_indicator(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<ReinstateIndicatorBody>(s, caller, id, headers, body).await
}

/// Set the indicator's baseline (基準値).
#[utoipa::path(
    post,
    path = "/api/indicators/{id}/baseline",
    tag = "writes",
    params(("id" = String, Path, description = "The indicator written to")),
    request_body(content = BaselineBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn set_baseline(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<BaselineBody>(s, caller, id, headers, body).await
}

/// Withdraw the indicator's baseline.
#[utoipa::path(
    post,
    path = "/api/indicators/{id}/baseline/withdraw",
    tag = "writes",
    params(("id" = String, Path, description = "The indicator written to")),
    request_body(content = WithdrawBaselineBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn withdraw_baseline(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<WithdrawBaselineBody>(s, caller, id, headers, body).await
}

/// Set (or revise) the indicator's target for a fiscal year.
#[utoipa::path(
    post,
    path = "/api/indicators/{id}/targets",
    tag = "writes",
    params(("id" = String, Path, description = "The indicator written to")),
    request_body(content = TargetBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn set_target(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<TargetBody>(s, caller, id, headers, body).await
}

/// Withdraw the indicator's target for a fiscal year.
#[utoipa::path(
    post,
    path = "/api/indicators/{id}/targets/withdraw",
    tag = "writes",
    params(("id" = String, Path, description = "The indicator written to")),
    request_body(content = WithdrawTargetBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn withdraw_target(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<WithdrawTargetBody>(s, caller, id, headers, body).await
}

/// Report the indicator's actual for a fiscal year.
#[utoipa::path(
    post,
    path = "/api/indicators/{id}/progress",
    tag = "writes",
    params(("id" = String, Path, description = "The indicator written to")),
    request_body(content = ProgressBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn report_progress(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<ProgressBody>(s, caller, id, headers, body).await
}

/// Correct an actual already reported for a fiscal year.
#[utoipa::path(
    post,
    path = "/api/indicators/{id}/progress/correct",
    tag = "writes",
    params(("id" = String, Path, description = "The indicator written to")),
    request_body(content = CorrectionBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Appended: the events with their seqs and hashes; the plan's new ETag in the header", body = WriteOutcome, content_type = "application/json")
    ),
    security(("bearer" = []))
)]
pub async fn correct_progress(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    write_on::<CorrectionBody>(s, caller, id, headers, body).await
}
