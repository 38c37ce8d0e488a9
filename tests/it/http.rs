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

pub(crate) const SHINAGAWA: &str = "shinagawa-jisshi-4";
pub(crate) const KPI: &str = "shinagawa-jisshi-4.6-1-1-2-r3.kpi1";

pub(crate) fn events_dir() -> PathBuf {
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

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    pub(crate) fn header(&self, name: header::HeaderName) -> &str {
        self.headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
    }

    /// Checks that this is a problem document with `status` naming `field`.
    pub(crate) fn problem(&self, status: StatusCode, field: Option<&str>) -> serde_json::Value {
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

pub(crate) async fn get_with(app: &Router, uri: &str, etag: Option<&str>) -> Answer {
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

pub(crate) async fn get(app: &Router, uri: &str) -> Answer {
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
