//! The stored record: envelope plus event, its canonical bytes, its hash, and verification of a chain of them.

mod codec;
mod verify;

pub use codec::{FORMAT_VERSION, Record, RecordError, to_micros as to_micros_pub};
pub use verify::{ChainVerifier, VerifyError, VerifySummary, split_lines, verify_lines};
