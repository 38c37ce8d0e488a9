//! The portal's pages: each a function from one consistent read of the ledger (a [`Read`]: the state and head
//! taken once) and "today" in Japan to HTML. None replays the log: current views read the state at the read's head,
//! past views the time-travel cache bounded by that head, histories the entity's own records up to it.

mod changes;
mod parts;
mod plans;
mod subjects;

use std::collections::BTreeMap;

use chrono::NaiveDate;

pub use changes::{About, ChangeRow, Department, Filter, changes, event, recent_changes, verify};
pub use parts::event_label;
pub use plans::{compare, index, plan};
pub use subjects::{Revision, indicator, node};

use super::layout::enc;
use super::layout::{Banner, Head, Standing};
use crate::core::domain::state::Plan;
use crate::core::domain::time::jst_date;
use crate::core::domain::{ErrorKind, PlanId, State};
use crate::core::projection::Point;
use crate::core::projection::view::{Phase, phase};
use crate::query::{PointSpec, QueryError, Read};
use crate::web::Problem;

type Query = BTreeMap<String, String>;

/// Most changes a list or feed shows.
pub const CHANGES_LIMIT: usize = 100;

/// A point parameter as given, kept so that links carry it along.
#[derive(Debug, Clone, Default)]
pub struct At {
    pub point: Option<Point>,
    pub given: Option<(String, String)>,
}

impl At {
    /// Reads `at`, `as_of`, `effective` or `version` (at most one) against `plan`, within the read's head.
    pub fn read(q: &Query, read: &Read, plan: &Plan) -> Result<Self, Problem> {
        let spec = PointSpec::from_pairs(q.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        Ok(Self { point: spec.resolve(plan, read.head().len)?, given: spec.given })
    }

    /// A point on a page about no one plan (the list of plans, the changes): `at`, `as_of` or `effective`; a
    /// version name belongs to one plan, so it is refused here.
    pub fn read_global(q: &Query, read: &Read) -> Result<Self, Problem> {
        let spec = PointSpec::from_pairs(q.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        Ok(Self { point: spec.resolve_global(read.head().len)?, given: spec.given })
    }

    /// `?at=5`, or nothing for now.
    pub fn query(&self) -> String {
        self.given.as_ref().map(|(k, v)| format!("?{k}={}", enc(v))).unwrap_or_default()
    }

    pub fn describe(&self) -> String {
        match (&self.given, self.point) {
            (Some((k, v)), Some(Point::Seq(s))) if k == "version" => {
                format!("版「{v}」（seq {s} の直後 after seq {s}）")
            }
            (_, Some(p)) => describe_point(p),
            (_, None) => "現在（now）".into(),
        }
    }

    /// The date the plan's phase is judged on at this point.
    fn date(&self, today: NaiveDate) -> NaiveDate {
        match self.point {
            Some(Point::Effective(d)) => d,
            // An instant's date is the date in Japan then, as "today" is.
            Some(Point::AsOf(t)) => jst_date(t),
            _ => today,
        }
    }
}

fn describe_point(p: Point) -> String {
    match p {
        Point::Seq(s) => format!("seq {s} の直後の記録（as recorded right after event seq {s}）"),
        Point::AsOf(t) => format!("{} 時点で記録されていた内容（as recorded at that instant）", t.to_rfc3339()),
        Point::Effective(d) => format!("{d} に効力を持つ内容（as in force on that date）"),
    }
}

/// The footer's head: the one the page was computed from.
fn head(read: &Read) -> Head {
    let h = read.head();
    Head { events: h.len, hash: h.hash.to_string(), feed: None }
}

/// [`head`] with the page's feed announced.
fn head_with_feed(read: &Read, href: String, title: &str) -> Head {
    Head { feed: Some((href, title.to_string())), ..head(read) }
}

fn status_note(plan: &Plan, on: NaiveDate) -> Option<String> {
    let period = plan.period.map(|p| p.label()).unwrap_or_else(|| "記載なし".into());
    match phase(plan, on) {
        Phase::InForce => None,
        Phase::Draft => Some("この計画は案（draft）です。策定（議決・決定）されたものではありません。".into()),
        Phase::Superseded => {
            Some("この計画は改定により失効しています（superseded）。現行の計画ではありません。".into())
        }
        Phase::Prospective => {
            Some(format!("策定済ですが、計画期間 {period} はまだ始まっていません（prospective: not yet in force）。"))
        }
        Phase::Ended => Some(format!("計画期間 {period} は終了しています（period ended）。")),
        Phase::PeriodUnstated => Some("策定済。計画期間は記載されていません（adopted, no period stated）。".into()),
    }
}

/// The banner for a page about `shown` (the plan at the point) whose current form is `current`.
pub fn banner(at: &At, current: &Plan, shown: &Plan, today: NaiveDate, current_href: &str) -> Banner {
    let Some(point) = at.point else {
        let standing = match phase(current, today) {
            Phase::InForce => Standing::InForce,
            Phase::PeriodUnstated => Standing::Record,
            Phase::Draft => Standing::Draft,
            Phase::Superseded => Standing::Superseded,
            Phase::Prospective => Standing::NotYetInForce,
            Phase::Ended => Standing::Ended,
        };
        return Banner::Current { standing, note: status_note(current, today) };
    };
    let mut what = format!("表示時点 showing: {}", at.describe());
    if shown.version == current.version {
        what.push_str("。この時点以降、この計画に変更は記録されていません（no change recorded since）。");
    } else {
        what.push_str(&format!(
            "。この時点の後に {} 件の変更が記録されています（{} later changes）。",
            current.version.saturating_sub(shown.version),
            current.version.saturating_sub(shown.version)
        ));
    }
    let note = status_note(shown, at.date(today));
    let current = current_href.to_string();
    match point {
        Point::Effective(d) if d > today => Banner::Prospective { what, current, note },
        _ => Banner::Past { what, current, note },
    }
}

/// The banner of a page about every plan: current, past or prospective, without a plan's phase.
fn global_banner(at: &At, today: NaiveDate, current_href: &str) -> Banner {
    let Some(point) = at.point else { return Banner::Current { standing: Standing::Record, note: None } };
    let what = format!("表示時点 showing: {}", at.describe());
    let current = current_href.to_string();
    let note = Some("各計画の状態は、この時点のものです（each plan as it stood at that point）。".to_string());
    match point {
        Point::Effective(d) if d > today => Banner::Prospective { what, current, note },
        _ => Banner::Past { what, current, note },
    }
}

/// Calls `f` on the state holding `plan` at the page's point, never beyond the read's head. `None` from `f` means
/// the subject did not exist then, refused on the point parameter that was given (or `field`).
fn with_state<T>(
    read: &Read,
    plan: &PlanId,
    at: &At,
    field: &str,
    f: impl FnOnce(&State) -> Option<T>,
) -> Result<T, Problem> {
    let field = at.given.as_ref().map_or(field, |(k, _)| k.as_str());
    read.with_state(plan, at.point, field, f).map_err(|e| match e {
        QueryError::Refused(d) if d.kind == ErrorKind::NotFound => {
            Problem::not_found(field, format!("{} にはまだ存在しません（did not exist at that point）", at.describe()))
        }
        other => other.into(),
    })
}
