//! The library API with the SDK's in-memory exporters: the shape of what one turn records
//! — span tree, parentage, attributes, events, status — on the error and cancel paths too,
//! including the case the binary cannot easily show: a reply cancelled by Ctrl-C.
//!
//! No process boundary is under test here, so there is no OTLP, no collector and no binary:
//! `ChatSession::send` runs against the in-process fake Ollama and the test reads the
//! finished `SpanData` straight from `InMemorySpanExporter` (see [`crate::support::in_memory`]).
//! What the same turn looks like on the wire is `piped_traces`'s job.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use chatbot_otel::telemetry::metrics::TurnStatus;
use fake_ollama::{Behaviour, ChatOutcome, FakeOllama, Options};
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{Array, StringValue, Value};
use tokio::sync::oneshot;

use crate::support::closed_port_url;
use crate::support::in_memory::*;

/// What the fake sent for the `i`-th chat request.
fn outcome(fake: &FakeOllama, i: usize) -> ChatOutcome {
    fake.chat_requests()[i]
        .outcome
        .clone()
        .unwrap_or_else(|| panic!("chat request {i} has no outcome"))
}

/// One good turn: five spans in one trace, the contract's tree, kinds and scope; the
/// `tracing` span (`log_interaction`) joins the OTel trace of its turn; nothing is in error.
#[tokio::test(flavor = "current_thread")]
async fn one_turn_span_tree() {
    let fake = FakeOllama::start().await;
    let mut h = InMemory::new(&fake.url());
    let report = h
        .session
        .send("hello tree", &mut Vec::new(), std::future::pending())
        .await;
    assert_eq!(report.status, TurnStatus::Success);

    let finished = h.finished();
    let mut names: Vec<&str> = finished.iter().map(|s| s.name.as_ref()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "chat_interaction",
            "generate_response",
            "log_interaction",
            "ollama_request",
            "process_streaming_response"
        ]
    );
    let root = h.span("chat_interaction");
    let gen = h.span("generate_response");
    let req = h.span("ollama_request");
    let stream = h.span("process_streaming_response");
    let log = h.span("log_interaction");
    assert!(is_root(&root), "chat_interaction is the root");
    assert_parent(&root, &gen);
    assert_parent(&root, &log);
    assert_parent(&gen, &req);
    assert_parent(&gen, &stream);
    assert_eq!(root.span_kind, SpanKind::Internal);
    assert_eq!(gen.span_kind, SpanKind::Client);
    assert_eq!(req.span_kind, SpanKind::Client);
    assert_eq!(stream.span_kind, SpanKind::Internal);
    assert_eq!(log.span_kind, SpanKind::Internal);
    for s in &finished {
        assert_eq!(s.status, Status::Unset, "{} status", s.name);
        assert!(s.span_context.is_sampled(), "{}", s.name);
    }
    // The OTel spans come from our tracer's scope (the bridge's span has its own tracer).
    for s in [&root, &gen, &req, &stream] {
        assert_eq!(s.instrumentation_scope.name(), "chatbot-otel", "{}", s.name);
    }
    // Children happen inside their parents, and the request precedes the stream's end.
    for (p, c) in [(&root, &gen), (&gen, &req), (&gen, &stream), (&root, &log)] {
        assert!(
            p.start_time <= c.start_time && c.end_time <= p.end_time,
            "{} is not within {}",
            c.name,
            p.name
        );
    }
    assert!(req.end_time <= stream.end_time);
    // The turn's log line, written inside `log_interaction`, is one of its events.
    assert!(
        log.events
            .events
            .iter()
            .any(|e| e.name == "chat interaction"),
        "{:?}",
        log.events
    );
    // The report names the trace and its root, for the `trace:` line and `/feedback`.
    assert_eq!(report.trace_id, Some(root.span_context.trace_id()));
    assert_eq!(report.root.as_ref(), Some(&root.span_context));
}

/// chat_interaction carries chat.turn, llm.model and llm.prompt; chat.turn counts turns.
#[tokio::test(flavor = "current_thread")]
async fn chat_interaction_attributes() {
    let fake = FakeOllama::start().await;
    let mut h = InMemory::new(&fake.url());
    h.session
        .send("what is a span", &mut Vec::new(), std::future::pending())
        .await;
    let root = h.span("chat_interaction");
    assert_eq!(i64_attr(&root, "chat.turn"), 1);
    assert_eq!(str_attr(&root, "llm.model"), "llama3.1:8b");
    assert_eq!(str_attr(&root, "llm.prompt"), "what is a span");

    h.spans.reset();
    h.session
        .send("and another", &mut Vec::new(), std::future::pending())
        .await;
    assert_eq!(i64_attr(&h.span("chat_interaction"), "chat.turn"), 2);
}

/// generate_response carries the llm.* and gen_ai.* attributes with the fake's token counts and reply.
#[tokio::test(flavor = "current_thread")]
async fn generate_response_attributes() {
    let fake = FakeOllama::start().await;
    let mut h = InMemory::new(&fake.url());
    h.session.set_temperature(0.3);
    h.session
        .send(
            "count my words please",
            &mut Vec::new(),
            std::future::pending(),
        )
        .await;
    let o = outcome(&fake, 0);
    let input = o.prompt_eval_count.expect("prompt_eval_count") as i64;
    let output = o.eval_count.expect("eval_count") as i64;
    let g = h.span("generate_response");

    assert_eq!(str_attr(&g, "llm.model"), "llama3.1:8b");
    assert_eq!(f64_attr(&g, "llm.temperature"), 0.3);
    assert_eq!(str_attr(&g, "llm.prompt"), "count my words please");
    assert_eq!(str_attr(&g, "llm.response"), o.text);
    assert_eq!(i64_attr(&g, "llm.tokens.input"), input);
    assert_eq!(i64_attr(&g, "llm.tokens.output"), output);
    assert_eq!(i64_attr(&g, "llm.tokens.total"), input + output);
    let ms = f64_attr(&g, "llm.duration_ms");
    assert!(
        ms > 0.0 && ms <= duration_secs(&g) * 1000.0 + 1.0,
        "llm.duration_ms {ms}"
    );

    assert_eq!(str_attr(&g, "gen_ai.operation.name"), "chat");
    assert_eq!(str_attr(&g, "gen_ai.provider.name"), "ollama");
    assert_eq!(str_attr(&g, "gen_ai.request.model"), "llama3.1:8b");
    assert_eq!(str_attr(&g, "gen_ai.response.model"), "llama3.1:8b");
    assert_eq!(f64_attr(&g, "gen_ai.request.temperature"), 0.3);
    assert!(bool_attr(&g, "gen_ai.request.stream"));
    assert_eq!(i64_attr(&g, "gen_ai.usage.input_tokens"), input);
    assert_eq!(i64_attr(&g, "gen_ai.usage.output_tokens"), output);
    assert_eq!(
        attr(&g, "gen_ai.response.finish_reasons"),
        Some(Value::Array(Array::String(vec![StringValue::from("stop")])))
    );
    assert_eq!(str_attr(&g, "server.address"), "127.0.0.1");
    assert_eq!(i64_attr(&g, "server.port"), i64::from(fake.addr().port()));
}

/// ollama_request carries the HTTP client attributes under their stable names only (the
/// deprecated ones need `OTEL_SEMCONV_STABILITY_OPT_IN=http/dup`: see `semconv`).
#[tokio::test(flavor = "current_thread")]
async fn ollama_request_attributes() {
    let fake = FakeOllama::start().await;
    let mut h = InMemory::new(&fake.url());
    h.session
        .send("hi", &mut Vec::new(), std::future::pending())
        .await;
    let r = h.span("ollama_request");
    let url = format!("{}/api/chat", fake.url());
    assert_eq!(str_attr(&r, "http.request.method"), "POST");
    assert_eq!(str_attr(&r, "url.full"), url);
    assert_eq!(i64_attr(&r, "http.response.status_code"), 200);
    for old in ["http.method", "http.url", "http.status_code"] {
        assert_eq!(attr(&r, old), None, "{old} without the opt-in");
    }
    assert_eq!(str_attr(&r, "server.address"), "127.0.0.1");
    assert_eq!(i64_attr(&r, "server.port"), i64::from(fake.addr().port()));
}

/// The request Ollama receives carries `traceparent: 00-<trace id>-<ollama_request span id>-01`.
#[tokio::test(flavor = "current_thread")]
async fn traceparent_names_the_ollama_request_span() {
    let fake = FakeOllama::start().await;
    let mut h = InMemory::new(&fake.url());
    h.session
        .send("propagate me", &mut Vec::new(), std::future::pending())
        .await;
    let r = h.span("ollama_request");
    let req = &fake.chat_requests()[0];
    assert_eq!(
        req.header("traceparent"),
        Some(
            format!(
                "00-{}-{}-01",
                r.span_context.trace_id(),
                r.span_context.span_id()
            )
            .as_str()
        ),
        "headers: {:?}",
        req.headers
    );
}

/// generate_response has a first_token event with the time to first chunk, at least the fake's delay.
#[tokio::test(flavor = "current_thread")]
async fn first_token_event() {
    let fake = FakeOllama::start_with(Options {
        first_token_delay: Duration::from_millis(200),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut h = InMemory::new(&fake.url());
    h.session
        .send("slow start", &mut Vec::new(), std::future::pending())
        .await;
    let g = h.span("generate_response");
    let events: Vec<_> = g
        .events
        .events
        .iter()
        .filter(|e| e.name == "first_token")
        .collect();
    assert_eq!(events.len(), 1, "{:?}", g.events);
    let ev = events[0];
    let ttfc = ev
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "gen_ai.response.time_to_first_chunk")
        .and_then(|kv| match kv.value {
            Value::F64(f) => Some(f),
            _ => None,
        })
        .unwrap_or_else(|| panic!("first_token event attributes: {:?}", ev.attributes));
    assert!(
        ttfc >= 0.19,
        "time to first chunk {ttfc} < fake delay 0.2 s"
    );
    assert!(ttfc <= duration_secs(&g), "ttfc {ttfc} > span duration");
    assert!(ev.timestamp >= g.start_time && ev.timestamp <= g.end_time);
    assert!(ev.timestamp > SystemTime::UNIX_EPOCH);
}

/// process_streaming_response carries the chunk count, time to first chunk and Ollama's timings in seconds.
#[tokio::test(flavor = "current_thread")]
async fn streaming_span_attributes() {
    let fake = FakeOllama::start_with(Options {
        load_duration: Duration::from_millis(250),
        reply: fake_ollama::Reply::Words(7),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut h = InMemory::new(&fake.url());
    h.session
        .send("stream it", &mut Vec::new(), std::future::pending())
        .await;
    let o = outcome(&fake, 0);
    let s = h.span("process_streaming_response");
    let chunks = i64_attr(&s, "llm.stream.chunks");
    // The count of content chunks, with or without the final done:true line.
    assert!(
        chunks == o.chunks_sent as i64 || chunks == o.chunks_sent as i64 + 1,
        "llm.stream.chunks {chunks}, fake sent {} content chunks",
        o.chunks_sent
    );
    assert!(f64_attr(&s, "gen_ai.response.time_to_first_chunk") >= 0.0);
    let load = f64_attr(&s, "ollama.load_duration");
    assert!((load - 0.25).abs() < 1e-6, "ollama.load_duration {load}");
    let total = f64_attr(&s, "ollama.total_duration");
    let prompt = f64_attr(&s, "ollama.prompt_eval_duration");
    let eval = f64_attr(&s, "ollama.eval_duration");
    assert!(
        total >= load && prompt >= 0.0 && eval >= 0.0,
        "{:?}",
        s.attributes
    );
    assert!(
        total < 60.0,
        "ollama.total_duration must be seconds, got {total}"
    );
    assert_eq!(str_attr(&s, "ollama.done_reason"), "stop");
}

/// An error line mid-stream: process_streaming_response and both ancestors carry ERROR and
/// `error.type=stream_error`; the exception event is on process_streaming_response only,
/// where it happened; the request itself (HTTP 200) has neither.
#[tokio::test(flavor = "current_thread")]
async fn mid_stream_error_marks_the_stream_span_and_its_ancestors() {
    let fake = FakeOllama::start().await;
    fake.push(Behaviour::ErrorMidStream {
        after_chunks: 2,
        message: fake_ollama::MID_STREAM_ERROR_MESSAGE.into(),
    });
    let mut h = InMemory::new(&fake.url());
    let report = h
        .session
        .send("this fails", &mut Vec::new(), std::future::pending())
        .await;
    assert!(matches!(report.status, TurnStatus::Error(_)));
    for name in [
        "process_streaming_response",
        "generate_response",
        "chat_interaction",
    ] {
        let span = h.span(name);
        assert!(
            matches!(span.status, Status::Error { .. }),
            "{name}: {:?}",
            span.status
        );
        assert_eq!(
            attr(&span, "error.type"),
            Some(Value::from("stream_error")),
            "{name}"
        );
        let exceptions = span.events.iter().filter(|e| e.name == "exception").count();
        let expected = usize::from(name == "process_streaming_response");
        assert_eq!(exceptions, expected, "{name}");
    }
    let req = h.span("ollama_request");
    assert_eq!(req.status, Status::Unset, "the request itself succeeded");
    assert_eq!(i64_attr(&req, "http.response.status_code"), 200);
    assert_eq!(
        h.sum("llm.errors", &[("error_type", "stream_error")]),
        Some(1)
    );
}

/// A writer that tells the test when the first reply text has been written.
struct FirstWrite {
    tx: Mutex<Option<oneshot::Sender<()>>>,
    written: Vec<u8>,
}

impl Write for FirstWrite {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(tx) = self.tx.lock().unwrap().take() {
            let _ = tx.send(());
        }
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Ctrl-C mid-reply: the turn is cancelled, not failed; the spans say so and the history is untouched.
#[tokio::test(flavor = "current_thread")]
async fn cancelled_turn_is_marked_and_not_an_error() {
    let fake = FakeOllama::start_with(Options {
        chunk_delay: Duration::from_millis(200),
        reply: fake_ollama::Reply::Words(50),
        ..Options::default()
    })
    .await
    .unwrap();
    let mut h = InMemory::new(&fake.url());
    let (tx, rx) = oneshot::channel();
    let mut out = FirstWrite {
        tx: Mutex::new(Some(tx)),
        written: Vec::new(),
    };
    let report = h
        .session
        .send("tell me a long story", &mut out, async {
            let _ = rx.await;
        })
        .await;

    assert_eq!(report.status, TurnStatus::Cancelled);
    assert!(report.error.is_none());
    assert!(
        !out.written.is_empty(),
        "some text streamed before the cancel"
    );
    assert!(
        h.session.history().is_empty(),
        "a cancelled turn leaves no history"
    );

    for name in [
        "chat_interaction",
        "generate_response",
        "process_streaming_response",
    ] {
        let span = h.span(name);
        assert_eq!(span.status, Status::Unset, "{name} status");
        assert_eq!(
            attr(&span, "llm.cancelled"),
            Some(Value::Bool(true)),
            "{name}"
        );
        assert!(
            span.events.iter().any(|e| e.name == "cancelled"),
            "{name} has a cancelled event"
        );
        assert!(attr(&span, "error.type").is_none(), "{name}");
    }
    assert_eq!(
        h.sum(
            "llm.requests",
            &[("model", "llama3.1:8b"), ("status", "cancelled")]
        ),
        Some(1)
    );
    assert_eq!(h.sum("llm.requests.active", &[]), Some(0));
    assert_eq!(h.sum("llm.errors", &[]), None, "no error counted");
}

/// The next turn after a cancelled one succeeds and sends only the successful history.
#[tokio::test(flavor = "current_thread")]
async fn failure_then_success_keeps_the_conversation() {
    let fake = FakeOllama::start().await;
    let mut h = InMemory::new(&fake.url());
    let mut sink = Vec::new();
    let first = h
        .session
        .send("one", &mut sink, std::future::pending())
        .await;
    assert_eq!(first.status, TurnStatus::Success);
    fake.push(Behaviour::ErrorMidStream {
        after_chunks: 1,
        message: "boom".into(),
    });
    let second = h
        .session
        .send("two", &mut sink, std::future::pending())
        .await;
    assert!(matches!(second.status, TurnStatus::Error(_)));
    let third = h
        .session
        .send("three", &mut sink, std::future::pending())
        .await;
    assert_eq!(third.status, TurnStatus::Success);

    let requests = fake.chat_requests();
    let last = requests.last().unwrap().json();
    let contents: Vec<&str> = last["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, vec!["one", "You said: one", "three"]);
    assert_eq!(h.session.history().len(), 4);
}

/// Ollama down: the request span and both ancestors carry ERROR and `error.type`; the
/// `exception` event is on the request span only, where the failure happened.
#[tokio::test(flavor = "current_thread")]
async fn connection_refused_marks_the_whole_path() {
    let mut h = InMemory::new(&closed_port_url());
    let mut sink = Vec::new();
    let report = h
        .session
        .send("hi", &mut sink, std::future::pending())
        .await;
    assert!(matches!(report.status, TurnStatus::Error(_)));
    assert!(report
        .error
        .unwrap()
        .user_message()
        .contains("ollama serve"));
    for name in ["ollama_request", "generate_response", "chat_interaction"] {
        let span = h.span(name);
        assert!(
            matches!(span.status, Status::Error { .. }),
            "{name}: {:?}",
            span.status
        );
        assert_eq!(
            attr(&span, "error.type"),
            Some(Value::from("connection_refused")),
            "{name}"
        );
        let exceptions = span.events.iter().filter(|e| e.name == "exception").count();
        let expected = usize::from(name == "ollama_request");
        assert_eq!(exceptions, expected, "{name}");
    }
    assert_eq!(
        h.sum("llm.errors", &[("error_type", "connection_refused")]),
        Some(1)
    );
}
