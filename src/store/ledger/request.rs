//! What a write asks of the ledger and what it is told back: the request (commands, meta, the plan it is
//! addressed to, its precondition and retry key) and the appended events.

use serde::{Deserialize, Serialize};

use crate::core::domain::{Command, EventHash, Meta, PlanId, Seq};

/// What a write's caller expects of the plan it writes to (HTTP `If-Match`), judged by the writer after
/// idempotency (so that an exact retry of a write that went through replays its outcome) and before deciding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Precondition {
    /// No expectation.
    #[default]
    None,
    /// The plan must exist (`If-Match: *`).
    Exists,
    /// The plan must be at one of these versions (empty: no version can match).
    Versions(Vec<u64>),
    /// The plan must be at a version one of these (plan id, version) tags names for it; a tag of another plan
    /// never matches (HTTP `If-Match` with the plan ETags the API answers).
    Tagged(Vec<(String, u64)>),
}

impl Precondition {
    /// Whether `plan` at `current` (`None`: there is no such plan) satisfies the expectation.
    pub fn admits(&self, plan: &PlanId, current: Option<u64>) -> bool {
        match (self, current) {
            (Precondition::None, _) => true,
            (Precondition::Exists, c) => c.is_some(),
            (Precondition::Versions(vs), Some(c)) => vs.contains(&c),
            (Precondition::Tagged(tags), Some(c)) => tags.iter().any(|(p, v)| p == plan.as_str() && *v == c),
            (Precondition::Versions(_) | Precondition::Tagged(_), None) => false,
        }
    }
}

/// Longest idempotency key taken, in visible ASCII characters (the caller's scope not counted).
pub const IDEMPOTENCY_KEY_MAX: usize = 128;

/// A retry key: the caller's `key`, unique within `scope` (an API token's id, so two callers' keys never meet;
/// empty at the console).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyKey {
    pub scope: String,
    pub key: String,
}

impl IdempotencyKey {
    pub fn new(scope: impl Into<String>, key: impl Into<String>) -> Self {
        Self { scope: scope.into(), key: key.into() }
    }

    /// Why the key is not one the ledger takes, if it is not: 1 to [`IDEMPOTENCY_KEY_MAX`] visible ASCII characters.
    pub fn problem(&self) -> Option<String> {
        if self.key.is_empty() || self.key.len() > IDEMPOTENCY_KEY_MAX {
            return Some(format!("must be 1 to {IDEMPOTENCY_KEY_MAX} characters"));
        }
        if !self.key.bytes().all(|b| b.is_ascii_graphic()) {
            return Some("must be visible ASCII without spaces".into());
        }
        None
    }

    /// The stored key: the scope and the key, so keys of different callers are different records.
    pub(super) fn stored(&self) -> String {
        if self.scope.is_empty() { self.key.clone() } else { format!("{}:{}", self.scope, self.key) }
    }
}

/// A request to append the events of one or more commands on one plan, atomically. Everything about it is judged
/// by the writer, in this order: the idempotency key (an exact retry replays the first outcome), the plan it is
/// addressed to, the precondition, then each command's authorization and rules against the state it meets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppendRequest {
    pub commands: Vec<Command>,
    /// Who, on what authority, why and from when; an `effective` of `None` is today in Japan by the writer's
    /// clock, the clock that stamps `recorded_at`.
    pub meta: Meta,
    /// The plan the request is addressed to (a batch names it in its path): every command must concern it, and it
    /// must exist unless the first command creates it. Refusals of an addressed request name the command as
    /// `commands[i]`.
    pub plan: Option<PlanId>,
    pub precondition: Precondition,
    /// A retry with the same key returns the original outcome instead of appending again.
    pub idempotency_key: Option<IdempotencyKey>,
    /// Set by the restore orchestration only: a `RecordRestore` command is taken in such a request alone.
    pub restore: bool,
}

impl AppendRequest {
    /// A request with no plan address, no precondition and no idempotency key.
    pub fn new(commands: Vec<Command>, meta: Meta) -> Self {
        Self { commands, meta, plan: None, precondition: Precondition::None, idempotency_key: None, restore: false }
    }

    /// The request, refused unless the plan is at `version`.
    pub fn expecting(mut self, version: Option<u64>) -> Self {
        if let Some(v) = version {
            self.precondition = Precondition::Versions(vec![v]);
        }
        self
    }

    pub fn with_key(mut self, key: Option<IdempotencyKey>) -> Self {
        self.idempotency_key = key;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendedEvent {
    pub seq: Seq,
    pub hash: EventHash,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appended {
    pub plan: PlanId,
    pub events: Vec<AppendedEvent>,
    /// The plan's version after the append.
    pub version: u64,
    /// True when this is the stored outcome of an earlier request with the same idempotency key.
    #[serde(default)]
    pub replayed: bool,
}
