//! API tokens: created with a role and departments, shown once, stored only as the BLAKE3 hash of the secret,
//! listed and revoked by id or name. A token stands for a [`Principal`], whose name every event it appends carries
//! as its actor.

use std::sync::Mutex;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::core::domain::ids::id_problem;
use crate::core::domain::{DomainError, Principal, Role};
use crate::store::ledger::Ledger;
use crate::store::log::LogError;

/// Every secret starts with this, so a leaked one is recognisable (and greppable) as a planledger token.
pub const PREFIX: &str = "plt_";

/// Hex digits of the secret's hash that name a token in lists and logs.
const ID_LEN: usize = 12;

/// Serializes token changes in this process, so that two creations cannot both take one name. The store allows
/// one process, so this is every writer.
static TOKEN_WRITES: Mutex<()> = Mutex::new(());

/// A token as stored (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
pub struct TokenRecord {
    /// The first 12 hex digits of the secret's hash: safe to show and log.
    pub id: String,
    /// The actor id of the events the token appends.
    pub name: String,
    pub display_name: String,
    pub role: Role,
    pub departments: Vec<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenRecord {
    pub fn principal(&self) -> Principal {
        Principal {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
            departments: self.departments.clone(),
        }
    }

    pub fn active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// A token just created: the secret exists only here and in what is shown to its holder.
#[derive(Debug, Clone, Serialize)]
pub struct NewToken {
    pub secret: String,
    pub token: TokenRecord,
}

/// What a presented secret turns out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authenticated {
    Valid(TokenRecord),
    Revoked(TokenRecord),
    Unknown,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    Invalid(DomainError),
    #[error(transparent)]
    Log(#[from] LogError),
}

impl From<DomainError> for TokenError {
    fn from(e: DomainError) -> Self {
        TokenError::Invalid(e)
    }
}

/// What a new token is to be.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    /// The actor id its events carry: ASCII letters, digits, `.`, `_`, `-`; unique among live tokens.
    pub name: String,
    /// The actor's name as people read it (default: `name`).
    #[serde(default)]
    pub display_name: Option<String>,
    pub role: Role,
    /// The departments (担当課) whose nodes and indicators it may change, as the plans name them; an editor and a
    /// reporter need at least one.
    #[serde(default)]
    pub departments: Vec<String>,
}

fn hash(secret: &str) -> [u8; 32] {
    *blake3::hash(secret.as_bytes()).as_bytes()
}

fn one_line(field: &str, s: &str) -> Result<(), DomainError> {
    if s.trim().is_empty() {
        return Err(DomainError::invalid(field, "must not be blank"));
    }
    if s.chars().any(char::is_control) {
        return Err(DomainError::invalid(field, "must be one line without control characters"));
    }
    if s.chars().count() > 200 {
        return Err(DomainError::invalid(field, "must be at most 200 characters"));
    }
    Ok(())
}

impl TokenSpec {
    fn check(&self) -> Result<(), DomainError> {
        if let Some(p) = id_problem(&self.name) {
            return Err(DomainError::invalid("name", p));
        }
        if let Some(d) = &self.display_name {
            one_line("display_name", d)?;
        }
        for (i, d) in self.departments.iter().enumerate() {
            one_line(&format!("departments[{i}]"), d)?;
            if self.departments[..i].contains(d) {
                return Err(DomainError::invalid(format!("departments[{i}]"), format!("{d:?} is named twice")));
            }
        }
        if self.role.needs_departments() && self.departments.is_empty() {
            return Err(DomainError::invalid(
                "departments",
                format!("the {} role acts for departments; name at least one", self.role),
            ));
        }
        Ok(())
    }
}

fn decode(hash: &[u8; 32], bytes: &[u8]) -> Result<TokenRecord, LogError> {
    serde_json::from_slice(bytes)
        .map_err(|e| LogError::Corruption { seq: None, what: format!("token {}: {e}", hex::encode(&hash[..6])) })
}

fn encode(r: &TokenRecord) -> Vec<u8> {
    // Invariant: strings, a role and dates always serialize.
    serde_json::to_vec(r).expect("token records serialize")
}

impl Ledger {
    /// Creates a token; the secret in the answer is shown once and never stored.
    pub fn create_token(&self, spec: &TokenSpec) -> Result<NewToken, TokenError> {
        spec.check()?;
        let _guard = TOKEN_WRITES.lock().unwrap_or_else(|e| e.into_inner());
        if self.tokens()?.iter().any(|t| t.active() && t.name == spec.name) {
            return Err(DomainError::conflict("name", format!("a live token is already named {:?}", spec.name)).into());
        }
        let mut raw = [0u8; 32];
        getrandom::getrandom(&mut raw)
            .map_err(|e| LogError::Corruption { seq: None, what: format!("no randomness for a token: {e}") })?;
        let secret = format!("{PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw));
        let h = hash(&secret);
        let record = TokenRecord {
            id: hex::encode(h)[..ID_LEN].to_string(),
            name: spec.name.clone(),
            display_name: spec.display_name.clone().unwrap_or_else(|| spec.name.clone()),
            role: spec.role,
            departments: spec.departments.clone(),
            created_at: crate::core::record::to_micros_pub(Utc::now()),
            revoked_at: None,
        };
        if !self.log().token_put(&h, None, &encode(&record))? {
            // 256 random bits collide only if the randomness is broken.
            return Err(LogError::Corruption { seq: None, what: "a new token's hash is already stored".into() }.into());
        }
        Ok(NewToken { secret, token: record })
    }

    /// Every token, live and revoked, oldest first.
    pub fn tokens(&self) -> Result<Vec<TokenRecord>, TokenError> {
        let mut out = Vec::new();
        for (h, bytes) in self.log().tokens()? {
            out.push(decode(&h, &bytes)?);
        }
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    /// Revokes the live token with this id or name; from the next request on it is refused.
    pub fn revoke_token(&self, which: &str) -> Result<TokenRecord, TokenError> {
        let _guard = TOKEN_WRITES.lock().unwrap_or_else(|e| e.into_inner());
        let all = self.log().tokens()?;
        let mut found = None;
        for (h, bytes) in &all {
            let r = decode(h, bytes)?;
            if r.id == which || (r.name == which && r.active()) {
                found = Some((h, bytes, r));
                break;
            }
        }
        let Some((h, old, mut r)) = found else {
            return Err(DomainError::not_found("token", format!("no token with id or live name {which:?}")).into());
        };
        if !r.active() {
            return Err(DomainError::conflict("token", format!("token {} is already revoked", r.id)).into());
        }
        r.revoked_at = Some(crate::core::record::to_micros_pub(Utc::now()));
        if !self.log().token_put(h, Some(old), &encode(&r))? {
            return Err(
                DomainError::conflict("token", "the token changed while it was being revoked; try again").into()
            );
        }
        Ok(r)
    }

    /// Looks a presented secret up.
    pub fn authenticate(&self, secret: &str) -> Result<Authenticated, TokenError> {
        let h = hash(secret);
        Ok(match self.log().token(&h)? {
            None => Authenticated::Unknown,
            Some(bytes) => {
                let r = decode(&h, &bytes)?;
                if r.active() { Authenticated::Valid(r) } else { Authenticated::Revoked(r) }
            }
        })
    }
}
