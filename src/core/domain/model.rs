//! Plan model value types shared by commands, events and state: periods, statuses, actors, texts.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::fiscal_year::FiscalYear;
use super::ids::{IndicatorId, NodeId};
use super::value::PlanValue;

/// The fiscal years a plan covers, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
pub struct Period {
    #[cfg_attr(feature = "web", schema(value_type = u16))]
    pub from: FiscalYear,
    #[cfg_attr(feature = "web", schema(value_type = u16))]
    pub to: FiscalYear,
}

impl Period {
    pub fn contains(&self, fy: FiscalYear) -> bool {
        self.from <= fy && fy <= self.to
    }

    pub fn years(&self) -> impl Iterator<Item = FiscalYear> {
        (self.from.year()..=self.to.year()).filter_map(|y| FiscalYear::new(y).ok())
    }

    /// `2016年度～2018年度（平成28年度～平成30年度）`
    pub fn label(&self) -> String {
        format!(
            "{}年度～{}年度（{}～{}）",
            self.from.year(),
            self.to.year(),
            self.from.era_label(),
            self.to.era_label()
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    Draft,
    Adopted,
    Superseded,
}

impl PlanStatus {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "draft" | "案" | "素案" => Self::Draft,
            "adopted" | "策定" | "策定済" => Self::Adopted,
            "superseded" | "改定済" | "旧計画" => Self::Superseded,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "案（draft）",
            Self::Adopted => "策定済（adopted）",
            Self::Superseded => "改定により失効（superseded）",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Adopted => "adopted",
            Self::Superseded => "superseded",
        }
    }
}

/// The principal that recorded an event. On the HTTP side it always comes from the authenticated token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
pub struct Actor {
    pub id: String,
    pub name: String,
    pub department: String,
}

/// A labelled text of a node, such as 現況（平成27年度末見込み） or 必要事業量. Unknown fields are refused, as in
/// the bodies and plan tables that carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Detail {
    pub label: String,
    pub text: String,
}

/// The starting figure of an indicator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
pub struct Baseline {
    #[cfg_attr(feature = "web", schema(value_type = String))]
    pub value: PlanValue,
    #[cfg_attr(feature = "web", schema(value_type = u16))]
    pub fiscal_year: FiscalYear,
    pub note: String,
}

/// A reported actual (実績) for one fiscal year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
pub struct Actual {
    #[cfg_attr(feature = "web", schema(value_type = String))]
    pub value: PlanValue,
    pub as_of: Option<NaiveDate>,
    pub note: String,
}

/// What every command carries besides its payload: who, on what authority, why, and from when it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub actor: Actor,
    pub authority: Option<String>,
    pub reason: Option<String>,
    /// When the change takes effect in the plan; `None` until the writer fills it with today in Japan, from the
    /// clock that stamps the record's `recorded_at`.
    pub effective: Option<NaiveDate>,
}

/// What a restore brings back: the whole plan's content, or one node's or one indicator's own aspects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RestoreScope {
    Plan,
    Node { node: NodeId },
    Indicator { indicator: IndicatorId },
}

impl RestoreScope {
    /// `plan p`, `node p.1`, `indicator p.1.kpi1`.
    pub fn describe(&self, plan: &super::ids::PlanId) -> String {
        match self {
            RestoreScope::Plan => format!("plan {plan}"),
            RestoreScope::Node { node } => format!("node {node}"),
            RestoreScope::Indicator { indicator } => format!("indicator {indicator}"),
        }
    }
}

/// The point a restore went back to, as it was given (its axis) and resolved: a version name keeps its seq too,
/// so the record says what the name meant when it was used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "axis", rename_all = "snake_case", deny_unknown_fields)]
pub enum RestorePoint {
    /// Right after the event with this seq.
    Seq { seq: u64 },
    /// As the ledger had recorded it at this instant (microseconds, `Z`, like `recorded_at`).
    AsOf {
        #[serde(with = "micros")]
        as_of: DateTime<Utc>,
    },
    /// As in force on this date.
    Effective {
        #[serde(with = "date")]
        effective: NaiveDate,
    },
    /// A named version of the plan, and the seq it names.
    Version { name: String, seq: u64 },
}

impl RestorePoint {
    /// The point in the one-string form with an explicit axis (`seq:`, `as-of:`, `effective:`, `version:`), which
    /// is also how `RecordRestore` carries it.
    pub fn code(&self) -> String {
        match self {
            RestorePoint::Seq { seq } => format!("seq:{seq}"),
            RestorePoint::AsOf { as_of } => format!("as-of:{}", as_of.format(micros::FORMAT)),
            RestorePoint::Effective { effective } => format!("effective:{effective}"),
            RestorePoint::Version { name, .. } => format!("version:{name}"),
        }
    }

    /// For people: `seq 17`, `version "adopted" (seq 17)`, `recorded as of …`, `in force on …`.
    pub fn describe(&self) -> String {
        match self {
            RestorePoint::Seq { seq } => format!("seq {seq}"),
            RestorePoint::AsOf { as_of } => format!("recorded as of {}", as_of.format(micros::FORMAT)),
            RestorePoint::Effective { effective } => format!("in force on {effective}"),
            RestorePoint::Version { name, seq } => format!("version {name:?} (seq {seq})"),
        }
    }

    /// Truncates an instant to the stored precision, so the point recorded is exactly the point replayed.
    pub fn as_of(t: DateTime<Utc>) -> Self {
        RestorePoint::AsOf { as_of: DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t) }
    }
}

/// Instants in records (`recorded_at`) and inside events are written with microseconds and `Z`: one spelling per
/// instant, so one record has one byte form.
pub mod micros {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.format(FORMAT).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        crate::core::domain::time::parse_stored_instant(&s).ok_or_else(|| {
            serde::de::Error::custom(
                "instants must be YYYY-MM-DDTHH:MM:SS.ffffffZ with a four-digit year and no leap second",
            )
        })
    }
}

/// Dates in records and events: `YYYY-MM-DD` with a four-digit year, read strictly (chrono's own reading would
/// take a signed or five-digit year).
pub mod date {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.format("%Y-%m-%d").to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        let s = String::deserialize(d)?;
        crate::core::domain::time::parse_date(&s)
            .ok_or_else(|| serde::de::Error::custom("dates must be YYYY-MM-DD with a four-digit year"))
    }
}

/// [`date`] for an optional date: `null` when absent.
pub mod opt_date {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::date::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => crate::core::domain::time::parse_date(&s)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("dates must be YYYY-MM-DD with a four-digit year")),
        }
    }
}
