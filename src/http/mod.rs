//! The HTTP API (`planledger serve`): the router with its layers (request id, tracing, compression, problem
//! details, timeout, body limit), the server with graceful shutdown, and the helpers every handler shares (ETags,
//! blocking reads).

pub mod auth;
pub mod feed;
pub mod openapi;
pub mod problem;
pub mod reads;
pub mod writes;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::ledger::Ledger;
pub use problem::Problem;

/// Longest a request may take to produce its response head.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest request body taken; the reads take none.
pub const BODY_LIMIT: usize = 64 * 1024;
/// How long in-flight requests may run on after a shutdown signal before they are cut.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub ledger: Ledger,
    /// Turns true when the server begins to shut down; live feeds end on it so that shutdown is not held up.
    pub stopping: Arc<watch::Sender<bool>>,
}

/// Declares the API's routes once: the router serves them and [`ROUTES`] lists them, so the OpenAPI test can
/// hold the document to exactly what is served.
macro_rules! routes {
    ($($method:ident $path:literal => $handler:path),* $(,)?) => {
        /// Every route the API serves, as (lower-case method, path in OpenAPI's `{param}` form).
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        fn api_routes(r: Router<AppState>) -> Router<AppState> {
            r$(.route($path, axum::routing::$method($handler)))*
        }
    };
}

routes! {
    get "/api/plans" => reads::plans,
    get "/api/plans/{plan}" => reads::plan,
    get "/api/plans/{plan}/versions" => reads::versions,
    get "/api/plans/{plan}/diff" => reads::diff,
    get "/api/plans/{plan}/blame" => reads::blame,
    get "/api/indicators/{id}" => reads::indicator,
    get "/api/indicators/{id}/history" => reads::indicator_history,
    get "/api/nodes/{id}/history" => reads::node_history,
    get "/api/events" => reads::events,
    get "/api/events/stream" => feed::stream,
    get "/api/checkpoint" => reads::checkpoint,
    get "/api/proof/inclusion" => reads::inclusion,
    get "/api/proof/consistency" => reads::consistency,
    get "/api/export" => reads::export,
    get "/api/openapi.json" => openapi::document,
    post "/api/plans" => writes::create_plan,
    post "/api/plans/{plan}/commands" => writes::commands,
    post "/api/plans/{plan}/revise" => writes::revise_plan,
    post "/api/plans/{plan}/status" => writes::change_plan_status,
    post "/api/plans/{plan}/versions" => writes::name_version,
    post "/api/plans/{plan}/nodes" => writes::add_node,
    post "/api/plans/{plan}/restore" => writes::restore_plan,
    post "/api/nodes/{id}/rename" => writes::rename_node,
    post "/api/nodes/{id}/text" => writes::revise_node_text,
    post "/api/nodes/{id}/details" => writes::revise_node_details,
    post "/api/nodes/{id}/move" => writes::move_node,
    post "/api/nodes/{id}/retire" => writes::retire_node,
    post "/api/nodes/{id}/reinstate" => writes::reinstate_node,
    post "/api/nodes/{id}/cross-list" => writes::cross_list_node,
    post "/api/nodes/{id}/uncross" => writes::remove_cross_listing,
    post "/api/nodes/{id}/cross-reference" => writes::cross_reference_node,
    post "/api/nodes/{id}/departments" => writes::assign_departments,
    post "/api/nodes/{id}/milestones" => writes::set_milestone,
    post "/api/nodes/{id}/milestones/withdraw" => writes::withdraw_milestone,
    post "/api/nodes/{id}/indicators" => writes::define_indicator,
    post "/api/nodes/{id}/restore" => writes::restore_node,
    post "/api/indicators/{id}/revise" => writes::revise_indicator,
    post "/api/indicators/{id}/retire" => writes::retire_indicator,
    post "/api/indicators/{id}/reinstate" => writes::reinstate_indicator,
    post "/api/indicators/{id}/baseline" => writes::set_baseline,
    post "/api/indicators/{id}/baseline/withdraw" => writes::withdraw_baseline,
    post "/api/indicators/{id}/targets" => writes::set_target,
    post "/api/indicators/{id}/targets/withdraw" => writes::withdraw_target,
    post "/api/indicators/{id}/progress" => writes::report_progress,
    post "/api/indicators/{id}/progress/correct" => writes::correct_progress,
    post "/api/indicators/{id}/restore" => writes::restore_indicator,
    get "/api/tokens" => writes::list_tokens,
    post "/api/tokens" => writes::create_token,
    post "/api/tokens/{token}/revoke" => writes::revoke_token,
}

/// The API's router with every layer, over `ledger`. Feeds end when `stopping` turns true.
pub fn router(ledger: Ledger, stopping: Arc<watch::Sender<bool>>) -> Router {
    let api = api_routes(Router::new())
        .merge(crate::portal::routes())
        .fallback(not_found)
        .with_state(AppState { ledger, stopping });
    // The last layer added is the outermost: the request id is set first, so the trace span, the problem
    // middleware and the response all carry it; problems wrap the timeout and the body limit so that their
    // answers are problem documents too.
    api.layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .layer(middleware::from_fn(problems))
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<Body>| {
                    let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = %id)
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// A router whose feeds never see a shutdown (for tests and embedding).
pub fn app(ledger: Ledger) -> Router {
    router(ledger, Arc::new(watch::channel(false).0))
}

async fn not_found(uri: axum::http::Uri) -> Response {
    if is_api(uri.path()) {
        Problem::not_found("path", "no resource at this path; the API's resources are under /api").into_response()
    } else {
        crate::portal::not_found_page(uri.path())
    }
}

/// Whether `path` is the API's: problem documents are its error form; the portal's pages answer HTML.
fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// Turns every 4xx and 5xx under `/api` into a problem document carrying the request id and path, and logs internal causes
/// with the same request id.
async fn problems(req: Request, next: Next) -> Response {
    let request_id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
    let instance = req.uri().path().to_string();
    if !is_api(&instance) {
        return next.run(req).await;
    }
    let res = next.run(req).await;
    let status = res.status();
    if !status.is_client_error() && !status.is_server_error() {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let problem = match parts.extensions.remove::<Problem>() {
        Some(p) => p,
        None => {
            // A rejection by the framework or a layer: its plain-text reason is the detail for 4xx; a 5xx keeps
            // its reason in the log only.
            let text = axum::body::to_bytes(body, 4096).await.map(|b| String::from_utf8_lossy(&b).into_owned());
            let text = text.unwrap_or_default();
            let detail = match status {
                StatusCode::REQUEST_TIMEOUT => "the request took too long to answer".to_string(),
                StatusCode::PAYLOAD_TOO_LARGE => format!("request bodies are limited to {BODY_LIMIT} bytes"),
                StatusCode::METHOD_NOT_ALLOWED => "this resource does not take that method".to_string(),
                s if s.is_client_error() && !text.is_empty() => text,
                s if s.is_client_error() => "the request is malformed".to_string(),
                _ => {
                    let mut p = Problem::internal(if text.is_empty() { status.to_string() } else { text });
                    p.status = status;
                    return render(parts, p, &instance, &request_id);
                }
            };
            Problem::new(status, None, detail)
        }
    };
    render(parts, problem, &instance, &request_id)
}

fn render(mut parts: axum::http::response::Parts, p: Problem, instance: &str, request_id: &str) -> Response {
    if let Some(cause) = &p.cause {
        tracing::error!(request_id, status = p.status.as_u16(), cause = %cause, "request failed");
    }
    // Invariant: the body is strings and a number; it always serializes.
    let body = serde_json::to_vec(&p.body(instance, request_id)).expect("problem bodies serialize");
    parts.status = p.status;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::ETAG);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(problem::CONTENT_TYPE));
    for (name, value) in p.headers() {
        parts.headers.insert(name.clone(), value.clone());
    }
    Response::from_parts(parts, Body::from(body))
}

/// The hex BLAKE3 hash of `parts`, each prefixed by its length so that no two lists hash alike.
fn parts_hash(parts: &[&str]) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    h.finalize().to_hex().to_string()
}

/// A strong ETag over the parts a response depends on.
pub fn etag(parts: &[&str]) -> HeaderValue {
    // Invariant: quotes and hex digits are valid header bytes.
    HeaderValue::from_str(&format!("\"{}\"", &parts_hash(parts)[..32])).expect("an ETag is ASCII")
}

/// The ETag of a resource that belongs to one plan: `"PLAN@VERSION-HASH"`, the hash over the other parts. Naming the
/// plan and its version lets a write read `If-Match` as the version its client saw, and check it atomically with
/// the append (any of the plan's resources' tags will do: each changes exactly when the plan's version does).
pub fn plan_etag(plan: &str, version: u64, parts: &[&str]) -> HeaderValue {
    let hex = parts_hash(parts);
    // Invariant: plan ids are ASCII letters, digits, '.', '_' and '-', all valid in a header.
    HeaderValue::from_str(&format!("\"{plan}@{version}-{}\"", &hex[..24])).expect("a plan ETag is ASCII")
}

/// The ETag `GET /api/plans/{plan}` answers for the plan now: what a failed `If-Match` sends back.
pub fn current_plan_etag(plan: &str, version: u64) -> HeaderValue {
    plan_etag(plan, version, &["plan", &reads::point_key(None)])
}

/// What a write's `If-Match` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// No `If-Match`.
    None,
    /// `If-Match: *`: the plan must exist.
    Exists,
    /// The versions of this plan its tags name (empty: no tag names this plan, so none can match).
    Versions(Vec<u64>),
}

/// Reads `If-Match` for a write on `plan`. Weak tags never match (RFC 9110 §13.1.1 compares strongly).
pub fn if_match(headers: &HeaderMap, plan: &str) -> Precondition {
    let values: Vec<&str> = headers.get_all(header::IF_MATCH).iter().filter_map(|v| v.to_str().ok()).collect();
    if headers.get(header::IF_MATCH).is_none() {
        return Precondition::None;
    }
    let mut versions = Vec::new();
    for t in values.iter().flat_map(|v| v.split(',')).map(str::trim) {
        if t == "*" {
            return Precondition::Exists;
        }
        let Some(inner) = t.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else { continue };
        let Some((p, rest)) = inner.split_once('@') else { continue };
        let Some((v, _)) = rest.split_once('-') else { continue };
        if let (true, Ok(v)) = (p == plan, v.parse::<u64>()) {
            versions.push(v);
        }
    }
    Precondition::Versions(versions)
}

/// Whether the client's `If-None-Match` already names `tag` (weak comparison, as RFC 9110 asks for GET).
pub fn not_modified(headers: &HeaderMap, tag: &HeaderValue) -> bool {
    let Ok(tag) = tag.to_str() else { return false };
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').map(str::trim).any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag))
}

/// The 304 answer for `tag`.
pub fn unchanged(tag: HeaderValue) -> Response {
    (StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response()
}

/// Runs a read that touches storage on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Problem> + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(f).await.map_err(Problem::internal)?
}

/// A future that resolves on Ctrl-C or SIGTERM. The handlers are installed by this call, not when the future is
/// first polled, so a signal that arrives right after the server announced itself still shuts it down cleanly
/// instead of killing it. Call it inside the runtime.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => tracing::info!("Ctrl-C: shutting down"),
                _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::info!("Ctrl-C: shutting down");
            } else {
                std::future::pending::<()>().await;
            }
        })
    }
}

/// Serves the API on `listener` until `shutdown` resolves; then stops accepting, lets in-flight requests finish
/// (for at most [`SHUTDOWN_GRACE`]), ends live feeds, and closes the ledger, which waits for its writer. Warms the
/// projection snapshot cache in the background first.
pub async fn serve(
    ledger: Ledger,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let warm = ledger.clone();
    tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        match warm.warm() {
            Ok(r) => tracing::info!(
                plans = r.plans,
                seq_snapshots = r.seq_snapshots,
                in_force_snapshots = r.in_force_snapshots,
                events_replayed = r.events_replayed,
                seconds = t.elapsed().as_secs_f64(),
                "warmed the projection snapshot cache"
            ),
            Err(e) => tracing::warn!(error = %e, "warming the snapshot cache failed; past views replay from the log"),
        }
    });
    let stopping = Arc::new(watch::channel(false).0);
    let app = router(ledger.clone(), stopping.clone());
    let signal = stopping.clone();
    let server = async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                signal.send_replace(true);
            })
            .await
    };
    let mut stopped = stopping.subscribe();
    let grace = async move {
        let _ = stopped.wait_for(|s| *s).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        r = server => r?,
        () = grace => tracing::warn!(grace = ?SHUTDOWN_GRACE, "in-flight requests outlived the shutdown grace; cut"),
    }
    tokio::task::spawn_blocking(move || ledger.close()).await.map_err(std::io::Error::other)?;
    tracing::info!("stopped; the ledger is closed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::routing::get;

    use super::*;

    #[test]
    fn if_none_match_takes_lists_weak_tags_and_star() {
        let tag = etag(&["plan", "x", "3"]);
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, &tag));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"zz\", W/{}", tag.to_str().unwrap())).unwrap(),
        );
        assert!(not_modified(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert!(!not_modified(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(not_modified(&h, &tag));
    }

    #[tokio::test]
    async fn internal_failures_answer_only_the_request_id() {
        use tower::ServiceExt;
        let app = Router::new()
            .route("/api/boom", get(|| async { Problem::internal("sled: /secret/path is on fire") }))
            .layer(middleware::from_fn(problems))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid));
        let res = app.oneshot(Request::get("/api/boom").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(res.headers()[header::CONTENT_TYPE], problem::CONTENT_TYPE);
        let id = res.headers()[REQUEST_ID].to_str().unwrap().to_string();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["request_id"], id.as_str());
        assert_eq!(v["instance"], "/api/boom");
        assert!(!String::from_utf8_lossy(&body).contains("secret"), "{v}");
    }

    #[test]
    fn if_match_reads_the_versions_of_the_plan_its_tags_name() {
        let mut h = HeaderMap::new();
        assert_eq!(if_match(&h, "p"), Precondition::None);
        let t5 = plan_etag("p", 5, &["plan", "now"]);
        let t7 = plan_etag("p", 7, &["indicator", "p.1.k"]);
        let other = plan_etag("p-2", 9, &["plan", "now"]);
        let list = format!("{}, W/{}, {}", t5.to_str().unwrap(), t7.to_str().unwrap(), other.to_str().unwrap());
        h.insert(header::IF_MATCH, HeaderValue::from_str(&list).unwrap());
        // The weak tag and the other plan's tag name nothing.
        assert_eq!(if_match(&h, "p"), Precondition::Versions(vec![5]));
        assert_eq!(if_match(&h, "p-2"), Precondition::Versions(vec![9]));
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"made-up\""));
        assert_eq!(if_match(&h, "p"), Precondition::Versions(vec![]));
        h.insert(header::IF_MATCH, HeaderValue::from_static("*"));
        assert_eq!(if_match(&h, "p"), Precondition::Exists);
    }

    #[test]
    fn etags_separate_their_parts() {
        assert_ne!(etag(&["ab", "c"]), etag(&["a", "bc"]));
        assert_eq!(etag(&["a", "b"]), etag(&["a", "b"]));
    }
}
