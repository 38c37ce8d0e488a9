//! The signing key file, the signed checkpoint and the Merkle tree's stored nodes: building the tree of an older
//! store, checking the tree's right edge and the latest checkpoint against the head at open, and signing.

use std::io::Write;
use std::path::Path;

use crate::core::audit::merkle::{Frontier, NodeId, NodeSource};
use crate::core::audit::note::{Checkpoint, NoteSigner, NoteVerifier};
use crate::core::audit::{LedgerHasher, TreeHash, leaf_of};

use super::keys::node_key;
use super::{KEY_FILE, Log, LogError, MERKLE_MARK, io};

/// Writes a new signing key whose name is `origin` (or a generated one) with owner-only permissions.
pub(super) fn create_key(path: &Path, origin: Option<&str>) -> Result<NoteSigner, LogError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed)
        .map_err(|e| LogError::Io { path: path.to_path_buf(), source: std::io::Error::other(e.to_string()) })?;
    let name = match origin {
        Some(o) => o.to_string(),
        None => {
            // Unique per ledger, so that two test ledgers are never mistaken for one another; a municipality sets
            // its own origin with `init --origin`.
            let provisional =
                NoteSigner::from_seed("x", seed).map_err(|source| LogError::Key { path: path.into(), source })?;
            format!("localhost/planledger-{:08x}", provisional.verifier().id)
        }
    };
    let signer = NoteSigner::from_seed(&name, seed).map_err(|source| LogError::Key { path: path.into(), source })?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io(path))?;
    f.write_all(format!("{}\n", signer.encode_private()).as_bytes()).map_err(io(path))?;
    f.sync_all().map_err(io(path))?;
    Ok(signer)
}

pub(super) fn load_key(path: &Path) -> Result<NoteSigner, LogError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    NoteSigner::parse(&text).map_err(|source| LogError::Key { path: path.into(), source })
}

impl Log {
    /// Builds the tree of a store written before the tree existed, from the recorded event hashes. Idempotent:
    /// the mark is set only once every node is stored.
    pub(super) fn build_tree(&self) -> Result<(), LogError> {
        let len = self.head()?.len;
        tracing::info!(events = len, "building the Merkle tree of an older store");
        let mut frontier = Frontier::<LedgerHasher>::default();
        let mut batch = sled::Batch::default();
        let mut pending = 0usize;
        for seq in 0..len {
            let h = self.stored_hash(seq)?.ok_or_else(|| LogError::corrupt(Some(seq), "no recorded hash"))?;
            frontier.push(&h.0, |id, hash| {
                batch.insert(&node_key(id), &hash);
                pending += 1;
            });
            if pending >= 65_536 {
                self.t()?.merkle.apply_batch(std::mem::take(&mut batch))?;
                pending = 0;
            }
        }
        self.t()?.merkle.apply_batch(batch)?;
        self.t()?.meta.insert("merkle", MERKLE_MARK)?;
        self.t()?.meta.remove("checkpoint")?;
        self.sync()
    }

    /// Checks the tree's right edge against the head, and the latest checkpoint against the tree; writes the first
    /// checkpoint of a store that has none.
    pub(super) fn check_tree(&self) -> Result<(), LogError> {
        let head = self.head()?;
        if head.len > 0 && self.node(NodeId { level: 0, index: head.len - 1 })? != leaf_of(&head.hash) {
            return Err(LogError::corrupt(Some(head.len - 1), "the tree's last leaf is not the leaf of the head"));
        }
        let root = Frontier::<LedgerHasher>::load(self, head.len)?.root();
        match self.t()?.meta.get("checkpoint")? {
            None => {
                let note = self.sign_checkpoint(head.len, root)?;
                self.t()?.meta.insert("checkpoint", note.as_bytes())?;
                self.sync()
            }
            Some(note) => {
                let note = std::str::from_utf8(&note)
                    .map_err(|_| LogError::corrupt(None, "the stored checkpoint is not UTF-8"))?;
                let cp = Checkpoint::open(note, &self.verifier())
                    .map_err(|e| LogError::corrupt(None, format!("the stored checkpoint: {e}")))?;
                if cp.size != head.len || cp.root != root {
                    return Err(LogError::corrupt(
                        None,
                        format!(
                            "the stored checkpoint (size {}) does not match the stored tree (size {})",
                            cp.size, head.len
                        ),
                    ));
                }
                Ok(())
            }
        }
    }

    /// Signs the checkpoint of the tree of `size` events with root `root`.
    pub fn sign_checkpoint(&self, size: u64, root: TreeHash) -> Result<String, LogError> {
        let cp = Checkpoint { origin: self.signer.name().to_string(), size, root };
        self.signer.sign(&cp.text()).map_err(|source| LogError::Key { path: self.dir.join(KEY_FILE), source })
    }

    /// The ledger's public key (the signed-note verifier key).
    pub fn verifier(&self) -> NoteVerifier {
        self.signer.verifier()
    }

    /// The latest stored checkpoint note.
    pub fn checkpoint(&self) -> Result<String, LogError> {
        let v = self.t()?.meta.get("checkpoint")?.ok_or_else(|| LogError::corrupt(None, "no checkpoint is stored"))?;
        String::from_utf8(v.to_vec()).map_err(|_| LogError::corrupt(None, "the stored checkpoint is not UTF-8"))
    }
}

impl NodeSource<TreeHash> for Log {
    type Error = LogError;
    fn node(&self, id: NodeId) -> Result<TreeHash, LogError> {
        match self.t()?.merkle.get(node_key(id))? {
            Some(v) => v.as_ref().try_into().map_err(|_| {
                LogError::corrupt(None, format!("tree node ({}, {}) is not 32 bytes", id.level, id.index))
            }),
            None => Err(LogError::corrupt(None, format!("tree node ({}, {}) is missing", id.level, id.index))),
        }
    }
}
