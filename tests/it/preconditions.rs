//! The HTTP writes' guarantees beyond one command: `If-Match`, `Idempotency-Key` retries, atomic batches that name
//! the failing command, and restores over HTTP.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::writes::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_match_takes_any_tag_of_the_plan_and_refuses_a_stale_one_with_the_current_version() {
    let (_d, l, t, app) = ledger();
    let ed = Some(t.editor.as_str());
    let plan_tag = send(&app, Method::GET, "/api/plans/p", None, &[], "").await.header("etag").to_string();
    let ind_tag = send(&app, Method::GET, "/api/indicators/p.g.a.k", None, &[], "").await.header("etag").to_string();
    let other_plan = send(&app, Method::GET, "/api/plans/q", None, &[], "").await.header("etag").to_string();
    let body = json!({"text": "一"}).to_string();
    let uri = "/api/nodes/p.g.a/text";
    // A tag of another plan, a weak tag and a made-up one never match.
    for bad in [other_plan.clone(), format!("W/{plan_tag}"), "\"nothing\"".to_string()] {
        let before = head(&l);
        let a = send(&app, Method::POST, uri, ed, &[("if-match", &bad)], &body).await;
        let p = a.problem(StatusCode::PRECONDITION_FAILED, "If-Match");
        assert_eq!(p["current_version"], l.read().state.plans.values().find(|p| p.id.as_str() == "p").unwrap().version);
        assert_eq!(a.header("etag"), plan_tag, "the 412 carries the plan's current tag");
        assert_eq!(head(&l), before);
    }
    // The indicator's tag names the same version: it matches.
    let a = send(&app, Method::POST, uri, ed, &[("if-match", &ind_tag)], &body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    let new_tag = a.header("etag").to_string();
    assert_ne!(new_tag, plan_tag);
    // The first tag is stale now.
    let before = head(&l);
    let body2 = json!({"text": "二"}).to_string();
    let a = send(&app, Method::POST, uri, ed, &[("if-match", &plan_tag)], &body2).await;
    let p = a.problem(StatusCode::PRECONDITION_FAILED, "If-Match");
    assert_eq!(a.header("etag"), new_tag);
    assert!(p["detail"].as_str().unwrap().contains(&format!("version {}", p["current_version"])), "{p}");
    assert_eq!(head(&l), before);
    // A list with the current tag in it, and `*`, match.
    let list = format!("{plan_tag}, {new_tag}");
    assert_eq!(send(&app, Method::POST, uri, ed, &[("if-match", &list)], &body2).await.status, StatusCode::CREATED);
    assert_eq!(send(&app, Method::POST, uri, ed, &[("if-match", "*")], &body).await.status, StatusCode::CREATED);
    // `*` on a plan that does not exist yet: 412.
    let create = with_meta(&fill(CASES[0].2, true)).to_string();
    send(&app, Method::POST, "/api/plans", Some(&t.admin), &[("if-match", "*")], &create)
        .await
        .problem(StatusCode::PRECONDITION_FAILED, "If-Match");
    close(l);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_another_body() {
    let (_d, l, t, app) = ledger();
    let uri = "/api/indicators/p.g.a.k/progress";
    let body = with_meta(r#"{"fiscal_year":"2018","value":"12.50"}"#).to_string();
    let key = [("idempotency-key", "report-2018-0001")];
    let first = send(&app, Method::POST, uri, Some(&t.reporter), &key, &body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    assert_eq!(first.header("idempotent-replayed"), "");
    let after = head(&l);
    let again = send(&app, Method::POST, uri, Some(&t.reporter), &key, &body).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body, first.body, "a retry answers the original body");
    assert_eq!(again.header("idempotent-replayed"), "true");
    assert_eq!(head(&l), after, "a retry appends nothing");
    // The same key with another body.
    let other = with_meta(r#"{"fiscal_year":"2018","value":"13"}"#).to_string();
    send(&app, Method::POST, uri, Some(&t.reporter), &key, &other)
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "Idempotency-Key");
    assert_eq!(head(&l), after);
    // Keys are the token's own: another token's same key is another request (here refused as a second report).
    let by_editor = send(&app, Method::POST, uri, Some(&t.editor), &key, &body).await;
    assert_eq!(by_editor.status, StatusCode::CONFLICT, "{}", by_editor.text());
    // Malformed keys.
    let long = "k".repeat(129);
    for bad in [long.as_str(), "has space"] {
        send(&app, Method::POST, uri, Some(&t.reporter), &[("idempotency-key", bad)], &other)
            .await
            .problem(StatusCode::BAD_REQUEST, "Idempotency-Key");
    }
    assert_eq!(head(&l), after);
    close(l);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_all_or_nothing_and_names_the_failing_command() {
    let (_d, l, t, app) = ledger();
    let before = head(&l);
    let body = with_meta(
        r#"{"commands":[
            {"command":"revise_node_text","node":"p.g.a","text":"一括"},
            {"command":"set_target","indicator":"p.g.a.k","fiscal_year":"2018","target":"abc"}]}"#,
    );
    post(&app, "/api/plans/p/commands", Some(&t.editor), &body)
        .await
        .problem(StatusCode::BAD_REQUEST, "commands[1].target");
    // The second command is another department's: 403, naming it.
    let body = with_meta(
        r#"{"commands":[
            {"command":"revise_node_text","node":"p.g.a","text":"一括"},
            {"command":"revise_node_text","node":"p.g.b","text":"一括"}]}"#,
    );
    post(&app, "/api/plans/p/commands", Some(&t.editor), &body)
        .await
        .problem(StatusCode::FORBIDDEN, "commands[1].node");
    // A command of another plan, and a restore record, are refused before the ledger sees them.
    let body = with_meta(r#"{"commands":[{"command":"revise_node_text","node":"q.1","text":"x"}]}"#);
    post(&app, "/api/plans/p/commands", Some(&t.admin), &body).await.problem(StatusCode::BAD_REQUEST, "commands[0]");
    let body = with_meta(r#"{"commands":[{"command":"record_restore","plan":"p","to":"seq:1","compensating":0}]}"#);
    post(&app, "/api/plans/p/commands", Some(&t.admin), &body)
        .await
        .problem(StatusCode::BAD_REQUEST, "commands[0].command");
    assert_eq!(head(&l), before);
    close(l);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restores_over_http_dry_run_and_refuse_what_is_not_the_callers() {
    let (_d, l, t, app) = ledger();
    let before = head(&l);
    let body = with_meta(r#"{"to":"version:v1","dry_run":true}"#);
    let dry = post(&app, "/api/nodes/p.g.a/restore", Some(&t.editor), &body).await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.text());
    assert_eq!(dry.json()["dry_run"], true);
    assert_eq!(head(&l), before, "a dry run appends nothing");
    // Another department's node, and the whole plan, are not the editor's to restore, not even as a dry run.
    post(&app, "/api/nodes/p.g.b/restore", Some(&t.editor), &body).await.problem(StatusCode::FORBIDDEN, "node");
    post(&app, "/api/plans/p/restore", Some(&t.editor), &body).await.problem(StatusCode::FORBIDDEN, "command");
    // The path names the kind restored: a plan's id under /nodes, or a node's under /indicators, is not found.
    post(&app, "/api/nodes/p/restore", Some(&t.admin), &body).await.problem(StatusCode::NOT_FOUND, "node");
    post(&app, "/api/indicators/p.g.a/restore", Some(&t.admin), &body)
        .await
        .problem(StatusCode::NOT_FOUND, "indicator");
    post(&app, "/api/plans/p.g.a/restore", Some(&t.admin), &body).await.problem(StatusCode::NOT_FOUND, "plan");
    // No authority: refused by name.
    let mut no_authority = with_meta(r#"{"to":"version:v1"}"#);
    no_authority.as_object_mut().unwrap().remove("authority");
    post(&app, "/api/nodes/p.g.a/restore", Some(&t.editor), &no_authority)
        .await
        .problem(StatusCode::BAD_REQUEST, "authority");
    let key = [("idempotency-key", "k1")];
    send(&app, Method::POST, "/api/nodes/p.g.a/restore", Some(&t.editor), &key, &body.to_string())
        .await
        .problem(StatusCode::BAD_REQUEST, "Idempotency-Key");
    assert_eq!(head(&l), before);
    let done = post(&app, "/api/nodes/p.g.a/restore", Some(&t.editor), &with_meta(r#"{"to":"version:v1"}"#)).await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text());
    let node = l.read().state.nodes.values().find(|n| n.id.as_str() == "p.g.a").unwrap().clone();
    assert_eq!(node.text, "当初");
    // Done once, there is nothing left to restore.
    let again = post(&app, "/api/nodes/p.g.a/restore", Some(&t.editor), &with_meta(r#"{"to":"version:v1"}"#)).await;
    assert!(again.status.is_client_error(), "{}", again.text());
    close(l);
}
