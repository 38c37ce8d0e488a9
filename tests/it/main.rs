//! Integration tests: one binary. Each module proves part of the ledger's promises.
#![allow(clippy::unwrap_used, clippy::panic, clippy::cast_possible_truncation)]

mod admin;
mod audit;
mod browser;
mod cli;
mod clock;
mod concurrency;
mod crash;
mod damage;
mod diskfull;
mod fuzz;
mod http;
mod import;
mod model;
mod openapi;
mod portal;
mod preconditions;
mod recordfile;
mod regressions;
mod restore;
mod restore_cases;
mod resume;
mod scripts;
mod seeds;
mod serve;
mod snapcache;
mod snapshots;
mod support;
mod tamper;
mod tidy;
mod timetravel;
mod tokens;
mod vectors;
mod writes;
