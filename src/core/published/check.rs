//! Checking a published snapshot against ledger lines: every pin, the document, and the attestation, each
//! mismatch named by its field.

use std::fmt;

use serde_json::Value;

use crate::core::audit::b64;
use crate::core::audit::note::{Checkpoint, NoteVerifier};
use crate::core::domain::{DomainError, PlanId};

use super::*;

// ───────────────────────────── verification ─────────────────────────────

/// One field of a snapshot that does not match the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The field, as a path into the snapshot: `head_hash`, `document.nodes[0].title`, `attestation.checkpoint` …
    pub field: String,
    pub reason: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// Why a snapshot was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a snapshot of format {SNAPSHOT_FORMAT}: {0}")]
    NotASnapshot(String),
    #[error("the snapshot carries an attestation, and no public key was given to check its checkpoint's signature")]
    KeyNeeded,
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Mismatch(Vec<Mismatch>),
}

/// What a verified snapshot established.
#[derive(Debug, Clone)]
pub struct Verified {
    pub snapshot: SnapshotFile,
    /// The attestation's checkpoint, whose signature, consistency proof and (where the ledger is long enough) root
    /// were checked.
    pub checkpoint: Option<Checkpoint>,
    /// Whether the ledger given reaches the checkpoint's size, so that its root was compared with the ledger's too.
    pub checkpoint_root_compared: bool,
}

fn mismatch(out: &mut Vec<Mismatch>, field: impl Into<String>, reason: impl Into<String>) {
    out.push(Mismatch { field: field.into(), reason: reason.into() });
}

/// Verifies the bytes of a snapshot file against a ledger: the version names `seq` in the ledger, and `seq`,
/// `head_hash`, `tree_size`, `root` and the document (compared by canonical re-serialization) are what the ledger
/// gives at that seq; an attestation is checked with `key`: the checkpoint's signature, the consistency proof from
/// the pinned tree to the checkpoint's, and, when the ledger has the checkpoint's size, the checkpoint's root.
/// Every mismatching field is reported, not only the first.
pub fn verify(bytes: &[u8], ledger: &CheckedLedger, key: Option<&NoteVerifier>) -> Result<Verified, SnapshotError> {
    let found: SnapshotFile = serde_json::from_slice(bytes).map_err(|e| SnapshotError::NotASnapshot(e.to_string()))?;
    if found.format != SNAPSHOT_FORMAT {
        return Err(SnapshotError::Mismatch(vec![Mismatch {
            field: "format".into(),
            reason: format!("is {:?}, expected {SNAPSHOT_FORMAT:?}", found.format),
        }]));
    }
    if found.attestation.is_some() && key.is_none() {
        return Err(SnapshotError::KeyNeeded);
    }
    let fail =
        |field: &str, e: DomainError| SnapshotError::Mismatch(vec![Mismatch { field: field.into(), reason: e.reason }]);
    let plan = PlanId::new(found.plan.as_str())
        .map_err(|p| fail("plan", DomainError::invalid("plan", format!("{:?} is not a plan id: {p}", found.plan))))?;
    let expected = ledger.snapshot(&plan, &found.version, "version").map_err(|e| fail(&e.field.clone(), e))?;

    let mut out = Vec::new();
    if found.seq != expected.seq.0 {
        mismatch(
            &mut out,
            "seq",
            format!(
                "expected {} (the ledger names version {:?} at seq {}), found {}",
                expected.seq, found.version, expected.seq, found.seq
            ),
        );
    }
    if found.head_hash != expected.head_hash.to_hex() {
        mismatch(
            &mut out,
            "head_hash",
            format!(
                "expected {} (the hash of event {} in the ledger), found {}",
                expected.head_hash, expected.seq, found.head_hash
            ),
        );
    }
    if found.tree_size != expected.tree_size {
        mismatch(&mut out, "tree_size", format!("expected {}, found {}", expected.tree_size, found.tree_size));
    }
    if found.root != expected.root {
        mismatch(
            &mut out,
            "root",
            format!(
                "expected {} (the root of the ledger's first {} events), found {}",
                expected.root, expected.tree_size, found.root
            ),
        );
    }
    // Invariant: a plan view is made of strings, integers, booleans and arrays: it always converts.
    let doc = serde_json::to_value(&expected.document).expect("plan views serialize");
    if canonical(&doc) != canonical(&found.document) {
        let (path, want, got) = first_difference("document".into(), &doc, &found.document);
        mismatch(
            &mut out,
            path,
            format!(
                "expected {} (the plan at seq {} in the ledger), found {}",
                shorten(&want),
                expected.seq,
                shorten(&got)
            ),
        );
    }
    let mut checkpoint = None;
    let mut compared = false;
    if let (Some(a), Some(key)) = (&found.attestation, key) {
        (checkpoint, compared) = check_attestation(a, key, &found, ledger, &mut out);
    }
    if out.is_empty() {
        Ok(Verified { snapshot: found, checkpoint, checkpoint_root_compared: compared })
    } else {
        Err(SnapshotError::Mismatch(out))
    }
}

fn check_attestation(
    a: &Attestation,
    key: &NoteVerifier,
    found: &SnapshotFile,
    ledger: &CheckedLedger,
    out: &mut Vec<Mismatch>,
) -> (Option<Checkpoint>, bool) {
    let cp = match Checkpoint::open(&a.checkpoint, key) {
        Ok(cp) => cp,
        Err(e) => {
            mismatch(out, "attestation.checkpoint", format!("does not verify with the key {}: {e}", key.encode()));
            return (None, false);
        }
    };
    let c = &a.consistency;
    let before = out.len();
    if c.size1 != found.tree_size {
        mismatch(
            out,
            "attestation.consistency.size1",
            format!("is {}, but the snapshot's tree_size is {}", c.size1, found.tree_size),
        );
    }
    if c.root1 != found.root {
        mismatch(
            out,
            "attestation.consistency.root1",
            format!("is {}, but the snapshot's root is {}", c.root1, found.root),
        );
    }
    if c.size2 != cp.size {
        mismatch(
            out,
            "attestation.consistency.size2",
            format!("is {}, but the checkpoint's size is {}", c.size2, cp.size),
        );
    }
    if c.root2 != b64(&cp.root) {
        mismatch(
            out,
            "attestation.consistency.root2",
            format!("is {}, but the checkpoint's root is {}", c.root2, b64(&cp.root)),
        );
    }
    if out.len() == before {
        // Both ends are roots the verifier trusts: the ledger's own tree of size1, recomputed, and the signed
        // checkpoint's root; never the roots the proof carries.
        let trusted1 = ledger.root(c.size1).unwrap_or_default();
        if let Err(e) = c.verify_between((c.size1, &trusted1), (cp.size, &cp.root)) {
            mismatch(
                out,
                "attestation.consistency.proof",
                format!(
                    "does not prove the tree of {} events a prefix of the checkpoint's tree of {}: {e}",
                    c.size1, c.size2
                ),
            );
        }
    }
    let compared = match ledger.root(cp.size) {
        Some(r) => {
            if r != cp.root {
                mismatch(
                    out,
                    "attestation.checkpoint",
                    format!(
                        "signs root {} for size {}, but the ledger's first {} events have root {}: the checkpoint \
                         is of another history",
                        b64(&cp.root),
                        cp.size,
                        cp.size,
                        b64(&r)
                    ),
                );
            }
            true
        }
        None => false,
    };
    (Some(cp), compared)
}

/// Compact JSON with every object's keys in code-point order: two values are the same document exactly when
/// their canonical forms are the same bytes.
pub fn canonical(v: &Value) -> String {
    let mut s = String::new();
    write_canonical(&mut s, v);
    s
}

fn write_canonical(s: &mut String, v: &Value) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            s.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push_str(&Value::String(k.clone()).to_string());
                s.push(':');
                write_canonical(s, &m[k]);
            }
            s.push('}');
        }
        Value::Array(a) => {
            s.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                write_canonical(s, x);
            }
            s.push(']');
        }
        other => s.push_str(&other.to_string()),
    }
}

/// The first place (in key order) where `found` differs from `expected`: its path and both sides, canonical.
fn first_difference(path: String, expected: &Value, found: &Value) -> (String, String, String) {
    match (expected, found) {
        (Value::Object(e), Value::Object(f)) => {
            let mut keys: Vec<&String> = e.keys().chain(f.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = format!("{path}.{k}");
                match (e.get(k), f.get(k)) {
                    (Some(a), Some(b)) if canonical(a) == canonical(b) => {}
                    (Some(a), Some(b)) => return first_difference(p, a, b),
                    (Some(a), None) => return (p, canonical(a), "no such field".into()),
                    (None, Some(b)) => return (p, "no such field".into(), canonical(b)),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(e), Value::Array(f)) => {
            for i in 0..e.len().max(f.len()) {
                let p = format!("{path}[{i}]");
                match (e.get(i), f.get(i)) {
                    (Some(a), Some(b)) if canonical(a) == canonical(b) => {}
                    (Some(a), Some(b)) => return first_difference(p, a, b),
                    (Some(a), None) => return (p, canonical(a), "no such element".into()),
                    (None, Some(b)) => return (p, "no such element".into(), canonical(b)),
                    (None, None) => {}
                }
            }
        }
        _ => {}
    }
    (path, canonical(expected), canonical(found))
}

/// At most 200 characters of a value, so that a whole subtree does not flood the report.
fn shorten(s: &str) -> String {
    if s.chars().count() <= 200 { s.to_string() } else { format!("{}…", s.chars().take(200).collect::<String>()) }
}
