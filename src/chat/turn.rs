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
//! * **Events**: `first_token`, `cancelled`, and the `exception` event of `record_error`.
//! * **Status**: left UNSET on success, as the conventions require; ERROR plus
//!   `error.type` on the failing span *and* its ancestors, so a trace list filtered on
//!   errors finds the turn by its root.
//! * **Propagation**: the `traceparent` header of the HTTP request names `ollama_request`.
//! * **Metrics** are recorded once per turn, after the outcome is known. Per streamed chunk
//!   the only telemetry work is counting.

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::time::{Duration, Instant};

use opentelemetry::trace::{FutureExt, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Array, Context, KeyValue, StringValue, Value};

use super::TurnReport;
use crate::ollama::wire::{ChatOptions, ChatRequest, Message, ServerMetrics};
use crate::ollama::{ChatStream, OllamaClient, OllamaError};
use crate::telemetry::metrics::{TurnMeasurement, TurnStatus};
use crate::telemetry::names::{attr, event, span};
use crate::telemetry::{propagation, Telemetry};
use crate::text::truncate;

/// Prompt and reply text longer than this is truncated on span attributes: backends cap
/// attribute sizes, and a span is not a transcript store.
const MAX_CAPTURED_CHARS: usize = 4096;

/// Everything one turn needs, borrowed from the session.
pub(crate) struct Turn<'a> {
    pub client: &'a OllamaClient,
    pub telemetry: &'a Telemetry,
    pub model: &'a str,
    pub temperature: f64,
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

/// The result of `generate_response`, with what was measured along the way.
struct Generation {
    ending: Ending,
    reply: String,
    duration: Duration,
    time_to_first_token: Option<Duration>,
}

impl Turn<'_> {
    /// Runs the turn: spans, metrics, and the log line. Never fails: a failure is a
    /// [`TurnReport`] with an error, already recorded in telemetry.
    pub(crate) async fn run(
        &self,
        prompt: &str,
        messages: &[Message],
        out: &mut dyn Write,
        mut cancel: Pin<&mut impl Future<Output = ()>>,
    ) -> TurnReport {
        let tracer = &self.telemetry.tracer;

        // The root span. `Context::new()` as parent makes it a root on purpose: each turn
        // is its own trace, whatever context the caller happens to have.
        let mut attributes = vec![
            KeyValue::new(attr::CHAT_TURN, self.number as i64),
            KeyValue::new(attr::LLM_MODEL, self.model.to_string()),
        ];
        if self.capture_content {
            attributes.push(KeyValue::new(
                attr::LLM_PROMPT,
                truncate(prompt, MAX_CAPTURED_CHARS),
            ));
        }
        let root = tracer
            .span_builder(span::CHAT_INTERACTION)
            .with_kind(SpanKind::Internal)
            .with_attributes(attributes)
            .start_with_context(tracer, &Context::new());
        let turn_cx = Context::new().with_span(root);

        let generation = self
            .generate_response(&turn_cx, prompt, messages, out, cancel.as_mut())
            .await;

        let status = match &generation.ending {
            Ending::Completed(_) => TurnStatus::Success,
            Ending::Failed(e) => TurnStatus::Error(e.kind()),
            Ending::Cancelled => TurnStatus::Cancelled,
        };
        let tokens = match &generation.ending {
            Ending::Completed(c) => Some(usage(&c.metrics)),
            _ => None,
        };
        let (address, port) = server_address(self.client);
        self.telemetry.metrics.request_finished(&TurnMeasurement {
            model: self.model,
            response_model: match &generation.ending {
                Ending::Completed(c) => c.response_model.as_deref(),
                _ => None,
            },
            server_address: &address,
            server_port: port,
            status,
            duration: generation.duration,
            time_to_first_token: generation.time_to_first_token,
            tokens,
        });

        self.log_interaction(&turn_cx, status, tokens, generation.duration);

        // Close the root last: a span's duration should cover its children.
        let root = turn_cx.span();
        match &generation.ending {
            Ending::Completed(_) => {}
            Ending::Failed(e) => mark_failed(&turn_cx, e),
            Ending::Cancelled => mark_cancelled(&turn_cx),
        }
        let sc = root.span_context().clone();
        root.end();

        let recorded = self.telemetry.enabled() && sc.is_sampled();
        let trace_id = recorded.then(|| sc.trace_id());
        TurnReport {
            status,
            error: match generation.ending {
                Ending::Failed(e) => Some(e),
                _ => None,
            },
            reply: generation.reply,
            trace_id,
            root: recorded.then_some(sc),
        }
    }

    /// The GenAI "chat" operation: a CLIENT span over the request and the whole stream.
    async fn generate_response(
        &self,
        turn_cx: &Context,
        prompt: &str,
        messages: &[Message],
        out: &mut dyn Write,
        mut cancel: Pin<&mut impl Future<Output = ()>>,
    ) -> Generation {
        let tracer = &self.telemetry.tracer;
        let (address, port) = server_address(self.client);

        // Attributes known before the request: the conventions ask for the operation,
        // provider, model and server *at start*, so samplers can see them.
        let mut attributes = vec![
            KeyValue::new(attr::GEN_AI_OPERATION_NAME, attr::OPERATION_CHAT),
            KeyValue::new(attr::GEN_AI_PROVIDER_NAME, attr::PROVIDER_OLLAMA),
            KeyValue::new(attr::GEN_AI_REQUEST_MODEL, self.model.to_string()),
            KeyValue::new(attr::SERVER_ADDRESS, address.clone()),
            KeyValue::new(attr::SERVER_PORT, i64::from(port)),
            KeyValue::new(attr::GEN_AI_REQUEST_TEMPERATURE, self.temperature),
            KeyValue::new(attr::GEN_AI_REQUEST_STREAM, true),
            KeyValue::new(attr::LLM_MODEL, self.model.to_string()),
            KeyValue::new(attr::LLM_TEMPERATURE, self.temperature),
        ];
        if self.capture_content {
            attributes.push(KeyValue::new(
                attr::LLM_PROMPT,
                truncate(prompt, MAX_CAPTURED_CHARS),
            ));
        }
        let generate = tracer
            .span_builder(span::GENERATE_RESPONSE)
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .start_with_context(tracer, turn_cx);
        let gen_cx = turn_cx.with_span(generate);

        self.telemetry.metrics.request_started(self.model);
        let started = Instant::now();
        let mut reply = String::new();
        let mut time_to_first_token = None;

        let ending = match self
            .ollama_request(&gen_cx, messages, cancel.as_mut())
            .await
        {
            Err(ending) => ending,
            Ok(stream) => {
                self.process_streaming_response(
                    &gen_cx,
                    stream,
                    started,
                    out,
                    &mut reply,
                    &mut time_to_first_token,
                    cancel,
                )
                .await
            }
        };
        let duration = started.elapsed();

        // Facts known only at the end.
        let span = gen_cx.span();
        span.set_attribute(KeyValue::new(
            attr::LLM_DURATION_MS,
            duration.as_secs_f64() * 1000.0,
        ));
        match &ending {
            Ending::Completed(c) => {
                let (input, output) = usage(&c.metrics);
                span.set_attributes([
                    KeyValue::new(attr::GEN_AI_USAGE_INPUT_TOKENS, input as i64),
                    KeyValue::new(attr::GEN_AI_USAGE_OUTPUT_TOKENS, output as i64),
                    KeyValue::new(attr::LLM_TOKENS_INPUT, input as i64),
                    KeyValue::new(attr::LLM_TOKENS_OUTPUT, output as i64),
                    KeyValue::new(attr::LLM_TOKENS_TOTAL, (input + output) as i64),
                ]);
                if let Some(model) = &c.response_model {
                    span.set_attribute(KeyValue::new(attr::GEN_AI_RESPONSE_MODEL, model.clone()));
                }
                if let Some(reason) = &c.done_reason {
                    span.set_attribute(finish_reasons(reason));
                }
                if self.capture_content {
                    span.set_attribute(KeyValue::new(
                        attr::LLM_RESPONSE,
                        truncate(&reply, MAX_CAPTURED_CHARS),
                    ));
                }
            }
            Ending::Failed(e) => {
                // genai conventions: a call that broke records `error` as its finish reason.
                span.set_attribute(finish_reasons("error"));
                mark_failed(&gen_cx, e);
            }
            Ending::Cancelled => mark_cancelled(&gen_cx),
        }
        span.end();

        Generation {
            ending,
            reply,
            duration,
            time_to_first_token,
        }
    }

    /// The HTTP request, up to the response headers: a CLIENT span whose context travels
    /// to the server in the `traceparent` header.
    async fn ollama_request(
        &self,
        gen_cx: &Context,
        messages: &[Message],
        cancel: Pin<&mut impl Future<Output = ()>>,
    ) -> Result<ChatStream, Ending> {
        let tracer = &self.telemetry.tracer;
        let url = self.client.chat_url();
        let (address, port) = server_address(self.client);
        let request = tracer
            .span_builder(span::OLLAMA_REQUEST)
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new(attr::HTTP_REQUEST_METHOD, "POST"),
                KeyValue::new(attr::URL_FULL, url.to_string()),
                KeyValue::new(attr::HTTP_METHOD_OLD, "POST"),
                KeyValue::new(attr::HTTP_URL_OLD, url.to_string()),
                KeyValue::new(attr::SERVER_ADDRESS, address),
                KeyValue::new(attr::SERVER_PORT, i64::from(port)),
            ])
            .start_with_context(tracer, gen_cx);
        let request_cx = gen_cx.with_span(request);

        // Propagation: `traceparent: 00-<trace id>-<this span's id>-01`.
        let headers = propagation::headers_for(&request_cx);
        let body = ChatRequest {
            model: self.model,
            messages,
            stream: true,
            options: ChatOptions {
                temperature: self.temperature,
            },
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

        let span = request_cx.span();
        match &result {
            Ok(stream) => record_status_code(&span, stream.status()),
            Err(Ending::Failed(e)) => {
                if let OllamaError::Http { status, .. } = e {
                    record_status_code(&span, *status);
                } else if let OllamaError::ModelNotFound { .. } = e {
                    record_status_code(&span, 404);
                }
                mark_failed(&request_cx, e);
            }
            Err(_) => mark_cancelled(&request_cx),
        }
        span.end();
        result
    }

    /// Reads the NDJSON body to the final `done:true` chunk, writing text as it arrives.
    #[allow(clippy::too_many_arguments)]
    async fn process_streaming_response(
        &self,
        gen_cx: &Context,
        mut stream: ChatStream,
        started: Instant,
        out: &mut dyn Write,
        reply: &mut String,
        time_to_first_token: &mut Option<Duration>,
        mut cancel: Pin<&mut impl Future<Output = ()>>,
    ) -> Ending {
        let tracer = &self.telemetry.tracer;
        let processing = tracer
            .span_builder(span::PROCESS_STREAMING_RESPONSE)
            .with_kind(SpanKind::Internal)
            .start_with_context(tracer, gen_cx);
        let stream_cx = gen_cx.with_span(processing);
        let mut chunks: i64 = 0;

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
                // Every chunk's text counts, the final one's included: newer Ollama
                // versions put text in the `done:true` chunk.
                if let Some(text) = chunk.message.as_ref().map(|m| m.content.as_str()) {
                    if !text.is_empty() {
                        if time_to_first_token.is_none() {
                            let ttft = started.elapsed();
                            *time_to_first_token = Some(ttft);
                            gen_cx.span().add_event(
                                event::FIRST_TOKEN,
                                vec![KeyValue::new(
                                    attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
                                    ttft.as_secs_f64(),
                                )],
                            );
                        }
                        // A closed stdout (`| head`) must not fail the turn.
                        let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
                        reply.push_str(text);
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

        let span = stream_cx.span();
        span.set_attribute(KeyValue::new(attr::LLM_STREAM_CHUNKS, chunks));
        if let Some(ttft) = time_to_first_token {
            span.set_attribute(KeyValue::new(
                attr::GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
                ttft.as_secs_f64(),
            ));
        }
        match &ending {
            Ending::Completed(c) => {
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
            Ending::Failed(e) => mark_failed(&stream_cx, e),
            Ending::Cancelled => mark_cancelled(&stream_cx),
        }
        span.end();
        ending
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
        status: TurnStatus,
        tokens: Option<(u64, u64)>,
        duration: Duration,
    ) {
        let _attached = turn_cx.clone().attach();
        let log_span = tracing::info_span!(
            "log_interaction",
            otel.name = span::LOG_INTERACTION,
            otel.kind = "internal"
        );
        let _entered = log_span.enter();
        let (input, output) = tokens.unwrap_or((0, 0));
        // The turn's root span id, so `/feedback --trace` can link to it from this line.
        let root = turn_cx.span().span_context().clone();
        let root_span_id = root.is_valid().then(|| root.span_id().to_string());
        let root_span_id = root_span_id.as_deref();
        let duration_ms = (duration.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
        match status {
            TurnStatus::Error(kind) => tracing::warn!(
                name: "chat_interaction",
                turn = self.number,
                model = self.model,
                tokens.input = input,
                tokens.output = output,
                tokens.total = input + output,
                duration_ms,
                status = status.as_str(),
                error_type = %kind,
                root_span_id,
                "chat interaction"
            ),
            _ => tracing::info!(
                name: "chat_interaction",
                turn = self.number,
                model = self.model,
                tokens.input = input,
                tokens.output = output,
                tokens.total = input + output,
                duration_ms,
                status = status.as_str(),
                root_span_id,
                "chat interaction"
            ),
        }
    }
}

/// Marks the span of `cx` as failed: ERROR status, `error.type`, and an `exception` event.
fn mark_failed(cx: &Context, error: &OllamaError) {
    let span = cx.span();
    span.set_attribute(KeyValue::new(attr::ERROR_TYPE, error.kind().as_label()));
    span.record_error(error);
    span.set_status(Status::error(error.to_string()));
}

/// A cancelled turn is not an error: the status stays UNSET.
fn mark_cancelled(cx: &Context) {
    let span = cx.span();
    span.set_attribute(KeyValue::new(attr::LLM_CANCELLED, true));
    span.add_event(event::CANCELLED, vec![]);
}

fn record_status_code(span: &opentelemetry::trace::SpanRef<'_>, status: u16) {
    span.set_attributes([
        KeyValue::new(attr::HTTP_RESPONSE_STATUS_CODE, i64::from(status)),
        KeyValue::new(attr::HTTP_STATUS_CODE_OLD, i64::from(status)),
    ]);
}

/// `gen_ai.response.finish_reasons` is a string *array* attribute.
fn finish_reasons(reason: &str) -> KeyValue {
    KeyValue::new(
        attr::GEN_AI_RESPONSE_FINISH_REASONS,
        Value::Array(Array::String(vec![StringValue::from(reason.to_string())])),
    )
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
