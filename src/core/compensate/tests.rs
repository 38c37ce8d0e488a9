//! Restore planning against hand-built states: each kind of content, the order of steps, and the refusals.

use chrono::NaiveDate;

use super::*;
use crate::core::domain::decide;
use crate::core::domain::model::Actor;
use crate::core::domain::{ErrorKind, PlanEvent};

fn meta() -> Meta {
    Meta {
        actor: Actor { id: "clerk".into(), name: "担当".into(), department: "企画課".into() },
        authority: Some("庁議".into()),
        reason: Some("復元".into()),
        effective: NaiveDate::from_ymd_opt(2016, 4, 1),
    }
}

/// A state and the states after each command, so tests can restore to any of them.
struct Story {
    states: Vec<State>,
}

impl Story {
    fn new() -> Self {
        Self { states: vec![State::default()] }
    }

    fn now(&self) -> &State {
        self.states.last().unwrap()
    }

    fn run(&mut self, cmd: Command) -> &mut Self {
        let mut s = self.now().clone();
        for e in decide(&s, &cmd, &meta()).unwrap_or_else(|e| panic!("{cmd:?}: {e}")) {
            s.evolve(&e);
        }
        self.states.push(s);
        self
    }

    /// Plans the restore of `scope` to state `k`, applies it, and returns the commands.
    fn restore(&mut self, k: usize, scope: RestoreScope) -> Result<Vec<Command>, DomainError> {
        let cmds = plan_restore(self.now(), &self.states[k], &pid(), &scope, &meta())?;
        for c in cmds.clone() {
            self.run(c);
        }
        assert_eq!(content(self.now(), &pid(), &scope), content(&self.states[k], &pid(), &scope));
        Ok(cmds)
    }
}

fn pid() -> PlanId {
    PlanId::new("p").unwrap()
}

fn plan(period: Option<(&str, &str)>) -> Command {
    Command::CreatePlan {
        plan: "p".into(),
        municipality: "品川区".into(),
        municipality_code: "131091".into(),
        title: "計画".into(),
        kind: "実施計画".into(),
        period_from: period.map(|p| p.0.into()),
        period_to: period.map(|p| p.1.into()),
        status: "adopted".into(),
        levels: vec![],
        predecessor: None,
    }
}

fn node(id: &str, parent: Option<&str>) -> Command {
    Command::AddNode {
        plan: "p".into(),
        node: id.into(),
        parent: parent.map(str::to_string),
        order: None,
        code: String::new(),
        title: format!("施策 {id}"),
        text: String::new(),
        details: vec![],
        departments: vec![],
    }
}

fn mv(id: &str, parent: Option<&str>) -> Command {
    Command::MoveNode { node: id.into(), parent: parent.map(str::to_string), order: None }
}

fn retire(id: &str) -> Command {
    Command::RetireNode { node: id.into() }
}

fn list(id: &str, under: &str) -> Command {
    Command::CrossListNode { node: id.into(), under: under.into() }
}

fn nid(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

#[test]
fn a_tree_turned_upside_down_comes_back() {
    let mut s = Story::new();
    s.run(plan(Some(("2016", "2018")))).run(node("a", None)).run(node("b", Some("a"))).run(node("c", Some("b")));
    let k = s.states.len() - 1;
    s.run(mv("b", None)).run(mv("a", Some("c"))).run(node("d", Some("a"))).run(list("d", "b"));
    s.run(Command::RemoveCrossListing { node: "d".into(), under: "b".into() }).run(retire("d"));
    let cmds = s.restore(k, RestoreScope::Plan).unwrap();
    assert!(cmds.iter().all(|c| matches!(c, Command::MoveNode { .. })), "{cmds:?}");
}

#[test]
fn a_retired_subtree_comes_back_parents_first_and_new_nodes_go_leaves_first() {
    let mut s = Story::new();
    s.run(plan(Some(("2016", "2018")))).run(node("a", None)).run(node("b", Some("a")));
    let k = s.states.len() - 1;
    s.run(retire("b")).run(retire("a")).run(node("x", None)).run(node("y", Some("x"))).run(node("z", None));
    s.run(list("z", "y"));
    // v and w are each listed under the other: neither can go first until one listing is removed.
    s.run(node("v", None)).run(node("w", None)).run(list("v", "w")).run(list("w", "v"));
    let cmds = s.restore(k, RestoreScope::Plan).unwrap();
    let names: Vec<String> = cmds.iter().map(|c| format!("{} {}", c.name(), subject(c))).collect();
    let pos = |n: &str| names.iter().position(|x| x == n).unwrap_or_else(|| panic!("{n} in {names:?}"));
    assert!(pos("reinstate_node a") < pos("reinstate_node b"));
    assert!(pos("retire_node y") < pos("retire_node x"), "{names:?}");
    assert!(pos("retire_node z") < pos("retire_node y"), "{names:?}");
    assert_eq!(names.iter().filter(|n| n.starts_with("remove_cross_listing")).count(), 1, "{names:?}");
}

#[test]
fn a_node_brought_back_under_a_retired_parent_borrows_it_for_a_moment() {
    // At k, b stood at the top level. Then it moved under a, and both were retired.
    let mut s = Story::new();
    s.run(plan(None)).run(node("a", None)).run(node("b", None));
    s.run(Command::ReviseNodeText { node: "a".into(), text: "本文".into() });
    let k = s.states.len() - 1;
    s.run(mv("b", Some("a"))).run(retire("b")).run(retire("a"));
    let a_before = s.now().nodes[&nid("a")].clone();
    let cmds = s.restore(k, RestoreScope::Node { node: nid("b") }).unwrap();
    assert_eq!(cmds.first(), Some(&Command::ReinstateNode { node: "a".into() }));
    assert_eq!(cmds.last(), Some(&Command::RetireNode { node: "a".into() }));
    assert_eq!(s.now().nodes[&nid("a")], a_before, "the helper is unchanged");
    assert!(!s.now().nodes[&nid("b")].retired);
}

#[test]
fn a_cross_listing_the_tree_now_forbids_is_made_with_the_node_aside() {
    // At k, b was both under a and cross-listed under a (listed first, moved later): legal history, no
    // longer a legal single step.
    let mut s = Story::new();
    s.run(plan(None)).run(node("a", None)).run(node("b", None)).run(list("b", "a")).run(mv("b", Some("a")));
    let k = s.states.len() - 1;
    s.run(Command::RemoveCrossListing { node: "b".into(), under: "a".into() });
    s.restore(k, RestoreScope::Plan).unwrap();
    assert!(s.now().nodes[&nid("b")].cross_listed_under.contains(&nid("a")));
    assert_eq!(s.now().nodes[&nid("b")].parent, Some(nid("a")));
}

#[test]
fn a_removed_period_and_a_withdrawn_baseline_are_reversible() {
    let mut s = Story::new();
    s.run(plan(None)).run(node("a", None));
    s.run(Command::DefineIndicator {
        indicator: "i".into(),
        node: "a".into(),
        name: "指標".into(),
        unit: "件".into(),
        direction: "higher".into(),
        cumulative: false,
        note: String::new(),
    });
    let k = s.states.len() - 1;
    s.run(Command::RevisePlan {
        plan: "p".into(),
        title: None,
        kind: None,
        period_from: Some("2016".into()),
        period_to: Some("2018".into()),
        levels: None,
        clear_period: false,
    });
    s.run(Command::SetTarget { indicator: "i".into(), fiscal_year: "2017".into(), target: "5".into() });
    s.run(Command::SetMilestone { node: "a".into(), fiscal_year: "2017".into(), text: "実施".into() });
    s.run(Command::SetBaseline {
        indicator: "i".into(),
        value: "3".into(),
        fiscal_year: "2015".into(),
        note: String::new(),
    });
    let cmds = s.restore(k, RestoreScope::Plan).unwrap();
    assert!(cmds.contains(&Command::WithdrawBaseline { indicator: "i".into() }), "{cmds:?}");
    assert_eq!(s.now().plans[&pid()].period, None);
}

fn revise_period(from: &str, to: &str) -> Command {
    Command::RevisePlan {
        plan: "p".into(),
        title: None,
        kind: None,
        period_from: Some(from.into()),
        period_to: Some(to.into()),
        levels: None,
        clear_period: false,
    }
}

fn define(id: &str, node: &str) -> Command {
    Command::DefineIndicator {
        indicator: id.into(),
        node: node.into(),
        name: "指標".into(),
        unit: "件".into(),
        direction: "higher".into(),
        cumulative: false,
        note: String::new(),
    }
}

fn set_target(fy: &str) -> Command {
    Command::SetTarget { indicator: "i".into(), fiscal_year: fy.into(), target: "5".into() }
}

#[test]
fn an_indicator_holding_targets_outside_todays_period_comes_back_through_a_wider_period() {
    let mut s = Story::new();
    s.run(plan(Some(("2016", "2018")))).run(node("a", None)).run(define("i", "a")).run(set_target("2017"));
    let k = s.states.len() - 1;
    s.run(revise_period("2016", "2020")).run(set_target("2020"));
    s.run(Command::RetireIndicator { indicator: "i".into() }).run(revise_period("2016", "2018"));
    // Alone, the indicator comes back and the period returns to what it is now.
    let mut alone = Story { states: s.states.clone() };
    let cmds = alone.restore(k, RestoreScope::Indicator { indicator: IndicatorId::new("i").unwrap() }).unwrap();
    let names: Vec<&str> = cmds.iter().map(Command::name).collect();
    assert_eq!(names, ["revise_plan", "reinstate_indicator", "withdraw_target", "revise_plan"]);
    assert_eq!(alone.now().plans[&pid()].period, s.now().plans[&pid()].period);
    // With the plan, the same.
    s.restore(k, RestoreScope::Plan).unwrap();
}

#[test]
fn refusals_name_the_field() {
    let mut s = Story::new();
    s.run(plan(None)).run(node("a", None));
    let k = s.states.len() - 1;
    let err = plan_restore(s.now(), &s.states[0], &pid(), &RestoreScope::Plan, &meta()).unwrap_err();
    assert_eq!((err.kind, err.field.as_str()), (ErrorKind::Invalid, "to"));
    s.run(node("b", None));
    let err = plan_restore(s.now(), &s.states[k], &pid(), &RestoreScope::Node { node: nid("b") }, &meta()).unwrap_err();
    assert_eq!((err.kind, err.field.as_str()), (ErrorKind::NotFound, "target"));
    let err = plan_restore(s.now(), &s.states[k], &pid(), &RestoreScope::Node { node: nid("a") }, &meta()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert!(err.reason.starts_with("nothing to restore"), "{err}");
    // Retiring b alone is refused while a node outside the scope hangs under it.
    s.run(node("c", Some("b"))).run(retire("c")).run(retire("b"));
    let j = s.states.len() - 1;
    s.run(Command::ReinstateNode { node: "b".into() }).run(Command::ReinstateNode { node: "c".into() });
    let before = s.now().clone();
    let err = plan_restore(s.now(), &s.states[j], &pid(), &RestoreScope::Node { node: nid("b") }, &meta()).unwrap_err();
    assert_eq!(s.now(), &before);
    assert_eq!((err.kind, err.field.as_str()), (ErrorKind::Conflict, "target"));
    assert!(err.reason.contains("retire_node b is refused") && err.reason.contains("child c"), "{err}");
    // An indicator whose node is retired now cannot come back alone.
    s.run(define("i", "c")).run(Command::RetireIndicator { indicator: "i".into() }).run(retire("c"));
    let err = plan_restore(
        s.now(),
        &s.states[s.states.len() - 3],
        &pid(),
        &RestoreScope::Indicator { indicator: IndicatorId::new("i").unwrap() },
        &meta(),
    )
    .unwrap_err();
    assert_eq!((err.kind, err.field.as_str()), (ErrorKind::Conflict, "target"));
    assert!(err.reason.contains("belongs to node c, which is retired now"), "{err}");
}

#[test]
fn restored_events_follow_from_their_commands() {
    // Every command a plan yields is decided into exactly the events `command_for` maps back to it.
    let mut s = Story::new();
    s.run(plan(Some(("2016", "2018")))).run(node("a", None)).run(node("b", Some("a")));
    let k = s.states.len() - 1;
    s.run(retire("b")).run(node("z", None)).run(mv("a", Some("z")));
    let cmds = plan_restore(s.now(), &s.states[k], &pid(), &RestoreScope::Plan, &meta()).unwrap();
    let mut st = s.now().clone();
    for c in &cmds {
        let evs: Vec<PlanEvent> = decide(&st, c, &meta()).unwrap();
        for e in &evs {
            assert_eq!(decide(&st, &crate::core::domain::command_for(e), &meta()).unwrap(), vec![e.clone()]);
            st.evolve(e);
        }
    }
}
