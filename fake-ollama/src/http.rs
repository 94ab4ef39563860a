//! Just enough HTTP/1.1, written by hand on a tokio [`TcpStream`].
//!
//! Why not hyper or axum? A fake server exists to misbehave on purpose: stop
//! before the last chunk of a body, close the socket without the terminating
//! zero-length chunk, write half a UTF-8 character per packet, or say nothing at
//! all while keeping the connection open. A full HTTP stack works hard to prevent
//! exactly those things. Owning the bytes makes every failure mode a plain
//! sequence of writes that a reader can follow.
//!
//! What is supported, and no more:
//!
//! * requests: `HTTP/1.1` request line, headers (names lowercased, values
//!   trimmed), bodies with `Content-Length` or `Transfer-Encoding: chunked`,
//!   and keep-alive (the connection stays open unless the client says
//!   `Connection: close`). One request at a time: the fake answers a request
//!   before it reads the next, which is all reqwest (or curl, or any HTTP/1.1
//!   client that does not pipeline) needs. HTTP/1.0 and `Expect: 100-continue`
//!   are not supported: no client of this project sends them.
//! * responses: a whole body with `Content-Length` in one write
//!   ([`Connection::send_full`]), or a chunked body ([`ChunkedWriter`]) where
//!   every piece of data is one HTTP chunk in its own write, so each reaches the
//!   client as soon as it is written (the socket has `TCP_NODELAY` set).
//!
//! Malformed requests get `400 Bad Request` and the connection is closed, as Go's
//! `net/http` does.

use std::io;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::clock;

/// Upper bound for the request line plus all header lines.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Upper bound for a request body (a chat history with images can be large).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// The pause between the pieces of one line when a line is split into several
/// writes, so that the client really receives them in separate reads.
const PIECE_PAUSE: Duration = Duration::from_millis(1);

/// `Content-Type` values used by Ollama (gin) responses.
pub(crate) const JSON: &str = "application/json; charset=utf-8";
pub(crate) const NDJSON: &str = "application/x-ndjson";
pub(crate) const TEXT_UTF8: &str = "text/plain; charset=utf-8";
/// gin's own 404/405 pages say `text/plain` without a charset.
pub(crate) const TEXT: &str = "text/plain";

/// One parsed request.
#[derive(Debug)]
pub(crate) struct Request {
    pub method: String,
    /// The request target as sent, query string included.
    pub target: String,
    /// Header names lowercased, values with surrounding whitespace removed.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The target without its query string; routing looks only at this.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The first header with this (lowercase) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the connection may carry another request after this one.
    pub fn keep_alive(&self) -> bool {
        let connection = self.header("connection").unwrap_or("").to_ascii_lowercase();
        !connection.split(',').any(|t| t.trim() == "close")
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The socket failed or closed in the middle of a request. The cause does
    /// not matter: either way the client is gone.
    Gone,
    /// The bytes are not an HTTP/1.x request we accept.
    Malformed,
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> Self {
        ReadError::Gone
    }
}

/// A client connection: the socket plus the bytes read but not yet parsed (a
/// read can return more than the line or body being parsed).
pub(crate) struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Connection {
    pub fn new(stream: TcpStream) -> Connection {
        // Every write must leave at once; Nagle's algorithm would hold small
        // chunks back waiting for an ACK.
        let _ = stream.set_nodelay(true);
        Connection {
            stream,
            buf: Vec::with_capacity(8 * 1024),
        }
    }

    /// Reads more bytes into the buffer; `false` at end of stream.
    async fn fill(&mut self) -> io::Result<bool> {
        self.buf.reserve(8 * 1024);
        Ok(self.stream.read_buf(&mut self.buf).await? > 0)
    }

    /// One line without its `\n` (and without a `\r` before it).
    async fn read_line(&mut self, limit: usize) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            if self.buf.len() > limit {
                return Err(ReadError::Malformed);
            }
            if !self.fill().await? {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
            }
        }
    }

    /// Exactly `n` bytes.
    async fn read_exact(&mut self, n: usize) -> Result<Vec<u8>, ReadError> {
        while self.buf.len() < n {
            if !self.fill().await? {
                return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Reads the next request. `Ok(None)` means the client closed the
    /// connection cleanly between two requests.
    pub async fn read_request(&mut self) -> Result<Option<Request>, ReadError> {
        // RFC 9112 §2.2: ignore empty lines before a request line.
        let request_line = loop {
            if self.buf.is_empty() && !self.fill().await? {
                return Ok(None);
            }
            let line = self.read_line(MAX_HEAD_BYTES).await?;
            if !line.is_empty() {
                break line;
            }
        };
        let request_line = String::from_utf8(request_line).map_err(|_| ReadError::Malformed)?;
        let mut parts = request_line.split(' ');
        let (method, target, version) = match (parts.next(), parts.next(), parts.next()) {
            (Some(m), Some(t), Some(v)) if parts.next().is_none() => (m, t, v),
            _ => return Err(ReadError::Malformed),
        };
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ReadError::Malformed);
        }
        if version != "HTTP/1.1" {
            return Err(ReadError::Malformed);
        }

        let mut headers = Vec::new();
        let mut head_bytes = request_line.len();
        loop {
            let line = self.read_line(MAX_HEAD_BYTES).await?;
            if line.is_empty() {
                break;
            }
            head_bytes += line.len();
            if head_bytes > MAX_HEAD_BYTES {
                return Err(ReadError::Malformed);
            }
            let line = String::from_utf8_lossy(&line);
            let (name, value) = line.split_once(':').ok_or(ReadError::Malformed)?;
            if name.is_empty() || name.ends_with(' ') || name.ends_with('\t') {
                return Err(ReadError::Malformed);
            }
            headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
        }

        let mut request = Request {
            method: method.to_string(),
            target: target.to_string(),
            headers,
            body: Vec::new(),
        };
        request.body = self.read_body(&request).await?;
        Ok(Some(request))
    }

    async fn read_body(&mut self, request: &Request) -> Result<Vec<u8>, ReadError> {
        if let Some(te) = request.header("transfer-encoding") {
            let last = te.rsplit(',').next().unwrap_or("").trim();
            if !last.eq_ignore_ascii_case("chunked") {
                return Err(ReadError::Malformed);
            }
            return self.read_chunked_body().await;
        }

        let mut length: Option<usize> = None;
        for (_, value) in request
            .headers
            .iter()
            .filter(|(n, _)| n == "content-length")
        {
            let n: usize = value.parse().map_err(|_| ReadError::Malformed)?;
            if length.is_some_and(|l| l != n) {
                return Err(ReadError::Malformed);
            }
            length = Some(n);
        }
        let length = length.unwrap_or(0);
        if length > MAX_BODY_BYTES {
            return Err(ReadError::Malformed);
        }
        self.read_exact(length).await
    }

    /// `SIZE[;ext]\r\n DATA \r\n` ... `0\r\n [trailers] \r\n`.
    async fn read_chunked_body(&mut self) -> Result<Vec<u8>, ReadError> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line(MAX_HEAD_BYTES).await?;
            let line = String::from_utf8_lossy(&line);
            let size = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size, 16).map_err(|_| ReadError::Malformed)?;
            if size == 0 {
                // Trailer fields, ignored, up to the empty line.
                while !self.read_line(MAX_HEAD_BYTES).await?.is_empty() {}
                return Ok(body);
            }
            if body.len() + size > MAX_BODY_BYTES {
                return Err(ReadError::Malformed);
            }
            body.extend(self.read_exact(size).await?);
            if !self.read_line(2).await?.is_empty() {
                return Err(ReadError::Malformed);
            }
        }
    }

    pub async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// A complete response with a `Content-Length` body, in one write. For a
    /// `HEAD` request pass `with_body: false`: the headers still announce the
    /// length the body would have, as Go does.
    pub async fn send_full(
        &mut self,
        status: u16,
        content_type: &str,
        body: &[u8],
        with_body: bool,
        close: bool,
    ) -> io::Result<()> {
        let mut out = response_head(status, content_type, Some(body.len()), close);
        if with_body {
            out.extend_from_slice(body);
        }
        self.write_all(&out).await
    }

    /// Go's answer to a request it cannot parse; the caller then closes.
    pub async fn send_bad_request(&mut self) -> io::Result<()> {
        self.write_all(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
              Connection: close\r\n\r\n400 Bad Request",
        )
        .await
    }

    /// Sends nothing and returns once the client has closed the connection (or
    /// the socket failed). Anything the client sends meanwhile is discarded. If
    /// the server is dropped first, the task running this is cancelled instead.
    pub async fn wait_until_client_leaves(&mut self) {
        let mut scratch = [0u8; 4096];
        while let Ok(n) = self.stream.read(&mut scratch).await {
            if n == 0 {
                break;
            }
        }
    }

    /// Sends FIN. Dropping the connection afterwards releases the socket.
    pub async fn close(&mut self) {
        let _ = self.stream.shutdown().await;
    }
}

/// The reason phrase Go writes for a status code.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Request Entity Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// Status line and headers, ending with the empty line. `length: None` means a
/// chunked body follows.
pub(crate) fn response_head(
    status: u16,
    content_type: &str,
    length: Option<usize>,
    close: bool,
) -> Vec<u8> {
    let reason = match reason(status) {
        // Go writes "status code 499" for codes it has no text for.
        "" => format!("status code {status}"),
        r => r.to_string(),
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nDate: {}\r\n",
        clock::http_date(SystemTime::now())
    );
    match length {
        Some(n) => head.push_str(&format!("Content-Length: {n}\r\n")),
        None => head.push_str("Transfer-Encoding: chunked\r\n"),
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// A response with a chunked body.
///
/// The status line and headers are held back until the first data is sent (or
/// [`ChunkedWriter::send_headers`] is called), which is how Ollama behaves: gin
/// writes its headers on the first flush, after the model has loaded.
pub(crate) struct ChunkedWriter<'c> {
    conn: &'c mut Connection,
    head: Option<Vec<u8>>,
    /// `Some(n)`: cut every piece of data into writes of at most `n` bytes.
    piece_size: Option<usize>,
}

impl<'c> ChunkedWriter<'c> {
    pub fn new(
        conn: &'c mut Connection,
        status: u16,
        content_type: &str,
        close: bool,
        piece_size: Option<usize>,
    ) -> ChunkedWriter<'c> {
        ChunkedWriter {
            conn,
            head: Some(response_head(status, content_type, None, close)),
            piece_size: piece_size.filter(|&n| n > 0),
        }
    }

    /// Writes the status line and headers now if they have not gone out yet.
    pub async fn send_headers(&mut self) -> io::Result<()> {
        match self.head.take() {
            Some(head) => self.conn.write_all(&head).await,
            None => Ok(()),
        }
    }

    /// Sends `data` as one HTTP chunk, or as several (each its own write, a
    /// millisecond apart) when a piece size is set. The headers, if still
    /// pending, travel in the same write as the first chunk.
    pub async fn send(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            // A zero-length chunk would end the body.
            return Ok(());
        }
        let size = self.piece_size.unwrap_or(data.len());
        for (i, piece) in data.chunks(size).enumerate() {
            if i > 0 {
                tokio::time::sleep(PIECE_PAUSE).await;
            }
            let mut out = self.head.take().unwrap_or_default();
            out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            out.extend_from_slice(piece);
            out.extend_from_slice(b"\r\n");
            self.conn.write_all(&out).await?;
        }
        Ok(())
    }

    /// Ends the body cleanly with the zero-length chunk.
    pub async fn finish(mut self) -> io::Result<()> {
        let mut out = self.head.take().unwrap_or_default();
        out.extend_from_slice(b"0\r\n\r\n");
        self.conn.write_all(&out).await
    }

    /// The connection underneath, to close it or wait on it without ending the
    /// body.
    pub fn connection(&mut self) -> &mut Connection {
        self.conn
    }
}
