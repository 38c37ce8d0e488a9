//! The tree's proofs checked against RFC 6962 §2.1 written as the RFC writes it, for every size up to 200 and every
//! tampering of them, and a right edge loaded from stored nodes.

use std::collections::HashMap;

use super::*;

type H = Rfc6962Sha256;
type D = [u8; 32];

/// RFC 6962 §2.1 written as the RFC writes it, over a list of leaves: the reference our tree is checked against.
struct Reference {
    leaves: Vec<Vec<u8>>,
    memo: std::cell::RefCell<HashMap<(u64, u64), D>>,
}

impl Reference {
    fn mth(&self, a: u64, b: u64) -> D {
        if let Some(h) = self.memo.borrow().get(&(a, b)) {
            return *h;
        }
        let h = match b - a {
            0 => H::empty_root(),
            // The leaves are in memory, so their indices fit a usize.
            #[allow(clippy::cast_possible_truncation)]
            1 => H::hash_leaf(&self.leaves[a as usize]),
            n => {
                let k = split(n);
                H::hash_children(&self.mth(a, a + k), &self.mth(a + k, b))
            }
        };
        self.memo.borrow_mut().insert((a, b), h);
        h
    }

    fn path(&self, m: u64, a: u64, b: u64) -> Vec<D> {
        let n = b - a;
        if n == 1 {
            return vec![];
        }
        let k = split(n);
        if m < k {
            let mut p = self.path(m, a, a + k);
            p.push(self.mth(a + k, b));
            p
        } else {
            let mut p = self.path(m - k, a + k, b);
            p.push(self.mth(a, a + k));
            p
        }
    }

    fn subproof(&self, m: u64, a: u64, b: u64, complete: bool) -> Vec<D> {
        let n = b - a;
        if m == n {
            return if complete { vec![] } else { vec![self.mth(a, b)] };
        }
        let k = split(n);
        if m <= k {
            let mut p = self.subproof(m, a, a + k, complete);
            p.push(self.mth(a + k, b));
            p
        } else {
            let mut p = self.subproof(m - k, a + k, b, false);
            p.push(self.mth(a, a + k));
            p
        }
    }
}

fn leaf(i: u64) -> Vec<u8> {
    // Entries of varying length, like the vectors', so that leaf hashing is exercised beyond 32-byte entries.
    #[allow(clippy::cast_possible_truncation)]
    (0..(i % 40)).map(|j| (i * 31 + j) as u8).collect()
}

fn tampered(proof: &[D]) -> Vec<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for i in 0..proof.len() {
        let mut p: Vec<Vec<u8>> = proof.iter().map(|h| h.to_vec()).collect();
        p[i][(i * 7) % 32] ^= 1 << (i % 8);
        out.push(p);
    }
    let full: Vec<Vec<u8>> = proof.iter().map(|h| h.to_vec()).collect();
    if !full.is_empty() {
        out.push(full[..full.len() - 1].to_vec()); // truncated
        out.push(full[1..].to_vec()); // first dropped
        let mut short = full.clone();
        short[0].pop(); // a 31-byte hash
        out.push(short);
    }
    let mut padded = full.clone();
    padded.push(vec![0; 32]);
    out.push(padded);
    let mut prefixed = vec![vec![0u8; 32]];
    prefixed.extend(full);
    out.push(prefixed);
    out
}

#[test]
fn proofs_for_every_size_up_to_200_agree_with_the_rfc_reference_and_reject_tampering() {
    const N: u64 = 200;
    let reference = Reference { leaves: (0..N).map(leaf).collect(), memo: Default::default() };
    let mut tree = MemoryTree::<H>::default();
    for n in 1..=N {
        tree.push(&leaf(n - 1));
        let root_n = reference.mth(0, n);
        assert_eq!(tree.root(), root_n, "root of size {n}");
        assert_eq!(root::<H, _>(&tree, n).unwrap(), root_n);
        for m in 0..n {
            let want = reference.path(m, 0, n);
            let got = inclusion_proof::<H, _>(&tree, m, n).unwrap().unwrap();
            assert_eq!(got, want, "inclusion {m} in {n}");
            assert_eq!(inclusion_proof_len(m, n), want.len());
            let lh = H::hash_leaf(&leaf(m));
            verify_inclusion::<H, _>(m, n, &lh, &got, &root_n).unwrap();
            for bad in tampered(&got) {
                assert!(verify_inclusion::<H, _>(m, n, &lh, &bad, &root_n).is_err(), "tampered {m} in {n}");
            }
            // (A wrong tree size can verify where the tree's shape coincides, e.g. leaf 0 of 3 and of 4; the
            // size is authenticated by the signed checkpoint, not by the proof.)
            if m ^ 1 < n {
                assert!(verify_inclusion::<H, _>(m ^ 1, n, &lh, &got, &root_n).is_err(), "index^1 {m} {n}");
            }
            let other_leaf = H::hash_leaf(b"not this leaf");
            assert!(verify_inclusion::<H, _>(m, n, &other_leaf, &got, &root_n).is_err());
        }
        for m in 1..=n {
            let want = reference.subproof(m, 0, n, true);
            let got = consistency_proof::<H, _>(&tree, m, n).unwrap().unwrap();
            assert_eq!(got, want, "consistency {m} → {n}");
            let root_m = reference.mth(0, m);
            verify_consistency::<H, _>(m, n, &got, &root_m, &root_n).unwrap();
            if m < n {
                assert_eq!(consistency_proof_len(m, n), want.len());
                for bad in tampered(&got) {
                    assert!(verify_consistency::<H, _>(m, n, &bad, &root_m, &root_n).is_err(), "{m} → {n}");
                }
                assert!(verify_consistency::<H, _>(m, n, &got, &root_n, &root_n).is_err());
                assert!(verify_consistency::<H, _>(m, n, &got, &root_m, &root_m).is_err());
            }
        }
        assert!(inclusion_proof::<H, _>(&tree, n, n).unwrap().is_err());
        assert!(consistency_proof::<H, _>(&tree, 0, n).unwrap().is_err());
        assert!(consistency_proof::<H, _>(&tree, n + 1, n).unwrap().is_err());
    }
}

#[test]
fn a_loaded_frontier_continues_like_the_original() {
    let mut tree = MemoryTree::<H>::default();
    for i in 0..77 {
        tree.push(&leaf(i));
        let mut loaded = Frontier::<H>::load(&tree, i + 1).unwrap();
        assert_eq!(loaded.root(), tree.root());
        let mut copy = tree.clone();
        copy.push(&leaf(1000));
        loaded.push(&leaf(1000), |_, _| {});
        assert_eq!(loaded.root(), copy.root());
    }
}
