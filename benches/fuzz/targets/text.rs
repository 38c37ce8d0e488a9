//! Targets for the small text parsers: dates and instants (what is accepted must be storable and read back the
//! same), points in time against a seed plan, plan values, targets, fiscal years and 団体コード (each round-trips
//! through its printed and serialized forms), ids, roles, hashes and snapshot file names; and plan tables (a
//! table that checks out builds a ledger that verifies).

use std::str::FromStr;

use planledger::core::domain::model::{RestorePoint, micros};
use planledger::core::domain::municipality::MunicipalityCode;
use planledger::core::domain::value::{Comparator, Direction, PlanValue, Target as PlanTarget};
use planledger::core::domain::{EventHash, FiscalYear, IndicatorId, NodeId, PlanId, Role, State, time};
use planledger::core::published::{CheckedLedger, file_stem};
use planledger::core::record::to_micros_pub;
use planledger::core::{plantable, projection};

use super::{Fixture, Shape, Target, field_label, utf8};

const TIME_DICT: &[&str] = &[
    "T",
    "Z",
    "z",
    "t",
    "+09:00",
    "-00:00",
    "+23:59",
    "-23:59",
    "+24:00",
    ".",
    ".999999999",
    "0000",
    "9999",
    "-12-31",
    "-01-01",
    ":60",
    "seq:",
    "as-of:",
    "effective:",
    "version:",
    "now",
    "令和",
    "平成",
    "元年度",
    "FY",
    "年度",
];

const VALUE_DICT: &[&str] = &[
    "以上", "以下", "未満", "超", ">=", "<=", ">", "<", "=", "—", "none", "，", ",", "．", "５", "０", "-", "+", ".",
    "e5", "令和", "平成", "昭和", "大正", "明治", "元", "年度", "FY", "R", "H", "S", "increase", "decrease",
    "maintain", "unstated",
];

const ID_DICT: &[&str] = &[
    ".",
    "..",
    "-",
    "_",
    "/",
    "%",
    "%2F",
    "con",
    "nul",
    "lpt1",
    "admin",
    "editor",
    "reporter",
    "auditor",
    "あ",
    "\u{3099}",
    "Ａ",
    "A",
    "\u{FF5E}",
    "niigata-sogo",
];

const TABLE_DICT: &[&str] = &[
    "format",
    "[plan]",
    "[record]",
    "[[node]]",
    "[[indicator]]",
    "[[target]]",
    "id",
    "parent",
    "period",
    "status",
    "levels",
    "recorded_at",
    "effective",
    "actor",
    "adopted",
    "draft",
    "superseded",
    "2026-11-21T00:00:00Z",
    "2016-04-01",
    "131121",
    "令和6年度",
];

pub fn targets() -> Vec<Target> {
    vec![
        Target { name: "time", shape: Shape::Text, dict: TIME_DICT, seeds: time_seeds, run: time_target },
        Target { name: "point", shape: Shape::Text, dict: TIME_DICT, seeds: time_seeds, run: point },
        Target { name: "value", shape: Shape::Text, dict: VALUE_DICT, seeds: value_seeds, run: value },
        Target { name: "id", shape: Shape::Text, dict: ID_DICT, seeds: id_seeds, run: id },
        Target { name: "plantable", shape: Shape::Toml, dict: TABLE_DICT, seeds: table_seeds, run: table },
    ]
}

fn lines(v: &[&str]) -> Vec<Vec<u8>> {
    v.iter().map(|s| s.as_bytes().to_vec()).collect()
}

fn time_seeds(_: &Fixture) -> Vec<Vec<u8>> {
    lines(&[
        "2016-04-01",
        "2016-04-01T09:00:00+09:00",
        "2026-11-21T00:00:00.000000Z",
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999Z",
        "seq:12",
        "as-of:2020-01-01T00:00:00Z",
        "effective:2020-04-01",
        "effective:令和2年度",
        "version:adopted",
        "now",
        "17",
        "2016年度",
    ])
}

fn time_target(_: &Fixture, input: &[u8]) -> String {
    let s = match utf8(input) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let mut out = Vec::new();
    if let Some(d) = time::parse_date(s) {
        assert_eq!(d.format("%Y-%m-%d").to_string(), s, "a date is accepted in a form it is not written in");
        out.push("date");
    }
    if let Some(t) = time::parse_stored_instant(s) {
        assert_eq!(t.format(micros::FORMAT).to_string(), s, "a stored instant has a second spelling");
        out.push("stored");
    }
    if let Ok(t) = time::parse_instant(s) {
        let stored = t.format(micros::FORMAT).to_string();
        let back = time::parse_stored_instant(&stored);
        assert_eq!(back, Some(to_micros_pub(t)), "an accepted instant cannot be stored: {stored}");
        out.push("instant");
    }
    if let Ok(d) = projection::parse_effective("effective", s) {
        let written = d.format("%Y-%m-%d").to_string();
        assert_eq!(time::parse_date(&written), Some(d), "an effective date cannot be stored: {written}");
        out.push("effective");
    }
    if out.is_empty() { "err".into() } else { format!("ok:{}", out.join("+")) }
}

fn point(f: &Fixture, input: &[u8]) -> String {
    let s = match utf8(input) {
        Ok(s) => s,
        Err(e) => return e,
    };
    // The plan with the most named versions, so version names resolve.
    let Some(plan) = f.state().plans.values().max_by_key(|p| p.versions.len()) else { return "no plan".into() };
    match projection::resolve_point("at", s, plan) {
        Ok(Some(rp)) => {
            let json = serde_json::to_string(&rp).expect("points serialize");
            let back: RestorePoint = serde_json::from_str(&json)
                .unwrap_or_else(|e| panic!("a resolved point cannot be read back: {json}: {e}"));
            assert_eq!(back, rp, "a resolved point reads back as another");
            let again = projection::resolve_point("at", &rp.code(), plan).expect("a point's code resolves");
            assert_eq!(again.map(|p| p.point()), Some(rp.point()), "a point's code resolves to another point");
            let p = projection::parse_point("at", s, plan).expect("resolve and parse agree");
            assert_eq!(p, Some(rp.point()));
            let tag = json.split('"').nth(3).unwrap_or("?").to_string();
            format!("ok:{tag}")
        }
        Ok(None) => "ok:now".into(),
        Err(e) => field_label("err", &format!("{:?}", e.kind)),
    }
}

fn value_seeds(_: &Fixture) -> Vec<Vec<u8>> {
    lines(&["54,000", "38.0", "-1.5", "60以上", "≥ 80", "—", "令和6年度", "H28", "2016", "131121", "13112", "increase"])
}

fn value(_: &Fixture, input: &[u8]) -> String {
    let s = match utf8(input) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let mut out = Vec::new();
    if let Ok(v) = PlanValue::from_str(s) {
        assert_eq!(v.to_string().parse::<PlanValue>().ok(), Some(v), "a value does not round-trip: {v}");
        assert_eq!(v.grouped().parse::<PlanValue>().ok(), Some(v), "a grouped value does not read back: {v}");
        let json = serde_json::to_string(&v).expect("values serialize");
        assert_eq!(serde_json::from_str::<PlanValue>(&json).ok(), Some(v), "a value's JSON does not read back: {json}");
        out.push("value");
    }
    if let Ok(t) = PlanTarget::from_str(s) {
        assert_eq!(t.printed().parse::<PlanTarget>().ok(), Some(t), "a target does not read back: {}", t.printed());
        let json = serde_json::to_string(&t).expect("targets serialize");
        assert_eq!(
            serde_json::from_str::<PlanTarget>(&json).ok(),
            Some(t),
            "a target's JSON does not read back: {json}"
        );
        out.push("target");
    }
    if let Ok(fy) = FiscalYear::from_str(s) {
        assert_eq!(fy.era_label().parse::<FiscalYear>().ok(), Some(fy), "a fiscal year's era label does not read back");
        assert_eq!(fy.year().to_string().parse::<FiscalYear>().ok(), Some(fy));
        assert_eq!(FiscalYear::containing(fy.start()).ok(), Some(fy), "a fiscal year does not contain its start");
        out.push("fiscal_year");
    }
    if let Ok(c) = MunicipalityCode::from_str(s) {
        assert_eq!(c.as_string().parse::<MunicipalityCode>().ok(), Some(c), "a 団体コード does not read back");
        out.push("code");
    }
    if Comparator::parse(s).is_some() {
        out.push("comparator");
    }
    if Direction::parse(s).is_some() {
        out.push("direction");
    }
    if out.is_empty() { "err".into() } else { format!("ok:{}", out.join("+")) }
}

fn id_seeds(_: &Fixture) -> Vec<Vec<u8>> {
    lines(&["niigata-sogo", "niigata-sogo.1.2", "a_b-c.d", "editor", "con", "令和6年度版", &"ab".repeat(32)])
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(s.get(i + 1..i + 3)?, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn id(_: &Fixture, input: &[u8]) -> String {
    let s = match utf8(input) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let mut out = Vec::new();
    let plan = PlanId::new(s);
    if plan.is_ok() {
        out.push("id");
    }
    assert_eq!(plan.is_ok(), NodeId::new(s).is_ok(), "plan and node ids disagree");
    assert_eq!(plan.is_ok(), IndicatorId::new(s).is_ok(), "plan and indicator ids disagree");
    if let Some(h) = EventHash::from_hex(s) {
        assert_eq!(h.to_hex(), s, "a hash has a second spelling");
        out.push("hash");
    }
    if let Ok(r) = Role::parse("role", s) {
        assert_eq!(r.as_str(), s);
        out.push("role");
    }
    if let Ok(stem) = file_stem("version", s) {
        assert_eq!(percent_decode(&stem).as_deref(), Some(s), "a file stem does not decode to its name");
        assert!(!stem.contains(['/', '\\', '.', ':', '\0']), "a file stem holds a path character: {stem}");
        out.push("stem");
    }
    if out.is_empty() { "err".into() } else { format!("ok:{}", out.join("+")) }
}

fn table_seeds(f: &Fixture) -> Vec<Vec<u8>> {
    f.read("events/sources", "toml")
}

fn table(_: &Fixture, input: &[u8]) -> String {
    let s = match utf8(input) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let t = match plantable::parse("fuzz.toml", s) {
        Ok(t) => t,
        Err(e) => return e.0.first().map_or("err".into(), |e| field_label("err:parse", &e.field)),
    };
    let (meta, _) = match plantable::record_meta("fuzz.toml", &t) {
        Ok(m) => m,
        Err(_) => return "err:record".into(),
    };
    if let Err(e) = plantable::check("fuzz.toml", &t, &State::default(), &meta) {
        return e.0.first().map_or("err".into(), |e| field_label("err:check", &e.field));
    }
    let built = plantable::build_ledger(&[("fuzz.toml".into(), t)]).expect("a table that checks out builds");
    let lines: Vec<Vec<u8>> = built.into_iter().flat_map(|(_, l)| l).collect();
    if let Err(e) = CheckedLedger::verify(&lines) {
        panic!("a table that checks out builds a ledger that does not verify: {e}");
    }
    "ok".into()
}
