//! The portal without a browser: pages rendered from the seed ledger with a fixed "today" and held to insta
//! snapshots; the banner's three cases; HTML error pages; accessibility structure of every page kind; the CSV and
//! JSON downloads parsed back; Atom feeds parsed; a target revision followed from the indicator page to its
//! permalink and the compare page.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::NaiveDate;
use planledger::store::ledger::Ledger;
use planledger::web::portal::{downloads as data, pages};
use tower::ServiceExt;

use crate::http::seeded;
use crate::support::{meta, set_target};

pub const SHINAGAWA: &str = "shinagawa-jisshi-4";
pub const KPI: &str = "shinagawa-jisshi-4.6-1-1-2-r3.kpi1";
const SETAGAYA: &str = "setagaya-taiko-an";
const MEGURO_OLD: &str = "meguro-kento-2019";

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
}

fn q(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Appends a revision of the KPI's 2018 target (65%以上 → 70%以上) with its reason; returns its seq.
/// The seed ledger plus one target revision (`revise_target`), whose seq is returned.
async fn seeded_and_revised(dir: &std::path::Path) -> (Ledger, u64) {
    let ledger = seeded(dir).await;
    let l = ledger.clone();
    let seq = tokio::task::spawn_blocking(move || revise_target(&l)).await.unwrap();
    (ledger, seq)
}

pub fn revise_target(ledger: &Ledger) -> u64 {
    let mut req = crate::support::req(vec![set_target(KPI, "2018", "70以上")]);
    req.meta = meta(Some("中間見直しによる上方修正"));
    req.meta.authority = Some("令和元年度 庁議決定".into());
    let a = ledger.append_blocking(req).unwrap();
    a.events[0].seq.0
}

struct Answer {
    status: StatusCode,
    content_type: String,
    disposition: String,
    body: String,
}

async fn get(app: &Router, uri: &str) -> Answer {
    let res = app.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let h = |n: header::HeaderName| res.headers().get(n).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let (status, content_type, disposition) = (res.status(), h(header::CONTENT_TYPE), h(header::CONTENT_DISPOSITION));
    let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
    Answer { status, content_type, disposition, body: String::from_utf8(body.to_vec()).unwrap() }
}

async fn page(app: &Router, uri: &str) -> String {
    let a = get(app, uri).await;
    assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.body);
    assert_eq!(a.content_type, "text/html; charset=utf-8", "{uri}");
    accessible(uri, &a.body);
    a.body
}

/// The structural accessibility rules every page keeps: language, viewport, skip link, one h1, headings that never
/// skip a level, and tables with a caption and scoped header cells.
pub fn accessible(uri: &str, html: &str) {
    assert!(html.starts_with("<!DOCTYPE html><html lang=\"ja\">"), "{uri}: lang");
    assert!(html.contains("name=\"viewport\""), "{uri}: viewport");
    assert!(html.contains("<a class=\"skip\" href=\"#main\">"), "{uri}: skip link");
    assert!(html.contains("<main id=\"main\">"), "{uri}: main landmark");
    let mut levels = Vec::new();
    let b = html.as_bytes();
    for i in 0..b.len().saturating_sub(3) {
        if b[i] == b'<' && b[i + 1] == b'h' && (b'1'..=b'6').contains(&b[i + 2]) && matches!(b[i + 3], b'>' | b' ') {
            levels.push(b[i + 2] - b'0');
        }
    }
    assert_eq!(levels.iter().filter(|l| **l == 1).count(), 1, "{uri}: one h1");
    assert_eq!(levels.first(), Some(&1), "{uri}: the h1 comes first");
    for w in levels.windows(2) {
        assert!(w[1] <= w[0] + 1, "{uri}: heading level jumps from h{} to h{}", w[0], w[1]);
    }
    let tables = html.matches("<table>").count();
    assert_eq!(tables, html.matches("<caption>").count(), "{uri}: every table has a caption");
    assert!(tables == 0 || html.contains("<th scope=\"col\">"), "{uri}: header cells");
    assert_eq!(html.matches("<th>").count(), 0, "{uri}: every header cell has a scope");
    assert!(!html.contains("<img") || html.contains("alt="), "{uri}: images have text");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_the_seed_ledger_match_their_golden_files() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = seeded(dir.path()).await;
    let l = ledger.clone();
    let pages = tokio::task::spawn_blocking(move || {
        let none = q(&[]);
        vec![
            ("index", pages::index(&l, &none, today()).unwrap()),
            ("plan_draft", pages::plan(&l, SETAGAYA, &none, today()).unwrap()),
            ("plan_superseded_past", pages::plan(&l, MEGURO_OLD, &q(&[("at", "300")]), today()).unwrap()),
            ("indicator", pages::indicator(&l, KPI, &none, today()).unwrap()),
            ("event", pages::event(&l, "5", today()).unwrap()),
            ("changes_setagaya", pages::changes(&l, &q(&[("plan", SETAGAYA)]), today()).unwrap()),
            ("compare", pages::compare(&l, SHINAGAWA, &q(&[("from", "150"), ("to", "now")]), today()).unwrap()),
        ]
    })
    .await
    .unwrap();
    // The pages' golden files live in tests/it/golden: "snapshot" is the name of a published plan document.
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("golden");
    let _golden = settings.bind_to_scope();
    for (name, html) in pages {
        let html = html.into_string();
        accessible(name, &html);
        // One element per line, so that a change to a page reads as a change to a few lines.
        insta::assert_snapshot!(name, html.replace("><", ">\n<"));
    }
    ledger.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_banner_says_current_past_or_prospective_and_draft_or_superseded() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = seeded(dir.path()).await;
    let l = ledger.clone();
    let render =
        move |plan: &str, pairs: &[(&str, &str)]| pages::plan(&l, plan, &q(pairs), today()).unwrap().into_string();
    let current = render(SHINAGAWA, &[]);
    assert!(current.contains("banner banner-ended") && current.contains("計画期間が終了した計画"), "ended");
    assert!(!current.contains("現在の計画<"), "an ended plan is not called the plan in force");
    assert!(current.contains("計画期間 2016年度～2018年度（平成28年度～平成30年度） は終了しています"), "ended");
    assert!(!current.contains("see the current plan"));

    let past = render(SHINAGAWA, &[("at", "150")]);
    assert!(past.contains("banner banner-past") && past.contains("this is NOT the current plan"));
    assert!(past.contains("seq 150 の直後の記録"));
    assert!(past.contains("<a href=\"/plans/shinagawa-jisshi-4\">現在の計画を見る"), "links to the current plan");
    assert!(past.contains("/indicators/shinagawa-jisshi-4.6-1-1-2-r3.kpi1?at=150"), "links keep the point");

    let prospective = render(SHINAGAWA, &[("effective", "2030-04-01")]);
    assert!(prospective.contains("banner banner-prospective") && prospective.contains("将来の時点の表示"));

    // A plan adopted in December for the fiscal year that begins in April.
    let mut req = crate::support::req(vec![crate::support::create_plan("trial")]);
    req.meta.effective = NaiveDate::from_ymd_opt(2015, 12, 1);
    tokio::task::block_in_place(|| ledger.append_blocking(req)).unwrap();
    let early = render("trial", &[("effective", "2016-01-15")]);
    assert!(early.contains("banner banner-past"));
    assert!(early.contains("まだ始まっていません（prospective: not yet in force）"), "adopted, period not begun");

    let draft = render(SETAGAYA, &[]);
    assert!(draft.contains("この計画は案（draft）です"));
    assert!(draft.contains("banner banner-draft") && draft.contains("計画案（策定前）"));
    let superseded = render(MEGURO_OLD, &[]);
    assert!(superseded.contains("改定により失効しています（superseded）"));
    assert!(superseded.contains("banner banner-ended") && superseded.contains("失効した計画"));
    for (name, html) in [("draft", &draft), ("superseded", &superseded)] {
        assert!(!html.contains("banner-current") && !html.contains("現在の計画<"), "{name}: never the in-force banner");
    }
    let in_force = render("meguro-kihon-2022", &[]);
    assert!(in_force.contains("banner banner-current") && in_force.contains("現在の計画<"), "in force");

    let versions = ledger.read().state.plans.values().find(|p| p.id.as_str() == SHINAGAWA).unwrap().versions.clone();
    let (name, seq) = versions.iter().next().unwrap();
    let named = render(SHINAGAWA, &[("version", name)]);
    assert!(named.contains(&format!("版「{name}」（seq {seq}")), "a version is named in the banner");
    ledger.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_answers_an_html_page_naming_the_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = seeded(dir.path()).await;
    let app = planledger::web::app(ledger.clone());
    let p = format!("/plans/{SHINAGAWA}");
    for (uri, status, field) in [
        (format!("{p}?at=abc"), StatusCode::BAD_REQUEST, "at"),
        (format!("{p}?as_of=yesterday"), StatusCode::BAD_REQUEST, "as_of"),
        (format!("{p}?effective=someday"), StatusCode::BAD_REQUEST, "effective"),
        (format!("{p}?version=nope"), StatusCode::NOT_FOUND, "version"),
        (format!("{p}?at=1&version=x"), StatusCode::BAD_REQUEST, "at,version"),
        ("/plans/niigata-sogo?at=3".to_string(), StatusCode::NOT_FOUND, "at"),
        (format!("{p}/compare?from=1"), StatusCode::BAD_REQUEST, "to"),
        (format!("{p}/compare?from=as-of:x&to=now"), StatusCode::BAD_REQUEST, "from"),
        (format!("{p}/download.csv?at=x"), StatusCode::BAD_REQUEST, "at"),
        (format!("{p}?at=9999"), StatusCode::BAD_REQUEST, "at"),
        (format!("{p}/download.csv?at=9999"), StatusCode::BAD_REQUEST, "at"),
        ("/?at=9999".to_string(), StatusCode::BAD_REQUEST, "at"),
        ("/changes?at=9999".to_string(), StatusCode::BAD_REQUEST, "at"),
        (format!("/indicators/{KPI}?at=9999"), StatusCode::BAD_REQUEST, "at"),
        (format!("{p}/compare?from=seq:9999&to=now"), StatusCode::BAD_REQUEST, "from"),
        (format!("{p}/compare?from=0&to=9999"), StatusCode::BAD_REQUEST, "to"),
        (format!("{p}/compare?from=0&to=nonsense"), StatusCode::NOT_FOUND, "to"),
        ("/plans/no-such-plan".to_string(), StatusCode::NOT_FOUND, "plan"),
        ("/indicators/nope".to_string(), StatusCode::NOT_FOUND, "id"),
        ("/nodes/nope".to_string(), StatusCode::NOT_FOUND, "id"),
        ("/events/x".to_string(), StatusCode::BAD_REQUEST, "seq"),
        ("/events/99999".to_string(), StatusCode::NOT_FOUND, "seq"),
        ("/changes?department=%E3%81%AA%E3%81%84".to_string(), StatusCode::NOT_FOUND, "department"),
        (format!("/changes?indicator={SHINAGAWA}"), StatusCode::NOT_FOUND, "indicator"),
        ("/feeds/plans/nope".to_string(), StatusCode::NOT_FOUND, "plan"),
        ("/no/such/page".to_string(), StatusCode::NOT_FOUND, "path"),
    ] {
        let a = get(&app, &uri).await;
        assert_eq!(a.status, status, "{uri}: {}", a.body);
        assert_eq!(a.content_type, "text/html; charset=utf-8", "{uri}");
        assert!(a.body.contains(&format!("パラメータ parameter: <code>{field}</code>")), "{uri}: {}", a.body);
        accessible(&uri, &a.body);
    }
    // The refusal says what the ledger holds instead.
    let a = get(&app, &format!("{p}?at=9999")).await;
    let len = ledger.read().head.len;
    assert!(a.body.contains(&format!("seq 9999 is not in the ledger: it holds {len} events (seqs 0 to {})", len - 1)));
    let api = get(&app, &format!("/api/plans/{SHINAGAWA}?at=9999")).await;
    assert_eq!(api.status, StatusCode::BAD_REQUEST, "the API refuses it too");
    assert!(api.body.contains("\"field\":\"at\""), "{}", api.body);
    // The API keeps its problem documents.
    let api = get(&app, "/api/nothing-here").await;
    assert_eq!((api.status, api.content_type.as_str()), (StatusCode::NOT_FOUND, "application/problem+json"));
    ledger.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_kind_keeps_the_accessibility_structure() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, seq) = seeded_and_revised(dir.path()).await;
    let app = planledger::web::app(ledger.clone());
    let node = ledger.read().state.indicators.values().find(|i| i.id.as_str() == KPI).unwrap().node.to_string();
    for uri in [
        "/".to_string(),
        format!("/plans/{SHINAGAWA}"),
        format!("/plans/{SHINAGAWA}?version=%E5%93%81"),
        format!("/plans/{SETAGAYA}?effective=2030"),
        format!("/plans/{SHINAGAWA}/compare"),
        format!("/plans/{SHINAGAWA}/compare?from={}&to={seq}", seq - 1),
        format!("/indicators/{KPI}"),
        format!("/indicators/{KPI}?at={}", seq - 1),
        format!("/nodes/{node}"),
        "/changes".to_string(),
        format!("/changes?department={}", planledger::web::portal::enc("情報推進課")),
        format!("/events/{seq}"),
        "/verify".to_string(),
    ] {
        if uri.contains("version=%E5%93%81") {
            // Not a version name: a 404 page, which keeps the structure too.
            let a = get(&app, &uri).await;
            assert_eq!(a.status, StatusCode::NOT_FOUND);
            accessible(&uri, &a.body);
            continue;
        }
        page(&app, &uri).await;
    }
    ledger.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_revision_is_told_on_the_indicator_page_its_permalink_and_the_compare_page() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, seq) = seeded_and_revised(dir.path()).await;
    let app = planledger::web::app(ledger.clone());
    let ind = page(&app, &format!("/indicators/{KPI}")).await;
    assert!(ind.contains("目標値の改定"), "the timeline names the revision");
    assert!(ind.contains("<del>65%以上</del> → <ins>70%以上</ins>"), "old → new");
    assert!(ind.contains("中間見直しによる上方修正") && ind.contains("令和元年度 庁議決定"), "reason and authority");
    assert!(ind.contains(&format!("href=\"/events/{seq}\"")), "permalink");
    assert!(
        ind.contains("role=\"img\" aria-labelledby=\"chart-title chart-desc\""),
        "the chart has a text alternative"
    );
    assert!(ind.contains("stroke-dasharray=\"2 3\""), "the superseded target is drawn");
    assert!(ind.contains("2018年度（平成30年度）の目標を"), "annotated");
    assert!(ind.contains("<caption>グラフと同じデータ"), "and tabled");
    assert!(ind.contains("70%以上"));

    let past = page(&app, &format!("/indicators/{KPI}?at={}", seq - 1)).await;
    assert!(past.contains("banner banner-past"));
    assert!(!past.contains("70%以上"), "the past view shows the target before the revision");

    let ev = page(&app, &format!("/events/{seq}")).await;
    let rec = ledger.records(seq, seq + 1).unwrap().pop().unwrap();
    assert!(ev.contains(&rec.hash().to_string()) && ev.contains(&rec.prev.to_string()), "hash and prev");
    assert!(ev.contains(&format!("/api/proof/inclusion?seq={seq}")), "inclusion proof");
    assert!(ev.contains("<del>65%以上</del>") && ev.contains("<ins>70%以上</ins>"));

    let cmp = page(&app, &format!("/plans/{SHINAGAWA}/compare?from={}&to={seq}", seq - 1)).await;
    assert!(cmp.contains("違い differences（1 件）"), "exactly the revision differs");
    assert!(cmp.contains(&format!("<a href=\"/events/{seq}\">seq {seq}</a>")), "with its cause");
    assert!(cmp.contains("変更 changed"), "marked in words, not colour alone");

    let changes = page(&app, &format!("/changes?indicator={KPI}")).await;
    assert!(changes.contains(&format!("<a href=\"/events/{seq}\">{seq}</a>")));
    ledger.close();
}

/// Checks a CSV download: BOM, header, municipality code first, Western years, blank distinct from 0; returns the
/// rows after the header.
pub fn check_csv(text: &str, code: &str) -> Vec<csv::StringRecord> {
    let body = text.strip_prefix('\u{feff}').expect("the CSV starts with a BOM, as the page states");
    let mut r = csv::ReaderBuilder::new().has_headers(true).from_reader(body.as_bytes());
    let headers = r.headers().unwrap().clone();
    assert_eq!(headers.iter().collect::<Vec<_>>(), data::COLUMNS.to_vec());
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert!(!rows.is_empty());
    for row in &rows {
        assert_eq!(&row[0], code, "municipality code first");
        assert!(row[7].is_empty() || !row[5].is_empty(), "項目番号 filled on indicator rows: {row:?}");
        if &row[10] == "項目" {
            assert!(row[7].is_empty() && row[9].is_empty() && row[11].is_empty(), "a structure row: {row:?}");
            continue;
        }
        assert_eq!(row[9].len(), 4, "Western fiscal year: {:?}", &row[9]);
        assert!(row[9].parse::<u16>().unwrap() >= 1868, "not an era year");
        assert!(["目標", "実績", "基準値"].contains(&&row[10]));
        let kind = &row[14];
        match &row[10] {
            "目標" => assert!(data::TARGET_KINDS.contains(&kind), "目標区分: {kind:?}"),
            _ => assert!(kind.is_empty(), "目標区分 only on target rows"),
        }
        if &row[10] == "目標" {
            assert_eq!(kind == "数値", !row[11].is_empty(), "a value exactly when the kind is 数値: {row:?}");
        }
        if !row[11].is_empty() {
            assert!(row[11].parse::<rust_decimal::Decimal>().is_ok(), "an exact number: {:?}", &row[11]);
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_parse_back_at_any_point() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, seq) = seeded_and_revised(dir.path()).await;
    let app = planledger::web::app(ledger.clone());
    let now = get(&app, &format!("/plans/{SHINAGAWA}/download.csv")).await;
    assert_eq!(now.content_type, "text/csv; charset=utf-8");
    assert_eq!(now.disposition, format!("attachment; filename=\"{SHINAGAWA}.csv\""));
    let rows = check_csv(&now.body, "131091");
    let kpi = |rows: &[csv::StringRecord], year: &str, kind: &str| {
        rows.iter()
            .find(|r| &r[7] == KPI && &r[9] == year && &r[10] == kind)
            .map(|r| (r[11].to_string(), r[13].to_string()))
    };
    assert_eq!(kpi(&rows, "2018", "目標"), Some(("70".into(), "以上".into())));
    assert_eq!(kpi(&rows, "2017", "目標"), Some((String::new(), String::new())), "no target: blank, not 0");
    let kind =
        |year: &str| rows.iter().find(|r| &r[7] == KPI && &r[9] == year && &r[10] == "目標").unwrap()[14].to_string();
    assert_eq!(kind("2017"), "なし", "the plan prints 「—」 for 2017");
    assert_eq!(kind("2018"), "数値");
    let row = rows.iter().find(|r| &r[7] == KPI).unwrap();
    assert_eq!(&row[5], "②", "the row carries its nearest printed number (the 事業 ② above it)");
    assert_eq!(kpi(&rows, "2016", "実績"), Some((String::new(), String::new())), "no actual reported: blank");
    assert!(rows.iter().all(|r| &r[12] == "%" || &r[7] != KPI), "the unit in its own column");
    assert_eq!(&rows[0][15], &format!("at={seq}"));

    let before = get(&app, &format!("/plans/{SHINAGAWA}/download.csv?at={}", seq - 1)).await;
    let rows = check_csv(&before.body, "131091");
    assert_eq!(kpi(&rows, "2018", "目標"), Some(("65".into(), "以上".into())), "the past point's target");
    assert_eq!(&rows[0][15], &format!("at={}", seq - 1));
    // Plans without figures export their structure: one 項目 row per item.
    for plan in [SETAGAYA, "niigata-sogo", "meguro-kihon-2022"] {
        let a = get(&app, &format!("/plans/{plan}/download.csv")).await;
        let rows = check_csv(
            &a.body,
            if plan == SETAGAYA {
                "131121"
            } else if plan == "niigata-sogo" {
                "151009"
            } else {
                "131105"
            },
        );
        assert!(rows.iter().filter(|r| &r[10] == "項目").count() > 5, "{plan}: its structure");
    }

    // Actuals reported in the seed (目黒区): values kept exactly as recorded.
    let meguro = get(&app, &format!("/plans/{MEGURO_OLD}/download.csv")).await;
    let rows = check_csv(&meguro.body, "131105");
    assert!(rows.iter().any(|r| &r[10] == "実績" && !r[11].is_empty()), "actuals present");

    let json = get(&app, &format!("/plans/{SHINAGAWA}/download.json?version=x")).await;
    assert_eq!(json.status, StatusCode::NOT_FOUND);
    let json = get(&app, &format!("/plans/{SHINAGAWA}/download.json?at={}", seq - 1)).await;
    let v: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    let api = get(&app, &format!("/api/plans/{SHINAGAWA}?at={}", seq - 1)).await;
    assert_eq!(v["plan"], serde_json::from_str::<serde_json::Value>(&api.body).unwrap(), "the API's view");
    assert_eq!(v["point"], format!("at={}", seq - 1));
    ledger.close();
}

/// Parses an Atom feed and checks what readers rely on; returns the entries' (id, link path).
pub fn check_atom(xml: &str) -> Vec<(String, String)> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    let feed = doc.root_element();
    const ATOM: &str = "http://www.w3.org/2005/Atom";
    assert_eq!((feed.tag_name().namespace(), feed.tag_name().name()), (Some(ATOM), "feed"));
    fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
        n.children().find(|c| c.has_tag_name((ATOM, name)))
    }
    let text = |n: roxmltree::Node<'_, '_>, name: &str| child(n, name).and_then(|c| c.text()).unwrap_or("").to_string();
    assert!(!text(feed, "id").is_empty() && !text(feed, "title").is_empty());
    chrono::DateTime::parse_from_rfc3339(&text(feed, "updated")).unwrap();
    assert!(feed.children().any(|c| c.has_tag_name((ATOM, "link")) && c.attribute("rel") == Some("self")));
    feed.children()
        .filter(|c| c.has_tag_name((ATOM, "entry")))
        .map(|e| {
            chrono::DateTime::parse_from_rfc3339(&text(e, "updated")).unwrap();
            assert!(!text(e, "title").is_empty());
            let link = child(e, "link").and_then(|l| l.attribute("href")).unwrap().to_string();
            let path = link.split_once("://").unwrap().1.split_once('/').map(|(_, p)| format!("/{p}")).unwrap();
            (text(e, "id"), path)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atom_feeds_parse_and_link_to_event_permalinks() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, seq) = seeded_and_revised(dir.path()).await;
    let app = planledger::web::app(ledger.clone());
    let plan = get(&app, &format!("/feeds/plans/{SHINAGAWA}")).await;
    assert_eq!(plan.content_type, "application/atom+xml; charset=utf-8");
    let entries = check_atom(&plan.body);
    assert_eq!(entries.len(), pages::CHANGES_LIMIT.min(planledger::web::portal::atom::FEED_LIMIT));
    assert_eq!(entries[0].1, format!("/events/{seq}"), "newest first");
    let ids: std::collections::BTreeSet<_> = entries.iter().map(|e| e.0.clone()).collect();
    assert_eq!(ids.len(), entries.len(), "entry ids are unique");
    assert_eq!(get(&app, &entries[0].1).await.status, StatusCode::OK, "the link is a permalink page");

    let ind = check_atom(&get(&app, &format!("/feeds/indicators/{KPI}")).await.body);
    assert_eq!(ind.first().map(|e| e.1.clone()), Some(format!("/events/{seq}")));
    assert_eq!(ind.len(), ledger.records_for(&crate::support::entity(&format!("indicator:{KPI}"))).unwrap().len());

    let dept = ledger.read().state.nodes.values().find(|n| !n.departments.is_empty()).unwrap().departments[0].clone();
    let d = get(&app, &format!("/feeds/departments/{}", planledger::web::portal::enc(&dept))).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    assert!(!check_atom(&d.body).is_empty());
    ledger.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_list_and_the_changes_travel_in_time_too() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = seeded(dir.path()).await;
    let before = ledger.read().last_recorded.unwrap();
    let seq = tokio::task::spawn_blocking({
        let l = ledger.clone();
        move || revise_target(&l)
    })
    .await
    .unwrap();
    let app = planledger::web::app(ledger.clone());

    let now = page(&app, "/").await;
    assert!(now.contains("banner banner-current"));
    assert_eq!(now.matches("<th scope=\"row\"><a href=\"/plans/").count(), 5);
    // Right after the first plan's last event only that plan existed.
    let early = page(&app, "/?at=200").await;
    assert!(early.contains("banner banner-past") && early.contains("seq 200 の直後"));
    assert_eq!(early.matches("<th scope=\"row\"><a href=\"/plans/").count(), 1);
    assert!(early.contains(&format!("<a href=\"/plans/{SHINAGAWA}?at=200\">")), "links keep the point");
    let later = page(&app, "/?effective=2999-01-01").await;
    assert!(later.contains("banner banner-prospective"));

    let rows = |html: &str| -> Vec<u64> {
        html.split("<th scope=\"row\"><a href=\"/events/")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().parse().unwrap())
            .collect()
    };
    let all = rows(&page(&app, "/changes").await);
    assert_eq!(all.len(), pages::CHANGES_LIMIT);
    assert_eq!(all[0], seq, "newest first");
    assert!(all.windows(2).all(|w| w[0] > w[1]));
    let at = page(&app, "/changes?at=100").await;
    assert!(
        at.contains("banner banner-past") && at.contains("name=\"at\" value=\"100\""),
        "the filter form keeps the point"
    );
    let at = rows(&at);
    assert_eq!((at[0], at.len()), (100, pages::CHANGES_LIMIT));
    let recorded =
        rows(&page(&app, &format!("/changes?as_of={}", planledger::web::portal::enc(&before.to_rfc3339()))).await);
    assert_eq!(recorded[0], seq - 1, "the revision was recorded after that instant");
    let shinagawa = rows(&page(&app, &format!("/changes?plan={SHINAGAWA}&effective=2016-03-31")).await);
    assert!(shinagawa.is_empty(), "nothing of the plan was in force before 2016-04-01");

    for (uri, field) in
        [("/?version=x", "version"), ("/changes?at=1&effective=2017", "at,effective"), ("/?at=-1", "at")]
    {
        let a = get(&app, uri).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(a.body.contains(&format!("パラメータ parameter: <code>{field}</code>")), "{uri}: {}", a.body);
    }
    ledger.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_to_an_item_without_departments_is_filed_under_its_ancestors() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = seeded(dir.path()).await;
    let (parent, dept) = {
        let p = ledger.read();
        let n = p.state.nodes.values().find(|n| !n.departments.is_empty() && !n.retired).unwrap();
        (n.id.clone(), n.departments[0].clone())
    };
    let plan = ledger.read().state.nodes[&parent].plan.to_string();
    let child = format!("{parent}.inherits");
    let l = ledger.clone();
    let (p2, c2) = (parent.to_string(), child.clone());
    tokio::task::spawn_blocking(move || {
        let mut add = crate::support::add_node(&plan, &c2);
        if let planledger::core::domain::Command::AddNode { parent, departments, .. } = &mut add {
            *parent = Some(p2);
            departments.clear();
        }
        let mut r = crate::support::req(vec![add]);
        r.meta.effective = NaiveDate::from_ymd_opt(2024, 4, 1);
        l.append_blocking(r).unwrap();
    })
    .await
    .unwrap();
    let app = planledger::web::app(ledger.clone());
    let all = page(&app, "/changes").await;
    assert!(all.contains(&child), "the new item is among all changes");
    let changes = page(&app, &format!("/changes?department={}", planledger::web::portal::enc(&dept))).await;
    assert!(changes.contains(&child), "the new item answers to its parent's department {dept}");
    ledger.close();
}

/// Text an editor wrote that a spreadsheet would take for a formula comes back from the CSV as text (prefixed with
/// `'`); numbers the ledger formats itself, a negative one too, stay numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_cells_that_look_like_formulas_are_written_as_text() {
    use planledger::core::domain::Command;
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path()).unwrap();
    let l = ledger.clone();
    tokio::task::spawn_blocking(move || {
        let mut node = crate::support::add_node("p", "p.n");
        if let Command::AddNode { title, code, .. } = &mut node {
            *title = "=HYPERLINK(\"http://evil.example/\",\"詳細\")".into();
            *code = "-1".into();
        }
        let mut ind = crate::support::define("p.n.k", "p.n");
        if let Command::DefineIndicator { name, unit, direction, .. } = &mut ind {
            *name = "+SUM(A1:A9)".into();
            *unit = "@件".into();
            *direction = "lower".into();
        }
        let cs = vec![
            crate::support::create_plan("p"),
            node,
            ind,
            set_target("p.n.k", "2017", "-1.5以下"),
            Command::ReportProgress {
                indicator: "p.n.k".into(),
                fiscal_year: "2017".into(),
                value: "-2".into(),
                as_of: None,
                note: String::new(),
            },
        ];
        l.append_blocking(crate::support::req(cs)).unwrap();
    })
    .await
    .unwrap();
    let app = planledger::web::app(ledger.clone());
    let a = get(&app, "/plans/p/download.csv").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let rows = check_csv(&a.body, "131091");
    let target = rows.iter().find(|r| &r[9] == "2017" && &r[10] == "目標").expect("a target row");
    assert_eq!(&target[5], "'-1", "the item number is text");
    assert_eq!(&target[6], "'=HYPERLINK(\"http://evil.example/\",\"詳細\")", "the title is text");
    assert_eq!(&target[8], "'+SUM(A1:A9)", "the indicator's name is text");
    assert_eq!(&target[12], "'@件", "the unit is text");
    assert_eq!((&target[11], &target[13]), ("-1.5", "以下"), "the target stays a number");
    let actual = rows.iter().find(|r| &r[9] == "2017" && &r[10] == "実績").expect("an actual row");
    assert_eq!(&actual[11], "-2", "the actual stays a number");
    assert!(a.body.contains("\r\n") && !a.body.replace("\r\n", "").contains('\n'), "CRLF line ends only");
    ledger.close();
}

/// Every answer, page, download, API document, problem and asset alike, carries the security headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = seeded(dir.path()).await;
    let app = planledger::web::app(ledger.clone());
    for uri in [
        "/",
        &format!("/plans/{SHINAGAWA}"),
        &format!("/plans/{SHINAGAWA}/download.csv"),
        "/changes",
        "/plans/nope",
        "/api/plans",
        "/api/plans/nope",
        "/api/checkpoint",
        "/assets/portal.css",
    ] {
        let res = app.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
        for (name, value) in planledger::web::SECURITY_HEADERS {
            assert_eq!(
                res.headers().get(name).and_then(|v| v.to_str().ok()),
                Some(value),
                "{uri} ({}): {name}",
                res.status()
            );
        }
    }
    ledger.close();
}

/// `compare?from=2018&to=2019` was read as two seqs; a resident means fiscal years, and the page says how it read
/// them and how to ask for the seqs instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_reads_bare_years_as_fiscal_years_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, _) = seeded_and_revised(dir.path()).await;
    let app = planledger::web::app(ledger.clone());
    let html = page(&app, &format!("/plans/{SHINAGAWA}/compare?from=2016&to=2018")).await;
    assert!(html.contains("2016-04-01 に効力を持つ内容"), "from is FY2016's 1 April");
    assert!(html.contains("2018-04-01 に効力を持つ内容"), "to is FY2018's 1 April");
    assert!(html.contains("「2016」は年度として読みました") && html.contains("seq:2016"), "the reading is shown");
    let seqs = page(&app, &format!("/plans/{SHINAGAWA}/compare?from=seq:150&to=now")).await;
    assert!(seqs.contains("seq 150 の直後の記録") && !seqs.contains("年度として読みました"));
    let era =
        page(&app, &format!("/plans/{SHINAGAWA}/compare?from=%E5%B9%B3%E6%88%9028%E5%B9%B4%E5%BA%A6&to=H30")).await;
    assert!(era.contains("2016-04-01 に効力を持つ内容") && era.contains("2018-04-01 に効力を持つ内容"), "era forms");
    ledger.close();
}
