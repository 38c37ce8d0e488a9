//! Restore: random ledgers restored to random points on every axis and in every scope come back to the past view
//! exactly, leave everything else and every earlier event as it was, verify, and survive a restart; plus dry runs,
//! refusals, version names, reinstatement, a second restore to the same point, and the command line.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use planledger::core::compensate::content;
use planledger::core::domain::model::{Detail, Meta, RestorePoint, RestoreScope};
use planledger::core::domain::{Command, ErrorKind, IndicatorId, NodeId, PlanEvent, PlanId, State};
use planledger::core::projection::{history, replay};
use planledger::core::record::Record;
use planledger::store::ledger::{AppendRequest, Ledger, LedgerError, Precondition, verify_dir, verify_dir_open};
use planledger::store::restore::{
    RestoreError, RestoreOutcome, RestoreRequest, commit_blocking, prepare, restore_blocking,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::{add_node, append, bin, create_plan, define, meta, set_target};

const NODES: usize = 7;
const INDICATORS: usize = 4;

fn node(i: usize) -> String {
    format!("p.n{i}")
}

fn ind(i: usize) -> String {
    format!("p.i{i}")
}

fn pid() -> PlanId {
    PlanId::new("p").unwrap()
}

fn pick<'a, T>(rng: &mut StdRng, xs: &'a [T]) -> &'a T {
    &xs[rng.gen_range(0..xs.len())]
}

fn year(rng: &mut StdRng) -> String {
    rng.gen_range(2015..=2021).to_string()
}

/// A random command on plan `p`: every kind of change a plan office makes, over a small id space so that changes
/// meet the same entities again (and many are refused, which is fine: the ledger decides).
fn random_command(rng: &mut StdRng) -> Command {
    let n = node(rng.gen_range(0..NODES));
    let other = node(rng.gen_range(0..NODES));
    let i = ind(rng.gen_range(0..INDICATORS));
    let parent = if rng.gen_bool(0.4) { None } else { Some(other.clone()) };
    let order = if rng.gen_bool(0.5) { None } else { Some(rng.gen_range(0..4)) };
    match rng.gen_range(0..35) {
        0..=3 => Command::AddNode {
            plan: "p".into(),
            node: n,
            parent,
            order,
            code: pick(rng, &["", "1", "1-2", "①"]).to_string(),
            title: pick(rng, &["施策", "協働の推進", "防災"]).to_string(),
            text: pick(rng, &["", "本文", "改行\nあり"]).to_string(),
            details: vec![],
            departments: vec![pick(rng, &["企画課", "防災課"]).to_string()],
        },
        4 => Command::RenameNode {
            node: n,
            code: rng.gen_bool(0.5).then(|| pick(rng, &["", "2", "Ⅳ1"]).to_string()),
            title: Some(pick(rng, &["新名称", "施策", "見直し後"]).to_string()),
        },
        5 => Command::ReviseNodeText { node: n, text: pick(rng, &["", "本文", "改訂本文"]).to_string() },
        6 => Command::ReviseNodeDetails {
            node: n,
            details: match rng.gen_range(0..3) {
                0 => vec![],
                1 => vec![Detail { label: "現況".into(), text: "整備中".into() }],
                _ => vec![
                    Detail { label: "現況".into(), text: "完了".into() },
                    Detail { label: "必要事業量".into(), text: "3か所".into() },
                ],
            },
        },
        7 => Command::AssignDepartments {
            node: n,
            departments: match rng.gen_range(0..3) {
                0 => vec![],
                1 => vec!["企画課".into()],
                _ => vec!["財政課".into(), "企画課".into()],
            },
        },
        8 => Command::CrossReferenceNode { node: n, reference: pick(rng, &["", "Ⅳ1(4)", "再掲 3-2"]).to_string() },
        9 | 10 => Command::MoveNode { node: n, parent, order },
        11 => Command::RetireNode { node: n },
        12 => Command::ReinstateNode { node: n },
        13 => Command::CrossListNode { node: n, under: other },
        14 => Command::RemoveCrossListing { node: n, under: other },
        15 => Command::SetMilestone {
            node: n, fiscal_year: year(rng), text: pick(rng, &["実施", "検討"]).to_string()
        },
        16 => Command::WithdrawMilestone { node: n, fiscal_year: year(rng) },
        17 => Command::DefineIndicator {
            indicator: i,
            node: n,
            name: "指標".into(),
            unit: pick(rng, &["件", "%"]).to_string(),
            direction: "higher".into(),
            cumulative: false,
            note: String::new(),
        },
        18 => Command::ReviseIndicator {
            indicator: i,
            name: Some(pick(rng, &["指標", "新指標"]).to_string()),
            unit: None,
            direction: rng.gen_bool(0.5).then(|| pick(rng, &["lower", "higher"]).to_string()),
            cumulative: Some(rng.gen_bool(0.5)),
            note: None,
        },
        19 => Command::RetireIndicator { indicator: i },
        20 => Command::ReinstateIndicator { indicator: i },
        21 => Command::SetBaseline {
            indicator: i,
            value: pick(rng, &["38", "38.0", "12.5"]).to_string(),
            fiscal_year: year(rng),
            note: String::new(),
        },
        22 => Command::WithdrawBaseline { indicator: i },
        23 | 24 | 30..=32 => Command::SetTarget {
            indicator: i,
            fiscal_year: year(rng),
            target: pick(rng, &["5", "60以上", "—", "5.0"]).to_string(),
        },
        25 => Command::WithdrawTarget { indicator: i, fiscal_year: year(rng) },
        26 => Command::ReportProgress {
            indicator: i,
            fiscal_year: pick(rng, &["2016", "2017"]).to_string(),
            value: rng.gen_range(0..9).to_string(),
            as_of: None,
            note: String::new(),
        },
        27 | 33 | 34 => Command::CorrectProgress {
            indicator: i,
            fiscal_year: pick(rng, &["2016", "2017"]).to_string(),
            value: rng.gen_range(0..9).to_string(),
            as_of: None,
            note: "訂正".into(),
        },
        28 => {
            let clear = rng.gen_bool(0.2);
            let from = rng.gen_range(2015..=2018);
            Command::RevisePlan {
                plan: "p".into(),
                title: rng.gen_bool(0.5).then(|| pick(rng, &["試験計画", "改定計画"]).to_string()),
                kind: None,
                period_from: (!clear).then(|| from.to_string()),
                period_to: (!clear).then(|| (from + rng.gen_range(0..4)).to_string()),
                levels: rng.gen_bool(0.3).then(|| vec!["基本方針".into(), "施策".into()]),
                clear_period: clear,
            }
        }
        _ => Command::ChangePlanStatus { plan: "p".into(), status: pick(rng, &["draft", "adopted"]).to_string() },
    }
}

fn meta_on(effective: NaiveDate) -> Meta {
    let mut m = meta(Some("見直し"));
    m.effective = Some(effective);
    m
}

fn random_effective(rng: &mut StdRng) -> NaiveDate {
    NaiveDate::from_ymd_opt(2016, 4, 1).unwrap() + Duration::days(rng.gen_range(0..1500))
}

/// A random point of the ledger (all of whose records are `records`) on one of the axes, in the one-string form.
fn random_point(rng: &mut StdRng, ledger: &Ledger, records: &[Record]) -> String {
    let r = &records[rng.gen_range(0..records.len())];
    match rng.gen_range(0..5) {
        0 | 1 => r.seq.0.to_string(),
        2 => format!("as-of:{}", r.recorded_at.to_rfc3339()),
        3 => random_effective(rng).to_string(),
        _ => {
            let p = ledger.read();
            match p.state.plans[&pid()].versions.keys().next() {
                Some(name) => format!("version:{name}"),
                None => format!("seq:{}", r.seq.0),
            }
        }
    }
}

/// The plan, one of its nodes or indicators (retired ones included), or now and then an id that names nothing.
fn random_target(rng: &mut StdRng, ledger: &Ledger) -> String {
    let p = ledger.read();
    let nodes: Vec<String> = p.state.nodes.values().filter(|n| n.plan == pid()).map(|n| n.id.to_string()).collect();
    let inds: Vec<String> = p.state.indicators.values().filter(|i| i.plan == pid()).map(|i| i.id.to_string()).collect();
    match rng.gen_range(0..20) {
        0..=7 => "p".to_string(),
        8..=12 if !nodes.is_empty() => pick(rng, &nodes).clone(),
        13..=17 if !inds.is_empty() => pick(rng, &inds).clone(),
        _ => node(rng.gen_range(0..NODES + 2)),
    }
}

fn request(target: &str, to: &str, effective: NaiveDate) -> RestoreRequest {
    RestoreRequest {
        target: target.into(),
        to: to.into(),
        meta: Meta { reason: Some("誤った改定の取消し".into()), ..meta_on(effective) },
        kind: None,
        precondition: Precondition::None,
        dry_run: false,
        principal: None,
    }
}

fn scope_of(target: &str) -> RestoreScope {
    if target == "p" {
        RestoreScope::Plan
    } else if target.starts_with("p.n") {
        RestoreScope::Node { node: NodeId::new(target).unwrap() }
    } else {
        RestoreScope::Indicator { indicator: IndicatorId::new(target).unwrap() }
    }
}

/// Everything a restore of `scope` must leave as it was, in full (hidden values of retired entities included):
/// other plans, the plan's status and versions, every node and indicator outside the scope, and every actual.
fn untouchable(s: &State, scope: &RestoreScope) -> String {
    let mut out = String::new();
    for p in s.plans.values() {
        if p.id == pid() {
            out.push_str(&format!("{:?} {:?} {:?}\n", p.status, p.versions, p.municipality));
        } else {
            out.push_str(&format!("{p:?}\n"));
        }
    }
    for n in s.nodes.values() {
        let inside = match scope {
            RestoreScope::Plan => n.plan == pid(),
            RestoreScope::Node { node } => &n.id == node,
            RestoreScope::Indicator { .. } => false,
        };
        if !inside {
            out.push_str(&format!("{n:?}\n"));
        }
    }
    for i in s.indicators.values() {
        let inside = match scope {
            RestoreScope::Plan => i.plan == pid(),
            RestoreScope::Indicator { indicator } => &i.id == indicator,
            RestoreScope::Node { .. } => false,
        };
        if inside {
            out.push_str(&format!("{} actuals {:?}\n", i.id, i.actuals));
        } else {
            out.push_str(&format!("{i:?}\n"));
        }
    }
    out
}

fn hashes(ledger: &Ledger) -> Vec<String> {
    ledger.records(0, u64::MAX).unwrap().iter().map(|r| r.hash().to_hex()).collect()
}

/// Runs one restore and checks every promise; returns how it ended: `appended`, or the kind of refusal.
fn check_restore(ledger: &Ledger, req: &RestoreRequest, case: &str) -> &'static str {
    let before = ledger.read().state.clone();
    let before_hashes = hashes(ledger);
    let records = ledger.records(0, u64::MAX).unwrap();
    let scope = scope_of(&req.target);
    let res = restore_blocking(ledger, req);
    let past = match &res {
        Ok(o) => replay(&records, Some(o.to.point())),
        Err(_) => State::default(),
    };
    match res {
        Err(e) => {
            assert_eq!(hashes(ledger), before_hashes, "{case}: a refused restore appends nothing ({e})");
            assert_eq!(ledger.read().state, before, "{case}: a refused restore changes nothing");
            let RestoreError::Refused(e) = e else { panic!("{case}: {e}") };
            let effective = req.to.len() == 10 && req.to.as_bytes()[4] == b'-';
            match (e.kind, e.field.as_str()) {
                (ErrorKind::Conflict, "to") if e.reason.starts_with("nothing to restore") => "nothing to restore",
                (ErrorKind::Invalid, "to") if e.reason.contains("did not exist yet") => "plan not yet created",
                (ErrorKind::NotFound, "target") if e.reason.contains("did not exist yet") => "subject not yet added",
                (ErrorKind::NotFound, "target") if e.reason.contains("no plan, node or indicator") => "no such target",
                // A node or indicator alone cannot always come back without its surroundings.
                (ErrorKind::Conflict, "target") if scope != RestoreScope::Plan => "needs what lies outside",
                // A view in force on a date folds changes out of their recorded order; it need not be reachable.
                (ErrorKind::Conflict, "to") if effective => "effective view unreachable",
                _ => panic!("{case}: unexpected refusal {e:?}"),
            }
        }
        Ok(o) => {
            let after = ledger.read().state.clone();
            assert_eq!(o.scope, scope, "{case}");
            assert_eq!(
                content(&after, &pid(), &scope),
                content(&past, &pid(), &scope),
                "{case}: the scope now equals the past view ({} events)",
                o.events.len()
            );
            assert_ne!(content(&before, &pid(), &scope), content(&past, &pid(), &scope), "{case}: there was work");
            assert_eq!(untouchable(&after, &scope), untouchable(&before, &scope), "{case}: nothing else changed");
            let now_hashes = hashes(ledger);
            assert_eq!(&now_hashes[..before_hashes.len()], &before_hashes[..], "{case}: earlier events are kept");
            assert_eq!(now_hashes.len(), before_hashes.len() + o.events.len(), "{case}");
            let last = ledger.records(now_hashes.len() as u64 - 1, u64::MAX).unwrap().pop().unwrap();
            let PlanEvent::Restored { scope: s, to, compensating, .. } = &last.event else {
                panic!("{case}: the last event is {:?}", last.event)
            };
            assert_eq!((s, to, *compensating as usize), (&scope, &o.to, o.compensating()), "{case}");
            assert!(o.compensating() > 0, "{case}");
            for (e, seq) in o.events.iter().zip(before_hashes.len() as u64..) {
                assert_eq!(e.seq, seq, "{case}");
                assert_eq!(e.hash.map(|h| h.to_hex()).as_ref(), Some(&now_hashes[seq as usize]), "{case}");
            }
            verify_dir_open(ledger).unwrap_or_else(|e| panic!("{case}: verify: {e}"));
            "appended"
        }
    }
}

fn build_random_ledger(rng: &mut StdRng, ledger: &Ledger, steps: usize) {
    let m = meta_on(NaiveDate::from_ymd_opt(2016, 4, 1).unwrap());
    let first = |c: Command| ledger.append_blocking(AppendRequest::new(vec![c], m.clone()));
    // Another plan, whose content every restore of p must leave alone.
    first(create_plan("q")).unwrap();
    first(add_node("q", "q.n")).unwrap();
    first(define("q.i", "q.n")).unwrap();
    first(create_plan("p")).unwrap();
    for k in 0..NODES.min(3) {
        first(add_node("p", &node(k))).unwrap();
    }
    first(define(&ind(0), &node(0))).unwrap();
    first(set_target(&ind(0), "2017", "60以上")).unwrap();
    for _ in 0..steps {
        let roll = rng.gen_range(0..100);
        if roll < 3 {
            let records = ledger.records(0, u64::MAX).unwrap();
            let seq = rng.gen_range(3..records.len() as u64);
            let c = Command::NameVersion { plan: "p".into(), name: format!("v{seq}"), seq: seq.to_string() };
            let _ = ledger.append_blocking(AppendRequest::new(vec![c], m.clone()));
        } else if roll < 7 {
            // Restores inside the history too, so later restores go back across earlier ones.
            let records = ledger.records(0, u64::MAX).unwrap();
            let to = random_point(rng, ledger, &records);
            let _ = restore_blocking(ledger, &request(&random_target(rng, ledger), &to, random_effective(rng)));
        } else {
            let mut ms = meta_on(random_effective(rng));
            if rng.gen_bool(0.1) {
                ms.reason = None;
            }
            let _ = ledger.append_blocking(AppendRequest::new(vec![random_command(rng)], ms));
        }
    }
    // q moves on too, after p's story, so that seqs of p are not contiguous.
    let _ = append(ledger, set_target("q.i", "2016", "3"));
}

#[test]
fn random_restores_bring_back_the_past_view_and_keep_everything_else() {
    let cases: u64 = std::env::var("PLANLEDGER_RESTORE_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(40);
    let mut restored = 0;
    let mut by_axis: BTreeMap<&str, usize> = BTreeMap::new();
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut events: BTreeMap<&str, usize> = BTreeMap::new();
    for seed in 0..cases {
        let mut rng = StdRng::seed_from_u64(seed);
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(dir.path()).unwrap();
        build_random_ledger(&mut rng, &ledger, 80);
        for round in 0..6 {
            let records = ledger.records(0, u64::MAX).unwrap();
            let to = random_point(&mut rng, &ledger, &records);
            let target = random_target(&mut rng, &ledger);
            let case = format!("seed {seed} round {round}: restore {target} --to {to}");
            let mut req = request(&target, &to, random_effective(&mut rng));
            // A dry run first: it appends nothing and foresees exactly what the restore appends.
            req.dry_run = true;
            let head = ledger.head();
            let dry = restore_blocking(&ledger, &req);
            assert_eq!(ledger.head(), head, "{case}: a dry run appends nothing");
            req.dry_run = false;
            let outcome = check_restore(&ledger, &req, &case);
            *outcomes.entry(outcome).or_default() += 1;
            if outcome == "appended" {
                restored += 1;
                let axis = match &dry.as_ref().unwrap_or_else(|e| panic!("{case}: dry run: {e}")).to {
                    RestorePoint::Version { .. } => "version",
                    RestorePoint::Seq { .. } => "seq",
                    RestorePoint::AsOf { .. } => "as-of",
                    RestorePoint::Effective { .. } => "effective",
                };
                *by_axis.entry(axis).or_default() += 1;
                let dry = dry.unwrap();
                let done = ledger.records(head.len, u64::MAX).unwrap();
                let planned: Vec<&PlanEvent> = dry.events.iter().map(|e| &e.event).collect();
                let appended: Vec<&PlanEvent> = done.iter().map(|r| &r.event).collect();
                assert_eq!(planned, appended, "{case}: the dry run showed what was appended");
                // Undo: restoring to the seq just before the restore brings the content back as it was.
                if target == "p" {
                    let undo = request("p", &(head.len - 1).to_string(), random_effective(&mut rng));
                    assert_eq!(check_restore(&ledger, &undo, &format!("{case}, undone")), "appended", "{case}: undo");
                }
            } else {
                assert!(dry.is_err(), "{case}: the dry run and the restore agree");
            }
        }
        for r in ledger.records(0, u64::MAX).unwrap() {
            *events.entry(r.event.type_name()).or_default() += 1;
        }
        let state = ledger.read().state.clone();
        ledger.close();
        let report = verify_dir(dir.path()).unwrap_or_else(|e| panic!("seed {seed}: verify: {e}"));
        ledger = Ledger::open(dir.path()).unwrap();
        assert_eq!(ledger.read().state, state, "seed {seed}: a restart gives the same state");
        assert_eq!(report.summary.count, ledger.head().len);
        ledger.close();
    }
    eprintln!("{restored} restores over {cases} random ledgers, by axis: {by_axis:?}");
    eprintln!("outcomes: {outcomes:?}");
    eprintln!("events in the ledgers: {events:?}");
    // The generator reaches every kind of event, restores included.
    assert_eq!(events.len(), 29, "event kinds reached: {events:?}");
    assert!(restored as u64 >= cases, "most random restores have something to do ({restored} of {})", cases * 6);
    for axis in ["seq", "as-of", "effective", "version"] {
        assert!(by_axis.get(axis).copied().unwrap_or(0) > 0, "no restore on the {axis} axis: {by_axis:?}");
    }
}

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
