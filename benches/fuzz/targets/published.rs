//! The target for published snapshots: a snapshot file checked against the seed ledger with the fixture's key
//! (`published::verify`), seeded with the repository's snapshots and with attested ones built here.

use planledger::core::audit::merkle;
use planledger::core::audit::{ConsistencyProof, LedgerHasher, b64};
use planledger::core::published::{self, Attestation, SnapshotError};

use super::{Fixture, Shape, Target, field_label, kind};

const DICT: &[&str] = &[
    "format",
    "plan",
    "version",
    "seq",
    "head_hash",
    "tree_size",
    "root",
    "attestation",
    "document",
    "checkpoint",
    "consistency",
    "planledger-snapshot/1",
    "niigata-sogo",
    "setagaya-taiko-an",
    "nodes",
    "children",
    "indicators",
];

pub fn targets() -> Vec<Target> {
    vec![Target { name: "snapshot", shape: Shape::Json, dict: DICT, seeds, run }]
}

fn seeds(f: &Fixture) -> Vec<Vec<u8>> {
    let mut v = f.read("snapshots", "json");
    let size = f.len();
    let checkpoint = f.checkpoint(size);
    for mut s in f.ledger.snapshots().expect("the seed ledger's versions make snapshots") {
        let proof = merkle::consistency_proof::<LedgerHasher, _>(&f.tree, s.tree_size, size)
            .expect("nodes of the memory tree")
            .expect("a snapshot's tree is within the ledger");
        s.attestation = Some(Attestation {
            checkpoint: checkpoint.clone(),
            consistency: ConsistencyProof {
                size1: s.tree_size,
                size2: size,
                root1: s.root.clone(),
                root2: b64(&f.root(size).expect("within the ledger")),
                proof: proof.iter().map(|h| b64(h)).collect(),
            },
        });
        v.push(s.to_json().into_bytes());
    }
    v
}

fn run(f: &Fixture, input: &[u8]) -> String {
    match published::verify(input, &f.ledger, Some(&f.key)) {
        Ok(v) => format!("ok:{}", if v.checkpoint.is_some() { "attested" } else { "pinned" }),
        Err(SnapshotError::Mismatch(m)) => m.first().map_or("err:Mismatch".into(), |m| field_label("err", &m.field)),
        Err(e) => kind(&e),
    }
}
