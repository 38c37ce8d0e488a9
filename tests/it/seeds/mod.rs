//! Seed fidelity: the five seed ledgers (events/NN-*.jsonl) rebuild byte for byte from their plan tables
//! (events/sources/*.toml), import into a fresh ledger with identical hashes, and hold what the source documents
//! print.
//!
//! Every expected value below was read off the source documents themselves (the excerpts of 品川区総合実施計画
//! （第4次）, 目黒区基本計画 第2部, 目黒区基本構想検討シート, 世田谷区基本計画大綱（案） and 新潟市総合計画), not
//! off the plan tables: these tests check the transcription, they do not restate it. The documents are not read
//! at test time; their values are written out here.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use planledger::core::domain::state::Node;
use planledger::core::domain::{FiscalYear, NodeId, PlanId, State};
use planledger::core::plantable::{PlanTable, TableErrors, build_ledger, parse};
use planledger::core::projection::{NodeView, view_plan};
use planledger::core::record::split_lines;
use planledger::store::ledger::{Ledger, verify_dir};

/// The seed manifest as it must read: plan tables in chain order, each with its ledger file.
pub(super) const SEEDS: [(&str, &str); 5] = [
    ("sources/shinagawa-jisshi-4.toml", "01-shinagawa-jisshi-4.jsonl"),
    ("sources/meguro-kento-2019.toml", "02-meguro-kento-2019.jsonl"),
    ("sources/meguro-kihon-2022.toml", "03-meguro-kihon-2022.jsonl"),
    ("sources/setagaya-taiko-an.toml", "04-setagaya-taiko-an.jsonl"),
    ("sources/niigata-sogo.toml", "05-niigata-sogo.jsonl"),
];

pub(super) const SHINAGAWA: &str = "shinagawa-jisshi-4";
pub(super) const MEGURO_2019: &str = "meguro-kento-2019";
pub(super) const MEGURO_2022: &str = "meguro-kihon-2022";
pub(super) const SETAGAYA: &str = "setagaya-taiko-an";
pub(super) const NIIGATA: &str = "niigata-sogo";

mod kpis;
mod others;
mod tree;

// ───────────────────────────── helpers ─────────────────────────────

pub(super) fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("events")
}

/// The `[[seed]]` entries of events/seeds.toml, in order; they must be the five pairs of [`SEEDS`].
pub(super) fn manifest() -> Vec<(String, String)> {
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
pub(super) fn ledger_lines(file: &str) -> Vec<Vec<u8>> {
    let path = events_dir().join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    split_lines(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every seed line, all five files in chain order.
pub(super) fn all_seed_lines() -> Vec<Vec<u8>> {
    manifest().iter().flat_map(|(_, ledger)| ledger_lines(ledger)).collect()
}

/// The state of a fresh ledger into which the five seed files were imported (once per test binary).
pub(super) fn seeds() -> &'static State {
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

pub(super) fn pid(s: &str) -> PlanId {
    PlanId::new(s).expect("plan id")
}

pub(super) fn live_nodes<'a>(state: &'a State, plan: &str) -> Vec<&'a Node> {
    let p = pid(plan);
    state.nodes.values().filter(|n| n.plan == p && !n.retired).collect()
}

pub(super) fn node<'a>(state: &'a State, id: &NodeId) -> &'a Node {
    state.nodes.get(id).unwrap_or_else(|| panic!("node {id} is not in the ledger"))
}

/// The live children of `parent` (the roots for `None`), in display order.
pub(super) fn children<'a>(state: &'a State, plan: &str, parent: Option<&NodeId>) -> Vec<&'a Node> {
    state.children(&pid(plan), parent)
}

/// The only live child of `parent` printed with `code`.
pub(super) fn child_by_code<'a>(state: &'a State, plan: &str, parent: Option<&NodeId>, code: &str) -> &'a Node {
    let found: Vec<&Node> = children(state, plan, parent).into_iter().filter(|n| n.code == code).collect();
    assert_eq!(found.len(), 1, "{plan}: expected one node with code {code:?} under {parent:?}, found {}", found.len());
    found[0]
}

/// (code, title) of the live children of `parent`, in display order.
pub(super) fn codes_and_titles(state: &State, plan: &str, parent: Option<&NodeId>) -> Vec<(String, String)> {
    children(state, plan, parent).into_iter().map(|n| (n.code.clone(), n.title.clone())).collect()
}

pub(super) fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// Live nodes per depth (0 = the roots), counted on the plan's tree view and cross-checked with `State::depth`.
pub(super) fn nodes_per_depth(state: &State, plan: &str) -> Vec<usize> {
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
pub(super) fn preorder(state: &State, plan: &str) -> Vec<(usize, NodeView)> {
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

pub(super) fn fy(year: u16) -> FiscalYear {
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

/// Reads and parses a plan table file, as the command line does.
pub(super) fn load(path: &std::path::Path) -> Result<PlanTable, TableErrors> {
    parse(&path.display().to_string(), &std::fs::read_to_string(path).unwrap())
}
