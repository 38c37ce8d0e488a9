//! Restore in named cases: dry runs, refusals that change nothing, version names, reinstatement, a second restore
//! to the same point, what is never restored away, and the command line.

use chrono::NaiveDate;
use planledger::core::compensate::content;
use planledger::core::domain::model::{Meta, RestorePoint, RestoreScope};
use planledger::core::domain::{Command, ErrorKind, IndicatorId, NodeId};
use planledger::core::projection::{history, replay};
use planledger::store::ledger::{Ledger, LedgerError, Precondition, verify_dir};
use planledger::store::restore::{
    RestoreError, RestoreOutcome, RestoreRequest, commit_blocking, prepare, restore_blocking,
};

use crate::support::{add_node, append, bin, create_plan, define, meta, set_target};

use crate::restore::*;

/// A small plan: two nodes, an indicator with a target, named "adopted"; then revised.
fn story(ledger: &Ledger) -> u64 {
    for c in [create_plan("p"), add_node("p", "p.a"), add_node("p", "p.b"), define("p.i", "p.a")] {
        append(ledger, c).unwrap();
    }
    let adopted = append(ledger, set_target("p.i", "2018", "65以上")).unwrap().events[0].seq.0;
    append(ledger, Command::NameVersion { plan: "p".into(), name: "adopted".into(), seq: adopted.to_string() })
        .unwrap();
    append(ledger, set_target("p.i", "2018", "62以上")).unwrap();
    append(ledger, Command::ReviseNodeText { node: "p.a".into(), text: "改訂".into() }).unwrap();
    append(ledger, Command::RetireNode { node: "p.b".into() }).unwrap();
    adopted
}

fn req(target: &str, to: &str) -> RestoreRequest {
    request(target, to, NaiveDate::from_ymd_opt(2017, 4, 1).unwrap())
}

fn refused(r: Result<RestoreOutcome, RestoreError>) -> planledger::core::domain::DomainError {
    match r {
        Err(RestoreError::Refused(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_dry_run_appends_nothing_and_shows_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path()).unwrap();
    story(&l);
    let head = l.head();
    let state = l.read().state.clone();
    let out = restore_blocking(&l, &RestoreRequest { dry_run: true, ..req("p", "version:adopted") }).unwrap();
    assert_eq!(l.head(), head);
    assert_eq!(l.read().state, state);
    assert!(out.dry_run && out.events.iter().all(|e| e.hash.is_none()));
    let kinds: Vec<&str> = out.events.iter().map(|e| e.event.type_name()).collect();
    assert_eq!(kinds, ["NodeReinstated", "NodeTextRevised", "TargetRevised", "Restored"]);
    let target = &out.events[2];
    assert_eq!((target.subject.as_str(), target.label.as_str()), ("p.i", "【指標】"));
    assert_eq!(target.changes[0].old.as_deref(), Some("62件以上"));
    assert_eq!(target.changes[0].new.as_deref(), Some("65件以上"));
    assert_eq!(out.events.last().unwrap().seq, head.len + 3);
}

#[test]
fn refused_restores_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path()).unwrap();
    append(&l, create_plan("q")).unwrap();
    story(&l);
    let head = l.head();
    let cases: Vec<(RestoreRequest, &str, &str)> = vec![
        (RestoreRequest { meta: meta(None), ..req("p", "1") }, "reason", "needs a reason"),
        (
            RestoreRequest { meta: Meta { authority: None, ..req("p", "1").meta }, ..req("p", "1") },
            "authority",
            "needs an authority",
        ),
        (req("p", "0"), "to", "did not exist yet"),
        (req("p", "now"), "to", "past point"),
        (req("p", "999"), "to", "not in the ledger"),
        (req("p", "version:final"), "to", "no version"),
        (req("p", "2015-01-01"), "to", "did not exist yet"),
        (req("p.zz", "3"), "target", "no plan, node or indicator"),
        (req("p.b", "2"), "target", "did not exist yet"),
    ];
    for (r, field, why) in cases {
        let e = refused(restore_blocking(&l, &r));
        assert_eq!(e.field, field, "{} --to {}: {e}", r.target, r.to);
        assert!(e.reason.contains(why), "{e}");
        assert_eq!(l.head(), head, "nothing appended");
    }
    // A change to the plan between planning and appending refuses the whole restore.
    let prepared = prepare(&l, &req("p", "version:adopted")).unwrap();
    assert_eq!(prepared.outcome().compensating(), 3);
    append(&l, Command::ReviseNodeText { node: "p.a".into(), text: "その間の改訂".into() }).unwrap();
    let head = l.head();
    match commit_blocking(&l, prepared) {
        Err(RestoreError::Ledger(LedgerError::VersionConflict {
            expected: Precondition::Versions(v),
            current,
            ..
        })) => {
            assert_eq!(current, Some(v[0] + 1))
        }
        other => panic!("expected a version conflict, got {other:?}"),
    }
    assert_eq!(l.head(), head, "nothing of the restore was appended");
    // A stale expected version refuses the whole restore.
    let stale = RestoreRequest { precondition: Precondition::Versions(vec![1]), ..req("p", "version:adopted") };
    assert!(matches!(restore_blocking(&l, &stale), Err(RestoreError::Ledger(LedgerError::VersionConflict { .. }))));
    assert_eq!(l.head(), head);
}

#[test]
fn restore_to_a_version_name_records_the_name_and_its_seq() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path()).unwrap();
    let adopted = story(&l);
    let out = restore_blocking(&l, &req("p", "adopted")).unwrap();
    assert_eq!(out.to, RestorePoint::Version { name: "adopted".into(), seq: adopted });
    let records = l.records(0, u64::MAX).unwrap();
    let past = replay(&records, Some(planledger::core::projection::Point::Seq(adopted)));
    assert_eq!(content(&l.read().state, &pid(), &RestoreScope::Plan), content(&past, &pid(), &RestoreScope::Plan));
    // The plan's history shows the change and the restore; the indicator's shows the compensating revision, with
    // the restore's reason.
    let h = history(&l.records_for(&crate::support::entity("plan:p")).unwrap());
    let last = h.last().unwrap();
    assert_eq!(last.source.event, "Restored");
    assert_eq!(last.changes[0].new.as_deref(), Some("plan p to version \"adopted\" (seq 4)（3 compensating events）"));
    let hi = history(&l.records_for(&crate::support::entity("indicator:p.i")).unwrap());
    let revisions: Vec<_> = hi.iter().filter(|e| e.source.event == "TargetRevised").collect();
    assert_eq!(revisions.len(), 2);
    assert_eq!(revisions[1].source.reason.as_deref(), Some("誤った改定の取消し"));
    assert_eq!(revisions[1].changes[0].new.as_deref(), Some("65件以上"));
}

#[test]
fn restoring_a_retired_node_brings_it_back_and_a_second_restore_finds_nothing_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path()).unwrap();
    story(&l);
    let b = NodeId::new("p.b").unwrap();
    assert!(l.read().state.nodes[&b].retired);
    let before = l.read().state.clone();
    let out = restore_blocking(&l, &req("p.b", "adopted")).unwrap();
    let kinds: Vec<&str> = out.events.iter().map(|e| e.event.type_name()).collect();
    assert_eq!(kinds, ["NodeReinstated", "Restored"]);
    let after = l.read().state.clone();
    assert!(!after.nodes[&b].retired);
    // Only the node came back: the text of p.a and the target stay as revised.
    let scope = RestoreScope::Node { node: b.clone() };
    assert_eq!(untouchable(&after, &scope), untouchable(&before, &scope));
    assert_eq!(after.nodes[&NodeId::new("p.a").unwrap()].text, "改訂");
    // The node's own history has the restore.
    let h = history(&l.records_for(&crate::support::entity("node:p.b")).unwrap());
    assert_eq!(h.iter().map(|e| e.source.event).collect::<Vec<_>>().last(), Some(&"Restored"));
    let head = l.head();
    let e = refused(restore_blocking(&l, &req("p.b", "adopted")));
    assert_eq!((e.kind, e.field.as_str()), (ErrorKind::Conflict, "to"));
    assert!(e.reason.starts_with("nothing to restore"), "{e}");
    assert_eq!(l.head(), head);
    // The same for the plan: once restored, restoring it again to the same point has nothing to do.
    restore_blocking(&l, &req("p", "adopted")).unwrap();
    let e = refused(restore_blocking(&l, &req("p", "adopted")));
    assert!(e.reason.starts_with("nothing to restore"), "{e}");
    l.close();
    verify_dir(dir.path()).unwrap();
}

#[test]
fn actuals_status_and_versions_are_never_restored_away() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path()).unwrap();
    let adopted = story(&l);
    append(
        &l,
        Command::ReportProgress {
            indicator: "p.i".into(),
            fiscal_year: "2016".into(),
            value: "58".into(),
            as_of: None,
            note: String::new(),
        },
    )
    .unwrap();
    append(&l, Command::ChangePlanStatus { plan: "p".into(), status: "superseded".into() }).unwrap();
    append(&l, Command::NameVersion { plan: "p".into(), name: "later".into(), seq: (adopted + 2).to_string() })
        .unwrap();
    restore_blocking(&l, &req("p", &adopted.to_string())).unwrap();
    let s = l.read();
    let p = &s.state.plans[&pid()];
    assert_eq!(p.status, planledger::core::domain::model::PlanStatus::Superseded);
    assert!(p.versions.contains_key("later"));
    assert_eq!(s.state.indicators[&IndicatorId::new("p.i").unwrap()].actuals.len(), 1);
}

fn cli(data: &str, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(bin()).arg("--data").arg(data).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn restore_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let who = ["--actor", "kikaku-01", "--actor-name", "企画課 担当", "--department", "企画課"];
    let ok = |args: &[&str]| {
        let (code, out, err) = cli(d, args);
        assert_eq!(code, 0, "{args:?}: {err}");
        out
    };
    let write = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend(who);
        a.extend(["--reason", "見直し", "--authority", "庁議"]);
        ok(&a)
    };
    ok(&["init"]);
    write(&[
        "plan",
        "create",
        "p",
        "--municipality",
        "品川区",
        "--code",
        "131091",
        "--title",
        "試験計画",
        "--kind",
        "実施計画",
        "--from",
        "2016",
        "--to",
        "2018",
    ]);
    write(&["node", "add", "p", "p.a", "--title", "施策"]);
    write(&["indicator", "define", "p.i", "--node", "p.a", "--name", "指標", "--unit", "%"]);
    write(&["target", "set", "p.i", "2018", "65以上"]);
    write(&["target", "set", "p.i", "2018", "62以上"]);
    let (code, _, err) = cli(d, &["restore", "p", "--to", "3", "--actor", "x", "--reason", "取消し"]);
    assert_eq!(code, 2);
    assert!(err.contains("authority: a restore needs an authority"), "{err}");
    let export = ok(&["export"]);
    let mut dry = vec!["restore", "p", "--to", "3", "--dry-run", "--reason", "取消し", "--authority", "庁議"];
    dry.extend(who);
    let out = ok(&dry);
    assert!(
        out.starts_with("dry run: restoring plan p to seq 3 would append 1 compensating event and Restored"),
        "{out}"
    );
    assert!(
        out.contains("TargetRevised  【指標】  [p.i]")
            && out.contains("目標 2018年度（平成30年度）: 62%以上 → 65%以上"),
        "{out}"
    );
    assert!(out.contains("nothing appended") && out.contains("would be at version"), "{out}");
    assert_eq!(ok(&["export"]), export, "the dry run appended nothing");
    let real: Vec<&str> = dry.iter().copied().filter(|a| *a != "--dry-run").collect();
    let out = ok(&real);
    assert!(out.starts_with("restored plan p to seq 3: appended 1 compensating event and Restored"), "{out}");
    assert!(out.contains("seq 5  TargetRevised") && out.contains("seq 6  Restored"), "{out}");
    let hist = ok(&["history", "p"]);
    assert!(hist.contains("復元 restored: — → plan p to seq 3（1 compensating event）"), "{hist}");
    assert!(hist.contains("理由 reason: 取消し"), "{hist}");
    let diff = ok(&["diff", "p", "4", "now"]);
    assert!(
        diff.contains("目標 2018年度（平成30年度）: 62%以上 → 65%以上") && diff.contains("seq 5 TargetRevised"),
        "{diff}"
    );
    let (code, _, err) = cli(d, &real);
    assert_eq!(code, 2);
    assert!(err.contains("to: nothing to restore"), "{err}");
    let mut json = real.clone();
    json[3] = "2";
    json.push("--json");
    let out = ok(&json);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["to"], serde_json::json!({"axis": "seq", "seq": 2}));
    assert_eq!(v["events"].as_array().unwrap().last().unwrap()["event"]["type"], "Restored");
    let (code, _, err) = cli(d, &["restore", "p", "--actor", "x"]);
    assert_eq!(code, 2, "a missing --to is a usage error: {err}");
    let (code, _, err) = cli(d, &["restore", "nope", "--to", "1", "--actor", "x", "--reason", "r", "--authority", "a"]);
    assert_eq!(code, 2);
    assert!(err.contains("target: there is no plan, node or indicator \"nope\""), "{err}");
    // Reinstatement on its own.
    let (code, _, err) = cli(d, &["indicator", "reinstate", "p.i", "--actor", "x", "--reason", "r"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not retired"), "{err}");
    assert!(ok(&["verify"]).starts_with("ok: "));
}
