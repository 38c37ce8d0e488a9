//! The fuzz targets: every parser of outside input, each with its seed inputs taken from the repository's own data,
//! its dictionary and its run function, which returns a label for the outcome (`ok` or the kind of refusal) and
//! panics when a property of the parser does not hold. Shared by the harness and by the replay test of saved
//! inputs (tests/it/fuzz.rs).

mod audit;
mod published;
mod records;
mod text;
#[cfg(feature = "web")]
mod web;

use std::path::{Path, PathBuf};

use planledger::core::audit::merkle::{self, MemoryTree};
use planledger::core::audit::note::{Checkpoint, NoteSigner, NoteVerifier};
use planledger::core::audit::{LedgerHasher, TreeHash};
use planledger::core::domain::{EventHash, State};
use planledger::core::published::CheckedLedger;

/// How the engine may mutate a target's inputs beyond bytes and text tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Json,
    /// A first line that says what the rest is (a body type), then JSON.
    PrefixedJson,
    Toml,
    Text,
}

/// One parser, or a group of parsers fed the same bytes.
pub struct Target {
    pub name: &'static str,
    pub shape: Shape,
    pub dict: &'static [&'static str],
    pub seeds: fn(&Fixture) -> Vec<Vec<u8>>,
    pub run: fn(&Fixture, &[u8]) -> String,
}

/// Every target, in the order the harness runs them.
pub fn all() -> Vec<Target> {
    let mut t = Vec::new();
    t.extend(records::targets());
    t.extend(audit::targets());
    t.extend(published::targets());
    t.extend(text::targets());
    #[cfg(feature = "web")]
    t.extend(web::targets());
    t
}

/// The name of the key that signs the fixture's checkpoints.
pub const ORIGIN: &str = "fuzz.example/planledger";

/// What the targets check against: the seed ledger (checked whole), its tree, a signing key, the seed snapshots
/// and plan tables, read from the repository.
pub struct Fixture {
    pub root: PathBuf,
    pub lines: Vec<Vec<u8>>,
    pub hashes: Vec<EventHash>,
    pub tree: MemoryTree<LedgerHasher>,
    pub ledger: CheckedLedger,
    pub signer: NoteSigner,
    pub key: NoteVerifier,
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == ext)).collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

impl Fixture {
    /// Reads the seed ledger from `events/` under the crate root. Panics when the repository's own data is bad:
    /// the harness cannot run without it.
    pub fn load() -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut lines = Vec::new();
        for f in files(&root.join("events"), "jsonl") {
            let bytes = std::fs::read(&f).expect("the seed ledger is readable");
            lines.extend(planledger::core::record::split_lines(&bytes).expect("the seed ledger has whole lines"));
        }
        let ledger = CheckedLedger::verify(&lines).expect("the seed ledger verifies");
        let hashes: Vec<EventHash> = lines.iter().map(|l| EventHash::of(l)).collect();
        let mut tree = MemoryTree::default();
        hashes.iter().for_each(|h| tree.push(&h.0));
        let signer = NoteSigner::from_seed(ORIGIN, [7; 32]).expect("the origin is a valid key name");
        let key = signer.verifier();
        Self { root, lines, hashes, tree, ledger, signer, key }
    }

    pub fn state(&self) -> &State {
        self.ledger.state()
    }

    pub fn len(&self) -> u64 {
        self.hashes.len() as u64
    }

    /// The root of the first `size` events, if the ledger has that many.
    pub fn root(&self, size: u64) -> Option<TreeHash> {
        (size <= self.len()).then(|| merkle::root::<LedgerHasher, _>(&self.tree, size).ok()).flatten()
    }

    /// The signed checkpoint of the first `size` events.
    pub fn checkpoint(&self, size: u64) -> String {
        let root = self.root(size).expect("a checkpoint within the ledger");
        let text = Checkpoint { origin: ORIGIN.into(), size, root }.text();
        self.signer.sign(&text).expect("a checkpoint text is a valid note text")
    }

    /// The files with extension `ext` in the directory `dir` under the crate root (or in its subdirectories).
    pub fn read(&self, dir: &str, ext: &str) -> Vec<Vec<u8>> {
        let base = self.root.join(dir);
        let mut dirs = vec![base.clone()];
        dirs.extend(
            std::fs::read_dir(&base)
                .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect::<Vec<_>>())
                .unwrap_or_default(),
        );
        dirs.sort();
        dirs.iter().flat_map(|d| files(d, ext)).filter_map(|f| std::fs::read(f).ok()).collect()
    }
}

/// The label of an error: its variant's name, from its `Debug` form.
pub fn kind<E: std::fmt::Debug>(e: &E) -> String {
    let d = format!("{e:?}");
    let end = d.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(d.len());
    format!("err:{}", &d[..end])
}

/// The label of a refusal by field: the field's name with any index taken out, so labels stay few.
pub fn field_label(prefix: &str, field: &str) -> String {
    let f: String = field.chars().filter(|c| !c.is_ascii_digit()).take(40).collect();
    format!("{prefix}:{f}")
}

/// Inputs as text; bytes that are not UTF-8 are a refusal of their own in every text parser.
pub fn utf8(input: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(input).map_err(|_| "err:utf8".to_string())
}
