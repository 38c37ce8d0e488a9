//! Restore: brings a plan, a node or an indicator back to its content at a past point. Reads the ledger once,
//! resolves the point, replays the plan to it, plans the compensating commands (`core::compensate`) and appends
//! them with one `RecordRestore` in a single request at the version it read, so the history keeps everything in
//! between and a concurrent change to the plan refuses the whole restore. Planning reads the log, so async callers
//! run it on the blocking pool (`Ledger::restore`). The one entry point the CLI and the API call.

use serde::Serialize;

use crate::core::compensate::plan_restore;
use crate::core::domain::model::{Meta, RestorePoint, RestoreScope};
use crate::core::domain::{
    Command, Denied, DomainError, Entity, EventHash, IndicatorId, NodeId, PlanEvent, PlanId, Principal, State,
    authorize, check_meta, decide, event::Subject,
};
use crate::core::projection::{Change, check_within, describe, replay, resolve_point};
use crate::core::record::Record;
use crate::store::ledger::{AppendRequest, Appended, Ledger, LedgerError, Precondition};

/// What kind of thing a restore target must be (an API path names one); `None` in a request takes a plan id, else a
/// node id, else an indicator id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreKind {
    Plan,
    Node,
    Indicator,
}

/// A restore as asked for.
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    /// A plan id, else a node id, else an indicator id.
    pub target: String,
    /// The kind the target must be, when the caller names one.
    pub kind: Option<RestoreKind>,
    /// The point, in the one-string form `diff` takes: a seq, a date, an RFC 3339 instant, a version name, or one
    /// of those with a `seq:`, `effective:`, `as-of:` or `version:` prefix.
    pub to: String,
    /// Who restores, on what authority and why; authority and reason are required.
    pub meta: Meta,
    /// What the caller expects of the plan (`If-Match`, `--expect-version`): judged against the version the restore
    /// is planned on, which the append then expects in turn.
    pub precondition: Precondition,
    /// Plan and check only; append nothing.
    pub dry_run: bool,
    /// Whom the restore is made for: every compensating command must be theirs to append (`None`: the operator
    /// at the console, who may do everything).
    pub principal: Option<Principal>,
}

/// One event a restore appends (or, in a dry run, would append), described as `history` describes it.
#[derive(Debug, Clone, Serialize)]
pub struct RestoredEvent {
    pub seq: u64,
    /// The event's hash once appended; `None` in a dry run.
    pub hash: Option<EventHash>,
    pub event: PlanEvent,
    /// The node or indicator id (the plan id for plan-level events).
    pub subject: String,
    /// The subject as a reader knows it: code and title, the indicator's name, or the plan's title.
    pub label: String,
    pub changes: Vec<Change>,
}

/// What a restore appended, or would append.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreOutcome {
    pub plan: PlanId,
    pub scope: RestoreScope,
    pub to: RestorePoint,
    pub dry_run: bool,
    /// The compensating events, then the `Restored` event.
    pub events: Vec<RestoredEvent>,
    /// The plan's version after the append (or after it, had it been made).
    pub version: u64,
}

impl RestoreOutcome {
    /// Number of compensating events (every event but the final `Restored`).
    pub fn compensating(&self) -> usize {
        self.events.len().saturating_sub(1)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The restore was refused before anything was appended: the field and the reason.
    #[error("refused: {0}")]
    Refused(#[from] DomainError),
    #[error("forbidden: {0}")]
    Forbidden(#[from] Denied),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Which plan, and which part of it, a restore target names: a plan id first, then a node id, then an indicator id.
pub fn resolve_target(state: &State, target: &str) -> Result<(PlanId, RestoreScope), DomainError> {
    if let Some(p) = PlanId::new(target).ok().and_then(|id| state.plans.get(&id)) {
        return Ok((p.id.clone(), RestoreScope::Plan));
    }
    if let Some(n) = NodeId::new(target).ok().and_then(|id| state.nodes.get(&id)) {
        return Ok((n.plan.clone(), RestoreScope::Node { node: n.id.clone() }));
    }
    if let Some(i) = IndicatorId::new(target).ok().and_then(|id| state.indicators.get(&id)) {
        return Ok((i.plan.clone(), RestoreScope::Indicator { indicator: i.id.clone() }));
    }
    Err(DomainError::not_found("target", format!("there is no plan, node or indicator {target:?}")))
}

fn subject_of(state: &State, event: &PlanEvent) -> (String, String) {
    match event.subject() {
        Subject::Plan => {
            let p = event.plan();
            (p.to_string(), state.plans.get(p).map(|p| p.title.clone()).unwrap_or_default())
        }
        Subject::Node(n) => (
            n.to_string(),
            state.nodes.get(n).map(|n| format!("{} {}", n.code, n.title).trim().to_string()).unwrap_or_default(),
        ),
        Subject::Indicator(i) => {
            (i.to_string(), state.indicators.get(i).map(|i| format!("【{}】", i.name)).unwrap_or_default())
        }
    }
}

/// A restore planned and checked against the state that was read, not yet appended.
pub struct PreparedRestore {
    outcome: RestoreOutcome,
    request: AppendRequest,
    principal: Option<Principal>,
}

impl PreparedRestore {
    /// What the append will add, with the seqs foreseen from the head that was read.
    pub fn outcome(&self) -> &RestoreOutcome {
        &self.outcome
    }

    /// The precondition the append carries: the plan version the restore was planned against, so the append is
    /// refused if the plan is elsewhere by then.
    pub fn precondition(&self) -> &Precondition {
        &self.request.precondition
    }
}

/// Plans a restore against the ledger as it is now and checks it, appending nothing: the first half of
/// [`restore_blocking`], for callers that show the plan before committing it.
pub fn prepare(ledger: &Ledger, req: &RestoreRequest) -> Result<PreparedRestore, RestoreError> {
    check_meta(&req.meta)?;
    if req.meta.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(DomainError::invalid("reason", "a restore needs a reason").into());
    }
    if req.meta.authority.is_none() {
        return Err(DomainError::invalid("authority", "a restore needs an authority").into());
    }
    // One read of state and head: the records replayed are bounded by the same head, so the plan is computed from
    // one consistent view, and the expected version below refuses the append if the plan moved on since.
    let (now, head) = {
        let p = ledger.read();
        (p.state.clone(), p.head)
    };
    let (plan, scope) = resolve_target(&now, &req.target)?;
    if let Some(kind) = req.kind {
        let (field, what) = match kind {
            RestoreKind::Plan => ("plan", "plan"),
            RestoreKind::Node => ("node", "node"),
            RestoreKind::Indicator => ("indicator", "indicator"),
        };
        let same = matches!(
            (kind, &scope),
            (RestoreKind::Plan, RestoreScope::Plan)
                | (RestoreKind::Node, RestoreScope::Node { .. })
                | (RestoreKind::Indicator, RestoreScope::Indicator { .. })
        );
        if !same {
            return Err(DomainError::not_found(field, format!("there is no {what} {:?}", req.target)).into());
        }
    }
    let version = now.plans.get(&plan).map(|p| p.version);
    if !req.precondition.admits(&plan, version) {
        return Err(LedgerError::VersionConflict {
            plan: plan.clone(),
            expected: req.precondition.clone(),
            current: version,
        }
        .into());
    }
    let version = version.unwrap_or(0);
    let Some(to) = now.plans.get(&plan).map(|p| resolve_point("to", &req.to, p)).transpose()?.flatten() else {
        return Err(DomainError::invalid("to", "must name a past point; `now` is where the plan already is").into());
    };
    check_within("to", Some(to.point()), head.len)?;
    let records: Vec<Record> = ledger.records_within(&Entity::Plan(plan.clone()), head.len)?;
    let past = replay(&records, Some(to.point()));
    let mut commands = plan_restore(&now, &past, &plan, &scope, &req.meta)?;
    commands.push(Command::RecordRestore {
        plan: plan.to_string(),
        node: match &scope {
            RestoreScope::Node { node } => Some(node.to_string()),
            _ => None,
        },
        indicator: match &scope {
            RestoreScope::Indicator { indicator } => Some(indicator.to_string()),
            _ => None,
        },
        to: to.code(),
        compensating: commands.len() as u64,
    });
    // The restore's own record first: it names the scope, and a scope that is not the caller's says so plainly
    // rather than through whichever compensating command would be refused first.
    if let (Some(p), Some(record)) = (&req.principal, commands.last()) {
        authorize(&now, p, record)?;
    }
    // Decided here exactly as the writer will decide them, to show what will be appended.
    let mut sim = now;
    let mut events = Vec::with_capacity(commands.len());
    for c in &commands {
        if let Some(p) = &req.principal {
            authorize(&sim, p, c)?;
        }
        for e in decide(&sim, c, &req.meta)? {
            let changes = describe(&sim, &e);
            let (subject, label) = subject_of(&sim, &e);
            sim.evolve(&e);
            let seq = head.len + events.len() as u64;
            events.push(RestoredEvent { seq, hash: None, event: e, subject, label, changes });
        }
    }
    let after = sim.plans.get(&plan).map(|p| p.version).unwrap_or(0);
    Ok(PreparedRestore {
        outcome: RestoreOutcome { plan, scope, to, dry_run: req.dry_run, events, version: after },
        // A retry of a restore that went through finds nothing to restore; a key would add nothing.
        request: AppendRequest {
            restore: true,
            ..AppendRequest::new(commands, req.meta.clone()).expecting(Some(version))
        },
        principal: req.principal.clone(),
    })
}

fn finish(mut outcome: RestoreOutcome, appended: Appended) -> RestoreOutcome {
    // Other plans' events may have been appended in between, so the seqs are the writer's, not the ones foreseen.
    for (e, a) in outcome.events.iter_mut().zip(&appended.events) {
        e.seq = a.seq.0;
        e.hash = Some(a.hash);
    }
    outcome.version = appended.version;
    outcome
}

/// Appends a prepared restore as one request. If the plan changed since it was prepared, the whole restore is
/// refused (`VersionConflict`) and nothing is appended.
pub fn commit_blocking(ledger: &Ledger, p: PreparedRestore) -> Result<RestoreOutcome, RestoreError> {
    let appended = ledger.append_blocking_as(p.request, p.principal)?;
    Ok(finish(p.outcome, appended))
}

/// Restores (or, with `dry_run`, plans and checks the restore of) a plan, node or indicator, for callers outside
/// an async runtime. Nothing is appended on a refusal or in a dry run.
pub fn restore_blocking(ledger: &Ledger, req: &RestoreRequest) -> Result<RestoreOutcome, RestoreError> {
    let p = prepare(ledger, req)?;
    if req.dry_run {
        return Ok(p.outcome);
    }
    commit_blocking(ledger, p)
}

impl Ledger {
    /// [`restore_blocking`] for async callers: the planning, which reads the log, runs on the blocking pool; the
    /// append goes through the writer like any other.
    pub async fn restore(&self, req: RestoreRequest) -> Result<RestoreOutcome, RestoreError> {
        let ledger = self.clone();
        let dry_run = req.dry_run;
        let p = match tokio::task::spawn_blocking(move || prepare(&ledger, &req)).await {
            Ok(p) => p?,
            // A panic in planning is a bug: let it surface as one rather than as a refusal.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => return Err(LedgerError::Closed.into()),
        };
        if dry_run {
            return Ok(p.outcome);
        }
        let appended = self.append_as(p.request, p.principal).await?;
        Ok(finish(p.outcome, appended))
    }
}
