//! Projection snapshots are caches that never change an answer: for random ledgers whose changes arrive out of
//! effective order, the plan at random points on all three axes, served from snapshots plus a short replay, equals
//! a full replay of the log — across restarts, late arrivals that make snapshots stale, and damaged cache entries.

use chrono::{Duration, NaiveDate};
use planledger::core::domain::{Command, PlanId, State};
use planledger::core::projection::{Point, replay};
use planledger::store::CachePos;
use planledger::store::cache::plan_slice;
use planledger::store::ledger::{AppendRequest, Ledger};
use proptest::prelude::*;

use crate::support::{create_plan, meta};

fn date(i: u8) -> NaiveDate {
    // Eight dates around fiscal-year starts, so that changes often share a date and often cross one.
    const DAYS: [(i32, u32, u32); 8] = [
        (2015, 4, 1),
        (2016, 3, 31),
        (2016, 4, 1),
        (2016, 10, 1),
        (2017, 3, 31),
        (2017, 4, 1),
        (2018, 4, 1),
        (2019, 1, 15),
    ];
    let (y, m, d) = DAYS[i as usize % DAYS.len()];
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[derive(Debug, Clone)]
enum Op {
    /// A command on plan `plan` (0 or 1), effective on `date(day)`; refusals are fine.
    Write {
        plan: u8,
        day: u8,
        what: u8,
        a: u8,
        b: u8,
        c: u8,
    },
    Restart,
    /// Damage a cached snapshot: replace the nearest one at or before a position with garbage.
    Damage {
        plan: u8,
        seq: u8,
        day: u8,
    },
    /// Check random points now (which also fills the cache).
    Check {
        seq: u8,
        day: u8,
        as_of: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0..2u8, 0..8u8, 0..10u8, any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(plan, day, what, a, b, c)| Op::Write { plan, day, what, a, b, c }),
        1 => Just(Op::Restart),
        1 => (0..2u8, any::<u8>(), 0..8u8).prop_map(|(plan, seq, day)| Op::Damage { plan, seq, day }),
        3 => (any::<u8>(), 0..10u8, any::<u8>()).prop_map(|(seq, day, as_of)| Op::Check { seq, day, as_of }),
    ]
}

fn plan_name(p: u8) -> &'static str {
    if p == 0 { "p" } else { "q" }
}

fn command(plan: &str, what: u8, a: u8, b: u8, c: u8) -> Command {
    let node = |x: u8| format!("{plan}.n{}", x % 6);
    let ind = |x: u8| format!("{plan}.i{}", x % 4);
    let year = |x: u8| (2016 + (x % 3) as u16).to_string();
    match what {
        0 => Command::AddNode {
            plan: plan.into(),
            node: node(a),
            parent: if b.is_multiple_of(3) { None } else { Some(node(b)) },
            order: None,
            code: format!("{}", a % 6),
            title: format!("施策{}", a % 6),
            text: String::new(),
            details: vec![],
            departments: vec![format!("課{}", c % 3)],
        },
        1 => Command::ReviseNodeText { node: node(a), text: format!("本文{b}") },
        2 => Command::RenameNode { node: node(a), code: None, title: Some(format!("名称{b}")) },
        3 => Command::MoveNode {
            node: node(a),
            parent: if b.is_multiple_of(3) { None } else { Some(node(b)) },
            order: Some((c % 4) as u64),
        },
        4 => Command::RetireNode { node: node(a) },
        5 => Command::DefineIndicator {
            indicator: ind(a),
            node: node(b),
            name: format!("指標{}", a % 4),
            unit: "件".into(),
            direction: "higher".into(),
            cumulative: false,
            note: String::new(),
        },
        6 => Command::SetTarget { indicator: ind(a), fiscal_year: year(b), target: format!("{}", c % 5) },
        7 => Command::WithdrawTarget { indicator: ind(a), fiscal_year: year(b) },
        8 => Command::ReportProgress {
            indicator: ind(a),
            fiscal_year: year(b),
            value: format!("{}", c % 7),
            as_of: None,
            note: String::new(),
        },
        _ => Command::SetMilestone { node: node(a), fiscal_year: year(b), text: format!("計画内容{c}") },
    }
}

/// The parts of a state a plan view is made of (the `events` counter differs by construction between a plan-scoped
/// fold and a slice of the full fold).
fn content(s: &State) -> (String, String, String) {
    (
        serde_json::to_string(&s.plans).unwrap(),
        serde_json::to_string(&s.nodes).unwrap(),
        serde_json::to_string(&s.indicators).unwrap(),
    )
}

fn check_points(ledger: &Ledger, seq: u8, day: u8, as_of: u8) -> Result<(), TestCaseError> {
    let records = ledger.records(0, u64::MAX).unwrap();
    if records.is_empty() {
        return Ok(());
    }
    let s = seq as u64 % records.len() as u64;
    let t = records[as_of as usize % records.len()].recorded_at + Duration::microseconds(as_of as i64 % 3 - 1);
    let d = date(day) + Duration::days(day as i64 % 3 - 1);
    for point in [None, Some(Point::Seq(s)), Some(Point::AsOf(t)), Some(Point::Effective(d))] {
        for p in ["p", "q"] {
            let plan = PlanId::new(p).unwrap();
            let expected = plan_slice(&replay(&records, point), &plan);
            let got = ledger.plan_at(&plan, point).unwrap();
            prop_assert_eq!(content(&got.state), content(&expected), "plan {} at {:?}", p, point);
        }
    }
    Ok(())
}

fn write(ledger: &Ledger, plan: u8, day: u8, cmd: Command) {
    let mut m = meta(Some("見直し"));
    m.effective = Some(date(day));
    let _ = ledger.append_blocking(AppendRequest::new(vec![cmd], m));
    let _ = plan;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn snapshot_answers_equal_a_full_replay(
        every in 1..5u64,
        ops in proptest::collection::vec(op(), 10..90),
        finals in proptest::collection::vec((any::<u8>(), 0..10u8, any::<u8>()), 4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(dir.path()).unwrap();
        ledger.set_cache_every(every);
        for (i, p) in ["p", "q"].into_iter().enumerate() {
            write(&ledger, i as u8, 0, create_plan(p));
        }
        for op in ops {
            match op {
                Op::Write { plan, day, what, a, b, c } => write(&ledger, plan, day, command(plan_name(plan), what, a, b, c)),
                Op::Restart => {
                    ledger.close();
                    ledger = Ledger::open(dir.path()).unwrap();
                    ledger.set_cache_every(every);
                }
                Op::Damage { plan, seq, day } => {
                    for pos in [CachePos::Seq(seq as u64), CachePos::InForce(date(day), u64::MAX)] {
                        if let Some((at, _)) = ledger.cached_floor(plan_name(plan), pos).unwrap() {
                            ledger.plant_cache_entry(plan_name(plan), at, b"PLSN garbage").unwrap();
                        }
                    }
                }
                Op::Check { seq, day, as_of } => check_points(&ledger, seq, day, as_of)?,
            }
        }
        ledger.close();
        let ledger = Ledger::open(dir.path()).unwrap();
        ledger.set_cache_every(every);
        for (seq, day, as_of) in finals {
            check_points(&ledger, seq, day, as_of)?;
        }
        // After warming, every answer is a snapshot plus fewer than `every` replayed events.
        ledger.warm().unwrap();
        // Every snapshot the readers and `warm` wrote equals the log's replay at its position.
        let check = ledger.verify_cache().unwrap();
        prop_assert!(check.differed.is_empty(), "{:?}", check);
        let len = ledger.head().len;
        for p in ["p", "q"] {
            let plan = PlanId::new(p).unwrap();
            for s in 0..len {
                let got = ledger.plan_at(&plan, Some(Point::Seq(s))).unwrap();
                prop_assert!(got.replayed < every, "seq {} replayed {} with snapshots every {}", s, got.replayed, every);
            }
            for day in 0..8 {
                let got = ledger.plan_at(&plan, Some(Point::Effective(date(day)))).unwrap();
                prop_assert!(got.replayed < every, "{} replayed {}", date(day), got.replayed);
            }
        }
    }
}

/// A change that takes effect before changes already on the timeline makes the later in-force snapshots stale:
/// they are dropped and the answer includes the late change.
#[test]
fn a_late_arrival_makes_later_in_force_entries_stale() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path()).unwrap();
    ledger.set_cache_every(1);
    write(&ledger, 0, 0, create_plan("p"));
    write(&ledger, 0, 0, command("p", 0, 0, 0, 0));
    for (day, text) in [(5u8, "二〇一七年度本文"), (6, "二〇一八年度本文")] {
        write(&ledger, 0, day, Command::ReviseNodeText { node: "p.n0".into(), text: text.into() });
    }
    let plan = PlanId::new("p").unwrap();
    let text_on = |d: NaiveDate| {
        let at = ledger.plan_at(&plan, Some(Point::Effective(d))).unwrap();
        (at.state.nodes.values().next().unwrap().text.clone(), at.from_cache)
    };
    ledger.warm().unwrap();
    let on = NaiveDate::from_ymd_opt(2017, 6, 1).unwrap();
    let (text, from) = text_on(on);
    assert_eq!(text, "二〇一七年度本文");
    assert!(matches!(from, Some(CachePos::InForce(d, _)) if d == date(5)), "{from:?}");
    // Recorded now, in force from 1 October 2016: before both revisions, so on 1 June 2017 the 2017 text still
    // holds, and on 1 January 2017 the late text does.
    write(&ledger, 0, 3, Command::ReviseNodeText { node: "p.n0".into(), text: "遡及本文".into() });
    assert_eq!(text_on(on).0, "二〇一七年度本文");
    assert_eq!(text_on(NaiveDate::from_ymd_opt(2017, 1, 1).unwrap()).0, "遡及本文");
    // Blame on the effective axis names the change in force, not the one recorded last.
    let records = ledger.records(0, u64::MAX).unwrap();
    let rows = planledger::core::projection::blame(&records, &plan, Some(Point::Effective(on)));
    let text_row = rows.iter().find(|r| r.what.contains("本文")).unwrap();
    assert_eq!((text_row.value.as_str(), text_row.set_by.seq), ("二〇一七年度本文", 2));
    // The stale snapshots were dropped: the one used now is at or before the late change's position.
    let (_, from) = text_on(on);
    let records = ledger.records(0, u64::MAX).unwrap();
    let expected = plan_slice(&replay(&records, Some(Point::Effective(on))), &plan);
    assert_eq!(content(&ledger.plan_at(&plan, Some(Point::Effective(on))).unwrap().state), content(&expected));
    assert!(from.is_some());
    ledger.close();
}

/// A store whose in-force timeline is missing (as written before the timeline existed) gets it rebuilt on open,
/// with its late arrivals.
#[test]
fn an_older_store_gets_its_timeline_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path()).unwrap();
    write(&ledger, 0, 2, create_plan("p"));
    write(&ledger, 0, 2, command("p", 0, 0, 0, 0));
    write(&ledger, 0, 6, Command::ReviseNodeText { node: "p.n0".into(), text: "後".into() });
    write(&ledger, 0, 3, Command::ReviseNodeText { node: "p.n0".into(), text: "遡及".into() });
    ledger.close();
    {
        let db = crate::support::open_sled(dir.path());
        db.drop_tree("timeline").unwrap();
        db.open_tree("meta").unwrap().remove("timeline").unwrap();
        db.flush().unwrap();
    }
    let ledger = Ledger::open(dir.path()).unwrap();
    assert_eq!(ledger.late_arrivals("p", 0).unwrap(), vec![(3, date(3))]);
    let plan = PlanId::new("p").unwrap();
    let records = ledger.records(0, u64::MAX).unwrap();
    for day in 0..8 {
        let point = Some(Point::Effective(date(day)));
        let expected = plan_slice(&replay(&records, point), &plan);
        assert_eq!(content(&ledger.plan_at(&plan, point).unwrap().state), content(&expected), "{}", date(day));
    }
    ledger.close();
}

/// A snapshot forged with a valid checksum passes the checks made before each use; `verify_cache` recomputes
/// every snapshot from the log, finds it, and drops it, after which answers come from the log again.
#[test]
fn cache_verify_finds_a_forged_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path()).unwrap();
    ledger.set_cache_every(2);
    write(&ledger, 0, 0, create_plan("p"));
    write(&ledger, 0, 0, command("p", 0, 0, 0, 0));
    for (day, text) in [(2u8, "本文一"), (5, "本文二"), (6, "本文三")] {
        write(&ledger, 0, day, Command::ReviseNodeText { node: "p.n0".into(), text: text.into() });
    }
    ledger.warm().unwrap();
    let plan = PlanId::new("p").unwrap();
    let pos = CachePos::Seq(3);
    let bytes = ledger.cached_at("p", pos).unwrap().expect("a seq snapshot after the plan's fourth event");
    // Header: magic 4, format 4, built_len 8, seq 8, event hash 32, checksum 32; then the LZ4 payload.
    let json = lz4_flex::decompress_size_prepended(&bytes[88..]).unwrap();
    let forged_json = String::from_utf8(json).unwrap().replace("本文二", "改ざん");
    let payload = lz4_flex::compress_prepend_size(forged_json.as_bytes());
    let mut forged = bytes[..56].to_vec();
    forged.extend_from_slice(blake3::hash(&payload).as_bytes());
    forged.extend_from_slice(&payload);
    ledger.plant_cache_entry("p", pos, &forged).unwrap();
    let text_at =
        |s: u64| ledger.plan_at(&plan, Some(Point::Seq(s))).unwrap().state.nodes.values().next().unwrap().text.clone();
    assert_eq!(text_at(3), "改ざん", "the forgery passes the checks made before use");
    let check = ledger.verify_cache().unwrap();
    assert_eq!(check.differed, vec!["p Seq(3)".to_string()]);
    assert!(check.checked >= 4, "{check:?}");
    assert_eq!(text_at(3), "本文二");
    assert!(ledger.verify_cache().unwrap().differed.is_empty());
    ledger.close();
}
