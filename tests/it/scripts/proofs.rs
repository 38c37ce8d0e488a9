//! The §16 proof verifier and the §17.3 file-name script against the binary and the library.

use std::path::Path;

use planledger::core::audit::{ConsistencyProof, InclusionProof, b64};
use planledger::core::domain::EventHash;
use serde_json::Value;

use super::*;

/// The same bytes in base64 with the last character's unused low bit set: a second spelling that a strict decoder
/// refuses (a 32-byte hash leaves two bits unused).
/// The root of the tree of the first `size` lines: what the library checks proofs against, never the root a proof
/// carries.
fn trusted_root(lines: &[Vec<u8>], size: u64) -> [u8; 32] {
    use planledger::core::audit::merkle::{MemoryTree, Rfc6962Sha256};
    let mut tree = MemoryTree::<Rfc6962Sha256>::default();
    for l in &lines[..usize::try_from(size).unwrap()] {
        tree.push(&EventHash::of(l).0);
    }
    tree.root()
}

fn other_trailing_bits(s: &str) -> String {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let (head, tail) = s.split_at(s.len() - 2);
    let i = ALPHABET.find(&tail[..1]).unwrap();
    format!("{head}{}=", &ALPHABET[(i ^ 1)..=(i ^ 1)])
}

/// Whether `plaudit.py` accepts, with its output for messages.
fn plaudit(s: &Scripts, args: &[&str]) -> (bool, String) {
    let o = s.run("plaudit.py", args);
    assert!(matches!(o.status.code(), Some(0 | 1)), "plaudit.py {args:?}: {}", text(&o.stderr));
    (o.status.success(), format!("{}{}", text(&o.stdout), text(&o.stderr)))
}

fn ok_of(o: &Output) -> (bool, String) {
    (o.status.success(), format!("{}{}", text(&o.stdout), text(&o.stderr)))
}

#[test]
fn the_proof_verifier_judges_proofs_as_the_library_does() {
    let s = Scripts::new();
    let f = fixture();
    let n = f.lines.len() as u64;
    let file = f.path("proof.json");
    let file_s = file.to_str().unwrap();
    // The root of the export is the checkpoint's.
    let checkpoint = text(&planledger(&["--data", f.data(), "checkpoint"]).stdout);
    let root = checkpoint.split('\n').nth(2).unwrap();
    let (ok, out) = plaudit(&s, &["root", f.export()]);
    assert!(ok && out.trim() == format!("{n} {root}"), "{out}");

    for seq in [0, 1, n / 2, n - 1] {
        let o = planledger(&["--data", f.data(), "prove", "inclusion", &seq.to_string(), "--json"]);
        assert!(o.status.success());
        let good: Value = serde_json::from_slice(&o.stdout).unwrap();
        let mut cases = vec![("as printed", o.stdout.clone())];
        let mut with = |case: &'static str, change: &dyn Fn(&mut Value)| {
            let mut v = good.clone();
            change(&mut v);
            cases.push((case, serde_json::to_vec_pretty(&v).unwrap()));
        };
        with("another leaf index", &|v| v["leaf_index"] = Value::from((seq + 1) % n));
        with("a tree without the leaf", &|v| v["tree_size"] = Value::from(seq));
        with("an upper-case entry", &|v| v["entry"] = Value::from(v["entry"].as_str().unwrap().to_uppercase()));
        with("another entry", &|v| v["entry"] = Value::from("0".repeat(64)));
        with("an extra field", &|v| v["extra"] = Value::from(1));
        with("a missing field", &|v| {
            v.as_object_mut().unwrap().remove("leaf_hash");
        });
        with("a proof hash dropped", &|v| {
            v["proof"].as_array_mut().unwrap().pop();
        });
        with("a proof hash changed", &|v| {
            v["proof"][0] = Value::from(b64(&[7; 32]));
        });
        with("a root spelt with other trailing bits", &|v| {
            v["root"] = Value::from(other_trailing_bits(v["root"].as_str().unwrap()));
        });
        let compact = text(&serde_json::to_vec(&good).unwrap());
        let size = format!(r#""tree_size":{n}"#);
        cases.push(("a float tree size", compact.replacen(&size, &format!("{size}.0"), 1).into_bytes()));
        cases.push(("a key twice", compact.replacen(&size, &format!("{size},{size}"), 1).into_bytes()));
        for (case, bytes) in cases {
            std::fs::write(&file, &bytes).unwrap();
            let library = serde_json::from_slice::<InclusionProof>(&bytes)
                .map_err(|e| e.to_string())
                .and_then(|p| p.verify_against(n, &trusted_root(&f.lines, n)).map_err(|e| e.to_string()));
            let (ok, out) = plaudit(&s, &["inclusion", file_s, f.export()]);
            assert_eq!(ok, library.is_ok(), "inclusion of {seq}, {case}: {out} / {library:?}");
            assert_eq!(ok, case == "as printed", "inclusion of {seq}, {case}: {out}");
        }
    }
    // A proof that agrees with the root it carries but not with the ledger: refused by both, since each checks it
    // only against the root it recomputes.
    let forged_entry = EventHash::of(b"an event the ledger never held");
    let forged_leaf = {
        use planledger::core::audit::leaf_of;
        b64(&leaf_of(&forged_entry))
    };
    let forged = serde_json::json!({"leaf_index": 0, "tree_size": 1, "entry": forged_entry.to_hex(),
        "leaf_hash": forged_leaf, "root": forged_leaf, "proof": []});
    std::fs::write(&file, serde_json::to_vec(&forged).unwrap()).unwrap();
    let (ok, out) = plaudit(&s, &["inclusion", file_s, f.export()]);
    assert!(!ok, "a self-consistent forged proof passed the script: {out}");
    let p: InclusionProof = serde_json::from_value(forged).unwrap();
    assert!(p.verify_against(1, &trusted_root(&f.lines, 1)).is_err(), "the library took a forged proof");
    for (m, size) in [(1, n), (n / 2, n), (n - 1, n), (n, n), (3, 7)] {
        let o = planledger(&["--data", f.data(), "prove", "consistency", &m.to_string(), &size.to_string(), "--json"]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let good: Value = serde_json::from_slice(&o.stdout).unwrap();
        let mut cases = vec![("as printed", good.clone())];
        let mut with = |case: &'static str, change: &dyn Fn(&mut Value)| {
            let mut v = good.clone();
            change(&mut v);
            cases.push((case, v));
        };
        with("size1 changed", &|v| v["size1"] = Value::from(m + 1));
        with("size1 zero", &|v| v["size1"] = Value::from(0));
        with("root2 spelt with other trailing bits", &|v| {
            v["root2"] = Value::from(other_trailing_bits(v["root2"].as_str().unwrap()));
        });
        with("a proof hash added", &|v| v["proof"].as_array_mut().unwrap().push(Value::from(b64(&[5; 32]))));
        for (case, v) in cases {
            let bytes = serde_json::to_vec_pretty(&v).unwrap();
            std::fs::write(&file, &bytes).unwrap();
            let library = serde_json::from_slice::<ConsistencyProof>(&bytes).map_err(|e| e.to_string()).and_then(|p| {
                let (r1, r2) = (trusted_root(&f.lines, m), trusted_root(&f.lines, size));
                p.verify_between((m, &r1), (size, &r2)).map_err(|e| e.to_string())
            });
            let (ok, out) = plaudit(&s, &["consistency", file_s, f.export()]);
            assert_eq!(ok, library.is_ok(), "consistency {m} {size}, {case}: {out} / {library:?}");
            assert_eq!(ok, case == "as printed", "consistency {m} {size}, {case}: {out}");
        }
    }
}

#[test]
fn the_proof_verifier_judges_every_rfc6962_vector_as_the_reference_does() {
    let s = Scripts::new();
    let driver = s.dir.path().join("vectors.py");
    std::fs::write(
        &driver,
        r#"import base64, json, pathlib, sys
from plaudit import verify_inclusion, verify_consistency
for f in sorted(pathlib.Path(sys.argv[1]).rglob("*.json")):
    v = json.loads(f.read_text())
    b = lambda s: base64.b64decode(s)
    try:
        if "leafIdx" in v:
            verify_inclusion(v["leafIdx"], v["treeSize"], b(v["leafHash"]), [b(p) for p in v["proof"] or []], b(v["root"]))
        else:
            verify_consistency(v["size1"], v["size2"], [b(p) for p in v["proof"] or []], b(v["root1"]), b(v["root2"]))
        err = False
    except ValueError:
        err = True
    print(json.dumps({"file": str(f), "err": err, "want": v["wantErr"]}))
"#,
    )
    .unwrap();
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc6962");
    let o = Process::new("python3").arg(&driver).arg(&vectors).output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let results: Vec<Value> = text(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(results.len() > 160, "vectors missing: {}", results.len());
    for r in &results {
        assert_eq!(r["err"], r["want"], "{}", r["file"]);
    }
}

/// A note of `text` signed by the example key, whatever the text holds.
fn signed(text: &str) -> String {
    use ed25519_dalek::Signer;
    let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
    let mut blob = 0x8a60_b61e_u32.to_be_bytes().to_vec();
    blob.extend(ed25519_dalek::SigningKey::from_bytes(&seed).sign(text.as_bytes()).to_bytes());
    format!("{text}\n\u{2014} planledger.example.lg.jp/demo {}\n", b64(&blob))
}

#[test]
fn the_proof_verifier_opens_checkpoints_as_the_binary_does() {
    let s = Scripts::new();
    let f = fixture();
    let note = f.path("note.txt");
    let key = f.path("key.txt");
    std::fs::write(&key, format!("{PUBLIC_KEY}\n")).unwrap();
    let (note_s, key_s) = (note.to_str().unwrap(), key.to_str().unwrap());
    let checkpoint = text(&planledger(&["--data", f.data(), "checkpoint"]).stdout);
    assert_eq!(text(&planledger(&["--data", f.data(), "pubkey"]).stdout).trim(), PUBLIC_KEY);
    let body = checkpoint.split("\n\n").next().unwrap().to_string() + "\n";
    let (origin, rest) = body.split_once('\n').unwrap();
    let (size, root) = rest.trim_end().split_once('\n').unwrap();
    let other = NoteSigner::from_seed("witness.example/w", [9; 32]).unwrap();
    let witness = |t: &str| other.sign(t).unwrap().split("\n\n").nth(1).unwrap().to_string();
    let cases: Vec<(&str, String)> = vec![
        ("as the ledger signed it", checkpoint.clone()),
        ("re-signed", signed(&body)),
        ("with an extension line", signed(&format!("{body}extension\n"))),
        ("with an empty extension line", signed(&format!("{body}\nextension\n"))),
        ("with an empty line at the end of its text", signed(&format!("{body}\n"))),
        ("with an empty line before the size", signed(&format!("{origin}\n\n{size}\n{root}\n"))),
        ("with a size of a leading zero", signed(&format!("{origin}\n0{size}\n{root}\n"))),
        ("with a size with a plus", signed(&format!("{origin}\n+{size}\n{root}\n"))),
        ("with a changed size", checkpoint.replacen(&format!("\n{size}\n"), "\n1\n", 1)),
        ("with another origin", signed(&format!("other.example/log\n{size}\n{root}\n"))),
        ("without its final newline", checkpoint.trim_end_matches('\n').to_string()),
        (
            "a witness's signature first",
            format!("{body}\n{}{}", witness(&body), signed(&body).split("\n\n").nth(1).unwrap()),
        ),
        ("a witness's signature after", format!("{checkpoint}{}", witness(&body))),
        ("a blank line between two signatures", format!("{checkpoint}\n{}", witness(&body))),
        ("only a witness's signature", format!("{body}\n{}", witness(&body))),
        ("with a control character", signed(&format!("{body}ext\u{7}\n"))),
    ];
    for (case, n) in &cases {
        std::fs::write(&note, n).unwrap();
        let ours = ok_of(&planledger(&["verify", "--file", f.export(), "--checkpoint", note_s, "--pubkey", key_s]));
        let script = plaudit(&s, &["checkpoint", note_s, key_s]);
        assert_eq!(script.0, ours.0, "a checkpoint {case}: {} / {}", script.1, ours.1);
        let accepted = ["as the ledger signed it", "re-signed", "with an extension line"];
        let witnessed = ["a witness's signature first", "a witness's signature after"];
        assert_eq!(ours.0, accepted.contains(case) || witnessed.contains(case), "a checkpoint {case}: {}", ours.1);
    }
    // The key inline, and with its key id in upper case (both accept it); cut at the `+` inside its base64, as a
    // reader splitting at every `+` would take it, it is refused.
    std::fs::write(&note, &checkpoint).unwrap();
    let (name, rest) = PUBLIC_KEY.split_once('+').unwrap();
    let (id, b) = rest.split_once('+').unwrap();
    let cut = PUBLIC_KEY[..PUBLIC_KEY.rfind('+').unwrap()].to_string();
    for (k, accepted) in
        [(PUBLIC_KEY.to_string(), true), (format!("{name}+{}+{b}", id.to_uppercase()), true), (cut, false)]
    {
        let ours = ok_of(&planledger(&["verify", "--file", f.export(), "--checkpoint", note_s, "--pubkey", &k]));
        let script = plaudit(&s, &["checkpoint", note_s, &k]);
        assert_eq!(script.0, ours.0, "key {k}: {} / {}", script.1, ours.1);
        assert_eq!(ours.0, accepted, "key {k}: {}", ours.1);
    }
}

#[test]
fn the_proof_verifier_judges_bundles_and_snapshots_as_the_binary_does() {
    let s = Scripts::new();
    let f = fixture();
    let file = f.path("b.json");
    let file_s = file.to_str().unwrap();
    let n = f.lines.len() as u64;
    for seq in [0, n / 2, n - 1] {
        let o = planledger(&["--data", f.data(), "bundle", &seq.to_string(), "--out", file_s]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let good: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let mut cases = vec![("as written", text(&serde_json::to_vec_pretty(&good).unwrap()))];
        let mut with = |case: &'static str, change: &dyn Fn(&mut Value)| {
            let mut v = good.clone();
            change(&mut v);
            cases.push((case, text(&serde_json::to_vec_pretty(&v).unwrap())));
        };
        with("another format", &|v| v["format"] = Value::from("planledger-bundle/2"));
        with("another leaf index", &|v| v["leaf_index"] = Value::from((seq + 1) % n));
        with("another tree size", &|v| v["tree_size"] = Value::from(n - 1));
        with("an extra field", &|v| v["x"] = Value::Null);
        with("an event of version 1.0", &|v| {
            v["event"] = Value::from(v["event"].as_str().unwrap().replacen(r#"{"v":1,"#, r#"{"v":1.0,"#, 1));
        });
        with("an event with a space", &|v| {
            v["event"] = Value::from(v["event"].as_str().unwrap().replacen(r#"{"v":1,"#, r#"{"v": 1,"#, 1));
        });
        with("an event of hour 24", &|v| {
            let e = v["event"].as_str().unwrap();
            let at = e.find(r#""recorded_at":""#).unwrap() + 26;
            v["event"] = Value::from(format!("{}24{}", &e[..at], &e[at + 2..]));
        });
        with("a proof hash changed", &|v| {
            if let Some(p) = v["proof"].as_array_mut().unwrap().first_mut() {
                *p = Value::from(b64(&[1; 32]));
            } else {
                v["proof"] = Value::from(vec![b64(&[1; 32])]);
            }
        });
        with("a checkpoint of another size", &|v| {
            let c = v["checkpoint"].as_str().unwrap();
            v["checkpoint"] = Value::from(c.replacen(&format!("\n{n}\n"), &format!("\n{}\n", n + 1), 1));
        });
        let index = format!(r#""leaf_index": {seq},"#);
        cases.push(("a float leaf index", cases[0].1.replacen(&index, &format!(r#""leaf_index": {seq}.0,"#), 1)));
        for (case, json) in cases {
            std::fs::write(&file, json).unwrap();
            let ours = ok_of(&planledger(&["verify-bundle", file_s, "--pubkey", PUBLIC_KEY]));
            let script = plaudit(&s, &["bundle", file_s, PUBLIC_KEY]);
            assert_eq!(script.0, ours.0, "bundle of seq {seq}, {case}: {} / {}", script.1, ours.1);
            assert_eq!(ours.0, case == "as written", "bundle of seq {seq}, {case}: {}", ours.1);
        }
    }

    let snap = f.path("s.json");
    let snap_s = snap.to_str().unwrap();
    let o = planledger(&["--data", f.data(), "snapshot", "p", "--version", "adopted 2016-04-01", "--out", snap_s]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let good: Value = serde_json::from_slice(&std::fs::read(&snap).unwrap()).unwrap();
    let mut cases = vec![("as written", good.clone())];
    let mut with = |case: &'static str, change: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        change(&mut v);
        cases.push((case, v));
    };
    with("without attestation", &|v| v["attestation"] = Value::Null);
    with("with seq changed", &|v| v["seq"] = Value::from(v["seq"].as_u64().unwrap() - 1));
    with("with tree_size changed", &|v| v["tree_size"] = Value::from(v["tree_size"].as_u64().unwrap() + 1));
    with("with head_hash changed", &|v| v["head_hash"] = Value::from("0".repeat(64)));
    with("with root changed", &|v| v["root"] = Value::from(b64(&[2; 32])));
    with("with another version", &|v| v["version"] = Value::from("adopted"));
    with("with another plan", &|v| v["plan"] = Value::from("q"));
    with("with another format", &|v| v["format"] = Value::from("planledger-snapshot/2"));
    with("with an extra field", &|v| v["x"] = Value::from(0));
    with("with a consistency size changed", &|v| {
        v["attestation"]["consistency"]["size2"] = Value::from(n - 1);
    });
    with("with a consistency proof hash changed", &|v| {
        v["attestation"]["consistency"]["proof"][0] = Value::from(b64(&[3; 32]));
    });
    with("with a checkpoint of another size", &|v| {
        let c = v["attestation"]["checkpoint"].as_str().unwrap();
        v["attestation"]["checkpoint"] = Value::from(c.replacen(&format!("\n{n}\n"), "\n1\n", 1));
    });
    for (case, v) in cases {
        std::fs::write(&snap, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
        let ours = ok_of(&planledger(&["verify-snapshot", snap_s, "--ledger", f.export(), "--pubkey", PUBLIC_KEY]));
        let script = plaudit(&s, &["snapshot", snap_s, PUBLIC_KEY, f.export()]);
        assert_eq!(script.0, ours.0, "a snapshot {case}: {} / {}", script.1, ours.1);
        assert_eq!(ours.0, ["as written", "without attestation"].contains(&case), "a snapshot {case}: {}", ours.1);
    }
}

#[test]
fn the_file_name_script_names_files_as_the_binary_does() {
    let s = Scripts::new();
    let names = [
        "adopted 2016-04-01",
        "品川区総合実施計画 平成28年度～平成30年度（第4次） 発行月 平成28年4月",
        "基本構想検討シート ： 行財政運営分野／情報政策分野",
        "con",
        "CON",
        "com7",
        "lpt0x",
        "a%b.c",
        "ガ",
        "か\u{3099}",
        "draft 3月1日時点",
        "Ａ１２",
        "shinagawa-jisshi-4",
    ];
    let driver = s.dir.path().join("stems.py");
    std::fs::write(&driver, "import json, sys\nexec(open(sys.argv[1], encoding='utf-8').read())\nfor n in json.loads(sys.argv[2]): print(stem(n))\n")
        .unwrap();
    let o = Process::new("python3")
        .arg(&driver)
        .arg(s.dir.path().join("stem.py"))
        .arg(serde_json::to_string(&names).unwrap())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stems: Vec<String> = text(&o.stdout).lines().map(str::to_string).collect();
    assert_eq!(stems.len(), names.len());
    for (name, stem) in names.iter().zip(&stems) {
        assert_eq!(stem, &planledger::core::published::file_stem("v", name).unwrap(), "{name}");
    }
}
