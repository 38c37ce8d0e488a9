//! Published snapshots end to end: the committed snapshots/ regenerate byte for byte from events/, each seed plan's
//! versions name what its document says it is, a snapshot taken from a data dir verifies (also after the ledger
//! grew), and every tampered field, a checkpoint of another key and a wrong consistency proof are each named.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use planledger::core::domain::PlanId;
use planledger::core::published::{CheckedLedger, SNAPSHOT_FORMAT, relative_path};
use planledger::core::record::split_lines;
use serde_json::Value;

use crate::support::bin;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The seed ledger files named in events/seeds.toml, in chain order.
fn seed_files() -> Vec<PathBuf> {
    let text = std::fs::read_to_string(repo().join("events/seeds.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(doc["snapshots"].as_str(), Some("../snapshots"), "the manifest names the snapshots directory");
    doc["seed"].as_array().unwrap().iter().map(|s| repo().join("events").join(s["ledger"].as_str().unwrap())).collect()
}

fn seed_lines() -> Vec<Vec<u8>> {
    seed_files().iter().flat_map(|f| split_lines(&std::fs::read(f).unwrap()).unwrap()).collect()
}

/// Every file under `root`, by its path relative to `root` ('/'-separated), with its bytes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_str().unwrap().replace('\\', "/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin()).args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The seed versions: plan, the name as the document names itself, and the seq of the table's last event.
const SEED_VERSIONS: [(&str, &str, u64); 5] = [
    ("meguro-kento-2019", "基本構想検討シート ： 行財政運営分野／情報政策分野／地域コミュニティ分野", 382),
    ("meguro-kihon-2022", "目黒区基本計画 第2部 区政運営方針", 455),
    ("niigata-sogo", "新潟市総合計画 地域と共に育つ，分権型協働都市", 575),
    ("setagaya-taiko-an", "世田谷区基本計画大綱（案） 3月1日時点", 486),
    ("shinagawa-jisshi-4", "品川区総合実施計画 平成28年度～平成30年度（第4次） 発行月 平成28年4月", 199),
];

#[test]
fn committed_snapshots_regenerate_byte_for_byte_from_events() {
    let lines = seed_lines();
    let ledger = CheckedLedger::verify(&lines).expect("the seed ledger verifies");
    let snaps = ledger.snapshots().unwrap();
    let got: Vec<(&str, &str, u64)> = snaps.iter().map(|s| (s.plan.as_str(), s.version.as_str(), s.seq.0)).collect();
    assert_eq!(got, SEED_VERSIONS);

    let out = tempfile::tempdir().unwrap();
    for s in &snaps {
        let p = out.path().join(s.relative_path().unwrap());
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, s.to_json()).unwrap();
        // Each version is the plan right after its table's last event: the naming event comes next.
        assert!(s.attestation.is_none(), "seed snapshots come from events/ alone, with no key");
        assert_eq!(s.tree_size, s.seq.0 + 1);
        assert_eq!(s.head_hash.to_hex(), blake3::hash(&lines[s.seq.0 as usize]).to_hex().to_string());
        let next: Value = serde_json::from_slice(&lines[s.seq.0 as usize + 1]).unwrap();
        assert_eq!(next["event"]["type"], "VersionNamed");
        assert_eq!(next["event"]["name"], s.version.as_str());
    }
    let regenerated = tree(out.path());
    let committed = tree(&repo().join("snapshots"));
    assert_eq!(
        regenerated.keys().collect::<Vec<_>>(),
        committed.keys().collect::<Vec<_>>(),
        "snapshots/ holds exactly one file per named seed version"
    );
    for (path, bytes) in &regenerated {
        if bytes != &committed[path] {
            let (a, b) = (String::from_utf8_lossy(bytes), String::from_utf8_lossy(&committed[path]));
            let line = a.lines().zip(b.lines()).position(|(x, y)| x != y).map_or(0, |i| i + 1);
            panic!("snapshots/{path} differs from its regeneration from events/ (first at line {line})");
        }
    }
}

#[test]
fn seed_snapshot_files_are_named_by_the_documented_mapping() {
    // The mapping of docs/FORMAT.md §17.3, written out for two seed versions.
    let shinagawa = relative_path(&PlanId::new("shinagawa-jisshi-4").unwrap(), SEED_VERSIONS[4].1).unwrap();
    assert_eq!(
        shinagawa,
        "shinagawa-jisshi-4/品川区総合実施計画%20平成28年度～平成30年度（第4次）%20発行月%20平成28年4月.json"
    );
    let meguro = relative_path(&PlanId::new("meguro-kento-2019").unwrap(), SEED_VERSIONS[0].1).unwrap();
    assert_eq!(
        meguro,
        "meguro-kento-2019/基本構想検討シート%20%EF%BC%9A%20行財政運営分野%EF%BC%8F情報政策分野%EF%BC%8F地域コミュニティ分野.json"
    );
    for (plan, name, seq) in SEED_VERSIONS {
        let path = repo().join("snapshots").join(relative_path(&PlanId::new(plan).unwrap(), name).unwrap());
        let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            (v["format"].as_str(), v["plan"].as_str(), v["version"].as_str()),
            (Some(SNAPSHOT_FORMAT), Some(plan), Some(name))
        );
        assert_eq!(v["seq"], seq);
        assert_eq!(v["attestation"], Value::Null);
    }
}

#[test]
fn build_seeds_writes_the_snapshots_and_check_catches_a_changed_or_extra_file() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("events"), &dir.path().join("events"));
    let manifest = dir.path().join("events/seeds.toml");
    let m = manifest.to_str().unwrap();
    let (code, out, err) = cli(&["build-seeds", "--manifest", m]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.matches("wrote ").count(), 10, "{out}");
    assert_eq!(tree(&dir.path().join("snapshots")), tree(&repo().join("snapshots")));
    let (code, out, _) = cli(&["build-seeds", "--manifest", m, "--check"]);
    assert_eq!((code, out.matches("same ").count()), (0, 10), "{out}");

    let snap = dir
        .path()
        .join("snapshots")
        .join(relative_path(&PlanId::new("niigata-sogo").unwrap(), SEED_VERSIONS[2].1).unwrap());
    let text = std::fs::read_to_string(&snap).unwrap();
    std::fs::write(&snap, text.replacen("分権型協働都市", "分権型共働都市", 1)).unwrap();
    std::fs::write(dir.path().join("snapshots/niigata-sogo/stale.json"), "{}\n").unwrap();
    let (code, out, err) = cli(&["build-seeds", "--manifest", m, "--check"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("DIFFERS") && out.contains("niigata-sogo/新潟市総合計画"), "{out}");
    assert!(out.contains("EXTRA") && out.contains("stale.json"), "{out}");
    assert!(err.contains("2 seed file(s) differ"), "{err}");
    // Writing again restores the file and removes the one no version gives.
    assert_eq!(cli(&["build-seeds", "--manifest", m]).0, 0);
    assert_eq!(tree(&dir.path().join("snapshots")), tree(&repo().join("snapshots")));
}

/// A data dir holding the seed ledger, its public key, and the snapshot of the Shinagawa version.
struct Taken {
    dir: tempfile::TempDir,
    data: String,
    pubkey: String,
    snapshot: String,
}

fn take() -> Taken {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data").to_str().unwrap().to_string();
    assert_eq!(cli(&["--data", &data, "init", "--origin", "planledger.example.lg.jp/test"]).0, 0);
    let mut args = vec!["--data".to_string(), data.clone(), "import".into()];
    args.extend(seed_files().iter().map(|p| p.to_str().unwrap().to_string()));
    let (code, _, err) = cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    let pubkey = cli(&["--data", &data, "pubkey"]).1.trim().to_string();
    let (plan, name, _) = SEED_VERSIONS[4];
    let (code, snapshot, err) = cli(&["--data", &data, "snapshot", plan, "--version", name]);
    assert_eq!(code, 0, "{err}");
    Taken { dir, data, pubkey, snapshot }
}

impl Taken {
    fn write(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    }

    /// verify-snapshot of `text` against the data dir: (exit code, stdout, stderr).
    fn verify(&self, text: &str) -> (i32, String, String) {
        let f = self.write("check.json", text);
        cli(&["--data", &self.data, "verify-snapshot", &f])
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.snapshot).unwrap()
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap() + "\n"
}

#[test]
fn a_snapshot_from_a_data_dir_is_attested_and_verifies() {
    let t = take();
    let v = t.json();
    assert_eq!(v["seq"], 199);
    assert_eq!(v["head_hash"], "c9ceced51062806eb7a1d8ae73a4ae68c90ce8913e8fc6e7590c8fc0e663fa0b");
    let a = &v["attestation"];
    assert!(a["checkpoint"].as_str().unwrap().starts_with("planledger.example.lg.jp/test\n577\n"), "{a}");
    assert_eq!((a["consistency"]["size1"].as_u64(), a["consistency"]["size2"].as_u64()), (Some(200), Some(577)));
    assert_eq!(a["consistency"]["root1"], v["root"]);
    // The document is what `show --at` prints as JSON.
    let (_, show, _) = cli(&["--data", &t.data, "show", "shinagawa-jisshi-4", "--at", "199", "--json"]);
    assert_eq!(v["document"], serde_json::from_str::<Value>(&show).unwrap());
    // The same ledger gives the same bytes.
    let (_, again, _) = cli(&["--data", &t.data, "snapshot", "shinagawa-jisshi-4", "--version", SEED_VERSIONS[4].1]);
    assert_eq!(again, t.snapshot);

    let (code, out, err) = t.verify(&t.snapshot);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ok: snapshot of plan shinagawa-jisshi-4") && out.contains("of 200 events"), "{out}");
    assert!(out.contains("attested") && out.contains("checkpoint of 577 events"), "{out}");
    // Offline from the ledger files and the published key; without the key the attestation cannot be checked.
    let f = t.write("s.json", &t.snapshot);
    let mut args =
        vec!["verify-snapshot".to_string(), f.clone(), "--pubkey".into(), t.pubkey.clone(), "--ledger".into()];
    args.extend(seed_files().iter().map(|p| p.to_str().unwrap().to_string()));
    let (code, out, err) = cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("the ledger reproduces the checkpoint's root"), "{out}");
    let without_key: Vec<&str> =
        args.iter().map(String::as_str).filter(|a| *a != "--pubkey" && *a != t.pubkey).collect();
    let (code, _, err) = cli(&without_key);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--pubkey"), "{err}");
    // The seed's first file alone is shorter than the checkpoint: the proof still ties the root to it.
    let first = seed_files()[0].to_str().unwrap().to_string();
    let (code, out, err) = cli(&["verify-snapshot", &f, "--pubkey", &t.pubkey, "--ledger", &first]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("shorter than the checkpoint"), "{out}");
    // A later file alone is a segment, not a ledger to replay.
    let (code, _, err) =
        cli(&["verify-snapshot", &f, "--pubkey", &t.pubkey, "--ledger", seed_files()[1].to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--ledger: the files start at seq 201"), "{err}");

    // The ledger grows; the snapshot stays true, and its checkpoint is now an earlier one of the same log.
    let ind = "shinagawa-jisshi-4.6-1-1-2-r3.kpi1";
    let (code, _, err) = cli(&[
        "--data",
        &t.data,
        "target",
        "set",
        ind,
        "2018",
        "62以上",
        "--reason",
        "中間見直し",
        "--actor",
        "kikaku-01",
        "--effective",
        "2017-04-01",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = t.verify(&t.snapshot);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("the ledger reproduces the checkpoint's root"), "{out}");
}

#[test]
fn each_tampered_field_is_named() {
    let t = take();
    let v = t.json();
    let fails = |text: &str, field: &str| {
        let (code, out, err) = t.verify(text);
        assert_eq!(code, 1, "{field}: {out}{err}");
        assert!(err.contains(&format!("\n  {field}: ")), "expected a failure of {field}:\n{err}");
        err
    };

    // A value of the document: the FY2018 target of メディア認知度 (6 → 6-1 → 6-1-1 → ② → row r3), 65以上 in the
    // document and the first "65" of the file.
    let mut d = v.clone();
    let doc = pretty(&d["document"]);
    assert!(doc.contains("\"value\": \"65\""), "the seed has the 65%以上 target");
    d["document"] = serde_json::from_str(&doc.replacen("\"value\": \"65\"", "\"value\": \"70\"", 1)).unwrap();
    let err = fails(
        &pretty(&d),
        "document.nodes[0].children[0].children[0].children[1].children[2].indicators[0].series[2].target.value",
    );
    assert!(err.contains("expected \"65\"") && err.contains("found \"70\""), "{err}");

    let mut d = v.clone();
    d["head_hash"] = Value::from("00".repeat(32));
    let err = fails(&pretty(&d), "head_hash");
    assert!(err.contains("expected c9ceced51062806eb7a1d8ae73a4ae68c90ce8913e8fc6e7590c8fc0e663fa0b"), "{err}");

    let mut d = v.clone();
    d["root"] = Value::from("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    let err = fails(&pretty(&d), "root");
    assert!(err.contains("\n  attestation.consistency.root1: "), "the attestation no longer matches either: {err}");

    let mut d = v.clone();
    d["seq"] = Value::from(198);
    let err = fails(&pretty(&d), "seq");
    assert!(err.contains("expected 199"), "{err}");

    let mut d = v.clone();
    d["version"] = Value::from("adopted 2016-04-01");
    let err = fails(&pretty(&d), "version");
    assert!(err.contains("has no version \"adopted 2016-04-01\""), "{err}");

    // A checkpoint signed by another key, with the same origin and the same tree.
    let other = t.dir.path().join("other");
    let o = other.to_str().unwrap();
    assert_eq!(cli(&["--data", o, "init", "--origin", "planledger.example.lg.jp/test"]).0, 0);
    let mut args = vec!["--data", o, "import"];
    let files: Vec<String> = seed_files().iter().map(|p| p.to_str().unwrap().to_string()).collect();
    args.extend(files.iter().map(String::as_str));
    assert_eq!(cli(&args).0, 0);
    let foreign = cli(&["--data", o, "checkpoint"]).1;
    assert_eq!(
        foreign.lines().take(3).collect::<Vec<_>>(),
        v["attestation"]["checkpoint"].as_str().unwrap().lines().take(3).collect::<Vec<_>>()
    );
    let mut d = v.clone();
    d["attestation"]["checkpoint"] = Value::from(foreign);
    let err = fails(&pretty(&d), "attestation.checkpoint");
    assert!(err.contains("does not verify with the key"), "{err}");

    // A wrong consistency proof: one hash changed.
    let mut d = v.clone();
    d["attestation"]["consistency"]["proof"][2] = Value::from("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    let err = fails(&pretty(&d), "attestation.consistency.proof");
    assert!(err.contains("does not prove the tree of 200 events a prefix of the checkpoint's tree of 577"), "{err}");
    // And a proof of the right length for other sizes.
    let mut d = v.clone();
    d["attestation"]["consistency"]["size1"] = Value::from(199);
    fails(&pretty(&d), "attestation.consistency.size1");

    // Not a snapshot at all: exit 1, naming the format.
    let (code, _, err) = t.verify("{\"format\": \"planledger-bundle/1\"}");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not a snapshot of format planledger-snapshot/1"), "{err}");
}

#[test]
fn a_snapshot_of_an_unknown_version_or_plan_is_refused_naming_the_field() {
    let t = take();
    let (code, out, err) =
        cli(&["--data", &t.data, "snapshot", "shinagawa-jisshi-4", "--version", "adopted 2016-04-01"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.is_empty(), "nothing is written: {out}");
    assert!(
        err.contains(
            "--version: plan shinagawa-jisshi-4 has no version \"adopted 2016-04-01\" (it has: 品川区総合実施計画"
        ),
        "{err}"
    );
    let (code, _, err) = cli(&["--data", &t.data, "snapshot", "nagoya", "--version", "x"]);
    assert_eq!(code, 2);
    assert!(err.contains("plan: the ledger has no plan nagoya"), "{err}");
}

#[test]
fn plan_table_versions_name_the_end_of_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    assert_eq!(cli(&["--data", d, "init"]).0, 0);
    // Something else is in the ledger first, so the table's events do not start at seq 0.
    assert_eq!(cli(&["--data", d, "import", seed_files()[0].to_str().unwrap()]).0, 0);
    // The seed table with a second name (the cover also prints 「参考資料 3」): both name the table's last event.
    let table = dir.path().join("setagaya.toml");
    let seed_table = std::fs::read_to_string(repo().join("events/sources/setagaya-taiko-an.toml")).unwrap();
    std::fs::write(&table, format!("{seed_table}\n[[version]]\nname = \"参考資料 3\"\n")).unwrap();
    let (code, out, err) = cli(&["--data", d, "import-plan", table.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("appended 32 events (seq 201..=232)"), "{out}");
    let (_, versions, _) = cli(&["--data", d, "versions", "setagaya-taiko-an", "--json"]);
    let versions: Value = serde_json::from_str(&versions).unwrap();
    assert_eq!(
        versions,
        serde_json::json!([
            {"name": "世田谷区基本計画大綱（案） 3月1日時点", "seq": 230},
            {"name": "参考資料 3", "seq": 230}
        ])
    );

    // A name used twice is refused with its line, and nothing is appended.
    let twice = dir.path().join("twice.toml");
    let src = seed_table.replace("setagaya-taiko-an", "setagaya-2");
    let line = src.lines().count() + 2;
    std::fs::write(&twice, format!("{src}\n[[version]]\nname = \"世田谷区基本計画大綱（案） 3月1日時点\"\n")).unwrap();
    let (code, _, err) = cli(&["--data", d, "import-plan", twice.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("twice.toml:{line}: name_version.name: already names plan setagaya-2")), "{err}");
    assert!(cli(&["--data", d, "verify"]).1.starts_with("ok: 233 events"));
}
