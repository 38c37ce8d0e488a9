//! The stored record: envelope plus event, its canonical bytes, its hash, and verification of a chain of them.

mod record;
mod verify;

pub use record::{FORMAT_VERSION, Record, RecordError, to_micros as to_micros_pub};
pub use verify::{ChainVerifier, VerifyError, VerifySummary, verify_lines};
