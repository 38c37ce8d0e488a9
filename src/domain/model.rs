//! Plan model value types shared by commands, events and state: periods, statuses, actors, texts.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::fiscal_year::FiscalYear;
use super::value::PlanValue;

/// The fiscal years a plan covers, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: FiscalYear,
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
pub struct Actor {
    pub id: String,
    pub name: String,
    pub department: String,
}

/// A labelled text of a node, such as 現況（平成27年度末見込み） or 必要事業量.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detail {
    pub label: String,
    pub text: String,
}

/// The starting figure of an indicator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub value: PlanValue,
    pub fiscal_year: FiscalYear,
    pub note: String,
}

/// A reported actual (実績) for one fiscal year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actual {
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
    pub effective: NaiveDate,
}
