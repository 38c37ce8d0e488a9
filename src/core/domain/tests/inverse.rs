//! `command_for` inverts `decide`: for every event kind, the command it gives decides to the same event.

use super::*;

#[test]
fn command_for_inverts_decide_for_every_event_kind() {
    let mut s = State::default();
    let mut events = Vec::new();
    let mut run = |s: &mut State, c: Command, r: Option<&str>| events.extend(apply(s, c, r));
    run(&mut s, plan_cmd("p", "131091"), None);
    run(
        &mut s,
        Command::RevisePlan {
            plan: "p".into(),
            title: Some("改定".into()),
            kind: None,
            period_from: None,
            period_to: Some("2019".into()),
            levels: None,
            clear_period: false,
        },
        None,
    );
    run(&mut s, Command::ChangePlanStatus { plan: "p".into(), status: "superseded".into() }, Some("改定"));
    run(&mut s, node_cmd("n", None), None);
    run(&mut s, node_cmd("m", None), None);
    run(&mut s, node_cmd("c", Some("n")), None);
    run(&mut s, Command::RenameNode { node: "c".into(), code: Some("①".into()), title: None }, None);
    run(&mut s, Command::ReviseNodeText { node: "c".into(), text: "新本文\n二行目".into() }, None);
    run(
        &mut s,
        Command::ReviseNodeDetails {
            node: "c".into(),
            details: vec![model::Detail { label: "現況".into(), text: "—".into() }],
        },
        None,
    );
    run(&mut s, Command::MoveNode { node: "c".into(), parent: Some("m".into()), order: Some(3) }, None);
    run(&mut s, Command::CrossListNode { node: "c".into(), under: "n".into() }, None);
    run(&mut s, Command::RemoveCrossListing { node: "c".into(), under: "n".into() }, None);
    run(&mut s, Command::CrossReferenceNode { node: "c".into(), reference: "Ⅳ1(4)".into() }, None);
    run(
        &mut s,
        Command::AssignDepartments {
            node: "c".into(), departments: vec!["会計管理室".into(), "財政課".into()]
        },
        None,
    );
    run(&mut s, Command::SetMilestone { node: "c".into(), fiscal_year: "2016".into(), text: "整備".into() }, None);
    run(&mut s, Command::WithdrawMilestone { node: "c".into(), fiscal_year: "2016".into() }, Some("誤り"));
    run(&mut s, ind_cmd("i", "c"), None);
    run(
        &mut s,
        Command::ReviseIndicator {
            indicator: "i".into(),
            name: None,
            unit: Some("人".into()),
            direction: None,
            cumulative: Some(true),
            note: None,
        },
        None,
    );
    run(
        &mut s,
        Command::SetBaseline {
            indicator: "i".into(),
            value: "1,200".into(),
            fiscal_year: "2015".into(),
            note: "平成27年度末見込み".into(),
        },
        None,
    );
    run(&mut s, target("i", "2016", "60以上"), None);
    run(&mut s, Command::NameVersion { plan: "p".into(), name: "adopted".into(), seq: "3".into() }, None);
    run(&mut s, target("i", "2016", "5未満"), Some("見直し"));
    run(&mut s, Command::WithdrawTarget { indicator: "i".into(), fiscal_year: "2016".into() }, Some("廃止"));
    run(
        &mut s,
        Command::ReportProgress {
            indicator: "i".into(),
            fiscal_year: "2016".into(),
            value: "3".into(),
            as_of: None,
            note: "速報".into(),
        },
        None,
    );
    run(
        &mut s,
        Command::CorrectProgress {
            indicator: "i".into(),
            fiscal_year: "2016".into(),
            value: "4".into(),
            as_of: Some("2017-06-30".into()),
            note: "確定".into(),
        },
        Some("確定値"),
    );
    run(&mut s, Command::RetireIndicator { indicator: "i".into() }, Some("廃止"));
    run(&mut s, Command::RetireNode { node: "n".into() }, Some("統合"));
    run(&mut s, Command::ReinstateIndicator { indicator: "i".into() }, Some("復元"));
    run(&mut s, Command::WithdrawBaseline { indicator: "i".into() }, Some("復元"));
    run(
        &mut s,
        Command::RecordRestore {
            plan: "p".into(),
            node: None,
            indicator: Some("i".into()),
            to: "seq:3".into(),
            compensating: 2,
        },
        Some("復元"),
    );
    run(&mut s, Command::ReinstateNode { node: "n".into() }, Some("復元"));
    run(
        &mut s,
        Command::RecordRestore {
            plan: "p".into(),
            node: Some("n".into()),
            indicator: None,
            to: "version:adopted".into(),
            compensating: 1,
        },
        Some("復元"),
    );
    run(
        &mut s,
        Command::RevisePlan {
            plan: "p".into(),
            title: None,
            kind: None,
            period_from: None,
            period_to: None,
            levels: None,
            clear_period: true,
        },
        None,
    );
    run(
        &mut s,
        Command::RecordRestore {
            plan: "p".into(),
            node: None,
            indicator: None,
            to: "as-of:2026-11-21T09:00:00.123456789+09:00".into(),
            compensating: 1,
        },
        Some("復元"),
    );
    assert!(events.contains(&PlanEvent::Restored {
        plan: PlanId::new("p").unwrap(),
        scope: model::RestoreScope::Node { node: NodeId::new("n").unwrap() },
        to: model::RestorePoint::Version { name: "adopted".into(), seq: 3 },
        compensating: 1,
    }));
    let kinds: std::collections::BTreeSet<_> = events.iter().map(PlanEvent::type_name).collect();
    assert_eq!(kinds.len(), 29, "every event kind is exercised: {kinds:?}");
    // Replay: each event, re-decided from its command against the state before it, is reproduced exactly.
    let mut replay = State::default();
    for e in &events {
        let again = decide(&replay, &command_for(e), &meta(Some("r"))).unwrap();
        assert_eq!(again, vec![e.clone()]);
        replay.evolve(e);
    }
    assert_eq!(replay, s);
}
