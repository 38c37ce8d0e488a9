//! Token management under `/api/tokens` (admin only): list, create (the secret is in that answer only), revoke.
//! Tokens are access control beside the log, not events in it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::bodies::parse_body;
use super::writes::IDEMPOTENCY_KEY;
use crate::store::tokens::{NewToken, TokenError, TokenRecord, TokenSpec};
use crate::web::auth::Caller;
use crate::web::{AppState, Problem};

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
    let all = crate::web::blocking(move || ledger.tokens().map_err(token_problem)).await?;
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
    let t: NewToken = crate::web::blocking(move || ledger.create_token(&spec).map_err(token_problem)).await?;
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
    let t = crate::web::blocking(move || ledger.revoke_token(&token).map_err(token_problem)).await?;
    tracing::info!(by = %admin.name, token = %t.id, name = %t.name, "token revoked");
    Ok(Json(t).into_response())
}
