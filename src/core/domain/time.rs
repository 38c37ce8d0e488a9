//! Japan's calendar: the plans' fiscal years and effective dates are Japanese dates, so "today" and the date of a
//! recorded instant are read in Japan Standard Time (UTC+9, no daylight saving), never as UTC dates.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};

/// Japan Standard Time's offset from UTC, in seconds.
const JST_OFFSET: i32 = 9 * 3600;

/// Instant `t` on Japan's clock, for showing a time as the people it concerns read it.
pub fn jst(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    // Invariant: nine hours is within the ±24 h a fixed offset allows.
    t.with_timezone(&FixedOffset::east_opt(JST_OFFSET).expect("UTC+9 is a valid offset"))
}

/// The calendar date in Japan at instant `t`: the day a plan office means.
pub fn jst_date(t: DateTime<Utc>) -> NaiveDate {
    jst(t).date_naive()
}

/// Whether `s` has the shape `DDDD-DD-DD` (ASCII digits): a four-digit year, as every date in the format has.
/// chrono's `%Y` would also take a sign and a fifth digit (`-0001`, `+10000`), which the format excludes.
fn date_shape(s: &[u8]) -> bool {
    s.len() == 10 && s.iter().enumerate().all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() })
}

/// A date as the format writes it: `YYYY-MM-DD`, a four-digit year (0000–9999) and a real calendar day.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    if !date_shape(s.as_bytes()) {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Why an instant given as input is not one the ledger takes, if it is not.
///
/// Input instants are RFC 3339 with a four-digit year. A leap second (`…:60`) is refused: the ledger's clock never
/// yields one, and an instant that has two spellings would break the rule that every stored value has one.
pub fn instant_problem(s: &str) -> Option<&'static str> {
    let b = s.as_bytes();
    if b.len() < 20 || !date_shape(&b[..10]) || !matches!(b[10], b'T' | b't') {
        return Some("is not an RFC 3339 instant with a four-digit year (YYYY-MM-DDTHH:MM:SSZ or with an offset)");
    }
    if &b[17..19] == b"60" {
        return Some("names a leap second (:60), which the ledger does not record");
    }
    None
}

/// An input instant: RFC 3339 with a four-digit year and no leap second, as UTC. Its year in UTC must be one of
/// 0000–9999 too: an offset can carry `0000-01-01T00:00:00+09:00` into the year -1, which no record can store.
pub fn parse_instant(s: &str) -> Result<DateTime<Utc>, &'static str> {
    if let Some(p) = instant_problem(s) {
        return Err(p);
    }
    let t = DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|_| "is not an RFC 3339 instant")?;
    if !(0..=9999).contains(&t.year()) {
        return Err("falls outside the years 0000–9999 once taken to UTC, which the ledger cannot record");
    }
    Ok(t)
}

/// A stored instant: exactly `YYYY-MM-DDTHH:MM:SS.ffffffZ` (27 ASCII characters), no leap second.
pub fn parse_stored_instant(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let shape = b.len() == 27
        && date_shape(&b[..10])
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[26] == b'Z'
        && [11, 12, 14, 15, 17, 18, 20, 21, 22, 23, 24, 25].iter().all(|&i| b[i].is_ascii_digit());
    if !shape || &b[17..19] == b"60" {
        return None;
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.6fZ").ok().map(|n| n.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_have_four_digit_years() {
        assert_eq!(parse_date("2016-04-01"), NaiveDate::from_ymd_opt(2016, 4, 1));
        assert_eq!(parse_date("0000-01-01"), NaiveDate::from_ymd_opt(0, 1, 1));
        for bad in
            ["-0001-01-01", "+10000-01-01", "10000-01-01", "2016-4-01", "２０１６-04-01", "2016-02-30", " 2016-04-01"]
        {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn instants_have_four_digit_years_and_no_leap_second() {
        assert!(parse_instant("2016-04-01T09:00:00+09:00").is_ok());
        assert!(parse_instant("2016-04-01T00:00:00Z").is_ok());
        assert!(parse_instant("+10000-01-01T00:00:00Z").is_err());
        assert!(parse_instant("-0001-01-01T00:00:00Z").is_err());
        assert!(parse_instant("2016-12-31T23:59:60Z").unwrap_err().contains("leap second"));
        assert!(parse_stored_instant("2016-04-01T00:00:00.000000Z").is_some());
        for bad in [
            "2016-12-31T23:59:60.000000Z",
            "2016-04-01T24:00:00.000000Z",
            "+2016-04-01T00:00:00.000000Z",
            "2016-04-01T00:00:00.000Z",
            "2016-04-01T00:00:00.000000+00:00",
        ] {
            assert_eq!(parse_stored_instant(bad), None, "{bad}");
        }
    }

    #[test]
    fn half_past_midnight_in_japan_is_the_next_day() {
        let t = DateTime::parse_from_rfc3339("2026-12-01T15:30:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(jst_date(t), NaiveDate::from_ymd_opt(2026, 12, 2).unwrap());
        let t = DateTime::parse_from_rfc3339("2026-12-01T14:59:59Z").unwrap().with_timezone(&Utc);
        assert_eq!(jst_date(t), NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
    }
}
