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

/// Parses a point written as one string (diff, compare and restore take them). `now` is the current plan (`None`).
/// With a prefix the axis is explicit: `seq:N`, `as-of:RFC3339`, `effective:DATE`, `version:NAME`. Without one:
/// four digits from 1868 to 2200 are a fiscal year (in force on its 1 April: people compare years, and a seq that
/// happens to look like one is written `seq:2018`); any other whole number is a seq; a date `YYYY-MM-DD` is an
/// effective date; an instant with `T` is as-of; a version name of `plan` is that version; and any other fiscal
/// year form (`2017年度`, `平成29年度`, `H29`, `令和3`, `FY2017`) is that year's 1 April. See [`reading`] for the words
/// that say which rule read a point.
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
    if let Some(fy) = bare_year(s) {
        return Ok(Some(RestorePoint::Effective { effective: fy.start() }));
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
    if plan.versions.contains_key(s) {
        return named(s);
    }
    if let Ok(fy) = s.parse::<FiscalYear>() {
        return Ok(Some(RestorePoint::Effective { effective: fy.start() }));
    }
    named(s).map_err(|e| DomainError {
        reason: format!(
            "{s:?} is not a point: give now, a seq (seq:N), a date (YYYY-MM-DD), a fiscal year (2017, 令和3), an \
                 RFC 3339 instant or a version name ({})",
            e.reason
        ),
        ..e
    })
}

/// Four ASCII digits within the fiscal years the ledger knows: read as a fiscal year, not a seq.
fn bare_year(s: &str) -> Option<FiscalYear> {
    if s.len() != 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u16>().ok().and_then(|y| FiscalYear::new(y).ok())
}

/// How [`resolve_point`] read `s`, in words for a page to show beside the point (`None` when the text left no
/// choice: a prefix, `now`, an instant, a version): a bare year is said to be a fiscal year and how to ask for the
/// seq instead.
pub fn reading(s: &str) -> Option<String> {
    let s = s.trim();
    if let Some(fy) = bare_year(s) {
        return Some(format!(
            "「{s}」は年度として読みました：{}（{}年4月1日に効力のある内容）。変更番号（seq）の意味なら seq:{s} と書いてください。 \
             Read as fiscal year {s}; write seq:{s} for the event.",
            fy.label(),
            fy.year()
        ));
    }
    None
}

/// Refuses a seq past the ledger's head on `field`: `at=9999` on a ledger of 589 events names no event, and showing
/// the plan as it is now in its place would be silently wrong.
pub fn check_within(field: &str, point: Option<Point>, len: u64) -> Result<Option<Point>, DomainError> {
    match point {
        Some(Point::Seq(s)) if s >= len => Err(DomainError::invalid(
            field,
            match len {
                0 => format!("seq {s} is not in the ledger: it holds no events yet"),
                1 => format!("seq {s} is not in the ledger: it holds 1 event (seq 0)"),
                n => format!("seq {s} is not in the ledger: it holds {n} events (seqs 0 to {})", n - 1),
            },
        )),
        p => Ok(p),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        let mut p = super::view::tests::plan(crate::core::domain::model::PlanStatus::Adopted, None);
        p.versions.insert("当初".into(), 7);
        p
    }

    fn read(s: &str) -> Option<Point> {
        parse_point("p", s, &plan()).unwrap()
    }

    #[test]
    fn a_bare_year_is_a_fiscal_year_and_seq_prefix_keeps_the_seq() {
        let april = |y| Some(Point::Effective(NaiveDate::from_ymd_opt(y, 4, 1).unwrap()));
        assert_eq!(read("2018"), april(2018));
        assert_eq!(read("seq:2018"), Some(Point::Seq(2018)));
        assert_eq!(read("1867"), Some(Point::Seq(1867)), "before the first fiscal year: a seq");
        assert_eq!(read("120"), Some(Point::Seq(120)));
        assert_eq!(read("20180"), Some(Point::Seq(20180)));
        for s in ["2017年度", "平成29年度", "H29", "FY2017", "平成２９年度"] {
            assert_eq!(read(s), april(2017), "{s}");
        }
        assert_eq!(read("令和3"), april(2021));
        assert_eq!(read("当初"), Some(Point::Seq(7)), "a version name");
        assert_eq!(read("version:当初"), Some(Point::Seq(7)));
        assert_eq!(read("now"), None);
        let e = parse_point("to", "sometime", &plan()).unwrap_err();
        assert_eq!(e.field, "to");
        assert!(e.reason.contains("is not a point") && e.reason.contains("has no version"), "{}", e.reason);
        assert!(reading("2018").unwrap().contains("seq:2018"));
        assert_eq!(reading("120"), None);
        assert_eq!(reading("seq:2018"), None);
    }

    #[test]
    fn check_within_refuses_only_seqs_past_the_head() {
        assert!(check_within("at", Some(Point::Seq(4)), 5).is_ok());
        let e = check_within("at", Some(Point::Seq(5)), 5).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.reason.as_str()),
            ("at", "seq 5 is not in the ledger: it holds 5 events (seqs 0 to 4)")
        );
        assert!(check_within("at", Some(Point::Effective(NaiveDate::MAX)), 0).is_ok());
        assert!(check_within("at", None, 0).is_ok());
    }
}
