//! A small Ollama client: `POST /api/chat` as a stream of chunks, `GET /api/tags`.
//!
//! This module knows HTTP and Ollama's wire format, and nothing about OpenTelemetry: the
//! caller passes in the headers to send (that is where the W3C `traceparent` goes) and
//! decides what to record about each step. Keeping transport and instrumentation apart is
//! what lets `crate::chat::turn` read as a list of spans.
//!
//! Two timeouts guard a request: one for the response headers (Ollama sends nothing at all
//! until the model is loaded and the prompt evaluated, which can take minutes on a cold
//! start) and the same one between two chunks of the stream. There is deliberately no total
//! deadline: a long answer is not a stuck one.

mod error;
pub mod ndjson;
pub mod wire;

pub use error::{looks_like_html, ErrorBody, ErrorKind, OllamaError};

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use url::Url;

use self::ndjson::LineDecoder;
use self::wire::{ChatChunk, ChatRequest, ModelInfo, TagsResponse};

/// How long to wait for a TCP connection to a local server before calling it down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The most of an error response's body we read: enough for any `{"error": …}`, and a
/// proxy's 20 MB error page costs 64 KiB, not 20 MB copied into spans.
pub const MAX_ERROR_BODY: usize = 64 * 1024;
/// The longest NDJSON line we buffer. A real chunk is a few hundred bytes; a server that
/// sends megabytes without a newline is broken, and we say so instead of filling memory.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// A client for one Ollama server.
#[derive(Debug, Clone)]
pub struct OllamaClient {
    http: reqwest::Client,
    base: Url,
    timeout: Duration,
}

impl OllamaClient {
    /// `base` is the server root (`http://localhost:11434`); `timeout` bounds the wait for
    /// the response headers and for each later chunk.
    pub fn new(base: Url, timeout: Duration) -> Self {
        crate::tls::ensure_provider();
        let mut builder = reqwest::Client::builder();
        if base.scheme() == "http" {
            // Plain HTTP needs no root certificates; loading the system store costs ~2 ms
            // of start-up for nothing.
            builder = builder.tls_certs_only(std::iter::empty());
        }
        let http = builder
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            // A redirect would re-POST the whole conversation to wherever it points.
            // Ollama never redirects; a proxy that does is reported, not followed.
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .user_agent(concat!("chatbot-otel/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a reqwest client with no TLS or proxy settings always builds");
        OllamaClient {
            http,
            base,
            timeout,
        }
    }

    /// The server root this client talks to.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The server root as messages name it: credentials masked, no trailing slash.
    fn shown_url(&self) -> String {
        crate::text::redacted_url(&self.base)
            .trim_end_matches('/')
            .to_string()
    }

    /// The full URL of the chat endpoint (recorded as `url.full`).
    pub fn chat_url(&self) -> Url {
        self.endpoint("api/chat")
    }

    fn endpoint(&self, path: &str) -> Url {
        // `join` would drop the last path segment of a base without a trailing slash, and
        // OLLAMA_HOST may carry a reverse-proxy prefix such as `/ollama`.
        let mut url = self.base.clone();
        let prefix = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{prefix}/{path}"));
        url
    }

    /// Sends the chat request and waits for the response headers. A non-2xx status is
    /// turned into an error here, with Ollama's `{"error": …}` text when there is one.
    pub async fn start_chat(
        &self,
        request: &ChatRequest<'_>,
        headers: HeaderMap,
    ) -> Result<ChatStream, OllamaError> {
        let url = self.chat_url();
        let post = || {
            self.http
                .post(url.clone())
                .headers(headers.clone())
                .header(reqwest::header::ACCEPT, "application/x-ndjson")
                .json(request)
                .send()
        };
        let response = match tokio::time::timeout(self.timeout, post()).await {
            Err(_) => {
                return Err(OllamaError::Timeout {
                    after: self.timeout,
                })
            }
            // A pooled keep-alive connection that the server closed (Ollama restarted
            // since the last request) fails before any response byte. Nothing was
            // answered, so sending once more, on a fresh connection, is safe; a second
            // failure is the real error.
            Ok(Err(e)) if is_stale_connection(&e) => {
                match tokio::time::timeout(self.timeout, post()).await {
                    Err(_) => {
                        return Err(OllamaError::Timeout {
                            after: self.timeout,
                        })
                    }
                    Ok(Err(e)) => return Err(self.transport_error(e)),
                    Ok(Ok(response)) => response,
                }
            }
            Ok(Err(e)) => return Err(self.transport_error(e)),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status.is_success() {
            return Ok(ChatStream {
                response,
                decoder: LineDecoder::new(),
                idle_timeout: self.timeout,
                ended: false,
                url: self.shown_url(),
            });
        }
        if status.is_redirection() {
            let to = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("nowhere");
            return Err(OllamaError::Http {
                status: status.as_u16(),
                message: format!(
                    "a redirect to {} (not followed: it would re-send the conversation); point --ollama-url at the real server",
                    crate::text::truncate(&crate::text::printable(to), 200)
                ),
                // Our own explanation, shown as is.
                body: ErrorBody::Ollama,
                url: self.shown_url(),
            });
        }
        let body = read_bounded(response, self.timeout).await;
        Err(status_error(
            status,
            &body,
            request.model,
            &self.shown_url(),
        ))
    }

    /// Lists the models Ollama has pulled (`GET /api/tags`).
    pub async fn list_models(&self, timeout: Duration) -> Result<Vec<ModelInfo>, OllamaError> {
        let body = self.get_json("api/tags", timeout).await?;
        let tags: TagsResponse =
            serde_json::from_str(&body).map_err(|e| OllamaError::InvalidResponse {
                url: self.shown_url(),
                detail: format!("an answer to GET /api/tags that is not Ollama's model list ({e})"),
                html: looks_like_html(&body),
            })?;
        Ok(tags.models)
    }

    /// Ollama's version (`GET /api/version` → `{"version":"0.12.6"}`), for `doctor`.
    pub async fn version(&self, timeout: Duration) -> Result<String, OllamaError> {
        let body = self.get_json("api/version", timeout).await?;
        serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("version")?.as_str().map(str::to_string))
            .ok_or_else(|| OllamaError::InvalidResponse {
                url: self.shown_url(),
                detail: "an answer to GET /api/version without a version".into(),
                html: looks_like_html(&body),
            })
    }

    /// `GET` an API path and return the body of a 2xx answer; any other status is an error.
    /// What a model can do, from `POST /api/show` (`completion`, `tools`, `thinking`, …).
    /// An older server without the field gives an empty list.
    pub async fn capabilities(
        &self,
        model: &str,
        timeout: Duration,
    ) -> Result<Vec<String>, OllamaError> {
        let post = self
            .http
            .post(self.endpoint("api/show"))
            .json(&serde_json::json!({ "model": model }))
            .send();
        let response = match tokio::time::timeout(timeout, post).await {
            Err(_) => return Err(OllamaError::Timeout { after: timeout }),
            Ok(Err(e)) => return Err(self.transport_error(e)),
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        let body = read_bounded(response, timeout).await;
        if !status.is_success() {
            return Err(status_error(status, &body, model, &self.shown_url()));
        }
        let value: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| OllamaError::InvalidResponse {
                url: self.shown_url(),
                detail: format!("an answer to POST /api/show that is not JSON ({e})"),
                html: looks_like_html(&body),
            })?;
        Ok(value["capabilities"]
            .as_array()
            .map(|caps| {
                caps.iter()
                    .filter_map(|c| c.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn get_json(&self, path: &str, timeout: Duration) -> Result<String, OllamaError> {
        let get = self.http.get(self.endpoint(path)).send();
        let response = match tokio::time::timeout(timeout, get).await {
            Err(_) => return Err(OllamaError::Timeout { after: timeout }),
            Ok(Err(e)) => return Err(self.transport_error(e)),
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        let body = tokio::time::timeout(timeout, response.text())
            .await
            .map_err(|_| OllamaError::Timeout { after: timeout })?
            .map_err(|e| self.transport_error(e))?;
        if !status.is_success() {
            return Err(status_error(status, &body, "", &self.shown_url()));
        }
        Ok(body)
    }

    fn transport_error(&self, e: reqwest::Error) -> OllamaError {
        // reqwest's message names the URL, credentials included; ours says it redacted.
        let e = e.without_url();
        if let Some(detail) = tls_mismatch(&e, self.base.scheme() == "https") {
            return OllamaError::Tls {
                url: self.shown_url(),
                detail,
                https: self.base.scheme() == "https",
            };
        }
        if e.is_timeout() {
            OllamaError::Timeout {
                after: self.timeout,
            }
        } else if e.is_connect() {
            OllamaError::Connect {
                url: self.shown_url(),
                detail: root_cause(&e),
            }
        } else {
            OllamaError::Interrupted {
                detail: root_cause(&e),
            }
        }
    }
}

/// The cause, when a failure comes from a scheme that does not match the server: for an
/// `https://` URL, a TLS error (rustls reading an HTTP answer as a TLS record: "received
/// corrupt message of type InvalidContentType"); for an `http://` URL, an answer hyper
/// cannot parse as HTTP (a TLS server's alert record). rustls errors reach us wrapped in
/// `io::Error`s, whose `source()` skips the wrapped error, hence `get_ref`.
fn tls_mismatch(e: &reqwest::Error, https: bool) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        // hyper-util wraps the connector's io::Error in another io::Error.
        let wrapped = std::iter::successors(Some(c), |e| {
            e.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .map(|inner| inner as &(dyn std::error::Error + 'static))
        });
        for candidate in wrapped {
            if https {
                // Only a record that is not TLS at all; a certificate problem is not a
                // scheme mismatch.
                if let Some(tls @ rustls::Error::InvalidMessage(_)) =
                    candidate.downcast_ref::<rustls::Error>()
                {
                    return Some(tls.to_string());
                }
            } else if let Some(h) = candidate.downcast_ref::<hyper::Error>() {
                if h.is_parse() {
                    return Some(h.to_string());
                }
            }
        }
        cause = c.source();
    }
    None
}

/// Reads at most [`MAX_ERROR_BODY`] bytes of an error response (lossy UTF-8), within
/// `timeout`; whatever was read when the time or the budget runs out is what we have.
async fn read_bounded(mut response: reqwest::Response, timeout: Duration) -> String {
    let mut body = Vec::new();
    let read = async {
        while body.len() < MAX_ERROR_BODY {
            match response.chunk().await {
                Ok(Some(bytes)) => body.extend_from_slice(&bytes),
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(timeout, read).await;
    body.truncate(MAX_ERROR_BODY);
    String::from_utf8_lossy(&body).into_owned()
}

/// A request that failed on a connection the server had already closed, before any
/// response byte: hyper reports it as an incomplete message / closed connection, not as
/// a connect error.
fn is_stale_connection(e: &reqwest::Error) -> bool {
    if e.is_connect() || e.is_timeout() || e.is_redirect() {
        return false;
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(h) = c.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() || h.is_closed() {
                return true;
            }
        }
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::UnexpectedEof
            ) {
                return true;
            }
        }
        cause = c.source();
    }
    false
}

/// Does `available` (names from `/api/tags`, always with a tag) contain `model`?
/// A name without a tag means `:latest`, as in Ollama itself.
pub fn has_model(available: &[ModelInfo], model: &str) -> bool {
    let wanted = if model.contains(':') {
        model.to_string()
    } else {
        format!("{model}:latest")
    };
    available
        .iter()
        .any(|m| m.name == wanted || m.name == model)
}

/// `url` is the server as messages name it ([`OllamaClient::shown_url`]).
fn status_error(status: StatusCode, body: &str, model: &str, url: &str) -> OllamaError {
    // Ollama's errors are `{"error": "..."}`. Anything else — a web server's HTML page, a
    // proxy's error page, a router's plain `404 page not found` — means the URL does not
    // reach Ollama's API: that is the diagnosis, and the page itself is never shown.
    let (message, kind) = match serde_json::from_str::<wire::ErrorBody>(body) {
        Ok(b) => (b.error, ErrorBody::Ollama),
        Err(_) if body.trim().is_empty() => (String::new(), ErrorBody::Ollama),
        Err(_) => (String::new(), ErrorBody::of_foreign(body)),
    };
    // Act on the status, not the wording: the 404 text changed across Ollama versions. A
    // 404 without a JSON error body is a wrong URL, not a missing model.
    if status == StatusCode::NOT_FOUND && kind == ErrorBody::Ollama && message.contains("not found")
    {
        return OllamaError::ModelNotFound {
            model: model.to_string(),
        };
    }
    // `think` sent to a model without the thinking capability (Ollama's exact wording).
    if status == StatusCode::BAD_REQUEST && message.ends_with("does not support thinking") {
        return OllamaError::ThinkNotSupported {
            model: model.to_string(),
        };
    }
    OllamaError::Http {
        status: status.as_u16(),
        message: if message.is_empty() {
            status.canonical_reason().unwrap_or("").to_string()
        } else {
            message
        },
        body: kind,
        url: url.to_string(),
    }
}

/// The innermost cause of a reqwest error: "connection refused" rather than
/// "error sending request for url (...)".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The body of a streamed chat reply, read one parsed chunk at a time.
#[derive(Debug)]
pub struct ChatStream {
    response: reqwest::Response,
    decoder: LineDecoder,
    idle_timeout: Duration,
    ended: bool,
    /// The server, as an invalid line's message names it.
    url: String,
}

impl ChatStream {
    /// The HTTP status of the response (recorded on the request span).
    pub fn status(&self) -> u16 {
        self.response.status().as_u16()
    }

    /// The next chunk, `Ok(None)` at the end of the body. An `{"error": …}` line becomes
    /// [`OllamaError::Stream`] whatever the HTTP status was, as in Ollama's own Go client.
    pub async fn next_chunk(&mut self) -> Result<Option<ChatChunk>, OllamaError> {
        loop {
            if let Some(line) = self.decoder.next_line() {
                if line.len() > MAX_LINE {
                    return Err(line_too_long(&self.url));
                }
                return parse_chunk(&line, &self.url).map(Some);
            }
            // Bounded memory: an unterminated line may not grow past the cap.
            if self.decoder.pending() > MAX_LINE {
                return Err(line_too_long(&self.url));
            }
            if self.ended {
                return match self.decoder.finish() {
                    Some(rest) => parse_chunk(&rest, &self.url).map(Some),
                    None => Ok(None),
                };
            }
            match tokio::time::timeout(self.idle_timeout, self.response.chunk()).await {
                Err(_) => {
                    return Err(OllamaError::Timeout {
                        after: self.idle_timeout,
                    })
                }
                Ok(Err(e)) => {
                    return Err(OllamaError::Interrupted {
                        detail: root_cause(&e),
                    })
                }
                Ok(Ok(None)) => self.ended = true,
                Ok(Ok(Some(bytes))) => self.decoder.push(&bytes),
            }
        }
    }
}

fn line_too_long(url: &str) -> OllamaError {
    OllamaError::InvalidResponse {
        url: url.to_string(),
        detail: format!("a line longer than {} MiB", MAX_LINE / (1024 * 1024)),
        html: false,
    }
}

/// One NDJSON line as a chunk. A line that fails names what it is: not JSON at all (an
/// HTML page when it looks like one), or JSON that is not a chat chunk.
fn parse_chunk(line: &[u8], url: &str) -> Result<ChatChunk, OllamaError> {
    let chunk: ChatChunk = serde_json::from_slice(line).map_err(|e| {
        let text = String::from_utf8_lossy(line);
        let what = match e.classify() {
            serde_json::error::Category::Data => "a line that is not a chat chunk",
            _ => "a line that is not JSON",
        };
        OllamaError::InvalidResponse {
            url: url.to_string(),
            detail: format!("{what} ({e} in {:?})", crate::text::truncate(&text, 60)),
            html: looks_like_html(&text),
        }
    })?;
    match chunk.error {
        Some(message) if !message.is_empty() => Err(OllamaError::Stream { message }),
        _ => Ok(chunk),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reverse-proxy prefix in the base URL is kept.
    #[test]
    fn endpoint_keeps_prefix() {
        let c = OllamaClient::new(
            Url::parse("http://h:1/ollama").unwrap(),
            Duration::from_secs(1),
        );
        assert_eq!(c.chat_url().as_str(), "http://h:1/ollama/api/chat");
        let c = OllamaClient::new(Url::parse("http://h:1/").unwrap(), Duration::from_secs(1));
        assert_eq!(c.chat_url().as_str(), "http://h:1/api/chat");
    }

    /// 404 with Ollama's JSON error is a missing model; a plain 404 is a wrong URL.
    #[test]
    fn classifies_404() {
        let e = status_error(
            StatusCode::NOT_FOUND,
            r#"{"error":"model 'x' not found"}"#,
            "x",
            "http://h:1",
        );
        assert_eq!(e.kind(), ErrorKind::ModelNotFound);
        let e = status_error(
            StatusCode::NOT_FOUND,
            "404 page not found",
            "x",
            "http://h:1",
        );
        assert_eq!(e.kind(), ErrorKind::Http(404));
        assert!(e.user_message().contains("is it Ollama?"), "{e}");
        let e = status_error(
            StatusCode::NOT_FOUND,
            "<html><body><h1>Not Found</h1>model not found</body></html>",
            "x",
            "http://h:1",
        );
        assert_eq!(
            e.kind(),
            ErrorKind::Http(404),
            "HTML is never a missing model"
        );
        assert!(!e.user_message().contains("<h1>"), "{}", e.user_message());
        let e = status_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":"boom"}"#,
            "x",
            "http://h:1",
        );
        assert_eq!(e.to_string(), "Ollama answered HTTP 500: boom");
        let e = status_error(
            StatusCode::BAD_REQUEST,
            r#"{"error":"\"llama3.2\" does not support thinking"}"#,
            "llama3.2",
            "http://h:1",
        );
        assert_eq!(e.kind(), ErrorKind::ThinkNotSupported);
        assert_eq!(
            e.user_message(),
            "llama3.2 does not think; /set nothink, or pick a thinking model (ollama list)"
        );
    }

    /// A name without a tag matches `:latest`.
    #[test]
    fn model_matching() {
        let models: Vec<ModelInfo> =
            serde_json::from_str(r#"[{"name":"llama3.2:latest"},{"name":"qwen3:0.6b"}]"#).unwrap();
        assert!(has_model(&models, "llama3.2"));
        assert!(has_model(&models, "qwen3:0.6b"));
        assert!(!has_model(&models, "qwen3"));
    }

    fn chat_request<'a>(
        messages: &'a [wire::Message],
        options: &'a wire::ChatOptions,
    ) -> ChatRequest<'a> {
        ChatRequest {
            model: "llama3.2",
            messages,
            stream: true,
            options,
            think: None,
            tools: &[],
        }
    }

    /// Ollama restarted between two requests: the pooled connection is dead, but the next
    /// chat still goes through (sent once more on a fresh connection). As in the app, the
    /// client's runtime is idle between the requests, so nothing noticed the close.
    #[test]
    fn a_restarted_server_does_not_fail_the_next_chat() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let first = rt.block_on(fake_ollama::FakeOllama::start());
        let addr = first.addr();
        let client = OllamaClient::new(Url::parse(&first.url()).unwrap(), Duration::from_secs(5));
        rt.block_on(client.list_models(Duration::from_secs(2)))
            .unwrap();
        drop(first);
        std::thread::sleep(Duration::from_millis(100));
        let second = (0..50)
            .find_map(|_| {
                let opts = fake_ollama::Options {
                    addr,
                    ..Default::default()
                };
                rt.block_on(fake_ollama::FakeOllama::start_with(opts))
                    .map_err(|_| std::thread::sleep(Duration::from_millis(20)))
                    .ok()
            })
            .expect("rebind the same port");
        let messages = [wire::Message::new(wire::Role::User, "hi")];
        let options = wire::ChatOptions::default();
        let reply = rt.block_on(async {
            let mut stream = client
                .start_chat(&chat_request(&messages, &options), HeaderMap::new())
                .await?;
            let mut text = String::new();
            while let Some(chunk) = stream.next_chunk().await? {
                text.push_str(&chunk.message.map(|m| m.content).unwrap_or_default());
                if chunk.done {
                    break;
                }
            }
            Ok::<_, OllamaError>(text)
        });
        assert!(reply.expect("the chat after a restart").contains("hi"));
        assert_eq!(second.chat_requests().len(), 1);
    }

    /// A 20 MB error page costs at most MAX_ERROR_BODY; a redirect is reported, not followed.
    #[test]
    fn error_bodies_are_bounded_and_redirects_not_followed() {
        use std::io::{Read, Write};
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for (i, stream) in listener.incoming().take(2).enumerate() {
                let mut stream = stream.unwrap();
                let mut buf = [0u8; 65536];
                let _ = stream.read(&mut buf);
                if i == 0 {
                    let body = vec![b'x'; 20 * 1024 * 1024];
                    let _ = write!(
                        stream,
                        "HTTP/1.1 502 Bad Gateway\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(&body);
                } else {
                    let _ = stream.write_all(
                        b"HTTP/1.1 307 Temporary Redirect\r\nlocation: http://elsewhere.example/api/chat\r\ncontent-length: 0\r\n\r\n",
                    );
                }
            }
        });
        let client = OllamaClient::new(Url::parse(&url).unwrap(), Duration::from_secs(5));
        let messages = [wire::Message::new(wire::Role::User, "hi")];
        let options = wire::ChatOptions::default();
        let request = chat_request(&messages, &options);
        let e = rt
            .block_on(client.start_chat(&request, HeaderMap::new()))
            .unwrap_err();
        match &e {
            OllamaError::Http {
                status: 502,
                message,
                ..
            } => {
                assert!(message.len() <= MAX_ERROR_BODY, "{}", message.len())
            }
            other => panic!("{other:?}"),
        }
        let e = rt
            .block_on(client.start_chat(&request, HeaderMap::new()))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Http(307));
        assert!(e.to_string().contains("elsewhere.example"), "{e}");
    }

    /// A line that never ends is refused at the cap instead of buffered whole.
    #[test]
    fn overlong_lines_are_invalid_responses() {
        let mut decoder = LineDecoder::new();
        decoder.push(&vec![b'a'; MAX_LINE + 1]);
        assert!(decoder.next_line().is_none());
        assert!(decoder.pending() > MAX_LINE);
        assert_eq!(
            line_too_long("http://h:1").kind(),
            ErrorKind::InvalidResponse
        );
    }

    /// An error line is an error even with HTTP 200; junk is an invalid response.
    #[test]
    fn parse_errors() {
        let e = parse_chunk(br#"{"error":"unexpected EOF"}"#, "http://h:1").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::StreamError);
        let e = parse_chunk(b"<html>", "http://h:1").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse);
        assert!(matches!(e, OllamaError::InvalidResponse { html: true, .. }));
    }

    /// A bad line is named for what it is, with the server's URL: not JSON, or JSON that
    /// is not a chunk; a `<` inside it does not make it a web page.
    #[test]
    fn invalid_lines_say_what_they_are() {
        let e = parse_chunk(b"oops: a < b", "http://h:1").unwrap_err();
        assert!(matches!(
            e,
            OllamaError::InvalidResponse { html: false, .. }
        ));
        let m = e.user_message();
        assert!(
            m.starts_with("The server at http://h:1 sent a line that is not JSON ("),
            "{m}"
        );
        assert!(!m.contains("HTML"), "{m}");
        let e = parse_chunk(br#"{"done": "maybe"}"#, "http://h:1").unwrap_err();
        let m = e.user_message();
        assert!(m.contains("sent a line that is not a chat chunk ("), "{m}");
    }
}
