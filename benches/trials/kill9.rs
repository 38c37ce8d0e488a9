//! The kill -9 trials: one data dir across every trial; each trial starts `serve` on it, checks what the kill
//! before left (import outcome, retries of the requests in flight, every acknowledged event), runs concurrent
//! writers and SIGKILLs the server at a random moment — some before it listens, some while it warms up — or kills
//! an `import` instead. Every few trials `planledger verify` runs on the stopped store.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::check::Mirror;
use crate::http::Client;
use crate::import::{self, Outcome};
use crate::server::{self, Listening, Server};
use crate::tally::Tally;
use crate::work::{self, Ack, Req, Writer};
use crate::{Fail, Opts};

/// What a trial kills, and when.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// `serve` at a random moment of its start, before or just as it listens.
    Startup,
    /// Within 400 ms of listening: while it warms its cache and the driver retries and reads back.
    Warmup,
    /// While the writers write.
    Writes,
    /// `planledger import`, with no server running.
    Import,
}

pub struct Run {
    o: Opts,
    dir: PathBuf,
    work: PathBuf,
    token: String,
    rng: StdRng,
    writers: Vec<Writer>,
    mirror: Mirror,
    /// Every key sent, with the number of events its request appends.
    expected: HashMap<String, usize>,
    /// Keys whose last answer was a refusal: they must be in no event.
    refused: Vec<String>,
    pending: Vec<Req>,
    unjudged: Vec<Ack>,
    import: Option<import::Pending>,
    startup: Duration,
    import_took: Duration,
    pub t: Tally,
}

/// Sleeps `delay`, then SIGKILLs the server (noting first whether it had already exited on its own).
fn arm(srv: &Server, killed: &Arc<AtomicBool>, died: &Arc<AtomicBool>, delay: Duration) -> JoinHandle<()> {
    let (child, killed, died) = (Arc::clone(&srv.child), Arc::clone(killed), Arc::clone(died));
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        if let Ok(mut c) = child.lock()
            && matches!(c.try_wait(), Ok(Some(_)))
        {
            died.store(true, Ordering::SeqCst);
        }
        killed.store(true, Ordering::SeqCst);
        server::kill(&child);
    })
}

fn uniform(rng: &mut StdRng, lo: Duration, hi: Duration) -> Duration {
    if hi <= lo { lo } else { rng.gen_range(lo..hi) }
}

impl Run {
    pub fn new(o: Opts, dir: PathBuf, work: PathBuf, token: String) -> Self {
        let writers = (0..o.writers).map(|w| Writer::new(w, o.seed)).collect();
        Run {
            rng: StdRng::seed_from_u64(o.seed),
            o,
            dir,
            work,
            token,
            writers,
            mirror: Mirror::default(),
            expected: HashMap::new(),
            refused: Vec::new(),
            pending: Vec::new(),
            unjudged: Vec::new(),
            import: None,
            startup: Duration::from_millis(300),
            import_took: Duration::from_millis(1500),
            t: Tally::default(),
        }
    }

    fn pick(&mut self, last: Option<Kind>) -> Kind {
        let x: f64 = self.rng.r#gen();
        if self.import.is_some() || last == Some(Kind::Import) {
            Kind::Writes
        } else if x < 0.08 {
            Kind::Startup
        } else if x < 0.20 {
            Kind::Warmup
        } else if x < 0.20 + self.o.import_share {
            Kind::Import
        } else {
            Kind::Writes
        }
    }

    /// Runs every trial, then one last start that settles what is pending, and the last verify.
    pub fn all(&mut self) -> Result<(), Fail> {
        let start = Instant::now();
        let mut last = None;
        for n in 0..self.o.trials {
            let kind = self.pick(last);
            self.trial(n, kind)?;
            last = Some(kind);
            if (n + 1) % self.o.verify_every == 0 {
                self.verify()?;
            }
            if (n + 1) % 25 == 0 || n + 1 == self.o.trials {
                eprintln!(
                    "trial {:>5}/{}: {} events, {} acked, start {:?}, {:.0?} so far",
                    n + 1,
                    self.o.trials,
                    self.mirror.len(),
                    self.t.acked_events,
                    self.startup,
                    start.elapsed()
                );
            }
            if self.t.consecutive_failed_starts >= 3 {
                return Err("the server failed to start three times in a row; stopping".into());
            }
        }
        self.settle()?;
        self.verify()?;
        self.final_checks();
        self.t.wall = start.elapsed();
        Ok(())
    }

    fn trial(&mut self, n: u64, kind: Kind) -> Result<(), Fail> {
        *self.t.kinds.entry(format!("{kind:?}")).or_default() += 1;
        if kind == Kind::Import {
            return self.import_trial(n);
        }
        let err = self.work.join("serve.err");
        let srv = Server::spawn(&self.dir, &err)?;
        let (killed, died) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let mut killer = None;
        if kind == Kind::Startup {
            let d = uniform(&mut self.rng, Duration::ZERO, self.startup.mul_f64(1.2));
            killer = Some(arm(&srv, &killed, &died, d));
        }
        let addr = match srv.listening(Duration::from_secs(120)) {
            Listening::At(a) => {
                if kind != Kind::Startup {
                    self.startup = srv.started.elapsed();
                }
                Some(a)
            }
            _ if killed.load(Ordering::SeqCst) => None,
            other => {
                let why = match other {
                    Listening::TimedOut => "printed no address in 120 s",
                    _ => "exited without listening",
                };
                self.failed_start(n, why, &err);
                srv.kill();
                return Ok(());
            }
        };
        self.t.consecutive_failed_starts = 0;
        if kind == Kind::Startup {
            *self
                .t
                .kinds
                .entry(format!("Startup, {}", if addr.is_some() { "after listening" } else { "before listening" }))
                .or_default() += 1;
        }
        if let Some(addr) = addr
            && kind != Kind::Startup
        {
            if kind == Kind::Warmup {
                let d = uniform(&mut self.rng, Duration::ZERO, Duration::from_millis(400));
                killer = Some(arm(&srv, &killed, &died, d));
            }
            let client = Client::new(&addr);
            self.settle_on(client, &killed);
            if killer.is_none() {
                let d = uniform(&mut self.rng, Duration::from_millis(20), Duration::from_millis(self.o.kill_window_ms));
                killer = Some(arm(&srv, &killed, &died, d));
            }
            self.write(n, &addr, &killed);
        }
        if let Some(k) = killer {
            let _ = k.join();
        }
        srv.kill();
        if died.load(Ordering::SeqCst) {
            self.t.died_on_own += 1;
            let tail = server::tail(&err, 20);
            self.mirror.note(format!("trial {n}: serve exited before its kill:\n{tail}"));
        }
        Ok(())
    }

    /// Something that went wrong which the figures do not name (an answer that could not be read, …).
    fn error(&mut self, what: String) {
        self.t.errors += 1;
        self.mirror.note(what);
    }

    fn failed_start(&mut self, n: u64, why: &str, err: &std::path::Path) {
        self.t.failed_restarts += 1;
        self.t.consecutive_failed_starts += 1;
        let keep = self.work.join(format!("failed-start-{n}"));
        let copied = std::process::Command::new("cp").arg("-a").arg(&self.dir).arg(&keep).status();
        let tail = server::tail(err, 30);
        self.mirror.note(format!(
            "trial {n}: serve {why}; the data dir as it was is kept in {} ({copied:?}); its stderr:\n{tail}",
            keep.display()
        ));
    }

    /// On a live server: the import's outcome, the retries, then every acknowledgement against the log.
    fn settle_on(&mut self, mut c: Client, killed: &AtomicBool) {
        if let Some(p) = &self.import {
            let path = format!("/api/events?after={}&limit={}", p.before - 1, p.lines.len());
            match c.get(&path, &[]) {
                Ok(r) if r.status == 200 => {
                    let after: Vec<Vec<u8>> =
                        r.body.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect();
                    let o = import::outcome(p, &after);
                    self.t.import(p.killed, &o);
                    if o != Outcome::All && !(p.killed && o == Outcome::None) {
                        let (before, lines, killed) = (p.before, p.lines.len(), p.killed);
                        self.mirror
                            .note(format!("import of {lines} lines after seq {before} (killed: {killed}): {o:?}"));
                    }
                    self.import = None;
                }
                Ok(r) => self.error(format!("GET {path}: {}", r.status)),
                Err(_) if killed.load(Ordering::SeqCst) => return,
                Err(e) => self.error(format!("GET {path}: {e}")),
            }
        }
        self.retry(&mut c, killed);
        if killed.load(Ordering::SeqCst) {
            return;
        }
        match self.mirror.scan(&mut c) {
            Ok(_) => {
                for a in std::mem::take(&mut self.unjudged) {
                    let j = self.mirror.judge(&a);
                    self.t.lost += j.lost;
                    self.t.changed += j.changed;
                }
            }
            Err(_) if killed.load(Ordering::SeqCst) => {}
            Err(e) => self.error(format!("reading the log back: {e}")),
        }
    }

    /// Sends every request that was in flight at a kill again, with its key and body.
    fn retry(&mut self, c: &mut Client, killed: &AtomicBool) {
        let mut left = Vec::new();
        for req in std::mem::take(&mut self.pending) {
            if killed.load(Ordering::SeqCst) {
                left.push(req);
                continue;
            }
            self.t.retry_sends += 1;
            let mut answer = None;
            for _ in 0..5 {
                match work::send(c, &self.token, &req) {
                    Ok(r) => {
                        answer = Some(r);
                        break;
                    }
                    Err(_) if killed.load(Ordering::SeqCst) => break,
                    Err(_) => *c = Client::new(c.addr()),
                }
            }
            let Some(r) = answer else {
                left.push(req);
                continue;
            };
            match r.status {
                201 => {
                    if work::replayed(&r) {
                        self.t.replayed += 1;
                    } else {
                        self.t.appended += 1;
                    }
                    match work::ack(&req, &r) {
                        Ok(a) => self.unjudged.push(a),
                        Err(e) => self.error(format!("retry {}: {e}", req.key)),
                    }
                }
                503 => left.push(req),
                422 => {
                    self.t.retry_mismatch += 1;
                    self.mirror.note(format!("retry {}: 422 {}", req.key, String::from_utf8_lossy(&r.body)));
                }
                s => {
                    self.t.refused_on_retry += 1;
                    *self.t.statuses.entry(format!("retry {s}")).or_default() += 1;
                    self.refused.push(req.key.clone());
                }
            }
        }
        self.pending = left;
    }

    /// The writers, until the kill.
    fn write(&mut self, n: u64, addr: &str, killed: &Arc<AtomicBool>) {
        let threads: Vec<_> = std::mem::take(&mut self.writers)
            .into_iter()
            .map(|wr| {
                let (addr, token, killed) = (addr.to_string(), self.token.clone(), Arc::clone(killed));
                std::thread::spawn(move || work::write_until(wr, &addr, &token, n, killed))
            })
            .collect();
        for t in threads {
            let Ok((wr, seen)) = t.join() else {
                self.error(format!("trial {n}: a writer thread panicked"));
                continue;
            };
            self.writers.push(wr);
            for a in seen.acked {
                self.t.acked_requests += 1;
                self.t.acked_events += a.events.len() as u64;
                self.expected.insert(a.key.clone(), a.expect);
                self.unjudged.push(a);
            }
            for (req, status) in seen.refused {
                *self.t.statuses.entry(status.to_string()).or_default() += 1;
                self.expected.insert(req.key.clone(), req.events);
                self.refused.push(req.key);
            }
            if let Some(req) = seen.in_flight {
                self.t.in_flight += 1;
                self.expected.insert(req.key.clone(), req.events);
                self.pending.push(req);
            }
            self.t.replayed_first += seen.replayed_first;
            for m in seen.malformed {
                self.error(format!("trial {n}: {m}"));
            }
        }
        self.writers.sort_by_key(|w| w.w);
    }

    fn import_trial(&mut self, n: u64) -> Result<(), Fail> {
        let count = self.rng.gen_range(20..=400);
        let scratch = self.work.join("import-copy");
        let (before, lines) = import::make_lines(&self.dir, &scratch, self.o.writers, count, n)?;
        let file = self.work.join("import.jsonl");
        let mut text = Vec::new();
        for l in &lines {
            text.extend_from_slice(l);
            text.push(b'\n');
        }
        std::fs::write(&file, text)?;
        // Most kills at a random moment of the import (which is mostly opening the store); a quarter just as its
        // lines reach the record file, after sled committed them.
        let when = if self.rng.gen_bool(0.25) {
            import::When::RecordsGrow(Duration::from_micros(self.rng.gen_range(0..3000)))
        } else {
            let hi = self.import_took.max(self.startup).mul_f64(1.3);
            import::When::After(uniform(&mut self.rng, Duration::ZERO, hi))
        };
        *self
            .t
            .kinds
            .entry(format!(
                "Import, {}",
                if matches!(when, import::When::After(_)) { "at a random moment" } else { "as records grow" }
            ))
            .or_default() += 1;
        let ran = import::run(&self.dir, &file, when)?;
        if !ran.killed {
            self.import_took = ran.elapsed;
        }
        if let Some(f) = ran.failed {
            self.t.import_failed += 1;
            self.mirror.note(format!("trial {n}: {f}"));
        }
        self.import = Some(import::Pending { before, lines, killed: ran.killed });
        Ok(())
    }

    /// `verify` on the stopped store, and its `export` compared line by line with what the API served.
    fn verify(&mut self) -> Result<(), Fail> {
        self.t.verify_runs += 1;
        let out = server::cli(&self.dir, &["verify"])?;
        if !out.status.success() {
            self.t.verify_failed += 1;
            let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
            self.mirror.note(format!("verify: {}: {}", out.status, text.trim()));
        }
        let export = server::cli(&self.dir, &["export"])?;
        if !export.status.success() {
            self.mirror.note(format!("export: {}", export.status));
            self.t.unverifiable += 1;
            return Ok(());
        }
        self.t.changed += self.mirror.compare(&export.stdout);
        let lines = export.stdout.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count() as u64;
        if lines < self.mirror.len() {
            self.t.lost += self.mirror.len() - lines;
            self.mirror.note(format!("export has {lines} lines, the API served {}", self.mirror.len()));
        }
        Ok(())
    }

    /// A last start with no kill: settles the pending import and retries, reads the whole log, stops cleanly.
    fn settle(&mut self) -> Result<(), Fail> {
        let err = self.work.join("serve.err");
        let srv = Server::spawn(&self.dir, &err)?;
        let Listening::At(addr) = srv.listening(Duration::from_secs(120)) else {
            self.failed_start(self.o.trials, "did not listen for the last check", &err);
            srv.kill();
            return Ok(());
        };
        let never = AtomicBool::new(false);
        for _ in 0..3 {
            self.settle_on(Client::new(&addr), &never);
            if self.pending.is_empty() && self.import.is_none() {
                break;
            }
        }
        srv.stop()
    }

    /// Duplicates by key, refusals that appended, keys nobody sent, requests never settled.
    fn final_checks(&mut self) {
        let mut dup = Vec::new();
        let mut unknown = 0;
        for (key, seqs) in self.mirror.keys() {
            match self.expected.get(key) {
                Some(&e) if seqs.len() > e => dup.push(format!("{key} on seqs {seqs:?} (its request appends {e})")),
                Some(_) => {}
                None if key == "setup" => {}
                None => unknown += 1,
            }
        }
        self.t.duplicates = dup.len() as u64;
        self.t.unknown_keys = unknown;
        for d in dup {
            self.mirror.note(format!("duplicate: {d}"));
        }
        let appended: Vec<String> =
            self.refused.iter().filter(|k| !self.mirror.seqs_of(k).is_empty()).cloned().collect();
        self.t.refused_but_appended = appended.len() as u64;
        for k in appended {
            self.mirror.note(format!("{k} was refused, yet its events are in the ledger"));
        }
        self.t.unsettled = self.pending.len() as u64 + u64::from(self.import.is_some()) + self.unjudged.len() as u64;
        self.t.unverifiable += self.mirror.unverifiable;
        self.t.events = self.mirror.len();
        self.t.notes = self.mirror.notes.clone();
    }
}
