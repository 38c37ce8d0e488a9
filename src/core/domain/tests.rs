//! Unit tests of the domain rules: every refusal names its field, and `command_for` inverts `decide`.

use chrono::NaiveDate;

use super::model::{Actor, Meta};
use super::*;

mod inverse;

fn meta(reason: Option<&str>) -> Meta {
    Meta {
        actor: Actor { id: "clerk".into(), name: "担当".into(), department: "企画課".into() },
        authority: Some("庁議".into()),
        reason: reason.map(str::to_string),
        effective: NaiveDate::from_ymd_opt(2016, 4, 1),
    }
}

fn apply(state: &mut State, cmd: Command, reason: Option<&str>) -> Vec<PlanEvent> {
    let evs = decide(state, &cmd, &meta(reason)).unwrap_or_else(|e| panic!("{cmd:?} refused: {e}"));
    for e in &evs {
        state.evolve(e);
    }
    evs
}

fn refuse(state: &State, cmd: Command, reason: Option<&str>) -> DomainError {
    let before = state.clone();
    let e = decide(state, &cmd, &meta(reason)).expect_err("should be refused");
    assert_eq!(state, &before);
    e
}

fn plan_cmd(id: &str, code: &str) -> Command {
    Command::CreatePlan {
        plan: id.into(),
        municipality: "品川区".into(),
        municipality_code: code.into(),
        title: "品川区総合実施計画（第4次）".into(),
        kind: "実施計画".into(),
        period_from: Some("平成28年度".into()),
        period_to: Some("2018".into()),
        status: "adopted".into(),
        levels: vec!["基本方針".into(), "施策".into()],
        predecessor: None,
    }
}

fn node_cmd(node: &str, parent: Option<&str>) -> Command {
    node_in("p", node, parent)
}

fn node_in(plan: &str, node: &str, parent: Option<&str>) -> Command {
    Command::AddNode {
        plan: plan.into(),
        node: node.into(),
        parent: parent.map(str::to_string),
        order: None,
        code: "6-1".into(),
        title: "協働による区政運営を推進する".into(),
        text: "本文".into(),
        details: vec![],
        departments: vec!["広報広聴課".into()],
    }
}

fn ind_cmd(id: &str, node: &str) -> Command {
    Command::DefineIndicator {
        indicator: id.into(),
        node: node.into(),
        name: "タウンミーティング開催回数".into(),
        unit: "回".into(),
        direction: "higher".into(),
        cumulative: false,
        note: String::new(),
    }
}

fn target(ind: &str, year: &str, t: &str) -> Command {
    Command::SetTarget { indicator: ind.into(), fiscal_year: year.into(), target: t.into() }
}

/// A plan `p` with node `n` (child `c`) and indicator `i` on `c`.
fn base() -> State {
    let mut s = State::default();
    apply(&mut s, plan_cmd("p", "131091"), None);
    apply(&mut s, node_cmd("n", None), None);
    apply(&mut s, node_cmd("c", Some("n")), None);
    apply(&mut s, ind_cmd("i", "c"), None);
    s
}

#[test]
fn invalid_municipality_code_is_refused() {
    let e = refuse(&State::default(), plan_cmd("p", "131092"), None);
    assert_eq!(e.field, "municipality_code");
    assert!(e.reason.contains("check digit"));
    let mut s = State::default();
    let evs = apply(&mut s, plan_cmd("p", "13109"), None);
    let PlanEvent::PlanCreated { municipality, .. } = &evs[0] else { panic!() };
    assert_eq!(municipality.code.to_string(), "131091");
}

#[test]
fn unknown_ids_are_refused_naming_the_field() {
    let s = base();
    let e = refuse(&s, target("nope", "2016", "2"), None);
    assert_eq!((e.field.as_str(), e.kind), ("indicator", ErrorKind::NotFound));
    let e = refuse(&s, node_cmd("x", Some("missing")), None);
    assert_eq!((e.field.as_str(), e.kind), ("parent", ErrorKind::NotFound));
    let e = refuse(&s, node_in("zz", "x", None), None);
    assert_eq!(e.field, "plan");
    let e = refuse(
        &s,
        Command::ReportProgress {
            indicator: "ghost".into(),
            fiscal_year: "2016".into(),
            value: "1".into(),
            as_of: None,
            note: String::new(),
        },
        None,
    );
    assert_eq!((e.field.as_str(), e.kind), ("indicator", ErrorKind::NotFound));
    let e = refuse(&s, target("bad id!", "2016", "2"), None);
    assert_eq!((e.field.as_str(), e.kind), ("indicator", ErrorKind::Invalid));
}

#[test]
fn duplicate_ids_are_refused_even_after_retirement() {
    let mut s = base();
    let e = refuse(&s, node_cmd("n", None), None);
    assert_eq!((e.field.as_str(), e.kind), ("node", ErrorKind::Conflict));
    let e = refuse(&s, ind_cmd("i", "n"), None);
    assert_eq!(e.field, "indicator");
    let e = refuse(&s, plan_cmd("p", "131091"), None);
    assert_eq!(e.field, "plan");
    apply(&mut s, node_cmd("leaf", None), None);
    apply(&mut s, Command::RetireNode { node: "leaf".into() }, Some("廃止"));
    let e = refuse(&s, node_cmd("leaf", None), None);
    assert!(e.reason.contains("never reused"), "{e}");
}

#[test]
fn retired_ids_are_refused() {
    let mut s = base();
    apply(&mut s, Command::RetireIndicator { indicator: "i".into() }, Some("事業終了"));
    let e = refuse(&s, target("i", "2016", "2"), None);
    assert_eq!((e.field.as_str(), e.kind), ("indicator", ErrorKind::Conflict));
    apply(&mut s, Command::RetireNode { node: "c".into() }, Some("統合"));
    let e = refuse(&s, Command::ReviseNodeText { node: "c".into(), text: "x".into() }, None);
    assert!(e.reason.contains("retired"));
}

#[test]
fn retiring_needs_a_reason_and_an_empty_node() {
    let s = base();
    assert_eq!(refuse(&s, Command::RetireNode { node: "c".into() }, None).field, "reason");
    let e = refuse(&s, Command::RetireNode { node: "n".into() }, Some("統合"));
    assert!(e.reason.contains("child c"), "{e}");
    let e = refuse(&s, Command::RetireNode { node: "c".into() }, Some("統合"));
    assert!(e.reason.contains("indicator i"), "{e}");
}

#[test]
fn targets_outside_the_period_are_refused() {
    let s = base();
    let e = refuse(&s, target("i", "2019", "2"), None);
    assert_eq!(e.field, "fiscal_year");
    assert!(e.reason.contains("2019年度（令和元年度）"), "{e}");
    let e = refuse(&s, target("i", "平成27年度", "2"), None);
    assert_eq!(e.field, "fiscal_year");
    let e = refuse(&s, target("i", "明治99年", "2"), None);
    assert_eq!(e.field, "fiscal_year");
    let e =
        refuse(&s, Command::SetMilestone { node: "c".into(), fiscal_year: "2020".into(), text: "整備".into() }, None);
    assert_eq!(e.field, "fiscal_year");
}

#[test]
fn a_plan_without_period_holds_no_targets() {
    let mut s = State::default();
    let mut c = plan_cmd("q", "131091");
    if let Command::CreatePlan { period_from, period_to, .. } = &mut c {
        *period_from = None;
        *period_to = None;
    }
    apply(&mut s, c, None);
    apply(&mut s, node_in("q", "qn", None), None);
    apply(&mut s, ind_cmd("qi", "qn"), None);
    let e = refuse(&s, target("qi", "2016", "1"), None);
    assert!(e.reason.contains("no period"), "{e}");
}

#[test]
fn a_target_revision_needs_a_reason_and_records_the_old_value() {
    let mut s = base();
    apply(&mut s, target("i", "2016", "60以上"), None);
    let e = refuse(&s, target("i", "2016", "55以上"), None);
    assert_eq!(e.field, "reason");
    let e = refuse(&s, target("i", "2016", "55以上"), Some("  "));
    assert_eq!(e.field, "reason");
    let e = refuse(&s, target("i", "2016", "60 以上"), Some("同じ"));
    assert_eq!((e.field.as_str(), e.kind), ("target", ErrorKind::Conflict));
    let evs = apply(&mut s, target("i", "2016", "55以上"), Some("中間見直し"));
    let PlanEvent::TargetRevised { previous, target: new, .. } = &evs[0] else { panic!("{evs:?}") };
    assert_eq!(previous.printed(), "60以上");
    assert_eq!(new.printed(), "55以上");
    let evs = apply(&mut s, target("i", "2017", "—"), None);
    assert!(matches!(evs[0], PlanEvent::TargetSet { target: value::Target::None, .. }));
    assert_eq!(
        refuse(&s, Command::WithdrawTarget { indicator: "i".into(), fiscal_year: "2017".into() }, None).field,
        "reason"
    );
    assert_eq!(refuse(&s, target("i", "2018", "六十"), None).field, "target");
}

#[test]
fn progress_is_reported_once_and_corrected_with_a_reason() {
    let mut s = base();
    let report = |v: &str| Command::ReportProgress {
        indicator: "i".into(),
        fiscal_year: "2016".into(),
        value: v.into(),
        as_of: Some("2017-05-31".into()),
        note: String::new(),
    };
    let correct = |v: &str| Command::CorrectProgress {
        indicator: "i".into(),
        fiscal_year: "2016".into(),
        value: v.into(),
        as_of: Some("2017-05-31".into()),
        note: String::new(),
    };
    assert_eq!(refuse(&s, correct("3"), Some("誤記")).field, "fiscal_year");
    apply(&mut s, report("2"), None);
    assert_eq!(refuse(&s, report("3"), None).kind, ErrorKind::Conflict);
    assert_eq!(refuse(&s, correct("3"), None).field, "reason");
    assert_eq!(refuse(&s, correct("2"), Some("誤記")).kind, ErrorKind::Conflict);
    let evs = apply(&mut s, correct("3"), Some("誤記"));
    assert!(matches!(&evs[0], PlanEvent::ProgressCorrected { previous, .. } if previous.to_string() == "2"));
    let bad = Command::ReportProgress {
        indicator: "i".into(),
        fiscal_year: "2017".into(),
        value: "1".into(),
        as_of: Some("2017/05/31".into()),
        note: String::new(),
    };
    assert_eq!(refuse(&s, bad, None).field, "as_of");
}

#[test]
fn moves_cannot_make_cycles() {
    let mut s = base();
    let e = refuse(&s, Command::MoveNode { node: "n".into(), parent: Some("c".into()), order: None }, None);
    assert_eq!(e.field, "parent");
    assert!(e.reason.contains("cycle"));
    apply(&mut s, Command::MoveNode { node: "c".into(), parent: None, order: Some(5) }, None);
    assert_eq!(s.nodes[&NodeId::new("c").unwrap()].parent, None);
}

#[test]
fn cross_listings_resolve_within_the_plan() {
    let mut s = base();
    apply(&mut s, node_cmd("m", None), None);
    let e = refuse(&s, Command::CrossListNode { node: "c".into(), under: "n".into() }, None);
    assert!(e.reason.contains("already listed"), "{e}");
    apply(&mut s, Command::CrossListNode { node: "c".into(), under: "m".into() }, None);
    assert_eq!(
        refuse(&s, Command::CrossListNode { node: "c".into(), under: "m".into() }, None).kind,
        ErrorKind::Conflict
    );
    assert!(refuse(&s, Command::RetireNode { node: "m".into() }, Some("x")).reason.contains("cross-listed"));
    apply(&mut s, Command::CrossReferenceNode { node: "m".into(), reference: "Ⅳ1(4)防災体制の強化".into() }, None);
    assert_eq!(s.nodes[&NodeId::new("m").unwrap()].cross_reference.as_deref(), Some("Ⅳ1(4)防災体制の強化"));
}

#[test]
fn meta_is_checked() {
    let s = base();
    let mut m = meta(None);
    m.actor.id = String::new();
    assert_eq!(decide(&s, &target("i", "2016", "1"), &m).unwrap_err().field, "actor.id");
    let mut m = meta(None);
    m.authority = Some(" ".into());
    assert_eq!(decide(&s, &target("i", "2016", "1"), &m).unwrap_err().field, "authority");
    let e = refuse(&s, Command::RenameNode { node: "n".into(), code: None, title: Some("a\tb".into()) }, None);
    assert_eq!(e.field, "title");
    let e = refuse(
        &s,
        Command::AssignDepartments { node: "n".into(), departments: vec!["企画課".into(), "企画課".into()] },
        None,
    );
    assert_eq!(e.field, "departments[1]");
}

#[test]
fn version_names_point_at_an_existing_seq_of_the_plan_and_are_unique() {
    let mut s = State::default();
    apply(&mut s, plan_cmd("q", "131091"), None);
    apply(&mut s, plan_cmd("p", "131091"), None);
    apply(&mut s, node_cmd("n", None), None);
    let name = |n: &str, seq: &str| Command::NameVersion { plan: "p".into(), name: n.into(), seq: seq.into() };
    let evs = apply(&mut s, name("adopted 2016-04-01", "2"), None);
    assert_eq!(
        evs,
        vec![PlanEvent::VersionNamed { plan: PlanId::new("p").unwrap(), name: "adopted 2016-04-01".into(), seq: 2 }]
    );
    assert_eq!(s.plans[&PlanId::new("p").unwrap()].versions["adopted 2016-04-01"], 2);
    // The version event itself is seq 3; a name may point at any seq from the plan's creation to the last event.
    apply(&mut s, name("draft 3月1日時点", "1"), None);
    let e = refuse(&s, name("adopted 2016-04-01", "2"), None);
    assert_eq!((e.field.as_str(), e.kind), ("name", ErrorKind::Conflict), "{e}");
    let e = refuse(&s, name("later", "5"), None);
    assert_eq!(e.field, "seq", "{e}");
    assert!(e.reason.contains("below 5"), "{e}");
    let e = refuse(&s, name("before", "0"), None);
    assert_eq!(e.field, "seq", "{e}");
    assert!(e.reason.contains("before plan p was created"), "{e}");
    assert_eq!(refuse(&s, name("x", "one"), None).field, "seq");
    // `last` is the latest event decided so far (seq 4, the second name), resolved when the command is decided;
    // `last-N` is N events before it.
    let evs = apply(&mut s, name("as it stands", "last"), None);
    assert_eq!(
        evs,
        vec![PlanEvent::VersionNamed { plan: PlanId::new("p").unwrap(), name: "as it stands".into(), seq: 4 }]
    );
    let evs = apply(&mut s, name("three back", "last-3"), None);
    assert_eq!(
        evs,
        vec![PlanEvent::VersionNamed { plan: PlanId::new("p").unwrap(), name: "three back".into(), seq: 2 }]
    );
    for bad in ["last-", "last+1", "last-x", "lastly", "last--1"] {
        assert_eq!(refuse(&s, name("bad", bad), None).field, "seq", "{bad}");
    }
    let e = refuse(&s, name("too far", "last-7"), None);
    assert!(e.reason.contains("before the first event"), "{e}");
    assert!(refuse(&s, name("before p", "last-6"), None).reason.contains("before plan p was created"));
    assert_eq!(refuse(&s, name("", "1"), None).field, "name");
    assert_eq!(refuse(&s, name("two\nlines", "1"), None).field, "name");
    assert_eq!(
        refuse(&s, Command::NameVersion { plan: "zz".into(), name: "a".into(), seq: "1".into() }, None).field,
        "plan"
    );
}

#[test]
fn reinstatements_keep_live_nodes_under_live_nodes() {
    let mut s = State::default();
    apply(&mut s, plan_cmd("p", "131091"), None);
    apply(&mut s, node_cmd("a", None), None);
    apply(&mut s, node_cmd("b", Some("a")), None);
    apply(&mut s, node_cmd("u", None), None);
    apply(&mut s, Command::CrossListNode { node: "b".into(), under: "u".into() }, None);
    apply(&mut s, ind_cmd("i", "b"), None);
    let reinstate = |n: &str| Command::ReinstateNode { node: n.into() };
    let e = refuse(&s, reinstate("b"), Some("誤り"));
    assert_eq!((e.field.as_str(), e.kind), ("node", ErrorKind::Conflict), "{e}");
    assert!(e.reason.contains("not retired"), "{e}");
    assert_eq!(refuse(&s, reinstate("zz"), Some("誤り")).kind, ErrorKind::NotFound);
    apply(&mut s, Command::RetireIndicator { indicator: "i".into() }, Some("統合"));
    apply(&mut s, Command::RetireNode { node: "b".into() }, Some("統合"));
    apply(&mut s, Command::RetireNode { node: "a".into() }, Some("統合"));
    apply(&mut s, Command::RetireNode { node: "u".into() }, Some("統合"));
    // b stood under a and is listed under u; both are retired.
    let e = refuse(&s, reinstate("b"), Some("誤り"));
    assert!(e.reason.contains("under node a, which is retired"), "{e}");
    assert_eq!(refuse(&s, reinstate("a"), None).field, "reason", "a reinstatement needs a reason");
    apply(&mut s, reinstate("a"), Some("誤り"));
    let e = refuse(&s, reinstate("b"), Some("誤り"));
    assert!(e.reason.contains("cross-listed under node u, which is retired"), "{e}");
    let e = refuse(&s, Command::ReinstateIndicator { indicator: "i".into() }, Some("誤り"));
    assert_eq!((e.field.as_str(), e.kind), ("indicator", ErrorKind::Conflict), "{e}");
    assert!(e.reason.contains("node b, which is retired"), "{e}");
    apply(&mut s, reinstate("u"), Some("誤り"));
    let evs = apply(&mut s, reinstate("b"), Some("誤り"));
    assert_eq!(
        evs,
        vec![PlanEvent::NodeReinstated { plan: PlanId::new("p").unwrap(), node: NodeId::new("b").unwrap() }]
    );
    let b = &s.nodes[&NodeId::new("b").unwrap()];
    assert!(!b.retired && b.parent == Some(NodeId::new("a").unwrap()), "it comes back where it stood");
    apply(&mut s, Command::ReinstateIndicator { indicator: "i".into() }, Some("誤り"));
    assert!(!s.indicators[&IndicatorId::new("i").unwrap()].retired);
}

#[test]
fn baselines_can_be_withdrawn_and_periods_removed() {
    let mut s = State::default();
    apply(&mut s, plan_cmd("p", "131091"), None);
    apply(&mut s, node_cmd("n", None), None);
    apply(&mut s, ind_cmd("i", "n"), None);
    let withdraw = Command::WithdrawBaseline { indicator: "i".into() };
    let e = refuse(&s, withdraw.clone(), Some("誤り"));
    assert_eq!((e.field.as_str(), e.kind), ("indicator", ErrorKind::NotFound), "{e}");
    apply(
        &mut s,
        Command::SetBaseline {
            indicator: "i".into(),
            value: "38.0".into(),
            fiscal_year: "2015".into(),
            note: "".into(),
        },
        None,
    );
    assert_eq!(refuse(&s, withdraw.clone(), None).field, "reason");
    let evs = apply(&mut s, withdraw, Some("誤り"));
    assert!(matches!(&evs[0], PlanEvent::BaselineWithdrawn { previous, .. } if previous.value.to_string() == "38.0"));
    assert_eq!(s.indicators[&IndicatorId::new("i").unwrap()].baseline, None);

    let clear = |from: Option<&str>| Command::RevisePlan {
        plan: "p".into(),
        title: None,
        kind: None,
        period_from: from.map(str::to_string),
        period_to: None,
        levels: None,
        clear_period: true,
    };
    assert_eq!(refuse(&s, clear(Some("2016")), None).field, "clear_period");
    apply(&mut s, target("i", "2017", "5"), None);
    let e = refuse(&s, clear(None), None);
    assert_eq!((e.field.as_str(), e.kind), ("clear_period", ErrorKind::Conflict), "{e}");
    apply(&mut s, Command::WithdrawTarget { indicator: "i".into(), fiscal_year: "2017".into() }, Some("誤り"));
    apply(&mut s, Command::SetMilestone { node: "n".into(), fiscal_year: "2017".into(), text: "実施".into() }, None);
    assert!(refuse(&s, clear(None), None).reason.contains("milestone"));
    apply(&mut s, Command::WithdrawMilestone { node: "n".into(), fiscal_year: "2017".into() }, Some("誤り"));
    let evs = apply(&mut s, clear(None), None);
    assert!(matches!(&evs[0], PlanEvent::PlanRevised { period: None, .. }));
    assert_eq!(s.plans[&PlanId::new("p").unwrap()].period, None);
    // With no period left, "clear" changes nothing.
    assert_eq!(refuse(&s, clear(None), None).kind, ErrorKind::Conflict);
}

#[test]
fn a_restore_record_names_its_scope_and_point_and_needs_reason_and_authority() {
    let mut s = State::default();
    apply(&mut s, plan_cmd("q", "131091"), None);
    apply(&mut s, node_cmd_in_q(), None);
    apply(&mut s, plan_cmd("p", "131091"), None);
    apply(&mut s, node_cmd("n", None), None);
    apply(&mut s, Command::ReviseNodeText { node: "n".into(), text: "改".into() }, None);
    let rec = |to: &str, n: u64| Command::RecordRestore {
        plan: "p".into(),
        node: Some("n".into()),
        indicator: None,
        to: to.into(),
        compensating: n,
    };
    // Seq 2 is p's creation; p has two events after it.
    let e = refuse(&s, rec("seq:1", 1), Some("復元"));
    assert_eq!(e.field, "to", "{e}");
    assert!(e.reason.contains("before plan p was created"), "{e}");
    let e = refuse(&s, rec("seq:3", 2), Some("復元"));
    assert!(e.reason.contains("not before the 2 compensating events"), "{e}");
    assert_eq!(refuse(&s, rec("seq:3", 0), Some("復元")).field, "compensating");
    assert_eq!(refuse(&s, rec("seq:2", 3), Some("復元")).field, "compensating");
    assert_eq!(refuse(&s, rec("3", 1), Some("復元")).field, "to");
    assert_eq!(refuse(&s, rec("effective:2017-13-01", 1), Some("復元")).field, "to");
    assert_eq!(refuse(&s, rec("version:adopted", 1), Some("復元")).kind, ErrorKind::NotFound);
    assert_eq!(refuse(&s, rec("seq:2", 1), None).field, "reason");
    let mut no_authority = meta(Some("復元"));
    no_authority.authority = None;
    assert_eq!(decide(&s, &rec("seq:2", 1), &no_authority).unwrap_err().field, "authority");
    let other = Command::RecordRestore {
        plan: "p".into(),
        node: Some("q.n".into()),
        indicator: None,
        to: "seq:2".into(),
        compensating: 1,
    };
    assert_eq!(refuse(&s, other, Some("復元")).field, "node", "a node of another plan");
    let both = Command::RecordRestore {
        plan: "p".into(),
        node: Some("n".into()),
        indicator: Some("n".into()),
        to: "seq:2".into(),
        compensating: 1,
    };
    assert_eq!(refuse(&s, both, Some("復元")).field, "indicator");
    let evs = apply(&mut s, rec("as-of:2026-11-21T00:00:00.0000005Z", 1), Some("復元"));
    let PlanEvent::Restored { to, .. } = &evs[0] else { panic!("{evs:?}") };
    // Instants are kept to the microsecond, like recorded_at, so the record has one spelling.
    assert_eq!(to.code(), "as-of:2026-11-21T00:00:00.000000Z");
    assert_eq!(command_for(&evs[0]), rec("as-of:2026-11-21T00:00:00.000000Z", 1));
}

fn node_cmd_in_q() -> Command {
    node_in("q", "q.n", None)
}

/// Regression: a reinstatement once brought back targets outside a period narrowed meanwhile, a state no other
/// rule allows (found by the random restore test).
#[test]
fn reinstatement_keeps_targets_and_milestones_inside_the_period() {
    let mut s = State::default();
    apply(&mut s, plan_cmd("p", "131091"), None);
    apply(&mut s, node_cmd("n", None), None);
    apply(&mut s, node_cmd("m", None), None);
    apply(&mut s, ind_cmd("i", "n"), None);
    apply(&mut s, target("i", "2018", "5"), None);
    apply(&mut s, Command::SetMilestone { node: "m".into(), fiscal_year: "2018".into(), text: "完了".into() }, None);
    apply(&mut s, Command::RetireIndicator { indicator: "i".into() }, Some("統合"));
    apply(&mut s, Command::RetireNode { node: "m".into() }, Some("統合"));
    let narrow = |to: &str| Command::RevisePlan {
        plan: "p".into(),
        title: None,
        kind: None,
        period_from: None,
        period_to: Some(to.into()),
        levels: None,
        clear_period: false,
    };
    apply(&mut s, narrow("2017"), None);
    let e = refuse(&s, Command::ReinstateIndicator { indicator: "i".into() }, Some("誤り"));
    assert_eq!((e.field.as_str(), e.kind), ("indicator", ErrorKind::Conflict), "{e}");
    assert!(e.reason.contains("outside the plan period"), "{e}");
    let e = refuse(&s, Command::ReinstateNode { node: "m".into() }, Some("誤り"));
    assert_eq!((e.field.as_str(), e.kind), ("node", ErrorKind::Conflict), "{e}");
    assert!(e.reason.contains("milestone for 2018年度"), "{e}");
    apply(&mut s, narrow("2018"), None);
    apply(&mut s, Command::ReinstateIndicator { indicator: "i".into() }, Some("誤り"));
    apply(&mut s, Command::ReinstateNode { node: "m".into() }, Some("誤り"));
}
