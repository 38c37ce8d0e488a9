//! The soak: one `serve` for minutes under steady concurrent writes (paced to a total rate) and reads of the API
//! and the portal, sampling the server's RSS (`/proc/PID/status` VmRSS) and open fds (`/proc/PID/fd`). It fails when
//! the fds grow beyond a slack over their count once the load is running, or when RSS passes a ceiling, or grows
//! over the second half of the run by more than the store's files on disk grew (×1.5, plus a slack): sled keeps
//! what it reads and writes in its page cache up to its capacity, so RSS may follow the store, not outgrow it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::http::Client;
use crate::server::{self, Listening, Server};
use crate::work::{self, Writer, plan};
use crate::{Fail, Opts};

/// What the load threads count.
#[derive(Default)]
struct Counts {
    appended: AtomicU64,
    writes: AtomicU64,
    refused: AtomicU64,
    reads: AtomicU64,
    read_bytes: AtomicU64,
    /// 5xx answers and connections that broke while the server ran.
    errors: AtomicU64,
    /// Set at half time: reads are timed per kind for each half of the run.
    second_half: AtomicBool,
    timed: Mutex<BTreeMap<(&'static str, bool), Timed>>,
}

/// Reads of one kind in one half of the run.
#[derive(Default, Clone, Copy)]
struct Timed {
    n: u64,
    total: Duration,
    max: Duration,
}

struct Sample {
    at: Duration,
    rss_kib: u64,
    fds: u64,
    appended: u64,
    /// The data dir's files, in KiB.
    disk_kib: u64,
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn fds(pid: u32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}

fn disk_kib(dir: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else { return 0 };
    rd.filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_kib(&e.path()),
            Ok(m) => m.len() / 1024,
            Err(_) => 0,
        })
        .sum()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The reads, cycled through: API and portal, current and past views, bounded in size as the ledger grows.
fn read_paths(rng: &mut StdRng, writers: usize, head: u64) -> Vec<(&'static str, String)> {
    let p = plan(rng.gen_range(0..writers));
    let seq = rng.gen_range(0..head.max(1));
    vec![
        ("/api/plans", "/api/plans".into()),
        ("/api/plans/{plan}", format!("/api/plans/{p}")),
        ("/api/plans/{plan}?at={seq}", format!("/api/plans/{p}?at={seq}")),
        ("/api/indicators/{id}", format!("/api/indicators/{p}.n.k")),
        ("/api/events?after={seq}&limit=100", format!("/api/events?after={seq}&limit=100")),
        ("/api/checkpoint", "/api/checkpoint".into()),
        ("/api/proof/inclusion?seq={seq}", format!("/api/proof/inclusion?seq={seq}")),
        ("/", "/".into()),
        ("/plans/{plan}", format!("/plans/{p}")),
        ("/changes?plan={plan}", format!("/changes?plan={p}")),
        ("/events/{seq}", format!("/events/{seq}")),
        ("/feeds/plans/{plan}", format!("/feeds/plans/{p}")),
        ("/plans/shinagawa-jisshi-4?effective=2017", "/plans/shinagawa-jisshi-4?effective=2017".into()),
        ("/indicators/shinagawa-jisshi-4.6-1-1-2-r3.kpi1", "/indicators/shinagawa-jisshi-4.6-1-1-2-r3.kpi1".into()),
    ]
}

fn reader(addr: String, seed: u64, writers: usize, stop: Arc<AtomicBool>, counts: Arc<Counts>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut c = Client::new(&addr);
    while !stop.load(Ordering::SeqCst) {
        let head = counts.appended.load(Ordering::Relaxed) + 577;
        for (kind, path) in read_paths(&mut rng, writers, head) {
            let sent = Instant::now();
            match c.get(&path, &[("Accept-Encoding", "identity")]) {
                Ok(r) if r.status < 500 => {
                    let took = sent.elapsed();
                    counts.reads.fetch_add(1, Ordering::Relaxed);
                    counts.read_bytes.fetch_add(r.body.len() as u64, Ordering::Relaxed);
                    let half = counts.second_half.load(Ordering::Relaxed);
                    if let Ok(mut m) = counts.timed.lock() {
                        let t = m.entry((kind, half)).or_default();
                        t.n += 1;
                        t.total += took;
                        t.max = t.max.max(took);
                    }
                }
                Ok(_) | Err(_) => {
                    counts.errors.fetch_add(1, Ordering::Relaxed);
                    c = Client::new(&addr);
                }
            }
        }
    }
}

/// Writes at `per_second` until stopped.
fn writer(mut wr: Writer, addr: String, token: String, per_second: f64, stop: Arc<AtomicBool>, counts: Arc<Counts>) {
    let mut c = Client::new(&addr);
    let gap = Duration::from_secs_f64(1.0 / per_second.max(0.001));
    let mut next = Instant::now();
    let mut tag = 0;
    while !stop.load(Ordering::SeqCst) {
        tag += 1;
        let req = wr.next(tag);
        match work::send(&mut c, &token, &req) {
            Ok(r) => {
                wr.saw(&r);
                counts.writes.fetch_add(1, Ordering::Relaxed);
                if r.status == 201 {
                    let n = work::ack(&req, &r).map(|a| a.events.len() as u64).unwrap_or(0);
                    counts.appended.fetch_add(n, Ordering::Relaxed);
                } else if r.status >= 500 {
                    counts.errors.fetch_add(1, Ordering::Relaxed);
                } else {
                    counts.refused.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(_) => {
                counts.errors.fetch_add(1, Ordering::Relaxed);
                c = Client::new(&addr);
            }
        }
        next += gap;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
}

pub fn run(o: &Opts, dir: &Path, work: &Path, token: &str) -> Result<bool, Fail> {
    let err = work.join("serve.err");
    let srv = Server::spawn(dir, &err)?;
    let Listening::At(addr) = srv.listening(Duration::from_secs(120)) else {
        srv.kill();
        return Err(format!("serve did not start: {}", server::tail(&err, 20)).into());
    };
    let (stop, counts) = (Arc::new(AtomicBool::new(false)), Arc::new(Counts::default()));
    let mut threads = Vec::new();
    for w in 0..o.writers {
        let wr = Writer::new(w, o.seed);
        let (a, t, s, c) = (addr.clone(), token.to_string(), Arc::clone(&stop), Arc::clone(&counts));
        let rate = o.rate / o.writers as f64;
        threads.push(std::thread::spawn(move || writer(wr, a, t, rate, s, c)));
    }
    for r in 0..o.readers {
        let (a, s, c) = (addr.clone(), Arc::clone(&stop), Arc::clone(&counts));
        let (seed, writers) = (o.seed.wrapping_add(1000 + r as u64), o.writers);
        threads.push(std::thread::spawn(move || reader(a, seed, writers, s, c)));
    }
    let start = Instant::now();
    let total = Duration::from_secs_f64(o.minutes * 60.0);
    let mut samples = Vec::new();
    println!(
        "soak: {} writers at {} writes/s in all, {} readers, {:.1} min, a sample every {} s",
        o.writers, o.rate, o.readers, o.minutes, o.sample_secs
    );
    while start.elapsed() < total {
        if start.elapsed() >= total / 2 {
            counts.second_half.store(true, Ordering::Relaxed);
        }
        let (Some(rss), Some(fd)) = (rss_kib(srv.pid), fds(srv.pid)) else {
            break;
        };
        let appended = counts.appended.load(Ordering::Relaxed);
        let s = Sample { at: start.elapsed(), rss_kib: rss, fds: fd, appended, disk_kib: disk_kib(dir) };
        if (samples.len() as u64).is_multiple_of((60 / o.sample_secs).max(1)) {
            println!(
                "  {:>6.0} s  RSS {:>7.1} MiB  store {:>7.1} MiB  fds {:>4}  appended {:>8}  reads {:>8}  errors {}",
                s.at.as_secs_f64(),
                mib(s.rss_kib),
                mib(s.disk_kib),
                s.fds,
                s.appended,
                counts.reads.load(Ordering::Relaxed),
                counts.errors.load(Ordering::Relaxed)
            );
        }
        samples.push(s);
        std::thread::sleep(Duration::from_secs(o.sample_secs));
    }
    let alive = rss_kib(srv.pid).is_some();
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        let _ = t.join();
    }
    let stopped = srv.stop();
    let verified = server::cli(dir, &["verify"])?;
    Ok(report(o, &samples, &counts, alive, stopped, verified.status.success(), start.elapsed()))
}

fn report(
    o: &Opts,
    samples: &[Sample],
    counts: &Counts,
    alive: bool,
    stopped: Result<(), Fail>,
    verified: bool,
    wall: Duration,
) -> bool {
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        println!("soak: no samples (the server was gone)");
        return false;
    };
    let max_rss = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let max_fds = samples.iter().map(|s| s.fds).max().unwrap_or(0);
    // The fds once the load runs (every client connected), and RSS halfway.
    let base = samples.iter().find(|s| s.at >= Duration::from_secs(30)).unwrap_or(first);
    let mid = &samples[samples.len() / 2];
    let appended = counts.appended.load(Ordering::Relaxed);
    let growth = (last.rss_kib as f64 - first.rss_kib as f64) * 1024.0 / (last.appended - first.appended).max(1) as f64;
    let second_half = last.rss_kib.saturating_sub(mid.rss_kib);
    let disk_half = last.disk_kib.saturating_sub(mid.disk_kib);
    let allowed_kib = disk_half * 3 / 2 + o.rss_growth_mib * 1024;
    let fd_ok = max_fds <= base.fds + o.fd_slack;
    let rss_ok = mib(max_rss) <= o.rss_max_mib as f64 && second_half <= allowed_kib;
    let errors = counts.errors.load(Ordering::Relaxed);
    println!("== soak summary (seed {})", o.seed);
    println!(
        "run                    {:.1} min, {} samples; {} writers ({} writes/s asked), {} readers",
        wall.as_secs_f64() / 60.0,
        samples.len(),
        o.writers,
        o.rate,
        o.readers
    );
    println!(
        "writes                 {} sent, {} events appended ({:.1}/s), {} refused (412 and the like)",
        counts.writes.load(Ordering::Relaxed),
        appended,
        appended as f64 / wall.as_secs_f64(),
        counts.refused.load(Ordering::Relaxed)
    );
    println!(
        "reads                  {} ({:.1} MiB of bodies)",
        counts.reads.load(Ordering::Relaxed),
        mib(counts.read_bytes.load(Ordering::Relaxed) / 1024)
    );
    println!("errors                 {errors} (5xx or broken connections)");
    println!(
        "store on disk          first {:.1} MiB, halfway {:.1} MiB, last {:.1} MiB",
        mib(first.disk_kib),
        mib(mid.disk_kib),
        mib(last.disk_kib)
    );
    println!(
        "RSS                    first {:.1} MiB, max {:.1} MiB, last {:.1} MiB; halfway {:.1} MiB; {:.0} bytes per appended event over the run",
        mib(first.rss_kib),
        mib(max_rss),
        mib(last.rss_kib),
        mib(mid.rss_kib),
        growth
    );
    println!(
        "RSS bound              at most {} MiB; over the second half at most 1.5 × the store's growth ({:.1} MiB) + {} MiB = {:.1} MiB (grew {:.1} MiB): {}",
        o.rss_max_mib,
        mib(disk_half),
        o.rss_growth_mib,
        mib(allowed_kib),
        mib(second_half),
        if rss_ok { "held" } else { "BROKEN" }
    );
    println!(
        "open fds               first {}, at 30 s {}, max {}, last {}; bound {} + {}: {}",
        first.fds,
        base.fds,
        max_fds,
        last.fds,
        base.fds,
        o.fd_slack,
        if fd_ok { "held" } else { "BROKEN" }
    );
    println!("reads by kind          count, mean and max latency in the first half | in the second half");
    if let Ok(m) = counts.timed.lock() {
        let kinds: std::collections::BTreeSet<&str> = m.keys().map(|(k, _)| *k).collect();
        for k in kinds {
            let show = |t: Option<&Timed>| match t {
                Some(t) if t.n > 0 => {
                    format!("{:>6} {:>9.1?} {:>9.1?}", t.n, t.total / u32::try_from(t.n).unwrap_or(u32::MAX), t.max)
                }
                _ => format!("{:>6} {:>9} {:>9}", 0, "-", "-"),
            };
            println!("  {k:<48} {} | {}", show(m.get(&(k, false))), show(m.get(&(k, true))));
        }
    }
    let stop_ok = stopped.is_ok();
    if let Err(e) = &stopped {
        println!("stop                   {e}");
    }
    println!(
        "server                 {}; stopped cleanly: {stop_ok}; verify afterwards: {}",
        if alive { "ran to the end" } else { "GONE before the end" },
        if verified { "passed" } else { "FAILED" }
    );
    let pass = fd_ok && rss_ok && errors == 0 && alive && stop_ok && verified;
    println!("result                 {}", if pass { "PASS" } else { "FAIL" });
    pass
}
