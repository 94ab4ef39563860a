//! One conversation turn, instrumented by hand: this is the file to read first.
//!
//! A turn produces one trace:
//!
//! ```text
//! chat_interaction                      INTERNAL, root of the turn
//! ├── generate_response                 CLIENT, the GenAI "chat" operation (request + stream)
//! │   ├── ollama_request                CLIENT, HTTP POST /api/chat until response headers
//! │   └── process_streaming_response    INTERNAL, reading the NDJSON stream to the final chunk
//! └── log_interaction                   INTERNAL, writing the turn's JSON log line
//! ```
//!
//! OpenTelemetry concepts, in the order they appear below:
//!
//! * **Context and parentage.** A span's parent is whatever span is active in the
//!   `Context` it is started with. We pass contexts explicitly
//!   (`start_with_context(tracer, &parent_cx)`) instead of relying on a thread-local
//!   "current" span, because an async task can hop threads at every `.await`.
//!   `FutureExt::with_context` makes a context current while a future is polled, which is
//!   what log lines read their trace ids from.
//! * **Span kind.** CLIENT for the spans that represent a call to another service
//!   (the GenAI operation, the HTTP request), INTERNAL for in-process work.
//! * **Attributes** set at start (those a sampler may use) and as facts become known.
//! * **Events**: `thinking_started` and `first_token` (a thinking model reasons before it
//!   answers, and the two phases are timed apart), `cancelled`, and the `exception` event
//!   of `record_error`.
//! * **Status**: left UNSET on success, as the conventions require; ERROR plus
//!   `error.type` on the failing span *and* its ancestors, so a trace list filtered on
//!   errors finds the turn by its root. The `exception` event only on the span where the
//!   failure happened, so the error's text is recorded once.
//! * **Propagation**: the `traceparent` header of the HTTP request names `ollama_request`.
//! * **Metrics** are recorded once per turn, after the outcome is known. Per streamed chunk
//!   the only telemetry work is counting.
//!
//! Which attribute each request parameter becomes, and the original example's alias
//! names, are in [`super::attributes`]; this file is about the spans' lifecycle.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use opentelemetry::trace::{FutureExt, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};

use super::attributes::{finish_reasons, request_parameters, with_legacy_aliases};
use super::capture;
use super::reply::ReplySink;
use super::tools::{Approver, CallSite, ToolBox};
use super::TurnReport;
use crate::ollama::wire::{ChatOptions, ChatRequest, Message, ServerMetrics, Think, ToolCall};
use crate::ollama::{ChatStream, OllamaClient, OllamaError};
use crate::telemetry::metrics::{TurnMeasurement, TurnStatus};
use crate::telemetry::names::{attr, event, span};
use crate::telemetry::{propagation, Telemetry};
use crate::text::{printable, redacted_url, truncate};

/// At most this many model calls in one turn: a model that keeps calling tools is stopped.
pub const MAX_MODEL_CALLS: usize = 8;

/// Prompt and reply text longer than this is truncated on span attributes: backends cap
/// attribute sizes, and a span is not a transcript store.
const MAX_CAPTURED_CHARS: usize = 4096;
/// Error text (a server's message) longer than this is truncated on span statuses and
/// exception events; it is recorded even with content capture off, so it stays short.
const MAX_ERROR_CHARS: usize = 1024;

/// Everything one turn needs, borrowed from the session.
pub(crate) struct Turn<'a> {
    pub client: &'a OllamaClient,
    pub telemetry: &'a Telemetry,
    pub model: &'a str,
    pub options: &'a ChatOptions,
    /// `None`: no `think` field is sent and the server decides.
    pub think: Option<Think>,
    /// `gen_ai.conversation.id` / `session.id` of every span of the turn.
    pub conversation_id: &'a str,
    /// The MCP tools offered to the model this turn (`None`: none, the plain tree).
    pub tools: Option<&'a ToolBox>,
    /// Their definitions in Ollama's request shape (empty without tools).
    pub tool_definitions: &'a [serde_json::Value],
    pub number: u64,
    pub capture_content: bool,
}

/// How the GenAI operation ended, before it is turned into telemetry.
enum Ending {
    Completed(Completion),
    Failed(OllamaError),
    Cancelled,
}

/// What the final `done:true` chunk told us.
struct Completion {
    response_model: Option<String>,
    done_reason: Option<String>,
    metrics: ServerMetrics,
}

impl Ending {
    /// The `status` label of the turn's metrics and log line.
    fn status(&self) -> TurnStatus {
        match self {
            Ending::Completed(_) => TurnStatus::Success,
            Ending::Failed(e) => TurnStatus::Error(e.kind()),
            Ending::Cancelled => TurnStatus::Cancelled,
        }
    }

    fn completion(&self) -> Option<&Completion> {
        match self {
            Ending::Completed(c) => Some(c),
            _ => None,
        }
    }

    /// `(input, output)` tokens, which only a completed reply has.
    fn tokens(&self) -> Option<(u64, u64)> {
        self.completion().map(|c| usage(&c.metrics))
    }

    fn into_error(self) -> Option<OllamaError> {
        match self {
            Ending::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// What reading the stream produced, and when each phase began (measured from the
/// moment `generate_response` started, as the GenAI time-to-first-chunk is).
struct StreamOutcome {
    ending: Ending,
    reply: String,
    thinking: String,
    /// The first chunk of either kind: `gen_ai.response.time_to_first_chunk`.
    first_chunk: Option<Duration>,
    /// The first chunk with answer text: `first_token`, `llm.time_to_first_token`.
    first_token: Option<Duration>,
    /// The first chunk with reasoning text: `thinking_started`.
    thinking_started: Option<Duration>,
    /// From `thinking_started` to `first_token`, or to the end when no answer came.
    thinking_duration: Option<Duration>,
    /// The first error writing the reply out (a closed pipe, a full disk).
    output_error: Option<std::io::ErrorKind>,
    /// The tools the reply asked to run, in `function.index` order.
    tool_calls: Vec<ToolCall>,
}

impl StreamOutcome {
    /// The outcome of a request that never got to a stream.
    fn without_stream(ending: Ending) -> Self {
        StreamOutcome {
            ending,
            reply: String::new(),
            thinking: String::new(),
            first_chunk: None,
            first_token: None,
            thinking_started: None,
            thinking_duration: None,
            output_error: None,
            tool_calls: Vec::new(),
        }
    }
}

impl StreamOutcome {
    /// Notes a failed write of the reply; `true` when nobody can read it any more (a
    /// closed pipe, as with `| head`), which ends the turn like a Ctrl-C: generating a
    /// reply for no reader only costs the user's GPU.
    fn gone(&mut self, kind: std::io::ErrorKind) -> bool {
        self.output_error.get_or_insert(kind);
        kind == std::io::ErrorKind::BrokenPipe
    }
}

impl Turn<'_> {
    /// Runs the turn: spans, metrics, and the log line. Never fails: a failure is a
    /// [`TurnReport`] with an error, already recorded in telemetry.
    pub(crate) async fn run(
        &self,
        prompt: &str,
        messages: &[Message],
        out: &mut dyn ReplySink,
        approver: &mut dyn Approver,
        mut cancel: Pin<&mut impl Future<Output = ()>>,
    ) -> TurnReport {
        let tracer = &self.telemetry.tracer;
        // Truncated once, recorded on the root and on `generate_response` (where the
        // original example put it).
        let captured_prompt = self
            .capture_content
            .then(|| truncate(prompt, MAX_CAPTURED_CHARS));

        // The root span. `Context::new()` as parent makes it a root on purpose: each turn
        // is its own trace, whatever context the caller happens to have.
        let mut attributes = vec![
            KeyValue::new(attr::CHAT_TURN, self.number as i64),
            KeyValue::new(attr::LLM_MODEL, self.model.to_string()),
        ];
        attributes.extend(self.conversation());
        if let Some(text) = &captured_prompt {
            attributes.push(KeyValue::new(attr::LLM_PROMPT, text.clone()));
            // OpenInference's name, which Phoenix's and Langfuse's session views display.
            attributes.push(KeyValue::new(attr::INPUT_VALUE, text.clone()));
        }
        let root = tracer
            .span_builder(span::CHAT_INTERACTION)
            .with_kind(SpanKind::Internal)
            .with_attributes(attributes)
            .start_with_context(tracer, &Context::new());
        let turn_cx = Context::new().with_span(root);

        let started = Instant::now();
        let mut outcome = self
            .generate_response(
                &turn_cx,
                captured_prompt.clone(),
                messages,
                out,
                cancel.as_mut(),
            )
            .await;
        // The tool loop: while the reply asks for tools, run them (each an `execute_tool`
        // span under the root) and call the model again with their results. A turn
        // without tool calls never enters it, so its tree is the plain one.
        let mut added: Vec<Message> = Vec::new();
        let mut tool_calls_made = 0usize;
        let mut model_calls = 1;
        let mut earlier_tokens = (0, 0);
        let first_call = (
            outcome.first_token,
            outcome.first_chunk,
            outcome.thinking_duration,
        );
        'tools: while let Some(tools) = self.tools {
            if outcome.ending.completion().is_none() || outcome.tool_calls.is_empty() {
                break;
            }
            if model_calls >= MAX_MODEL_CALLS {
                let _ = out.note(&format!(
                    "stopped after {MAX_MODEL_CALLS} model calls in one turn: the model kept calling tools"
                ));
                break;
            }
            let mut asked =
                Message::assistant(outcome.reply.clone(), Some(outcome.thinking.clone()));
            asked.tool_calls = std::mem::take(&mut outcome.tool_calls);
            let (input, output) = outcome.ending.tokens().unwrap_or((0, 0));
            earlier_tokens = (earlier_tokens.0 + input, earlier_tokens.1 + output);
            let calls = asked.tool_calls.clone();
            added.push(asked);
            for call in &calls {
                let conversation = self.conversation();
                let site = CallSite {
                    telemetry: self.telemetry,
                    turn_cx: &turn_cx,
                    conversation: &conversation,
                    capture_content: self.capture_content,
                };
                let ran = tools.run(site, call, approver, cancel.as_mut()).await;
                let Some(record) = ran else {
                    outcome.ending = Ending::Cancelled;
                    break 'tools;
                };
                let _ = out.note(&record.notice);
                added.push(Message::tool_result(&call.function.name, record.content));
                tool_calls_made += 1;
            }
            let next: Vec<Message> = messages.iter().chain(added.iter()).cloned().collect();
            outcome = self
                .generate_response(
                    &turn_cx,
                    captured_prompt.clone(),
                    &next,
                    out,
                    cancel.as_mut(),
                )
                .await;
            model_calls += 1;
        }
        // Timings are the first model call's where it had them (each measured from the
        // start of its own call); otherwise the call that produced the answer.
        if model_calls > 1 {
            outcome.first_token = first_call.0.or(outcome.first_token);
            outcome.first_chunk = first_call.1.or(outcome.first_chunk);
            outcome.thinking_duration = first_call.2.or(outcome.thinking_duration);
        }
        let duration = started.elapsed();

        let (address, port) = server_address(self.client);
        let status = outcome.ending.status();
        let completion = outcome.ending.completion();
        let cancelled = status == TurnStatus::Cancelled;
        // A turn's tokens are those of all its model calls (one per tool round); a turn
        // whose last call failed reports none, as a failed turn without tools does.
        let turn_tokens = outcome
            .ending
            .tokens()
            .map(|(i, o)| (i + earlier_tokens.0, o + earlier_tokens.1));
        self.telemetry.metrics.request_finished(&TurnMeasurement {
            model: self.model,
            response_model: completion.and_then(|c| c.response_model.as_deref()),
            server_address: &address,
            server_port: port,
            status,
            duration,
            time_to_first_token: outcome.first_token,
            time_to_first_chunk: outcome.first_chunk,
            // A reasoning phase cut short by Ctrl-C is not a measurement of the model.
            thinking: outcome.thinking_duration.filter(|_| !cancelled),
            tokens: turn_tokens,
        });

        let tool_calls = self.tools.map(|_| tool_calls_made);
        self.log_interaction(&turn_cx, &outcome, duration, turn_tokens, tool_calls);

        if self.capture_content && outcome.ending.completion().is_some() {
            turn_cx.span().set_attribute(KeyValue::new(
                attr::OUTPUT_VALUE,
                truncate(&outcome.reply, MAX_CAPTURED_CHARS),
            ));
        }
        // Close the root last: a span's duration should cover its children.
        end_span(&turn_cx, &outcome.ending, Place::Ancestor);
        let sc = turn_cx.span().span_context().clone();

        let recorded = self.telemetry.enabled() && sc.is_sampled();
        TurnReport {
            status,
            tool_messages: if status == TurnStatus::Success {
                added
            } else {
                Vec::new()
            },
            output_error: outcome.output_error,
            reply: outcome.reply,
            thinking: outcome.thinking,
            error: outcome.ending.into_error(),
            trace_id: recorded.then(|| sc.trace_id()),
            root: recorded.then_some(sc),
        }
    }

    /// The GenAI "chat" operation: a CLIENT span over the request and the whole stream.
    ///
    /// Deviation: the conventions name this span `chat {gen_ai.request.model}`; it keeps
    /// the original example's name `generate_response` so its dashboards still match, and
    /// carries the conventions' attributes (`gen_ai.operation.name = chat`).
    async fn generate_response(
        &self,
        turn_cx: &Context,
        captured_prompt: Option<String>,
        messages: &[Message],
        out: &mut dyn ReplySink,
        mut cancel: Pin<&mut impl Future<Output = ()>>,
    ) -> StreamOutcome {
        let tracer = &self.telemetry.tracer;
        let (address, port) = server_address(self.client);

        // Attributes known before the request: the conventions ask for the operation,
        // provider, model and server *at start*, so samplers can see them.
        let mut attributes = vec![
            KeyValue::new(attr::GEN_AI_OPERATION_NAME, attr::OPERATION_CHAT),
            KeyValue::new(attr::GEN_AI_PROVIDER_NAME, attr::PROVIDER_OLLAMA),
            KeyValue::new(attr::GEN_AI_REQUEST_MODEL, self.model.to_string()),
            KeyValue::new(attr::SERVER_ADDRESS, address),
            KeyValue::new(attr::SERVER_PORT, i64::from(port)),
            KeyValue::new(attr::GEN_AI_REQUEST_STREAM, true),
        ];
        attributes.extend(request_parameters(self.options, self.think));
        attributes.extend(self.conversation());
        attributes.push(KeyValue::new(
            attr::CHAT_MESSAGES_SENT,
            messages.len() as i64,
        ));
        if self.capture_content && !self.tool_definitions.is_empty() {
            attributes.push(KeyValue::new(
                attr::GEN_AI_TOOL_DEFINITIONS,
                serde_json::Value::from(self.tool_definitions.to_vec()).to_string(),
            ));
        }
        if let Some(text) = captured_prompt {
            attributes.push(KeyValue::new(attr::LLM_PROMPT, text));
            // The conversation as sent, newest messages first to survive the byte budget.
            let (json, captured) = capture::input_messages(messages);
            attributes.push(KeyValue::new(attr::GEN_AI_INPUT_MESSAGES, json));
            attributes.push(KeyValue::new(attr::CHAT_MESSAGES_CAPTURED, captured as i64));
        }
        let generate = tracer
            .span_builder(span::GENERATE_RESPONSE)
            .with_kind(SpanKind::Client)
            .with_attributes(self.aliased(attributes))
            .start_with_context(tracer, turn_cx);
        let gen_cx = turn_cx.with_span(generate);

        self.telemetry.metrics.request_started(self.model);
        let started = Instant::now();
        let outcome = match self
            .ollama_request(&gen_cx, messages, cancel.as_mut())
            .await
        {
            Err(ending) => StreamOutcome::without_stream(ending),
            Ok(stream) => {
                self.process_streaming_response(&gen_cx, stream, started, out, cancel)
                    .await
            }
        };

        // Facts known only at the end.
        let mut attributes = vec![KeyValue::new(
            attr::LLM_DURATION_MS,
            started.elapsed().as_secs_f64() * 1000.0,
        )];
        match &outcome.ending {
            Ending::Completed(c) => {
                let (input, output) = usage(&c.metrics);
                attributes.push(KeyValue::new(attr::GEN_AI_USAGE_INPUT_TOKENS, input as i64));
                attributes.push(KeyValue::new(
                    attr::GEN_AI_USAGE_OUTPUT_TOKENS,
                    output as i64,
                ));
                if let Some(model) = &c.response_model {
                    attributes.push(KeyValue::new(attr::GEN_AI_RESPONSE_MODEL, model.clone()));
                }
                // Ollama says `stop` after tool calls too; the conventions say `tool_call`.
                let called_tools = !outcome.tool_calls.is_empty();
                if let Some(reason) = &c.done_reason {
                    attributes.push(finish_reasons(capture::finish_reason(
                        Some(reason),
                        called_tools,
                    )));
                }
                if self.capture_content {
                    attributes.push(KeyValue::new(
                        attr::LLM_RESPONSE,
                        truncate(&outcome.reply, MAX_CAPTURED_CHARS),
                    ));
                    let reply =
                        Message::assistant(outcome.reply.clone(), Some(outcome.thinking.clone()));
                    let finish = capture::finish_reason(c.done_reason.as_deref(), false);
                    attributes.push(KeyValue::new(
                        attr::GEN_AI_OUTPUT_MESSAGES,
                        capture::output_messages(&reply, finish),
                    ));
                }
            }
            // GenAI conventions: a call that broke records `error` as its finish reason.
            Ending::Failed(_) => attributes.push(finish_reasons("error")),
            Ending::Cancelled => {}
        }
        // The reasoning is content too: only with capture on, and bounded like the reply.
        if self.capture_content && !outcome.thinking.is_empty() {
            attributes.push(KeyValue::new(
                attr::LLM_THINKING,
                truncate(&outcome.thinking, MAX_CAPTURED_CHARS),
            ));
        }
        gen_cx.span().set_attributes(self.aliased(attributes));
        end_span(&gen_cx, &outcome.ending, Place::Ancestor);
        outcome
    }

    /// The HTTP request, up to the response headers: a CLIENT span whose context travels
    /// to the server in the `traceparent` header.
    ///
    /// Deviation: the HTTP conventions name a client span `{method}` (`POST`); the original
    /// example's `ollama_request` is kept, with the conventions' attributes.
    async fn ollama_request(
        &self,
        gen_cx: &Context,
        messages: &[Message],
        cancel: Pin<&mut impl Future<Output = ()>>,
    ) -> Result<ChatStream, Ending> {
        let tracer = &self.telemetry.tracer;
        let (address, port) = server_address(self.client);
        let request = tracer
            .span_builder(span::OLLAMA_REQUEST)
            .with_kind(SpanKind::Client)
            .with_attributes(
                self.aliased(
                    [
                        KeyValue::new(attr::HTTP_REQUEST_METHOD, "POST"),
                        // Never a password on a span: `url.full` is redacted as the conventions say.
                        KeyValue::new(attr::URL_FULL, redacted_url(&self.client.chat_url())),
                        KeyValue::new(attr::SERVER_ADDRESS, address),
                        KeyValue::new(attr::SERVER_PORT, i64::from(port)),
                    ]
                    .into_iter()
                    .chain(self.conversation())
                    .collect(),
                ),
            )
            .start_with_context(tracer, gen_cx);
        let request_cx = gen_cx.with_span(request);

        // Propagation: `traceparent: 00-<trace id>-<this span's id>-01`.
        let headers = propagation::headers_for(&request_cx);
        let body = ChatRequest {
            model: self.model,
            messages,
            stream: true,
            options: self.options,
            think: self.think,
            tools: self.tool_definitions,
        };
        let send = self
            .client
            .start_chat(&body, headers)
            .with_context(request_cx.clone());

        let result = tokio::select! {
            // `biased`: a Ctrl-C that arrived together with the answer wins.
            biased;
            _ = cancel => Err(Ending::Cancelled),
            sent = send => sent.map_err(Ending::Failed),
        };

        let status_code = match &result {
            Ok(stream) => Some(stream.status()),
            Err(Ending::Failed(OllamaError::Http { status, .. })) => Some(*status),
            Err(Ending::Failed(OllamaError::ModelNotFound { .. })) => Some(404),
            Err(Ending::Failed(OllamaError::ThinkNotSupported { .. })) => Some(400),
            Err(_) => None,
        };
        if let Some(code) = status_code {
            request_cx
                .span()
                .set_attributes(self.aliased(vec![KeyValue::new(
                    attr::HTTP_RESPONSE_STATUS_CODE,
                    i64::from(code),
                )]));
        }
        match &result {
            Ok(_) => request_cx.span().end(),
            Err(ending) => end_span(&request_cx, ending, Place::WhereItHappened),
        }
        result
    }

    /// Reads the NDJSON body to the final `done:true` chunk, handing text to `out` as it
    /// arrives: reasoning first (when the model thinks), then the answer.
    async fn process_streaming_response(
        &self,
        gen_cx: &Context,
        mut stream: ChatStream,
        started: Instant,
        out: &mut dyn ReplySink,
        mut cancel: Pin<&mut impl Future<Output = ()>>,
    ) -> StreamOutcome {
        let tracer = &self.telemetry.tracer;
        let processing = tracer
            .span_builder(span::PROCESS_STREAMING_RESPONSE)
            .with_kind(SpanKind::Internal)
            .with_attributes(self.conversation())
            .start_with_context(tracer, gen_cx);
        let stream_cx = gen_cx.with_span(processing);
        let mut outcome = StreamOutcome::without_stream(Ending::Cancelled);
        let mut chunks: i64 = 0;
        let mut thinking_chunks: i64 = 0;

        let ending = async {
            loop {
                let next = tokio::select! {
                    biased;
                    _ = cancel.as_mut() => return Ending::Cancelled,
                    next = stream.next_chunk() => next,
                };
                let chunk = match next {
                    Err(e) => return Ending::Failed(e),
                    Ok(None) => {
                        return Ending::Failed(OllamaError::Interrupted {
                            detail: "the stream ended without a final done:true chunk".into(),
                        })
                    }
                    Ok(Some(chunk)) => chunk,
                };
                chunks += 1;
                if let Some(message) = &chunk.message {
                    if !message.thinking.is_empty() {
                        thinking_chunks += 1;
                        if outcome.thinking_started.is_none() {
                            let at = started.elapsed();
                            outcome.thinking_started = Some(at);
                            outcome.first_chunk.get_or_insert(at);
                            gen_cx.span().add_event(
                                event::THINKING_STARTED,
                                vec![KeyValue::new(
                                    attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
                                    at.as_secs_f64(),
                                )],
                            );
                        }
                        if let Err(e) = out.thinking(&message.thinking) {
                            if outcome.gone(e.kind()) {
                                return Ending::Cancelled;
                            }
                        }
                        outcome.thinking.push_str(&message.thinking);
                    }
                    // Tool calls come whole, one or several per chunk, over one or more chunks.
                    outcome
                        .tool_calls
                        .extend(message.tool_calls.iter().cloned());
                    // Every chunk's text counts, the final one's included: newer Ollama
                    // versions put text in the `done:true` chunk.
                    if !message.content.is_empty() {
                        if outcome.first_token.is_none() {
                            self.first_token(gen_cx, &mut outcome, started.elapsed());
                        }
                        if let Err(e) = out.content(&message.content) {
                            if outcome.gone(e.kind()) {
                                return Ending::Cancelled;
                            }
                        }
                        outcome.reply.push_str(&message.content);
                    }
                }
                if chunk.done {
                    return Ending::Completed(Completion {
                        metrics: chunk.metrics(),
                        response_model: chunk.model,
                        done_reason: chunk.done_reason,
                    });
                }
            }
        }
        .with_context(stream_cx.clone())
        .await;
        let _ = out.finish();
        outcome
            .tool_calls
            .sort_by_key(|c| c.function.index.unwrap_or(u32::MAX));
        // A model that thought and then said nothing (or was stopped) thought until the end.
        if let (Some(from), None) = (outcome.thinking_started, outcome.thinking_duration) {
            outcome.thinking_duration = Some(started.elapsed().saturating_sub(from));
        }
        outcome.ending = ending;

        let span = stream_cx.span();
        span.set_attribute(KeyValue::new(attr::LLM_STREAM_CHUNKS, chunks));
        if let Some(ttfc) = outcome.first_chunk {
            span.set_attribute(KeyValue::new(
                attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
                ttfc.as_secs_f64(),
            ));
        }
        if let Some(thinking) = outcome.thinking_duration {
            span.set_attributes([
                KeyValue::new(attr::LLM_THINKING_CHUNKS, thinking_chunks),
                KeyValue::new(
                    attr::LLM_THINKING_DURATION_MS,
                    thinking.as_secs_f64() * 1000.0,
                ),
            ]);
        }
        if let Some(c) = outcome.ending.completion() {
            // Ollama's own timings, converted from nanoseconds to seconds (the unit
            // OpenTelemetry uses for durations). Absent values are left out, not zeroed.
            let m = &c.metrics;
            for (key, nanos) in [
                (attr::OLLAMA_TOTAL_DURATION, m.total_duration),
                (attr::OLLAMA_LOAD_DURATION, m.load_duration),
                (attr::OLLAMA_PROMPT_EVAL_DURATION, m.prompt_eval_duration),
                (attr::OLLAMA_EVAL_DURATION, m.eval_duration),
            ] {
                if let Some(ns) = nanos {
                    span.set_attribute(KeyValue::new(key, ns as f64 / 1e9));
                }
            }
            if let Some(reason) = &c.done_reason {
                span.set_attribute(KeyValue::new(attr::OLLAMA_DONE_REASON, reason.clone()));
            }
        }
        end_span(&stream_cx, &outcome.ending, Place::WhereItHappened);
        outcome
    }

    /// `gen_ai.conversation.id` and `session.id`, on every span of the turn: backends
    /// group a conversation's traces by one or the other.
    fn conversation(&self) -> [KeyValue; 2] {
        [
            KeyValue::new(
                attr::GEN_AI_CONVERSATION_ID,
                self.conversation_id.to_string(),
            ),
            KeyValue::new(attr::SESSION_ID, self.conversation_id.to_string()),
        ]
    }

    /// The original example's alias names beside the conventions' ones; the deprecated
    /// HTTP names only with `OTEL_SEMCONV_STABILITY_OPT_IN=http/dup`.
    fn aliased(&self, attributes: Vec<KeyValue>) -> Vec<KeyValue> {
        with_legacy_aliases(attributes, self.telemetry.semconv.http_dup)
    }

    /// The first answer text: the `first_token` event, and the end of any thinking phase.
    fn first_token(&self, gen_cx: &Context, outcome: &mut StreamOutcome, at: Duration) {
        outcome.first_token = Some(at);
        let attributes = match outcome.thinking_started {
            // It answered straight away: this is also the first chunk of the stream.
            None => {
                outcome.first_chunk = Some(at);
                vec![KeyValue::new(
                    attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
                    at.as_secs_f64(),
                )]
            }
            Some(from) => {
                let thought = at.saturating_sub(from);
                outcome.thinking_duration = Some(thought);
                vec![KeyValue::new(
                    attr::LLM_THINKING_DURATION_MS,
                    thought.as_secs_f64() * 1000.0,
                )]
            }
        };
        gen_cx.span().add_event(event::FIRST_TOKEN, attributes);
    }

    /// Writes the turn's JSON log line inside a `log_interaction` span.
    ///
    /// This span is the one made with `tracing` instead of the OTel API, to show the
    /// bridge: attaching `turn_cx` makes `chat_interaction` the current OTel span, and
    /// `tracing-opentelemetry` parents the new `tracing` span on it, so it lands in the
    /// same trace. While it is entered, its context is current, so the log line carries
    /// its `span_id`.
    fn log_interaction(
        &self,
        turn_cx: &Context,
        outcome: &StreamOutcome,
        duration: Duration,
        tokens: Option<(u64, u64)>,
        tool_calls: Option<usize>,
    ) {
        let _attached = turn_cx.clone().attach();
        let log_span = tracing::info_span!(
            "log_interaction",
            otel.name = span::LOG_INTERACTION,
            otel.kind = "internal",
            gen_ai.conversation.id = self.conversation_id,
            session.id = self.conversation_id,
        );
        let _entered = log_span.enter();
        let status = outcome.ending.status();
        let (input, output) = tokens.unwrap_or((0, 0));
        // The turn's root span id, so `/feedback --trace` can link to it from this line.
        let root = turn_cx.span().span_context().clone();
        let root_span_id = root.is_valid().then(|| root.span_id().to_string());
        let error_type = match status {
            TurnStatus::Error(kind) => Some(kind.as_label()),
            _ => None,
        };
        // `None` fields are left out of the line, so a turn without thinking has no key.
        let thinking_ms = outcome.thinking_duration.map(millis);
        // One event, two views: the OTLP log record gets these namespaced names (and the
        // event name `chatbot.turn`); the JSON file maps them to the original example's
        // flat names (`names::log::FILE_NAMES`). `tracing` fixes an event's level at
        // compile time: one field list, two levels.
        macro_rules! log_turn {
            ($level:expr) => {
                tracing::event!(
                    name: "chatbot.turn",
                    $level,
                    chat.turn = self.number,
                    gen_ai.request.model = self.model,
                    gen_ai.usage.input_tokens = input,
                    gen_ai.usage.output_tokens = output,
                    llm.tokens.total = input + output,
                    llm.duration_ms = millis(duration),
                    llm.thinking.duration_ms = thinking_ms,
                    chat.status = status.as_str(),
                    error.type = error_type,
                    chat.root_span_id = root_span_id,
                    gen_ai.conversation.id = self.conversation_id,
                    chat.tool_calls = tool_calls,
                    "chat interaction"
                )
            };
        }
        match status {
            TurnStatus::Error(_) => log_turn!(tracing::Level::WARN),
            _ => log_turn!(tracing::Level::INFO),
        }
    }
}

/// Which span a failure happened in: the one that saw it gets the `exception` event;
/// its ancestors get ERROR status and `error.type` only, so the error is told once.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// `ollama_request` (no answer) or `process_streaming_response` (a broken stream).
    WhereItHappened,
    /// `generate_response` and `chat_interaction`.
    Ancestor,
}

/// Ends the span of `cx` with the status its part of the turn deserves.
fn end_span(cx: &Context, ending: &Ending, place: Place) {
    let span = cx.span();
    match ending {
        Ending::Completed(_) => {}
        Ending::Failed(error) => {
            // Server text is untrusted and unbounded: printable and capped on the span.
            let message = span_text(&error.to_string());
            span.set_attribute(KeyValue::new(attr::ERROR_TYPE, error.kind().as_label()));
            if place == Place::WhereItHappened {
                // What `Span::record_error` does, with the bounded message.
                span.add_event(
                    event::EXCEPTION,
                    vec![
                        KeyValue::new(attr::EXCEPTION_TYPE, std::any::type_name::<OllamaError>()),
                        KeyValue::new(attr::EXCEPTION_MESSAGE, message.clone()),
                    ],
                );
            }
            span.set_status(Status::error(message));
        }
        // A cancelled turn is not an error: the status stays UNSET.
        Ending::Cancelled => {
            span.set_attribute(KeyValue::new(attr::LLM_CANCELLED, true));
            span.add_event(event::CANCELLED, vec![]);
        }
    }
    span.end();
}

/// Error text as it may appear on a span: printable, at most [`MAX_ERROR_CHARS`].
fn span_text(text: &str) -> String {
    truncate(&printable(text), MAX_ERROR_CHARS)
}

/// Milliseconds with microsecond precision, as the log line's `duration_ms`.
fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0
}

/// `(input, output)` tokens from the final chunk (absent counts are zero).
fn usage(m: &ServerMetrics) -> (u64, u64) {
    (m.prompt_eval_count.unwrap_or(0), m.eval_count.unwrap_or(0))
}

/// `server.address` and `server.port` of the Ollama URL.
fn server_address(client: &OllamaClient) -> (String, u16) {
    let url = client.base_url();
    (
        url.host_str().unwrap_or_default().to_string(),
        url.port_or_known_default().unwrap_or(0),
    )
}
