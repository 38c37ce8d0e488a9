//! The fuzz harness on the stable toolchain: `cargo bench --bench fuzz -- --seconds N [--target NAME]… [--seed N]`
//! mutates seed inputs of every parser of outside input for N seconds in all, runs each input under
//! `catch_unwind` with a watchdog for hangs, saves every crash or hang to `tests/data/fuzz/<target>/` (which
//! `tests/it/fuzz.rs` replays on every `cargo test`) and prints, per target, executions, rate, distinct outcomes,
//! crashes, hangs and time. The bench profile keeps overflow checks and debug assertions on for the library.

// A property of a parser that does not hold is a panic in its target, which the harness catches and reports.
#![allow(clippy::panic)]

mod engine;
mod targets;
mod tree;

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use engine::Engine;
use targets::{Fixture, Target};

const USAGE: &str = "usage: cargo bench --bench fuzz -- [--seconds N] [--target NAME]... [--seed N] [--hang-ms N] \
                     [--max-len N] [--list] [--show-outcomes]";

struct Options {
    seconds: u64,
    targets: Vec<String>,
    seed: u64,
    hang_ms: u64,
    max_len: usize,
    list: bool,
    show_outcomes: bool,
}

fn options() -> Result<Options, String> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let mut o = Options {
        seconds: 60,
        targets: Vec::new(),
        seed: now,
        hang_ms: 2000,
        max_len: 64 * 1024,
        list: false,
        show_outcomes: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |what: &str| -> Result<u64, String> {
            args.next().and_then(|v| v.parse().ok()).ok_or_else(|| format!("{what} needs a whole number\n{USAGE}"))
        };
        match a.as_str() {
            "--seconds" => o.seconds = num("--seconds")?,
            "--seed" => o.seed = num("--seed")?,
            "--hang-ms" => o.hang_ms = num("--hang-ms")?.max(1),
            "--max-len" => o.max_len = usize::try_from(num("--max-len")?).map_err(|e| e.to_string())?,
            "--target" => o.targets.extend(args.next().iter().flat_map(|v| v.split(',').map(String::from))),
            "--list" => o.list = true,
            "--show-outcomes" => o.show_outcomes = true,
            // cargo bench passes `--bench` to every bench binary.
            "--bench" => {}
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(o)
}

#[derive(Default)]
struct Stats {
    execs: u64,
    crashes: u64,
    hangs: u64,
    elapsed: Duration,
    outcomes: BTreeMap<String, u64>,
    /// The crash sites seen (message location), each saved once.
    sites: BTreeSet<String>,
}

/// What the watchdog sees of the input being run.
struct Current {
    target: Mutex<(&'static str, Vec<u8>)>,
    /// Milliseconds since the harness started at which the current input began, plus one; 0 when idle.
    started: AtomicU64,
    hangs: AtomicU64,
}

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz")
}

/// Saves an input that crashed or hung as `tests/data/fuzz/<target>/<what>-<hash>.input`.
fn save(target: &str, what: &str, input: &[u8]) -> PathBuf {
    let dir = fuzz_dir().join(target);
    let name = format!("{what}-{}.input", &blake3::hash(input).to_hex()[..16]);
    let path = dir.join(name);
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, input)) {
        eprintln!("could not save {}: {e}", path.display());
    }
    path
}

static PANIC: Mutex<Option<String>> = Mutex::new(None);

fn quiet_panics() {
    panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        if let Ok(mut p) = PANIC.lock() {
            *p = Some(format!("{at}: {msg}"));
        }
    }));
}

fn millis(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn watchdog(current: Arc<Current>, start: Instant, hang_ms: u64) {
    std::thread::spawn(move || {
        let mut flagged = 0;
        loop {
            std::thread::sleep(Duration::from_millis(20));
            let s = current.started.load(Ordering::SeqCst);
            if s == 0 || s == flagged {
                continue;
            }
            let ran = (millis(start) + 1).saturating_sub(s);
            if ran > hang_ms {
                flagged = s;
                current.hangs.fetch_add(1, Ordering::SeqCst);
                let (target, input) = current.target.lock().map(|g| (g.0, g.1.clone())).unwrap_or(("?", Vec::new()));
                let path = save(target, "hang", &input);
                println!("HANG {target}: an input ran over {hang_ms} ms; saved to {}", path.display());
            }
            if ran > 20 * hang_ms {
                println!(
                    "HANG {}: still running after {} ms; stopping",
                    current.target.lock().map_or("?", |g| g.0),
                    ran
                );
                std::process::exit(3);
            }
        }
    });
}

/// Runs one input; returns its outcome, or the crash message.
fn exec(t: &Target, f: &Fixture, input: &[u8], current: &Current, start: Instant) -> Result<String, String> {
    if let Ok(mut g) = current.target.lock() {
        g.0 = t.name;
        g.1.clear();
        g.1.extend_from_slice(input);
    }
    current.started.store(millis(start) + 1, Ordering::SeqCst);
    let r = panic::catch_unwind(AssertUnwindSafe(|| (t.run)(f, input)));
    current.started.store(0, Ordering::SeqCst);
    r.map_err(|_| PANIC.lock().ok().and_then(|mut p| p.take()).unwrap_or_else(|| "panic".into()))
}

fn saved_inputs(target: &str) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fuzz_dir().join(target))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.retain(|p| p.extension().is_some_and(|x| x == "input"));
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

struct Run<'a> {
    target: &'a Target,
    corpus: Vec<Vec<u8>>,
    seeds: usize,
    max_len: usize,
    stats: Stats,
}

impl Run<'_> {
    /// Counts an outcome. A mutated input is kept for further mutation when its outcome is new (or now and then
    /// anyway); a seed always is.
    fn record(&mut self, e: &mut Engine, input: Vec<u8>, r: Result<String, String>, seed: bool) {
        self.stats.execs += 1;
        match r {
            Ok(outcome) => {
                let n = self.stats.outcomes.entry(outcome).or_insert(0);
                *n += 1;
                let keep = seed || *n == 1 || (*n < 64 && e.chance(0.05)) || e.chance(0.001);
                if keep && (seed || input.len() <= self.max_len) {
                    if seed || self.corpus.len() < 1024 {
                        self.corpus.push(input);
                    } else {
                        let i = self.seeds + e.below(self.corpus.len() - self.seeds);
                        self.corpus[i] = input;
                    }
                }
            }
            Err(msg) => {
                if seed {
                    self.corpus.push(input.clone());
                }
                self.stats.crashes += 1;
                let site = msg.split(": ").next().unwrap_or("").to_string();
                if self.stats.sites.insert(site) {
                    let path = save(self.target.name, "crash", &input);
                    println!("CRASH {}: {msg}\n  input saved to {}", self.target.name, path.display());
                }
            }
        }
    }
}

fn main() -> ExitCode {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let all = targets::all();
    if o.list {
        all.iter().for_each(|t| println!("{}", t.name));
        return ExitCode::SUCCESS;
    }
    let chosen: Vec<&Target> =
        all.iter().filter(|t| o.targets.is_empty() || o.targets.iter().any(|n| n == t.name)).collect();
    if let Some(bad) = o.targets.iter().find(|n| !all.iter().any(|t| &t.name == n)) {
        eprintln!("no target {bad:?}; --list names them");
        return ExitCode::from(2);
    }
    println!("fuzz: seed {}, {} s over {} targets, hang bound {} ms", o.seed, o.seconds, chosen.len(), o.hang_ms);
    let loading = Instant::now();
    let fixture = Fixture::load();
    println!("fixture: {} ledger lines checked in {:.1?}", fixture.lines.len(), loading.elapsed());
    quiet_panics();
    let start = Instant::now();
    let current = Arc::new(Current {
        target: Mutex::new(("", Vec::new())),
        started: AtomicU64::new(0),
        hangs: AtomicU64::new(0),
    });
    watchdog(current.clone(), start, o.hang_ms);
    let mut e = Engine::new(o.seed, o.max_len);
    let mut runs: Vec<Run> = Vec::new();
    for t in &chosen {
        let mut corpus = (t.seeds)(&fixture);
        let seeds = corpus.len();
        let largest = corpus.iter().map(Vec::len).max().unwrap_or(0);
        let mut run = Run {
            target: t,
            corpus: Vec::new(),
            seeds: 0,
            max_len: o.max_len.max(largest * 2),
            stats: Stats::default(),
        };
        // Seeds and saved inputs run first: a seed that fails or a saved crash that still crashes is reported.
        corpus.extend(saved_inputs(t.name));
        for input in corpus.drain(..) {
            let r = exec(t, &fixture, &input, &current, start);
            run.record(&mut e, input, r, true);
        }
        run.seeds = seeds;
        runs.push(run);
    }
    let budget = Duration::from_secs(o.seconds);
    let slice = (budget / u32::try_from(chosen.len().max(1)).unwrap_or(1)).min(Duration::from_secs(5));
    while start.elapsed() < budget && !runs.is_empty() {
        for run in runs.iter_mut() {
            let began = Instant::now();
            let mut hangs_before = current.hangs.load(Ordering::SeqCst);
            while began.elapsed() < slice && start.elapsed() < budget {
                let base = &run.corpus[e.below(run.corpus.len())];
                e.max_len = run.max_len;
                let input = e.mutate(base, &run.corpus, run.target.dict, run.target.shape);
                let r = exec(run.target, &fixture, &input, &current, start);
                run.record(&mut e, input, r, false);
                let hangs = current.hangs.load(Ordering::SeqCst);
                run.stats.hangs += hangs - hangs_before;
                hangs_before = hangs;
            }
            run.stats.elapsed += began.elapsed();
        }
    }
    report(&runs, o.show_outcomes, start.elapsed())
}

fn report(runs: &[Run], show_outcomes: bool, total: Duration) -> ExitCode {
    println!(
        "\n{:<12} {:>10} {:>9} {:>9} {:>8} {:>6} {:>8} {:>7}",
        "target", "execs", "execs/s", "outcomes", "crashes", "hangs", "corpus", "secs"
    );
    let (mut execs, mut crashes, mut hangs) = (0, 0, 0);
    for r in runs {
        let s = &r.stats;
        let secs = s.elapsed.as_secs_f64();
        println!(
            "{:<12} {:>10} {:>9.0} {:>9} {:>8} {:>6} {:>8} {:>7.1}",
            r.target.name,
            s.execs,
            if secs > 0.0 { s.execs as f64 / secs } else { 0.0 },
            s.outcomes.len(),
            s.crashes,
            s.hangs,
            r.corpus.len(),
            secs
        );
        if show_outcomes {
            s.outcomes.iter().for_each(|(k, n)| println!("    {n:>10}  {k}"));
        }
        (execs, crashes, hangs) = (execs + s.execs, crashes + s.crashes, hangs + s.hangs);
    }
    println!("total: {execs} execs, {crashes} crashes, {hangs} hangs in {:.1} s", total.as_secs_f64());
    if crashes + hangs > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
