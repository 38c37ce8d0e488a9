//! The tree shape of each seed plan: levels, codes and titles as the documents print them.

use std::collections::BTreeMap;

use planledger::core::domain::State;
use planledger::core::projection::NodeView;

use super::kpis::*;
use super::*;

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
