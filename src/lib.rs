//! planledger: an event-sourced, tamper-evident revision ledger for Japanese municipal comprehensive plans.
#![forbid(unsafe_code)]

pub mod audit;
pub mod domain;
pub mod events;
pub mod http;
pub mod ledger;
pub mod log;
pub mod plantable;
pub mod portal;
pub mod projection;
pub mod published;
pub mod restore;
pub mod synth;
pub mod timetravel;
pub mod tokens;
