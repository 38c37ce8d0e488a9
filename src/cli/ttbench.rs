//! `planledger bench-timetravel`: time-travel query latency on each axis with and without the projection cache,
//! and diff and blame latency, on a synthetic ledger of many plans whose changes take effect over eight years and
//! sometimes arrive late.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{Duration, NaiveDate};
use clap::Args;
use rand::{Rng, SeedableRng};

use planledger::core::domain::{Entity, PlanId};
use planledger::core::projection::{self, Point};
use planledger::core::synth;
use planledger::store::ledger::{AppendRequest, Ledger};

use super::bench::percentiles;

#[derive(Args)]
pub struct TimeTravelBenchArgs {
    /// Events in the synthetic ledger.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Plans the events are spread over.
    #[arg(long, default_value_t = 100)]
    plans: u64,
    /// Concurrent writers while building.
    #[arg(long, default_value_t = 64)]
    writers: u64,
    /// Random queries per axis and mode.
    #[arg(long, default_value_t = 1000)]
    queries: usize,
    /// Plan events between two cached states on one axis.
    #[arg(long, default_value_t = planledger::store::cache::DEFAULT_CACHE_EVERY)]
    every: u64,
    /// The ledger to use: built there when it holds none, reused when it does (so a second run skips the build).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Every 37th event of a plan takes effect 400 days before its neighbours: a late arrival.
const LATE_EVERY: u64 = 37;

fn effective(i: u64, per_plan: u64) -> NaiveDate {
    let start = NaiveDate::from_ymd_opt(2016, 4, 1).unwrap_or_default();
    // Eight fiscal years of changes, spread evenly over the plan's events.
    let day = start + Duration::days((i * 2920 / per_plan.max(1)) as i64);
    if i % LATE_EVERY == LATE_EVERY - 1 { day - Duration::days(400) } else { day }
}

fn build(ledger: &Ledger, a: &TimeTravelBenchArgs) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let per_plan = a.events / a.plans.max(1);
    let writers = a.writers.clamp(1, a.plans.max(1));
    let t0 = Instant::now();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for w in 0..writers {
            let ledger = ledger.clone();
            let mine: Vec<u64> = (0..a.plans).filter(|p| p % writers == w).collect();
            tasks.push(tokio::spawn(async move {
                let per = usize::try_from(per_plan)?;
                let mut streams: Vec<_> =
                    mine.iter().map(|p| synth::workload(&format!("tt{p}"), per).into_iter()).collect();
                // Round robin over this writer's plans, so every plan's events spread over the whole log.
                for i in 0..per_plan {
                    for s in streams.iter_mut() {
                        let Some(c) = s.next() else { continue };
                        let mut meta = synth::meta();
                        meta.effective = Some(effective(i, per_plan));
                        let req = AppendRequest::new(vec![c], meta);
                        ledger.append(req).await?;
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
    let secs = t0.elapsed().as_secs_f64();
    let n = ledger.head().len;
    outln!("built {n} events over {} plans in {secs:.1} s ({:.0} events/s)", a.plans, n as f64 / secs);
    Ok(())
}

struct Span {
    first: chrono::DateTime<chrono::Utc>,
    last: chrono::DateTime<chrono::Utc>,
    len: u64,
}

fn random_point(rng: &mut impl Rng, axis: usize, span: &Span) -> Point {
    match axis {
        0 => Point::Seq(rng.gen_range(0..span.len)),
        1 => {
            let width = (span.last - span.first).num_microseconds().unwrap_or(1).max(1);
            Point::AsOf(span.first + Duration::microseconds(rng.gen_range(0..=width)))
        }
        _ => {
            let start = NaiveDate::from_ymd_opt(2015, 4, 1).unwrap_or_default();
            Point::Effective(start + Duration::days(rng.gen_range(0..365 * 10)))
        }
    }
}

const AXES: [&str; 3] = ["seq", "recorded-at", "effective"];

fn time_queries(ledger: &Ledger, plans: &[PlanId], span: &Span, queries: usize, label: &str) -> Result<()> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for (axis, name) in AXES.iter().enumerate() {
        let mut us = Vec::with_capacity(queries);
        let mut replayed = 0u64;
        let mut nodes = 0usize;
        for _ in 0..queries {
            let plan = &plans[rng.gen_range(0..plans.len())];
            let point = random_point(&mut rng, axis, span);
            let t = Instant::now();
            let at = ledger.plan_at(plan, Some(point))?;
            let view = projection::view_plan(&at.state, plan);
            us.push(t.elapsed().as_secs_f64() * 1e6);
            replayed += at.replayed;
            nodes += view.map(|v| v.plan.nodes).unwrap_or(0);
        }
        let (p50, p99, mean) = percentiles(us);
        outln!(
            "{label}, {name} axis: {queries} random plan views: p50 {:.2} ms, p99 {:.2} ms, mean {:.2} ms \
             ({:.0} events replayed and {:.0} nodes per answer on average)",
            p50 / 1e3,
            p99 / 1e3,
            mean / 1e3,
            replayed as f64 / queries as f64,
            nodes as f64 / queries as f64
        );
    }
    Ok(())
}

pub fn run(a: TimeTravelBenchArgs) -> Result<ExitCode> {
    let owned = a.dir.is_none();
    let dir =
        a.dir.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("planledger-tt-{}", std::process::id())));
    let fresh = !planledger::store::holds_ledger(&dir);
    let ledger = Ledger::open(&dir).with_context(|| format!("opening {}", dir.display()))?;
    if fresh {
        build(&ledger, &a)?;
    } else {
        outln!("reusing the ledger in {} ({} events)", dir.display(), ledger.head().len);
    }
    let len = ledger.head().len;
    if len == 0 {
        return Err(super::refused("--events: the ledger is empty"));
    }
    let plans: Vec<PlanId> = ledger.read().state.plans.keys().cloned().collect();
    let span = Span {
        first: ledger.records(0, 1)?.first().map(|r| r.recorded_at).unwrap_or_default(),
        last: ledger.records(len - 1, len)?.first().map(|r| r.recorded_at).unwrap_or_default(),
        len,
    };

    // Without the cache: each answer replays the plan's own events (read through the plan index) from its start.
    ledger.set_cache_every(0);
    time_queries(&ledger, &plans, &span, a.queries, "without the cache")?;

    ledger.cache_clear()?;
    ledger.set_cache_every(a.every);
    let t = Instant::now();
    let w = ledger.warm()?;
    let (n, bytes) = ledger.cache_stats()?;
    outln!(
        "warm: {} plans, {} seq + {} in-force cached states (one every {} plan events) in {:.1} s; cache {n} entries, \
         {:.1} MiB",
        w.plans,
        w.seq_entries,
        w.in_force_entries,
        a.every,
        t.elapsed().as_secs_f64(),
        bytes as f64 / (1024.0 * 1024.0)
    );
    time_queries(&ledger, &plans, &span, a.queries, "with the cache")?;

    // The answer as the whole log's replay gives it, for scale: a few samples only.
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut us = Vec::new();
    for _ in 0..3 {
        let plan = &plans[rng.gen_range(0..plans.len())];
        let point = random_point(&mut rng, 0, &span);
        let t = Instant::now();
        let records = ledger.records(0, len)?;
        let view = projection::view_plan(&projection::replay(&records, Some(point)), plan);
        us.push(t.elapsed().as_secs_f64() * 1e6);
        drop((records, view));
    }
    let (p50, _, mean) = percentiles(us);
    outln!("whole-log replay (3 samples, seq axis): p50 {:.0} ms, mean {:.0} ms", p50 / 1e3, mean / 1e3);

    // Diff and blame: from the plan's records, between / at random points on random axes.
    let samples = (a.queries / 5).max(1);
    let mut diff_us = Vec::with_capacity(samples);
    let mut blame_us = Vec::with_capacity(samples);
    let mut changes = 0usize;
    let mut rows = 0usize;
    for _ in 0..samples {
        let plan = &plans[rng.gen_range(0..plans.len())];
        let (ax1, ax2) = (rng.gen_range(0..3), rng.gen_range(0..3));
        let (from, to) = (random_point(&mut rng, ax1, &span), random_point(&mut rng, ax2, &span));
        let t = Instant::now();
        let records = ledger.records_for(&Entity::Plan(plan.clone()))?;
        let d = projection::diff(&records, plan, Some(from), Some(to));
        diff_us.push(t.elapsed().as_secs_f64() * 1e6);
        changes += d.changes.len();
        let ax = rng.gen_range(0..3);
        let at = random_point(&mut rng, ax, &span);
        let t = Instant::now();
        let records = ledger.records_for(&Entity::Plan(plan.clone()))?;
        let b = projection::blame(&records, plan, Some(at));
        blame_us.push(t.elapsed().as_secs_f64() * 1e6);
        rows += b.len();
    }
    let (d50, d99, dmean) = percentiles(diff_us);
    let (b50, b99, bmean) = percentiles(blame_us);
    outln!(
        "diff ({samples} random pairs of points, plan records read included): p50 {:.1} ms, p99 {:.1} ms, mean {:.1} ms \
         ({:.0} changes on average)",
        d50 / 1e3,
        d99 / 1e3,
        dmean / 1e3,
        changes as f64 / samples as f64
    );
    outln!(
        "blame ({samples} random points, plan records read included): p50 {:.1} ms, p99 {:.1} ms, mean {:.1} ms \
         ({:.0} rows on average)",
        b50 / 1e3,
        b99 / 1e3,
        bmean / 1e3,
        rows as f64 / samples as f64
    );
    ledger.close();
    if owned {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(ExitCode::SUCCESS)
}
