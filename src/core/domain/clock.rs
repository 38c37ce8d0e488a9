//! The recording clock: the rule by which the writer dates each batch's `recorded_at` from two clock readings (the
//! system's wall clock and a monotonic clock) and the last recorded instant. Pure: the store reads the clocks and
//! logs what the rule notes.
//!
//! A record dated in the future poisons the ledger: `recorded_at` never decreases, so every later record carries
//! that instant too, and no `as_of` query before it sees any of them. The rule keeps one wrong reading of the wall
//! clock from doing that:
//!
//! - While running, the writer keeps an estimate of now: the last wall reading it followed, advanced by monotonic
//!   time. It follows the wall clock whenever the two agree within [`CLOCK_BOUND`], so slow drift and small steps
//!   (NTP) are followed as they come.
//! - A forward jump beyond the bound is not followed: the writer dates at its estimate until the wall clock agrees
//!   with it again, or until the jump has held for [`JUMP_HELD`] of monotonic time (a clock corrected forward, or a
//!   machine resumed from suspend, stays where it went; a wrong jump is usually put back).
//! - A step back is followed, since the writer never dates a record more than [`CLOCK_BOUND`] ahead of the system
//!   clock: `recorded_at` then holds at the last instant (equal instants are allowed along the chain) until the clock
//!   passes it.
//! - If holding would date a record more than the bound ahead of the system clock (the last record lies ahead of
//!   it: a jump was recorded earlier, or the clock is wrong now), the writer refuses to date it ([`ClockBehind`])
//!   unless the operator has accepted dating records up to that instant.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

/// How far the wall clock may stray from the writer's estimate and still be followed, and how far ahead of the
/// system clock the writer ever dates a record without the operator's word. Two minutes is far beyond what NTP
/// slews or steps a synchronised clock by, and short enough that a record dated within it is still "now" for anyone
/// asking what the ledger said at a time of day.
pub const CLOCK_BOUND: TimeDelta = TimeDelta::minutes(2);

/// How long (monotonic time, over two readings at least) a forward jump must hold before the writer follows it.
pub const JUMP_HELD: Duration = Duration::from_secs(10 * 60);

/// One reading of the writer's two clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// The system (wall) clock.
    pub wall: DateTime<Utc>,
    /// A monotonic clock: time elapsed since an arbitrary origin, never going back and never stepped.
    pub mono: Duration,
}

/// Something about the clocks the operator should hear of: the writer logs it with both readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockNote {
    /// The wall clock is more than [`CLOCK_BOUND`] ahead of the estimate; the record is dated at the estimate.
    JumpNotFollowed { wall: DateTime<Utc>, estimate: DateTime<Utc> },
    /// A forward jump held for [`JUMP_HELD`]: the wall clock is followed again from here on.
    JumpFollowed { wall: DateTime<Utc>, estimate: DateTime<Utc> },
    /// The wall clock went back more than [`CLOCK_BOUND`] behind the estimate; it is followed, and `recorded_at`
    /// holds at the last instant until the clock passes it.
    SteppedBack { wall: DateTime<Utc>, estimate: DateTime<Utc> },
    /// Dated at the last recorded instant, more than [`CLOCK_BOUND`] ahead of the system clock, on the operator's
    /// word.
    AheadOnWord { last: DateTime<Utc>, wall: DateTime<Utc> },
}

/// The instant a batch is recorded at, and what the operator should hear about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub at: DateTime<Utc>,
    pub notes: Vec<ClockNote>,
}

/// Why the writer dates nothing now: its last record lies more than [`CLOCK_BOUND`] ahead of the system clock, and
/// the operator has not accepted dating records up to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the ledger's last record is dated {}, {} ahead of the system clock ({}); the ledger dates no change more than \
     {} ahead of the clock without the operator's word",
    stored(.last), span(*.last - *.wall), stored(.wall), span(CLOCK_BOUND)
)]
pub struct ClockBehind {
    /// The last recorded instant: the earliest a new record could be dated at.
    pub last: DateTime<Utc>,
    /// The system clock's reading.
    pub wall: DateTime<Utc>,
}

/// An instant as records spell it (the operator copies it into their word).
pub fn stored(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// A length of time for people: the largest unit (days, hours, minutes, seconds) and the next one, when not zero.
pub fn span(d: TimeDelta) -> String {
    let s = d.num_seconds().unsigned_abs();
    let parts = [(s / 86_400, "d"), (s / 3_600 % 24, "h"), (s / 60 % 60, "min"), (s % 60, "s")];
    let shown: Vec<String> = parts
        .iter()
        .skip_while(|(n, _)| *n == 0)
        .take(2)
        .filter(|(n, _)| *n != 0)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect();
    if shown.is_empty() { "under a second".into() } else { shown.join(" ") }
}

/// The last wall reading the writer followed, and the monotonic reading taken with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Anchor {
    wall: DateTime<Utc>,
    mono: Duration,
}

/// A forward jump not followed yet: when it was first seen (monotonic) and how far ahead the wall clock was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Jump {
    since: Duration,
    ahead: TimeDelta,
}

/// The writer's clock rule and what it remembers between batches (see the module's documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordingClock {
    anchor: Option<Anchor>,
    jump: Option<Jump>,
    /// The operator's word: records may be dated up to this instant even if it is more than [`CLOCK_BOUND`] ahead
    /// of the system clock.
    accept_until: Option<DateTime<Utc>>,
}

impl RecordingClock {
    /// A clock that has read nothing yet (it follows its first wall reading), with the operator's word if given.
    pub fn new(accept_until: Option<DateTime<Utc>>) -> Self {
        Self { anchor: None, jump: None, accept_until }
    }

    /// The instant to date a batch at, given this reading and the last recorded instant: never before `last`, and
    /// never more than [`CLOCK_BOUND`] ahead of `r.wall` unless the operator's word covers it. A refusal leaves the
    /// clock as it was, so a reading that dated nothing never becomes the anchor.
    pub fn stamp(&mut self, r: Reading, last: Option<DateTime<Utc>>) -> Result<Stamp, ClockBehind> {
        let r = Reading { wall: r.wall.trunc_subsecs(6), mono: r.mono };
        let mut next = self.clone();
        let (candidate, mut notes) = next.candidate(r);
        let at = match last {
            Some(l) if l > candidate => l,
            _ => candidate,
        };
        if let Some(refusal) = self.refusal(r.wall, at) {
            return Err(refusal);
        }
        if r.wall.checked_add_signed(CLOCK_BOUND).is_some_and(|limit| at > limit) {
            notes.push(ClockNote::AheadOnWord { last: at, wall: r.wall });
        }
        *self = next;
        Ok(Stamp { at, notes })
    }

    /// Whether dating a record at `at` when the system clock reads `wall` is refused: it is more than
    /// [`CLOCK_BOUND`] ahead and beyond the operator's word. The writer asks at open too, to say so at once.
    pub fn refusal(&self, wall: DateTime<Utc>, at: DateTime<Utc>) -> Option<ClockBehind> {
        let ahead = wall.checked_add_signed(CLOCK_BOUND).is_some_and(|limit| at > limit);
        let accepted = self.accept_until.is_some_and(|u| at <= u);
        (ahead && !accepted).then_some(ClockBehind { last: at, wall })
    }

    /// The estimate of now at monotonic reading `mono`: the anchor advanced by the monotonic time since it.
    fn estimate(&self, mono: Duration) -> Option<DateTime<Utc>> {
        let a = self.anchor?;
        // A monotonic span too long for chrono (hundreds of millions of years) cannot occur; it would read as the
        // end of time, and the wall clock would be followed back from it.
        let elapsed = TimeDelta::from_std(mono.saturating_sub(a.mono)).unwrap_or(TimeDelta::MAX);
        Some(a.wall.checked_add_signed(elapsed).unwrap_or(DateTime::<Utc>::MAX_UTC).trunc_subsecs(6))
    }

    fn follow(&mut self, r: Reading) {
        self.anchor = Some(Anchor { wall: r.wall, mono: r.mono });
        self.jump = None;
    }

    /// The instant the clocks say it is, before the last record and the bound are considered.
    fn candidate(&mut self, r: Reading) -> (DateTime<Utc>, Vec<ClockNote>) {
        let Some(estimate) = self.estimate(r.mono) else {
            self.follow(r);
            return (r.wall, Vec::new());
        };
        let ahead = r.wall.signed_duration_since(estimate);
        if ahead > CLOCK_BOUND {
            let jump = match self.jump {
                // The same jump if the wall clock has kept (within the bound) the distance it jumped by.
                Some(j) if (ahead - j.ahead).abs() <= CLOCK_BOUND => j,
                _ => Jump { since: r.mono, ahead },
            };
            if r.mono.saturating_sub(jump.since) >= JUMP_HELD {
                self.follow(r);
                return (r.wall, vec![ClockNote::JumpFollowed { wall: r.wall, estimate }]);
            }
            self.jump = Some(jump);
            return (estimate, vec![ClockNote::JumpNotFollowed { wall: r.wall, estimate }]);
        }
        let notes =
            if ahead < -CLOCK_BOUND { vec![ClockNote::SteppedBack { wall: r.wall, estimate }] } else { Vec::new() };
        self.follow(r);
        (r.wall, notes)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn secs(s: i64) -> TimeDelta {
        TimeDelta::seconds(s)
    }

    fn at(wall: TimeDelta, mono_secs: u64) -> Reading {
        Reading { wall: t0() + wall, mono: Duration::from_secs(mono_secs) }
    }

    /// Stamps one reading after `last`, as the writer does, and returns the stamp.
    fn stamp(c: &mut RecordingClock, last: &mut Option<DateTime<Utc>>, r: Reading) -> Result<Stamp, ClockBehind> {
        let s = c.stamp(r, *last)?;
        *last = Some(s.at);
        Ok(s)
    }

    #[test]
    fn a_steady_clock_and_slow_drift_are_followed() {
        let (mut c, mut last) = (RecordingClock::new(None), None);
        // One second of drift a minute against the monotonic clock: after 1000 minutes the wall clock is far from
        // where the first reading and monotonic time put it, yet it never strayed from one reading to the next.
        for k in 0..1000 {
            let s = stamp(&mut c, &mut last, at(secs(61 * k), 60 * k as u64)).unwrap();
            assert_eq!(s, Stamp { at: t0() + secs(61 * k), notes: vec![] }, "reading {k}");
        }
    }

    #[test]
    fn a_forward_jump_then_back_is_not_followed() {
        let (mut c, mut last) = (RecordingClock::new(None), None);
        stamp(&mut c, &mut last, at(secs(0), 0)).unwrap();
        let jumped = stamp(&mut c, &mut last, at(TimeDelta::days(365), 5)).unwrap();
        assert_eq!(jumped.at, t0() + secs(5), "dated at the estimate: the first reading plus monotonic time");
        assert_eq!(
            jumped.notes,
            vec![ClockNote::JumpNotFollowed { wall: t0() + TimeDelta::days(365), estimate: t0() + secs(5) }]
        );
        // Still ahead a little later: still not followed.
        let still = stamp(&mut c, &mut last, at(TimeDelta::days(365) + secs(3), 8)).unwrap();
        assert_eq!(still.at, t0() + secs(8));
        // Back where it belongs (a second off the estimate): followed again, and the future never reached a record.
        let back = stamp(&mut c, &mut last, at(secs(11), 10)).unwrap();
        assert_eq!(back, Stamp { at: t0() + secs(11), notes: vec![] });
    }

    #[test]
    fn a_forward_jump_that_holds_is_followed_and_a_step_back_then_waits() {
        let (mut c, mut last) = (RecordingClock::new(None), None);
        stamp(&mut c, &mut last, at(secs(0), 0)).unwrap();
        let day = TimeDelta::days(1);
        assert_eq!(stamp(&mut c, &mut last, at(day + secs(1), 1)).unwrap().at, t0() + secs(1));
        assert_eq!(stamp(&mut c, &mut last, at(day + secs(300), 300)).unwrap().at, t0() + secs(300), "held 5 min");
        // A jump of another size is a new jump: its ten minutes start again.
        let other = stamp(&mut c, &mut last, at(day + secs(3_600 + 400), 400)).unwrap();
        assert_eq!(other.at, t0() + secs(400));
        assert_eq!(stamp(&mut c, &mut last, at(day + secs(3_600 + 960), 960)).unwrap().at, t0() + secs(960));
        let held = stamp(&mut c, &mut last, at(day + secs(3_600 + 1_000), 1_000)).unwrap();
        assert_eq!(held.at, t0() + day + secs(3_600 + 1_000), "ten minutes after it was first seen");
        assert!(matches!(held.notes[..], [ClockNote::JumpFollowed { .. }]), "{:?}", held.notes);
        // The clock is put back after all: the last record is a day ahead of it now, and nothing is dated.
        let before = c.clone();
        let e = c.stamp(at(secs(1_010), 1_010), last).unwrap_err();
        assert_eq!(e, ClockBehind { last: t0() + day + secs(3_600 + 1_000), wall: t0() + secs(1_010) });
        assert_eq!(c, before, "a refusal changes nothing");
    }

    #[test]
    fn a_backward_step_holds_recorded_at_at_the_last_instant() {
        let (mut c, mut last) = (RecordingClock::new(None), None);
        stamp(&mut c, &mut last, at(secs(0), 0)).unwrap();
        // Thirty seconds back, within the bound: the same instant again (the chain allows equal instants).
        assert_eq!(stamp(&mut c, &mut last, at(secs(-30), 1)).unwrap(), Stamp { at: t0(), notes: vec![] });
        assert_eq!(stamp(&mut c, &mut last, at(secs(-28), 3)).unwrap().at, t0());
        assert_eq!(stamp(&mut c, &mut last, at(secs(1), 32)).unwrap().at, t0() + secs(1), "past it: followed");

        // An hour back: followed (never date far ahead of the system clock), so the last record is too far ahead.
        let e = c.stamp(at(secs(-3_600), 40), last).unwrap_err();
        assert_eq!(e, ClockBehind { last: t0() + secs(1), wall: t0() - secs(3_600) });
        // With the operator's word for that instant, records are dated at it, and the operator hears why.
        let mut c = RecordingClock::new(last);
        let s = c.stamp(at(secs(-3_600), 40), last).unwrap();
        assert_eq!(s.at, t0() + secs(1));
        assert_eq!(s.notes, vec![ClockNote::AheadOnWord { last: t0() + secs(1), wall: t0() - secs(3_600) }]);
    }

    #[test]
    fn a_restart_after_a_future_record_dates_nothing_without_the_operators_word() {
        let future = t0() + TimeDelta::days(30);
        let r = at(secs(0), 0);
        let mut c = RecordingClock::new(None);
        assert_eq!(c.refusal(r.wall, future), Some(ClockBehind { last: future, wall: t0() }));
        assert_eq!(c.stamp(r, Some(future)), Err(ClockBehind { last: future, wall: t0() }));
        assert_eq!(c, RecordingClock::new(None), "the refused reading is no anchor");
        // A word for an earlier instant does not cover it.
        let mut c = RecordingClock::new(Some(future - TimeDelta::microseconds(1)));
        assert!(c.stamp(r, Some(future)).is_err());
        let mut c = RecordingClock::new(Some(future));
        assert_eq!(c.stamp(r, Some(future)).unwrap().at, future);
        // A last record less than the bound ahead is simply held to.
        let near = t0() + secs(100);
        let s = RecordingClock::new(None).stamp(r, Some(near)).unwrap();
        assert_eq!(s, Stamp { at: near, notes: vec![] });
        // Once the clock is set right (here: at open), it is followed from its first reading.
        let mut c = RecordingClock::new(None);
        assert!(c.stamp(r, Some(future)).is_err());
        let right = Reading { wall: future + secs(5), mono: Duration::from_secs(5) };
        assert_eq!(c.stamp(right, Some(future)).unwrap(), Stamp { at: future + secs(5), notes: vec![] });
    }

    #[test]
    fn the_refusal_names_both_instants_and_the_distance() {
        let e = ClockBehind { last: t0() + TimeDelta::days(1) + secs(7_200), wall: t0() };
        let text = e.to_string();
        assert!(text.contains("2026-12-02T02:00:00.000000Z") && text.contains("2026-12-01T00:00:00.000000Z"), "{text}");
        assert!(text.contains("1 d 2 h ahead") && text.contains("more than 2 min ahead"), "{text}");
        assert_eq!(span(secs(59)), "59 s");
        assert_eq!(span(TimeDelta::days(365)), "365 d");
        assert_eq!(span(TimeDelta::milliseconds(10)), "under a second");
    }

    proptest! {
        /// Whatever the wall clock does, `recorded_at` never decreases, never lies more than the bound ahead of the
        /// wall reading, and is the wall reading itself whenever that agrees with the last one the rule followed.
        #[test]
        fn never_decreases_and_never_runs_ahead_of_the_system_clock(
            steps in proptest::collection::vec((0u64..900, -200i64..200, 0u8..10), 1..60)
        ) {
            let (mut c, mut last) = (RecordingClock::new(None), None::<DateTime<Utc>>);
            let (mut mono, mut offset) = (0u64, 0i64);
            for (dt, drift, kind) in steps {
                mono += dt;
                // Mostly a clock that drifts a little; sometimes it jumps a day either way, or back to true.
                offset = match kind {
                    0 => offset + 86_400,
                    1 => offset - 86_400,
                    2 => 0,
                    _ => offset + drift,
                };
                let wall = t0() + secs(mono as i64 + offset);
                match c.stamp(Reading { wall, mono: Duration::from_secs(mono) }, last) {
                    Ok(s) => {
                        prop_assert!(last.is_none_or(|l| s.at >= l));
                        prop_assert!(s.at <= wall + CLOCK_BOUND);
                        last = Some(s.at);
                    }
                    Err(e) => {
                        prop_assert!(e.last > wall + CLOCK_BOUND);
                        prop_assert_eq!(Some(e.last), last);
                    }
                }
            }
        }
    }
}
