//! The HTTP API's reads, problems, ETags and live feed, through the router (`oneshot`) and through the real
//! binary on a socket.

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use planledger::core::audit::{ConsistencyProof, InclusionProof};
use planledger::core::domain::Command;
use planledger::core::record::split_lines;
use planledger::store::ledger::{Ledger, verify_dir};
use tokio_stream::StreamExt;
use tower::ServiceExt;

use crate::support::{add_node, create_plan, define, req, set_target};

const SHINAGAWA: &str = "shinagawa-jisshi-4";
const KPI: &str = "shinagawa-jisshi-4.6-1-1-2-r3.kpi1";

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("events")
}

pub(crate) fn seed_lines() -> Vec<Vec<u8>> {
    let mut files: Vec<_> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files.iter().flat_map(|f| split_lines(&std::fs::read(f).unwrap()).unwrap()).collect()
}

pub(crate) async fn seeded(dir: &std::path::Path) -> Ledger {
    let l = Ledger::create(dir, Some("planledger.test/http")).unwrap();
    l.import(seed_lines()).await.unwrap();
    l
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: header::HeaderName) -> &str {
        self.headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
    }

    /// Checks that this is a problem document with `status` naming `field`.
    fn problem(&self, status: StatusCode, field: Option<&str>) -> serde_json::Value {
        assert_eq!(self.status, status, "{}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.header(header::CONTENT_TYPE), "application/problem+json");
        let p = self.json();
        assert_eq!(p["status"], status.as_u16());
        assert_eq!(p["field"].as_str(), field, "{p}");
        for k in ["type", "title", "detail", "instance", "request_id"] {
            assert!(p[k].as_str().is_some_and(|s| !s.is_empty()), "{k} missing in {p}");
        }
        assert_eq!(p["request_id"].as_str(), Some(self.header(header::HeaderName::from_static("x-request-id"))));
        p
    }
}

async fn get_with(app: &Router, uri: &str, etag: Option<&str>) -> Answer {
    let mut r = Request::get(uri);
    if let Some(t) = etag {
        r = r.header(header::IF_NONE_MATCH, t);
    }
    let res = app.clone().oneshot(r.body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap().to_vec();
    Answer { status, headers, body }
}

async fn get(app: &Router, uri: &str) -> Answer {
    get_with(app, uri, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_answer_what_the_library_computes() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = seeded(dir.path()).await;
    let app = planledger::web::app(ledger.clone());

    let plans = get(&app, "/api/plans").await;
    assert_eq!(plans.status, StatusCode::OK);
    let listed = plans.json();
    let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 5);
    assert!(ids.contains(&SHINAGAWA));

    let now = get(&app, &format!("/api/plans/{SHINAGAWA}")).await;
    assert_eq!(now.status, StatusCode::OK);
    let view = now.json();
    assert_eq!(view["plan"]["id"], SHINAGAWA);
    let state_version = ledger.read().state.plans.values().find(|p| p.id.as_str() == SHINAGAWA).unwrap().version;
    assert_eq!(view["plan"]["version"], state_version);

    let versions = get(&app, &format!("/api/plans/{SHINAGAWA}/versions")).await.json();
    let first = versions[0].clone();
    let (vname, vseq) = (first["name"].as_str().unwrap().to_string(), first["seq"].as_u64().unwrap());
    let by_name = get(&app, &format!("/api/plans/{SHINAGAWA}?version={}", urlencode(&vname))).await;
    let by_seq = get(&app, &format!("/api/plans/{SHINAGAWA}?at={vseq}")).await;
    assert_eq!(by_name.status, StatusCode::OK);
    assert_eq!(by_name.json(), by_seq.json());
    assert_eq!(by_name.header(header::ETAG), by_seq.header(header::ETAG), "one point, one tag");

    // Before the plan's first event it did not exist.
    let first_seq = ledger.records_for(&crate::support::entity(&format!("plan:{SHINAGAWA}"))).unwrap()[0].seq.0;
    if first_seq > 0 {
        get(&app, &format!("/api/plans/{SHINAGAWA}?at={}", first_seq - 1))
            .await
            .problem(StatusCode::NOT_FOUND, Some("plan"));
    }
    let eff = get(&app, &format!("/api/plans/{SHINAGAWA}?effective=2017")).await;
    assert_eq!(eff.status, StatusCode::OK);
    let asof = get(&app, &format!("/api/plans/{SHINAGAWA}?as_of=2999-01-01T00:00:00Z")).await;
    assert_eq!(asof.json(), view);

    let d = get(&app, &format!("/api/plans/{SHINAGAWA}/diff?from={vseq}&to=now")).await;
    assert_eq!(d.status, StatusCode::OK);
    let expect = planledger::core::projection::diff(
        &ledger.records_for(&crate::support::entity(&format!("plan:{SHINAGAWA}"))).unwrap(),
        &planledger::core::domain::PlanId::new(SHINAGAWA).unwrap(),
        Some(planledger::core::projection::Point::Seq(vseq)),
        None,
    );
    assert_eq!(d.json(), serde_json::to_value(&expect).unwrap());

    let b = get(&app, &format!("/api/plans/{SHINAGAWA}/blame?at={vseq}")).await;
    assert_eq!(b.status, StatusCode::OK);
    assert!(!b.json().as_array().unwrap().is_empty());

    let ind = get(&app, &format!("/api/indicators/{KPI}")).await;
    assert_eq!(ind.status, StatusCode::OK);
    assert_eq!(ind.json()["id"], KPI);
    let h = get(&app, &format!("/api/indicators/{KPI}/history")).await.json();
    assert!(h.as_array().unwrap().len() >= 2, "defined and revised: {h}");
    let node = ind.json()["node"].as_str().unwrap().to_string();
    let nh = get(&app, &format!("/api/nodes/{node}/history")).await;
    assert_eq!(nh.status, StatusCode::OK);
    assert!(!nh.json().as_array().unwrap().is_empty());

    let note = get(&app, "/api/checkpoint").await;
    assert_eq!(note.header(header::CONTENT_TYPE), "text/plain; charset=utf-8");
    assert_eq!(String::from_utf8(note.body.clone()).unwrap(), ledger.checkpoint());

    let len = ledger.head().len;
    let inc: InclusionProof = serde_json::from_slice(&get(&app, "/api/proof/inclusion?seq=3").await.body).unwrap();
    assert_eq!(inc.tree_size, len);
    // Verified against the roots the ledger signs, never the ones the answers carry.
    let root = |n: u64| ledger.root(n).unwrap();
    inc.verify_against(len, &root(len)).unwrap();
    let con: ConsistencyProof =
        serde_json::from_slice(&get(&app, &format!("/api/proof/consistency?from=10&to={len}")).await.body).unwrap();
    con.verify_between((10, &root(10)), (len, &root(len))).unwrap();

    let export = get(&app, "/api/export").await;
    assert_eq!(export.status, StatusCode::OK);
    let mut expect = Vec::new();
    for l in seed_lines() {
        expect.extend(l);
        expect.push(b'\n');
    }
    assert!(export.body == expect, "the export is the seed files byte for byte");
    ledger.close();
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_paged_raw_lines() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = seeded(dir.path()).await;
    let app = planledger::web::app(ledger.clone());
    let lines = seed_lines();
    let page = get(&app, "/api/events?limit=2").await;
    assert_eq!(page.header(header::CONTENT_TYPE), "application/jsonl");
    assert_eq!(page.body, [&lines[0][..], b"\n", &lines[1][..], b"\n"].concat());
    assert_eq!(page.header(header::LINK), "</api/events?after=1&limit=2>; rel=\"next\"");
    let next = get(&app, "/api/events?after=1&limit=1").await;
    assert_eq!(next.body, [&lines[2][..], b"\n"].concat());
    let last = get(&app, &format!("/api/events?after={}", lines.len() - 2)).await;
    assert_eq!(last.body, [&lines[lines.len() - 1][..], b"\n"].concat());
    assert_eq!(last.header(header::LINK), "", "no next page after the head");
    let past = get(&app, &format!("/api/events?after={}", lines.len() + 5)).await;
    assert_eq!((past.status, past.body.len()), (StatusCode::OK, 0));
    get(&app, "/api/events?limit=0").await.problem(StatusCode::BAD_REQUEST, Some("limit"));
    get(&app, "/api/events?limit=100000").await.problem(StatusCode::BAD_REQUEST, Some("limit"));
    get(&app, "/api/events?after=-1").await.problem(StatusCode::BAD_REQUEST, Some("after"));
    ledger.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_are_400_and_unknown_ids_404_as_problems() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = seeded(dir.path()).await;
    let app = planledger::web::app(ledger.clone());
    let p = format!("/api/plans/{SHINAGAWA}");
    get(&app, "/api/plans/no-such-plan").await.problem(StatusCode::NOT_FOUND, Some("plan"));
    get(&app, "/api/plans/no-such-plan/versions").await.problem(StatusCode::NOT_FOUND, Some("plan"));
    get(&app, "/api/plans/%E2%80%A8bad%20id/blame").await.problem(StatusCode::NOT_FOUND, Some("plan"));
    get(&app, "/api/indicators/nope").await.problem(StatusCode::NOT_FOUND, Some("id"));
    get(&app, "/api/indicators/nope/history").await.problem(StatusCode::NOT_FOUND, Some("id"));
    get(&app, "/api/nodes/nope/history").await.problem(StatusCode::NOT_FOUND, Some("id"));
    get(&app, &format!("{p}?at=abc")).await.problem(StatusCode::BAD_REQUEST, Some("at"));
    get(&app, &format!("{p}?as_of=yesterday")).await.problem(StatusCode::BAD_REQUEST, Some("as_of"));
    get(&app, &format!("{p}?effective=someday")).await.problem(StatusCode::BAD_REQUEST, Some("effective"));
    get(&app, &format!("{p}?version=nope")).await.problem(StatusCode::NOT_FOUND, Some("version"));
    get(&app, &format!("{p}?at=1&version=x")).await.problem(StatusCode::BAD_REQUEST, Some("at,version"));
    get(&app, &format!("{p}/diff?from=1")).await.problem(StatusCode::BAD_REQUEST, Some("to"));
    get(&app, &format!("{p}/diff?from=as-of:xx&to=now")).await.problem(StatusCode::BAD_REQUEST, Some("from"));
    get(&app, &format!("{p}/blame?effective=x")).await.problem(StatusCode::BAD_REQUEST, Some("effective"));
    get(&app, "/api/proof/inclusion").await.problem(StatusCode::BAD_REQUEST, Some("seq"));
    get(&app, "/api/proof/inclusion?seq=99999").await.problem(StatusCode::BAD_REQUEST, Some("seq"));
    get(&app, "/api/proof/inclusion?seq=1&size=99999").await.problem(StatusCode::BAD_REQUEST, Some("size"));
    get(&app, "/api/proof/consistency?from=5&to=3").await.problem(StatusCode::BAD_REQUEST, Some("from"));
    get(&app, "/api/proof/consistency?from=5&to=99999").await.problem(StatusCode::BAD_REQUEST, Some("to"));
    get(&app, "/api/proof/consistency?from=5").await.problem(StatusCode::BAD_REQUEST, Some("to"));
    get(&app, "/api/events/stream?after=x").await.problem(StatusCode::BAD_REQUEST, Some("after"));
    let nf = get(&app, "/api/nothing-here").await.problem(StatusCode::NOT_FOUND, Some("path"));
    assert_eq!(nf["instance"], "/api/nothing-here");
    // Made by the router, not a handler: still a problem document.
    let post = app.clone().oneshot(Request::delete("/api/plans").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.headers()[header::CONTENT_TYPE], "application/problem+json");
    let big = app
        .clone()
        .oneshot(
            Request::get("/api/plans")
                .header(header::CONTENT_LENGTH, 1 << 20)
                .body(Body::from(vec![b'x'; 1 << 20]))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(big.headers()[header::CONTENT_TYPE], "application/problem+json");
    ledger.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etags_answer_304_until_the_resource_changes() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = seeded(dir.path()).await;
    let app = planledger::web::app(ledger.clone());
    let uris = [
        "/api/plans".to_string(),
        format!("/api/plans/{SHINAGAWA}"),
        format!("/api/plans/{SHINAGAWA}?at=100"),
        format!("/api/plans/{SHINAGAWA}/versions"),
        format!("/api/plans/{SHINAGAWA}/diff?from=100&to=now"),
        format!("/api/plans/{SHINAGAWA}/blame"),
        format!("/api/indicators/{KPI}"),
        format!("/api/indicators/{KPI}/history"),
        "/api/events?after=3&limit=5".to_string(),
        "/api/checkpoint".to_string(),
        "/api/proof/inclusion?seq=3&size=50".to_string(),
        "/api/proof/consistency?from=3&to=50".to_string(),
        "/api/export".to_string(),
    ];
    let mut tags = Vec::new();
    for u in &uris {
        let a = get(&app, u).await;
        assert_eq!(a.status, StatusCode::OK, "{u}");
        let tag = a.header(header::ETAG).to_string();
        assert!(tag.starts_with('"') && tag.len() > 2, "{u}: {tag:?}");
        let again = get_with(&app, u, Some(&tag)).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{u}");
        assert_eq!(again.header(header::ETAG), tag);
        assert!(again.body.is_empty());
        assert_eq!(get_with(&app, u, Some("\"stale\"")).await.status, StatusCode::OK, "{u}");
        tags.push(tag);
    }
    // A change to the plan: every tag that depends on it changes; fixed ranges and proofs keep theirs.
    ledger
        .append(req(vec![Command::SetTarget {
            indicator: KPI.into(),
            fiscal_year: "2016".into(),
            target: "70以上".into(),
        }]))
        .await
        .unwrap();
    let fixed =
        ["/api/events?after=3&limit=5", "/api/proof/inclusion?seq=3&size=50", "/api/proof/consistency?from=3&to=50"];
    for (u, tag) in uris.iter().zip(&tags) {
        let a = get_with(&app, u, Some(tag)).await;
        let want = if fixed.contains(&u.as_str()) { StatusCode::NOT_MODIFIED } else { StatusCode::OK };
        assert_eq!(a.status, want, "{u}");
    }
    ledger.close();
}

/// One SSE event as a mirror reads it: its id and data.
fn parse_sse(buf: &mut String, out: &mut Vec<(u64, String)>) {
    while let Some(end) = buf.find("\n\n") {
        let block: String = buf.drain(..end + 2).collect();
        let (mut id, mut data, mut kind) = (None, None, None);
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("id:") {
                id = Some(v.trim().parse::<u64>().unwrap());
            } else if let Some(v) = line.strip_prefix("data:") {
                data = Some(v.strip_prefix(' ').unwrap_or(v).to_string());
            } else if let Some(v) = line.strip_prefix("event:") {
                kind = Some(v.trim().to_string());
            }
        }
        if let (Some(id), Some(data)) = (id, data) {
            assert_eq!(kind.as_deref(), Some(planledger::web::api::stream::EVENT_TYPE));
            out.push((id, data));
        }
    }
}

/// Follows the feed from `after` until `stop_at` events have arrived in total (or `max` in this connection), and
/// imports each into `mirror`. Returns the last seq seen.
async fn follow(app: &Router, mirror: &Ledger, after: Option<u64>, stop_at: u64, max: usize) -> Option<u64> {
    let uri = after.map_or_else(|| "/api/events/stream".to_string(), |a| format!("/api/events/stream?after={a}"));
    let res = app.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = res.into_body().into_data_stream();
    let (mut buf, mut got, mut last) = (String::new(), Vec::new(), after);
    let mut taken = 0;
    while mirror.head().len < stop_at && taken < max {
        let chunk = tokio::time::timeout(Duration::from_secs(30), body.next()).await.expect("the feed stalled");
        let chunk = chunk.expect("the feed ended").unwrap();
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        parse_sse(&mut buf, &mut got);
        for (seq, line) in got.drain(..) {
            let expected = last.map_or(0, |l| l + 1);
            assert_eq!(seq, expected, "the feed skipped or reordered");
            mirror.import(vec![line.into_bytes()]).await.unwrap();
            last = Some(seq);
            taken += 1;
            if taken >= max {
                break;
            }
        }
    }
    // Dropping the body is the client going away.
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_resumes_after_the_last_event_id_header() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = seeded(dir.path()).await;
    let app = planledger::web::app(ledger.clone());
    let lines = seed_lines();
    let n = lines.len() as u64;
    // EventSource repeats its first URL on reconnect; the header says where it really is.
    let res = app
        .clone()
        .oneshot(
            Request::get("/api/events/stream?after=0")
                .header("last-event-id", (n - 2).to_string())
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let mut body = res.into_body().into_data_stream();
    let (mut buf, mut got) = (String::new(), Vec::new());
    while got.is_empty() {
        let chunk = tokio::time::timeout(Duration::from_secs(30), body.next()).await.unwrap().unwrap().unwrap();
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        parse_sse(&mut buf, &mut got);
    }
    assert_eq!(got[0], (n - 1, String::from_utf8(lines[n as usize - 1].clone()).unwrap()));
    ledger.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mirror_following_the_feed_ends_with_the_identical_ledger() {
    let src_dir = tempfile::tempdir().unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let source = Ledger::create(src_dir.path(), Some("planledger.test/feed")).unwrap();
    source.append(req(vec![create_plan("p"), add_node("p", "p.1"), define("p.1.k", "p.1")])).await.unwrap();
    let app = planledger::web::app(source.clone());
    let mirror = Ledger::create(mirror_dir.path(), Some("planledger.test/mirror")).unwrap();

    // The mirror catches up with what is there before any writer starts, and goes away.
    let mut last = follow(&app, &mirror, None, 3, 3).await;
    assert_eq!(last, Some(2));
    // Writers append while the mirror follows; each target value is distinct so every append is a change.
    const WRITERS: u64 = 3;
    const EACH: u64 = 40;
    let total = 3 + WRITERS * EACH;
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let l = source.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..EACH {
                let year = ["2016", "2017", "2018"][w as usize];
                l.append(req(vec![set_target("p.1.k", year, &format!("{}", w * 1000 + i + 1))])).await.unwrap();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }));
    }
    // The mirror disconnects twice mid-stream and resumes from its last seq.
    last = follow(&app, &mirror, last, total, 25).await;
    last = follow(&app, &mirror, last, total, 40).await;
    last = follow(&app, &mirror, last, total, usize::MAX).await;
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(last, Some(total - 1));
    assert_eq!(mirror.head(), source.head());
    let all = |l: &Ledger| l.read_events(0, u64::MAX).unwrap();
    assert!(all(&mirror) == all(&source), "the mirror holds the identical events");
    source.close();
    mirror.close();
    verify_dir(mirror_dir.path()).unwrap();
}

#[test]
fn serve_loads_the_seeds_answers_on_a_socket_and_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = std::process::Command::new(crate::support::bin())
        .args(["serve", "--addr", "127.0.0.1:0", "--seeds"])
        .arg(events_dir().join("seeds.toml"))
        .arg("--data")
        .arg(&data)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut url = None;
    let mut printed = String::new();
    for _ in 0..5 {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        printed.push_str(&line);
        if let Some(u) = line.split_whitespace().find(|w| w.starts_with("http://")) {
            url = Some(u.to_string());
            break;
        }
    }
    let url = url.unwrap_or_else(|| panic!("no URL printed: {printed}"));
    assert!(printed.contains("577 events"), "{printed}");
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(s, "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.to_ascii_lowercase().contains("x-request-id:"), "{resp}");
    assert!(resp.contains(SHINAGAWA), "{resp}");

    // A live feed client at the head is waiting for events when the signal comes: shutdown ends its stream
    // instead of waiting out the grace period for it.
    let mut feed = std::net::TcpStream::connect(host).unwrap();
    write!(feed, "GET /api/events/stream?after=576 HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
    let mut feed = BufReader::new(feed);
    let mut first = String::new();
    feed.read_line(&mut first).unwrap();
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");

    let status = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let start = std::time::Instant::now();
    let code = loop {
        if let Some(c) = child.try_wait().unwrap() {
            break c;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(code.success(), "exit {code:?}");
    assert!(
        start.elapsed() < planledger::web::SHUTDOWN_GRACE,
        "the open feed held shutdown up for {:?}",
        start.elapsed()
    );
    let mut rest = String::new();
    feed.read_to_string(&mut rest).unwrap();
    assert!(!rest.lines().any(|l| l.starts_with("id:")), "no event after the head: {rest}");
    let report = verify_dir(&data).unwrap();
    assert_eq!(report.summary.count, 577);

    // A token made at the console while the server is down.
    let made = std::process::Command::new(crate::support::bin())
        .args(["token", "create", "--name", "office-admin", "--role", "admin", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let secret = String::from_utf8(made.stdout).unwrap().trim().to_string();

    // A second start finds the ledger and imports nothing.
    let mut again = std::process::Command::new(crate::support::bin())
        .args(["serve", "--addr", "127.0.0.1:0", "--seeds", "/nonexistent/seeds.toml", "--data"])
        .arg(&data)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(again.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.contains("http://"), "{line}");
    let host = line.split_whitespace().find_map(|w| w.strip_prefix("http://")).unwrap().split('/').next().unwrap();
    let host = host.to_string();

    // Writers append over the socket; SIGTERM comes while their requests are in flight. Every write the server
    // acknowledged is in the ledger afterwards, and the ledger verifies.
    let node = "shinagawa-jisshi-4.6-1-1-2-r3";
    let writers: Vec<_> = (0..6)
        .map(|i| {
            let (host, secret) = (host.clone(), secret.clone());
            std::thread::spawn(move || {
                let mut acked = 0u64;
                // Until the server stops taking connections: the signal comes in the middle of this.
                for j in 0..2000 {
                    let body =
                        format!("{{\"text\":\"本文 {i}-{j}\",\"reason\":\"負荷\",\"effective\":\"2017-04-01\"}}");
                    let Ok(mut s) = std::net::TcpStream::connect(&host) else { break };
                    let sent = write!(
                        s,
                        "POST /api/nodes/{node}/text HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {secret}\r\n\
                         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let mut resp = String::new();
                    if sent.is_err() || s.read_to_string(&mut resp).is_err() {
                        break;
                    }
                    if resp.starts_with("HTTP/1.1 201") {
                        acked += 1;
                    } else if !resp.is_empty() {
                        assert!(resp.starts_with("HTTP/1.1 503"), "{resp}");
                    }
                }
                acked
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    std::process::Command::new("kill").args(["-TERM", &again.id().to_string()]).status().unwrap();
    assert!(again.wait().unwrap().success());
    let acked: u64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(acked > 0, "no write got through before the signal");
    assert!(acked < 6 * 2000, "the signal came after every write");
    assert_eq!(verify_dir(&data).unwrap().summary.count, 577 + acked, "an acknowledged write is missing");
}

#[test]
fn serve_refuses_a_broken_seed_and_leaves_no_ledger_behind() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = dir.path().join("seeds.toml");
    std::fs::write(&seeds, "[[seed]]\nsource = \"x.toml\"\nledger = \"bad.jsonl\"\n").unwrap();
    std::fs::write(dir.path().join("bad.jsonl"), "{\"not\":\"an event\"}\n").unwrap();
    let data = dir.path().join("data");
    let out = std::process::Command::new(crate::support::bin())
        .args(["serve", "--addr", "127.0.0.1:0", "--seeds"])
        .arg(&seeds)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!data.exists(), "the failed seed left {}", data.display());
}

/// The schema a `$ref` names, from the document's components.
fn resolve<'a>(doc: &'a serde_json::Value, r: &str) -> &'a serde_json::Value {
    let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected $ref {r}"));
    let s = &doc["components"]["schemas"][name];
    assert!(s.is_object(), "{r} is not in the components");
    s
}

/// A small JSON Schema check for the parts of the document's schemas the answers depend on: `$ref`, `allOf`,
/// `oneOf`/`anyOf`, `type` (one or a list), `enum`, `required`, `properties` and `items`.
fn conforms(
    doc: &serde_json::Value,
    schema: &serde_json::Value,
    v: &serde_json::Value,
    at: &str,
) -> Result<(), String> {
    use serde_json::Value;
    if let Some(r) = schema["$ref"].as_str() {
        return conforms(doc, resolve(doc, r), v, at);
    }
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            conforms(doc, s, v, at)?;
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(any) = schema[key].as_array() {
            let errs: Vec<String> = any.iter().filter_map(|s| conforms(doc, s, v, at).err()).collect();
            if errs.len() == any.len() {
                return Err(format!("{at}: matches no alternative of {key}: {}", errs.join("; ")));
            }
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() {
        let ok = types.iter().any(|t| match *t {
            "string" => v.is_string(),
            "integer" => v.is_u64() || v.is_i64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            "null" => v.is_null(),
            other => panic!("unknown type {other}"),
        });
        if !ok {
            return Err(format!("{at}: {v} is not of type {types:?}"));
        }
    }
    if let Some(e) = schema["enum"].as_array()
        && !e.contains(v)
    {
        return Err(format!("{at}: {v} is not one of {e:?}"));
    }
    if let Some(obj) = v.as_object() {
        for k in schema["required"].as_array().into_iter().flatten() {
            let k = k.as_str().unwrap();
            if !obj.contains_key(k) {
                return Err(format!("{at}: required field {k} missing"));
            }
        }
        if let Some(props) = schema["properties"].as_object() {
            for (k, s) in props {
                if let Some(x) = obj.get(k) {
                    conforms(doc, s, x, &format!("{at}.{k}"))?;
                }
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            conforms(doc, items, x, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// Fetches `uri` and checks the answer against what the document says `path` answers with that status: the
/// content type and, for JSON, the body against the schema.
async fn answers_as_documented(app: &Router, doc: &serde_json::Value, path: &str, uri: &str, status: StatusCode) {
    let a = get(app, uri).await;
    assert_eq!(a.status, status, "{uri}: {}", String::from_utf8_lossy(&a.body));
    let response = &doc["paths"][path]["get"]["responses"][status.as_str()];
    let content = response["content"].as_object().unwrap_or_else(|| panic!("{path} {status} has no content"));
    let ct = a.header(header::CONTENT_TYPE).to_string();
    let (_, media) = content.iter().find(|(k, _)| **k == ct).unwrap_or_else(|| panic!("{uri}: {ct} is not documented"));
    if ct.ends_with("json") {
        conforms(doc, &media["schema"], &a.json(), uri).unwrap_or_else(|e| panic!("{e}"));
    }
    if status == StatusCode::OK && path != "/api/events/stream" {
        assert!(response["headers"]["ETag"].is_object(), "{path}: ETag undocumented");
        assert!(!a.header(header::ETAG).is_empty(), "{uri}: no ETag");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_covers_every_route_and_matches_real_answers() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = seeded(dir.path()).await;
    let app = planledger::web::app(ledger.clone());

    let served = get(&app, "/api/openapi.json").await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.header(header::CONTENT_TYPE), "application/json");
    let tag = served.header(header::ETAG).to_string();
    assert_eq!(get_with(&app, "/api/openapi.json", Some(&tag)).await.status, StatusCode::NOT_MODIFIED);
    let doc = served.json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{}", doc["openapi"]);
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");

    // Routes and the document come from one list; every documented operation is routed: asked with placeholder
    // ids, none falls through to the fallback's 404 or gets a 405.
    let routes: Vec<(String, String)> = planledger::web::api::served();
    let pairs: Vec<(&str, &str)> = routes.iter().map(|(m, p)| (m.as_str(), p.as_str())).collect();
    assert!(pairs.len() > 30, "{} operations documented", pairs.len());
    for (method, path) in &pairs {
        let uri: String =
            path.split('/').map(|seg| if seg.starts_with('{') { "zz-none" } else { seg }).collect::<Vec<_>>().join("/");
        let req = Request::builder()
            .method(method.to_uppercase().as_str())
            .uri(&uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is documented but not routed");
        if res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream")) {
            // A live feed never ends: its answering at all shows it is routed.
            continue;
        }
        let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(!text.contains("no resource at this path"), "{method} {path} is documented but not routed: {text}");
    }
    let routes = pairs;

    let problem_ref = serde_json::json!({"$ref": "#/components/schemas/ProblemBody"});
    for &(method, path) in &routes {
        let op = &doc["paths"][path][method];
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        for p in &params {
            assert!(p["description"].as_str().is_some_and(|d| !d.is_empty()), "{path}: {p} has no description");
        }
        for seg in path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))) {
            assert!(
                params.iter().any(|p| p["name"] == seg && p["in"] == "path" && p["required"] == true),
                "{path}: path parameter {seg} undocumented"
            );
        }
        let responses = op["responses"].as_object().unwrap();
        let success = if responses.contains_key("201") { "201" } else { "200" };
        assert!(
            responses[success]["content"].as_object().is_some_and(|c| !c.is_empty()),
            "{path}: {success} has no content"
        );
        for (status, r) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(r["content"]["application/problem+json"]["schema"], problem_ref, "{path} {status}");
            }
        }
        for status in ["408", "500"] {
            assert!(responses.contains_key(status), "{path}: {status} undocumented");
        }
        let admin_only = path.starts_with("/api/tokens");
        if method == "post" || admin_only {
            for status in ["401", "403"] {
                assert!(responses.contains_key(status), "{method} {path}: {status} undocumented");
            }
            assert!(op["security"][0]["bearer"].is_array(), "{method} {path}: the bearer token is undocumented");
        }
        if method == "post" && !admin_only {
            for status in ["400", "404", "412"] {
                assert!(responses.contains_key(status), "{path}: {status} undocumented");
            }
            assert!(params.iter().any(|p| p["name"] == "If-Match" && p["in"] == "header"), "{path}: If-Match");
            let keyed = params.iter().any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header");
            assert_eq!(keyed, !path.ends_with("/restore"), "{path}: Idempotency-Key");
            assert_eq!(responses.contains_key("422"), keyed, "{path}: 422");
            let body = &op["requestBody"]["content"]["application/json"]["schema"];
            assert!(body.is_object(), "{path}: the request body is undocumented");
        }
        if method == "get" && !["/api/events/stream", "/api/tokens"].contains(&path) {
            assert!(responses["304"].is_object(), "{path}: 304 undocumented");
            assert!(
                params.iter().any(|p| p["name"] == "If-None-Match" && p["in"] == "header"),
                "{path}: If-None-Match undocumented"
            );
        }
    }
    let problem = &doc["components"]["schemas"]["ProblemBody"];
    for k in ["type", "title", "status", "detail", "instance", "request_id"] {
        assert!(problem["required"].as_array().unwrap().contains(&serde_json::json!(k)), "{k} not required");
    }

    // Real answers against their documented schemas.
    let vseq = get(&app, &format!("/api/plans/{SHINAGAWA}/versions")).await.json()[0]["seq"].as_u64().unwrap();
    let node = ledger.read().state.nodes.keys().next().unwrap().to_string();
    let ok = StatusCode::OK;
    for (path, uri) in [
        ("/api/plans", "/api/plans".to_string()),
        ("/api/plans/{plan}", format!("/api/plans/{SHINAGAWA}")),
        ("/api/plans/{plan}", format!("/api/plans/{SHINAGAWA}?at={vseq}")),
        ("/api/plans/{plan}/versions", format!("/api/plans/{SHINAGAWA}/versions")),
        ("/api/plans/{plan}/diff", format!("/api/plans/{SHINAGAWA}/diff?from={vseq}&to=now")),
        ("/api/plans/{plan}/diff", format!("/api/plans/{SHINAGAWA}/diff?from=2017-04-01&to=now")),
        ("/api/plans/{plan}/blame", format!("/api/plans/{SHINAGAWA}/blame")),
        ("/api/indicators/{id}", format!("/api/indicators/{KPI}")),
        ("/api/indicators/{id}/history", format!("/api/indicators/{KPI}/history")),
        ("/api/nodes/{id}/history", format!("/api/nodes/{node}/history")),
        ("/api/events", "/api/events?limit=3".to_string()),
        ("/api/checkpoint", "/api/checkpoint".to_string()),
        ("/api/proof/inclusion", "/api/proof/inclusion?seq=1".to_string()),
        ("/api/proof/consistency", "/api/proof/consistency?from=1&to=3".to_string()),
        ("/api/export", "/api/export".to_string()),
        ("/api/openapi.json", "/api/openapi.json".to_string()),
    ] {
        answers_as_documented(&app, &doc, path, &uri, ok).await;
    }
    for (path, uri, status) in [
        ("/api/plans/{plan}", "/api/plans/nope".to_string(), StatusCode::NOT_FOUND),
        ("/api/plans/{plan}", format!("/api/plans/{SHINAGAWA}?at=x"), StatusCode::BAD_REQUEST),
        ("/api/plans/{plan}/diff", format!("/api/plans/{SHINAGAWA}/diff?from=1"), StatusCode::BAD_REQUEST),
        ("/api/indicators/{id}", "/api/indicators/nope".to_string(), StatusCode::NOT_FOUND),
        ("/api/nodes/{id}/history", "/api/nodes/nope/history".to_string(), StatusCode::NOT_FOUND),
        ("/api/events", "/api/events?limit=0".to_string(), StatusCode::BAD_REQUEST),
        ("/api/events/stream", "/api/events/stream?after=x".to_string(), StatusCode::BAD_REQUEST),
        ("/api/proof/consistency", "/api/proof/consistency?from=1".to_string(), StatusCode::BAD_REQUEST),
    ] {
        answers_as_documented(&app, &doc, path, &uri, status).await;
    }

    // The live feed: only its head, as the stream does not end.
    let res = app.clone().oneshot(Request::get("/api/events/stream").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let ct = res.headers()[header::CONTENT_TYPE].to_str().unwrap().to_string();
    assert!(doc["paths"]["/api/events/stream"]["get"]["responses"]["200"]["content"][&ct].is_object(), "{ct}");

    // The check itself refuses what the schemas do not allow.
    let view = get(&app, &format!("/api/plans/{SHINAGAWA}")).await.json();
    let schema = serde_json::json!({"$ref": "#/components/schemas/PlanView"});
    conforms(&doc, &schema, &view, "view").unwrap();
    let mut wrong = view.clone();
    wrong["plan"]["version"] = serde_json::json!("3");
    assert!(conforms(&doc, &schema, &wrong, "view").is_err());
    let mut wrong = view.clone();
    wrong.as_object_mut().unwrap().remove("nodes");
    assert!(conforms(&doc, &schema, &wrong, "view").is_err());
    // A plan value is a decimal string, never a number.
    let mut ind = get(&app, &format!("/api/indicators/{KPI}")).await.json();
    let schema = serde_json::json!({"$ref": "#/components/schemas/IndicatorView"});
    conforms(&doc, &schema, &ind, "indicator").unwrap();
    let row = ind["series"].as_array_mut().unwrap().iter_mut().find(|r| r["target"]["kind"] == "value").unwrap();
    assert!(row["target"]["value"].is_string());
    row["target"]["value"] = serde_json::json!(60);
    assert!(conforms(&doc, &schema, &ind, "indicator").is_err());
}
