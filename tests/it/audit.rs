//! Audit proofs end to end: the stored tree against an in-memory one, proofs across restarts, bundles, signed
//! checkpoints, and the split-view defence (a forked ledger fails the consistency check).

use std::path::Path;
use std::process::Command;

use planledger::core::audit::merkle::{self, MemoryTree, Rfc6962Sha256};
use planledger::core::audit::note::{Checkpoint, NoteVerifier};
use planledger::core::audit::{Bundle, b64};
use planledger::core::domain::EventHash;
use planledger::core::record::split_lines;
use planledger::store::ledger::{Ledger, verify_dir};

use crate::support::{add_node, append, bin, create_plan};

fn seed_lines(files: &[&str]) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    files.iter().flat_map(|f| split_lines(&std::fs::read(root.join(f)).unwrap()).unwrap()).collect()
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin()).args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn memory_tree(lines: &[Vec<u8>]) -> MemoryTree<Rfc6962Sha256> {
    let mut t = MemoryTree::default();
    for l in lines {
        t.push(&EventHash::of(l).0);
    }
    t
}

#[test]
fn stored_tree_proofs_equal_the_reference_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let lines = seed_lines(&["01-shinagawa-jisshi-4.jsonl", "02-meguro-kento-2019.jsonl"]);
    // Imported in uneven batches with a restart between each, so that the tree's right edge is reloaded from
    // storage at many different sizes.
    let mut at = 0;
    for (i, chunk) in [1usize, 2, 5, 64, 1, 127, 3].iter().cycle().enumerate() {
        if at >= lines.len() {
            break;
        }
        let end = (at + chunk).min(lines.len());
        let l = Ledger::open(dir.path()).unwrap();
        l.import_blocking(lines[at..end].to_vec()).unwrap();
        let cp = Checkpoint::open(&l.checkpoint(), &l.verifier()).unwrap();
        assert_eq!(cp.size, end as u64, "batch {i}");
        assert_eq!(cp.root, memory_tree(&lines[..end]).root(), "batch {i}");
        l.close();
        at = end;
    }
    let l = Ledger::open(dir.path()).unwrap();
    let reference = memory_tree(&lines);
    let n = lines.len() as u64;
    for size in (1..=n).step_by(13).chain([n]) {
        assert_eq!(l.root(size).unwrap(), merkle::root::<Rfc6962Sha256, _>(&reference, size).unwrap());
        for seq in (0..size).step_by(7).chain([size - 1]) {
            let p = l.inclusion_proof(seq, Some(size)).unwrap();
            let want = merkle::inclusion_proof::<Rfc6962Sha256, _>(&reference, seq, size).unwrap().unwrap();
            assert_eq!(p.proof, want.iter().map(|h| b64(h)).collect::<Vec<_>>(), "{seq} in {size}");
            let trusted = merkle::root::<Rfc6962Sha256, _>(&reference, size).unwrap();
            p.verify_against(size, &trusted).unwrap();
        }
        for m in (1..=size).step_by(11) {
            let p = l.consistency_proof(m, size).unwrap();
            let want = merkle::consistency_proof::<Rfc6962Sha256, _>(&reference, m, size).unwrap().unwrap();
            assert_eq!(p.proof, want.iter().map(|h| b64(h)).collect::<Vec<_>>(), "{m} → {size}");
            let (r1, r2) = (
                merkle::root::<Rfc6962Sha256, _>(&reference, m).unwrap(),
                merkle::root::<Rfc6962Sha256, _>(&reference, size).unwrap(),
            );
            p.verify_between((m, &r1), (size, &r2)).unwrap();
        }
    }
    assert!(l.inclusion_proof(n, None).is_err(), "a seq beyond the ledger");
    assert!(l.inclusion_proof(0, Some(n + 1)).is_err(), "a size beyond the ledger");
    assert!(l.consistency_proof(0, n).is_err(), "from the empty tree");
    assert!(l.consistency_proof(5, 4).is_err(), "reversed sizes");
    l.close();
    assert_eq!(verify_dir(dir.path()).unwrap().root, reference.root());
}

#[test]
fn a_bundle_verifies_offline_and_every_changed_byte_fails() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::create(dir.path(), Some("planledger.example.lg.jp/test")).unwrap();
    l.import_blocking(seed_lines(&["01-shinagawa-jisshi-4.jsonl"])).unwrap();
    let key = l.verifier();
    let bundle = l.bundle(123).unwrap().to_json();
    let v = Bundle::verify(bundle.as_bytes(), &key).unwrap();
    assert_eq!(v.record.seq.0, 123);
    assert_eq!(v.checkpoint.size, 201);

    let bytes = bundle.as_bytes();
    for i in 0..bytes.len() {
        let mut b = bytes.to_vec();
        b[i] ^= 0x01;
        assert!(Bundle::verify(&b, &key).is_err(), "byte {i} ({:?}) changed and still verified", bytes[i] as char);
    }

    // A checkpoint signed by another key fails, even with the same origin.
    let other = tempfile::tempdir().unwrap();
    let o = Ledger::create(other.path(), Some("planledger.example.lg.jp/test")).unwrap();
    let other_key = o.verifier();
    assert_ne!(other_key, key);
    assert!(Bundle::verify(bytes, &other_key).is_err());
    let forged: Bundle = {
        let mut b: Bundle = serde_json::from_str(&bundle).unwrap();
        let size_root = Checkpoint::open(&b.checkpoint, &key).unwrap();
        b.checkpoint = o.sign_checkpoint(size_root.size, size_root.root).unwrap();
        b
    };
    assert!(Bundle::verify(forged.to_json().as_bytes(), &key).is_err());
    assert!(Bundle::verify(forged.to_json().as_bytes(), &other_key).is_ok(), "the forgery is well formed");

    // The CLI: bundle, verify-bundle with the key, and with the wrong key.
    l.close();
    o.close();
    let d = dir.path().to_str().unwrap();
    let out = dir.path().join("b.json");
    assert_eq!(cli(&["--data", d, "bundle", "7", "--out", out.to_str().unwrap()]).0, 0);
    let pk = cli(&["--data", d, "pubkey"]).1;
    let (code, stdout, err) = cli(&["verify-bundle", out.to_str().unwrap(), "--pubkey", pk.trim()]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("seq 7"), "{stdout}");
    let (code, _, err) = cli(&["verify-bundle", out.to_str().unwrap(), "--pubkey", &other_key.encode()]);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = cli(&["verify-bundle", out.to_str().unwrap(), "--pubkey", "not-a-key"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--pubkey"), "{err}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_forked_ledger_fails_the_consistency_check_against_the_other_checkpoint() {
    let base = tempfile::tempdir().unwrap();
    let a_dir = base.path().join("a");
    let b_dir = base.path().join("b");
    let l = Ledger::create(&a_dir, Some("planledger.example.lg.jp/fork")).unwrap();
    append(&l, create_plan("p")).unwrap();
    for i in 0..20 {
        append(&l, add_node("p", &format!("n{i}"))).unwrap();
    }
    let prefix_checkpoint = l.checkpoint();
    l.close();
    // The same ledger, same key, then two different suffixes: what a server showing a split view would hold.
    copy_dir(&a_dir, &b_dir);
    let a = Ledger::open(&a_dir).unwrap();
    for i in 20..40 {
        append(&a, add_node("p", &format!("n{i}"))).unwrap();
    }
    let a_checkpoint = a.checkpoint();
    a.close();
    let b = Ledger::open(&b_dir).unwrap();
    append(&b, add_node("p", "other")).unwrap();
    let b_checkpoint = b.checkpoint();
    b.close();

    let cp_file = |name: &str, note: &str| {
        let p = base.path().join(name);
        std::fs::write(&p, note).unwrap();
        p.to_str().unwrap().to_string()
    };
    let prefix = cp_file("prefix.txt", &prefix_checkpoint);
    let from_b = cp_file("b.txt", &b_checkpoint);
    let from_a = cp_file("a.txt", &a_checkpoint);
    let (a_d, b_d) = (a_dir.to_str().unwrap(), b_dir.to_str().unwrap());

    // Both extend the common prefix.
    let (code, out, err) = cli(&["--data", a_d, "verify", "--since", &prefix]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("only grew"), "{out}");
    assert_eq!(cli(&["--data", b_d, "verify", "--since", &prefix]).0, 0);
    // Each fails against the other's checkpoint: B's 22nd event is not A's, and A's checkpoint is larger than B.
    let (code, _, err) = cli(&["--data", a_d, "verify", "--since", &from_b]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not consistent"), "{err}");
    let (code, _, err) = cli(&["--data", b_d, "verify", "--since", &from_a]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("removed"), "{err}");

    // A checkpoint of another key (another ledger) is refused as unverifiable.
    let c_dir = base.path().join("c");
    let c = Ledger::create(&c_dir, Some("planledger.example.lg.jp/fork")).unwrap();
    append(&c, create_plan("p")).unwrap();
    let from_c = cp_file("c.txt", &c.checkpoint());
    c.close();
    let (code, _, err) = cli(&["--data", a_d, "verify", "--since", &from_c]);
    assert_eq!(code, 1, "{err}");

    // An export checked against a kept checkpoint: the prefix reproduces it, the fork's does not.
    let export = base.path().join("a.jsonl");
    assert_eq!(cli(&["--data", a_d, "export", "--out", export.to_str().unwrap()]).0, 0);
    let pk = cli(&["--data", a_d, "pubkey"]).1;
    let e = export.to_str().unwrap();
    let (code, out, err) = cli(&["verify", "--file", e, "--checkpoint", &prefix, "--pubkey", pk.trim()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("reproduce the checkpoint"), "{out}");
    let (code, _, err) = cli(&["verify", "--file", e, "--checkpoint", &from_b, "--pubkey", pk.trim()]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn tampered_tree_nodes_and_checkpoints_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path()).unwrap();
    l.import_blocking(seed_lines(&["01-shinagawa-jisshi-4.jsonl"])).unwrap();
    let good_checkpoint = l.checkpoint();
    let key: NoteVerifier = l.verifier();
    l.close();
    let d = dir.path().to_str().unwrap();
    // An interior node: proofs would lie, so verify must name the tree.
    {
        let db = crate::support::open_sled(dir.path());
        let t = db.open_tree("merkle").unwrap();
        let mut k = vec![3u8];
        k.extend_from_slice(&2u64.to_be_bytes());
        let mut v = t.get(&k).unwrap().unwrap().to_vec();
        v[0] ^= 0x80;
        t.insert(&k, v).unwrap();
        db.flush().unwrap();
    }
    let (code, _, err) = cli(&["--data", d, "verify"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("level 3, index 2") && err.contains("seq 16..=23"), "{err}");
    // The stored checkpoint re-signed with the size changed: the ledger refuses to open.
    {
        let db = crate::support::open_sled(dir.path());
        let meta = db.open_tree("meta").unwrap();
        let changed = good_checkpoint.replacen("\n201\n", "\n200\n", 1);
        meta.insert("checkpoint", changed.as_bytes()).unwrap();
        db.flush().unwrap();
    }
    let (code, _, err) = cli(&["--data", d, "verify"]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("checkpoint"), "{err}");
    assert!(Checkpoint::open(&good_checkpoint, &key).is_ok());
}

#[test]
fn the_key_file_is_private_and_init_refuses_an_existing_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let ds = d.to_str().unwrap();
    let (code, out, err) = cli(&["--data", ds, "init", "--origin", "planledger.city.shinagawa.lg.jp/sogo-keikaku"]);
    assert_eq!(code, 0, "{err}");
    let key_line = out.lines().find(|l| l.starts_with("public key: ")).unwrap();
    let pk = key_line.trim_start_matches("public key: ");
    assert!(pk.starts_with("planledger.city.shinagawa.lg.jp/sogo-keikaku+"), "{pk}");
    assert_eq!(cli(&["--data", ds, "pubkey"]).1.trim(), pk);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("checkpoint.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let private = std::fs::read_to_string(d.join("checkpoint.key")).unwrap();
    // `PRIVATE+KEY+<name>+<key id>+<base64 key>`: the base64 may itself contain `+`, so take everything after the
    // fourth `+` (taking the part after the last one made a short, chance-matching fragment the "secret").
    let secret = private.trim().splitn(5, '+').nth(4).unwrap().to_string();
    assert!(secret.len() >= 40, "{secret}");
    // The empty ledger's checkpoint: size 0, the empty root.
    let (code, cp, _) = cli(&["--data", ds, "checkpoint"]);
    assert_eq!(code, 0);
    assert!(
        cp.starts_with(
            "planledger.city.shinagawa.lg.jp/sogo-keikaku\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n\u{2014} "
        ),
        "{cp}"
    );
    let (code, _, err) = cli(&["--data", ds, "init"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("already exists"), "{err}");
    // No command prints the private key.
    for args in [&["checkpoint"][..], &["pubkey"], &["verify"], &["prove", "consistency", "1", "1"]] {
        let mut a = vec!["--data", ds];
        a.extend_from_slice(args);
        let (_, out, err) = cli(&a);
        assert!(!out.contains(&secret) && !err.contains(&secret), "{args:?}");
    }
    let (code, _, err) = cli(&["--data", ds, "prove", "inclusion", "0"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("leaf index 0 is not below tree size 0"), "{err}");
}

#[test]
fn a_store_written_before_the_tree_existed_gets_its_tree_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let lines = seed_lines(&["01-shinagawa-jisshi-4.jsonl"]);
    let l = Ledger::open(dir.path()).unwrap();
    l.import_blocking(lines.clone()).unwrap();
    l.close();
    {
        // What a store of the first layout holds: no tree, no mark, no checkpoint.
        let db = crate::support::open_sled(dir.path());
        db.drop_tree("merkle").unwrap();
        let meta = db.open_tree("meta").unwrap();
        meta.remove("merkle").unwrap();
        meta.remove("checkpoint").unwrap();
        db.flush().unwrap();
    }
    let report = verify_dir(dir.path()).unwrap();
    assert_eq!(report.root, memory_tree(&lines).root());
    assert_eq!(report.checkpoint.size, lines.len() as u64);
    let l = Ledger::open(dir.path()).unwrap();
    let n = lines.len() as u64;
    l.inclusion_proof(42, None).unwrap().verify_against(n, &memory_tree(&lines).root()).unwrap();
}
