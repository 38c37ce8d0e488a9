//! API tokens: admins manage them over HTTP (a revoked token is refused at once) and at the command line.

use axum::http::{Method, StatusCode};
use planledger::store::ledger::Ledger;
use serde_json::{Value, json};

use crate::writes::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_tokens_over_http_and_a_revoked_token_is_refused_at_once() {
    let (_d, l, t, app) = ledger();
    let spec =
        json!({"name": "reporter-park", "role": "reporter", "departments": [PARK], "display_name": "公園課 報告"});
    for who in [None, Some(t.editor.as_str()), Some(t.auditor.as_str())] {
        let a = post(&app, "/api/tokens", who, &spec).await;
        assert!(matches!(a.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN), "{}", a.text());
        let a = send(&app, Method::GET, "/api/tokens", who, &[], "").await;
        assert!(matches!(a.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN), "{}", a.text());
    }
    post(&app, "/api/tokens", Some(&t.admin), &json!({"name": "x y", "role": "admin"}))
        .await
        .problem(StatusCode::BAD_REQUEST, "name");
    post(&app, "/api/tokens", Some(&t.admin), &json!({"name": "r2", "role": "reporter"}))
        .await
        .problem(StatusCode::BAD_REQUEST, "departments");
    post(&app, "/api/tokens", Some(&t.admin), &json!({"name": "r3", "role": "boss"}))
        .await
        .problem(StatusCode::BAD_REQUEST, "role");
    post(&app, "/api/tokens", Some(&t.admin), &json!({"name": "editor-road", "role": "editor", "departments": [ROAD]}))
        .await
        .problem(StatusCode::CONFLICT, "name");

    let created = post(&app, "/api/tokens", Some(&t.admin), &spec).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert_eq!(created.header("cache-control"), "no-store");
    let v = created.json();
    let secret = v["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("plt_"));
    let id = v["token"]["id"].as_str().unwrap().to_string();
    // The new token reports for its department, and its events carry its principal.
    let progress = with_meta(r#"{"fiscal_year":"2018","value":"3"}"#);
    let a = post(&app, "/api/indicators/p.g.b.k/progress", Some(&secret), &progress).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    let seq = a.json()["events"][0]["seq"].as_u64().unwrap();
    let r = &l.records(seq, seq + 1).unwrap()[0];
    assert_eq!(
        (r.actor.id.as_str(), r.actor.name.as_str(), r.actor.department.as_str()),
        ("reporter-park", "公園課 報告", PARK)
    );

    // Listed without secrets.
    let list = send(&app, Method::GET, "/api/tokens", Some(&t.admin), &[], "").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.text().contains(&secret) && !list.text().contains("plt_"), "a secret was listed");
    assert_eq!(list.json().as_array().unwrap().len(), 5);
    // The store holds no secret either.
    for (hash, bytes) in l.stored_tokens().unwrap() {
        assert!(!String::from_utf8_lossy(&bytes).contains("plt_"));
        assert_ne!(hash.to_vec(), secret.as_bytes().to_vec());
    }

    let revoked = send(&app, Method::POST, &format!("/api/tokens/{id}/revoke"), Some(&t.admin), &[], "").await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
    assert!(revoked.json()["revoked_at"].is_string());
    let before = head(&l);
    let a = post(&app, "/api/indicators/p.g.b.k/progress/correct", Some(&secret), &progress).await;
    let p = a.problem(StatusCode::UNAUTHORIZED, "Authorization");
    assert!(p["detail"].as_str().unwrap().contains("revoked"), "{p}");
    assert_eq!(head(&l), before);
    send(&app, Method::POST, &format!("/api/tokens/{id}/revoke"), Some(&t.admin), &[], "")
        .await
        .problem(StatusCode::CONFLICT, "token");
    send(&app, Method::POST, "/api/tokens/nobody/revoke", Some(&t.admin), &[], "")
        .await
        .problem(StatusCode::NOT_FOUND, "token");
    close(l);
}

/// The CLI's token commands against a data dir: create prints the secret once, list never does, revoke by name.
#[test]
fn token_commands_of_the_cli() {
    use std::process::Command as Proc;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let run = |args: &[&str]| {
        let out = Proc::new(crate::support::bin()).arg("--data").arg(data).args(args).output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(run(&["init"]).0, 0);
    let (code, out, err) = run(&["token", "create", "--name", "editor-road", "--role", "editor", "--department", ROAD]);
    assert_eq!(code, 0, "{err}");
    let secret = out.trim().to_string();
    assert!(secret.starts_with("plt_") && secret.len() > 40, "{out}");
    assert!(err.contains("shown this once"), "{err}");
    let (code, _, err) = run(&["token", "create", "--name", "r", "--role", "reporter"]);
    assert_eq!(code, 2, "an editor or reporter without a department is refused");
    assert!(err.contains("departments"), "{err}");
    let (code, _, err) = run(&["token", "create", "--name", "r", "--role", "chief"]);
    assert_eq!(code, 2, "{err}");
    let (code, list, _) = run(&["token", "list", "--json"]);
    assert_eq!(code, 0);
    assert!(!list.contains(&secret));
    let v: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(v[0]["name"], "editor-road");
    assert_eq!(v[0]["departments"][0], ROAD);
    let (code, out, _) = run(&["token", "revoke", "editor-road"]);
    assert_eq!(code, 0);
    assert!(out.contains("revoked"));
    let (code, list, _) = run(&["token", "list"]);
    assert_eq!(code, 0);
    assert!(list.contains("revoked"), "{list}");
    assert_eq!(run(&["token", "revoke", "editor-road"]).0, 2, "no live token has that name any more");
    // What the server will see: the secret names a revoked token.
    let l = Ledger::open(dir.path()).unwrap();
    assert!(matches!(l.authenticate(&secret).unwrap(), planledger::store::tokens::Authenticated::Revoked(_)));
    l.close();
}
