//! The pure core: the plan domain, the record codec, audit (tree, notes, proofs, bundles), projections, restore
//! planning, plan tables, published snapshots and synthetic workloads. No I/O: it knows nothing of sled, tokio,
//! axum or maud, so every rule and every fold can be tested and reasoned about without a store.

pub mod audit;
pub mod compensate;
pub mod domain;
pub mod plantable;
pub mod projection;
pub mod published;
pub mod record;
pub mod synth;
