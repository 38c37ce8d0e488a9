//! RFC 9457 problem details: the one shape of every 4xx and 5xx the API answers, and the mapping to it from the
//! library's refusals and failures.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{BODY_LIMIT, REQUEST_ID, is_api};

use super::conditional::current_plan_etag;
use crate::core::audit::merkle::ProofError;
use crate::core::domain::clock::stored;
use crate::core::domain::{DomainError, ErrorKind};
use crate::query::QueryError;
use crate::store::LogError;
use crate::store::ledger::LedgerError;
use crate::store::restore::RestoreError;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// A problem a handler answers with. `request_id` and `instance` are filled in by the problem middleware, which
/// knows the request; an internal cause is logged there with the request id and never sent.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    pub title: String,
    pub detail: String,
    pub field: Option<String>,
    /// What went wrong inside, for the log only.
    pub cause: Option<String>,
    /// What few problems carry, boxed so that every `Result<_, Problem>` stays small.
    pub more: Option<Box<More>>,
}

/// The parts of a problem that only some have.
#[derive(Debug, Clone, Default)]
pub struct More {
    /// The plan's current version, on a failed `If-Match` (412).
    pub current_version: Option<u64>,
    /// Headers the answer carries besides the body's (`WWW-Authenticate` on a 401, the current `ETag` on a 412).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// The body as sent.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemBody {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub instance: String,
    /// The parameter at fault; absent when the problem is not about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub field: Option<String>,
    /// On a 412 (a failed `If-Match`): the plan's version now; its `ETag` is in the answer's header.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub current_version: Option<u64>,
    pub request_id: String,
}

impl Problem {
    pub fn new(status: StatusCode, field: Option<&str>, detail: impl Into<String>) -> Self {
        Self {
            status,
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            detail: detail.into(),
            field: field.map(str::to_string),
            cause: None,
            more: None,
        }
    }

    /// A header the answer carries (e.g. `WWW-Authenticate`).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.more.get_or_insert_with(Default::default).headers.push((name, value));
        self
    }

    /// The plan's version now, on a 412.
    pub fn with_current_version(mut self, version: Option<u64>) -> Self {
        self.more.get_or_insert_with(Default::default).current_version = version;
        self
    }

    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        self.more.as_ref().map_or(&[], |m| &m.headers)
    }

    /// No credentials, or credentials that name no live token (401, with the RFC 6750 challenge).
    pub fn unauthorized(detail: impl Into<String>, invalid_token: bool) -> Self {
        let challenge = if invalid_token {
            "Bearer realm=\"planledger\", error=\"invalid_token\""
        } else {
            "Bearer realm=\"planledger\""
        };
        Self::new(StatusCode::UNAUTHORIZED, Some("Authorization"), detail)
            .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge))
    }

    /// A caller known but not allowed (403), naming the field the refusal is about.
    pub fn forbidden(field: &str, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, Some(field), reason)
    }

    /// A malformed or out-of-range parameter.
    pub fn bad(field: &str, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(field), reason)
    }

    /// An id that names nothing.
    pub fn not_found(field: &str, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, Some(field), reason)
    }

    /// A failure inside the server: the client learns only that it happened and the request id.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut p = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "the server failed to answer; the request id names the failure in the server's log",
        );
        p.cause = Some(cause.to_string());
        p
    }

    /// The service cannot take the request now but will (a disk refusing writes): 503 with `Retry-After`.
    pub fn unavailable(detail: impl Into<String>, retry_after: &'static str) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, None, detail)
            .with_header(header::RETRY_AFTER, HeaderValue::from_static(retry_after))
    }

    /// The `type` URI: a stable name per status, as the API documents them.
    pub fn type_uri(status: StatusCode) -> String {
        format!("https://planledger.invalid/problems/{}", status.as_u16())
    }

    pub fn body(&self, instance: &str, request_id: &str) -> ProblemBody {
        ProblemBody {
            type_: Self::type_uri(self.status),
            title: self.title.clone(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            instance: instance.to_string(),
            field: self.field.clone(),
            current_version: self.more.as_ref().and_then(|m| m.current_version),
            request_id: request_id.to_string(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        // The body is written by the problem middleware, which knows the request id and path; the problem travels
        // to it as an extension.
        let mut r = self.status.into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        r.extensions_mut().insert(self);
        r
    }
}

impl From<DomainError> for Problem {
    fn from(e: DomainError) -> Self {
        let status = match e.kind {
            ErrorKind::Invalid => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
        };
        Self::new(status, Some(&e.field), e.reason)
    }
}

/// Maps a proof request's refusal to the parameter it is about. `size_field` names the parameter that carried the
/// tree size (`size` for inclusion, `to` for consistency), `first_field` the other one.
pub fn proof_problem(e: ProofError, first_field: &str, size_field: &str) -> Problem {
    let field = match &e {
        ProofError::IndexOutOfRange { .. } | ProofError::SizesReversed { .. } | ProofError::EmptyFirstTree => {
            first_field
        }
        ProofError::SizeBeyondLedger { .. } => size_field,
        // Verification errors cannot come out of proof generation.
        other => return Problem::internal(other),
    };
    Problem::bad(field, e.to_string())
}

/// `commands[i].field` for a refusal inside a batch addressed to a plan; the bare field otherwise.
fn command_field(command: Option<usize>, field: &str) -> String {
    match (command, field) {
        (None, f) => f.to_string(),
        (Some(i), "") => format!("commands[{i}]"),
        (Some(i), f) => format!("commands[{i}].{f}"),
    }
}

impl From<LedgerError> for Problem {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Refused { command, error } => {
                let mut p: Problem = error.into();
                p.field = p.field.map(|f| command_field(command, &f));
                p
            }
            LedgerError::Forbidden { command, denied } => {
                Self::forbidden(&command_field(command, &denied.field), denied.reason)
            }
            LedgerError::VersionConflict { ref plan, current, .. } => {
                let p = Self::new(StatusCode::PRECONDITION_FAILED, Some("If-Match"), e.to_string())
                    .with_current_version(current);
                match current {
                    Some(v) => p.with_header(header::ETAG, current_plan_etag(plan.as_str(), v)),
                    None => p,
                }
            }
            LedgerError::IdempotencyMismatch { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("Idempotency-Key"),
                "this key was already used for a different request; a retry must repeat the request exactly",
            ),
            LedgerError::BadIdempotencyKey { .. } => Self::bad("Idempotency-Key", e.to_string()),
            LedgerError::Import(_) => Self::bad("lines", e.to_string()),
            LedgerError::Proof(p) => proof_problem(p, "seq", "size"),
            LedgerError::CommitFailed { .. } => {
                let mut p = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    None,
                    "the ledger could not store the change (nothing was appended); retry later",
                )
                .with_header(header::RETRY_AFTER, HeaderValue::from_static("5"));
                p.cause = Some(e.to_string());
                p
            }
            LedgerError::DiskRefused { .. } => Self::unavailable(e.to_string(), "5"),
            LedgerError::Store(LogError::Exists(_)) => Self::new(StatusCode::CONFLICT, None, e.to_string()),
            LedgerError::Store(ref l) if l.disk_refusal().is_some() || matches!(l, LogError::Reopening { .. }) => {
                // A read or a token change that met the disk refusing writes (or sled being reopened after it): the
                // store is not damaged, and the same request succeeds once the disk takes writes again.
                let detail = match l.disk_refusal() {
                    Some(r) => r.explain(std::path::Path::new("the data dir")),
                    None => e.to_string(),
                };
                let mut p = Self::unavailable(detail, "5");
                p.cause = Some(e.to_string());
                p
            }
            LedgerError::Store(_) => Self::internal(e),
            LedgerError::ClockBehind(c) => {
                // No Retry-After: a retry succeeds only when the clock reaches the last record or the operator gives
                // their word, which no client can wait out in seconds. The writer has logged both readings.
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    None,
                    format!(
                        "{c}. Nothing was appended. If the system clock is wrong, correct it; if it is right, the \
                         ledger recorded a future instant earlier: restart the server with \
                         PLANLEDGER_ACCEPT_CLOCK_AHEAD={} to date changes at that instant until the clock reaches it",
                        stored(&c.last)
                    ),
                )
            }
            LedgerError::Closed => {
                let mut p = Self::new(StatusCode::SERVICE_UNAVAILABLE, None, "the ledger is shutting down")
                    .with_header(header::RETRY_AFTER, HeaderValue::from_static("5"));
                p.cause = Some(e.to_string());
                p
            }
        }
    }
}

impl From<QueryError> for Problem {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Refused(d) => d.into(),
            QueryError::Ledger(l) => l.into(),
        }
    }
}

impl From<RestoreError> for Problem {
    fn from(e: RestoreError) -> Self {
        match e {
            RestoreError::Refused(d) => d.into(),
            RestoreError::Forbidden(denied) => Self::forbidden(&denied.field, denied.reason),
            RestoreError::Ledger(l) => l.into(),
        }
    }
}

/// Turns every 4xx and 5xx under `/api` into a problem document carrying the request id and path, and logs internal causes
/// with the same request id.
pub(super) async fn problems(req: Request, next: Next) -> Response {
    let request_id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
    let instance = req.uri().path().to_string();
    if !is_api(&instance) {
        return next.run(req).await;
    }
    let res = next.run(req).await;
    let status = res.status();
    if !status.is_client_error() && !status.is_server_error() {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let problem = match parts.extensions.remove::<Problem>() {
        Some(p) => p,
        None => {
            // A rejection by the framework or a layer: its plain-text reason is the detail for 4xx; a 5xx keeps
            // its reason in the log only.
            let text = axum::body::to_bytes(body, 4096).await.map(|b| String::from_utf8_lossy(&b).into_owned());
            let text = text.unwrap_or_default();
            let detail = match status {
                StatusCode::REQUEST_TIMEOUT => "the request took too long to answer".to_string(),
                StatusCode::PAYLOAD_TOO_LARGE => format!("request bodies are limited to {BODY_LIMIT} bytes"),
                StatusCode::METHOD_NOT_ALLOWED => "this resource does not take that method".to_string(),
                s if s.is_client_error() && !text.is_empty() => text,
                s if s.is_client_error() => "the request is malformed".to_string(),
                _ => {
                    let mut p = Problem::internal(if text.is_empty() { status.to_string() } else { text });
                    p.status = status;
                    return render(parts, p, &instance, &request_id);
                }
            };
            Problem::new(status, None, detail)
        }
    };
    render(parts, problem, &instance, &request_id)
}

fn render(mut parts: axum::http::response::Parts, p: Problem, instance: &str, request_id: &str) -> Response {
    if let Some(cause) = &p.cause {
        tracing::error!(request_id, status = p.status.as_u16(), cause = %cause, "request failed");
    }
    // Invariant: the body is strings and a number; it always serializes.
    let body = serde_json::to_vec(&p.body(instance, request_id)).expect("problem bodies serialize");
    parts.status = p.status;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::ETAG);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    for (name, value) in p.headers() {
        parts.headers.insert(name.clone(), value.clone());
    }
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_kinds_map_to_statuses_and_keep_the_field() {
        let p: Problem = DomainError::not_found("version", "no such version").into();
        assert_eq!(p.status, StatusCode::NOT_FOUND);
        assert_eq!(p.field.as_deref(), Some("version"));
        let p: Problem = DomainError::invalid("at", "not a seq").into();
        assert_eq!(p.status, StatusCode::BAD_REQUEST);
        let p: Problem = DomainError::conflict("plan", "retired").into();
        assert_eq!(p.status, StatusCode::CONFLICT);
    }

    #[test]
    fn internal_problems_keep_the_cause_out_of_the_body() {
        let p = Problem::internal("sled: disk on fire at /secret/path");
        let body = serde_json::to_string(&p.body("/api/plans", "rid-1")).unwrap();
        assert!(!body.contains("secret"), "{body}");
        assert!(body.contains("rid-1"));
        assert_eq!(p.cause.as_deref(), Some("sled: disk on fire at /secret/path"));
    }

    #[test]
    fn proof_errors_name_the_parameter() {
        let p = proof_problem(ProofError::SizeBeyondLedger { size: 9, available: 3 }, "from", "to");
        assert_eq!((p.status, p.field.as_deref()), (StatusCode::BAD_REQUEST, Some("to")));
        let p = proof_problem(ProofError::IndexOutOfRange { index: 5, size: 3 }, "seq", "size");
        assert_eq!(p.field.as_deref(), Some("seq"));
    }

    #[tokio::test]
    async fn internal_failures_answer_only_the_request_id() {
        use axum::Router;
        use axum::routing::get;
        use tower::ServiceExt;
        use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
        let app = Router::new()
            .route("/api/boom", get(|| async { Problem::internal("sled: /secret/path is on fire") }))
            .layer(axum::middleware::from_fn(problems))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid));
        let res = app.oneshot(Request::get("/api/boom").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(res.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
        let id = res.headers()[REQUEST_ID].to_str().unwrap().to_string();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["request_id"], id.as_str());
        assert_eq!(v["instance"], "/api/boom");
        assert!(!String::from_utf8_lossy(&body).contains("secret"), "{v}");
    }
}
