//! Regressions of defects of a full or failing disk, one test per defect.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_is_reported_as_such_and_loses_nothing() {
    // Postmortem: a commit that failed on a full disk reached every waiting client as "the stored ledger is corrupt" (500), and the writer kept the failed batch in its state.
    let dir = tempfile::tempdir().unwrap();
    let faults = Arc::new(Faults::default());
    let l = Ledger::open_with(dir.path(), LedgerOptions { faults: Some(faults.clone()), ..LedgerOptions::default() })
        .unwrap();
    tokio::task::block_in_place(|| append(&l, create_plan("p"))).unwrap();
    let before = l.head();
    faults.fail_next_commits(1);
    let e = tokio::task::block_in_place(|| append(&l, crate::support::add_node("p", "p.n"))).unwrap_err();
    // The drill fails a commit as a full disk does, and the caller is told so.
    assert!(matches!(e, LedgerError::DiskRefused { .. }), "{e:?}");
    assert_eq!(l.head(), before, "nothing of the failed batch is visible");
    assert!(l.read().state.nodes.is_empty(), "the writer went back to the durable state");

    // Over HTTP: 503 with Retry-After, then the retry goes through.
    let t = l
        .create_token(&TokenSpec { name: "admin".into(), display_name: None, role: Role::Admin, departments: vec![] })
        .unwrap()
        .secret;
    let app = planledger::web::app(l.clone());
    let body = json!({"node": "p.n", "code": "1", "title": "施策", "departments": ["企画課"]}).to_string();
    faults.fail_next_commits(1);
    let a = send(&app, Method::POST, "/api/plans/p/nodes", Some(&t), &[], &body).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.text());
    assert_eq!(a.header("content-type"), "application/problem+json");
    assert!(a.header("retry-after").parse::<u64>().is_ok(), "a 503 says when to retry");
    assert!(!a.text().contains("corrupt"), "{}", a.text());
    let a = send(&app, Method::POST, "/api/plans/p/nodes", Some(&t), &[], &body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    let acknowledged = l.head();
    drop(app);
    close(l);
    let report = tokio::task::block_in_place(|| verify_dir(dir.path())).unwrap();
    assert_eq!(report.summary.count, acknowledged.len, "exactly the acknowledged events are stored");

    // The command line: its own exit code and message, and nothing appended.
    let data = dir.path().to_str().unwrap();
    let out = Process::new(bin())
        .args(["--data", data, "node", "add", "p", "p.m", "--code", "2", "--title", "施策二"])
        .args(["--actor", "clerk"])
        .env("PLANLEDGER_FAIL_COMMITS", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    assert!(stderr.contains("is full") && stderr.contains("nothing was appended"), "{stderr}");
    assert_eq!(tokio::task::block_in_place(|| verify_dir(dir.path())).unwrap().summary.count, acknowledged.len);
}

#[test]
fn a_full_disk_stopped_the_writer_until_a_restart() {
    // Postmortem: sled 0.34 keeps the first I/O error for the life of its handle, so after one commit met a full disk the roll-back and the tree reload failed too, the writer stopped ("cannot reload the tree after a failed commit"), and every later write got 503 "shutting down" or 500 until a restart, even once there was room.
    let disk = crate::diskfull::Disk::new();
    let data = disk.data();
    Ledger::create(&data, None).unwrap().close();
    // Without the free space the writer keeps, so that sled itself meets the full disk, as when the disk fills
    // between the writer's check and sled's write.
    let faults = Arc::new(Faults::default());
    faults.ignore_room();
    let l = Ledger::open_with(&data, LedgerOptions { faults: Some(faults), ..LedgerOptions::default() }).unwrap();
    append(&l, create_plan("p")).unwrap();
    disk.fill();
    let mut n = 0;
    let e = loop {
        match append(&l, crate::support::add_node("p", &format!("p.{n}"))) {
            Ok(_) => n += 1,
            Err(e) => break e,
        }
        assert!(n < 5000, "the full disk refused no write");
    };
    let full =
        |e: &LedgerError| matches!(e, LedgerError::DiskRefused { refusal: planledger::store::DiskRefusal::Full, .. });
    assert!(full(&e), "{e:?}");
    assert!(e.to_string().contains("is full") && !e.to_string().contains("corrupt"), "{e}");
    let again = append(&l, crate::support::add_node("p", "p.x")).unwrap_err();
    assert!(full(&again), "the writer must wait for room, not stop: {again:?}");
    let len = l.head().len;

    std::fs::remove_file(disk.filler()).unwrap();
    append(&l, crate::support::add_node("p", "p.x")).unwrap();
    let head = l.head();
    assert_eq!(head.len, len + 1);
    assert_eq!(l.records(0, head.len).unwrap().len() as u64, head.len, "reads go through the reopened store");
    l.close();
    assert_eq!(verify_dir(&data).unwrap().summary.count, head.len, "exactly the acknowledged events are stored");
}
