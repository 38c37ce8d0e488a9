//! The write endpoints: every write command of the CLI as a `POST` with a JSON body, for a token's principal, with
//! `If-Match` (the plan version the client saw) and `Idempotency-Key` (a retry gets the original answer). Each
//! handler parses its body into its command and makes one call, [`append`]; the ledger's writer judges the key,
//! the precondition, the authorization and the rules, in that order, atomically with the append.

mod indicators;
mod nodes;
mod plans;
mod restore_routes;

pub use indicators::*;
pub use nodes::*;
pub use plans::*;
pub use restore_routes::*;

use axum::Json;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::bodies::{MetaFields, OnId, parse_body};
use crate::core::domain::{Command, PlanId};
use crate::core::projection;
use crate::store::ledger::{AppendRequest, Appended, IdempotencyKey};
use crate::web::auth::Caller;
use crate::web::conditional::{current_plan_etag, if_match};
use crate::web::{AppState, Problem};

pub(crate) const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
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

/// `Idempotency-Key`, scoped to the caller's token so that two callers' keys never meet. Its length and characters
/// are the writer's to judge.
fn idempotency_key(headers: &HeaderMap, caller: &Caller) -> Result<Option<IdempotencyKey>, Problem> {
    let Some(v) = headers.get(IDEMPOTENCY_KEY) else { return Ok(None) };
    let key = v.to_str().map_err(|_| Problem::bad("Idempotency-Key", "must be visible ASCII without spaces"))?;
    // Writes reach here only with a token (`Caller::writer` refused anonymous callers first).
    let token = caller.token_id().unwrap_or_default();
    Ok(Some(IdempotencyKey::new(format!("http:{token}"), key.trim())))
}

/// The effective date a body gives, if it gives one; the writer fills in today in Japan otherwise.
fn effective(meta: &MetaFields) -> Result<Option<chrono::NaiveDate>, Problem> {
    Ok(meta.effective.as_deref().map(|e| projection::parse_effective("effective", e)).transpose()?)
}

/// Appends `commands` for the caller, addressed to `plan` when the path names one plan for all of them. 201 with
/// the events; a retry of a key answers the same, marked replayed.
pub async fn append(
    s: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    meta: MetaFields,
    commands: Vec<Command>,
    plan: Option<PlanId>,
) -> Result<Response, Problem> {
    let principal = caller.writer()?;
    let effective = effective(&meta)?;
    let mut req = AppendRequest::new(commands, principal.meta(meta.authority, meta.reason, effective));
    req.plan = plan;
    req.precondition = if_match(headers);
    req.idempotency_key = idempotency_key(headers, caller)?;
    let a = s.ledger.append_as(req, Some(principal)).await?;
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

/// A write of one command on the plan, node or indicator the path names: authenticate, parse the body into its
/// command, append.
async fn write_on<B: OnId>(
    s: AppState,
    caller: Caller,
    id: String,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    caller.writer()?;
    let mut b: B = parse_body(&headers, &body)?;
    let meta = b.meta();
    append(&s, &caller, &headers, meta, vec![b.command(id)], None).await
}
