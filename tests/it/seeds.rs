//! Seed fidelity: the five seed ledgers (events/NN-*.jsonl) rebuild byte for byte from their plan tables
//! (events/sources/*.toml), import into a fresh ledger with identical hashes, and hold what the source documents
//! print.
//!
//! Every expected value below was read off the source documents themselves (the excerpts of 品川区総合実施計画
//! （第4次）, 目黒区基本計画 第2部, 目黒区基本構想検討シート, 世田谷区基本計画大綱（案） and 新潟市総合計画), not
//! off the plan tables: these tests check the transcription, they do not restate it. The documents are not read
//! at test time; their values are written out here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;

use planledger::core::domain::model::PlanStatus;
use planledger::core::domain::state::Node;
use planledger::core::domain::value::{Comparator, Target};
use planledger::core::domain::{FiscalYear, NodeId, PlanId, State};
use planledger::core::plantable::{PlanTable, TableErrors, build_ledger, parse};
use planledger::core::projection::view::target_with_unit;
use planledger::core::projection::{NodeView, history, view_plan};
use planledger::core::record::split_lines;
use planledger::store::ledger::{Ledger, verify_dir};

/// The seed manifest as it must read: plan tables in chain order, each with its ledger file.
const SEEDS: [(&str, &str); 5] = [
    ("sources/shinagawa-jisshi-4.toml", "01-shinagawa-jisshi-4.jsonl"),
    ("sources/meguro-kento-2019.toml", "02-meguro-kento-2019.jsonl"),
    ("sources/meguro-kihon-2022.toml", "03-meguro-kihon-2022.jsonl"),
    ("sources/setagaya-taiko-an.toml", "04-setagaya-taiko-an.jsonl"),
    ("sources/niigata-sogo.toml", "05-niigata-sogo.jsonl"),
];

const SHINAGAWA: &str = "shinagawa-jisshi-4";
const MEGURO_2019: &str = "meguro-kento-2019";
const MEGURO_2022: &str = "meguro-kihon-2022";
const SETAGAYA: &str = "setagaya-taiko-an";
const NIIGATA: &str = "niigata-sogo";

// ───────────────────────────── helpers ─────────────────────────────

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("events")
}

/// The `[[seed]]` entries of events/seeds.toml, in order; they must be the five pairs of [`SEEDS`].
fn manifest() -> Vec<(String, String)> {
    let path = events_dir().join("seeds.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let doc: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let seeds = doc.get("seed").and_then(toml::Value::as_array).expect("seeds.toml has [[seed]] entries");
    let entries: Vec<(String, String)> = seeds
        .iter()
        .map(|s| {
            let field = |k: &str| {
                s.get(k).and_then(toml::Value::as_str).unwrap_or_else(|| panic!("[[seed]] without {k}")).to_string()
            };
            (field("source"), field("ledger"))
        })
        .collect();
    let expected: Vec<(String, String)> = SEEDS.iter().map(|(s, l)| (s.to_string(), l.to_string())).collect();
    assert_eq!(entries, expected, "events/seeds.toml must list the five seeds in chain order");
    entries
}

/// The stored lines of one seed ledger file.
fn ledger_lines(file: &str) -> Vec<Vec<u8>> {
    let path = events_dir().join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    split_lines(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every seed line, all five files in chain order.
fn all_seed_lines() -> Vec<Vec<u8>> {
    manifest().iter().flat_map(|(_, ledger)| ledger_lines(ledger)).collect()
}

/// The state of a fresh ledger into which the five seed files were imported (once per test binary).
fn seeds() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let ledger = Ledger::open(dir.path()).expect("open ledger");
        ledger.import_blocking(all_seed_lines()).expect("the seed ledgers import");
        let state = ledger.read().state.clone();
        ledger.close();
        state
    })
}

fn pid(s: &str) -> PlanId {
    PlanId::new(s).expect("plan id")
}

fn live_nodes<'a>(state: &'a State, plan: &str) -> Vec<&'a Node> {
    let p = pid(plan);
    state.nodes.values().filter(|n| n.plan == p && !n.retired).collect()
}

fn node<'a>(state: &'a State, id: &NodeId) -> &'a Node {
    state.nodes.get(id).unwrap_or_else(|| panic!("node {id} is not in the ledger"))
}

/// The live children of `parent` (the roots for `None`), in display order.
fn children<'a>(state: &'a State, plan: &str, parent: Option<&NodeId>) -> Vec<&'a Node> {
    state.children(&pid(plan), parent)
}

/// The only live child of `parent` printed with `code`.
fn child_by_code<'a>(state: &'a State, plan: &str, parent: Option<&NodeId>, code: &str) -> &'a Node {
    let found: Vec<&Node> = children(state, plan, parent).into_iter().filter(|n| n.code == code).collect();
    assert_eq!(found.len(), 1, "{plan}: expected one node with code {code:?} under {parent:?}, found {}", found.len());
    found[0]
}

/// (code, title) of the live children of `parent`, in display order.
fn codes_and_titles(state: &State, plan: &str, parent: Option<&NodeId>) -> Vec<(String, String)> {
    children(state, plan, parent).into_iter().map(|n| (n.code.clone(), n.title.clone())).collect()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// Live nodes per depth (0 = the roots), counted on the plan's tree view and cross-checked with `State::depth`.
fn nodes_per_depth(state: &State, plan: &str) -> Vec<usize> {
    fn walk(nodes: &[NodeView], depth: usize, counts: &mut Vec<usize>) {
        for n in nodes {
            if counts.len() <= depth {
                counts.resize(depth + 1, 0);
            }
            counts[depth] += 1;
            walk(&n.children, depth + 1, counts);
        }
    }
    let view = view_plan(state, &pid(plan)).unwrap_or_else(|| panic!("plan {plan} is not in the ledger"));
    let mut from_view = Vec::new();
    walk(&view.nodes, 0, &mut from_view);
    let mut from_depth = Vec::new();
    for n in live_nodes(state, plan) {
        let d = state.depth(&n.id);
        if from_depth.len() <= d {
            from_depth.resize(d + 1, 0);
        }
        from_depth[d] += 1;
    }
    assert_eq!(from_view, from_depth, "{plan}: the tree view and State::depth disagree");
    from_view
}

/// The plan's tree view flattened in document order, with each node's depth.
fn preorder(state: &State, plan: &str) -> Vec<(usize, NodeView)> {
    fn walk(nodes: &[NodeView], depth: usize, out: &mut Vec<(usize, NodeView)>) {
        for n in nodes {
            out.push((depth, n.clone()));
            walk(&n.children, depth + 1, out);
        }
    }
    let view = view_plan(state, &pid(plan)).unwrap_or_else(|| panic!("plan {plan} is not in the ledger"));
    let mut out = Vec::new();
    walk(&view.nodes, 0, &mut out);
    out
}

fn fy(year: u16) -> FiscalYear {
    FiscalYear::new(year).expect("fiscal year")
}

// ───────────────────────────── 1. rebuild ─────────────────────────────

#[test]
fn seed_ledgers_regenerate_byte_for_byte() {
    let seeds = manifest();
    let tables: Vec<_> = seeds
        .iter()
        .map(|(source, _)| {
            let path = events_dir().join(source);
            let table = load(&path).unwrap_or_else(|e| panic!("{e}"));
            (path.display().to_string(), table)
        })
        .collect();
    let built = build_ledger(&tables).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(built.len(), seeds.len());
    for ((_, ledger), (plan, lines)) in seeds.iter().zip(&built) {
        assert_eq!(ledger.strip_suffix(".jsonl").and_then(|s| s.get(3..)), Some(plan.as_str()), "file name vs plan");
        let mut rebuilt = lines.join(&b"\n"[..]);
        rebuilt.push(b'\n');
        let stored = std::fs::read(events_dir().join(ledger)).expect("read seed ledger");
        if rebuilt != stored {
            let stored_lines = split_lines(&stored).expect("stored file splits into lines");
            for (i, (a, b)) in lines.iter().zip(&stored_lines).enumerate() {
                assert_eq!(
                    String::from_utf8_lossy(a),
                    String::from_utf8_lossy(b),
                    "{ledger}: line {} differs (left: rebuilt from the table, right: stored)",
                    i + 1
                );
            }
            assert_eq!(lines.len(), stored_lines.len(), "{ledger}: number of lines");
            panic!("{ledger} differs from its rebuild");
        }
    }
}

// ───────────────────────────── 2. import ─────────────────────────────

#[test]
fn seed_ledgers_import_with_identical_hashes_and_verify() {
    let files: Vec<Vec<Vec<u8>>> = manifest().iter().map(|(_, ledger)| ledger_lines(ledger)).collect();
    let lines: Vec<Vec<u8>> = files.iter().flatten().cloned().collect();
    let total = lines.len() as u64;
    let last_of_05 = files.last().and_then(|f| f.last()).expect("05 has lines").clone();

    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = Ledger::open(dir.path()).expect("open");
    let head = ledger.import_blocking(lines.clone()).expect("the five seed files import in one call");
    assert_eq!(head.len, total, "every line of the five files is one event");
    assert_eq!(head.hash.to_hex(), blake3::hash(&last_of_05).to_hex().to_string(), "head = blake3 of 05's last line");

    // Stored verbatim: the same bytes at the same seqs, so the same hashes, and one chain across the five files.
    let stored = ledger.read_events(0, total).expect("read back");
    assert_eq!(stored.len() as u64, total);
    for (i, ((seq, bytes), line)) in stored.iter().zip(&lines).enumerate() {
        assert_eq!(*seq, i as u64);
        assert_eq!(bytes, line, "event {seq} is not stored verbatim");
    }
    let records = ledger.records(0, total).expect("decode");
    for (i, r) in records.iter().enumerate().skip(1) {
        assert_eq!(r.prev.to_hex(), blake3::hash(&lines[i - 1]).to_hex().to_string(), "prev of event {i}");
    }
    {
        let published = ledger.read();
        let plans: BTreeSet<&str> = published.state.plans.keys().map(PlanId::as_str).collect();
        assert_eq!(plans, BTreeSet::from([SHINAGAWA, MEGURO_2019, MEGURO_2022, SETAGAYA, NIIGATA]));
        assert_eq!(published.state.events, total);
    }
    ledger.close();

    let summary = verify_dir(dir.path()).unwrap_or_else(|e| panic!("verify: {e}"));
    assert_eq!(summary.summary.count, total);
    assert_eq!(summary.summary.head, head.hash);
}

// ───────────────────────────── 3. 品川区: the 20 KPIs ─────────────────────────────

/// One KPI 【…】 of 品川区総合実施計画（第4次）, chapter 6, as the document prints it.
struct Kpi {
    /// The label inside 【】 as printed.
    label: &'static str,
    /// The indicator's name: the label without the parenthesis that marks 累計 or carries a note.
    name: &'static str,
    unit: &'static str,
    /// 平成28/29/30年度 (FY2016–2018) as printed, unit included (the extraction's space before 千円/人/… dropped).
    targets: [&'static str; 3],
    /// The 施策 the row belongs to.
    sesaku: &'static str,
    /// The 事業 (①…) heading the row is printed under, if any (6-3-2 and 6-3-3 print their rows directly).
    jigyo: Option<&'static str>,
    /// The 全体計画 cell of the row.
    row: &'static str,
    /// Where a 全体計画 cell spans several sub-rows: text of the sub-row's 現況/必要事業量 the KPI is printed in.
    sub_row: Option<&'static str>,
    /// 実施課, in printed order.
    departments: &'static [&'static str],
}

const KOHO: &[&str] = &["広報広聴課"];
const KIKAKU: &[&str] = &["企画調整課"];
const JOHO: &[&str] = &["情報推進課"];

const SHINAGAWA_KPIS: [Kpi; 20] = [
    Kpi {
        label: "タウンミーティング開催回数",
        name: "タウンミーティング開催回数",
        unit: "回",
        targets: ["2回", "2回", "2回"],
        sesaku: "6-1-1",
        jigyo: Some("区民の声を聴く広聴活動の拡充"),
        row: "意見交換が活発になるしきみづくり",
        sub_row: None,
        departments: KOHO,
    },
    Kpi {
        label: "取材依頼件数(CATV)",
        name: "取材依頼件数(CATV)",
        unit: "件",
        targets: ["200件", "200件", "200件"],
        sesaku: "6-1-1",
        jigyo: Some("多様な手法を活用した広報の充実"),
        row: "区民とともに行う情報発信の充実",
        sub_row: None,
        departments: KOHO,
    },
    Kpi {
        label: "職員報(ふれあい)年間発行部数",
        name: "職員報(ふれあい)年間発行部数",
        unit: "部",
        targets: ["54,000部", "54,000部", "54,000部"],
        sesaku: "6-1-1",
        jigyo: Some("多様な手法を活用した広報の充実"),
        row: "区民とともに行う情報発信の充実",
        sub_row: None,
        departments: KOHO,
    },
    Kpi {
        label: "声の広報利用者数",
        name: "声の広報利用者数",
        unit: "人",
        targets: ["75人", "75人", "75人"],
        sesaku: "6-1-1",
        jigyo: Some("多様な手法を活用した広報の充実"),
        row: "情報要支援者のための情報提供の充実",
        sub_row: None,
        departments: KOHO,
    },
    Kpi {
        label: "メディア認知度(区外:隔年実施)",
        name: "メディア認知度",
        unit: "%",
        targets: ["60%以上", "—", "65%以上"],
        sesaku: "6-1-1",
        jigyo: Some("多様な手法を活用した広報の充実"),
        row: "シティプロモーションの推進",
        sub_row: None,
        departments: KOHO,
    },
    Kpi {
        label: "区政資料コーナー利用者数",
        name: "区政資料コーナー利用者数",
        unit: "人",
        targets: ["10,000人", "10,000人", "10,000人"],
        sesaku: "6-1-1",
        jigyo: Some("まちの情報と区政の記録・発信"),
        row: "区政資料の収集と情報提供の充実",
        sub_row: None,
        departments: KOHO,
    },
    Kpi {
        label: "WEB写真館総収蔵数",
        name: "WEB写真館総収蔵数",
        unit: "枚",
        targets: ["9,000枚", "9,200枚", "9,400枚"],
        sesaku: "6-1-1",
        jigyo: Some("まちの情報と区政の記録・発信"),
        row: "区政・地域情報の発信と活用",
        sub_row: None,
        departments: KOHO,
    },
    Kpi {
        label: "モデルルート整備数(累計)",
        name: "モデルルート整備数",
        unit: "ルート",
        targets: ["8ルート", "9ルート", "10ルート"],
        sesaku: "6-1-1",
        jigyo: Some("分かりやすい案内の充実"),
        row: "公共サインの設置推進",
        sub_row: None,
        departments: KOHO,
    },
    Kpi {
        label: "指定管理者新規導入施設数",
        name: "指定管理者新規導入施設数",
        unit: "施設",
        targets: ["1施設", "2施設", "—"],
        sesaku: "6-2-1",
        jigyo: Some("事務事業の効果的・効率的な推進"),
        row: "民間活力の活用",
        sub_row: None,
        departments: KIKAKU,
    },
    Kpi {
        label: "電子申請手続件数",
        name: "電子申請手続件数",
        unit: "件",
        targets: ["3,750件", "3,800件", "3,850件"],
        sesaku: "6-2-2",
        jigyo: Some("ICTを活用した行政サービスの充実"),
        row: "区民サービスの電子化",
        sub_row: Some("手続の電子化"),
        departments: JOHO,
    },
    Kpi {
        label: "クレジット納付による収納件数",
        name: "クレジット納付による収納件数",
        unit: "件",
        targets: ["—", "1,200件", "4,900件"],
        sesaku: "6-2-2",
        jigyo: Some("ICTを活用した行政サービスの充実"),
        row: "区民サービスの電子化",
        sub_row: Some("手続の電子化"),
        departments: JOHO,
    },
    Kpi {
        label: "添付書類省略が可能となる事務数",
        name: "添付書類省略が可能となる事務数",
        unit: "事務",
        targets: ["—", "45事務", "45事務"],
        sesaku: "6-2-2",
        jigyo: Some("ICTを活用した行政サービスの充実"),
        row: "区民サービスの電子化",
        sub_row: Some("個人番号独自利用"),
        departments: JOHO,
    },
    Kpi {
        label: "印刷経費削減額",
        name: "印刷経費削減額",
        unit: "千円",
        targets: ["84,630千円", "91,688千円", "91,688千円"],
        sesaku: "6-2-2",
        jigyo: Some("行政の省力化・効率化の推進"),
        row: "行政の省力化・効率化の推進",
        sub_row: Some("周辺機器最適化"),
        departments: JOHO,
    },
    Kpi {
        label: "業務系サーバ仮想化数(累計)",
        name: "業務系サーバ仮想化数",
        unit: "システム",
        targets: ["28システム", "56システム", "63システム"],
        sesaku: "6-2-2",
        jigyo: Some("行政の省力化・効率化の推進"),
        row: "行政の省力化・効率化の推進",
        sub_row: Some("情報共通基盤"),
        departments: JOHO,
    },
    Kpi {
        label: "職員端末のVDI対応数",
        name: "職員端末のVDI対応数",
        unit: "台",
        targets: ["100台", "1,300台", "900台"],
        sesaku: "6-2-2",
        jigyo: Some("行政の省力化・効率化の推進"),
        row: "行政の省力化・効率化の推進",
        sub_row: Some("VDI"),
        departments: JOHO,
    },
    Kpi {
        label: "職員キャリアデザイン顕彰者数",
        name: "職員キャリアデザイン顕彰者数",
        unit: "人",
        targets: ["12人", "12人", "12人"],
        sesaku: "6-2-3",
        jigyo: Some("都市経営を担う職員の能力向上"),
        row: "区政運営の原動力としての新たな職員能力の開発",
        sub_row: None,
        departments: &["人事課"],
    },
    Kpi {
        label: "協働をテーマとした研修の受講者数",
        name: "協働をテーマとした研修の受講者数",
        unit: "人",
        targets: ["200人", "200人", "200人"],
        sesaku: "6-2-3",
        jigyo: Some("区民との協働を基本姿勢とする職員の育成"),
        row: "区民との協働を基本姿勢とする職員の育成",
        sub_row: None,
        departments: &["人事課", "地域活動課"],
    },
    Kpi {
        label: "区域計画認定事業数",
        name: "区域計画認定事業数",
        unit: "事業",
        targets: ["1事業", "1事業", "1事業"],
        sesaku: "6-3-2",
        jigyo: None,
        row: "国家戦略特区事業の推進",
        sub_row: None,
        departments: KIKAKU,
    },
    Kpi {
        label: "全国自治体との連携事業数(累計)",
        name: "全国自治体との連携事業数",
        unit: "事業",
        targets: ["8事業", "12事業", "16事業"],
        sesaku: "6-3-2",
        jigyo: None,
        row: "全国自治体との連携強化",
        sub_row: None,
        departments: KIKAKU,
    },
    Kpi {
        label: "口座振替加入率",
        name: "口座振替加入率",
        unit: "%",
        targets: ["37.5%", "38.0%", "38.5%"],
        sesaku: "6-3-3",
        jigyo: None,
        row: "住民税啓発・納付促進事業の推進",
        sub_row: None,
        departments: &["税務課"],
    },
];

#[test]
fn shinagawa_every_kpi_as_printed() {
    let state = seeds();
    let plan = pid(SHINAGAWA);
    let indicators: Vec<_> = state.indicators.values().filter(|i| i.plan == plan && !i.retired).collect();
    let names: BTreeSet<&str> = indicators.iter().map(|i| i.name.as_str()).collect();
    let expected: BTreeSet<&str> = SHINAGAWA_KPIS.iter().map(|k| k.name).collect();
    assert_eq!(indicators.len(), 20, "the chapter prints 20 KPIs 【…】");
    assert_eq!(names, expected, "KPI names");

    for k in &SHINAGAWA_KPIS {
        let found: Vec<_> = indicators.iter().filter(|i| i.name == k.name).collect();
        assert_eq!(found.len(), 1, "{}: one indicator by that name", k.label);
        let ind = found[0];

        // The printed label is the name plus what the document put in parentheses: (累計) and/or a note.
        let mut label = ind.name.clone();
        if ind.cumulative {
            label.push_str("(累計)");
        }
        if !ind.note.is_empty() {
            label.push_str(&format!("({})", ind.note));
        }
        assert_eq!(label, k.label, "{}: name, 累計 and note", k.label);
        assert_eq!(ind.cumulative, k.label.contains("(累計)"), "{}: cumulative", k.label);
        assert_eq!(ind.unit, k.unit, "{}: unit", k.label);
        assert!(ind.baseline.is_none(), "{}: 現況 is a text in the document, not a figure", k.label);

        // Targets for 平成28/29/30年度, exactly these three years.
        let years: Vec<u16> = ind.targets.keys().map(|y| y.year()).collect();
        assert_eq!(years, vec![2016, 2017, 2018], "{}: target years", k.label);
        for (year, printed) in [2016u16, 2017, 2018].into_iter().zip(k.targets) {
            let t = &ind.targets[&fy(year)];
            assert_eq!(target_with_unit(t, &ind.unit), printed, "{} FY{year}: as printed", k.label);
            let bare = printed.replacen(k.unit, "", 1);
            assert_eq!(t.printed(), bare, "{} FY{year}: printed without unit", k.label);
            match t {
                Target::None => assert_eq!(printed, "—", "{} FY{year}", k.label),
                Target::Value { comparator, .. } => {
                    let want = if printed.ends_with("以上") { Comparator::AtLeast } else { Comparator::Eq };
                    assert_eq!(*comparator, want, "{} FY{year}: comparator", k.label);
                }
            }
        }

        // The 全体計画 row that carries it, its 実施課 and its place in the tree.
        let row = node(state, &ind.node);
        assert_eq!(row.title, k.row, "{}: 全体計画 row", k.label);
        assert_eq!(row.departments, k.departments, "{}: 実施課 of {}", k.label, k.row);
        if let Some(sub) = k.sub_row {
            assert!(
                row.details.iter().any(|d| d.label.starts_with("現況") && d.text.contains(sub))
                    || row.details.iter().any(|d| d.label.starts_with("必要事業量") && d.text.contains(sub)),
                "{}: printed in the sub-row of {sub}, got {:?}",
                k.label,
                row.details
            );
        }
        let parent = node(state, row.parent.as_ref().expect("a row has a parent"));
        let sesaku = match k.jigyo {
            Some(jigyo) => {
                assert_eq!(parent.title, jigyo, "{}: 事業", k.label);
                node(state, parent.parent.as_ref().expect("a 事業 has a 施策"))
            }
            None => parent,
        };
        assert_eq!(sesaku.code, k.sesaku, "{}: 施策", k.label);
    }

    // The 隔年実施 KPI carries its note; no other one has a note.
    let media = indicators.iter().find(|i| i.name == "メディア認知度").expect("メディア認知度");
    assert!(media.note.contains("隔年実施"), "{:?}", media.note);
    assert_eq!(media.targets[&fy(2016)].printed(), "60以上");
    assert_eq!(media.targets[&fy(2017)], Target::None);
    assert_eq!(media.targets[&fy(2018)].printed(), "65以上");
    assert_eq!(indicators.iter().filter(|i| !i.note.is_empty()).count(), 1);
    let cumulative: BTreeSet<&str> = indicators.iter().filter(|i| i.cumulative).map(|i| i.name.as_str()).collect();
    assert_eq!(cumulative, BTreeSet::from(["モデルルート整備数", "業務系サーバ仮想化数", "全国自治体との連携事業数"]));
    let kouza = indicators.iter().find(|i| i.name == "口座振替加入率").expect("口座振替加入率");
    let printed: Vec<String> = kouza.targets.values().map(Target::printed).collect();
    assert_eq!(printed, ["37.5", "38.0", "38.5"], "the printed scale is kept");
}

// ───────────────────────────── 4. tree shape ─────────────────────────────

/// 品川区: the 20 全体計画 cells in document order, the number of 現況/必要事業量 sub-rows each spans, and 実施課.
const SHINAGAWA_ROWS: [(&str, usize, &[&str]); 20] = [
    ("意見交換が活発になるしきみづくり", 1, KOHO),
    ("区民とともに行う情報発信の充実", 1, KOHO),
    ("情報要支援者のための情報提供の充実", 1, KOHO),
    ("シティプロモーションの推進", 1, KOHO),
    ("区政資料の収集と情報提供の充実", 1, KOHO),
    ("区政・地域情報の発信と活用", 1, KOHO),
    ("公共サインの設置推進", 1, KOHO),
    ("民間活力の活用", 1, KIKAKU),
    ("新公会計の整備・活用", 1, &["会計管理室", "企画調整課", "財政課"]),
    ("老朽施設の計画的修繕・改修", 1, &["企画調整課", "施設整備課"]),
    ("公有地等の有効活用推進", 1, KIKAKU),
    ("区民サービスの電子化", 2, JOHO),
    ("行政の省力化・効率化の推進", 3, JOHO),
    ("情報セキュリティの確保", 1, JOHO),
    ("災害時等における業務継続計画の推進", 1, JOHO),
    ("区政運営の原動力としての新たな職員能力の開発", 1, &["人事課"]),
    ("区民との協働を基本姿勢とする職員の育成", 1, &["人事課", "地域活動課"]),
    ("国家戦略特区事業の推進", 1, KIKAKU),
    ("全国自治体との連携強化", 1, KIKAKU),
    ("住民税啓発・納付促進事業の推進", 1, &["税務課"]),
];

#[test]
fn node_counts_per_level() {
    let state = seeds();
    shinagawa_tree(state);
    meguro_2022_tree(state);
    meguro_2019_tree(state);
    setagaya_tree(state);
    niigata_tree(state);
}

/// 都市像 区政運営の基本姿勢 → 基本方針 6-1…6-3 → 施策 6-1-1… (8) → 事業 ①… (15) → 全体計画 rows. 6-3-2 and 6-3-3
/// print their rows directly under the 施策 (no ① heading), so three rows stand at the 事業 depth: 15 + 3 = 18 at
/// depth 3 and 20 at depth 4. The 20 全体計画 cells span 23 現況/必要事業量 sub-rows (区民サービスの電子化: 2,
/// 行政の省力化・効率化の推進: 3); each sub-row is a node.
fn shinagawa_tree(state: &State) {
    let p = SHINAGAWA;
    assert_eq!(nodes_per_depth(state, p), vec![1, 3, 8, 18, 20], "{p}: nodes per depth");

    let root = child_by_code(state, p, None, "6");
    assert_eq!(root.title, "区政運営の基本姿勢");
    assert_eq!(
        codes_and_titles(state, p, Some(&root.id)),
        owned(&[
            ("6-1", "協働による区政運営を推進する"),
            ("6-2", "行政改革を継続的に推進する"),
            ("6-3", "基礎自治体としての基盤を確立する"),
        ])
    );
    let sesaku: [(&str, &[&str]); 3] =
        [("6-1", &["6-1-1", "6-1-2"]), ("6-2", &["6-2-1", "6-2-2", "6-2-3"]), ("6-3", &["6-3-1", "6-3-2", "6-3-3"])];
    // 事業 (①…) per 施策, as printed.
    let jigyo: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("6-1-1", &["①", "②", "③", "④", "⑤"][..]),
        ("6-1-2", &["①", "②"][..]),
        ("6-2-1", &["①", "②", "③"][..]),
        ("6-2-2", &["①", "②", "③"][..]),
        ("6-2-3", &["①", "②"][..]),
        ("6-3-1", &[][..]),
        ("6-3-2", &[][..]),
        ("6-3-3", &[][..]),
    ]);
    let mut jigyo_count = 0;
    for (hoshin, expected) in sesaku {
        let h = child_by_code(state, p, Some(&root.id), hoshin);
        let codes: Vec<String> = children(state, p, Some(&h.id)).iter().map(|n| n.code.clone()).collect();
        assert_eq!(codes, expected, "{p}: 施策 of {hoshin}");
        for s in expected {
            let s_node = child_by_code(state, p, Some(&h.id), s);
            let codes: Vec<String> = children(state, p, Some(&s_node.id))
                .iter()
                .filter(|n| !n.code.is_empty())
                .map(|n| n.code.clone())
                .collect();
            assert_eq!(codes, jigyo[s], "{p}: 事業 of {s}");
            jigyo_count += codes.len();
        }
    }
    assert_eq!(jigyo_count, 15, "{p}: 事業");

    // 全体計画 rows (printed without a code), in document order, grouped by cell.
    let rows: Vec<(usize, NodeView)> = preorder(state, p).into_iter().filter(|(_, n)| n.code.is_empty()).collect();
    assert_eq!(rows.len(), 23, "{p}: 全体計画 sub-rows");
    assert!(rows.iter().all(|(d, _)| *d >= 3), "{p}: rows hang under a 事業 or a 施策");
    let mut cells: Vec<(String, usize, Vec<String>)> = Vec::new();
    for (_, r) in &rows {
        match cells.last_mut() {
            Some((title, n, depts)) if *title == r.title => {
                *n += 1;
                assert_eq!(*depts, r.departments, "{p}: 実施課 of the sub-rows of {title}");
            }
            _ => cells.push((r.title.clone(), 1, r.departments.clone())),
        }
    }
    let expected: Vec<(String, usize, Vec<String>)> =
        SHINAGAWA_ROWS.iter().map(|(t, n, d)| (t.to_string(), *n, d.iter().map(|s| s.to_string()).collect())).collect();
    assert_eq!(cells, expected, "{p}: 全体計画 cells, sub-rows and 実施課");
}

/// 方針1–3 → 区政運営の考え方 1-1 … 3-3 (7) → 施策立案の視点 (13) → their bullet points (48; the empty bullet the
/// extraction shows in 3-2 視点3 is not one).
fn meguro_2022_tree(state: &State) {
    let p = MEGURO_2022;
    assert_eq!(nodes_per_depth(state, p), vec![3, 7, 13, 48], "{p}: nodes per depth");
    let hoshin: Vec<String> = children(state, p, None).iter().map(|n| n.title.clone()).collect();
    assert_eq!(
        hoshin,
        [
            "平和と人権・多様性の尊重",
            "区民と区が共に力を出し合い連携・協力する区政の推進",
            "未来を見据えた持続可能な行財政運営"
        ]
    );
    let mut kangaekata = Vec::new();
    let mut shiten_per_kangaekata = Vec::new();
    let mut bullets_per_shiten = Vec::new();
    for h in children(state, p, None) {
        for k in children(state, p, Some(&h.id)) {
            kangaekata.push((k.code.clone(), k.title.clone()));
            let shiten = children(state, p, Some(&k.id));
            shiten_per_kangaekata.push(shiten.len());
            for s in shiten {
                bullets_per_shiten.push(children(state, p, Some(&s.id)).len());
            }
        }
    }
    assert_eq!(
        kangaekata,
        owned(&[
            ("1-1", "平和への貢献"),
            ("1-2", "人権・多様性を尊重する地域社会の実現"),
            ("2-1", "コミュニティ形成を通じた地域課題への取組"),
            ("2-2", "多様な主体と区が連携・協力する区政の推進"),
            ("3-1", "行政サービスの最適化"),
            ("3-2", "「人財」の育成・活用と組織の活性化"),
            ("3-3", "持続可能な行財政運営のための資産活用"),
        ]),
        "{p}: 区政運営の考え方"
    );
    assert_eq!(shiten_per_kangaekata, [1, 2, 1, 2, 2, 3, 2], "{p}: 施策立案の視点 per 考え方");
    assert_eq!(bullets_per_shiten, [3, 5, 3, 4, 3, 4, 5, 4, 5, 4, 2, 3, 3], "{p}: bullets per 施策立案の視点");
}

/// Three sheets (行財政運営, 情報政策, 地域コミュニティ) → their seven numbered boxes １–７ (21) → the ■ headings, the
/// ５年後/１０年後 columns of box ６, or the （１）… items of boxes without ■ headings (55) → the （１）… items under
/// a ■ heading or a column (48).
fn meguro_2019_tree(state: &State) {
    let p = MEGURO_2019;
    assert_eq!(nodes_per_depth(state, p), vec![3, 21, 55, 48], "{p}: nodes per depth");
    let sheets = children(state, p, None);
    let fields = ["行財政運営分野", "情報政策分野", "地域コミュニティ分野"];
    // Children of boxes １…７ per sheet, as the sheets print them.
    let per_box: [[usize; 7]; 3] = [[1, 2, 4, 3, 3, 3, 0], [2, 2, 5, 2, 5, 2, 0], [7, 1, 4, 1, 6, 2, 0]];
    assert_eq!(sheets.len(), 3);
    for ((sheet, field), expected) in sheets.iter().zip(fields).zip(per_box) {
        assert!(sheet.title.starts_with("基本構想検討シート") && sheet.title.ends_with(field), "{}", sheet.title);
        let boxes = children(state, p, Some(&sheet.id));
        let codes: Vec<&str> = boxes.iter().map(|b| b.code.as_str()).collect();
        assert_eq!(codes, ["１", "２", "３", "４", "５", "６", "７"], "{p}: boxes of {field}");
        let counts: Vec<usize> = boxes.iter().map(|b| children(state, p, Some(&b.id)).len()).collect();
        assert_eq!(counts, expected, "{p}: items per box of {field}");
    }
}

/// 1. 基本方針 → (1) 区政が目指すべき方向性, (2) 計画の理念 → ①–⑥; 2. 政策 → (1) 重点政策 → ①–⑥, (2) 分野別政策;
/// 3. 計画推進の指針 → (1)–(7), of which (4) 組織運営の変革 → ①–③.
fn setagaya_tree(state: &State) {
    let p = SETAGAYA;
    assert_eq!(nodes_per_depth(state, p), vec![3, 11, 15], "{p}: nodes per depth");
    let tops: Vec<String> = children(state, p, None).iter().map(|n| n.title.clone()).collect();
    assert_eq!(tops, ["基本方針", "政策", "計画推進の指針"]);
    let kihon = child_by_code(state, p, None, "1.");
    let seisaku = child_by_code(state, p, None, "2.");
    let shishin = child_by_code(state, p, None, "3.");
    assert_eq!(
        codes_and_titles(state, p, Some(&kihon.id)),
        owned(&[("(1)", "区政が目指すべき方向性"), ("(2)", "計画の理念")])
    );
    let rinen = child_by_code(state, p, Some(&kihon.id), "(2)");
    assert_eq!(
        codes_and_titles(state, p, Some(&rinen.id)),
        owned(&[
            ("①", "参加と協働を基盤とする"),
            ("②", "区民の生命と健康を守る"),
            ("③", "子ども・若者を中心に据える"),
            ("④", "多様性を尊重する"),
            ("⑤", "地域・地区の特性を踏まえる"),
            ("⑥", "日常生活と災害対策・環境対策を結びつける"),
        ]),
        "{p}: the 6 計画の理念"
    );
    assert_eq!(codes_and_titles(state, p, Some(&seisaku.id)), owned(&[("(1)", "重点政策"), ("(2)", "分野別政策")]));
    let juten = child_by_code(state, p, Some(&seisaku.id), "(1)");
    assert_eq!(
        codes_and_titles(state, p, Some(&juten.id)),
        owned(&[
            ("①", "子ども・若者が笑顔で過ごせる環境の整備"),
            ("②", "新たな学校教育と生涯を通じた学びの充実"),
            ("③", "多様な人が出会い、支え合い、活動できるコミュニティの醸成"),
            ("④", "誰もが取り残されることなく生き生きと暮らせるための支援の強化"),
            ("⑤", "脱炭素社会の構築と自然との共生"),
            ("⑥", "安全で魅力的な街づくりと産業連携による新たな価値の創出"),
        ]),
        "{p}: the 6 重点政策 (body headings)"
    );
    // The 基本計画体系図 words ④ differently; that wording must not be lost.
    let juten4 = child_by_code(state, p, Some(&juten.id), "④");
    assert!(
        juten4.details.iter().any(|d| d.text == "誰もが取り残されることなく安心して暮らせるための支援の強化"),
        "{p}: the 体系図 wording of 重点政策④"
    );
    assert!(children(state, p, Some(&child_by_code(state, p, Some(&seisaku.id), "(2)").id)).is_empty());
    assert_eq!(
        codes_and_titles(state, p, Some(&shishin.id)),
        owned(&[
            ("(1)", "SDGsの推進"),
            ("(2)", "DXの推進"),
            ("(3)", "緊急時・非常時の体制整備"),
            ("(4)", "組織運営の変革"),
            ("(5)", "情報発信・情報公開"),
            ("(6)", "行政評価"),
            ("(7)", "他自治体や国際社会との協力連携"),
        ]),
        "{p}: the 7 計画推進の指針 (body headings)"
    );
    let shishin3 = child_by_code(state, p, Some(&shishin.id), "(3)");
    assert!(shishin3.details.iter().any(|d| d.text == "緊急時・非常時の体制管理"), "{p}: the 体系図 wording of (3)");
    let henkaku = child_by_code(state, p, Some(&shishin.id), "(4)");
    assert_eq!(
        codes_and_titles(state, p, Some(&henkaku.id)),
        owned(&[("①", "柔軟な組織体制"), ("②", "人材育成・調査研究"), ("③", "働き方改革")])
    );
}

/// 地域と共に育つ，分権型協働都市 → 1–3 → (1)… (6 + 2 + 2) → ①…. The 施策展開 print 50 ① items (30 + 11 + 9), but
/// 1(3)② and 1(3)③ are the measures 3(2)① and 3(2)② re-listed (再掲：I3(2) / 再掲：I1(3)): 48 measures, each one
/// node; the two re-listings are cross-listings under 1(3).
fn niigata_tree(state: &State) {
    let p = NIIGATA;
    assert_eq!(nodes_per_depth(state, p), vec![1, 3, 10, 48], "{p}: nodes per depth");
    let roots = children(state, p, None);
    assert_eq!(roots.len(), 1);
    assert_eq!(roots[0].title, "地域と共に育つ，分権型協働都市");
    let top = &roots[0].id;
    assert_eq!(
        codes_and_titles(state, p, Some(top)),
        owned(&[("1", "市民と共にまちを育てる"), ("2", "個性ある地域づくり"), ("3", "市民と行政との信頼のきずな")])
    );
    // (code, title, ① items listed under it) of each (n), per policy.
    type Sesaku = (&'static str, &'static str, usize);
    let sesaku: [(&str, &[Sesaku]); 3] = [
        (
            "1",
            &[
                ("(1)", "地域と行政の協働の推進", 7),
                ("(2)", "NPO、企業などとの協働の推進", 5),
                ("(3)", "市民参加・参画・協働の推進", 5),
                ("(4)", "人権尊重・男女共同参画の社会づくり", 6),
                ("(5)", "地域活動の拠点づくり", 5),
                ("(6)", "ユニバーサルデザインの推進", 2),
            ],
        ),
        ("2", &[("(1)", "地域の特性を活かした地域によるまちづくり", 5), ("(2)", "地域文化の振興と発信", 6)]),
        ("3", &[("(1)", "行政経営品質の向上", 7), ("(2)", "開かれた市政", 2)]),
    ];
    let mut listed_total = 0;
    for (policy, expected) in sesaku {
        let pol = child_by_code(state, p, Some(top), policy);
        let got: Vec<(String, String)> = codes_and_titles(state, p, Some(&pol.id));
        let want: Vec<(String, String)> = expected.iter().map(|(c, t, _)| (c.to_string(), t.to_string())).collect();
        assert_eq!(got, want, "{p}: (n) of {policy}");
        for (code, title, listed) in expected {
            let s = child_by_code(state, p, Some(&pol.id), code);
            let placed = children(state, p, Some(&s.id)).len();
            let cross_listed = live_nodes(state, p).iter().filter(|n| n.cross_listed_under.contains(&s.id)).count();
            assert_eq!(placed + cross_listed, *listed, "{p}: ① items listed under {policy}{code} {title}");
            listed_total += placed + cross_listed;
        }
    }
    assert_eq!(listed_total, 50, "{p}: ① items printed");
}

// ───────────────────────────── 5. 新潟市: 再掲 ─────────────────────────────

/// One item of 新潟市総合計画 marked as a re-listing: where it is printed, whether its 施策体系 entry carries （再）,
/// and the 再掲 reference printed after its heading.
struct Saikei {
    policy: &'static str,
    sesaku: &'static str,
    code: &'static str,
    title: &'static str,
    /// Marked （再） in the 施策体系 list (the list of 3 is missing from the document).
    in_list: bool,
    reference: &'static str,
    /// The (n) of this part the reference names (「I1(3)」, 「I3(2)」); `None` for another part (Ⅱ–Ⅴ).
    here: Option<(&'static str, &'static str)>,
}

const fn saikei(
    policy: &'static str,
    sesaku: &'static str,
    code: &'static str,
    title: &'static str,
    in_list: bool,
    reference: &'static str,
    here: Option<(&'static str, &'static str)>,
) -> Saikei {
    Saikei { policy, sesaku, code, title, in_list, reference, here }
}

const NIIGATA_SAIKEI: [Saikei; 27] = [
    saikei("1", "(1)", "④", "災害予防対策の充実", true, "Ⅳ1(4)防災体制の強化", None),
    saikei("1", "(1)", "⑤", "地域保健福祉活動の推進", true, "Ⅳ8(1)地域で助け合い支え合う保健福祉活動の推進", None),
    saikei("1", "(1)", "⑥", "地域社会で支える子育ての推進", true, "Ⅳ4(3)子育て支援の充実と連携", None),
    saikei("1", "(1)", "⑦", "保護者や地域と連携した安全対策の推進", true, "Ⅳ1(1)、Ⅴ1(1)", None),
    saikei("1", "(2)", "③", "市民協働による緑化の推進", true, "IV9(2) 緑のまち並みづくり", None),
    saikei("1", "(2)", "④", "市民協働による道路維持管理の推進", true, "IV10(1) 身近で快適な交通の確保", None),
    saikei("1", "(2)", "⑤", "市民との協働の環境づくり", true, "II4(5) 協働と学習で拓く環境未来", None),
    saikei("1", "(3)", "②", "広報・広聴の充実", true, "I3(2) 開かれた市政", Some(("3", "(2)"))),
    saikei("1", "(3)", "③", "情報公開・個人情報保護施策の充実", true, "I3(2) 開かれた市政", Some(("3", "(2)"))),
    saikei("1", "(3)", "④", "防犯ボランティア活動等の支援", true, "Ⅳ1(1)犯罪の防止", None),
    saikei("1", "(3)", "⑤", "市民と協働による救命率の向上", true, "Ⅳ3(2)救急体制の強化", None),
    saikei("1", "(4)", "①", "人権教育・啓発の推進", true, "Ⅴ3(2)共生社会の推進", None),
    saikei("1", "(4)", "②", "政策方針決定の場への男女共同参画", true, "Ⅲ3(5)産業を担う人材の確保", None),
    saikei("1", "(4)", "③", "家庭生活と社会生活の両立支援", true, "Ⅲ3(5)、Ⅳ4(3)", None),
    saikei("1", "(5)", "③", "地域と共に歩む学校づくりの推進", true, "V1(1)学・社・民の融合の推進", None),
    saikei("1", "(5)", "④", "公民館・図書館を核としたネットワークづくり", true, "V4(1)学習環境の整備", None),
    saikei("1", "(5)", "⑤", "市民の生涯学習施設運営への参画", true, "V1(1)学・社・民の融合の推進", None),
    saikei("2", "(1)", "④", "「にいがた地元学」の推進", true, "Ⅲ1(5)魅力の掘り起こし・整備", None),
    saikei("2", "(1)", "⑤", "地域における生涯学習活動への支援", true, "V1(1)、V3(1)", None),
    saikei("2", "(2)", "①", "優れた芸術文化に触れる機会の提供", true, "Ⅲ1(5), V5(1)", None),
    saikei("2", "(2)", "②", "文化活動の活性化", true, "V5(2)市民の文化活動の振興", None),
    saikei("2", "(2)", "③", "文化を担う人材・団体の育成", true, "V5(2)市民の文化活動の振興", None),
    saikei("2", "(2)", "④", "文化財の保護と活用", true, "V5(3)歴史・文化遺産の継承と発信", None),
    saikei("2", "(2)", "⑤", "歴史的資料の保存と活用", true, "V5(3)歴史・文化遺産の継承と発信", None),
    saikei("2", "(2)", "⑥", "新潟市の歴史を発信・紹介", true, "V5(3)歴史・文化遺産の継承と発信", None),
    saikei("3", "(2)", "①", "広報・広聴の充実", false, "I1(3)市民参加・参画・協働の推進", Some(("1", "(3)"))),
    saikei(
        "3",
        "(2)",
        "②",
        "情報公開・個人情報保護施策の充実",
        false,
        "I1(3)市民参加・参画・協働の推進",
        Some(("1", "(3)")),
    ),
];

#[test]
fn niigata_every_saikei_resolves_or_is_recorded() {
    let state = seeds();
    let p = NIIGATA;
    let plan = pid(p);
    let top = &children(state, p, None)[0].id;
    let sesaku = |policy: &str, code: &str| {
        let pol = child_by_code(state, p, Some(top), policy);
        child_by_code(state, p, Some(&pol.id), code).id.clone()
    };

    // The document's marks: （再） in the 施策体系 lists and 再掲：… after every marked heading.
    let marks = NIIGATA_SAIKEI.iter().filter(|s| s.in_list).count() + NIIGATA_SAIKEI.len();
    assert_eq!(marks, 52, "25 （再） + 27 再掲");

    let mut marked: BTreeSet<NodeId> = BTreeSet::new();
    for s in &NIIGATA_SAIKEI {
        let what = format!("{}{}{} {}", s.policy, s.sesaku, s.code, s.title);
        let printed_at = sesaku(s.policy, s.sesaku);
        // The item is a child of the (n) it is printed under, or a node cross-listed under that (n).
        let placed: Vec<&Node> = children(state, p, Some(&printed_at))
            .into_iter()
            .filter(|n| n.code == s.code && n.title == s.title)
            .collect();
        let found: Vec<&Node> = if placed.is_empty() {
            live_nodes(state, p)
                .into_iter()
                .filter(|n| n.title == s.title && n.cross_listed_under.contains(&printed_at))
                .collect()
        } else {
            placed
        };
        assert_eq!(found.len(), 1, "{p}: {what} is printed under {printed_at} and must be found there");
        let n = found[0];
        assert!(
            !n.title.contains("（再）") && !n.title.contains("再掲"),
            "{p}: {what}: the mark is not part of the title"
        );
        match s.here {
            Some((policy, code)) => {
                // Re-listed inside this part: a cross-listing that resolves to a live node of this plan, and the
                // item sits under or is cross-listed under the (n) the reference names.
                assert!(!n.cross_listed_under.is_empty(), "{p}: {what}: 再掲 within the part is a cross-listing");
                for under in &n.cross_listed_under {
                    let u = state.nodes.get(under).unwrap_or_else(|| panic!("{p}: {what}: {under} is not a node"));
                    assert!(!u.retired && u.plan == plan, "{p}: {what}: {under} is not a live node of the plan");
                }
                let named = sesaku(policy, code);
                assert!(
                    n.parent.as_ref() == Some(&named) || n.cross_listed_under.contains(&named),
                    "{p}: {what}: {} names {named}",
                    s.reference
                );
            }
            None => {
                assert_eq!(n.cross_reference.as_deref(), Some(s.reference), "{p}: {what}: reference as printed");
            }
        }
        marked.insert(n.id.clone());
    }
    // 27 marked entries, 25 nodes: 1(3)②③ and 3(2)①② are the same two measures.
    assert_eq!(marked.len(), 25, "{p}: distinct measures marked 再掲");

    // No other node of the plan carries a 再掲.
    let with_saikei: BTreeSet<NodeId> = live_nodes(state, p)
        .into_iter()
        .filter(|n| n.cross_reference.is_some() || !n.cross_listed_under.is_empty())
        .map(|n| n.id.clone())
        .collect();
    assert_eq!(with_saikei, marked, "{p}: nodes with a 再掲");
    assert!(live_nodes(state, p).iter().all(|n| !n.title.contains("（再）") && !n.title.contains("再掲")));
}

// ───────────────────────────── 6. 目黒区: 検討シート → 基本計画 ─────────────────────────────

#[test]
fn meguro_sheet_is_the_earlier_stage() {
    let state = seeds();
    let kihon = &state.plans[&pid(MEGURO_2022)];
    let kento = &state.plans[&pid(MEGURO_2019)];
    assert_eq!(kihon.predecessor, Some(pid(MEGURO_2019)));
    assert_eq!(kihon.status, PlanStatus::Adopted);
    assert_eq!(kento.status, PlanStatus::Superseded);
    assert_eq!(kento.predecessor, None);
    for plan in [kihon, kento] {
        assert_eq!(plan.municipality.name, "目黒区");
        assert_eq!(plan.municipality.code.as_string(), "131105");
    }

    let indicators: Vec<_> = state.indicators.values().filter(|i| i.plan == kento.id && !i.retired).collect();
    let find = |pred: &dyn Fn(&planledger::core::domain::state::Indicator) -> bool, what: &str| {
        let found: Vec<_> = indicators.iter().filter(|i| pred(i)).collect();
        assert_eq!(found.len(), 1, "{MEGURO_2019}: one indicator for {what}, found {}", found.len());
        *found[0]
    };
    let actuals = |i: &planledger::core::domain::state::Indicator| -> Vec<(u16, String)> {
        i.actuals.iter().map(|(y, a)| (y.year(), a.value.grouped())).collect()
    };

    // 町会・自治会への加入率の推移  昭和44年 79.5％ ⇒ 平成29年 47.7％
    let kanyu = find(&|i| i.name == "町会・自治会への加入率", "町会・自治会への加入率");
    assert_eq!(kanyu.unit, "%");
    assert_eq!(actuals(kanyu), [(1969, "79.5".to_string()), (2017, "47.7".to_string())]);

    // 集会施設 … 重点プロジェクト指標（70％）に達していない … （平成29年度平均利用率57.57％）
    let shukai = find(&|i| i.name.contains("集会施設") && i.name.contains("利用率"), "集会施設の平均利用率");
    assert_eq!(shukai.unit, "%");
    assert_eq!(actuals(shukai), [(2017, "57.57".to_string())]);
    assert!(shukai.note.contains("70"), "the 70% 重点プロジェクト指標 is kept: {:?}", shukai.note);

    // 図表4：イントラネット用パソコンの配置  ２８年度 １，９７９台 ２，６１０人 / ２９年度 ２，０００台 ２，７６８人 /
    // ３０年度 ２，０５８台 ２，９５５人
    let pcs = find(&|i| i.name.contains("イントラネット") && i.unit == "台", "イントラネット用パソコンの配置台数");
    let users = find(&|i| i.name.contains("イントラネット") && i.unit == "人", "イントラネット用パソコンのユーザー数");
    let series =
        |v: [&str; 3]| -> Vec<(u16, String)> { (2016..=2018).zip(v).map(|(y, s)| (y, s.to_string())).collect() };
    assert_eq!(actuals(pcs), series(["1,979", "2,000", "2,058"]));
    assert_eq!(actuals(users), series(["2,610", "2,768", "2,955"]));
}

// ───────────────────────────── 7. 世田谷区: a draft ─────────────────────────────

#[test]
fn setagaya_is_a_draft() {
    let state = seeds();
    let plan = &state.plans[&pid(SETAGAYA)];
    assert_eq!(plan.status, PlanStatus::Draft, "「（案）」, 「3月1日時点」");
    assert!(plan.title.ends_with("（案）"), "{}", plan.title);
    // 「令和6年度を初年度とする向こう8ヵ年の基本計画」: 令和6年度 (FY2024) … 令和13年度 (FY2031).
    let period = plan.period.expect("a period");
    assert_eq!((period.from.year(), period.to.year()), (2024, 2031));
    assert_eq!(period.years().count(), 8);
    assert_eq!(plan.municipality.name, "世田谷区");
    assert_eq!(plan.municipality.code.as_string(), "131121");
}

// ───────────────────────────── 8. history ─────────────────────────────

#[test]
fn history_of_a_shinagawa_kpi_names_the_transcription() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = Ledger::open(dir.path()).expect("open");
    ledger.import_blocking(all_seed_lines()).expect("import");
    let id = {
        let published = ledger.read();
        let found: Vec<_> = published
            .state
            .indicators
            .values()
            .filter(|i| i.plan == pid(SHINAGAWA) && i.name == "タウンミーティング開催回数")
            .map(|i| i.id.clone())
            .collect();
        assert_eq!(found.len(), 1);
        found[0].clone()
    };
    let records = ledger.records_for(&crate::support::entity(&format!("indicator:{id}"))).expect("records");
    let entries = history(&records);
    ledger.close();

    let events: Vec<&str> = entries.iter().map(|e| e.source.event).collect();
    assert_eq!(events, ["IndicatorDefined", "TargetSet", "TargetSet", "TargetSet"]);
    for e in entries.iter().map(|e| &e.source) {
        assert_eq!(e.actor.id, "transcription", "seq {}", e.seq);
        let authority = e.authority.as_deref().unwrap_or_default();
        assert!(authority.contains("品川区総合実施計画"), "seq {}: authority {authority:?}", e.seq);
        // 発行 平成28年4月; the plan's first year, 平成28年度, starts on 1 April 2016.
        assert_eq!(e.effective.to_string(), "2016-04-01", "seq {}", e.seq);
    }
    assert!(
        entries[0].changes.iter().any(|c| c.new.as_deref() == Some("タウンミーティング開催回数")),
        "{:?}",
        entries[0].changes
    );
    // 【タウンミーティング開催回数】 2回 2回 2回, one TargetSet per 年度.
    for e in &entries[1..] {
        let news: Vec<&str> = e.changes.iter().filter_map(|c| c.new.as_deref()).collect();
        assert_eq!(news, ["2回"], "seq {}: {:?}", e.source.seq, e.changes);
    }
    let years: Vec<String> = entries[1..].iter().flat_map(|e| e.changes.iter().map(|c| c.what.clone())).collect();
    assert_eq!(years.len(), 3);
    for (what, year) in years.iter().zip(["2016", "2017", "2018"]) {
        assert!(what.contains(year), "{what} names FY{year}");
    }
}

/// Reads and parses a plan table file, as the command line does.
fn load(path: &std::path::Path) -> Result<PlanTable, TableErrors> {
    parse(&path.display().to_string(), &std::fs::read_to_string(path).unwrap())
}
