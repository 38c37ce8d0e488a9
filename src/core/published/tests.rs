//! Snapshots taken and checked: determinism, file names, and each tampered field named.

use super::*;
use crate::core::domain::model::{Actor, Meta};
use crate::core::domain::{Command, decide};
use proptest::prelude::*;

/// Percent-decoding, case-insensitive in the hex digits: the inverse of `file_stem`.
fn decode(stem: &str) -> String {
    let b = stem.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&stem[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn file_names_of_the_seed_versions() {
    let stem = |n: &str| file_stem("version", n).unwrap();
    assert_eq!(stem("世田谷区基本計画大綱（案） 3月1日時点"), "世田谷区基本計画大綱（案）%203月1日時点");
    assert_eq!(
        stem("品川区総合実施計画 平成28年度～平成30年度（第4次） 発行月 平成28年4月"),
        "品川区総合実施計画%20平成28年度～平成30年度（第4次）%20発行月%20平成28年4月"
    );
    assert_eq!(stem("adopted 2016-04-01"), "adopted%202016-04-01");
    // Upper case, dots, slashes, the percent sign itself, full-width Latin letters and colons are escaped.
    assert_eq!(stem("Draft"), "%44raft");
    assert_eq!(stem("a/b.c%"), "a%2Fb%2Ec%25");
    assert_eq!(stem("ＩＣＴ："), "%EF%BC%A9%EF%BC%A3%EF%BC%B4%EF%BC%9A");
    // A Windows device name gets its first character escaped; a longer name does not.
    assert_eq!(stem("con"), "%63on");
    assert_eq!(stem("console"), "console");
    // The combining voiced mark is escaped, so が and か+゙ (the same text to a normalizing file system) differ.
    assert_eq!(stem("が"), "が");
    assert_eq!(stem("か\u{3099}"), "か%E3%82%99");
    assert_eq!(
        relative_path(&PlanId::new("setagaya-taiko-an").unwrap(), "世田谷区基本計画大綱（案） 3月1日時点").unwrap(),
        "setagaya-taiko-an/世田谷区基本計画大綱（案）%203月1日時点.json"
    );
    assert_eq!(relative_path(&PlanId::new("Plan.A").unwrap(), "x").unwrap(), "%50lan%2E%41/x.json");
}

#[test]
fn too_long_a_file_name_is_refused_naming_the_field() {
    let e = file_stem("version", &"Ａ".repeat(40)).unwrap_err();
    assert_eq!(e.field, "version");
    assert!(e.reason.contains("360 bytes"), "{e}");
    assert!(file_stem("version", &"計".repeat(80)).is_ok(), "80 kanji are 240 bytes");
    assert!(file_stem("version", &"計".repeat(81)).is_err());
    assert_eq!(file_stem("plan", "").unwrap_err().field, "plan");
}

proptest! {
    /// Decoding gives the name back, so the mapping is injective; decoding the lower-cased stem too, so it stays
    /// injective on file systems that ignore case.
    #[test]
    fn file_stems_decode_to_the_name(name in "\\PC{1,60}") {
        if let Ok(stem) = file_stem("version", &name) {
            prop_assert_eq!(decode(&stem), name.clone());
            prop_assert_eq!(decode(&stem.to_lowercase()), name);
            prop_assert!(stem.len() <= MAX_STEM);
            prop_assert!(!stem.contains(['/', '\\', '.', ' ', ':']));
        }
    }

    #[test]
    fn distinct_names_get_distinct_stems(a in "[a-zA-Z0-9 ./%が-]{1,8}", b in "[a-zA-Z0-9 ./%が-]{1,8}") {
        let (sa, sb) = (file_stem("v", &a).unwrap(), file_stem("v", &b).unwrap());
        prop_assert_eq!(sa.to_lowercase() == sb.to_lowercase(), a == b);
    }
}

fn meta() -> Meta {
    Meta {
        actor: Actor { id: "clerk".into(), name: "企画課 担当".into(), department: "企画課".into() },
        authority: Some("庁議".into()),
        reason: Some("test".into()),
        effective: chrono::NaiveDate::from_ymd_opt(2016, 4, 1),
    }
}

/// A small ledger: a plan, a node, a version named at the node, a retitled node, a second version.
fn ledger() -> Vec<Vec<u8>> {
    let cmds = vec![
        Command::CreatePlan {
            plan: "p".into(),
            municipality: "品川区".into(),
            municipality_code: "131091".into(),
            title: "試験計画".into(),
            kind: "実施計画".into(),
            period_from: Some("2016".into()),
            period_to: Some("2018".into()),
            status: "adopted".into(),
            levels: vec!["施策".into()],
            predecessor: None,
        },
        Command::AddNode {
            plan: "p".into(),
            node: "p.1".into(),
            parent: None,
            order: None,
            code: "1".into(),
            title: "旧".into(),
            text: String::new(),
            details: vec![],
            departments: vec![],
        },
        Command::NameVersion { plan: "p".into(), name: "第1版".into(), seq: "last".into() },
        Command::RenameNode { node: "p.1".into(), code: None, title: Some("新".into()) },
        Command::NameVersion { plan: "p".into(), name: "第2版".into(), seq: "last".into() },
    ];
    let (mut state, mut prev, mut lines) = (State::default(), EventHash::ZERO, Vec::new());
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-21T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
    for c in cmds {
        for ev in decide(&state, &c, &meta()).unwrap() {
            state.evolve(&ev);
            let bytes = Record::new(Seq(lines.len() as u64), prev, at, &meta(), ev).encode();
            prev = EventHash::of(&bytes);
            lines.push(bytes);
        }
    }
    lines
}

#[test]
fn snapshots_are_deterministic_and_pinned() {
    let lines = ledger();
    let l = CheckedLedger::verify(&lines).unwrap();
    let all = l.snapshots().unwrap();
    let names: Vec<(&str, u64)> = all.iter().map(|s| (s.version.as_str(), s.seq.0)).collect();
    assert_eq!(names, [("第1版", 1), ("第2版", 3)]);
    let again = CheckedLedger::verify(&ledger()).unwrap().snapshots().unwrap();
    for (a, b) in all.iter().zip(&again) {
        assert_eq!(a.to_json(), b.to_json(), "the same ledger gives the same bytes");
    }
    let first = &all[0];
    let json = first.to_json();
    assert!(json.starts_with("{\n  \"format\": \"planledger-snapshot/1\",\n  \"plan\": \"p\",\n"), "{json}");
    assert!(json.ends_with("}\n") && !json.ends_with("}\n\n"));
    assert!(json.contains("\"attestation\": null"));
    assert_eq!(first.head_hash, EventHash::of(&lines[1]));
    assert_eq!(first.tree_size, 2);
    let mut t = MemoryTree::<LedgerHasher>::default();
    lines[..2].iter().for_each(|b| t.push(&EventHash::of(b).0));
    assert_eq!(first.root, b64(&t.root()));
    assert_eq!(first.document.nodes[0].title, "旧", "the plan as it stood at seq 1");
    assert_eq!(all[1].document.nodes[0].title, "新");
    assert!(verify(json.as_bytes(), &l, None).is_ok());
}

#[test]
fn verify_names_each_field_that_differs() {
    let l = CheckedLedger::verify(&ledger()).unwrap();
    let json = l.snapshots().unwrap()[0].to_json();
    let fields = |s: &str| match verify(s.as_bytes(), &l, None) {
        Err(SnapshotError::Mismatch(m)) => m.iter().map(|m| m.field.clone()).collect::<Vec<_>>(),
        other => panic!("expected a mismatch, got {other:?}"),
    };
    assert_eq!(fields(&json.replace("\"旧\"", "\"改\"")), ["document.nodes[0].title"]);
    assert_eq!(fields(&json.replace("\"seq\": 1,", "\"seq\": 0,")), ["seq"]);
    assert_eq!(fields(&json.replace("\"tree_size\": 2,", "\"tree_size\": 3,")), ["tree_size"]);
    assert_eq!(fields(&json.replace("\"第1版\"", "\"第3版\"")), ["version"]);
    assert_eq!(fields(&json.replace("planledger-snapshot/1", "planledger-snapshot/2")), ["format"]);
    // Key order and whitespace are not content: a re-indented, key-sorted copy is the same snapshot.
    let v: Value = serde_json::from_str(&json).unwrap();
    assert!(verify(canonical(&v).as_bytes(), &l, None).is_ok());
    assert!(matches!(verify(b"{}", &l, None), Err(SnapshotError::NotASnapshot(_))));
}
