//! `planledger bench`: durable append throughput (group commit, several writers), the raw-sled reference on the
//! same bytes, and full replay throughput. Also the driver of the crash test (`--print-acks`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;

use planledger::core::synth;
use planledger::store::ledger::{AppendRequest, Ledger};

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
                    let req = AppendRequest::new(vec![c], synth::meta());
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
    outln!(
        "durable append: {appended} events from {} writers in {append_secs:.2} s = {:.0} events/s",
        a.writers,
        appended as f64 / append_secs
    );

    // The reference: the same bytes inserted into a bare sled tree, made durable with the same flush + fsync per
    // batch as the ledger used (batch size = the writers' concurrency, the most a group commit can gather).
    let bytes: Vec<Vec<u8>> =
        ledger.read_events(start_len, u64::MAX).map_err(anyhow::Error::from)?.into_iter().map(|(_, b)| b).collect();
    let refdir = a.reference_dir.clone().unwrap_or_else(|| data.with_extension("sled-reference"));
    let raw_secs = planledger::store::bench::raw_sled_reference(&refdir, &bytes, a.writers)?;
    outln!(
        "raw sled reference: {} inserts in batches of {} with flush+fsync in {raw_secs:.2} s = {:.0} events/s",
        bytes.len(),
        a.writers,
        bytes.len() as f64 / raw_secs
    );
    ledger.close();

    // Full replay: open the ledger from disk, decode and fold every event.
    let t2 = Instant::now();
    let reopened = Ledger::open(data)?;
    let total = reopened.head().len;
    let replay_secs = t2.elapsed().as_secs_f64();
    outln!(
        "full replay (open + decode + fold): {total} events in {replay_secs:.2} s = {:.0} events/s",
        total as f64 / replay_secs
    );
    let t3 = Instant::now();
    let v = planledger::store::ledger::verify_dir_open(&reopened);
    let verify_secs = t3.elapsed().as_secs_f64();
    match v {
        Ok(s) => outln!(
            "full verify (hash, chain, rules, tree, checkpoint): {} events in {verify_secs:.2} s = {:.0} events/s",
            s.summary.count,
            s.summary.count as f64 / verify_secs
        ),
        Err(e) => outln!("verify failed: {e}"),
    }
    reopened.close();
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct ProofBenchArgs {
    /// Entries in the tree.
    #[arg(long, default_value_t = 1_000_000)]
    entries: u64,
    /// Proofs of each kind to generate and verify.
    #[arg(long, default_value_t = 20_000)]
    samples: usize,
    /// Where to build the store (default: a fresh directory under the system temp dir, removed afterwards).
    #[arg(long)]
    dir: Option<PathBuf>,
}

pub(crate) fn percentiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    // A quantile's index: q is in [0, 1], so the product is within the vector's length.
    #[allow(clippy::cast_possible_truncation)]
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    (at(0.5), at(0.99), v.iter().sum::<f64>() / v.len() as f64)
}

/// Builds a store of `entries` events (synthetic bytes) with their tree through the storage layer's commit, in
/// batches as group commit would, then times proofs read from sled and their verification.
pub fn proofs(a: ProofBenchArgs) -> Result<ExitCode> {
    use planledger::core::audit::merkle;
    use planledger::core::audit::{LedgerHasher, leaf_of};
    use planledger::store::bench::ProofStore;
    use rand::{Rng, SeedableRng};

    let owned = a.dir.is_none();
    let dir = a
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("planledger-bench-proofs-{}", std::process::id())));
    if planledger::store::holds_ledger(&dir) {
        return Err(super::refused(format!("--dir: {} already holds a store", dir.display())));
    }
    let t0 = Instant::now();
    let store = ProofStore::build(&dir, a.entries)?;
    let hashes = &store.hashes;
    outln!("built a store of {} entries with its tree in {:.1} s", a.entries, t0.elapsed().as_secs_f64());
    let n = a.entries;
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);

    let t = Instant::now();
    let root = store.root(n)?;
    outln!("root of {n} from stored nodes: {:.1} µs", t.elapsed().as_secs_f64() * 1e6);

    let mut gen_us = Vec::with_capacity(a.samples);
    let mut ver_us = Vec::with_capacity(a.samples);
    let mut lens = 0usize;
    for _ in 0..a.samples {
        let seq = rng.gen_range(0..n);
        let t = Instant::now();
        let proof = store.inclusion(seq, n)?.map_err(anyhow::Error::from)?;
        gen_us.push(t.elapsed().as_secs_f64() * 1e6);
        lens += proof.len();
        let leaf = leaf_of(&hashes[usize::try_from(seq)?]);
        let t = Instant::now();
        merkle::verify_inclusion::<LedgerHasher, _>(seq, n, &leaf, &proof, &root).map_err(anyhow::Error::from)?;
        ver_us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let (g50, g99, gmean) = percentiles(gen_us);
    let (v50, v99, vmean) = percentiles(ver_us);
    outln!(
        "inclusion proofs in a tree of {n} ({} samples, {:.1} hashes each): generate p50 {g50:.1} µs, p99 {g99:.1} µs, \
         mean {gmean:.1} µs; verify p50 {v50:.1} µs, p99 {v99:.1} µs, mean {vmean:.1} µs",
        a.samples,
        lens as f64 / a.samples as f64
    );

    let mut gen_us = Vec::with_capacity(a.samples);
    let mut ver_us = Vec::with_capacity(a.samples);
    let mut lens = 0usize;
    for _ in 0..a.samples {
        let m = rng.gen_range(1..n);
        let t = Instant::now();
        let proof = store.consistency(m, n)?.map_err(anyhow::Error::from)?;
        let root_m = store.root(m)?;
        gen_us.push(t.elapsed().as_secs_f64() * 1e6);
        lens += proof.len();
        let t = Instant::now();
        merkle::verify_consistency::<LedgerHasher, _>(m, n, &proof, &root_m, &root).map_err(anyhow::Error::from)?;
        ver_us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let (g50, g99, gmean) = percentiles(gen_us);
    let (v50, v99, vmean) = percentiles(ver_us);
    outln!(
        "consistency proofs m → {n} ({} samples, {:.1} hashes each; generation includes the root of m): generate \
         p50 {g50:.1} µs, p99 {g99:.1} µs, mean {gmean:.1} µs; verify p50 {v50:.1} µs, p99 {v99:.1} µs, mean {vmean:.1} µs",
        a.samples,
        lens as f64 / a.samples as f64
    );
    drop(store);
    if owned {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(ExitCode::SUCCESS)
}
