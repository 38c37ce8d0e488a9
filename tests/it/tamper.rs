//! Tamper test: changing any one stored byte (in sled or in an export) makes verify exit 1 naming that seq.

use std::process::Command;

use planledger::core::record::split_lines;
use planledger::store::ledger::Ledger;
use rand::{Rng, SeedableRng};

use crate::support::bin;

pub fn seeded_ledger() -> (tempfile::TempDir, Vec<Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let mut lines = Vec::new();
    for f in ["01-shinagawa-jisshi-4.jsonl", "02-meguro-kento-2019.jsonl"] {
        lines.extend(split_lines(&std::fs::read(root.join(f)).unwrap()).unwrap());
    }
    let l = Ledger::open(dir.path()).unwrap();
    l.import_blocking(lines.clone()).unwrap();
    l.close();
    (dir, lines)
}

fn verify(args: &[&str]) -> (i32, String) {
    let out = Command::new(bin()).args(args).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_changed_byte_in_sled_is_named_by_seq() {
    let (dir, lines) = seeded_ledger();
    let d = dir.path().to_str().unwrap();
    assert_eq!(verify(&["--data", d, "verify"]).0, 0);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for k in [0u64, 1, 57, 199, 300, lines.len() as u64 - 1] {
        let pos = rng.gen_range(0..lines[k as usize].len());
        {
            let db = crate::support::open_sled(dir.path());
            let t = db.open_tree("events").unwrap();
            let mut v = t.get(k.to_be_bytes()).unwrap().unwrap().to_vec();
            v[pos] ^= 0x01;
            t.insert(k.to_be_bytes(), v).unwrap();
            db.flush().unwrap();
        }
        let (code, err) = verify(&["--data", d, "verify"]);
        assert_eq!(code, 1, "seq {k} byte {pos}: {err}");
        assert!(err.contains(&format!("seq {k}")), "seq {k} byte {pos}: {err}");
        // Put it back so the next round tampers with a clean ledger.
        let db = crate::support::open_sled(dir.path());
        db.open_tree("events").unwrap().insert(k.to_be_bytes(), lines[k as usize].as_slice()).unwrap();
        db.flush().unwrap();
        drop(db);
        let (code, err) = verify(&["--data", d, "verify"]);
        assert_eq!(code, 0, "after restoring seq {k}: {err}");
    }
}

/// The entity index and the in-force timeline are stored bytes too: a missing entry is named by its event's seq,
/// and an entry no event accounts for fails verify as well.
#[test]
fn a_missing_or_extra_derived_entry_fails_verify() {
    let (dir, _) = seeded_ledger();
    let d = dir.path().to_str().unwrap();
    for tree in ["index", "timeline"] {
        let (key, value) = {
            let db = crate::support::open_sled(dir.path());
            let t = db.open_tree(tree).unwrap();
            let (k, v) = t.iter().nth(123).unwrap().unwrap();
            t.remove(&k).unwrap();
            db.flush().unwrap();
            (k.to_vec(), v.to_vec())
        };
        let seq = u64::from_be_bytes(key[key.len() - 8..].try_into().unwrap());
        let (code, err) = verify(&["--data", d, "verify"]);
        assert_eq!(code, 1, "{tree} entry of seq {seq} removed: {err}");
        assert!(err.contains(&format!("seq {seq}")), "{tree}: {err}");
        // Back, plus one extra entry in the same tree naming an existing seq.
        let mut extra = key.clone();
        let at = extra.len() - 9;
        extra[at] ^= 0x01;
        {
            let db = crate::support::open_sled(dir.path());
            let t = db.open_tree(tree).unwrap();
            t.insert(&key, value).unwrap();
            t.insert(&extra, &[] as &[u8]).unwrap();
            db.flush().unwrap();
        }
        let (code, err) = verify(&["--data", d, "verify"]);
        assert_eq!(code, 1, "extra {tree} entry: {err}");
        assert!(err.contains("derived entries"), "{tree}: {err}");
        {
            let db = crate::support::open_sled(dir.path());
            db.open_tree(tree).unwrap().remove(&extra).unwrap();
            db.flush().unwrap();
        }
        let (code, err) = verify(&["--data", d, "verify"]);
        assert_eq!(code, 0, "after restoring {tree}: {err}");
    }
}

#[test]
fn a_changed_byte_in_an_export_is_named_by_seq() {
    let (dir, lines) = seeded_ledger();
    let d = dir.path().to_str().unwrap();
    let file = dir.path().join("export.jsonl");
    let f = file.to_str().unwrap();
    let o = Command::new(bin()).args(["--data", d, "export", "--out", f]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let clean = std::fs::read(&file).unwrap();
    assert_eq!(verify(&["verify", "--file", f]).0, 0);
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let offsets: Vec<usize> = lines
        .iter()
        .scan(0, |o, l| {
            let s = *o;
            *o += l.len() + 1;
            Some(s)
        })
        .collect();
    // Every line but the last: a change to the last line's content is caught only against a published head.
    for _ in 0..40 {
        let k = rng.gen_range(0..lines.len() - 1);
        let pos = rng.gen_range(0..lines[k].len());
        let mut bytes = clean.clone();
        bytes[offsets[k] + pos] ^= 0x01;
        std::fs::write(&file, &bytes).unwrap();
        let (code, err) = verify(&["verify", "--file", f]);
        assert_eq!(code, 1, "line {k} byte {pos}: {err}");
        assert!(err.contains(&format!("first bad event seq {k}:")), "line {k} byte {pos}: {err}");
    }
}

/// What one tampering does to an export's lines.
#[derive(Debug, Clone)]
enum Tamper {
    /// Flip one bit of one byte of line `k` (not the last: a changed last line is caught only against a checkpoint).
    Flip { k: usize, pos: usize },
    /// Remove line `k` (not the last, which leaves a valid shorter ledger).
    Drop { k: usize },
    /// Swap lines `k` and `k + 1`.
    Swap { k: usize },
    /// Repeat line `k` right after itself.
    Duplicate { k: usize },
}

impl Tamper {
    /// The tampered lines, and the seq `verify` must name as the first bad event (`None`: a file that no longer
    /// starts at seq 0, which verify names by the seq it starts at).
    fn apply(&self, lines: &[Vec<u8>]) -> (Vec<Vec<u8>>, Option<usize>) {
        let mut out = lines.to_vec();
        match *self {
            Tamper::Flip { k, pos } => {
                let p = pos % out[k].len();
                out[k][p] ^= 0x01;
                (out, Some(k))
            }
            Tamper::Drop { k } => {
                out.remove(k);
                (out, if k == 0 { None } else { Some(k) })
            }
            Tamper::Swap { k } => {
                out.swap(k, k + 1);
                (out, if k == 0 { None } else { Some(k) })
            }
            Tamper::Duplicate { k } => {
                out.insert(k + 1, lines[k].clone());
                (out, Some(k + 1))
            }
        }
    }
}

fn tamper_strategy(n: usize) -> impl proptest::strategy::Strategy<Value = Tamper> {
    use proptest::prelude::*;
    prop_oneof![
        (0..n - 1, any::<usize>()).prop_map(|(k, pos)| Tamper::Flip { k, pos }),
        (0..n - 1).prop_map(|k| Tamper::Drop { k }),
        (0..n - 1).prop_map(|k| Tamper::Swap { k }),
        (0..n).prop_map(|k| Tamper::Duplicate { k }),
    ]
}

/// Lines of a small ledger with a plan, nodes, an indicator and its targets.
fn small_export() -> Vec<Vec<u8>> {
    use crate::support::{add_node, append, create_plan, define, set_target};
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path()).unwrap();
    append(&l, create_plan("p")).unwrap();
    append(&l, add_node("p", "p.n")).unwrap();
    append(&l, define("p.i", "p.n")).unwrap();
    for (y, t) in [("2016", "10"), ("2017", "12"), ("2018", "15"), ("2016", "11"), ("2017", "13")] {
        append(&l, set_target("p.i", y, t)).unwrap();
    }
    for i in 0..6 {
        append(&l, add_node("p", &format!("p.m{i}"))).unwrap();
    }
    let lines = l.read_events(0, u64::MAX).unwrap().into_iter().map(|(_, b)| b).collect();
    l.close();
    lines
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]

    #[test]
    fn any_flipped_dropped_swapped_or_duplicated_line_is_named_by_seq(t in tamper_strategy(14)) {
        static LINES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        let lines = LINES.get_or_init(small_export);
        proptest::prop_assert_eq!(lines.len(), 14);
        let (tampered, seq) = t.apply(lines);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("export.jsonl");
        let bytes: Vec<u8> = tampered.iter().flat_map(|l| l.iter().copied().chain([b'\n'])).collect();
        std::fs::write(&file, bytes).unwrap();
        let (code, err) = verify(&["verify", "--file", file.to_str().unwrap()]);
        proptest::prop_assert_eq!(code, 1, "{:?} passed: {}", t, err);
        match seq {
            Some(s) => proptest::prop_assert!(err.contains(&format!("first bad event seq {s}:")), "{:?}: {}", t, err),
            None => proptest::prop_assert!(err.contains("start at seq 1, not 0"), "{:?}: {}", t, err),
        }
    }
}
