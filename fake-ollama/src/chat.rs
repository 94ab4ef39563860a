//! `POST /api/chat`: where the scripted behaviours are played out.
//!
//! # The order of checks
//!
//! As in Ollama's `ChatHandler`:
//!
//! 1. The body is decoded: empty → `400 missing request body`, not JSON or a
//!    field of the wrong type → `400` with a decoder message, a bad `think`
//!    → `400 invalid think value: ...` (see `thinking`), no `model` →
//!    `400 model is required`.
//! 2. The model must be listed, else `404 {"error":"model '<as sent>' not found"}`.
//! 3. An empty (or missing) `messages` array with `keep_alive: 0` unloads the
//!    model: one `application/json` object with `done_reason:"unload"`.
//! 4. A truthy `think` for a model without the `thinking` capability →
//!    `400 "<model>" does not support thinking`; `tools` for a model without
//!    the `tools` capability → `400 registry.ollama.ai/library/<model>:<tag>
//!    does not support tools` (Ollama names the model fully qualified there).
//! 5. An empty `messages` array loads the model: `done_reason:"load"`, as
//!    `application/json` even when `stream` is true.
//! 6. Only now is a [`Behaviour`] chosen: the pushed queue, else a
//!    `[fault:NAME]` directive in the last user message, else the default.
//!
//! Steps 1-5 answer at once and never use up a pushed behaviour.
//!
//! # What the model says
//!
//! A stream is a list of pieces, one `done:false` line each, then the
//! `done:true` line:
//!
//! 1. **Thinking** (when the model thinks, see `thinking`): the
//!    [`Thinking`](crate::Thinking) text cut into pieces like the reply, each
//!    line with `message.thinking` set and `content` `""`.
//! 2. Then one of:
//!    * after a **tool result** (the last message has role `tool`): content
//!      quoting each trailing tool message, `<tool_name> returned: <content>`,
//!      one per line;
//!    * when the request offers **tools** and the last user message names some
//!      (see `tools`): one line per call (or one for all, see
//!      [`ToolCallChunks`](crate::ToolCallChunks)) with `message.tool_calls`
//!      and `content` `""`; `done_reason` is still `stop`, as in Ollama;
//!    * otherwise the [`Reply`](crate::Reply), cut into content pieces.
//!
//! # Timing and metrics
//!
//! Like Ollama, the fake writes **nothing, not even the status line**, until the
//! first chunk is ready: it sleeps `first_token_delay` first (that is Ollama
//! loading the model and evaluating the prompt). Then it writes one line per
//! piece, `chunk_delay` apart (thinking lines `thinking_chunk_delay` apart when
//! that is set), and the `done:true` line last.
//!
//! The final chunk's durations are integer nanoseconds built from the time
//! really spent: `prompt_eval_duration` = request received → first chunk
//! ready, `eval_duration` = first chunk ready → final chunk, `load_duration` =
//! [`Options::load_duration`](crate::Options::load_duration) (reported, not
//! slept: the fake behaves as if the model were already warm), and
//! `total_duration` is their sum. Each is at least 1 µs so none is ever left out
//! (Ollama omits zero metrics). `prompt_eval_count` is words + 4 per message;
//! `eval_count` counts what was generated, thinking included (Ollama has no
//! separate thinking count): one per thinking or content chunk, the final one
//! included when it carries text, plus, for each tool call, the pieces of its
//! name and of its arguments' JSON.
//!
//! # `"stream": false`
//!
//! The answer is one `application/json; charset=utf-8` object with the whole
//! text (and the whole thinking, and every tool call) and no trailing newline,
//! sent after the time the stream would have taken. Since nothing is written
//! before the end, a failure there is a real status: `LegacyErrorLine` and
//! `ErrorMidStream` give `500` with their message; `InvalidLineAfter` gives
//! `200` with the body `<html>oops`; `TruncateAfter` and `DropConnectionAfter`
//! announce the full `Content-Length`, send half the body and close;
//! `HangAfter` does the same but stalls instead of closing.

use std::io;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::http::{response_head, ChunkedWriter, Connection, Request, JSON, NDJSON};
use crate::server::{After, Shared};
use crate::thinking::{self, Think};
use crate::tools::{self, OfferedTool};
use crate::wire::{
    error_json, to_go_json, ChatResponse, FunctionJson, Message, Metrics, OrderedJson, ToolCallJson,
};
use crate::{
    catalog, clock, text, Behaviour, ChatOutcome, Reply, Split, Thinking, ToolCall, ToolCallChunks,
    INVALID_LINE,
};

/// Sleeps, except for a zero duration: tokio's timer has millisecond
/// granularity, so even `sleep(Duration::ZERO)` would wait for the next tick
/// (about 1 ms) and slow every chunk of a no-delay stream down.
async fn pause(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

/// Handles one chat request. `Err` means the client went away.
pub(crate) async fn handle(
    conn: &mut Connection,
    shared: &Shared,
    index: usize,
    request: &Request,
    close: bool,
) -> io::Result<After> {
    let received = Instant::now();
    let chat = match ChatRequest::parse(&request.body) {
        Ok(chat) => chat,
        Err(message) => return reject(conn, shared, index, 400, &message, close).await,
    };
    let Some(listed) = catalog::find(&shared.opts.models, &chat.model) else {
        let message = format!("model '{}' not found", chat.model);
        return reject(conn, shared, index, 404, &message, close).await;
    };
    if chat.messages.is_empty() && chat.unload {
        return load_or_unload(conn, shared, index, &chat, "unload", close).await;
    }
    if chat.think.truthy() && !catalog::can(listed, "thinking") {
        let message = thinking::not_supported(&chat.model);
        return reject(conn, shared, index, 400, &message, close).await;
    }
    if !chat.tools.is_empty() && !catalog::can(listed, "tools") {
        let message = format!("{} does not support tools", catalog::qualified(listed));
        return reject(conn, shared, index, 400, &message, close).await;
    }
    if chat.messages.is_empty() {
        return load_or_unload(conn, shared, index, &chat, "load", close).await;
    }

    let last_user = chat.last_user_message();
    let behaviour = shared.next_behaviour(last_user);
    let opts = &shared.opts;
    let thinking_delay = match &behaviour {
        Behaviour::SlowThinking { chunk_delay } => *chunk_delay,
        _ => opts.thinking_chunk_delay.unwrap_or(opts.chunk_delay),
    };
    let mut turn = Turn {
        shared,
        index,
        pieces: compose(opts, listed, &chat),
        final_text: opts.final_chunk_text.clone().unwrap_or_default(),
        prompt_eval_count: text::prompt_tokens(chat.messages.iter().map(|m| m.content.as_str())),
        model: chat.model,
        thinking_delay,
        received,
        first_ready: received,
        sent: Sent::default(),
        done: None,
    };
    let plan = Plan::from(behaviour);
    let result = if chat.stream {
        stream(conn, &mut turn, plan, close).await
    } else {
        whole(conn, &mut turn, plan, close).await
    };
    if result.is_err() {
        // The client went away: record what really got written.
        turn.publish();
    }
    result
}

/// One `done:false` line of a reply.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    /// A `message.thinking` chunk.
    Thinking(String),
    /// A `message.content` chunk.
    Content(String),
    /// A `message.tool_calls` chunk.
    ToolCalls(Vec<PlannedCall>),
}

impl Piece {
    /// What this piece adds to `eval_count`.
    fn tokens(&self) -> u64 {
        match self {
            Piece::Thinking(_) | Piece::Content(_) => 1,
            Piece::ToolCalls(calls) => calls.iter().map(PlannedCall::tokens).sum(),
        }
    }
}

/// A tool call the reply will make.
#[derive(Debug, Clone, PartialEq)]
struct PlannedCall {
    id: String,
    index: usize,
    name: String,
    arguments: OrderedJson,
}

impl PlannedCall {
    fn wire(&self) -> ToolCallJson<'_> {
        ToolCallJson {
            id: &self.id,
            function: FunctionJson {
                index: self.index,
                name: &self.name,
                arguments: &self.arguments,
            },
        }
    }

    fn tokens(&self) -> u64 {
        let arguments = serde_json::to_string(&self.arguments).unwrap_or_default();
        (text::tokenize(&self.name).len() + text::tokenize(&arguments).len()) as u64
    }

    fn public(&self) -> ToolCall {
        ToolCall {
            id: self.id.clone(),
            index: self.index,
            name: self.name.clone(),
            arguments: self.arguments.to_value(),
        }
    }
}

/// The pieces of the reply to `chat` by the listed model `model`, in order:
/// thinking, then a tool result's quote, tool calls, or the reply (see the
/// module docs).
fn compose(opts: &crate::Options, model: &str, chat: &ChatRequest) -> Vec<Piece> {
    let last_user = chat.last_user_message().unwrap_or("");
    let tool_results = chat.trailing_tool_results();
    let mut pieces = Vec::new();

    if thinking::thinks(model, &chat.think) {
        let thought = match &opts.thinking {
            Thinking::Echo => match tool_results.first() {
                Some(result) => format!("Okay, {} returned: {}", result.tool(), result.content),
                None => format!("Okay, the user said: {last_user}"),
            },
            Thinking::Text(t) => t.clone(),
            Thinking::Words(n) => text::musing(*n),
        };
        pieces.extend(text::tokenize(&thought).into_iter().map(Piece::Thinking));
    }

    if !tool_results.is_empty() {
        let quote: Vec<String> = tool_results
            .iter()
            .map(|r| format!("{} returned: {}", r.tool(), r.content))
            .collect();
        pieces.extend(
            text::tokenize(&quote.join("\n"))
                .into_iter()
                .map(Piece::Content),
        );
        return pieces;
    }

    let named = tools::named_in(last_user, &chat.tools);
    if !named.is_empty() {
        let calls: Vec<PlannedCall> = named
            .iter()
            .enumerate()
            .map(|(index, tool)| PlannedCall {
                id: tools::call_id(&tool.name, index, chat.messages.len()),
                index,
                name: tool.name.clone(),
                arguments: tools::arguments(tool, last_user),
            })
            .collect();
        match opts.tool_call_chunks {
            ToolCallChunks::OnePerChunk => {
                pieces.extend(calls.into_iter().map(|c| Piece::ToolCalls(vec![c])));
            }
            ToolCallChunks::AllInOne => pieces.push(Piece::ToolCalls(calls)),
        }
        return pieces;
    }

    let reply = match &opts.reply {
        Reply::Echo => format!("You said: {last_user}"),
        Reply::Text(text) => text.clone(),
        Reply::Words(n) => text::lorem(*n),
    };
    pieces.extend(text::tokenize(&reply).into_iter().map(Piece::Content));
    pieces
}

/// The fields of the request body the fake acts on.
struct ChatRequest {
    model: String,
    messages: Vec<ChatMessage>,
    stream: bool,
    /// `keep_alive` is zero: with no messages, unload instead of load.
    unload: bool,
    think: Think,
    tools: Vec<OfferedTool>,
}

struct ChatMessage {
    role: String,
    content: String,
    /// For `role: "tool"`: the tool whose result this is.
    tool_name: String,
}

impl ChatMessage {
    /// The tool's name for a quote, or "the tool" when the client sent none
    /// (`tool_name` is optional in Ollama).
    fn tool(&self) -> &str {
        if self.tool_name.is_empty() {
            "the tool"
        } else {
            &self.tool_name
        }
    }
}

impl ChatRequest {
    /// Decodes the body roughly as Go's `ShouldBindJSON` into `api.ChatRequest`
    /// would. Error texts follow Go's where they are simple to imitate; for
    /// syntax errors the decoder's own text is used (it differs from Go's).
    fn parse(body: &[u8]) -> Result<ChatRequest, String> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err("missing request body".into());
        }
        let value: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let Value::Object(obj) = &value else {
            return Err(format!(
                "json: cannot unmarshal {} into Go value of type api.ChatRequest",
                kind(&value)
            ));
        };
        let field_error = |field: &str, v: &Value, go_type: &str| {
            format!(
                "json: cannot unmarshal {} into Go struct field ChatRequest.{field} of type {go_type}",
                kind(v)
            )
        };

        let model = match obj.get("model") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => return Err(field_error("model", v, "string")),
        };
        let messages = match obj.get("messages") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let mut messages = Vec::with_capacity(items.len());
                for item in items {
                    let Value::Object(m) = item else {
                        return Err(field_error("messages", item, "api.Message"));
                    };
                    let text_field = |name: &str| match m.get(name) {
                        None | Some(Value::Null) => Ok(String::new()),
                        Some(Value::String(s)) => Ok(s.clone()),
                        Some(v) => Err(field_error(&format!("messages.{name}"), v, "string")),
                    };
                    // Checked for their type only: the fake does not use them.
                    text_field("thinking")?;
                    text_field("tool_call_id")?;
                    messages.push(ChatMessage {
                        role: text_field("role")?.to_lowercase(),
                        content: text_field("content")?,
                        tool_name: text_field("tool_name")?,
                    });
                }
                messages
            }
            Some(v) => return Err(field_error("messages", v, "[]api.Message")),
        };
        let stream = match obj.get("stream") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(v) => return Err(field_error("stream", v, "bool")),
        };
        let think = Think::parse(obj.get("think"))?;
        let tools = tools::offered(obj.get("tools"))?;
        if model.is_empty() {
            return Err("model is required".into());
        }
        let unload = obj.get("keep_alive").is_some_and(is_zero_duration);
        Ok(ChatRequest {
            model,
            messages,
            stream,
            unload,
            think,
            tools,
        })
    }

    fn last_user_message(&self) -> Option<&str> {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(|m| m.content.as_str())
    }

    /// The `tool` messages at the end of the conversation (the results the
    /// client sends back after the model's calls), in order. Empty when the
    /// last message is not a tool result.
    fn trailing_tool_results(&self) -> Vec<&ChatMessage> {
        let count = self
            .messages
            .iter()
            .rev()
            .take_while(|m| m.role == "tool")
            .count();
        self.messages[self.messages.len() - count..]
            .iter()
            .collect()
    }
}

/// The JSON type name Go uses in its unmarshalling errors.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `0`, `0.0`, `"0"`, `"0s"`, `"0m"`...
fn is_zero_duration(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => {
            let number = s.trim().trim_end_matches(|c: char| c.is_ascii_alphabetic());
            number.parse::<f64>() == Ok(0.0)
        }
        _ => false,
    }
}

/// A behaviour reduced to what the writer has to do.
enum Plan {
    /// Send nothing, keep the connection open.
    Silent,
    /// A real status code and `{"error":...}`, before anything is streamed.
    Status(u16, String),
    /// A 200 stream: up to `chunks` content chunks, then `ending`.
    Stream { chunks: usize, ending: Ending },
}

/// How a 200 stream ends.
enum Ending {
    /// The `done:true` line, then the end of the body.
    Done,
    /// `{"error":...}\n`, then the end of the body.
    ErrorLine(String),
    /// The end of the body, with no `done` line.
    CleanEnd,
    /// Closing the socket without the terminating zero-length chunk.
    Drop,
    /// A line that is not JSON, then the end of the body.
    InvalidLine,
    /// Nothing more, connection kept open.
    Stall,
}

impl From<Behaviour> for Plan {
    fn from(b: Behaviour) -> Plan {
        let stream = |chunks, ending| Plan::Stream { chunks, ending };
        match b {
            // (The slower thinking is applied by `handle`.)
            Behaviour::Reply | Behaviour::SlowThinking { .. } => stream(usize::MAX, Ending::Done),
            Behaviour::HttpError { status, message } => Plan::Status(status, message),
            Behaviour::LegacyErrorLine { message } => stream(0, Ending::ErrorLine(message)),
            Behaviour::ErrorMidStream {
                after_chunks,
                message,
            } => stream(after_chunks, Ending::ErrorLine(message)),
            Behaviour::TruncateAfter { after_chunks } => stream(after_chunks, Ending::CleanEnd),
            Behaviour::DropConnectionAfter { after_chunks } => stream(after_chunks, Ending::Drop),
            Behaviour::InvalidLineAfter { after_chunks } => {
                stream(after_chunks, Ending::InvalidLine)
            }
            Behaviour::Hang => Plan::Silent,
            Behaviour::HangAfter { after_chunks } => stream(after_chunks, Ending::Stall),
        }
    }
}

/// What a response has written so far.
#[derive(Default)]
struct Sent {
    /// `done:false` lines of any kind.
    chunks: usize,
    thinking_chunks: usize,
    text: String,
    thinking: String,
    tool_calls: Vec<ToolCall>,
    /// `eval_count` so far.
    tokens: u64,
}

impl Sent {
    fn record(&mut self, piece: &Piece) {
        self.chunks += 1;
        self.tokens += piece.tokens();
        match piece {
            Piece::Thinking(t) => {
                self.thinking_chunks += 1;
                self.thinking.push_str(t);
            }
            Piece::Content(c) => self.text.push_str(c),
            Piece::ToolCalls(calls) => self
                .tool_calls
                .extend(calls.iter().map(PlannedCall::public)),
        }
    }
}

/// One chat response in progress, and what it has sent so far.
struct Turn<'a> {
    shared: &'a Shared,
    /// Position of the request in the log, to store the outcome.
    index: usize,
    /// The model name exactly as the client sent it.
    model: String,
    /// The pause before a thinking line.
    thinking_delay: Duration,
    received: Instant,
    /// When the first chunk was ready (after `first_token_delay`).
    first_ready: Instant,
    /// The reply cut into the lines to stream.
    pieces: Vec<Piece>,
    /// Text for the `done:true` chunk.
    final_text: String,
    prompt_eval_count: u64,
    sent: Sent,
    /// `done_reason` and metrics of the final object, once it is sent.
    done: Option<(&'static str, Metrics)>,
}

impl Turn<'_> {
    fn outcome(&self) -> ChatOutcome {
        ChatOutcome {
            chunks_sent: self.sent.chunks,
            text: self.sent.text.clone(),
            prompt_eval_count: self.done.map(|(_, m)| m.prompt_eval_count),
            eval_count: self.done.map(|(_, m)| m.eval_count),
            done_reason: self.done.map(|(reason, _)| reason.to_string()),
            thinking: self.sent.thinking.clone(),
            thinking_chunks: self.sent.thinking_chunks,
            tool_calls: self.sent.tool_calls.clone(),
        }
    }

    /// Stores the outcome in the request log.
    fn publish(&self) {
        self.shared.set_outcome(self.index, self.outcome());
    }

    /// The final chunk's metrics, measured now.
    fn metrics(&self, eval_count: u64) -> Metrics {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1_000);
        let load = nanos(self.shared.opts.load_duration);
        let prompt_eval = nanos(self.first_ready.saturating_duration_since(self.received));
        let eval = nanos(self.first_ready.elapsed());
        Metrics {
            total_duration: load + prompt_eval + eval,
            load_duration: load,
            prompt_eval_count: self.prompt_eval_count,
            prompt_eval_duration: prompt_eval,
            eval_count,
            eval_duration: eval,
        }
    }

    /// A chat object stamped with the current time.
    fn object(
        &self,
        content: &str,
        thinking: &str,
        calls: &[PlannedCall],
        done: Option<(&'static str, Metrics)>,
    ) -> String {
        to_go_json(&ChatResponse {
            model: &self.model,
            created_at: clock::rfc3339_utc(SystemTime::now()),
            message: Message {
                role: "assistant",
                content,
                thinking: (!thinking.is_empty()).then_some(thinking),
                tool_calls: (!calls.is_empty())
                    .then(|| calls.iter().map(PlannedCall::wire).collect()),
            },
            done: done.is_some(),
            done_reason: done.map(|(reason, _)| reason),
            metrics: done.map(|(_, m)| m).unwrap_or_default(),
        })
    }

    /// The NDJSON line of one piece.
    fn piece_line(&self, piece: &Piece) -> Vec<u8> {
        let object = match piece {
            Piece::Thinking(t) => self.object("", t, &[], None),
            Piece::Content(c) => self.object(c, "", &[], None),
            Piece::ToolCalls(calls) => self.object("", "", calls, None),
        };
        let mut line = object.into_bytes();
        line.push(b'\n');
        line
    }

    /// The pause before writing `piece` (after the first line).
    fn delay_before(&self, piece: &Piece) -> Duration {
        match piece {
            Piece::Thinking(_) => self.thinking_delay,
            _ => self.shared.opts.chunk_delay,
        }
    }
}

/// A `400`/`404` before any generation.
async fn reject(
    conn: &mut Connection,
    shared: &Shared,
    index: usize,
    status: u16,
    message: &str,
    close: bool,
) -> io::Result<After> {
    shared.set_outcome(index, ChatOutcome::default());
    conn.send_full(status, JSON, error_json(message).as_bytes(), true, close)
        .await?;
    Ok(After::KeepAlive)
}

/// `messages: []`: load (`reason` `"load"`) or unload (`"unload"`) the
/// model, answer with one JSON object.
async fn load_or_unload(
    conn: &mut Connection,
    shared: &Shared,
    index: usize,
    chat: &ChatRequest,
    reason: &'static str,
    close: bool,
) -> io::Result<After> {
    pause(shared.opts.first_token_delay).await;
    let body = to_go_json(&ChatResponse {
        model: &chat.model,
        created_at: clock::rfc3339_utc(SystemTime::now()),
        message: Message::text(""),
        done: true,
        done_reason: Some(reason),
        metrics: Metrics::default(),
    });
    shared.set_outcome(
        index,
        ChatOutcome {
            done_reason: Some(reason.into()),
            ..ChatOutcome::default()
        },
    );
    conn.send_full(200, JSON, body.as_bytes(), true, close)
        .await?;
    Ok(After::KeepAlive)
}

/// The streaming answer (`stream` true or left out).
async fn stream(
    conn: &mut Connection,
    turn: &mut Turn<'_>,
    plan: Plan,
    close: bool,
) -> io::Result<After> {
    let opts = &turn.shared.opts;
    // "Loading the model": not a byte is written before this.
    pause(opts.first_token_delay).await;
    turn.first_ready = Instant::now();

    let (limit, ending) = match plan {
        Plan::Silent => {
            turn.publish();
            conn.wait_until_client_leaves().await;
            return Ok(After::Close);
        }
        Plan::Status(status, message) => {
            turn.publish();
            conn.send_full(status, JSON, error_json(&message).as_bytes(), true, close)
                .await?;
            return Ok(After::KeepAlive);
        }
        Plan::Stream { chunks, ending } => (chunks, ending),
    };

    let piece_size = match opts.split {
        Split::Lines => None,
        Split::Bytes(n) => Some(n),
    };
    let mut body = ChunkedWriter::new(conn, 200, NDJSON, close, piece_size);
    let pieces = std::mem::take(&mut turn.pieces);
    for piece in pieces.iter().take(limit) {
        if turn.sent.chunks > 0 {
            pause(turn.delay_before(piece)).await;
        }
        body.send(&turn.piece_line(piece)).await?;
        turn.sent.record(piece);
    }
    if turn.sent.chunks > 0 {
        // Whatever comes next takes as long to "generate" as a chunk.
        pause(opts.chunk_delay).await;
    }

    // Each arm stores the outcome before its last write (see ChatOutcome).
    match ending {
        Ending::Done => {
            let eval_count = turn.sent.tokens + u64::from(!turn.final_text.is_empty());
            let done = ("stop", turn.metrics(eval_count));
            let mut line = turn
                .object(&turn.final_text, "", &[], Some(done))
                .into_bytes();
            line.push(b'\n');
            let text_len = turn.sent.text.len();
            let final_text = turn.final_text.clone();
            turn.sent.text.push_str(&final_text);
            turn.done = Some(done);
            turn.publish();
            if let Err(e) = body.send(&line).await {
                turn.sent.text.truncate(text_len);
                turn.done = None;
                return Err(e);
            }
            body.finish().await?;
            Ok(After::KeepAlive)
        }
        Ending::ErrorLine(message) => {
            turn.publish();
            body.send(format!("{}\n", error_json(&message)).as_bytes())
                .await?;
            body.finish().await?;
            Ok(After::KeepAlive)
        }
        Ending::CleanEnd => {
            turn.publish();
            body.finish().await?;
            Ok(After::KeepAlive)
        }
        Ending::Drop => {
            turn.publish();
            body.send_headers().await?;
            body.connection().close().await;
            Ok(After::Close)
        }
        Ending::InvalidLine => {
            turn.publish();
            body.send(format!("{INVALID_LINE}\n").as_bytes()).await?;
            body.finish().await?;
            Ok(After::KeepAlive)
        }
        Ending::Stall => {
            turn.publish();
            body.send_headers().await?;
            body.connection().wait_until_client_leaves().await;
            Ok(After::Close)
        }
    }
}

/// The `"stream": false` answer (see the module docs for the faults).
async fn whole(
    conn: &mut Connection,
    turn: &mut Turn<'_>,
    plan: Plan,
    close: bool,
) -> io::Result<After> {
    let opts = &turn.shared.opts;
    pause(opts.first_token_delay).await;
    turn.first_ready = Instant::now();

    let ending = match plan {
        Plan::Silent => {
            turn.publish();
            conn.wait_until_client_leaves().await;
            return Ok(After::Close);
        }
        Plan::Status(status, message) => {
            turn.publish();
            conn.send_full(status, JSON, error_json(&message).as_bytes(), true, close)
                .await?;
            return Ok(After::KeepAlive);
        }
        // Nothing has been written yet, so a runner error is a real status.
        Plan::Stream {
            ending: Ending::ErrorLine(message),
            ..
        } => {
            turn.publish();
            conn.send_full(500, JSON, error_json(&message).as_bytes(), true, close)
                .await?;
            return Ok(After::KeepAlive);
        }
        Plan::Stream { ending, .. } => ending,
    };

    // Generating takes as long as streaming would have.
    let pieces = std::mem::take(&mut turn.pieces);
    let generating: Duration = pieces.iter().skip(1).map(|p| turn.delay_before(p)).sum();
    pause(generating).await;
    let mut all = Sent::default();
    for piece in &pieces {
        all.record(piece);
    }
    all.text.push_str(&turn.final_text);
    let calls: Vec<PlannedCall> = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::ToolCalls(calls) => Some(calls.iter().cloned()),
            _ => None,
        })
        .flatten()
        .collect();
    let eval_count = all.tokens + u64::from(!turn.final_text.is_empty());
    let done = ("stop", turn.metrics(eval_count));
    let object = turn.object(&all.text, &all.thinking, &calls, Some(done));

    match ending {
        Ending::Done => {
            // One object, no chunks.
            all.chunks = 0;
            all.thinking_chunks = 0;
            turn.sent = all;
            turn.done = Some(done);
            turn.publish();
            conn.send_full(200, JSON, object.as_bytes(), true, close)
                .await?;
            Ok(After::KeepAlive)
        }
        Ending::InvalidLine => {
            turn.publish();
            conn.send_full(200, JSON, INVALID_LINE.as_bytes(), true, close)
                .await?;
            Ok(After::KeepAlive)
        }
        // (ErrorLine never gets here: it was answered with a 500 above.)
        Ending::CleanEnd | Ending::Drop | Ending::Stall | Ending::ErrorLine(_) => {
            // Announce the whole body, send half of it.
            let mut out = response_head(200, JSON, Some(object.len()), close);
            out.extend_from_slice(&object.as_bytes()[..object.len() / 2]);
            turn.publish();
            conn.write_all(&out).await?;
            if matches!(ending, Ending::Stall) {
                conn.wait_until_client_leaves().await;
            } else {
                conn.close().await;
            }
            Ok(After::Close)
        }
    }
}
