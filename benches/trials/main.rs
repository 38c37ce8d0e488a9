//! Long fault trials of the release `planledger` binary, not part of CI (run by `benches/trials.sh`): `kill9`
//! SIGKILLs `serve` under concurrent HTTP writes (and `import`) and checks that nothing acknowledged was lost or
//! changed and that retries with their `Idempotency-Key` never append twice; `soak` runs one server for minutes
//! under writes and reads and bounds its RSS and open file descriptors.

mod check;
mod http;
mod import;
mod kill9;
mod server;
mod soak;
mod tally;
mod work;

use std::path::PathBuf;
use std::process::ExitCode;

pub type Fail = Box<dyn std::error::Error + Send + Sync>;

const USAGE: &str = "usage: trials kill9 [--trials N] [--writers W] [--seed S] [--verify-every N] [--import-share F]
                    [--kill-window-ms MS] [--keep]
       trials soak [--minutes M] [--writers W] [--readers R] [--rate WRITES_PER_S] [--sample-secs S]
                   [--rss-max-mib MIB] [--rss-growth-mib MIB] [--fd-slack N] [--seed S] [--keep]";

/// The options of both modes (each takes the ones it needs).
#[derive(Clone, Debug)]
pub struct Opts {
    pub trials: u64,
    pub writers: usize,
    pub readers: usize,
    pub seed: u64,
    pub verify_every: u64,
    pub import_share: f64,
    pub kill_window_ms: u64,
    pub minutes: f64,
    pub rate: f64,
    pub sample_secs: u64,
    pub rss_max_mib: u64,
    pub rss_growth_mib: u64,
    pub fd_slack: u64,
    pub keep: bool,
}

impl Opts {
    fn parse(args: &[String]) -> Result<Opts, Fail> {
        let mut o = Opts {
            trials: 1000,
            writers: 16,
            readers: 4,
            seed: rand::random(),
            verify_every: 50,
            import_share: 0.08,
            kill_window_ms: 800,
            minutes: 30.0,
            rate: 200.0,
            sample_secs: 5,
            rss_max_mib: 1536,
            rss_growth_mib: 64,
            fd_slack: 64,
            keep: false,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if a == "--keep" {
                o.keep = true;
                continue;
            }
            let v = it.next().ok_or_else(|| format!("{a} needs a value\n{USAGE}"))?;
            let bad = |e: &dyn std::fmt::Display| format!("{a} {v}: {e}");
            match a.as_str() {
                "--trials" => o.trials = v.parse().map_err(|e| bad(&e))?,
                "--writers" => o.writers = v.parse().map_err(|e| bad(&e))?,
                "--readers" => o.readers = v.parse().map_err(|e| bad(&e))?,
                "--seed" => o.seed = v.parse().map_err(|e| bad(&e))?,
                "--verify-every" => o.verify_every = v.parse().map_err(|e| bad(&e))?,
                "--import-share" => o.import_share = v.parse().map_err(|e| bad(&e))?,
                "--kill-window-ms" => o.kill_window_ms = v.parse().map_err(|e| bad(&e))?,
                "--minutes" => o.minutes = v.parse().map_err(|e| bad(&e))?,
                "--rate" => o.rate = v.parse().map_err(|e| bad(&e))?,
                "--sample-secs" => o.sample_secs = v.parse().map_err(|e| bad(&e))?,
                "--rss-max-mib" => o.rss_max_mib = v.parse().map_err(|e| bad(&e))?,
                "--rss-growth-mib" => o.rss_growth_mib = v.parse().map_err(|e| bad(&e))?,
                "--fd-slack" => o.fd_slack = v.parse().map_err(|e| bad(&e))?,
                _ => return Err(format!("unknown option {a}\n{USAGE}").into()),
            }
        }
        if o.writers == 0 || o.verify_every == 0 || o.sample_secs == 0 {
            return Err("--writers, --verify-every and --sample-secs must be above 0".into());
        }
        Ok(o)
    }
}

/// A fresh work folder (the data dir is `ledger` in it), removed after a passing run unless `--keep`.
fn workdir(mode: &str, seed: u64) -> Result<PathBuf, Fail> {
    let dir = std::env::temp_dir().join(format!("planledger-{mode}-{seed}"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn run(args: &[String]) -> Result<bool, Fail> {
    let (mode, rest) = args.split_first().ok_or(USAGE)?;
    let o = Opts::parse(rest)?;
    let work = workdir(mode, o.seed)?;
    let dir = work.join("ledger");
    eprintln!("{mode}: seed {}, work folder {}", o.seed, work.display());
    let token = server::init(&dir)?;
    let passed = match mode.as_str() {
        "kill9" => {
            setup_plans(&dir, &work, &token, o.writers)?;
            let mut r = kill9::Run::new(o.clone(), dir.clone(), work.clone(), token);
            r.all()?;
            r.t.print(o.trials, o.writers, o.seed);
            for n in &r.t.notes {
                println!("  note: {n}");
            }
            r.t.faults() == 0
        }
        "soak" => {
            setup_plans(&dir, &work, &token, o.writers)?;
            soak::run(&o, &dir, &work, &token)?
        }
        _ => return Err(format!("unknown mode {mode}\n{USAGE}").into()),
    };
    if passed && !o.keep {
        std::fs::remove_dir_all(&work)?;
    } else {
        println!("work folder kept: {}", work.display());
    }
    Ok(passed)
}

/// Gives every writer its plan, on a server that is then stopped cleanly.
fn setup_plans(dir: &std::path::Path, work: &std::path::Path, token: &str, writers: usize) -> Result<(), Fail> {
    let srv = server::Server::spawn(dir, &work.join("serve.err"))?;
    let server::Listening::At(addr) = srv.listening(std::time::Duration::from_secs(120)) else {
        srv.kill();
        return Err(format!("serve did not start: {}", server::tail(&work.join("serve.err"), 20)).into());
    };
    let r = work::setup_all(&addr, token, writers);
    srv.stop()?;
    r
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; the trials take no such option.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("trials: FAILED (see the summary)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("trials: {e}");
            ExitCode::from(2)
        }
    }
}
