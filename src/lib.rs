//! planledger: an event-sourced, tamper-evident revision ledger for Japanese municipal comprehensive plans.
//!
//! Four layers, each a folder, each using only the ones below it: `core` (pure: the domain, the record codec,
//! audit, projections), `store` (the only code that names sled or the data dir: the log, the writer, the
//! projection cache, tokens), `query` (the one read façade the API, the portal and the CLI share) and `web` (the
//! HTTP API and the portal). The command line lives in the binary (`src/cli`).
#![forbid(unsafe_code)]

pub mod core;
pub mod query;
pub mod store;
#[cfg(feature = "web")]
pub mod web;
