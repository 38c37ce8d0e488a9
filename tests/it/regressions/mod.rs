//! One test per defect fixed, named after it, each opening with a one-line postmortem: what was wrong and why it
//! could happen.

use std::collections::BTreeMap;
use std::process::Command as Process;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, NaiveDate, Utc};
use planledger::core::audit::{InclusionProof, b64, leaf_of};
use planledger::core::domain::{Command, EventHash, Role};
use planledger::core::record::split_lines;
use planledger::store::Faults;
use planledger::store::ledger::{AppendRequest, IdempotencyKey, Ledger, LedgerError, LedgerOptions, verify_dir};
use planledger::store::tokens::TokenSpec;
use serde_json::{Value, json};

use crate::support::{append, bin, create_plan, meta};
use crate::writes::{PARK, close, head, ledger, send, with_meta};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn clocked(dir: &std::path::Path, t: DateTime<Utc>) -> Ledger {
    Ledger::open_with(dir, LedgerOptions { clock: Some(Arc::new(move || t)), ..LedgerOptions::default() }).unwrap()
}

fn undated(c: Command) -> AppendRequest {
    let mut m = meta(Some("test"));
    m.effective = None;
    AppendRequest::new(vec![c], m)
}

#[test]
fn the_date_in_japan_is_decided_once_by_the_writers_clock() {
    // Postmortem: "today" was computed in four places, two of them as the UTC date, so before 09:00 JST an import recorded yesterday and a past point's phase was judged on the wrong day.
    let dir = tempfile::tempdir().unwrap();
    let l = clocked(dir.path(), at("2026-12-01T15:30:00Z"));
    assert_eq!(l.today(), NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(), "00:30 in Japan is the next day");
    l.append_blocking(undated(create_plan("p"))).unwrap();
    let r = l.records(0, 1).unwrap().remove(0);
    assert_eq!(r.recorded_at, at("2026-12-01T15:30:00Z"));
    assert_eq!(r.effective, NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(), "the default effective date is Japan's");
    l.close();

    // A plan whose period starts on 1 April 2016, recorded at 00:00 JST that day: at 00:30 JST it is in force, not
    // "prospective", although the UTC date is still 31 March.
    let dir = tempfile::tempdir().unwrap();
    let l = clocked(dir.path(), at("2016-03-31T15:00:00Z"));
    l.append_blocking(crate::support::req(vec![create_plan("p")])).unwrap();
    let q: BTreeMap<String, String> = [("as_of".to_string(), "2016-03-31T15:30:00Z".to_string())].into();
    let page = planledger::web::portal::pages::plan(&l, "p", &q, l.today()).unwrap().into_string();
    assert!(!page.contains("not yet in force"), "the phase was judged on the UTC date");
    l.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_and_answer_is_computed_from_one_read() {
    // Postmortem: a page took the read lock up to four times, so its footer could name a head the page was not computed from.
    let (_d, l, _t, app) = ledger();
    let writer = {
        let l = l.clone();
        std::thread::spawn(move || {
            for i in 0..150 {
                let c = Command::ReviseNodeText { node: "p.g.a".into(), text: format!("本文 {i}") };
                append(&l, c).unwrap();
            }
        })
    };
    let mut checked = 0;
    while !writer.is_finished() || checked < 20 {
        let page = send(&app, Method::GET, "/changes", None, &[], "").await.text();
        let rows = &page[page.find("<tbody>").unwrap()..];
        let start = rows.find("href=\"/events/").unwrap() + "href=\"/events/".len();
        let newest: u64 = rows[start..].split('"').next().unwrap().parse().unwrap();
        assert_eq!(newest + 1, footer_events(&page), "the footer names the head the list was computed from");

        let a = send(&app, Method::GET, "/api/plans/p", None, &[], "").await;
        let version = a.json()["plan"]["version"].as_u64().unwrap();
        assert!(a.header("etag").starts_with(&format!("\"p@{version}-")), "{} vs version {version}", a.header("etag"));
        checked += 1;
    }
    writer.join().unwrap();
    close(l);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dates_have_four_digit_years_and_no_leap_seconds() {
    // Postmortem: chrono's `%Y` takes a sign and a fifth digit, so `-0001-01-01` and `+10000-01-01` were accepted and stored although the format excludes them.
    let (_d, l, t, app) = ledger();
    let before = head(&l);
    for bad in ["-0001-01-01", "+10000-01-01", "10000-01-01"] {
        let mut body = with_meta(r#"{"text":"改"}"#);
        body["effective"] = json!(bad);
        let a = send(&app, Method::POST, "/api/nodes/p.g.a/text", Some(&t.admin), &[], &body.to_string()).await;
        a.problem(StatusCode::BAD_REQUEST, "effective");
        let mut body = with_meta(r#"{"fiscal_year":"2018","value":"3"}"#);
        body["as_of"] = json!(bad);
        let body = body.to_string();
        let a = send(&app, Method::POST, "/api/indicators/p.g.a.k/progress", Some(&t.admin), &[], &body).await;
        a.problem(StatusCode::BAD_REQUEST, "as_of");
    }
    for bad in ["%2B10000-01-01T00:00:00Z", "2016-12-31T23:59:60Z"] {
        let a = send(&app, Method::GET, &format!("/api/plans/p?as_of={bad}"), None, &[], "").await;
        a.problem(StatusCode::BAD_REQUEST, "as_of");
    }
    assert_eq!(head(&l), before, "nothing was appended");
    let lines: Vec<Vec<u8>> = l.read_events(0, u64::MAX).unwrap().into_iter().map(|(_, b)| b).collect();
    close(l);

    // Stored records with such dates are refused by verify and import. The last line is changed, so the chain up to
    // it still holds and the date is the only fault.
    let n = lines.len() - 1;
    let last = String::from_utf8(lines[n].clone()).unwrap();
    let effective = last.split("\"effective\":\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let recorded = last.split("\"recorded_at\":\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let leap = format!("{}59:60.000000Z", &recorded[..14]);
    for forged in [
        last.replace(&format!("\"effective\":\"{effective}\""), "\"effective\":\"+10000-01-01\""),
        last.replace(&format!("\"effective\":\"{effective}\""), "\"effective\":\"-0001-01-01\""),
        last.replace(&format!("\"recorded_at\":\"{recorded}\""), &format!("\"recorded_at\":\"{leap}\"")),
    ] {
        assert_ne!(forged, last);
        let mut file = file_of(&lines[..n]);
        file.extend_from_slice(forged.as_bytes());
        file.push(b'\n');
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("forged.jsonl");
        std::fs::write(&path, &file).unwrap();
        let out = Process::new(bin()).args(["verify", "--file", path.to_str().unwrap()]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{forged}: {stderr}");
        assert!(stderr.contains(&format!("seq {n}")), "{stderr}");
        tokio::task::block_in_place(|| {
            let fresh = Ledger::open(&dir.path().join("data")).unwrap();
            assert!(fresh.import_blocking(split_lines(&file).unwrap()).is_err(), "import took {forged}");
            assert_eq!(fresh.head().len, 0);
            fresh.close();
        });
    }
}

/// Stored lines as an export file: each followed by a newline.
fn file_of(lines: &[Vec<u8>]) -> Vec<u8> {
    lines.iter().flat_map(|l| l.iter().copied().chain([b'\n'])).collect()
}

fn verify(args: &[&str]) -> (i32, String) {
    let out = Process::new(bin()).arg("verify").args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

#[test]
fn verification_cannot_be_fooled_by_omission() {
    // Postmortem: a file not starting at seq 0 was silently taken as a segment, a proof was checked against the root it carried, and a checkpoint of size 0 "matched" any ledger.
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(&dir.path().join("data")).unwrap();
    append(&l, create_plan("p")).unwrap();
    for i in 0..6 {
        append(&l, crate::support::add_node("p", &format!("p.n{i}"))).unwrap();
    }
    let lines: Vec<Vec<u8>> = l.read_events(0, u64::MAX).unwrap().into_iter().map(|(_, b)| b).collect();
    assert_eq!(lines.len(), 7);
    let write = |name: &str, ls: &[Vec<u8>]| {
        let p = dir.path().join(name);
        std::fs::write(&p, file_of(ls)).unwrap();
        p.to_str().unwrap().to_string()
    };
    let whole = write("whole.jsonl", &lines);
    let cut = write("cut.jsonl", &lines[3..]);
    let (code, out) = verify(&["--file", &whole]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = verify(&["--file", &cut]);
    assert_eq!(code, 1, "a file whose first lines were removed passed: {out}");
    assert!(out.contains("start at seq 3") && out.contains("--segment"), "{out}");
    let (code, out) = verify(&["--file", &cut, "--segment"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("segment"), "{out}");
    let prev = EventHash::of(&lines[2]).to_string();
    let (code, out) = verify(&["--file", &cut, "--from", "3", "--prev", &prev]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = verify(&["--file", &cut, "--from", "3", "--prev", &EventHash::ZERO.to_string()]);
    assert_eq!(code, 1, "a wrong --prev passed: {out}");
    let (code, out) = verify(&["--file", &cut, "--from", "2", "--prev", &prev]);
    assert_eq!(code, 1, "a wrong --from passed: {out}");

    // A checkpoint of the empty ledger, properly signed, attests nothing of a non-empty file.
    let empty_root: [u8; 32] = {
        use sha2::Digest;
        sha2::Sha256::digest([]).into()
    };
    let cp0 = dir.path().join("cp0.txt");
    std::fs::write(&cp0, l.sign_checkpoint(0, empty_root).unwrap()).unwrap();
    let key = dir.path().join("key.txt");
    std::fs::write(&key, l.verifier().encode()).unwrap();
    let (code, out) =
        verify(&["--file", &whole, "--checkpoint", cp0.to_str().unwrap(), "--pubkey", key.to_str().unwrap()]);
    assert_eq!(code, 1, "a size-0 checkpoint matched a non-empty file: {out}");

    // A proof that is consistent with the root it carries, but not with the ledger's.
    let forged_entry = EventHash::of(b"an event the ledger never held");
    let forged = InclusionProof {
        leaf_index: 0,
        tree_size: 1,
        entry: forged_entry.to_string(),
        leaf_hash: b64(&leaf_of(&forged_entry)),
        root: b64(&leaf_of(&forged_entry)),
        proof: vec![],
    };
    let trusted = l.root(1).unwrap();
    assert!(forged.verify_against(1, &trusted).is_err(), "a self-consistent forged proof was accepted");
    l.inclusion_proof(0, Some(1)).unwrap().verify_against(1, &trusted).unwrap();
    l.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_listing_respects_ownership() {
    // Postmortem: cross-listing was authorised like an edit of the node alone, so an editor could list its node under another department's or the admins' nodes, and that department could not take it off.
    let (_d, l, t, app) = ledger();
    let park = l
        .create_token(&TokenSpec {
            name: "editor-park".into(),
            display_name: None,
            role: Role::Editor,
            departments: vec![PARK.into()],
        })
        .unwrap()
        .secret;
    let before = head(&l);
    for under in ["p.g.b", "p.h"] {
        let body = with_meta(&format!(r#"{{"under":"{under}"}}"#)).to_string();
        let a = send(&app, Method::POST, "/api/nodes/p.g.a3/cross-list", Some(&t.editor), &[], &body).await;
        a.problem(StatusCode::FORBIDDEN, "under");
    }
    assert_eq!(head(&l), before);
    // The fixture lists 公園課's p.g.b under 道路課's p.g.a: 道路課 may take it off its node.
    let body = with_meta(r#"{"under":"p.g.a"}"#).to_string();
    let a = send(&app, Method::POST, "/api/nodes/p.g.b/uncross", Some(&t.editor), &[], &body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    // And 公園課 lists its node under its own.
    let body = with_meta(r#"{"under":"p.g.b3"}"#).to_string();
    let a = send(&app, Method::POST, "/api/nodes/p.g.b/cross-list", Some(&park), &[], &body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    close(l);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_says_what_the_server_enforces() {
    // Postmortem: the document declared int64 where the server took up to 2^64−1, said nothing of key limits or empty batches, and errors named internal types or gave the decimal hint on text fields.
    let (_d, l, t, app) = ledger();
    let doc: Value = send(&app, Method::GET, "/api/openapi.json", None, &[], "").await.json();
    let op = &doc["paths"]["/api/nodes/{id}/text"]["post"];
    let key = op["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "Idempotency-Key").unwrap();
    assert_eq!(key["schema"]["maxLength"], 128, "{key}");
    assert_eq!(key["schema"]["pattern"], "^[!-~]+$");
    assert_eq!(doc["components"]["schemas"]["CommandsBody"]["properties"]["commands"]["minItems"], 1);
    let after = &doc["paths"]["/api/events"]["get"]["parameters"][0];
    assert_eq!((after["name"].as_str(), after["schema"]["maximum"].as_i64()), (Some("after"), Some(i64::MAX)));
    let a = send(&app, Method::GET, "/api/events?after=9223372036854775808", None, &[], "").await;
    a.problem(StatusCode::BAD_REQUEST, "after");
    let a = send(&app, Method::GET, "/api/plans/p?at=18446744073709551615", None, &[], "").await;
    a.problem(StatusCode::BAD_REQUEST, "at");

    // Errors name the field and the real reason.
    let body = with_meta(r#"{"fiscal_year":"2018","value":"1234567890123456789012345678901234567890"}"#);
    let a = send(&app, Method::POST, "/api/indicators/p.g.a.k/progress", Some(&t.admin), &[], &body.to_string()).await;
    let p = a.problem(StatusCode::BAD_REQUEST, "value");
    assert!(p["detail"].as_str().unwrap().contains("too large"), "{p}");
    let body = with_meta(r#"{"title":5}"#).to_string();
    let a = send(&app, Method::POST, "/api/nodes/p.g.a/rename", Some(&t.admin), &[], &body).await;
    let p = a.problem(StatusCode::BAD_REQUEST, "title");
    let detail = p["detail"].as_str().unwrap();
    assert!(!detail.contains("decimal") && !detail.contains("NumberOrText") && !detail.contains("untagged"), "{p}");
    close(l);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exact_retry_with_the_same_if_match_replays_its_201() {
    // Postmortem: the precondition was judged before the idempotency key, so the retry of a write that went through met the version that write had moved and got 412: a client that lost the answer could never learn its write landed.
    let (_d, l, t, app) = ledger();
    let tag = send(&app, Method::GET, "/api/plans/p", None, &[], "").await.header("etag").to_string();
    let body = with_meta(r#"{"text":"改めた本文"}"#).to_string();
    let headers = [("if-match", tag.as_str()), ("idempotency-key", "text-0001")];
    let first = send(&app, Method::POST, "/api/nodes/p.g.a/text", Some(&t.editor), &headers, &body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let after = head(&l);
    let again = send(&app, Method::POST, "/api/nodes/p.g.a/text", Some(&t.editor), &headers, &body).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text());
    assert_eq!(again.header("idempotent-replayed"), "true");
    assert_eq!(again.body, first.body);
    assert_eq!(head(&l), after);
    // A new request with the stale tag is still refused.
    let other = with_meta(r#"{"text":"別の本文"}"#).to_string();
    let stale = send(&app, Method::POST, "/api/nodes/p.g.a/text", Some(&t.editor), &[("if-match", &tag)], &other).await;
    stale.problem(StatusCode::PRECONDITION_FAILED, "If-Match");
    // The same holds for the library's own keys.
    let key = Some(IdempotencyKey::new("", "lib-1"));
    let rename = Command::RenameNode { node: "p.g.a".into(), code: None, title: Some("改名".into()) };
    let req = AppendRequest::new(vec![rename], meta(None)).expecting(Some(after_version(&l))).with_key(key);
    let one = tokio::task::block_in_place(|| l.append_blocking(req.clone())).unwrap();
    let two = tokio::task::block_in_place(|| l.append_blocking(req)).unwrap();
    assert!(two.replayed && one.events == two.events);
    close(l);
}

fn after_version(l: &Ledger) -> u64 {
    l.read().state.plans.values().find(|p| p.id.as_str() == "p").unwrap().version
}

#[test]
fn warm_rebuilds_a_damaged_cached_state() {
    // Postmortem: `warm` continued each plan's seq axis from its last cached state, so a damaged one in the middle stayed a hole and answers there replayed events although the cache was "warm".
    use planledger::core::domain::PlanId;
    use planledger::core::projection::Point;
    use planledger::store::CachePos;
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path()).unwrap();
    l.set_cache_every(1);
    append(&l, create_plan("p")).unwrap();
    for i in 0..3 {
        append(&l, crate::support::add_node("p", &format!("p.n{i}"))).unwrap();
    }
    l.warm().unwrap();
    l.plant_cache_entry("p", CachePos::Seq(1), b"PLSN garbage").unwrap();
    l.warm().unwrap();
    let p = PlanId::new("p").unwrap();
    for s in 0..4 {
        assert_eq!(l.plan_at(&p, Some(Point::Seq(s))).unwrap().replayed, 0, "seq {s}");
    }
    l.close();
}

#[test]
fn the_reference_chain_script_is_as_strict_as_the_binary() {
    // Postmortem: FORMAT.md's §9 script checked canonical form with `json.dumps(json.loads(…))`, which reads `"v":1.0`, full-width digits and hour 24 as fine, so an auditor's own verifier passed records the binary refuses.
    let s = crate::scripts::Scripts::new();
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(&dir.path().join("data")).unwrap();
    append(&l, create_plan("p")).unwrap();
    let line = String::from_utf8(l.read_events(0, 1).unwrap().remove(0).1).unwrap();
    l.close();
    let recorded = line.split("\"recorded_at\":\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let hour24 = format!("{}T24:00:00.000000Z", &recorded[..10]);
    let fullwidth = recorded.replacen(&recorded[..1], "２", 1);
    for forged in [
        line.replacen("{\"v\":1,", "{\"v\":1.0,", 1),
        line.replace(&recorded, &hour24),
        line.replace(&recorded, &fullwidth),
    ] {
        assert_ne!(forged, line);
        let path = dir.path().join("forged.jsonl");
        std::fs::write(&path, format!("{forged}\n")).unwrap();
        let p = path.to_str().unwrap();
        let script = s.run("verify_chain.py", &[p]);
        let ours = Process::new(bin()).args(["verify", "--file", p]).output().unwrap();
        assert_eq!(ours.status.code(), Some(1), "the binary took {forged}");
        assert_eq!(
            script.status.code(),
            Some(1),
            "the script took {forged}: {}",
            String::from_utf8_lossy(&script.stdout)
        );
        assert!(String::from_utf8_lossy(&script.stderr).contains("first bad event seq 0"), "{forged}");
    }
}

#[test]
fn reopening_at_once_after_a_drop_waits_for_the_store_lock() {
    // Postmortem: a ledger dropped without `close` lets its writer drop the store a moment later, and sled reports the still-held lock as an `Other` I/O error ("could not acquire lock"), so an immediate reopen failed instead of waiting.
    use crate::support::add_node;
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::open(dir.path()).unwrap();
    append(&l, create_plan("p")).unwrap();
    drop(l);
    for i in 0..30 {
        let l = Ledger::open(dir.path()).unwrap();
        append(&l, add_node("p", &format!("n{i}"))).unwrap();
        drop(l);
    }
    let l = Ledger::open(dir.path()).unwrap();
    assert_eq!(l.head().len, 31);
}

#[test]
fn a_previous_value_with_a_misstated_scale_does_not_verify() {
    // Postmortem: a TargetRevised whose `previous` said "3750.0" where the state held "3750" passed verification, because decimals were compared by value alone and not by their scale.
    let (dir, _) = crate::tamper::seeded_ledger();
    let d = dir.path().to_str().unwrap();
    let who = ["--actor", "a", "--reason", "見直し", "--effective", "2016-04-01"];
    let ind = "shinagawa-jisshi-4.6-2-2-1-r1.kpi1";
    let mut args = vec!["--data", d, "target", "set", ind, "2016", "3760"];
    args.extend(who);
    assert!(Process::new(bin()).args(&args).status().unwrap().success());
    let file = dir.path().join("x.jsonl");
    let f = file.to_str().unwrap();
    assert!(Process::new(bin()).args(["--data", d, "export", "--out", f]).status().unwrap().success());
    let text = std::fs::read_to_string(&file).unwrap();
    let last = text.lines().last().unwrap();
    assert!(last.contains(r#""previous":{"kind":"value","value":"3750","comparator":"eq"}"#), "{last}");
    let forged = text
        .replace(r#""previous":{"kind":"value","value":"3750","#, r#""previous":{"kind":"value","value":"3750.0","#);
    std::fs::write(&file, forged).unwrap();
    let (code, err) = verify(&["--file", f]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("first bad event seq {}:", text.lines().count() - 1)), "{err}");
}

#[test]
fn a_closed_stdout_ends_quietly() {
    // Postmortem: output piped into a reader that stops early (`| head`) made the binary panic with a backtrace, since printing to a closed stdout panics in Rust.
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events/01-shinagawa-jisshi-4.jsonl");
    assert!(Process::new(bin()).args(["--data", d, "import", seed.to_str().unwrap()]).status().unwrap().success());
    let mut child = std::process::Command::new(bin())
        .args(["--data", d, "blame", "shinagawa-jisshi-4"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    // The reader is dropped here: the rest of the output hits a closed pipe.
    let out = child.wait_with_output().unwrap();
    assert!(first.contains("shinagawa-jisshi-4"), "{first}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(141));
}

#[test]
fn regression_clock_jump_poisons_later_records() {
    // Postmortem: the writer dated each batch max(system clock, last recorded_at), so one forward jump of the clock dated every later record at that future instant, after a restart at the right time too, and no `as_of` query before it saw them.
    use crate::clock::{Clocks, add, nodes_as_of, secs, t0};
    let dir = tempfile::tempdir().unwrap();
    let clocks = Clocks::new(t0());
    let l = Ledger::open_with(dir.path(), clocks.options()).unwrap();
    append(&l, create_plan("p")).unwrap();
    clocks.set(t0() + chrono::TimeDelta::days(365), 5);
    assert_eq!(add(&l, "p.a").unwrap(), t0() + secs(5), "the jump is not followed");
    clocks.set(t0() + secs(10), 10);
    assert_eq!(add(&l, "p.b").unwrap(), t0() + secs(10), "the clock is followed again");
    l.close();
    let clocks = Clocks::new(t0() + secs(60));
    let l = Ledger::open_with(dir.path(), clocks.options()).unwrap();
    assert_eq!(add(&l, "p.c").unwrap(), t0() + secs(60), "after a restart too");
    assert_eq!(nodes_as_of(&l, t0() + secs(60)), ["p.a", "p.b", "p.c"]);
    assert_eq!(nodes_as_of(&l, t0() + secs(9)), ["p.a"]);
    l.close();
}

/// The footer's event count and the newest change a page lists, while another thread appends.
fn footer_events(page: &str) -> u64 {
    let end = page.find(" 件の変更（events）").expect("a footer");
    let digits: String = page[..end].chars().rev().take_while(char::is_ascii_digit).collect();
    digits.chars().rev().collect::<String>().parse().unwrap()
}

mod disk;
mod fuzzed;
