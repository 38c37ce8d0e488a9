//! Plan values: exact decimals, comparators, targets, directions and the evaluation of actual against target.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::fiscal_year::normalize_digits;

/// An exact decimal plan value. The printed scale is kept (`38.0` stays `38.0`); binary floats never enter.
///
/// Equality includes the scale: `38.0` and `38` are different printed values, so recording one as the other is a
/// change, and an event that misstates the scale of a `previous` value does not verify.
#[derive(Debug, Clone, Copy)]
pub struct PlanValue(Decimal);

impl std::hash::Hash for PlanValue {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Equal values have equal mantissa and scale, so hashing both agrees with `eq`.
        self.0.mantissa().hash(state);
        self.0.scale().hash(state);
    }
}

impl PartialEq for PlanValue {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0 && self.0.scale() == other.0.scale()
    }
}

impl Eq for PlanValue {}

impl PartialOrd for PlanValue {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PlanValue {
    /// By value, then by scale, so the order agrees with equality.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0).then(self.0.scale().cmp(&other.0.scale()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("value {input:?}: {reason}")]
pub struct ValueError {
    pub input: String,
    pub reason: String,
}

impl PlanValue {
    pub fn decimal(&self) -> Decimal {
        self.0
    }

    /// Strict parse of the stored form: optional `-`, digits, optional `.digits`; no separators, no exponent.
    fn parse_canonical(s: &str) -> Option<Self> {
        let body = s.strip_prefix('-').unwrap_or(s);
        let (int, frac) = match body.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (body, None),
        };
        let digits_ok = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !digits_ok(int) || frac.is_some_and(|f| !digits_ok(f)) {
            return None;
        }
        if int.len() > 1 && int.starts_with('0') {
            return None;
        }
        Decimal::from_str_exact(s).ok().map(Self)
    }

    /// Shows thousands separators as Japanese documents print them: `54,000`.
    pub fn grouped(&self) -> String {
        let s = self.to_string();
        let (sign, body) = s.strip_prefix('-').map(|b| ("-", b)).unwrap_or(("", &s));
        let (int, frac) = body.split_once('.').map(|(i, f)| (i, Some(f))).unwrap_or((body, None));
        let mut out = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        match frac {
            Some(f) => format!("{sign}{out}.{f}"),
            None => format!("{sign}{out}"),
        }
    }
}

impl FromStr for PlanValue {
    type Err = ValueError;

    /// Human input: full-width digits and thousands separators are accepted (`５４，０００` → `54000`).
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let norm: String = normalize_digits(input.trim()).chars().filter(|c| *c != ',').collect();
        if norm.is_empty() {
            return Err(ValueError { input: input.into(), reason: "is empty".into() });
        }
        let norm = norm.strip_prefix('+').unwrap_or(&norm).to_string();
        // A leading "0" before more digits ("007") is normalised rather than refused: it is how spreadsheets pad.
        let trimmed = {
            let (sign, body) = norm.strip_prefix('-').map(|b| ("-", b)).unwrap_or(("", norm.as_str()));
            let (int, rest) = body.split_once('.').map(|(i, f)| (i, format!(".{f}"))).unwrap_or((body, String::new()));
            if int.is_empty() {
                return Err(ValueError {
                    input: input.into(),
                    reason: "needs a digit before the decimal point".into(),
                });
            }
            let int = int.trim_start_matches('0');
            let int = if int.is_empty() { "0" } else { int };
            format!("{sign}{int}{rest}")
        };
        Self::parse_canonical(&trimmed).ok_or_else(|| {
            let body = trimmed.strip_prefix('-').unwrap_or(&trimmed);
            let (int, frac) = body.split_once('.').unwrap_or((body, "0"));
            let shaped = !int.is_empty()
                && !frac.is_empty()
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit());
            ValueError {
                input: input.into(),
                reason: if shaped {
                    "is too large or too precise for an exact decimal: at most 28 digits after the point, and all its \
                     digits read as one integer at most 79228162514264337593543950335"
                        .into()
                } else {
                    "is not an exact decimal number (digits with an optional decimal point; no exponent)".into()
                },
            }
        })
    }
}

impl fmt::Display for PlanValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for PlanValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for PlanValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse_canonical(&s)
            .filter(|v| v.0.to_string() == s)
            .ok_or_else(|| serde::de::Error::custom(format!("value {s:?} is not a canonical decimal")))
    }
}

/// How an actual is compared with its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
pub enum Comparator {
    /// The plain figure (=): read together with the indicator's direction.
    #[serde(rename = "eq")]
    Eq,
    /// 以上: at least.
    #[serde(rename = "ge")]
    AtLeast,
    /// 以下: at most.
    #[serde(rename = "le")]
    AtMost,
    /// 超: more than.
    #[serde(rename = "gt")]
    MoreThan,
    /// 未満: less than.
    #[serde(rename = "lt")]
    LessThan,
}

impl Comparator {
    /// The suffix as Japanese documents print it; empty for the plain figure.
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Eq => "",
            Self::AtLeast => "以上",
            Self::AtMost => "以下",
            Self::MoreThan => "超",
            Self::LessThan => "未満",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::AtLeast => "ge",
            Self::AtMost => "le",
            Self::MoreThan => "gt",
            Self::LessThan => "lt",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "" | "=" | "eq" => Self::Eq,
            "以上" | ">=" | "ge" => Self::AtLeast,
            "以下" | "<=" | "le" => Self::AtMost,
            "超" | ">" | "gt" => Self::MoreThan,
            "未満" | "<" | "lt" => Self::LessThan,
            _ => return None,
        })
    }
}

/// A per-year target: a value with its comparator, or an explicit "no target this year" (the documents' "—").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    Value {
        #[cfg_attr(feature = "web", schema(value_type = String))]
        value: PlanValue,
        comparator: Comparator,
    },
    None,
}

impl Target {
    /// `60以上`, `2`, `—`.
    pub fn printed(&self) -> String {
        match self {
            Self::Value { value, comparator } => format!("{}{}", value.grouped(), comparator.suffix()),
            Self::None => "—".to_string(),
        }
    }
}

impl FromStr for Target {
    type Err = ValueError;

    /// `2`, `60以上`, `60 以上`, `38.0`, `54,000`, `—` / `-` / `―` / `none`.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let s = input.trim();
        if matches!(s, "—" | "-" | "―" | "－" | "ー" | "none") {
            return Ok(Self::None);
        }
        for suffix in ["以上", "以下", "未満", "超"] {
            if let Some(v) = s.strip_suffix(suffix) {
                let comparator = Comparator::parse(suffix)
                    .ok_or_else(|| ValueError { input: input.into(), reason: "unknown comparator".into() })?;
                return Ok(Self::Value { value: v.parse()?, comparator });
            }
        }
        let (cmp, v) = if let Some(v) = s.strip_prefix(">=") {
            (Comparator::AtLeast, v)
        } else if let Some(v) = s.strip_prefix("<=") {
            (Comparator::AtMost, v)
        } else if let Some(v) = s.strip_prefix('>') {
            (Comparator::MoreThan, v)
        } else if let Some(v) = s.strip_prefix('<') {
            (Comparator::LessThan, v)
        } else if let Some(v) = s.strip_prefix('=') {
            (Comparator::Eq, v)
        } else {
            (Comparator::Eq, s)
        };
        Ok(Self::Value { value: v.parse()?, comparator: cmp })
    }
}

/// Whether a higher or a lower figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Higher,
    Lower,
    Unspecified,
}

impl Direction {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "higher" | "上昇" | "高" => Self::Higher,
            "lower" | "低下" | "低" => Self::Lower,
            "unspecified" | "" => Self::Unspecified,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Higher => "高いほど良い",
            Self::Lower => "低いほど良い",
            Self::Unspecified => "方向の定めなし",
        }
    }
}

/// The derived 達成度 of an actual against a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Evaluation {
    /// 達成
    Achieved,
    /// 未達成
    NotAchieved,
    /// No target for the year, or no actual yet, or a plain figure without a direction: nothing to grade.
    NotEvaluable,
}

impl Evaluation {
    pub fn label(self) -> &'static str {
        match self {
            Self::Achieved => "達成",
            Self::NotAchieved => "未達成",
            Self::NotEvaluable => "評価対象外",
        }
    }
}

/// Grades an actual: the comparator decides when one is printed; a plain figure is read with the direction.
pub fn evaluate(target: Option<&Target>, actual: Option<PlanValue>, direction: Direction) -> Evaluation {
    let (Some(Target::Value { value, comparator }), Some(actual)) = (target, actual) else {
        return Evaluation::NotEvaluable;
    };
    let (a, t) = (actual.decimal(), value.decimal());
    let ok = match comparator {
        Comparator::AtLeast => a >= t,
        Comparator::AtMost => a <= t,
        Comparator::MoreThan => a > t,
        Comparator::LessThan => a < t,
        Comparator::Eq => match direction {
            Direction::Higher => a >= t,
            Direction::Lower => a <= t,
            Direction::Unspecified => return Evaluation::NotEvaluable,
        },
    };
    if ok { Evaluation::Achieved } else { Evaluation::NotAchieved }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> PlanValue {
        s.parse().unwrap()
    }

    #[test]
    fn values_keep_their_scale_and_drop_separators() {
        assert_eq!(v("38.0").to_string(), "38.0");
        assert_eq!(v("54,000").to_string(), "54000");
        assert_eq!(v("５４，０００").to_string(), "54000");
        assert_eq!(v("007").to_string(), "7");
        assert_eq!(v("-1.50").to_string(), "-1.50");
        assert_eq!(v("84630").grouped(), "84,630");
        assert_eq!(v("1000000.25").grouped(), "1,000,000.25");
        assert_eq!(v("-1000").grouped(), "-1,000");
    }

    #[test]
    fn equality_includes_the_printed_scale() {
        // Regression: 3750.0 once compared equal to 3750, so a misstated `previous` passed verification.
        assert_ne!(v("3750.0"), v("3750"));
        assert_eq!(v("3,750"), v("3750"));
        assert!(v("38") < v("38.0") && v("38.0") < v("38.5"));
        let t = |s: &str| s.parse::<Target>().unwrap();
        assert_ne!(t("38"), t("38.0"));
    }

    #[test]
    fn bad_values_are_refused() {
        for bad in ["", "1e3", "abc", "1.2.3", ".5", "5.", "NaN", "--1"] {
            assert!(bad.parse::<PlanValue>().is_err(), "{bad}");
        }
    }

    #[test]
    fn stored_form_is_strict() {
        let ok: PlanValue = serde_json::from_str("\"37.5\"").unwrap();
        assert_eq!(ok, v("37.5"));
        for bad in ["\"54,000\"", "\"007\"", "37.5", "\"+1\"", "\"1e3\""] {
            assert!(serde_json::from_str::<PlanValue>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn targets_parse_as_printed() {
        assert_eq!(
            "60以上".parse::<Target>().unwrap(),
            Target::Value { value: v("60"), comparator: Comparator::AtLeast }
        );
        assert_eq!("60 以上".parse::<Target>().unwrap().printed(), "60以上");
        assert_eq!("—".parse::<Target>().unwrap(), Target::None);
        assert_eq!("3,750".parse::<Target>().unwrap().printed(), "3,750");
        assert_eq!("5未満".parse::<Target>().unwrap().printed(), "5未満");
        assert_eq!("10超".parse::<Target>().unwrap().printed(), "10超");
        assert_eq!("20以下".parse::<Target>().unwrap().printed(), "20以下");
        assert!("以上".parse::<Target>().is_err());
        assert!("六十以上".parse::<Target>().is_err());
    }

    #[test]
    fn evaluation_follows_comparator_then_direction() {
        let t = |s: &str| s.parse::<Target>().unwrap();
        use Evaluation::*;
        assert_eq!(evaluate(Some(&t("60以上")), Some(v("60")), Direction::Unspecified), Achieved);
        assert_eq!(evaluate(Some(&t("60超")), Some(v("60")), Direction::Higher), NotAchieved);
        assert_eq!(evaluate(Some(&t("5未満")), Some(v("4.9")), Direction::Higher), Achieved);
        assert_eq!(evaluate(Some(&t("5以下")), Some(v("5.1")), Direction::Lower), NotAchieved);
        assert_eq!(evaluate(Some(&t("200")), Some(v("210")), Direction::Higher), Achieved);
        assert_eq!(evaluate(Some(&t("200")), Some(v("210")), Direction::Lower), NotAchieved);
        assert_eq!(evaluate(Some(&t("200")), Some(v("200")), Direction::Unspecified), NotEvaluable);
        assert_eq!(evaluate(Some(&t("—")), Some(v("1")), Direction::Higher), NotEvaluable);
        assert_eq!(evaluate(Some(&t("1")), None, Direction::Higher), NotEvaluable);
        assert_eq!(evaluate(None, Some(v("1")), Direction::Higher), NotEvaluable);
    }
}
