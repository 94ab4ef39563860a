//! A fake Ollama server that runs inside your test process.
//!
//! `chatbot-otel` talks to Ollama over HTTP. Its tests and benchmarks need a
//! server that answers exactly like Ollama does on the wire (NDJSON framing,
//! Go-style JSON, real status codes), that answers instantly and
//! deterministically, and that can be told to fail in each of the ways a real
//! server fails: an error status, an error line in the middle of a stream, a
//! stream that ends too early, a dropped connection, garbage, or silence.
//! [`FakeOllama`] is that server. It binds a port on 127.0.0.1, serves until it
//! is dropped, and records every request so a test can check what the client
//! sent (for instance that a `traceparent` header was there, or which `think`
//! value and `messages` the body carried: [`RecordedRequest::think`],
//! [`RecordedRequest::messages`]).
//!
//! It also plays today's models: thinking models (`qwen3`, `deepseek-r1`,
//! `gpt-oss`, `magistral`) stream `message.thinking` chunks before their
//! answer, and models with the `tools` capability call the tools a request
//! offers when the user names one (see the `chat` and `tools` modules). What
//! a model can do is listed in its `capabilities` (`/api/show`, `/api/tags`).
//!
//! ```no_run
//! # async fn demo() {
//! use fake_ollama::{Behaviour, FakeOllama};
//!
//! let ollama = FakeOllama::start().await;
//! ollama.push(Behaviour::ErrorMidStream { after_chunks: 2, message: "boom".into() });
//! // ... point the client at ollama.url() and run a turn ...
//! let sent = &ollama.chat_requests()[0];
//! assert!(sent.header("traceparent").is_some());
//! # }
//! ```
//!
//! # Layout
//!
//! * `lib.rs` (this file): the public API, i.e. the options, the scripted
//!   [`Behaviour`]s and the [`RecordedRequest`] log.
//! * `server`: the accept loop, one task per connection, and routing.
//! * `http`: a small hand-written HTTP/1.1 layer (why by hand: see there).
//! * `chat`: `POST /api/chat`, where the behaviours are played out.
//! * `request`: decoding the chat request body, with Go's error texts.
//! * `reply`: what the model says: thinking, tool calls, text.
//! * `catalog`: model names and capabilities, `GET /api/tags`, `POST /api/show`.
//! * `thinking`: the `think` field and who thinks.
//! * `tools`: which offered tool gets called, with which arguments.
//! * `wire`: the JSON bodies, with Go's key order and escaping.
//! * `text`: how reply text is cut into chunks and tokens are counted.
//! * `clock`: `created_at` and `Date` formatting.
//!
//! The binary `fake-ollama` (`src/main.rs`) serves the same thing on a fixed
//! port, for trying the chatbot by hand or from scripts.

mod catalog;
mod chat;
mod clock;
mod http;
mod reply;
mod request;
mod server;
mod text;
mod thinking;
mod tools;
mod wire;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use server::Shared;

/// The error text Ollama sends when its model runner dies before the first
/// token (used by the `[fault:http_500]` directive).
pub const RUNNER_STOPPED_MESSAGE: &str = "model runner has unexpectedly stopped, this may be due to resource limitations or an internal error, check ollama server logs for details";

/// The error text of a runner that crashes while generating (the default for
/// [`Behaviour::ErrorMidStream`] built from a directive).
pub const MID_STREAM_ERROR_MESSAGE: &str =
    "an error was encountered while running the model: unexpected EOF";

/// The line [`Behaviour::InvalidLineAfter`] sends: not JSON, like an HTML error
/// page from a proxy.
pub const INVALID_LINE: &str = "<html>oops";

/// How the fake is configured. Build it with struct update syntax:
///
/// ```
/// use std::time::Duration;
/// let opts = fake_ollama::Options {
///     first_token_delay: Duration::from_millis(50),
///     ..Default::default()
/// };
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen. Default `127.0.0.1:0` (a free port).
    pub addr: SocketAddr,
    /// The models that exist. A chat for any other model gets
    /// `404 {"error":"model '<name as sent>' not found"}`. A name without a tag
    /// means `:latest`. Default `["llama3.1:8b", "llama3.2:latest"]`.
    pub models: Vec<String>,
    /// What the model says. Default [`Reply::Echo`].
    pub reply: Reply,
    /// Time between receiving a chat request and sending the status line and
    /// first chunk (Ollama loads the model and evaluates the prompt before it
    /// writes anything). Default zero.
    pub first_token_delay: Duration,
    /// Time between two lines of a stream. Default zero.
    pub chunk_delay: Duration,
    /// How lines are cut into writes. Default [`Split::Lines`].
    pub split: Split,
    /// Text carried by the final `done:true` chunk, as HEAD's llama-server path
    /// does. It is part of the reply (and of [`ChatOutcome::text`]). Default none.
    pub final_chunk_text: Option<String>,
    /// What `GET /api/version` reports. Default `"0.12.6"`.
    pub version: String,
    /// The behaviour of a chat request when nothing was pushed with
    /// [`FakeOllama::push`] and the message carries no `[fault:...]` directive.
    /// Default [`Behaviour::Reply`].
    pub default_behaviour: Behaviour,
    /// The `load_duration` reported in final chunks. It is reported, not slept.
    /// Default 18 ms; zero is reported as 1 µs because Ollama's is never zero.
    pub load_duration: Duration,
    /// What a thinking model thinks before it answers. Default
    /// [`Thinking::Echo`].
    pub thinking: Thinking,
    /// Time between two thinking lines (the first line after the thinking
    /// follows `chunk_delay`, like any other). `None` (the default) paces
    /// thinking like content, with `chunk_delay`. [`Behaviour::SlowThinking`] overrides it for one
    /// request.
    pub thinking_chunk_delay: Option<Duration>,
    /// How the calls of a reply that calls several tools are spread over
    /// chunks. Default [`ToolCallChunks::OnePerChunk`].
    pub tool_call_chunks: ToolCallChunks,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            models: vec!["llama3.1:8b".into(), "llama3.2:latest".into()],
            reply: Reply::Echo,
            first_token_delay: Duration::ZERO,
            chunk_delay: Duration::ZERO,
            split: Split::Lines,
            final_chunk_text: None,
            version: "0.12.6".into(),
            default_behaviour: Behaviour::Reply,
            load_duration: Duration::from_millis(18),
            thinking: Thinking::Echo,
            thinking_chunk_delay: None,
            tool_call_chunks: ToolCallChunks::OnePerChunk,
        }
    }
}

/// The text of a successful reply. Not used when the reply calls tools (the
/// last user message names an offered tool) or answers a tool result (it then
/// quotes it: `<tool_name> returned: <content>`); see the `reply` module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `You said: <content of the last user message>` (`You said: ` alone when
    /// there is no user message).
    Echo,
    /// This text.
    Text(String),
    /// This many deterministic lorem-ipsum words (`lorem ipsum dolor ...`),
    /// streamed as exactly that many chunks.
    Words(usize),
}

/// The thinking text of a model that thinks (see the `thinking` module for
/// when it does). It is streamed like the reply, one `message.thinking` chunk
/// per token-ish piece, before the first content chunk.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Thinking {
    /// `Okay, the user said: <content of the last user message>`; after a
    /// tool result, `Okay, <tool_name> returned: <its content>`.
    #[default]
    Echo,
    /// This text.
    Text(String),
    /// This many deterministic words (`hmm okay so first ...`, none of them a
    /// [`Reply::Words`] word), streamed as exactly that many chunks.
    Words(usize),
}

/// How the tool calls of one reply are spread over the stream. Ollama emits
/// each call whole as soon as its parser has it, so both shapes occur: a
/// client must gather calls from every chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ToolCallChunks {
    /// Each call in a chunk of its own (`function.index` 0, 1, ...).
    #[default]
    OnePerChunk,
    /// All calls in one chunk.
    AllInOne,
}

/// How each NDJSON line is written to the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// One write (one HTTP chunk) per line, as Ollama does.
    Lines,
    /// Every line is cut into writes of `n` bytes (one HTTP chunk each, about a
    /// millisecond apart), which cuts through JSON and through multi-byte UTF-8
    /// characters, to test the client's buffering. `Bytes(0)` acts as `Lines`.
    Bytes(usize),
}

/// What the next `/api/chat` response does.
///
/// "Chunk" means a `done:false` line: thinking lines first (for a model that
/// thinks), then tool-call or content lines. `after_chunks` larger than the
/// reply simply sends the whole reply (without the final `done:true` line)
/// before the fault. For `"stream": false` requests, see the `chat` module
/// docs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Behaviour {
    /// A normal reply: chunks, then the `done:true` chunk with metrics.
    #[default]
    Reply,
    /// An error before anything is streamed: after `first_token_delay`, this
    /// status with `application/json; charset=utf-8` `{"error":message}` (no
    /// newline).
    HttpError { status: u16, message: String },
    /// Pre-0.12.6 Ollama: `200`, `application/x-ndjson`, and a body whose only
    /// line is `{"error":message}\n`.
    LegacyErrorLine { message: String },
    /// `after_chunks` chunks, then `{"error":message}\n`, then the body ends.
    /// No `done` line.
    ErrorMidStream {
        after_chunks: usize,
        message: String,
    },
    /// `after_chunks` chunks, then the body ends cleanly with no `done` line.
    TruncateAfter { after_chunks: usize },
    /// `after_chunks` chunks, then the TCP connection is closed without the
    /// chunked body's terminating zero-length chunk.
    DropConnectionAfter { after_chunks: usize },
    /// `after_chunks` chunks, then the line [`INVALID_LINE`], then the body ends.
    InvalidLineAfter { after_chunks: usize },
    /// Read the request, send nothing at all, keep the connection open until
    /// the client goes away or the server is dropped.
    Hang,
    /// Send the headers and `after_chunks` chunks, then stall like [`Hang`](Behaviour::Hang).
    HangAfter { after_chunks: usize },
    /// A normal reply whose thinking lines are `chunk_delay` apart (instead of
    /// [`Options::thinking_chunk_delay`]), so that a test can act while the
    /// model is still thinking. Same as [`Reply`](Behaviour::Reply) for a model
    /// that does not think.
    SlowThinking { chunk_delay: Duration },
}

impl Behaviour {
    /// The names accepted in `[fault:NAME]` directives and by the binary's
    /// `--fault`.
    pub const DIRECTIVES: [&'static str; 9] = [
        "http_500",
        "mid_stream_error",
        "truncate",
        "drop",
        "invalid_json",
        "legacy_error",
        "hang",
        "hang_thinking",
        "slow_thinking",
    ];

    /// The thinking-line spacing of the `slow_thinking` directive.
    pub const SLOW_THINKING_DELAY: Duration = Duration::from_millis(300);

    /// The behaviour a directive name stands for:
    ///
    /// | name | behaviour |
    /// |---|---|
    /// | `http_500` | `HttpError { status: 500, message: RUNNER_STOPPED_MESSAGE }` |
    /// | `mid_stream_error` | `ErrorMidStream { after_chunks: 2, message: MID_STREAM_ERROR_MESSAGE }` |
    /// | `truncate` | `TruncateAfter { after_chunks: 2 }` |
    /// | `drop` | `DropConnectionAfter { after_chunks: 2 }` |
    /// | `invalid_json` | `InvalidLineAfter { after_chunks: 2 }` |
    /// | `legacy_error` | `LegacyErrorLine { message: RUNNER_STOPPED_MESSAGE }` |
    /// | `hang` | `Hang` |
    /// | `hang_thinking` | `HangAfter { after_chunks: 2 }`: for a thinking model, two thinking chunks, then silence |
    /// | `slow_thinking` | `SlowThinking { chunk_delay: SLOW_THINKING_DELAY }` |
    pub fn from_directive(name: &str) -> Option<Behaviour> {
        Some(match name {
            "http_500" => Behaviour::HttpError {
                status: 500,
                message: RUNNER_STOPPED_MESSAGE.into(),
            },
            "mid_stream_error" => Behaviour::ErrorMidStream {
                after_chunks: 2,
                message: MID_STREAM_ERROR_MESSAGE.into(),
            },
            "truncate" => Behaviour::TruncateAfter { after_chunks: 2 },
            "drop" => Behaviour::DropConnectionAfter { after_chunks: 2 },
            "invalid_json" => Behaviour::InvalidLineAfter { after_chunks: 2 },
            "legacy_error" => Behaviour::LegacyErrorLine {
                message: RUNNER_STOPPED_MESSAGE.into(),
            },
            "hang" => Behaviour::Hang,
            "hang_thinking" => Behaviour::HangAfter { after_chunks: 2 },
            "slow_thinking" => Behaviour::SlowThinking {
                chunk_delay: Behaviour::SLOW_THINKING_DELAY,
            },
            _ => return None,
        })
    }

    /// The behaviour named by the first `[fault:NAME]` in `text` with a known
    /// name, if any.
    pub fn from_message(text: &str) -> Option<Behaviour> {
        let mut rest = text;
        while let Some(start) = rest.find("[fault:") {
            let after = &rest[start + "[fault:".len()..];
            if let Some(end) = after.find(']') {
                if let Some(b) = Behaviour::from_directive(&after[..end]) {
                    return Some(b);
                }
            }
            rest = after;
        }
        None
    }
}

/// One request the fake received, recorded as soon as its body was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target as sent (path plus any query string).
    pub path: String,
    /// In arrival order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body as UTF-8 (invalid bytes replaced), after undoing chunked framing.
    pub body: String,
    /// For `POST /api/chat`: what the fake sent back. `None` while the response
    /// is still being produced, and for other endpoints.
    pub outcome: Option<ChatOutcome>,
}

impl RecordedRequest {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, or `Value::Null` when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The body's `think` field as sent (`true`, `false`, `"high"`, ...), or
    /// `None` when the body has none (or `null`): the server then decides.
    pub fn think(&self) -> Option<serde_json::Value> {
        self.json().get("think").filter(|v| !v.is_null()).cloned()
    }

    /// The body's `options` object (`Value::Null` when there is none).
    pub fn options(&self) -> serde_json::Value {
        self.json().get("options").cloned().unwrap_or_default()
    }

    /// The body's `messages`, each as sent (`role`, `content`, and `thinking`,
    /// `tool_calls`, `tool_name`, ... when the client sent them). Empty when
    /// there are none.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        match self.json().get("messages") {
            Some(serde_json::Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        }
    }

    /// The body's `tools` as sent. Empty when there are none.
    pub fn tools(&self) -> Vec<serde_json::Value> {
        match self.json().get("tools") {
            Some(serde_json::Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        }
    }
}

/// What the fake sent in answer to one `/api/chat` request.
///
/// It is stored just *before* the fake's last write for that response (the
/// `done` line, the error line, the end of the body, the close), or when it
/// starts to stall, so a client that has read the response can look at it
/// without racing the server. If the client goes away mid-stream it is
/// corrected to what was written successfully.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChatOutcome {
    /// `done:false` lines written: thinking, tool-call and content lines. The
    /// `done:true` line, error lines and invalid lines are not counted; a
    /// `stream:false` answer counts 0.
    pub chunks_sent: usize,
    /// The reply text written: every chunk's content, plus the final chunk's
    /// content when that was sent (the whole content for `stream:false`).
    pub text: String,
    /// The `prompt_eval_count` sent, if a final (`done:true`) object was sent
    /// with metrics.
    pub prompt_eval_count: Option<u64>,
    /// The `eval_count` sent, if a final object was sent with metrics: one per
    /// thinking and content chunk (the final one included if it had text),
    /// plus the tokens of each tool call (see the `chat` module docs).
    pub eval_count: Option<u64>,
    /// The `done_reason` sent: `stop`, or `load`/`unload` for an empty
    /// `messages` array; `None` when no `done:true` object was sent.
    pub done_reason: Option<String>,
    /// The thinking text written (`message.thinking` of every chunk, or of the
    /// `stream:false` answer). Empty when the model did not think.
    pub thinking: String,
    /// How many of `chunks_sent` carried thinking.
    pub thinking_chunks: usize,
    /// The tool calls written, in order.
    pub tool_calls: Vec<ToolCall>,
}

/// One tool call the fake sent (`message.tool_calls[i]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// `call_` plus 8 characters of `[a-z0-9]`.
    pub id: String,
    /// `function.index`: the call's position in the reply, from 0.
    pub index: usize,
    /// `function.name`: the offered tool's name.
    pub name: String,
    /// `function.arguments` (on the wire its keys keep the schema's `required`
    /// order; a `Value` sorts them).
    pub arguments: serde_json::Value,
}

/// A running fake Ollama. Dropping it stops the server: the listener closes and
/// every open connection, including hanging ones, is closed.
///
/// The server runs on a thread of its own with its own single-threaded tokio
/// runtime. So it keeps answering while the test's runtime is blocked (a
/// `#[tokio::test]` that runs the chatbot binary with a blocking
/// `std::process::Command` would otherwise deadlock), and a test that pauses
/// tokio's clock does not freeze the fake's delays.
pub struct FakeOllama {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// Dropping the sender ends the accept loop, which ends the server thread
    /// and its runtime, which closes every connection.
    _shutdown: watch::Sender<()>,
}

impl FakeOllama {
    /// Starts a server with [`Options::default`] on a free port of 127.0.0.1.
    ///
    /// # Panics
    /// If no port can be bound, which only happens on a broken machine.
    pub async fn start() -> FakeOllama {
        FakeOllama::start_with(Options::default())
            .await
            .expect("fake-ollama: cannot bind a port on 127.0.0.1")
    }

    /// Starts a server with these options. It is listening when this returns.
    /// Fails only if `opts.addr` cannot be bound (or no thread can be started).
    pub async fn start_with(opts: Options) -> std::io::Result<FakeOllama> {
        let listener = std::net::TcpListener::bind(opts.addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // Register the socket with the new runtime's I/O driver, not the
        // caller's.
        let listener = {
            let _context = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let shared = Arc::new(Shared::new(opts));
        let (shutdown_tx, shutdown_rx) = watch::channel(());
        let server_shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(format!("fake-ollama {addr}"))
            .spawn(move || {
                runtime.block_on(server::accept_loop(listener, server_shared, shutdown_rx));
                // Dropping `runtime` here cancels the connection tasks.
            })?;
        Ok(FakeOllama {
            addr,
            shared,
            _shutdown: shutdown_tx,
        })
    }

    /// `http://127.0.0.1:PORT`, with no trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server is bound to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues the behaviour of a future `/api/chat` request (first in, first
    /// out). A queued behaviour wins over a `[fault:...]` directive and over
    /// [`Options::default_behaviour`]. It is used up only by a request that
    /// gets as far as generating: requests rejected with 400/404 and
    /// `messages: []` load requests leave the queue alone.
    pub fn push(&self, b: Behaviour) {
        self.shared.push(b);
    }

    /// Every request received so far, in order of arrival.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// The `POST /api/chat` requests received so far, in order of arrival.
    pub fn chat_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.split('?').next() == Some("/api/chat"))
            .collect()
    }
}

impl std::fmt::Debug for FakeOllama {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeOllama")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}
