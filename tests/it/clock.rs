//! The writer's clock rule end to end (`core::domain::clock`): a jump of the system clock never dates later records
//! in the future, nothing is dated far ahead of the system clock without the operator's word, and `as_of` queries
//! see every record at the instant it carries.

use std::process::Command as Process;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, TimeDelta, Utc};
use planledger::core::domain::PlanId;
use planledger::core::domain::clock::{ClockBehind, stored};
use planledger::core::projection::Point;
use planledger::query::Read;
use planledger::store::ledger::{IdempotencyKey, Ledger, LedgerError, LedgerOptions, verify_dir};
use planledger::store::tokens::TokenSpec;
use serde_json::json;

use crate::support::{add_node, append, bin, create_plan, req};
use crate::writes::send;

/// A wall clock and a monotonic clock that a test moves by hand.
pub struct Clocks {
    wall: Mutex<DateTime<Utc>>,
    mono: Mutex<Duration>,
}

impl Clocks {
    pub fn new(wall: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self { wall: Mutex::new(wall), mono: Mutex::new(Duration::ZERO) })
    }

    /// The wall clock reads `wall`, and `mono_secs` seconds have passed since the clocks were made.
    pub fn set(&self, wall: DateTime<Utc>, mono_secs: u64) {
        *self.wall.lock().unwrap() = wall;
        *self.mono.lock().unwrap() = Duration::from_secs(mono_secs);
    }

    pub fn options(self: &Arc<Self>) -> LedgerOptions {
        let (w, m) = (self.clone(), self.clone());
        LedgerOptions {
            clock: Some(Arc::new(move || *w.wall.lock().unwrap())),
            monotonic: Some(Arc::new(move || *m.mono.lock().unwrap())),
            ..LedgerOptions::default()
        }
    }
}

pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z").unwrap().with_timezone(&Utc)
}

pub fn secs(s: i64) -> TimeDelta {
    TimeDelta::seconds(s)
}

/// The `recorded_at` of the event an append of `node` produced.
pub fn add(l: &Ledger, node: &str) -> Result<DateTime<Utc>, LedgerError> {
    let seq = append(l, add_node("p", node))?.events[0].seq.0;
    Ok(l.records(seq, seq + 1).unwrap()[0].recorded_at)
}

/// The nodes of plan `p` as the ledger had recorded them at `t`, read through the query layer.
pub fn nodes_as_of(l: &Ledger, t: DateTime<Utc>) -> Vec<String> {
    let read = Read::new(l);
    let pid = PlanId::new("p").unwrap();
    read.on_state(&pid, Some(Point::AsOf(t)), |s| s.nodes.keys().map(|n| n.as_str().to_string()).collect()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jump_that_holds_is_followed_and_its_undoing_waits_for_the_operators_word() {
    let dir = tempfile::tempdir().unwrap();
    let clocks = Clocks::new(t0());
    let l = Ledger::open_with(dir.path(), clocks.options()).unwrap();
    tokio::task::block_in_place(|| {
        append(&l, create_plan("p")).unwrap();
        // The clock jumps a day ahead and stays there: not followed at first, followed once it held ten minutes.
        clocks.set(t0() + TimeDelta::days(1), 1);
        assert_eq!(add(&l, "p.a").unwrap(), t0() + secs(1));
        clocks.set(t0() + TimeDelta::days(1) + secs(600), 601);
        assert_eq!(add(&l, "p.b").unwrap(), t0() + TimeDelta::days(1) + secs(600));
    });
    let last = t0() + TimeDelta::days(1) + secs(600);
    let keyed = req(vec![add_node("p", "p.k")]).with_key(Some(IdempotencyKey::new("", "k1")));
    let first = tokio::task::block_in_place(|| l.append_blocking(keyed.clone())).unwrap();

    // The clock is put back: the last record is a day ahead of it, so nothing new is dated; a retry of a write
    // that went through still learns its outcome.
    clocks.set(t0() + secs(700), 700);
    let head = l.head();
    let e = tokio::task::block_in_place(|| add(&l, "p.c")).unwrap_err();
    let behind = ClockBehind { last, wall: t0() + secs(700) };
    assert!(matches!(e, LedgerError::ClockBehind(c) if c == behind), "{e:?}");
    assert_eq!(l.head(), head, "nothing was appended");
    let replay = tokio::task::block_in_place(|| l.append_blocking(keyed)).unwrap();
    assert!(replay.replayed && replay.events == first.events);

    // Over HTTP: 503, naming both instants and the operator's word.
    let spec = TokenSpec {
        name: "admin".into(),
        display_name: None,
        role: planledger::core::domain::Role::Admin,
        departments: vec![],
    };
    let token = l.create_token(&spec).unwrap().secret;
    let app = planledger::web::app(l.clone());
    let body = json!({"node": "p.c", "code": "1", "title": "施策", "departments": ["企画課"]});
    let a = send(&app, Method::POST, "/api/plans/p/nodes", Some(&token), &[], &body.to_string()).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.text());
    let detail = a.json()["detail"].as_str().unwrap().to_string();
    for needle in
        [stored(&last), stored(&(t0() + secs(700))), format!("PLANLEDGER_ACCEPT_CLOCK_AHEAD={}", stored(&last))]
    {
        assert!(detail.contains(&needle), "{needle} not in {detail}");
    }
    drop(app);
    tokio::task::block_in_place(|| l.close());

    // Reopened, the last record is still ahead: refused, until the operator accepts dating changes at it.
    tokio::task::block_in_place(|| {
        let l = Ledger::open_with(dir.path(), clocks.options()).unwrap();
        assert!(matches!(add(&l, "p.c"), Err(LedgerError::ClockBehind(_))));
        l.close();
        let word = LedgerOptions { accept_clock_ahead: Some(last), ..clocks.options() };
        let l = Ledger::open_with(dir.path(), word).unwrap();
        assert_eq!(add(&l, "p.c").unwrap(), last, "dated at the last instant, on the operator's word");
        assert!(nodes_as_of(&l, last).contains(&"p.c".to_string()));
        assert_eq!(nodes_as_of(&l, t0() + secs(10)), vec!["p.a"], "the estimate dated p.a, not the jump");
        l.close();
        verify_dir(dir.path()).unwrap();
    });
}

#[test]
fn a_step_back_within_the_bound_repeats_the_last_instant() {
    let dir = tempfile::tempdir().unwrap();
    let clocks = Clocks::new(t0());
    let l = Ledger::open_with(dir.path(), clocks.options()).unwrap();
    append(&l, create_plan("p")).unwrap();
    clocks.set(t0() - secs(30), 1);
    assert_eq!(add(&l, "p.a").unwrap(), t0(), "the same instant again, never an earlier one");
    clocks.set(t0() + secs(1), 32);
    assert_eq!(add(&l, "p.b").unwrap(), t0() + secs(1));
    assert_eq!(nodes_as_of(&l, t0()), vec!["p.a"]);
    l.close();
    verify_dir(dir.path()).unwrap();
}

#[test]
fn the_command_line_takes_the_operators_word_as_an_instant() {
    // A ledger whose last record was dated a day ahead of the real clock, as a jump before this rule could.
    let dir = tempfile::tempdir().unwrap();
    let ahead = planledger::core::record::to_micros_pub(Utc::now() + TimeDelta::days(1));
    let clocks = Clocks::new(ahead);
    let l = Ledger::open_with(dir.path(), clocks.options()).unwrap();
    append(&l, create_plan("p")).unwrap();
    l.close();
    let who = ["--actor", "kikaku-01", "--actor-name", "企画課 担当", "--department", "企画課"];
    let node = |word: Option<&str>| {
        let mut c = Process::new(bin());
        c.arg("--data").arg(dir.path()).args(["node", "add", "p", "p.n", "--title", "施策"]).args(who);
        c.env_remove("PLANLEDGER_ACCEPT_CLOCK_AHEAD");
        if let Some(w) = word {
            c.env("PLANLEDGER_ACCEPT_CLOCK_AHEAD", w);
        }
        c.output().unwrap()
    };
    let o = node(None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(75), "{err}");
    assert!(err.contains(&format!("PLANLEDGER_ACCEPT_CLOCK_AHEAD={}", stored(&ahead))), "{err}");
    let o = node(Some("tomorrow"));
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let earlier = stored(&(ahead - TimeDelta::microseconds(1)));
    assert_eq!(node(Some(&earlier)).status.code(), Some(75), "a word for an earlier instant does not cover it");
    let o = node(Some(&stored(&ahead)));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let l = Ledger::open(dir.path()).unwrap();
    assert_eq!(l.records(1, 2).unwrap()[0].recorded_at, ahead);
    l.close();
}
