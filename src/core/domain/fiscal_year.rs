//! Fiscal years (年度): parsed from Western years and the Japanese eras, shown in both.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Japanese fiscal year, 1 April – 31 March, identified by the Western year of its April.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FiscalYear(u16);

/// Earliest and latest fiscal years the ledger accepts; wider than any plan needs, narrow enough to catch typos.
pub const MIN_YEAR: u16 = 1868;
pub const MAX_YEAR: u16 = 2200;

/// An era and the Western year of its first year. `last` bounds the era-years accepted: eras that ended before any
/// plan could name their future years are closed at their real end; 平成 stays open because plans written before
/// 2019 name 平成32年度 (2020) and later; 令和, the era now, reaches `MAX_YEAR`, so that every year's era label reads
/// back.
struct Era {
    name: &'static str,
    abbrev: char,
    first: u16,
    last: u16,
}

const ERAS: [Era; 5] = [
    Era { name: "明治", abbrev: 'M', first: 1868, last: 45 },
    Era { name: "大正", abbrev: 'T', first: 1912, last: 15 },
    Era { name: "昭和", abbrev: 'S', first: 1926, last: 64 },
    Era { name: "平成", abbrev: 'H', first: 1989, last: 99 },
    Era { name: "令和", abbrev: 'R', first: 2019, last: MAX_YEAR - 2019 + 1 },
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fiscal year {input:?}: {reason}")]
pub struct FiscalYearError {
    pub input: String,
    pub reason: String,
}

fn err(input: &str, reason: impl Into<String>) -> FiscalYearError {
    FiscalYearError { input: input.to_string(), reason: reason.into() }
}

/// Full-width digits (０-９) and the full-width comma/period are common in municipal documents.
pub(crate) fn normalize_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            // A full-width digit's offset from ０ is 0 to 9, which fits a u8.
            #[allow(clippy::cast_possible_truncation)]
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            '，' => ',',
            '．' => '.',
            '－' | '−' => '-',
            'Ｆ' => 'F',
            'Ｙ' => 'Y',
            _ => c,
        })
        .collect()
}

impl FiscalYear {
    pub fn new(year: u16) -> Result<Self, FiscalYearError> {
        if (MIN_YEAR..=MAX_YEAR).contains(&year) {
            Ok(Self(year))
        } else {
            Err(err(&year.to_string(), format!("must lie between {MIN_YEAR} and {MAX_YEAR}")))
        }
    }

    pub fn year(self) -> u16 {
        self.0
    }

    /// 1 April of the fiscal year.
    pub fn start(self) -> NaiveDate {
        // Invariant: MIN_YEAR..=MAX_YEAR are all representable, and every year has an April 1st.
        NaiveDate::from_ymd_opt(i32::from(self.0), 4, 1).expect("1 April exists in every supported year")
    }

    /// 31 March of the following calendar year.
    pub fn end(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(i32::from(self.0) + 1, 3, 31).expect("31 March exists in every supported year")
    }

    /// The fiscal year a calendar date falls in.
    pub fn containing(date: NaiveDate) -> Result<Self, FiscalYearError> {
        use chrono::Datelike;
        let y = date.year();
        let fy = if date.month() >= 4 { y } else { y - 1 };
        u16::try_from(fy).map_err(|_| err(&date.to_string(), "out of range")).and_then(Self::new)
    }

    /// The era name in use for this fiscal year: 令和 from FY2019 (平成31年度 was renamed 令和元年度).
    pub fn era(self) -> (&'static str, u16) {
        for era in ERAS.iter().rev() {
            if self.0 >= era.first {
                return (era.name, self.0 - era.first + 1);
            }
        }
        // Invariant: MIN_YEAR is 明治's first year, so the loop always returns.
        unreachable!("every supported year has an era")
    }

    /// `平成28年度`, `令和元年度`.
    pub fn era_label(self) -> String {
        let (name, n) = self.era();
        if n == 1 { format!("{name}元年度") } else { format!("{name}{n}年度") }
    }

    /// `2016年度（平成28年度）`: the form the portal and the CLI show.
    pub fn label(self) -> String {
        format!("{}年度（{}）", self.0, self.era_label())
    }
}

impl fmt::Display for FiscalYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for FiscalYear {
    type Err = FiscalYearError;

    /// Accepts `2016`, `2016年度`, `FY2016`, `平成28年度`, `平成２８年度`, `令和元年度`, `H28`, `R1`, `昭和44年`.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let s = normalize_digits(input.trim());
        if s.is_empty() {
            return Err(err(input, "is empty"));
        }
        let s = s.strip_suffix("年度").or_else(|| s.strip_suffix('年')).unwrap_or(&s).trim();
        let s = s.strip_prefix("FY").or_else(|| s.strip_prefix("fy")).unwrap_or(s).trim();
        if s.chars().all(|c| c.is_ascii_digit()) {
            let y: u16 = s.parse().map_err(|_| err(input, "is not a year"))?;
            return Self::new(y).map_err(|e| err(input, e.reason));
        }
        for era in &ERAS {
            let rest = s
                .strip_prefix(era.name)
                .or_else(|| s.strip_prefix(era.abbrev))
                .or_else(|| s.strip_prefix(era.abbrev.to_ascii_lowercase()));
            let Some(rest) = rest else { continue };
            let rest = rest.trim();
            let n: u16 = if rest == "元" {
                1
            } else if !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()) {
                rest.parse().map_err(|_| err(input, "era year is not a number"))?
            } else {
                return Err(err(input, format!("expected a year number or 元 after {}", era.name)));
            };
            if n == 0 {
                return Err(err(input, format!("{} has no year 0 (its first year is 元年)", era.name)));
            }
            if n > era.last {
                return Err(err(input, format!("{} has no year {n} (it ends at year {})", era.name, era.last)));
            }
            return Self::new(era.first + n - 1).map_err(|e| err(input, e.reason));
        }
        Err(err(input, "not a fiscal year (use 2016, 2016年度, FY2016, 平成28年度 or 令和元年度)"))
    }
}

impl Serialize for FiscalYear {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u16(self.0)
    }
}

impl<'de> Deserialize<'de> for FiscalYear {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let y = u16::deserialize(d)?;
        Self::new(y).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fy(s: &str) -> u16 {
        s.parse::<FiscalYear>().unwrap().year()
    }

    #[test]
    fn western_forms() {
        assert_eq!(fy("2016"), 2016);
        assert_eq!(fy("2016年度"), 2016);
        assert_eq!(fy("FY2016"), 2016);
        assert_eq!(fy("fy2016"), 2016);
        assert_eq!(fy("２０１６年度"), 2016);
        assert_eq!(fy(" 2016 "), 2016);
    }

    #[test]
    fn era_forms() {
        assert_eq!(fy("平成28年度"), 2016);
        assert_eq!(fy("平成２８年度"), 2016);
        assert_eq!(fy("平成元年度"), 1989);
        assert_eq!(fy("平成31年度"), 2019);
        assert_eq!(fy("令和元年度"), 2019);
        assert_eq!(fy("令和元年"), 2019);
        assert_eq!(fy("平成32年度"), 2020);
        assert_eq!(fy("令和2年度"), 2020);
        assert_eq!(fy("令和6年度"), 2024);
        assert_eq!(fy("昭和44年"), 1969);
        assert_eq!(fy("昭和58年"), 1983);
        assert_eq!(fy("昭和元年"), 1926);
        assert_eq!(fy("昭和64年"), 1989);
        assert_eq!(fy("H28"), 2016);
        assert_eq!(fy("R1"), 2019);
        assert_eq!(fy("明治45年"), 1912);
        assert_eq!(fy("大正15年"), 1926);
    }

    #[test]
    fn bad_input_is_refused_with_reason() {
        for bad in [
            "平成0年",
            "令和0年度",
            "明治99年",
            "大正16年",
            "昭和65年",
            "",
            "平成",
            "平成x年",
            "1867",
            "2201",
            "FY",
            "令和-1年",
        ] {
            let e = bad.parse::<FiscalYear>().unwrap_err();
            assert!(!e.reason.is_empty(), "{bad}");
        }
        assert!("平成0年".parse::<FiscalYear>().unwrap_err().reason.contains("元年"));
        assert!("明治99年".parse::<FiscalYear>().unwrap_err().reason.contains("45"));
    }

    #[test]
    fn labels() {
        assert_eq!(FiscalYear::new(2016).unwrap().label(), "2016年度（平成28年度）");
        assert_eq!(FiscalYear::new(2019).unwrap().label(), "2019年度（令和元年度）");
        assert_eq!(FiscalYear::new(2018).unwrap().era_label(), "平成30年度");
        assert_eq!(FiscalYear::new(1988).unwrap().era_label(), "昭和63年度");
        assert_eq!(FiscalYear::new(1989).unwrap().era_label(), "平成元年度");
        assert_eq!(FiscalYear::new(2024).unwrap().era_label(), "令和6年度");
    }

    #[test]
    fn boundaries() {
        let f = FiscalYear::new(2016).unwrap();
        assert_eq!(f.start().to_string(), "2016-04-01");
        assert_eq!(f.end().to_string(), "2017-03-31");
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(FiscalYear::containing(d("2017-03-31")).unwrap().year(), 2016);
        assert_eq!(FiscalYear::containing(d("2017-04-01")).unwrap().year(), 2017);
    }

    #[test]
    fn round_trips_through_every_era_label() {
        for y in 1868..=2100u16 {
            let f = FiscalYear::new(y).unwrap();
            assert_eq!(f.era_label().parse::<FiscalYear>().unwrap(), f, "{y}");
            assert_eq!(f.to_string().parse::<FiscalYear>().unwrap(), f);
        }
    }
}
