//! The writes the trials send: each writer owns one plan (a node, a second node and an indicator) and sends a mix
//! of the write endpoints, every request with its own `Idempotency-Key` and the key in its `reason`, so that each
//! request's events can be found and counted in the log. Also the plans' setup and the reading load of the soak.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::Fail;
use crate::http::{Client, HttpError, Response};

/// The years the trial plans run over; every target, milestone and actual falls in them.
const YEARS: [&str; 7] = ["2024", "2025", "2026", "2027", "2028", "2029", "2030"];

/// One write request, kept whole so that a retry sends exactly the same thing.
#[derive(Clone, Debug)]
pub struct Req {
    pub key: String,
    pub path: String,
    pub if_match: Option<String>,
    pub body: Vec<u8>,
    /// How many events it appends when it goes through.
    pub events: usize,
}

/// The seqs and hashes a 201 acknowledged.
#[derive(Clone, Debug)]
pub struct Ack {
    pub key: String,
    pub events: Vec<(u64, String)>,
    /// How many events the request appends.
    pub expect: usize,
}

/// The reason a trial request carries: how its events are found in the log.
pub fn reason(key: &str) -> String {
    format!("trial {key}")
}

/// The key in an event's reason, if a trial request made it.
pub fn key_of(reason: &str) -> Option<&str> {
    reason.strip_prefix("trial ")
}

pub fn plan(w: usize) -> String {
    format!("tr{w}")
}

/// The requests that give writer `w` its plan, nodes, indicator and an actual for every year.
pub fn setup(w: usize) -> Vec<(String, Value)> {
    let p = plan(w);
    let mut out = vec![
        (
            "/api/plans".to_string(),
            json!({"plan": p, "municipality": "品川区", "municipality_code": "131091",
            "title": format!("試行計画 {w}"), "kind": "実施計画", "period_from": "2024", "period_to": "2030",
            "status": "adopted", "levels": ["施策"], "reason": "trial setup"}),
        ),
        (
            format!("/api/plans/{p}/nodes"),
            json!({"node": format!("{p}.n"), "code": "1", "title": "施策一",
            "departments": ["企画課"], "reason": "trial setup"}),
        ),
        (
            format!("/api/plans/{p}/nodes"),
            json!({"node": format!("{p}.m"), "code": "2", "title": "施策二",
            "departments": ["企画課"], "reason": "trial setup"}),
        ),
        (
            format!("/api/nodes/{p}.n/indicators"),
            json!({"indicator": format!("{p}.n.k"), "name": "参加者数",
            "unit": "人", "direction": "higher", "reason": "trial setup"}),
        ),
    ];
    for y in YEARS {
        out.push((
            format!("/api/indicators/{p}.n.k/progress"),
            json!({"fiscal_year": y, "value": "0",
            "as_of": "2025-05-31", "reason": "trial setup"}),
        ));
    }
    out
}

/// Sends the setup requests of every writer; each must answer 201.
pub fn setup_all(addr: &str, token: &str, writers: usize) -> Result<(), Fail> {
    let mut c = Client::new(addr);
    let auth = format!("Bearer {token}");
    for w in 0..writers {
        for (path, body) in setup(w) {
            let b = serde_json::to_vec(&body)?;
            let r = c.request("POST", &path, &[("Authorization", &auth)], Some(&b))?;
            if r.status != 201 {
                return Err(format!("setup {path}: {} {}", r.status, String::from_utf8_lossy(&r.body)).into());
            }
        }
    }
    Ok(())
}

/// Makes writer `w`'s requests, one after another.
pub struct Writer {
    pub w: usize,
    n: u64,
    etag: Option<String>,
    rng: StdRng,
}

impl Writer {
    pub fn new(w: usize, seed: u64) -> Self {
        Self { w, n: 0, etag: None, rng: StdRng::seed_from_u64(seed ^ (w as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)) }
    }

    /// The next request; `tag` makes keys unique across the run (the trial number).
    pub fn next(&mut self, tag: u64) -> Req {
        self.n += 1;
        let (p, n) = (plan(self.w), self.n);
        let key = format!("k{tag}.{}.{n}", self.w);
        let r = reason(&key);
        let year = YEARS[self.rng.gen_range(0..YEARS.len())];
        let (path, body, events) = match self.rng.gen_range(0..7) {
            0 => (format!("/api/nodes/{p}.n/text"), json!({"text": format!("本文 {key}"), "reason": r}), 1),
            1 => (
                format!("/api/nodes/{p}.m/details"),
                json!({"details": [{"label": "概要", "text": format!("概要 {key}")}], "reason": r}),
                1,
            ),
            2 => (
                format!("/api/nodes/{p}.n/milestones"),
                json!({"fiscal_year": year, "text": format!("年度の取組 {key}"), "reason": r}),
                1,
            ),
            3 => (
                format!("/api/indicators/{p}.n.k/targets"),
                json!({"fiscal_year": year, "target": format!("{n}以上"), "reason": r}),
                1,
            ),
            4 => (
                format!("/api/indicators/{p}.n.k/progress/correct"),
                json!({"fiscal_year": year, "value": format!("{n}.5"), "as_of": "2025-05-31", "reason": r}),
                1,
            ),
            5 => (format!("/api/nodes/{p}.m/rename"), json!({"title": format!("施策二 第{n}版"), "reason": r}), 1),
            _ => (
                format!("/api/plans/{p}/commands"),
                json!({"reason": r, "commands": [
                    {"command": "revise_node_text", "node": format!("{p}.m"), "text": format!("一括 {key}")},
                    {"command": "set_target", "indicator": format!("{p}.n.k"), "fiscal_year": year, "target": format!("{n}")},
                ]}),
                2,
            ),
        };
        // A third of the writes name the version the writer last saw.
        let if_match = if self.rng.gen_bool(1.0 / 3.0) { self.etag.clone() } else { None };
        let body = serde_json::to_vec(&body).unwrap_or_default();
        Req { key, path, if_match, body, events }
    }

    /// Takes the plan's tag from an answer (201, or 412 which carries the current one).
    pub fn saw(&mut self, resp: &Response) {
        if let Some(t) = resp.header("etag") {
            self.etag = Some(t.to_string());
        }
    }
}

/// Sends one write with its key (and `If-Match` when it has one).
pub fn send(c: &mut Client, token: &str, req: &Req) -> Result<Response, HttpError> {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("Authorization", auth.as_str()), ("Idempotency-Key", req.key.as_str())];
    if let Some(t) = &req.if_match {
        headers.push(("If-Match", t.as_str()));
    }
    c.request("POST", &req.path, &headers, Some(&req.body))
}

/// The events a 201 names.
pub fn ack(req: &Req, resp: &Response) -> Result<Ack, Fail> {
    let v: Value = serde_json::from_slice(&resp.body)?;
    let mut events = Vec::new();
    for e in v["events"].as_array().ok_or("a 201 without events")? {
        let seq = e["seq"].as_u64().ok_or("an event without seq")?;
        let hash = e["hash"].as_str().ok_or("an event without hash")?.to_string();
        events.push((seq, hash));
    }
    Ok(Ack { key: req.key.clone(), events, expect: req.events })
}

pub fn replayed(resp: &Response) -> bool {
    resp.header("idempotent-replayed").is_some_and(|v| v == "true")
}

/// What one writer saw during one trial.
#[derive(Default)]
pub struct Seen {
    pub acked: Vec<Ack>,
    /// Requests answered with a refusal (the status), which must have appended nothing.
    pub refused: Vec<(Req, u16)>,
    /// The request whose answer the kill cut off.
    pub in_flight: Option<Req>,
    /// 201s of a first send that said they were replayed (a key used twice by mistake).
    pub replayed_first: u64,
    pub malformed: Vec<String>,
}

/// Writes until `killed` is set; a request cut off by the kill is handed back as in flight. A connection that
/// breaks while the server lives (it closed a kept-alive connection) is made again and the request sent again.
pub fn write_until(mut wr: Writer, addr: &str, token: &str, tag: u64, killed: Arc<AtomicBool>) -> (Writer, Seen) {
    let mut c = Client::new(addr);
    let mut seen = Seen::default();
    while !killed.load(Ordering::SeqCst) {
        let req = wr.next(tag);
        // Whether a send of this request broke after writing it: then it may have been appended.
        let mut maybe_sent = false;
        loop {
            match send(&mut c, token, &req) {
                Ok(resp) => {
                    wr.saw(&resp);
                    if resp.status == 201 {
                        if replayed(&resp) && !maybe_sent {
                            seen.replayed_first += 1;
                        }
                        match ack(&req, &resp) {
                            Ok(a) => seen.acked.push(a),
                            Err(e) => seen.malformed.push(format!("{}: {e}", req.key)),
                        }
                    } else {
                        seen.refused.push((req, resp.status));
                    }
                    break;
                }
                Err(e) if killed.load(Ordering::SeqCst) => {
                    if maybe_sent || matches!(e, HttpError::Broken(_)) {
                        seen.in_flight = Some(req);
                    }
                    return (wr, seen);
                }
                Err(e) => {
                    maybe_sent |= matches!(e, HttpError::Broken(_));
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    c = Client::new(addr);
                }
            }
        }
    }
    (wr, seen)
}
