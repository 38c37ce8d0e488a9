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

use super::problem::{Problem, proof_problem};
use super::{AppState, blocking, etag, not_modified, unchanged};
use crate::domain::state::Plan;
use crate::domain::{IndicatorId, NodeId, PlanId};
use crate::ledger::{Ledger, LedgerError};
use crate::projection::{self, Point};

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

fn point_key(p: Option<Point>) -> String {
    // Invariant: a Point serializes (a tagged number, instant or date).
    p.map_or_else(|| "now".into(), |p| serde_json::to_string(&p).expect("points serialize"))
}

/// `GET /api/plans`: every plan's summary. Depends on the whole state, so its tag is the head.
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
pub async fn plan(
    State(s): State<AppState>,
    Path(plan): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (id, current) = plan_of(&s.ledger, &plan)?;
    let pt = point_param(&q, &current)?;
    let tag = etag(&["plan", id.as_str(), &current.version.to_string(), &point_key(pt)]);
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

/// `GET /api/plans/{plan}/versions`: the named versions, oldest first.
pub async fn versions(
    State(s): State<AppState>,
    Path(plan): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (id, pl) = plan_of(&s.ledger, &plan)?;
    let tag = etag(&["versions", id.as_str(), &pl.version.to_string()]);
    if not_modified(&headers, &tag) {
        return Ok(unchanged(tag));
    }
    let mut rows: Vec<(&String, &u64)> = pl.versions.iter().collect();
    rows.sort_by_key(|(name, seq)| (**seq, (*name).clone()));
    let v: Vec<_> = rows.iter().map(|(n, s)| serde_json::json!({"name": n, "seq": s})).collect();
    Ok(json(tag, &v))
}

/// `GET /api/plans/{plan}/diff?from=&to=`: points in the one-string form `diff` takes.
pub async fn diff(
    State(s): State<AppState>,
    Path(plan): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (id, pl) = plan_of(&s.ledger, &plan)?;
    let from = projection::parse_point("from", required(&q, "from")?, &pl)?;
    let to = projection::parse_point("to", required(&q, "to")?, &pl)?;
    let tag = etag(&["diff", id.as_str(), &pl.version.to_string(), &point_key(from), &point_key(to)]);
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
pub async fn blame(
    State(s): State<AppState>,
    Path(plan): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (id, pl) = plan_of(&s.ledger, &plan)?;
    let pt = point_param(&q, &pl)?;
    let tag = etag(&["blame", id.as_str(), &pl.version.to_string(), &point_key(pt)]);
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
    let tag = etag(&["indicator", iid.as_str(), ind.plan.as_str(), &version.to_string()]);
    if not_modified(&headers, &tag) {
        return Ok(unchanged(tag));
    }
    Ok(json(tag, &projection::view::indicator_view(&p.state, ind)))
}

/// `GET /api/indicators/{id}/history`.
pub async fn indicator_history(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (iid, plan, version) = indicator_of(&s.ledger, &id)?;
    history(s.ledger, format!("indicator:{iid}"), &plan, version, &headers).await
}

/// `GET /api/nodes/{id}/history`.
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
    let tag = etag(&["history", &key, plan.as_str(), &version.to_string()]);
    if not_modified(headers, &tag) {
        return Ok(unchanged(tag));
    }
    let h = blocking(move || Ok(projection::history(&ledger.records_for(&key)?))).await?;
    Ok(json(tag, &h))
}

/// `GET /api/events?after=SEQ&limit=N`: the stored lines of the events after SEQ (from the first without it), as
/// JSON Lines, at most N of them. A `Link` header names the next page while there is one.
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
