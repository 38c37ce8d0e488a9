//! 新潟市's 再掲, 目黒区's 検討シート → 基本計画, 世田谷区's draft, and the seeds' history.

use std::collections::BTreeSet;

use planledger::core::domain::NodeId;
use planledger::core::domain::model::PlanStatus;
use planledger::core::domain::state::Node;
use planledger::core::projection::history;

use super::*;

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
