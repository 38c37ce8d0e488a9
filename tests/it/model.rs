//! Property test: random commands and restarts against a simple in-memory model. After every step the ledger's
//! acceptance agrees with the model; after restarts and at the end the projections and the log agree with it.

use std::collections::BTreeMap;

use planledger::core::domain::value::Target;
use planledger::core::domain::{Command, IndicatorId};
use planledger::core::projection::{self, Point};
use planledger::store::ledger::{Ledger, verify_dir};
use proptest::prelude::*;

use crate::support::{add_node, append, create_plan, define, set_target};

#[derive(Debug, Clone)]
enum Op {
    SetTarget { ind: usize, year: u16, value: u16, at_least: bool, reason: bool },
    Withdraw { ind: usize, year: u16 },
    Report { ind: usize, year: u16, value: u16 },
    Correct { ind: usize, year: u16, value: u16 },
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, 2015..2020u16, 0..5u16, any::<bool>(), any::<bool>())
            .prop_map(|(ind, year, value, at_least, reason)| Op::SetTarget { ind, year, value, at_least, reason }),
        1 => (0..3usize, 2016..2019u16).prop_map(|(ind, year)| Op::Withdraw { ind, year }),
        2 => (0..3usize, 2016..2019u16, 0..5u16).prop_map(|(ind, year, value)| Op::Report { ind, year, value }),
        1 => (0..3usize, 2016..2019u16, 0..5u16).prop_map(|(ind, year, value)| Op::Correct { ind, year, value }),
        1 => Just(Op::Restart),
    ]
}

/// The model: what targets and actuals should be, and how many events the log should hold.
#[derive(Default)]
struct Model {
    targets: BTreeMap<(usize, u16), String>,
    actuals: BTreeMap<(usize, u16), String>,
    events: u64,
}

fn ind_id(i: usize) -> String {
    format!("p.i{i}")
}

fn check_against(ledger: &Ledger, m: &Model) {
    assert_eq!(ledger.head().len, m.events);
    let p = ledger.read();
    for i in 0..3 {
        let ind = &p.state.indicators[&IndicatorId::new(ind_id(i)).unwrap()];
        let targets: BTreeMap<(usize, u16), String> =
            ind.targets.iter().map(|(fy, t)| ((i, fy.year()), t.printed())).collect();
        let expected: BTreeMap<_, _> =
            m.targets.iter().filter(|((j, _), _)| *j == i).map(|(k, v)| (*k, v.clone())).collect();
        assert_eq!(targets, expected, "targets of indicator {i}");
        let actuals: BTreeMap<(usize, u16), String> =
            ind.actuals.iter().map(|(fy, a)| ((i, fy.year()), a.value.to_string())).collect();
        let expected: BTreeMap<_, _> =
            m.actuals.iter().filter(|((j, _), _)| *j == i).map(|(k, v)| (*k, v.clone())).collect();
        assert_eq!(actuals, expected, "actuals of indicator {i}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn log_and_projections_agree_with_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(dir.path()).unwrap();
        let mut m = Model::default();
        for c in [create_plan("p"), add_node("p", "p.n")] {
            append(&ledger, c).unwrap();
            m.events += 1;
        }
        for i in 0..3 {
            append(&ledger, define(&ind_id(i), "p.n")).unwrap();
            m.events += 1;
        }
        for op in ops {
            let (cmd, reason, expect_ok): (Command, bool, bool) = match op {
                Op::Restart => {
                    ledger.close();
                    ledger = Ledger::open(dir.path()).unwrap();
                    check_against(&ledger, &m);
                    continue;
                }
                Op::SetTarget { ind, year, value, at_least, reason } => {
                    let t = format!("{value}{}", if at_least { "以上" } else { "" });
                    let in_period = (2016..=2018).contains(&year);
                    let prev = m.targets.get(&(ind, year));
                    let ok = in_period && prev != Some(&t) && (prev.is_none() || reason);
                    if ok {
                        m.targets.insert((ind, year), t.clone());
                    }
                    (set_target(&ind_id(ind), &year.to_string(), &t), reason, ok)
                }
                Op::Withdraw { ind, year } => {
                    let ok = m.targets.remove(&(ind, year)).is_some();
                    (Command::WithdrawTarget { indicator: ind_id(ind), fiscal_year: year.to_string() }, true, ok)
                }
                Op::Report { ind, year, value } => {
                    let ok = !m.actuals.contains_key(&(ind, year));
                    if ok {
                        m.actuals.insert((ind, year), value.to_string());
                    }
                    let c = Command::ReportProgress { indicator: ind_id(ind), fiscal_year: year.to_string(), value: value.to_string(), as_of: None, note: String::new() };
                    (c, false, ok)
                }
                Op::Correct { ind, year, value } => {
                    let ok = m.actuals.get(&(ind, year)).is_some_and(|v| *v != value.to_string());
                    if ok {
                        m.actuals.insert((ind, year), value.to_string());
                    }
                    let c = Command::CorrectProgress { indicator: ind_id(ind), fiscal_year: year.to_string(), value: value.to_string(), as_of: None, note: String::new() };
                    (c, true, ok)
                }
            };
            let mut r = crate::support::req(vec![cmd]);
            r.meta.reason = if reason { Some("見直し".into()) } else { None };
            let got = ledger.append_blocking(r);
            prop_assert_eq!(got.is_ok(), expect_ok, "{:?}", got);
            if expect_ok {
                m.events += 1;
            }
        }
        check_against(&ledger, &m);
        // The live projection equals a full replay of the log, and the log verifies.
        let records = ledger.records(0, u64::MAX).unwrap();
        prop_assert_eq!(&projection::replay(&records, None), &ledger.read().state);
        // A replay at the last seq equals the current state too; at seq 0 it holds just the plan.
        let last = ledger.head().len - 1;
        prop_assert_eq!(&projection::replay(&records, Some(Point::Seq(last))), &ledger.read().state);
        prop_assert_eq!(projection::replay(&records, Some(Point::Seq(0))).plans.len(), 1);
        ledger.close();
        prop_assert_eq!(verify_dir(dir.path()).unwrap().summary.count, m.events);
        let _ = Target::None;
    }
}
