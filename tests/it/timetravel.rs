//! Named versions, diff and blame: differences between any two points with the events that caused them, the
//! event behind every current value, and effective dates that arrive out of order.

use chrono::NaiveDate;
use planledger::core::domain::{Command, PlanId};
use planledger::core::projection::diff::DiffKind;
use planledger::core::projection::{self, Point, blame, diff, parse_point, replay, view_plan};
use planledger::core::record::split_lines;
use planledger::store::ledger::{AppendRequest, Ledger};

use crate::support::{add_node, bin, create_plan, define, meta, set_target};

fn at(l: &Ledger, cmd: Command, effective: (i32, u32, u32), reason: Option<&str>) -> u64 {
    let mut m = meta(reason);
    m.effective = NaiveDate::from_ymd_opt(effective.0, effective.1, effective.2);
    let out = l.append_blocking(AppendRequest::new(vec![cmd], m)).unwrap();
    out.events[0].seq.0
}

fn pid() -> PlanId {
    PlanId::new("p").unwrap()
}

#[test]
fn diff_and_blame_cite_the_events_between_two_points() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path()).unwrap();
    let d0 = (2016, 4, 1);
    at(&l, create_plan("p"), d0, None);
    at(&l, add_node("p", "a"), d0, None);
    at(&l, add_node("p", "b"), d0, None);
    at(&l, define("i", "a"), d0, None);
    let t2018 = at(&l, set_target("i", "2018", "60以上"), d0, None);
    let adopted = t2018;
    at(
        &l,
        Command::NameVersion { plan: "p".into(), name: "adopted 2016-04-01".into(), seq: adopted.to_string() },
        d0,
        None,
    );
    // A mid-term revision decided in March 2017, in force from 1 April 2017.
    let revised = at(&l, set_target("i", "2018", "62以上"), (2017, 4, 1), Some("中間見直し"));
    let moved = at(
        &l,
        Command::MoveNode { node: "b".into(), parent: Some("a".into()), order: None },
        (2017, 4, 1),
        Some("再編"),
    );
    let renamed = at(
        &l,
        Command::RenameNode { node: "a".into(), code: Some("1".into()), title: Some("新名称".into()) },
        (2017, 4, 1),
        None,
    );
    let text = at(&l, Command::ReviseNodeText { node: "a".into(), text: "新本文".into() }, (2017, 4, 1), None);
    let depts = at(
        &l,
        Command::AssignDepartments { node: "a".into(), departments: vec!["企画課".into(), "広報課".into()] },
        (2017, 4, 1),
        None,
    );
    let report = at(
        &l,
        Command::ReportProgress {
            indicator: "i".into(),
            fiscal_year: "2016".into(),
            value: "58".into(),
            as_of: None,
            note: String::new(),
        },
        (2017, 5, 31),
        None,
    );
    let corrected = at(
        &l,
        Command::CorrectProgress {
            indicator: "i".into(),
            fiscal_year: "2016".into(),
            value: "58.5".into(),
            as_of: None,
            note: String::new(),
        },
        (2017, 6, 30),
        Some("集計誤り"),
    );
    let added = at(&l, add_node("p", "c"), (2017, 4, 1), None);
    let retired = at(&l, Command::RetireNode { node: "c".into() }, (2017, 4, 1), Some("統合"));
    let added_d = at(&l, add_node("p", "d"), (2017, 4, 1), None);
    // Recorded last but in force from 2016: a retroactive correction of the 2017 target.
    let retro = at(&l, set_target("i", "2017", "55以上"), (2016, 10, 1), Some("遡及訂正"));

    let records = l.records_for(&crate::support::entity("plan:p")).unwrap();
    let plan = l.read().state.plans[&pid()].clone();
    let from = parse_point("from", "adopted 2016-04-01", &plan).unwrap();
    assert_eq!(from, Some(Point::Seq(adopted)));
    let d = diff(&records, &pid(), from, None);
    let find = |kind: DiffKind, subject: &str| {
        d.changes.iter().filter(|c| c.kind == kind && c.subject == subject).collect::<Vec<_>>()
    };
    let seqs = |c: &projection::DiffEntry| c.events.iter().map(|e| e.seq).collect::<Vec<_>>();

    let t = find(DiffKind::TargetChanged, "i");
    let t18 = t.iter().find(|c| c.what.contains("2018")).unwrap();
    assert_eq!((t18.old.as_deref(), t18.new.as_deref()), (Some("60件以上"), Some("62件以上")));
    assert_eq!(seqs(t18), vec![revised]);
    assert_eq!(t18.events[0].reason.as_deref(), Some("中間見直し"));
    let t17 = t.iter().find(|c| c.what.contains("2017")).unwrap();
    assert_eq!((t17.old.as_deref(), seqs(t17)), (None, vec![retro]));
    assert_eq!(seqs(find(DiffKind::NodeMoved, "b")[0]), vec![moved]);
    assert_eq!(seqs(find(DiffKind::NodeRenamed, "a")[0]), vec![renamed]);
    assert_eq!(seqs(find(DiffKind::TextChanged, "a")[0]), vec![text]);
    let dc = find(DiffKind::DepartmentsChanged, "a");
    assert_eq!((dc[0].new.as_deref(), seqs(dc[0])), (Some("企画課、広報課"), vec![depts]));
    let pc = find(DiffKind::ProgressChanged, "i");
    assert_eq!((pc[0].old.as_deref(), pc[0].new.as_deref()), (None, Some("58.5件")));
    assert_eq!(seqs(pc[0]), vec![report, corrected]);
    assert_eq!(seqs(find(DiffKind::NodeAdded, "d")[0]), vec![added_d]);
    assert!(find(DiffKind::NodeAdded, "c").is_empty(), "added then retired between the points: no difference");
    let c_added = diff(&records, &pid(), Some(Point::Seq(added - 1)), Some(Point::Seq(added)));
    assert_eq!(
        c_added.changes.iter().map(|c| (c.kind, seqs(c))).collect::<Vec<_>>(),
        vec![(DiffKind::NodeAdded, vec![added])]
    );
    let c_gone = diff(&records, &pid(), Some(Point::Seq(added)), Some(Point::Seq(retired)));
    assert_eq!(
        c_gone.changes.iter().map(|c| (c.kind, seqs(c))).collect::<Vec<_>>(),
        vec![(DiffKind::NodeRemoved, vec![retired])]
    );

    // Reversed points give the reverse differences, citing the same events.
    let back = diff(&records, &pid(), None, from);
    assert_eq!(back.changes.len(), d.changes.len());
    let r18 = back.changes.iter().find(|c| c.kind == DiffKind::TargetChanged && c.what.contains("2018")).unwrap();
    assert_eq!((r18.old.as_deref(), r18.new.as_deref()), (t18.new.as_deref(), t18.old.as_deref()));

    // The effective axis: on 31 March 2017 the revision is not in force, on 1 April it is; the retroactive 2017
    // target, recorded last, is in force from 1 October 2016 on both days.
    let e = |s: &str| parse_point("p", s, &plan).unwrap();
    let d = diff(&records, &pid(), e("2017-03-31"), e("2017-04-01"));
    assert!(d.changes.iter().any(|c| c.kind == DiffKind::TargetChanged && c.what.contains("2018")));
    assert!(!d.changes.iter().any(|c| c.what.contains("2017")), "{:?}", d.changes);
    let d = diff(&records, &pid(), e("2016-09-30"), e("2016-10-01"));
    assert_eq!(d.changes.len(), 1, "{:?}", d.changes);
    assert_eq!(d.changes[0].events[0].seq, retro);
    let in_force = view_plan(&replay(&records, e("2016-10-01")), &pid()).unwrap();
    let ind = &in_force.nodes[0].indicators[0];
    assert!(ind.series.iter().any(|r| r.fiscal_year.to_string().contains("2017") && r.target.is_some()));

    // Blame: every current value names the event that last set it.
    let rows = blame(&records, &pid(), None);
    let set_by = |subject: &str, what: &str| {
        rows.iter().find(|r| r.subject == subject && r.what.contains(what)).map(|r| r.set_by.seq)
    };
    assert_eq!(set_by("i", "2018"), Some(revised));
    assert_eq!(set_by("i", "2017"), Some(retro));
    assert_eq!(set_by("i", "実績"), Some(corrected));
    assert_eq!(set_by("a", "本文"), Some(text));
    assert_eq!(set_by("a", "実施課"), Some(depts));
    assert_eq!(set_by("a", "名称"), Some(renamed));
    assert_eq!(set_by("p", "adopted"), Some(adopted + 1));
    assert!(rows.iter().all(|r| r.subject != "c"), "a retired node has no current values");
    // Blame at the adopted version: the 2018 target was set by the original TargetSet.
    let rows = blame(&records, &pid(), from);
    assert_eq!(rows.iter().find(|r| r.subject == "i" && r.what.contains("2018")).unwrap().set_by.seq, t2018);

    // A diff between equal points is empty.
    assert!(diff(&records, &pid(), Some(Point::Seq(moved)), Some(Point::Seq(moved))).changes.is_empty());
    l.close();
}

#[test]
fn each_seed_event_is_the_only_cause_of_the_differences_it_makes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let lines = split_lines(&std::fs::read(root.join("01-shinagawa-jisshi-4.jsonl")).unwrap()).unwrap();
    let records: Vec<_> = lines.iter().map(|l| planledger::core::record::Record::decode(l).unwrap()).collect();
    let plan = PlanId::new("shinagawa-jisshi-4").unwrap();
    for k in 1..records.len() as u64 {
        let d = diff(&records, &plan, Some(Point::Seq(k - 1)), Some(Point::Seq(k)));
        let before =
            serde_json::to_string(&view_plan(&replay(&records, Some(Point::Seq(k - 1))), &plan).unwrap().nodes)
                .unwrap();
        let after =
            serde_json::to_string(&view_plan(&replay(&records, Some(Point::Seq(k))), &plan).unwrap().nodes).unwrap();
        // A named version is a difference of the plan's versions, which the tree view does not show.
        let in_view = d.changes.iter().filter(|c| c.kind != DiffKind::VersionNamed).count();
        assert_eq!(in_view == 0, before == after, "seq {k}: {:?}", d.changes);
        if records[k as usize].event.type_name() == "VersionNamed" {
            assert_eq!(d.changes.iter().map(|c| c.kind).collect::<Vec<_>>(), [DiffKind::VersionNamed], "seq {k}");
        }
        for c in &d.changes {
            assert_eq!(c.events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![k], "seq {k}: {c:?}");
        }
    }
    // Blame of the whole seed plan: every value was set by the transcription, at the event that holds it.
    let rows = blame(&records, &plan, None);
    let state = replay(&records, None);
    let targets: usize =
        state.indicators.values().filter(|i| i.plan == plan && !i.retired).map(|i| i.targets.len()).sum();
    assert_eq!(rows.iter().filter(|r| r.what.starts_with("目標")).count(), targets);
    assert!(targets >= 60, "{targets}");
    assert!(rows.iter().all(|r| r.set_by.actor.id == "transcription"));
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(bin()).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn versions_diff_and_blame_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events/01-shinagawa-jisshi-4.jsonl");
    assert_eq!(cli(&["--data", d, "import", seed.to_str().unwrap()]).0, 0);
    let who = ["--actor", "kikaku-01", "--department", "企画課"];
    let mut args = vec!["--data", d, "plan", "version", "shinagawa-jisshi-4", "adopted 2016-04-01", "--at", "199"];
    args.extend(who);
    let (code, _, err) = cli(&args);
    assert_eq!(code, 0, "{err}");
    // The same name again is refused, naming the field; nothing is appended.
    let (code, _, err) = cli(&args);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("name: already names plan shinagawa-jisshi-4 at seq 199"), "{err}");
    let (code, out, _) = cli(&["--data", d, "versions", "shinagawa-jisshi-4", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // The seed's own version (the published document) and the one just named, both at the table's last event.
    assert_eq!(
        v,
        serde_json::json!([
            {"name": "adopted 2016-04-01", "seq": 199},
            {"name": "品川区総合実施計画 平成28年度～平成30年度（第4次） 発行月 平成28年4月", "seq": 199}
        ])
    );

    let k = "shinagawa-jisshi-4.6-1-1-2-r3.kpi1";
    let mut args =
        vec!["--data", d, "target", "set", k, "2018", "62以上", "--reason", "中間見直し", "--effective", "2017-04-01"];
    args.extend(who);
    assert_eq!(cli(&args).0, 0);
    let (code, out, err) = cli(&["--data", d, "diff", "shinagawa-jisshi-4", "adopted 2016-04-01", "now", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let targets: Vec<_> = v["changes"].as_array().unwrap().iter().filter(|c| c["kind"] == "target_changed").collect();
    assert_eq!(targets.len(), 1, "{out}");
    assert_eq!(targets[0]["old"], "65%以上");
    assert_eq!(targets[0]["new"], "62%以上");
    assert_eq!(targets[0]["events"][0]["seq"], 202);
    assert_eq!(targets[0]["events"][0]["reason"], "中間見直し");
    let (code, out, _) = cli(&["--data", d, "diff", "shinagawa-jisshi-4", "2017-03-31", "effective:2017-04-01"]);
    assert_eq!(code, 0);
    assert!(out.contains("65%以上 → 62%以上") && out.contains("(1 difference)"), "{out}");
    let (code, _, err) = cli(&["--data", d, "diff", "shinagawa-jisshi-4", "no such version", "now"]);
    assert_eq!(code, 2);
    assert!(err.contains("from: \"no such version\" is not a point"), "{err}");
    assert!(err.contains("plan shinagawa-jisshi-4 has no version \"no such version\""), "{err}");
    let (code, out, _) = cli(&["--data", d, "show", "shinagawa-jisshi-4", "--version", "adopted 2016-04-01"]);
    assert_eq!(code, 0);
    assert!(out.contains("past view: seq 199") && out.contains("65%以上"), "{out}");
    let (code, out, _) = cli(&["--data", d, "blame", "shinagawa-jisshi-4", "--json"]);
    assert_eq!(code, 0);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let row = rows.iter().find(|r| r["subject"] == k && r["what"].as_str().unwrap().contains("目標 2018")).unwrap();
    assert_eq!((row["value"].as_str(), row["set_by"]["seq"].as_u64()), (Some("62%以上"), Some(202)));
    assert_eq!(row["set_by"]["actor"]["id"], "kikaku-01");
}

/// Regression: the portal's front page read every plan's whole history to show its last change, so it took as long
/// as the ledger was long. The newest-first read it uses now must pick the same record as the whole history did, at
/// every seq and at every effective date, including effective dates that arrive out of order.
#[test]
fn the_front_page_read_every_plans_whole_history_for_its_last_change() {
    use planledger::core::domain::Entity;
    use planledger::query::Read;
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path()).unwrap();
    at(&l, create_plan("p"), (2016, 4, 1), None);
    at(&l, create_plan("q"), (2016, 4, 1), None);
    at(&l, add_node("p", "a"), (2018, 4, 1), None);
    at(&l, add_node("q", "c"), (2016, 4, 1), None);
    at(&l, define("i", "a"), (2017, 4, 1), None);
    at(&l, set_target("i", "2018", "60以上"), (2019, 4, 1), None);
    at(&l, set_target("i", "2018", "62以上"), (2016, 10, 1), Some("遡及"));
    let (read, ()) = Read::capture(&l, |_| ());
    let entity = Entity::Plan(pid());
    let whole = read.records_for(&entity).unwrap();
    assert!(whole.len() >= 5, "the plan has a history to choose from");
    let mut points: Vec<Option<Point>> = vec![None];
    points.extend((0..8).map(|s| Some(Point::Seq(s))));
    for (y, m) in [(2016, 3), (2016, 4), (2016, 11), (2017, 4), (2018, 3), (2018, 4), (2019, 4), (2020, 1)] {
        points.push(Some(Point::Effective(NaiveDate::from_ymd_opt(y, m, 1).unwrap())));
    }
    for point in points {
        let keep = |r: &planledger::core::record::Record| point.is_none_or(|p| p.includes(r));
        let expected = whole.iter().rev().find(|r| keep(r)).map(|r| r.seq);
        let got = read.last_record_for(&entity, keep).unwrap().map(|r| r.seq);
        assert_eq!(got, expected, "at {point:?}");
    }
    l.close();
}

/// `/changes?plan=`, the plan's feed and `/events/{seq}` folded the plan's (or the subject's) whole history to
/// describe their newest rows, so their time and memory grew with the ledger. They now read the window newest first
/// and start from the plan's cached state just before it; every window must be described exactly as the whole
/// history describes it, with the cache on and off, at every seq and at effective dates that arrive out of order.
#[test]
fn the_change_list_folded_a_plans_whole_history_for_its_newest_rows() {
    use planledger::core::domain::Entity;
    use planledger::query::Read;
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path()).unwrap();
    at(&l, create_plan("p"), (2016, 4, 1), None);
    at(&l, create_plan("q"), (2016, 4, 1), None);
    at(&l, add_node("p", "a"), (2016, 4, 1), None);
    at(&l, add_node("p", "b"), (2016, 4, 1), None);
    at(&l, add_node("q", "c"), (2016, 4, 1), None);
    at(&l, define("i", "a"), (2016, 4, 1), None);
    for (n, (y, m)) in [(2017, 4), (2016, 10), (2018, 4), (2017, 1), (2019, 4), (2016, 5)].into_iter().enumerate() {
        at(&l, set_target("i", "2018", &format!("{}以上", 60 + n)), (y, m, 1), Some("見直し"));
        let parent = if n % 2 == 0 { Some("a".into()) } else { None };
        at(&l, Command::MoveNode { node: "b".into(), parent, order: None }, (y, m, 1), Some("再編"));
        at(
            &l,
            Command::RenameNode { node: "a".into(), code: None, title: Some(format!("施策 第{n}版")) },
            (y, m, 1),
            None,
        );
    }
    let (read, ()) = Read::capture(&l, |_| ());
    let whole = read.history(&Entity::Plan(pid())).unwrap();
    let len = read.head().len;
    let key = |e: &projection::HistoryEntry| (e.source.seq, format!("{:?}", e.changes));
    let mut points: Vec<Option<Point>> = vec![None];
    points.extend((0..len).map(|s| Some(Point::Seq(s))));
    for (y, m) in [(2016, 3), (2016, 4), (2016, 11), (2017, 2), (2017, 4), (2018, 4), (2020, 1)] {
        points.push(Some(Point::Effective(NaiveDate::from_ymd_opt(y, m, 1).unwrap())));
    }
    for every in [0, 1, 3] {
        l.set_cache_every(every);
        for point in &points {
            let keep = |r: &planledger::core::record::Record| point.is_none_or(|p| p.includes(r));
            for from in [0, 3, 9, len - 2] {
                for limit in [1, 2, 5, 100] {
                    let expected: Vec<_> = whole
                        .iter()
                        .rev()
                        .filter(|e| {
                            e.source.seq >= from
                                && point.is_none_or(|p| {
                                    p.includes_event(e.source.seq, e.source.recorded_at, e.source.effective)
                                })
                        })
                        .take(limit)
                        .map(key)
                        .collect();
                    let got: Vec<_> = read
                        .plan_changes(&pid(), (from, len), limit, keep)
                        .unwrap()
                        .iter()
                        .map(|(_, e)| key(e))
                        .collect();
                    assert_eq!(got, expected, "every {every}, {point:?}, from {from}, limit {limit}");
                }
            }
        }
    }
    l.close();
}
