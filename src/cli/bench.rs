//! `planledger bench`: durable append throughput (group commit, several writers), the raw-sled reference on the
//! same bytes, and full replay throughput. Also the driver of the crash test (`--print-acks`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;

use planledger::ledger::{AppendRequest, Ledger};
use planledger::synth;

#[derive(Args)]
pub struct BenchArgs {
    /// Events to append in total.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Concurrent writers (each on its own synthetic plan).
    #[arg(long, default_value_t = 64)]
    writers: usize,
    /// Print `ack SEQ HASH` for every acknowledged event, flushed at once (used by the crash test).
    #[arg(long)]
    print_acks: bool,
    /// Only append (no reference, no replay); with --print-acks this is the crash-test child.
    #[arg(long)]
    append_only: bool,
    /// Where the raw-sled reference writes (default: a directory beside the data dir).
    #[arg(long)]
    reference_dir: Option<PathBuf>,
}

pub fn run(data: &Path, a: BenchArgs) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let ledger = Ledger::open(data).with_context(|| format!("opening {}", data.display()))?;
    let start_len = ledger.head().len;
    let per = a.events.div_ceil(a.writers.max(1));
    let nonce = format!("{start_len}-{}", std::process::id());
    let t0 = Instant::now();
    let print_acks = a.print_acks;
    rt.block_on(async {
        let mut tasks = Vec::new();
        for w in 0..a.writers.max(1) {
            let ledger = ledger.clone();
            let cmds = synth::workload(&format!("{nonce}-w{w}"), per);
            tasks.push(tokio::spawn(async move {
                for c in cmds {
                    let req = AppendRequest {
                        commands: vec![c],
                        meta: synth::meta(),
                        expected_version: None,
                        idempotency_key: None,
                    };
                    let out = ledger.append(req).await?;
                    if print_acks {
                        let mut so = std::io::stdout().lock();
                        for e in &out.events {
                            writeln!(so, "ack {} {}", e.seq, e.hash)?;
                        }
                        so.flush()?;
                    }
                }
                anyhow::Ok(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        anyhow::Ok(())
    })?;
    let append_secs = t0.elapsed().as_secs_f64();
    let appended = ledger.head().len - start_len;
    if a.append_only {
        ledger.close();
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "durable append: {appended} events from {} writers in {append_secs:.2} s = {:.0} events/s",
        a.writers,
        appended as f64 / append_secs
    );

    // The reference: the same bytes inserted into a bare sled tree, made durable with the same flush + fsync per
    // batch as the ledger used (batch size = the writers' concurrency, the most a group commit can gather).
    let bytes: Vec<Vec<u8>> =
        ledger.read_events(start_len, u64::MAX).map_err(anyhow::Error::from)?.into_iter().map(|(_, b)| b).collect();
    let refdir = a.reference_dir.clone().unwrap_or_else(|| data.with_extension("sled-reference"));
    let _ = std::fs::remove_dir_all(&refdir);
    let db = sled::Config::new().path(&refdir).open()?;
    let tree = db.open_tree("events")?;
    let dbfile = std::fs::File::open(refdir.join("db"))?;
    let t1 = Instant::now();
    for (chunk_i, chunk) in bytes.chunks(a.writers.max(1)).enumerate() {
        for (i, b) in chunk.iter().enumerate() {
            tree.insert(((chunk_i * a.writers.max(1) + i) as u64).to_be_bytes(), b.as_slice())?;
        }
        db.flush()?;
        dbfile.sync_all()?;
    }
    let raw_secs = t1.elapsed().as_secs_f64();
    println!(
        "raw sled reference: {} inserts in batches of {} with flush+fsync in {raw_secs:.2} s = {:.0} events/s",
        bytes.len(),
        a.writers,
        bytes.len() as f64 / raw_secs
    );
    drop(tree);
    drop(db);
    let _ = std::fs::remove_dir_all(&refdir);
    ledger.close();

    // Full replay: open the ledger from disk, decode and fold every event.
    let t2 = Instant::now();
    let reopened = Ledger::open(data)?;
    let total = reopened.head().len;
    let replay_secs = t2.elapsed().as_secs_f64();
    println!(
        "full replay (open + decode + fold): {total} events in {replay_secs:.2} s = {:.0} events/s",
        total as f64 / replay_secs
    );
    let t3 = Instant::now();
    let v = planledger::ledger::verify_dir_open(&reopened);
    let verify_secs = t3.elapsed().as_secs_f64();
    match v {
        Ok(s) => println!(
            "full verify (hash, chain, rules): {} events in {verify_secs:.2} s = {:.0} events/s",
            s.summary.count,
            s.summary.count as f64 / verify_secs
        ),
        Err(e) => println!("verify failed: {e}"),
    }
    reopened.close();
    Ok(ExitCode::SUCCESS)
}
