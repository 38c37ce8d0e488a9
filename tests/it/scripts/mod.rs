//! The reference scripts of docs/FORMAT.md (§9 chain verifier, §16 proof verifier, §17.3 file names), taken from the
//! page as printed and run with python3: on a good ledger and on tampered ledger files, proofs, checkpoints, bundles
//! and snapshots, each reaches the verdict that `planledger` reaches on the same input.

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Output};

use chrono::NaiveDate;
use planledger::core::audit::note::NoteSigner;
use planledger::core::domain::model::{Detail, Meta};
use planledger::core::domain::{Command, EventHash};
use planledger::core::record::split_lines;
use planledger::store::ledger::{AppendRequest, Ledger, Precondition};
use planledger::store::restore::{RestoreRequest, restore_blocking};
use serde_json::Value;

use crate::support::{add_node, append, bin, create_plan, define, meta, set_target};

mod chain;
mod proofs;

/// The example key of FORMAT.md §15 (its seed is published: never use it for a real ledger). The base64 of its
/// public key holds a `+`, so every verifier key parse here splits at the first two `+` only.
pub(super) const PRIVATE_KEY: &str =
    "PRIVATE+KEY+planledger.example.lg.jp/demo+8a60b61e+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f";
pub(super) const PUBLIC_KEY: &str =
    "planledger.example.lg.jp/demo+8a60b61e+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";

/// The fenced Python block under `heading` in docs/FORMAT.md, before the next heading of its level or above.
pub(super) fn embedded_script(heading: &str) -> String {
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
pub(crate) struct Scripts {
    pub(super) dir: tempfile::TempDir,
}

impl Scripts {
    pub(crate) fn new() -> Self {
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

    pub(crate) fn run(&self, script: &str, args: &[&str]) -> Output {
        Process::new("python3").arg(self.dir.path().join(script)).args(args).output().unwrap()
    }
}

pub(super) fn planledger(args: &[&str]) -> Output {
    Process::new(bin()).args(args).output().unwrap()
}

pub(super) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// What a verification of ledger files concluded: accepted with a head, or the first bad seq, or the file that is
/// not a ledger file, or another exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
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

pub(super) fn verdict(o: &Output) -> Verdict {
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
pub(super) struct Fixture {
    pub(super) tmp: tempfile::TempDir,
    pub(super) data: PathBuf,
    pub(super) export: PathBuf,
    pub(super) lines: Vec<Vec<u8>>,
}

impl Fixture {
    pub(super) fn data(&self) -> &str {
        self.data.to_str().unwrap()
    }

    pub(super) fn export(&self) -> &str {
        self.export.to_str().unwrap()
    }

    pub(super) fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// The seq of the first record whose line contains `needle`.
    pub(super) fn seq_of(&self, needle: &str) -> usize {
        self.lines.iter().position(|l| text(l).contains(needle)).unwrap_or_else(|| panic!("no line contains {needle}"))
    }
}

pub(super) fn on(effective: (i32, u32, u32), reason: Option<&str>) -> Meta {
    Meta { effective: NaiveDate::from_ymd_opt(effective.0, effective.1, effective.2), ..meta(reason) }
}

pub(super) fn restore(l: &Ledger, target: &str, to: &str) {
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

pub(super) fn fixture() -> Fixture {
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

pub(super) fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    lines.iter().flat_map(|l| l.iter().copied().chain([b'\n'])).collect()
}

/// `lines` with line `k` replaced by `new` and every later `prev` set to the hash of the line before it, so that
/// the value form of line `k` is the only fault.
pub(super) fn rechained(lines: &[Vec<u8>], k: usize, new: Vec<u8>) -> Vec<Vec<u8>> {
    let mut out = lines.to_vec();
    out[k] = new;
    for i in k + 1..out.len() {
        let h = EventHash::of(&out[i - 1]).to_hex();
        let at = text(&out[i]).find(r#""prev":""#).unwrap() + 8;
        out[i].splice(at..at + 64, h.bytes());
    }
    out
}

pub(super) fn replaced(line: &[u8], old: &str, new: &str) -> Vec<u8> {
    let s = text(line);
    assert!(s.contains(old), "{old} is not in {s}");
    s.replacen(old, new, 1).into_bytes()
}

/// The verdicts of `planledger verify --file` and of the §9 script on the same files.
pub(super) fn both(s: &Scripts, flags: &[&str], files: &[&Path]) -> (Verdict, Verdict) {
    let files: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
    let mut args = vec!["verify", "--file"];
    args.extend(&files);
    args.extend(flags);
    let mut script_args = flags.to_vec();
    script_args.extend(&files);
    (verdict(&planledger(&args)), verdict(&s.run("verify_chain.py", &script_args)))
}

pub(super) fn agree(s: &Scripts, case: &str, files: &[&Path]) -> Verdict {
    agree_with(s, case, &[], files)
}

pub(super) fn agree_with(s: &Scripts, case: &str, flags: &[&str], files: &[&Path]) -> Verdict {
    let (ours, script) = both(s, flags, files);
    assert_eq!(script, ours, "{case}: the §9 script and planledger disagree");
    ours
}
