//! The log itself under `/api`: pages of stored lines, the whole export, the signed checkpoint and the RFC 6962
//! proofs. Every answer is bounded by one read of the durable head.

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::answer;
use super::reads::Params;
use crate::core::audit::{ConsistencyProof, InclusionProof};
use crate::query::{Read, parse_seq};
use crate::store::LedgerError;
use crate::web::AppState;
use crate::web::conditional::{etag, not_modified, unchanged};
use crate::web::problem::{Problem, ProblemBody, proof_problem};

/// Default and largest page of `/api/events`.
pub const EVENTS_PAGE: u64 = 1000;
pub const EVENTS_PAGE_MAX: u64 = 10_000;

/// The ledger file's media type: JSON Lines.
pub const JSONL: &str = "application/jsonl";

/// A seq or tree size given as a query parameter, refused by name unless it is a whole number in `int64` range.
pub fn u64_param(q: &BTreeMap<String, String>, name: &str) -> Result<Option<u64>, Problem> {
    Ok(q.get(name).map(|v| parse_seq(name, v)).transpose()?)
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
    answer(s, headers, move |ledger, fresh| {
        let from = u64_param(&q, "after")?.map_or(0, |a| a.saturating_add(1));
        let limit = u64_param(&q, "limit")?.unwrap_or(EVENTS_PAGE);
        if limit == 0 || limit > EVENTS_PAGE_MAX {
            return Err(Problem::bad("limit", format!("must be 1 to {EVENTS_PAGE_MAX}")));
        }
        let read = Read::new(ledger);
        let head = read.head().len;
        let to = head.min(from.saturating_add(limit)).max(from);
        // Events never change once durable: the page is fixed by its range.
        let tag = etag(&["events", &from.to_string(), &to.to_string()]);
        let reply = fresh.bytes_with(tag, JSONL, || {
            let mut body = Vec::new();
            for (_, bytes) in read.lines(from, to - from)? {
                body.extend_from_slice(&bytes);
                body.push(b'\n');
            }
            Ok(body)
        })?;
        if to < head {
            let next = format!("</api/events?after={}&limit={limit}>; rel=\"next\"", to - 1);
            // Invariant: digits and ASCII punctuation.
            return Ok(reply.with_header(header::LINK, HeaderValue::from_str(&next).expect("a Link header is ASCII")));
        }
        Ok(reply)
    })
    .await
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
pub async fn checkpoint(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, Problem> {
    answer(s, headers, |ledger, fresh| {
        let read = Read::new(ledger);
        let note = read.checkpoint().to_string();
        let tag = etag(&["checkpoint", &blake3::hash(note.as_bytes()).to_hex()]);
        fresh.bytes_with(tag, "text/plain; charset=utf-8", || Ok(note.into_bytes()))
    })
    .await
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
    answer(s, headers, move |ledger, fresh| {
        let seq = u64_param(&q, "seq")?.ok_or_else(|| Problem::bad("seq", "required"))?;
        let size = u64_param(&q, "size")?.unwrap_or_else(|| Read::new(ledger).head().len);
        // A proof over a fixed tree never changes.
        let tag = etag(&["inclusion", &seq.to_string(), &size.to_string()]);
        fresh.json_with(tag, || {
            ledger.inclusion_proof(seq, Some(size)).map_err(|e| match e {
                LedgerError::Proof(p) => proof_problem(p, "seq", "size"),
                other => other.into(),
            })
        })
    })
    .await
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
    answer(s, headers, move |ledger, fresh| {
        let from = u64_param(&q, "from")?.ok_or_else(|| Problem::bad("from", "required"))?;
        let to = u64_param(&q, "to")?.ok_or_else(|| Problem::bad("to", "required"))?;
        let tag = etag(&["consistency", &from.to_string(), &to.to_string()]);
        fresh.json_with(tag, || {
            ledger.consistency_proof(from, to).map_err(|e| match e {
                LedgerError::Proof(p) => proof_problem(p, "from", "to"),
                other => other.into(),
            })
        })
    })
    .await
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
    let head = Read::new(&s.ledger).head();
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
