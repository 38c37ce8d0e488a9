//! The read façade the API, the portal and the CLI share: resolve a plan and a point, read the durable state and
//! head **once**, bound every record read by that head, project. A response computed through one [`Read`] is
//! computed from one state of the ledger, so what its footer, its ETag and its body name agree even while writes
//! are committed in between.

mod point;

pub use point::{POINT_PARAMS, PointSpec, SEQ_MAX, parse_seq};

use crate::core::domain::model::RestorePoint;
use crate::core::domain::state::{Indicator, Node, Plan};
use crate::core::domain::{DomainError, Entity, IndicatorId, NodeId, PlanId, State};
use crate::core::projection::{self, BlameEntry, HistoryEntry, IndicatorView, PlanDiff, PlanSummary, PlanView, Point};
use crate::core::record::Record;
use crate::store::{Head, Ledger, LedgerError};

/// Why a read was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A parameter is malformed (`Invalid`) or names nothing (`NotFound`): the field and the reason.
    #[error("{0}")]
    Refused(#[from] DomainError),
    /// The store could not be read.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// The ledger as one response sees it: the durable head and its signed checkpoint, read together once, with
/// whatever the response needs from the state at that head taken in the same step. Every later read through it stops
/// at that head, so events committed while the response is computed are not part of it.
#[derive(Clone)]
pub struct Read<'a> {
    ledger: &'a Ledger,
    head: Head,
    checkpoint: String,
}

/// One plan as a response sees it: its current header (version, named versions) at the read's head.
#[derive(Debug, Clone)]
pub struct PlanRead {
    pub id: PlanId,
    /// The plan as it is at the head: its `version` counts every event of the plan up to there.
    pub current: Plan,
}

fn no_plan(plan: &str) -> DomainError {
    DomainError::not_found("plan", format!("no plan {plan:?}"))
}

fn when(point: Option<Point>) -> String {
    point.map_or_else(|| "now".to_string(), |p| p.describe())
}

impl<'a> Read<'a> {
    /// Reads the head and its checkpoint, and runs `f` on the state at that head, all under one read lock.
    pub fn capture<T>(ledger: &'a Ledger, f: impl FnOnce(&State) -> T) -> (Self, T) {
        let p = ledger.read();
        let out = f(&p.state);
        (Self { ledger, head: p.head, checkpoint: p.checkpoint.clone() }, out)
    }

    /// Reads the head and its checkpoint once.
    pub fn new(ledger: &'a Ledger) -> Self {
        Self::capture(ledger, |_| ()).0
    }

    /// The plan named `plan`, read with the head; `plan` refused by name when there is none.
    pub fn plan(ledger: &'a Ledger, plan: &str) -> Result<(Self, PlanRead), QueryError> {
        let id = PlanId::new(plan).map_err(|_| no_plan(plan))?;
        let (read, current) = Self::capture(ledger, |s| s.plans.get(&id).cloned());
        let current = current.ok_or_else(|| no_plan(plan))?;
        Ok((read, PlanRead { id, current }))
    }

    /// Every plan's summary, read with the head.
    pub fn summaries(ledger: &'a Ledger) -> (Self, Vec<PlanSummary>) {
        Self::capture(ledger, |s| s.plans.keys().filter_map(|id| projection::view::summary(s, id)).collect())
    }

    /// The indicator named `id` and its plan's version, read with the head; refused on `field` when there is none.
    pub fn indicator(ledger: &'a Ledger, id: &str, field: &str) -> Result<(Self, Indicator, u64), QueryError> {
        let missing = || DomainError::not_found(field, format!("no indicator {id:?}"));
        let iid = IndicatorId::new(id).map_err(|_| missing())?;
        let (read, found) = Self::capture(ledger, |s| {
            s.indicators.get(&iid).map(|i| (i.clone(), s.plans.get(&i.plan).map_or(0, |p| p.version)))
        });
        let (ind, version) = found.ok_or_else(missing)?;
        Ok((read, ind, version))
    }

    /// The node named `id` and its plan's version, read with the head; refused on `field` when there is none.
    pub fn node(ledger: &'a Ledger, id: &str, field: &str) -> Result<(Self, Node, u64), QueryError> {
        let missing = || DomainError::not_found(field, format!("no node {id:?}"));
        let nid = NodeId::new(id).map_err(|_| missing())?;
        let (read, found) = Self::capture(ledger, |s| {
            s.nodes.get(&nid).map(|n| (n.clone(), s.plans.get(&n.plan).map_or(0, |p| p.version)))
        });
        let (node, version) = found.ok_or_else(missing)?;
        Ok((read, node, version))
    }

    /// A point written as one string ([`projection::resolve_point`]), refused on `field` when it names a seq past
    /// this read's head.
    pub fn resolve_point(&self, field: &str, s: &str, plan: &Plan) -> Result<Option<RestorePoint>, QueryError> {
        let p = projection::resolve_point(field, s, plan)?;
        projection::check_within(field, p.as_ref().map(RestorePoint::point), self.head.len)?;
        Ok(p)
    }

    /// [`resolve_point`](Self::resolve_point), as the point to read.
    pub fn parse_point(&self, field: &str, s: &str, plan: &Plan) -> Result<Option<Point>, QueryError> {
        Ok(self.resolve_point(field, s, plan)?.map(|p| p.point()))
    }

    pub fn head(&self) -> Head {
        self.head
    }

    /// The signed checkpoint of the tree of this read's head.
    pub fn checkpoint(&self) -> &str {
        &self.checkpoint
    }

    pub fn ledger(&self) -> &'a Ledger {
        self.ledger
    }

    /// Runs `f` on the state that holds `plan` at `point` (now for `None`), never beyond this read's head: for now,
    /// the published state itself while it is still at this head (no copy); otherwise the plan's fold at the point.
    pub fn on_state<T>(
        &self,
        plan: &PlanId,
        point: Option<Point>,
        f: impl FnOnce(&State) -> T,
    ) -> Result<T, QueryError> {
        if point.is_none() {
            let p = self.ledger.read();
            if p.head == self.head {
                return Ok(f(&p.state));
            }
        }
        Ok(f(&self.ledger.plan_within(plan, point, self.head.len)?.state))
    }

    /// [`on_state`](Self::on_state) for a subject that may not exist at the point: `None` from `f` is refused as
    /// not found on `field`.
    pub fn with_state<T>(
        &self,
        plan: &PlanId,
        point: Option<Point>,
        field: &str,
        f: impl FnOnce(&State) -> Option<T>,
    ) -> Result<T, QueryError> {
        self.on_state(plan, point, f)?
            .ok_or_else(|| DomainError::not_found(field, format!("it did not exist at {}", when(point))).into())
    }

    /// The plan's view at `point`; refused on `plan` when the plan did not exist then.
    pub fn view(&self, r: &PlanRead, point: Option<Point>) -> Result<PlanView, QueryError> {
        self.on_state(&r.id, point, |s| projection::view_plan(s, &r.id))?.ok_or_else(|| {
            DomainError::not_found("plan", format!("plan {} did not exist at {}", r.id, when(point))).into()
        })
    }

    /// The indicator's view (target against actual) at `point`; refused on `field` when it did not exist then.
    pub fn indicator_view(
        &self,
        ind: &Indicator,
        point: Option<Point>,
        field: &str,
    ) -> Result<IndicatorView, QueryError> {
        self.with_state(&ind.plan, point, field, |s| {
            s.indicators.get(&ind.id).map(|i| projection::view::indicator_view(s, i))
        })
    }

    /// The decoded records filed under `entity`, up to this read's head.
    pub fn records_for(&self, entity: &Entity) -> Result<Vec<Record>, QueryError> {
        Ok(self.ledger.records_within(entity, self.head.len)?)
    }

    /// The newest record of `entity` up to this read's head that `keep` accepts.
    pub fn last_record_for(
        &self,
        entity: &Entity,
        keep: impl Fn(&Record) -> bool,
    ) -> Result<Option<Record>, QueryError> {
        Ok(self.ledger.last_record_within(entity, self.head.len, keep)?)
    }

    /// The changes of `plan` with `from <= seq < to` (up to this read's head) that `keep` accepts, newest first and
    /// at most `limit`, each with its record and described as the plan's history describes it: against the plan as it
    /// stood just before it. The plan's records are read newest first and the state before the oldest of them comes
    /// from the projection cache, so a page costs its window and the cache's spacing, not the plan's history.
    pub fn plan_changes(
        &self,
        plan: &PlanId,
        (from, to): (u64, u64),
        limit: usize,
        keep: impl Fn(&Record) -> bool,
    ) -> Result<Vec<(Record, HistoryEntry)>, QueryError> {
        let mut kept = 0usize;
        let mut window = self.ledger.records_back_within(&Entity::Plan(plan.clone()), to.min(self.head.len), |r| {
            if r.seq.0 < from || kept == limit {
                return false;
            }
            kept += usize::from(keep(r));
            true
        })?;
        window.reverse();
        let before = match window.first().and_then(|r| r.seq.0.checked_sub(1)) {
            Some(s) => self.ledger.plan_within(plan, Some(Point::Seq(s)), self.head.len)?.state,
            None => State::default(),
        };
        let entries = projection::history_after(before, &window);
        let mut out: Vec<(Record, HistoryEntry)> = window.into_iter().zip(entries).filter(|(r, _)| keep(r)).collect();
        out.reverse();
        Ok(out)
    }

    /// The records with `from <= seq < to`, up to this read's head.
    pub fn records(&self, from: u64, to: u64) -> Result<Vec<Record>, QueryError> {
        Ok(self.ledger.records(from, to.min(self.head.len))?)
    }

    /// The stored lines of up to `limit` events from `from`, up to this read's head.
    pub fn lines(&self, from: u64, limit: u64) -> Result<Vec<(u64, Vec<u8>)>, QueryError> {
        let to = self.head.len.min(from.saturating_add(limit));
        Ok(self.ledger.read_events(from, to.saturating_sub(from))?)
    }

    /// What differs in the plan between two points, with the events that made each difference.
    pub fn diff(&self, r: &PlanRead, from: Option<Point>, to: Option<Point>) -> Result<PlanDiff, QueryError> {
        let records = self.records_for(&Entity::Plan(r.id.clone()))?;
        Ok(projection::diff(&records, &r.id, from, to))
    }

    /// Every value of the plan at `point` and the event that last set it.
    pub fn blame(&self, r: &PlanRead, point: Option<Point>) -> Result<Vec<BlameEntry>, QueryError> {
        let records = self.records_for(&Entity::Plan(r.id.clone()))?;
        Ok(projection::blame(&records, &r.id, point))
    }

    /// Every change of `entity`, oldest first.
    pub fn history(&self, entity: &Entity) -> Result<Vec<HistoryEntry>, QueryError> {
        Ok(projection::history(&self.records_for(entity)?))
    }
}
