//! The figures a kill -9 run counts, and its summary.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::import::Outcome;

#[derive(Default)]
pub struct Tally {
    pub kinds: BTreeMap<String, u64>,
    pub acked_requests: u64,
    pub acked_events: u64,
    pub lost: u64,
    pub changed: u64,
    pub unverifiable: u64,
    pub failed_restarts: u64,
    pub consecutive_failed_starts: u64,
    pub died_on_own: u64,
    pub in_flight: u64,
    pub retry_sends: u64,
    pub replayed: u64,
    pub appended: u64,
    pub refused_on_retry: u64,
    pub retry_mismatch: u64,
    pub replayed_first: u64,
    pub duplicates: u64,
    pub refused_but_appended: u64,
    pub unknown_keys: u64,
    pub unsettled: u64,
    pub errors: u64,
    pub statuses: BTreeMap<String, u64>,
    pub import_all: u64,
    pub import_none: u64,
    pub import_partial: u64,
    pub import_other: u64,
    pub import_finished: u64,
    pub import_failed: u64,
    pub verify_runs: u64,
    pub verify_failed: u64,
    pub events: u64,
    pub wall: Duration,
    pub notes: Vec<String>,
}

impl Tally {
    pub fn import(&mut self, killed: bool, o: &Outcome) {
        if !killed {
            self.import_finished += 1;
            if *o != Outcome::All {
                self.lost += 1;
            }
            return;
        }
        match o {
            Outcome::All => self.import_all += 1,
            Outcome::None => self.import_none += 1,
            Outcome::Partial(_) => self.import_partial += 1,
            Outcome::Other => self.import_other += 1,
        }
    }

    /// Everything that must be zero for the run to pass.
    pub fn faults(&self) -> u64 {
        self.lost
            + self.changed
            + self.unverifiable
            + self.failed_restarts
            + self.died_on_own
            + self.retry_mismatch
            + self.replayed_first
            + self.duplicates
            + self.refused_but_appended
            + self.unknown_keys
            + self.unsettled
            + self.errors
            + self.import_partial
            + self.import_other
            + self.import_failed
            + self.verify_failed
    }

    pub fn print(&self, trials: u64, writers: usize, seed: u64) {
        // "Import, as records grow" and the like are parts of "Import": shown in brackets after it.
        let mut kinds: Vec<String> = Vec::new();
        for (k, v) in self.kinds.iter().filter(|(k, _)| !k.contains(", ")) {
            let parts: Vec<String> = self
                .kinds
                .iter()
                .filter_map(|(p, n)| p.strip_prefix(&format!("{k}, ")).map(|rest| format!("{rest} {n}")))
                .collect();
            let parts = if parts.is_empty() { String::new() } else { format!(" [{}]", parts.join(", ")) };
            kinds.push(format!("{k} {v}{parts}"));
        }
        let statuses: Vec<String> = self.statuses.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        println!("== kill9 summary (seed {seed})");
        println!("trials                 {trials} ({}), {writers} writers", kinds.join(", "));
        println!(
            "acked                  {} requests, {} events; ledger now {} events",
            self.acked_requests, self.acked_events, self.events
        );
        println!("lost                   {}", self.lost);
        println!("changed                {}", self.changed);
        println!("unverifiable           {}", self.unverifiable);
        println!("failed restarts        {} (and {} exits before a kill)", self.failed_restarts, self.died_on_own);
        println!(
            "in flight at a kill    {}: retried {} sends, replayed {}, appended {}, refused {}, duplicates {}",
            self.in_flight, self.retry_sends, self.replayed, self.appended, self.refused_on_retry, self.duplicates
        );
        println!(
            "key misuse             422 on retry {}, first sends replayed {}, refusals that appended {}, unknown keys {}, unsettled {}",
            self.retry_mismatch, self.replayed_first, self.refused_but_appended, self.unknown_keys, self.unsettled
        );
        println!(
            "import kills           all {}, none {}, partial {}, other {}; finished before the kill {} (failed {})",
            self.import_all,
            self.import_none,
            self.import_partial,
            self.import_other,
            self.import_finished,
            self.import_failed
        );
        println!("verify                 {} runs, {} failed", self.verify_runs, self.verify_failed);
        println!("other errors           {}", self.errors);
        println!(
            "refusals               {}",
            if statuses.is_empty() { "none".to_string() } else { statuses.join(", ") }
        );
        println!("wall time              {:.1?}", self.wall);
        println!("result                 {}", if self.faults() == 0 { "PASS" } else { "FAIL" });
    }
}
