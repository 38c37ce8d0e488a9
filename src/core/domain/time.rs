//! Japan's calendar: the plans' fiscal years and effective dates are Japanese dates, so "today" and the date of a
//! recorded instant are read in Japan Standard Time (UTC+9, no daylight saving), never as UTC dates.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_past_midnight_in_japan_is_the_next_day() {
        let t = DateTime::parse_from_rfc3339("2026-12-01T15:30:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(jst_date(t), NaiveDate::from_ymd_opt(2026, 12, 2).unwrap());
        let t = DateTime::parse_from_rfc3339("2026-12-01T14:59:59Z").unwrap().with_timezone(&Utc);
        assert_eq!(jst_date(t), NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
    }
}
