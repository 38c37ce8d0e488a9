//! The byte layout of the store's keys: each sorts as what it stands for (seqs and dates big-endian), so range
//! scans read one entity's, one plan's or one axis's entries in order.

use chrono::{Datelike, NaiveDate};

use super::LogError;
use crate::core::audit::merkle::NodeId;

pub(super) fn index_key(entity: &str, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(entity.len() + 9);
    k.extend_from_slice(entity.as_bytes());
    k.push(0);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// A date as 4 bytes that sort as the dates do.
pub(super) fn day_bytes(d: NaiveDate) -> [u8; 4] {
    ((d.num_days_from_ce() as u32) ^ 0x8000_0000).to_be_bytes()
}

pub(super) fn day_of(b: &[u8]) -> Result<NaiveDate, LogError> {
    let arr: [u8; 4] = b.try_into().map_err(|_| LogError::corrupt(None, "a timeline date is not 4 bytes"))?;
    NaiveDate::from_num_days_from_ce_opt((u32::from_be_bytes(arr) ^ 0x8000_0000) as i32)
        .ok_or_else(|| LogError::corrupt(None, "a timeline date is out of range"))
}

/// `tag ‖ plan ‖ 0`: the start of one plan's part of the timeline tree.
pub(super) fn timeline_prefix(tag: u8, plan: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(plan.len() + 14);
    k.push(tag);
    k.extend_from_slice(plan.as_bytes());
    k.push(0);
    k
}

/// Key of an event on its plan's in-force timeline: `E ‖ plan ‖ 0 ‖ effective ‖ seq`.
pub(super) fn in_force_key(plan: &str, effective: NaiveDate, seq: u64) -> Vec<u8> {
    let mut k = timeline_prefix(b'E', plan);
    k.extend_from_slice(&day_bytes(effective));
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// A cached state's position: after the plan's event `seq` in seq order, or after the event at (effective, seq) on the
/// plan's in-force timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CachePos {
    Seq(u64),
    InForce(NaiveDate, u64),
}

pub(super) fn cache_prefix(plan: &str, pos: CachePos) -> Vec<u8> {
    timeline_prefix(if matches!(pos, CachePos::Seq(_)) { b'S' } else { b'E' }, plan)
}

/// `S ‖ plan ‖ 0 ‖ seq` or `E ‖ plan ‖ 0 ‖ effective ‖ seq`.
pub(super) fn cache_key(plan: &str, pos: CachePos) -> Vec<u8> {
    let mut k = cache_prefix(plan, pos);
    match pos {
        CachePos::Seq(s) => k.extend_from_slice(&s.to_be_bytes()),
        CachePos::InForce(d, s) => {
            k.extend_from_slice(&day_bytes(d));
            k.extend_from_slice(&s.to_be_bytes());
        }
    }
    k
}

/// Key of a late arrival: `L ‖ plan ‖ 0 ‖ seq`, valued with its effective date.
pub(super) fn late_key(plan: &str, seq: u64) -> Vec<u8> {
    let mut k = timeline_prefix(b'L', plan);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub(super) fn node_key(id: NodeId) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = id.level;
    k[1..].copy_from_slice(&id.index.to_be_bytes());
    k
}

pub(super) fn seq_of(key: &[u8]) -> Result<u64, LogError> {
    let arr: [u8; 8] = key.try_into().map_err(|_| LogError::corrupt(None, "an event key is not 8 bytes"))?;
    Ok(u64::from_be_bytes(arr))
}
