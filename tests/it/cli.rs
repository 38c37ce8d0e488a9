//! The command line end to end: init, import, show, history, time travel, writes, refusals and exit codes.

use std::process::{Command, Output};

use crate::support::bin;

fn run(data: &str, args: &[&str]) -> Output {
    Command::new(bin()).arg("--data").arg(data).args(args).output().unwrap()
}

fn ok(data: &str, args: &[&str]) -> String {
    let o = run(data, args);
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

const WHO: [&str; 8] =
    ["--actor", "kikaku-01", "--actor-name", "企画課 担当", "--department", "企画課", "--authority", "庁議"];

#[test]
fn quick_start_tour() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let d = d.to_str().unwrap();
    let ev = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    ok(d, &["init"]);
    let files: Vec<String> = (1..=5)
        .map(|i| {
            std::fs::read_dir(&ev)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with(&format!("0{i}-")))
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    let mut args = vec!["import"];
    args.extend(files.iter().map(String::as_str));
    assert!(ok(d, &args).contains("imported 577 events"));
    let plans = ok(d, &["plans"]);
    assert!(plans.contains("品川区総合実施計画（第4次）"), "{plans}");
    let show = ok(d, &["show", "shinagawa-jisshi-4"]);
    assert!(show.contains("2016年度（平成28年度）  目標 60%以上"), "{show}");
    let ind = "shinagawa-jisshi-4.6-1-1-2-r3.kpi1";
    assert!(show.contains(ind), "{show}");

    // A mid-term revision with reason and authority, effective from the next fiscal year.
    let before = ok(d, &["show", "shinagawa-jisshi-4", "--json"]);
    let mut a = vec!["target", "set", ind, "2018", "62以上", "--reason", "中間見直し", "--effective", "2017-04-01"];
    a.extend(WHO);
    assert!(ok(d, &a).contains("appended seq 577"));
    let hist = ok(d, &["history", ind]);
    assert!(hist.contains("目標 2018年度（平成30年度）: 65%以上 → 62%以上"), "{hist}");
    assert!(hist.contains("理由 reason: 中間見直し") && hist.contains("根拠 authority: 庁議"), "{hist}");
    let json: serde_json::Value = serde_json::from_str(&ok(d, &["history", ind, "--json"])).unwrap();
    assert_eq!(json.as_array().unwrap().last().unwrap()["actor"]["id"], "kikaku-01");

    // Time travel: at the seq before the revision, and on the day before it took effect.
    let past: serde_json::Value =
        serde_json::from_str(&ok(d, &["show", "shinagawa-jisshi-4", "--json", "--at", "576"])).unwrap();
    // 200 transcribed events and the seed's named version.
    assert_eq!(past["plan"]["version"], 201, "the plan as it stood before the revision");
    let at = ok(d, &["show", "shinagawa-jisshi-4", "--at", "576"]);
    assert!(at.contains("past view: seq 576") && at.contains("2018年度（平成30年度）  目標 65%以上"), "{at}");
    let eff = ok(d, &["show", "shinagawa-jisshi-4", "--effective", "2017-03-31"]);
    assert!(eff.contains("2018年度（平成30年度）  目標 65%以上"), "{eff}");
    assert!(eff.contains("phase on 2017-03-31: 計画期間中（in force）"), "{eff}");
    let ended = ok(d, &["show", "shinagawa-jisshi-4", "--effective", "2019-04-01"]);
    assert!(ended.contains("phase on 2019-04-01: 計画期間終了（period ended）"), "{ended}");
    let eff = ok(d, &["show", "shinagawa-jisshi-4", "--effective", "平成29年度"]);
    assert!(eff.contains("2018年度（平成30年度）  目標 62%以上"), "{eff}");
    assert_ne!(before, ok(d, &["show", "shinagawa-jisshi-4", "--json"]));
    assert!(ok(d, &["verify"]).starts_with("ok: 578 events"));
}

#[test]
fn refusals_exit_2_name_the_field_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    ok(d, &["init"]);
    let plan_create = |code: &'static str, period: &[&'static str]| {
        let mut a = vec![
            "plan",
            "create",
            "p",
            "--municipality",
            "品川区",
            "--code",
            code,
            "--title",
            "t",
            "--kind",
            "実施計画",
        ];
        a.extend_from_slice(period);
        a.extend(WHO);
        a
    };
    let o = run(d, &plan_create("131092", &[]));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("municipality_code: check digit is 2 but should be 1"));
    ok(d, &plan_create("131091", &["--from", "2016", "--to", "2018"]));
    let mut a = vec!["node", "add", "p", "p.n", "--title", "施策"];
    a.extend(WHO);
    ok(d, &a);
    let mut a = vec!["indicator", "define", "p.i", "--node", "p.n", "--name", "件数", "--unit", "件"];
    a.extend(WHO);
    ok(d, &a);
    let mut a = vec!["target", "set", "p.i", "平成28年度", "10"];
    a.extend(WHO);
    ok(d, &a);
    for (args, needle) in [
        (vec!["target", "set", "p.i", "2016", "12"], "reason: a target revision needs a reason"),
        (
            vec!["target", "set", "p.i", "2019", "12"],
            "fiscal_year: 2019年度（令和元年度） lies outside the plan period",
        ),
        (vec!["target", "set", "p.i", "令和0年度", "12"], "fiscal_year: 令和 has no year 0"),
        (vec!["target", "set", "p.x", "2016", "12"], "indicator: indicator p.x does not exist"),
        (vec!["progress", "report", "p.nope", "2016", "3"], "indicator: indicator p.nope does not exist"),
        (vec!["node", "add", "p", "p.n", "--title", "重複"], "node: node id p.n is already used"),
        (vec!["target", "set", "p.i", "2017", "1e3"], "target: is not an exact decimal"),
    ] {
        let mut a = args.clone();
        a.extend(WHO);
        let o = run(d, &a);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert!(ok(d, &["verify"]).starts_with("ok: 4 events"), "refusals appended nothing");
    let o = run(d, &["show", "nope"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn import_plan_reports_every_error_with_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let d = d.to_str().unwrap();
    ok(d, &["init"]);
    let table = dir.path().join("plan.toml");
    std::fs::write(
        &table,
        r#"format = 1
[plan]
id = "t"
municipality = "品川区"
municipality_code = "131091"
title = "試験"
kind = "実施計画"
period = [2016, 2018]
status = "adopted"

[[node]]
id = "a"
title = "施策"
milestones = { 2020 = "範囲外" }

[[indicator]]
id = "k"
node = "a"
name = "件数"
targets = { 2016 = "十", 2017 = "5以上" }
"#,
    )
    .unwrap();
    let o = run(d, &["import-plan", table.to_str().unwrap(), "--actor", "importer", "--effective", "2016-04-01"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("plan.toml:11: set_milestone.fiscal_year: 2020年度（令和2年度） lies outside"), "{err}");
    assert!(err.contains("plan.toml:16: set_target.target:"), "{err}");
    assert!(ok(d, &["verify"]).starts_with("ok: 0 events"));
    std::fs::write(
        &table,
        std::fs::read_to_string(&table).unwrap().replace("2020 = ", "2016 = ").replace("\"十\"", "\"10\""),
    )
    .unwrap();
    let out = ok(d, &["import-plan", table.to_str().unwrap(), "--actor", "importer", "--effective", "2016-04-01"]);
    assert!(out.contains("appended 6 events"), "{out}");
}

#[test]
fn seed_ledger_files_rebuild_identically() {
    let root = env!("CARGO_MANIFEST_DIR");
    let o = Command::new(bin()).current_dir(root).args(["build-seeds", "--check"]).output().unwrap();
    assert!(o.status.success(), "{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    // Five ledger files and the five seed snapshots.
    assert_eq!(String::from_utf8_lossy(&o.stdout).matches("same ").count(), 10);
}

#[test]
fn regression_serve_ended_when_its_stdout_was_closed() {
    // Postmortem: `serve` printed a second line after its URL; a caller that read the URL and closed the pipe made
    // that print fail, and the server ended with exit 141 as a command with a closed stdout does.
    use std::io::{BufRead, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin())
        .args(["serve", "--addr", "127.0.0.1:0", "--seeds", "events/seeds.toml", "--data"])
        .arg(dir.path().join("data"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let host = loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "serve printed no URL");
        if let Some(u) = line.split_whitespace().find_map(|w| w.strip_prefix("http://")) {
            break u.split('/').next().unwrap().to_string();
        }
    };
    drop(out);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "serve ended when its stdout was closed");
    let mut s = std::net::TcpStream::connect(&host).unwrap();
    s.write_all(format!("GET /api/plans HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success());
}
