//! Concurrent appends: contiguous seqs without gaps or duplicates; optimistic concurrency; idempotency keys.

use std::collections::BTreeSet;

use planledger::core::synth;
use planledger::store::ledger::{AppendRequest, IdempotencyKey, Ledger, LedgerError, Precondition, verify_dir};

use crate::support::{add_node, append, create_plan, define, meta, set_target};

#[test]
fn concurrent_writers_get_contiguous_unique_seqs() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path()).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).build().unwrap();
    let (writers, per) = (16, 60);
    let seqs: Vec<(u64, String)> = rt.block_on(async {
        let mut tasks = Vec::new();
        for w in 0..writers {
            let l = ledger.clone();
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                for c in synth::workload(&format!("w{w}"), per) {
                    let req = AppendRequest::new(vec![c], synth::meta());
                    let out = l.append(req).await.unwrap();
                    got.extend(out.events.into_iter().map(|e| (e.seq.0, e.hash.to_hex())));
                }
                got
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    });
    let n = (writers * per) as u64;
    assert_eq!(seqs.len() as u64, n);
    let set: BTreeSet<u64> = seqs.iter().map(|(s, _)| *s).collect();
    assert_eq!(set.len() as u64, n, "no duplicates");
    assert_eq!(set.iter().copied().collect::<Vec<_>>(), (0..n).collect::<Vec<_>>(), "no gaps");
    for (s, h) in &seqs {
        assert_eq!(ledger.stored_hash(*s).unwrap().unwrap().to_hex(), *h);
    }
    assert_eq!(ledger.head().len, n);
    ledger.close();
    let s = verify_dir(dir.path()).unwrap();
    assert_eq!(s.summary.count, n);
}

#[test]
fn stale_expected_version_is_refused_with_the_current_version() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path()).unwrap();
    append(&l, create_plan("p")).unwrap();
    append(&l, add_node("p", "p.n")).unwrap();
    let out = append(&l, define("p.i", "p.n")).unwrap();
    assert_eq!(out.version, 3);
    // Two editors both saw version 3; the first wins, the second is told the current version.
    let mk = |t: &str| AppendRequest::new(vec![set_target("p.i", "2016", t)], meta(Some("見直し"))).expecting(Some(3));
    l.append_blocking(mk("10")).unwrap();
    match l.append_blocking(mk("20")) {
        Err(LedgerError::VersionConflict { expected: Precondition::Versions(v), current: Some(4), .. }) if v == [3] => {
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(l.head().len, 4, "nothing appended by the refused request");
}

#[test]
fn idempotency_keys_are_durable_and_bound_to_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let keyed = |c, key: &str| AppendRequest::new(vec![c], meta(None)).with_key(Some(IdempotencyKey::new("", key)));
    let first = {
        let l = Ledger::open(dir.path()).unwrap();
        let first = l.append_blocking(keyed(create_plan("p"), "k1")).unwrap();
        let again = l.append_blocking(keyed(create_plan("p"), "k1")).unwrap();
        assert!(again.replayed);
        assert_eq!(again.events, first.events);
        assert_eq!(l.head().len, 1);
        l.close();
        first
    };
    let l = Ledger::open(dir.path()).unwrap();
    let after_restart = l.append_blocking(keyed(create_plan("p"), "k1")).unwrap();
    assert_eq!(after_restart.events, first.events);
    assert!(matches!(
        l.append_blocking(keyed(create_plan("other"), "k1")),
        Err(LedgerError::IdempotencyMismatch { .. })
    ));
    assert_eq!(l.head().len, 1);
}

#[test]
fn a_refused_multi_command_request_appends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path()).unwrap();
    let req = AppendRequest::new(
        vec![create_plan("p"), add_node("p", "p.n"), define("p.i", "p.n"), set_target("p.i", "2030", "1")],
        meta(None),
    );
    match l.append_blocking(req) {
        Err(LedgerError::Refused { command: Some(3), error }) => assert_eq!(error.field, "fiscal_year"),
        other => panic!("{other:?}"),
    }
    assert_eq!(l.head().len, 0);
    assert!(l.read().state.plans.is_empty());
}
