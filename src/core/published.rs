//! Published snapshots: a plan at one of its named versions as deterministic JSON, pinned to the ledger by seq,
//! head hash and Merkle root, and (when taken from a data dir) attested by the ledger's signed checkpoint and a
//! consistency proof. Pure: it works on ledger lines and checkpoint notes handed to it; the caller does the I/O.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::audit::merkle::{self, MemoryTree};
use crate::core::audit::note::{Checkpoint, NoteVerifier};
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
        for (id, p) in &self.state.plans {
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

// ───────────────────────────── file names ─────────────────────────────

/// Characters a file name keeps as they are: lowercase ASCII letters, digits, `-`, `_`, and Japanese characters
/// that have no case and no canonical decomposition into other characters of this set (kana, kanji, a few
/// full-width marks), so that case-insensitive and normalizing file systems cannot merge two names.
fn kept(c: char) -> bool {
    matches!(c,
        'a'..='z' | '0'..='9' | '-' | '_'
        | '\u{3001}'..='\u{3002}'   // 、。
        | '\u{3005}'                // 々
        | '\u{300C}'..='\u{3011}'   // 「」『』【】
        | '\u{3041}'..='\u{3096}'   // hiragana (the combining voice marks U+3099–U+309A are escaped)
        | '\u{30A1}'..='\u{30FC}'   // katakana, ・, ー
        | '\u{4E00}'..='\u{9FFF}'   // CJK unified ideographs
        | '\u{FF08}'..='\u{FF09}'   // （）
        | '\u{FF10}'..='\u{FF19}'   // full-width digits
        | '\u{FF5E}'                // ～
    )
}

/// The names Windows reserves for devices whatever the extension; a stem equal to one gets its first byte escaped.
const DEVICE_NAMES: [&str; 24] = [
    "con", "prn", "aux", "nul", "com0", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9", "lpt0",
    "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

fn escape(out: &mut String, c: char) {
    let mut buf = [0u8; 4];
    for b in c.encode_utf8(&mut buf).bytes() {
        out.push_str(&format!("%{b:02X}"));
    }
}

/// The file-name stem of a version name or plan id: every character that [`kept`] keeps is written as it is,
/// every other one as `%XX` per UTF-8 byte (uppercase hex), and the first character of a Windows device name is
/// escaped too. Percent-decoding the stem gives the name back, so distinct names get distinct stems, also on file
/// systems that ignore case or Unicode normalization. Refused when the stem would exceed [`MAX_STEM`] bytes.
pub fn file_stem(field: &str, name: &str) -> Result<String, DomainError> {
    let mut out = String::with_capacity(name.len());
    let device = DEVICE_NAMES.contains(&name);
    for (i, c) in name.chars().enumerate() {
        if kept(c) && !(device && i == 0) {
            out.push(c);
        } else {
            escape(&mut out, c);
        }
    }
    if out.is_empty() {
        return Err(DomainError::invalid(field, "an empty name has no file name"));
    }
    if out.len() > MAX_STEM {
        return Err(DomainError::invalid(
            field,
            format!(
                "{name:?} would need a file name of {} bytes, more than {MAX_STEM}; publish it under a shorter name",
                out.len()
            ),
        ));
    }
    Ok(out)
}

/// `<plan stem>/<version stem>.json`, the snapshot's path under the snapshots directory (always `/`-separated).
pub fn relative_path(plan: &PlanId, version: &str) -> Result<String, DomainError> {
    Ok(format!("{}/{}.json", file_stem("plan", plan.as_str())?, file_stem("version", version)?))
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::domain::model::{Actor, Meta};
    use crate::core::domain::{Command, decide};
    use proptest::prelude::*;

    /// Percent-decoding, case-insensitive in the hex digits: the inverse of `file_stem`.
    fn decode(stem: &str) -> String {
        let b = stem.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(&stem[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn file_names_of_the_seed_versions() {
        let stem = |n: &str| file_stem("version", n).unwrap();
        assert_eq!(stem("世田谷区基本計画大綱（案） 3月1日時点"), "世田谷区基本計画大綱（案）%203月1日時点");
        assert_eq!(
            stem("品川区総合実施計画 平成28年度～平成30年度（第4次） 発行月 平成28年4月"),
            "品川区総合実施計画%20平成28年度～平成30年度（第4次）%20発行月%20平成28年4月"
        );
        assert_eq!(stem("adopted 2016-04-01"), "adopted%202016-04-01");
        // Upper case, dots, slashes, the percent sign itself, full-width Latin letters and colons are escaped.
        assert_eq!(stem("Draft"), "%44raft");
        assert_eq!(stem("a/b.c%"), "a%2Fb%2Ec%25");
        assert_eq!(stem("ＩＣＴ："), "%EF%BC%A9%EF%BC%A3%EF%BC%B4%EF%BC%9A");
        // A Windows device name gets its first character escaped; a longer name does not.
        assert_eq!(stem("con"), "%63on");
        assert_eq!(stem("console"), "console");
        // The combining voiced mark is escaped, so が and か+゙ (the same text to a normalizing file system) differ.
        assert_eq!(stem("が"), "が");
        assert_eq!(stem("か\u{3099}"), "か%E3%82%99");
        assert_eq!(
            relative_path(&PlanId::new("setagaya-taiko-an").unwrap(), "世田谷区基本計画大綱（案） 3月1日時点").unwrap(),
            "setagaya-taiko-an/世田谷区基本計画大綱（案）%203月1日時点.json"
        );
        assert_eq!(relative_path(&PlanId::new("Plan.A").unwrap(), "x").unwrap(), "%50lan%2E%41/x.json");
    }

    #[test]
    fn too_long_a_file_name_is_refused_naming_the_field() {
        let e = file_stem("version", &"Ａ".repeat(40)).unwrap_err();
        assert_eq!(e.field, "version");
        assert!(e.reason.contains("360 bytes"), "{e}");
        assert!(file_stem("version", &"計".repeat(80)).is_ok(), "80 kanji are 240 bytes");
        assert!(file_stem("version", &"計".repeat(81)).is_err());
        assert_eq!(file_stem("plan", "").unwrap_err().field, "plan");
    }

    proptest! {
        /// Decoding gives the name back, so the mapping is injective; decoding the lower-cased stem too, so it stays
        /// injective on file systems that ignore case.
        #[test]
        fn file_stems_decode_to_the_name(name in "\\PC{1,60}") {
            if let Ok(stem) = file_stem("version", &name) {
                prop_assert_eq!(decode(&stem), name.clone());
                prop_assert_eq!(decode(&stem.to_lowercase()), name);
                prop_assert!(stem.len() <= MAX_STEM);
                prop_assert!(!stem.contains(['/', '\\', '.', ' ', ':']));
            }
        }

        #[test]
        fn distinct_names_get_distinct_stems(a in "[a-zA-Z0-9 ./%が-]{1,8}", b in "[a-zA-Z0-9 ./%が-]{1,8}") {
            let (sa, sb) = (file_stem("v", &a).unwrap(), file_stem("v", &b).unwrap());
            prop_assert_eq!(sa.to_lowercase() == sb.to_lowercase(), a == b);
        }
    }

    fn meta() -> Meta {
        Meta {
            actor: Actor { id: "clerk".into(), name: "企画課 担当".into(), department: "企画課".into() },
            authority: Some("庁議".into()),
            reason: Some("test".into()),
            effective: chrono::NaiveDate::from_ymd_opt(2016, 4, 1),
        }
    }

    /// A small ledger: a plan, a node, a version named at the node, a retitled node, a second version.
    fn ledger() -> Vec<Vec<u8>> {
        let cmds = vec![
            Command::CreatePlan {
                plan: "p".into(),
                municipality: "品川区".into(),
                municipality_code: "131091".into(),
                title: "試験計画".into(),
                kind: "実施計画".into(),
                period_from: Some("2016".into()),
                period_to: Some("2018".into()),
                status: "adopted".into(),
                levels: vec!["施策".into()],
                predecessor: None,
            },
            Command::AddNode {
                plan: "p".into(),
                node: "p.1".into(),
                parent: None,
                order: None,
                code: "1".into(),
                title: "旧".into(),
                text: String::new(),
                details: vec![],
                departments: vec![],
            },
            Command::NameVersion { plan: "p".into(), name: "第1版".into(), seq: "last".into() },
            Command::RenameNode { node: "p.1".into(), code: None, title: Some("新".into()) },
            Command::NameVersion { plan: "p".into(), name: "第2版".into(), seq: "last".into() },
        ];
        let (mut state, mut prev, mut lines) = (State::default(), EventHash::ZERO, Vec::new());
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-21T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
        for c in cmds {
            for ev in decide(&state, &c, &meta()).unwrap() {
                state.evolve(&ev);
                let bytes = Record::new(Seq(lines.len() as u64), prev, at, &meta(), ev).encode();
                prev = EventHash::of(&bytes);
                lines.push(bytes);
            }
        }
        lines
    }

    #[test]
    fn snapshots_are_deterministic_and_pinned() {
        let lines = ledger();
        let l = CheckedLedger::verify(&lines).unwrap();
        let all = l.snapshots().unwrap();
        let names: Vec<(&str, u64)> = all.iter().map(|s| (s.version.as_str(), s.seq.0)).collect();
        assert_eq!(names, [("第1版", 1), ("第2版", 3)]);
        let again = CheckedLedger::verify(&ledger()).unwrap().snapshots().unwrap();
        for (a, b) in all.iter().zip(&again) {
            assert_eq!(a.to_json(), b.to_json(), "the same ledger gives the same bytes");
        }
        let first = &all[0];
        let json = first.to_json();
        assert!(json.starts_with("{\n  \"format\": \"planledger-snapshot/1\",\n  \"plan\": \"p\",\n"), "{json}");
        assert!(json.ends_with("}\n") && !json.ends_with("}\n\n"));
        assert!(json.contains("\"attestation\": null"));
        assert_eq!(first.head_hash, EventHash::of(&lines[1]));
        assert_eq!(first.tree_size, 2);
        let mut t = MemoryTree::<LedgerHasher>::default();
        lines[..2].iter().for_each(|b| t.push(&EventHash::of(b).0));
        assert_eq!(first.root, b64(&t.root()));
        assert_eq!(first.document.nodes[0].title, "旧", "the plan as it stood at seq 1");
        assert_eq!(all[1].document.nodes[0].title, "新");
        assert!(verify(json.as_bytes(), &l, None).is_ok());
    }

    #[test]
    fn verify_names_each_field_that_differs() {
        let l = CheckedLedger::verify(&ledger()).unwrap();
        let json = l.snapshots().unwrap()[0].to_json();
        let fields = |s: &str| match verify(s.as_bytes(), &l, None) {
            Err(SnapshotError::Mismatch(m)) => m.iter().map(|m| m.field.clone()).collect::<Vec<_>>(),
            other => panic!("expected a mismatch, got {other:?}"),
        };
        assert_eq!(fields(&json.replace("\"旧\"", "\"改\"")), ["document.nodes[0].title"]);
        assert_eq!(fields(&json.replace("\"seq\": 1,", "\"seq\": 0,")), ["seq"]);
        assert_eq!(fields(&json.replace("\"tree_size\": 2,", "\"tree_size\": 3,")), ["tree_size"]);
        assert_eq!(fields(&json.replace("\"第1版\"", "\"第3版\"")), ["version"]);
        assert_eq!(fields(&json.replace("planledger-snapshot/1", "planledger-snapshot/2")), ["format"]);
        // Key order and whitespace are not content: a re-indented, key-sorted copy is the same snapshot.
        let v: Value = serde_json::from_str(&json).unwrap();
        assert!(verify(canonical(&v).as_bytes(), &l, None).is_ok());
        assert!(matches!(verify(b"{}", &l, None), Err(SnapshotError::NotASnapshot(_))));
    }
}
