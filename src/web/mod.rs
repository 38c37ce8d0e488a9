//! The web layer (`planledger serve`): the router with its layers (request id, tracing, compression, problem
//! details, timeout, body limit, security headers), the state every handler shares, and the server with graceful
//! shutdown. The API (`api/`, under `/api`) and the portal (`portal/`, everything else) are siblings that never
//! import each other; both take the problem type, the caller and conditional requests from here.

pub mod api;
pub mod auth;
pub mod conditional;
pub mod portal;
pub mod problem;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

use crate::store::ledger::Ledger;
pub use problem::Problem;

/// Longest a request may take to produce its response head.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest request body taken; the reads take none.
pub const BODY_LIMIT: usize = 64 * 1024;
/// How long in-flight requests may run on after a shutdown signal before they are cut.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The headers every response carries, pages and API alike. The portal serves no script, no inline style and nothing
/// from elsewhere, so `default-src 'self'` costs it nothing and stops injected markup from loading or running
/// anything; no page may be framed (clickjacking), browsers must not guess content types, and a link followed off
/// the portal carries its origin only.
pub const SECURITY_HEADERS: [(&str, &str); 5] = [
    (
        "content-security-policy",
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("cross-origin-opener-policy", "same-origin"),
];

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub ledger: Ledger,
    /// Turns true when the server begins to shut down; live feeds end on it so that shutdown is not held up.
    pub stopping: Arc<watch::Sender<bool>>,
}

/// The API's router with every layer, over `ledger`. Feeds end when `stopping` turns true.
pub fn router(ledger: Ledger, stopping: Arc<watch::Sender<bool>>) -> Router {
    let api =
        api::router().merge(crate::web::portal::routes()).fallback(not_found).with_state(AppState { ledger, stopping });
    // The last layer added is the outermost: the request id is set first, so the trace span, the problem
    // middleware and the response all carry it; problems wrap the timeout and the body limit so that their
    // answers are problem documents too.
    let mut app = api.layer(RequestBodyLimitLayer::new(BODY_LIMIT));
    for (name, value) in SECURITY_HEADERS {
        app = app.layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            axum::http::HeaderValue::from_static(value),
        ));
    }
    app.layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .layer(middleware::from_fn(problem::problems))
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
        crate::web::portal::not_found_page(uri.path())
    }
}

/// Whether `path` is the API's: problem documents are its error form; the portal's pages answer HTML.
pub(crate) fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
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
                seq_entries = r.seq_entries,
                in_force_entries = r.in_force_entries,
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
