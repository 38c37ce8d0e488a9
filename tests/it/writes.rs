//! The HTTP write endpoints: every endpoint × every role (allowed, refused, and the ledger unchanged by a refusal),
//! the actor taken from the token, If-Match, Idempotency-Key, bad bodies, token management and atomic batches.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use planledger::core::domain::{Command, Role};
use planledger::store::Head;
use planledger::store::ledger::Ledger;
use planledger::store::tokens::TokenSpec;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::{add_node, create_plan, define, req, set_target};

pub const ROAD: &str = "道路課";
pub const PARK: &str = "公園課";

/// A plan with a goal (no department) over two symmetric branches: `a` of 道路課 and `b` of 公園課. Each branch has a
/// node with a milestone, a retired sibling, an indicator with baseline, target and actual, a retired indicator,
/// and a 再掲 under the other branch. Version `v1` is named before each branch's text and target are revised.
pub(crate) fn fixture(l: &Ledger) {
    let mut cs = vec![
        create_plan("p"),
        Command::AddNode {
            plan: "p".into(),
            node: "p.g".into(),
            parent: None,
            order: None,
            code: "1".into(),
            title: "基本目標".into(),
            text: String::new(),
            details: vec![],
            departments: vec![],
        },
        Command::AddNode {
            plan: "p".into(),
            node: "p.h".into(),
            parent: None,
            order: None,
            code: "2".into(),
            title: "横断的な取組".into(),
            text: String::new(),
            details: vec![],
            departments: vec![],
        },
    ];
    for (x, dept) in [("a", ROAD), ("b", PARK)] {
        let node = |id: String| Command::AddNode {
            plan: "p".into(),
            node: id,
            parent: Some("p.g".into()),
            order: None,
            code: format!("1-{x}"),
            title: format!("施策{x}"),
            text: "当初".into(),
            details: vec![],
            departments: vec![dept.into()],
        };
        cs.extend([
            node(format!("p.g.{x}")),
            node(format!("p.g.{x}2")),
            node(format!("p.g.{x}3")),
            Command::RetireNode { node: format!("p.g.{x}2") },
            define(&format!("p.g.{x}.k"), &format!("p.g.{x}")),
            define(&format!("p.g.{x}.k2"), &format!("p.g.{x}")),
            Command::RetireIndicator { indicator: format!("p.g.{x}.k2") },
            Command::SetBaseline {
                indicator: format!("p.g.{x}.k"),
                value: "5".into(),
                fiscal_year: "2016".into(),
                note: String::new(),
            },
            set_target(&format!("p.g.{x}.k"), "2017", "10"),
            Command::ReportProgress {
                indicator: format!("p.g.{x}.k"),
                fiscal_year: "2017".into(),
                value: "8".into(),
                as_of: None,
                note: String::new(),
            },
            Command::SetMilestone { node: format!("p.g.{x}"), fiscal_year: "2017".into(), text: "着手".into() },
        ]);
    }
    cs.push(Command::CrossListNode { node: "p.g.a".into(), under: "p.g.b".into() });
    cs.push(Command::CrossListNode { node: "p.g.b".into(), under: "p.g.a".into() });
    cs.push(Command::CrossListNode { node: "p.g.a".into(), under: "p.h".into() });
    cs.push(Command::CrossListNode { node: "p.g.b".into(), under: "p.h".into() });
    cs.push(Command::NameVersion { plan: "p".into(), name: "v1".into(), seq: "last".into() });
    for x in ["a", "b"] {
        cs.push(Command::ReviseNodeText { node: format!("p.g.{x}"), text: "改定後".into() });
        cs.push(set_target(&format!("p.g.{x}.k"), "2017", "12"));
    }
    l.append_blocking(req(cs)).unwrap();
    // A second plan, for tags of another plan.
    l.append_blocking(req(vec![create_plan("q"), add_node("q", "q.1")])).unwrap();
}

/// The tokens of the fixture: (role, secret, actor name).
pub struct Tokens {
    pub admin: String,
    pub editor: String,
    pub reporter: String,
    pub auditor: String,
}

pub(crate) fn tokens(l: &Ledger) -> Tokens {
    let mk = |name: &str, role: Role, deps: &[&str]| {
        l.create_token(&TokenSpec {
            name: name.into(),
            display_name: Some(format!("{name} 表示名")),
            role,
            departments: deps.iter().map(|d| d.to_string()).collect(),
        })
        .unwrap()
        .secret
    };
    Tokens {
        admin: mk("admin-1", Role::Admin, &[]),
        editor: mk("editor-road", Role::Editor, &[ROAD]),
        reporter: mk("reporter-road", Role::Reporter, &[ROAD]),
        auditor: mk("auditor-1", Role::Auditor, &[]),
    }
}

/// A fresh fixture ledger with its tokens and router. Called from async tests on a multi-thread runtime: the
/// blocking appends run in place.
pub fn ledger() -> (tempfile::TempDir, Ledger, Tokens, Router) {
    let dir = tempfile::tempdir().unwrap();
    let l = Ledger::create(dir.path(), Some("planledger.test/writes")).unwrap();
    tokio::task::block_in_place(|| fixture(&l));
    let t = tokens(&l);
    let app = planledger::web::app(l.clone());
    (dir, l, t, app)
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A problem document with `status` naming `field`.
    pub fn problem(&self, status: StatusCode, field: &str) -> Value {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(self.header("content-type"), "application/problem+json");
        let p = self.json();
        assert_eq!(p["field"], field, "{p}");
        assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()), "{p}");
        p
    }
}

pub async fn send(
    app: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut r = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if !body.is_empty() {
        r = r.header(header::CONTENT_TYPE, "application/json");
    }
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let res = app.clone().oneshot(r.body(Body::from(body.to_string())).unwrap()).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap().to_vec();
    Answer { status, headers, body }
}

pub(crate) async fn post(app: &Router, uri: &str, token: Option<&str>, body: &Value) -> Answer {
    send(app, Method::POST, uri, token, &[], &body.to_string()).await
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    /// The whole plan: admin only.
    Plan,
    /// Content of a department's node or indicator: its editors and admins.
    Content,
    /// Progress of a department's indicator: its reporters, editors and admins.
    Progress,
}

/// Every write endpoint, with a body that succeeds on the fixture. `{X}` is the branch written to, `{Y}` the other
/// branch and `{D}` the branch's department.
pub(crate) const CASES: &[(Kind, &str, &str)] = &[
    (
        Kind::Plan,
        "/api/plans",
        r#"{"plan":"r","municipality":"品川区","municipality_code":"131091","title":"新計画","kind":"基本計画","period_from":"2024","period_to":"2028","status":"draft","levels":["基本目標"]}"#,
    ),
    (Kind::Plan, "/api/plans/p/revise", r#"{"title":"改題"}"#),
    (Kind::Plan, "/api/plans/p/status", r#"{"status":"superseded"}"#),
    (Kind::Plan, "/api/plans/p/versions", r#"{"name":"v2","seq":"last"}"#),
    (Kind::Plan, "/api/plans/p/restore", r#"{"to":"version:v1"}"#),
    (
        Kind::Content,
        "/api/plans/p/nodes",
        r#"{"node":"p.g.{X}.new","parent":"p.g.{X}","title":"新事業","departments":["{D}"]}"#,
    ),
    (
        Kind::Content,
        "/api/plans/p/commands",
        r#"{"commands":[{"command":"revise_node_text","node":"p.g.{X}","text":"一括"},{"command":"set_target","indicator":"p.g.{X}.k","fiscal_year":"2018","target":"15"}]}"#,
    ),
    (Kind::Content, "/api/nodes/p.g.{X}/rename", r#"{"title":"改名"}"#),
    (Kind::Content, "/api/nodes/p.g.{X}/text", r#"{"text":"新本文"}"#),
    (Kind::Content, "/api/nodes/p.g.{X}/details", r#"{"details":[{"label":"現況","text":"5件"}]}"#),
    (Kind::Content, "/api/nodes/p.g.{X}/move", r#"{"parent":"p.g","order":7}"#),
    (Kind::Content, "/api/nodes/p.g.{X}3/retire", r#"{}"#),
    (Kind::Content, "/api/nodes/p.g.{X}2/reinstate", r#"{}"#),
    // An editor lists its own node only under one of its own, and may take a listing off either of its nodes.
    (Kind::Content, "/api/nodes/p.g.{X}/cross-list", r#"{"under":"p.g.{X}3"}"#),
    (Kind::Content, "/api/nodes/p.g.{X}/uncross", r#"{"under":"p.h"}"#),
    (Kind::Content, "/api/nodes/p.g.{X}/cross-reference", r#"{"reference":"基本計画 2-1"}"#),
    (Kind::Content, "/api/nodes/p.g.{X}/departments", r#"{"departments":["{D}","企画課"]}"#),
    (Kind::Content, "/api/nodes/p.g.{X}/milestones", r#"{"fiscal_year":"2018","text":"完了"}"#),
    (Kind::Content, "/api/nodes/p.g.{X}/milestones/withdraw", r#"{"fiscal_year":"2017"}"#),
    (Kind::Content, "/api/nodes/p.g.{X}/indicators", r#"{"indicator":"p.g.{X}.k3","name":"新指標","unit":"件"}"#),
    (Kind::Content, "/api/nodes/p.g.{X}/restore", r#"{"to":"version:v1"}"#),
    (Kind::Content, "/api/indicators/p.g.{X}.k/revise", r#"{"name":"改めた指標名"}"#),
    (Kind::Content, "/api/indicators/p.g.{X}.k/retire", r#"{}"#),
    (Kind::Content, "/api/indicators/p.g.{X}.k2/reinstate", r#"{}"#),
    (Kind::Content, "/api/indicators/p.g.{X}.k/baseline", r#"{"value":"6","fiscal_year":"2016"}"#),
    (Kind::Content, "/api/indicators/p.g.{X}.k/baseline/withdraw", r#"{}"#),
    (Kind::Content, "/api/indicators/p.g.{X}.k/targets", r#"{"fiscal_year":"2018","target":"20"}"#),
    (Kind::Content, "/api/indicators/p.g.{X}.k/targets/withdraw", r#"{"fiscal_year":"2017"}"#),
    (Kind::Content, "/api/indicators/p.g.{X}.k/restore", r#"{"to":"version:v1"}"#),
    (Kind::Progress, "/api/indicators/p.g.{X}.k/progress", r#"{"fiscal_year":"2018","value":"12"}"#),
    (Kind::Progress, "/api/indicators/p.g.{X}.k/progress/correct", r#"{"fiscal_year":"2017","value":"9"}"#),
];

pub(crate) fn fill(template: &str, own: bool) -> String {
    let (x, y, d) = if own { ("a", "b", ROAD) } else { ("b", "a", PARK) };
    template.replace("{X}", x).replace("{Y}", y).replace("{D}", d)
}

/// The body with who, why and when added.
pub fn with_meta(body: &str) -> Value {
    let mut v: Value = serde_json::from_str(body).unwrap();
    v["authority"] = json!("庁議決定");
    v["reason"] = json!("年度途中の見直し");
    v["effective"] = json!("2017-10-01");
    v
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Who {
    Anonymous,
    Auditor,
    Reporter,
    Editor,
    Admin,
}

pub(crate) const EVERYONE: [Who; 5] = [Who::Anonymous, Who::Auditor, Who::Reporter, Who::Editor, Who::Admin];

pub(crate) fn expected(kind: Kind, who: Who, own: bool) -> StatusCode {
    let allowed = match (who, kind) {
        (Who::Anonymous, _) => return StatusCode::UNAUTHORIZED,
        (Who::Admin, _) => true,
        (Who::Auditor, _) | (_, Kind::Plan) => false,
        (Who::Reporter, Kind::Content) => false,
        (Who::Editor, Kind::Content) | (Who::Editor | Who::Reporter, Kind::Progress) => own,
    };
    if allowed { StatusCode::CREATED } else { StatusCode::FORBIDDEN }
}

pub(crate) fn secret(t: &Tokens, who: Who) -> Option<&str> {
    match who {
        Who::Anonymous => None,
        Who::Auditor => Some(&t.auditor),
        Who::Reporter => Some(&t.reporter),
        Who::Editor => Some(&t.editor),
        Who::Admin => Some(&t.admin),
    }
}

pub(crate) fn actor_name(who: Who) -> &'static str {
    match who {
        Who::Admin => "admin-1",
        Who::Editor => "editor-road",
        Who::Reporter => "reporter-road",
        _ => unreachable!("only writers append"),
    }
}

pub fn head(l: &Ledger) -> Head {
    l.head()
}

pub fn close(l: Ledger) {
    tokio::task::block_in_place(|| l.close());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn every_write_endpoint_for_every_role() {
    // Every route that appends is covered by a case.
    let covered: Vec<String> = CASES.iter().map(|(_, p, _)| fill(p, true)).collect();
    for (method, path) in planledger::web::api::served() {
        let (method, path) = (method.as_str(), path.as_str());
        if method != "post" || path.starts_with("/api/tokens") {
            continue;
        }
        let shape = |p: &str| -> Vec<String> {
            p.split('/').map(|s| if s.contains('.') || s == "p" { "*".to_string() } else { s.to_string() }).collect()
        };
        let want = shape(&path.replace("{plan}", "p").replace("{id}", "x.y"));
        assert!(covered.iter().any(|c| shape(c) == want), "POST {path} has no case");
    }

    // Refusals all run against one ledger, which must come out of them unchanged.
    let (_d, refusing, t, app) = ledger();
    let before = head(&refusing);
    let mut refusals = 0;
    for (kind, path, body) in CASES {
        for own in [true, false] {
            if *kind == Kind::Plan && !own {
                continue;
            }
            let (uri, body) = (fill(path, own), with_meta(&fill(body, own)));
            for who in EVERYONE {
                let want = expected(*kind, who, own);
                if want == StatusCode::CREATED {
                    continue;
                }
                let a = post(&app, &uri, secret(&t, who), &body).await;
                assert_eq!(a.status, want, "{who:?} POST {uri}: {}", a.text());
                assert_eq!(a.header("content-type"), "application/problem+json");
                if want == StatusCode::UNAUTHORIZED {
                    assert!(a.header("www-authenticate").starts_with("Bearer"), "{uri}");
                }
                assert_eq!(head(&refusing), before, "{who:?} POST {uri} changed the ledger");
                refusals += 1;
            }
        }
    }
    assert!(refusals > 100, "{refusals}");
    close(refusing);

    // Each allowed write on a fresh ledger: 201, the events as answered, and the token's principal as their actor.
    for (kind, path, body) in CASES {
        for own in [true, false] {
            for who in EVERYONE {
                if expected(*kind, who, own) != StatusCode::CREATED || (who == Who::Admin && !own) {
                    continue;
                }
                let (_d, l, t, app) = ledger();
                let (uri, body) = (fill(path, own), with_meta(&fill(body, own)));
                let len = head(&l).len;
                let a = post(&app, &uri, secret(&t, who), &body).await;
                assert_eq!(a.status, StatusCode::CREATED, "{who:?} POST {uri}: {}", a.text());
                let v = a.json();
                let events = v["events"].as_array().unwrap();
                assert!(!events.is_empty(), "{uri}: {v}");
                let records = l.records(len, head(&l).len).unwrap();
                assert_eq!(records.len(), events.len(), "{uri}");
                for (r, e) in records.iter().zip(events) {
                    assert_eq!(e["seq"], r.seq.0, "{uri}");
                    assert_eq!(r.actor.id, actor_name(who), "{uri}");
                    assert_eq!(r.actor.name, format!("{} 表示名", actor_name(who)), "{uri}");
                    assert_eq!(r.authority.as_deref(), Some("庁議決定"));
                    assert_eq!(r.effective.to_string(), "2017-10-01");
                }
                let plan = v["plan"].as_str().unwrap();
                let got = send(&app, Method::GET, &format!("/api/plans/{plan}"), None, &[], "").await;
                assert_eq!(a.header("etag"), got.header("etag"), "{uri}: the answer's ETag is the plan's");
                close(l);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
pub(crate) async fn a_body_cannot_name_the_actor_and_bad_bodies_are_refused_by_field() {
    let (_d, l, t, app) = ledger();
    let before = head(&l);
    let ed = Some(t.editor.as_str());
    let text = "/api/nodes/p.g.a/text";
    let cases: Vec<(&str, Value, &str)> = vec![
        (text, json!({"text": "x", "actor": {"id": "someone-else"}}), "actor"),
        (text, json!({"text": 5}), "text"),
        (text, json!({}), "text"),
        (text, json!({"text": "x", "effective": "来年"}), "effective"),
        (text, json!({"text": "x", "reason": ""}), "reason"),
        ("/api/nodes/p.g.a/move", json!({"parent": "p.g", "order": "first"}), "order"),
        ("/api/nodes/p.g.a/move", json!({"parent": "p.g", "order": -1}), "order"),
        ("/api/nodes/p.g.a/details", json!({"details": [{"label": "現況"}]}), "details[0].text"),
        ("/api/indicators/p.g.a.k/targets", json!({"fiscal_year": "2018", "target": 20.5}), "target"),
        ("/api/indicators/p.g.a.k/targets", json!({"fiscal_year": "2018", "target": "二十"}), "target"),
        ("/api/indicators/p.g.a.k/targets", json!({"fiscal_year": "2099", "target": "20"}), "fiscal_year"),
        ("/api/plans/p/commands", json!({"commands": []}), "commands"),
        ("/api/plans/p/commands", json!({"commands": [{"command": "no_such_thing"}]}), "commands[0].command"),
        (
            "/api/plans/p/commands",
            json!({"commands": [{"command": "revise_node_text", "node": "p.g.a"}]}),
            "commands[0].text",
        ),
    ];
    for (uri, body, field) in cases {
        let a = post(&app, uri, ed, &body).await;
        let p = a.problem(StatusCode::BAD_REQUEST, field);
        assert!(!p["detail"].as_str().unwrap().contains("line 1"), "{p}");
    }
    // Not JSON, not an object, trailing bytes, another media type.
    for raw in ["{\"text\": ", "[1,2]", "{\"text\":\"x\"} {}", "text=x"] {
        let a = send(&app, Method::POST, text, ed, &[], raw).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{raw}: {}", a.text());
        assert!(a.json()["field"] == "body" || a.json()["field"].is_string(), "{raw}");
    }
    send(&app, Method::POST, text, ed, &[], "{\"text\": ").await.problem(StatusCode::BAD_REQUEST, "body");
    let mut r = Request::post(text).header(header::AUTHORIZATION, format!("Bearer {}", t.editor));
    r = r.header(header::CONTENT_TYPE, "text/plain");
    let res = app.clone().oneshot(r.body(Body::from("{\"text\":\"x\"}")).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Larger than the body limit.
    let huge = json!({"text": "あ".repeat(40_000)});
    let a = post(&app, text, ed, &huge).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.text());
    assert_eq!(a.header("content-type"), "application/problem+json");
    // Unknown ids.
    post(&app, "/api/nodes/p.nothing/text", ed, &json!({"text": "x"})).await.problem(StatusCode::NOT_FOUND, "node");
    post(&app, "/api/indicators/p.nothing/progress", ed, &json!({"fiscal_year": "2017", "value": "1"}))
        .await
        .problem(StatusCode::NOT_FOUND, "indicator");
    post(&app, "/api/plans/zz/status", Some(&t.admin), &json!({"status": "draft"}))
        .await
        .problem(StatusCode::NOT_FOUND, "plan");
    // Credentials that are not a live token: 401, whatever the body.
    for auth in ["Bearer plt_not-a-token", "Basic dXNlcjpwYXNz", "Bearer", "bearer  "] {
        let r =
            Request::post(text).header(header::AUTHORIZATION, auth).header(header::CONTENT_TYPE, "application/json");
        let res = app.clone().oneshot(r.body(Body::from("{\"text\":\"x\"}")).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{auth}");
        assert!(res.headers()[header::WWW_AUTHENTICATE].to_str().unwrap().contains("invalid_token"), "{auth}");
    }
    assert_eq!(head(&l), before, "a refused request changed the ledger");
    // The same request, well formed, goes through.
    assert_eq!(post(&app, text, ed, &json!({"text": "x"})).await.status, StatusCode::CREATED);
    close(l);
}
