//! Targets for the audit formats: signed notes, checkpoints and note keys; inclusion and consistency proofs in
//! their JSON forms, checked against the seed ledger's roots (an accepted proof must be the ledger's own); the raw
//! RFC 9162 checks at any sizes; and offline proof bundles (an accepted bundle must carry a ledger line).

use planledger::core::audit::merkle::{self, consistency_proof_len, inclusion_proof_len};
use planledger::core::audit::note::{Checkpoint, NoteSigner, NoteVerifier};
use planledger::core::audit::{
    BUNDLE_FORMAT, Bundle, BundleError, ConsistencyProof, InclusionProof, LedgerHasher, b64, leaf_of,
};

use super::{Fixture, ORIGIN, Shape, Target, field_label, kind, utf8};

/// Tree sizes of the seed proofs and checkpoints: edges, powers of two and the whole ledger.
const SIZES: &[u64] = &[1, 2, 3, 7, 8, 64, 100, 255, 256, 257, 577];

/// Texts the fixture key signs besides checkpoints.
const PLAIN: &[&str] = &["hello\n", "origin\nline two\n"];

const NOTE_DICT: &[&str] = &[
    "\u{2014} ",
    ORIGIN,
    "fuzz.example/other",
    "\n\n",
    "PRIVATE+KEY+",
    "+00000000+",
    "AQ==",
    "AAAA",
    "====",
    "18446744073709551615",
    "18446744073709551616",
    "0",
    "00",
];

const PROOF_DICT: &[&str] = &[
    "leaf_index",
    "tree_size",
    "entry",
    "leaf_hash",
    "root",
    "proof",
    "size1",
    "size2",
    "root1",
    "root2",
    "format",
    "event",
    "checkpoint",
    BUNDLE_FORMAT,
    "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "\u{2014} ",
    "\n\n",
];

pub fn targets() -> Vec<Target> {
    vec![
        Target { name: "note", shape: Shape::Text, dict: NOTE_DICT, seeds: note_seeds, run: note },
        Target { name: "checkpoint", shape: Shape::Text, dict: NOTE_DICT, seeds: note_seeds, run: checkpoint },
        Target { name: "key", shape: Shape::Text, dict: NOTE_DICT, seeds: key_seeds, run: key },
        Target { name: "inclusion", shape: Shape::Json, dict: PROOF_DICT, seeds: inclusion_seeds, run: inclusion },
        Target {
            name: "consistency",
            shape: Shape::Json,
            dict: PROOF_DICT,
            seeds: consistency_seeds,
            run: consistency,
        },
        Target { name: "merkle", shape: Shape::Text, dict: PROOF_DICT, seeds: merkle_seeds, run: raw_merkle },
        Target { name: "bundle", shape: Shape::Json, dict: PROOF_DICT, seeds: bundle_seeds, run: bundle },
    ]
}

/// The label of a bundle or proof refusal: the field at fault, or the proof's or checkpoint's own error.
fn refusal(e: &BundleError) -> String {
    match e {
        BundleError::Field { field, .. } => field_label("err:field", field),
        BundleError::Proof(p) => kind(p),
        BundleError::Checkpoint(n) => kind(n),
        BundleError::Json(_) => "err:json".into(),
    }
}

fn note_seeds(f: &Fixture) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = SIZES.iter().map(|s| f.checkpoint(*s).into_bytes()).collect();
    v.extend(PLAIN.iter().map(|t| f.signer.sign(t).expect("a valid note text").into_bytes()));
    // A note signed by two keys, ours second: signatures by other keys are skipped.
    let other = NoteSigner::from_seed("fuzz.example/other", [9; 32]).expect("a valid key name");
    let text = Checkpoint { origin: ORIGIN.into(), size: 5, root: f.root(5).expect("within the ledger") }.text();
    let a = other.sign(&text).expect("a valid note text");
    let b = f.signer.sign(&text).expect("a valid note text");
    v.push(format!("{a}{}", b.rsplit_once("\n\n").map(|(_, s)| s).unwrap_or("")).into_bytes());
    v.push(text.into_bytes());
    v
}

/// What a note that opens with the fixture key may say: only texts the fixture signed.
fn signed_by_fixture(f: &Fixture, text: &str) -> bool {
    PLAIN.contains(&text) || Checkpoint::parse(text).is_ok_and(|cp| f.root(cp.size) == Some(cp.root))
}

fn note(f: &Fixture, input: &[u8]) -> String {
    let s = match utf8(input) {
        Ok(s) => s,
        Err(e) => return e,
    };
    match f.key.open(s) {
        Ok(text) => {
            assert!(s.starts_with(text), "the opened text is not the note's start");
            assert!(signed_by_fixture(f, text), "a note opened that the key never signed: {text:?}");
            "ok".into()
        }
        Err(e) => kind(&e),
    }
}

fn checkpoint(f: &Fixture, input: &[u8]) -> String {
    let s = match utf8(input) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let parsed = match Checkpoint::parse(s) {
        Ok(cp) => {
            assert_eq!(Checkpoint::parse(&cp.text()).as_ref(), Ok(&cp), "a parsed checkpoint does not round-trip");
            "parsed"
        }
        Err(_) => "unparsed",
    };
    match Checkpoint::open(s, &f.key) {
        Ok(cp) => {
            assert_eq!(f.root(cp.size), Some(cp.root), "a checkpoint opened that the key never signed");
            format!("ok:{parsed}")
        }
        Err(e) => format!("{}:{parsed}", kind(&e)),
    }
}

fn key_seeds(f: &Fixture) -> Vec<Vec<u8>> {
    vec![
        f.key.encode().into_bytes(),
        f.signer.encode_private().into_bytes(),
        format!("{}\n", f.key.encode()).into_bytes(),
        b"PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW".to_vec(),
        b"PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz".to_vec(),
    ]
}

fn key(_: &Fixture, input: &[u8]) -> String {
    let s = match utf8(input) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let public = match NoteVerifier::parse(s) {
        Ok(v) => {
            assert_eq!(NoteVerifier::parse(&v.encode()).as_ref(), Ok(&v), "a verifier key does not round-trip");
            "ok".to_string()
        }
        Err(e) => kind(&e),
    };
    let private = match NoteSigner::parse(s) {
        Ok(k) => {
            let again = NoteSigner::parse(&k.encode_private()).expect("an encoded private key parses");
            assert_eq!(again.verifier(), k.verifier(), "a private key does not round-trip");
            "ok".to_string()
        }
        Err(e) => kind(&e),
    };
    format!("{public}/{private}")
}

fn inclusion_seeds(f: &Fixture) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for &size in SIZES {
        for index in [0, size / 2, size - 1] {
            let proof = merkle::inclusion_proof::<LedgerHasher, _>(&f.tree, index, size)
                .expect("nodes of the memory tree")
                .expect("index within size");
            let root = f.root(size).expect("within the ledger");
            let entry = f.hashes[usize::try_from(index).expect("a seed index is small")];
            let p = InclusionProof {
                leaf_index: index,
                tree_size: size,
                entry: entry.to_hex(),
                leaf_hash: b64(&leaf_of(&entry)),
                root: b64(&root),
                proof: proof.iter().map(|h| b64(h)).collect(),
            };
            v.push(serde_json::to_vec_pretty(&p).expect("proofs serialize"));
        }
    }
    v
}

fn inclusion(f: &Fixture, input: &[u8]) -> String {
    let p: InclusionProof = match serde_json::from_slice(input) {
        Ok(p) => p,
        Err(e) => return format!("err:json:{:?}", e.classify()),
    };
    let Some(root) = f.root(p.tree_size) else { return "err:beyond".into() };
    match p.verify_against(p.tree_size, &root) {
        Ok(()) => {
            let i = usize::try_from(p.leaf_index).expect("a verified index is below the ledger's size");
            assert_eq!(p.entry, f.hashes[i].to_hex(), "an inclusion proof verified for an entry not in the ledger");
            "ok".into()
        }
        Err(e) => refusal(&e),
    }
}

fn consistency_seeds(f: &Fixture) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for (i, &m) in SIZES.iter().enumerate() {
        for &n in &SIZES[i..] {
            let proof = merkle::consistency_proof::<LedgerHasher, _>(&f.tree, m, n)
                .expect("nodes of the memory tree")
                .expect("1 <= m <= n");
            let p = ConsistencyProof {
                size1: m,
                size2: n,
                root1: b64(&f.root(m).expect("within the ledger")),
                root2: b64(&f.root(n).expect("within the ledger")),
                proof: proof.iter().map(|h| b64(h)).collect(),
            };
            v.push(serde_json::to_vec(&p).expect("proofs serialize"));
        }
    }
    v
}

/// The decoded 32-byte hash in `s`, or zeros: roots beyond the ledger are taken as given, as between two
/// checkpoints a caller trusts.
fn hash32(s: &str) -> [u8; 32] {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).ok().and_then(|b| b.try_into().ok()).unwrap_or([0; 32])
}

fn consistency(f: &Fixture, input: &[u8]) -> String {
    let p: ConsistencyProof = match serde_json::from_slice(input) {
        Ok(p) => p,
        Err(e) => return format!("err:json:{:?}", e.classify()),
    };
    let r1 = f.root(p.size1).unwrap_or_else(|| hash32(&p.root1));
    let r2 = f.root(p.size2).unwrap_or_else(|| hash32(&p.root2));
    match p.verify_between((p.size1, &r1), (p.size2, &r2)) {
        Ok(()) if p.size2 <= f.len() => {
            let want = merkle::consistency_proof::<LedgerHasher, _>(&f.tree, p.size1, p.size2)
                .expect("nodes of the memory tree")
                .expect("verified sizes are ordered and not zero");
            let want: Vec<String> = want.iter().map(|h| b64(h)).collect();
            assert_eq!(p.proof, want, "a consistency proof verified that is not the ledger's");
            "ok".into()
        }
        Ok(()) => "ok:beyond".into(),
        Err(e) => refusal(&e),
    }
}

fn merkle_seeds(f: &Fixture) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = Vec::new();
    let hashes = |p: Vec<[u8; 32]>| p.iter().map(|h| format!("\n{}", b64(h))).collect::<String>();
    for (a, b) in [(0u64, 1u64), (3, 8), (5, 7), (100, 577), (256, 257)] {
        let i = merkle::inclusion_proof::<LedgerHasher, _>(&f.tree, a, b).expect("memory tree").expect("a < b");
        v.push(format!("{a} {b}{}", hashes(i)).into_bytes());
    }
    for (a, b) in [(1u64, 2u64), (3, 8), (8, 577), (255, 256)] {
        let c = merkle::consistency_proof::<LedgerHasher, _>(&f.tree, a, b).expect("memory tree").expect("1 <= a <= b");
        v.push(format!("{a} {b}{}", hashes(c)).into_bytes());
    }
    let h = b64(&[0; 32]);
    v.push(format!("9223372036854775807 18446744073709551615\n{h}").into_bytes());
    v.push(format!("0 9223372036854775809\n{h}\n{h}").into_bytes());
    v
}

/// `A B` on the first line, then one base64 hash per line: checked as an inclusion proof of leaf A in a tree of
/// B leaves and as a consistency proof from A to B leaves, at any sizes (the JSON forms only reach sizes a trusted
/// root is known for). Within the seed ledger the leaf and roots are the ledger's, and a proof that verifies must
/// be the ledger's own; beyond it they are fixed hashes.
fn raw_merkle(f: &Fixture, input: &[u8]) -> String {
    let s = String::from_utf8_lossy(input);
    let mut lines = s.lines();
    let mut nums = lines.next().unwrap_or("").split(' ').map(|n| n.parse::<u64>());
    let (Some(Ok(a)), Some(Ok(b))) = (nums.next(), nums.next()) else { return "err:sizes".into() };
    let proof: Vec<[u8; 32]> = lines.map(hash32).collect();
    if a < b {
        inclusion_proof_len(a, b);
    }
    if 1 <= a && a < b {
        consistency_proof_len(a, b);
    }
    let leaf = usize::try_from(a).ok().and_then(|i| f.hashes.get(i)).map_or([1; 32], leaf_of);
    let (ra, rb) = (f.root(a).unwrap_or([2; 32]), f.root(b).unwrap_or([3; 32]));
    let label = |r: Result<(), merkle::ProofError>| r.map_or_else(|e| kind(&e), |()| "ok".into());
    let i = merkle::verify_inclusion::<LedgerHasher, _>(a, b, &leaf, &proof, &rb);
    if i.is_ok() && b <= f.len() {
        let want = merkle::inclusion_proof::<LedgerHasher, _>(&f.tree, a, b).expect("memory tree").expect("a < b");
        assert_eq!(proof, want, "an inclusion proof verified that is not the ledger's");
    }
    let c = merkle::verify_consistency::<LedgerHasher, _>(a, b, &proof, &ra, &rb);
    if c.is_ok() && b <= f.len() && a < b {
        let want = merkle::consistency_proof::<LedgerHasher, _>(&f.tree, a, b).expect("memory tree").expect("1 <= a");
        assert_eq!(proof, want, "a consistency proof verified that is not the ledger's");
    }
    let (i, c) = (label(i), label(c));
    if i == "ok" || c == "ok" { format!("ok:{i}/{c}") } else { format!("{i}/{c}") }
}

fn bundle_seeds(f: &Fixture) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for (seq, size) in [(0u64, 1u64), (0, 8), (5, 8), (100, 257), (576, 577), (300, 577)] {
        let proof = merkle::inclusion_proof::<LedgerHasher, _>(&f.tree, seq, size)
            .expect("nodes of the memory tree")
            .expect("index within size");
        let b = Bundle {
            format: BUNDLE_FORMAT.into(),
            event: String::from_utf8(f.lines[usize::try_from(seq).expect("a seed seq is small")].clone())
                .expect("ledger lines are UTF-8"),
            leaf_index: seq,
            tree_size: size,
            proof: proof.iter().map(|h| b64(h)).collect(),
            checkpoint: f.checkpoint(size),
        };
        v.push(b.to_json().into_bytes());
    }
    v
}

fn bundle(f: &Fixture, input: &[u8]) -> String {
    match Bundle::verify(input, &f.key) {
        Ok(b) => {
            let i = usize::try_from(b.record.seq.0).expect("a verified seq is below the ledger's size");
            assert_eq!(f.lines.get(i), Some(&b.record.encode()), "a bundle verified whose event is not the ledger's");
            assert_eq!(
                f.root(b.checkpoint.size),
                Some(b.checkpoint.root),
                "a bundle verified with a forged checkpoint"
            );
            "ok".into()
        }
        Err(e) => refusal(&e),
    }
}
