//! The RFC 6962 / RFC 9162 Merkle tree over the log: hashing, the compact range kept while appending, proof
//! generation from stored perfect-subtree nodes, and the RFC 9162 verification algorithms. Pure code, generic over
//! the hash; storage supplies nodes through [`NodeSource`].

use std::fmt::Debug;

use sha2::{Digest as _, Sha256};

/// The tree's hash function with the RFC 6962 domain separation (0x00 for leaves, 0x01 for interior nodes).
pub trait TreeHasher {
    type Digest: Copy + Eq + Debug + AsRef<[u8]> + for<'a> TryFrom<&'a [u8]>;
    /// The root of the empty tree: the hash of the empty string.
    fn empty_root() -> Self::Digest;
    fn hash_leaf(entry: &[u8]) -> Self::Digest;
    fn hash_children(left: &Self::Digest, right: &Self::Digest) -> Self::Digest;
}

/// SHA-256 as RFC 6962 uses it: the hash of the ledger's tree.
#[derive(Debug, Clone, Copy)]
pub struct Rfc6962Sha256;

impl TreeHasher for Rfc6962Sha256 {
    type Digest = [u8; 32];

    fn empty_root() -> [u8; 32] {
        Sha256::digest(b"").into()
    }

    fn hash_leaf(entry: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update([0x00]);
        h.update(entry);
        h.finalize().into()
    }

    fn hash_children(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update([0x01]);
        h.update(left);
        h.update(right);
        h.finalize().into()
    }
}

/// A node of the tree: `level` 0 is a leaf; node (level, index) covers leaves `index·2^level .. (index+1)·2^level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

/// Where stored perfect-subtree nodes come from (sled for the ledger, memory in tests and benchmarks).
pub trait NodeSource<D> {
    type Error;
    /// The stored node; a node that should exist but does not is an error of the source.
    fn node(&self, id: NodeId) -> Result<D, Self::Error>;
}

/// Why a proof could not be generated or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {size} is beyond the ledger's size {available}")]
    SizeBeyondLedger { size: u64, available: u64 },
    #[error("size1 {size1} is greater than size2 {size2}")]
    SizesReversed { size1: u64, size2: u64 },
    #[error("a consistency proof from the empty tree proves nothing; size1 must be at least 1")]
    EmptyFirstTree,
    #[error("the proof has {got} hashes; a proof for these sizes has exactly {want}")]
    WrongLength { got: usize, want: usize },
    #[error("{what} is {got} bytes long; a hash is {want} bytes")]
    BadHashLength { what: String, got: usize, want: usize },
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
    #[error("the proof does not lead to the first tree's root")]
    FirstRootMismatch,
}

fn is_pow2(n: u64) -> bool {
    n != 0 && n & (n - 1) == 0
}

/// The largest power of two strictly below `n` (n ≥ 2): the RFC 6962 split point.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The hash of leaves `a..b` (a < b) from stored perfect subtrees: one read when the range is a perfect subtree,
/// otherwise the RFC 6962 split.
pub fn subtree_hash<H: TreeHasher, S: NodeSource<H::Digest>>(src: &S, a: u64, b: u64) -> Result<H::Digest, S::Error> {
    let n = b - a;
    if is_pow2(n) && a.is_multiple_of(n) {
        // A u64 has at most 63 trailing zeros here (n > 0), which fits a u8.
        #[allow(clippy::cast_possible_truncation)]
        let level = n.trailing_zeros() as u8;
        return src.node(NodeId { level, index: a >> level });
    }
    let k = split(n);
    let l = subtree_hash::<H, S>(src, a, a + k)?;
    let r = subtree_hash::<H, S>(src, a + k, b)?;
    Ok(H::hash_children(&l, &r))
}

/// The root of the tree of the first `size` leaves.
pub fn root<H: TreeHasher, S: NodeSource<H::Digest>>(src: &S, size: u64) -> Result<H::Digest, S::Error> {
    if size == 0 { Ok(H::empty_root()) } else { subtree_hash::<H, S>(src, 0, size) }
}

/// The inclusion proof (RFC 9162 §2.1.3.1) of leaf `index` in the tree of size `size`, leaf-side first.
pub fn inclusion_proof<H: TreeHasher, S: NodeSource<H::Digest>>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<Result<Vec<H::Digest>, ProofError>, S::Error> {
    if index >= size {
        return Ok(Err(ProofError::IndexOutOfRange { index, size }));
    }
    let mut path = Vec::new();
    // Walk down from the whole tree, remembering the sibling subtree at each split; the proof lists them bottom-up.
    let (mut a, mut b) = (0u64, size);
    while b - a > 1 {
        let k = split(b - a);
        if index < a + k {
            path.push(subtree_hash::<H, S>(src, a + k, b)?);
            b = a + k;
        } else {
            path.push(subtree_hash::<H, S>(src, a, a + k)?);
            a += k;
        }
    }
    path.reverse();
    Ok(Ok(path))
}

/// The consistency proof (RFC 9162 §2.1.4.1) from size `m` to size `n`, 1 ≤ m ≤ n; empty when m = n.
pub fn consistency_proof<H: TreeHasher, S: NodeSource<H::Digest>>(
    src: &S,
    m: u64,
    n: u64,
) -> Result<Result<Vec<H::Digest>, ProofError>, S::Error> {
    if m > n {
        return Ok(Err(ProofError::SizesReversed { size1: m, size2: n }));
    }
    if m == 0 {
        return Ok(Err(ProofError::EmptyFirstTree));
    }
    let mut proof = Vec::new();
    // SUBPROOF(m, D[a:b], complete) unrolled: each step appends one sibling, so collect and reverse.
    let (mut a, mut b, mut m, mut complete) = (0u64, n, m, true);
    loop {
        let size = b - a;
        if m == size {
            if !complete {
                proof.push(subtree_hash::<H, S>(src, a, b)?);
            }
            break;
        }
        let k = split(size);
        if m <= k {
            proof.push(subtree_hash::<H, S>(src, a + k, b)?);
            b = a + k;
        } else {
            proof.push(subtree_hash::<H, S>(src, a, a + k)?);
            a += k;
            m -= k;
            complete = false;
        }
    }
    proof.reverse();
    Ok(Ok(proof))
}

fn digest<H: TreeHasher>(what: impl FnOnce() -> String, bytes: &[u8]) -> Result<H::Digest, ProofError> {
    H::Digest::try_from(bytes).map_err(|_| {
        // The digest length is only needed for the message; the empty root is the cheapest digest to hand.
        ProofError::BadHashLength { what: what(), got: bytes.len(), want: H::empty_root().as_ref().len() }
    })
}

fn digests<H: TreeHasher, B: AsRef<[u8]>>(proof: &[B]) -> Result<Vec<H::Digest>, ProofError> {
    proof.iter().enumerate().map(|(i, p)| digest::<H>(|| format!("proof hash {i}"), p.as_ref())).collect()
}

/// Number of hashes in the inclusion proof of `index` in a tree of `size` leaves (index < size).
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    // `inner` is 64 when the sizes differ in the top bit; a shift by 64 leaves nothing (and `>>` would overflow).
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// Number of hashes in the consistency proof from `m` to `n` leaves (1 ≤ m < n).
pub fn consistency_proof_len(m: u64, n: u64) -> usize {
    let level = m.trailing_zeros();
    let index = (m - 1) >> level;
    let last = (n - 1) >> level;
    let inner = 64 - (index ^ last).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    // When m is a power of two the first tree's root is a node of the proof path and is not sent.
    let first_sent = if index == 0 { 0 } else { 1 };
    (inner + border) as usize + first_sent
}

/// RFC 9162 §2.1.3.2: verifies that `leaf_hash` is leaf `index` of the tree of `size` leaves with root `root`.
/// Hashes are raw bytes so that a hash of the wrong length is rejected, not truncated.
pub fn verify_inclusion<H: TreeHasher, B: AsRef<[u8]>>(
    index: u64,
    size: u64,
    leaf_hash: &[u8],
    proof: &[B],
    root: &[u8],
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let want = inclusion_proof_len(index, size);
    if proof.len() != want {
        return Err(ProofError::WrongLength { got: proof.len(), want });
    }
    let leaf = digest::<H>(|| "the leaf hash".into(), leaf_hash)?;
    let root = digest::<H>(|| "the root".into(), root)?;
    let proof = digests::<H, B>(proof)?;
    let (mut f, mut s) = (index, size - 1);
    let mut r = leaf;
    for p in &proof {
        if s == 0 {
            return Err(ProofError::WrongLength { got: proof.len(), want });
        }
        if f & 1 == 1 || f == s {
            r = H::hash_children(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = H::hash_children(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength { got: proof.len(), want });
    }
    if r != root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2: verifies that the tree of `size1` leaves with root `root1` is a prefix of the tree of
/// `size2` leaves with root `root2`. Equal sizes need an empty proof and equal roots; size1 = 0 is refused, since
/// every tree extends the empty one and such a check proves nothing.
pub fn verify_consistency<H: TreeHasher, B: AsRef<[u8]>>(
    size1: u64,
    size2: u64,
    proof: &[B],
    root1: &[u8],
    root2: &[u8],
) -> Result<(), ProofError> {
    if size1 > size2 {
        return Err(ProofError::SizesReversed { size1, size2 });
    }
    if size1 == 0 {
        return Err(ProofError::EmptyFirstTree);
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength { got: proof.len(), want: 0 });
        }
        return if root1 == root2 { Ok(()) } else { Err(ProofError::RootMismatch) };
    }
    let want = consistency_proof_len(size1, size2);
    if proof.len() != want {
        return Err(ProofError::WrongLength { got: proof.len(), want });
    }
    let first = digest::<H>(|| "root1".into(), root1)?;
    let second = digest::<H>(|| "root2".into(), root2)?;
    let mut path = digests::<H, B>(proof)?;
    if is_pow2(size1) {
        path.insert(0, first);
    }
    let (mut f, mut s) = (size1 - 1, size2 - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if s == 0 {
            return Err(ProofError::WrongLength { got: proof.len(), want });
        }
        if f & 1 == 1 || f == s {
            fr = H::hash_children(c, &fr);
            sr = H::hash_children(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = H::hash_children(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength { got: proof.len(), want });
    }
    if fr != first {
        return Err(ProofError::FirstRootMismatch);
    }
    if sr != second {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// The right edge of the tree while appending: the roots of the perfect subtrees that make up the current size,
/// largest (leftmost) first. Appending a leaf yields exactly the nodes that become complete, for storage.
#[derive(Debug, Clone)]
pub struct Frontier<H: TreeHasher> {
    size: u64,
    /// (level, hash) of each perfect subtree, levels strictly decreasing.
    peaks: Vec<(u8, H::Digest)>,
}

impl<H: TreeHasher> Default for Frontier<H> {
    fn default() -> Self {
        Self { size: 0, peaks: Vec::new() }
    }
}

impl<H: TreeHasher> Frontier<H> {
    /// Loads the frontier of a tree of `size` leaves from stored nodes: one read per set bit of `size`.
    pub fn load<S: NodeSource<H::Digest>>(src: &S, size: u64) -> Result<Self, S::Error> {
        let mut peaks = Vec::new();
        let mut start = 0u64;
        for level in (0..64u8).rev() {
            if size & (1u64 << level) != 0 {
                peaks.push((level, src.node(NodeId { level, index: start >> level })?));
                start += 1u64 << level;
            }
        }
        Ok(Self { size, peaks })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends the leaf for `entry`; calls `store` for every node that is complete now (the leaf first).
    pub fn push(&mut self, entry: &[u8], mut store: impl FnMut(NodeId, H::Digest)) {
        let index = self.size;
        let mut hash = H::hash_leaf(entry);
        let mut level = 0u8;
        store(NodeId { level, index }, hash);
        while let Some(&(l, left)) = self.peaks.last() {
            if l != level {
                break;
            }
            self.peaks.pop();
            hash = H::hash_children(&left, &hash);
            level += 1;
            store(NodeId { level, index: index >> level }, hash);
        }
        self.peaks.push((level, hash));
        self.size += 1;
    }

    pub fn root(&self) -> H::Digest {
        let mut it = self.peaks.iter().rev();
        match it.next() {
            None => H::empty_root(),
            Some(&(_, last)) => it.fold(last, |acc, (_, left)| H::hash_children(left, &acc)),
        }
    }
}

/// All nodes of a tree in memory: for tests, benchmarks and tools that build a tree from a file of entries.
#[derive(Debug, Clone)]
pub struct MemoryTree<H: TreeHasher> {
    frontier: Frontier<H>,
    /// levels[l][i] is node (l, i).
    levels: Vec<Vec<H::Digest>>,
}

impl<H: TreeHasher> Default for MemoryTree<H> {
    fn default() -> Self {
        Self { frontier: Frontier::default(), levels: Vec::new() }
    }
}

/// A node asked of a [`MemoryTree`] that it does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("node (level {}, index {}) is not in the tree", .0.level, .0.index)]
pub struct MissingNode(pub NodeId);

impl<H: TreeHasher> MemoryTree<H> {
    pub fn push(&mut self, entry: &[u8]) {
        let levels = &mut self.levels;
        self.frontier.push(entry, |id, h| {
            let l = usize::from(id.level);
            if levels.len() <= l {
                levels.resize_with(l + 1, Vec::new);
            }
            debug_assert_eq!(levels[l].len() as u64, id.index);
            levels[l].push(h);
        });
    }

    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    pub fn root(&self) -> H::Digest {
        self.frontier.root()
    }
}

impl<H: TreeHasher> NodeSource<H::Digest> for MemoryTree<H> {
    type Error = MissingNode;
    fn node(&self, id: NodeId) -> Result<H::Digest, MissingNode> {
        self.levels
            .get(usize::from(id.level))
            .and_then(|l| usize::try_from(id.index).ok().and_then(|i| l.get(i)))
            .copied()
            .ok_or(MissingNode(id))
    }
}

#[cfg(test)]
mod tests;
