//! Who is calling: the `Authorization: Bearer` token of a request, looked up by its hash on every request (so a
//! revocation takes effect at once), and the rules that turn it into the principal a write is appended for.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::{AppState, Problem};
use crate::core::domain::{Principal, Role};
use crate::store::tokens::{Authenticated, TokenRecord};

/// The caller of a request.
#[derive(Debug, Clone)]
pub enum Caller {
    Anonymous,
    Token(TokenRecord),
}

impl Caller {
    /// The principal a write is appended for: 401 without a token, 403 for a role that only reads. What each
    /// command may touch is judged by the ledger's writer against the state it decides the command on.
    pub fn writer(&self) -> Result<Principal, Problem> {
        match self {
            Caller::Anonymous => Err(Problem::unauthorized(
                "this endpoint writes to the ledger and needs `Authorization: Bearer <token>`",
                false,
            )),
            Caller::Token(t) if t.role == Role::Auditor => {
                Err(Problem::forbidden("Authorization", "the auditor role reads only"))
            }
            Caller::Token(t) => Ok(t.principal()),
        }
    }

    /// The token of an admin: 401 without a token, 403 for any other role.
    pub fn admin(&self) -> Result<&TokenRecord, Problem> {
        match self {
            Caller::Anonymous => Err(Problem::unauthorized("managing tokens needs an admin token", false)),
            Caller::Token(t) if t.role == Role::Admin => Ok(t),
            Caller::Token(t) => Err(Problem::forbidden(
                "Authorization",
                format!("managing tokens needs the admin role, not {}", t.role),
            )),
        }
    }

    /// The token's id, which scopes its idempotency keys.
    pub fn token_id(&self) -> Option<&str> {
        match self {
            Caller::Anonymous => None,
            Caller::Token(t) => Some(&t.id),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Caller::Anonymous);
        };
        let bad = || Problem::unauthorized("expected `Authorization: Bearer <token>`", true);
        let value = value.to_str().map_err(|_| bad())?;
        let (scheme, secret) = value.trim().split_once(' ').ok_or_else(bad)?;
        if !scheme.eq_ignore_ascii_case("bearer") || secret.trim().is_empty() {
            return Err(bad());
        }
        let secret = secret.trim().to_string();
        let ledger = state.ledger.clone();
        let found = super::blocking(move || ledger.authenticate(&secret).map_err(Problem::internal)).await?;
        match found {
            Authenticated::Valid(t) => Ok(Caller::Token(t)),
            Authenticated::Revoked(t) => Err(Problem::unauthorized(format!("token {} has been revoked", t.id), true)),
            Authenticated::Unknown => Err(Problem::unauthorized("the token is not known to this ledger", true)),
        }
    }
}
