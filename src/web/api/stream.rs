//! The live feed for mirrors: `GET /api/events/stream?after=SEQ` as server-sent events. It catches up from the log,
//! then follows the ledger's durable length, so a client sees every event once, in seq order, and one that
//! reconnects with its last seq (`after`, or the `Last-Event-ID` header browsers send) misses nothing.

use std::convert::Infallible;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::{mpsc, watch};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::reads::Params;
use crate::store::ledger::Ledger;
use crate::web::problem::{Problem, ProblemBody};
use crate::web::{AppState, blocking};

/// Events read from the log per step of the catch-up.
const FEED_BATCH: u64 = 1000;
/// Events buffered for a slow client before the feed waits for it.
const FEED_BUFFER: usize = 256;
/// The SSE event type of a ledger event; `id` is its seq and `data` its stored line.
pub const EVENT_TYPE: &str = "ledger-event";

/// `GET /api/events/stream?after=SEQ`: every event after SEQ (from the first without it) as an SSE `ledger-event`
/// whose `id` is its seq and whose `data` is its stored line, then each new one as it becomes durable.
#[utoipa::path(
    get,
    path = "/api/events/stream",
    tag = "feed",
    params(
        ("after" = Option<u64>, Query, description = "The seq after which the feed starts; from the first event without it"),
        ("Last-Event-ID" = Option<u64>, Header, description = "The last seq a reconnecting client saw; takes precedence over `after`")
    ),
    responses(
        (status = 200, description = "A server-sent event stream: one `ledger-event` per event (`id` its seq, `data` its stored line), with keep-alive comments; it ends when the server stops", body = String, content_type = "text/event-stream"),
        (status = 400, description = "`after` or `Last-Event-ID` is not a seq (named in `field`)", body = ProblemBody, content_type = "application/problem+json")
    )
)]
pub async fn stream(State(s): State<AppState>, Query(q): Params, headers: HeaderMap) -> Result<Response, Problem> {
    // A reconnecting EventSource repeats the URL it was opened with and names its last event in the header, which
    // is therefore the later word.
    let (field, raw) = match headers.get("last-event-id") {
        Some(v) => ("Last-Event-ID", Some(v.to_str().unwrap_or("\u{fffd}").to_string())),
        None => ("after", q.get("after").cloned()),
    };
    let after = raw.map(|v| crate::query::parse_seq(field, &v)).transpose()?;
    let from = after.map_or(0, |a| a.saturating_add(1));
    let (tx, rx) = mpsc::channel(FEED_BUFFER);
    tokio::spawn(follow(s.ledger.clone(), from, tx, s.stopping.subscribe()));
    let events = ReceiverStream::new(rx).map(Ok::<Event, Infallible>);
    Ok(Sse::new(events).keep_alive(KeepAlive::default()).into_response())
}

/// Sends events `from..` to `tx`: what is durable now, then each commit as the ledger publishes it. Ends when the
/// client goes away, the server stops, or the log cannot be read (logged; the client reconnects and resumes).
async fn follow(ledger: Ledger, mut next: u64, tx: mpsc::Sender<Event>, mut stopping: watch::Receiver<bool>) {
    let mut visible = ledger.subscribe();
    loop {
        // Marking the length seen before reading means a commit during the catch-up wakes the wait below.
        let len = *visible.borrow_and_update();
        while next < len {
            let (l, n) = (ledger.clone(), next);
            let batch = match blocking(move || Ok(l.read_events(n, FEED_BATCH)?)).await {
                Ok(b) if !b.is_empty() => b,
                Ok(_) => break,
                Err(p) => {
                    tracing::error!(
                        seq = next,
                        cause = p.cause.as_deref().unwrap_or(&p.detail),
                        "the feed cannot read"
                    );
                    return;
                }
            };
            for (seq, bytes) in batch {
                let Ok(line) = String::from_utf8(bytes) else {
                    tracing::error!(seq, "the feed met an event that is not UTF-8");
                    return;
                };
                let ev = Event::default().id(seq.to_string()).event(EVENT_TYPE).data(line);
                if tx.send(ev).await.is_err() {
                    return;
                }
                next = seq + 1;
            }
        }
        tokio::select! {
            r = visible.changed() => if r.is_err() { return },
            _ = stopping.wait_for(|s| *s) => return,
            () = tx.closed() => return,
        }
    }
}
