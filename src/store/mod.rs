//! Storage: the only layer that names sled or the data dir. `Ledger` is its one public type: the writer thread,
//! the durable state readers see, the projection cache (time travel), tokens and restores; the log underneath is
//! private to this layer, so every record leaves it decoded and every corruption is reported from one place.

pub mod backup;
pub mod bench;
pub mod bounded;
pub mod cache;
pub mod copy;
pub mod drill;
pub mod ledger;
pub(crate) mod log;
pub mod repair;
pub mod restore;
pub mod tokens;

pub use bench::holds_ledger;
pub use ledger::{Ledger, LedgerError};
pub use log::{CachePos, DEFAULT_CACHE_MB, DiskRefusal, Faults, Head, LogError, set_cache_mb};
