//! Projections: the plan as a tree view, the history of a node or indicator (old → new, who, when, why), the
//! target-against-actual series, the plan at any point on the three time axes (replayed from the log), and the
//! diff and blame of a plan.

pub mod diff;
mod history;
pub mod view;

pub use diff::{BlameEntry, DiffEntry, EventRef, PlanDiff, blame, diff};
pub use history::{Change, HistoryEntry, describe, history, history_after};
pub use view::{IndicatorView, NodeView, PlanSummary, PlanView, SeriesRow, series, view_plan};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::core::domain::model::RestorePoint;
use crate::core::domain::state::Plan;
use crate::core::domain::{DomainError, FiscalYear, State};
use crate::core::record::Record;

/// A point in the ledger's past, on one of its three time axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
#[serde(tag = "axis", content = "value", rename_all = "snake_case")]
pub enum Point {
    /// Right after the event with this seq was appended.
    Seq(u64),
    /// As the ledger had recorded it at this instant.
    AsOf(DateTime<Utc>),
    /// As in force on this date (events whose `effective` date is on or before it).
    Effective(NaiveDate),
}

impl Point {
    pub fn includes(&self, r: &Record) -> bool {
        self.includes_event(r.seq.0, r.recorded_at, r.effective)
    }

    /// Whether an event with this seq, recording instant and effective date is part of the view at this point.
    pub fn includes_event(&self, seq: u64, recorded_at: DateTime<Utc>, effective: NaiveDate) -> bool {
        match self {
            Point::Seq(s) => seq <= *s,
            Point::AsOf(t) => recorded_at <= *t,
            Point::Effective(d) => effective <= *d,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Point::Seq(s) => format!("seq {s}"),
            Point::AsOf(t) => format!("recorded as of {}", t.to_rfc3339()),
            Point::Effective(d) => format!("in force on {d}"),
        }
    }
}

use crate::core::domain::time;
pub use crate::core::domain::time::jst_date;

/// Parses an effective date: `YYYY-MM-DD`, or a fiscal year (any form `FiscalYear` reads) for its 1 April.
pub fn parse_effective(field: &str, s: &str) -> Result<NaiveDate, DomainError> {
    if let Some(d) = time::parse_date(s.trim()) {
        return Ok(d);
    }
    // No fiscal-year form has a dash or a sign: such text was meant as a date.
    let t = s.trim();
    if t.contains('-') || t.starts_with('+') {
        return Err(DomainError::invalid(field, format!("{s:?} is not a date (YYYY-MM-DD with a four-digit year)")));
    }
    match s.parse::<FiscalYear>() {
        Ok(fy) => Ok(fy.start()),
        Err(e) => Err(DomainError::invalid(
            field,
            format!("{s:?} is neither a date (YYYY-MM-DD) nor a fiscal year ({})", e.reason),
        )),
    }
}

pub fn parse_instant(field: &str, s: &str) -> Result<DateTime<Utc>, DomainError> {
    time::parse_instant(s.trim()).map_err(|why| DomainError::invalid(field, format!("{s:?} {why}")))
}

/// Resolves a version name of `plan` to its point.
pub fn version_point(field: &str, plan: &Plan, name: &str) -> Result<Point, DomainError> {
    plan.versions.get(name).map(|s| Point::Seq(*s)).ok_or_else(|| {
        let known: Vec<&str> = plan.versions.keys().map(String::as_str).collect();
        DomainError::not_found(
            field,
            if known.is_empty() {
                format!("plan {} has no named versions; {name:?} is not one", plan.id)
            } else {
                format!("plan {} has no version {name:?} (it has: {})", plan.id, known.join(", "))
            },
        )
    })
}

/// Parses a point written as one string (diff and compare take two of them). `now` is the current plan (`None`).
/// With a prefix the axis is explicit: `seq:N`, `as-of:RFC3339`, `effective:DATE`, `version:NAME`. Without one, a
/// whole number is a seq, a date `YYYY-MM-DD` is an effective date, an instant with `T` is as-of, and anything
/// else is a version name of `plan`.
pub fn parse_point(field: &str, s: &str, plan: &Plan) -> Result<Option<Point>, DomainError> {
    Ok(resolve_point(field, s, plan)?.map(|p| p.point()))
}

/// A point as [`parse_point`] reads it, keeping the axis it was given on: a version name stays a version (with the
/// seq it names), so a restore can record what was asked for as well as what it meant.
pub fn resolve_point(field: &str, s: &str, plan: &Plan) -> Result<Option<RestorePoint>, DomainError> {
    let named = |name: &str| {
        version_point(field, plan, name).map(|p| match p {
            Point::Seq(seq) => Some(RestorePoint::Version { name: name.to_string(), seq }),
            other => Some(RestorePoint::from(other)),
        })
    };
    let s = s.trim();
    if s == "now" {
        return Ok(None);
    }
    let seq = |v: &str| {
        v.parse::<u64>()
            .map(|seq| RestorePoint::Seq { seq })
            .map_err(|_| DomainError::invalid(field, format!("{v:?} is not a seq")))
    };
    if let Some(v) = s.strip_prefix("seq:") {
        return seq(v).map(Some);
    }
    if let Some(v) = s.strip_prefix("as-of:") {
        return parse_instant(field, v).map(|t| Some(RestorePoint::as_of(t)));
    }
    if let Some(v) = s.strip_prefix("effective:") {
        return parse_effective(field, v).map(|effective| Some(RestorePoint::Effective { effective }));
    }
    if let Some(v) = s.strip_prefix("version:") {
        return named(v);
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return seq(s).map(Some);
    }
    if let Some(effective) = time::parse_date(s) {
        return Ok(Some(RestorePoint::Effective { effective }));
    }
    if s.contains('T')
        && let Ok(t) = parse_instant(field, s)
    {
        return Ok(Some(RestorePoint::as_of(t)));
    }
    named(s)
}

impl From<Point> for RestorePoint {
    fn from(p: Point) -> Self {
        match p {
            Point::Seq(seq) => RestorePoint::Seq { seq },
            Point::AsOf(t) => RestorePoint::as_of(t),
            Point::Effective(effective) => RestorePoint::Effective { effective },
        }
    }
}

impl RestorePoint {
    /// The point to replay: a version is the seq it names.
    pub fn point(&self) -> Point {
        match self {
            RestorePoint::Seq { seq } | RestorePoint::Version { seq, .. } => Point::Seq(*seq),
            RestorePoint::AsOf { as_of } => Point::AsOf(*as_of),
            RestorePoint::Effective { effective } => Point::Effective(*effective),
        }
    }
}

/// Folds the records that a point includes. Records come in seq order. The seq and recorded-at axes are prefixes
/// of the log. The effective axis is not: a change can be recorded before or after it takes effect, so the state
/// in force on a date folds the included records in (effective, seq) order: of two changes to one value, the one
/// that took effect later is in force, whatever order they were recorded in, and among changes taking effect on
/// the same day the one recorded last wins.
pub fn replay<'a>(records: impl IntoIterator<Item = &'a Record>, point: Option<Point>) -> State {
    let mut state = State::default();
    match point {
        None => records.into_iter().for_each(|r| state.apply(r.seq.0, &r.event)),
        Some(p @ (Point::Seq(_) | Point::AsOf(_))) => {
            records.into_iter().take_while(|r| p.includes(r)).for_each(|r| state.apply(r.seq.0, &r.event))
        }
        Some(p @ Point::Effective(_)) => {
            let mut included: Vec<&Record> = records.into_iter().filter(|r| p.includes(r)).collect();
            // Stable: records with one effective date keep their seq order.
            included.sort_by_key(|r| r.effective);
            included.into_iter().for_each(|r| state.apply(r.seq.0, &r.event));
        }
    }
    state
}
