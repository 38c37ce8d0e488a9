//! Tamper test: changing any one stored byte (in sled or in an export) makes verify exit 1 naming that seq.

use std::process::Command;

use planledger::core::record::split_lines;
use planledger::store::ledger::Ledger;
use rand::{Rng, SeedableRng};

use crate::support::bin;

fn seeded_ledger() -> (tempfile::TempDir, Vec<Vec<u8>>) {
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

#[test]
fn a_previous_value_with_a_misstated_scale_does_not_verify() {
    // Regression: a TargetRevised whose `previous` said "3750.0" where the state held "3750" used to pass,
    // because decimals compared by value alone.
    let (dir, _) = seeded_ledger();
    let d = dir.path().to_str().unwrap();
    let who = ["--actor", "a", "--reason", "見直し", "--effective", "2016-04-01"];
    let ind = "shinagawa-jisshi-4.6-2-2-1-r1.kpi1";
    let mut args = vec!["--data", d, "target", "set", ind, "2016", "3760"];
    args.extend(who);
    assert!(Command::new(bin()).args(&args).status().unwrap().success());
    let file = dir.path().join("x.jsonl");
    let f = file.to_str().unwrap();
    assert!(Command::new(bin()).args(["--data", d, "export", "--out", f]).status().unwrap().success());
    let text = std::fs::read_to_string(&file).unwrap();
    let last = text.lines().last().unwrap();
    assert!(last.contains(r#""previous":{"kind":"value","value":"3750","comparator":"eq"}"#), "{last}");
    let forged = text
        .replace(r#""previous":{"kind":"value","value":"3750","#, r#""previous":{"kind":"value","value":"3750.0","#);
    std::fs::write(&file, forged).unwrap();
    let (code, err) = verify(&["verify", "--file", f]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("first bad event seq {}:", text.lines().count() - 1)), "{err}");
}
