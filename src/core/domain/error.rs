//! The domain's refusal: which field, why, and what kind of refusal it is.

use serde::Serialize;

/// How a refusal should be understood by a boundary (CLI exit code, HTTP status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The input is malformed or breaks a rule.
    Invalid,
    /// The input names something that does not exist.
    NotFound,
    /// The input is well-formed but conflicts with the current state (duplicate id, retired entity, unchanged).
    Conflict,
}

/// A command was refused. Nothing was appended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{field}: {reason}")]
pub struct DomainError {
    pub kind: ErrorKind,
    pub field: String,
    pub reason: String,
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Invalid, field: field.into(), reason: reason.into() }
    }

    pub fn not_found(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { kind: ErrorKind::NotFound, field: field.into(), reason: reason.into() }
    }

    pub fn conflict(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Conflict, field: field.into(), reason: reason.into() }
    }

    /// Prefixes the field with its context, e.g. `commands[3].target`.
    pub fn within(mut self, context: &str) -> Self {
        self.field = format!("{context}.{}", self.field);
        self
    }
}
