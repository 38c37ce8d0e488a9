//! The public transparency portal served by `planledger serve`: server-rendered HTML pages (maud), Atom feeds and
//! downloads, all read from the published state, the entity index and the time-travel snapshot cache.
//!
//! Each handler extracts its parameters and calls one function of [`pages`] (pure over the ledger's reads, with
//! "today" passed in so that tests can fix it); errors become HTML error pages naming the parameter at fault.

pub mod atom;
pub mod chart;
pub mod downloads;
pub mod layout;

pub use layout::enc;
pub mod pages;

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::Markup;

use crate::web::{AppState, Problem, blocking};

/// Query parameters, read as strings so that a bad one is refused by name.
type Params = Query<BTreeMap<String, String>>;

/// The portal's routes (HTML pages, feeds and downloads); the API's routes stay under `/api`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/plans/{plan}", get(plan))
        .route("/plans/{plan}/compare", get(compare))
        .route("/plans/{plan}/download.csv", get(plan_csv))
        .route("/plans/{plan}/download.json", get(plan_json))
        .route("/indicators/{id}", get(indicator))
        .route("/nodes/{id}", get(node))
        .route("/changes", get(changes))
        .route("/events/{seq}", get(event))
        .route("/verify", get(verify))
        .route("/feeds/plans/{plan}", get(feed_plan))
        .route("/feeds/indicators/{id}", get(feed_indicator))
        .route("/feeds/departments/{dept}", get(feed_department))
        .route(layout::CSS_PATH, get(css))
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        layout::CSS,
    )
        .into_response()
}

/// The page for a refusal or failure: the status, the parameter at fault and why. An internal cause goes to the
/// log only.
pub fn error_page(p: &Problem) -> Response {
    if let Some(cause) = &p.cause {
        tracing::error!(status = p.status.as_u16(), cause = %cause, "portal page failed");
    }
    (p.status, layout::error(p.status, p.field.as_deref(), &p.detail)).into_response()
}

/// The portal's answer to a path nothing serves.
pub fn not_found_page(path: &str) -> Response {
    error_page(&Problem::not_found("path", format!("このアドレスにページはありません（no page at {path}）")))
}

fn html(r: Result<Markup, Problem>) -> Response {
    match r {
        Ok(m) => ([(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))], m).into_response(),
        Err(p) => error_page(&p),
    }
}

/// Runs a page builder on the blocking pool (it may read the log) and answers with the page or the error page.
async fn page(f: impl FnOnce() -> Result<Markup, Problem> + Send + 'static) -> Response {
    html(blocking(f).await)
}

async fn index(State(s): State<AppState>, Query(q): Params) -> Response {
    page(move || pages::index(&s.ledger, &q, s.ledger.today())).await
}

async fn plan(State(s): State<AppState>, Path(plan): Path<String>, Query(q): Params) -> Response {
    page(move || pages::plan(&s.ledger, &plan, &q, s.ledger.today())).await
}

async fn compare(State(s): State<AppState>, Path(plan): Path<String>, Query(q): Params) -> Response {
    page(move || pages::compare(&s.ledger, &plan, &q, s.ledger.today())).await
}

async fn indicator(State(s): State<AppState>, Path(id): Path<String>, Query(q): Params) -> Response {
    page(move || pages::indicator(&s.ledger, &id, &q, s.ledger.today())).await
}

async fn node(State(s): State<AppState>, Path(id): Path<String>, Query(q): Params) -> Response {
    page(move || pages::node(&s.ledger, &id, &q, s.ledger.today())).await
}

async fn changes(State(s): State<AppState>, Query(q): Params) -> Response {
    page(move || pages::changes(&s.ledger, &q, s.ledger.today())).await
}

async fn event(State(s): State<AppState>, Path(seq): Path<String>) -> Response {
    page(move || pages::event(&s.ledger, &seq, s.ledger.today())).await
}

async fn verify(State(s): State<AppState>) -> Response {
    page(move || Ok(pages::verify(&s.ledger, s.ledger.today()))).await
}

fn download(r: Result<downloads::Download, Problem>) -> Response {
    match r {
        Ok(d) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(d.content_type)),
                (
                    header::CONTENT_DISPOSITION,
                    // Invariant: plan ids are ASCII letters, digits, '-', '.' and '_'; the name is built from one.
                    HeaderValue::from_str(&format!("attachment; filename=\"{}\"", d.file_name))
                        .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
                ),
            ],
            d.body,
        )
            .into_response(),
        Err(p) => error_page(&p),
    }
}

async fn plan_csv(State(s): State<AppState>, Path(plan): Path<String>, Query(q): Params) -> Response {
    download(blocking(move || downloads::plan_csv(&s.ledger, &plan, &q)).await)
}

async fn plan_json(State(s): State<AppState>, Path(plan): Path<String>, Query(q): Params) -> Response {
    download(blocking(move || downloads::plan_json(&s.ledger, &plan, &q)).await)
}

/// The absolute base of links in feeds (Atom asks for resolvable links): the request's `Host`.
fn base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)));
    format!("http://{}", host.unwrap_or("localhost"))
}

fn atom(r: Result<String, Problem>) -> Response {
    match r {
        Ok(body) => ([(header::CONTENT_TYPE, HeaderValue::from_static(atom::CONTENT_TYPE))], body).into_response(),
        Err(p) => error_page(&p),
    }
}

async fn feed_plan(State(s): State<AppState>, Path(plan): Path<String>, headers: HeaderMap) -> Response {
    let base = base(&headers);
    atom(blocking(move || atom::plan(&s.ledger, &plan, &base)).await)
}

async fn feed_indicator(State(s): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let base = base(&headers);
    atom(blocking(move || atom::indicator(&s.ledger, &id, &base)).await)
}

async fn feed_department(State(s): State<AppState>, Path(dept): Path<String>, headers: HeaderMap) -> Response {
    let base = base(&headers);
    atom(blocking(move || atom::department(&s.ledger, &dept, &base)).await)
}
