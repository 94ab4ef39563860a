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
//! What the model says (thinking, tool calls, text) is composed in `reply`;
//! the request is decoded in `request`.
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

use crate::http::{response_head, ChunkedWriter, Connection, Request, JSON, NDJSON};
use crate::reply::{compose, Piece, PlannedCall};
use crate::request::ChatRequest;
use crate::server::{After, Shared};
use crate::thinking;
use crate::wire::{error_json, to_go_json, ChatResponse, Message, Metrics};
use crate::{catalog, clock, text, Behaviour, ChatOutcome, Split, ToolCall, INVALID_LINE};

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
