//! A small HTTP/1.1 client over `TcpStream` for the trial driver: keep-alive, `Content-Length` and chunked bodies,
//! and an error that tells a connection that was never made from one that broke with a request on it.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// An answer: status, headers (names lower-cased) and the whole body.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Why a request got no answer.
#[derive(Debug)]
pub enum HttpError {
    /// No connection could be made: the request was never sent.
    Connect(io::Error),
    /// The connection broke after the request was (perhaps partly) written: its fate is unknown.
    Broken(io::Error),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Connect(e) => write!(f, "connect: {e}"),
            HttpError::Broken(e) => write!(f, "connection broke: {e}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// One keep-alive connection to one server, made again when the server closed it.
pub struct Client {
    addr: String,
    conn: Option<BufReader<TcpStream>>,
    timeout: Duration,
}

impl Client {
    pub fn new(addr: &str) -> Self {
        Self { addr: addr.to_string(), conn: None, timeout: Duration::from_secs(60) }
    }

    /// Sends one request; `headers` are added to Host, Content-Length and (with a body) Content-Type.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response, HttpError> {
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => {
                let s = TcpStream::connect(&self.addr).map_err(HttpError::Connect)?;
                s.set_read_timeout(Some(self.timeout)).map_err(HttpError::Connect)?;
                s.set_write_timeout(Some(self.timeout)).map_err(HttpError::Connect)?;
                s.set_nodelay(true).map_err(HttpError::Connect)?;
                BufReader::new(s)
            }
        };
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        for (n, v) in headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        if let Some(b) = body {
            head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", b.len()));
        }
        head.push_str("\r\n");
        let mut msg = head.into_bytes();
        msg.extend_from_slice(body.unwrap_or_default());
        conn.get_mut().write_all(&msg).map_err(HttpError::Broken)?;
        let (resp, keep) = read_response(&mut conn, method == "HEAD").map_err(HttpError::Broken)?;
        if keep {
            self.conn = Some(conn);
        }
        Ok(resp)
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    pub fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> Result<Response, HttpError> {
        self.request("GET", path, headers, None)
    }
}

fn bad(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

fn read_line(r: &mut impl BufRead) -> io::Result<String> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection"));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Reads one response; also says whether the connection may be used again.
fn read_response(r: &mut BufReader<TcpStream>, head_only: bool) -> io::Result<(Response, bool)> {
    let status_line = read_line(r)?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad(format!("not an HTTP status line: {status_line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(r)?;
        if line.is_empty() {
            break;
        }
        let (n, v) = line.split_once(':').ok_or_else(|| bad(format!("not a header: {line:?}")))?;
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let resp = Response { status, headers, body: Vec::new() };
    let mut keep = !resp.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let no_body = head_only || status == 204 || status == 304 || (100..200).contains(&status);
    let body = if no_body {
        Vec::new()
    } else if resp.header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        read_chunked(r)?
    } else if let Some(len) = resp.header("content-length") {
        let len: usize = len.parse().map_err(|_| bad(format!("bad content-length {len:?}")))?;
        let mut b = vec![0; len];
        r.read_exact(&mut b)?;
        b
    } else {
        keep = false;
        let mut b = Vec::new();
        r.read_to_end(&mut b)?;
        b
    };
    Ok((Response { body, ..resp }, keep))
}

fn read_chunked(r: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(r)?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| bad(format!("bad chunk size {line:?}")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !read_line(r)?.is_empty() {}
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..])?;
        read_line(r)?;
    }
}
