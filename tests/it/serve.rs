//! The real binary's `serve`: seeds loaded on first start, answers on a socket, a clean stop on SIGTERM, and a
//! broken seed refused with nothing left behind.

use std::time::Duration;

use planledger::store::ledger::verify_dir;

use crate::http::*;

#[test]
fn serve_loads_the_seeds_answers_on_a_socket_and_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = std::process::Command::new(crate::support::bin())
        .args(["serve", "--addr", "127.0.0.1:0", "--seeds"])
        .arg(events_dir().join("seeds.toml"))
        .arg("--data")
        .arg(&data)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut url = None;
    let mut printed = String::new();
    for _ in 0..5 {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        printed.push_str(&line);
        if let Some(u) = line.split_whitespace().find(|w| w.starts_with("http://")) {
            url = Some(u.to_string());
            break;
        }
    }
    let url = url.unwrap_or_else(|| panic!("no URL printed: {printed}"));
    assert!(printed.contains("577 events"), "{printed}");
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(s, "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.to_ascii_lowercase().contains("x-request-id:"), "{resp}");
    assert!(resp.contains(SHINAGAWA), "{resp}");

    // A live feed client at the head is waiting for events when the signal comes: shutdown ends its stream
    // instead of waiting out the grace period for it.
    let mut feed = std::net::TcpStream::connect(host).unwrap();
    write!(feed, "GET /api/events/stream?after=576 HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
    let mut feed = BufReader::new(feed);
    let mut first = String::new();
    feed.read_line(&mut first).unwrap();
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");

    let status = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let start = std::time::Instant::now();
    let code = loop {
        if let Some(c) = child.try_wait().unwrap() {
            break c;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(code.success(), "exit {code:?}");
    assert!(
        start.elapsed() < planledger::web::SHUTDOWN_GRACE,
        "the open feed held shutdown up for {:?}",
        start.elapsed()
    );
    let mut rest = String::new();
    feed.read_to_string(&mut rest).unwrap();
    assert!(!rest.lines().any(|l| l.starts_with("id:")), "no event after the head: {rest}");
    let report = verify_dir(&data).unwrap();
    assert_eq!(report.summary.count, 577);

    // A token made at the console while the server is down.
    let made = std::process::Command::new(crate::support::bin())
        .args(["token", "create", "--name", "office-admin", "--role", "admin", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let secret = String::from_utf8(made.stdout).unwrap().trim().to_string();

    // A second start finds the ledger and imports nothing.
    let mut again = std::process::Command::new(crate::support::bin())
        .args(["serve", "--addr", "127.0.0.1:0", "--seeds", "/nonexistent/seeds.toml", "--data"])
        .arg(&data)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(again.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.contains("http://"), "{line}");
    let host = line.split_whitespace().find_map(|w| w.strip_prefix("http://")).unwrap().split('/').next().unwrap();
    let host = host.to_string();

    // Writers append over the socket; SIGTERM comes while their requests are in flight. Every write the server
    // acknowledged is in the ledger afterwards, and the ledger verifies.
    let node = "shinagawa-jisshi-4.6-1-1-2-r3";
    let writers: Vec<_> = (0..6)
        .map(|i| {
            let (host, secret) = (host.clone(), secret.clone());
            std::thread::spawn(move || {
                let mut acked = 0u64;
                // Until the server stops taking connections: the signal comes in the middle of this.
                for j in 0..2000 {
                    let body =
                        format!("{{\"text\":\"本文 {i}-{j}\",\"reason\":\"負荷\",\"effective\":\"2017-04-01\"}}");
                    let Ok(mut s) = std::net::TcpStream::connect(&host) else { break };
                    let sent = write!(
                        s,
                        "POST /api/nodes/{node}/text HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {secret}\r\n\
                         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let mut resp = String::new();
                    if sent.is_err() || s.read_to_string(&mut resp).is_err() {
                        break;
                    }
                    if resp.starts_with("HTTP/1.1 201") {
                        acked += 1;
                    } else if !resp.is_empty() {
                        assert!(resp.starts_with("HTTP/1.1 503"), "{resp}");
                    }
                }
                acked
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    std::process::Command::new("kill").args(["-TERM", &again.id().to_string()]).status().unwrap();
    assert!(again.wait().unwrap().success());
    let acked: u64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(acked > 0, "no write got through before the signal");
    assert!(acked < 6 * 2000, "the signal came after every write");
    assert_eq!(verify_dir(&data).unwrap().summary.count, 577 + acked, "an acknowledged write is missing");
}

#[test]
fn serve_refuses_a_broken_seed_and_leaves_no_ledger_behind() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = dir.path().join("seeds.toml");
    std::fs::write(&seeds, "[[seed]]\nsource = \"x.toml\"\nledger = \"bad.jsonl\"\n").unwrap();
    std::fs::write(dir.path().join("bad.jsonl"), "{\"not\":\"an event\"}\n").unwrap();
    let data = dir.path().join("data");
    let out = std::process::Command::new(crate::support::bin())
        .args(["serve", "--addr", "127.0.0.1:0", "--seeds"])
        .arg(&seeds)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!data.exists(), "the failed seed left {}", data.display());
}
