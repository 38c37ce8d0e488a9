//! Helpers shared by the integration tests.

use chrono::NaiveDate;
use planledger::core::domain::Command;
use planledger::core::domain::model::{Actor, Meta};
use planledger::store::ledger::{AppendRequest, Appended, Ledger, LedgerError};

pub fn meta(reason: Option<&str>) -> Meta {
    Meta {
        actor: Actor { id: "clerk".into(), name: "企画課 担当".into(), department: "企画課".into() },
        authority: Some("庁議".into()),
        reason: reason.map(str::to_string),
        effective: NaiveDate::from_ymd_opt(2016, 4, 1),
    }
}

pub fn req(commands: Vec<Command>) -> AppendRequest {
    AppendRequest::new(commands, meta(Some("test")))
}

pub fn append(l: &Ledger, c: Command) -> Result<Appended, LedgerError> {
    l.append_blocking(req(vec![c]))
}

pub fn create_plan(id: &str) -> Command {
    Command::CreatePlan {
        plan: id.into(),
        municipality: "品川区".into(),
        municipality_code: "131091".into(),
        title: "試験計画".into(),
        kind: "実施計画".into(),
        period_from: Some("2016".into()),
        period_to: Some("2018".into()),
        status: "adopted".into(),
        levels: vec!["施策".into()],
        predecessor: None,
    }
}

pub fn add_node(plan: &str, node: &str) -> Command {
    Command::AddNode {
        plan: plan.into(),
        node: node.into(),
        parent: None,
        order: None,
        code: "1".into(),
        title: "施策".into(),
        text: String::new(),
        details: vec![],
        departments: vec!["企画課".into()],
    }
}

pub fn define(ind: &str, node: &str) -> Command {
    Command::DefineIndicator {
        indicator: ind.into(),
        node: node.into(),
        name: "指標".into(),
        unit: "件".into(),
        direction: "higher".into(),
        cumulative: false,
        note: String::new(),
    }
}

pub fn set_target(ind: &str, year: &str, t: &str) -> Command {
    Command::SetTarget { indicator: ind.into(), fiscal_year: year.into(), target: t.into() }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_planledger")
}

/// Opens a closed ledger's sled store directly (to damage it on purpose). sled lets go of its file lock
/// asynchronously after the last handle is dropped on another thread, so a busy machine can still see it held for
/// a moment: wait for it, as `Log::open` does.
pub fn open_sled(dir: &std::path::Path) -> sled::Db {
    let start = std::time::Instant::now();
    loop {
        match sled::open(dir.join("sled")) {
            Ok(db) => return db,
            Err(e) if e.to_string().contains("could not acquire lock") && start.elapsed().as_secs() < 10 => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("opening the sled store: {e}"),
        }
    }
}

/// The typed entity a stored index key (`plan:…`, `node:…`, `indicator:…`) names.
pub fn entity(key: &str) -> planledger::core::domain::Entity {
    use planledger::core::domain::{Entity, IndicatorId, NodeId, PlanId};
    match key.split_once(':') {
        Some(("plan", id)) => Entity::Plan(PlanId::new(id).unwrap()),
        Some(("node", id)) => Entity::Node(NodeId::new(id).unwrap()),
        Some(("indicator", id)) => Entity::Indicator(IndicatorId::new(id).unwrap()),
        _ => panic!("not an entity key: {key}"),
    }
}

/// Copies a folder and everything in it.
/// Records in a data dir's record file, counted from its segment files (complete lines only).
pub fn record_file_lines(data: &std::path::Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(data.join("records")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "jsonl") {
            n += std::fs::read(&p).unwrap().iter().filter(|b| **b == b'\n').count();
        }
    }
    n
}

pub fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Starts `serve` on a free port; returns the child and its host:port.
/// A running `serve`, killed if a test fails before it stops it.
pub struct Served(Option<std::process::Child>);

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn serve(data: &std::path::Path) -> (Served, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(crate::support::bin())
        .args(["serve", "--addr", "127.0.0.1:0", "--seeds", "events/seeds.toml", "--data"])
        .arg(data)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    for _ in 0..10 {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(u) = line.split_whitespace().find_map(|w| w.strip_prefix("http://")) {
            let host = u.split('/').next().unwrap().to_string();
            // Keep reading what it prints, so the server never blocks on a full pipe.
            std::thread::spawn(move || for _ in out.lines() {});
            return (Served(Some(child)), host);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("serve printed no URL");
}

pub fn stop(mut served: Served) {
    let mut child = served.0.take().unwrap();
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success());
}

pub fn cli(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(crate::support::bin()).arg("--data").arg(data).args(args).output().unwrap()
}
