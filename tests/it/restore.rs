//! Restore: random ledgers restored to random points on every axis and in every scope come back to the past view
//! exactly, leave everything else and every earlier event as it was, verify, and survive a restart (the named
//! cases are in `restore_cases`).

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use planledger::core::compensate::content;
use planledger::core::domain::model::{Detail, Meta, RestorePoint, RestoreScope};
use planledger::core::domain::{Command, ErrorKind, IndicatorId, NodeId, PlanEvent, PlanId, State};
use planledger::core::projection::replay;
use planledger::core::record::Record;
use planledger::store::ledger::{AppendRequest, Ledger, Precondition, verify_dir, verify_dir_open};
use planledger::store::restore::{RestoreError, RestoreRequest, restore_blocking};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::{add_node, append, create_plan, define, meta, set_target};

pub(crate) const NODES: usize = 7;
pub(crate) const INDICATORS: usize = 4;

pub(crate) fn node(i: usize) -> String {
    format!("p.n{i}")
}

pub(crate) fn ind(i: usize) -> String {
    format!("p.i{i}")
}

pub(crate) fn pid() -> PlanId {
    PlanId::new("p").unwrap()
}

pub(crate) fn pick<'a, T>(rng: &mut StdRng, xs: &'a [T]) -> &'a T {
    &xs[rng.gen_range(0..xs.len())]
}

pub(crate) fn year(rng: &mut StdRng) -> String {
    rng.gen_range(2015..=2021).to_string()
}

/// A random command on plan `p`: every kind of change a plan office makes, over a small id space so that changes
/// meet the same entities again (and many are refused, which is fine: the ledger decides).
pub(crate) fn random_command(rng: &mut StdRng) -> Command {
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

pub(crate) fn meta_on(effective: NaiveDate) -> Meta {
    let mut m = meta(Some("見直し"));
    m.effective = Some(effective);
    m
}

pub(crate) fn random_effective(rng: &mut StdRng) -> NaiveDate {
    NaiveDate::from_ymd_opt(2016, 4, 1).unwrap() + Duration::days(rng.gen_range(0..1500))
}

/// A random point of the ledger (all of whose records are `records`) on one of the axes, in the one-string form.
pub(crate) fn random_point(rng: &mut StdRng, ledger: &Ledger, records: &[Record]) -> String {
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
pub(crate) fn random_target(rng: &mut StdRng, ledger: &Ledger) -> String {
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

pub(crate) fn request(target: &str, to: &str, effective: NaiveDate) -> RestoreRequest {
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

pub(crate) fn scope_of(target: &str) -> RestoreScope {
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
pub(crate) fn untouchable(s: &State, scope: &RestoreScope) -> String {
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

pub(crate) fn hashes(ledger: &Ledger) -> Vec<String> {
    ledger.records(0, u64::MAX).unwrap().iter().map(|r| r.hash().to_hex()).collect()
}

/// Runs one restore and checks every promise; returns how it ended: `appended`, or the kind of refusal.
pub(crate) fn check_restore(ledger: &Ledger, req: &RestoreRequest, case: &str) -> &'static str {
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

pub(crate) fn build_random_ledger(rng: &mut StdRng, ledger: &Ledger, steps: usize) {
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
pub(crate) fn random_restores_bring_back_the_past_view_and_keep_everything_else() {
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
