//! The portal in a real browser: headless Chromium driven through chromedriver (W3C WebDriver over a small
//! blocking HTTP client) against the server on a free local port with the seed plans loaded. Loads every page
//! kind, follows a target revision from the indicator page to its permalink, switches to a past version and reads
//! the banner, opens a compare page, downloads the CSV and a feed through the page's links and parses them, and
//! checks keyboard focus. Screenshots go to `target/portal-screenshots/`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::http::seeded;
use crate::portal::{KPI, SHINAGAWA, accessible, check_atom, check_csv, revise_target};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn find(env: &str, default: &str) -> PathBuf {
    let p = std::env::var_os(env).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(default));
    assert!(
        p.exists(),
        "{} not found: the browser tests need Chromium and chromedriver. Install them with \
         `apt-get update && apt-get install -y chromium chromium-driver` (`.ci/run` does this), or point {env} at \
         the binary.",
        p.display()
    );
    p
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One HTTP/1.1 exchange on a fresh connection; the answer's length comes from its `Content-Length`, which
/// chromedriver always sends.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<(u16, Value)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{payload}",
        payload.len()
    )?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let (head_len, body_len) = loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed before the headers"));
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (end + 4, len);
        }
    };
    while raw.len() < head_len + body_len {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&raw[..head_len]);
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = &raw[head_len..];
    let value = if body.is_empty() { Value::Null } else { serde_json::from_slice(body).unwrap_or(Value::Null) };
    Ok((status, value))
}

/// A chromedriver process we started, stopped by its own handle.
struct Driver {
    child: Child,
    port: u16,
    session: String,
}

impl Driver {
    fn start(profile: &Path) -> Self {
        let chromium = find("CHROMIUM", CHROMIUM);
        let chromedriver = find("CHROMEDRIVER", CHROMEDRIVER);
        let port = free_port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        // Owned before anything can fail, so that a failure stops the process (in `drop`).
        let mut d = Driver { child, port, session: String::new() };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !matches!(http(port, "GET", "/status", None), Ok((200, v)) if v["value"]["ready"] == true) {
            assert!(Instant::now() < deadline, "chromedriver did not become ready on port {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,1600",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        } } });
        let (status, v) = http(port, "POST", "/session", Some(&caps)).unwrap();
        assert_eq!(status, 200, "a Chromium session starts: {v}");
        d.session = v["value"]["sessionId"].as_str().unwrap().to_string();
        d
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("/session/{}{path}", self.session);
        let (status, v) = http(self.port, method, &url, body.as_ref()).unwrap();
        assert_eq!(status, 200, "{method} {path}: {v}");
        v["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    fn url(&self) -> String {
        self.call("GET", "/url", None).as_str().unwrap().to_string()
    }

    fn find(&self, css: &str) -> String {
        let v = self.call("POST", "/element", Some(json!({ "using": "css selector", "value": css })));
        v.as_object().and_then(|o| o.values().next()).and_then(Value::as_str).unwrap().to_string()
    }

    fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.call("GET", &format!("/element/{e}/text"), None).as_str().unwrap().to_string()
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    /// Clicks what navigates (a link, a form's button) and waits until the new page has loaded: a click returns
    /// before a form's navigation completes.
    fn follow(&self, css: &str) {
        let before = self.url();
        self.click(css);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready =
                self.call("POST", "/execute/sync", Some(json!({ "script": "return document.readyState", "args": [] })));
            if self.url() != before && ready == "complete" {
                return;
            }
            assert!(Instant::now() < deadline, "clicking {css} on {before} did not navigate");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn attr(&self, css: &str, name: &str) -> String {
        let e = self.find(css);
        self.call("GET", &format!("/element/{e}/property/{name}"), None).as_str().unwrap().to_string()
    }

    fn html(&self) -> String {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": "return document.documentElement.outerHTML", "args": [] })),
        )
        .as_str()
        .unwrap()
        .to_string()
    }

    /// Fetches `href` from the page (as a download by the browser would) and returns the body's bytes.
    fn fetch(&self, href: &str) -> Vec<u8> {
        let script = "const done = arguments[arguments.length - 1];\
            fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => {\
              let s = ''; const a = new Uint8Array(b); for (const x of a) s += String.fromCharCode(x); done(btoa(s));\
            }).catch(e => done('ERR ' + e));";
        let v = self.call("POST", "/execute/async", Some(json!({ "script": script, "args": [href] })));
        let b64 = v.as_str().unwrap();
        assert!(!b64.starts_with("ERR"), "{href}: {b64}");
        base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
    }

    fn screenshot(&self, dir: &Path, name: &str) {
        let png = base64::engine::general_purpose::STANDARD
            .decode(self.call("GET", "/screenshot", None).as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    fn press_tab(&self) {
        let keys = json!({ "actions": [{ "type": "key", "id": "kbd", "actions": [
            { "type": "keyDown", "value": "\u{E004}" }, { "type": "keyUp", "value": "\u{E004}" }
        ] }] });
        self.call("POST", "/actions", Some(keys));
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http(self.port, "DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_portal_in_headless_chromium() {
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/portal-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let ledger = rt.block_on(seeded(&dir.path().join("ledger")));
    let seq = revise_target(&ledger);
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = planledger::web::app(ledger.clone());
    rt.spawn(async move { axum::serve(listener, app).await });

    let d = Driver::start(&dir.path().join("profile"));

    // The list of plans, then a plan by its link.
    d.goto(&format!("{base}/"));
    assert_eq!(d.text("h1"), "計画一覧（Plans）");
    accessible("/", &format!("<!DOCTYPE html>{}", d.html()));
    d.screenshot(&shots, "01-index");
    d.follow(&format!("a[href='/plans/{SHINAGAWA}']"));
    assert_eq!(d.url(), format!("{base}/plans/{SHINAGAWA}"));
    assert_eq!(d.text("h1"), "品川区総合実施計画（第4次）");
    assert!(d.text(".banner").contains("計画期間が終了した計画"), "the 2016–2018 plan has ended");
    d.screenshot(&shots, "02-plan");

    // Keyboard: the first Tab lands on the skip link, which is then visible.
    d.press_tab();
    let focused = d.call(
        "POST",
        "/execute/sync",
        Some(json!({ "script": "return document.activeElement.className", "args": [] })),
    );
    assert_eq!(focused, "skip", "the skip link is the first stop");

    // The indicator, its revision in the timeline, and the revision's permalink.
    d.follow(&format!("a[href='/indicators/{KPI}']"));
    assert!(d.text("h1").starts_with("指標："));
    let timeline = d.text("ol.timeline");
    assert!(timeline.contains("目標値の改定") && timeline.contains("中間見直しによる上方修正"), "{timeline}");
    d.screenshot(&shots, "03-indicator");
    d.follow(&format!("ol.timeline a[href='/events/{seq}']"));
    assert_eq!(d.url(), format!("{base}/events/{seq}"));
    assert!(d.text("h1").contains("目標値の改定"));
    let page = d.text("main");
    let rec = ledger.records(seq, seq + 1).unwrap().pop().unwrap();
    assert!(page.contains(&rec.hash().to_string()), "the permalink shows the event's hash");
    d.screenshot(&shots, "04-event");

    // Switch to the named past version with the form, and see the banner say so.
    d.goto(&format!("{base}/plans/{SHINAGAWA}"));
    d.click("details summary");
    d.follow("#pt-version ~ button");
    assert!(d.url().contains("?version="), "{}", d.url());
    let banner = d.text(".banner");
    assert!(banner.contains("過去の時点の表示") && banner.contains("NOT the current plan"), "{banner}");
    // The naming of the version and the revision came after it.
    assert!(banner.contains("この時点の後に 2 件の変更が記録されています"), "{banner}");
    d.screenshot(&shots, "05-plan-past-version");
    d.follow(".banner a");
    assert_eq!(d.url(), format!("{base}/plans/{SHINAGAWA}"), "the banner links to the current plan");

    // Compare the version with now.
    d.follow("a[href*='/compare?from=version']");
    assert!(d.text("h1").contains("2時点の比較"));
    let diff = d.text("main");
    // The naming of the version itself and the revision.
    assert!(diff.contains("違い differences（2 件）") && diff.contains("70%以上"), "{diff}");
    d.screenshot(&shots, "06-compare");

    // Download the CSV and a feed through the page's own links.
    d.goto(&format!("{base}/plans/{SHINAGAWA}"));
    let csv_href = d.attr("a[href$='/download.csv']", "href");
    let csv = String::from_utf8(d.fetch(&csv_href)).unwrap();
    let rows = check_csv(&csv, "131091");
    assert!(rows.iter().any(|r| &r[7] == KPI && &r[9] == "2018" && &r[10] == "目標" && &r[11] == "70"));
    let feed_href = d.attr("a[href^='/feeds/plans/']", "href");
    assert_eq!(d.attr("link[rel=alternate][type='application/atom+xml']", "href"), feed_href, "the feed is announced");
    let feed = String::from_utf8(d.fetch(&feed_href)).unwrap();
    let entries = check_atom(&feed);
    assert_eq!(entries[0].1, format!("/events/{seq}"));

    // The node page and the changes page, filtered by plan.
    let node = ledger.read().state.indicators.values().find(|i| i.id.as_str() == KPI).unwrap().node.to_string();
    d.goto(&format!("{base}/nodes/{node}"));
    assert!(d.text("main").contains("履歴 History"));
    d.screenshot(&shots, "07-node");
    d.goto(&format!("{base}/changes"));
    d.click(&format!("#f-plan option[value='{SHINAGAWA}']"));
    d.follow("form button[type=submit]");
    assert!(d.url().contains(&format!("plan={SHINAGAWA}")));
    assert!(d.text("table caption").contains("最近の変更"));
    d.screenshot(&shots, "08-changes");
    d.goto(&format!("{base}/verify"));
    assert!(d.text("main").contains(&ledger.verifier().encode()));
    d.screenshot(&shots, "09-verify");

    // Printed, the plan is a document: no navigation or forms, the point and the head on it, few A4 pages.
    d.goto(&format!("{base}/plans/{SHINAGAWA}"));
    let print_rules = d.call(
        "POST",
        "/execute/sync",
        Some(json!({ "script": "return [...document.styleSheets].some(x => [...x.cssRules].some(r => r.media && r.media.mediaText === 'print'))", "args": [] })),
    );
    assert_eq!(print_rules, true, "a print style sheet");
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(
            d.call("POST", "/print", Some(json!({ "page": { "width": 21.0, "height": 29.7 }, "background": true })))
                .as_str()
                .unwrap(),
        )
        .unwrap();
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
    let pages = pdf.windows(11).filter(|w| w == b"/Type /Page").count()
        - pdf.windows(12).filter(|w| w == b"/Type /Pages").count();
    std::fs::write(shots.join("11-plan-print.pdf"), &pdf).unwrap();
    eprintln!("the Shinagawa plan prints on {pages} A4 pages");
    assert!((1..10).contains(&pages), "the Shinagawa plan printed on {pages} A4 pages");

    // A phone-sized window still reads: the page does not scroll sideways.
    d.call("POST", "/window/rect", Some(json!({ "width": 390, "height": 844 })));
    d.goto(&format!("{base}/indicators/{KPI}"));
    let overflow = d.call(
        "POST",
        "/execute/sync",
        Some(json!({ "script": "return document.documentElement.scrollWidth <= window.innerWidth + 1", "args": [] })),
    );
    assert_eq!(overflow, true, "no sideways scrolling on a phone");
    d.screenshot(&shots, "10-indicator-phone");

    drop(d);
    ledger.close();
}
