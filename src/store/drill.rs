//! Fault drills and inspection of what the store keeps beside the record: the raw bytes of the projection cache
//! (to plant a damaged or forged entry and see it caught), the recorded hashes, the late-arrival marks and the token
//! tree as stored. None of it changes the hashed log.

use chrono::NaiveDate;

use super::ledger::{Ledger, LedgerError};
use super::log::{CachePos, TokenEntry};
use crate::core::domain::EventHash;

impl Ledger {
    /// The hash recorded for `seq` when it was appended.
    pub fn stored_hash(&self, seq: u64) -> Result<Option<EventHash>, LedgerError> {
        Ok(self.log().stored_hash(seq)?)
    }

    /// Signs the checkpoint of a tree of `size` events with root `root` with this ledger's key (to test that a
    /// verifier refuses a checkpoint that another ledger signed).
    pub fn sign_checkpoint(&self, size: u64, root: [u8; 32]) -> Result<String, LedgerError> {
        Ok(self.log().sign_checkpoint(size, root)?)
    }

    /// The late arrivals of `plan` with seq >= `from`, as (seq, effective).
    pub fn late_arrivals(&self, plan: &str, from: u64) -> Result<Vec<(u64, NaiveDate)>, LedgerError> {
        Ok(self.log().late_since(plan, from)?)
    }

    /// The cached state of `plan` at the greatest position on `pos`'s axis not after `pos`, as stored.
    pub fn cached_floor(&self, plan: &str, pos: CachePos) -> Result<Option<(CachePos, Vec<u8>)>, LedgerError> {
        Ok(self.log().cache_floor(plan, pos)?)
    }

    /// The cached state of `plan` at exactly `pos`, as stored.
    pub fn cached_at(&self, plan: &str, pos: CachePos) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self.log().cache_at(plan, pos)?)
    }

    /// Overwrites a cache entry with `bytes`: a drill for the checks made before a cached state is used.
    pub fn plant_cache_entry(&self, plan: &str, pos: CachePos, bytes: &[u8]) -> Result<(), LedgerError> {
        Ok(self.log().cache_put(plan, pos, bytes)?)
    }

    /// The token tree as stored: each secret's hash and its record's bytes.
    pub fn stored_tokens(&self) -> Result<Vec<TokenEntry>, LedgerError> {
        Ok(self.log().tokens()?)
    }
}
