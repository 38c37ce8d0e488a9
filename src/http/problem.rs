//! RFC 9457 problem details: the one shape of every 4xx and 5xx the API answers, and the mapping to it from the
//! library's refusals and failures.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::audit::merkle::ProofError;
use crate::domain::{DomainError, ErrorKind};
use crate::ledger::LedgerError;

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

impl From<LedgerError> for Problem {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Refused { error, .. } => error.into(),
            LedgerError::Forbidden { denied, .. } => Self::forbidden(&denied.field, denied.reason),
            LedgerError::IdempotencyMismatch { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("Idempotency-Key"),
                "this key was already used for a different request; a retry must repeat the request exactly",
            ),
            LedgerError::Proof(p) => proof_problem(p, "seq", "size"),
            LedgerError::Closed => {
                let mut p = Self::new(StatusCode::SERVICE_UNAVAILABLE, None, "the ledger is shutting down");
                p.cause = Some(e.to_string());
                p
            }
            other => Self::internal(other),
        }
    }
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
}
