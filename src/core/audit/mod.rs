//! Audit proofs without trusting the server: the Merkle tree over event hashes, signed checkpoints, the JSON forms
//! of inclusion and consistency proofs, and offline proof bundles. Pure code: storage reaches it through
//! [`merkle::NodeSource`].

pub mod merkle;
pub mod note;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::core::domain::EventHash;
use crate::core::record::Record;
use merkle::{ProofError, Rfc6962Sha256, TreeHasher};
use note::{Checkpoint, NoteError, NoteVerifier};

/// The ledger's tree hash.
pub type LedgerHasher = Rfc6962Sha256;
pub type TreeHash = [u8; 32];

pub fn b64(h: &[u8]) -> String {
    B64.encode(h)
}

/// The leaf hash of an event: SHA-256(0x00 ‖ blake3(event bytes)).
pub fn leaf_of(event_hash: &EventHash) -> TreeHash {
    LedgerHasher::hash_leaf(&event_hash.0)
}

/// An inclusion proof in its JSON form (hashes in standard base64, as in RFC 6962's API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    pub leaf_index: u64,
    pub tree_size: u64,
    /// The event's blake3 hash (hex): the tree's entry.
    pub entry: String,
    pub leaf_hash: String,
    pub root: String,
    pub proof: Vec<String>,
}

/// A consistency proof in its JSON form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    pub size1: u64,
    pub size2: u64,
    pub root1: String,
    pub root2: String,
    pub proof: Vec<String>,
}

fn unb64(what: &str, s: &str) -> Result<Vec<u8>, BundleError> {
    B64.decode(s).map_err(|e| BundleError::Field { field: what.into(), reason: format!("not base64: {e}") })
}

impl InclusionProof {
    /// Checks the proof against a root the caller trusts — the root of a signed checkpoint of `size` events, or one
    /// recomputed from the ledger — never against the `root` the proof itself carries, which whoever made the proof
    /// could have chosen: the entry gives the leaf hash, and the path must lead to the trusted root.
    pub fn verify_against(&self, size: u64, trusted_root: &TreeHash) -> Result<(), BundleError> {
        if self.tree_size != size {
            return Err(BundleError::Field {
                field: "tree_size".into(),
                reason: format!("is {}, but the trusted root is of {size} events", self.tree_size),
            });
        }
        let entry = EventHash::from_hex(&self.entry).ok_or_else(|| BundleError::Field {
            field: "entry".into(),
            reason: "is not 64 lowercase hex digits".into(),
        })?;
        let leaf = unb64("leaf_hash", &self.leaf_hash)?;
        if leaf != leaf_of(&entry) {
            return Err(BundleError::Field {
                field: "leaf_hash".into(),
                reason: "is not the leaf of the entry".into(),
            });
        }
        if unb64("root", &self.root)? != trusted_root[..] {
            return Err(BundleError::Field { field: "root".into(), reason: "is not the trusted root".into() });
        }
        let proof = self.proof.iter().map(|p| unb64("proof", p)).collect::<Result<Vec<_>, _>>()?;
        merkle::verify_inclusion::<LedgerHasher, _>(self.leaf_index, self.tree_size, &leaf, &proof, trusted_root)?;
        Ok(())
    }
}

impl ConsistencyProof {
    /// Checks the proof between two roots the caller trusts (two signed checkpoints, or an earlier checkpoint and
    /// a recomputed ledger), never the roots the proof carries.
    pub fn verify_between(&self, earlier: (u64, &TreeHash), later: (u64, &TreeHash)) -> Result<(), BundleError> {
        if (self.size1, self.size2) != (earlier.0, later.0) {
            return Err(BundleError::Field {
                field: "size1".into(),
                reason: format!(
                    "the proof is from {} to {} events, but the trusted roots are of {} and {}",
                    self.size1, self.size2, earlier.0, later.0
                ),
            });
        }
        for (field, carried, trusted) in [("root1", &self.root1, earlier.1), ("root2", &self.root2, later.1)] {
            if unb64(field, carried)? != trusted[..] {
                return Err(BundleError::Field { field: field.into(), reason: "is not the trusted root".into() });
            }
        }
        let proof = self.proof.iter().map(|p| unb64("proof", p)).collect::<Result<Vec<_>, _>>()?;
        merkle::verify_consistency::<LedgerHasher, _>(self.size1, self.size2, &proof, earlier.1, later.1)?;
        Ok(())
    }
}

/// The format tag of proof bundles.
pub const BUNDLE_FORMAT: &str = "planledger-bundle/1";

/// An offline proof that one revision is in the ledger: the event's exact bytes, its inclusion proof and the
/// signed checkpoint the proof leads to. Verifiable with nothing but this file and the ledger's public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub format: String,
    /// The event line exactly as hashed (UTF-8, without the newline).
    pub event: String,
    pub leaf_index: u64,
    pub tree_size: u64,
    pub proof: Vec<String>,
    /// The signed checkpoint note of size `tree_size`.
    pub checkpoint: String,
}

/// Why a bundle or proof did not verify.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("the bundle is not valid JSON of format {BUNDLE_FORMAT}: {0}")]
    Json(String),
    #[error("{field}: {reason}")]
    Field { field: String, reason: String },
    #[error("the checkpoint: {0}")]
    Checkpoint(#[from] NoteError),
    #[error("the inclusion proof: {0}")]
    Proof(#[from] ProofError),
}

/// What a verified bundle proves.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    pub record: Record,
    pub event_hash: EventHash,
    pub checkpoint: Checkpoint,
}

impl Bundle {
    pub fn to_json(&self) -> String {
        // Invariant: a struct of strings and integers always serializes.
        serde_json::to_string_pretty(self).expect("bundles serialize") + "\n"
    }

    /// Verifies a bundle file against the ledger's public key, from the file's bytes alone.
    pub fn verify(bytes: &[u8], key: &NoteVerifier) -> Result<VerifiedBundle, BundleError> {
        let b: Bundle = serde_json::from_slice(bytes).map_err(|e| BundleError::Json(e.to_string()))?;
        if b.format != BUNDLE_FORMAT {
            return Err(BundleError::Field { field: "format".into(), reason: format!("is not {BUNDLE_FORMAT:?}") });
        }
        let checkpoint = Checkpoint::open(&b.checkpoint, key)?;
        if checkpoint.size != b.tree_size {
            return Err(BundleError::Field {
                field: "tree_size".into(),
                reason: format!("is {} but the checkpoint is of size {}", b.tree_size, checkpoint.size),
            });
        }
        let record = Record::decode(b.event.as_bytes())
            .map_err(|e| BundleError::Field { field: "event".into(), reason: e.to_string() })?;
        if record.seq.0 != b.leaf_index {
            return Err(BundleError::Field {
                field: "leaf_index".into(),
                reason: format!("is {} but the event's seq is {}", b.leaf_index, record.seq.0),
            });
        }
        let event_hash = EventHash::of(b.event.as_bytes());
        let proof = b.proof.iter().map(|p| unb64("proof", p)).collect::<Result<Vec<_>, _>>()?;
        merkle::verify_inclusion::<LedgerHasher, _>(
            b.leaf_index,
            b.tree_size,
            &leaf_of(&event_hash),
            &proof,
            &checkpoint.root,
        )?;
        Ok(VerifiedBundle { record, event_hash, checkpoint })
    }
}
