//! Projections: the plan as a tree view, the history of a node or indicator (old → new, who, when, why), the
//! target-against-actual series, and the plan at any point on the three time axes (replayed from the log).

mod history;
pub mod view;

pub use history::{Change, HistoryEntry, history};
pub use view::{IndicatorView, NodeView, PlanSummary, PlanView, SeriesRow, series, view_plan};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::domain::State;
use crate::events::Record;

/// A point in the ledger's past, on one of its three time axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
        match self {
            Point::Seq(s) => r.seq.0 <= *s,
            Point::AsOf(t) => r.recorded_at <= *t,
            Point::Effective(d) => r.effective <= *d,
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

/// Folds the records that a point includes. Records are in seq order; the seq and recorded-at axes are prefixes,
/// the effective axis is a filter, because a change can be recorded before or after it takes effect.
pub fn replay<'a>(records: impl IntoIterator<Item = &'a Record>, point: Option<Point>) -> State {
    let mut state = State::default();
    for r in records {
        match point {
            None => state.evolve(&r.event),
            Some(p) if p.includes(r) => state.evolve(&r.event),
            Some(Point::Seq(_)) | Some(Point::AsOf(_)) => break,
            Some(Point::Effective(_)) => {}
        }
    }
    state
}
