//! The resume point: opening folds only the events after it, and gives exactly the state a fold of every event
//! gives; a resume point that is damaged, of another ledger's events, or beyond the head is not used.

use planledger::core::domain::State;
use planledger::store::ledger::Ledger;

use crate::support::{append, create_plan, open_sled};

/// The state a fold of every stored event gives, by the core's `evolve` alone.
fn folded(l: &Ledger, _dir: &std::path::Path) -> State {
    let mut state = State::default();
    for r in l.records(0, l.head().len).unwrap() {
        state.evolve(&r.event);
    }
    state
}

fn ledger_with_plans(dir: &std::path::Path, n: usize) -> Ledger {
    let l = Ledger::open(dir).unwrap();
    for i in 0..n {
        append(&l, create_plan(&format!("p{i}"))).unwrap();
    }
    l
}

#[test]
fn opening_from_the_resume_point_gives_the_state_of_a_full_fold() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ledger_with_plans(&data, 12).close();
    let db = open_sled(&data);
    assert!(db.open_tree("meta").unwrap().get("resume").unwrap().is_some(), "a clean close stores a resume point");
    drop(db);
    let l = Ledger::open(&data).unwrap();
    // Events after the resume point are folded on top of it.
    for i in 12..20 {
        append(&l, create_plan(&format!("p{i}"))).unwrap();
    }
    l.close();
    let l = Ledger::open(&data).unwrap();
    let state = l.read().state.clone();
    assert_eq!(state.plans.len(), 20);
    assert_eq!(state, folded(&l, dir.path()));
    l.close();
}

#[test]
fn a_damaged_or_foreign_resume_point_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ledger_with_plans(&data, 6).close();
    let other = dir.path().join("other");
    ledger_with_plans(&other, 3).close();
    let point = |d: &std::path::Path| open_sled(d).open_tree("meta").unwrap().get("resume").unwrap().unwrap();
    let good = point(&data);
    let foreign = point(&other);
    let mut flipped = good.to_vec();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x40;
    let mut wrong_hash = good.to_vec();
    wrong_hash[50] ^= 0x01;
    for (what, bytes) in [("damaged", flipped), ("another ledger's", foreign.to_vec()), ("wrong hash", wrong_hash)] {
        {
            let db = open_sled(&data);
            db.open_tree("meta").unwrap().insert("resume", bytes).unwrap();
            db.flush().unwrap();
        }
        let l = Ledger::open(&data).unwrap();
        let state = l.read().state.clone();
        assert_eq!(state.plans.len(), 6, "{what}: the open folded every event");
        assert_eq!(state, folded(&l, dir.path()), "{what}");
        l.close();
    }
}
