//! The reference scripts of docs/FORMAT.md (§9 chain verifier, §16 proof verifier, §17.3 file names), taken from the
//! page as printed and run with python3: on a good ledger and on tampered ledger files, proofs, checkpoints, bundles
//! and snapshots, each reaches the verdict that `planledger` reaches on the same input.

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Output};

use chrono::NaiveDate;
use planledger::core::audit::note::NoteSigner;
use planledger::core::audit::{ConsistencyProof, InclusionProof, b64};
use planledger::core::domain::model::{Detail, Meta};
use planledger::core::domain::{Command, EventHash};
use planledger::core::record::split_lines;
use planledger::store::ledger::{AppendRequest, Ledger, Precondition};
use planledger::store::restore::{RestoreRequest, restore_blocking};
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::support::{add_node, append, bin, create_plan, define, meta, set_target};

/// The example key of FORMAT.md §15 (its seed is published: never use it for a real ledger). The base64 of its
/// public key holds a `+`, so every verifier key parse here splits at the first two `+` only.
const PRIVATE_KEY: &str =
    "PRIVATE+KEY+planledger.example.lg.jp/demo+8a60b61e+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f";
const PUBLIC_KEY: &str = "planledger.example.lg.jp/demo+8a60b61e+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";

/// The fenced Python block under `heading` in docs/FORMAT.md, before the next heading of its level or above.
fn embedded_script(heading: &str) -> String {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/FORMAT.md")).unwrap();
    let start = doc.find(&format!("\n{heading}\n")).unwrap_or_else(|| panic!("FORMAT.md has no heading {heading:?}"));
    let section = &doc[start + heading.len() + 2..];
    let open = section.find("\n```python\n").unwrap_or_else(|| panic!("no python block under {heading:?}"));
    assert!(
        !section[..open].lines().any(|l| l.starts_with('#')),
        "the first python block after {heading:?} belongs to a later section"
    );
    let body = &section[open + "\n```python\n".len()..];
    let close = body.find("\n```\n").unwrap_or_else(|| panic!("the python block under {heading:?} is not closed"));
    body[..close + 1].to_string()
}

/// A directory holding the page's scripts, as an auditor would save them.
struct Scripts {
    dir: tempfile::TempDir,
}

impl Scripts {
    fn new() -> Self {
        match Process::new("python3").args(["-c", "import blake3, cryptography"]).output() {
            Err(e) => panic!(
                "python3 was not found ({e}): install python3 to run the reference scripts of docs/FORMAT.md \
                 (.ci/run installs it with apt-get)"
            ),
            Ok(o) if !o.status.success() => panic!(
                "python3 lacks the packages the scripts of docs/FORMAT.md need: install them with \
                 `python3 -m pip install blake3 cryptography` (.ci/run does): {}",
                String::from_utf8_lossy(&o.stderr)
            ),
            Ok(_) => {}
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("verify_chain.py"),
            embedded_script("## 9. A reference chain verifier in Python"),
        )
        .unwrap();
        std::fs::write(dir.path().join("plaudit.py"), embedded_script("## 16. A reference proof verifier in Python"))
            .unwrap();
        std::fs::write(dir.path().join("stem.py"), embedded_script("### 17.3 Where snapshots are kept: file names"))
            .unwrap();
        Self { dir }
    }

    fn run(&self, script: &str, args: &[&str]) -> Output {
        Process::new("python3").arg(self.dir.path().join(script)).args(args).output().unwrap()
    }
}

fn planledger(args: &[&str]) -> Output {
    Process::new(bin()).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// What a verification of ledger files concluded: accepted with a head, or the first bad seq, or the file that is
/// not a ledger file, or another exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Ok {
        count: u64,
        head: String,
    },
    Seq(u64),
    /// Files that do not start at seq 0 and were not said to be a segment: the seq they start at.
    Start(u64),
    File(String),
    Exit(i32),
}

fn verdict(o: &Output) -> Verdict {
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    match o.status.code() {
        Some(0) => {
            let count = out.strip_prefix("ok: ").and_then(|r| r.split(' ').next()).unwrap().parse().unwrap();
            let head = out.split("head ").nth(1).map(|h| h[..64].to_string()).unwrap();
            Verdict::Ok { count, head }
        }
        Some(1) => {
            if let Some((_, rest)) = err.split_once("first bad event seq ") {
                Verdict::Seq(rest.split(':').next().unwrap().parse().unwrap())
            } else if let Some((_, rest)) = err.split_once("the files start at seq ") {
                Verdict::Start(rest.split(',').next().unwrap().parse().unwrap())
            } else if let Some((before, _)) = err.split_once(": the file does not end with a newline") {
                Verdict::File(before.rsplit("verification FAILED: ").next().unwrap().to_string())
            } else {
                Verdict::Exit(1)
            }
        }
        code => Verdict::Exit(code.unwrap_or(-1)),
    }
}

/// A ledger with every one of the 29 event kinds (every restore scope and point axis among them), in a data dir
/// signed with the example key, and its export.
struct Fixture {
    tmp: tempfile::TempDir,
    data: PathBuf,
    export: PathBuf,
    lines: Vec<Vec<u8>>,
}

impl Fixture {
    fn data(&self) -> &str {
        self.data.to_str().unwrap()
    }

    fn export(&self) -> &str {
        self.export.to_str().unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// The seq of the first record whose line contains `needle`.
    fn seq_of(&self, needle: &str) -> usize {
        self.lines.iter().position(|l| text(l).contains(needle)).unwrap_or_else(|| panic!("no line contains {needle}"))
    }
}

fn on(effective: (i32, u32, u32), reason: Option<&str>) -> Meta {
    Meta { effective: NaiveDate::from_ymd_opt(effective.0, effective.1, effective.2), ..meta(reason) }
}

fn restore(l: &Ledger, target: &str, to: &str) {
    let req = RestoreRequest {
        target: target.into(),
        to: to.into(),
        meta: on((2018, 4, 1), Some("誤った改定の取消し")),
        kind: None,
        precondition: Precondition::None,
        dry_run: false,
        principal: None,
    };
    restore_blocking(l, &req).unwrap_or_else(|e| panic!("restore {target} to {to}: {e:?}"));
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("checkpoint.key"), format!("{PRIVATE_KEY}\n")).unwrap();
    let l = Ledger::open(&data).unwrap();
    let run = |c: Command| append(&l, c).unwrap_or_else(|e| panic!("{e:?}"));
    let node = |n: &str| n.to_string();
    for c in [
        create_plan("p"),
        Command::RevisePlan {
            plan: "p".into(),
            title: Some("試験計画（改訂）".into()),
            kind: None,
            period_from: None,
            period_to: Some("2020".into()),
            levels: Some(vec!["施策".into(), "事業".into()]),
            clear_period: false,
        },
        add_node("p", "p.a"),
        add_node("p", "p.b"),
        Command::AddNode {
            plan: "p".into(),
            node: "p.c".into(),
            parent: Some("p.a".into()),
            order: Some(2),
            code: "1-1".into(),
            title: "子育て支援".into(),
            text: "保育定員を拡大する。\n待機児童ゼロ。\"引用\" \\ タブなし".into(),
            details: vec![Detail { label: "現況".into(), text: "整備中".into() }],
            departments: vec!["子ども育成課".into(), "企画課".into()],
        },
        Command::RenameNode { node: node("p.b"), code: Some("2".into()), title: Some("行財政運営".into()) },
        Command::ReviseNodeText { node: node("p.b"), text: "効率的な運営".into() },
        Command::ReviseNodeDetails {
            node: node("p.c"),
            details: vec![Detail { label: "必要事業量".into(), text: "3,750人".into() }],
        },
        Command::MoveNode { node: node("p.c"), parent: Some("p.b".into()), order: Some(5) },
        Command::CrossListNode { node: node("p.c"), under: "p.a".into() },
        Command::CrossReferenceNode { node: node("p.c"), reference: "新潟市総合計画 1-2".into() },
        Command::AssignDepartments { node: node("p.c"), departments: vec!["保育課".into()] },
        Command::SetMilestone { node: node("p.c"), fiscal_year: "2017".into(), text: "2園開設".into() },
        Command::SetMilestone { node: node("p.c"), fiscal_year: "2018".into(), text: "3園開設".into() },
        Command::WithdrawMilestone { node: node("p.c"), fiscal_year: "2018".into() },
        define("p.i", "p.c"),
        define("p.j", "p.a"),
        Command::ReviseIndicator {
            indicator: "p.i".into(),
            name: Some("保育定員".into()),
            unit: Some("人".into()),
            direction: Some("higher".into()),
            cumulative: Some(true),
            note: Some("各年度4月1日".into()),
        },
        Command::SetBaseline {
            indicator: "p.i".into(),
            value: "-1,234.50".into(),
            fiscal_year: "2015".into(),
            note: "平成27年度末".into(),
        },
        set_target("p.i", "2017", "3,750以上"),
        set_target("p.i", "2017", "4000.5以上"),
        set_target("p.i", "2018", "—"),
        set_target("p.i", "2019", "5未満"),
        Command::WithdrawTarget { indicator: "p.i".into(), fiscal_year: "2019".into() },
        Command::ReportProgress {
            indicator: "p.i".into(),
            fiscal_year: "2017".into(),
            value: "3800".into(),
            as_of: Some("2018-04-01".into()),
            note: "速報".into(),
        },
        Command::CorrectProgress {
            indicator: "p.i".into(),
            fiscal_year: "2017".into(),
            value: "3810.0".into(),
            as_of: None,
            note: "確定".into(),
        },
    ] {
        run(c);
    }
    let adopted = l.head().len - 1;
    run(Command::NameVersion { plan: "p".into(), name: "adopted 2016-04-01".into(), seq: adopted.to_string() });
    for c in [
        Command::RemoveCrossListing { node: node("p.c"), under: "p.a".into() },
        Command::RetireIndicator { indicator: "p.j".into() },
        Command::ReinstateIndicator { indicator: "p.j".into() },
        Command::WithdrawBaseline { indicator: "p.i".into() },
        add_node("p", "p.d"),
        Command::RetireNode { node: node("p.d") },
        Command::ReinstateNode { node: node("p.d") },
        Command::ReviseNodeText { node: node("p.a"), text: "第一の改訂".into() },
    ] {
        run(c);
    }
    let before_text = l.head().len - 1;
    run(Command::ReviseNodeText { node: node("p.a"), text: "第二の改訂".into() });
    restore(&l, "p.a", &format!("seq:{before_text}"));
    let records = l.records(0, u64::MAX).unwrap();
    let instant = records.last().unwrap().recorded_at.to_rfc3339();
    run(Command::ReviseIndicator {
        indicator: "p.j".into(),
        name: Some("改めた指標".into()),
        unit: None,
        direction: None,
        cumulative: None,
        note: None,
    });
    restore(&l, "p.j", &format!("as-of:{instant}"));
    l.append_blocking(AppendRequest::new(
        vec![Command::RenameNode { node: node("p.b"), code: None, title: Some("後日の名称".into()) }],
        on((2019, 4, 1), Some("組織改正")),
    ))
    .unwrap();
    restore(&l, "p", "effective:2019-03-31");
    restore(&l, "p", "version:adopted 2016-04-01");
    run(Command::ChangePlanStatus { plan: "p".into(), status: "superseded".into() });
    l.close();

    let export = tmp.path().join("export.jsonl");
    let o = planledger(&["--data", data.to_str().unwrap(), "export", "--out", export.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let lines = split_lines(&std::fs::read(&export).unwrap()).unwrap();
    let kinds: std::collections::BTreeSet<String> =
        lines.iter().map(|l| serde_json::from_slice::<Value>(l).unwrap()["event"]["type"].to_string()).collect();
    assert_eq!(kinds.len(), 29, "the fixture has every event kind: {kinds:?}");
    for form in [
        r#""axis":"seq""#,
        r#""axis":"as_of""#,
        r#""axis":"effective""#,
        r#""axis":"version""#,
        r#""scope":{"kind":"plan"}"#,
        r#""scope":{"kind":"node""#,
        r#""scope":{"kind":"indicator""#,
        r#""target":{"kind":"none"}"#,
    ] {
        assert!(lines.iter().any(|l| text(l).contains(form)), "the fixture has {form}");
    }
    Fixture { tmp, data, export, lines }
}

fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    lines.iter().flat_map(|l| l.iter().copied().chain([b'\n'])).collect()
}

/// `lines` with line `k` replaced by `new` and every later `prev` set to the hash of the line before it, so that
/// the value form of line `k` is the only fault.
fn rechained(lines: &[Vec<u8>], k: usize, new: Vec<u8>) -> Vec<Vec<u8>> {
    let mut out = lines.to_vec();
    out[k] = new;
    for i in k + 1..out.len() {
        let h = EventHash::of(&out[i - 1]).to_hex();
        let at = text(&out[i]).find(r#""prev":""#).unwrap() + 8;
        out[i].splice(at..at + 64, h.bytes());
    }
    out
}

fn replaced(line: &[u8], old: &str, new: &str) -> Vec<u8> {
    let s = text(line);
    assert!(s.contains(old), "{old} is not in {s}");
    s.replacen(old, new, 1).into_bytes()
}

/// The verdicts of `planledger verify --file` and of the §9 script on the same files.
fn both(s: &Scripts, flags: &[&str], files: &[&Path]) -> (Verdict, Verdict) {
    let files: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
    let mut args = vec!["verify", "--file"];
    args.extend(&files);
    args.extend(flags);
    let mut script_args = flags.to_vec();
    script_args.extend(&files);
    (verdict(&planledger(&args)), verdict(&s.run("verify_chain.py", &script_args)))
}

fn agree(s: &Scripts, case: &str, files: &[&Path]) -> Verdict {
    agree_with(s, case, &[], files)
}

fn agree_with(s: &Scripts, case: &str, flags: &[&str], files: &[&Path]) -> Verdict {
    let (ours, script) = both(s, flags, files);
    assert_eq!(script, ours, "{case}: the §9 script and planledger disagree");
    ours
}

#[test]
fn the_chain_verifier_reaches_the_binarys_verdict_on_every_tampered_file() {
    let s = Scripts::new();
    let f = fixture();
    let n = f.lines.len();
    let head = EventHash::of(&f.lines[n - 1]).to_hex();
    assert_eq!(agree(&s, "the export", &[&f.export]), Verdict::Ok { count: n as u64, head: head.clone() });
    let file = f.path("t.jsonl");
    let check = |case: &str, bytes: &[u8], expected: Verdict| {
        std::fs::write(&file, bytes).unwrap();
        let v = agree(&s, case, &[&file]);
        assert_eq!(v, expected, "{case}");
    };
    let named = |p: &Path| Verdict::File(p.to_str().unwrap().to_string());

    // Flipped bytes, as the tamper tests flip them: every line but the last is named by its seq.
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for _ in 0..30 {
        let k = rng.gen_range(0..n - 1);
        let mut lines = f.lines.clone();
        let pos = rng.gen_range(0..lines[k].len());
        lines[k][pos] ^= 0x01;
        check(&format!("line {k} byte {pos} flipped"), &join(&lines), Verdict::Seq(k as u64));
    }
    // Deleted lines: the place of the first missing line is named; without the first line the files do not start
    // at seq 0; without the last, only the head shows it.
    let k = n / 2;
    let without = |i: usize| [&f.lines[..i], &f.lines[i + 1..]].concat();
    check("a middle line deleted", &join(&without(k)), Verdict::Seq(k as u64));
    check("line 1 deleted", &join(&without(1)), Verdict::Seq(1));
    check("the first line deleted", &join(&without(0)), Verdict::Start(1));
    let shorter = EventHash::of(&f.lines[n - 2]).to_hex();
    check("the last line deleted", &join(&without(n - 1)), Verdict::Ok { count: n as u64 - 1, head: shorter });
    // Swapped and duplicated lines.
    let mut swapped = f.lines.clone();
    swapped.swap(k, k + 1);
    check("two middle lines swapped", &join(&swapped), Verdict::Seq(k as u64));
    let mut swapped = f.lines.clone();
    swapped.swap(0, 1);
    check("the first two lines swapped", &join(&swapped), Verdict::Start(1));
    let mut dup = f.lines.clone();
    dup.insert(k, f.lines[k].clone());
    check("a middle line duplicated", &join(&dup), Verdict::Seq(k as u64 + 1));
    let mut dup = f.lines.clone();
    dup.push(f.lines[n - 1].clone());
    check("the last line duplicated", &join(&dup), Verdict::Seq(n as u64));
    // Framing: a truncated file is named by file, not by seq.
    let clean = join(&f.lines);
    check("the last newline removed", &clean[..clean.len() - 1], named(&file));
    check("cut in the middle of the last line", &clean[..clean.len() - 20], named(&file));
    let mid: usize = f.lines[..k].iter().map(|l| l.len() + 1).sum::<usize>() + 10;
    check("cut in the middle of a middle line", &clean[..mid], named(&file));
    check("an empty line at the end", &[clean.as_slice(), b"\n"].concat(), Verdict::Seq(n as u64));
    let crlf: Vec<u8> = f.lines.iter().flat_map(|l| l.iter().copied().chain(*b"\r\n")).collect();
    check("CR LF line ends", &crlf, Verdict::Seq(0));
    check("a byte order mark", &[b"\xEF\xBB\xBF".as_slice(), &clean].concat(), Verdict::Seq(0));
    check("an empty file", b"", Verdict::Ok { count: 0, head: "0".repeat(64) });

    // Several files: in order they are one chain; the second alone is a segment; a truncated first file is named
    // even though later files are fine.
    let (a, b) = (f.path("a.jsonl"), f.path("b.jsonl"));
    std::fs::write(&a, join(&f.lines[..k])).unwrap();
    std::fs::write(&b, join(&f.lines[k..])).unwrap();
    assert_eq!(agree(&s, "two files", &[&a, &b]), Verdict::Ok { count: n as u64, head: head.clone() });
    assert_eq!(agree(&s, "a segment not said to be one", &[&b]), Verdict::Start(k as u64));
    let segment = agree_with(&s, "a segment", &["--segment"], &[&b]);
    assert_eq!(segment, Verdict::Ok { count: (n - k) as u64, head: head.clone() });
    assert_eq!(agree(&s, "files out of order", &[&b, &a]), Verdict::Start(k as u64));
    assert_eq!(agree_with(&s, "files out of order", &["--segment"], &[&b, &a]), Verdict::Seq(n as u64));
    let cut = join(&f.lines[..k]);
    std::fs::write(&a, &cut[..cut.len() - 1]).unwrap();
    assert_eq!(agree(&s, "the first of two files truncated", &[&a, &b]), named(&a));
}

#[test]
fn the_chain_verifier_refuses_every_value_form_the_binary_refuses() {
    let s = Scripts::new();
    let f = fixture();
    let file = f.path("t.jsonl");
    let n = f.lines.len();
    // (the line, as a text it contains; what is replaced; by what). Each fault is alone: later links are rehashed.
    let refused: &[(&str, &str, &str)] = &[
        (r#""seq":3,"#, r#"{"v":1,"#, r#"{"v":1.0,"#),
        (r#""seq":3,"#, r#"{"v":1,"#, r#"{"v":1e0,"#),
        (r#""seq":3,"#, r#"{"v":1,"#, r#"{"v":2,"#),
        (r#""seq":3,"#, r#"{"v":1,"#, r#"{"v":true,"#),
        (r#""seq":3,"#, r#""seq":3,"#, r#""seq":3.0,"#),
        (r#""seq":3,"#, r#""seq":3,"#, r#""seq":"3","#),
        (r#""seq":3,"#, r#"{"v":1,"#, r#"{"v":1,"v":1,"#),
        (r#""seq":3,"#, r#"{"v":1,"#, r#"{"v":1,"x":0,"#),
        (r#""seq":3,"#, r#"{"v":1,"#, r#"{ "v":1,"#),
        (r#""seq":3,"#, r#""recorded_at":"2"#, r#""recorded_at":"２"#),
        (r#""seq":3,"#, r#""effective":"2016"#, r#""effective":"２016"#),
        (r#""seq":3,"#, r#""effective":"2016-04-01""#, r#""effective":"2017-02-29""#),
        (r#""seq":3,"#, r#""effective":"2016-04-01""#, r#""effective":"2016-4-01""#),
        (r#""seq":3,"#, r#""effective":"2016-04-01""#, r#""effective":"10000-04-01""#),
        (r#""seq":3,"#, r#""effective":"2016-04-01""#, r#""effective":"2016-04-01T00:00:00""#),
        (r#""seq":3,"#, r#""prev":""#, r#""prev":"X"#),
        (r#""seq":3,"#, r#""actor":{"id":"clerk","#, r#""actor":{"id":"clerk","x":"","#),
        (r#""seq":3,"#, r#""authority":"庁議""#, r#""authority":"\u5e81議""#),
        (r#""seq":3,"#, r#""authority":"庁議""#, r#""authority":"庁議\/""#),
        (r#""seq":3,"#, r#""authority":"庁議""#, r#""authority":"\ud800""#),
        (r#""type":"PlanCreated""#, r#""code":"131091""#, r#""code":"131092""#),
        (r#""type":"PlanCreated""#, r#""code":"131091""#, r#""code":"481091""#),
        (r#""type":"PlanCreated""#, r#""code":"131091""#, r#""code":"１31091""#),
        (r#""type":"PlanCreated""#, r#""from":2016"#, r#""from":2016.0"#),
        (r#""type":"PlanCreated""#, r#""status":"adopted""#, r#""status":"Adopted""#),
        (r#""type":"PlanCreated""#, r#""plan":"p""#, r#""plan":"-p""#),
        (r#""type":"NodeAdded""#, r#""order":0"#, r#""order":-1"#),
        (r#""type":"NodeAdded""#, r#""order":0"#, r#""order":NaN"#),
        (r#""type":"NodeAdded""#, r#""type":"NodeAdded""#, r#""type":"NodeAddedd""#),
        (r#""type":"MilestoneSet""#, r#""fiscal_year":2017"#, r#""fiscal_year":1867"#),
        (r#""type":"MilestoneSet""#, r#""fiscal_year":2017"#, r#""fiscal_year":2201"#),
        (r#""type":"MilestoneSet""#, r#""fiscal_year":2017"#, r#""fiscal_year":"2017""#),
        (r#""type":"TargetSet""#, r#""value":"3750""#, r#""value":"-0""#),
        (r#""type":"TargetSet""#, r#""value":"3750""#, r#""value":"03750""#),
        (r#""type":"TargetSet""#, r#""value":"3750""#, r#""value":"3.75e3""#),
        (r#""type":"TargetSet""#, r#""value":"3750""#, r#""value":"３750""#),
        (r#""type":"TargetSet""#, r#""value":"3750""#, r#""value":"79228162514264337593543950336""#),
        (r#""type":"TargetSet""#, r#""value":"3750""#, r#""value":"0.00000000000000000000000000001""#),
        (r#""type":"TargetSet""#, r#""comparator":"ge""#, r#""comparator":"GE""#),
        (r#""type":"ProgressReported""#, r#""as_of":"2018-04-01""#, r#""as_of":"2018-04-31""#),
        (r#""type":"Restored""#, r#""compensating":"#, r#""compensating":-"#),
        (r#""axis":"as_of""#, r#""as_of":"20"#, r#""as_of":"２0"#),
    ];
    for (at, old, new) in refused {
        let k = f.seq_of(at);
        let lines = rechained(&f.lines, k, replaced(&f.lines[k], old, new));
        std::fs::write(&file, join(&lines)).unwrap();
        assert_eq!(agree(&s, &format!("{new} at seq {k}"), &[&file]), Verdict::Seq(k as u64), "{new}");
    }
    // Hour 24 and a fraction of other than six digits, in the last line (its instant stays the latest).
    let last = text(&f.lines[n - 1]);
    let at = last.find(r#""recorded_at":""#).unwrap() + 15;
    let instant = &last[at..at + 27];
    let date = &instant[..10];
    for bad in [
        format!("{date}T24:00:00.000000Z"),
        format!("{date}T23:60:00.000000Z"),
        format!("{date}T23:59:59.00000Z"),
        format!("{date}T23:59:59.0000000Z"),
        format!("{date}T23:59:59.000000+00:00"),
        format!("{date} 23:59:59.000000Z"),
    ] {
        let mut lines = f.lines.clone();
        lines[n - 1] = replaced(&lines[n - 1], instant, &bad);
        std::fs::write(&file, join(&lines)).unwrap();
        assert_eq!(agree(&s, &bad, &[&file]), Verdict::Seq(n as u64 - 1), "{bad}");
    }
    // Forms both accept: the fault is then only the changed head.
    for new in [r#""effective":"2016-02-29""#, r#""effective":"0000-02-29""#, r#""effective":"9999-12-31""#] {
        let k = f.seq_of(r#""seq":3,"#);
        let lines = rechained(&f.lines, k, replaced(&f.lines[k], r#""effective":"2016-04-01""#, new));
        std::fs::write(&file, join(&lines)).unwrap();
        let head = EventHash::of(lines.last().unwrap()).to_hex();
        assert_eq!(agree(&s, new, &[&file]), Verdict::Ok { count: n as u64, head }, "{new}");
    }

    // Years outside 0000-9999 and leap seconds: refused (FORMAT.md §3.1) by both.
    let script_refuses = |case: &str, lines: &[Vec<u8>], k: usize| {
        std::fs::write(&file, join(lines)).unwrap();
        assert_eq!(agree(&s, case, &[&file]), Verdict::Seq(k as u64), "{case}");
    };
    let k = f.seq_of(r#""seq":3,"#);
    for new in [r#""effective":"+10000-04-01""#, r#""effective":"-0001-04-01""#] {
        let lines = rechained(&f.lines, k, replaced(&f.lines[k], r#""effective":"2016-04-01""#, new));
        script_refuses(new, &lines, k);
    }
    let r = f.seq_of(r#""axis":"as_of""#);
    let line = text(&f.lines[r]);
    let at = line.find(r#""as_of":""#).unwrap() + 9;
    let as_of = &line[at..at + 27];
    for new in [format!("{}T23:59:60.000000Z", &as_of[..10]), format!("+1{as_of}")] {
        let lines = rechained(&f.lines, r, replaced(&f.lines[r], as_of, &new));
        script_refuses(&new, &lines, r);
    }
    for new in [format!("{date}T23:59:60.000000Z"), format!("+10000{}", &instant[4..])] {
        let mut lines = f.lines.clone();
        lines[n - 1] = replaced(&lines[n - 1], instant, &new);
        script_refuses(&new, &lines, n - 1);
    }
    let p = f.seq_of(r#""type":"ProgressReported""#);
    let lines = rechained(&f.lines, p, replaced(&f.lines[p], r#""as_of":"2018-04-01""#, r#""as_of":"+10000-04-01""#));
    script_refuses("a five-digit as_of", &lines, p);
}

/// The same bytes in base64 with the last character's unused low bit set: a second spelling that a strict decoder
/// refuses (a 32-byte hash leaves two bits unused).
/// The root of the tree of the first `size` lines: what the library checks proofs against, never the root a proof
/// carries.
fn trusted_root(lines: &[Vec<u8>], size: u64) -> [u8; 32] {
    use planledger::core::audit::merkle::{MemoryTree, Rfc6962Sha256};
    let mut tree = MemoryTree::<Rfc6962Sha256>::default();
    for l in &lines[..usize::try_from(size).unwrap()] {
        tree.push(&EventHash::of(l).0);
    }
    tree.root()
}

fn other_trailing_bits(s: &str) -> String {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let (head, tail) = s.split_at(s.len() - 2);
    let i = ALPHABET.find(&tail[..1]).unwrap();
    format!("{head}{}=", &ALPHABET[(i ^ 1)..=(i ^ 1)])
}

/// Whether `plaudit.py` accepts, with its output for messages.
fn plaudit(s: &Scripts, args: &[&str]) -> (bool, String) {
    let o = s.run("plaudit.py", args);
    assert!(matches!(o.status.code(), Some(0 | 1)), "plaudit.py {args:?}: {}", text(&o.stderr));
    (o.status.success(), format!("{}{}", text(&o.stdout), text(&o.stderr)))
}

fn ok_of(o: &Output) -> (bool, String) {
    (o.status.success(), format!("{}{}", text(&o.stdout), text(&o.stderr)))
}

#[test]
fn the_proof_verifier_judges_proofs_as_the_library_does() {
    let s = Scripts::new();
    let f = fixture();
    let n = f.lines.len() as u64;
    let file = f.path("proof.json");
    let file_s = file.to_str().unwrap();
    // The root of the export is the checkpoint's.
    let checkpoint = text(&planledger(&["--data", f.data(), "checkpoint"]).stdout);
    let root = checkpoint.split('\n').nth(2).unwrap();
    let (ok, out) = plaudit(&s, &["root", f.export()]);
    assert!(ok && out.trim() == format!("{n} {root}"), "{out}");

    for seq in [0, 1, n / 2, n - 1] {
        let o = planledger(&["--data", f.data(), "prove", "inclusion", &seq.to_string(), "--json"]);
        assert!(o.status.success());
        let good: Value = serde_json::from_slice(&o.stdout).unwrap();
        let mut cases = vec![("as printed", o.stdout.clone())];
        let mut with = |case: &'static str, change: &dyn Fn(&mut Value)| {
            let mut v = good.clone();
            change(&mut v);
            cases.push((case, serde_json::to_vec_pretty(&v).unwrap()));
        };
        with("another leaf index", &|v| v["leaf_index"] = Value::from((seq + 1) % n));
        with("a tree without the leaf", &|v| v["tree_size"] = Value::from(seq));
        with("an upper-case entry", &|v| v["entry"] = Value::from(v["entry"].as_str().unwrap().to_uppercase()));
        with("another entry", &|v| v["entry"] = Value::from("0".repeat(64)));
        with("an extra field", &|v| v["extra"] = Value::from(1));
        with("a missing field", &|v| {
            v.as_object_mut().unwrap().remove("leaf_hash");
        });
        with("a proof hash dropped", &|v| {
            v["proof"].as_array_mut().unwrap().pop();
        });
        with("a proof hash changed", &|v| {
            v["proof"][0] = Value::from(b64(&[7; 32]));
        });
        with("a root spelt with other trailing bits", &|v| {
            v["root"] = Value::from(other_trailing_bits(v["root"].as_str().unwrap()));
        });
        let compact = text(&serde_json::to_vec(&good).unwrap());
        let size = format!(r#""tree_size":{n}"#);
        cases.push(("a float tree size", compact.replacen(&size, &format!("{size}.0"), 1).into_bytes()));
        cases.push(("a key twice", compact.replacen(&size, &format!("{size},{size}"), 1).into_bytes()));
        for (case, bytes) in cases {
            std::fs::write(&file, &bytes).unwrap();
            let library = serde_json::from_slice::<InclusionProof>(&bytes)
                .map_err(|e| e.to_string())
                .and_then(|p| p.verify_against(n, &trusted_root(&f.lines, n)).map_err(|e| e.to_string()));
            let (ok, out) = plaudit(&s, &["inclusion", file_s, f.export()]);
            assert_eq!(ok, library.is_ok(), "inclusion of {seq}, {case}: {out} / {library:?}");
            assert_eq!(ok, case == "as printed", "inclusion of {seq}, {case}: {out}");
        }
    }
    // A proof that agrees with the root it carries but not with the ledger: refused by both, since each checks it
    // only against the root it recomputes.
    let forged_entry = EventHash::of(b"an event the ledger never held");
    let forged_leaf = {
        use planledger::core::audit::leaf_of;
        b64(&leaf_of(&forged_entry))
    };
    let forged = serde_json::json!({"leaf_index": 0, "tree_size": 1, "entry": forged_entry.to_hex(),
        "leaf_hash": forged_leaf, "root": forged_leaf, "proof": []});
    std::fs::write(&file, serde_json::to_vec(&forged).unwrap()).unwrap();
    let (ok, out) = plaudit(&s, &["inclusion", file_s, f.export()]);
    assert!(!ok, "a self-consistent forged proof passed the script: {out}");
    let p: InclusionProof = serde_json::from_value(forged).unwrap();
    assert!(p.verify_against(1, &trusted_root(&f.lines, 1)).is_err(), "the library took a forged proof");
    for (m, size) in [(1, n), (n / 2, n), (n - 1, n), (n, n), (3, 7)] {
        let o = planledger(&["--data", f.data(), "prove", "consistency", &m.to_string(), &size.to_string(), "--json"]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let good: Value = serde_json::from_slice(&o.stdout).unwrap();
        let mut cases = vec![("as printed", good.clone())];
        let mut with = |case: &'static str, change: &dyn Fn(&mut Value)| {
            let mut v = good.clone();
            change(&mut v);
            cases.push((case, v));
        };
        with("size1 changed", &|v| v["size1"] = Value::from(m + 1));
        with("size1 zero", &|v| v["size1"] = Value::from(0));
        with("root2 spelt with other trailing bits", &|v| {
            v["root2"] = Value::from(other_trailing_bits(v["root2"].as_str().unwrap()));
        });
        with("a proof hash added", &|v| v["proof"].as_array_mut().unwrap().push(Value::from(b64(&[5; 32]))));
        for (case, v) in cases {
            let bytes = serde_json::to_vec_pretty(&v).unwrap();
            std::fs::write(&file, &bytes).unwrap();
            let library = serde_json::from_slice::<ConsistencyProof>(&bytes).map_err(|e| e.to_string()).and_then(|p| {
                let (r1, r2) = (trusted_root(&f.lines, m), trusted_root(&f.lines, size));
                p.verify_between((m, &r1), (size, &r2)).map_err(|e| e.to_string())
            });
            let (ok, out) = plaudit(&s, &["consistency", file_s, f.export()]);
            assert_eq!(ok, library.is_ok(), "consistency {m} {size}, {case}: {out} / {library:?}");
            assert_eq!(ok, case == "as printed", "consistency {m} {size}, {case}: {out}");
        }
    }
}

#[test]
fn the_proof_verifier_judges_every_rfc6962_vector_as_the_reference_does() {
    let s = Scripts::new();
    let driver = s.dir.path().join("vectors.py");
    std::fs::write(
        &driver,
        r#"import base64, json, pathlib, sys
from plaudit import verify_inclusion, verify_consistency
for f in sorted(pathlib.Path(sys.argv[1]).rglob("*.json")):
    v = json.loads(f.read_text())
    b = lambda s: base64.b64decode(s)
    try:
        if "leafIdx" in v:
            verify_inclusion(v["leafIdx"], v["treeSize"], b(v["leafHash"]), [b(p) for p in v["proof"] or []], b(v["root"]))
        else:
            verify_consistency(v["size1"], v["size2"], [b(p) for p in v["proof"] or []], b(v["root1"]), b(v["root2"]))
        err = False
    except ValueError:
        err = True
    print(json.dumps({"file": str(f), "err": err, "want": v["wantErr"]}))
"#,
    )
    .unwrap();
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc6962");
    let o = Process::new("python3").arg(&driver).arg(&vectors).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let results: Vec<Value> = text(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(results.len() > 160, "vectors missing: {}", results.len());
    for r in &results {
        assert_eq!(r["err"], r["want"], "{}", r["file"]);
    }
}

/// A note of `text` signed by the example key, whatever the text holds.
fn signed(text: &str) -> String {
    use ed25519_dalek::Signer;
    let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
    let mut blob = 0x8a60_b61e_u32.to_be_bytes().to_vec();
    blob.extend(ed25519_dalek::SigningKey::from_bytes(&seed).sign(text.as_bytes()).to_bytes());
    format!("{text}\n\u{2014} planledger.example.lg.jp/demo {}\n", b64(&blob))
}

#[test]
fn the_proof_verifier_opens_checkpoints_as_the_binary_does() {
    let s = Scripts::new();
    let f = fixture();
    let note = f.path("note.txt");
    let key = f.path("key.txt");
    std::fs::write(&key, format!("{PUBLIC_KEY}\n")).unwrap();
    let (note_s, key_s) = (note.to_str().unwrap(), key.to_str().unwrap());
    let checkpoint = text(&planledger(&["--data", f.data(), "checkpoint"]).stdout);
    assert_eq!(text(&planledger(&["--data", f.data(), "pubkey"]).stdout).trim(), PUBLIC_KEY);
    let body = checkpoint.split("\n\n").next().unwrap().to_string() + "\n";
    let (origin, rest) = body.split_once('\n').unwrap();
    let (size, root) = rest.trim_end().split_once('\n').unwrap();
    let other = NoteSigner::from_seed("witness.example/w", [9; 32]).unwrap();
    let witness = |t: &str| other.sign(t).unwrap().split("\n\n").nth(1).unwrap().to_string();
    let cases: Vec<(&str, String)> = vec![
        ("as the ledger signed it", checkpoint.clone()),
        ("re-signed", signed(&body)),
        ("with an extension line", signed(&format!("{body}extension\n"))),
        ("with an empty extension line", signed(&format!("{body}\nextension\n"))),
        ("with an empty line at the end of its text", signed(&format!("{body}\n"))),
        ("with an empty line before the size", signed(&format!("{origin}\n\n{size}\n{root}\n"))),
        ("with a size of a leading zero", signed(&format!("{origin}\n0{size}\n{root}\n"))),
        ("with a size with a plus", signed(&format!("{origin}\n+{size}\n{root}\n"))),
        ("with a changed size", checkpoint.replacen(&format!("\n{size}\n"), "\n1\n", 1)),
        ("with another origin", signed(&format!("other.example/log\n{size}\n{root}\n"))),
        ("without its final newline", checkpoint.trim_end_matches('\n').to_string()),
        (
            "a witness's signature first",
            format!("{body}\n{}{}", witness(&body), signed(&body).split("\n\n").nth(1).unwrap()),
        ),
        ("a witness's signature after", format!("{checkpoint}{}", witness(&body))),
        ("a blank line between two signatures", format!("{checkpoint}\n{}", witness(&body))),
        ("only a witness's signature", format!("{body}\n{}", witness(&body))),
        ("with a control character", signed(&format!("{body}ext\u{7}\n"))),
    ];
    for (case, n) in &cases {
        std::fs::write(&note, n).unwrap();
        let ours = ok_of(&planledger(&["verify", "--file", f.export(), "--checkpoint", note_s, "--pubkey", key_s]));
        let script = plaudit(&s, &["checkpoint", note_s, key_s]);
        assert_eq!(script.0, ours.0, "a checkpoint {case}: {} / {}", script.1, ours.1);
        let accepted = ["as the ledger signed it", "re-signed", "with an extension line"];
        let witnessed = ["a witness's signature first", "a witness's signature after"];
        assert_eq!(ours.0, accepted.contains(case) || witnessed.contains(case), "a checkpoint {case}: {}", ours.1);
    }
    // The key inline, and with its key id in upper case (both accept it); cut at the `+` inside its base64, as a
    // reader splitting at every `+` would take it, it is refused.
    std::fs::write(&note, &checkpoint).unwrap();
    let (name, rest) = PUBLIC_KEY.split_once('+').unwrap();
    let (id, b) = rest.split_once('+').unwrap();
    let cut = PUBLIC_KEY[..PUBLIC_KEY.rfind('+').unwrap()].to_string();
    for (k, accepted) in
        [(PUBLIC_KEY.to_string(), true), (format!("{name}+{}+{b}", id.to_uppercase()), true), (cut, false)]
    {
        let ours = ok_of(&planledger(&["verify", "--file", f.export(), "--checkpoint", note_s, "--pubkey", &k]));
        let script = plaudit(&s, &["checkpoint", note_s, &k]);
        assert_eq!(script.0, ours.0, "key {k}: {} / {}", script.1, ours.1);
        assert_eq!(ours.0, accepted, "key {k}: {}", ours.1);
    }
}

#[test]
fn the_proof_verifier_judges_bundles_and_snapshots_as_the_binary_does() {
    let s = Scripts::new();
    let f = fixture();
    let file = f.path("b.json");
    let file_s = file.to_str().unwrap();
    let n = f.lines.len() as u64;
    for seq in [0, n / 2, n - 1] {
        let o = planledger(&["--data", f.data(), "bundle", &seq.to_string(), "--out", file_s]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let good: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let mut cases = vec![("as written", text(&serde_json::to_vec_pretty(&good).unwrap()))];
        let mut with = |case: &'static str, change: &dyn Fn(&mut Value)| {
            let mut v = good.clone();
            change(&mut v);
            cases.push((case, text(&serde_json::to_vec_pretty(&v).unwrap())));
        };
        with("another format", &|v| v["format"] = Value::from("planledger-bundle/2"));
        with("another leaf index", &|v| v["leaf_index"] = Value::from((seq + 1) % n));
        with("another tree size", &|v| v["tree_size"] = Value::from(n - 1));
        with("an extra field", &|v| v["x"] = Value::Null);
        with("an event of version 1.0", &|v| {
            v["event"] = Value::from(v["event"].as_str().unwrap().replacen(r#"{"v":1,"#, r#"{"v":1.0,"#, 1));
        });
        with("an event with a space", &|v| {
            v["event"] = Value::from(v["event"].as_str().unwrap().replacen(r#"{"v":1,"#, r#"{"v": 1,"#, 1));
        });
        with("an event of hour 24", &|v| {
            let e = v["event"].as_str().unwrap();
            let at = e.find(r#""recorded_at":""#).unwrap() + 26;
            v["event"] = Value::from(format!("{}24{}", &e[..at], &e[at + 2..]));
        });
        with("a proof hash changed", &|v| {
            if let Some(p) = v["proof"].as_array_mut().unwrap().first_mut() {
                *p = Value::from(b64(&[1; 32]));
            } else {
                v["proof"] = Value::from(vec![b64(&[1; 32])]);
            }
        });
        with("a checkpoint of another size", &|v| {
            let c = v["checkpoint"].as_str().unwrap();
            v["checkpoint"] = Value::from(c.replacen(&format!("\n{n}\n"), &format!("\n{}\n", n + 1), 1));
        });
        let index = format!(r#""leaf_index": {seq},"#);
        cases.push(("a float leaf index", cases[0].1.replacen(&index, &format!(r#""leaf_index": {seq}.0,"#), 1)));
        for (case, json) in cases {
            std::fs::write(&file, json).unwrap();
            let ours = ok_of(&planledger(&["verify-bundle", file_s, "--pubkey", PUBLIC_KEY]));
            let script = plaudit(&s, &["bundle", file_s, PUBLIC_KEY]);
            assert_eq!(script.0, ours.0, "bundle of seq {seq}, {case}: {} / {}", script.1, ours.1);
            assert_eq!(ours.0, case == "as written", "bundle of seq {seq}, {case}: {}", ours.1);
        }
    }

    let snap = f.path("s.json");
    let snap_s = snap.to_str().unwrap();
    let o = planledger(&["--data", f.data(), "snapshot", "p", "--version", "adopted 2016-04-01", "--out", snap_s]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let good: Value = serde_json::from_slice(&std::fs::read(&snap).unwrap()).unwrap();
    let mut cases = vec![("as written", good.clone())];
    let mut with = |case: &'static str, change: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        change(&mut v);
        cases.push((case, v));
    };
    with("without attestation", &|v| v["attestation"] = Value::Null);
    with("with seq changed", &|v| v["seq"] = Value::from(v["seq"].as_u64().unwrap() - 1));
    with("with tree_size changed", &|v| v["tree_size"] = Value::from(v["tree_size"].as_u64().unwrap() + 1));
    with("with head_hash changed", &|v| v["head_hash"] = Value::from("0".repeat(64)));
    with("with root changed", &|v| v["root"] = Value::from(b64(&[2; 32])));
    with("with another version", &|v| v["version"] = Value::from("adopted"));
    with("with another plan", &|v| v["plan"] = Value::from("q"));
    with("with another format", &|v| v["format"] = Value::from("planledger-snapshot/2"));
    with("with an extra field", &|v| v["x"] = Value::from(0));
    with("with a consistency size changed", &|v| {
        v["attestation"]["consistency"]["size2"] = Value::from(n - 1);
    });
    with("with a consistency proof hash changed", &|v| {
        v["attestation"]["consistency"]["proof"][0] = Value::from(b64(&[3; 32]));
    });
    with("with a checkpoint of another size", &|v| {
        let c = v["attestation"]["checkpoint"].as_str().unwrap();
        v["attestation"]["checkpoint"] = Value::from(c.replacen(&format!("\n{n}\n"), "\n1\n", 1));
    });
    for (case, v) in cases {
        std::fs::write(&snap, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
        let ours = ok_of(&planledger(&["verify-snapshot", snap_s, "--ledger", f.export(), "--pubkey", PUBLIC_KEY]));
        let script = plaudit(&s, &["snapshot", snap_s, PUBLIC_KEY, f.export()]);
        assert_eq!(script.0, ours.0, "a snapshot {case}: {} / {}", script.1, ours.1);
        assert_eq!(ours.0, ["as written", "without attestation"].contains(&case), "a snapshot {case}: {}", ours.1);
    }
}

#[test]
fn the_file_name_script_names_files_as_the_binary_does() {
    let s = Scripts::new();
    let names = [
        "adopted 2016-04-01",
        "品川区総合実施計画 平成28年度～平成30年度（第4次） 発行月 平成28年4月",
        "基本構想検討シート ： 行財政運営分野／情報政策分野",
        "con",
        "CON",
        "com7",
        "lpt0x",
        "a%b.c",
        "ガ",
        "か\u{3099}",
        "draft 3月1日時点",
        "Ａ１２",
        "shinagawa-jisshi-4",
    ];
    let driver = s.dir.path().join("stems.py");
    std::fs::write(&driver, "import json, sys\nexec(open(sys.argv[1], encoding='utf-8').read())\nfor n in json.loads(sys.argv[2]): print(stem(n))\n")
        .unwrap();
    let o = Process::new("python3")
        .arg(&driver)
        .arg(s.dir.path().join("stem.py"))
        .arg(serde_json::to_string(&names).unwrap())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stems: Vec<String> = text(&o.stdout).lines().map(str::to_string).collect();
    assert_eq!(stems.len(), names.len());
    for (name, stem) in names.iter().zip(&stems) {
        assert_eq!(stem, &planledger::core::published::file_stem("v", name).unwrap(), "{name}");
    }
}
