//! 品川区総合実施計画（第4次）, chapter 6: the 20 KPIs as the document prints them.

use std::collections::BTreeSet;

use planledger::core::domain::value::{Comparator, Target};
use planledger::core::projection::view::target_with_unit;

use super::*;

// ───────────────────────────── 3. 品川区: the 20 KPIs ─────────────────────────────

/// One KPI 【…】 of 品川区総合実施計画（第4次）, chapter 6, as the document prints it.
pub(super) struct Kpi {
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

pub(super) const KOHO: &[&str] = &["広報広聴課"];
pub(super) const KIKAKU: &[&str] = &["企画調整課"];
pub(super) const JOHO: &[&str] = &["情報推進課"];

pub(super) const SHINAGAWA_KPIS: [Kpi; 20] = [
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
pub(super) fn shinagawa_every_kpi_as_printed() {
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
