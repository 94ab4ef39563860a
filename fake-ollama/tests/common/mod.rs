//! Helpers shared by the integration tests: a raw HTTP/1.1 client that shows
//! exactly what came over the socket (HTTP chunk boundaries, whether the body
//! ended with the zero-length chunk or the connection was simply closed), and
//! a few JSON helpers.
//!
//! reqwest is used as well, to check that a real client library reads the
//! fake's output; but reqwest hides framing, which is what many faults are about.

#![allow(dead_code)] // each test binary uses a different subset

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How a response body came to an end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// `Content-Length` bytes read, or the terminating zero-length chunk.
    Clean,
    /// The server closed the connection before the body was complete.
    Closed,
    /// Nothing more arrived within the time limit.
    TimedOut,
}

/// A response as seen on the wire.
#[derive(Debug)]
pub struct RawResponse {
    /// 0 when not even a status line arrived.
    pub status: u16,
    /// Names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body with chunked framing removed.
    pub body: Vec<u8>,
    /// The payload of each HTTP chunk, in order (empty for Content-Length bodies).
    pub chunks: Vec<Vec<u8>>,
    pub end: End,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("body is UTF-8")
    }

    /// The body's lines (split on `\n`, the last one kept even without `\n`).
    pub fn lines(&self) -> Vec<String> {
        let text = self.text();
        let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
        if lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines
    }

    /// Every line parsed as JSON (panics on a line that is not JSON).
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.lines()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

/// One TCP connection on which requests are written and responses read.
pub struct RawClient {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

/// Outcome of waiting for more bytes.
enum Fill {
    Data,
    Eof,
    TimedOut,
}

impl RawClient {
    pub async fn connect(addr: SocketAddr) -> RawClient {
        RawClient {
            stream: TcpStream::connect(addr).await.expect("connect"),
            buf: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write request");
    }

    /// Writes `POST path` with a JSON body and `Content-Length`.
    pub async fn post(&mut self, path: &str, body: &str) {
        let request = post_request(path, body, &[]);
        self.send(request.as_bytes()).await;
    }

    pub async fn get(&mut self, path: &str) {
        let request = format!("GET {path} HTTP/1.1\r\nHost: fake\r\n\r\n");
        self.send(request.as_bytes()).await;
    }

    async fn fill(&mut self, limit: Duration) -> Fill {
        let mut tmp = [0u8; 8192];
        match tokio::time::timeout(limit, self.stream.read(&mut tmp)).await {
            Err(_) => Fill::TimedOut,
            Ok(Ok(0)) | Ok(Err(_)) => Fill::Eof,
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&tmp[..n]);
                Fill::Data
            }
        }
    }

    /// Reads bytes until `pat` is in the buffer; returns the bytes up to and
    /// including it, or how the wait ended.
    async fn read_until(&mut self, pat: &[u8], limit: Duration) -> Result<Vec<u8>, End> {
        loop {
            if let Some(pos) = self.buf.windows(pat.len()).position(|w| w == pat) {
                return Ok(self.buf.drain(..pos + pat.len()).collect());
            }
            match self.fill(limit).await {
                Fill::Data => {}
                Fill::Eof => return Err(End::Closed),
                Fill::TimedOut => return Err(End::TimedOut),
            }
        }
    }

    async fn read_n(&mut self, n: usize, limit: Duration) -> Result<Vec<u8>, End> {
        while self.buf.len() < n {
            match self.fill(limit).await {
                Fill::Data => {}
                Fill::Eof => return Err(End::Closed),
                Fill::TimedOut => return Err(End::TimedOut),
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Reads one response. `limit` bounds each wait for more bytes, not the
    /// whole response. `head_only`: the request was HEAD, so no body follows.
    pub async fn response(&mut self, limit: Duration, head_only: bool) -> RawResponse {
        let mut response = RawResponse {
            status: 0,
            headers: Vec::new(),
            body: Vec::new(),
            chunks: Vec::new(),
            end: End::Clean,
        };
        let head = match self.read_until(b"\r\n\r\n", limit).await {
            Ok(head) => head,
            Err(end) => {
                response.end = end;
                return response;
            }
        };
        let head = String::from_utf8(head).expect("head is UTF-8");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        assert!(status_line.starts_with("HTTP/1.1 "), "{status_line}");
        response.status = status_line[9..12].parse().unwrap();
        for line in lines.filter(|l| !l.is_empty()) {
            let (name, value) = line.split_once(':').expect("header line");
            response
                .headers
                .push((name.to_ascii_lowercase(), value.trim().to_string()));
        }
        if head_only {
            return response;
        }
        if response.header("transfer-encoding") == Some("chunked") {
            loop {
                let size_line = match self.read_until(b"\r\n", limit).await {
                    Ok(l) => l,
                    Err(end) => {
                        response.end = end;
                        return response;
                    }
                };
                let size_text = String::from_utf8(size_line).unwrap();
                let size = usize::from_str_radix(size_text.trim_end(), 16).expect("chunk size");
                if size == 0 {
                    if let Err(end) = self.read_until(b"\r\n", limit).await {
                        response.end = end;
                    }
                    return response;
                }
                match self.read_n(size + 2, limit).await {
                    Ok(mut data) => {
                        assert_eq!(&data[size..], b"\r\n", "chunk must end with CRLF");
                        data.truncate(size);
                        response.body.extend_from_slice(&data);
                        response.chunks.push(data);
                    }
                    Err(end) => {
                        response.end = end;
                        return response;
                    }
                }
            }
        }
        let length: usize = response
            .header("content-length")
            .map(|v| v.parse().unwrap())
            .unwrap_or(0);
        match self.read_n(length, limit).await {
            Ok(body) => response.body = body,
            Err(end) => {
                response.body = std::mem::take(&mut self.buf);
                response.end = end;
            }
        }
        response
    }

    /// Waits until the server closes the connection; `false` if it stays open
    /// for `limit`.
    pub async fn closed_within(&mut self, limit: Duration) -> bool {
        loop {
            match self.fill(limit).await {
                Fill::Data => {}
                Fill::Eof => return true,
                Fill::TimedOut => return false,
            }
        }
    }
}

/// A `POST` request with a `Content-Length` body and extra header lines.
pub fn post_request(path: &str, body: &str, extra_headers: &[&str]) -> String {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: fake\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for h in extra_headers {
        request.push_str(h);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
    request
}

/// A streamed chat request body with one user message.
pub fn chat_body(model: &str, content: &str) -> String {
    serde_json::json!({
        "model": model,
        "messages": [{"role": "user", "content": content}],
        "stream": true,
        "options": {"temperature": 0.7},
    })
    .to_string()
}

/// The generous bound used when something is expected to arrive.
pub const SOON: Duration = Duration::from_secs(5);

/// Concatenated `message.content` of every chunk.
pub fn content_of(chunks: &[serde_json::Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["message"]["content"].as_str())
        .collect()
}

/// Concatenated `message.thinking` of every chunk (absent counts as empty).
pub fn thinking_of(chunks: &[serde_json::Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["message"]["thinking"].as_str())
        .collect()
}

/// A chat request body built from `extra` fields on top of `model` and one
/// user message (the fields in `extra` win).
pub fn chat_body_with(model: &str, content: &str, extra: serde_json::Value) -> String {
    let mut body = serde_json::json!({
        "model": model,
        "messages": [{"role": "user", "content": content}],
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            body.insert(k.clone(), v.clone());
        }
    }
    body.to_string()
}

/// The key paths of a compact JSON object, in the order they appear
/// (`model`, `message`, `message.role`, ...). `serde_json::Value` sorts keys,
/// so the order has to be read from the text itself.
pub fn key_paths(json: &str) -> Vec<String> {
    let chars: Vec<char> = json.chars().collect();
    let mut paths = Vec::new();
    let mut open: Vec<String> = Vec::new();
    let mut last_key: Option<String> = None;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '"' => {
                let mut s = String::new();
                i += 1;
                while chars[i] != '"' {
                    if chars[i] == '\\' {
                        s.push(chars[i]);
                        i += 1;
                    }
                    s.push(chars[i]);
                    i += 1;
                }
                let mut j = i + 1;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                if j < chars.len() && chars[j] == ':' {
                    let mut path: Vec<&str> = open
                        .iter()
                        .map(String::as_str)
                        .filter(|p| !p.is_empty())
                        .collect();
                    path.push(&s);
                    paths.push(path.join("."));
                    last_key = Some(s);
                }
            }
            '{' => open.push(last_key.take().unwrap_or_default()),
            '}' => {
                open.pop();
            }
            _ => {}
        }
        i += 1;
    }
    paths
}

/// A reqwest client builder that works in this workspace: the chatbot enables reqwest's
/// `rustls-no-provider` feature, cargo unifies features across the workspace, and so any
/// reqwest client built here needs a rustls crypto provider installed first.
pub fn builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// A default reqwest client (see [`builder`]).
pub fn client() -> reqwest::Client {
    builder().build().expect("a reqwest client builds")
}
