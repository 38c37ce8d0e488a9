//! The public reads under `/api`: each handler extracts its parameters, calls the library, and answers with the
//! serde form the CLI's `--json` prints, an ETag, or a problem.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::problem::{Problem, ProblemBody, proof_problem};
use super::{AppState, blocking, etag, not_modified, plan_etag, unchanged};
use crate::audit::{ConsistencyProof, InclusionProof};
use crate::domain::state::Plan;
use crate::domain::{IndicatorId, NodeId, PlanId};
use crate::ledger::{Ledger, LedgerError};
use crate::projection::{self, Point};
use crate::projection::{BlameEntry, HistoryEntry, IndicatorView, PlanDiff, PlanSummary, PlanView};

/// Query parameters, read as strings so that a bad one is refused by name.
pub type Params = Query<BTreeMap<String, String>>;

/// Default and largest page of `/api/events`.
pub const EVENTS_PAGE: u64 = 1000;
pub const EVENTS_PAGE_MAX: u64 = 10_000;

/// The ledger file's media type: JSON Lines.
pub const JSONL: &str = "application/jsonl";

fn json<T: serde::Serialize>(tag: HeaderValue, body: &T) -> Response {
    ([(header::ETAG, tag)], Json(body)).into_response()
}

fn u64_param(q: &BTreeMap<String, String>, name: &str) -> Result<Option<u64>, Problem> {
    q.get(name)
        .map(|v| v.parse::<u64>().map_err(|_| Problem::bad(name, format!("{v:?} is not a whole number"))))
        .transpose()
}

fn required<'a>(q: &'a BTreeMap<String, String>, name: &str) -> Result<&'a str, Problem> {
    q.get(name).map(String::as_str).ok_or_else(|| Problem::bad(name, "required"))
}

/// The current plan named in the path; 404 when there is none.
fn plan_of(ledger: &Ledger, plan: &str) -> Result<(PlanId, Plan), Problem> {
    let missing = || Problem::not_found("plan", format!("no plan {plan:?}"));
    let id = PlanId::new(plan).map_err(|_| missing())?;
    let p = ledger.read();
    let pl = p.state.plans.get(&id).cloned().ok_or_else(missing)?;
    Ok((id, pl))
}

/// `at`, `as_of`, `effective` or `version`: at most one.
pub fn point_param(q: &BTreeMap<String, String>, plan: &Plan) -> Result<Option<Point>, Problem> {
    let given: Vec<&str> = ["at", "as_of", "effective", "version"].into_iter().filter(|k| q.contains_key(*k)).collect();
    if given.len() > 1 {
        return Err(Problem::bad(&given.join(","), "give at most one of at, as_of, effective and version"));
    }
    Ok(match given.first().copied() {
        None => None,
        Some("at") => u64_param(q, "at")?.map(Point::Seq),
        Some("as_of") => Some(Point::AsOf(projection::parse_instant("as_of", &q["as_of"])?)),
        Some("effective") => Some(Point::Effective(projection::parse_effective("effective", &q["effective"])?)),
        Some(_) => Some(projection::version_point("version", plan, &q["version"])?),
    })
}

/// The point parameters `point_param` reads, as the OpenAPI document describes them (once, for every endpoint that
/// takes them). Requests are read as a map so that a bad value is refused by name; this type is only the schema.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PointQuery {
    /// The plan right after the event with this seq was appended
    at: Option<u64>,
    /// The plan as the ledger had recorded it at this RFC 3339 instant
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// The plan as in force on this date: `YYYY-MM-DD`, or a fiscal year (e.g. `2017`, `令和3`) for its 1 April
    effective: Option<String>,
    /// The plan at this named version (see `/versions`). At most one of `at`, `as_of`, `effective` and `version`
    /// may be given
    version: Option<String>,
}

pub(super) fn point_key(p: Option<Point>) -> String {
    // Invariant: a Point serializes (a tagged number, instant or date).
    p.map_or_else(|| "now".into(), |p| serde_json::to_string(&p).expect("points serialize"))
}

/// `GET /api/plans`: every plan's summary. Depends on the whole state, so its tag is the head.
#[utoipa::path(
    get,
    path = "/api/plans",
    tag = "reads",
    responses(
        (status = 200, description = "Every plan's summary", body = [PlanSummary], content_type = "application/json")
    )
)]
pub async fn plans(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let p = s.ledger.read();
    let tag = etag(&["plans", &p.head.len.to_string(), &p.head.hash.to_string()]);
    if not_modified(&headers, &tag) {
        return unchanged(tag);
    }
    let plans: Vec<_> = p.state.plans.keys().filter_map(|id| projection::view::summary(&p.state, id)).collect();
    json(tag, &plans)
}

/// `GET /api/plans/{plan}`: the plan now or at one point.
#[utoipa::path(
    get,
    path = "/api/plans/{plan}",
    tag = "reads",
    params(
        ("plan" = String, Path, description = "The plan id, e.g. `shinagawa-jisshi-4`"),
        PointQuery
    ),
    responses(
        (status = 200, description = "The plan with its node tree, indicators and series", body = PlanView, content_type = "application/json"),
        (status = 400, description = "A malformed or out-of-range parameter, named in `field`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such plan (`field` is `plan`), or the plan did not exist at the point asked for", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The ledger is shutting down", body = ProblemBody, content_type = "application/problem+json")
    )
)]
pub async fn plan(
    State(s): State<AppState>,
    Path(plan): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (id, current) = plan_of(&s.ledger, &plan)?;
    let pt = point_param(&q, &current)?;
    let tag = plan_etag(id.as_str(), current.version, &["plan", &point_key(pt)]);
    if not_modified(&headers, &tag) {
        return Ok(unchanged(tag));
    }
    let ledger = s.ledger.clone();
    let view = blocking(move || {
        let state = ledger.plan_at(&id, pt)?.state;
        projection::view_plan(&state, &id).ok_or_else(|| {
            Problem::not_found(
                "plan",
                format!("plan {id} did not exist at {}", pt.map_or("now".into(), |p| p.describe())),
            )
        })
    })
    .await?;
    Ok(json(tag, &view))
}

/// A named version of a plan: the seq of the event that named it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct NamedVersion {
    pub name: String,
    pub seq: u64,
}

/// `GET /api/plans/{plan}/versions`: the named versions, oldest first.
#[utoipa::path(
    get,
    path = "/api/plans/{plan}/versions",
    tag = "reads",
    params(
        ("plan" = String, Path, description = "The plan id, e.g. `shinagawa-jisshi-4`")
    ),
    responses(
        (status = 200, description = "The named versions, oldest first", body = [NamedVersion], content_type = "application/json"),
        (status = 404, description = "No such plan (`field` is `plan`), or the plan did not exist at the point asked for", body = ProblemBody, content_type = "application/problem+json")
    )
)]
pub async fn versions(
    State(s): State<AppState>,
    Path(plan): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (id, pl) = plan_of(&s.ledger, &plan)?;
    let tag = plan_etag(id.as_str(), pl.version, &["versions"]);
    if not_modified(&headers, &tag) {
        return Ok(unchanged(tag));
    }
    let mut v: Vec<NamedVersion> =
        pl.versions.iter().map(|(name, seq)| NamedVersion { name: name.clone(), seq: *seq }).collect();
    v.sort_by(|a, b| (a.seq, &a.name).cmp(&(b.seq, &b.name)));
    Ok(json(tag, &v))
}

/// `GET /api/plans/{plan}/diff?from=&to=`: points in the one-string form `diff` takes.
#[utoipa::path(
    get,
    path = "/api/plans/{plan}/diff",
    tag = "reads",
    params(
        ("plan" = String, Path, description = "The plan id, e.g. `shinagawa-jisshi-4`"),
        ("from" = String, Query, description = "The earlier point: `now`, a seq, `YYYY-MM-DD` (effective), an RFC 3339 instant (as of), a version name, or explicitly `seq:N`, `as-of:INSTANT`, `effective:DATE`, `version:NAME`"),
        ("to" = String, Query, description = "The later point, in the same forms as `from`")
    ),
    responses(
        (status = 200, description = "The differences between the two points, with the events that made them", body = PlanDiff, content_type = "application/json"),
        (status = 400, description = "A malformed or out-of-range parameter, named in `field`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such plan (`field` is `plan`), or the plan did not exist at the point asked for", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The ledger is shutting down", body = ProblemBody, content_type = "application/problem+json")
    )
)]
pub async fn diff(
    State(s): State<AppState>,
    Path(plan): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (id, pl) = plan_of(&s.ledger, &plan)?;
    let from = projection::parse_point("from", required(&q, "from")?, &pl)?;
    let to = projection::parse_point("to", required(&q, "to")?, &pl)?;
    let tag = plan_etag(id.as_str(), pl.version, &["diff", &point_key(from), &point_key(to)]);
    if not_modified(&headers, &tag) {
        return Ok(unchanged(tag));
    }
    let ledger = s.ledger.clone();
    let d = blocking(move || {
        let records = ledger.records_for(&format!("plan:{id}"))?;
        Ok(projection::diff(&records, &id, from, to))
    })
    .await?;
    Ok(json(tag, &d))
}

/// `GET /api/plans/{plan}/blame`: for every value, the event that last set it (now or at one point).
#[utoipa::path(
    get,
    path = "/api/plans/{plan}/blame",
    tag = "reads",
    params(
        ("plan" = String, Path, description = "The plan id, e.g. `shinagawa-jisshi-4`"),
        PointQuery
    ),
    responses(
        (status = 200, description = "Every value and the event that last set it", body = [BlameEntry], content_type = "application/json"),
        (status = 400, description = "A malformed or out-of-range parameter, named in `field`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such plan (`field` is `plan`), or the plan did not exist at the point asked for", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The ledger is shutting down", body = ProblemBody, content_type = "application/problem+json")
    )
)]
pub async fn blame(
    State(s): State<AppState>,
    Path(plan): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (id, pl) = plan_of(&s.ledger, &plan)?;
    let pt = point_param(&q, &pl)?;
    let tag = plan_etag(id.as_str(), pl.version, &["blame", &point_key(pt)]);
    if not_modified(&headers, &tag) {
        return Ok(unchanged(tag));
    }
    let ledger = s.ledger.clone();
    let rows = blocking(move || {
        let records = ledger.records_for(&format!("plan:{id}"))?;
        Ok(projection::blame(&records, &id, pt))
    })
    .await?;
    Ok(json(tag, &rows))
}

/// The indicator named in the path and its plan's version; 404 when there is none.
fn indicator_of(ledger: &Ledger, id: &str) -> Result<(IndicatorId, PlanId, u64), Problem> {
    let missing = || Problem::not_found("id", format!("no indicator {id:?}"));
    let iid = IndicatorId::new(id).map_err(|_| missing())?;
    let p = ledger.read();
    let ind = p.state.indicators.get(&iid).ok_or_else(missing)?;
    let version = p.state.plans.get(&ind.plan).map_or(0, |pl| pl.version);
    Ok((iid, ind.plan.clone(), version))
}

/// `GET /api/indicators/{id}`: the indicator with its target-against-actual series.
#[utoipa::path(
    get,
    path = "/api/indicators/{id}",
    tag = "reads",
    params(
        ("id" = String, Path, description = "The indicator id, e.g. `shinagawa-jisshi-4.6-1-1-2-r3.kpi1`")
    ),
    responses(
        (status = 200, description = "The indicator with its target-against-actual series", body = IndicatorView, content_type = "application/json"),
        (status = 404, description = "No such indicator (`field` is `id`)", body = ProblemBody, content_type = "application/problem+json")
    )
)]
pub async fn indicator(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let p = s.ledger.read();
    let missing = || Problem::not_found("id", format!("no indicator {id:?}"));
    let iid = IndicatorId::new(id.as_str()).map_err(|_| missing())?;
    let ind = p.state.indicators.get(&iid).ok_or_else(missing)?;
    let version = p.state.plans.get(&ind.plan).map_or(0, |pl| pl.version);
    let tag = plan_etag(ind.plan.as_str(), version, &["indicator", iid.as_str()]);
    if not_modified(&headers, &tag) {
        return Ok(unchanged(tag));
    }
    Ok(json(tag, &projection::view::indicator_view(&p.state, ind)))
}

/// `GET /api/indicators/{id}/history`.
#[utoipa::path(
    get,
    path = "/api/indicators/{id}/history",
    tag = "reads",
    params(
        ("id" = String, Path, description = "The indicator id")
    ),
    responses(
        (status = 200, description = "Every event that touched the indicator, oldest first, with what it changed", body = [HistoryEntry], content_type = "application/json"),
        (status = 404, description = "No such indicator (`field` is `id`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The ledger is shutting down", body = ProblemBody, content_type = "application/problem+json")
    )
)]
pub async fn indicator_history(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (iid, plan, version) = indicator_of(&s.ledger, &id)?;
    history(s.ledger, format!("indicator:{iid}"), &plan, version, &headers).await
}

/// `GET /api/nodes/{id}/history`.
#[utoipa::path(
    get,
    path = "/api/nodes/{id}/history",
    tag = "reads",
    params(
        ("id" = String, Path, description = "The node id")
    ),
    responses(
        (status = 200, description = "Every event that touched the node, oldest first, with what it changed", body = [HistoryEntry], content_type = "application/json"),
        (status = 404, description = "No such node (`field` is `id`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The ledger is shutting down", body = ProblemBody, content_type = "application/problem+json")
    )
)]
pub async fn node_history(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (nid, plan, version) = {
        let missing = || Problem::not_found("id", format!("no node {id:?}"));
        let nid = NodeId::new(id.as_str()).map_err(|_| missing())?;
        let p = s.ledger.read();
        let node = p.state.nodes.get(&nid).ok_or_else(missing)?;
        let version = p.state.plans.get(&node.plan).map_or(0, |pl| pl.version);
        (nid, node.plan.clone(), version)
    };
    history(s.ledger, format!("node:{nid}"), &plan, version, &headers).await
}

async fn history(
    ledger: Ledger,
    key: String,
    plan: &PlanId,
    version: u64,
    headers: &HeaderMap,
) -> Result<Response, Problem> {
    let tag = plan_etag(plan.as_str(), version, &["history", &key]);
    if not_modified(headers, &tag) {
        return Ok(unchanged(tag));
    }
    let h = blocking(move || Ok(projection::history(&ledger.records_for(&key)?))).await?;
    Ok(json(tag, &h))
}

/// `GET /api/events?after=SEQ&limit=N`: the stored lines of the events after SEQ (from the first without it), as
/// JSON Lines, at most N of them. A `Link` header names the next page while there is one.
#[utoipa::path(
    get,
    path = "/api/events",
    tag = "reads",
    params(
        ("after" = Option<u64>, Query, description = "The seq after which the page starts; from the first event without it"),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 10000, description = "Events per page, 1 to 10000; 1000 without it")
    ),
    responses(
        (status = 200, description = "The stored lines of the events, one JSON object per line (the export format). A `Link: <…>; rel=\"next\"` header names the next page while there is one", body = String, content_type = "application/jsonl", headers(("Link" = String, description = "The next page, while there is one"))),
        (status = 400, description = "A malformed or out-of-range parameter, named in `field`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The ledger is shutting down", body = ProblemBody, content_type = "application/problem+json")
    )
)]
pub async fn events(State(s): State<AppState>, Query(q): Params, headers: HeaderMap) -> Result<Response, Problem> {
    let from = u64_param(&q, "after")?.map_or(0, |a| a.saturating_add(1));
    let limit = u64_param(&q, "limit")?.unwrap_or(EVENTS_PAGE);
    if limit == 0 || limit > EVENTS_PAGE_MAX {
        return Err(Problem::bad("limit", format!("must be 1 to {EVENTS_PAGE_MAX}")));
    }
    let head = s.ledger.head().len;
    let to = head.min(from.saturating_add(limit)).max(from);
    // Events never change once durable: the page is fixed by its range.
    let tag = etag(&["events", &from.to_string(), &to.to_string()]);
    if not_modified(&headers, &tag) {
        return Ok(unchanged(tag));
    }
    let ledger = s.ledger.clone();
    let rows = blocking(move || Ok(ledger.read_events(from, to - from)?)).await?;
    let mut body = Vec::new();
    for (_, bytes) in &rows {
        body.extend_from_slice(bytes);
        body.push(b'\n');
    }
    let mut res =
        ([(header::ETAG, tag), (header::CONTENT_TYPE, HeaderValue::from_static(JSONL))], body).into_response();
    if to < head {
        let next = format!("</api/events?after={}&limit={limit}>; rel=\"next\"", to - 1);
        // Invariant: digits and ASCII punctuation.
        res.headers_mut().insert(header::LINK, HeaderValue::from_str(&next).expect("a Link header is ASCII"));
    }
    Ok(res)
}

/// `GET /api/checkpoint`: the latest signed note, as text.
#[utoipa::path(
    get,
    path = "/api/checkpoint",
    tag = "reads",
    responses(
        (status = 200, description = "The latest signed checkpoint note", body = String, content_type = "text/plain; charset=utf-8")
    )
)]
pub async fn checkpoint(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let note = s.ledger.checkpoint();
    let tag = etag(&["checkpoint", &blake3::hash(note.as_bytes()).to_hex()]);
    if not_modified(&headers, &tag) {
        return unchanged(tag);
    }
    ([(header::ETAG, tag), (header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))], note)
        .into_response()
}

/// `GET /api/proof/inclusion?seq=&size=`: `size` defaults to the whole ledger.
#[utoipa::path(
    get,
    path = "/api/proof/inclusion",
    tag = "reads",
    params(
        ("seq" = u64, Query, description = "The seq of the event to prove"),
        ("size" = Option<u64>, Query, description = "The tree size the proof is against; the whole ledger without it")
    ),
    responses(
        (status = 200, description = "The RFC 6962 inclusion proof (hashes in standard base64)", body = InclusionProof, content_type = "application/json"),
        (status = 400, description = "A malformed or out-of-range parameter, named in `field`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The ledger is shutting down", body = ProblemBody, content_type = "application/problem+json")
    )
)]
pub async fn inclusion(State(s): State<AppState>, Query(q): Params, headers: HeaderMap) -> Result<Response, Problem> {
    let seq = u64_param(&q, "seq")?.ok_or_else(|| Problem::bad("seq", "required"))?;
    let size = u64_param(&q, "size")?.unwrap_or_else(|| s.ledger.head().len);
    // A proof over a fixed tree never changes.
    let tag = etag(&["inclusion", &seq.to_string(), &size.to_string()]);
    if not_modified(&headers, &tag) {
        return Ok(unchanged(tag));
    }
    let ledger = s.ledger.clone();
    let proof = blocking(move || {
        ledger.inclusion_proof(seq, Some(size)).map_err(|e| match e {
            LedgerError::Proof(p) => proof_problem(p, "seq", "size"),
            other => other.into(),
        })
    })
    .await?;
    Ok(json(tag, &proof))
}

/// `GET /api/proof/consistency?from=&to=`: tree sizes.
#[utoipa::path(
    get,
    path = "/api/proof/consistency",
    tag = "reads",
    params(
        ("from" = u64, Query, description = "The earlier tree size"),
        ("to" = u64, Query, description = "The later tree size")
    ),
    responses(
        (status = 200, description = "The RFC 6962 consistency proof (hashes in standard base64)", body = ConsistencyProof, content_type = "application/json"),
        (status = 400, description = "A malformed or out-of-range parameter, named in `field`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The ledger is shutting down", body = ProblemBody, content_type = "application/problem+json")
    )
)]
pub async fn consistency(State(s): State<AppState>, Query(q): Params, headers: HeaderMap) -> Result<Response, Problem> {
    let from = u64_param(&q, "from")?.ok_or_else(|| Problem::bad("from", "required"))?;
    let to = u64_param(&q, "to")?.ok_or_else(|| Problem::bad("to", "required"))?;
    let tag = etag(&["consistency", &from.to_string(), &to.to_string()]);
    if not_modified(&headers, &tag) {
        return Ok(unchanged(tag));
    }
    let ledger = s.ledger.clone();
    let proof = blocking(move || {
        ledger.consistency_proof(from, to).map_err(|e| match e {
            LedgerError::Proof(p) => proof_problem(p, "from", "to"),
            other => other.into(),
        })
    })
    .await?;
    Ok(json(tag, &proof))
}

/// Events read per chunk of the export.
const EXPORT_CHUNK: u64 = 1000;

/// `GET /api/export`: the whole ledger file (the export format) as of the request, streamed in chunks.
#[utoipa::path(
    get,
    path = "/api/export",
    tag = "reads",
    responses(
        (status = 200, description = "The whole ledger file (the export format, JSON Lines) as of the request, streamed; a read failure mid-way cuts the body short", body = String, content_type = "application/jsonl", headers(("Content-Disposition" = String, description = "`attachment; filename=\"planledger.jsonl\"`")))
    )
)]
pub async fn export(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let head = s.ledger.head();
    let tag = etag(&["export", &head.len.to_string(), &head.hash.to_string()]);
    if not_modified(&headers, &tag) {
        return unchanged(tag);
    }
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let ledger = s.ledger.clone();
    tokio::task::spawn_blocking(move || {
        let mut from = 0;
        while from < head.len {
            let chunk = match ledger.read_events(from, EXPORT_CHUNK.min(head.len - from)) {
                Ok(c) if !c.is_empty() => c,
                Ok(_) => return,
                Err(e) => {
                    // The status line is already sent: the client sees the body cut short, the log says why.
                    tracing::error!(error = %e, seq = from, "export failed");
                    let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
                    return;
                }
            };
            let mut buf = Vec::new();
            for (_, bytes) in &chunk {
                buf.extend_from_slice(bytes);
                buf.push(b'\n');
            }
            from += chunk.len() as u64;
            if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                return;
            }
        }
    });
    (
        [
            (header::ETAG, tag),
            (header::CONTENT_TYPE, HeaderValue::from_static(JSONL)),
            (header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"planledger.jsonl\"")),
        ],
        Body::from_stream(ReceiverStream::new(rx)),
    )
        .into_response()
}
