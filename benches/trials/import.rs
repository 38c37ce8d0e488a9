//! Kills during `planledger import`: a file of valid lines that continue the ledger (made by appending to a copy of
//! the data dir through the library, then reading the new lines back), imported by the CLI and SIGKILLed at a
//! random moment. Afterwards the ledger must hold every line of the file or none of it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use planledger::core::domain::Command as PlanCommand;
use planledger::core::domain::model::{Actor, Meta};
use planledger::store::Ledger;
use planledger::store::ledger::AppendRequest;

use crate::Fail;
use crate::server::bin;
use crate::work::plan;

/// An import whose outcome the next server must show.
pub struct Pending {
    /// Events in the ledger before the import.
    pub before: u64,
    pub lines: Vec<Vec<u8>>,
    /// Whether the kill came before the import ended (else it finished and must have imported everything).
    pub killed: bool,
}

/// How an import stood after its kill, as read back from the ledger.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    All,
    None,
    /// The first `n` lines of the file only.
    Partial(usize),
    /// Something else follows the old head: lines not of the file.
    Other,
}

/// Compares the events after `before` with the file's lines.
pub fn outcome(p: &Pending, after: &[Vec<u8>]) -> Outcome {
    let same = p.lines.iter().zip(after).take_while(|(a, b)| a == b).count();
    if same == p.lines.len() {
        Outcome::All
    } else if same > 0 {
        Outcome::Partial(same)
    } else if after.first().is_some_and(|l| l.windows(8).any(|w| w == b"\"import ")) {
        Outcome::Other
    } else {
        Outcome::None
    }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        // The admin socket a killed server left behind is no file to copy.
        if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

/// `count` new lines that continue the ledger in `dir` (which no process holds), and the ledger's length.
pub fn make_lines(
    dir: &Path,
    scratch: &Path,
    writers: usize,
    count: usize,
    tag: u64,
) -> Result<(u64, Vec<Vec<u8>>), Fail> {
    if scratch.exists() {
        std::fs::remove_dir_all(scratch)?;
    }
    copy_tree(dir, scratch)?;
    let ledger = Ledger::open(scratch)?;
    let before = ledger.head().len;
    let mut made = 0;
    while made < count {
        let n = (count - made).min(10);
        // One plan per request, as the API's batches have it.
        let node = format!("{}.m", plan((made / 10) % writers));
        let commands = (0..n)
            .map(|i| PlanCommand::ReviseNodeText { node: node.clone(), text: format!("取込 {tag}.{}", made + i) })
            .collect();
        let meta = Meta {
            actor: Actor { id: "trials-import".into(), name: "取込試行".into(), department: "企画課".into() },
            authority: None,
            reason: Some(format!("import {tag}.{made}")),
            effective: None,
        };
        ledger.append_blocking(AppendRequest::new(commands, meta))?;
        made += n;
    }
    let lines: Vec<Vec<u8>> = ledger.read_events(before, made as u64)?.into_iter().map(|(_, b)| b).collect();
    ledger.close();
    std::fs::remove_dir_all(scratch)?;
    if lines.len() != count {
        return Err(format!("the copy gave {} lines, not {count}", lines.len()).into());
    }
    Ok((before, lines))
}

/// What one `import` run did before its kill.
pub struct Ran {
    pub killed: bool,
    pub elapsed: Duration,
    /// A finished import's failure (it must succeed).
    pub failed: Option<String>,
}

/// When an import is killed.
#[derive(Clone, Copy, Debug)]
pub enum When {
    /// This long after it starts.
    After(Duration),
    /// This long after its record file starts to grow: sled has committed, the lines are being appended.
    RecordsGrow(Duration),
}

/// The total size of the record files in `dir`.
fn records_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir.join("records"))
        .map(|rd| rd.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

/// Runs `planledger import FILE` on `dir` and SIGKILLs it at `when` unless it ended first.
pub fn run(dir: &Path, file: &Path, when: When) -> Result<Ran, Fail> {
    let start = Instant::now();
    let size = records_size(dir);
    let mut grew: Option<Instant> = None;
    let mut child = Command::new(bin())
        .arg("--data")
        .arg(dir)
        .arg("import")
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    loop {
        if let Some(status) = child.try_wait()? {
            let elapsed = start.elapsed();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            let failed = (!status.success()).then(|| format!("import exited with {status}: {}", err.trim()));
            return Ok(Ran { killed: false, elapsed, failed });
        }
        let due = match when {
            When::After(d) => start.elapsed() >= d,
            When::RecordsGrow(d) => {
                if grew.is_none() && records_size(dir) != size {
                    grew = Some(Instant::now());
                }
                grew.is_some_and(|g| g.elapsed() >= d)
            }
        };
        if due {
            child.kill()?;
            child.wait()?;
            return Ok(Ran { killed: true, elapsed: start.elapsed(), failed: None });
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}
