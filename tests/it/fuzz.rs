//! Every input the fuzz harness saved (`tests/data/fuzz/<target>/*.input`, a crash or a hang it found) replayed
//! through its target on every test run, so a fixed crash stays fixed; and every target's seeds run clean.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

// The harness's own targets, so that the replay checks exactly what the harness checked.
#[allow(dead_code)]
#[path = "../../benches/fuzz/targets/mod.rs"]
mod targets;

use targets::{Fixture, Target};

fn saved_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz")
}

fn run_clean(t: &Target, f: &Fixture, what: &str, input: &[u8]) -> Result<String, String> {
    catch_unwind(AssertUnwindSafe(|| (t.run)(f, input))).map_err(|e| {
        let msg = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()));
        format!("{}: {what}: {}", t.name, msg.unwrap_or_default())
    })
}

#[test]
fn saved_fuzz_inputs_stay_fixed() {
    let f = Fixture::load();
    let all = targets::all();
    let mut failures = Vec::new();
    let mut replayed = 0;
    for dir in std::fs::read_dir(saved_dir()).unwrap() {
        let dir = dir.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let t =
            all.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("{}: no fuzz target {name}", dir.display()));
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            assert_eq!(path.extension().and_then(|e| e.to_str()), Some("input"), "{}", path.display());
            let bytes = std::fs::read(&path).unwrap();
            if let Err(e) = run_clean(t, &f, &path.display().to_string(), &bytes) {
                failures.push(e);
            }
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no saved inputs under {}", saved_dir().display());
    assert!(failures.is_empty(), "saved fuzz inputs that fail again:\n{}", failures.join("\n"));
}

#[test]
fn every_fuzz_target_takes_its_seeds() {
    let f = Fixture::load();
    for t in targets::all() {
        let seeds = (t.seeds)(&f);
        assert!(!seeds.is_empty(), "{} has no seeds", t.name);
        let outcomes: Vec<String> = seeds.iter().map(|s| run_clean(&t, &f, "a seed", s).unwrap()).collect();
        // Seeds are mostly valid inputs (some are there for their refusal): a target that accepts none is broken.
        assert!(outcomes.iter().any(|o| o.starts_with("ok")), "{}: no seed accepted: {outcomes:?}", t.name);
    }
}
