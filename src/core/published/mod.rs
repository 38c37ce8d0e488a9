//! Published snapshots: a plan at one of its named versions as deterministic JSON, pinned to the ledger by seq,
//! head hash and Merkle root, and (when taken from a data dir) attested by the ledger's signed checkpoint and a
//! consistency proof. Pure: it works on ledger lines and checkpoint notes handed to it; the caller does the I/O.

mod check;
mod paths;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::audit::merkle::{self, MemoryTree};
use crate::core::audit::{ConsistencyProof, LedgerHasher, b64};
use crate::core::domain::state::Plan;
use crate::core::domain::{DomainError, EventHash, PlanId, Seq, State};
use crate::core::projection::{self, PlanView, Point};
use crate::core::record::{ChainVerifier, Record, VerifyError};

/// The format tag of snapshot files.
pub const SNAPSHOT_FORMAT: &str = "planledger-snapshot/1";

/// The longest file-name stem [`file_stem`] produces: with `.json` a name stays within the 255 bytes that common
/// file systems allow for one path component.
pub const MAX_STEM: usize = 240;

/// What ties a snapshot's pinned root to the ledger's signed log: the latest checkpoint when the snapshot was
/// taken (size N ≥ tree_size) and the consistency proof from tree_size to N.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    /// The signed checkpoint note (docs/FORMAT.md §13).
    pub checkpoint: String,
    /// From the snapshot's tree (size1 = tree_size, root1 = root) to the checkpoint's (size2, root2).
    pub consistency: ConsistencyProof,
}

/// A plan at a named version, as written to a snapshot file. Field order is the file's key order.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub format: &'static str,
    pub plan: PlanId,
    pub version: String,
    /// The seq the version names.
    pub seq: Seq,
    /// The hash of event `seq`: the chain's head at that point.
    pub head_hash: EventHash,
    /// `seq + 1`: the number of events the document is folded from.
    pub tree_size: u64,
    /// The RFC 6962 root of the first `tree_size` events, base64.
    pub root: String,
    /// Absent (null) for snapshots built from ledger files alone, such as the seed snapshots.
    pub attestation: Option<Attestation>,
    /// The plan view at `seq`, as `show PLAN --at SEQ --json` prints it.
    pub document: PlanView,
}

impl Snapshot {
    /// The file's bytes: pretty-printed JSON (two-space indent), keys in declaration order, a final newline.
    pub fn to_json(&self) -> String {
        // Invariant: a snapshot is made of strings, integers, booleans, arrays and structs: it always serializes.
        serde_json::to_string_pretty(self).expect("snapshots serialize") + "\n"
    }

    /// The snapshot's path under the snapshots directory: `<plan stem>/<version stem>.json`.
    pub fn relative_path(&self) -> Result<String, DomainError> {
        relative_path(&self.plan, &self.version)
    }
}

/// A snapshot file as read back. Plan, hash and root stay text so that a wrong value is reported as a mismatch
/// of its field rather than as unreadable JSON; they are compared with the text forms of the ledger's values.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotFile {
    pub format: String,
    pub plan: String,
    pub version: String,
    pub seq: u64,
    pub head_hash: String,
    pub tree_size: u64,
    pub root: String,
    #[serde(default)]
    pub attestation: Option<Attestation>,
    pub document: Value,
}

/// A ledger read from its lines and checked from seq 0 (encoding, chain and plan rules): its records, their hashes
/// and the Merkle tree over them.
pub struct CheckedLedger {
    records: Vec<Record>,
    hashes: Vec<EventHash>,
    tree: MemoryTree<LedgerHasher>,
    state: State,
}

impl CheckedLedger {
    /// Checks `lines` as a whole ledger from seq 0; the first bad event refuses them all.
    pub fn verify<B: AsRef<[u8]>>(lines: &[B]) -> Result<Self, VerifyError> {
        let mut v = ChainVerifier::new();
        let mut records = Vec::with_capacity(lines.len());
        let mut hashes = Vec::with_capacity(lines.len());
        let mut tree = MemoryTree::<LedgerHasher>::default();
        for l in lines {
            let (r, h) = v.push(l.as_ref())?;
            tree.push(&h.0);
            records.push(r);
            hashes.push(h);
        }
        Ok(Self { records, hashes, tree, state: v.into_state() })
    }

    /// The number of events.
    pub fn len(&self) -> u64 {
        self.hashes.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The state after every event.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The root of the first `size` events, if the ledger has that many.
    pub fn root(&self, size: u64) -> Option<[u8; 32]> {
        if size > self.len() {
            return None;
        }
        merkle::root::<LedgerHasher, _>(&self.tree, size).ok()
    }

    fn plan(&self, field: &str, plan: &PlanId) -> Result<&Plan, DomainError> {
        self.state
            .plans
            .get(plan)
            .ok_or_else(|| DomainError::not_found(field, format!("the ledger has no plan {plan}")))
    }

    /// The snapshot of `plan` at its version `version`, without attestation. `field` names the version's input in
    /// a refusal (`--version` on the command line).
    pub fn snapshot(&self, plan: &PlanId, version: &str, field: &str) -> Result<Snapshot, DomainError> {
        let p = self.plan("plan", plan)?;
        let seq = version_seq(field, p, version)?;
        let at = usize::try_from(seq).ok().filter(|i| *i < self.hashes.len()).ok_or_else(|| {
            DomainError::invalid(field, format!("names seq {seq}, beyond the ledger's {} events", self.len()))
        })?;
        let state = projection::replay(&self.records, Some(Point::Seq(seq)));
        let document = projection::view_plan(&state, plan)
            .ok_or_else(|| DomainError::invalid(field, format!("names seq {seq}, before plan {plan} was created")))?;
        let root = self.root(seq + 1).ok_or_else(|| DomainError::invalid(field, "the tree is incomplete"))?;
        Ok(Snapshot {
            format: SNAPSHOT_FORMAT,
            plan: plan.clone(),
            version: version.to_string(),
            seq: Seq(seq),
            head_hash: self.hashes[at],
            tree_size: seq + 1,
            root: b64(&root),
            attestation: None,
            document,
        })
    }

    /// Every named version of every plan: plans by id, each plan's versions by seq, then by name.
    pub fn snapshots(&self) -> Result<Vec<Snapshot>, DomainError> {
        let mut out = Vec::new();
        for (id, p) in self.state.plans.iter() {
            let mut versions: Vec<(&String, &u64)> = p.versions.iter().collect();
            versions.sort_by(|a, b| (a.1, a.0).cmp(&(b.1, b.0)));
            for (name, _) in versions {
                out.push(self.snapshot(id, name, "version")?);
            }
        }
        Ok(out)
    }
}

fn version_seq(field: &str, plan: &Plan, name: &str) -> Result<u64, DomainError> {
    match projection::version_point(field, plan, name)? {
        Point::Seq(s) => Ok(s),
        // A version always names a seq; any other axis would be a bug in `version_point`.
        other => Err(DomainError::invalid(field, format!("names {}, not a seq", other.describe()))),
    }
}

pub use check::{Mismatch, SnapshotError, Verified, canonical, verify};
pub use paths::{file_stem, relative_path};
