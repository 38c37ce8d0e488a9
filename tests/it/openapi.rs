//! The OpenAPI document: every route covered, and real answers checked against the schemas it states.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

use crate::http::{KPI, SHINAGAWA, get, get_with, seeded};

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
